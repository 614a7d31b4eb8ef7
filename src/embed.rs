//! Embedding: every `<dodo-upsell>` element on the page gets a widget.
//!
//! ```html
//! <dodo-upsell endpoint="https://upsell.shop.example" locale="en-US"></dodo-upsell>
//! <script type="module" src="https://upsell.shop.example/upsell.js"></script>
//! ```
//! Attributes: `endpoint` (the proxy; default the page's origin), `payment-id` (default the page
//! URL's `payment_id`, as Dodo's redirect sets it), `locale` (default the page's `lang`, then the
//! browser's language).

use crate::views::upsell_widget::UpsellWidget;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement, UrlSearchParams};

/// The element name merchants write.
pub const TAG: &str = "dodo-upsell";
/// Marks an element that already has its widget.
const MOUNTED: &str = "data-dodo-upsell-mounted";

/// Mounts a widget into every `<dodo-upsell>` element that has none yet.
pub fn mount_all() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(elements) = document.query_selector_all(TAG) else {
        return;
    };
    for index in 0..elements.length() {
        if let Some(element) = elements
            .item(index)
            .and_then(|node| node.dyn_into::<HtmlElement>().ok())
        {
            mount_into(&document, element);
        }
    }
}

fn mount_into(document: &Document, element: HtmlElement) {
    if element.has_attribute(MOUNTED) {
        return;
    }
    let Some(payment_id) = attribute(&element, "payment-id").or_else(payment_id_from_url) else {
        // No purchase to follow: nothing to offer.
        return;
    };
    let endpoint = attribute(&element, "endpoint").unwrap_or_default();
    let locale = attribute(&element, "locale")
        .or_else(|| {
            document
                .document_element()
                .map(|e| e.get_attribute("lang").unwrap_or_default())
                .filter(|l| !l.is_empty())
        })
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_else(|| "en".into());
    let _ = element.set_attribute(MOUNTED, "");
    let handle = mount_to(element, move || {
        view! { <UpsellWidget endpoint payment_id locale /> }
    });
    // The widget lives as long as the page.
    handle.forget();
}

fn attribute(element: &HtmlElement, name: &str) -> Option<String> {
    element
        .get_attribute(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Dodo redirects to the return URL with `?payment_id=…&status=succeeded`.
fn payment_id_from_url() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = UrlSearchParams::new_with_str(&search).ok()?;
    params.get("payment_id").filter(|id| !id.is_empty())
}
