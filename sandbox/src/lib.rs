//! A faithful, stateful local stand-in for the Dodo Payments endpoints the upsell proxy uses,
//! so that the demo and every test run offline, and fail on purpose when a test asks.
//! Never used in production.
//!
//! Shapes follow the official `dodopayments` crate (1.127) and the API contract; the conformance
//! tests deserialize every response into that crate's models.

//! Two layers: `world`, the simulated Dodo (what exists, what happens to it, its clock, its
//! webhooks and faults), and `http` on top (Dodo's routes, its hosted pages and the control
//! API), which nothing in `world` imports.

pub mod http;
pub mod world;

pub use http::{build, serve, SandboxConfig};
pub use world::seed::Seed;
pub use world::webhooks::WebhookSettings;

/// The seed file the demo and the tests start from.
pub const DEMO_SEED: &str = include_str!("../seed/demo.toml");
/// The billing world: subscriptions on a clock that starts at 2026-01-01 and stands still.
pub const BILLING_SEED: &str = include_str!("../seed/billing.toml");
