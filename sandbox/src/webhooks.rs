//! Webhook delivery, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), retried on Dodo's schedule.

use crate::store::{Store, WebhookDelivery};
use serde_json::{json, Value};
use standardwebhooks::Webhook;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// Dodo's delivery schedule: the first attempt, then up to 8 retries.
const SCHEDULE: [Duration; 9] = [
    Duration::ZERO,
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// Dodo gives an endpoint 15 s to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

pub struct WebhookSender {
    endpoint: Option<String>,
    signer: Webhook,
    http: reqwest::Client,
    /// Multiplies every retry delay: 1.0 is Dodo's real schedule, 0.001 turns hours into seconds.
    time_scale: f64,
}

impl WebhookSender {
    pub fn new(endpoint: Option<String>, secret: &str, time_scale: f64) -> anyhow::Result<Self> {
        let signer = Webhook::new(secret)
            .map_err(|e| anyhow::anyhow!("webhook secret must be whsec_<base64>: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .build()?;
        Ok(Self {
            endpoint,
            signer,
            http,
            time_scale,
        })
    }

    /// Queues an event for delivery and returns at once.
    pub fn send(self: &Arc<Self>, store: &Arc<Mutex<Store>>, event_type: &str, data: Value) {
        let Some(endpoint) = self.endpoint.clone() else {
            return;
        };
        let business_id = match store.lock() {
            Ok(store) => store.business_id.clone(),
            Err(_) => return,
        };
        let envelope = json!({
            "business_id": business_id,
            "type": event_type,
            "timestamp": crate::dodo_json::rfc3339(OffsetDateTime::now_utc()),
            "data": data,
        });
        let body = envelope.to_string();
        let webhook_id = crate::store::new_id("msg");
        let event_type = event_type.to_string();
        let sender = Arc::clone(self);
        let store = Arc::clone(store);
        tokio::spawn(async move {
            for (attempt, delay) in SCHEDULE.iter().enumerate() {
                tokio::time::sleep(delay.mul_f64(sender.time_scale)).await;
                let status = sender.deliver(&endpoint, &webhook_id, &body).await;
                if let Ok(mut store) = store.lock() {
                    store.deliveries.push(WebhookDelivery {
                        webhook_id: webhook_id.clone(),
                        event_type: event_type.clone(),
                        attempt: attempt as u32 + 1,
                        status,
                    });
                }
                if status.is_some_and(|s| (200..300).contains(&s)) {
                    return;
                }
            }
            tracing::warn!(%webhook_id, %event_type, "webhook not delivered after every retry");
        });
    }

    async fn deliver(&self, endpoint: &str, webhook_id: &str, body: &str) -> Option<u16> {
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = self
            .signer
            .sign(webhook_id, timestamp, body.as_bytes())
            .ok()?;
        let response = self
            .http
            .post(endpoint)
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string())
            .send()
            .await;
        match response {
            Ok(response) => Some(response.status().as_u16()),
            Err(error) => {
                tracing::info!(%webhook_id, %error, "webhook endpoint unreachable");
                None
            }
        }
    }
}
