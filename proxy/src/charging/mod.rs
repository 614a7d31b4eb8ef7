//! Charging an accepted offer exactly once, and learning its outcome.
//!
//! An accept is recorded before Dodo is called, and only the request that recorded it calls
//! Dodo (`accept`); the charge is sent once and never retried blindly (`charge`); an outcome
//! that was not heard is found by the charge's metadata, never by charging again (`reconcile`,
//! on `outcome`, which asks Dodo where a charge stands);
//! Dodo's payment webhooks move accepts forward, never back (`payment_events`). When one click
//! cannot pay, a standard checkout is opened instead (`checkout`).

pub mod accept;
pub mod charge;
pub mod checkout;
pub mod outcome;
pub mod payment_events;
pub mod reconcile;

use crate::dodo::DodoApi;
use crate::rules::LiveRules;
use crate::storage::Storage;
use std::time::Duration;

/// What charging works with.
#[derive(Clone)]
pub struct Charging {
    pub dodo: DodoApi,
    pub storage: Storage,
    /// How long a charge whose answer was lost may still appear at Dodo; after it, a charge that
    /// cannot be found never happened.
    pub grace: Duration,
    /// The offers file in force: its `max_accepted_offers` is how many items one purchase may
    /// accept.
    pub rules: LiveRules,
}

/// Why an accept (or a standard checkout for an offer) was refused, or could not be answered.
#[derive(Debug)]
pub enum AcceptError {
    /// The idempotency key is not 8 to 128 letters, digits, `-` or `_`.
    InvalidIdempotencyKey,
    /// The quantity is outside the bounds the token seals.
    InvalidQuantity {
        min: u32,
        max: u32,
    },
    /// The quantity times the price does not fit.
    QuantityTooLarge,
    /// The offer was declined (perhaps in another tab): its downsell may have taken its place.
    Declined,
    /// No saved method can pay: only a standard checkout can.
    NoPaymentMethod,
    /// A payment method the customer cannot use was named.
    PaymentMethodNotAllowed,
    /// The idempotency key was used for another offer.
    IdempotencyKeyReused,
    /// The purchase has accepted as many offers as it may.
    LimitReached,
    /// No accept with this id.
    NotFound,
    /// The item was already added to the order (a standard checkout is refused).
    AlreadyAccepted,
    /// Dodo created a checkout without a page to send the customer to.
    NoCheckoutPage,
    /// Dodo could not be reached, or refused.
    Upstream(dodopayments::Error),
    Storage(sqlx::Error),
}

impl From<sqlx::Error> for AcceptError {
    fn from(error: sqlx::Error) -> Self {
        AcceptError::Storage(error)
    }
}

/// What became of a call to Dodo's charge endpoint, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeCall {
    /// Dodo took the charge.
    Submitted,
    /// Dodo refused it: nothing was charged.
    Refused,
    /// The answer was lost: the charge may or may not exist, and is looked up.
    Unknown,
}

impl ChargeCall {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeCall::Submitted => "submitted",
            ChargeCall::Refused => "refused",
            ChargeCall::Unknown => "unknown",
        }
    }
}
