//! Dodo Payments: the API client (through the official `dodopayments` crate), reading its
//! prices and saved cards, the product cache, its webhooks, and the metadata keys the proxy sets
//! on what it creates there. Nothing here knows the proxy's own concerns.

pub mod client;
pub mod metadata;
pub mod product_cache;
pub mod webhooks;

pub use client::DodoApi;
