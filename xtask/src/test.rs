//! `cargo xtask test`: format, lints, then every kind of test, and how many of each ran.

use crate::tools;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;

/// Counts from cargo's `test result:` lines.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    passed: u32,
    failed: u32,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, other: Counts) -> Counts {
        Counts {
            passed: self.passed + other.passed,
            failed: self.failed + other.failed,
        }
    }
}

/// Runs the browser end-to-end tests, which save a screenshot of each state they reach, into
/// `docs/screenshots` (the README shows them).
pub fn screenshots(root: &Path) -> anyhow::Result<()> {
    tools::ensure_build_tools(root)?;
    tools::ensure_browser()?;
    tools::ensure_axe_core()?;
    tools::build_widget(root)?;
    fresh_test_tmp()?;
    let folder = root.join("docs/screenshots");
    let run = cargo_test(
        &["test", "-p", "upsell-e2e", "--test", "browser_flow"],
        &[
            ("UPSELL_WIDGET_DIST", &root.join("dist").to_string_lossy()),
            ("UPSELL_AXE_JS", &tools::axe_core_js().to_string_lossy()),
            ("UPSELL_SCREENSHOTS", &folder.to_string_lossy()),
        ],
    )?
    .total();
    anyhow::ensure!(run.failed == 0, "{} browser tests failed", run.failed);
    println!("Screenshots saved in {}", folder.display());
    Ok(())
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    tools::ensure_build_tools(root)?;
    tools::ensure_browser()?;
    tools::ensure_axe_core()?;
    let postgres = tools::start_test_postgres()?;
    fresh_test_tmp()?;

    tools::run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    tools::run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--exclude",
        "dodo-upsell",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The widget, as the tests build it and as merchants get it (its parts declared for
    // splitting).
    for build in [&["--all-targets"][..], &["--lib", "--features", "split"]] {
        tools::run(
            Command::new("cargo")
                .args([
                    "clippy",
                    "-p",
                    "dodo-upsell",
                    "--target",
                    "wasm32-unknown-unknown",
                ])
                .args(build)
                .args(["--", "-D", "warnings"]),
        )?;
    }

    // The layers point one way: no module imports its way back round (see module_cycles).
    crate::module_cycles::check(root)?;

    // The end-to-end tests serve the release build of the widget, as the demo does.
    tools::build_widget(root)?;
    crate::widget_dist::size::check_budget(&root.join("dist"))?;

    // One invocation for every native crate, so dependencies are built with one feature set.
    // The browser end-to-end tests are the `browser_flow` target; everything else is native.
    let native_run = cargo_test(
        &["test", "--workspace", "--exclude", "dodo-upsell"],
        &[
            ("UPSELL_WIDGET_DIST", &root.join("dist").to_string_lossy()),
            ("UPSELL_AXE_JS", &tools::axe_core_js().to_string_lossy()),
        ],
    )?;
    // The same suite again with the proxy's storage on PostgreSQL.
    let postgres_run = cargo_test(
        &["test", "--workspace", "--exclude", "dodo-upsell"],
        &[
            ("UPSELL_WIDGET_DIST", &root.join("dist").to_string_lossy()),
            ("UPSELL_AXE_JS", &tools::axe_core_js().to_string_lossy()),
            ("UPSELL_TEST_POSTGRES_URL", &postgres),
        ],
    )?;
    let is_browser = |target: &str| target.contains("browser_flow");
    let end_to_end = native_run.for_targets(is_browser) + postgres_run.for_targets(is_browser);
    let native = native_run.for_targets(|t| !is_browser(t));
    let native_postgres = postgres_run.for_targets(|t| !is_browser(t));

    let browser = cargo_test(
        &[
            "test",
            "-p",
            "dodo-upsell",
            "--target",
            "wasm32-unknown-unknown",
        ],
        &[
            ("CHROMEDRIVER", tools::CHROMEDRIVER),
            // The runner's default of 20 s is for the whole file; the widget's states include
            // real waits (an offer closing 3 s after "No thanks", a countdown running out).
            ("WASM_BINDGEN_TEST_TIMEOUT", "120"),
        ],
    )?
    .total();

    // Faults at random, overlapping, while customers click; invariants against the ledger.
    crate::soak::run(root, &postgres, crate::soak::SECONDS_IN_TEST, None)?;

    println!();
    println!("Tests run:");
    println!(
        "  native, SQLite (units; the proxy over HTTP against the sandbox): {}",
        native.passed
    );
    println!(
        "  native, PostgreSQL (the same suite, the proxy on PostgreSQL): {}",
        native_postgres.passed
    );
    println!(
        "  browser (widget in headless Chromium, wasm-bindgen-test): {}",
        browser.passed
    );
    println!(
        "  end-to-end (demo page in headless Chromium via WebDriver, both databases): {}",
        end_to_end.passed
    );
    let all = native + native_postgres + browser + end_to_end;
    let (passed, failed) = (all.passed, all.failed);
    println!(
        "  soak ({}s per database, PostgreSQL with two instances and SQLite): passed",
        crate::soak::SECONDS_IN_TEST
    );
    println!("{passed} passed, {failed} failed");
    for (kind, counts) in [
        ("native", native),
        ("browser", browser),
        ("end-to-end", end_to_end),
    ] {
        if counts.passed == 0 {
            bail!("no {kind} test ran");
        }
    }
    Ok(())
}

/// Runs `cargo test …`, echoing its output, and reads its `test result:` lines.
/// Where the tests' temporary files go: ChromeDriver leaves a browser profile (about 70 MB)
/// behind for every session it is stopped in, so they are kept in one folder that each run
/// empties first, not in the machine's /tmp.
const TEST_TMP: &str = "target/test-tmp";

/// Empties the tests' temporary folder.
fn fresh_test_tmp() -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(TEST_TMP);
    std::fs::create_dir_all(TEST_TMP)?;
    Ok(())
}

fn cargo_test(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<TestRun> {
    let mut command = Command::new("cargo");
    command
        .args(args)
        .env("PATH", tools::path_with_tools())
        .env("TMPDIR", std::env::current_dir()?.join(TEST_TMP));
    for (key, value) in env {
        command.env(key, value);
    }
    eprintln!("$ {}", tools::describe(&command));
    let output = command
        .output()
        .with_context(|| format!("cannot start {}", tools::describe(&command)))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    // cargo names each test binary on stderr ("Running tests/x.rs"); results are on stdout.
    let run = TestRun::parse(&stderr, &stdout);
    let counts = run.total();
    if !output.status.success() || counts.failed > 0 {
        bail!(
            "{} failed: {} passed, {} failed",
            tools::describe(&command),
            counts.passed,
            counts.failed
        );
    }
    Ok(run)
}

/// The results of one `cargo test`, per test target.
#[derive(Debug, Default)]
struct TestRun {
    /// (target, counts) in the order cargo ran them.
    targets: Vec<(String, Counts)>,
}

impl TestRun {
    /// Pairs cargo's `Running <target>` lines (stderr) with the `test result:` lines (stdout), in
    /// order: cargo prints one result per target it runs, doc-tests included.
    fn parse(stderr: &str, stdout: &str) -> TestRun {
        let names: Vec<String> = stderr
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix("Running ").map(String::from).or_else(|| {
                    l.strip_prefix("Doc-tests ")
                        .map(|c| format!("doc-tests {c}"))
                })
            })
            .collect();
        let results: Vec<Counts> = stdout
            .lines()
            .filter(|l| l.contains("test result:"))
            .map(count)
            .collect();
        let targets = results
            .into_iter()
            .enumerate()
            .map(|(i, counts)| (names.get(i).cloned().unwrap_or_default(), counts))
            .collect();
        TestRun { targets }
    }

    fn total(&self) -> Counts {
        self.for_targets(|_| true)
    }

    fn for_targets(&self, keep: impl Fn(&str) -> bool) -> Counts {
        let mut total = Counts::default();
        for (_, counts) in self.targets.iter().filter(|(name, _)| keep(name)) {
            total.passed += counts.passed;
            total.failed += counts.failed;
        }
        total
    }
}

/// Reads one `test result: ok. 3 passed; 0 failed; …` line.
fn count(line: &str) -> Counts {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number_before = |word: &str| -> u32 {
        words
            .windows(2)
            .find(|w| w[1].trim_end_matches(';') == word)
            .and_then(|w| w[0].parse().ok())
            .unwrap_or(0)
    };
    Counts {
        passed: number_before("passed"),
        failed: number_before("failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_counted_per_test_target() {
        let stderr = "   Compiling x\n     Running unittests src/lib.rs (target/debug/deps/a)\n\
                      Running tests/browser_flow.rs (target/debug/deps/b)\n   Doc-tests a\n";
        let stdout = "running 2 tests\ntest result: ok. 2 passed; 0 failed; 0 ignored\n\
                      test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured\n\
                      test result: ok. 0 passed; 0 failed; 0 ignored\n";
        let run = TestRun::parse(stderr, stdout);
        let e2e = run.for_targets(|t| t.contains("browser_flow"));
        assert_eq!((e2e.passed, e2e.failed), (3, 1));
        let total = run.total();
        assert_eq!((total.passed, total.failed), (5, 1));
    }
}
