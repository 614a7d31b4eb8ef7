//! The fault schedule: at random moments (drawn from the soak's seed), overlapping, for a
//! random while each: Dodo answering 5xx or 429, slow, hanging, or charging and then losing the
//! answer; webhooks duplicated, delayed, reordered or never delivered; a proxy instance killed
//! with `SIGKILL` mid-request and restarted; the PostgreSQL server restarted under load; the
//! sandbox's clock moved forward.

use crate::Soak;
use fastrand::Rng;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Dodo's routes the proxy calls, as the sandbox's fault rules name them.
const ROUTES: [&str; 10] = [
    "POST /checkouts",
    "GET /checkouts/{session_id}",
    "GET /payments/{payment_id}",
    "GET /payments",
    "GET /products/{product_id}",
    "GET /customers/{customer_id}/payment-methods",
    "GET /subscriptions",
    "GET /subscriptions/{subscription_id}",
    "POST /subscriptions/{subscription_id}/change-plan",
    "POST /subscriptions/{subscription_id}/change-plan/preview",
];

/// The routes that charge: where "charge, then lose the answer" hurts.
const CHARGING_ROUTES: [&str; 2] = [
    "POST /checkouts",
    "POST /subscriptions/{subscription_id}/change-plan",
];

/// A webhook switch in force until a moment.
struct WebhookFault {
    switch: &'static str,
    until: Instant,
}

/// Runs faults until the soak stops; then clears them all and brings every instance back.
pub async fn run(soak: &Soak, mut rng: Rng, postgres_restart: Option<&str>) -> anyhow::Result<()> {
    let mut rules: Vec<(Value, Instant)> = Vec::new();
    let mut webhooks: Vec<WebhookFault> = Vec::new();
    let mut last_postgres_restart = Instant::now();
    while !soak.stopped() {
        tokio::time::sleep(Duration::from_millis(200 + rng.u64(..900))).await;
        let now = Instant::now();
        let lasting = Duration::from_millis(500 + rng.u64(..3000));
        let route = ROUTES[rng.usize(..ROUTES.len())];
        match rng.u8(..100) {
            0..=14 => {
                let status = [500, 502, 503][rng.usize(..3)];
                soak.journal.fault(&format!("Dodo answers {status}"));
                rules.push((
                    json!({ "route": route, "error_rate": 0.2 + rng.f64() * 0.8, "status": status }),
                    now + lasting,
                ));
            }
            15..=24 => {
                soak.journal.fault("Dodo answers 429");
                rules.push((
                    json!({ "route": route, "error_rate": 0.5, "status": 429, "retry_after_secs": 1 }),
                    now + lasting,
                ));
            }
            25..=34 => {
                soak.journal.fault("Dodo slow");
                rules.push((
                    json!({ "route": "*", "latency_ms": 100 + rng.u64(..1200) }),
                    now + lasting,
                ));
            }
            35..=41 => {
                soak.journal.fault("Dodo hangs");
                rules.push((
                    json!({ "route": route, "hang": true, "times": 1 + rng.u32(..3) }),
                    now + lasting,
                ));
            }
            42..=53 => {
                soak.journal.fault("Dodo charges, then the answer is lost");
                let charging = CHARGING_ROUTES[rng.usize(..CHARGING_ROUTES.len())];
                let rule = if rng.bool() {
                    json!({ "route": charging, "after_handling": true, "error_rate": 1.0,
                            "status": 502, "times": 1 + rng.u32(..3) })
                } else {
                    json!({ "route": charging, "after_handling": true, "hang": true,
                            "times": 1 + rng.u32(..2) })
                };
                rules.push((rule, now + lasting));
            }
            54..=71 => {
                let switch =
                    ["duplicate", "delay_ms", "reorder_window_ms", "endpoint"][rng.usize(..4)];
                soak.journal.fault(match switch {
                    "duplicate" => "webhooks duplicated",
                    "delay_ms" => "webhooks delayed",
                    "reorder_window_ms" => "webhooks reordered",
                    _ => "webhooks never delivered",
                });
                webhooks.push(WebhookFault {
                    switch,
                    until: now + lasting,
                });
            }
            72..=83 => {
                let instance = rng.usize(..soak.stack.instances.len());
                soak.journal
                    .fault("proxy instance killed (SIGKILL) and restarted");
                soak.stack.instances[instance]
                    .crash_and_restart(Duration::from_millis(rng.u64(..800)))
                    .await?;
            }
            84..=89 => match postgres_restart {
                Some(command) if last_postgres_restart.elapsed() > Duration::from_secs(8) => {
                    soak.journal.fault("PostgreSQL restarted");
                    crate::stack::restart_postgres(command).await?;
                    last_postgres_restart = Instant::now();
                }
                _ => continue,
            },
            _ => {
                soak.journal.fault("sandbox clock moved forward");
                let _ = soak
                    .http()
                    .post(format!("{}/_sandbox/clock/advance", soak.sandbox_url))
                    .json(&json!({ "seconds": 1 + rng.u64(..60) }))
                    .send()
                    .await;
            }
        }
        rules.retain(|(_, until)| *until > now);
        webhooks.retain(|w| w.until > now);
        apply(soak, &rules, &webhooks).await;
    }
    apply(soak, &[], &[]).await;
    for instance in &soak.stack.instances {
        instance.ensure_running().await?;
    }
    Ok(())
}

/// Puts the rules and webhook switches in force at the sandbox (everything else off).
async fn apply(soak: &Soak, rules: &[(Value, Instant)], webhooks: &[WebhookFault]) {
    let sandbox = soak.sandbox();
    let rules: Vec<&Value> = rules.iter().map(|(rule, _)| rule).collect();
    let _ = sandbox.set_faults(json!(rules)).await;
    let on = |switch: &str| webhooks.iter().any(|w| w.switch == switch);
    let endpoint =
        (!on("endpoint")).then(|| format!("{}/webhooks/dodo", soak.stack.instances[0].url));
    let _ = sandbox
        .set_webhook_delivery(json!({
            "endpoint": endpoint,
            "duplicate": on("duplicate"),
            "delay_ms": if on("delay_ms") { 700 } else { 0 },
            "reorder_window_ms": if on("reorder_window_ms") { 400 } else { 0 },
        }))
        .await;
}
