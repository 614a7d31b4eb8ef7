//! Money that adds up: every worked example of Dodo's plan-change guide through the sandbox's
//! HTTP API (preview, change, renewals), with the preview equal to the charge to the minor unit.

mod common;

use common::Sandbox;
use dodopayments::models::{
    SubscriptionChangePlanResponse, SubscriptionPreviewChangePlanResponse,
    SubscriptionsChangePlanParams,
};
use serde_json::{json, Value};

fn change(product: &str, mode: &str) -> SubscriptionsChangePlanParams {
    SubscriptionsChangePlanParams {
        product_id: Some(product.into()),
        proration_billing_mode: Some(mode.into()),
        quantity: Some(1),
        ..Default::default()
    }
}

/// `POST /subscriptions/{id}/change-plan` through the official SDK, as the proxy calls it.
async fn change_plan(
    sandbox: &Sandbox,
    subscription: &str,
    params: SubscriptionsChangePlanParams,
) -> SubscriptionChangePlanResponse {
    sandbox
        .dodo()
        .subscriptions()
        .change_plan()
        .subscription_id(subscription)
        .body(params)
        .send()
        .await
        .unwrap()
}

/// Previews, then changes; returns the previewed total and what the change charged (0 when no
/// payment was made).
async fn preview_then_change(
    sandbox: &Sandbox,
    subscription: &str,
    params: SubscriptionsChangePlanParams,
) -> (SubscriptionPreviewChangePlanResponse, i64) {
    let dodo = sandbox.dodo();
    let preview = dodo
        .subscriptions()
        .preview_change_plan()
        .subscription_id(subscription)
        .body(params.clone())
        .send()
        .await
        .unwrap();
    let before = sandbox.charges_of(subscription).await.len();
    let response = change_plan(sandbox, subscription, params).await;
    let charges = sandbox.charges_of(subscription).await;
    let charged = match response.payment_id {
        Some(payment_id) => {
            assert_eq!(charges.len(), before + 1);
            let charge = charges.last().unwrap();
            assert_eq!(charge["payment_id"], payment_id.as_str());
            assert_eq!(charge["charge_type"], "plan_change");
            charge["total_amount"].as_i64().unwrap()
        }
        None => {
            assert_eq!(charges.len(), before, "no payment without a payment_id");
            0
        }
    };
    (preview, charged)
}

fn total(preview: &SubscriptionPreviewChangePlanResponse) -> i64 {
    preview.immediate_charge["summary"]["total_amount"]
        .as_i64()
        .unwrap()
}

fn credits(preview: &SubscriptionPreviewChangePlanResponse) -> i64 {
    preview.immediate_charge["summary"]["customer_credits"]
        .as_i64()
        .unwrap()
}

fn renewal_amounts(charges: &[Value]) -> Vec<i64> {
    charges
        .iter()
        .filter(|c| c["charge_type"] == "renewal")
        .map(|c| c["total_amount"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn prorated_upgrade_on_day_16_charges_25_dollars_and_renews_at_80() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let (preview, charged) = preview_then_change(
        &sandbox,
        "sub_basic",
        change("prod_pro", "prorated_immediately"),
    )
    .await;
    assert_eq!((total(&preview), charged), (2500, 2500));
    assert_eq!(preview.new_plan.product_id, "prod_pro");
    assert_eq!(preview.new_plan.next_billing_date, "2026-01-31T00:00:00Z");
    let lines = preview.immediate_charge["line_items"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["type"] == "subscription"
        && l["product_id"] == "prod_pro"
        && l["proration_factor"] == 0.5));
    assert!(lines
        .iter()
        .any(|l| l["product_id"] == "prod_basic" && l["proration_factor"] == -0.5));

    sandbox.advance_days(15).await;
    let charges = sandbox.charges_of("sub_basic").await;
    assert_eq!(renewal_amounts(&charges), [8000]);
    assert_eq!(
        sandbox.subscription("sub_basic").await["product_id"],
        "prod_pro"
    );
}

#[tokio::test]
async fn prorated_downgrade_credits_30_dollars_then_renews_at_0_and_10() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let (preview, charged) = preview_then_change(
        &sandbox,
        "sub_pro",
        change("prod_starter", "prorated_immediately"),
    )
    .await;
    assert_eq!((total(&preview), charged, credits(&preview)), (0, 0, 3000));
    assert_eq!(
        sandbox.subscription("sub_pro").await["credit_balance"],
        3000
    );
    sandbox.advance_days(15).await;
    sandbox.advance_days(30).await;
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_pro").await),
        [0, 1000]
    );
    assert_eq!(sandbox.subscription("sub_pro").await["credit_balance"], 0);
}

#[tokio::test]
async fn difference_upgrade_charges_50_dollars_and_renews_at_80() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let (preview, charged) = preview_then_change(
        &sandbox,
        "sub_basic",
        change("prod_pro", "difference_immediately"),
    )
    .await;
    assert_eq!((total(&preview), charged), (5000, 5000));
    sandbox.advance_days(15).await;
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_basic").await),
        [8000]
    );
}

#[tokio::test]
async fn difference_downgrade_credits_60_dollars_over_three_renewals() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let (preview, charged) = preview_then_change(
        &sandbox,
        "sub_pro",
        change("prod_starter", "difference_immediately"),
    )
    .await;
    assert_eq!((total(&preview), charged, credits(&preview)), (0, 0, 6000));
    // Four renewals: three covered by the credit, then the full $20.
    sandbox.advance_days(15 + 30 * 3).await;
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_pro").await),
        [0, 0, 0, 2000]
    );
}

#[tokio::test]
async fn full_upgrade_charges_80_dollars_and_restarts_the_cycle_on_the_day() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let (preview, charged) = preview_then_change(
        &sandbox,
        "sub_basic",
        change("prod_pro", "full_immediately"),
    )
    .await;
    assert_eq!((total(&preview), charged), (8000, 8000));
    assert_eq!(
        preview.new_plan.previous_billing_date,
        "2026-01-16T00:00:00Z"
    );
    assert_eq!(preview.new_plan.next_billing_date, "2026-02-15T00:00:00Z");
    let sub = sandbox.subscription("sub_basic").await;
    assert_eq!(sub["next_billing_date"], "2026-02-15T00:00:00Z");
    sandbox.advance_days(15).await;
    assert!(
        renewal_amounts(&sandbox.charges_of("sub_basic").await).is_empty(),
        "no renewal on Jan 31"
    );
    sandbox.advance_days(15).await;
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_basic").await),
        [8000]
    );
}

#[tokio::test]
async fn prorated_upgrade_with_three_seat_addons_charges_40_dollars_and_renews_at_110() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let mut params = change("prod_pro", "prorated_immediately");
    params.addons = Some(vec![serde_json::from_value(
        json!({ "addon_id": "addon_seat", "quantity": 3 }),
    )
    .unwrap()]);
    let (preview, charged) = preview_then_change(&sandbox, "sub_basic", params).await;
    assert_eq!((total(&preview), charged), (4000, 4000));
    assert!(preview.immediate_charge["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["type"] == "addon" && l["id"] == "addon_seat" && l["quantity"] == 3));
    sandbox.advance_days(15).await;
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_basic").await),
        [11_000]
    );
}

#[tokio::test]
async fn do_not_bill_changes_the_plan_and_bills_the_new_price_at_renewal() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let (preview, charged) =
        preview_then_change(&sandbox, "sub_basic", change("prod_pro", "do_not_bill")).await;
    assert_eq!((total(&preview), charged, credits(&preview)), (0, 0, 0));
    assert_eq!(
        sandbox.subscription("sub_basic").await["product_id"],
        "prod_pro"
    );
    sandbox.advance_days(15).await;
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_basic").await),
        [8000]
    );
}

#[tokio::test]
async fn zero_decimal_yen_prorates_to_whole_yen() {
    let sandbox = Sandbox::billing().await;
    // 21 days into a 31-day cycle: 10 left. Credit ¥316 (316.13), cost ¥639 (638.71).
    sandbox.advance_days(21).await;
    let (preview, charged) = preview_then_change(
        &sandbox,
        "sub_yen",
        change("prod_yen_plus", "prorated_immediately"),
    )
    .await;
    assert_eq!((total(&preview), charged), (323, 323));
    assert_eq!(preview.immediate_charge["summary"]["currency"], "JPY");
}

#[tokio::test]
async fn a_change_scheduled_for_the_next_billing_date_waits_for_it() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let mut params = change("prod_starter", "prorated_immediately");
    params.effective_at = Some("next_billing_date".into());
    let (preview, charged) = preview_then_change(&sandbox, "sub_pro", params).await;
    assert_eq!((total(&preview), charged), (0, 0));
    let scheduled = preview
        .new_plan
        .scheduled_change
        .as_ref()
        .expect("a scheduled change");
    assert_eq!(
        (
            scheduled.product_id.as_str(),
            scheduled.effective_at.as_str()
        ),
        ("prod_starter", "2026-01-31T00:00:00Z")
    );
    let sub = sandbox
        .dodo()
        .subscriptions()
        .retrieve()
        .subscription_id("sub_pro")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sub.product_id, "prod_pro",
        "the customer keeps the current plan until then"
    );
    assert!(sub.scheduled_change.is_some());
    sandbox.advance_days(15).await;
    let sub = sandbox
        .dodo()
        .subscriptions()
        .retrieve()
        .subscription_id("sub_pro")
        .send()
        .await
        .unwrap();
    assert_eq!(sub.product_id, "prod_starter");
    assert!(sub.scheduled_change.is_none());
    assert_eq!(
        renewal_amounts(&sandbox.charges_of("sub_pro").await),
        [2000]
    );
}

#[tokio::test]
async fn a_failed_plan_change_payment_keeps_or_changes_the_plan_as_asked() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;

    let mut prevent = change("prod_pro", "prorated_immediately");
    prevent.on_payment_failure = Some("prevent_change".into());
    let response = change_plan(&sandbox, "sub_broke", prevent).await;
    assert!(response.payment_id.is_some());
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(
        (sub["product_id"].as_str(), sub["status"].as_str()),
        (Some("prod_basic"), Some("active"))
    );
    let charges = sandbox.charges_of("sub_broke").await;
    assert_eq!(charges.last().unwrap()["status"], "failed");

    let mut apply = change("prod_pro", "prorated_immediately");
    apply.on_payment_failure = Some("apply_change".into());
    change_plan(&sandbox, "sub_broke", apply).await;
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(
        (sub["product_id"].as_str(), sub["status"].as_str()),
        (Some("prod_pro"), Some("on_hold"))
    );
}

#[tokio::test]
async fn a_plan_change_that_needs_3ds_waits_for_the_customer() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let mut params = change("prod_pro", "prorated_immediately");
    params.on_payment_failure = Some("prevent_change".into());
    let response = change_plan(&sandbox, "sub_3ds", params).await;
    let link = response.payment_link.expect("a page for the customer");
    assert_eq!(
        sandbox.subscription("sub_3ds").await["product_id"],
        "prod_basic"
    );
    let page = sandbox.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Confirm"));
    let done = sandbox
        .http
        .post(format!("{link}/complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(
        sandbox.subscription("sub_3ds").await["product_id"],
        "prod_pro"
    );
    assert_eq!(
        sandbox.charges_of("sub_3ds").await.last().unwrap()["status"],
        "succeeded"
    );
}

#[tokio::test]
async fn a_3ds_page_never_used_expires_and_frees_the_subscription_for_another_change() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let dodo = sandbox.dodo();
    let mut params = change("prod_pro", "prorated_immediately");
    params.on_payment_failure = Some("prevent_change".into());
    let first = dodo
        .subscriptions()
        .change_plan()
        .subscription_id("sub_3ds")
        .body(params.clone())
        .send()
        .await
        .unwrap();
    let link = first.payment_link.expect("a page for the customer");
    let expires_on = first.expires_on.expect("the page says when it expires");
    let (_, clock) = sandbox.get("/_sandbox/clock").await;
    let at = |text: &str| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert_eq!(
        at(&expires_on) - at(clock["now"].as_str().unwrap()),
        time::Duration::hours(1)
    );
    // While the page is open, Dodo refuses a second change.
    let (status, body) = sandbox
        .post(
            "/subscriptions/sub_3ds/change-plan",
            json!({ "product_id": "prod_pro", "proration_billing_mode": "prorated_immediately", "quantity": 1 }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("PREVIOUS_PAYMENT_PENDING")),
        "{body}"
    );

    let (status, _) = sandbox
        .post("/_sandbox/clock/advance", json!({ "seconds": 3601 }))
        .await;
    assert_eq!(status, 200);
    let payment = sandbox.charges_of("sub_3ds").await.last().cloned().unwrap();
    assert_eq!(payment["status"], "cancelled", "{payment}");
    assert_eq!(
        sandbox.subscription("sub_3ds").await["product_id"],
        "prod_basic",
        "the change waited on the page, and went with it"
    );
    let hooks = sandbox.webhooks(1).await;
    assert!(
        hooks.iter().any(|h| h.event_type() == "payment.cancelled"),
        "{:?}",
        hooks.iter().map(|h| h.event_type()).collect::<Vec<_>>()
    );
    let page = sandbox.http.get(&link).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("cancelled"));
    let done = sandbox
        .http
        .post(format!("{link}/complete"))
        .send()
        .await
        .unwrap();
    assert!(
        done.status().is_client_error(),
        "an expired page confirms nothing"
    );

    // The subscription takes a new change.
    let second = change_plan(&sandbox, "sub_3ds", params).await;
    assert!(second.payment_link.is_some_and(|l| l != link));
}

#[tokio::test]
async fn a_scheduled_change_can_be_withdrawn_before_it_takes_effect() {
    let sandbox = Sandbox::billing().await;
    sandbox.advance_days(15).await;
    let mut params = change("prod_starter", "prorated_immediately");
    params.effective_at = Some("next_billing_date".into());
    change_plan(&sandbox, "sub_pro", params).await;
    let scheduled = sandbox.get("/subscriptions/sub_pro").await.1;
    assert_eq!(scheduled["scheduled_change"]["product_id"], "prod_starter");
    let hooks_before = sandbox.webhooks(1).await.len();

    // The official SDK's call, as the proxy makes it.
    let cancel = || {
        sandbox
            .dodo()
            .subscriptions()
            .cancel_change_plan()
            .subscription_id("sub_pro")
            .send()
    };
    cancel().await.unwrap();
    let kept = sandbox.get("/subscriptions/sub_pro").await.1;
    assert_eq!(kept["scheduled_change"], Value::Null);
    assert_eq!(kept["product_id"], "prod_pro");
    let hooks = sandbox.webhooks(hooks_before + 1).await;
    assert_eq!(hooks.last().unwrap().event_type(), "subscription.updated");
    // Nothing left to withdraw: Dodo's 404.
    match cancel().await {
        Err(dodopayments::Error::Api { status, message }) => {
            assert_eq!(status, 404);
            assert!(message.contains("NOT_FOUND"), "{message}");
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    // The renewal is the plan's own.
    sandbox.advance_days(16).await;
    let renewed = sandbox.subscription("sub_pro").await;
    assert_eq!(renewed["product_id"], "prod_pro");
}

#[tokio::test]
async fn plan_changes_dodo_refuses_are_refused_with_its_codes() {
    let sandbox = Sandbox::billing().await;
    let body = |product: &str| json!({ "product_id": product, "proration_billing_mode": "prorated_immediately", "quantity": 1 });
    let (status, error) = sandbox
        .post("/subscriptions/sub_on_hold/change-plan", body("prod_pro"))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("INACTIVE_SUBSCRIPTION_PLAN_CHANGE_NOT_SUPPORTED"))
    );
    let (status, error) = sandbox
        .post("/subscriptions/sub_basic/change-plan", body("prod_legacy"))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("PRODUCT_IS_DELETED"))
    );
    let (status, error) = sandbox.post("/subscriptions/sub_basic/change-plan/preview", json!({ "product_id": "prod_pro", "proration_billing_mode": "sometimes", "quantity": 1 })).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("INVALID_REQUEST_BODY"))
    );
    let (status, error) = sandbox.post("/subscriptions/sub_basic/change-plan", json!({ "product_id": "prod_pro", "proration_billing_mode": "do_not_bill", "quantity": 0 })).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("INVALID_REQUEST_BODY"))
    );
    let (status, error) = sandbox.post("/subscriptions/sub_basic/change-plan", json!({ "product_id": "prod_pro", "proration_billing_mode": "do_not_bill", "quantity": 1, "addons": [{ "addon_id": "addon_nope", "quantity": 1 }] })).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("MISSING_ADDON_IDS"))
    );
    // The "fifth mode" some guides name: in none of Dodo's SDKs (dodopayments-python of
    // August 2026 and the Rust crate 1.127 know four modes; the TypeScript SDK of September
    // 2025 and the OpenAPI of September 2025, three), so refused as Dodo refuses any mode it
    // does not know, on the preview and on the change alike: nothing changes.
    for path in [
        "/subscriptions/sub_basic/change-plan/preview",
        "/subscriptions/sub_basic/change-plan",
    ] {
        let (status, error) = sandbox
            .post(
                path,
                json!({ "product_id": "prod_pro", "proration_billing_mode": "prorated_immediately_keep_cycle", "quantity": 1 }),
            )
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some("INVALID_REQUEST_BODY")),
            "{path}: {error}"
        );
    }
    assert_eq!(
        sandbox.subscription("sub_basic").await["product_id"],
        "prod_basic"
    );
    let (status, error) = sandbox
        .post("/subscriptions/sub_nope/change-plan", body("prod_pro"))
        .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("NOT_FOUND")));
    assert!(sandbox.ledger().await["charges"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// `POST /subscriptions/{id}/update-payment-method` with `body`: its status and answer.
async fn update_payment_method(sandbox: &Sandbox, subscription: &str, body: Value) -> (u16, Value) {
    sandbox
        .post(
            &format!("/subscriptions/{subscription}/update-payment-method"),
            body,
        )
        .await
}

/// Puts `sub_broke` on hold: an upgrade applied although its payment fails. Returns what the
/// failed payment asked.
async fn put_on_hold(sandbox: &Sandbox) -> i64 {
    sandbox.advance_days(15).await;
    let mut apply = change("prod_pro", "prorated_immediately");
    apply.on_payment_failure = Some("apply_change".into());
    apply.metadata = Some(serde_json::from_value(json!({ "ref": "chg_1" })).unwrap());
    change_plan(sandbox, "sub_broke", apply).await;
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(sub["status"], "on_hold");
    let failed = sandbox.charges_of("sub_broke").await.pop().unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(sub["owed"], failed["total_amount"]);
    failed["total_amount"].as_i64().unwrap()
}

#[tokio::test]
async fn a_subscription_on_hold_is_active_again_once_a_new_card_pays_what_it_owes() {
    let sandbox = Sandbox::billing().await;
    let owed = put_on_hold(&sandbox).await;
    // The failed payment, the plan changed, on hold.
    let hooks_before = sandbox.webhooks(3).await.len();
    let (status, page) =
        update_payment_method(&sandbox, "sub_broke", json!({ "type": "new" })).await;
    assert_eq!(status, 200, "{page}");
    assert!(page["payment_id"].is_null() && page["client_secret"].is_null());
    assert!(page["expires_on"].is_string(), "{page}");
    let link = page["payment_link"].as_str().unwrap().to_string();
    assert!(link.contains("/hosted/payment-method/upm_"), "{link}");
    let html = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("on hold") && html.contains(&format!("{owed} USD")),
        "the page says what the new card pays now: {html}"
    );

    // A card that is declined: saved, but the subscription stays on hold and still owes.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let declined = no_redirects
        .post(format!("{link}/save-declined"))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    assert!(declined.text().await.unwrap().contains("still on hold"));
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(
        (sub["status"].as_str(), sub["owed"].as_i64()),
        (Some("on_hold"), Some(owed))
    );
    let charges = sandbox.charges_of("sub_broke").await;
    assert_eq!(charges.last().unwrap()["status"], "failed");
    let card_before = sub["payment_method_id"].clone();

    // A card that pays, on a new page that sends the customer back to the shop.
    let (_, page) = update_payment_method(
        &sandbox,
        "sub_broke",
        json!({ "type": "new", "return_url": "https://shop.test/account?tab=plan" }),
    )
    .await;
    let link = page["payment_link"].as_str().unwrap().to_string();
    let saved = no_redirects
        .post(format!("{link}/save"))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    assert_eq!(
        saved.headers()["location"],
        "https://shop.test/account?tab=plan&status=active"
    );
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(sub["status"], "active");
    assert!(sub["owed"].is_null());
    assert_ne!(sub["payment_method_id"], card_before);
    assert_eq!(
        sub["product_id"], "prod_pro",
        "the change it was held for stays"
    );
    let charges = sandbox.charges_of("sub_broke").await;
    let paid = charges.last().unwrap();
    assert_eq!(
        (paid["status"].as_str(), paid["total_amount"].as_i64()),
        (Some("succeeded"), Some(owed))
    );
    assert_eq!(paid["charge_type"], "plan_change");
    assert_eq!(
        paid["metadata"]["ref"], "chg_1",
        "as the charge it pays again"
    );
    // The declined card: its payment failed and the card changed; then the card that pays.
    let mut after: Vec<String> = sandbox.webhooks(hooks_before + 5).await[hooks_before + 2..]
        .iter()
        .map(|h| h.event_type())
        .collect();
    after.sort();
    assert_eq!(
        after,
        [
            "payment.succeeded",
            "subscription.active",
            "subscription.updated"
        ]
    );

    // The page has done its work: it says so, and charges nothing more.
    let again = no_redirects
        .post(format!("{link}/save"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(sandbox.charges_of("sub_broke").await.len(), charges.len());
    let html = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(html.contains("Payment method updated"), "{html}");
}

#[tokio::test]
async fn a_saved_card_may_replace_the_subscriptions_and_bad_requests_change_nothing() {
    let sandbox = Sandbox::billing().await;
    let owed = put_on_hold(&sandbox).await;
    // Through the SDK, as the proxy calls it.
    let answer = sandbox
        .dodo()
        .subscriptions()
        .update_payment_method()
        .subscription_id("sub_broke")
        .body(json!({ "type": "existing", "payment_method_id": "pm_declined" }))
        .send()
        .await
        .unwrap();
    let payment_id = answer.payment_id.expect("what it owes was charged again");
    let charges = sandbox.charges_of("sub_broke").await;
    let last = charges.last().unwrap();
    assert_eq!(last["payment_id"], payment_id.as_str());
    assert_eq!(
        (last["status"].as_str(), last["total_amount"].as_i64()),
        (Some("failed"), Some(owed))
    );
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(
        (sub["status"].as_str(), sub["payment_method_id"].as_str()),
        (Some("on_hold"), Some("pm_declined"))
    );

    for (subscription, body, status, code) in [
        (
            "sub_broke",
            json!({ "type": "existing", "payment_method_id": "pm_3ds" }),
            422,
            "INVALID_REQUEST_PARAMETERS",
        ),
        (
            "sub_broke",
            json!({ "type": "card" }),
            422,
            "INVALID_REQUEST_BODY",
        ),
        ("sub_nobody", json!({ "type": "new" }), 404, "NOT_FOUND"),
    ] {
        let (got, answer) = update_payment_method(&sandbox, subscription, body.clone()).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
    }
    assert_eq!(sandbox.charges_of("sub_broke").await.len(), charges.len());
    assert_eq!(
        sandbox.subscription("sub_broke").await["payment_method_id"],
        "pm_declined"
    );
}

#[tokio::test]
async fn what_is_owed_is_paid_once_when_a_saved_card_needs_3ds_first() {
    let sandbox = Sandbox::billing().await;
    let owed = put_on_hold(&sandbox).await;
    let (status, answer) = update_payment_method(
        &sandbox,
        "sub_broke",
        json!({ "type": "existing", "payment_method_id": "pm_broke_3ds" }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let link = answer["payment_link"]
        .as_str()
        .expect("the bank's page")
        .to_string();
    assert!(answer["expires_on"].is_string(), "{answer}");
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(
        (sub["status"].as_str(), sub["owed"].as_i64()),
        (Some("on_hold"), Some(owed))
    );

    // The customer confirms with the bank: what was owed is paid, and only then.
    let confirmed = reqwest::Client::new()
        .post(format!("{link}/complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let sub = sandbox.subscription("sub_broke").await;
    assert_eq!(sub["status"], "active");
    assert!(sub["owed"].is_null());
    let paid: Vec<i64> = sandbox
        .charges_of("sub_broke")
        .await
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .map(|c| c["total_amount"].as_i64().unwrap())
        .collect();
    assert_eq!(paid, [owed]);

    // Active, nothing is owed: the same card again charges nothing.
    let (status, answer) = update_payment_method(
        &sandbox,
        "sub_broke",
        json!({ "type": "existing", "payment_method_id": "pm_broke_3ds" }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["payment_id"].is_null(), "{answer}");
}
