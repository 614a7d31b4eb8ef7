//! The Dodo upsell widget: one-click post-purchase offers on a merchant's thank-you page.
//!
//! It talks only to the merchant's upsell proxy, never to Dodo: the browser holds no API key and
//! decides no price. `embed/upsell.js` defines the `<dodo-upsell>` element and calls
//! [`embed::mount`] for each one; see `embed` for its attributes.

pub mod api;
pub mod context;
pub mod embed;
pub mod events;
pub mod host;
pub mod i18n;
pub mod idempotency_key;
pub mod impression;
pub mod money;
pub mod offer_visible;
pub mod on_demand;
pub mod time_left;
pub mod views;
