//! Failing on purpose: latency, error answers (500, 502, 503, or 429 with `retry-after`), and
//! requests that never answer, per route, set in the seed file or at run time through
//! `PUT /_sandbox/faults`.

use crate::app::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One fault. Rules are tried in order; the first that matches a request and has uses left
/// applies to it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `METHOD /path/{param}` as Dodo's routes are written, e.g. `POST /checkouts` or
    /// `GET /payments/{payment_id}`; `*` for every route.
    pub route: String,
    /// Added before the request is handled.
    #[serde(default)]
    pub latency_ms: u64,
    /// Chance, 0 to 1, that the request gets `status` instead of its answer.
    #[serde(default)]
    pub error_rate: f64,
    /// 500, 502, 503 or 429.
    #[serde(default = "internal_error")]
    pub status: u16,
    /// With 429: the `retry-after` header, in seconds.
    pub retry_after_secs: Option<u64>,
    /// Never answer: the caller's timeout is what ends the request.
    #[serde(default)]
    pub hang: bool,
    /// Handle the request first (a charge is made) and then answer with the error, or hang:
    /// the caller never learns the outcome.
    #[serde(default)]
    pub after_handling: bool,
    /// Apply to this many matching requests, then stop; to all when absent.
    pub times: Option<u32>,
}

fn internal_error() -> u16 {
    500
}

impl FaultRule {
    fn matches(&self, route: &str) -> bool {
        self.route == "*" || self.route == route
    }

    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.error_rate),
            "fault for {}: error_rate must be between 0 and 1",
            self.route
        );
        anyhow::ensure!(
            matches!(self.status, 429 | 500 | 502 | 503 | 504),
            "fault for {}: status must be 429, 500, 502, 503 or 504",
            self.route
        );
        Ok(())
    }
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

/// What to do to one request.
#[derive(Debug, Clone, Default)]
struct Plan {
    latency: Duration,
    hang: bool,
    error: Option<(u16, Option<u64>)>,
    after_handling: bool,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>) -> anyhow::Result<Faults> {
        for rule in &rules {
            rule.check()?;
        }
        Ok(Faults {
            rules: Mutex::new(rules),
        })
    }

    pub fn replace(&self, rules: Vec<FaultRule>) -> anyhow::Result<()> {
        for rule in &rules {
            rule.check()?;
        }
        if let Ok(mut current) = self.rules.lock() {
            *current = rules;
        }
        Ok(())
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn plan(&self, route: &str) -> Plan {
        let Ok(mut rules) = self.rules.lock() else {
            return Plan::default();
        };
        let Some(rule) = rules
            .iter_mut()
            .find(|r| r.matches(route) && r.times != Some(0))
        else {
            return Plan::default();
        };
        if let Some(times) = rule.times.as_mut() {
            *times -= 1;
        }
        let fails = rule.error_rate > 0.0 && fastrand::f64() < rule.error_rate;
        Plan {
            latency: Duration::from_millis(rule.latency_ms),
            hang: rule.hang,
            error: fails.then_some((rule.status, rule.retry_after_secs)),
            after_handling: rule.after_handling,
        }
    }
}

/// Middleware on Dodo's routes.
pub async fn inject(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| format!("{} {}", request.method(), p.as_str()))
        .unwrap_or_default();
    let plan = state.faults.plan(&route);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.after_handling {
        let response = next.run(request).await;
        if plan.hang {
            std::future::pending::<()>().await;
        }
        return match plan.error {
            Some((status, retry_after)) => error_response(status, retry_after),
            None => response,
        };
    }
    if plan.hang {
        std::future::pending::<()>().await;
    }
    match plan.error {
        Some((status, retry_after)) => error_response(status, retry_after),
        None => next.run(request).await,
    }
}

fn error_response(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
        _ => "INTERNAL_SERVER_ERROR",
    };
    let mut response = (
        status,
        Json(json!({ "code": code, "message": "Something went wrong :(" })),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(route: &str) -> FaultRule {
        FaultRule {
            route: route.into(),
            latency_ms: 0,
            error_rate: 1.0,
            status: 503,
            retry_after_secs: None,
            hang: false,
            after_handling: false,
            times: Some(2),
        }
    }

    #[test]
    fn a_rule_applies_to_its_route_as_many_times_as_it_says() {
        let faults = Faults::new(vec![rule("POST /checkouts")]).unwrap();
        assert!(faults.plan("GET /payments/{payment_id}").error.is_none());
        assert_eq!(faults.plan("POST /checkouts").error, Some((503, None)));
        assert_eq!(faults.plan("POST /checkouts").error, Some((503, None)));
        assert!(faults.plan("POST /checkouts").error.is_none());
    }

    #[test]
    fn nonsense_rules_are_refused() {
        let mut bad = rule("*");
        bad.error_rate = 2.0;
        assert!(Faults::new(vec![bad]).is_err());
        let mut bad = rule("*");
        bad.status = 404;
        assert!(Faults::new(vec![bad]).is_err());
    }
}
