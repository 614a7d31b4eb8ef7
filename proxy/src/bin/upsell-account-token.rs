//! `upsell-account-token`: mints the token with which the merchant's account page names a
//! subscriber to the widget (`<dodo-upsell account-token="…">`). The merchant's server runs
//! the same signing (see `upsell_proxy::plan_changes::token`) for the signed-in customer; this command
//! is for trying it, and for the demo.

use clap::Parser;
use upsell_proxy::plan_changes::token::{AccountClaims, ACCOUNT};
use upsell_proxy::tokens::TokenKeys;

#[derive(Debug, Parser)]
#[command(about = "Mint an account token for the plan change widget")]
struct Args {
    /// The subscription the signed-in customer may change.
    #[arg(long)]
    subscription: String,
    /// Its customer.
    #[arg(long)]
    customer: String,
    /// Minutes the token stays valid.
    #[arg(long, default_value_t = 60)]
    minutes: i64,
    /// The proxy's token keys (`kid=secret,…`); the first signs.
    #[arg(long, env = "UPSELL_TOKEN_KEYS", hide_env_values = true)]
    token_keys: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (1..=24 * 60).contains(&args.minutes),
        "--minutes must be between 1 and 1440"
    );
    let keys = TokenKeys::parse(&args.token_keys)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = keys.sign(&AccountClaims {
        typ: ACCOUNT.into(),
        sub: args.subscription,
        cus: args.customer,
        iat: now,
        exp: now + args.minutes * 60,
    })?;
    println!("{token}");
    Ok(())
}
