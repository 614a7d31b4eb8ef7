//! The sandbox and the proxy as the merchant runs them: their builds, each in its own process,
//! on loopback. The bench measures them this way (so the proxy's memory is its own), and the
//! soak kills and restarts them this way (a `SIGKILL` is only real on a process).

use anyhow::Context;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process, killed on drop.
pub struct Server {
    process: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
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

    /// `SIGKILL`: no shutdown, no flush, requests in flight cut off.
    pub fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A port nobody listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where a process's output goes: nowhere, or appended to a file (several lives of one proxy
/// share its log).
fn output_to(log: Option<&Path>) -> anyhow::Result<Stdio> {
    Ok(match log {
        None => Stdio::null(),
        Some(path) => File::options()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?
            .into(),
    })
}

/// How to start the sandbox.
pub struct SandboxLaunch<'a> {
    /// The folder with the `dodo-sandbox` build.
    pub bin_dir: &'a Path,
    /// Its seed file (the world it starts with).
    pub seed: &'a Path,
    pub api_key: &'a str,
    /// Where its webhooks go.
    pub webhook_url: String,
    pub webhook_secret: &'a str,
    /// Multiplies Dodo's webhook retry delays (1.0: hours, as Dodo waits; 0.001: seconds).
    pub webhook_time_scale: f64,
    /// Its stderr, when kept.
    pub log: Option<&'a Path>,
}

impl SandboxLaunch<'_> {
    /// Starts it with its control API on a free port, once it answers.
    pub async fn start(&self) -> anyhow::Result<Server> {
        let port = free_port()?;
        let process = Command::new(self.bin_dir.join("dodo-sandbox"))
            .arg("--seed")
            .arg(self.seed)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--api-key", self.api_key])
            .args(["--webhook-url", &self.webhook_url])
            .args(["--webhook-secret", self.webhook_secret])
            .args(["--webhook-time-scale", &self.webhook_time_scale.to_string()])
            .arg("--control-api")
            .stdout(Stdio::null())
            .stderr(output_to(self.log)?)
            .spawn()
            .context("starting dodo-sandbox")?;
        let server = Server {
            process,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for(&server.url, "/_sandbox/ledger").await?;
        Ok(server)
    }
}

/// How to start (and restart) one proxy.
#[derive(Clone)]
pub struct ProxyLaunch {
    /// The folder with the `upsell-proxy` build.
    pub bin_dir: PathBuf,
    pub port: u16,
    /// Its configuration, as the merchant sets it: environment variables.
    pub env: Vec<(String, String)>,
    /// Its stdout and stderr (JSON log lines), when kept.
    pub log: Option<PathBuf>,
}

impl ProxyLaunch {
    /// Starts it on its port, once it answers `/healthz`.
    pub async fn start(&self) -> anyhow::Result<Server> {
        let process = Command::new(self.bin_dir.join("upsell-proxy"))
            .env("UPSELL_LISTEN", format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(output_to(self.log.as_deref())?)
            .stderr(output_to(self.log.as_deref())?)
            .spawn()
            .context("starting upsell-proxy")?;
        let server = Server {
            process,
            url: format!("http://127.0.0.1:{}", self.port),
        };
        wait_for(&server.url, "/healthz").await?;
        Ok(server)
    }
}

/// Builds start in well under a second; a cold machine may take longer.
async fn wait_for(base: &str, path: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    crate::wait_until_answers(&http, &format!("{base}{path}"), Duration::from_secs(30)).await
}

/// A fresh SQLite file in `work_dir`.
pub fn sqlite_database(work_dir: &Path, prefix: &str) -> String {
    let file = work_dir.join(format!("{prefix}-{}.db", uuid::Uuid::new_v4().simple()));
    format!("sqlite://{}", file.display())
}

/// A fresh database on the PostgreSQL server that `admin_url` names.
pub async fn postgres_database(admin_url: &str, prefix: &str) -> anyhow::Result<String> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    crate::create_postgres_database(admin_url, &name).await
}
