//! A sandbox on loopback for tests, with a webhook receiver of its own.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dodo_sandbox::{SandboxConfig, Seed};
use dodopayments::{Client, ClientConfig};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const KEY: &str = "sk_test_sandbox_tests";
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const BILLING_SEED: &str = include_str!("../../seed/billing.toml");

/// A webhook as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_string()
    }
}

#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    /// Status the receiver answers with.
    status: AtomicU16,
}

pub struct Sandbox {
    pub url: String,
    pub http: reqwest::Client,
    receiver: Arc<Receiver>,
}

impl Sandbox {
    pub async fn start(seed: &str) -> Sandbox {
        let receiver = Arc::new(Receiver {
            received: Mutex::new(Vec::new()),
            status: AtomicU16::new(200),
        });
        let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook_url = format!("http://{}/hook", hook_listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&receiver));
        tokio::spawn(async move { axum::serve(hook_listener, app).await });

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = SandboxConfig {
            seed: Seed::parse(seed).unwrap(),
            api_key: KEY.into(),
            webhook_url: Some(hook_url),
            webhook_secret: SECRET.into(),
            webhook_time_scale: 0.0001,
            control_api: true,
        };
        tokio::spawn(dodo_sandbox::serve(
            listener,
            config,
            std::future::pending(),
        ));
        Sandbox {
            url,
            http: reqwest::Client::new(),
            receiver,
        }
    }

    pub async fn billing() -> Sandbox {
        Self::start(BILLING_SEED).await
    }

    /// The official SDK pointed at the sandbox, retries off (tests see each answer).
    pub fn dodo(&self) -> Client {
        Client::new(
            ClientConfig::new(&self.url)
                .with_api_key(KEY)
                .with_max_retries(0),
        )
        .unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .put(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn advance_days(&self, days: i64) {
        let (status, body) = self
            .post("/_sandbox/clock/advance", json!({ "days": days }))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn ledger(&self) -> Value {
        self.get("/_sandbox/ledger").await.1
    }

    /// Charges of one subscription, oldest first.
    pub async fn charges_of(&self, subscription_id: &str) -> Vec<Value> {
        self.ledger().await["charges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["subscription_id"] == subscription_id)
            .cloned()
            .collect()
    }

    pub async fn subscription(&self, subscription_id: &str) -> Value {
        self.ledger().await["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subscription_id"] == subscription_id)
            .cloned()
            .unwrap()
    }

    pub fn answer_webhooks_with(&self, status: u16) {
        self.receiver.status.store(status, Ordering::SeqCst);
    }

    /// Waits until `count` webhooks have arrived, and returns them all.
    pub async fn webhooks(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.receiver.received.lock().unwrap().clone();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let received = self.receiver.received.lock().unwrap().clone();
        panic!(
            "expected {count} webhooks, got {}: {:?}",
            received.len(),
            received
                .iter()
                .map(Received::event_type)
                .collect::<Vec<_>>()
        );
    }
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    StatusCode::from_u16(receiver.status.load(Ordering::SeqCst)).unwrap()
}
