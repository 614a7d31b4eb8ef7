//! Rate limits: per client (the caller's IP address) on every API route, and per offer token on
//! accept and decline, so neither a script nor a stuck widget can hammer Dodo through the proxy.
//! Over the limit: `429 {code: "rate_limited"}` with `retry-after`.

use super::error::ApiError;
use super::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Requests allowed per minute, and how many may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    /// `n` per minute, all of them allowed at once.
    pub fn per_minute(n: u32) -> Rate {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Rate {
            per_minute: n,
            burst: n,
        }
    }

    fn quota(self) -> Quota {
        Quota::per_minute(self.per_minute).allow_burst(self.burst)
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

pub struct RateLimits {
    per_client: Keyed<IpAddr>,
    per_token: Keyed<String>,
    clock: DefaultClock,
    /// Key clients by the first `X-Forwarded-For` address: only right when every request comes
    /// through a load balancer that sets it (otherwise a client could choose its own key).
    trust_forwarded_for: bool,
}

impl RateLimits {
    pub fn new(per_client: Rate, per_token: Rate, trust_forwarded_for: bool) -> Self {
        Self {
            per_client: RateLimiter::keyed(per_client.quota()),
            per_token: RateLimiter::keyed(per_token.quota()),
            clock: DefaultClock::default(),
            trust_forwarded_for,
        }
    }

    /// Who is calling: the peer address, or the balancer's word for it when trusted.
    fn client(&self, request: &Request) -> Option<IpAddr> {
        let forwarded = self
            .trust_forwarded_for
            .then(|| request.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| first.trim().parse().ok());
        forwarded.or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        })
    }

    /// Counts one use of an offer token (its `jti`).
    pub fn check_token(&self, jti: &str) -> Result<(), ApiError> {
        self.per_token
            .check_key(&jti.to_string())
            .map_err(|not_until| limited(not_until.wait_time_from(self.clock.now())).0)
    }

    /// Forgets keys that are back to a full allowance, so memory does not grow with every
    /// client ever seen.
    pub fn forget_idle(&self) {
        self.per_client.retain_recent();
        self.per_token.retain_recent();
    }
}

fn limited(wait: Duration) -> (ApiError, u64) {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    (
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; try again in {seconds} s"),
        ),
        seconds.max(1),
    )
}

/// Middleware: one request of the caller's allowance.
pub async fn per_client(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(ip) = state.limits.client(&request) {
        if let Err(not_until) = state.limits.per_client.check_key(&ip) {
            let (error, retry_after) = limited(not_until.wait_time_from(state.limits.clock.now()));
            let mut response = error.into_response();
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
    }
    next.run(request).await
}
