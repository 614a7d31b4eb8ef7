//! The bench's sandbox and proxy (`upsell_e2e::processes`): release builds, the demo world, the
//! proxy's limits raised so that the load generator (one client) measures the proxy rather than
//! its rate limiter.

use serde_json::json;
use std::path::{Path, PathBuf};
use upsell_e2e::processes::{self, ProxyLaunch, SandboxLaunch};
use upsell_e2e::SandboxControl;

pub use processes::Server;

pub const API_KEY: &str = "sk_test_bench";
const WEBHOOK_SECRET: &str = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtZm9yLXRoZS1zYW5kYm94";
const TOKEN_KEYS: &str = "bench=bench-token-key-0123456789abcdef0123456789";

/// Where the bench finds what it starts.
#[derive(Clone)]
pub struct Setup {
    /// `target/release`, with `dodo-sandbox` and `upsell-proxy` built.
    pub bin_dir: PathBuf,
    /// The demo world the sandbox is seeded with.
    pub seed: PathBuf,
    /// The demo's offers file.
    pub offers: PathBuf,
    /// What the proxy serves at `/`: the widget's build and the plain peer page.
    pub site: PathBuf,
    pub work_dir: PathBuf,
}

pub async fn start_sandbox(setup: &Setup, proxy_port: u16) -> anyhow::Result<Server> {
    SandboxLaunch {
        bin_dir: &setup.bin_dir,
        seed: &setup.seed,
        api_key: API_KEY,
        webhook_url: format!("http://127.0.0.1:{proxy_port}/webhooks/dodo"),
        webhook_secret: WEBHOOK_SECRET,
        webhook_time_scale: 1.0,
        log: None,
    }
    .start()
    .await
}

/// The proxy on `port` with its storage at `database_url`.
pub async fn start_proxy(
    setup: &Setup,
    port: u16,
    sandbox_url: &str,
    database_url: &str,
) -> anyhow::Result<Server> {
    let env = [
        ("DODO_PAYMENTS_BASE_URL", sandbox_url),
        ("DODO_PAYMENTS_API_KEY", API_KEY),
        ("DODO_PAYMENTS_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("UPSELL_TOKEN_KEYS", TOKEN_KEYS),
        ("UPSELL_OFFERS", &setup.offers.display().to_string()),
        ("UPSELL_DATABASE_URL", database_url),
        ("UPSELL_WIDGET_DIR", &setup.site.display().to_string()),
        ("UPSELL_RATE_PER_CLIENT", "1000000000"),
        ("UPSELL_RATE_PER_TOKEN", "1000000"),
        ("RUST_LOG", "warn"),
    ];
    ProxyLaunch {
        bin_dir: setup.bin_dir.clone(),
        port,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        log: None,
    }
    .start()
    .await
}

pub fn proxy_port() -> anyhow::Result<u16> {
    processes::free_port()
}

/// A fresh SQLite file in the work folder.
pub fn sqlite_database(work_dir: &Path) -> anyhow::Result<String> {
    Ok(processes::sqlite_database(work_dir, "bench"))
}

/// A fresh database on the PostgreSQL server that `admin_url` names.
pub async fn postgres_database(admin_url: &str) -> anyhow::Result<String> {
    processes::postgres_database(admin_url, "upsell_bench").await
}

/// Every answer of Dodo's API `latency_ms` late (0: none).
pub async fn set_upstream_latency(
    sandbox: &SandboxControl<'_>,
    latency_ms: u64,
) -> anyhow::Result<()> {
    let rules = if latency_ms == 0 {
        json!([])
    } else {
        json!([{ "route": "*", "latency_ms": latency_ms }])
    };
    sandbox.set_faults(rules).await
}
