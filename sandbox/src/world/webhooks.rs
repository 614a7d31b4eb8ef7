//! Webhook delivery, signed per Standard Webhooks with the `standardwebhooks` crate
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`), retried on Dodo's schedule, and, when a test asks, delivered twice,
//! late, or out of order.

use crate::world::store::{Store, WebhookDelivery};
use serde::{Deserialize, Serialize};
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

/// Where webhooks go and how; `PUT /_sandbox/webhooks` changes it at run time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// The endpoint; none sends nothing.
    pub endpoint: Option<String>,
    /// Deliver every event twice, with the same `webhook-id`.
    #[serde(default)]
    pub duplicate: bool,
    /// Hold every event this long before its first attempt.
    #[serde(default)]
    pub delay_ms: u64,
    /// Gather events for this long, then deliver them newest first.
    #[serde(default)]
    pub reorder_window_ms: u64,
}

/// A signed-ready event.
#[derive(Debug, Clone)]
struct Outgoing {
    webhook_id: String,
    event_type: String,
    body: String,
}

pub struct WebhookSender {
    settings: Mutex<WebhookSettings>,
    signer: Webhook,
    http: reqwest::Client,
    /// Multiplies every retry delay: 1.0 is Dodo's real schedule, 0.001 turns hours into seconds.
    time_scale: f64,
    store: Arc<Mutex<Store>>,
    reorder_buffer: Mutex<Vec<Outgoing>>,
}

impl WebhookSender {
    pub fn new(
        settings: WebhookSettings,
        secret: &str,
        time_scale: f64,
        store: Arc<Mutex<Store>>,
    ) -> anyhow::Result<Self> {
        let signer = Webhook::new(secret)
            .map_err(|e| anyhow::anyhow!("webhook secret must be whsec_<base64>: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .build()?;
        Ok(Self {
            settings: Mutex::new(settings),
            signer,
            http,
            time_scale,
            store,
            reorder_buffer: Mutex::new(Vec::new()),
        })
    }

    pub fn settings(&self) -> WebhookSettings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn set_settings(&self, settings: WebhookSettings) {
        if let Ok(mut current) = self.settings.lock() {
            *current = settings;
        }
    }

    /// Queues an event for delivery and returns at once.
    pub fn send(
        self: &Arc<Self>,
        business_id: &str,
        event_type: &str,
        data: Value,
        occurred_at: OffsetDateTime,
    ) {
        let settings = self.settings();
        let Some(endpoint) = settings.endpoint.clone() else {
            return;
        };
        let body = json!({
            "business_id": business_id,
            "type": event_type,
            "timestamp": crate::world::dodo_json::rfc3339(occurred_at),
            "data": data,
        })
        .to_string();
        let outgoing = Outgoing {
            webhook_id: crate::world::store::new_id("msg"),
            event_type: event_type.to_string(),
            body,
        };
        if settings.reorder_window_ms > 0 {
            let first = match self.reorder_buffer.lock() {
                Ok(mut buffer) => {
                    buffer.push(outgoing);
                    buffer.len() == 1
                }
                Err(_) => return,
            };
            if first {
                let sender = Arc::clone(self);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(settings.reorder_window_ms)).await;
                    let mut held = sender
                        .reorder_buffer
                        .lock()
                        .map(|mut b| std::mem::take(&mut *b))
                        .unwrap_or_default();
                    held.reverse();
                    // One after the other, newest first, so they arrive out of order.
                    for outgoing in held {
                        sender
                            .deliver_with_retries(&endpoint, &outgoing, &settings)
                            .await;
                    }
                });
            }
            return;
        }
        let sender = Arc::clone(self);
        tokio::spawn(async move {
            sender
                .deliver_with_retries(&endpoint, &outgoing, &settings)
                .await;
        });
    }

    async fn deliver_with_retries(
        self: &Arc<Self>,
        endpoint: &str,
        outgoing: &Outgoing,
        settings: &WebhookSettings,
    ) {
        if settings.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(settings.delay_ms)).await;
        }
        let copies = if settings.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            self.deliver_until_accepted(endpoint, outgoing).await;
        }
    }

    async fn deliver_until_accepted(&self, endpoint: &str, outgoing: &Outgoing) {
        for (attempt, delay) in SCHEDULE.iter().enumerate() {
            tokio::time::sleep(delay.mul_f64(self.time_scale)).await;
            let status = self.deliver(endpoint, outgoing).await;
            if let Ok(mut store) = self.store.lock() {
                store.deliveries.push(WebhookDelivery {
                    webhook_id: outgoing.webhook_id.clone(),
                    event_type: outgoing.event_type.clone(),
                    attempt: attempt as u32 + 1,
                    status,
                });
            }
            if status.is_some_and(|s| (200..300).contains(&s)) {
                return;
            }
        }
        tracing::warn!(webhook_id = %outgoing.webhook_id, event_type = %outgoing.event_type, "webhook not delivered after every retry");
    }

    async fn deliver(&self, endpoint: &str, outgoing: &Outgoing) -> Option<u16> {
        // Signed with the real time: the receiver checks it against its own clock (±5 min).
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = self
            .signer
            .sign(&outgoing.webhook_id, timestamp, outgoing.body.as_bytes())
            .ok()?;
        let response = self
            .http
            .post(endpoint)
            .header("content-type", "application/json")
            .header("webhook-id", &outgoing.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(outgoing.body.clone())
            .send()
            .await;
        match response {
            Ok(response) => Some(response.status().as_u16()),
            Err(error) => {
                tracing::info!(webhook_id = %outgoing.webhook_id, %error, "webhook endpoint unreachable");
                None
            }
        }
    }
}
