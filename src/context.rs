//! What every view of one widget needs to know: where the proxy is, what it is following (a
//! purchase, or on an account page a subscriber), its language, and the customer's saved cards.
//! Made by `embed` when it mounts a widget; the views read it.

use crate::i18n::Texts;
use leptos::prelude::*;
use upsell_wire::PaymentMethod;
use web_sys::js_sys::Promise;

/// What every view of one widget needs to know.
#[derive(Debug, Clone)]
pub struct WidgetContext {
    /// Names this widget's element, for its DOM events (see `crate::events`).
    pub widget_id: u32,
    /// The proxy's base URL; empty for the page's own origin.
    pub endpoint: String,
    /// The Dodo payment id of the purchase just made; empty on an account page.
    pub payment_id: String,
    /// On an account page: the merchant's signed token naming the subscriber.
    pub account_token: Option<String>,
    /// For a proxy in strict mode: the merchant's signed token for the purchase.
    pub purchase_token: Option<String>,
    /// BCP 47 locale for `Intl` (prices, times).
    pub locale: String,
    /// The strings of the locale's language.
    pub texts: &'static Texts,
    /// The saved cards that can pay, the preselected first; set once the offers arrive.
    pub payment_methods: RwSignal<Vec<PaymentMethod>>,
    /// The card the customer chose; `None` when no saved card can pay.
    pub chosen_method: RwSignal<Option<String>>,
    /// The first request's answer when the loader already sent it (see `embed/upsell.js`);
    /// taken by the first load.
    pub first_answer: StoredValue<Option<Promise>, LocalStorage>,
}

impl WidgetContext {
    pub fn new(
        widget_id: u32,
        endpoint: String,
        payment_id: String,
        locale: String,
        texts: &'static Texts,
    ) -> Self {
        Self {
            widget_id,
            endpoint,
            payment_id,
            account_token: None,
            purchase_token: None,
            texts,
            locale,
            payment_methods: RwSignal::new(Vec::new()),
            chosen_method: RwSignal::new(None),
            first_answer: StoredValue::new_local(None),
        }
    }
}
