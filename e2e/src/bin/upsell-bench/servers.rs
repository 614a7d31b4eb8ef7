//! The sandbox and the proxy as the merchant runs them: their release binaries, each in its own
//! process (so the proxy's memory is its own), on loopback.

use anyhow::Context;
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use upsell_e2e::SandboxControl;

/// Release builds start in well under a second; a cold machine may take longer.
async fn wait_until_answers(base: &str, path: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    upsell_e2e::wait_until_answers(&http, &format!("{base}{path}"), Duration::from_secs(30)).await
}

pub const API_KEY: &str = "sk_test_bench";
const WEBHOOK_SECRET: &str = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtZm9yLXRoZS1zYW5kYm94";
const TOKEN_KEYS: &str = "bench=bench-token-key-0123456789abcdef0123456789";

/// Where the bench finds what it starts.
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

/// A child process, stopped on drop.
pub struct Server {
    process: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Server {
    /// Resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM` of /proc/<pid>/status).
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id()))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .with_context(|| format!("no {name} in /proc status"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub async fn start_sandbox(setup: &Setup, proxy_port: u16) -> anyhow::Result<Server> {
    let port = free_port()?;
    let process = Command::new(setup.bin_dir.join("dodo-sandbox"))
        .arg("--seed")
        .arg(&setup.seed)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--api-key", API_KEY])
        .args([
            "--webhook-url",
            &format!("http://127.0.0.1:{proxy_port}/webhooks/dodo"),
        ])
        .args(["--webhook-secret", WEBHOOK_SECRET])
        .arg("--control-api")
        .stdout(Stdio::null())
        .spawn()
        .context("starting dodo-sandbox")?;
    let server = Server {
        process,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_until_answers(&server.url, "/_sandbox/ledger").await?;
    Ok(server)
}

/// The proxy on `port` with its storage at `database_url`, limits raised so that the load
/// generator (one client) measures the proxy rather than its rate limiter.
pub async fn start_proxy(
    setup: &Setup,
    port: u16,
    sandbox_url: &str,
    database_url: &str,
) -> anyhow::Result<Server> {
    let process = Command::new(setup.bin_dir.join("upsell-proxy"))
        .env("UPSELL_LISTEN", format!("127.0.0.1:{port}"))
        .env("DODO_PAYMENTS_BASE_URL", sandbox_url)
        .env("DODO_PAYMENTS_API_KEY", API_KEY)
        .env("DODO_PAYMENTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("UPSELL_TOKEN_KEYS", TOKEN_KEYS)
        .env("UPSELL_OFFERS", &setup.offers)
        .env("UPSELL_DATABASE_URL", database_url)
        .env("UPSELL_WIDGET_DIR", &setup.site)
        .env("UPSELL_RATE_PER_CLIENT", "1000000000")
        .env("UPSELL_RATE_PER_TOKEN", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting upsell-proxy")?;
    let server = Server {
        process,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_until_answers(&server.url, "/healthz").await?;
    Ok(server)
}

pub fn proxy_port() -> anyhow::Result<u16> {
    free_port()
}

/// A fresh SQLite file in the work folder.
pub fn sqlite_database(work_dir: &Path) -> anyhow::Result<String> {
    let file = work_dir.join(format!("bench-{}.db", uuid::Uuid::new_v4().simple()));
    Ok(format!("sqlite://{}", file.display()))
}

/// A fresh database on the PostgreSQL server that `admin_url` names.
pub async fn postgres_database(admin_url: &str) -> anyhow::Result<String> {
    let name = format!("upsell_bench_{}", uuid::Uuid::new_v4().simple());
    upsell_e2e::create_postgres_database(admin_url, &name).await
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
