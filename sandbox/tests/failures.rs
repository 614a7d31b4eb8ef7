//! Cards that behave like cards, faults on purpose, webhooks that come twice, late or out of
//! order, hosted pages, and the clock.

mod common;

use common::{Sandbox, SECRET};
use dodopayments::models::{Payment, PaymentCreateResponse, Subscription, WebhookPayload};
use serde_json::{json, Value};
use standardwebhooks::Webhook;
use std::time::{Duration, Instant};

fn address() -> Value {
    json!({ "country": "US", "state": "NY", "city": "New York", "street": "1 Main St", "zipcode": "10001" })
}

fn one_click(customer: &str, method: &str, product: &str) -> Value {
    json!({
        "product_cart": [{ "product_id": product, "quantity": 1 }],
        "customer": { "customer_id": customer },
        "payment_method_id": method,
        "confirm": true,
        "billing_address": address(),
    })
}

async fn payment(sandbox: &Sandbox, payment_id: &str) -> Payment {
    sandbox
        .dodo()
        .payments()
        .retrieve()
        .payment_id(payment_id)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cards_succeed_decline_expire_and_refuse_other_currencies() {
    let sandbox = Sandbox::billing().await;
    let (status, session) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    assert_eq!(status, 200, "{session}");
    let ok = payment(&sandbox, session["payment_id"].as_str().unwrap()).await;
    assert_eq!(serde_json::to_value(&ok.status).unwrap(), "succeeded");

    for (method, code, message) in [
        (
            "pm_broke",
            "INSUFFICIENT_FUNDS",
            "Your card has insufficient funds.",
        ),
        ("pm_declined", "CARD_DECLINED", "Your card was declined."),
    ] {
        let (status, session) = sandbox
            .post("/checkouts", one_click("cus_broke", method, "prod_ebook"))
            .await;
        assert_eq!(status, 200);
        let failed = payment(&sandbox, session["payment_id"].as_str().unwrap()).await;
        assert_eq!(serde_json::to_value(&failed.status).unwrap(), "failed");
        assert_eq!(
            (
                failed.error_code.as_deref(),
                failed.error_message.as_deref()
            ),
            (Some(code), Some(message))
        );
    }

    let (status, error) = sandbox
        .post(
            "/checkouts",
            one_click("cus_ok", "pm_ok_expired", "prod_ebook"),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("NO_ELIGIBLE_PAYMENT_METHODS"))
    );
    let (status, error) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok_eur", "prod_ebook"))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("NO_ELIGIBLE_PAYMENT_METHODS"))
    );
    let (status, error) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_sticker"))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("TOTAL_PAYMENT_AMOUNT_BELOW_MINIMUM_AMOUNT"))
    );
    let mut mixed = one_click("cus_ok", "pm_ok", "prod_ebook");
    mixed["product_cart"] = json!([{ "product_id": "prod_ebook", "quantity": 1 }, { "product_id": "prod_basic", "quantity": 1 }]);
    let (status, error) = sandbox.post("/checkouts", mixed).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("INVALID_REQUEST_PARAMETERS"))
    );
}

#[tokio::test]
async fn a_3ds_card_waits_for_the_customer_and_its_page_completes_or_fails_it() {
    let sandbox = Sandbox::billing().await;
    for (action, outcome) in [("complete", "succeeded"), ("fail", "failed")] {
        let (_, session) = sandbox
            .post("/checkouts", one_click("cus_3ds", "pm_3ds", "prod_ebook"))
            .await;
        let payment_id = session["payment_id"].as_str().unwrap().to_string();
        let waiting = payment(&sandbox, &payment_id).await;
        assert_eq!(
            serde_json::to_value(&waiting.status).unwrap(),
            "requires_customer_action"
        );
        let link = waiting.payment_link.expect("the 3-D Secure page");
        let (_, status) = sandbox
            .get(&format!(
                "/checkouts/{}",
                session["session_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status["payment_status"], "requires_customer_action");
        let page = sandbox
            .http
            .get(&link)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Confirm your payment"));
        sandbox
            .http
            .post(format!("{link}/{action}"))
            .send()
            .await
            .unwrap();
        let done = payment(&sandbox, &payment_id).await;
        assert_eq!(serde_json::to_value(&done.status).unwrap(), outcome);
    }
}

#[tokio::test]
async fn a_processing_payment_settles_when_the_clock_reaches_its_time() {
    let sandbox = Sandbox::billing().await;
    let (_, session) = sandbox
        .post("/checkouts", one_click("cus_slow", "pm_slow", "prod_ebook"))
        .await;
    let payment_id = session["payment_id"].as_str().unwrap().to_string();
    assert_eq!(
        serde_json::to_value(payment(&sandbox, &payment_id).await.status).unwrap(),
        "processing"
    );
    sandbox
        .post("/_sandbox/clock/advance", json!({ "seconds": 59 }))
        .await;
    assert_eq!(
        serde_json::to_value(payment(&sandbox, &payment_id).await.status).unwrap(),
        "processing"
    );
    sandbox
        .post("/_sandbox/clock/advance", json!({ "seconds": 1 }))
        .await;
    assert_eq!(
        serde_json::to_value(payment(&sandbox, &payment_id).await.status).unwrap(),
        "succeeded"
    );
    let events: Vec<String> = sandbox
        .webhooks(2)
        .await
        .iter()
        .map(|w| w.event_type())
        .collect();
    assert_eq!(events, ["payment.processing", "payment.succeeded"]);
}

#[tokio::test]
async fn payments_with_a_saved_card_charge_and_without_one_get_a_link() {
    let sandbox = Sandbox::billing().await;
    let body = |method: Option<&str>| {
        let mut body = json!({
            "billing": address(),
            "customer": { "customer_id": "cus_ok" },
            "product_cart": [{ "product_id": "prod_ebook", "quantity": 2 }],
        });
        if let Some(method) = method {
            body["payment_method_id"] = json!(method);
        }
        body
    };
    let (status, charged) = sandbox.post("/payments", body(Some("pm_ok"))).await;
    assert_eq!(status, 200, "{charged}");
    let charged: PaymentCreateResponse = serde_json::from_value(charged).unwrap();
    assert_eq!(charged.total_amount, 3000);
    assert_eq!(
        serde_json::to_value(payment(&sandbox, &charged.payment_id).await.status).unwrap(),
        "succeeded"
    );

    let (_, linked) = sandbox.post("/payments", body(None)).await;
    let linked: PaymentCreateResponse = serde_json::from_value(linked).unwrap();
    let link = linked.payment_link.expect("a payment link");
    assert_eq!(
        serde_json::to_value(payment(&sandbox, &linked.payment_id).await.status).unwrap(),
        "requires_payment_method"
    );
    sandbox.http.post(&link).send().await.unwrap();
    assert_eq!(
        serde_json::to_value(payment(&sandbox, &linked.payment_id).await.status).unwrap(),
        "succeeded"
    );

    let (status, error) = sandbox
        .post(
            "/payments",
            json!({ "customer": { "customer_id": "cus_ok" } }),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("INVALID_REQUEST_BODY"))
    );
}

#[tokio::test]
async fn a_session_without_a_saved_card_gets_a_hosted_checkout_that_expires() {
    let sandbox = Sandbox::billing().await;
    let (status, session) = sandbox
        .post(
            "/checkouts",
            json!({
                "product_cart": [{ "product_id": "prod_ebook", "quantity": 1 }],
                "customer": { "customer_id": "cus_ok" },
                "return_url": "https://shop.example/thanks",
            }),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let url = session["checkout_url"]
        .as_str()
        .expect("a checkout_url")
        .to_string();
    assert!(session["payment_id"].is_null());
    assert_eq!(sandbox.http.get(&url).send().await.unwrap().status(), 200);
    sandbox
        .post(
            "/_sandbox/clock/advance",
            json!({ "days": 1, "seconds": 1 }),
        )
        .await;
    assert_eq!(sandbox.http.get(&url).send().await.unwrap().status(), 410);

    // A confirmed session lives 15 minutes.
    let (_, session) = sandbox
        .post(
            "/checkouts",
            json!({
                "product_cart": [{ "product_id": "prod_ebook", "quantity": 1 }],
                "customer": { "customer_id": "cus_ok" },
                "confirm": true,
                "billing_address": address(),
                "return_url": "https://shop.example/thanks",
            }),
        )
        .await;
    let url = session["checkout_url"].as_str().unwrap().to_string();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirects
        .post(format!("{url}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    let location = paid.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("https://shop.example/thanks?payment_id=pay_")
            && location.ends_with("&status=succeeded"),
        "{location}"
    );
    let (_, session) = sandbox
        .post(
            "/checkouts",
            json!({
                "product_cart": [{ "product_id": "prod_ebook", "quantity": 1 }],
                "customer": { "customer_id": "cus_ok" },
                "confirm": true,
                "billing_address": address(),
            }),
        )
        .await;
    let url = session["checkout_url"].as_str().unwrap().to_string();
    sandbox
        .post("/_sandbox/clock/advance", json!({ "seconds": 15 * 60 }))
        .await;
    assert_eq!(sandbox.http.get(&url).send().await.unwrap().status(), 410);
}

#[tokio::test]
async fn webhooks_are_signed_and_carry_dodos_envelope() {
    let sandbox = Sandbox::billing().await;
    sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    let hook = &sandbox.webhooks(1).await[0];
    Webhook::new(SECRET)
        .unwrap()
        .verify(hook.body.as_bytes(), &hook.headers)
        .expect("a valid signature");
    assert!(hook.headers["webhook-signature"]
        .to_str()
        .unwrap()
        .starts_with("v1,"));
    let payload: WebhookPayload = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(payload.business_id, "bus_billing");
    assert_eq!(payload.data["payload_type"], "Payment");
    let data: Payment = serde_json::from_value(payload.data).unwrap();
    assert_eq!(data.total_amount, 1500);

    // A plan change: subscription events carry the whole Subscription.
    sandbox.advance_days(15).await;
    sandbox
        .post("/subscriptions/sub_basic/change-plan", json!({ "product_id": "prod_pro", "proration_billing_mode": "difference_immediately", "quantity": 1 }))
        .await;
    let hooks = sandbox.webhooks(4).await;
    let types: Vec<String> = hooks.iter().map(|h| h.event_type()).collect();
    assert!(
        types.contains(&"subscription.plan_changed".to_string()),
        "{types:?}"
    );
    let changed = hooks
        .iter()
        .find(|h| h.event_type() == "subscription.plan_changed")
        .unwrap()
        .json();
    assert_eq!(changed["data"]["payload_type"], "Subscription");
    let sub: Subscription = serde_json::from_value(changed["data"].clone()).unwrap();
    assert_eq!(
        (sub.product_id.as_str(), sub.recurring_pre_tax_amount),
        ("prod_pro", 8000)
    );
}

#[tokio::test]
async fn webhooks_are_retried_until_accepted_and_can_come_twice_late_or_out_of_order() {
    let sandbox = Sandbox::billing().await;
    sandbox.answer_webhooks_with(500);
    sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    let hooks = sandbox.webhooks(3).await;
    assert!(
        hooks.iter().all(|h| h.id() == hooks[0].id()),
        "retries keep the webhook-id"
    );
    sandbox.answer_webhooks_with(200);
    let deliveries = sandbox.ledger().await["webhook_deliveries"]
        .as_array()
        .unwrap()
        .len();
    assert!(deliveries >= 3);

    let sandbox = Sandbox::billing().await;
    sandbox
        .put("/_sandbox/webhooks", json!({ "endpoint": null }))
        .await;
    let (_, settings) = sandbox.get("/_sandbox/webhooks").await;
    assert!(settings["endpoint"].is_null());
    sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sandbox.ledger().await["webhook_deliveries"]
        .as_array()
        .unwrap()
        .is_empty());

    let sandbox = Sandbox::billing().await;
    let (_, settings) = sandbox.get("/_sandbox/webhooks").await;
    let mut switched = settings.clone();
    switched["duplicate"] = json!(true);
    sandbox.put("/_sandbox/webhooks", switched).await;
    sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    let hooks = sandbox.webhooks(2).await;
    assert_eq!(hooks[0].id(), hooks[1].id());
    assert_eq!(hooks[0].body, hooks[1].body);

    let sandbox = Sandbox::billing().await;
    let (_, settings) = sandbox.get("/_sandbox/webhooks").await;
    let mut late = settings.clone();
    late["delay_ms"] = json!(300);
    sandbox.put("/_sandbox/webhooks", late).await;
    let started = Instant::now();
    sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    sandbox.webhooks(1).await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    let sandbox = Sandbox::billing().await;
    let (_, settings) = sandbox.get("/_sandbox/webhooks").await;
    let mut shuffled = settings.clone();
    shuffled["reorder_window_ms"] = json!(200);
    sandbox.put("/_sandbox/webhooks", shuffled).await;
    let (_, first) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    let (_, second) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    let hooks = sandbox.webhooks(2).await;
    assert_eq!(hooks[0].json()["data"]["payment_id"], second["payment_id"]);
    assert_eq!(hooks[1].json()["data"]["payment_id"], first["payment_id"]);
}

#[tokio::test]
async fn faults_fail_delay_or_hang_a_route_as_set_at_run_time() {
    let sandbox = Sandbox::billing().await;
    let (status, _) = sandbox
        .put("/_sandbox/faults", json!([
            { "route": "POST /checkouts", "error_rate": 1.0, "status": 503, "times": 1 },
            { "route": "GET /payments/{payment_id}", "error_rate": 1.0, "status": 429, "retry_after_secs": 7, "times": 1 },
        ]))
        .await;
    assert_eq!(status, 200);
    let (status, error) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (503, Some("INTERNAL_SERVER_ERROR"))
    );
    assert!(
        sandbox.ledger().await["charges"]
            .as_array()
            .unwrap()
            .is_empty(),
        "failed before handling: no charge"
    );
    let (status, session) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    assert_eq!(status, 200, "the fault was used up");
    let response = sandbox
        .http
        .get(format!(
            "{}/payments/{}",
            sandbox.url,
            session["payment_id"].as_str().unwrap()
        ))
        .bearer_auth(common::KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");

    // The charge is made, and the answer lost.
    sandbox
        .put("/_sandbox/faults", json!([{ "route": "POST /checkouts", "error_rate": 1.0, "status": 502, "after_handling": true, "times": 1 }]))
        .await;
    let (status, _) = sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    assert_eq!(status, 502);
    assert_eq!(
        sandbox.ledger().await["charges"].as_array().unwrap().len(),
        2
    );

    sandbox
        .put(
            "/_sandbox/faults",
            json!([{ "route": "*", "latency_ms": 150 }]),
        )
        .await;
    let started = Instant::now();
    sandbox.get("/products/prod_ebook").await;
    assert!(started.elapsed() >= Duration::from_millis(150));

    sandbox
        .put(
            "/_sandbox/faults",
            json!([{ "route": "GET /products/{product_id}", "hang": true }]),
        )
        .await;
    let hung = sandbox
        .http
        .get(format!("{}/products/prod_ebook", sandbox.url))
        .bearer_auth(common::KEY)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());

    let (status, error) = sandbox
        .put(
            "/_sandbox/faults",
            json!([{ "route": "*", "error_rate": 3.0 }]),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    sandbox.put("/_sandbox/faults", json!([])).await;
    let (status, _) = sandbox.get("/products/prod_ebook").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn reset_returns_to_the_seed_and_a_new_seed_replaces_the_world() {
    let sandbox = Sandbox::billing().await;
    sandbox
        .post("/checkouts", one_click("cus_ok", "pm_ok", "prod_ebook"))
        .await;
    sandbox.advance_days(3).await;
    sandbox.post("/_sandbox/reset", json!({})).await;
    assert!(sandbox.ledger().await["charges"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        sandbox.get("/_sandbox/clock").await.1["now"],
        "2026-01-01T00:00:00Z"
    );

    let response = sandbox
        .http
        .put(format!("{}/_sandbox/seed", sandbox.url))
        .body(dodo_sandbox::DEMO_SEED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = sandbox.get("/payments/pay_demo_basic_ada").await;
    assert_eq!(status, 200);
    let (status, _) = sandbox.get("/subscriptions/sub_basic").await;
    assert_eq!(status, 404);
    let response = sandbox
        .http
        .put(format!("{}/_sandbox/seed", sandbox.url))
        .body("not = [a seed")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}
