//! Splitting the linked wasm into the main module and the parts fetched on demand, in the order
//! Leptos' own build (cargo-leptos) uses: split the wasm cargo linked (it needs the linker's
//! relocations), then wasm-bindgen on the main module (keeping the exports the parts link
//! against), then `wasm-opt -Oz` on every module.

use super::{Profile, GLUE, LINKER, MAIN_WASM};
use crate::tools;
use anyhow::{anyhow, Context};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The features the wasm uses, which wasm-opt must be told of (Rust's wasm32 defaults).
const WASM_FEATURES: [&str; 7] = [
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-mutable-globals",
];

/// What the split made, in the work folder.
#[derive(Debug, Default)]
pub struct SplitModules {
    /// The wasm files fetched on demand (`split_<part>.wasm`, and `chunk_<n>.wasm` holding
    /// code that several parts share).
    pub on_demand_files: Vec<String>,
    /// Each part (as `src/on_demand.rs` names it) and the files fetching it loads.
    pub parts: BTreeMap<String, Vec<String>>,
}

/// Splits `linked` into `work`: [`GLUE`], [`LINKER`], [`MAIN_WASM`] and the parts.
pub fn split_and_bind(
    linked: &Path,
    work: &Path,
    profile: Profile,
) -> anyhow::Result<SplitModules> {
    let input = std::fs::read(linked).with_context(|| {
        format!(
            "reading {} (trunk builds it: trunk build --release)",
            linked.display()
        )
    })?;
    let main_unbound = work.join("main.wasm");
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = work;
    options.main_out_path = &main_unbound;
    let link_name = format!("./{LINKER}");
    options.link_name = &link_name;
    let main_module = format!("./{GLUE}");
    options.main_module = &main_module;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|e| anyhow!("splitting {}: {e:?}", linked.display()))?;

    // A part whose code all stayed in the main module is written, empty, but never fetched:
    // only the files the split runtime names are kept.
    let linker = std::fs::read_to_string(work.join(LINKER))?;
    let mut modules = SplitModules::default();
    for path in &split.split_modules {
        let name = file_name(path)?;
        if linker.contains(&format!("\"./{name}\"")) {
            modules.on_demand_files.push(name);
        }
    }
    for (part, stems) in split.prefetch_map {
        let files = stems.iter().map(|stem| format!("{stem}.wasm")).collect();
        modules.parts.insert(part, files);
    }

    let stem = GLUE.trim_end_matches(".js");
    tools::run(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript", "--keep-lld-exports"])
            .args(["--out-name", stem, "--out-dir"])
            .arg(work)
            .arg(&main_unbound),
    )?;

    if profile == Profile::Release {
        let mut wasm: Vec<PathBuf> = vec![work.join(MAIN_WASM)];
        wasm.extend(modules.on_demand_files.iter().map(|f| work.join(f)));
        optimize_all(&wasm)?;
    }
    Ok(modules)
}

/// `wasm-opt -Oz` on every module, two at a time (the main module takes longest).
fn optimize_all(files: &[PathBuf]) -> anyhow::Result<()> {
    let (first, second): (Vec<_>, Vec<_>) = files.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = [first, second]
            .into_iter()
            .map(|batch| {
                scope.spawn(move || batch.into_iter().try_for_each(|(_, file)| optimize(file)))
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .map_err(|_| anyhow!("a wasm-opt worker panicked"))?
        })
    })
}

/// `wasm-opt -Oz`, after putting the functions in the order of their names. The split writes
/// them in no fixed order (its sets are hash sets), which scattered related code across the
/// module and left brotli less to find: ordered by name, a module's functions sit beside those
/// of the same crate and module, and the widget is 2.7 KB brotli smaller (166.8 → 164.2 KB on
/// the critical path, 199.9 → 197.1 KB in all). Names are read from the module's name
/// section and not written back; functions the split made (its shims) have none and stay
/// where the split put them, so sizes still vary by a few hundred bytes from build to build.
fn optimize(file: &Path) -> anyhow::Result<()> {
    tools::run(
        Command::new(tools::wasm_opt())
            .arg("--reorder-functions-by-name")
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg(file)
            .arg("-o")
            .arg(file),
    )
}

fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(String::from)
        .with_context(|| format!("{} has no file name", path.display()))
}
