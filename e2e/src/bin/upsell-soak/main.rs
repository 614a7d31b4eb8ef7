//! `upsell-soak`: the money path under random combinations of faults (`cargo xtask soak`).
//!
//! Starts the sandbox and two proxy instances on one PostgreSQL database (then, in a second
//! round, one proxy on SQLite); runs simulated customers (`customers`) while a fault schedule
//! (`faults`) breaks things around them; stops the faults and waits out a quiet period in which
//! reconciliation may finish; then checks the invariants (`invariants`) against the sandbox's
//! ledger and prints a table. Exits non-zero on any violation.
//!
//! `--seed` fixes which customers do what and which faults come when, in what order; the
//! operating system still decides how concurrent requests interleave, so a failure found once
//! is likely, not certain, to come back with its seed (run it a few times, or longer).

mod client;
mod customers;
mod faults;
mod invariants;
mod journal;
mod stack;
mod world;

use anyhow::Context;
use clap::Parser;
use client::Client;
use journal::Journal;
use stack::{RoundSetup, Stack};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upsell_e2e::SandboxControl;
use upsell_proxy::tokens::TokenKeys;

#[derive(Debug, Parser)]
struct Args {
    /// Folder with the builds of `dodo-sandbox` and `upsell-proxy`.
    #[arg(long)]
    bin_dir: PathBuf,
    /// A folder for the databases, the generated world and the proxies' logs.
    #[arg(long)]
    work_dir: PathBuf,
    /// Seconds of customers and faults per round.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Fixes the schedule of actions and faults; a random one when absent (always printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated customers shopping at once.
    #[arg(long, default_value_t = 6)]
    customers: usize,
    /// A PostgreSQL server's admin URL: the first round runs two proxy instances on it.
    #[arg(long, env = "UPSELL_TEST_POSTGRES_URL")]
    postgres: Option<String>,
    /// The command that restarts that PostgreSQL server (e.g. `pg_ctlcluster 17 upsell
    /// restart`); without it, the server is not restarted.
    #[arg(long)]
    postgres_restart: Option<String>,
}

/// What every customer, the fault schedule and the checks share.
pub struct Soak {
    pub client: Client,
    pub sandbox_url: String,
    pub stack: Stack,
    pub keys: TokenKeys,
    pub journal: Journal,
    stop: AtomicBool,
}

impl Soak {
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    pub fn instances(&self) -> usize {
        self.stack.instances.len()
    }
    /// `POST path` with a JSON body to instance `instance`, judged and counted.
    pub async fn post(
        &self,
        instance: usize,
        path: &str,
        body: &serde_json::Value,
    ) -> client::Answer {
        let route = format!("POST {path}");
        self.client
            .call(&self.journal, instance, &route, path, Some(body), None)
            .await
    }
    pub fn http(&self) -> &reqwest::Client {
        &self.client.http
    }
    pub fn sandbox(&self) -> SandboxControl<'_> {
        SandboxControl {
            url: &self.sandbox_url,
            http: &self.client.http,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let again = format!("cargo xtask soak --seed {seed} --seconds {}", args.seconds);
    println!("soak seed {seed} (again: {again})");
    std::fs::create_dir_all(&args.work_dir)?;
    let (world, customers) = world::seed(args.customers * 4, 3);
    let seed_file = args.work_dir.join("soak-world.toml");
    std::fs::write(&seed_file, world)?;
    let offers_file = args.work_dir.join("soak-offers.toml");
    std::fs::write(&offers_file, upsell_e2e::DEMO_OFFERS)?;

    let mut rounds = Vec::new();
    match &args.postgres {
        Some(admin) => {
            let database = upsell_e2e::processes::postgres_database(admin, "upsell_soak").await?;
            rounds.push((
                "PostgreSQL, two instances",
                database,
                2,
                args.postgres_restart.clone(),
            ));
        }
        None => println!("No PostgreSQL server given: the SQLite round only."),
    }
    let sqlite = upsell_e2e::processes::sqlite_database(&args.work_dir, "soak");
    rounds.push(("SQLite, one instance", sqlite, 1, None));

    let mut failed = false;
    for (n, (name, database_url, instances, restart)) in rounds.into_iter().enumerate() {
        let setup = RoundSetup {
            bin_dir: &args.bin_dir,
            work_dir: &args.work_dir,
            seed_file: &seed_file,
            offers_file: &offers_file,
            database_url: &database_url,
            instances,
            name: if n == 0 && instances == 2 {
                "postgres"
            } else {
                "sqlite"
            },
        };
        let round_seed = seed.wrapping_add(n as u64);
        let ok = round(
            &args,
            &setup,
            name,
            round_seed,
            &customers,
            restart.as_deref(),
        )
        .await?;
        failed |= !ok;
    }
    if failed {
        anyhow::bail!("the soak found violations (seed {seed}; again: {again})");
    }
    println!("soak passed (seed {seed})");
    Ok(())
}

/// One round: customers and faults for `--seconds`, the quiet period, the checks, the table.
async fn round(
    args: &Args,
    setup: &RoundSetup<'_>,
    name: &str,
    seed: u64,
    customers: &[world::Customer],
    postgres_restart: Option<&str>,
) -> anyhow::Result<bool> {
    let stack = Stack::start(setup).await?;
    let soak = Arc::new(Soak {
        client: Client {
            http: reqwest::Client::new(),
            proxies: stack.instances.iter().map(|i| i.url.clone()).collect(),
        },
        sandbox_url: stack.sandbox.url.clone(),
        stack,
        keys: TokenKeys::parse(stack::TOKEN_KEYS)?,
        journal: Journal::default(),
        stop: AtomicBool::new(false),
    });
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut shoppers = Vec::new();
    for who in 0..args.customers {
        let theirs: Vec<world::Customer> = customers
            .iter()
            .enumerate()
            .filter(|(i, _)| i % args.customers == who)
            .map(|(_, c)| c.clone())
            .collect();
        shoppers.push(tokio::spawn(customers::shop(
            Arc::clone(&soak),
            rng.fork(),
            theirs,
        )));
    }
    let refunder = tokio::spawn(customers::refund_now_and_then(
        Arc::clone(&soak),
        rng.fork(),
    ));
    let stopper = {
        let soak = Arc::clone(&soak);
        let seconds = args.seconds;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            soak.stop.store(true, Ordering::Relaxed);
        })
    };
    faults::run(&soak, rng.fork(), postgres_restart)
        .await
        .context("the fault schedule")?;
    stopper.await?;
    for shopper in shoppers {
        shopper.await?;
    }
    refunder.await?;
    let busy = started.elapsed();

    // The quiet period: no faults, every instance up; reconciliation and webhooks catch up.
    let quiet = Instant::now();
    let statuses = invariants::settle(
        &soak,
        Duration::from_secs(stack::RECONCILE_GRACE_SECS * 2 + 20),
    )
    .await?;
    let record_panics = || -> Vec<String> {
        soak.stack
            .logs
            .iter()
            .filter_map(|log| std::fs::read_to_string(log).ok())
            .flat_map(|text| {
                text.lines()
                    .filter(|l| l.contains("panicked"))
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    // Revenue and refunds arrive by webhook (retried by Dodo): give them until the report
    // agrees, or the patience runs out.
    let mut verdicts;
    loop {
        let ledger = soak.sandbox().ledger().await?;
        let report = soak
            .http()
            .get(format!("{}/v1/report", soak.stack.instances[0].url))
            .bearer_auth(stack::ADMIN_TOKEN)
            .send()
            .await?
            .json()
            .await?;
        verdicts = soak
            .journal
            .with(|record| invariants::check(record, &ledger, &statuses, &report, record_panics()));
        let clean = verdicts.iter().all(|v| v.violations.is_empty());
        if clean || quiet.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let ledger = soak.sandbox().ledger().await?;
    print_table(&soak, name, seed, busy, quiet.elapsed(), &ledger, &verdicts);
    Ok(verdicts.iter().all(|v| v.violations.is_empty()))
}

fn print_table(
    soak: &Soak,
    name: &str,
    seed: u64,
    busy: Duration,
    quiet: Duration,
    ledger: &serde_json::Value,
    verdicts: &[invariants::Verdict],
) {
    println!();
    println!(
        "== {name}: seed {seed}, {:.0} s of customers and faults, {:.0} s quiet",
        busy.as_secs_f64(),
        quiet.as_secs_f64()
    );
    soak.journal.with(|record| {
        println!("{:<64} {:>8}", "Actions", "count");
        for (kind, n) in &record.actions {
            println!("  {kind:<62} {n:>8}");
        }
        println!("{:<64} {:>8}", "Faults", "count");
        for (kind, n) in &record.faults {
            println!("  {kind:<62} {n:>8}");
        }
        println!("{:<64} {:>8}", "The proxy's answers", "count");
        for (kind, n) in &record.answers {
            println!("  {kind:<62} {n:>8}");
        }
        let accepts_per_second = record.accepts.len() as f64 / busy.as_secs_f64().max(1.0);
        println!("  {:<62} {:>8.1}", "accepts per second", accepts_per_second);
    });
    let charges: Vec<&serde_json::Value> = ledger["charges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["metadata"]["upsell_offer_id"].is_string()
                || c["metadata"]["upsell_plan_change_ref"].is_string()
        })
        .collect();
    let succeeded = charges
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .count();
    let refunds = ledger["refunds"].as_array().map_or(0, Vec::len);
    println!("{:<64} {:>8}", "Ledger", "count");
    println!(
        "  {:<62} {:>8}",
        "charges made by the proxy (any status)",
        charges.len()
    );
    println!("  {:<62} {:>8}", "of which succeeded", succeeded);
    println!("  {:<62} {:>8}", "refunds", refunds);
    println!("{:<64} {:>8}", "Invariants", "violations");
    for verdict in verdicts {
        println!(
            "  {:<62} {:>8}   ({} checked)",
            verdict.name,
            verdict.violations.len(),
            verdict.checked
        );
        for violation in verdict.violations.iter().take(10) {
            println!("      {violation}");
        }
    }
}
