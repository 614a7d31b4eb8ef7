//! Two proxy instances on one database, as behind a load balancer: accepts of one offer spread
//! across both still make exactly one charge. Runs on SQLite and, in `cargo xtask test`'s second
//! pass, on PostgreSQL.

use serde_json::{json, Value};
use upsell_e2e::{Stack, StackOptions};

#[tokio::test(flavor = "multi_thread")]
async fn accepts_spread_across_two_instances_charge_exactly_once() {
    let mut stack = Stack::start(StackOptions::default()).await.unwrap();
    let second = stack.start_another_proxy().await.unwrap();
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    let token = stack.offers(&payment).await.unwrap()["offers"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut requests = Vec::new();
    for i in 0..40 {
        let url = if i % 2 == 0 {
            stack.proxy_url.clone()
        } else {
            second.clone()
        };
        // Half the clicks share a key; the other half each have their own.
        let key = if i % 4 < 2 {
            "key-two-instances-0".to_string()
        } else {
            format!("key-two-instances-{i}")
        };
        let (http, token) = (stack.http.clone(), token.clone());
        requests.push(tokio::spawn(async move {
            let response = http
                .post(format!("{url}/v1/offers/accept"))
                .json(&json!({ "token": token, "idempotency_key": key, "quantity": 1 }))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }));
    }
    let mut accept_ids = Vec::new();
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, 200, "{body}");
        accept_ids.push(body["accept_id"].as_str().unwrap().to_string());
    }
    accept_ids.sort();
    accept_ids.dedup();
    assert_eq!(
        accept_ids.len(),
        1,
        "one accept, whichever instance answered"
    );
    let done = stack.final_status(&accept_ids[0]).await.unwrap();
    assert_eq!(done["status"], "succeeded");
    // Both instances read the same truth.
    let from_second: Value = stack
        .http
        .get(format!("{second}/v1/accepts/{}", accept_ids[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(from_second["status"], "succeeded");
    assert_eq!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .len(),
        1
    );
}
