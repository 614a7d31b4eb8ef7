//! Accepts per second with exactly-once intact. Every purchase's first offer is accepted by
//! three requests sent at the same moment: a double click (the same idempotency key twice) and a
//! second tab (another key). Afterwards the sandbox's ledger must hold exactly one charge for
//! each purchase's offer.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use upsell_e2e::SandboxControl;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct AcceptsResult {
    /// Offers accepted (each by three requests) per second.
    pub per_second: f64,
    pub offers: usize,
    /// Offers with exactly one charge in the ledger; equal to `offers` when exactly-once held.
    pub charged_once: usize,
}

pub async fn run(
    http: &reqwest::Client,
    sandbox: &SandboxControl<'_>,
    proxy_url: &str,
    offers: usize,
    concurrency: usize,
) -> anyhow::Result<AcceptsResult> {
    // Purchases and their tokens first: only the accepts are timed.
    let mut tokens = Vec::new();
    for _ in 0..offers {
        let payment_id = sandbox
            .purchase_minutes_ago("cus_demo_ada", "prod_basic_plan", 0)
            .await?;
        let response: Value = http
            .get(format!("{proxy_url}/v1/offers"))
            .query(&[("payment_id", &payment_id)])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        // Charges carry the item's id (for an upsell, the offer's).
        let item = &response["offers"][0]["items"][0];
        let (Some(item_id), Some(token)) = (item["item_id"].as_str(), item["token"].as_str())
        else {
            anyhow::bail!("no offer after {payment_id}: {response}");
        };
        tokens.push((payment_id, item_id.to_string(), token.to_string()));
    }

    let queue = Arc::new(tokio::sync::Mutex::new(tokens.clone()));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, http, proxy_url) = (queue.clone(), http.clone(), proxy_url.to_string());
        workers.push(tokio::spawn(async move {
            loop {
                let Some((_, _, token)) = queue.lock().await.pop() else {
                    return anyhow::Ok(());
                };
                let key = uuid::Uuid::new_v4().to_string();
                let other_tab = uuid::Uuid::new_v4().to_string();
                let send = |key: String| {
                    http.post(format!("{proxy_url}/v1/offers/accept"))
                        .json(&json!({ "token": token, "idempotency_key": key, "quantity": 1 }))
                        .send()
                };
                let (a, b, c) = tokio::join!(send(key.clone()), send(key), send(other_tab));
                // Each is answered with the one accept the token made.
                for answer in [a, b, c] {
                    let status = answer?.status();
                    anyhow::ensure!(status.is_success(), "accept answered {status}");
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = start.elapsed();

    // Charges settle synchronously for this card; give the ledger a moment all the same.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ledger = sandbox.ledger().await?;
    let mut charges: HashMap<(String, String), usize> = HashMap::new();
    for charge in ledger["charges"].as_array().into_iter().flatten() {
        let metadata = &charge["metadata"];
        if let (Some(payment), Some(offer)) = (
            metadata["upsell_original_payment_id"].as_str(),
            metadata["upsell_offer_id"].as_str(),
        ) {
            *charges
                .entry((payment.to_string(), offer.to_string()))
                .or_default() += 1;
        }
    }
    let charged_once = tokens
        .iter()
        .filter(|(payment, offer, _)| charges.get(&(payment.clone(), offer.clone())) == Some(&1))
        .count();
    Ok(AcceptsResult {
        per_second: offers as f64 / elapsed.as_secs_f64(),
        offers,
        charged_once,
    })
}
