//! `dodo-sandbox`: runs the Dodo stand-in from a seed file.

use clap::Parser;
use dodo_sandbox::{SandboxConfig, Seed};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(about = "A local, stateful stand-in for the Dodo Payments API")]
struct Args {
    /// Seed file (TOML) with customers, saved cards, products and purchases.
    #[arg(long, env = "SANDBOX_SEED")]
    seed: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Bearer key callers must present.
    #[arg(long, env = "SANDBOX_API_KEY", default_value = "sk_test_sandbox")]
    api_key: String,
    /// URL webhooks are delivered to.
    #[arg(long, env = "SANDBOX_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Secret webhooks are signed with (whsec_<base64>).
    #[arg(
        long,
        env = "SANDBOX_WEBHOOK_SECRET",
        default_value = "whsec_c2FuZGJveC13ZWJob29rLXNlY3JldA=="
    )]
    webhook_secret: String,
    /// Multiplies webhook retry delays; 1.0 is Dodo's real schedule.
    #[arg(long, default_value_t = 1.0)]
    webhook_time_scale: f64,
    /// Mount the /_sandbox/ control API (ledger, purchases).
    #[arg(long)]
    control_api: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let seed = Seed::load(&args.seed)?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!(
        "dodo-sandbox: {} customers, {} cards, {} products, {} payments, {} subscriptions from {} on http://{}",
        seed.customers.len(),
        seed.payment_methods.len(),
        seed.products.len(),
        seed.payments.len(),
        seed.subscriptions.len(),
        args.seed.display(),
        listener.local_addr()?
    );
    println!(
        "  Dodo API (Bearer {}…): POST /payments, GET /payments/{{id}}, GET /products/{{id}},",
        &args.api_key[..args.api_key.len().min(8)]
    );
    println!("    GET /customers/{{id}}/payment-methods, POST /checkouts, GET /checkouts/{{id}}, GET /subscriptions/{{id}},");
    println!("    POST /subscriptions/{{id}}/change-plan, POST /subscriptions/{{id}}/change-plan/preview");
    println!("  hosted pages: /hosted/checkout/{{id}}, /hosted/3ds/{{payment_id}}, /hosted/pay/{{payment_id}}");
    match &args.webhook_url {
        Some(url) => println!("  webhooks to {url}"),
        None => println!("  webhooks: none (no --webhook-url)"),
    }
    if args.control_api {
        println!("  control: /_sandbox/ledger, purchases, reset, seed, faults, clock, clock/advance, webhooks");
    }
    if !seed.faults.is_empty() {
        println!("  faults from the seed: {}", seed.faults.len());
    }
    let config = SandboxConfig {
        seed,
        api_key: args.api_key,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        webhook_time_scale: args.webhook_time_scale,
        control_api: args.control_api,
    };
    dodo_sandbox::serve(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
