//! Rate limits per client and per offer token: over the limit the proxy answers
//! `429 {code: "rate_limited"}` with `retry-after`, and charges nothing more.

use serde_json::Value;
use std::num::NonZeroU32;
use upsell_e2e::{Stack, StackOptions};
use upsell_proxy::http::rate_limit::Rate;

#[tokio::test(flavor = "multi_thread")]
async fn a_client_over_its_limit_gets_429_with_retry_after() {
    let stack = Stack::start(StackOptions {
        rate_per_client: Rate {
            per_minute: NonZeroU32::new(60).unwrap(),
            burst: NonZeroU32::new(5).unwrap(),
        },
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let url = format!("{}/v1/offers?payment_id=pay_nothing", stack.proxy_url);
    for _ in 0..5 {
        let response = stack.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
    let response = stack.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // Health checks are not counted.
    let health = stack
        .http
        .get(format!("{}/healthz", stack.proxy_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_offer_token_is_limited_however_many_keys_it_comes_with() {
    let stack = Stack::start(StackOptions {
        rate_per_token: Rate::per_minute(3),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    let token = stack.offers(&payment).await.unwrap()["offers"][0]["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..3 {
        let (status, body) = stack
            .accept(&token, &format!("key-token-limit-{i:03}"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = stack.accept(&token, "key-token-limit-999").await.unwrap();
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
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
async fn behind_a_trusted_balancer_clients_are_told_apart_by_x_forwarded_for() {
    for trusted in [true, false] {
        let stack = Stack::start(StackOptions {
            rate_per_client: Rate {
                per_minute: NonZeroU32::new(60).unwrap(),
                burst: NonZeroU32::new(2).unwrap(),
            },
            trust_forwarded_for: trusted,
            ..StackOptions::default()
        })
        .await
        .unwrap();
        let url = format!("{}/v1/offers?payment_id=pay_nothing", stack.proxy_url);
        let mut statuses = Vec::new();
        for client in ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"] {
            let response = stack
                .http
                .get(&url)
                .header("x-forwarded-for", format!("{client}, 10.0.0.1"))
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        if trusted {
            assert_eq!(
                statuses,
                [404, 404, 404, 404],
                "two clients, two allowances"
            );
        } else {
            // Untrusted, the header is anyone's to write: one peer, one allowance.
            assert_eq!(statuses, [404, 404, 429, 429]);
        }
    }
}
