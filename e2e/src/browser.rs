//! Headless Chromium through WebDriver, for the end-to-end tests and `cargo xtask bench`:
//! Debian's `chromium` and `chromium-driver`, which `cargo xtask` installs.

use anyhow::Context;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A ChromeDriver of our own on a free port, stopped on drop.
pub struct Driver {
    process: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub async fn start_driver() -> anyhow::Result<Driver> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let driver = Driver {
        process: Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver does not run (cargo xtask test installs it)")?,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return Ok(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("chromedriver did not start")
}

/// A new browser session: a fresh profile, so nothing is cached from an earlier one.
pub async fn open_browser(driver: &Driver) -> anyhow::Result<Client> {
    // Several crates enable a rustls crypto provider; choose one (an Err means already chosen).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1000,1400"
            ],
        }),
    );
    Ok(ClientBuilder::rustls()
        .context("TLS setup")?
        .capabilities(capabilities)
        .connect(&driver.url)
        .await?)
}

/// A Chrome DevTools Protocol command, sent through ChromeDriver (`goog/cdp/execute`), to the
/// session's page: how the tests block files and the bench throttles the network and the CPU.
#[derive(Debug)]
struct DevToolsCommand {
    body: String,
}

impl WebDriverCompatibleCommand for DevToolsCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}

/// Runs DevTools' `command` with `params` in `browser`'s page; returns its result.
pub async fn devtools(browser: &Client, command: &str, params: Value) -> anyhow::Result<Value> {
    let body = json!({ "cmd": command, "params": params }).to_string();
    browser
        .issue_cmd(DevToolsCommand { body })
        .await
        .with_context(|| format!("DevTools {command}"))
}

/// Makes every request whose URL matches one of `patterns` (`*` is a wildcard) fail, as a
/// network that drops them would.
pub async fn block_urls(browser: &Client, patterns: &[&str]) -> anyhow::Result<()> {
    devtools(browser, "Network.enable", json!({})).await?;
    devtools(
        browser,
        "Network.setBlockedURLs",
        json!({ "urls": patterns }),
    )
    .await?;
    Ok(())
}
