//! End to end: the demo thank-you page, built by trunk and served by the real proxy, opened in
//! headless Chromium through WebDriver, against the real sandbox.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use upsell_e2e::{Stack, StackOptions};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The release build of the widget (`trunk build --release`), which `cargo xtask test` makes.
fn widget_dist() -> PathBuf {
    let dist = std::env::var_os("UPSELL_WIDGET_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    assert!(
        dist.join("index.html").exists() && dist.join("upsell.js").exists(),
        "no widget build in {}: run `cargo xtask test`, which builds it",
        dist.display()
    );
    dist
}

/// A ChromeDriver of our own on a free port, stopped on drop.
struct Driver {
    process: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn start_driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver {
        process: Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (cargo xtask test installs it)"),
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn open_browser(driver: &Driver) -> Client {
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
                "--no-first-run", "--window-size=1000,800"
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("TLS setup")
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

async fn thank_you_page(stack: &Stack, browser: &Client, payment_id: &str) {
    browser
        .goto(&format!(
            "{}/?payment_id={payment_id}&status=succeeded",
            stack.proxy_url
        ))
        .await
        .unwrap();
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
        .text()
        .await
        .unwrap()
}

/// Screenshots of the real page, for the README: target/screenshots/NAME.png.
async fn save_screenshot(browser: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The stack serving the demo page, a browser, and the demo page opened for a purchase of the
/// Basic plan by Ada that has just succeeded.
async fn demo_page_after_a_purchase() -> (Stack, Driver, Client, String) {
    let stack = Stack::start(StackOptions {
        widget_dir: Some(widget_dist()),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    thank_you_page(&stack, &browser, &payment).await;
    (stack, driver, browser, payment)
}

#[tokio::test(flavor = "multi_thread")]
async fn accepting_on_the_demo_page_charges_exactly_once() {
    let (stack, _driver, browser, payment) = demo_page_after_a_purchase().await;

    assert_eq!(
        text_of(&browser, ".dodo-upsell__title").await,
        "Pro plan upgrade"
    );
    save_screenshot(&browser, "demo-offer").await;
    assert_eq!(text_of(&browser, ".dodo-upsell__price").await, "$50.00");
    assert_eq!(
        text_of(&browser, ".dodo-upsell__card").await,
        "Charged to your Visa ending in 4242"
    );
    let accept = browser
        .find(Locator::Css(".dodo-upsell__accept"))
        .await
        .unwrap();
    assert_eq!(accept.text().await.unwrap(), "Add to my order");
    accept.click().await.unwrap();
    // A second click while processing must not charge again (the button is disabled, and the
    // proxy would answer with the first accept anyway).
    let _ = accept.click().await;

    let status = text_of(&browser, ".dodo-upsell[data-state=succeeded] [role=status]").await;
    assert_eq!(status, "Added to your order. Charged $50.00.");
    save_screenshot(&browser, "demo-accepted").await;

    let charges = stack.charges_for(&payment, "pro-upgrade").await.unwrap();
    assert_eq!(charges.len(), 1, "exactly one charge: {charges:?}");
    assert_eq!(charges[0]["status"], "succeeded");
    assert_eq!(charges[0]["total_amount"], 5000);
    assert_eq!(charges[0]["payment_method_id"], "pm_demo_visa_4242");

    // Reloading the page offers nothing more for this purchase.
    thank_you_page(&stack, &browser, &payment).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let offers = browser
        .find_all(Locator::Css(".dodo-upsell__accept"))
        .await
        .unwrap();
    assert!(offers.is_empty());
    assert_eq!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .len(),
        1
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_thanks_on_the_demo_page_thanks_the_customer_and_charges_nothing() {
    let (stack, _driver, browser, payment) = demo_page_after_a_purchase().await;

    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".dodo-upsell__decline"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = text_of(&browser, ".dodo-upsell[data-state=declined] [role=status]").await;
    assert_eq!(status, "No problem — thanks for your order!");
    // Then the widget closes.
    let mut closed = false;
    for _ in 0..100 {
        if browser
            .find_all(Locator::Css(".dodo-upsell"))
            .await
            .unwrap()
            .is_empty()
        {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "the widget closes after thanking the customer");

    // The decline reaches the proxy: a reload shows no offer.
    let mut declined = false;
    for _ in 0..50 {
        let response: serde_json::Value = stack
            .http
            .get(format!(
                "{}/v1/offers?payment_id={payment}",
                stack.proxy_url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if response["offers"].as_array().is_some_and(|o| o.is_empty()) {
            declined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(declined, "the decline was recorded");
    assert!(stack
        .charges_for(&payment, "pro-upgrade")
        .await
        .unwrap()
        .is_empty());
    browser.close().await.unwrap();
}
