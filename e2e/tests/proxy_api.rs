//! The proxy over real HTTP against the running sandbox: offers, the accept path and its
//! exactly-once guarantee, declines, webhooks, and the errors bad input gets.

use serde_json::{json, Value};
use std::time::Duration;
use upsell_e2e::{Stack, StackOptions};
use upsell_proxy::offers::token::OfferClaims;
use upsell_proxy::tokens::TokenKeys;
use upsell_wire::{AcceptResponse, AcceptStatus, OfferKind, OffersResponse};

const ADA: &str = "cus_demo_ada";
const GRACE: &str = "cus_demo_grace";
const BASIC: &str = "prod_basic_plan";
const OFFER: &str = "pro-upgrade";

/// Claims for Ada's Pro upgrade after `payment`, as the proxy would sign them.
fn ada_claims(payment: &str, iat: i64, exp: i64, jti: &str) -> OfferClaims {
    OfferClaims {
        sub: payment.into(),
        cus: ADA.into(),
        oid: OFFER.into(),
        iid: OFFER.into(),
        pid: "prod_pro_upgrade".into(),
        amt: 5000,
        cur: "USD".into(),
        qmin: 1,
        qmax: 1,
        pm: "pm_demo_visa_4242".into(),
        iat,
        exp,
        jti: jti.into(),
        var: String::new(),
        loc: String::new(),
    }
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn stack() -> Stack {
    Stack::start(StackOptions::default())
        .await
        .expect("stack starts")
}

async fn offers(stack: &Stack, payment_id: &str) -> OffersResponse {
    let response = stack
        .http
        .get(format!("{}/v1/offers", stack.proxy_url))
        .query(&[("payment_id", payment_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

async fn post(stack: &Stack, path: &str, body: Value) -> (u16, Value) {
    let response = stack
        .http
        .post(format!("{}{path}", stack.proxy_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn accept(stack: &Stack, token: &str, key: &str) -> (u16, Value) {
    post(
        stack,
        "/v1/offers/accept",
        json!({ "token": token, "idempotency_key": key, "quantity": 1 }),
    )
    .await
}

/// Polls the accept until its status is final, as the widget does.
async fn final_status(stack: &Stack, accept_id: &str) -> AcceptResponse {
    for _ in 0..100 {
        let response: AcceptResponse = stack
            .http
            .get(format!("{}/v1/accepts/{accept_id}", stack.proxy_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if response.status.is_final() {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("accept {accept_id} never reached a final status");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_purchase_gets_its_upsell_with_price_card_and_token() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let response = offers(&stack, &payment).await;
    assert_eq!(response.offers.len(), 1);
    let offer = &response.offers[0];
    assert_eq!(offer.offer_id, OFFER);
    assert_eq!(offer.items[0].title, "Pro plan upgrade");
    assert_eq!(offer.items[0].price.amount, 5000);
    assert_eq!(offer.items[0].price.currency, "USD");
    assert_eq!(offer.kind, OfferKind::Upsell);
    assert_eq!(offer.items[0].token.split('.').count(), 3, "a JWT");
    // The card the purchase was paid with first, then Ada's other current card; her expired
    // Amex is never offered.
    let cards: Vec<_> = response
        .payment_methods
        .iter()
        .map(|m| format!("{} {}", m.network, m.last4))
        .collect();
    assert_eq!(cards, ["Visa 4242", "Mastercard 5454"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn accepting_charges_the_saved_card_once_and_the_webhook_confirms_it() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);

    let (status, body) = accept(&stack, &offer.items[0].token, "key-accept-once-0001").await;
    assert_eq!(status, 200, "{body}");
    let first: AcceptResponse = serde_json::from_value(body).unwrap();
    assert_eq!(first.amount.amount, 5000);
    let done = final_status(&stack, &first.accept_id).await;
    assert_eq!(done.status, AcceptStatus::Succeeded);

    let charges = stack.charges_for(&payment, OFFER).await.unwrap();
    assert_eq!(charges.len(), 1, "{charges:?}");
    let charge = &charges[0];
    assert_eq!(charge["total_amount"], 5000);
    assert_eq!(charge["customer_id"], ADA);
    assert_eq!(charge["payment_method_id"], "pm_demo_visa_4242");
    assert_eq!(charge["product_cart"][0]["product_id"], "prod_pro_upgrade");
    assert_eq!(
        charge["metadata"]["upsell_accept_id"],
        first.accept_id.as_str()
    );

    // The webhook reaches the proxy and is accepted (it is sent after the charge's answer, and
    // may come after the final status: within 5 s).
    let mut ledger = Value::Null;
    let mut delivered = false;
    for _ in 0..100 {
        ledger = stack.ledger().await.unwrap();
        delivered = ledger["webhook_deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["event_type"] == "payment.succeeded" && d["status"] == 200);
        if delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(delivered, "{ledger}");

    // Accepted offers are not offered again for this purchase.
    assert!(offers(&stack, &payment).await.offers.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_accepts_retries_and_replays_never_charge_twice() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);

    // 50 concurrent requests: 25 with the same key, 25 each with its own key.
    let answers = stack
        .accept_concurrently(
            std::slice::from_ref(&stack.proxy_url),
            &offer.items[0].token,
            50,
            |i| {
                if i % 2 == 0 {
                    "key-same-for-all-0001".to_string()
                } else {
                    format!("key-different-{i:04}")
                }
            },
        )
        .await
        .unwrap();
    let mut accept_ids = Vec::new();
    for (status, body) in answers {
        assert_eq!(status, 200, "{body}");
        accept_ids.push(body["accept_id"].as_str().unwrap().to_string());
    }
    accept_ids.sort();
    accept_ids.dedup();
    assert_eq!(
        accept_ids.len(),
        1,
        "every request answers with the one accept"
    );
    assert_eq!(
        final_status(&stack, &accept_ids[0]).await.status,
        AcceptStatus::Succeeded
    );

    // A replay after the charge: same answer, no new charge.
    let (status, body) = accept(&stack, &offer.items[0].token, "key-replayed-later-01").await;
    assert_eq!(status, 200);
    assert_eq!(body["accept_id"], accept_ids[0].as_str());
    assert_eq!(body["status"], "succeeded");

    // A second, validly signed token for the same purchase and offer (another tab opened
    // before the first accept) answers with the first accept too.
    let keys = TokenKeys::parse(upsell_e2e::TOKEN_KEYS).unwrap();
    let now = time_now();
    let second = keys
        .sign(&ada_claims(&payment, now, now + 600, "another-tab"))
        .unwrap();
    let (status, body) = accept(&stack, &second, "key-another-tab-0001").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accept_id"], accept_ids[0].as_str());
    assert_eq!(stack.charges_for(&payment, OFFER).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_fails_with_its_reason_and_is_not_retried() {
    let stack = stack().await;
    let payment = stack.purchase(GRACE, BASIC).await.unwrap();
    let listed = offers(&stack, &payment).await;
    assert_eq!(listed.payment_methods[0].last4, "0341");
    let offer = &listed.offers[0];
    let (status, body) = accept(&stack, &offer.items[0].token, "key-declined-card-01").await;
    assert_eq!(status, 200, "{body}");
    let done = final_status(&stack, body["accept_id"].as_str().unwrap()).await;
    assert_eq!(done.status, AcceptStatus::Failed);
    assert_eq!(
        done.failure_reason.as_deref(),
        Some("Your card has insufficient funds.")
    );
    assert_eq!(done.failure_code.as_deref(), Some("insufficient_funds"));
    let charges = stack.charges_for(&payment, OFFER).await.unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_raised_after_the_offer_was_shown_is_not_charged() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);
    assert_eq!(offer.items[0].price.amount, 5000);
    // The merchant raises the price in Dodo while the customer looks at $50.00 (the proxy's
    // product cache still has the old price).
    let raised = stack
        .http
        .patch(format!("{}/products/prod_pro_upgrade", stack.sandbox_url))
        .bearer_auth(upsell_e2e::API_KEY)
        .json(&json!({ "price": { "type": "one_time_price", "price": 7500, "currency": "USD" } }))
        .send()
        .await
        .unwrap();
    assert!(raised.status().is_success());
    let (status, body) = accept(&stack, &offer.items[0].token, "key-price-raised-01").await;
    assert_eq!(status, 200, "{body}");
    let done = final_status(&stack, body["accept_id"].as_str().unwrap()).await;
    assert_eq!(done.status, AcceptStatus::Failed);
    assert_eq!(done.failure_code.as_deref(), Some("price_changed"));
    assert!(stack.charges_for(&payment, OFFER).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_offer_is_not_shown_again() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);
    let (status, body) = post(
        &stack,
        "/v1/offers/decline",
        json!({ "token": offer.items[0].token }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offer_id"], OFFER);
    assert!(offers(&stack, &payment).await.offers.is_empty());
    assert!(stack.charges_for(&payment, OFFER).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_token_or_a_quantity_outside_its_bounds_charges_nothing() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);

    let mut parts: Vec<&str> = offer.items[0].token.split('.').collect();
    let forged_claims = "eyJzdWIiOiJwYXlfeCIsImN1cyI6ImN1c19kZW1vX2dyYWNlIiwiYW10IjoxfQ";
    parts[1] = forged_claims;
    let (status, body) = accept(&stack, &parts.join("."), "key-tampered-0001").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );

    let (status, body) = post(
        &stack,
        "/v1/offers/accept",
        json!({ "token": offer.items[0].token, "idempotency_key": "key-quantity-0001", "quantity": 5 }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_quantity"))
    );

    // Price and product sent by the client are not part of the request at all.
    let (status, body) = post(
        &stack,
        "/v1/offers/accept",
        json!({ "token": offer.items[0].token, "idempotency_key": "key-price-0001", "quantity": 1,
                "price": 1, "product_id": "prod_template_pack", "customer_id": "cus_demo_grace" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["amount"]["amount"], 5000);
    let done = final_status(&stack, body["accept_id"].as_str().unwrap()).await;
    assert_eq!(done.status, AcceptStatus::Succeeded);
    let charges = stack.charges_for(&payment, OFFER).await.unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["customer_id"], ADA);
    assert_eq!(charges[0]["total_amount"], 5000);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_json_4xx_with_a_stable_code() {
    let stack = stack().await;
    let get = |query: &'static str| {
        let url = format!("{}/v1/offers{query}", stack.proxy_url);
        let http = stack.http.clone();
        async move {
            let response = http.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get("?payment_id=../customers").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_payment_id"))
    );
    let (status, body) = get("").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let (status, body) = get("?payment_id=pay_doesnotexist").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("payment_not_found"))
    );

    let late = stack.purchase_minutes_ago(ADA, BASIC, 31).await.unwrap();
    let (status, body) = get(Box::leak(format!("?payment_id={late}").into_boxed_str())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("offer_window_closed"))
    );

    let response = stack
        .http
        .post(format!("{}/v1/offers/accept", stack.proxy_url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_body");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    let (status, body) = post(&stack, "/v1/offers/accept", json!({})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("invalid_body")));

    let (status, body) = post(
        &stack,
        "/v1/offers/accept",
        json!({ "token": "x", "idempotency_key": "short", "quantity": 1 }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );

    let response = stack
        .http
        .post(format!("{}/v1/offers/accept", stack.proxy_url))
        .header("content-type", "application/json")
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    let response = stack
        .http
        .get(format!("{}/v1/accepts/acc_unknown", stack.proxy_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let response = stack
        .http
        .get(format!("{}/v1/nothing-here", stack.proxy_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "not_found");
    let response = stack
        .http
        .delete(format!("{}/v1/offers/accept", stack.proxy_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
    assert!(stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_with_a_bad_signature_is_refused_and_changes_nothing() {
    let stack = stack().await;
    let payment = stack.purchase(GRACE, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);
    let (_, body) = accept(&stack, &offer.items[0].token, "key-forged-webhook-1").await;
    let accept_id = body["accept_id"].as_str().unwrap().to_string();
    assert_eq!(
        final_status(&stack, &accept_id).await.status,
        AcceptStatus::Failed
    );

    let now = time_now();
    let forged = json!({
        "business_id": "bus_demo_acme",
        "type": "payment.succeeded",
        "timestamp": "2026-11-24T00:00:00Z",
        "data": { "payload_type": "Payment", "metadata": { "upsell_accept_id": accept_id } },
    });
    let response = stack
        .http
        .post(format!("{}/webhooks/dodo", stack.proxy_url))
        .header("webhook-id", "msg_forged")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", "v1,bm90IGEgc2lnbmF0dXJl")
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_signature");
    assert_eq!(
        final_status(&stack, &accept_id).await.status,
        AcceptStatus::Failed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_charges_and_webhooks_by_route_not_by_id() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let offer = offers(&stack, &payment).await.offers.remove(0);
    let (_, body) = accept(&stack, &offer.items[0].token, "key-metrics-000001").await;
    final_status(&stack, body["accept_id"].as_str().unwrap()).await;
    let mut text = String::new();
    for _ in 0..100 {
        text = stack.metrics().await.unwrap();
        if text.contains("upsell_webhooks_total{result=\"applied\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains("upsell_charges_total{result=\"submitted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("upsell_webhooks_total{result=\"applied\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("upsell_http_requests_total{route=\"/v1/offers/accept\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("route=\"/v1/accepts/{accept_id}\""), "{text}");
    assert!(!text.contains(&payment), "no series per payment id");
    assert!(!text.contains(&offer.items[0].token), "never a token");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_foreign_tokens_are_refused_over_http_and_charge_nothing() {
    let stack = stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let now = time_now();
    let claims = |exp: i64, jti: &str| ada_claims(&payment, now - 60, exp, jti);
    let ours = TokenKeys::parse(upsell_e2e::TOKEN_KEYS).unwrap();
    let expired = ours.sign(&claims(now - 1, "expired")).unwrap();
    let (status, body) = accept(&stack, &expired, "key-expired-token-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("offer_expired"))
    );

    // Signed with a key the proxy does not hold, under a kid it does.
    let foreign = TokenKeys::parse("k1=somebody-elses-key-0123456789abcdef")
        .unwrap()
        .sign(&claims(now + 600, "foreign"))
        .unwrap();
    let (status, body) = accept(&stack, &foreign, "key-foreign-token-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, body) = post(&stack, "/v1/offers/decline", json!({ "token": foreign })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );

    assert!(stack.charges_for(&payment, OFFER).await.unwrap().is_empty());
    assert_eq!(
        offers(&stack, &payment).await.offers.len(),
        1,
        "the offer is still open"
    );
}

/// An offer and its downsell with the merchant's words in Brazilian Portuguese.
const OFFERS_IN_PORTUGUESE: &str = r#"
[[offers]]
id = "pro"
after = ["prod_basic_plan"]
product = "prod_pro_upgrade"
badge = "Staff pick"
downsell = "pro-lite"
[offers.locales.pt-BR]
title = "Adicione o Pro"
badge = "Escolha da equipe"

[[offers]]
id = "pro-lite"
product = "prod_pro_upgrade_offer"
[offers.locales.pt-BR]
description = "Só hoje, com desconto."
"#;

async fn offers_in(stack: &Stack, payment_id: &str, locale: &str) -> (u16, Value) {
    let response = stack
        .http
        .get(format!("{}/v1/offers", stack.proxy_url))
        .query(&[("payment_id", payment_id), ("locale", locale)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_merchants_words_come_in_the_customers_language_down_the_chain() {
    let stack = Stack::start(StackOptions {
        offers_toml: OFFERS_IN_PORTUGUESE.into(),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts");
    let payment = stack.purchase(ADA, BASIC).await.unwrap();

    let (status, brazil) = offers_in(&stack, &payment, "pt-BR").await;
    assert_eq!(status, 200, "{brazil}");
    let offer = &brazil["offers"][0];
    assert_eq!(offer["badge"], "Escolha da equipe");
    assert_eq!(offer["items"][0]["title"], "Adicione o Pro");
    assert!(
        offer["items"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Everything in Basic"),
        "what pt-BR leaves out is the default (the product's own): {offer}"
    );
    // Portugal reads Brazil's words rather than English; France the default.
    let (_, portugal) = offers_in(&stack, &payment, "pt-PT").await;
    assert_eq!(portugal["offers"][0]["items"][0]["title"], "Adicione o Pro");
    let (_, france) = offers_in(&stack, &payment, "fr-FR").await;
    assert_eq!(france["offers"][0]["badge"], "Staff pick");
    assert_eq!(france["offers"][0]["items"][0]["title"], "Pro plan upgrade");
    let unnamed = offers(&stack, &payment).await;
    assert_eq!(unnamed.offers[0].items[0].title, "Pro plan upgrade");

    // Declined in Portuguese, the downsell comes in Portuguese: the token carries the language.
    let (status, body) = post(
        &stack,
        "/v1/offers/decline",
        json!({ "token": offer["items"][0]["token"] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next"]["offer_id"], "pro-lite");
    assert_eq!(
        body["next"]["items"][0]["description"],
        "Só hoje, com desconto."
    );

    // A page whose `lang` is no language tag still shows its offers (now the downsell), in
    // the default words.
    for bad in [
        "pt-BR<script>",
        "portuguese",
        "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s",
    ] {
        let (status, body) = offers_in(&stack, &payment, bad).await;
        assert_eq!(status, 200, "{bad}: {body}");
        let item = &body["offers"][0]["items"][0];
        assert_eq!(body["offers"][0]["offer_id"], "pro-lite", "{bad}: {body}");
        assert!(
            item["description"]
                .as_str()
                .unwrap()
                .starts_with("Everything in Basic"),
            "{bad}: {body}"
        );
    }
}
