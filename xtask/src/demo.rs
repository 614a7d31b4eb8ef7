//! `cargo xtask demo`: the sandbox, the proxy and the widget on a demo thank-you page.

use crate::tools;
use anyhow::Context;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The demo's webhook secret: the sandbox signs with it, the proxy verifies with it.
const DEMO_WEBHOOK_SECRET: &str = "whsec_ZGVtby13ZWJob29rLXNlY3JldC1mb3ItdGhlLXNhbmRib3g=";
const DEMO_API_KEY: &str = "sk_test_demo";

pub fn run(root: &Path, port: u16, sandbox_port: u16) -> anyhow::Result<()> {
    tools::ensure_build_tools(root)?;
    tools::build_widget(root)?;
    tools::run(Command::new("cargo").args(["build", "-p", "dodo-sandbox", "-p", "upsell-proxy"]))?;

    let demo_dir = root.join("target").join("demo");
    std::fs::create_dir_all(&demo_dir)?;
    for file in ["upsell.db", "upsell.db-wal", "upsell.db-shm"] {
        let _ = std::fs::remove_file(demo_dir.join(file));
    }
    let proxy_url = format!("http://127.0.0.1:{port}");
    let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
    let bin = root.join("target").join("debug");

    let sandbox = Command::new(bin.join("dodo-sandbox"))
        .arg("--seed")
        .arg(root.join("sandbox/seed/demo.toml"))
        .args(["--listen", &format!("127.0.0.1:{sandbox_port}")])
        .args(["--api-key", DEMO_API_KEY])
        .args(["--webhook-url", &format!("{proxy_url}/webhooks/dodo")])
        .args(["--webhook-secret", DEMO_WEBHOOK_SECRET])
        .arg("--control-api")
        .spawn()
        .context("starting the sandbox")?;
    let mut sandbox = KillOnDrop(sandbox);
    wait_for_port(sandbox_port, &mut sandbox.0)?;

    let token_keys = format!("demo={}", random_secret()?);
    // The account page, as the merchant's server would render it for Hedy, signed in.
    let account_token = Command::new(bin.join("upsell-account-token"))
        .args([
            "--subscription",
            "sub_demo_hedy",
            "--customer",
            "cus_demo_hedy",
        ])
        .args(["--minutes", "1440"])
        .env("UPSELL_TOKEN_KEYS", &token_keys)
        .output()
        .context("minting the demo account token")?;
    anyhow::ensure!(
        account_token.status.success(),
        "upsell-account-token failed"
    );
    let template = std::fs::read_to_string(root.join("demo/account.html"))?;
    std::fs::write(
        root.join("dist/account.html"),
        template.replace(
            "ACCOUNT_TOKEN",
            String::from_utf8_lossy(&account_token.stdout).trim(),
        ),
    )?;

    // Opens the report; fresh each run, like the token keys.
    let admin_token = random_secret()?;
    let database_url = format!("sqlite://{}", demo_dir.join("upsell.db").display());
    let proxy = Command::new(bin.join("upsell-proxy"))
        .env("UPSELL_LISTEN", format!("127.0.0.1:{port}"))
        .env("DODO_PAYMENTS_BASE_URL", &sandbox_url)
        .env("DODO_PAYMENTS_API_KEY", DEMO_API_KEY)
        .env("DODO_PAYMENTS_WEBHOOK_SECRET", DEMO_WEBHOOK_SECRET)
        .env("UPSELL_TOKEN_KEYS", &token_keys)
        .env("UPSELL_OFFERS", root.join("proxy/offers.toml"))
        .env("UPSELL_DATABASE_URL", &database_url)
        .env("UPSELL_WIDGET_DIR", root.join("dist"))
        .env("UPSELL_ADMIN_TOKEN", &admin_token)
        .spawn()
        .context("starting the proxy")?;
    let mut proxy = KillOnDrop(proxy);
    wait_for_port(port, &mut proxy.0)?;

    println!();
    let page = |payment: &str| format!("{proxy_url}/?payment_id={payment}&status=succeeded");
    println!("Demo thank-you pages, one per customer of the sandbox:");
    println!("  Ada (Visa 4242 and Mastercard 5454; the upsell, its downsell and the cross-sell):");
    println!("    {}", page("pay_demo_basic_ada"));
    println!("  Grace (Mastercard 0341: declined, then the standard checkout):");
    println!("    {}", page("pay_demo_basic_grace"));
    println!("  Linus (Visa 0077: processing for a second, then succeeded):");
    println!("    {}", page("pay_demo_basic_linus"));
    println!("  Katherine (Visa 3155: her bank asks for 3-D Secure):");
    println!("    {}", page("pay_demo_basic_katherine"));
    println!("  Margaret (her only card has expired: no one click, the standard checkout):");
    println!("    {}", page("pay_demo_basic_margaret"));
    println!("  Hedy (just subscribed to Team: the upgrade to Business, or down to Starter):");
    println!("    {}", page("pay_demo_team_hedy"));
    println!("  Grace's Team subscription (the upgrade's payment fails; the plan stays):");
    println!("    {}", page("pay_demo_team_grace"));
    println!("Hedy's account page (the plan changes, opened by a signed account token):");
    println!("  {proxy_url}/account.html");
    println!("Two widgets on a page with a hostile stylesheet and a strict CSP:");
    println!("  {proxy_url}/hostile.html?payment_id=pay_demo_basic_ada&status=succeeded");
    println!("The report of the purchases above (user name: anything; password: the admin token):");
    println!("  {proxy_url}/report  (admin token {admin_token})");
    println!("  or: {} report", bin.join("upsell-proxy").display());
    println!(
        "      with UPSELL_DATABASE_URL={database_url} UPSELL_OFFERS={}",
        root.join("proxy/offers.toml").display()
    );
    println!("Sandbox ledger: {sandbox_url}/_sandbox/ledger");
    println!(
        "Offers stay open 30 minutes after the sandbox starts; restart the demo for fresh ones."
    );
    println!("Ctrl-C stops everything.");

    // Ctrl-C reaches the whole process group: both servers stop, then so does this.
    let status = proxy.0.wait()?;
    eprintln!("proxy exited: {status}");
    Ok(())
}

/// Stops a child process when the demo ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16, child: &mut Child) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("a server exited before listening on {port}: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("nothing listens on port {port} after 30 s")
}

/// A fresh offer-token key for this demo run (tokens of an earlier run stop being valid).
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
