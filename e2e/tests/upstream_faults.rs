//! Dodo failing during an accept (sandbox faults): a lost answer, a timeout, a 5xx or a 429 on
//! the charge call. Whatever happens there is at most one charge, and the state the widget ends
//! up seeing is the truth.

use serde_json::json;
use std::time::Duration;
use upsell_e2e::{Stack, StackOptions};

const ADA: &str = "cus_demo_ada";
const BASIC: &str = "prod_basic_plan";
const OFFER: &str = "pro-upgrade";

async fn offer_token(stack: &Stack, payment: &str) -> String {
    stack.offers(payment).await.unwrap()["offers"][0]["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_whose_answer_is_lost_is_found_by_its_metadata_and_not_repeated() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let token = offer_token(&stack, &payment).await;
    stack
        .set_faults(json!([{ "route": "POST /checkouts", "error_rate": 1.0, "status": 502, "after_handling": true, "times": 1 }]))
        .await
        .unwrap();
    let (status, body) = stack.accept(&token, "key-lost-answer-01").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let done = stack
        .final_status(body["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    // The widget retries with the same key: the same accept, no second charge.
    let (_, again) = stack.accept(&token, "key-lost-answer-01").await.unwrap();
    assert_eq!(again["accept_id"], body["accept_id"]);
    assert_eq!(stack.charges_for(&payment, OFFER).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_call_that_times_out_after_charging_ends_succeeded_with_one_charge() {
    let stack = Stack::start(StackOptions {
        upstream_timeout: Duration::from_millis(500),
        reconcile_grace: Duration::from_secs(2),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let token = offer_token(&stack, &payment).await;
    stack
        .set_faults(json!([{ "route": "POST /checkouts", "hang": true, "after_handling": true, "times": 1 }]))
        .await
        .unwrap();
    let (status, body) = stack.accept(&token, "key-timeout-after-01").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let done = stack
        .final_status(body["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(stack.charges_for(&payment, OFFER).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_refused_with_5xx_or_429_before_charging_ends_failed_with_no_charge() {
    for (status, retry_after) in [(503, None), (500, None), (429, Some(1))] {
        let stack = Stack::start(StackOptions {
            reconcile_grace: Duration::from_secs(1),
            ..StackOptions::default()
        })
        .await
        .unwrap();
        let payment = stack.purchase(ADA, BASIC).await.unwrap();
        let token = offer_token(&stack, &payment).await;
        stack
            .set_faults(json!([{ "route": "POST /checkouts", "error_rate": 1.0, "status": status, "retry_after_secs": retry_after }]))
            .await
            .unwrap();
        let (code, body) = stack.accept(&token, "key-refused-upstream").await.unwrap();
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            body["status"], "processing",
            "the outcome is not known at first"
        );
        let done = stack
            .final_status(body["accept_id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(done["status"], "failed", "{status}: {done}");
        assert!(done["failure_reason"]
            .as_str()
            .unwrap()
            .contains("Nothing was charged"));
        assert!(stack.charges_for(&payment, OFFER).await.unwrap().is_empty());
        // Never retried by itself: Dodo saw exactly one attempt.
        stack.set_faults(json!([])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(stack.ledger().await.unwrap()["charges"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_are_retried_so_a_passing_5xx_does_not_lose_an_offer() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    stack
        .set_faults(json!([{ "route": "GET /payments/{payment_id}", "error_rate": 1.0, "status": 503, "times": 1 }]))
        .await
        .unwrap();
    let offers = stack.offers(&payment).await.unwrap();
    assert_eq!(offers["offers"][0]["offer_id"], OFFER);
}

/// Two offers after a Basic plan purchase, of which one may be accepted.
async fn two_offers_one_accept() -> Stack {
    let offers = r#"
        max_accepted_offers = 1
        [[offers]]
        id = "pro-upgrade"
        after = ["prod_basic_plan"]
        product = "prod_pro_upgrade"
        [[offers]]
        id = "templates"
        after = ["prod_basic_plan"]
        product = "prod_template_pack"
    "#;
    Stack::start(StackOptions {
        offers_toml: offers.into(),
        ..StackOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purchase_accepts_at_most_its_limit_of_offers() {
    let stack = two_offers_one_accept().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = stack.offers(&payment).await.unwrap();
    let tokens: Vec<String> = listed["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["items"][0]["token"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 2);
    let (status, first) = stack
        .accept(&tokens[0], "key-limit-first-01")
        .await
        .unwrap();
    assert_eq!(status, 200, "{first}");
    let (status, second) = stack
        .accept(&tokens[1], "key-limit-second-1")
        .await
        .unwrap();
    assert_eq!(
        (status, second["code"].as_str()),
        (409, Some("offer_limit_reached"))
    );
    assert!(stack.offers(&payment).await.unwrap()["offers"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        stack.ledger().await.unwrap()["charges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// An item paid through the standard-checkout fallback counts toward `max_accepted_offers`
/// like a one-click accept: with a limit of one, a second item can then be taken neither in one
/// click nor through another checkout.
#[tokio::test(flavor = "multi_thread")]
async fn an_item_paid_through_a_standard_checkout_counts_toward_the_limit() {
    let stack = two_offers_one_accept().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let listed = stack.offers(&payment).await.unwrap();
    let token = |i: usize| {
        listed["offers"][i]["items"][0]["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (first, second) = (token(0), token(1));

    // The first item through a standard checkout, paid on Dodo's page.
    let (status, body) = stack
        .post(
            "/v1/offers/checkout",
            json!({ "token": first, "quantity": 1 }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let checkout_url = body["checkout_url"].as_str().unwrap().to_string();
    let paid = stack
        .http
        .post(format!("{checkout_url}/pay"))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success() || paid.status().is_redirection());

    // Once Dodo's webhook has told the proxy (the lookup then offers nothing more), the second
    // item is refused both ways.
    let mut counted = false;
    for _ in 0..100 {
        let offers = stack.offers(&payment).await.unwrap();
        if offers["offers"].as_array().unwrap().is_empty() {
            counted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(counted, "the paid checkout never counted");
    let (status, body) = stack.accept(&second, "key-after-checkout-1").await.unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("offer_limit_reached")),
        "{body}"
    );
    let (status, body) = stack
        .post(
            "/v1/offers/checkout",
            json!({ "token": second, "quantity": 1 }),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("offer_limit_reached")),
        "{body}"
    );
    assert!(stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["product_cart"][0]["product_id"] != "prod_template_pack"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_one_customer_cannot_charge_another_customers_card() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let token = offer_token(&stack, &payment).await;
    let response = stack
        .http
        .post(format!("{}/v1/offers/accept", stack.proxy_url))
        .json(
            &json!({ "token": token, "idempotency_key": "key-other-card-001", "quantity": 1,
                       "payment_method_id": "pm_demo_mastercard_0341" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payment_method_not_allowed");
    assert!(stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Found by the soak: the reads before a charge (the purchase, the product's price of the
/// moment), slowed and retried, outlasted the grace period after the accept had been claimed;
/// the reconciler, finding no charge, called the accept failed, and then the charge went
/// through. The accept is claimed only right before the charge call now: whatever its final
/// status, the ledger agrees.
#[tokio::test(flavor = "multi_thread")]
async fn reads_slower_than_the_grace_period_never_leave_a_charge_behind_a_failed_accept() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let token = offer_token(&stack, &payment).await;
    // Reading the purchase takes two slow attempts: longer than the 3 s grace.
    stack
        .set_faults(json!([
            { "route": "GET /payments/{payment_id}", "latency_ms": 1900, "error_rate": 1.0, "status": 503, "times": 1 },
            { "route": "GET /payments/{payment_id}", "latency_ms": 1900, "times": 1 },
        ]))
        .await
        .unwrap();
    let (status, body) = stack.accept(&token, "key-slow-reads-0001").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let done = stack
        .final_status(body["accept_id"].as_str().unwrap())
        .await
        .unwrap();
    // Give a charge sent late the time to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let charges = stack.charges_for(&payment, OFFER).await.unwrap();
    match done["status"].as_str() {
        Some("succeeded") => assert_eq!(charges.len(), 1, "{charges:?}"),
        _ => assert!(
            charges.is_empty(),
            "failed, yet charged: {done} {charges:?}"
        ),
    }
}
