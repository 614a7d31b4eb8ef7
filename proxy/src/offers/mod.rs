//! What a customer is offered after a purchase: the purchase checked (succeeded, inside its
//! offer window), the offers it leads to narrowed to those whose conditions it meets and
//! ordered by priority (`targeting`), each chain of downsells walked past what was declined or
//! what the customer already has (`customer_history`, from Dodo), each offered product
//! priced from Dodo in the variant of its experiment the customer falls in, and each item sealed
//! in an offer token; a decline recorded, with the next offer of its chain. In strict mode, the
//! purchase must first be named by the merchant's own purchase token (`purchase_token`).

pub mod allocation;
pub mod builder;
pub mod customer_history;
pub mod decline;
pub mod experiment;
pub mod holdout;
pub mod lookup;
pub mod purchase_token;
pub mod targeting;
pub mod thompson;
pub mod token;

use crate::dodo::DodoApi;
use crate::rules::LiveRules;
use crate::storage::Storage;
use crate::tokens::TokenKeys;
use allocation::Allocator;
use std::sync::Arc;

/// What the offers concern works with.
#[derive(Clone)]
pub struct Offers {
    pub dodo: DodoApi,
    pub storage: Storage,
    /// The offers file in force (it may be reloaded while the proxy runs).
    pub rules: LiveRules,
    pub keys: Arc<TokenKeys>,
    /// Strict mode: offers only for a payment the merchant's purchase token names (see
    /// `purchase_token`).
    pub require_purchase_token: bool,
    /// The traffic shares of experiments with `allocation = "bandit"`.
    pub allocator: Arc<Allocator>,
}

/// Why no offers could be given.
#[derive(Debug)]
pub enum OfferError {
    /// Dodo has no payment with this id.
    PaymentNotFound,
    /// Offers follow only a purchase that succeeded.
    PaymentNotSucceeded,
    /// The purchase's offer window has closed.
    WindowClosed,
    /// Dodo sent a date that does not read.
    UnreadableDate,
    /// A token's claims do not hold a time (it was not ours).
    InvalidToken,
    /// Strict mode, and the lookup carries no purchase token.
    PurchaseTokenMissing,
    /// Strict mode, and the purchase token is not ours, tampered with, of another kind, or for
    /// another payment.
    PurchaseTokenInvalid,
    /// Strict mode, and the purchase token is past its `exp`.
    PurchaseTokenExpired,
    /// Dodo could not be reached, or refused.
    Upstream(dodopayments::Error),
    Storage(sqlx::Error),
    /// An offer token could not be signed.
    Signing(anyhow::Error),
}

impl From<sqlx::Error> for OfferError {
    fn from(error: sqlx::Error) -> Self {
        OfferError::Storage(error)
    }
}
