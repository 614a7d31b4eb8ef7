//! `cargo xtask fuzz`: runs each fuzz target (`fuzz/fuzz_targets/`) with `cargo fuzz` for a set
//! time, and prints what each did. cargo-fuzz is installed at a pinned version when missing.

use crate::tools;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;

const CARGO_FUZZ_VERSION: &str = "0.13.1";
pub const TARGETS: [&str; 3] = ["offer_token", "webhook", "offers_file"];

pub fn run(root: &Path, seconds: u64, targets: &[String]) -> anyhow::Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if installed != format!("cargo-fuzz {CARGO_FUZZ_VERSION}") {
        tools::run(Command::new("cargo").args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ]))?;
    }
    let chosen: Vec<&str> = if targets.is_empty() {
        TARGETS.to_vec()
    } else {
        targets.iter().map(String::as_str).collect()
    };
    let mut rows = Vec::new();
    for target in chosen {
        if !TARGETS.contains(&target) {
            bail!("no fuzz target {target:?}; there are {TARGETS:?}");
        }
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let mut command = Command::new("cargo");
        command
            .current_dir(root.join("fuzz"))
            .args(["fuzz", "run", target, "--sanitizer", "none"])
            .arg(&corpus)
            .arg(root.join("fuzz/seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            // The stable toolchain, with the unstable flags cargo-fuzz passes to rustc allowed.
            .env("RUSTC_BOOTSTRAP", "1");
        eprintln!("$ {}", tools::describe(&command));
        let output = command
            .output()
            .with_context(|| format!("cannot run cargo fuzz for {target}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let runs = stat(&log, "stat::number_of_executed_units:");
        // libFuzzer writes the input of a crash, panic or timeout to fuzz/artifacts.
        let crashed = log.contains("Test unit written to");
        if crashed || !output.status.success() {
            eprint!("{log}");
        }
        if !crashed && !output.status.success() {
            bail!("cargo fuzz could not run {target}");
        }
        rows.push((target, runs, crashed));
    }
    println!();
    println!(
        "{:<12} {:>8} {:>14} {:>14}  result",
        "target", "seconds", "executions", "per second"
    );
    let mut failed = false;
    for (target, runs, crashed) in rows {
        let runs = runs.unwrap_or(0);
        println!(
            "{target:<12} {seconds:>8} {runs:>14} {:>14}  {}",
            runs / seconds.max(1),
            if crashed {
                "CRASH (see fuzz/artifacts)"
            } else {
                "no crash"
            }
        );
        failed |= crashed;
    }
    if failed {
        bail!("a fuzz target crashed");
    }
    Ok(())
}

/// A number from libFuzzer's final stats, e.g. `stat::number_of_executed_units: 1234`.
fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|line| line.trim().strip_prefix(name))
        .and_then(|value| value.trim().parse().ok())
}
