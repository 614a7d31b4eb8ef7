//! `cargo xtask bench`: the widget's size, time to offer, the proxy under load, accepts per
//! second and memory, measured in one run on this machine and printed as one table. Figures
//! only: nothing here passes or fails on timing (`cargo xtask test` enforces the size).

use crate::tools;
use crate::widget_dist::size;
use anyhow::Context;
use std::path::Path;
use std::process::{Command, Stdio};

/// One line of the table.
struct Row {
    figure: String,
    value: String,
    reference: String,
    ratio: String,
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    tools::ensure_build_tools(root)?;
    tools::ensure_browser()?;
    let postgres = tools::start_test_postgres()?;
    tools::build_widget(root)?;
    let counter = root.join("bench/leptos-counter");
    // Built as an ordinary Leptos app: its own target folder, and none of the widget's
    // `.cargo/config.toml` flags (the linker's relocations, which only a split build wants).
    tools::run(
        Command::new("trunk")
            .args(["build", "--release", "--offline"])
            .current_dir(&counter)
            .env("CARGO_TARGET_DIR", root.join("target/leptos-counter"))
            .env("RUSTFLAGS", "-Cdebuginfo=0")
            .env("PATH", tools::path_with_tools()),
    )?;
    tools::run(Command::new("cargo").args([
        "build",
        "--release",
        "-p",
        "dodo-sandbox",
        "-p",
        "upsell-proxy",
        "-p",
        "upsell-e2e",
        "--bin",
        "dodo-sandbox",
        "--bin",
        "upsell-proxy",
        "--bin",
        "upsell-bench",
    ]))?;

    let mut rows = size_rows(root, &counter.join("dist"))?;

    // The proxy serves the widget's build and, beside it, the plain peer page.
    let work = root.join("target/bench");
    let site = work.join("site");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&site)?;
    for entry in std::fs::read_dir(root.join("dist"))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), site.join(entry.file_name()))?;
        }
    }
    for file in ["plain-offer.html", "plain-offer.js"] {
        std::fs::copy(root.join("bench").join(file), site.join(file))?;
        // Served as the widget is: precompressed.
        crate::widget_dist::compress::precompress_file(&site.join(file))?;
    }

    let release = root.join("target/release");
    let mut bench = Command::new(release.join("upsell-bench"));
    bench
        .arg("--bin-dir")
        .arg(&release)
        .arg("--seed")
        .arg(root.join("sandbox/seed/demo.toml"))
        .arg("--offers")
        .arg(root.join("proxy/offers.toml"))
        .arg("--targeted-offers")
        .arg(root.join("bench/targeted-offers.toml"))
        .arg("--site")
        .arg(&site)
        .arg("--work-dir")
        .arg(&work)
        .arg("--postgres")
        .arg(&postgres)
        .env("TMPDIR", &work)
        .stderr(Stdio::inherit());
    eprintln!("$ {}", tools::describe(&bench));
    let output = bench.output().context("running upsell-bench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if let ["ROW", figure, value, reference, ratio] = fields[..] {
            rows.push(Row {
                figure: figure.into(),
                value: value.into(),
                reference: reference.into(),
                ratio: ratio.into(),
            });
        } else {
            println!("{line}");
        }
    }
    print_table(&rows);
    anyhow::ensure!(output.status.success(), "upsell-bench failed");
    Ok(())
}

fn size_rows(root: &Path, counter_dist: &Path) -> anyhow::Result<Vec<Row>> {
    let widget = size::WidgetSize::of(&root.join("dist"))?;
    let counter = size::measure(
        counter_dist,
        &["leptos-counter_bg.wasm".into(), "leptos-counter.js".into()],
    )?;
    let (_, counter_brotli) = size::totals(&counter);
    let mut rows = Vec::new();
    for (kind, files) in [
        ("critical path", &widget.critical),
        ("on demand", &widget.on_demand),
    ] {
        for f in files.iter() {
            rows.push(Row {
                figure: format!("widget, {kind}: {}", f.name),
                value: format!("{:.1} KB brotli", size::kb(f.brotli)),
                reference: format!(
                    "{:.1} KB gzip, {:.1} KB raw",
                    size::kb(f.gzip),
                    size::kb(f.raw)
                ),
                ratio: String::new(),
            });
        }
    }
    let critical = widget.critical_brotli();
    rows.push(Row {
        figure: "widget, critical path (before the first offer), brotli as served".into(),
        value: format!("{:.1} KB brotli", size::kb(critical)),
        reference: format!(
            "goal ≤ {:.1} KB (ceiling enforced today {:.1} KB)",
            size::kb(size::CRITICAL_PATH_GOAL_BROTLI),
            size::kb(size::CRITICAL_PATH_CEILING_BROTLI)
        ),
        ratio: format!(
            "{:.2}× the goal",
            critical as f64 / size::CRITICAL_PATH_GOAL_BROTLI as f64
        ),
    });
    rows.push(Row {
        figure: "widget, everything (all offer types, plan changes, 5 languages), brotli".into(),
        value: format!("{:.1} KB brotli", size::kb(widget.total_brotli())),
        reference: format!("ceiling {:.1} KB", size::kb(size::TOTAL_CEILING_BROTLI)),
        ratio: String::new(),
    });
    rows.push(Row {
        figure: "bare Leptos 0.8 counter + fetch, same build (wasm + JS)".into(),
        value: format!("{:.1} KB brotli", size::kb(counter_brotli)),
        reference: "what Leptos itself weighs".into(),
        ratio: format!(
            "{:.2}× of the critical path",
            counter_brotli as f64 / critical as f64
        ),
    });
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("Measured on {machine}, {cores} cores, in one run:");
    println!();
    println!("| figure | value | budget or peer | ratio |");
    println!("|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} |",
            r.figure, r.value, r.reference, r.ratio
        );
    }
}
