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

pub fn run(root: &Path) -> anyhow::Result<()> {
    tools::ensure_build_tools(root)?;
    tools::ensure_browser()?;

    tools::run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    tools::run(Command::new("cargo").args([
        "clippy", "--workspace", "--exclude", "dodo-upsell", "--all-targets", "--", "-D", "warnings",
    ]))?;
    tools::run(Command::new("cargo").args([
        "clippy", "-p", "dodo-upsell", "--target", "wasm32-unknown-unknown", "--all-targets", "--",
        "-D", "warnings",
    ]))?;

    // The end-to-end tests serve the release build of the widget, as the demo does.
    tools::build_widget(root)?;

    let mut native = cargo_test(&["test", "--workspace", "--exclude", "dodo-upsell", "--exclude", "upsell-e2e"])?;
    let stack = cargo_test(&["test", "-p", "upsell-e2e", "--lib", "--test", "proxy_api"])?;
    native.passed += stack.passed;
    native.failed += stack.failed;

    let browser = cargo_test_env(
        &["test", "-p", "dodo-upsell", "--target", "wasm32-unknown-unknown"],
        &[("CHROMEDRIVER", tools::CHROMEDRIVER)],
    )?;
    let end_to_end = cargo_test_env(
        &["test", "-p", "upsell-e2e", "--test", "browser_flow"],
        &[("UPSELL_WIDGET_DIST", &root.join("dist").to_string_lossy())],
    )?;

    println!();
    println!("Tests run:");
    println!("  native (proxy over HTTP against the sandbox, units): {}", native.passed);
    println!("  browser (widget in headless Chromium, wasm-bindgen-test): {}", browser.passed);
    println!("  end-to-end (demo page in headless Chromium via WebDriver): {}", end_to_end.passed);
    let passed = native.passed + browser.passed + end_to_end.passed;
    let failed = native.failed + browser.failed + end_to_end.failed;
    println!("{passed} passed, {failed} failed");
    for (kind, counts) in [("native", native), ("browser", browser), ("end-to-end", end_to_end)] {
        if counts.passed == 0 {
            bail!("no {kind} test ran");
        }
    }
    Ok(())
}

fn cargo_test(args: &[&str]) -> anyhow::Result<Counts> {
    cargo_test_env(args, &[])
}

/// Runs `cargo test …`, echoing its output, and adds up its `test result:` lines.
fn cargo_test_env(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Counts> {
    let mut command = Command::new("cargo");
    command.args(args).env("PATH", tools::path_with_tools());
    for (key, value) in env {
        command.env(key, value);
    }
    eprintln!("$ {}", tools::describe(&command));
    let output = command
        .output()
        .with_context(|| format!("cannot start {}", tools::describe(&command)))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let counts = count(&stdout);
    if !output.status.success() || counts.failed > 0 {
        bail!(
            "{} failed: {} passed, {} failed",
            tools::describe(&command),
            counts.passed,
            counts.failed
        );
    }
    Ok(counts)
}

/// Sums `test result: ok. 3 passed; 0 failed; …` lines.
fn count(output: &str) -> Counts {
    let mut counts = Counts::default();
    for line in output.lines().filter(|l| l.contains("test result:")) {
        let number_before = |word: &str| -> u32 {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .windows(2)
                .find(|w| w[1].trim_end_matches(';') == word)
                .and_then(|w| w[0].parse().ok())
                .unwrap_or(0)
        };
        counts.passed += number_before("passed");
        counts.failed += number_before("failed");
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_cargo_and_wasm_bindgen_test_result_lines() {
        let output = "running 2 tests\ntest result: ok. 2 passed; 0 failed; 0 ignored\n\
                      test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured\n";
        let counts = count(output);
        assert_eq!((counts.passed, counts.failed), (5, 1));
    }
}
