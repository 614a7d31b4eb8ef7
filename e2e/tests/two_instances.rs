//! Two proxy instances on one database, as behind a load balancer: accepts of one offer spread
//! across both still make exactly one charge. Runs on SQLite and, in `cargo xtask test`'s second
//! pass, on PostgreSQL.

use serde_json::Value;
use upsell_e2e::{Stack, StackOptions};

#[tokio::test(flavor = "multi_thread")]
async fn accepts_spread_across_two_instances_charge_exactly_once() {
    let mut stack = Stack::start(StackOptions::default()).await.unwrap();
    let second = stack.start_another_proxy().await.unwrap();
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    let token = stack.offers(&payment).await.unwrap()["offers"][0]["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Alternating instances; half the clicks share a key, the other half each have their own.
    let answers = stack
        .accept_concurrently(
            &[stack.proxy_url.clone(), second.clone()],
            &token,
            40,
            |i| {
                if i % 4 < 2 {
                    "key-two-instances-0".to_string()
                } else {
                    format!("key-two-instances-{i}")
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
