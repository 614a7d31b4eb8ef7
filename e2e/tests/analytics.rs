//! The report over real HTTP against the sandbox: a few purchases through the demo's offers
//! (the downsell runs an experiment), every event sent twice by the widget and by Dodo, a
//! refund, and then `GET /v1/report` must say exactly what happened, per offer and variant.

use serde_json::{json, Value};
use std::time::Duration;
use upsell_e2e::{Stack, StackOptions, ADMIN_TOKEN, API_KEY, DEMO_OFFERS, TOKEN_KEYS};
use upsell_proxy::offers::token::OfferClaims;
use upsell_proxy::tokens::TokenKeys;

const ADA: &str = "cus_demo_ada";
const GRACE: &str = "cus_demo_grace";
const LINUS: &str = "cus_demo_linus";
const KATHERINE: &str = "cus_demo_katherine";
const MARGARET: &str = "cus_demo_margaret";
const BASIC: &str = "prod_basic_plan";

async fn demo_stack() -> Stack {
    let stack = Stack::start(StackOptions {
        offers_toml: DEMO_OFFERS.into(),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts");
    // Dodo may deliver every event twice: revenue must still count once.
    stack
        .set_webhook_delivery(json!({ "duplicate": true }))
        .await
        .unwrap();
    stack
}

/// The offer `offer_id` in an offers answer: its first item's token.
fn token_of(offers: &Value, offer_id: &str) -> String {
    offers["offers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["offer_id"] == offer_id)
        .and_then(|o| o["items"][0]["token"].as_str())
        .unwrap_or_else(|| panic!("no {offer_id} in {offers}"))
        .to_string()
}

/// The variant a token was signed for, as the proxy files it.
fn variant_of(token: &str) -> String {
    let keys = TokenKeys::parse(TOKEN_KEYS).unwrap();
    keys.verify::<OfferClaims>(token)
        .unwrap()
        .variant()
        .to_string()
}

/// Reports the offer seen twice, as a widget sending again would: as its beacon does (JSON as
/// `text/plain`), then as plain JSON.
async fn seen_twice(stack: &Stack, token: &str) {
    let beacon = stack
        .http
        .post(format!("{}/v1/offers/impression", stack.proxy_url))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(json!({ "token": token }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(beacon.status(), 200);
    let (status, body) = stack
        .post("/v1/offers/impression", json!({ "token": token }))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

async fn accept(stack: &Stack, token: &str, key: &str) -> Value {
    let (status, body) = stack.accept(token, key).await.unwrap();
    assert_eq!(status, 200, "{body}");
    // A retry of the same click: one accept.
    let (status, again) = stack.accept(token, key).await.unwrap();
    assert_eq!((status, &again["accept_id"]), (200, &body["accept_id"]));
    stack
        .final_status(body["accept_id"].as_str().unwrap())
        .await
        .unwrap()
}

async fn decline(stack: &Stack, token: &str) -> Value {
    let (status, body) = stack
        .post("/v1/offers/decline", json!({ "token": token }))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn offer<'a>(report: &'a Value, offer_id: &str) -> &'a Value {
    report["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["offer_id"] == offer_id)
        .unwrap_or_else(|| panic!("no {offer_id} in {report}"))
}

fn variant<'a>(offer: &'a Value, variant_id: &str) -> &'a Value {
    offer["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant_id"] == variant_id)
        .unwrap_or_else(|| panic!("no {variant_id} in {offer}"))
}

/// Sums `field` over an offer's variants.
fn total(offer: &Value, field: &str) -> i64 {
    offer["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_i64().unwrap())
        .sum()
}

/// Polls the report until `ready` holds (webhooks arrive on their own time), up to 15 s.
async fn report_when(stack: &Stack, ready: impl Fn(&Value) -> bool) -> Value {
    let mut report = Value::Null;
    for _ in 0..150 {
        report = stack.report().await.unwrap();
        if ready(&report) {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the report never settled: {report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_few_purchases_through_the_demo_are_reported_once_each_per_offer_and_variant() {
    let stack = demo_stack().await;

    // Ada sees the upsell and the cross-sell, takes the upsell; later $10 of it is refunded.
    let ada = stack.purchase(ADA, BASIC).await.unwrap();
    let offers = stack.offers(&ada).await.unwrap();
    let upsell = token_of(&offers, "pro-upgrade");
    seen_twice(&stack, &upsell).await;
    seen_twice(&stack, &token_of(&offers, "add-ons")).await;
    let charged = accept(&stack, &upsell, "analytics-ada-0001").await;
    assert_eq!(charged["status"], "succeeded", "{charged}");

    // Grace takes the upsell; her card is declined.
    let grace = stack.purchase(GRACE, BASIC).await.unwrap();
    let upsell = token_of(&stack.offers(&grace).await.unwrap(), "pro-upgrade");
    seen_twice(&stack, &upsell).await;
    let failed = accept(&stack, &upsell, "analytics-grace-001").await;
    assert_eq!(failed["status"], "failed", "{failed}");

    // Linus says no to the upsell (not reported seen: the answer implies it) and to the
    // downsell.
    let linus = stack.purchase(LINUS, BASIC).await.unwrap();
    let upsell = token_of(&stack.offers(&linus).await.unwrap(), "pro-upgrade");
    let linus_next = decline(&stack, &upsell).await["next"].clone();
    let linus_downsell = linus_next["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    seen_twice(&stack, &linus_downsell).await;
    decline(&stack, &linus_downsell).await;
    decline(&stack, &linus_downsell).await;

    // Ada, again: she has the upgrade now, so she is shown its downsell in its place (a
    // different product), and takes it.
    let ada_again = stack.purchase(ADA, BASIC).await.unwrap();
    let offers = stack.offers(&ada_again).await.unwrap();
    assert!(
        !offers["offers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["offer_id"] == "pro-upgrade"),
        "{offers}"
    );
    let ada_downsell = token_of(&offers, "pro-upgrade-discount");
    seen_twice(&stack, &ada_downsell).await;
    let charged = accept(&stack, &ada_downsell, "analytics-ada-0002").await;
    assert_eq!(charged["status"], "succeeded", "{charged}");

    // Katherine says no to both.
    let katherine = stack.purchase(KATHERINE, BASIC).await.unwrap();
    let upsell = token_of(&stack.offers(&katherine).await.unwrap(), "pro-upgrade");
    let next = decline(&stack, &upsell).await["next"].clone();
    let katherine_downsell = next["items"][0]["token"].as_str().unwrap().to_string();
    // Each sees the downsell of the variant their id falls in: the variant's badge and words.
    let shown = [(&katherine_downsell, &next), (&linus_downsell, &linus_next)];
    for (token, offer) in shown {
        let (badge, title) = match variant_of(token).as_str() {
            "limited-offer" => (json!("limited_offer"), "Pro plan upgrade, 30 % off once"),
            _ => (Value::Null, "Pro plan upgrade"),
        };
        assert_eq!(
            (&offer["badge"], &offer["items"][0]["title"]),
            (&badge, &json!(title))
        );
        assert_eq!(
            offer["items"][0]["price"]["amount"], 3500,
            "the same product"
        );
    }
    seen_twice(&stack, &katherine_downsell).await;
    decline(&stack, &katherine_downsell).await;

    // Margaret's only card has expired: she takes the upsell through a standard checkout
    // (opened twice), and pays there.
    let margaret = stack.purchase(MARGARET, BASIC).await.unwrap();
    let upsell = token_of(&stack.offers(&margaret).await.unwrap(), "pro-upgrade");
    seen_twice(&stack, &upsell).await;
    let mut checkout_url = String::new();
    for _ in 0..2 {
        let (status, body) = stack
            .post(
                "/v1/offers/checkout",
                json!({ "token": upsell, "quantity": 1 }),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        checkout_url = body["checkout_url"].as_str().unwrap().to_string();
    }
    let paid = stack
        .http
        .post(format!("{checkout_url}/pay"))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success() || paid.status().is_redirection());

    // The merchant refunds $10 of Ada's upgrade at Dodo.
    let ledger = stack.ledger().await.unwrap();
    let upgrade_payment = ledger["charges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["metadata"]["upsell_original_payment_id"] == ada.as_str()
                && c["metadata"]["upsell_offer_id"] == "pro-upgrade"
        })
        .and_then(|c| c["payment_id"].as_str())
        .unwrap()
        .to_string();
    let refund: Value = stack
        .http
        .post(format!("{}/refunds", stack.sandbox_url))
        .bearer_auth(API_KEY)
        .json(&json!({
            "payment_id": upgrade_payment,
            "items": [{ "item_id": "prod_pro_upgrade", "amount": 1000 }],
            "reason": "goodwill",
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refund["is_partial"], true, "{refund}");

    let report = report_when(&stack, |report| {
        let upsell = offer(report, "pro-upgrade");
        upsell["variants"][0]["revenue"] == json!([{ "amount": 9000, "currency": "USD" }])
            && total(offer(report, "pro-upgrade-discount"), "conversions") == 1
    })
    .await;

    let upsell = offer(&report, "pro-upgrade");
    assert_eq!(upsell["experiment"], Value::Null);
    let only = variant(upsell, "default");
    assert_eq!(
        only["impressions"], 5,
        "Ada once (then she had it), Grace, Linus, Katherine, Margaret: {upsell:#}"
    );
    assert_eq!(
        only["accepts"], 3,
        "Ada, Grace, Margaret's checkout: {upsell:#}"
    );
    assert_eq!(only["declines"], 2, "Linus, Katherine: {upsell:#}");
    assert_eq!(only["failures"], 1, "Grace's card: {upsell:#}");
    assert_eq!(only["conversions"], 2, "Ada, Margaret: {upsell:#}");
    assert_eq!(only["expiries"], 0, "the window is still open: {upsell:#}");
    assert_eq!(
        only["revenue"],
        json!([{ "amount": 9000, "currency": "USD" }]),
        "$50 in one click and $50 by checkout confirmed, $10 refunded, each once though Dodo \
         sent each twice"
    );
    assert_eq!(
        only["revenue_per_impression"],
        json!([{ "amount": 1800, "currency": "USD" }])
    );
    let rate = &only["conversion_rate"];
    assert_eq!(rate["estimate"].as_f64().unwrap(), 2.0 / 5.0);
    // Wilson's 95 % interval of 2 in 5.
    assert!(
        (rate["low"].as_f64().unwrap() - 0.1176).abs() < 1e-3,
        "{rate}"
    );
    assert!(
        (rate["high"].as_f64().unwrap() - 0.7693).abs() < 1e-3,
        "{rate}"
    );

    // The downsell's experiment: each answer under the variant its customer was shown.
    let downsell = offer(&report, "pro-upgrade-discount");
    assert_eq!(downsell["experiment"], "pro-upgrade-discount");
    let mut declined = vec![variant_of(&linus_downsell), variant_of(&katherine_downsell)];
    let ada_variant = variant_of(&ada_downsell);
    assert_eq!(total(downsell, "impressions"), 3, "{downsell:#}");
    assert_eq!(total(downsell, "declines"), 2, "{downsell:#}");
    declined.sort();
    declined.dedup();
    for variant_id in &declined {
        assert!(
            variant(downsell, variant_id)["declines"].as_i64().unwrap() >= 1,
            "{downsell:#}"
        );
    }
    assert_eq!(
        variant(downsell, &ada_variant)["conversions"],
        1,
        "{downsell:#}"
    );
    assert_eq!(
        variant(downsell, &ada_variant)["revenue"],
        json!([{ "amount": 3500, "currency": "USD" }])
    );
    assert_eq!(downsell["variants"][0]["is_control"], true);
    let verdict = &downsell["variants"][1]["versus_control"];
    assert_eq!(verdict["significant"], false, "{verdict}");
    assert!(
        verdict["summary"]
            .as_str()
            .unwrap()
            .starts_with("No verdict yet"),
        "{verdict}"
    );

    let add_ons = offer(&report, "add-ons");
    assert_eq!(
        total(add_ons, "impressions"),
        1,
        "seen by Ada only: {add_ons:#}"
    );
    assert_eq!(total(add_ons, "accepts"), 0);

    // The timeline holds the same impressions and money.
    let points = upsell["timeline"].as_array().unwrap();
    let impressions: i64 = points
        .iter()
        .map(|p| p["impressions"].as_i64().unwrap())
        .sum();
    assert_eq!(impressions, 5);
    let revenue: i64 = points
        .iter()
        .flat_map(|p| p["revenue"].as_array().unwrap())
        .map(|m| m["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(revenue, 9000);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_opens_only_with_the_admin_token() {
    let stack = demo_stack().await;
    let url = format!("{}/v1/report", stack.proxy_url);
    let anonymous = stack.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");

    let wrong = stack
        .http
        .get(&url)
        .bearer_auth(format!("{ADMIN_TOKEN}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // A browser sends the token as the password of HTTP Basic authentication.
    let page = stack
        .http
        .get(format!("{}/report", stack.proxy_url))
        .basic_auth("merchant", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Upsell report</h1>"), "{html}");
    assert!(html.contains("Offer pro-upgrade-discount"), "{html}");

    // Without a token configured, the report is off.
    let off = Stack::start(StackOptions {
        admin_token: None,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let response = off
        .http
        .get(format!("{}/v1/report", off.proxy_url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "report_disabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_impression_is_refused_and_counts_nothing() {
    let stack = demo_stack().await;
    for (body, status, code) in [
        (json!({ "token": "not-a-token" }), 401, "invalid_token"),
        (json!({ "tok": "x" }), 422, "invalid_body"),
        (json!([1, 2]), 422, "invalid_body"),
    ] {
        let (got, answer) = stack.post("/v1/offers/impression", body).await.unwrap();
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
    }
    let report = stack.report().await.unwrap();
    for offer in report["offers"].as_array().unwrap() {
        assert_eq!(total(offer, "impressions"), 0, "{offer}");
    }
}

/// Found by the soak: with Dodo's webhooks never delivered, revenue and refunds never reached
/// the report. The proxy's sweep of Dodo's recent payments and refunds finds them.
#[tokio::test(flavor = "multi_thread")]
async fn revenue_and_refunds_reach_the_report_when_webhooks_never_arrive() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    stack
        .set_webhook_delivery(json!({ "endpoint": null }))
        .await
        .unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offers = stack.offers(&payment).await.unwrap();
    let token = offers["offers"][0]["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let accepted = accept(&stack, &token, "key-no-webhooks-0001").await;
    let done = stack
        .final_status(accepted["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    let revenue = |report: &Value| {
        report["offers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["offer_id"] == "pro-upgrade")
            .map(|o| {
                o["variants"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|v| v["revenue"].as_array().cloned().unwrap_or_default())
                    .filter_map(|m| m["amount"].as_i64())
                    .sum::<i64>()
            })
    };
    report_when(&stack, |r| revenue(r) == Some(5000)).await;

    let charge = stack.charges_for(&payment, "pro-upgrade").await.unwrap();
    let refunded = stack
        .http
        .post(format!("{}/refunds", stack.sandbox_url))
        .bearer_auth(API_KEY)
        .json(&json!({ "payment_id": charge[0]["payment_id"] }))
        .send()
        .await
        .unwrap();
    assert!(refunded.status().is_success());
    report_when(&stack, |r| revenue(r) == Some(0)).await;
}

/// The holdout: half the customers (by a stable hash of their id: Grace and Katherine here)
/// are shown nothing after a purchase; the report compares what purchases came to on each
/// side, the offers' money less every refund, the purchase's own included; money paid within
/// the refund window is provisional, and customers are counted once however often they buy.
#[tokio::test(flavor = "multi_thread")]
async fn a_holdout_sees_nothing_and_the_report_says_what_offers_add() {
    let stack = Stack::start(StackOptions {
        offers_toml: r#"
holdout_percent = 50
refund_window_days = 14

[[offers]]
id = "pro-upgrade"
after = ["prod_basic_plan"]
product = "prod_pro_upgrade"
"#
        .into(),
        ..StackOptions::default()
    })
    .await
    .unwrap();

    // Grace is held out: no offer, however often her page asks.
    let grace = stack.purchase(GRACE, BASIC).await.unwrap();
    for _ in 0..2 {
        let offers = stack.offers(&grace).await.unwrap();
        assert_eq!(offers["offers"], json!([]), "{offers}");
    }
    // Ada buys twice, is shown the upgrade after each purchase, and takes it once.
    let ada = stack.purchase(ADA, BASIC).await.unwrap();
    let upsell = token_of(&stack.offers(&ada).await.unwrap(), "pro-upgrade");
    seen_twice(&stack, &upsell).await;
    let ada_again = stack.purchase(ADA, BASIC).await.unwrap();
    let again = token_of(&stack.offers(&ada_again).await.unwrap(), "pro-upgrade");
    seen_twice(&stack, &again).await;
    let charged = accept(&stack, &upsell, "holdout-ada-0001").await;
    assert_eq!(charged["status"], "succeeded", "{charged}");
    // Grace asks for her 30.00 back.
    stack
        .http
        .post(format!("{}/refunds", stack.sandbox_url))
        .bearer_auth(API_KEY)
        .json(&json!({ "payment_id": grace, "reason": "changed my mind" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let report = report_when(&stack, |report| {
        let usd = &report["holdout"]["currencies"][0];
        usd["offers"]["value"] == 5000 && usd["holdout"]["value"] == -3000
    })
    .await;
    let holdout = &report["holdout"];
    assert_eq!(holdout["share_percent"], 50);
    let usd = &holdout["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    assert_eq!(
        (&usd["offers"]["purchases"], &usd["offers"]["customers"]),
        (&json!(2), &json!(1)),
        "Ada's two purchases, one customer: {usd:#}"
    );
    assert_eq!(usd["offers"]["per_purchase"], 2500.0);
    assert_eq!(usd["offers"]["per_customer"], 5000.0);
    assert_eq!(
        (&usd["holdout"]["purchases"], &usd["holdout"]["customers"]),
        (&json!(1), &json!(1))
    );
    // Three purchases are far too few for an answer, and all are within the refund window.
    assert_eq!(usd["incremental_per_customer"], Value::Null);
    assert_eq!(usd["provisional_purchases"], 3);
    assert!(
        usd["summary"]
            .as_str()
            .unwrap()
            .starts_with("No answer yet: each side needs 30 purchases"),
        "{usd:#}"
    );

    // The offer's own figures: per purchase and per customer, and the money provisional.
    assert_eq!(report["refund_window_days"], 14);
    let only = variant(offer(&report, "pro-upgrade"), "default");
    assert_eq!(
        (&only["impressions"], &only["customers"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        (&only["conversions"], &only["converted_customers"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(only["customer_conversion_rate"]["estimate"], 1.0);
    assert_eq!(
        only["provisional_revenue"],
        json!([{ "amount": 5000, "currency": "USD" }])
    );
}
