//! The soak's processes: the sandbox, and one or two proxy instances on one database, each a
//! process of its own so that it can be killed (`SIGKILL`) mid-request and started again on
//! the same port and database, as a crashed server is; and the PostgreSQL server's restart.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::Mutex;
use upsell_e2e::processes::{self, ProxyLaunch, SandboxLaunch, Server};

pub const API_KEY: &str = "sk_test_soak";
const WEBHOOK_SECRET: &str = "whsec_c29hay13ZWJob29rLXNlY3JldC1mb3ItdGhlLXNhbmRib3g=";
pub const TOKEN_KEYS: &str = "soak=soak-token-key-0123456789abcdef0123456789";
pub const ADMIN_TOKEN: &str = "soak-admin-token-0123456789abcdef";
/// How long a lost charge may still show up at Dodo: short, so the quiet period is short.
pub const RECONCILE_GRACE_SECS: u64 = 3;

/// One proxy instance: how to start it, and the process while it runs.
pub struct Instance {
    launch: ProxyLaunch,
    process: Mutex<Option<Server>>,
    pub url: String,
}

impl Instance {
    /// Kills it with `SIGKILL`, waits `down_for`, and starts it again.
    pub async fn crash_and_restart(&self, down_for: Duration) -> anyhow::Result<()> {
        let mut process = self.process.lock().await;
        if let Some(server) = process.as_mut() {
            server.kill();
        }
        *process = None;
        tokio::time::sleep(down_for).await;
        *process = Some(self.launch.start().await?);
        Ok(())
    }

    /// Running, whatever happened to it.
    pub async fn ensure_running(&self) -> anyhow::Result<()> {
        let mut process = self.process.lock().await;
        if process.is_none() {
            *process = Some(self.launch.start().await?);
        }
        Ok(())
    }
}

pub struct Stack {
    pub sandbox: Server,
    pub instances: Vec<Instance>,
    /// Every instance's log, one file each (JSON lines).
    pub logs: Vec<PathBuf>,
}

/// What a round runs on.
pub struct RoundSetup<'a> {
    pub bin_dir: &'a Path,
    pub work_dir: &'a Path,
    /// The world's seed file and the offers file.
    pub seed_file: &'a Path,
    pub offers_file: &'a Path,
    pub database_url: &'a str,
    pub instances: usize,
    pub name: &'a str,
}

impl Stack {
    pub async fn start(setup: &RoundSetup<'_>) -> anyhow::Result<Stack> {
        let ports: Vec<u16> = (0..setup.instances)
            .map(|_| processes::free_port())
            .collect::<anyhow::Result<_>>()?;
        // Webhooks go to the first instance; when it is down, Dodo's retries find it back.
        let sandbox = SandboxLaunch {
            bin_dir: setup.bin_dir,
            seed: setup.seed_file,
            api_key: API_KEY,
            webhook_url: format!("http://127.0.0.1:{}/webhooks/dodo", ports[0]),
            webhook_secret: WEBHOOK_SECRET,
            webhook_time_scale: 0.001,
            log: None,
        }
        .start()
        .await?;
        let mut instances = Vec::new();
        let mut logs = Vec::new();
        for (n, port) in ports.into_iter().enumerate() {
            let log = setup
                .work_dir
                .join(format!("soak-{}-proxy-{n}.log", setup.name));
            let _ = std::fs::remove_file(&log);
            let env = [
                ("DODO_PAYMENTS_BASE_URL", sandbox.url.as_str()),
                ("DODO_PAYMENTS_API_KEY", API_KEY),
                ("DODO_PAYMENTS_WEBHOOK_SECRET", WEBHOOK_SECRET),
                ("UPSELL_TOKEN_KEYS", TOKEN_KEYS),
                ("UPSELL_ADMIN_TOKEN", ADMIN_TOKEN),
                ("UPSELL_OFFERS", &setup.offers_file.display().to_string()),
                ("UPSELL_DATABASE_URL", setup.database_url),
                ("UPSELL_UPSTREAM_TIMEOUT_SECS", "1"),
                (
                    "UPSELL_RECONCILE_GRACE_SECS",
                    &RECONCILE_GRACE_SECS.to_string(),
                ),
                // Webhooks may never arrive: the sweep finds what they missed.
                ("UPSELL_SWEEP_EVERY_SECS", "2"),
                ("UPSELL_RATE_PER_CLIENT", "1000000000"),
                ("UPSELL_RATE_PER_TOKEN", "1000000"),
                ("RUST_LOG", "warn"),
            ];
            let launch = ProxyLaunch {
                bin_dir: setup.bin_dir.to_path_buf(),
                port,
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                log: Some(log.clone()),
            };
            let process = launch
                .start()
                .await
                .with_context(|| format!("starting proxy instance {n}"))?;
            instances.push(Instance {
                url: process.url.clone(),
                launch,
                process: Mutex::new(Some(process)),
            });
            logs.push(log);
        }
        Ok(Stack {
            sandbox,
            instances,
            logs,
        })
    }
}

/// Restarts the PostgreSQL server with `command` (e.g. `pg_ctlcluster 17 upsell restart`).
pub async fn restart_postgres(command: &str) -> anyhow::Result<()> {
    let mut words = command.split_whitespace();
    let program = words.next().context("empty PostgreSQL restart command")?;
    let status = tokio::process::Command::new(program)
        .args(words)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .with_context(|| format!("running {command}"))?;
    anyhow::ensure!(status.success(), "{command} failed: {status}");
    Ok(())
}
