//! Failing on purpose: latency, error answers (500, 502, 503, or 429 with `retry-after`), and
//! requests that never answer, per route, set in the seed file or at run time through
//! `PUT /_sandbox/faults`. The rules, and what they do to a request; `http::fault_injection`
//! does it.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
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
pub struct Plan {
    /// Wait this long first.
    pub latency: Duration,
    /// Never answer.
    pub hang: bool,
    /// Answer with this status (and `retry-after` seconds) instead.
    pub error: Option<(u16, Option<u64>)>,
    /// Handle the request first, then do the above.
    pub after_handling: bool,
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

    /// What to do to a request to `route` (`METHOD /path/{param}`): the first rule with uses
    /// left that matches it, one use fewer.
    pub fn plan(&self, route: &str) -> Plan {
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
