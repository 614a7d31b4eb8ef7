//! Plan changes through the proxy over real HTTP against the sandbox's billing world (30-day
//! plans Basic $30, Pro $80, Starter $20; a clock that starts on 2026-01-01 and moves only when
//! told): each proration mode, up and down, mid-cycle, with add-ons, in yen; the preview equals
//! the charge to the minor unit each time; exactly once; failures with `prevent_change` and
//! `apply_change`.

use serde_json::{json, Value};
use upsell_e2e::{account_token, Stack, StackOptions};
use upsell_wire::{PlanChangeStatus, PlanChangesResponse};

const PLANS: &str = r#"
[[plans]]
product = "prod_starter"
features = ["3 projects"]
[[plans]]
product = "prod_basic"
features = ["10 projects", "Email support"]
[[plans]]
product = "prod_pro"
features = ["Unlimited projects", "Email support", "Team sharing"]
[[plans]]
product = "prod_yen_lite"
[[plans]]
product = "prod_yen_plus"
"#;

/// A stack on the billing seed whose only plan change is `rule` (TOML lines of one
/// `[[plan_changes]]` entry).
async fn billing_stack(rule: &str) -> Stack {
    Stack::start(StackOptions {
        seed: dodo_sandbox::BILLING_SEED,
        offers_toml: format!("{PLANS}\n[[plan_changes]]\nid = \"change\"\n{rule}\n"),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts")
}

async fn advance_days(stack: &Stack, days: i64) {
    let response = stack
        .http
        .post(format!("{}/_sandbox/clock/advance", stack.sandbox_url))
        .json(&json!({ "days": days }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// The change's token, as the account page's widget gets it.
async fn change_token(stack: &Stack, subscription: &str, customer: &str) -> String {
    let response = stack
        .list_plan_changes(subscription, customer)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let listed: PlanChangesResponse = response.json().await.unwrap();
    assert_eq!(listed.plan_changes.len(), 1, "{listed:?}");
    listed.plan_changes[0].token.clone()
}

async fn preview(stack: &Stack, token: &str) -> Value {
    let (status, body) = stack
        .post("/v1/plan-changes/preview", json!({ "token": token }))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn confirm(stack: &Stack, token: &str, key: &str, amount: i64) -> (u16, Value) {
    stack
        .post(
            "/v1/plan-changes/confirm",
            json!({ "token": token, "idempotency_key": key, "confirmed_amount": amount }),
        )
        .await
        .unwrap()
}

/// Polls a change until it is no longer processing.
async fn settled(stack: &Stack, change_ref: &str) -> Value {
    poll_change(stack, change_ref, |status| status != "processing").await
}

/// Polls a change until its status is `status`.
async fn until_status(stack: &Stack, change_ref: &str, status: &str) -> Value {
    poll_change(stack, change_ref, |s| s == status).await
}

/// `GET /v1/plan-changes/{change_ref}` until `done` says so of its status (10 s at most).
async fn poll_change(stack: &Stack, change_ref: &str, done: impl Fn(&str) -> bool) -> Value {
    for _ in 0..200 {
        let body: Value = stack
            .http
            .get(format!("{}/v1/plan-changes/{change_ref}", stack.proxy_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if done(body["status"].as_str().unwrap_or_default()) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("plan change {change_ref} never got there");
}

/// The sandbox's plan change charges of a subscription.
async fn plan_change_charges(stack: &Stack, subscription: &str) -> Vec<Value> {
    stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subscription_id"] == subscription && c["charge_type"] == "plan_change")
        .cloned()
        .collect()
}

async fn subscription_product(stack: &Stack, subscription: &str) -> String {
    stack.ledger().await.unwrap()["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subscription_id"] == subscription)
        .and_then(|s| s["product_id"].as_str())
        .unwrap()
        .to_string()
}

/// Previews, confirms and follows a change; checks that what was charged is what was shown.
async fn change_and_check(stack: &Stack, subscription: &str, customer: &str) -> (Value, Value) {
    let token = change_token(stack, subscription, customer).await;
    let shown = preview(stack, &token).await;
    let due = shown["amount_due_now"]["amount"].as_i64().unwrap();
    let (status, body) = confirm(stack, &token, "key-plan-change-0001", due).await;
    assert_eq!(status, 200, "{body}");
    let done = settled(stack, body["change_ref"].as_str().unwrap()).await;
    let charged: i64 = plan_change_charges(stack, subscription)
        .await
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .map(|c| c["total_amount"].as_i64().unwrap())
        .sum();
    if done["status"] == "succeeded" {
        assert_eq!(
            charged, due,
            "the preview is what was charged, to the minor unit"
        );
    }
    (shown, done)
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrades_charge_exactly_the_preview_in_every_proration_mode() {
    // Basic $30 → Pro $80 on day 16 of 30 (contract §7).
    for (mode, due, credit_used) in [
        ("prorated_immediately", 2500, 1500),
        ("difference_immediately", 5000, 3000),
        ("full_immediately", 8000, 0),
    ] {
        let stack = billing_stack(&format!(
            "from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"\nproration = \"{mode}\""
        ))
        .await;
        advance_days(&stack, 15).await;
        let (shown, done) = change_and_check(&stack, "sub_basic", "cus_ok").await;
        assert_eq!(shown["amount_due_now"]["amount"], due, "{mode}: {shown}");
        assert_eq!(shown["credit_used"]["amount"], credit_used, "{mode}");
        assert_eq!(shown["next_renewal_amount"]["amount"], 8000, "{mode}");
        assert_eq!(done["status"], "succeeded", "{mode}: {done}");
        assert_eq!(done["amount"]["amount"], due);
        assert_eq!(subscription_product(&stack, "sub_basic").await, "prod_pro");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn downgrades_charge_nothing_and_credit_the_subscription() {
    // Pro $80 → Starter $20 on day 16 of 30.
    for (mode, credit) in [
        ("prorated_immediately", 3000),
        ("difference_immediately", 6000),
    ] {
        let stack = billing_stack(&format!(
            "from = \"prod_pro\"\nto = \"prod_starter\"\ndirection = \"downgrade\"\nproration = \"{mode}\""
        ))
        .await;
        advance_days(&stack, 15).await;
        let (shown, done) = change_and_check(&stack, "sub_pro", "cus_pro").await;
        assert_eq!(shown["amount_due_now"]["amount"], 0, "{mode}: {shown}");
        assert_eq!(shown["credit_added"]["amount"], credit, "{mode}: {shown}");
        assert_eq!(shown["credit_used"]["amount"], 0, "{mode}: {shown}");
        assert_eq!(done["status"], "succeeded", "{mode}: {done}");
        assert!(plan_change_charges(&stack, "sub_pro").await.is_empty());
        assert_eq!(
            subscription_product(&stack, "sub_pro").await,
            "prod_starter"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn add_ons_and_yen_are_charged_as_previewed() {
    // Basic → Pro with three $10 seats, prorated, day 16: credit $15, new cost 40 + 15: $40.
    let stack = billing_stack(
        "from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"\n\
         proration = \"prorated_immediately\"\naddons = [{ addon_id = \"addon_seat\", quantity = 3 }]",
    )
    .await;
    advance_days(&stack, 15).await;
    let (shown, done) = change_and_check(&stack, "sub_basic", "cus_ok").await;
    assert_eq!(shown["amount_due_now"]["amount"], 4000, "{shown}");
    assert_eq!(shown["next_renewal_amount"]["amount"], 11000, "{shown}");
    assert_eq!(done["status"], "succeeded");

    // ¥980 → ¥1,980 with 10 of 31 days left, prorated: ¥323 (zero-decimal currency).
    let stack = billing_stack(
        "from = \"prod_yen_lite\"\nto = \"prod_yen_plus\"\ndirection = \"upgrade\"\n\
         proration = \"prorated_immediately\"",
    )
    .await;
    advance_days(&stack, 21).await;
    let (shown, done) = change_and_check(&stack, "sub_yen", "cus_yen").await;
    assert_eq!(
        shown["amount_due_now"],
        json!({ "amount": 323, "currency": "JPY" })
    );
    assert_eq!(done["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_downgrade_scheduled_for_the_next_billing_date_is_shown_as_scheduled() {
    let stack = billing_stack(
        "from = \"prod_pro\"\nto = \"prod_starter\"\ndirection = \"downgrade\"\n\
         effective_at = \"next_billing_date\"",
    )
    .await;
    advance_days(&stack, 15).await;
    let (shown, done) = change_and_check(&stack, "sub_pro", "cus_pro").await;
    assert_eq!(shown["effective_at"], "next_billing_date");
    assert_eq!(shown["amount_due_now"]["amount"], 0);
    assert_eq!(done["status"], "scheduled", "{done}");
    assert!(done["effective_date"]
        .as_str()
        .unwrap()
        .starts_with("2026-01-31"));
    assert_eq!(subscription_product(&stack, "sub_pro").await, "prod_pro");
    // With a change scheduled, no other change is offered until it has happened.
    let listed: PlanChangesResponse = stack
        .list_plan_changes("sub_pro", "cus_pro")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.plan_changes.is_empty(), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_is_made_once_however_often_it_is_confirmed() {
    let stack =
        billing_stack("from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"").await;
    let token = change_token(&stack, "sub_basic", "cus_ok").await;
    let due = preview(&stack, &token).await["amount_due_now"]["amount"]
        .as_i64()
        .unwrap();

    // The customer confirmed an amount that is no longer right: nothing happens.
    let (status, body) = confirm(&stack, &token, "key-wrong-amount-01", due - 1).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("preview_changed"))
    );
    assert!(plan_change_charges(&stack, "sub_basic").await.is_empty());

    let mut requests = Vec::new();
    for i in 0..8 {
        let http = stack.http.clone();
        let url = format!("{}/v1/plan-changes/confirm", stack.proxy_url);
        let body = json!({ "token": token, "idempotency_key": format!("key-double-{i:04}"), "confirmed_amount": due });
        requests.push(tokio::spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut refs = Vec::new();
    for request in requests {
        let (status, body) = request.await.unwrap();
        if status == 200 {
            refs.push(body["change_ref"].as_str().unwrap().to_string());
        } else {
            assert_eq!(
                (status, body["code"].as_str()),
                (409, Some("change_in_progress")),
                "{body}"
            );
        }
    }
    refs.dedup();
    assert!(!refs.is_empty());
    assert!(refs.iter().all(|r| *r == refs[0]), "one change: {refs:?}");
    settled(&stack, &refs[0]).await;
    assert_eq!(plan_change_charges(&stack, "sub_basic").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_payment_keeps_the_plan_or_puts_it_on_hold_as_the_rule_says() {
    let stack =
        billing_stack("from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"").await;
    let (_, done) = change_and_check(&stack, "sub_broke", "cus_broke").await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["failure_code"], "insufficient_funds");
    assert_eq!(
        subscription_product(&stack, "sub_broke").await,
        "prod_basic"
    );

    let stack = billing_stack(
        "from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"\n\
         on_payment_failure = \"apply_change\"",
    )
    .await;
    let (_, done) = change_and_check(&stack, "sub_broke", "cus_broke").await;
    assert_eq!(
        serde_json::from_value::<PlanChangeStatus>(done["status"].clone()).unwrap(),
        PlanChangeStatus::OnHold,
        "{done}"
    );
    assert_eq!(subscription_product(&stack, "sub_broke").await, "prod_pro");
}

/// Submits one of the buttons of Dodo's page for a new card (`save` or `save-declined`), as
/// the customer does; returns the page it answers with.
async fn new_card(stack: &Stack, page: &str, button: &str) -> String {
    let html = stack
        .http
        .get(page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("{button}\"")), "{html}");
    let response = stack
        .http
        .post(format!("{page}/{button}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_on_hold_completes_once_a_new_card_pays_on_dodos_page() {
    let stack = billing_stack(
        "from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"\n\
         on_payment_failure = \"apply_change\"",
    )
    .await;
    advance_days(&stack, 15).await;
    let (shown, held) = change_and_check(&stack, "sub_broke", "cus_broke").await;
    let due = shown["amount_due_now"]["amount"].as_i64().unwrap();
    assert_eq!(held["status"], "on_hold", "{held}");
    let change_ref = held["change_ref"].as_str().unwrap();
    let page = held["action_url"]
        .as_str()
        .expect("Dodo's page for a new card");
    assert!(page.contains("/hosted/payment-method/upm_"), "{page}");

    // A card that is declined too: still on hold, the same page still open.
    let answer = new_card(&stack, page, "save-declined").await;
    assert!(answer.contains("still on hold"), "{answer}");
    let still = settled(&stack, change_ref).await;
    assert_eq!(
        (still["status"].as_str(), still["action_url"].as_str()),
        (Some("on_hold"), Some(page))
    );

    // A card that pays: what the subscription owed is charged, once, and the change completes.
    let answer = new_card(&stack, page, "save").await;
    assert!(answer.contains("Payment method updated"), "{answer}");
    let done = until_status(&stack, change_ref, "succeeded").await;
    assert_eq!(done["amount"]["amount"], due);
    assert!(
        done["failure_code"].is_null() && done["action_url"].is_null(),
        "{done}"
    );
    let statuses: Vec<(String, i64)> = plan_change_charges(&stack, "sub_broke")
        .await
        .iter()
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["total_amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("failed".to_string(), due),
            ("failed".to_string(), due),
            ("succeeded".to_string(), due)
        ]
    );
    assert_eq!(subscription_product(&stack, "sub_broke").await, "prod_pro");
    let report = stack.report().await.unwrap();
    let rule = &report["plan_changes"][0];
    assert_eq!(
        (rule["succeeded"].as_i64(), rule["on_hold"].as_i64()),
        (Some(1), Some(0)),
        "{rule}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_card_that_did_not_pay_a_new_one_lets_the_change_go_through() {
    let stack =
        billing_stack("from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"").await;
    advance_days(&stack, 15).await;
    let (_, failed) = change_and_check(&stack, "sub_broke", "cus_broke").await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let page = failed["action_url"]
        .as_str()
        .expect("Dodo's page for a new card");
    let answer = new_card(&stack, page, "save").await;
    assert!(answer.contains("Payment method updated"), "{answer}");
    // prevent_change: nothing was owed and the plan stayed; the change is offered again, and
    // the new card pays it.
    assert_eq!(
        subscription_product(&stack, "sub_broke").await,
        "prod_basic"
    );
    assert_eq!(
        settled(&stack, failed["change_ref"].as_str().unwrap()).await["status"],
        "failed"
    );
    let token = change_token(&stack, "sub_broke", "cus_broke").await;
    let due = preview(&stack, &token).await["amount_due_now"]["amount"]
        .as_i64()
        .unwrap();
    let (status, body) = confirm(&stack, &token, "key-plan-change-0002", due).await;
    assert_eq!(status, 200, "{body}");
    let done = settled(&stack, body["change_ref"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(subscription_product(&stack, "sub_broke").await, "prod_pro");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_another_kind_or_customer_change_nothing() {
    let stack =
        billing_stack("from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"").await;
    // Someone else's subscription with a valid signature for the wrong customer.
    let response = stack
        .list_plan_changes("sub_basic", "cus_broke")
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // An account token is not a plan change token.
    let (status, body) = confirm(
        &stack,
        &account_token("sub_basic", "cus_ok").unwrap(),
        "key-wrong-kind-01",
        0,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, body) = stack
        .post("/v1/plan-changes/preview", json!({ "token": 42 }))
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body["code"].is_string());
    assert!(plan_change_charges(&stack, "sub_basic").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_whose_answer_was_lost_is_found_and_never_sent_twice() {
    let stack =
        billing_stack("from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"").await;
    let token = change_token(&stack, "sub_basic", "cus_ok").await;
    let due = preview(&stack, &token).await["amount_due_now"]["amount"]
        .as_i64()
        .unwrap();
    // Dodo changes the plan and charges, then the answer never arrives.
    stack
        .set_faults(
            json!([{ "route": "POST /subscriptions/{subscription_id}/change-plan",
                             "hang": true, "after_handling": true, "times": 1 }]),
        )
        .await
        .unwrap();
    let (status, body) = confirm(&stack, &token, "key-lost-answer-0001", due).await;
    assert_eq!(status, 200, "{body}");
    // The retried confirm (same key) and the status both answer from what Dodo shows.
    let (status, again) = confirm(&stack, &token, "key-lost-answer-0001", due).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["change_ref"], body["change_ref"]);
    let done = settled(&stack, body["change_ref"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(plan_change_charges(&stack, "sub_basic").await.len(), 1);
    assert_eq!(subscription_product(&stack, "sub_basic").await, "prod_pro");
}

/// A plan the customer is already on, in another subscription (as Dodo lists them), is not
/// offered as a change; the same change is offered to a customer who is not on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_the_customer_is_already_on_is_not_offered() {
    let stack = billing_stack(
        "from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"\nproration = \"prorated_immediately\"",
    )
    .await;
    let listed = |subscription: &'static str, customer: &'static str| {
        let stack = &stack;
        async move {
            let response = stack
                .list_plan_changes(subscription, customer)
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response
                .json::<PlanChangesResponse>()
                .await
                .unwrap()
                .plan_changes
                .len()
        }
    };
    assert_eq!(listed("sub_basic", "cus_ok").await, 1);
    assert_eq!(listed("sub_two_basic", "cus_two_plans").await, 0);
}

/// Plan changes in the report like offers: per rule, subscriptions shown it (once each however
/// often listed), changes confirmed, what became of them, and the money net of refunds.
#[tokio::test(flavor = "multi_thread")]
async fn plan_changes_are_counted_in_the_report_like_offers() {
    let stack = billing_stack(
        "from = \"prod_basic\"\nto = \"prod_pro\"\ndirection = \"upgrade\"\nproration = \"prorated_immediately\"",
    )
    .await;
    advance_days(&stack, 15).await;
    // Listed twice to the same subscriber: shown once. The upgrade succeeds ($25).
    let _ = change_token(&stack, "sub_basic", "cus_ok").await;
    let (_, done) = change_and_check(&stack, "sub_basic", "cus_ok").await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // The declined card's: failed.
    let token = change_token(&stack, "sub_broke", "cus_broke").await;
    let due = preview(&stack, &token).await["amount_due_now"]["amount"]
        .as_i64()
        .unwrap();
    let (status, body) = confirm(&stack, &token, "key-plan-change-0002", due).await;
    assert_eq!(status, 200, "{body}");
    let failed = settled(&stack, body["change_ref"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    // $5 of the upgrade refunded.
    let payment = plan_change_charges(&stack, "sub_basic")
        .await
        .iter()
        .find(|c| c["status"] == "succeeded")
        .and_then(|c| c["payment_id"].as_str().map(String::from))
        .unwrap();
    stack
        .http
        .post(format!("{}/refunds", stack.sandbox_url))
        .bearer_auth(upsell_e2e::API_KEY)
        .json(&json!({ "payment_id": payment, "items": [{ "item_id": "prod_pro", "amount": 500 }], "reason": "goodwill" }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let mut change = Value::Null;
    for _ in 0..100 {
        let report = stack.report().await.unwrap();
        change = report["plan_changes"][0].clone();
        if change["revenue"] == json!([{ "amount": 2000, "currency": "USD" }]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(change["change_id"], "change", "{change}");
    assert_eq!(
        (
            &change["shown"],
            &change["confirmed"],
            &change["succeeded"],
            &change["failed"],
            &change["on_hold"],
            &change["in_flight"]
        ),
        (
            &json!(2),
            &json!(2),
            &json!(1),
            &json!(1),
            &json!(0),
            &json!(0)
        ),
        "{change}"
    );
    assert_eq!(
        change["revenue"],
        json!([{ "amount": 2000, "currency": "USD" }]),
        "$25 less the $5 refunded: {change}"
    );
    assert_eq!(change["provisional_revenue"], change["revenue"]);
}

/// A stack whose plan changes wait at most `action_timeout` for 3-D Secure.
async fn upgrade_stack_waiting(action_timeout: std::time::Duration) -> Stack {
    Stack::start(StackOptions {
        seed: dodo_sandbox::BILLING_SEED,
        offers_toml: format!(
            "{PLANS}\n[[plan_changes]]\nid = \"change\"\nfrom = \"prod_basic\"\nto = \"prod_pro\"\n\
             direction = \"upgrade\"\n"
        ),
        plan_change_action_timeout: action_timeout,
        ..StackOptions::default()
    })
    .await
    .expect("stack starts")
}

/// Confirms the one change open to `sub_3ds`, whose card asks for 3-D Secure; returns its
/// reference, what it showed as due, and the page the customer is sent to.
async fn change_waiting_for_3ds(stack: &Stack, key: &str) -> (String, i64, String) {
    let token = change_token(stack, "sub_3ds", "cus_3ds").await;
    let due = preview(stack, &token).await["amount_due_now"]["amount"]
        .as_i64()
        .unwrap();
    let (status, body) = confirm(stack, &token, key, due).await;
    assert_eq!(status, 200, "{body}");
    let change_ref = body["change_ref"].as_str().unwrap().to_string();
    let waiting = settled(stack, &change_ref).await;
    assert_eq!(waiting["status"], "requires_action", "{waiting}");
    let page = waiting["action_url"].as_str().unwrap().to_string();
    (change_ref, due, page)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_3ds_page_that_expires_at_dodo_fails_the_change_and_frees_the_subscription() {
    let stack = upgrade_stack_waiting(std::time::Duration::from_secs(7200)).await;
    let (first, _, page) = change_waiting_for_3ds(&stack, "key-3ds-expires-01").await;
    // Dodo's page for the customer expires (the sandbox's, after an hour of its clock):
    // `payment.cancelled`, and the change with it.
    let response = stack
        .http
        .post(format!("{}/_sandbox/clock/advance", stack.sandbox_url))
        .json(&json!({ "seconds": 3601 }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let failed = until_status(&stack, &first, "failed").await;
    assert_eq!(failed["action_url"], Value::Null, "{failed}");
    assert_eq!(subscription_product(&stack, "sub_3ds").await, "prod_basic");
    // The subscription is free: the change is offered again, and made.
    let (second, _, second_page) = change_waiting_for_3ds(&stack, "key-3ds-expires-02").await;
    assert_ne!(second, first);
    assert_ne!(second_page, page);
    assert!(plan_change_charges(&stack, "sub_3ds")
        .await
        .iter()
        .all(|c| c["status"] != "succeeded"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_waiting_past_the_action_timeout_is_settled_and_a_late_outcome_still_counts() {
    let stack = upgrade_stack_waiting(std::time::Duration::from_secs(2)).await;
    let (first, due, page) = change_waiting_for_3ds(&stack, "key-3ds-timeout-01").await;
    // Past the bound, with Dodo still waiting for the customer: failed, nothing charged.
    let failed = until_status(&stack, &first, "failed").await;
    assert_eq!(
        failed["failure_code"], "authentication_timed_out",
        "{failed}"
    );
    assert_eq!(subscription_product(&stack, "sub_3ds").await, "prod_basic");

    // A new change is offered; while Dodo still holds the old payment open it refuses the
    // new one, and the customer is told another change is under way: nothing recorded, nothing
    // charged.
    let token = change_token(&stack, "sub_3ds", "cus_3ds").await;
    let (status, body) = confirm(&stack, &token, "key-3ds-timeout-02", due).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("change_in_progress")),
        "{body}"
    );

    // The customer comes back to the first page and confirms: Dodo's outcome wins.
    let response = stack
        .http
        .post(format!("{page}/complete"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let done = until_status(&stack, &first, "succeeded").await;
    assert_eq!(done["failure_code"], Value::Null, "{done}");
    assert_eq!(subscription_product(&stack, "sub_3ds").await, "prod_pro");
    let charged: Vec<i64> = plan_change_charges(&stack, "sub_3ds")
        .await
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .map(|c| c["total_amount"].as_i64().unwrap())
        .collect();
    assert_eq!(charged, vec![due], "charged once, what was shown");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_features_come_in_the_customers_language() {
    let stack = Stack::start(StackOptions {
        seed: dodo_sandbox::BILLING_SEED,
        offers_toml: r#"
[[plans]]
product = "prod_basic"
features = ["10 projects", "Email support"]
[plans.locales.pt-BR]
features = ["10 projetos", "Suporte por e-mail"]
[[plans]]
product = "prod_pro"
features = ["Unlimited projects", "Email support", "Team sharing"]
[plans.locales.pt-BR]
features = ["Projetos ilimitados", "Suporte por e-mail", "Compartilhamento em equipe"]
[[plan_changes]]
id = "change"
from = "prod_basic"
to = "prod_pro"
direction = "upgrade"
"#
        .into(),
        ..StackOptions::default()
    })
    .await
    .expect("stack starts");
    let listed = |locale: &'static str| plan_changes_in(&stack, locale);
    let (status, brazil) = listed("pt-BR").await;
    assert_eq!(status, 200, "{brazil}");
    let change = &brazil["plan_changes"][0];
    assert_eq!(
        change["current"]["features"],
        json!(["10 projetos", "Suporte por e-mail"])
    );
    assert_eq!(
        change["target"]["features"][2],
        "Compartilhamento em equipe"
    );
    let (_, germany) = listed("de-DE").await;
    assert_eq!(
        germany["plan_changes"][0]["current"]["features"],
        json!(["10 projects", "Email support"])
    );
    // A tag that is no language tag reads as none: the default rows, not an error.
    let (status, body) = listed("pt BR").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["plan_changes"][0]["current"]["features"],
        json!(["10 projects", "Email support"])
    );
}

/// `GET /v1/plan-changes?locale=…` for `sub_basic`.
async fn plan_changes_in(stack: &Stack, locale: &str) -> (u16, Value) {
    let response = stack
        .http
        .get(format!("{}/v1/plan-changes", stack.proxy_url))
        .query(&[("locale", locale)])
        .bearer_auth(account_token("sub_basic", "cus_ok").unwrap())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `POST /v1/plan-changes/withdraw`.
async fn withdraw(stack: &Stack, token: &str, key: &str) -> (u16, Value) {
    stack
        .post(
            "/v1/plan-changes/withdraw",
            json!({ "token": token, "idempotency_key": key }),
        )
        .await
        .unwrap()
}

/// How many times the sandbox was asked to withdraw a scheduled change: a fault rule that only
/// counts (no latency, no error), read back with its uses left.
async fn count_withdrawals_from(
    stack: &Stack,
    uses: u32,
) -> impl std::future::Future<Output = u32> + '_ {
    stack
        .set_faults(
            json!([{ "route": "DELETE /subscriptions/{subscription_id}/change-plan/scheduled",
                             "times": uses }]),
        )
        .await
        .unwrap();
    async move {
        let rules: Value = stack
            .http
            .get(format!("{}/_sandbox/faults", stack.sandbox_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        uses - rules[0]["times"].as_u64().unwrap() as u32
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_downgrade_is_undone_once_from_the_account_page() {
    let stack = billing_stack(
        "from = \"prod_pro\"\nto = \"prod_starter\"\ndirection = \"downgrade\"\n\
         effective_at = \"next_billing_date\"",
    )
    .await;
    advance_days(&stack, 15).await;
    let (_, done) = change_and_check(&stack, "sub_pro", "cus_pro").await;
    assert_eq!(done["status"], "scheduled", "{done}");

    // The account page shows the scheduled change with a token to undo it, and no other change.
    let listed: Value = stack
        .list_plan_changes("sub_pro", "cus_pro")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["plan_changes"], json!([]), "{listed}");
    let scheduled = &listed["scheduled"];
    assert_eq!(scheduled["change_id"], "change");
    assert_eq!(scheduled["target"]["features"], json!(["3 projects"]));
    assert!(scheduled["scheduled_for"]
        .as_str()
        .unwrap()
        .starts_with("2026-01-31"));
    let token = scheduled["token"].as_str().unwrap().to_string();

    // Tokens of another kind undo nothing; a malformed key neither.
    let (status, body) = withdraw(
        &stack,
        &account_token("sub_pro", "cus_pro").unwrap(),
        "key-withdraw-0000",
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let (status, body) = withdraw(&stack, &token, "bad key").await;
    assert_eq!(status, 400, "{body}");
    assert!(stack
        .list_plan_changes("sub_pro", "cus_pro")
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["scheduled"]
        .is_object());

    // Eight at once with one key, then a replay with another: one answer, Dodo asked once.
    let asked = count_withdrawals_from(&stack, 100).await;
    let mut requests = Vec::new();
    for _ in 0..8 {
        let http = stack.http.clone();
        let url = format!("{}/v1/plan-changes/withdraw", stack.proxy_url);
        let body = json!({ "token": token, "idempotency_key": "key-withdraw-0001" });
        requests.push(tokio::spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }));
    }
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("withdrawn")),
            "{body}"
        );
    }
    let (status, body) = withdraw(&stack, &token, "key-withdraw-0002").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("withdrawn")),
        "{body}"
    );
    assert_eq!(asked.await, 1, "Dodo was asked once");

    // The subscription keeps its plan: the downgrade is offered again, and the renewal is Pro's.
    let listed: Value = stack
        .list_plan_changes("sub_pro", "cus_pro")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["scheduled"], Value::Null, "{listed}");
    assert_eq!(listed["plan_changes"][0]["change_id"], "change");
    // The report no longer counts it as scheduled: it was undone.
    let report = stack.report().await.unwrap();
    let change = &report["plan_changes"][0];
    assert_eq!(
        (change["scheduled"].as_i64(), change["withdrawn"].as_i64()),
        (Some(0), Some(1)),
        "{change}"
    );
    advance_days(&stack, 16).await;
    assert_eq!(subscription_product(&stack, "sub_pro").await, "prod_pro");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_that_took_effect_is_not_undone_by_an_old_token() {
    let stack = billing_stack(
        "from = \"prod_pro\"\nto = \"prod_starter\"\ndirection = \"downgrade\"\n\
         effective_at = \"next_billing_date\"",
    )
    .await;
    advance_days(&stack, 15).await;
    change_and_check(&stack, "sub_pro", "cus_pro").await;
    let listed: Value = stack
        .list_plan_changes("sub_pro", "cus_pro")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = listed["scheduled"]["token"].as_str().unwrap().to_string();
    // The billing date passes: the change takes effect before the customer clicks.
    advance_days(&stack, 16).await;
    assert_eq!(
        subscription_product(&stack, "sub_pro").await,
        "prod_starter"
    );
    let asked = count_withdrawals_from(&stack, 100).await;
    let (status, body) = withdraw(&stack, &token, "key-withdraw-late-01").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("plan_already_changed")),
        "{body}"
    );
    assert_eq!(asked.await, 0, "nothing was asked of Dodo");
    assert_eq!(
        subscription_product(&stack, "sub_pro").await,
        "prod_starter"
    );
}
