//! Time to offer: cold loads of the thank-you page in headless Chromium, from the moment the
//! document's first byte arrives to the `dodo-upsell:offer-visible` performance mark, for the
//! widget and for the plain peer page, alternating so both see the same machine noise. Each
//! load is a new browser session (an empty cache) and follows a purchase of its own. The
//! network and the CPU are those of a phone when asked: Chrome DevTools' emulation, set on the
//! session before the page is opened.

use anyhow::Context;
use fantoccini::Client;
use serde_json::json;
use std::time::Duration;
use upsell_e2e::browser::{devtools, open_browser, Driver};
use upsell_e2e::SandboxControl;

/// The two pages measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The demo thank-you page with `<dodo-upsell>`.
    Widget,
    /// `plain-offer.html`: the same offer drawn by hand-written JavaScript.
    Plain,
}

impl Page {
    fn path(self) -> &'static str {
        match self {
            Page::Widget => "/",
            Page::Plain => "/plain-offer.html",
        }
    }
}

/// Where the page is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// This machine's loopback and CPU, unthrottled.
    Loopback,
    /// Lighthouse's "Slow 4G": 150 ms round trips, 1.6 Mbps down, 750 kbps up, and a CPU 4×
    /// slower than this one.
    Slow4G,
}

impl Network {
    pub fn name(self) -> &'static str {
        match self {
            Network::Loopback => "loopback",
            Network::Slow4G => "Slow 4G (150 ms RTT, 1.6/0.75 Mbps) and a 4× slower CPU",
        }
    }

    /// Emulates this network and CPU in `browser`'s page (nothing for loopback).
    async fn emulate(self, browser: &Client) -> anyhow::Result<()> {
        if self == Network::Loopback {
            return Ok(());
        }
        devtools(browser, "Network.enable", json!({})).await?;
        devtools(
            browser,
            "Network.emulateNetworkConditions",
            json!({
                "offline": false,
                "latency": 150,
                // Bytes per second.
                "downloadThroughput": 1_600_000 / 8,
                "uploadThroughput": 750_000 / 8,
            }),
        )
        .await?;
        devtools(
            browser,
            "Emulation.setCPUThrottlingRate",
            json!({ "rate": 4 }),
        )
        .await?;
        Ok(())
    }
}

/// One load's figures.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Milliseconds from the document's first byte to the mark.
    pub to_offer_ms: f64,
    /// Cumulative layout shift up to a second after the mark.
    pub layout_shift: f64,
    /// Bytes the widget's files took on the network (bodies as sent, and headers).
    pub widget_bytes: u64,
}

/// Opens `page` for a new purchase in a new session on `network` and waits for the mark.
pub async fn load(
    driver: &Driver,
    sandbox: &SandboxControl<'_>,
    proxy_url: &str,
    page: Page,
    network: Network,
    trace: bool,
) -> anyhow::Result<Load> {
    let payment_id = sandbox
        .purchase_minutes_ago("cus_demo_ada", "prod_basic_plan", 0)
        .await?;
    let browser = open_browser(driver).await?;
    let result = async {
        network.emulate(&browser).await?;
        measure(&browser, proxy_url, page, &payment_id, trace).await
    }
    .await;
    let _ = browser.close().await;
    result
}

/// A customer who comes back: a purchase's page, then another purchase's in the same browser
/// (the same release of the widget). Returns the widget's bytes on the network the second time.
pub async fn returning(
    driver: &Driver,
    sandbox: &SandboxControl<'_>,
    proxy_url: &str,
) -> anyhow::Result<u64> {
    let browser = open_browser(driver).await?;
    let result = async {
        for visit in 0..2 {
            let payment_id = sandbox
                .purchase_minutes_ago("cus_demo_ada", "prod_basic_plan", 0)
                .await?;
            let load = measure(&browser, proxy_url, Page::Widget, &payment_id, false).await?;
            if visit == 1 {
                return Ok(load.widget_bytes);
            }
        }
        unreachable!("the second visit returns")
    }
    .await;
    let _ = browser.close().await;
    result
}

async fn measure(
    browser: &Client,
    proxy_url: &str,
    page: Page,
    payment_id: &str,
    trace: bool,
) -> anyhow::Result<Load> {
    browser
        .goto(&format!(
            "{proxy_url}{}?payment_id={payment_id}&status=succeeded",
            page.path()
        ))
        .await?;
    let mut to_offer_ms = None;
    for _ in 0..600 {
        let mark = browser
            .execute(
                "const m = performance.getEntriesByName('dodo-upsell:offer-visible')[0];
                 const doc = performance.getEntriesByType('navigation')[0];
                 return m && doc ? m.startTime - doc.responseStart : null;",
                vec![],
            )
            .await?;
        if let Some(ms) = mark.as_f64() {
            to_offer_ms = Some(ms);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let to_offer_ms = to_offer_ms.context("the offer never became visible (no mark in 15 s)")?;
    if trace {
        // Where the time went: every resource, mark and paint, in ms from navigation start.
        let entries = browser
            .execute(
                "return performance.getEntries().map((e) => [Math.round(e.startTime),
                   Math.round(e.startTime + e.duration), e.entryType, e.name.split('/').pop(),
                   e.transferSize]);",
                vec![],
            )
            .await?;
        let heights = browser
            .execute(
                "return [...document.querySelectorAll('dodo-upsell, #offer')]
                   .map((e) => e.getBoundingClientRect().height);",
                vec![],
            )
            .await?;
        eprintln!("{page:?}: {entries}\n  heights of the offers' elements: {heights}");
    }
    // Layout shifts after the offer too: a late image, a card that grows.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let layout_shift = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             let total = 0;
             new PerformanceObserver((list) => {
               for (const e of list.getEntries()) if (!e.hadRecentInput) total += e.value;
             }).observe({ type: 'layout-shift', buffered: true });
             setTimeout(() => done(total), 200);",
            vec![],
        )
        .await?;
    // The widget's own files, as the network carried them (0 from the browser's cache).
    let widget_bytes = browser
        .execute(
            "return performance.getEntriesByType('resource')
               .filter((e) => /^(upsell\\.js|dodo-upsell|__wasm_split|widget\\.|split_|chunk_)/
                 .test(e.name.split('/').pop()))
               .reduce((sum, e) => sum + e.transferSize, 0);",
            vec![],
        )
        .await?;
    Ok(Load {
        to_offer_ms,
        layout_shift: layout_shift
            .as_f64()
            .with_context(|| format!("the layout shift is not a number: {layout_shift}"))?,
        widget_bytes: widget_bytes.as_u64().unwrap_or(0),
    })
}
