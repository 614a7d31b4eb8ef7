//! `upsell-proxy`: serves the upsell API for a merchant. `upsell-proxy report` prints the
//! report of its database instead.

use clap::Parser;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;
use upsell_proxy::analytics::{report, report_table};
use upsell_proxy::http::admin_token::AdminToken;
use upsell_proxy::http::offers_reload::{self, OffersFile};
use upsell_proxy::http::rate_limit::Rate;
use upsell_proxy::rules::OfferRules;
use upsell_proxy::storage::Storage;
use upsell_proxy::tokens::TokenKeys;
use upsell_proxy::ProxyConfig;

#[derive(Debug, Parser)]
#[command(
    about = "One-click post-purchase upsells for Dodo Payments: the merchant's server",
    after_help = "`upsell-proxy report` prints which offers convert (see `upsell-proxy report --help`)."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "UPSELL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Dodo API base URL: https://test.dodopayments.com (test_mode),
    /// https://live.dodopayments.com (live_mode), or a sandbox.
    #[arg(long, env = "DODO_PAYMENTS_BASE_URL")]
    dodo_base_url: String,
    /// Dodo API key.
    #[arg(long, env = "DODO_PAYMENTS_API_KEY", hide_env_values = true)]
    dodo_api_key: String,
    /// Secret of the Dodo webhook endpoint (whsec_…).
    #[arg(long, env = "DODO_PAYMENTS_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: String,
    /// Offer token keys, `kid=secret,kid=secret` (secrets of 32 bytes or more); the first signs.
    #[arg(long, env = "UPSELL_TOKEN_KEYS", hide_env_values = true)]
    token_keys: String,
    #[command(flatten)]
    sources: Sources,
    /// Comma-separated origins of the merchant's pages, e.g. https://shop.example.com.
    #[arg(long, env = "UPSELL_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Folder of static files to serve at / (the built widget).
    #[arg(long, env = "UPSELL_WIDGET_DIR")]
    widget_dir: Option<PathBuf>,
    /// Timeout of every call to Dodo, in seconds.
    #[arg(long, env = "UPSELL_UPSTREAM_TIMEOUT_SECS", default_value_t = 10)]
    upstream_timeout_secs: u64,
    /// Seconds after which a charge whose answer was lost, and that Dodo does not show, is
    /// taken as never made. Must exceed the upstream timeout.
    #[arg(long, env = "UPSELL_RECONCILE_GRACE_SECS", default_value_t = 60)]
    reconcile_grace_secs: u64,
    /// Seconds a plan change may wait for its customer's 3-D Secure. After it the proxy
    /// settles the change from Dodo's state (failed, unless Dodo has settled it), so that a
    /// new change may be offered; a late outcome from Dodo still counts. Longer than the life
    /// of Dodo's payment link, so that Dodo's own expiry usually settles it first.
    #[arg(
        long,
        env = "UPSELL_PLAN_CHANGE_ACTION_TIMEOUT_SECS",
        default_value_t = 7200
    )]
    plan_change_action_timeout_secs: u64,
    /// Seconds between two sweeps of Dodo's recent payments and refunds for what webhooks
    /// missed (revenue and refunds in the report).
    #[arg(long, env = "UPSELL_SWEEP_EVERY_SECS", default_value_t = 300)]
    sweep_every_secs: u64,
    /// Requests per minute from one client IP address (burst: a quarter of it).
    #[arg(long, env = "UPSELL_RATE_PER_CLIENT", default_value_t = NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN))]
    rate_per_client: NonZeroU32,
    /// Accepts and declines per minute with one offer token (also its burst).
    #[arg(long, env = "UPSELL_RATE_PER_TOKEN", default_value_t = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN))]
    rate_per_token: NonZeroU32,
    /// Behind a load balancer that sets X-Forwarded-For (and only then): limit clients by it.
    #[arg(long, env = "UPSELL_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Opens the report (GET /v1/report and the page /report), 32 characters or more; without
    /// it the report is off.
    #[arg(long, env = "UPSELL_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Strict mode: offers only for a payment named by a purchase token that the merchant's
    /// server signs with the token keys (see upsell-purchase-token); the page's URL alone opens
    /// nothing.
    #[arg(long, env = "UPSELL_REQUIRE_PURCHASE_TOKEN")]
    require_purchase_token: bool,
}

/// What both the server and the report read: the offer rules and the database.
#[derive(Debug, clap::Args)]
struct Sources {
    /// The offers file (TOML).
    #[arg(long, env = "UPSELL_OFFERS", default_value = "offers.toml")]
    offers: PathBuf,
    /// Database URL.
    #[arg(
        long,
        env = "UPSELL_DATABASE_URL",
        default_value = "sqlite://upsell.db"
    )]
    database_url: String,
}

/// `upsell-proxy report`: the report of `GET /v1/report`, read from the database.
#[derive(Debug, Parser)]
#[command(
    name = "upsell-proxy report",
    about = "Prints which offers convert, and each experiment's verdict, from the proxy's database"
)]
struct ReportArgs {
    #[command(flatten)]
    sources: Sources,
    /// Print the report as JSON (as `GET /v1/report` answers) instead of a table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args_os().nth(1).is_some_and(|a| a == "report") {
        return report(ReportArgs::parse_from(std::env::args_os().skip(1))).await;
    }
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = ProxyConfig {
        dodo_base_url: args.dodo_base_url,
        dodo_api_key: args.dodo_api_key,
        webhook_secret: args.webhook_secret,
        token_keys: TokenKeys::parse(&args.token_keys)?,
        rules: OfferRules::load(&args.sources.offers)?,
        offers_file: Some(OffersFile {
            path: args.sources.offers.clone(),
            check_every: offers_reload::CHECK_EVERY,
        }),
        database_url: args.sources.database_url,
        allowed_origins: args.allowed_origins,
        widget_dir: args.widget_dir,
        upstream_timeout: Duration::from_secs(args.upstream_timeout_secs),
        reconcile_grace: Duration::from_secs(args.reconcile_grace_secs),
        plan_change_action_timeout: Duration::from_secs(args.plan_change_action_timeout_secs),
        reconcile_every: Duration::from_secs(5),
        sweep_every: Duration::from_secs(args.sweep_every_secs.max(1)),
        rate_per_client: Rate {
            per_minute: args.rate_per_client,
            burst: NonZeroU32::new(args.rate_per_client.get() / 4).unwrap_or(NonZeroU32::MIN),
        },
        rate_per_token: Rate {
            per_minute: args.rate_per_token,
            burst: args.rate_per_token,
        },
        trust_forwarded_for: args.trust_forwarded_for,
        admin_token: args
            .admin_token
            .as_deref()
            .map(AdminToken::parse)
            .transpose()?,
        require_purchase_token: args.require_purchase_token,
    };
    anyhow::ensure!(
        config.reconcile_grace > config.upstream_timeout,
        "the reconcile grace must be longer than the upstream timeout"
    );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, offers = config.rules.offers.len(), "upsell proxy listening");
    upsell_proxy::serve(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Prints the report of the database the arguments name.
async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let Sources {
        offers,
        database_url,
    } = args.sources;
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        // Opening creates a missing file: a mistyped path would print an empty report.
        let file = path.split('?').next().unwrap_or(path);
        anyhow::ensure!(
            std::path::Path::new(file).exists(),
            "no database at {file} (UPSELL_DATABASE_URL)"
        );
    }
    let rules = OfferRules::load(&offers)?;
    let storage = Storage::open(&database_url).await?;
    let report = report::build(&storage, &rules, time::OffsetDateTime::now_utc()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report_table::render(&report));
    }
    Ok(())
}
