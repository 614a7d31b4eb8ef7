//! Content-hashed names: `stem.<16 hex digits of SHA-256>.ext`, so that a file's name changes
//! whenever its content does and servers can let browsers keep it for good. Only the loader
//! (`upsell.js`, the URL merchants paste) keeps its name; it names the others.
//!
//! References are rewritten as names are given, files named by others first: the parts fetched
//! on demand, the main wasm and the stylesheet name nothing. wasm-bindgen's glue and the split
//! runtime import each other, so they share one hash, of both their contents.

use super::split::SplitModules;
use super::{GLUE, LINKER, LOADER, MAIN_WASM, STYLESHEET};
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The hashed names, by the name each file had before.
#[derive(Debug, Clone, Default)]
pub struct Named {
    pub names: BTreeMap<String, String>,
}

impl Named {
    /// The hashed name of the file first called `original`.
    pub fn of<'a>(&'a self, original: &'a str) -> &'a str {
        self.names.get(original).map_or(original, String::as_str)
    }
}

/// Gives every widget file in `dir` but the loader its hashed name, and rewrites the references.
pub fn hash_names(dir: &Path, modules: &SplitModules) -> anyhow::Result<Named> {
    let mut named = Named::default();
    let leaves = modules
        .on_demand_files
        .iter()
        .map(String::as_str)
        .chain([MAIN_WASM, STYLESHEET]);
    for file in leaves {
        let bytes = read(dir, file)?;
        let hashed = hashed_name(file, &content_hash(&[&bytes]))?;
        std::fs::rename(dir.join(file), dir.join(&hashed))?;
        named.names.insert(file.to_string(), hashed);
    }

    let mut linker = read_text(dir, LINKER)?;
    for file in &modules.on_demand_files {
        linker = rewrite(
            &linker,
            &format!("./{file}"),
            &format!("./{}", named.of(file)),
        )
        .with_context(|| format!("in {LINKER}"))?;
    }
    let glue = read_text(dir, GLUE)?;
    let glue =
        rewrite(&glue, MAIN_WASM, named.of(MAIN_WASM)).with_context(|| format!("in {GLUE}"))?;
    let pair = content_hash(&[glue.as_bytes(), b"\0", linker.as_bytes()]);
    for file in [GLUE, LINKER] {
        named
            .names
            .insert(file.to_string(), hashed_name(file, &pair)?);
    }
    let glue = rewrite(
        &glue,
        &format!("./{LINKER}"),
        &format!("./{}", named.of(LINKER)),
    )
    .with_context(|| format!("in {GLUE}"))?;
    let linker = rewrite(
        &linker,
        &format!("./{GLUE}"),
        &format!("./{}", named.of(GLUE)),
    )
    .with_context(|| format!("in {LINKER}"))?;
    for (file, text) in [(GLUE, glue), (LINKER, linker)] {
        std::fs::write(dir.join(named.of(file)), text)?;
        std::fs::remove_file(dir.join(file))?;
    }

    let mut loader = read_text(dir, LOADER)?;
    for file in [GLUE, LINKER, MAIN_WASM, STYLESHEET] {
        loader = rewrite(
            &loader,
            &format!("./{file}"),
            &format!("./{}", named.of(file)),
        )
        .with_context(|| format!("in {LOADER}"))?;
    }
    std::fs::write(dir.join(LOADER), loader)?;
    Ok(named)
}

/// The first 16 hex digits of the SHA-256 of `parts`, one after the other.
pub fn content_hash(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `stem.ext` → `stem.<hash>.ext`.
fn hashed_name(file: &str, hash: &str) -> anyhow::Result<String> {
    let (stem, extension) = file
        .rsplit_once('.')
        .with_context(|| format!("{file} has no extension"))?;
    Ok(format!("{stem}.{hash}.{extension}"))
}

/// Replaces the string literal `from` (in any of JavaScript's quotes) with `to`; an error when
/// there is none, so that a reference the build does not find fails the build instead of
/// breaking the widget.
pub fn rewrite(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    let mut out = text.to_string();
    let mut found = false;
    for quote in ['"', '\'', '`'] {
        let literal = format!("{quote}{from}{quote}");
        if out.contains(&literal) {
            found = true;
            out = out.replace(&literal, &format!("{quote}{to}{quote}"));
        }
    }
    if !found {
        bail!("no reference to {from:?}");
    }
    Ok(out)
}

fn read(dir: &Path, file: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(dir.join(file)).with_context(|| format!("reading {}", dir.join(file).display()))
}

fn read_text(dir: &Path, file: &str) -> anyhow::Result<String> {
    String::from_utf8(read(dir, file)?).with_context(|| format!("{file} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_in_any_quotes_are_rewritten_and_a_missing_one_is_an_error() {
        let js = r#"import("./a.js"); fetch('./a.js'); new URL(`./a.js`); "./a.jsx""#;
        assert_eq!(
            rewrite(js, "./a.js", "./a.0123456789abcdef.js").unwrap(),
            r#"import("./a.0123456789abcdef.js"); fetch('./a.0123456789abcdef.js'); new URL(`./a.0123456789abcdef.js`); "./a.jsx""#
        );
        assert!(rewrite(js, "./b.js", "./b.1.js").is_err());
    }

    #[test]
    fn names_carry_sixteen_hex_digits_of_their_content() {
        let hash = content_hash(&[b"abc"]);
        // SHA-256("abc") begins ba7816bf8f01cfea.
        assert_eq!(hash, "ba7816bf8f01cfea");
        assert_eq!(content_hash(&[b"a", b"bc"]), hash);
        assert_eq!(
            hashed_name("dodo-upsell_bg.wasm", &hash).unwrap(),
            "dodo-upsell_bg.ba7816bf8f01cfea.wasm"
        );
    }
}
