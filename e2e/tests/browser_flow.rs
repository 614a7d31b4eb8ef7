//! End to end: the demo thank-you page, built by trunk and served by the real proxy, opened in
//! headless Chromium through WebDriver, against the real sandbox.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use upsell_e2e::browser::{block_urls, open_browser, start_driver, Driver};
use upsell_e2e::{
    account_token, purchase_token, widget_dist, Stack, StackOptions, ADMIN_TOKEN, DEMO_OFFERS,
};

async fn thank_you_page(stack: &Stack, browser: &Client, payment_id: &str) {
    open_page(stack, browser, "/", payment_id).await;
}

async fn open_page(stack: &Stack, browser: &Client, path: &str, payment_id: &str) {
    browser
        .goto(&format!(
            "{}{path}?payment_id={payment_id}&status=succeeded",
            stack.proxy_url
        ))
        .await
        .unwrap();
}

/// Runs `script` with `host` (a CSS selector of a `<dodo-upsell>`) bound to its shadow root.
async fn in_widget(browser: &Client, host: &str, script: &str, args: Vec<Value>) -> Value {
    let mut all = vec![json!(host)];
    all.extend(args);
    browser
        .execute(
            &format!(
                "const root = document.querySelector(arguments[0])?.shadowRoot; \
                 if (!root) return null; {script}"
            ),
            all,
        )
        .await
        .unwrap()
}

/// The widget's text, once it shows (it waits, hidden, for its stylesheet).
async fn widget_text(browser: &Client, host: &str) -> String {
    in_widget(
        browser,
        host,
        "const shown = root.querySelector('.dodo-upsell-root:not([hidden])'); \
         return shown ? shown.innerText : '';",
        vec![],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Waits (up to 20 s) until the widget shows `needle`.
async fn until_text(browser: &Client, host: &str, needle: &str) {
    let mut text = String::new();
    for _ in 0..200 {
        text = widget_text(browser, host).await;
        if text.contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{host} never showed {needle:?}; it shows {text:?}");
}

/// Clicks the first element matching `css` in the widget, as a pointer would.
async fn click(browser: &Client, host: &str, css: &str) {
    let found = in_widget(
        browser,
        host,
        "const el = root.querySelector(arguments[1]); if (!el) return false; el.click(); return true;",
        vec![json!(css)],
    )
    .await;
    assert_eq!(found, json!(true), "no {css} in {host}");
}

/// Chooses `value` in the `<select>` matching `css`, as a person would.
async fn choose(browser: &Client, host: &str, css: &str, value: &str) {
    let found = in_widget(
        browser,
        host,
        "const el = root.querySelector(arguments[1]); if (!el) return false; \
         el.value = arguments[2]; el.dispatchEvent(new Event('change')); return true;",
        vec![json!(css), json!(value)],
    )
    .await;
    assert_eq!(found, json!(true), "no {css} in {host}");
}

/// axe-core's check of the widgets on the page (their shadow roots included; the merchant's own
/// page is not ours to judge): the violations, as `id: targets`.
async fn accessibility_violations(browser: &Client) -> Vec<String> {
    let Some(path) = std::env::var_os("UPSELL_AXE_JS") else {
        panic!("UPSELL_AXE_JS names axe.min.js; `cargo xtask test` installs it");
    };
    let axe = std::fs::read_to_string(&path).expect("axe-core's axe.min.js");
    browser.execute(&axe, vec![]).await.unwrap();
    let result = browser
        .execute(
            "return axe.run({ include: Array.from(document.querySelectorAll('dodo-upsell')) })\
               .then(r => ({ \
                 violations: r.violations.map(v => v.id + ': ' + v.nodes.map(n => JSON.stringify(n.target)).join(', ')), \
                 in_shadow: r.passes.some(p => p.nodes.some(n => n.target.some(t => Array.isArray(t)))) }));",
            vec![],
        )
        .await
        .unwrap();
    // Proof that axe looked into the shadow roots: a node it checked lies in one (its target
    // is then a list of selectors, host first).
    assert_eq!(
        result["in_shadow"],
        json!(true),
        "axe did not see into the widget"
    );
    serde_json::from_value(result["violations"].clone()).unwrap()
}

async fn assert_accessible(browser: &Client, state: &str) {
    let violations = accessibility_violations(browser).await;
    assert!(violations.is_empty(), "{state}: {violations:#?}");
}

/// Screenshots of the real page, for the README: target/screenshots/NAME.png, or the folder
/// `UPSELL_SCREENSHOTS` names (`cargo xtask screenshots`).
async fn save_screenshot(browser: &Client, name: &str) {
    let dir = std::env::var_os("UPSELL_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    // The page's main column: the widget in its context, without the empty margins.
    let png = match browser.find(Locator::Css("main")).await {
        Ok(main) => main.screenshot().await.unwrap(),
        Err(_) => browser.screenshot().await.unwrap(),
    };
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The stack serving the demo page with the demo's offers, and a browser.
async fn demo_stack() -> (Stack, Driver, Client) {
    let stack = Stack::start(StackOptions {
        widget_dir: Some(widget_dist()),
        offers_toml: DEMO_OFFERS.into(),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let driver = start_driver()
        .await
        .expect("chromedriver runs (cargo xtask test installs it)");
    let browser = open_browser(&driver).await.expect("a Chromium session");
    (stack, driver, browser)
}

const WIDGET: &str = "dodo-upsell";

#[tokio::test(flavor = "multi_thread")]
async fn upsell_accepted_once_then_the_cross_sell_with_a_quantity() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;

    until_text(&browser, WIDGET, "Pro plan upgrade").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(text.contains("$50.00"), "{text}");
    assert!(text.contains("Most popular upgrade"), "{text}");
    assert!(text.contains("Offer ends in"), "{text}");
    assert!(
        text.contains("Pay with"),
        "Ada has two current cards: {text}"
    );
    assert!(
        !text.contains("0005"),
        "her expired Amex is not offered: {text}"
    );
    save_screenshot(&browser, "upsell").await;
    assert_accessible(&browser, "upsell offered").await;

    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    // A second click while processing must not charge again.
    let _ = in_widget(
        &browser,
        WIDGET,
        "root.querySelector('.dodo-upsell__accept')?.click();",
        vec![],
    )
    .await;
    until_text(
        &browser,
        WIDGET,
        "Pro plan upgrade was added to your order. You were charged $50.00.",
    )
    .await;
    let charges = stack.charges_for(&payment, "pro-upgrade").await.unwrap();
    assert_eq!(charges.len(), 1, "exactly one charge: {charges:?}");
    assert_eq!(charges[0]["total_amount"], 5000);
    assert_eq!(charges[0]["payment_method_id"], "pm_demo_visa_4242");

    // The cross-sell follows the answered upsell.
    until_text(&browser, WIDGET, "Template pack").await;
    save_screenshot(&browser, "accepted-then-cross-sell").await;
    assert_accessible(&browser, "accepted, and the cross-sell").await;
    choose(
        &browser,
        WIDGET,
        "[data-item='add-ons.prod_template_pack'] select",
        "3",
    )
    .await;
    click(
        &browser,
        WIDGET,
        "[data-item='add-ons.prod_template_pack'] .dodo-upsell__accept",
    )
    .await;
    until_text(&browser, WIDGET, "You were charged $45.00.").await;
    let charges = stack
        .charges_for(&payment, "add-ons.prod_template_pack")
        .await
        .unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["total_amount"], 4500);
    assert_eq!(charges[0]["product_cart"][0]["quantity"], 3);
    save_screenshot(&browser, "cross-sell-added").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn upsell_declined_then_the_downsell_accepted() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Most popular upgrade").await;
    click(&browser, WIDGET, ".dodo-upsell__decline").await;
    until_text(&browser, WIDGET, "30% off").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(text.contains("$35.00"), "{text}");
    save_screenshot(&browser, "downsell").await;
    assert_accessible(&browser, "downsell offered").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "You were charged $35.00.").await;
    assert!(stack
        .charges_for(&payment, "pro-upgrade")
        .await
        .unwrap()
        .is_empty());
    let charges = stack
        .charges_for(&payment, "pro-upgrade-discount")
        .await
        .unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["total_amount"], 3500);
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn declining_to_the_end_of_the_chain_thanks_the_customer_and_charges_nothing() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Most popular upgrade").await;
    click(&browser, WIDGET, ".dodo-upsell__decline").await;
    until_text(&browser, WIDGET, "30% off").await;
    click(&browser, WIDGET, ".dodo-upsell__decline").await;
    until_text(&browser, WIDGET, "No problem. Thanks for your order!").await;
    save_screenshot(&browser, "declined").await;
    assert_accessible(&browser, "declined").await;
    // Then the thanks closes and the cross-sell takes its place.
    until_text(&browser, WIDGET, "Template pack").await;
    assert!(stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["metadata"]["upsell_original_payment_id"] != payment.as_str()));
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_explains_itself_and_leads_to_a_standard_checkout() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_grace", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "Your card has insufficient funds.").await;
    save_screenshot(&browser, "failed").await;
    assert_accessible(&browser, "charge failed").await;
    let charges = stack.charges_for(&payment, "pro-upgrade").await.unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["status"], "failed");

    click(&browser, WIDGET, ".dodo-upsell__checkout").await;
    let mut url = String::new();
    for _ in 0..100 {
        url = browser.current_url().await.unwrap().to_string();
        if url.contains("/hosted/checkout/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(url.starts_with(&stack.sandbox_url), "{url}");
    let page = browser.source().await.unwrap();
    assert!(page.contains("Pro plan upgrade"), "{page}");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_that_needs_3ds_links_to_the_bank_and_completes_when_confirmed() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_katherine", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(
        &browser,
        WIDGET,
        "Your bank needs you to confirm this payment.",
    )
    .await;
    save_screenshot(&browser, "requires-action").await;
    assert_accessible(&browser, "requires action").await;
    let link = in_widget(
        &browser,
        WIDGET,
        "return root.querySelector('a.dodo-upsell__link').href;",
        vec![],
    )
    .await;
    let link = link.as_str().unwrap().to_string();
    assert!(link.contains("/hosted/3ds/"), "{link}");

    // The customer confirms in another tab, then comes back.
    let (_, page) = in_dodos_tab(&browser, &link, "complete").await;
    assert!(page.contains("Payment complete"), "{page}");
    until_text(&browser, WIDGET, "You were charged $50.00.").await;
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
async fn two_widgets_on_a_page_with_a_hostile_stylesheet_and_a_strict_csp_look_as_designed() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();

    // The button's look on the plain demo page…
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    let look =
        "const b = root.querySelector('.dodo-upsell__accept'); const s = getComputedStyle(b); \
                const r = b.getBoundingClientRect(); \
                return [s.fontSize, s.fontFamily, s.color, s.backgroundColor, s.textTransform, \
                        s.letterSpacing, s.paddingTop, String(Math.round(r.height))];";
    let plain = in_widget(&browser, WIDGET, look, vec![]).await;

    // …is the same under a theme that restyles every element, for both widgets.
    open_page(&stack, &browser, "/hostile.html", &payment).await;
    until_text(&browser, "#first", "Add to my order").await;
    until_text(&browser, "#second", "Zu meiner Bestellung hinzufügen").await;
    // The merchant's words in the customer's language too (the demo's offers file gives the
    // upgrade's title and description in German): no English offer inside a German widget.
    until_text(&browser, "#second", "Upgrade auf Pro").await;
    let english = widget_text(&browser, "#first").await;
    assert!(
        english.contains("Pro plan upgrade") && !english.contains("Upgrade auf Pro"),
        "{english}"
    );
    let first = in_widget(&browser, "#first", look, vec![]).await;
    assert_eq!(first, plain, "the page's CSS does not reach the widget");
    let theme = in_widget(
        &browser,
        "#second",
        "return root.querySelector('.dodo-upsell-root').dataset.theme;",
        vec![],
    )
    .await;
    assert_eq!(theme, json!("dark"));
    save_screenshot(&browser, "two-widgets-hostile-page").await;
    assert_accessible(&browser, "two widgets on a hostile page").await;

    // Under the strict CSP (no inline script or style, only 'wasm-unsafe-eval' added) both
    // widgets rendered above: the module, the wasm, the stylesheet and the API calls all passed.

    // Each widget works on its own: accepting in the first shows the charge there only.
    click(&browser, "#first", ".dodo-upsell__accept").await;
    until_text(&browser, "#first", "You were charged $50.00.").await;
    let second = widget_text(&browser, "#second").await;
    assert!(!second.contains("$50.00."), "{second}");

    // Removing an element unmounts its widget.
    browser
        .execute("document.querySelector('#second').remove();", vec![])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
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
async fn loading_processing_and_no_usable_card_are_shown_and_accessible() {
    let (stack, _driver, browser) = demo_stack().await;

    // Loading: Dodo answers slowly, the skeleton holds the card's place.
    let payment = stack
        .purchase("cus_demo_linus", "prod_basic_plan")
        .await
        .unwrap();
    stack
        .set_faults(
            json!([{ "route": "GET /payments/{payment_id}", "latency_ms": 3000, "times": 1 }]),
        )
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Loading an offer for you…").await;
    let height = in_widget(
        &browser,
        WIDGET,
        "return Math.round(root.querySelector('[data-state=loading]')?.getBoundingClientRect().height ?? 0);",
        vec![],
    )
    .await;
    assert!(
        height.as_i64().unwrap_or(0) >= 200,
        "a card-sized skeleton: {height}"
    );
    save_screenshot(&browser, "loading").await;
    assert_accessible(&browser, "loading").await;

    // Processing: Linus's bank takes a second; the button is busy and ignores clicks.
    until_text(&browser, WIDGET, "Add to my order").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "Adding it to your order…").await;
    save_screenshot(&browser, "processing").await;
    assert_accessible(&browser, "processing").await;
    let _ = in_widget(
        &browser,
        WIDGET,
        "root.querySelector('.dodo-upsell__accept')?.click();",
        vec![],
    )
    .await;
    until_text(&browser, WIDGET, "You were charged $50.00.").await;
    assert_eq!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .len(),
        1
    );

    // No usable card: Margaret's only card has expired; the offer leads to Dodo's checkout.
    let payment = stack
        .purchase("cus_demo_margaret", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(
        &browser,
        WIDGET,
        "One-click payment isn't available for this order.",
    )
    .await;
    save_screenshot(&browser, "no-usable-card").await;
    assert_accessible(&browser, "no usable card").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_offer_is_operable_from_the_keyboard_with_a_visible_focus() {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    use fantoccini::key::Key;

    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Add to my order").await;

    // Tab from the top of the page until the focus reaches "No thanks".
    let press = |key: Key| {
        KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() })
    };
    let mut reached = false;
    for _ in 0..10 {
        browser.perform_actions(press(Key::Tab)).await.unwrap();
        let focused = in_widget(
            &browser,
            WIDGET,
            "const el = root.activeElement; return el ? el.className : '';",
            vec![],
        )
        .await;
        if focused == json!("dodo-upsell__decline") {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the widget's buttons");
    let outline = in_widget(
        &browser,
        WIDGET,
        "return getComputedStyle(root.activeElement).outlineStyle;",
        vec![],
    )
    .await;
    assert_eq!(outline, json!("solid"), "the focus is visible");

    browser.perform_actions(press(Key::Enter)).await.unwrap();
    until_text(&browser, WIDGET, "30% off").await;
    assert!(stack
        .charges_for(&payment, "pro-upgrade")
        .await
        .unwrap()
        .is_empty());
    browser.close().await.unwrap();
}

/// The demo stack with its offers file changed by `edit`.
async fn demo_stack_with(edit: impl Fn(&str) -> String) -> (Stack, Driver, Client) {
    let stack = Stack::start(StackOptions {
        widget_dir: Some(widget_dist()),
        offers_toml: edit(DEMO_OFFERS),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let driver = start_driver()
        .await
        .expect("chromedriver runs (cargo xtask test installs it)");
    let browser = open_browser(&driver).await.expect("a Chromium session");
    (stack, driver, browser)
}

/// The sandbox's plan change charges of a subscription, and the plan it is on.
async fn plan_state(stack: &Stack, subscription: &str) -> (Vec<Value>, String) {
    let ledger = stack.ledger().await.unwrap();
    let charges = ledger["charges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subscription_id"] == subscription && c["charge_type"] == "plan_change")
        .cloned()
        .collect();
    let product = ledger["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subscription_id"] == subscription)
        .and_then(|s| s["product_id"].as_str())
        .unwrap_or_default()
        .to_string();
    (charges, product)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_subscriber_upgrades_after_seeing_the_exact_charge() {
    let (stack, _driver, browser) = demo_stack().await;
    thank_you_page(&stack, &browser, "pay_demo_team_hedy").await;
    until_text(&browser, WIDGET, "Upgrade to Business plan").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(
        text.contains("$29.00 per month") && text.contains("$79.00 per month"),
        "{text}"
    );
    save_screenshot(&browser, "plan-comparison").await;
    assert_accessible(&browser, "plan comparison").await;

    click(
        &browser,
        WIDGET,
        "[data-offer='team-to-business'] .dodo-upsell__accept",
    )
    .await;
    until_text(&browser, WIDGET, "Confirm charge of $50.00").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(text.contains("Due now"), "{text}");
    // "Due now $50.00" is shown once, in the breakdown; the status line that announces it to
    // screen readers says it too, but takes no room on screen.
    let status = in_widget(
        &browser,
        WIDGET,
        "const s = root.querySelector(\"[data-offer='team-to-business'] .dodo-upsell__status\"); \
         const r = s.getBoundingClientRect(); \
         return [s.textContent, s.getAttribute('role'), r.width, r.height];",
        vec![],
    )
    .await;
    assert_eq!(status[0], "Due now $50.00", "{status}");
    assert_eq!(status[1], "status", "{status}");
    assert!(
        status[2].as_f64().unwrap() <= 1.0 && status[3].as_f64().unwrap() <= 1.0,
        "the status takes no room on screen: {status}"
    );
    save_screenshot(&browser, "plan-confirm").await;
    assert_accessible(&browser, "plan change preview").await;

    click(
        &browser,
        WIDGET,
        "[data-offer='team-to-business'] .dodo-upsell__accept",
    )
    .await;
    until_text(
        &browser,
        WIDGET,
        "You're now on Business plan. You were charged $50.00.",
    )
    .await;
    save_screenshot(&browser, "plan-changed").await;
    assert_accessible(&browser, "plan changed").await;
    let (charges, product) = plan_state(&stack, "sub_demo_hedy").await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(
        charges[0]["total_amount"], 5000,
        "what the confirm button said"
    );
    assert_eq!(product, "prod_plan_business");
    browser.close().await.unwrap();
}

/// Hedy, just subscribed to Team, says "No thanks" to the upgrade, which brings the downgrade,
/// and asks what it costs.
async fn review_hedys_downgrade(stack: &Stack, browser: &Client) {
    thank_you_page(stack, browser, "pay_demo_team_hedy").await;
    until_text(browser, WIDGET, "Upgrade to Business plan").await;
    click(
        browser,
        WIDGET,
        "[data-offer='team-to-business'] .dodo-upsell__decline",
    )
    .await;
    until_text(browser, WIDGET, "Switch to Starter plan").await;
    click(
        browser,
        WIDGET,
        "[data-offer='team-to-starter'] .dodo-upsell__accept",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_subscriber_downgrades_and_keeps_the_difference_as_credit() {
    let (stack, _driver, browser) = demo_stack().await;
    review_hedys_downgrade(&stack, &browser).await;
    until_text(&browser, WIDGET, "Credit added to your subscription").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(text.contains("Confirm the change"), "{text}");
    save_screenshot(&browser, "plan-downgrade-confirm").await;
    assert_accessible(&browser, "downgrade preview").await;
    click(
        &browser,
        WIDGET,
        "[data-offer='team-to-starter'] .dodo-upsell__accept",
    )
    .await;
    until_text(&browser, WIDGET, "You're now on Starter plan.").await;
    let (charges, product) = plan_state(&stack, "sub_demo_hedy").await;
    assert!(charges.is_empty(), "nothing charged: {charges:?}");
    assert_eq!(product, "prod_plan_starter");
    browser.close().await.unwrap();
}

/// Grace, just subscribed to Team, reviews the upgrade to Business and confirms its $50.00.
async fn confirm_grace_upgrade(stack: &Stack, browser: &Client) {
    let upgrade = "[data-offer='team-to-business'] .dodo-upsell__accept";
    thank_you_page(stack, browser, "pay_demo_team_grace").await;
    until_text(browser, WIDGET, "Upgrade to Business plan").await;
    click(browser, WIDGET, upgrade).await;
    until_text(browser, WIDGET, "Confirm charge of $50.00").await;
    click(browser, WIDGET, upgrade).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_whose_payment_fails_keeps_the_plan_and_says_so() {
    let (stack, _driver, browser) = demo_stack().await;
    confirm_grace_upgrade(&stack, &browser).await;
    until_text(
        &browser,
        WIDGET,
        "Your plan was not changed. Your card has insufficient funds.",
    )
    .await;
    until_text(&browser, WIDGET, "Update your payment method").await;
    save_screenshot(&browser, "plan-failed").await;
    assert_accessible(&browser, "plan change failed").await;
    let (charges, product) = plan_state(&stack, "sub_demo_grace").await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["status"], "failed");
    assert_eq!(product, "prod_plan_team", "prevent_change: the plan stays");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_on_hold_completes_once_a_new_card_pays_on_dodos_page() {
    let (stack, _driver, browser) = demo_stack_with(|offers| {
        offers.replace(
            "id = \"team-to-business\"\n",
            "id = \"team-to-business\"\non_payment_failure = \"apply_change\"\n",
        )
    })
    .await;
    confirm_grace_upgrade(&stack, &browser).await;
    until_text(
        &browser,
        WIDGET,
        "the payment of $50.00 did not go through: your subscription is on hold until it is paid",
    )
    .await;
    until_text(&browser, WIDGET, "Update your payment method").await;
    save_screenshot(&browser, "plan-on-hold").await;
    assert_accessible(&browser, "plan change on hold").await;
    let (_, product) = plan_state(&stack, "sub_demo_grace").await;
    assert_eq!(
        product, "prod_plan_business",
        "apply_change: the plan changed"
    );
    let link = in_widget(
        &browser,
        WIDGET,
        "const a = root.querySelector('a.dodo-upsell__link'); return [a.href, a.target];",
        vec![],
    )
    .await;
    let page = link[0].as_str().unwrap().to_string();
    assert!(page.contains("/hosted/payment-method/"), "{link}");
    assert_eq!(link[1], "_blank", "Dodo's page opens beside the widget");

    // Grace gives Dodo a new card in another tab, then comes back.
    let (before, after) = in_dodos_tab(&browser, &page, "save").await;
    assert!(before.contains("5000 USD will be charged"), "{before}");
    assert!(after.contains("Payment method updated"), "{after}");
    until_text(
        &browser,
        WIDGET,
        "You're now on Business plan. You were charged $50.00.",
    )
    .await;
    save_screenshot(&browser, "plan-on-hold-paid").await;
    assert_accessible(&browser, "plan change paid after the hold").await;
    let (charges, product) = plan_state(&stack, "sub_demo_grace").await;
    let statuses: Vec<_> = charges.iter().map(|c| c["status"].clone()).collect();
    assert_eq!(statuses, [json!("failed"), json!("succeeded")]);
    assert_eq!(charges[1]["total_amount"], 5000, "what it owed, once");
    assert_eq!(product, "prod_plan_business");
    browser.close().await.unwrap();
}

/// In a tab of its own, as a customer does: opens Dodo's page at `link`, submits its form whose
/// action ends in `/{action}`, closes the tab and comes back to the widget's. Returns the page
/// before and after.
async fn in_dodos_tab(browser: &Client, link: &str, action: &str) -> (String, String) {
    let widget_tab = browser.window().await.unwrap();
    let tab = browser.new_window(true).await.unwrap();
    browser.switch_to_window(tab.handle).await.unwrap();
    browser.goto(link).await.unwrap();
    let before = browser.source().await.unwrap();
    browser
        .find(Locator::Css(&format!("form[action$='/{action}'] button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url::Url::parse(&format!("{link}/{action}")).unwrap())
        .await;
    assert!(done.is_ok(), "Dodo's page took the {action}");
    let after = browser.source().await.unwrap();
    browser.close_window().await.unwrap();
    browser.switch_to_window(widget_tab).await.unwrap();
    (before, after)
}

/// Hedy's account page, as her merchant's server renders it: the demo page with her signed
/// account token in the element.
async fn hedy_account_page(stack: &Stack, browser: &Client) {
    let token = account_token("sub_demo_hedy", "cus_demo_hedy").unwrap();
    browser
        .goto(&format!("{}/account.html", stack.proxy_url))
        .await
        .unwrap();
    browser
        .execute(
            "const old = document.querySelector('dodo-upsell'); \
             const widget = document.createElement('dodo-upsell'); \
             widget.setAttribute('account-token', arguments[0]); \
             old.replaceWith(widget);",
            vec![json!(token)],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_downgrade_is_undone_from_the_account_page() {
    let (stack, _driver, browser) = demo_stack_with(|offers| {
        offers.replace(
            "id = \"team-to-starter\"\n",
            "id = \"team-to-starter\"\neffective_at = \"next_billing_date\"\n",
        )
    })
    .await;
    // After her purchase, Hedy schedules the downgrade for her next billing date.
    review_hedys_downgrade(&stack, &browser).await;
    until_text(&browser, WIDGET, "Schedule the change").await;
    click(
        &browser,
        WIDGET,
        "[data-offer='team-to-starter'] .dodo-upsell__accept",
    )
    .await;
    until_text(&browser, WIDGET, "Your plan will change to Starter plan on").await;

    // Later, on her account page, she keeps her plan.
    hedy_account_page(&stack, &browser).await;
    until_text(&browser, WIDGET, "Keep Team plan").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(
        text.contains("Your plan will change to Starter plan on")
            && text.contains("$9.00 per month"),
        "{text}"
    );
    save_screenshot(&browser, "plan-scheduled-account").await;
    assert_accessible(&browser, "scheduled change on the account page").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "You're staying on Team plan.").await;
    let text = widget_text(&browser, WIDGET).await;
    assert!(
        !text.contains("will change to Starter plan"),
        "the change undone is no longer announced: {text}"
    );
    save_screenshot(&browser, "plan-kept").await;
    assert_accessible(&browser, "scheduled change undone").await;
    let listed: Value = stack
        .list_plan_changes("sub_demo_hedy", "cus_demo_hedy")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed["scheduled"].is_null(),
        "nothing scheduled any more: {listed}"
    );
    let (charges, product) = plan_state(&stack, "sub_demo_hedy").await;
    assert!(charges.is_empty(), "{charges:?}");
    assert_eq!(product, "prod_plan_team");
    browser.close().await.unwrap();
}

/// Reads a cell of the report page: `field` of `variant` in `offer`'s table.
async fn report_cell(browser: &Client, offer: &str, variant: &str, field: &str) -> String {
    browser
        .execute(
            "const cell = document.querySelector(\
               `section[data-offer='${arguments[0]}'] tr[data-variant='${arguments[1]}'] [data-field='${arguments[2]}']`); \
             return cell ? cell.textContent.trim() : null;",
            vec![json!(offer), json!(variant), json!(field)],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_page_shows_what_the_purchases_in_the_demo_did() {
    let (stack, _driver, browser) = demo_stack().await;
    // Ada takes the upsell: the widget reports the offer it showed, and the charge.
    let ada = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &ada).await;
    until_text(&browser, WIDGET, "Pro plan upgrade").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "You were charged $50.00.").await;
    // Linus says no to the upsell, then to its downsell.
    let linus = stack
        .purchase("cus_demo_linus", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &linus).await;
    until_text(&browser, WIDGET, "Most popular upgrade").await;
    click(&browser, WIDGET, ".dodo-upsell__decline").await;
    until_text(&browser, WIDGET, "30% off").await;
    click(&browser, WIDGET, ".dodo-upsell__decline").await;
    until_text(&browser, WIDGET, "No problem. Thanks for your order!").await;
    // Grace's card is declined.
    let grace = stack
        .purchase("cus_demo_grace", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &grace).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "Your card has insufficient funds.").await;

    // The merchant opens the report; the browser sends the admin token as the password.
    let address = stack.proxy_url.trim_start_matches("http://");
    let report = format!("http://merchant:{ADMIN_TOKEN}@{address}/report");
    let mut conversions = String::new();
    // Dodo's webhook confirms the revenue on its own time.
    for _ in 0..50 {
        browser.goto(&report).await.unwrap();
        conversions = report_cell(&browser, "pro-upgrade", "default", "conversions").await;
        if conversions == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(conversions, "1", "{}", browser.source().await.unwrap());
    for (field, expected) in [
        ("impressions", "3"),
        ("accepts", "2"),
        ("declines", "1"),
        ("failures", "1"),
        ("revenue", "50.00 USD"),
        ("revenue_per_impression", "16.67 USD"),
    ] {
        assert_eq!(
            report_cell(&browser, "pro-upgrade", "default", field).await,
            expected,
            "{field}"
        );
    }
    assert!(
        report_cell(&browser, "pro-upgrade", "default", "conversion_rate")
            .await
            .starts_with("33.3 %")
    );
    // Linus saw the downsell in the variant his id falls in; the table has both variants.
    let downsell_impressions: u32 = [
        report_cell(&browser, "pro-upgrade-discount", "plain", "impressions").await,
        report_cell(
            &browser,
            "pro-upgrade-discount",
            "limited-offer",
            "impressions",
        )
        .await,
    ]
    .iter()
    .map(|n| n.parse::<u32>().unwrap())
    .sum();
    assert_eq!(downsell_impressions, 1);
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Not yet significant") || page.contains("No verdict yet"),
        "{page}"
    );
    // Each offer that saw anything has its two charts.
    let charts = browser
        .execute(
            "return [...document.querySelectorAll(\"section[data-offer='pro-upgrade'] figure svg\")]\
               .map(svg => svg.getAttribute('aria-label'));",
            vec![],
        )
        .await
        .unwrap();
    let labels: Vec<String> = serde_json::from_value(charts).unwrap();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(labels[0].starts_with("Conversion rate."), "{labels:?}");
    assert!(labels[1].starts_with("Revenue, USD."), "{labels:?}");

    // axe-core finds nothing on the page.
    let axe = std::fs::read_to_string(std::env::var_os("UPSELL_AXE_JS").expect("UPSELL_AXE_JS"))
        .expect("axe-core's axe.min.js");
    browser.execute(&axe, vec![]).await.unwrap();
    let violations = browser
        .execute(
            "return axe.run(document).then(r => r.violations.map(v => v.id + ': ' + \
               v.nodes.map(n => JSON.stringify(n.target)).join(', ')));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(violations, json!([]), "report page");
    save_screenshot(&browser, "report").await;
    browser.close().await.unwrap();
}

/// The widget's files the page downloaded (not the merchant's own), from its Resource Timing:
/// `[name, bytes over the network, HTTP status]` for each (0 bytes: from the browser's cache).
async fn widget_downloads(browser: &Client) -> Vec<(String, u64, u64)> {
    let entries = browser
        .execute(
            "return performance.getEntriesByType('resource')
               .map((e) => [e.name.split('/').pop(), e.transferSize, e.responseStatus])
               .filter(([name]) => /^(upsell\\.js|dodo-upsell|__wasm_split|widget\\.|split_|chunk_)/.test(name));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(entries).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_offer_loads_only_its_part_of_the_widget_and_a_language_only_its_own() {
    let (stack, _driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &payment).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    let files: Vec<String> = widget_downloads(&browser)
        .await
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    assert!(
        files.iter().any(|f| f.starts_with("dodo-upsell_bg.")),
        "{files:?}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("split_") || f.starts_with("chunk_")),
        "an English upsell needs no part fetched on demand: {files:?}"
    );

    // The German widget of the hostile page fetches German, and no other language.
    open_page(&stack, &browser, "/hostile.html", &payment).await;
    until_text(&browser, "#second", "Zu meiner Bestellung hinzufügen").await;
    let files: Vec<String> = widget_downloads(&browser)
        .await
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    let languages: Vec<&String> = files.iter().filter(|f| f.contains("language")).collect();
    assert!(
        !languages.is_empty() && languages.iter().all(|f| f.contains("language_de")),
        "{files:?}"
    );

    // A purchase whose answer opens plan changes: the loader starts their part as soon as the
    // answer says so, before the widget asks for it.
    thank_you_page(&stack, &browser, "pay_demo_team_hedy").await;
    until_text(&browser, WIDGET, "Upgrade to Business plan").await;
    let hinted = browser
        .execute(
            "return [...document.head.querySelectorAll('link[rel=preload][as=fetch]')]
               .map((l) => l.href.split('/').pop());",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        hinted
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().starts_with("split_plan_change.")),
        "{hinted}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_part_that_cannot_be_fetched_is_said_plainly_counted_and_fetched_again_later() {
    let (stack, _driver, browser) = demo_stack().await;
    // The network drops the plan change's part of the widget.
    block_urls(&browser, &["*split_plan_change*"])
        .await
        .unwrap();
    thank_you_page(&stack, &browser, "pay_demo_team_hedy").await;
    until_text(
        &browser,
        WIDGET,
        "This part of the offer could not be loaded.",
    )
    .await;
    assert!(!widget_text(&browser, WIDGET)
        .await
        .contains("Business plan"));
    save_screenshot(&browser, "part-unavailable").await;
    assert_accessible(&browser, "a part that could not be fetched").await;
    for _ in 0..50 {
        if stack.parts_unavailable("plan_change").await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stack.parts_unavailable("plan_change").await.unwrap(), 1);

    // Back on the network, the next visit fetches it: a failure is not remembered.
    block_urls(&browser, &[]).await.unwrap();
    thank_you_page(&stack, &browser, "pay_demo_team_hedy").await;
    until_text(&browser, WIDGET, "Upgrade to Business plan").await;
    let (charges, _) = plan_state(&stack, "sub_demo_hedy").await;
    assert!(charges.is_empty(), "nothing was charged: {charges:?}");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_returning_customer_downloads_nothing_of_the_widget_again() {
    let (stack, _driver, browser) = demo_stack().await;
    let first = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &first).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    let downloaded = widget_downloads(&browser).await;
    assert!(
        downloaded
            .iter()
            .any(|(name, bytes, _)| name.ends_with(".wasm") && *bytes > 0),
        "{downloaded:?}"
    );

    // The same customer's next purchase, in the same browser, with the same release.
    let second = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &second).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    let again = widget_downloads(&browser).await;
    assert!(again.len() >= 5, "{again:?}");
    for (name, bytes, status) in &again {
        assert_eq!(
            *bytes, 0,
            "{name} was downloaded again (HTTP {status}): {again:?}"
        );
    }
    browser.close().await.unwrap();
}

/// `location.search`, `location.hash` and this page's kept payment id, as the page sees them.
async fn page_link(browser: &Client) -> (String, String, String) {
    let seen = browser
        .execute(
            "return [location.search, location.hash, \
                     sessionStorage.getItem('dodo-upsell:payment_id:' + location.pathname) ?? ''];",
            vec![],
        )
        .await
        .unwrap();
    let part = |i: usize| seen[i].as_str().unwrap_or_default().to_string();
    (part(0), part(1), part(2))
}

/// True once the widget in `host` has shown nothing and given back the page's room.
async fn shows_nothing(browser: &Client, host: &str) -> bool {
    let display = browser
        .execute(
            "const el = document.querySelector(arguments[0]); \
             return el ? getComputedStyle(el).display : 'missing';",
            vec![json!(host)],
        )
        .await
        .unwrap();
    display == json!("none") && widget_text(browser, host).await.is_empty()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_purchase_leaves_the_address_bar_and_a_reload_in_the_tab_still_shows_the_offer() {
    let (stack, driver, browser) = demo_stack().await;
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    browser
        .goto(&format!(
            "{}/?utm_source=mail&payment_id={payment}&status=succeeded&ref=a%20b#order",
            stack.proxy_url
        ))
        .await
        .unwrap();
    until_text(&browser, WIDGET, "Add to my order").await;
    let (search, hash, kept) = page_link(&browser).await;
    assert_eq!(
        search, "?utm_source=mail&ref=a+b",
        "the page's own parameters stay, the purchase's leave"
    );
    assert_eq!(hash, "#order");
    assert_eq!(kept, payment, "kept for this tab");
    let url = browser.current_url().await.unwrap().to_string();
    assert!(
        !url.contains("payment_id") && !url.contains("status"),
        "{url}"
    );

    // A reload in the same tab shows the offer again, and the address bar stays clean.
    browser.refresh().await.unwrap();
    until_text(&browser, WIDGET, "Add to my order").await;
    assert_eq!(page_link(&browser).await.0, "?utm_source=mail&ref=a+b");

    // The address bar's link, opened anywhere else (a link shared, another browser), names no
    // purchase: the widget asks nothing and shows nothing.
    let asked = "upsell_http_requests_total{route=\"/v1/offers\",status=\"200\"}";
    let lookups = stack.metric(asked).await.unwrap();
    let elsewhere = open_browser(&driver).await.unwrap();
    elsewhere.goto(&url).await.unwrap();
    let mut mounted = Value::Null;
    for _ in 0..100 {
        // The loader has given the element its shadow root, and the widget found no purchase.
        mounted = in_widget(&elsewhere, WIDGET, "return root.childElementCount;", vec![]).await;
        if !mounted.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        mounted,
        json!(0),
        "nothing mounted for a link without a purchase"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stack.metric(asked).await.unwrap(), lookups, "nothing asked");
    elsewhere.close().await.unwrap();

    // One click from the reloaded page charges once, as ever.
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "You were charged $50.00.").await;
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

/// A copy of the widget's build, to which a test adds the pages a merchant's server renders;
/// removed on drop.
struct MerchantPages(PathBuf);

impl MerchantPages {
    fn new() -> MerchantPages {
        let dir = std::env::temp_dir().join(format!("upsell-pages-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(widget_dist()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        MerchantPages(dir)
    }

    /// The demo's thank-you page as a server in strict mode renders it: with the purchase
    /// token it signed for the payment it has just confirmed.
    fn thank_you_page_with_token(&self, name: &str, token: &str) {
        let page = std::fs::read_to_string(self.0.join("index.html")).unwrap();
        let element = "<dodo-upsell></dodo-upsell>";
        assert!(page.contains(element));
        let page = page.replace(
            element,
            &format!("<dodo-upsell purchase-token=\"{token}\"></dodo-upsell>"),
        );
        std::fs::write(self.0.join(name), page).unwrap();
    }
}

impl Drop for MerchantPages {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_mode_shows_the_offer_only_to_a_page_with_the_purchase_token() {
    let pages = MerchantPages::new();
    let stack = Stack::start(StackOptions {
        widget_dir: Some(pages.0.clone()),
        offers_toml: DEMO_OFFERS.into(),
        require_purchase_token: true,
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let driver = start_driver()
        .await
        .expect("chromedriver runs (cargo xtask test installs it)");
    let browser = open_browser(&driver).await.expect("a Chromium session");

    // The merchant's page with the token: the offer, and the one click.
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    pages.thank_you_page_with_token("thanks.html", &purchase_token(&payment, 0, 30).unwrap());
    open_page(&stack, &browser, "/thanks.html", &payment).await;
    until_text(&browser, WIDGET, "Add to my order").await;
    assert!(!page_link(&browser).await.0.contains("payment_id"));
    click(&browser, WIDGET, ".dodo-upsell__accept").await;
    until_text(&browser, WIDGET, "You were charged $50.00.").await;
    assert_eq!(
        stack
            .charges_for(&payment, "pro-upgrade")
            .await
            .unwrap()
            .len(),
        1
    );
    // Reloaded, the page (and its token) asks again: the offer's next step shows.
    browser.refresh().await.unwrap();
    until_text(&browser, WIDGET, "Template pack").await;

    // A page without the token (the demo page), or the link alone: the proxy refuses the
    // lookup, and the widget shows nothing and gives the page its room back. No error on the
    // page, nothing charged.
    let refused = "upsell_http_requests_total{route=\"/v1/offers\",status=\"401\"}";
    let before = stack.metric(refused).await.unwrap();
    let other = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    thank_you_page(&stack, &browser, &other).await;
    let mut quiet = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if stack.metric(refused).await.unwrap() > before && shows_nothing(&browser, WIDGET).await {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "refused, and nothing shown");
    let heading = browser
        .execute("return document.querySelector('h1').innerText;", vec![])
        .await
        .unwrap();
    assert_eq!(heading, json!("Thank you, your order is confirmed."));
    assert!(!page_link(&browser).await.0.contains("payment_id"));
    assert!(stack
        .charges_for(&other, "pro-upgrade")
        .await
        .unwrap()
        .is_empty());
    browser.close().await.unwrap();
}
