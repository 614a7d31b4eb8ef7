//! The proxy's HTTP API, one file per concern.

pub mod accept;
pub mod decline;
pub mod dodo_webhooks;
pub mod health;
pub mod offers;
