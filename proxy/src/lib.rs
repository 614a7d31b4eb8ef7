//! The upsell proxy: the merchant-side server of the upsell widget. It holds the Dodo API key,
//! decides what is offered after a purchase and at what price, signs each offer into a single-use
//! token, charges an accepted offer exactly once, and learns the outcome from Dodo's webhooks.

pub mod admin_token;
pub mod analytics;
pub mod app;
mod charge;
pub mod clock;
pub mod dodo_api;
mod error;
mod metrics;
pub mod offer_builder;
pub mod offer_rules;
pub mod offer_token;
pub mod plan_change;
pub mod plan_change_store;
pub mod plan_token;
pub mod product_cache;
pub mod rate_limit;
mod reconcile;
mod routes;
pub mod storage;
pub mod webhook_event;

pub use app::{router, serve, ProxyConfig};
