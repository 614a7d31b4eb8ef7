//! A faithful, stateful local stand-in for the Dodo Payments endpoints the upsell proxy uses,
//! so that the demo and every test run offline, and fail on purpose when a test asks.
//! Never used in production.
//!
//! Shapes follow the official `dodopayments` crate (1.127) and the API contract; the conformance
//! tests deserialize every response into that crate's models.

pub mod app;
mod auth;
mod cart;
mod charges;
pub mod clock;
mod control;
pub mod dodo_json;
mod error;
pub mod faults;
mod hosted;
mod plan_change;
pub mod proration;
mod routes;
pub mod seed;
pub mod store;
mod webhooks;

pub use app::{build, serve, SandboxConfig};
pub use seed::Seed;
pub use webhooks::WebhookSettings;

/// The seed file the demo and the tests start from.
pub const DEMO_SEED: &str = include_str!("../seed/demo.toml");
/// The billing world: subscriptions on a clock that starts at 2026-01-01 and stands still.
pub const BILLING_SEED: &str = include_str!("../seed/billing.toml");
