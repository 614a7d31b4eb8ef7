//! The demo's offer rules over real HTTP against the sandbox: the downsell chain, cross-sells
//! with quantities, the choice of card, the standard-checkout fallback and 3-D Secure.

use serde_json::{json, Value};
use upsell_e2e::{Stack, StackOptions, DEMO_OFFERS};
use upsell_wire::{OfferKind, OffersResponse};

const ADA: &str = "cus_demo_ada";
const KATHERINE: &str = "cus_demo_katherine";
const MARGARET: &str = "cus_demo_margaret";
const BASIC: &str = "prod_basic_plan";

async fn demo_stack() -> Stack {
    Stack::start(StackOptions {
        offers_toml: DEMO_OFFERS.into(),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts")
}

async fn offers(stack: &Stack, payment: &str) -> OffersResponse {
    serde_json::from_value(stack.offers(payment).await.unwrap()).unwrap()
}

/// The ids of the offers a reload would show, in order.
async fn offer_ids(stack: &Stack, payment: &str) -> Vec<String> {
    offers(stack, payment)
        .await
        .offers
        .into_iter()
        .map(|o| o.offer_id)
        .collect()
}

fn accept_body(token: &str, key: &str, quantity: u32) -> Value {
    json!({ "token": token, "idempotency_key": key, "quantity": quantity })
}

#[tokio::test(flavor = "multi_thread")]
async fn declining_the_upsell_brings_the_discounted_downsell_then_the_chain_ends() {
    let stack = demo_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    let ids: Vec<_> = listed.offers.iter().map(|o| o.offer_id.as_str()).collect();
    assert_eq!(ids, ["pro-upgrade", "add-ons"]);
    let upsell = &listed.offers[0];
    assert_eq!(upsell.badge.as_deref(), Some("most_popular"));
    assert!(upsell.countdown);
    assert!((1700..=1800).contains(&upsell.expires_in_seconds));
    assert_eq!(upsell.items[0].list_price, None);

    let (status, body) = stack
        .post(
            "/v1/offers/decline",
            json!({ "token": upsell.items[0].token }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next"]["offer_id"], "pro-upgrade-discount");
    assert_eq!(body["next"]["kind"], "downsell");
    let item = &body["next"]["items"][0];
    assert_eq!(item["price"]["amount"], 3500, "30 % off");
    assert_eq!(item["list_price"]["amount"], 5000, "struck through");

    // A reload shows the downsell, not the declined upsell: the proxy remembers.
    let listed = offers(&stack, &payment).await;
    assert_eq!(listed.offers[0].offer_id, "pro-upgrade-discount");
    assert_eq!(listed.offers[0].kind, OfferKind::Downsell);

    let (status, body) = stack
        .post(
            "/v1/offers/decline",
            json!({ "token": listed.offers[0].items[0].token }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next"], Value::Null, "the chain has ended");
    let ids = offer_ids(&stack, &payment).await;
    assert_eq!(ids, ["add-ons"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_downsell_charges_its_discounted_price_once() {
    let stack = demo_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    let (_, declined) = stack
        .post(
            "/v1/offers/decline",
            json!({ "token": listed.offers[0].items[0].token }),
        )
        .await
        .unwrap();
    let token = declined["next"]["items"][0]["token"].as_str().unwrap();
    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(token, "key-downsell-0001", 1),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let done = stack
        .final_status(body["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["amount"]["amount"], 3500);
    let charges = stack
        .charges_for(&payment, "pro-upgrade-discount")
        .await
        .unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["total_amount"], 3500);
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_sell_items_are_added_one_by_one_within_their_quantity_bounds() {
    let stack = demo_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    let cross_sell = &listed.offers[1];
    assert_eq!(cross_sell.kind, OfferKind::CrossSell);
    let templates = &cross_sell.items[0];
    assert_eq!(templates.item_id, "add-ons.prod_template_pack");
    assert_eq!((templates.quantity.min, templates.quantity.max), (1, 5));
    let icons = &cross_sell.items[1];
    assert_eq!((icons.quantity.min, icons.quantity.max), (1, 1));

    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(&templates.token, "key-templates-0001", 6),
        )
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_quantity");

    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(&templates.token, "key-templates-0002", 3),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let done = stack
        .final_status(body["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["amount"]["amount"], 4500, "3 × $15.00");

    // The other item is still offered; the accepted one is not.
    let listed = offers(&stack, &payment).await;
    let cross_sell = listed
        .offers
        .iter()
        .find(|o| o.offer_id == "add-ons")
        .unwrap();
    let items: Vec<_> = cross_sell
        .items
        .iter()
        .map(|i| i.item_id.as_str())
        .collect();
    assert_eq!(items, ["add-ons.prod_icon_pack"]);
    let charges = stack
        .charges_for(&payment, "add-ons.prod_template_pack")
        .await
        .unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["total_amount"], 4500);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_may_pay_with_another_of_their_cards_but_not_with_anyone_elses() {
    let stack = demo_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    let token = &listed.offers[0].items[0].token;
    let mut body = accept_body(token, "key-other-card-0001", 1);
    body["payment_method_id"] = json!("pm_demo_mastercard_0341");
    let (status, answer) = stack.post("/v1/offers/accept", body).await.unwrap();
    assert_eq!(status, 422, "Grace's card: {answer}");
    assert_eq!(answer["code"], "payment_method_not_allowed");

    let mut body = accept_body(token, "key-other-card-0002", 1);
    body["payment_method_id"] = json!("pm_demo_mastercard_5454");
    let (status, answer) = stack.post("/v1/offers/accept", body).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let done = stack
        .final_status(answer["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded");
    let ledger = stack.ledger().await.unwrap();
    let charge = ledger["charges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metadata"]["upsell_accept_id"] == answer["accept_id"])
        .cloned()
        .unwrap();
    assert_eq!(charge["payment_method_id"], "pm_demo_mastercard_5454");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_usable_card_the_offer_comes_with_a_standard_checkout_instead() {
    let stack = demo_stack().await;
    let payment = stack.purchase(MARGARET, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    assert!(listed.payment_methods.is_empty(), "her only card expired");
    let token = &listed.offers[0].items[0].token;

    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(token, "key-no-card-00001", 1),
        )
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "no_payment_method");

    let (status, body) = stack
        .post(
            "/v1/offers/checkout",
            json!({ "token": token, "quantity": 1,
                    "return_url": "https://evil.example/phish" }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let url = body["checkout_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/hosted/checkout/", stack.sandbox_url)),
        "{url}"
    );
    let page = stack
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Pro plan upgrade"), "{page}");
    let ledger = stack.ledger().await.unwrap();
    let session = ledger["checkout_sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| url.ends_with(s["session_id"].as_str().unwrap_or("?")))
        .cloned()
        .unwrap_or(Value::Null);
    assert_ne!(session, Value::Null, "{ledger}");
    assert_eq!(session["return_url"], Value::Null, "not an allowed origin");
    assert!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .is_empty(),
        "nothing charged"
    );

    // A second click opens the same checkout, never a second one to pay; and the item is not
    // offered again once its checkout is open.
    let (status, again) = stack
        .post(
            "/v1/offers/checkout",
            json!({ "token": token, "quantity": 1 }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["checkout_url"], body["checkout_url"]);
    let ids = offer_ids(&stack, &payment).await;
    assert_eq!(ids, ["add-ons"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_added_in_one_click_has_no_checkout_and_a_declined_offer_cannot_be_accepted() {
    let stack = demo_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    let upsell = listed.offers[0].items[0].token.clone();
    let templates = listed.offers[1].items[0].token.clone();

    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(&templates, "key-templates-0003", 1),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = stack
        .post(
            "/v1/offers/checkout",
            json!({ "token": templates, "quantity": 1 }),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_accepted"))
    );

    // Declined in one tab, then accepted from another: refused, nothing charged.
    let (status, _) = stack
        .post("/v1/offers/decline", json!({ "token": upsell }))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(&upsell, "key-other-tab-00001", 1),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("offer_declined"))
    );
    assert!(stack
        .charges_for(&payment, "pro-upgrade")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn declining_an_offer_already_accepted_does_not_open_its_downsell() {
    let stack = demo_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let upsell = offers(&stack, &payment).await.offers[0].items[0]
        .token
        .clone();
    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(&upsell, "key-accept-then-no", 1),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = stack
        .post("/v1/offers/decline", json!({ "token": upsell }))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next"], Value::Null, "no downsell after an accept");
    let ids = offer_ids(&stack, &payment).await;
    assert_eq!(ids, ["add-ons"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_that_needs_3ds_gives_the_link_and_settles_once_the_customer_confirms() {
    let stack = demo_stack().await;
    let payment = stack.purchase(KATHERINE, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    let token = &listed.offers[0].items[0].token;
    let (status, body) = stack
        .post(
            "/v1/offers/accept",
            accept_body(token, "key-three-ds-00001", 1),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let accept_id = body["accept_id"].as_str().unwrap().to_string();
    let mut status_now = body.clone();
    for _ in 0..100 {
        if status_now["status"] == "requires_action" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        status_now = stack
            .http
            .get(format!("{}/v1/accepts/{accept_id}", stack.proxy_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    assert_eq!(status_now["status"], "requires_action", "{status_now}");
    let link = status_now["action_url"].as_str().unwrap().to_string();
    assert!(link.contains("/hosted/3ds/"), "{link}");

    // The customer confirms on the bank's page.
    let confirm = stack
        .http
        .post(format!("{link}/complete"))
        .send()
        .await
        .unwrap();
    assert!(confirm.status().is_success() || confirm.status().is_redirection());
    let done = stack.final_status(&accept_id).await.unwrap();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["action_url"], Value::Null);
    assert_eq!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_subscriber_is_offered_the_plan_changes_of_their_plan() {
    let stack = demo_stack().await;
    let listed: OffersResponse =
        serde_json::from_value(stack.offers("pay_demo_team_hedy").await.unwrap()).unwrap();
    assert!(
        listed.offers.is_empty(),
        "no one-click offer follows the Team plan"
    );
    let changes: Vec<_> = listed
        .plan_changes
        .iter()
        .map(|c| {
            (
                c.change_id.as_str(),
                c.current.name.as_str(),
                c.target.name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("team-to-business", "Team plan", "Business plan"),
            ("team-to-starter", "Team plan", "Starter plan")
        ]
    );
    let business = &listed.plan_changes[0].target;
    assert_eq!(
        (business.price.amount, business.interval.as_str()),
        (7900, "month")
    );
    assert!(business
        .features
        .iter()
        .any(|f| f.contains("Single sign-on")));
    // A purchase that is not a subscription has none.
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    assert!(offers(&stack, &payment).await.plan_changes.is_empty());
}

/// The offers file's conditions, read from the purchase as Dodo reports it: only the offers
/// whose conditions the purchase meets are shown, highest priority first.
#[tokio::test(flavor = "multi_thread")]
async fn offers_follow_only_purchases_that_meet_their_conditions_highest_priority_first() {
    let stack = Stack::start(StackOptions {
        offers_toml: r#"
offer_window_minutes = 30

[[offers]]
id = "us-only"
after = ["prod_basic_plan"]
product = "prod_pro_upgrade"
[offers.when]
countries = ["US"]
currencies = ["USD"]

[[offers]]
id = "big-orders"
after = ["prod_basic_plan"]
product = "prod_icon_pack"
[offers.when]
order_total = { USD = { min = 10000 } }

[[offers]]
id = "first"
after = ["prod_basic_plan"]
product = "prod_template_pack"
priority = 1
"#
        .into(),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let shown = |offers: serde_json::Value| -> Vec<String> {
        offers["offers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["offer_id"].as_str().unwrap().to_string())
            .collect()
    };
    // Ada, billed in New York, 30.00 USD: not a big order.
    let ada = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    assert_eq!(
        shown(stack.offers(&ada).await.unwrap()),
        ["first", "us-only"]
    );
    // Linus, billed in Helsinki: not in the US.
    let linus = stack
        .purchase("cus_demo_linus", "prod_basic_plan")
        .await
        .unwrap();
    assert_eq!(shown(stack.offers(&linus).await.unwrap()), ["first"]);
}

/// What the customer already has, from Dodo: an offer of a product they bought (in this order
/// or an earlier one, through us or not) gives way to the next offer of its chain; a refund in
/// full gives it back; and `customer = "new"` / `"returning"` tells first purchases apart.
#[tokio::test(flavor = "multi_thread")]
async fn an_offer_of_what_the_customer_already_has_gives_way_to_the_next_of_its_chain() {
    let stack = Stack::start(StackOptions {
        offers_toml: r#"
offer_window_minutes = 30

[[offers]]
id = "pro"
after = ["prod_basic_plan"]
product = "prod_pro_upgrade"
downsell = "icons"

[[offers]]
id = "icons"
product = "prod_icon_pack"

[[offers]]
id = "welcome"
after = ["prod_basic_plan"]
product = "prod_template_pack"
when = { customer = "new" }
"#
        .into(),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let shown = |offers: Value| -> Vec<(String, String)> {
        offers["offers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["offer_id"].as_str().unwrap().to_string(),
                    o["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |id: &str, kind: &str| (id.to_string(), kind.to_string());

    // Ada's first purchase (the seed's): the upsell, and the welcome offer for new customers.
    let offers = stack.offers("pay_demo_basic_ada").await.unwrap();
    assert_eq!(
        shown(offers.clone()),
        [pair("pro", "upsell"), pair("welcome", "upsell")]
    );
    let token = offers["offers"][0]["items"][0]["token"].as_str().unwrap();
    let (status, body) = stack.accept(token, "owned-product-1").await.unwrap();
    assert_eq!(status, 200, "{body}");

    // The second purchase: Ada owns the Pro upgrade now, so its chain goes on to the icons,
    // shown as an upsell (she declined nothing); and she is no longer new.
    let second = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    assert_eq!(
        shown(stack.offers(&second).await.unwrap()),
        [pair("icons", "upsell")]
    );

    // The Pro upgrade refunded in full: Ada no longer has it, and it is offered again.
    let charge = stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["product_cart"][0]["product_id"] == "prod_pro_upgrade")
        .unwrap()["payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    stack
        .http
        .post(format!("{}/refunds", stack.sandbox_url))
        .bearer_auth(upsell_e2e::API_KEY)
        .json(&json!({ "payment_id": charge, "reason": "changed my mind" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let third = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    assert_eq!(
        shown(stack.offers(&third).await.unwrap()),
        [pair("pro", "upsell")]
    );
}

/// The offers `cargo xtask bench` measures lookups with (every condition in use, a holdout, an
/// owned product, a bandit): Ada's purchase gets what the file's comments say.
#[tokio::test(flavor = "multi_thread")]
async fn the_benchs_targeted_offers_give_ada_what_they_say() {
    let stack = Stack::start(StackOptions {
        offers_toml: include_str!("../../bench/targeted-offers.toml").into(),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    let offers = stack.offers(&payment).await.unwrap();
    let shown: Vec<&str> = offers["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offer_id"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["pro-upgrade", "icons-instead"], "{offers}");
}
