//! `cargo xtask demo` and `cargo xtask test`: everything a newcomer needs, on a fresh machine
//! with only the Rust toolchain. Missing tools are installed, at pinned versions, and only when
//! missing.

mod bench;
mod demo;
mod fuzz;
mod module_cycles;
mod soak;
mod test;
mod tools;
mod widget_dist;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(about = "Project commands for the Dodo upsell widget")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the widget, start the sandbox and the proxy on 127.0.0.1, print the demo page's URL.
    Demo {
        /// Port of the upsell proxy (which also serves the demo page).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Port of the Dodo sandbox.
        #[arg(long, default_value_t = 7070)]
        sandbox_port: u16,
    },
    /// Run every check and test: format, lints, native, browser and end-to-end tests.
    Test,
    /// Measure the widget's size, time to offer, the proxy under load and accepts per second,
    /// and print them with their budgets and peers in one table.
    Bench,
    /// Save a screenshot of every state of the widget, from the real pages, in docs/screenshots.
    Screenshots,
    /// Trunk's post-build step (see Trunk.toml): split, optimise, minify, hash and precompress
    /// the widget's files in trunk's staging folder.
    WidgetDist,
    /// The money path under random combinations of faults, checked against the sandbox's
    /// ledger: PostgreSQL with two proxy instances, then SQLite.
    Soak {
        /// Seconds of customers and faults per database.
        #[arg(long, default_value_t = soak::SECONDS_IN_TEST)]
        seconds: u64,
        /// Replays a schedule of actions and faults (printed by every run).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Fuzz the offer token, webhook and offers-file parsers (`cargo fuzz`), each for a set time.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Targets to run (default: all of offer_token, webhook, offers_file).
        targets: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match cli.command {
        Command::Demo { port, sandbox_port } => demo::run(&root, port, sandbox_port),
        Command::Test => test::run(&root),
        Command::Bench => bench::run(&root),
        Command::Screenshots => test::screenshots(&root),
        Command::Soak { seconds, seed } => {
            let postgres = tools::start_test_postgres()?;
            soak::run(&root, &postgres, seconds, seed)
        }
        Command::Fuzz { seconds, targets } => fuzz::run(&root, seconds, &targets),
        Command::WidgetDist => widget_dist::run_as_trunk_hook(&root),
    }
}

/// The workspace root: xtask's manifest lives one folder below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
