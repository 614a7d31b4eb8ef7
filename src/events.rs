//! DOM events for the merchant's page: `upsell:shown`, `upsell:accepted`, `upsell:declined`
//! and `upsell:failed`, dispatched on the `<dodo-upsell>` element. They bubble and cross the
//! shadow root, so one listener on `document` hears every widget on the page.

use crate::host;
use serde::Serialize;
use web_sys::{CustomEvent, CustomEventInit};

/// An offer was shown.
pub const SHOWN: &str = "upsell:shown";
/// An item's charge succeeded.
pub const ACCEPTED: &str = "upsell:accepted";
/// The customer said "No thanks".
pub const DECLINED: &str = "upsell:declined";
/// An item's charge, or the request for it, failed.
pub const FAILED: &str = "upsell:failed";

/// `detail` of every event. Amounts are in minor units, as everywhere.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Detail {
    pub offer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Dispatches `name` on the element of widget `widget_id`; nothing when it has none (a widget
/// mounted directly, as in tests of single views).
pub fn emit(widget_id: u32, name: &str, detail: &Detail) {
    let Some(host) = host::host(widget_id) else {
        return;
    };
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    if let Ok(value) = serde_wasm_bindgen::to_value(detail) {
        init.set_detail(&value);
    }
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}
