//! Every sandbox response the upsell flow uses deserializes into the official `dodopayments`
//! crate's models (which have no defaults: a missing required field fails), and requests Dodo
//! refuses are refused with Dodo's status and code.

use dodo_sandbox::{SandboxConfig, Seed};
use dodopayments::models::{
    AttachExistingCustomer, CheckoutSessionBillingAddress, CheckoutSessionsCreateParams,
    CustomerRequest, IntentStatus, ProductItemReq, RefundsCreateParams,
    RefundsCreateParamsItemsItem,
};
use dodopayments::{Client, ClientConfig, Error};
use serde_json::Value;

const KEY: &str = "sk_test_conformance";

async fn sandbox() -> String {
    sandbox_with(dodo_sandbox::DEMO_SEED).await
}

async fn sandbox_with(seed: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = SandboxConfig {
        seed: Seed::parse(seed).unwrap(),
        api_key: KEY.into(),
        webhook_url: None,
        webhook_secret: "whsec_c2VjcmV0Cg==".into(),
        webhook_time_scale: 0.001,
        control_api: true,
    };
    tokio::spawn(dodo_sandbox::serve(
        listener,
        config,
        std::future::pending(),
    ));
    url
}

fn client(url: &str, key: &str) -> Client {
    Client::new(ClientConfig::new(url).with_api_key(key).with_max_retries(0)).unwrap()
}

fn billing() -> CheckoutSessionBillingAddress {
    serde_json::from_value(serde_json::json!({
        "country": "US", "state": "NY", "city": "New York", "street": "1 Main St", "zipcode": "10001"
    }))
    .unwrap()
}

fn one_click(
    customer: &str,
    method: &str,
    billing: Option<CheckoutSessionBillingAddress>,
    confirm: bool,
) -> CheckoutSessionsCreateParams {
    CheckoutSessionsCreateParams {
        product_cart: Some(vec![ProductItemReq {
            product_id: "prod_pro_upgrade".into(),
            quantity: 1,
            addons: None,
            amount: None,
            credit_entitlements: None,
        }]),
        customer: Some(Box::new(CustomerRequest::AttachExistingCustomer(Box::new(
            AttachExistingCustomer {
                customer_id: customer.into(),
            },
        )))),
        payment_method_id: Some(method.into()),
        confirm: Some(confirm),
        billing_address: billing.map(Box::new),
        ..Default::default()
    }
}

/// Ada's one-click purchase of the Pro upgrade with her saved Visa.
async fn charge_ada(dodo: &Client) -> dodopayments::models::CheckoutSessionResponse {
    dodo.checkout_sessions()
        .create()
        .body(one_click(
            "cus_demo_ada",
            "pm_demo_visa_4242",
            Some(billing()),
            true,
        ))
        .send()
        .await
        .unwrap()
}

fn api_error(error: Error) -> (u16, String) {
    match error {
        Error::Api { status, message } => {
            let body: Value = serde_json::from_str(&message).unwrap();
            (status, body["code"].as_str().unwrap().to_string())
        }
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn reads_deserialize_into_the_sdk_models() {
    let url = sandbox().await;
    let dodo = client(&url, KEY);
    let payment = dodo
        .payments()
        .retrieve()
        .payment_id("pay_demo_basic_ada")
        .send()
        .await
        .unwrap();
    assert_eq!(payment.total_amount, 3000);
    assert_eq!(payment.customer.customer_id, "cus_demo_ada");
    assert!(matches!(
        payment.status.as_deref(),
        Some(IntentStatus::Succeeded)
    ));

    let product = dodo
        .products()
        .retrieve()
        .id("prod_pro_upgrade")
        .send()
        .await
        .unwrap();
    assert_eq!(product.name.as_deref(), Some("Pro plan upgrade"));
    assert!(!product.is_recurring);

    let methods = dodo
        .customers()
        .retrieve_payment_methods()
        .customer_id("cus_demo_ada")
        .send()
        .await
        .unwrap();
    assert_eq!(
        methods.items.len(),
        3,
        "Visa, Mastercard and an expired Amex"
    );
    let item = methods
        .items
        .iter()
        .find(|m| m["payment_method_id"] == "pm_demo_visa_4242")
        .unwrap();
    assert_eq!(item["payment_method_id"], "pm_demo_visa_4242");
    assert_eq!(item["payment_method"], "card");
    assert_eq!(item["card"]["last4_digits"], "4242");
    assert_eq!(item["card"]["card_network"], "Visa");
}

#[tokio::test]
async fn a_one_click_checkout_charges_and_its_session_and_payment_deserialize() {
    let url = sandbox().await;
    let dodo = client(&url, KEY);
    let session = charge_ada(&dodo).await;
    assert!(session.session_id.starts_with("cks_"));
    assert!(
        session.checkout_url.is_none(),
        "None when payment_method_id is given"
    );
    let payment_id = session
        .payment_id
        .clone()
        .expect("a payment for confirm=true");

    let status = dodo
        .checkout_sessions()
        .retrieve()
        .id(&session.session_id)
        .send()
        .await
        .unwrap();
    assert_eq!(status.payment_id.as_deref(), Some(payment_id.as_str()));
    assert!(matches!(
        status.payment_status.as_deref(),
        Some(IntentStatus::Succeeded)
    ));

    let payment = dodo
        .payments()
        .retrieve()
        .payment_id(&payment_id)
        .send()
        .await
        .unwrap();
    assert_eq!(payment.total_amount, 5000);
    assert_eq!(
        payment.checkout_session_id.as_deref(),
        Some(session.session_id.as_str())
    );
    assert_eq!(payment.card_last_four.as_deref(), Some("4242"));
}

#[tokio::test]
async fn requests_dodo_refuses_are_refused_with_its_status_and_code() {
    let url = sandbox().await;

    let anonymous = client(&url, "sk_test_wrong");
    let error = anonymous
        .payments()
        .retrieve()
        .payment_id("pay_demo_basic_ada")
        .send()
        .await
        .unwrap_err();
    assert_eq!(api_error(error), (401, "UNAUTHORIZED".into()));

    let dodo = client(&url, KEY);
    let refused = |params| {
        let dodo = dodo.clone();
        async move {
            api_error(
                dodo.checkout_sessions()
                    .create()
                    .body(params)
                    .send()
                    .await
                    .unwrap_err(),
            )
        }
    };
    // payment_method_id only with confirm: true.
    assert_eq!(
        refused(one_click(
            "cus_demo_ada",
            "pm_demo_visa_4242",
            Some(billing()),
            false
        ))
        .await,
        (422, "INVALID_REQUEST_PARAMETERS".into())
    );
    // The method must belong to the customer.
    assert_eq!(
        refused(one_click(
            "cus_demo_ada",
            "pm_demo_mastercard_0341",
            Some(billing()),
            true
        ))
        .await,
        (422, "INVALID_REQUEST_PARAMETERS".into())
    );
    // Confirming needs the billing address.
    assert_eq!(
        refused(one_click("cus_demo_ada", "pm_demo_visa_4242", None, true)).await,
        (422, "INVALID_REQUEST_PARAMETERS".into())
    );
    let partial: CheckoutSessionBillingAddress =
        serde_json::from_value(serde_json::json!({ "country": "US" })).unwrap();
    assert_eq!(
        refused(one_click(
            "cus_demo_ada",
            "pm_demo_visa_4242",
            Some(partial),
            true
        ))
        .await,
        (422, "INVALID_REQUEST_PARAMETERS".into())
    );
    // Unknown customer and payment.
    assert_eq!(
        refused(one_click(
            "cus_nobody",
            "pm_demo_visa_4242",
            Some(billing()),
            true
        ))
        .await,
        (404, "NOT_FOUND".into())
    );
    let error = dodo
        .payments()
        .retrieve()
        .payment_id("pay_nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(api_error(error), (404, "NOT_FOUND".into()));

    // Nothing refused was charged.
    let ledger: Value = reqwest::get(format!("{url}/_sandbox/ledger"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ledger["charges"].as_array().unwrap().is_empty());
}

/// The keys a nested object must have, per the TypeScript SDK (the Rust crate leaves these as
/// untyped JSON).
fn assert_keys(object: &Value, keys: &[&str], what: &str) {
    for key in keys {
        assert!(object.get(key).is_some(), "{what} lacks `{key}`: {object}");
    }
}

#[tokio::test]
async fn untyped_nested_shapes_match_the_typescript_sdk() {
    let url = sandbox_with(include_str!("../seed/billing.toml")).await;
    let dodo = client(&url, KEY);

    let product = dodo
        .products()
        .retrieve()
        .id("prod_pro")
        .send()
        .await
        .unwrap();
    let dodopayments::models::Price::Variant0(price) = product.price.as_ref() else {
        panic!("the SDK parses every price as its first variant");
    };
    assert_eq!(price["type"], "recurring_price");
    assert_keys(
        price,
        &[
            "currency",
            "discount",
            "price",
            "purchasing_power_parity",
            "payment_frequency_count",
            "payment_frequency_interval",
            "subscription_period_count",
            "subscription_period_interval",
        ],
        "recurring_price",
    );
    assert_eq!(
        price["payment_frequency_interval"], "Day",
        "TimeInterval is capitalised"
    );

    let methods = dodo
        .customers()
        .retrieve_payment_methods()
        .customer_id("cus_ok")
        .send()
        .await
        .unwrap();
    for item in &methods.items {
        assert_keys(
            item,
            &["payment_method", "payment_method_id"],
            "payment method item",
        );
        assert_keys(
            &item["card"],
            &[
                "card_network",
                "last4_digits",
                "expiry_month",
                "expiry_year",
                "card_issuing_country",
            ],
            "card",
        );
    }

    let params = dodopayments::models::SubscriptionsChangePlanParams {
        product_id: Some("prod_pro".into()),
        proration_billing_mode: Some("prorated_immediately".into()),
        quantity: Some(1),
        addons: Some(vec![serde_json::from_value(
            serde_json::json!({ "addon_id": "addon_seat", "quantity": 2 }),
        )
        .unwrap()]),
        ..Default::default()
    };
    let preview = dodo
        .subscriptions()
        .preview_change_plan()
        .subscription_id("sub_basic")
        .body(params)
        .send()
        .await
        .unwrap();
    let charge = &preview.immediate_charge;
    assert_keys(
        charge,
        &["effective_at", "line_items", "summary"],
        "immediate_charge",
    );
    assert_keys(
        &charge["summary"],
        &[
            "currency",
            "customer_credits",
            "settlement_amount",
            "settlement_currency",
            "total_amount",
        ],
        "summary",
    );
    let lines = charge["line_items"].as_array().unwrap();
    assert!(!lines.is_empty());
    for line in lines {
        match line["type"].as_str() {
            Some("subscription") => assert_keys(
                line,
                &[
                    "id",
                    "currency",
                    "product_id",
                    "proration_factor",
                    "quantity",
                    "tax_inclusive",
                    "unit_price",
                ],
                "subscription line",
            ),
            Some("addon") => assert_keys(
                line,
                &[
                    "id",
                    "currency",
                    "name",
                    "proration_factor",
                    "quantity",
                    "tax_category",
                    "tax_inclusive",
                    "tax_rate",
                    "unit_price",
                ],
                "addon line",
            ),
            other => panic!("unexpected line type {other:?}"),
        }
    }
    assert_eq!(preview.new_plan.addons.len(), 1);
}

#[tokio::test]
async fn the_payment_list_filters_by_customer_and_time_and_deserializes() {
    let url = sandbox().await;
    let dodo = client(&url, KEY);
    let session = charge_ada(&dodo).await;
    let page = dodo
        .payments()
        .list()
        .query(serde_json::json!({ "customer_id": "cus_demo_ada", "page_size": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.items.len(),
        2,
        "the seeded purchase and the new charge"
    );
    assert_eq!(
        page.items[0].payment_id,
        session.payment_id.unwrap(),
        "newest first"
    );
    let later = dodo
        .payments()
        .list()
        .query(serde_json::json!({ "customer_id": "cus_demo_grace", "created_at_gte": "2099-01-01T00:00:00Z" }))
        .send()
        .await
        .unwrap();
    assert!(later.items.is_empty());
}

#[tokio::test]
async fn a_refund_deserializes_and_never_gives_back_more_than_was_paid() {
    let url = sandbox().await;
    let dodo = client(&url, KEY);
    let payment_id = charge_ada(&dodo).await.payment_id.unwrap();
    let refund = |amount: Option<i64>| {
        dodo.refunds().create().body(RefundsCreateParams {
            payment_id: Some(payment_id.clone()),
            items: amount.map(|amount| {
                vec![RefundsCreateParamsItemsItem {
                    item_id: Some("prod_pro_upgrade".into()),
                    amount: Some(amount),
                    tax_inclusive: None,
                }]
            }),
            reason: Some("goodwill".into()),
            ..Default::default()
        })
    };
    let part = refund(Some(1200)).send().await.unwrap();
    assert!(part.refund_id.starts_with("ref_"));
    assert_eq!((part.amount, part.is_partial), (Some(1200), true));
    assert_eq!(part.customer.customer_id, "cus_demo_ada");
    // Without items: the rest.
    let rest = refund(None).send().await.unwrap();
    assert_eq!(rest.amount, Some(3800));
    let (status, code) = api_error(refund(Some(1)).send().await.unwrap_err());
    assert_eq!(
        (status, code.as_str()),
        (422, "REFUND_AMOUNT_EXCEEDS_PAYMENT")
    );

    let payment = dodo
        .payments()
        .retrieve()
        .payment_id(&payment_id)
        .send()
        .await
        .unwrap();
    let refunded: Vec<_> = payment.refunds.iter().map(|r| r.amount).collect();
    assert_eq!(refunded, [Some(1200), Some(3800)]);
}
