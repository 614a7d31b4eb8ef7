//! The widget in headless Chromium: the offer card mounted into a detached element, driven
//! through its phases, asserted on the DOM (as Leptos' own counter tests do).

use dodo_upsell::money::format_money;
use dodo_upsell::views::offer_card::{OfferCard, Phase};
use leptos::prelude::*;
use leptos::task::tick;
use upsell_wire::{Money, Offer, SavedCard};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: "USD".into(),
    }
}

fn offer() -> Offer {
    Offer {
        offer_id: "pro-upgrade".into(),
        token: "header.claims.signature".into(),
        title: "Pro plan upgrade".into(),
        description: Some("Unlimited projects.".into()),
        image: None,
        price: usd(5000),
        quantity: 1,
        payment_method: SavedCard {
            network: "Visa".into(),
            last4: "4242".into(),
        },
        expires_at: "2026-11-24T12:00:00Z".into(),
    }
}

struct Mounted {
    root: web_sys::Element,
    phase: RwSignal<Phase>,
    accepts: RwSignal<u32>,
    declines: RwSignal<u32>,
}

impl Mounted {
    fn text(&self) -> String {
        self.root.text_content().unwrap_or_default()
    }

    fn find(&self, selector: &str) -> Option<HtmlElement> {
        self.root
            .query_selector(selector)
            .ok()
            .flatten()
            .map(|e| e.unchecked_into())
    }

    fn status(&self) -> String {
        self.find("[role=status]")
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }
}

fn mount_card() -> Mounted {
    let document = document();
    let root = document.create_element("section").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let phase = RwSignal::new(Phase::Offered);
    let accepts = RwSignal::new(0u32);
    let declines = RwSignal::new(0u32);
    let handle = mount_to(root.clone().unchecked_into(), move || {
        view! {
            <OfferCard
                offer=offer()
                locale="en-US"
                phase=phase
                on_accept=Callback::new(move |()| accepts.update(|n| *n += 1))
                on_decline=Callback::new(move |()| declines.update(|n| *n += 1))
            />
        }
    });
    handle.forget();
    Mounted {
        root,
        phase,
        accepts,
        declines,
    }
}

#[wasm_bindgen_test]
fn prices_are_formatted_by_the_browsers_intl_for_each_locale_and_currency() {
    assert_eq!(format_money(&usd(5000), "en-US"), "$50.00");
    let yen = Money {
        amount: 5000,
        currency: "JPY".into(),
    };
    assert_eq!(format_money(&yen, "ja-JP"), "￥5,000");
    let euros = Money {
        amount: 123456,
        currency: "EUR".into(),
    };
    assert_eq!(format_money(&euros, "de-DE"), "1.234,56\u{a0}€");
    let reais = Money {
        amount: 990,
        currency: "BRL".into(),
    };
    assert_eq!(format_money(&reais, "pt-BR"), "R$\u{a0}9,90");
}

#[wasm_bindgen_test]
async fn the_card_shows_the_product_its_price_and_the_saved_card() {
    let card = mount_card();
    tick().await;
    let text = card.text();
    assert!(text.contains("Pro plan upgrade"), "{text}");
    assert!(text.contains("Unlimited projects."), "{text}");
    assert!(text.contains("$50.00"), "{text}");
    assert!(
        text.contains("Charged to your Visa ending in 4242"),
        "{text}"
    );
    let accept = card.find(".dodo-upsell__accept").expect("accept button");
    assert_eq!(accept.text_content().as_deref(), Some("Add to my order"));
    let decline = card.find(".dodo-upsell__decline").expect("decline button");
    assert_eq!(decline.text_content().as_deref(), Some("No thanks"));
    assert_eq!(card.status(), "");
}

#[wasm_bindgen_test]
async fn accept_is_reported_once_and_clicks_are_ignored_while_processing() {
    let card = mount_card();
    tick().await;
    let accept = card.find(".dodo-upsell__accept").unwrap();
    accept.click();
    assert_eq!(card.accepts.get_untracked(), 1);

    card.phase.set(Phase::Processing);
    tick().await;
    let accept = card.find(".dodo-upsell__accept").unwrap();
    assert!(accept.has_attribute("disabled"));
    assert_eq!(accept.get_attribute("aria-busy").as_deref(), Some("true"));
    accept.click();
    card.find(".dodo-upsell__decline").unwrap().click();
    assert_eq!(card.accepts.get_untracked(), 1);
    assert_eq!(card.declines.get_untracked(), 0);
    assert_eq!(card.status(), "Adding it to your order…");
}

#[wasm_bindgen_test]
async fn success_is_announced_with_the_amount_charged_and_the_buttons_go() {
    let card = mount_card();
    card.phase.set(Phase::Succeeded(usd(5000)));
    tick().await;
    assert_eq!(card.status(), "Added to your order. Charged $50.00.");
    let status = card.find("[role=status]").unwrap();
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    assert!(card.find(".dodo-upsell__accept").is_none());
    assert_eq!(
        card.find(".dodo-upsell")
            .unwrap()
            .get_attribute("data-state")
            .as_deref(),
        Some("succeeded")
    );
}

#[wasm_bindgen_test]
async fn a_failed_charge_says_why_and_offers_no_automatic_retry() {
    let card = mount_card();
    card.phase
        .set(Phase::Failed("Your card has insufficient funds.".into()));
    tick().await;
    assert_eq!(
        card.status(),
        "We couldn't add this to your order. Your card has insufficient funds."
    );
    assert!(card.find(".dodo-upsell__accept").is_none());
}

#[wasm_bindgen_test]
async fn no_thanks_is_reported_and_the_customer_is_thanked() {
    let card = mount_card();
    tick().await;
    card.find(".dodo-upsell__decline").unwrap().click();
    assert_eq!(card.declines.get_untracked(), 1);
    card.phase.set(Phase::Declined);
    tick().await;
    assert_eq!(card.status(), "No problem — thanks for your order!");
    assert!(card.find(".dodo-upsell__decline").is_none());
}
