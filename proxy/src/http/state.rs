//! What every handler shares: the product's concerns (each with its own handles to Dodo and the
//! database), and the web layer's own (rate limits, metrics, the webhook verifier, the admin
//! token, the merchant's origins).

use super::admin_token::AdminToken;
use super::metrics::Metrics;
use super::rate_limit::RateLimits;
use crate::charging::Charging;
use crate::offers::Offers;
use crate::plan_changes::PlanChanges;
use crate::rules::LiveRules;
use crate::storage::Storage;
use crate::tokens::TokenKeys;
use standardwebhooks::Webhook;
use std::sync::Arc;

pub struct AppState {
    pub offers: Offers,
    pub charging: Charging,
    pub plan_changes: PlanChanges,
    /// The offers file (for the report).
    pub rules: LiveRules,
    /// Verifies the tokens requests carry.
    pub keys: Arc<TokenKeys>,
    /// For what the web layer records itself: webhooks already processed, the report.
    pub storage: Storage,
    pub webhook_verifier: Webhook,
    /// The merchant's origins: CORS, and where a fallback checkout may return to.
    pub allowed_origins: Vec<String>,
    pub limits: RateLimits,
    pub metrics: Metrics,
    pub admin_token: Option<AdminToken>,
}
