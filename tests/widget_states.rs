//! The whole widget in headless Chromium, mounted as a page mounts it (a `<dodo-upsell>` with a
//! shadow root), against a stubbed proxy: `window.fetch` answers from a script of replies, and
//! records what the widget sent. One test per state and per offer type.

use dodo_upsell::{embed, on_demand};
use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use upsell_wire::{
    AcceptResponse, AcceptStatus, DeclineResponse, EffectiveAt, Money, Offer, OfferItem, OfferKind,
    OffersResponse, PaymentMethod, Plan, PlanChange, PlanChangePreview, PlanChangeResult,
    PlanChangeStatus, PlanChangesResponse, PlanDirection, QuantityRange, WithdrawResult,
    WithdrawStatus,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, ShadowRoot};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function install_stub(routes) {
  window.__stubRequests = [];
  window.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const key = `${request.method} ${url.pathname}`;
    const body = request.method === "POST" ? await request.text() : "";
    window.__stubRequests.push({ key, url: request.url, body,
      authorization: request.headers.get("authorization") });
    const replies = routes[key] || [];
    const reply = replies.length > 1 ? replies.shift() : replies[0];
    if (!reply) {
      return new Response(JSON.stringify({ code: "not_found", message: key }), { status: 404 });
    }
    if (reply.hang) return new Promise(() => {});
    return new Response(JSON.stringify(reply.body), {
      status: reply.status, headers: { "content-type": "application/json" } });
  };
  // Beacons (impressions) are recorded too; nothing reads their answer.
  navigator.sendBeacon = (url, body) => {
    window.__stubRequests.push({ key: `POST ${new URL(url).pathname}`, url, body: String(body),
      authorization: null });
    return true;
  };
}
export function recorded() { return window.__stubRequests; }
export function marks(name) { return performance.getEntriesByName(name).length; }
export function clear_marks(name) { performance.clearMarks(name); }
export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
export function listen(target, names) {
  const seen = [];
  for (const name of names) target.addEventListener(name, (e) => seen.push({ name, detail: e.detail }));
  return seen;
}
"#)]
extern "C" {
    fn install_stub(routes: &Object);
    fn recorded() -> Array;
    fn marks(name: &str) -> u32;
    fn clear_marks(name: &str);
    fn sleep(ms: u32) -> js_sys::Promise;
    fn listen(target: &HtmlElement, names: &Array) -> Array;
}

const ENDPOINT: &str = "https://proxy.test";

/// One scripted answer of the stubbed proxy. Replies to a route are used in order; the last
/// one repeats.
struct Reply {
    status: u16,
    body: JsValue,
    hang: bool,
}

fn ok<T: Serialize>(body: &T) -> Reply {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Reply {
        status: 200,
        body: body.serialize(&serializer).unwrap(),
        hang: false,
    }
}

fn error(status: u16, code: &str) -> Reply {
    let body = Object::new();
    Reflect::set(&body, &"code".into(), &code.into()).unwrap();
    Reflect::set(&body, &"message".into(), &"refused".into()).unwrap();
    Reply {
        status,
        body: body.into(),
        hang: false,
    }
}

fn never() -> Reply {
    Reply {
        status: 0,
        body: JsValue::NULL,
        hang: true,
    }
}

fn stub(routes: Vec<(&str, Vec<Reply>)>) {
    let table = Object::new();
    for (key, replies) in routes {
        let list = Array::new();
        for reply in replies {
            let entry = Object::new();
            Reflect::set(&entry, &"status".into(), &reply.status.into()).unwrap();
            Reflect::set(&entry, &"body".into(), &reply.body).unwrap();
            Reflect::set(&entry, &"hang".into(), &reply.hang.into()).unwrap();
            list.push(&entry);
        }
        Reflect::set(&table, &key.into(), &list).unwrap();
    }
    install_stub(&table);
}

/// Requests the widget sent to `key` (e.g. `POST /v1/offers/accept`), their bodies parsed.
fn sent(key: &str) -> Vec<JsValue> {
    recorded()
        .iter()
        .filter(|r| {
            Reflect::get(r, &"key".into())
                .unwrap()
                .as_string()
                .as_deref()
                == Some(key)
        })
        .map(|r| {
            let body = Reflect::get(&r, &"body".into())
                .unwrap()
                .as_string()
                .unwrap();
            if body.is_empty() {
                JsValue::NULL
            } else {
                js_sys::JSON::parse(&body).unwrap()
            }
        })
        .collect()
}

fn field(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &name.into()).unwrap()
}

fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: "USD".into(),
    }
}

fn item(id: &str, title: &str, price: i64) -> OfferItem {
    OfferItem {
        item_id: id.into(),
        token: format!("token-{id}"),
        title: title.into(),
        description: Some("Everything in Basic, and more.".into()),
        image: None,
        price: usd(price),
        list_price: None,
        quantity: QuantityRange { min: 1, max: 1 },
    }
}

fn upsell() -> Offer {
    Offer {
        offer_id: "pro-upgrade".into(),
        kind: OfferKind::Upsell,
        badge: Some("most_popular".into()),
        items: vec![item("pro-upgrade", "Pro plan upgrade", 5000)],
        expires_at: "2026-11-24T12:00:00Z".into(),
        expires_in_seconds: 1790,
        countdown: true,
    }
}

fn downsell() -> Offer {
    let mut item = item("pro-upgrade-discount", "Pro plan upgrade", 3500);
    item.list_price = Some(usd(5000));
    Offer {
        offer_id: "pro-upgrade-discount".into(),
        kind: OfferKind::Downsell,
        badge: None,
        items: vec![item],
        expires_at: "2026-11-24T12:00:00Z".into(),
        expires_in_seconds: 1700,
        countdown: false,
    }
}

fn cross_sell() -> Offer {
    let mut templates = item("add-ons.templates", "Template pack", 1500);
    templates.quantity = QuantityRange { min: 1, max: 5 };
    Offer {
        offer_id: "add-ons".into(),
        kind: OfferKind::CrossSell,
        badge: None,
        items: vec![templates, item("add-ons.icons", "Icon pack", 900)],
        expires_at: "2026-11-24T12:00:00Z".into(),
        expires_in_seconds: 1790,
        countdown: false,
    }
}

fn card(id: &str, network: &str, last4: &str) -> PaymentMethod {
    PaymentMethod {
        payment_method_id: id.into(),
        network: network.into(),
        last4: last4.into(),
    }
}

fn offers(offers: Vec<Offer>, methods: Vec<PaymentMethod>) -> Reply {
    ok(&OffersResponse {
        offers,
        payment_methods: methods,
        plan_changes: Vec::new(),
    })
}

fn visa() -> Vec<PaymentMethod> {
    vec![card("pm_visa", "Visa", "4242")]
}

fn accept_reply(status: AcceptStatus, amount: i64) -> AcceptResponse {
    AcceptResponse {
        accept_id: "acc_1".into(),
        offer_id: "pro-upgrade".into(),
        status,
        amount: usd(amount),
        failure_reason: None,
        failure_code: None,
        action_url: None,
    }
}

/// A widget on the page, as `upsell.js` mounts it.
struct Widget {
    host: HtmlElement,
    root: ShadowRoot,
    id: u32,
    events: Array,
}

impl Widget {
    fn mount(locale: &str) -> Widget {
        Widget::mount_with(&[("payment-id", "pay_test_1"), ("locale", locale)])
    }

    fn mount_with(attributes: &[(&str, &str)]) -> Widget {
        Widget::mount_full(attributes, None)
    }

    /// Mounted as `upsell.js` does when it sent the widget's first request itself.
    fn mount_full(attributes: &[(&str, &str)], first_answer: Option<js_sys::Promise>) -> Widget {
        let document = web_sys::window().unwrap().document().unwrap();
        let host: HtmlElement = document
            .create_element("dodo-upsell")
            .unwrap()
            .unchecked_into();
        host.set_attribute("endpoint", ENDPOINT).unwrap();
        for (name, value) in attributes {
            host.set_attribute(name, value).unwrap();
        }
        document.body().unwrap().append_child(&host).unwrap();
        let root = host
            .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
            .unwrap();
        let names = Array::of4(
            &"upsell:shown".into(),
            &"upsell:accepted".into(),
            &"upsell:declined".into(),
            &"upsell:failed".into(),
        );
        let events = listen(&host, &names);
        let id = embed::mount(host.clone(), root.clone(), "widget.css", first_answer);
        assert_ne!(id, 0);
        Widget {
            host,
            root,
            id,
            events,
        }
    }

    fn text(&self) -> String {
        self.root
            .query_selector(".dodo-upsell-root")
            .unwrap()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    fn find(&self, selector: &str) -> Option<Element> {
        self.root.query_selector(selector).unwrap()
    }

    fn all(&self, selector: &str) -> Vec<Element> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length())
            .filter_map(|i| list.item(i))
            .map(|n| n.unchecked_into())
            .collect()
    }

    fn click(&self, selector: &str) {
        let element: HtmlElement = self
            .find(selector)
            .unwrap_or_else(|| panic!("no {selector} in {}", self.text()))
            .unchecked_into();
        element.click();
    }

    fn choose(&self, selector: &str, value: &str) {
        let select: web_sys::HtmlSelectElement = self.find(selector).unwrap().unchecked_into();
        select.set_value(value);
        let event = web_sys::Event::new("change").unwrap();
        select.dispatch_event(&event).unwrap();
    }

    /// Waits (up to 5 s) until the widget's text contains `needle`.
    async fn until_text(&self, needle: &str) {
        for _ in 0..250 {
            if self.text().contains(needle) {
                return;
            }
            JsFuture::from(sleep(20)).await.unwrap();
        }
        panic!("never showed {needle:?}; shows {:?}", self.text());
    }

    /// The element's own `display` (set by the widget when it gives its room back).
    fn display(&self) -> String {
        self.host
            .style()
            .get_property_value("display")
            .unwrap_or_default()
    }

    /// Waits (up to 5 s) until the element's own `display` is `value`.
    async fn until_display(&self, value: &str) {
        for _ in 0..250 {
            if self.display() == value {
                return;
            }
            JsFuture::from(sleep(20)).await.unwrap();
        }
        panic!("display never became {value:?}; is {:?}", self.display());
    }

    /// Names of the DOM events dispatched so far.
    fn event_names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| field(&e, "name").as_string().unwrap())
            .collect()
    }

    fn event(&self, name: &str) -> JsValue {
        self.events
            .iter()
            .find(|e| field(e, "name").as_string().as_deref() == Some(name))
            .map(|e| field(&e, "detail"))
            .unwrap_or_else(|| panic!("no {name} event in {:?}", self.event_names()))
    }
}

impl Drop for Widget {
    fn drop(&mut self) {
        embed::unmount(self.id);
        self.host.remove();
    }
}

async fn pause(ms: u32) {
    JsFuture::from(sleep(ms)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_skeleton_of_the_cards_size_holds_the_place_while_offers_load() {
    stub(vec![("GET /v1/offers", vec![never()])]);
    let widget = Widget::mount("en-US");
    pause(50).await;
    let skeleton = widget.find("[data-state=loading]").expect("a skeleton");
    assert!(skeleton.query_selector("[role=status]").unwrap().is_some());
    assert!(widget.text().contains("Loading an offer for you…"));
    let region = widget.find("section").unwrap();
    assert_eq!(
        region.get_attribute("aria-label").as_deref(),
        Some("A special offer for your order")
    );
}

#[wasm_bindgen_test]
async fn an_upsell_shows_price_badge_countdown_and_the_card_that_pays() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let widget = Widget::mount("en-US");
    widget.until_text("Pro plan upgrade").await;
    let text = widget.text();
    assert!(text.contains("$50.00"), "{text}");
    assert!(text.contains("Most popular upgrade"), "{text}");
    assert!(text.contains("Offer ends in 29:"), "{text}");
    assert!(
        text.contains("Charged to your Visa ending in 4242"),
        "{text}"
    );
    assert!(text.contains("Add to my order") && text.contains("No thanks"));
    assert_eq!(widget.event_names(), ["upsell:shown"]);
    assert_eq!(
        field(&widget.event("upsell:shown"), "offer_id")
            .as_string()
            .as_deref(),
        Some("pro-upgrade")
    );
}

#[wasm_bindgen_test]
async fn accepting_processes_once_however_many_clicks_then_confirms_the_charge() {
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        (
            "POST /v1/offers/accept",
            vec![ok(&accept_reply(AcceptStatus::Processing, 5000))],
        ),
        (
            "GET /v1/accepts/acc_1",
            vec![ok(&accept_reply(AcceptStatus::Succeeded, 5000))],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Add to my order").await;
    widget.click(".dodo-upsell__accept");
    widget.click(".dodo-upsell__accept");
    widget.click(".dodo-upsell__accept");
    widget.until_text("Adding it to your order…").await;
    let button = widget.find(".dodo-upsell__accept").unwrap();
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("true"));
    widget
        .until_text("Pro plan upgrade was added to your order. You were charged $50.00.")
        .await;
    let accepts = sent("POST /v1/offers/accept");
    assert_eq!(accepts.len(), 1, "one request for three clicks");
    assert_eq!(
        field(&accepts[0], "token").as_string().as_deref(),
        Some("token-pro-upgrade")
    );
    assert_eq!(
        field(&accepts[0], "payment_method_id")
            .as_string()
            .as_deref(),
        Some("pm_visa")
    );
    let accepted = widget.event("upsell:accepted");
    assert_eq!(field(&accepted, "amount").as_f64(), Some(5000.0));
    assert_eq!(
        field(&accepted, "currency").as_string().as_deref(),
        Some("USD")
    );
    assert!(
        widget.find(".dodo-upsell__accept").is_none(),
        "no second submit"
    );
}

#[wasm_bindgen_test]
async fn a_failed_charge_gives_its_translated_reason_and_a_standard_checkout() {
    let mut failed = accept_reply(AcceptStatus::Failed, 5000);
    failed.failure_code = Some("insufficient_funds".into());
    failed.failure_reason = Some("Your card has insufficient funds.".into());
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        ("POST /v1/offers/accept", vec![ok(&failed)]),
        (
            "POST /v1/offers/checkout",
            vec![ok(&upsell_wire::CheckoutResponse {
                checkout_url: "#dodo-checkout".into(),
            })],
        ),
    ]);
    let widget = Widget::mount("fr-FR");
    widget.until_text("Ajouter").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("Fonds insuffisants").await;
    assert_eq!(
        field(&widget.event("upsell:failed"), "code")
            .as_string()
            .as_deref(),
        Some("insufficient_funds")
    );
    widget.click(".dodo-upsell__checkout");
    pause(100).await;
    let checkouts = sent("POST /v1/offers/checkout");
    assert_eq!(checkouts.len(), 1);
    assert_eq!(field(&checkouts[0], "quantity").as_f64(), Some(1.0));
    assert_eq!(
        sent("POST /v1/offers/accept").len(),
        1,
        "never retried by itself"
    );
}

#[wasm_bindgen_test]
async fn a_refused_accept_explains_itself_in_the_customers_language() {
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        ("POST /v1/offers/accept", vec![error(410, "offer_expired")]),
    ]);
    let widget = Widget::mount("de-DE");
    widget.until_text("Beliebtestes").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("abgelaufen").await;
    assert_eq!(
        field(&widget.event("upsell:failed"), "code")
            .as_string()
            .as_deref(),
        Some("offer_expired")
    );
    assert!(
        widget.find(".dodo-upsell__checkout").is_none(),
        "no checkout for an offer that is gone"
    );
}

#[wasm_bindgen_test]
async fn a_charge_that_needs_the_bank_links_to_it_and_picks_the_result_up() {
    let mut action = accept_reply(AcceptStatus::RequiresAction, 5000);
    action.action_url = Some("https://bank.example/3ds/pay_1".into());
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        ("POST /v1/offers/accept", vec![ok(&action)]),
        (
            "GET /v1/accepts/acc_1",
            vec![
                ok(&action),
                ok(&accept_reply(AcceptStatus::Succeeded, 5000)),
            ],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Add to my order").await;
    widget.click(".dodo-upsell__accept");
    widget
        .until_text("Your bank needs you to confirm this payment.")
        .await;
    let link = widget
        .find("a.dodo-upsell__link")
        .expect("a link to the bank");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://bank.example/3ds/pay_1")
    );
    assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
    widget.until_text("You were charged $50.00.").await;
}

#[wasm_bindgen_test]
async fn no_thanks_brings_the_downsell_with_its_discount_then_thanks_and_closes() {
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        (
            "POST /v1/offers/decline",
            vec![
                ok(&DeclineResponse {
                    offer_id: "pro-upgrade".into(),
                    next: Some(downsell()),
                }),
                ok(&DeclineResponse {
                    offer_id: "pro-upgrade-discount".into(),
                    next: None,
                }),
            ],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Most popular upgrade").await;
    widget.click(".dodo-upsell__decline");
    widget.until_text("30% off").await;
    let struck = widget.find("s.dodo-upsell__list-price").unwrap();
    assert_eq!(struck.text_content().as_deref(), Some("$50.00"));
    assert!(widget.text().contains("$35.00"));
    assert!(!widget.text().contains("Most popular upgrade"));
    let article = widget.find("article").unwrap();
    assert_eq!(
        article.get_attribute("data-kind").as_deref(),
        Some("downsell")
    );

    widget.click(".dodo-upsell__decline");
    widget
        .until_text("No problem. Thanks for your order!")
        .await;
    assert_eq!(
        widget.event_names(),
        [
            "upsell:shown",
            "upsell:declined",
            "upsell:shown",
            "upsell:declined"
        ]
    );
    pause(3300).await;
    assert!(widget.find("article").is_none(), "closed after the thanks");
    widget.until_display("none").await;
}

#[wasm_bindgen_test]
async fn a_cross_sell_adds_each_item_on_its_own_with_the_chosen_quantity_and_card() {
    stub(vec![
        (
            "GET /v1/offers",
            vec![offers(
                vec![cross_sell()],
                vec![
                    card("pm_visa", "Visa", "4242"),
                    card("pm_mc", "Mastercard", "5454"),
                ],
            )],
        ),
        (
            "POST /v1/offers/accept",
            vec![ok(&accept_reply(AcceptStatus::Succeeded, 4500))],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Template pack").await;
    assert_eq!(widget.all(".dodo-upsell__item").len(), 2);
    assert_eq!(
        widget.all(".dodo-upsell__accept").len(),
        2,
        "one click per item"
    );
    assert_eq!(widget.all(".dodo-upsell__quantity select option").len(), 5);
    widget.choose(".dodo-upsell__quantity select", "3");
    widget.choose(".dodo-upsell__card-choice select", "pm_mc");
    widget.until_text("$45.00").await;
    widget.click("[data-item='add-ons.templates'] .dodo-upsell__accept");
    widget
        .until_text("Template pack was added to your order")
        .await;
    let accepts = sent("POST /v1/offers/accept");
    assert_eq!(accepts.len(), 1);
    assert_eq!(field(&accepts[0], "quantity").as_f64(), Some(3.0));
    assert_eq!(
        field(&accepts[0], "token").as_string().as_deref(),
        Some("token-add-ons.templates")
    );
    assert_eq!(
        field(&accepts[0], "payment_method_id")
            .as_string()
            .as_deref(),
        Some("pm_mc")
    );
    // The other item is still offered.
    assert!(widget
        .find("[data-item='add-ons.icons'] .dodo-upsell__accept")
        .is_some());
}

#[wasm_bindgen_test]
async fn without_a_usable_card_the_offer_leads_to_a_standard_checkout() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], vec![])],
    )]);
    let widget = Widget::mount("en-US");
    widget
        .until_text("One-click payment isn't available for this order.")
        .await;
    assert!(widget.text().contains("Continue to checkout"));
    assert!(!widget.text().contains("Add to my order"));
}

#[wasm_bindgen_test]
async fn every_string_and_price_follows_the_locale() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let widget = Widget::mount("pt-BR");
    widget.until_text("Pro plan upgrade").await;
    let text = widget.text();
    assert!(text.contains("US$\u{a0}50,00"), "{text}");
    assert!(!text.contains("Add to my order"), "{text}");
    assert!(!text.contains("No thanks"), "{text}");
    let root = widget.find(".dodo-upsell-root").unwrap();
    assert_eq!(root.get_attribute("lang").as_deref(), Some("pt-BR"));
}

#[wasm_bindgen_test]
async fn an_offer_leaves_the_page_when_it_expires() {
    let mut short = upsell();
    short.expires_in_seconds = 1;
    stub(vec![("GET /v1/offers", vec![offers(vec![short], visa())])]);
    let widget = Widget::mount("en-US");
    widget.until_text("Offer ends in 0:01").await;
    pause(2500).await;
    assert!(widget.find("article").is_none(), "{}", widget.text());
}

#[wasm_bindgen_test]
async fn an_accept_lost_to_the_network_is_sent_again_with_the_same_key() {
    let lost = Reply {
        status: 502,
        body: JsValue::NULL,
        hang: false,
    };
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        (
            "POST /v1/offers/accept",
            vec![lost, ok(&accept_reply(AcceptStatus::Succeeded, 5000))],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Add to my order").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("You were charged $50.00.").await;
    let accepts = sent("POST /v1/offers/accept");
    assert_eq!(accepts.len(), 2);
    assert_eq!(
        field(&accepts[0], "idempotency_key").as_string(),
        field(&accepts[1], "idempotency_key").as_string(),
        "the same accept, so never a second charge"
    );
    assert!(widget.find(".dodo-upsell__checkout").is_none());
}

#[wasm_bindgen_test]
async fn a_widget_removed_while_its_charge_is_followed_stops_quietly() {
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        (
            "POST /v1/offers/accept",
            vec![ok(&accept_reply(AcceptStatus::Processing, 5000))],
        ),
        (
            "GET /v1/accepts/acc_1",
            vec![ok(&accept_reply(AcceptStatus::Processing, 5000))],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Add to my order").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("Adding it to your order…").await;
    drop(widget);
    let polls_then = sent("GET /v1/accepts/acc_1").len();
    pause(2500).await;
    assert!(
        sent("GET /v1/accepts/acc_1").len() <= polls_then + 1,
        "polling stops with the widget"
    );
    // The module is still healthy: a new widget mounts and works.
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let again = Widget::mount("en-US");
    again.until_text("Add to my order").await;
}

#[wasm_bindgen_test]
async fn removing_the_element_unmounts_its_widget() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let widget = Widget::mount("en-US");
    widget.until_text("Pro plan upgrade").await;
    let before = embed::mounted_count();
    embed::unmount(widget.id);
    assert_eq!(embed::mounted_count(), before - 1);
    assert!(widget.find(".dodo-upsell-root").is_none());
    assert!(widget.find("link").is_none());
}

fn plan(name: &str, amount: i64, features: &[&str]) -> Plan {
    Plan {
        name: name.into(),
        price: usd(amount),
        interval: "month".into(),
        interval_count: 1,
        features: features.iter().map(|f| f.to_string()).collect(),
    }
}

fn plan_change(direction: PlanDirection) -> PlanChange {
    let team = plan("Team plan", 2900, &["Unlimited projects", "Team sharing"]);
    let (target, id) = match direction {
        PlanDirection::Upgrade => (
            plan(
                "Business plan",
                7900,
                &["Unlimited projects", "Team sharing", "Single sign-on"],
            ),
            "team-to-business",
        ),
        PlanDirection::Downgrade => (
            plan("Starter plan", 900, &["3 projects"]),
            "team-to-starter",
        ),
    };
    PlanChange {
        change_id: id.into(),
        token: format!("token-{id}"),
        direction,
        current: team,
        target,
        effective_at: EffectiveAt::Immediately,
        scheduled_for: None,
    }
}

fn plan_offers(change: PlanChange) -> Reply {
    ok(&OffersResponse {
        offers: Vec::new(),
        payment_methods: visa(),
        plan_changes: vec![change],
    })
}

fn preview_of(due: i64, credit_used: i64, credit_added: i64, renewal: i64) -> PlanChangePreview {
    PlanChangePreview {
        amount_due_now: usd(due),
        credit_used: usd(credit_used),
        credit_added: usd(credit_added),
        tax: None,
        effective_date: "2026-11-24T12:00:00Z".into(),
        effective_at: EffectiveAt::Immediately,
        next_billing_date: "2026-12-24T12:00:00Z".into(),
        next_renewal_amount: usd(renewal),
    }
}

fn change_result(status: PlanChangeStatus, amount: i64) -> PlanChangeResult {
    PlanChangeResult {
        change_ref: "chg_1".into(),
        status,
        amount: usd(amount),
        effective_date: None,
        failure_code: None,
        action_url: None,
    }
}

#[wasm_bindgen_test]
async fn an_upgrade_compares_the_plans_previews_the_charge_and_confirms_it() {
    stub(vec![
        (
            "GET /v1/offers",
            vec![plan_offers(plan_change(PlanDirection::Upgrade))],
        ),
        (
            "POST /v1/plan-changes/preview",
            vec![ok(&preview_of(5000, 2900, 0, 7900))],
        ),
        (
            "POST /v1/plan-changes/confirm",
            vec![ok(&change_result(PlanChangeStatus::Processing, 5000))],
        ),
        (
            "GET /v1/plan-changes/chg_1",
            vec![ok(&change_result(PlanChangeStatus::Succeeded, 5000))],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Upgrade to Business plan").await;
    let text = widget.text();
    for expected in [
        "Your plan",
        "Team plan",
        "$29.00 per month",
        "New plan",
        "$79.00 per month",
        "Added: Single sign-on",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    widget.click(".dodo-upsell__accept");
    widget.until_text("Confirm charge of $50.00").await;
    let text = widget.text();
    assert!(text.contains("Due now$50.00"), "{text}");
    assert!(
        text.contains("Credit for your current plan-$29.00"),
        "{text}"
    );
    assert!(
        text.contains("Next renewal on December 24, 2026: $79.00"),
        "{text}"
    );
    widget.click(".dodo-upsell__accept");
    widget.click(".dodo-upsell__accept");
    widget
        .until_text("You're now on Business plan. You were charged $50.00.")
        .await;
    let confirms = sent("POST /v1/plan-changes/confirm");
    assert_eq!(confirms.len(), 1, "one confirm for two clicks");
    assert_eq!(
        field(&confirms[0], "confirmed_amount").as_f64(),
        Some(5000.0)
    );
    assert_eq!(
        field(&confirms[0], "token").as_string().as_deref(),
        Some("token-team-to-business")
    );
    let accepted = widget.event("upsell:accepted");
    assert_eq!(
        field(&accepted, "kind").as_string().as_deref(),
        Some("plan_change")
    );
}

#[wasm_bindgen_test]
async fn a_downgrade_shows_its_credit_and_how_it_is_used() {
    stub(vec![
        (
            "GET /v1/offers",
            vec![plan_offers(plan_change(PlanDirection::Downgrade))],
        ),
        (
            "POST /v1/plan-changes/preview",
            vec![ok(&preview_of(0, 0, 2000, 900))],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Switch to Starter plan").await;
    assert!(
        widget.text().contains("Not included: Team sharing"),
        "{}",
        widget.text()
    );
    widget.click(".dodo-upsell__accept");
    widget.until_text("Confirm the change").await;
    let text = widget.text();
    assert!(
        text.contains("Credit added to your subscription$20.00"),
        "{text}"
    );
    assert!(
        text.contains("It pays your next renewals until it is used up."),
        "{text}"
    );
}

/// Dodo's page for a new card, as the proxy passes it on.
const NEW_CARD_PAGE: &str = "https://dodo.test/hosted/payment-method/upm_1";

#[wasm_bindgen_test]
async fn every_outcome_of_a_plan_change_is_said_plainly() {
    let mut failed = change_result(PlanChangeStatus::Failed, 5000);
    failed.failure_code = Some("insufficient_funds".into());
    failed.action_url = Some(NEW_CARD_PAGE.into());
    let mut on_hold = change_result(PlanChangeStatus::OnHold, 5000);
    on_hold.action_url = Some(NEW_CARD_PAGE.into());
    let mut scheduled = change_result(PlanChangeStatus::Scheduled, 0);
    scheduled.effective_date = Some("2026-12-24T12:00:00Z".into());
    let mut not_charged = change_result(PlanChangeStatus::Failed, 5000);
    not_charged.failure_code = Some("not_charged".into());
    for (result, expected) in [
        (
            failed,
            "Your plan was not changed. Your card has insufficient funds.",
        ),
        (
            on_hold,
            "the payment of $50.00 did not go through: your subscription is on hold until it is paid",
        ),
        (
            scheduled,
            "Your plan will change to Business plan on December 24, 2026.",
        ),
        (
            not_charged,
            "The order could not be completed. Nothing was charged.",
        ),
    ] {
        stub(vec![
            (
                "GET /v1/offers",
                vec![plan_offers(plan_change(PlanDirection::Upgrade))],
            ),
            (
                "POST /v1/plan-changes/preview",
                vec![ok(&preview_of(5000, 0, 0, 7900))],
            ),
            ("POST /v1/plan-changes/confirm", vec![ok(&result)]),
            ("GET /v1/plan-changes/chg_1", vec![ok(&result)]),
        ]);
        let widget = Widget::mount("en-US");
        widget.until_text("See what it costs").await;
        widget.click(".dodo-upsell__accept");
        widget.until_text("Confirm charge of $50.00").await;
        widget.click(".dodo-upsell__accept");
        widget.until_text(expected).await;
        // Where a card did not pay, Dodo's page for a new one; nowhere else.
        let link = widget.find("a.dodo-upsell__link");
        assert_eq!(
            link.as_ref().and_then(|a| a.get_attribute("href")),
            result.action_url,
            "{expected}"
        );
        if let Some(link) = link {
            assert_eq!(link.text_content().as_deref(), Some("Update your payment method"));
            assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
        }
    }
}

#[wasm_bindgen_test]
async fn a_change_on_hold_is_followed_until_a_new_card_has_paid_it() {
    let mut on_hold = change_result(PlanChangeStatus::OnHold, 5000);
    on_hold.action_url = Some(NEW_CARD_PAGE.into());
    on_hold.failure_code = Some("insufficient_funds".into());
    stub(vec![
        (
            "GET /v1/offers",
            vec![plan_offers(plan_change(PlanDirection::Upgrade))],
        ),
        (
            "POST /v1/plan-changes/preview",
            vec![ok(&preview_of(5000, 0, 0, 7900))],
        ),
        ("POST /v1/plan-changes/confirm", vec![ok(&on_hold)]),
        (
            "GET /v1/plan-changes/chg_1",
            vec![
                ok(&on_hold),
                ok(&change_result(PlanChangeStatus::Succeeded, 5000)),
            ],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("See what it costs").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("Confirm charge of $50.00").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("your subscription is on hold").await;
    assert_eq!(widget.event_names(), ["upsell:shown", "upsell:failed"]);
    // The customer pays on Dodo's page in another tab; the widget sees the change complete.
    for _ in 0..3 {
        if widget.text().contains("You're now on Business plan") {
            break;
        }
        JsFuture::from(sleep(3000)).await.unwrap();
    }
    widget
        .until_text("You're now on Business plan. You were charged $50.00.")
        .await;
    assert!(widget.find("a.dodo-upsell__link").is_none());
    assert_eq!(
        widget.event_names(),
        ["upsell:shown", "upsell:failed", "upsell:accepted"],
        "the hold was told as a failure, the payment after it as a success"
    );
}

fn scheduled_downgrade() -> PlanChangesResponse {
    let change = plan_change(PlanDirection::Downgrade);
    PlanChangesResponse {
        plan_changes: Vec::new(),
        scheduled: Some(PlanChange {
            token: "token-withdraw".into(),
            effective_at: EffectiveAt::NextBillingDate,
            scheduled_for: Some("2026-12-24T12:00:00Z".into()),
            ..change
        }),
    }
}

#[wasm_bindgen_test]
async fn a_scheduled_change_is_undone_once_from_the_account_page() {
    stub(vec![
        ("GET /v1/plan-changes", vec![ok(&scheduled_downgrade())]),
        (
            "POST /v1/plan-changes/withdraw",
            vec![ok(&WithdrawResult {
                status: WithdrawStatus::Withdrawn,
                failure_code: None,
            })],
        ),
    ]);
    let widget = Widget::mount_with(&[("account-token", "signed"), ("locale", "en-US")]);
    widget
        .until_text("Your plan will change to Starter plan on December 24, 2026.")
        .await;
    let text = widget.text();
    assert!(
        text.contains("Team plan") && text.contains("$9.00 per month"),
        "{text}"
    );
    assert!(
        widget.find(".dodo-upsell__decline").is_none(),
        "one button: {text}"
    );
    widget.click(".dodo-upsell__accept");
    widget.click(".dodo-upsell__accept");
    widget.until_text("You're staying on Team plan.").await;
    let withdrawals = sent("POST /v1/plan-changes/withdraw");
    assert_eq!(withdrawals.len(), 1, "one request for two clicks");
    assert_eq!(
        field(&withdrawals[0], "token").as_string().as_deref(),
        Some("token-withdraw")
    );
    assert!(field(&withdrawals[0], "idempotency_key")
        .as_string()
        .is_some());
    assert!(
        widget.find(".dodo-upsell__accept").is_none(),
        "{}",
        widget.text()
    );
}

#[wasm_bindgen_test]
async fn a_scheduled_change_that_cannot_be_undone_says_why_in_the_customers_language() {
    stub(vec![
        ("GET /v1/plan-changes", vec![ok(&scheduled_downgrade())]),
        (
            "POST /v1/plan-changes/withdraw",
            vec![ok(&WithdrawResult {
                status: WithdrawStatus::Failed,
                failure_code: Some("plan_already_changed".into()),
            })],
        ),
    ]);
    let widget = Widget::mount_with(&[("account-token", "signed"), ("locale", "de-DE")]);
    widget.until_text("Team plan behalten").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("Ihr Abonnement hat sich geändert").await;
}

#[wasm_bindgen_test]
async fn a_confirm_refused_because_the_amount_changed_asks_for_a_new_look() {
    stub(vec![
        (
            "GET /v1/offers",
            vec![plan_offers(plan_change(PlanDirection::Upgrade))],
        ),
        (
            "POST /v1/plan-changes/preview",
            vec![ok(&preview_of(5000, 0, 0, 7900))],
        ),
        (
            "POST /v1/plan-changes/confirm",
            vec![error(409, "preview_changed")],
        ),
    ]);
    let widget = Widget::mount("es-ES");
    widget.until_text("Business plan").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("50,00").await;
    widget.click(".dodo-upsell__accept");
    widget.until_text("El monto cambió").await;
    assert!(
        widget.find(".dodo-upsell__accept").is_some(),
        "it may be reviewed again"
    );
}

#[wasm_bindgen_test]
async fn on_an_account_page_the_signed_token_opens_the_plan_changes() {
    stub(vec![(
        "GET /v1/plan-changes",
        vec![ok(&PlanChangesResponse {
            plan_changes: vec![plan_change(PlanDirection::Upgrade)],
            scheduled: None,
        })],
    )]);
    let widget = Widget::mount_with(&[
        ("account-token", "signed-by-the-merchant"),
        ("locale", "de-DE"),
    ]);
    widget.until_text("Business plan").await;
    let requests = recorded();
    let authorization = field(&requests.get(0), "authorization").as_string();
    assert_eq!(
        authorization.as_deref(),
        Some("Bearer signed-by-the-merchant"),
        "in a header, out of the URL and the access logs"
    );
    let url = field(&requests.get(0), "url").as_string().unwrap();
    assert!(!url.contains("signed-by-the-merchant"), "{url}");
    assert!(widget.text().contains("79,00"), "{}", widget.text());
}

#[wasm_bindgen_test]
async fn the_purchase_token_goes_in_a_header_and_a_refused_lookup_shows_nothing() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let widget = Widget::mount_with(&[
        ("payment-id", "pay_test_1"),
        ("purchase-token", "signed-for-pay_test_1"),
        ("locale", "en-US"),
    ]);
    widget.until_text("Pro plan upgrade").await;
    let requests = recorded();
    let url = field(&requests.get(0), "url").as_string().unwrap();
    assert!(!url.contains("signed-for"), "{url}");
    assert_eq!(
        field(&requests.get(0), "authorization")
            .as_string()
            .as_deref(),
        Some("Bearer signed-for-pay_test_1"),
        "in a header, out of the URL and the access logs"
    );

    // A proxy in strict mode refuses a page without the token: nothing on the page, and the
    // room it kept given back.
    stub(vec![(
        "GET /v1/offers",
        vec![error(401, "purchase_token_required")],
    )]);
    let refused = Widget::mount("en-US");
    refused.until_display("none").await;
    assert_eq!(refused.text(), "");
    assert_eq!(field(&recorded().get(0), "authorization"), JsValue::NULL);
}

#[wasm_bindgen_test]
async fn a_purchase_the_loader_took_from_the_link_comes_as_its_answer() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    // No `payment-id`: the loader read the purchase from the page's link, and asked.
    let window = web_sys::window().unwrap();
    let early = window.fetch_with_str(&format!("{ENDPOINT}/v1/offers?payment_id=pay_link_1"));
    let widget = Widget::mount_full(&[("locale", "en-US")], Some(early));
    widget.until_text("Pro plan upgrade").await;
    assert_eq!(sent("GET /v1/offers").len(), 1, "only the loader's request");
}

#[wasm_bindgen_test]
async fn a_downsell_that_is_also_an_offer_of_its_own_is_shown_once() {
    stub(vec![
        (
            "GET /v1/offers",
            vec![offers(vec![upsell(), downsell()], visa())],
        ),
        (
            "POST /v1/offers/decline",
            vec![
                ok(&DeclineResponse {
                    offer_id: "pro-upgrade".into(),
                    next: Some(downsell()),
                }),
                ok(&DeclineResponse {
                    offer_id: "pro-upgrade-discount".into(),
                    next: None,
                }),
            ],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Most popular upgrade").await;
    widget.click(".dodo-upsell__decline");
    widget.until_text("30% off").await;
    widget.click(".dodo-upsell__decline");
    widget
        .until_text("No problem. Thanks for your order!")
        .await;
    pause(3300).await;
    assert!(
        widget.find("article").is_none(),
        "the declined downsell does not come back from the queue: {}",
        widget.text()
    );
}

#[wasm_bindgen_test]
async fn the_loaders_early_request_is_used_instead_of_asking_again() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    // What `upsell.js` sends before the wasm is ready.
    let window = web_sys::window().unwrap();
    let early = window.fetch_with_str(&format!("{ENDPOINT}/v1/offers?payment_id=pay_test_1"));
    let widget = Widget::mount_full(
        &[("payment-id", "pay_test_1"), ("locale", "en-US")],
        Some(early),
    );
    widget.until_text("Pro plan upgrade").await;
    assert_eq!(sent("GET /v1/offers").len(), 1, "only the loader's request");
}

#[wasm_bindgen_test]
async fn a_failed_early_request_shows_nothing_and_puts_no_error_on_the_page() {
    stub(vec![]);
    let early = js_sys::Promise::reject(&"network down".into());
    let widget = Widget::mount_full(
        &[("payment-id", "pay_test_1"), ("locale", "en-US")],
        Some(early),
    );
    pause(100).await;
    assert_eq!(widget.text(), "");
    assert!(sent("GET /v1/offers").is_empty());
}

#[wasm_bindgen_test]
async fn the_page_gets_one_mark_when_the_first_offer_is_on_screen() {
    clear_marks(dodo_upsell::offer_visible::MARK);
    stub(vec![("GET /v1/offers", vec![never()])]);
    let loading = Widget::mount("en-US");
    pause(100).await;
    assert_eq!(
        marks(dodo_upsell::offer_visible::MARK),
        0,
        "a skeleton is no offer"
    );
    drop(loading);

    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let first = Widget::mount("en-US");
    first.until_text("Pro plan upgrade").await;
    for _ in 0..50 {
        if marks(dodo_upsell::offer_visible::MARK) > 0 {
            break;
        }
        pause(20).await;
    }
    assert_eq!(marks(dodo_upsell::offer_visible::MARK), 1);
    let second = Widget::mount("en-US");
    second.until_text("Pro plan upgrade").await;
    pause(100).await;
    assert_eq!(
        marks(dodo_upsell::offer_visible::MARK),
        1,
        "only the first offer on the page"
    );
}

#[wasm_bindgen_test]
async fn with_nothing_to_offer_the_room_the_page_reserved_is_given_back() {
    stub(vec![("GET /v1/offers", vec![offers(vec![], visa())])]);
    let widget = Widget::mount("en-US");
    widget.until_display("none").await;

    // An offer keeps it.
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let offered = Widget::mount("en-US");
    offered.until_text("Pro plan upgrade").await;
    assert_eq!(offered.display(), "");
}

/// Waits (up to 3 s) until `count` requests have gone to `key`; returns them.
async fn until_sent(key: &str, count: usize) -> Vec<JsValue> {
    for _ in 0..150 {
        if sent(key).len() >= count {
            break;
        }
        pause(20).await;
    }
    sent(key)
}

fn tokens(requests: &[JsValue]) -> Vec<String> {
    requests
        .iter()
        .map(|r| field(r, "token").as_string().unwrap())
        .collect()
}

const IMPRESSION: &str = "POST /v1/offers/impression";

#[wasm_bindgen_test]
async fn each_offer_on_screen_is_reported_seen_once() {
    stub(vec![
        ("GET /v1/offers", vec![offers(vec![upsell()], visa())]),
        (
            "POST /v1/offers/decline",
            vec![ok(&DeclineResponse {
                offer_id: "pro-upgrade".into(),
                next: Some(downsell()),
            })],
        ),
    ]);
    let widget = Widget::mount("en-US");
    widget.until_text("Pro plan upgrade").await;
    let seen = until_sent(IMPRESSION, 1).await;
    assert_eq!(tokens(&seen), ["token-pro-upgrade"]);
    pause(300).await;
    assert_eq!(sent(IMPRESSION).len(), 1, "once, however long it stays");

    // The downsell that takes its place is an offer of its own.
    widget.click(".dodo-upsell__decline");
    widget.until_text("30% off").await;
    let seen = until_sent(IMPRESSION, 2).await;
    assert_eq!(
        tokens(&seen),
        ["token-pro-upgrade", "token-pro-upgrade-discount"]
    );
}

#[wasm_bindgen_test]
async fn an_offer_below_the_fold_is_reported_only_once_scrolled_into_view() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let spacer: HtmlElement = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .create_element("div")
        .unwrap()
        .unchecked_into();
    spacer.style().set_property("height", "5000px").unwrap();
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap()
        .prepend_with_node_1(&spacer)
        .unwrap();
    web_sys::window().unwrap().scroll_to_with_x_and_y(0.0, 0.0);
    let widget = Widget::mount("en-US");
    widget.until_text("Pro plan upgrade").await;
    pause(400).await;
    assert!(sent(IMPRESSION).is_empty(), "not on screen: not seen");

    widget.host.scroll_into_view();
    let seen = until_sent(IMPRESSION, 1).await;
    assert_eq!(tokens(&seen), ["token-pro-upgrade"]);
    spacer.remove();
    web_sys::window().unwrap().scroll_to_with_x_and_y(0.0, 0.0);
}

const WIDGET_ERRORS: &str = "POST /v1/widget/errors";

/// The parts a test made unavailable are made available again however it ends.
struct Unavailable;

impl Unavailable {
    fn parts(parts: &[&str]) -> Unavailable {
        for part in parts {
            on_demand::unsplit::make_unavailable(part);
        }
        Unavailable
    }
}

impl Drop for Unavailable {
    fn drop(&mut self) {
        on_demand::unsplit::make_available();
    }
}

#[wasm_bindgen_test]
async fn a_plan_change_that_cannot_be_fetched_says_so_is_counted_and_the_offers_still_come() {
    let _unavailable = Unavailable::parts(&["plan_change"]);
    stub(vec![(
        "GET /v1/offers",
        vec![ok(&OffersResponse {
            offers: vec![upsell()],
            payment_methods: visa(),
            plan_changes: vec![plan_change(PlanDirection::Upgrade)],
        })],
    )]);
    let widget = Widget::mount("en-US");
    widget
        .until_text("This part of the offer could not be loaded.")
        .await;
    let unavailable = widget
        .find("[data-state=unavailable] [data-part=plan_change]")
        .expect("the plan change's place says it could not be loaded");
    assert_eq!(unavailable.get_attribute("role").as_deref(), Some("status"));
    // The one-click offer after it is shown, and works.
    widget.until_text("Pro plan upgrade").await;
    assert!(widget.find(".dodo-upsell__accept").is_some());
    let reports = until_sent(WIDGET_ERRORS, 1).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(field(&reports[0], "kind"), "part_unavailable");
    assert_eq!(field(&reports[0], "part"), "plan_change");
    assert!(!widget.text().contains("Business plan"));
}

#[wasm_bindgen_test]
async fn a_language_that_cannot_be_fetched_leaves_the_offer_in_english_and_is_counted() {
    let _unavailable = Unavailable::parts(&["language_de"]);
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let widget = Widget::mount("de-DE");
    widget.until_text("Add to my order").await;
    // Prices and times stay in the customer's locale: the browser formats them.
    assert!(widget.text().contains("50,00\u{a0}$"), "{}", widget.text());
    let root = widget.find(".dodo-upsell-root").unwrap();
    assert_eq!(root.get_attribute("lang").as_deref(), Some("en"));
    let reports = until_sent(WIDGET_ERRORS, 1).await;
    assert_eq!(field(&reports[0], "part"), "language");
}

#[wasm_bindgen_test]
async fn the_page_language_is_fetched_before_the_widget_speaks() {
    stub(vec![(
        "GET /v1/offers",
        vec![offers(vec![upsell()], visa())],
    )]);
    let widget = Widget::mount("de-DE");
    widget.until_text("Zu meiner Bestellung hinzufügen").await;
    let root = widget.find(".dodo-upsell-root").unwrap();
    assert_eq!(root.get_attribute("lang").as_deref(), Some("de"));
    assert!(sent(WIDGET_ERRORS).is_empty());
}
