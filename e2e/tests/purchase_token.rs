//! Strict mode (`UPSELL_REQUIRE_PURCHASE_TOKEN=true`), over real HTTP: the offers of a purchase
//! only with the merchant's purchase token for exactly that payment, unexpired and untampered;
//! then the one click works as ever, authorised by the offer token. Without strict mode, the
//! lookup is as it always was.

use serde_json::Value;
use upsell_e2e::{purchase_token, Stack, StackOptions, TOKEN_KEYS};
use upsell_proxy::offers::token::OfferClaims;
use upsell_proxy::plan_changes::token::{AccountClaims, ACCOUNT};
use upsell_proxy::tokens::TokenKeys;

const ADA: &str = "cus_demo_ada";
const BASIC: &str = "prod_basic_plan";

async fn strict_stack() -> Stack {
    Stack::start(StackOptions {
        require_purchase_token: true,
        ..StackOptions::default()
    })
    .await
    .expect("stack starts")
}

/// `GET /v1/offers?payment_id=…`, with `authorization` if given: the status and the answer.
async fn lookup(stack: &Stack, payment_id: &str, authorization: Option<&str>) -> (u16, Value) {
    let mut request = stack
        .http
        .get(format!("{}/v1/offers", stack.proxy_url))
        .query(&[("payment_id", payment_id)]);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{payment_id}"
    );
    (status, response.json().await.unwrap())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token's payload (the part between the dots) replaced by another token's: a tampered token.
fn with_payload_of(token: &str, other: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = other.split('.').nth(1).unwrap();
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_mode_offers_nothing_without_a_valid_purchase_token_for_that_payment() {
    let stack = strict_stack().await;
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    let other = stack.purchase(ADA, BASIC).await.unwrap();
    let keys = TokenKeys::parse(TOKEN_KEYS).unwrap();
    let valid = purchase_token(&payment, 0, 30).unwrap();
    let for_other = purchase_token(&other, 0, 30).unwrap();
    let expired = purchase_token(&payment, 31 * 60, 30).unwrap();
    let foreign_keys = TokenKeys::parse("k1=another-merchants-key-0123456789abcdef").unwrap();
    let foreign = foreign_keys
        .sign(&upsell_proxy::offers::purchase_token::PurchaseClaims::new(
            &payment,
            now(),
            30,
        ))
        .unwrap();
    let account = keys
        .sign(&AccountClaims {
            typ: ACCOUNT.into(),
            sub: payment.clone(),
            cus: ADA.into(),
            iat: now(),
            exp: now() + 600,
        })
        .unwrap();
    let offer = keys
        .sign(&OfferClaims {
            sub: payment.clone(),
            cus: ADA.into(),
            oid: "pro-upgrade".into(),
            iid: "pro-upgrade".into(),
            pid: "prod_pro_upgrade".into(),
            amt: 5000,
            cur: "USD".into(),
            qmin: 1,
            qmax: 1,
            pm: "pm_demo_visa_4242".into(),
            iat: now(),
            exp: now() + 600,
            jti: "j-strict".into(),
            var: String::new(),
            loc: String::new(),
        })
        .unwrap();

    let refused = [
        ("no token", None, "purchase_token_required"),
        (
            "a token without the Bearer scheme",
            Some(valid.clone()),
            "purchase_token_required",
        ),
        (
            "a token for another payment",
            Some(bearer(&for_other)),
            "invalid_purchase_token",
        ),
        (
            "an expired token",
            Some(bearer(&expired)),
            "purchase_token_expired",
        ),
        (
            "a token with another payment's claims under this one's signature",
            Some(bearer(&with_payload_of(&for_other, &valid))),
            "invalid_purchase_token",
        ),
        (
            "this payment's claims under another payment's signature",
            Some(bearer(&with_payload_of(&valid, &for_other))),
            "invalid_purchase_token",
        ),
        (
            "a token signed with another key",
            Some(bearer(&foreign)),
            "invalid_purchase_token",
        ),
        (
            "an account token naming the payment",
            Some(bearer(&account)),
            "invalid_purchase_token",
        ),
        (
            "an offer token of the payment",
            Some(bearer(&offer)),
            "invalid_purchase_token",
        ),
        (
            "not a token",
            Some(bearer("not-a-token")),
            "invalid_purchase_token",
        ),
    ];
    for (what, authorization, code) in refused {
        let (status, body) = lookup(&stack, &payment, authorization.as_deref()).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert!(body.get("offers").is_none(), "{what}: offers nothing");
    }
    // A refused lookup asked Dodo nothing, so it tells nothing about the payment either: a
    // payment that does not exist is refused the same way.
    let (status, body) = lookup(&stack, "pay_doesnotexist", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("purchase_token_required"))
    );

    // With the token for exactly this payment: the offers, and the one click works as ever,
    // authorised by the offer token alone.
    let (status, body) = lookup(&stack, &payment, Some(&bearer(&valid))).await;
    assert_eq!(status, 200, "{body}");
    let token = body["offers"][0]["items"][0]["token"]
        .as_str()
        .expect("an offer with its token")
        .to_string();
    let (status, accepted) = stack.accept(&token, "strict-mode-accept-1").await.unwrap();
    assert_eq!(status, 200, "{accepted}");
    let accept_id = accepted["accept_id"].as_str().unwrap();
    let done = stack.final_status(accept_id).await.unwrap();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(stack
        .charges_for(&other, "pro-upgrade")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_strict_mode_the_lookup_needs_no_token_and_ignores_one() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let payment = stack.purchase(ADA, BASIC).await.unwrap();
    for authorization in [None, Some(bearer("not-a-token"))] {
        let (status, body) = lookup(&stack, &payment, authorization.as_deref()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["offers"].as_array().map(Vec::len), Some(1), "{body}");
    }
}
