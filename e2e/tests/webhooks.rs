//! Dodo's webhooks arriving forged, replayed past their tolerance, twice, or out of order: the
//! proxy refuses what is not Dodo's, processes each event once, and never undoes a final state.

use serde_json::{json, Value};
use standardwebhooks::Webhook;
use std::time::Duration;
use upsell_e2e::{Stack, StackOptions, WEBHOOK_SECRET};

async fn accepted(stack: &Stack, customer: &str, key: &str) -> (String, String) {
    let payment = stack.purchase(customer, "prod_basic_plan").await.unwrap();
    let token = stack.offers(&payment).await.unwrap()["offers"][0]["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = stack.accept(&token, key).await.unwrap();
    assert_eq!(status, 200, "{body}");
    (payment, body["accept_id"].as_str().unwrap().to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A webhook signed with the proxy's real secret.
async fn post_signed(stack: &Stack, id: &str, timestamp: i64, body: &Value) -> u16 {
    let body = body.to_string();
    let signature = Webhook::new(WEBHOOK_SECRET)
        .unwrap()
        .sign(id, timestamp, body.as_bytes())
        .unwrap();
    stack
        .http
        .post(format!("{}/webhooks/dodo", stack.proxy_url))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The proxy's own record of an accept: Dodo's reads fail meanwhile, so the proxy cannot
/// correct a wrong state by polling and answers with what it stored.
async fn stored_status(stack: &Stack, accept_id: &str) -> Value {
    stack
        .set_faults(json!([
            { "route": "GET /payments/{payment_id}", "error_rate": 1.0, "status": 503 },
            { "route": "GET /checkouts/{session_id}", "error_rate": 1.0, "status": 503 },
        ]))
        .await
        .unwrap();
    let status: Value = stack
        .http
        .get(format!("{}/v1/accepts/{accept_id}", stack.proxy_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stack.set_faults(json!([])).await.unwrap();
    status["status"].clone()
}

fn payment_event(kind: &str, accept_id: &str) -> Value {
    json!({
        "business_id": "bus_demo_acme",
        "type": kind,
        "timestamp": "2026-11-24T00:00:00Z",
        "data": { "payload_type": "Payment", "error_message": "Your card was declined.",
                  "metadata": { "upsell_accept_id": accept_id } },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_webhooks_outside_the_five_minute_tolerance_are_refused() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let (_, accept_id) = accepted(&stack, "cus_demo_grace", "key-tolerance-0001").await;
    assert_eq!(
        stack.final_status(&accept_id).await.unwrap()["status"],
        "failed"
    );
    let forged = payment_event("payment.succeeded", &accept_id);
    assert_eq!(
        post_signed(&stack, "msg_replayed_old", now() - 301, &forged).await,
        401
    );
    assert_eq!(
        post_signed(&stack, "msg_from_the_future", now() + 301, &forged).await,
        401
    );
    assert_eq!(stored_status(&stack, &accept_id).await, "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_final_state_is_never_undone_and_a_webhook_id_is_processed_once() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let (_, accept_id) = accepted(&stack, "cus_demo_ada", "key-final-state-001").await;
    assert_eq!(
        stack.final_status(&accept_id).await.unwrap()["status"],
        "succeeded"
    );
    // Correctly signed, but late and contradicting: a succeeded charge stays succeeded.
    for (id, kind) in [
        ("msg_late_failed", "payment.failed"),
        ("msg_late_processing", "payment.processing"),
    ] {
        assert_eq!(
            post_signed(&stack, id, now(), &payment_event(kind, &accept_id)).await,
            200
        );
        assert_eq!(
            post_signed(&stack, id, now(), &payment_event(kind, &accept_id)).await,
            200,
            "a duplicate is acknowledged"
        );
    }
    assert_eq!(stored_status(&stack, &accept_id).await, "succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_deliveries_change_nothing_twice() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    stack
        .set_webhook_delivery(json!({ "duplicate": true }))
        .await
        .unwrap();
    let (payment, accept_id) = accepted(&stack, "cus_demo_ada", "key-duplicated-0001").await;
    assert_eq!(
        stack.final_status(&accept_id).await.unwrap()["status"],
        "succeeded"
    );
    let mut delivered = 0;
    for _ in 0..100 {
        let ledger = stack.ledger().await.unwrap();
        delivered = ledger["webhook_deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["event_type"] == "payment.succeeded" && d["status"] == 200)
            .count();
        if delivered == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, 2, "both copies were acknowledged");
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
async fn events_out_of_order_leave_the_latest_truth() {
    // No background reconciling: what the proxy holds comes from the webhooks alone.
    let stack = Stack::start(StackOptions {
        reconcile_every: Duration::from_secs(3600),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    // Linus's bank answers `processing`, then `succeeded` a second later; both events are held
    // and delivered newest first.
    stack
        .set_webhook_delivery(json!({ "reorder_window_ms": 1600 }))
        .await
        .unwrap();
    let (_, accept_id) = accepted(&stack, "cus_demo_linus", "key-out-of-order-01").await;
    let mut order = Vec::new();
    for _ in 0..100 {
        let ledger = stack.ledger().await.unwrap();
        order = ledger["webhook_deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["event_type"].as_str().unwrap().to_string())
            .collect();
        if order.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        order,
        ["payment.succeeded", "payment.processing"],
        "delivered out of order"
    );
    assert_eq!(stored_status(&stack, &accept_id).await, "succeeded");
}
