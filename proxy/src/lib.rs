//! The upsell proxy: the merchant-side server of the upsell widget. It holds the Dodo API key,
//! decides what is offered after a purchase and at what price, signs each offer into a single-use
//! token, charges an accepted offer exactly once, and learns the outcome from Dodo's webhooks.
//!
//! Its layers, each importing only from those below it:
//!
//! - `http`: the web layer. The router, the state handlers share, the routes, errors as
//!   `{code, message}` responses, rate limits, metrics, the report's admin token, the widget's
//!   files and the background reconciliation.
//! - The product's concerns, each with its own handles and its own error type:
//!   - `offers`: what a customer is offered after a purchase;
//!   - `charging`: accepting an offer, charging it exactly once, and learning the outcome;
//!   - `plan_changes`: a subscriber's upgrades and downgrades;
//!   - `analytics`: which offers convert, and the report.
//! - What they stand on:
//!   - `rules`: the merchant's offers file;
//!   - `tokens`: the signing keys;
//!   - `dodo`: the Dodo API, its webhooks and prices;
//!   - `storage`: the database;
//!   - `clock` and `idempotency_key`: small shared rules.

pub mod analytics;
pub mod charging;
pub mod clock;
pub mod dodo;
pub mod http;
pub mod idempotency_key;
pub mod offers;
pub mod plan_changes;
pub mod rules;
pub mod storage;
pub mod tokens;

pub use http::{router, serve, ProxyConfig};
