//! Time to offer: cold loads of the thank-you page in headless Chromium, from navigation start
//! to the `dodo-upsell:offer-visible` performance mark, for the widget and for the plain peer
//! page, alternating so both see the same machine noise. Each load is a new browser session
//! (an empty cache) and follows a purchase of its own.

use anyhow::Context;
use fantoccini::Client;
use std::time::Duration;
use upsell_e2e::browser::{open_browser, Driver};
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

/// One load's figures.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Milliseconds from navigation start to the mark.
    pub to_offer_ms: f64,
    /// Cumulative layout shift up to a second after the mark.
    pub layout_shift: f64,
}

/// Opens `page` for a new purchase in a new session and waits for the mark.
pub async fn load(
    driver: &Driver,
    sandbox: &SandboxControl<'_>,
    proxy_url: &str,
    page: Page,
    trace: bool,
) -> anyhow::Result<Load> {
    let payment_id = sandbox
        .purchase_minutes_ago("cus_demo_ada", "prod_basic_plan", 0)
        .await?;
    let browser = open_browser(driver).await?;
    let result = measure(&browser, proxy_url, page, &payment_id, trace).await;
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
    for _ in 0..200 {
        let mark = browser
            .execute(
                "const m = performance.getEntriesByName('dodo-upsell:offer-visible')[0];
                 return m ? m.startTime : null;",
                vec![],
            )
            .await?;
        if let Some(ms) = mark.as_f64() {
            to_offer_ms = Some(ms);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let to_offer_ms = to_offer_ms.context("the offer never became visible (no mark in 5 s)")?;
    if trace {
        // Where the time went: every resource, mark and paint, in ms from navigation start.
        let entries = browser
            .execute(
                "return performance.getEntries().map((e) => [Math.round(e.startTime),
                   Math.round(e.startTime + e.duration), e.entryType, e.name.split('/').pop()]);",
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
    Ok(Load {
        to_offer_ms,
        layout_shift: layout_shift
            .as_f64()
            .with_context(|| format!("the layout shift is not a number: {layout_shift}"))?,
    })
}
