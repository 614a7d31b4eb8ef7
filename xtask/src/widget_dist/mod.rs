//! `cargo xtask widget-dist`: the widget's release files, made from what trunk built. Trunk runs
//! it as its post-build hook (see `Trunk.toml`), so `trunk build --release` alone, `cargo xtask
//! demo` and `cargo xtask test` all give the same files.
//!
//! Trunk has built the widget crate (with the `split` feature, and `--emit-relocs` from
//! `.cargo/config.toml`) and copied the loader and the stylesheet into its staging folder. Trunk
//! has no step between cargo and wasm-bindgen, where splitting must happen, so its own
//! wasm-bindgen output is replaced here:
//!
//! 1. [`split`]: the wasm cargo linked is cut into the main module and the parts fetched on
//!    demand (`src/on_demand.rs`), then wasm-bindgen, then `wasm-opt -Oz` on every module.
//! 2. esbuild minifies the JavaScript and the stylesheet (trunk's minifier fails on the glue).
//! 3. [`names`]: every file but the loader gets a content hash in its name, and every reference
//!    to it (the loader's, the glue's, the split runtime's) is rewritten.
//! 4. [`compress`]: a `.br` and a `.gz` beside every file, for servers that send precompressed
//!    files (the proxy does).
//! 5. [`manifest`]: `upsell-files.json` says which files a first offer needs and which are
//!    fetched on demand; the loader's Subresource Integrity hash is printed, and [`size`] prints
//!    every file's size as served (it also checks them in `cargo xtask test`).

pub mod compress;
pub mod manifest;
pub mod names;
pub mod size;
pub mod split;

use crate::tools;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The loader merchants reference: the one name without a hash.
pub const LOADER: &str = "upsell.js";
/// wasm-bindgen's glue, as trunk and the loader name it before hashing.
pub const GLUE: &str = "dodo-upsell.js";
/// The main wasm module.
pub const MAIN_WASM: &str = "dodo-upsell_bg.wasm";
/// The widget's stylesheet.
pub const STYLESHEET: &str = "widget.css";
/// The split runtime: loads the parts fetched on demand into the main module's memory.
pub const LINKER: &str = "__wasm_split.js";

/// How trunk built: `release` (`trunk build --release`: the widget profile, optimised) or a
/// debug build (`trunk serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Debug,
}

impl Profile {
    /// Cargo's output folder for the profile index.html names (`data-cargo-profile-release`).
    fn cargo_dir(self) -> &'static str {
        match self {
            Profile::Release => "widget",
            Profile::Debug => "debug",
        }
    }
}

/// Trunk's post-build hook: reads `TRUNK_STAGING_DIR` and `TRUNK_PROFILE`.
pub fn run_as_trunk_hook(root: &Path) -> anyhow::Result<()> {
    let staging = std::env::var_os("TRUNK_STAGING_DIR")
        .map(PathBuf::from)
        .context("TRUNK_STAGING_DIR is not set: trunk runs this step (trunk build --release)")?;
    let profile = match std::env::var("TRUNK_PROFILE").as_deref() {
        Ok("release") => Profile::Release,
        Ok("debug") => Profile::Debug,
        other => bail!("unknown TRUNK_PROFILE {other:?}"),
    };
    build(root, &staging, profile)
}

/// Makes the release files in `staging`, from cargo's wasm and trunk's copies.
pub fn build(root: &Path, staging: &Path, profile: Profile) -> anyhow::Result<()> {
    tools::ensure_post_build_tools()?;
    // The glue must come from the wasm-bindgen the crate was built against.
    let wanted = tools::locked_wasm_bindgen_version(root)?;
    let have = tools::output_of("wasm-bindgen", &["--version"]).unwrap_or_default();
    anyhow::ensure!(
        have == format!("wasm-bindgen {wanted}"),
        "wasm-bindgen {wanted} must be on PATH (found {have:?}); `cargo xtask test` installs it"
    );
    let target = target_dir(root);
    let linked = target
        .join("wasm32-unknown-unknown")
        .join(profile.cargo_dir())
        .join("dodo_upsell.wasm");
    let work = target.join("widget-split").join(profile.cargo_dir());
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    let modules = split::split_and_bind(&linked, &work, profile)?;

    // Trunk's wasm-bindgen output of the unsplit module is replaced by ours.
    for stale in [GLUE, MAIN_WASM] {
        let path = staging.join(stale);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for file in [GLUE, LINKER, MAIN_WASM] {
        std::fs::copy(work.join(file), staging.join(file))
            .with_context(|| format!("copying {file} into {}", staging.display()))?;
    }
    for chunk in &modules.on_demand_files {
        std::fs::copy(work.join(chunk), staging.join(chunk))?;
    }
    if profile == Profile::Release {
        minify(staging, &[GLUE, LINKER, LOADER, STYLESHEET])?;
    }
    let named = names::hash_names(staging, &modules)?;
    let manifest = manifest::Manifest::new(staging, &named, &modules.parts)?;
    manifest.write(staging)?;
    if profile == Profile::Release {
        compress::precompress_folder(staging)?;
    }
    println!(
        "Widget built into {} (the loader's integrity: {}):",
        staging.display(),
        manifest.loader_integrity
    );
    size::print_sizes(staging, &manifest)?;
    Ok(())
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set, else the workspace's.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Minifies `files` of `dir` in place with the pinned esbuild.
fn minify(dir: &Path, files: &[&str]) -> anyhow::Result<()> {
    for file in files {
        let path = dir.join(file);
        tools::run(
            Command::new(tools::esbuild())
                .arg(&path)
                .args(["--minify", "--allow-overwrite", "--log-level=warning"])
                .arg(format!("--outfile={}", path.display())),
        )?;
    }
    Ok(())
}
