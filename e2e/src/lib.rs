//! The whole stack on loopback for tests: the Dodo sandbox (seeded with the demo world) and the
//! upsell proxy pointed at it, each on its own ephemeral port, talking real HTTP, with the
//! sandbox's webhooks delivered to the proxy.

pub mod browser;
pub mod processes;

use dodo_sandbox::{SandboxConfig, Seed};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use upsell_proxy::http::admin_token::AdminToken;
pub use upsell_proxy::http::offers_reload::OffersFile;
use upsell_proxy::http::rate_limit::Rate;
use upsell_proxy::offers::purchase_token::PurchaseClaims;
use upsell_proxy::rules::OfferRules;
use upsell_proxy::tokens::TokenKeys;
use upsell_proxy::ProxyConfig;

pub const API_KEY: &str = "sk_test_stack";
pub const WEBHOOK_SECRET: &str = "whsec_c3RhY2std2ViaG9vay1zZWNyZXQtZm9yLXRlc3Rz";
pub const TOKEN_KEYS: &str = "k1=stack-test-token-key-0123456789abcdef";
/// Opens the proxy's report (`GET /v1/report`, `/report`).
pub const ADMIN_TOKEN: &str = "stack-test-admin-token-0123456789abcdef";

/// The demo's offers file.
pub const DEMO_OFFERS: &str = include_str!("../../proxy/offers.toml");

/// One offer and nothing else (no downsell, no cross-sell): what most tests of the money path
/// need, so that what they see after an accept or a decline is only that offer's doing.
pub const SINGLE_OFFER: &str = r#"
offer_window_minutes = 30

[[offers]]
id = "pro-upgrade"
after = ["prod_basic_plan"]
product = "prod_pro_upgrade"
"#;

/// A running sandbox and proxy. Dropping it stops both.
pub struct Stack {
    pub sandbox_url: String,
    pub proxy_url: String,
    pub http: reqwest::Client,
    /// The proxy's database: a fresh SQLite file, or with `UPSELL_TEST_POSTGRES_URL` set, a
    /// fresh PostgreSQL database.
    pub database_url: String,
    options: StackOptions,
    sqlite_file: Option<PathBuf>,
    stop: Vec<oneshot::Sender<()>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let mut name = file.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
    }
}

/// What to start.
#[derive(Clone)]
pub struct StackOptions {
    /// Static files the proxy serves at `/` (the built widget and demo page).
    pub widget_dir: Option<PathBuf>,
    pub offers_toml: String,
    /// The sandbox's seed (TOML): the demo world unless a test needs another.
    pub seed: &'static str,
    /// The proxy's limit on each call to Dodo.
    pub upstream_timeout: Duration,
    /// How long a lost charge may still show up at Dodo.
    pub reconcile_grace: Duration,
    /// How long a plan change may wait for its 3-D Secure.
    pub plan_change_action_timeout: Duration,
    /// How often the proxy reconciles accepts in flight in the background.
    pub reconcile_every: Duration,
    /// How often the proxy sweeps Dodo's recent payments and refunds for missed webhooks.
    pub sweep_every: Duration,
    /// Every test talks from 127.0.0.1: one client, so a generous limit unless a test says.
    pub rate_per_client: Rate,
    pub rate_per_token: Rate,
    pub trust_forwarded_for: bool,
    /// The report's admin token; `None` turns the report off.
    pub admin_token: Option<String>,
    /// Strict mode: offers only with a purchase token (see [`purchase_token`]).
    pub require_purchase_token: bool,
    /// An offers file the proxy reloads (on SIGHUP, and when it changes); it then starts
    /// from the file, not from `offers_toml`.
    pub offers_file: Option<OffersFile>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            widget_dir: None,
            offers_toml: SINGLE_OFFER.to_string(),
            seed: dodo_sandbox::DEMO_SEED,
            upstream_timeout: Duration::from_secs(2),
            reconcile_grace: Duration::from_secs(3),
            plan_change_action_timeout: Duration::from_secs(7200),
            reconcile_every: Duration::from_millis(200),
            sweep_every: Duration::from_secs(1),
            rate_per_client: Rate::per_minute(100_000),
            rate_per_token: Rate::per_minute(1_000),
            trust_forwarded_for: false,
            admin_token: Some(ADMIN_TOKEN.into()),
            require_purchase_token: false,
            offers_file: None,
        }
    }
}

impl Stack {
    pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
        let sandbox_listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy_listener = TcpListener::bind("127.0.0.1:0").await?;
        let sandbox_url = format!("http://{}", sandbox_listener.local_addr()?);
        let proxy_url = format!("http://{}", proxy_listener.local_addr()?);

        let (stop_sandbox, sandbox_stopped) = oneshot::channel::<()>();
        let sandbox = SandboxConfig {
            seed: Seed::parse(options.seed)?,
            api_key: API_KEY.into(),
            webhook_url: Some(format!("{proxy_url}/webhooks/dodo")),
            webhook_secret: WEBHOOK_SECRET.into(),
            webhook_time_scale: 0.001,
            control_api: true,
        };
        tokio::spawn(dodo_sandbox::serve(sandbox_listener, sandbox, async {
            let _ = sandbox_stopped.await;
        }));

        let (database_url, sqlite_file) = test_database().await?;
        let mut stack = Stack {
            sandbox_url,
            proxy_url: proxy_url.clone(),
            http: reqwest::Client::new(),
            database_url,
            options,
            sqlite_file,
            stop: vec![stop_sandbox],
        };
        stack.serve_proxy(proxy_listener).await?;
        Ok(stack)
    }

    /// Starts one more proxy instance on the same database and sandbox, as a second server
    /// behind a load balancer would be; returns its URL.
    pub async fn start_another_proxy(&mut self) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        self.serve_proxy(listener).await?;
        Ok(url)
    }

    async fn serve_proxy(&mut self, listener: TcpListener) -> anyhow::Result<()> {
        let url = format!("http://{}", listener.local_addr()?);
        let options = self.options.clone();
        let proxy = ProxyConfig {
            dodo_base_url: self.sandbox_url.clone(),
            dodo_api_key: API_KEY.into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            token_keys: TokenKeys::parse(TOKEN_KEYS)?,
            rules: match &options.offers_file {
                Some(file) => OfferRules::load(&file.path)?,
                None => OfferRules::parse(&options.offers_toml)?,
            },
            offers_file: options.offers_file.clone(),
            database_url: self.database_url.clone(),
            allowed_origins: Vec::new(),
            widget_dir: options.widget_dir,
            upstream_timeout: options.upstream_timeout,
            reconcile_grace: options.reconcile_grace,
            plan_change_action_timeout: options.plan_change_action_timeout,
            reconcile_every: options.reconcile_every,
            sweep_every: options.sweep_every,
            rate_per_client: options.rate_per_client,
            rate_per_token: options.rate_per_token,
            trust_forwarded_for: options.trust_forwarded_for,
            admin_token: options
                .admin_token
                .as_deref()
                .map(AdminToken::parse)
                .transpose()?,
            require_purchase_token: options.require_purchase_token,
        };
        let app = upsell_proxy::router(proxy).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum_serve(listener, app, stopped).await;
        });
        self.stop.push(stop);
        wait_until_answers(
            &self.http,
            &format!("{url}/healthz"),
            Duration::from_secs(5),
        )
        .await
    }

    /// Makes a purchase that has just succeeded, as a customer finishing a Dodo checkout would,
    /// and returns its payment id.
    pub async fn purchase(&self, customer_id: &str, product_id: &str) -> anyhow::Result<String> {
        self.purchase_minutes_ago(customer_id, product_id, 0).await
    }

    /// The same, made `minutes_ago` minutes before now.
    pub async fn purchase_minutes_ago(
        &self,
        customer_id: &str,
        product_id: &str,
        minutes_ago: i64,
    ) -> anyhow::Result<String> {
        self.sandbox()
            .purchase_minutes_ago(customer_id, product_id, minutes_ago)
            .await
    }

    /// The sandbox's control API.
    pub fn sandbox(&self) -> SandboxControl<'_> {
        SandboxControl {
            url: &self.sandbox_url,
            http: &self.http,
        }
    }

    /// The sandbox's ledger: `{charges: [...], webhook_deliveries: [...]}`.
    pub async fn ledger(&self) -> anyhow::Result<Value> {
        self.sandbox().ledger().await
    }

    /// Sets how the sandbox delivers webhooks (`duplicate`, `delay_ms`, `reorder_window_ms`).
    pub async fn set_webhook_delivery(&self, switches: Value) -> anyhow::Result<()> {
        self.sandbox().set_webhook_delivery(switches).await
    }

    /// Replaces the sandbox's faults (`[]` clears them).
    pub async fn set_faults(&self, rules: Value) -> anyhow::Result<()> {
        self.sandbox().set_faults(rules).await
    }

    /// The offers for a purchase, as the widget gets them.
    pub async fn offers(&self, payment_id: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/v1/offers", self.proxy_url))
            .query(&[("payment_id", payment_id)])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// POSTs JSON to the proxy; returns the status and the JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(format!("{}{path}", self.proxy_url))
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Accepts an offer as the widget does; returns the status and the JSON answer.
    pub async fn accept(&self, token: &str, idempotency_key: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(format!("{}/v1/offers/accept", self.proxy_url))
            .json(&json!({ "token": token, "idempotency_key": idempotency_key, "quantity": 1 }))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Sends `count` accepts of one token at the same moment, the i-th to
    /// `urls[i % urls.len()]` with idempotency key `key(i)`; returns each answer's status and
    /// body, in order.
    pub async fn accept_concurrently(
        &self,
        urls: &[String],
        token: &str,
        count: usize,
        key: impl Fn(usize) -> String,
    ) -> anyhow::Result<Vec<(u16, Value)>> {
        let mut requests = Vec::new();
        for i in 0..count {
            let url = format!("{}/v1/offers/accept", urls[i % urls.len()]);
            let body = json!({ "token": token, "idempotency_key": key(i), "quantity": 1 });
            let http = self.http.clone();
            requests.push(tokio::spawn(async move {
                let response = http.post(url).json(&body).send().await?;
                let status = response.status().as_u16();
                anyhow::Ok((
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                ))
            }));
        }
        let mut answers = Vec::new();
        for request in requests {
            answers.push(request.await??);
        }
        Ok(answers)
    }

    /// Polls an accept, as the widget does, until its status is final (within 15 s).
    pub async fn final_status(&self, accept_id: &str) -> anyhow::Result<Value> {
        for _ in 0..300 {
            let response: Value = self
                .http
                .get(format!("{}/v1/accepts/{accept_id}", self.proxy_url))
                .send()
                .await?
                .json()
                .await?;
            if matches!(response["status"].as_str(), Some("succeeded" | "failed")) {
                return Ok(response);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("accept {accept_id} never reached a final status")
    }

    /// The proxy's Prometheus metrics, as `GET /metrics` answers.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(format!("{}/metrics", self.proxy_url))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?)
    }

    /// The value of one series of the proxy's metrics (`name{labels}`), 0 when it has none yet.
    pub async fn metric(&self, series: &str) -> anyhow::Result<u64> {
        let text = self.metrics().await?;
        let prefix = format!("{series} ");
        match text.lines().find_map(|line| line.strip_prefix(&prefix)) {
            Some(value) => Ok(value.trim().parse()?),
            None => Ok(0),
        }
    }

    /// How many times widgets reported that `part` of the widget could not be fetched.
    pub async fn parts_unavailable(&self, part: &str) -> anyhow::Result<u64> {
        self.metric(&format!(
            "upsell_widget_errors_total{{kind=\"part_unavailable\",part=\"{part}\"}}"
        ))
        .await
    }

    /// The report, as `GET /v1/report` answers it to the admin token.
    /// `GET /v1/plan-changes` as an account page's widget asks it, with an account token
    /// naming this subscription and customer.
    pub async fn list_plan_changes(
        &self,
        subscription: &str,
        customer: &str,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .get(format!("{}/v1/plan-changes", self.proxy_url))
            .bearer_auth(account_token(subscription, customer)?)
            .send()
            .await?)
    }

    pub async fn report(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/v1/report", self.proxy_url))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// The sandbox's charges for one offer after one purchase.
    pub async fn charges_for(
        &self,
        original_payment_id: &str,
        offer_id: &str,
    ) -> anyhow::Result<Vec<Value>> {
        let ledger = self.ledger().await?;
        Ok(ledger["charges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["metadata"]["upsell_original_payment_id"] == original_payment_id
                    && c["metadata"]["upsell_offer_id"] == offer_id
            })
            .cloned()
            .collect())
    }
}

/// The sandbox's `/_sandbox/` control API, for the tests and the bench.
pub struct SandboxControl<'a> {
    pub url: &'a str,
    pub http: &'a reqwest::Client,
}

impl SandboxControl<'_> {
    /// A purchase that succeeded `minutes_ago` minutes before now; its payment id.
    pub async fn purchase_minutes_ago(
        &self,
        customer_id: &str,
        product_id: &str,
        minutes_ago: i64,
    ) -> anyhow::Result<String> {
        let response: Value = self
            .http
            .post(format!("{}/_sandbox/purchases", self.url))
            .json(&json!({
                "customer_id": customer_id,
                "product_id": product_id,
                "minutes_ago": minutes_ago,
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        response["payment_id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow::anyhow!("no payment_id in {response}"))
    }

    /// The ledger: `{charges: [...], webhook_deliveries: [...]}`.
    pub async fn ledger(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/_sandbox/ledger", self.url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Replaces the faults (`[]` clears them).
    pub async fn set_faults(&self, rules: Value) -> anyhow::Result<()> {
        self.put("/_sandbox/faults", &rules).await
    }

    /// Sets how webhooks are delivered (`duplicate`, `delay_ms`, `reorder_window_ms`); the
    /// switches not named keep their value.
    pub async fn set_webhook_delivery(&self, switches: Value) -> anyhow::Result<()> {
        let mut settings: Value = self
            .http
            .get(format!("{}/_sandbox/webhooks", self.url))
            .send()
            .await?
            .json()
            .await?;
        if let (Some(settings), Some(switches)) = (settings.as_object_mut(), switches.as_object()) {
            settings.extend(switches.clone());
        }
        self.put("/_sandbox/webhooks", &settings).await
    }

    async fn put(&self, path: &str, body: &Value) -> anyhow::Result<()> {
        self.http
            .put(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

/// A purchase token for `payment_id`, signed with the stack's token keys as a merchant's server
/// would sign it, issued `issued_seconds_ago` and valid for `minutes` from then.
pub fn purchase_token(
    payment_id: &str,
    issued_seconds_ago: i64,
    minutes: i64,
) -> anyhow::Result<String> {
    let now = time_now() - issued_seconds_ago;
    TokenKeys::parse(TOKEN_KEYS)?.sign(&PurchaseClaims::new(payment_id, now, minutes))
}

/// An account token naming a subscriber, signed with the stack's token keys as a merchant's
/// server signs it for its account page (valid ten minutes).
pub fn account_token(subscription: &str, customer: &str) -> anyhow::Result<String> {
    use upsell_proxy::plan_changes::token::{AccountClaims, ACCOUNT};
    let now = time_now();
    TokenKeys::parse(TOKEN_KEYS)?.sign(&AccountClaims {
        typ: ACCOUNT.into(),
        sub: subscription.into(),
        cus: customer.into(),
        iat: now,
        exp: now + 600,
    })
}

/// Unix seconds now.
fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A database of the test's own: a fresh PostgreSQL database when `UPSELL_TEST_POSTGRES_URL`
/// names a server (`cargo xtask test` starts one), otherwise a fresh SQLite file.
async fn test_database() -> anyhow::Result<(String, Option<PathBuf>)> {
    let name = format!("upsell_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("UPSELL_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            Ok((create_postgres_database(&admin, &name).await?, None))
        }
        _ => {
            let file = std::env::temp_dir().join(format!("{name}.db"));
            Ok((format!("sqlite://{}", file.display()), Some(file)))
        }
    }
}

/// Creates database `name` on the PostgreSQL server that `admin_url` names; returns its URL.
pub async fn create_postgres_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::{Connection, Executor};
    let mut connection = sqlx::PgConnection::connect(admin_url).await?;
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let (server, _) = admin_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("the PostgreSQL URL has no database name"))?;
    Ok(format!("{server}/{name}"))
}

/// Waits until `url` answers with a success, polling every 50 ms for at most `within`.
pub async fn wait_until_answers(
    http: &reqwest::Client,
    url: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing answers at {url} after {within:?}")
}

async fn axum_serve(
    listener: TcpListener,
    app: upsell_proxy::http::Router,
    stopped: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    upsell_proxy::http::serve_router(listener, app, async {
        let _ = stopped.await;
    })
    .await
}

/// The release build of the widget (`trunk build --release`), which `cargo xtask test` makes
/// and names in `UPSELL_WIDGET_DIST`.
pub fn widget_dist() -> PathBuf {
    let dist = std::env::var_os("UPSELL_WIDGET_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    assert!(
        dist.join("index.html").exists() && dist.join("upsell.js").exists(),
        "no widget build in {}: run `cargo xtask test`, which builds it",
        dist.display()
    );
    dist
}
