//! The offers file reloaded without a restart: when it changes, and on SIGHUP. A valid file is
//! in force for the next lookup; an invalid one is refused, counted, and the last good one
//! stays in force.

use std::path::Path;
use std::time::Duration;
use upsell_e2e::{OffersFile, Stack, StackOptions};

const UPGRADE: &str = r#"
[[offers]]
id = "pro-upgrade"
after = ["prod_basic_plan"]
product = "prod_pro_upgrade"
"#;

const ICONS: &str = r#"
[[offers]]
id = "icons"
after = ["prod_basic_plan"]
product = "prod_icon_pack"
"#;

/// A mistake the proxy refuses at start: a downsell that does not exist.
const BROKEN: &str = r#"
[[offers]]
id = "icons"
after = ["prod_basic_plan"]
product = "prod_icon_pack"
downsell = "no-such-offer"
"#;

/// A file of its own for each test, in the system's temporary folder.
fn offers_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "upsell-offers-{}.toml",
        uuid::Uuid::new_v4().simple()
    ))
}

async fn stack_watching(path: &Path, check_every: Duration) -> Stack {
    std::fs::write(path, UPGRADE).unwrap();
    Stack::start(StackOptions {
        offers_file: Some(OffersFile {
            path: path.to_path_buf(),
            check_every,
        }),
        ..StackOptions::default()
    })
    .await
    .unwrap()
}

/// The offers the next purchase is shown.
async fn offered(stack: &Stack) -> Vec<String> {
    let payment = stack
        .purchase("cus_demo_ada", "prod_basic_plan")
        .await
        .unwrap();
    stack.offers(&payment).await.unwrap()["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offer_id"].as_str().unwrap().to_string())
        .collect()
}

/// `upsell_offers_reloads_total{outcome}` as `/metrics` shows it.
async fn reloads(stack: &Stack, outcome: &str) -> u64 {
    let text = stack
        .http
        .get(format!("{}/metrics", stack.proxy_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("upsell_offers_reloads_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// Polls `check` every 100 ms for up to 10 s.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_file_is_in_force_at_once_and_a_broken_one_is_refused() {
    let path = offers_path();
    let stack = stack_watching(&path, Duration::from_millis(100)).await;
    assert_eq!(offered(&stack).await, ["pro-upgrade"]);

    std::fs::write(&path, ICONS).unwrap();
    assert!(eventually(async || offered(&stack).await == ["icons"]).await);
    assert!(reloads(&stack, "applied").await >= 1);

    std::fs::write(&path, BROKEN).unwrap();
    assert!(eventually(async || reloads(&stack, "refused").await >= 1).await);
    // The last good file stays in force.
    assert_eq!(offered(&stack).await, ["icons"]);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_file() {
    let path = offers_path();
    // Checked for changes once an hour: only the signal reloads it within the test.
    let stack = stack_watching(&path, Duration::from_secs(3600)).await;
    let hangup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };

    std::fs::write(&path, ICONS).unwrap();
    assert_eq!(
        offered(&stack).await,
        ["pro-upgrade"],
        "not before the signal"
    );
    hangup();
    assert!(eventually(async || offered(&stack).await == ["icons"]).await);

    std::fs::write(&path, BROKEN).unwrap();
    hangup();
    assert!(eventually(async || reloads(&stack, "refused").await >= 1).await);
    assert_eq!(offered(&stack).await, ["icons"]);
    let _ = std::fs::remove_file(&path);
}
