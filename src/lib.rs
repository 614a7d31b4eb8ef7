//! The Dodo upsell widget: a one-click post-purchase offer on a merchant's thank-you page.
//!
//! It talks only to the merchant's upsell proxy, never to Dodo: the browser holds no API key and
//! decides no price. See `embed` for how a page embeds it.

pub mod api;
pub mod embed;
pub mod money;
pub mod text;
pub mod views;

use wasm_bindgen::prelude::*;

/// Runs when the module is loaded by the page's script tag.
#[wasm_bindgen(start)]
pub fn start() {
    embed::mount_all();
}
