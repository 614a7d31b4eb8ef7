//! `cargo xtask soak`: the money path under random combinations of faults (the `upsell-soak`
//! binary in `e2e/`), on PostgreSQL with two proxy instances and then on SQLite. `cargo xtask
//! test` runs a short one on every run; a long one is `cargo xtask soak --seconds 600`.

use crate::tools;
use std::path::Path;
use std::process::Command;

/// How long `cargo xtask test`'s soak runs, per database.
pub const SECONDS_IN_TEST: u64 = 20;

/// Builds the proxy, the sandbox and the soak (debug builds: the soak is about correctness, and
/// they share the tests' build), then runs it against the test PostgreSQL cluster, which it may
/// restart.
pub fn run(root: &Path, postgres: &str, seconds: u64, seed: Option<u64>) -> anyhow::Result<()> {
    tools::run(Command::new("cargo").args([
        "build",
        "--bins",
        "-p",
        "upsell-proxy",
        "-p",
        "dodo-sandbox",
        "-p",
        "upsell-e2e",
    ]))?;
    let work = root.join("target/soak");
    std::fs::create_dir_all(&work)?;
    let mut soak = Command::new(root.join("target/debug/upsell-soak"));
    soak.arg("--bin-dir")
        .arg(root.join("target/debug"))
        .arg("--work-dir")
        .arg(&work)
        .args(["--seconds", &seconds.to_string()])
        .args(["--postgres", postgres])
        .args([
            "--postgres-restart",
            &tools::restart_test_postgres_command()?,
        ]);
    if let Some(seed) = seed {
        soak.args(["--seed", &seed.to_string()]);
    }
    tools::run(&mut soak)
}
