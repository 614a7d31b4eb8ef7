//! Plan changes: which a subscriber may make (`offered`), what Dodo says each will cost
//! (`preview`), making one exactly once (`confirm`, `change`) and learning its outcome. Dodo
//! computes every amount; the proxy shows its preview, refuses a confirm whose amount no longer
//! matches it, records the change before calling Dodo, and learns the outcome from the payment,
//! the subscription and their webhooks.

pub mod change;
pub mod confirm;
pub mod offered;
pub mod plans;
pub mod preview;
pub mod token;
pub mod withdraw;

use crate::dodo::DodoApi;
use crate::rules::LiveRules;
use crate::storage::Storage;
use crate::tokens::{TokenError, TokenKeys};
use std::sync::Arc;
use std::time::Duration;

/// What plan changes work with.
#[derive(Clone)]
pub struct PlanChanges {
    pub dodo: DodoApi,
    pub storage: Storage,
    pub rules: LiveRules,
    pub keys: Arc<TokenKeys>,
    /// How long a change whose answer was lost may still appear at Dodo.
    pub grace: Duration,
    /// How long a change may wait for its customer's 3-D Secure before the proxy stops
    /// waiting: the change is then failed (`authentication_timed_out`) unless Dodo has settled
    /// it, and a new one may be offered; a late outcome from Dodo still counts.
    pub action_timeout: Duration,
}

/// Why a plan change was refused, or could not be answered.
#[derive(Debug)]
pub enum PlanChangeError {
    /// A token that does not verify, or is expired.
    Token(TokenError),
    /// A token of another kind, or naming what it cannot.
    InvalidToken,
    /// The subscription is not the token's customer's.
    NotTheCustomers,
    /// The rule the token names is no longer offered.
    Withdrawn,
    /// No subscription with the account token's id.
    SubscriptionNotFound,
    /// The subscription is no longer on the plan the change starts from, or has a change
    /// scheduled.
    AlreadyChanged,
    /// Dodo refused to preview the change.
    Refused,
    /// What Dodo would charge now is not what the customer confirmed.
    PreviewChanged {
        amount: i64,
        currency: String,
    },
    /// Another change of the subscription is under way.
    InProgress,
    /// The idempotency key was used for another change.
    IdempotencyKeyReused,
    /// The idempotency key is not 8 to 128 letters, digits, `-` or `_`.
    InvalidIdempotencyKey,
    /// No change with this reference.
    NotFound,
    /// The change could not be followed after it was sent (its task failed).
    NotFollowed,
    /// Dodo could not be reached, or refused.
    Upstream(dodopayments::Error),
    Storage(sqlx::Error),
    /// A plan change token could not be signed.
    Signing(anyhow::Error),
}

impl From<sqlx::Error> for PlanChangeError {
    fn from(error: sqlx::Error) -> Self {
        PlanChangeError::Storage(error)
    }
}
