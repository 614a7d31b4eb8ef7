//! `upsell-files.json`, written beside the widget's files: which files a page needs before its
//! first offer can show (the critical path), which are fetched on demand and by which part, and
//! the loader's Subresource Integrity hash. `cargo xtask test` checks the sizes by it, the bench
//! measures by it, and a merchant copying the files to a CDN can read the headers to set from it
//! (see the README's "Embedding").

use super::names::Named;
use super::{GLUE, LINKER, LOADER, MAIN_WASM, STYLESHEET};
use anyhow::Context;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha384};
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest's file name.
pub const FILE: &str = "upsell-files.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The one file merchants reference; it names every other.
    pub loader: String,
    /// `sha384-…`, for `<script integrity>`: it pins this release (the loader names the
    /// release's other files by their hashes).
    pub loader_integrity: String,
    /// What a page loads before the first offer can show: the loader, wasm-bindgen's glue, the
    /// split runtime, the main wasm and the stylesheet.
    pub critical: Vec<String>,
    /// Each part fetched on demand (as `src/on_demand.rs` names it) and the files it loads.
    pub on_demand: BTreeMap<String, Vec<String>>,
}

impl Manifest {
    /// The manifest of the files in `dir`, named as `named` says.
    pub fn new(
        dir: &Path,
        named: &Named,
        parts: &BTreeMap<String, Vec<String>>,
    ) -> anyhow::Result<Self> {
        let loader = std::fs::read(dir.join(LOADER)).context("reading the loader")?;
        let digest = Sha384::digest(&loader);
        Ok(Self {
            loader: LOADER.into(),
            loader_integrity: format!(
                "sha384-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ),
            critical: [LOADER, GLUE, LINKER, MAIN_WASM, STYLESHEET]
                .iter()
                .map(|f| named.of(f).to_string())
                .collect(),
            on_demand: parts
                .iter()
                .map(|(part, files)| {
                    let files = files.iter().map(|f| named.of(f).to_string()).collect();
                    (part.clone(), files)
                })
                .collect(),
        })
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::write(dir.join(FILE), serde_json::to_string_pretty(self)?)?;
        Ok(())
    }

    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("reading {} (the widget's build writes it)", path.display())
        })?;
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Every file fetched on demand, each once (parts may share one).
    pub fn on_demand_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self.on_demand.values().flatten().cloned().collect();
        files.sort();
        files.dedup();
        files
    }
}
