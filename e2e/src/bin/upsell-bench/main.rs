//! `upsell-bench`: the runtime half of `cargo xtask bench` (xtask measures the sizes). Starts
//! the release sandbox and proxy, measures time to offer in headless Chromium against a plain
//! page, the proxy's offer lookups against the sandbox's own floor at 0 and 50 ms of upstream
//! latency, accepts per second with exactly-once checked on SQLite and PostgreSQL, and the
//! proxy's memory. Prints one `ROW` line per figure (tab-separated: figure, value, budget or
//! peer, ratio), which xtask puts in its table.

mod accepts;
mod load;
mod servers;
mod time_to_offer;

use anyhow::Context;
use clap::Parser;
use load::{percentile, LoadResult};
use servers::Setup;
use std::path::PathBuf;
use std::time::Duration;
use time_to_offer::{Network, Page};
use upsell_e2e::SandboxControl;

#[derive(Debug, Parser)]
struct Args {
    /// Folder with the release builds of `dodo-sandbox` and `upsell-proxy`.
    #[arg(long)]
    bin_dir: PathBuf,
    /// The sandbox's seed (the demo world).
    #[arg(long)]
    seed: PathBuf,
    /// The proxy's offers file.
    #[arg(long)]
    offers: PathBuf,
    /// The offers file the lookups are measured with: every targeting condition in use.
    #[arg(long)]
    targeted_offers: PathBuf,
    /// The widget's build with the plain peer page beside it.
    #[arg(long)]
    site: PathBuf,
    /// A folder for the bench's databases.
    #[arg(long)]
    work_dir: PathBuf,
    /// A PostgreSQL server's admin URL, for the accepts on PostgreSQL.
    #[arg(long, env = "UPSELL_TEST_POSTGRES_URL")]
    postgres: Option<String>,
    /// Cold page loads of each page, on each network.
    #[arg(long, default_value_t = 20)]
    loads: usize,
    /// Seconds of load per proxy figure.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Concurrent clients of the load generator.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print each page's resource timings (start and end, ms) of every load, to stderr.
    #[arg(long)]
    trace: bool,
    /// Measure only these: time-to-offer, lookups, accepts (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Offers accepted per database.
    #[arg(long, default_value_t = 200)]
    accepts: usize,
}

/// One line of the table.
fn row(figure: &str, value: String, reference: String, ratio: String) {
    println!("ROW\t{figure}\t{value}\t{reference}\t{ratio}");
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let setup = Setup {
        bin_dir: args.bin_dir.clone(),
        seed: args.seed.clone(),
        offers: args.offers.clone(),
        site: args.site.clone(),
        work_dir: args.work_dir.clone(),
    };
    let http = reqwest::Client::new();
    let proxy_port = servers::proxy_port()?;
    let sandbox_server = servers::start_sandbox(&setup, proxy_port).await?;
    let sandbox = SandboxControl {
        url: &sandbox_server.url,
        http: &http,
    };
    let sqlite = servers::sqlite_database(&setup.work_dir)?;
    let proxy = servers::start_proxy(&setup, proxy_port, &sandbox_server.url, &sqlite).await?;

    let wanted = |part: &str| args.only.is_empty() || args.only.iter().any(|o| o == part);
    if wanted("time-to-offer") {
        time_to_offer(&args, &sandbox, &proxy.url).await?;
    }
    if wanted("lookups") {
        // A proxy of its own, with every targeting condition in use (its webhooks, which the
        // lookups do not need, go to the first proxy).
        let targeted = servers::start_proxy(
            &Setup {
                offers: args.targeted_offers.clone(),
                ..setup.clone()
            },
            servers::proxy_port()?,
            &sandbox_server.url,
            &servers::sqlite_database(&setup.work_dir)?,
        )
        .await?;
        offer_lookups(&args, &http, &sandbox, &targeted.url).await?;
        let (_, peak) = targeted.memory_kib()?;
        row(
            "proxy resident memory, peak after the offer lookups",
            format!("{:.1} MiB", peak as f64 / 1024.0),
            String::new(),
            String::new(),
        );
    }
    if !wanted("accepts") {
        return Ok(());
    }
    accepts_on(&args, &http, &sandbox, &proxy, "SQLite").await?;
    drop(proxy);
    match &args.postgres {
        Some(admin) => {
            let database = servers::postgres_database(admin).await?;
            let proxy =
                servers::start_proxy(&setup, proxy_port, &sandbox_server.url, &database).await?;
            accepts_on(&args, &http, &sandbox, &proxy, "PostgreSQL").await?;
        }
        None => eprintln!("No PostgreSQL server given: accepts measured on SQLite only."),
    }
    Ok(())
}

async fn time_to_offer(
    args: &Args,
    sandbox: &SandboxControl<'_>,
    proxy_url: &str,
) -> anyhow::Result<()> {
    let driver = upsell_e2e::browser::start_driver().await?;
    for network in [Network::Loopback, Network::Slow4G] {
        let (mut widget, mut plain) = (Vec::new(), Vec::new());
        for i in 0..args.loads {
            // Alternate which page goes first, so neither always follows the other.
            let order = if i % 2 == 0 {
                [Page::Widget, Page::Plain]
            } else {
                [Page::Plain, Page::Widget]
            };
            for page in order {
                let load =
                    time_to_offer::load(&driver, sandbox, proxy_url, page, network, args.trace)
                        .await
                        .with_context(|| {
                            format!("{page:?} page on {}, load {}", network.name(), i + 1)
                        })?;
                match page {
                    Page::Widget => widget.push(load),
                    Page::Plain => plain.push(load),
                }
            }
        }
        let sorted = |loads: &[time_to_offer::Load]| {
            let mut v: Vec<f64> = loads.iter().map(|l| l.to_offer_ms).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let (w, p) = (sorted(&widget), sorted(&plain));
        let goal = match network {
            Network::Loopback => 1.25,
            Network::Slow4G => 1.5,
        };
        for (name, q) in [("median", 0.5), ("p95", 0.95)] {
            let (wq, pq) = (percentile(&w, q), percentile(&p, q));
            row(
                &format!(
                    "time to offer from the document's first byte, {name} of {} cold loads, {}",
                    args.loads,
                    network.name()
                ),
                format!("{wq:.0} ms"),
                format!("plain page {pq:.0} ms; goal ≤ {goal}×"),
                format!("{:.2}×", wq / pq),
            );
        }
        let worst = |loads: &[time_to_offer::Load]| {
            loads.iter().map(|l| l.layout_shift).fold(0.0_f64, f64::max)
        };
        row(
            &format!("cumulative layout shift, worst load, {}", network.name()),
            shift_text(worst(&widget)),
            format!("budget 0; plain page {}", shift_text(worst(&plain))),
            String::new(),
        );
        if network == Network::Loopback {
            let mut bytes: Vec<f64> = widget.iter().map(|l| l.widget_bytes as f64).collect();
            bytes.sort_by(f64::total_cmp);
            row(
                "widget bytes on the network before the first offer (cold, headers included)",
                format!("{:.1} KB", percentile(&bytes, 0.5) / 1000.0),
                "as the proxy serves them: brotli".into(),
                String::new(),
            );
        }
    }
    let again = time_to_offer::returning(&driver, sandbox, proxy_url).await?;
    row(
        "returning customer, same release: widget bytes on the network",
        format!("{again} B"),
        "goal 0 (304 or cache)".into(),
        String::new(),
    );
    Ok(())
}

/// Offer lookups through the proxy with every targeting condition in use, and the upstream
/// calls it must make for each sent straight to the sandbox, in the same order and with the
/// same parallelism: the floor. The calls: the purchase's payment; then at once the
/// customer's cards, their subscriptions, and their succeeded payments followed by each
/// earlier one-time payment (for its products).
async fn offer_lookups(
    args: &Args,
    http: &reqwest::Client,
    sandbox: &SandboxControl<'_>,
    proxy_url: &str,
) -> anyhow::Result<()> {
    let payment_id = sandbox
        .purchase_minutes_ago("cus_demo_ada", "prod_basic_plan", 0)
        .await?;
    let duration = Duration::from_secs(args.seconds);
    for latency_ms in [0, 50] {
        servers::set_upstream_latency(sandbox, latency_ms).await?;
        let lookup = {
            let (http, url) = (http.clone(), format!("{proxy_url}/v1/offers"));
            let payment_id = payment_id.clone();
            move |_| {
                let request = http.get(&url).query(&[("payment_id", &payment_id)]).send();
                async move {
                    request.await?.error_for_status()?.bytes().await?;
                    anyhow::Ok(())
                }
            }
        };
        let floor = {
            let http = http.clone();
            let base = sandbox.url.to_string();
            let payment_id = payment_id.clone();
            move |_| floor_calls(http.clone(), base.clone(), payment_id.clone())
        };
        // One client: the time a customer waits on a server with room to spare. Then
        // `concurrency` clients: throughput, and latency once the 2 cores are the limit.
        for clients in [1, args.concurrency] {
            // Warm the proxy's connections and product cache (60 s) before each measure.
            load::run(clients, Duration::from_secs(1), lookup.clone()).await;
            let through_proxy = load::run(clients, duration, lookup.clone()).await;
            let straight = load::run(clients, duration, floor.clone()).await;
            lookup_rows(latency_ms, &through_proxy, &straight, clients)?;
        }
    }
    servers::set_upstream_latency(sandbox, 0).await
}

/// What a lookup must ask Dodo, straight to the sandbox (see `offer_lookups`).
async fn floor_calls(
    http: reqwest::Client,
    base: String,
    payment_id: String,
) -> anyhow::Result<()> {
    let get = |path: String| {
        let request = http
            .get(format!("{base}{path}"))
            .bearer_auth(servers::API_KEY)
            .send();
        async move {
            let body = request.await?.error_for_status()?.bytes().await?;
            anyhow::Ok(body)
        }
    };
    get(format!("/payments/{payment_id}")).await?;
    let cards = get("/customers/cus_demo_ada/payment-methods".into());
    let subscriptions =
        get("/subscriptions?customer_id=cus_demo_ada&page_size=100&page_number=0".into());
    let history = async {
        let list =
            get("/payments?customer_id=cus_demo_ada&status=succeeded&page_size=100".into()).await?;
        let list: serde_json::Value = serde_json::from_slice(&list)?;
        let earlier: Vec<String> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["payment_id"] != payment_id.as_str() && p["subscription_id"].is_null())
            .filter(|p| p["refund_status"] != "full")
            .take(20)
            .filter_map(|p| p["payment_id"].as_str().map(String::from))
            .collect();
        let mut reads = tokio::task::JoinSet::new();
        for id in earlier {
            reads.spawn(get(format!("/payments/{id}")));
        }
        while let Some(read) = reads.join_next().await {
            read??;
        }
        anyhow::Ok(())
    };
    tokio::try_join!(cards, subscriptions, history)?;
    Ok(())
}

fn lookup_rows(
    latency_ms: u64,
    proxy: &LoadResult,
    floor: &LoadResult,
    clients: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        proxy.errors == 0 && floor.errors == 0,
        "errors under load: {} through the proxy, {} straight to the sandbox",
        proxy.errors,
        floor.errors
    );
    let setting = format!(
        "{latency_ms} ms upstream latency, {clients} client{}",
        if clients == 1 { "" } else { "s" }
    );
    row(
        &format!("offer lookups per second, {setting}"),
        format!("{:.0}/s ({} requests)", proxy.per_second, proxy.requests),
        format!("sandbox floor {:.0}/s", floor.per_second),
        format!("{:.2}×", proxy.per_second / floor.per_second),
    );
    for (name, q, budget) in [("p50", 0.5, 1.0), ("p99", 0.99, 5.0)] {
        let (p, f) = (ms(proxy.percentile(q)), ms(floor.percentile(q)));
        row(
            &format!("offer lookup {name}, {setting}"),
            format!("{p:.2} ms"),
            format!("sandbox floor {f:.2} ms; proxy adds ≤ {budget} ms"),
            format!("{:+.2} ms", p - f),
        );
    }
    Ok(())
}

async fn accepts_on(
    args: &Args,
    http: &reqwest::Client,
    sandbox: &SandboxControl<'_>,
    proxy: &servers::Server,
    database: &str,
) -> anyhow::Result<()> {
    let result = accepts::run(http, sandbox, &proxy.url, args.accepts, args.concurrency).await?;
    row(
        &format!(
            "accepts per second, {database} (3 requests per offer, {} clients)",
            args.concurrency
        ),
        format!("{:.0}/s", result.per_second),
        format!(
            "charged exactly once: {} of {}",
            result.charged_once, result.offers
        ),
        String::new(),
    );
    anyhow::ensure!(
        result.charged_once == result.offers,
        "exactly-once broke on {database}: {} of {} offers charged once",
        result.charged_once,
        result.offers
    );
    let (_, peak) = proxy.memory_kib()?;
    row(
        &format!("proxy resident memory, peak after the accepts on {database}"),
        format!("{:.1} MiB", peak as f64 / 1024.0),
        String::new(),
        String::new(),
    );
    Ok(())
}

/// A layout shift score: exactly 0 when no shift was recorded at all.
fn shift_text(score: f64) -> String {
    if score == 0.0 {
        "0 (no shift recorded)".into()
    } else {
        format!("{score:.4}")
    }
}
