//! The proxy process killed (SIGKILL) in the middle of an accept, after Dodo charged but before
//! the proxy heard back, then restarted on the same database: it reconciles, the customer's
//! retry sees the charge as succeeded, and there is exactly one charge.

use serde_json::{json, Value};
use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const API_KEY: &str = "sk_test_crash";
const WEBHOOK_SECRET: &str = "whsec_Y3Jhc2gtcmVjb3Zlcnktd2ViaG9vay1zZWNyZXQ=";
const TOKEN_KEY: &str = "crash-recovery-test-key-0123456789ab";

struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_proxy(port: u16, sandbox_url: &str, database: &str, log: &std::path::Path) -> Proxy {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_upsell-proxy"))
        .env("UPSELL_LISTEN", format!("127.0.0.1:{port}"))
        .env("DODO_PAYMENTS_BASE_URL", sandbox_url)
        .env("DODO_PAYMENTS_API_KEY", API_KEY)
        .env("DODO_PAYMENTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("UPSELL_TOKEN_KEYS", format!("crash={TOKEN_KEY}"))
        .env(
            "UPSELL_OFFERS",
            concat!(env!("CARGO_MANIFEST_DIR"), "/offers.toml"),
        )
        .env("UPSELL_DATABASE_URL", database)
        .env("UPSELL_UPSTREAM_TIMEOUT_SECS", "30")
        .env("UPSELL_RECONCILE_GRACE_SECS", "31")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the proxy binary starts");
    Proxy(child)
}

async fn wait_until_up(http: &reqwest::Client, url: &str) {
    for _ in 0..200 {
        if http.get(format!("{url}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the proxy did not come up");
}

async fn charges(http: &reqwest::Client, sandbox_url: &str) -> Vec<Value> {
    let ledger: Value = http
        .get(format!("{sandbox_url}/_sandbox/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ledger["charges"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_killed_mid_charge_reconciles_at_restart_without_charging_twice() {
    let http = reqwest::Client::new();
    let port = free_port();
    let proxy_url = format!("http://127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = dodo_sandbox::SandboxConfig {
        seed: dodo_sandbox::Seed::parse(dodo_sandbox::DEMO_SEED).unwrap(),
        api_key: API_KEY.into(),
        // No webhooks: the restarted proxy can learn of the charge only by looking it up.
        webhook_url: None,
        webhook_secret: WEBHOOK_SECRET.into(),
        webhook_time_scale: 0.001,
        control_api: true,
    };
    tokio::spawn(dodo_sandbox::serve(
        listener,
        sandbox,
        std::future::pending(),
    ));
    let dir = std::env::temp_dir().join(format!("upsell-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("upsell.db").display());

    let log = dir.join("proxy.log");
    let proxy = start_proxy(port, &sandbox_url, &database, &log);
    wait_until_up(&http, &proxy_url).await;
    let purchase: Value = http
        .post(format!("{sandbox_url}/_sandbox/purchases"))
        .json(&json!({ "customer_id": "cus_demo_ada", "product_id": "prod_basic_plan" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payment = purchase["payment_id"].as_str().unwrap().to_string();
    let offers: Value = http
        .get(format!("{proxy_url}/v1/offers?payment_id={payment}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = offers["offers"][0]["items"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();

    // Dodo charges, then never answers.
    http.put(format!("{sandbox_url}/_sandbox/faults"))
        .json(&json!([{ "route": "POST /checkouts", "hang": true, "after_handling": true }]))
        .send()
        .await
        .unwrap();
    let accept =
        json!({ "token": token, "idempotency_key": "key-crash-recovery-01", "quantity": 1 });
    let in_flight = {
        let (http, url, accept) = (http.clone(), proxy_url.clone(), accept.clone());
        tokio::spawn(async move {
            http.post(format!("{url}/v1/offers/accept"))
                .json(&accept)
                .send()
                .await
        })
    };
    for _ in 0..200 {
        if !charges(&http, &sandbox_url).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(charges(&http, &sandbox_url).await.len(), 1, "Dodo charged");
    drop(proxy); // SIGKILL, mid-request
    assert!(
        in_flight.await.unwrap().is_err(),
        "the customer never got an answer"
    );

    http.put(format!("{sandbox_url}/_sandbox/faults"))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    let _proxy = start_proxy(port, &sandbox_url, &database, &log);
    wait_until_up(&http, &proxy_url).await;

    // The widget retries with the same idempotency key.
    let response: Value = http
        .post(format!("{proxy_url}/v1/offers/accept"))
        .json(&accept)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let accept_id = response["accept_id"]
        .as_str()
        .expect("the first accept")
        .to_string();
    let mut status = response["status"].clone();
    for _ in 0..200 {
        if status == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now: Value = http
            .get(format!("{proxy_url}/v1/accepts/{accept_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status = now["status"].clone();
    }
    assert_eq!(status, "succeeded");
    let charges = charges(&http, &sandbox_url).await;
    assert_eq!(charges.len(), 1, "exactly one charge: {charges:?}");
    assert_eq!(
        charges[0]["metadata"]["upsell_accept_id"],
        accept_id.as_str()
    );
    // Even at debug level, the logs hold no token, key or secret.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("lost charge found"),
        "the logs say what happened"
    );
    for secret in [token.as_str(), API_KEY, WEBHOOK_SECRET, TOKEN_KEY] {
        assert!(!logged.contains(secret), "the logs contain {secret}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
