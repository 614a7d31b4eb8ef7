//! Rate limits: per client (the caller's IP address) on every API route, and per offer token on
//! accept and decline, so neither a script nor a stuck widget can hammer Dodo through the proxy.
//! Over the limit: `429 {code: "rate_limited"}` with `retry-after`.

use super::error::ApiError;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
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

    /// Counts one request of its caller; over the allowance, the answer to send and the seconds
    /// to wait.
    pub fn check_client(&self, request: &Request) -> Result<(), (ApiError, u64)> {
        match self.client(request) {
            Some(ip) => self
                .per_client
                .check_key(&ip)
                .map_err(|not_until| limited(not_until.wait_time_from(self.clock.now()))),
            None => Ok(()),
        }
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

/// The answer to a request over its allowance, and the seconds to wait.
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
