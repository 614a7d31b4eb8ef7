//! Embedding. `embed/upsell.js` defines the `<dodo-upsell>` custom element; each one gets its
//! widget in its own shadow root, so neither the page's styles nor ours leak across.
//!
//! ```html
//! <dodo-upsell endpoint="https://upsell.shop.example" locale="pt-BR" theme="dark"></dodo-upsell>
//! <script type="module" src="https://upsell.shop.example/upsell.js"></script>
//! ```
//! Attributes, read when the element is connected: `endpoint` (the proxy; default the page's
//! origin), `payment-id` (default the page URL's `payment_id`, as Dodo's redirect sets it),
//! `purchase-token` (for a proxy in strict mode: the merchant's signed token for that purchase),
//! `account-token` (on an account page instead: the merchant's signed token for the subscriber),
//! `locale` (default the page's `lang`, then the browser's language) and `theme` (`light`,
//! `dark`; colours, radius and font are CSS custom properties, see `style/widget.css`).
//!
//! The page's link is the loader's to read: it takes the purchase out of the address bar (so
//! that the link stops being a key to the customer's card), keeps it for the tab, and asks for
//! its offers itself, so a widget of a thank-you page always mounts with that first answer.

use crate::context::WidgetContext;
use crate::host;
use crate::i18n::{Language, Texts};
use crate::offer_visible;
use crate::on_demand::{self, Part};
use crate::views::upsell_widget::UpsellWidget;
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::js_sys::Promise;
use web_sys::{HtmlElement, ShadowRoot};

/// One mounted widget: what `unmount` must take down.
struct Mounted {
    root: ShadowRoot,
    nodes: Vec<web_sys::Element>,
    /// Leptos' `UnmountHandle`: dropping it unmounts the view and disposes of its state. None
    /// while the page's language is still being fetched.
    handle: Option<Box<dyn std::any::Any>>,
}

thread_local! {
    static MOUNTED: RefCell<HashMap<u32, Mounted>> = RefCell::new(HashMap::new());
    static NEXT_ID: RefCell<u32> = const { RefCell::new(1) };
}

/// Mounts a widget for `host` into its shadow root `root`, with the widget's stylesheet at
/// `stylesheet`. `first_answer` is the loader's `fetch()` of the widget's first request (see
/// `embed/upsell.js`). Returns the id `unmount` takes; 0 when there is nothing to follow: no
/// answer, no purchase in `payment-id` and no account token.
#[wasm_bindgen]
pub fn mount(
    host: HtmlElement,
    root: ShadowRoot,
    stylesheet: &str,
    first_answer: Option<Promise>,
) -> u32 {
    // An account page names the subscriber with a token its server signed; a thank-you page
    // names the purchase.
    let account_token = attribute(&host, "account-token");
    let payment_id = attribute(&host, "payment-id").unwrap_or_default();
    if account_token.is_none() && payment_id.is_empty() && first_answer.is_none() {
        return 0;
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return 0;
    };
    let locale = attribute(&host, "locale")
        .or_else(|| {
            document
                .document_element()
                .and_then(|e| e.get_attribute("lang"))
                .filter(|l| !l.trim().is_empty())
        })
        .or_else(|| web_sys::window().and_then(|w| w.navigator().language()))
        .unwrap_or_else(|| "en".into());
    let theme = match attribute(&host, "theme").as_deref() {
        Some("dark") => "dark",
        _ => "light",
    };
    let Ok(link) = document.create_element("link") else {
        return 0;
    };
    let _ = link.set_attribute("rel", "stylesheet");
    let _ = link.set_attribute("href", stylesheet);
    let Ok(container) = document.create_element("div") else {
        return 0;
    };
    let _ = container.set_attribute("class", "dodo-upsell-root");
    let _ = container.set_attribute("data-theme", theme);
    // Hidden (by the browser's own style for `hidden`) until the stylesheet has loaded, so the
    // customer never sees the widget unstyled; the offers are fetched meanwhile.
    let _ = container.set_attribute("hidden", "");
    let id = NEXT_ID.with(|n| {
        let mut n = n.borrow_mut();
        let id = *n;
        *n += 1;
        id
    });
    for event in ["load", "error"] {
        let shown = container.clone();
        let reveal = Closure::once_into_js(move || {
            let _ = shown.remove_attribute("hidden");
            offer_visible::stylesheet_loaded(id);
        });
        let _ = link.add_event_listener_with_callback(event, reveal.unchecked_ref());
    }
    let _ = root.append_child(&link);
    let _ = root.append_child(&container);
    let endpoint = attribute(&host, "endpoint").unwrap_or_default();
    let purchase_token = attribute(&host, "purchase-token");
    host::register(id, host);
    MOUNTED.with(|m| {
        m.borrow_mut().insert(
            id,
            Mounted {
                root,
                nodes: vec![link, container.clone()],
                handle: None,
            },
        )
    });

    let widget = Widget {
        id,
        container,
        endpoint,
        payment_id,
        account_token,
        purchase_token,
        locale,
        first_answer,
    };
    match Language::of_locale(&widget.locale) {
        // English is in the main module: the widget renders at once.
        Language::English => widget.render(Language::english()),
        // Any other language is fetched first (the offers are on their way meanwhile); if it
        // cannot be, the widget speaks English rather than not at all.
        language => spawn_local(async move {
            let texts = match language.texts().await {
                Ok(texts) => texts,
                Err(_) => {
                    on_demand::report_unavailable(&widget.endpoint, Part::Language);
                    Language::english()
                }
            };
            widget.render(texts);
        }),
    }
    id
}

/// A widget mounted but not yet rendered.
struct Widget {
    id: u32,
    container: web_sys::Element,
    endpoint: String,
    payment_id: String,
    account_token: Option<String>,
    purchase_token: Option<String>,
    locale: String,
    first_answer: Option<Promise>,
}

impl Widget {
    /// Renders the widget in `texts`' language, unless its element has left the page meanwhile.
    fn render(self, texts: &'static Texts) {
        if !MOUNTED.with(|m| m.borrow().contains_key(&self.id)) {
            return;
        }
        let _ = self.container.set_attribute("lang", texts.lang);
        let mut context =
            WidgetContext::new(self.id, self.endpoint, self.payment_id, self.locale, texts);
        context.account_token = self.account_token;
        context.purchase_token = self.purchase_token;
        context.first_answer.set_value(self.first_answer);
        let handle = mount_to(self.container.unchecked_into(), move || {
            view! { <UpsellWidget context=context.clone() /> }
        });
        MOUNTED.with(|m| {
            if let Some(mounted) = m.borrow_mut().get_mut(&self.id) {
                mounted.handle = Some(Box::new(handle));
            }
        });
    }
}

/// Takes widget `id` down: its reactive state, timers' effects and nodes. Called when its
/// element leaves the page.
#[wasm_bindgen]
pub fn unmount(id: u32) {
    let Some(mounted) = MOUNTED.with(|m| m.borrow_mut().remove(&id)) else {
        return;
    };
    drop(mounted.handle);
    host::forget(id);
    offer_visible::forget(id);
    for node in mounted.nodes {
        let _ = mounted.root.remove_child(&node);
    }
}

/// How many widgets are mounted (for tests of unmounting).
pub fn mounted_count() -> usize {
    MOUNTED.with(|m| m.borrow().len())
}

fn attribute(element: &HtmlElement, name: &str) -> Option<String> {
    element
        .get_attribute(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
