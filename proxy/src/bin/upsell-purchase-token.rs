//! `upsell-purchase-token`: mints the token with which a merchant's thank-you page names the
//! purchase it has just confirmed to the widget (`<dodo-upsell purchase-token="…">`), for a
//! proxy in strict mode (`UPSELL_REQUIRE_PURCHASE_TOKEN=true`). The merchant's server runs the
//! same signing (see `upsell_proxy::offers::purchase_token`) when it renders the page; this
//! command is for trying it, and for the demo.

use clap::Parser;
use upsell_proxy::offers::purchase_token::PurchaseClaims;
use upsell_proxy::tokens::TokenKeys;

#[derive(Debug, Parser)]
#[command(about = "Mint a purchase token for a proxy in strict mode")]
struct Args {
    /// The Dodo payment id the token opens the offers of (pay_…).
    #[arg(long)]
    payment: String,
    /// Minutes the token stays valid: as long as the page may be reloaded. The offer window
    /// closes the offers anyway.
    #[arg(long, default_value_t = 30)]
    minutes: i64,
    /// The proxy's token keys (`kid=secret,…`); the first signs.
    #[arg(long, env = "UPSELL_TOKEN_KEYS", hide_env_values = true)]
    token_keys: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.payment.starts_with("pay_"),
        "--payment is a Dodo payment id: pay_…"
    );
    anyhow::ensure!(
        (1..=24 * 60).contains(&args.minutes),
        "--minutes must be between 1 and 1440"
    );
    let keys = TokenKeys::parse(&args.token_keys)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = keys.sign(&PurchaseClaims::new(&args.payment, now, args.minutes))?;
    println!("{token}");
    Ok(())
}
