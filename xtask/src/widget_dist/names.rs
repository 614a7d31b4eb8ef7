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
    // Only the `import … from` statements: the glue also names the split runtime as the wasm's
    // import module (`imports["./__wasm_split.js"]`), which is the wasm's own name for it.
    let glue = rewrite_imports(
        &glue,
        &format!("./{LINKER}"),
        &format!("./{}", named.of(LINKER)),
    )
    .with_context(|| format!("in {GLUE}"))?;
    let linker = rewrite_imports(
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
    // The parts fetched on demand, so that the loader can start those an element will need.
    let parts: BTreeMap<&str, Vec<&str>> = modules
        .parts
        .iter()
        .map(|(part, files)| (part.as_str(), files.iter().map(|f| named.of(f)).collect()))
        .collect();
    let loader = replace_literal(&loader, LOADER_PARTS, &serde_json::to_string(&parts)?)
        .with_context(|| format!("in {LOADER}"))?;
    std::fs::write(dir.join(LOADER), loader)?;
    Ok(named)
}

/// The string literal in the loader that the build replaces with the parts and their files.
const LOADER_PARTS: &str = "on-demand-parts";

/// Replaces the string literal `literal` (quotes included) with the code `code`.
fn replace_literal(text: &str, literal: &str, code: &str) -> anyhow::Result<String> {
    for quote in ['"', '\''] {
        let quoted = format!("{quote}{literal}{quote}");
        if text.contains(&quoted) {
            return Ok(text.replace(&quoted, code));
        }
    }
    bail!("no {literal:?} to replace")
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
    replace_all(text, ["\"", "'", "`"].map(|quote| (quote, quote)), from, to)
        .with_context(|| format!("no reference to {from:?}"))
}

/// Replaces the module `from` in `import … from "from"` statements with `to`; an error when
/// there is none.
pub fn rewrite_imports(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    let forms = [
        ("from\"", "\""),
        ("from \"", "\""),
        ("from'", "'"),
        ("from '", "'"),
    ];
    replace_all(text, forms, from, to).with_context(|| format!("no import of {from:?}"))
}

/// Replaces `before{from}after` with `before{to}after` for each `(before, after)`; an error
/// when none is there.
fn replace_all<const N: usize>(
    text: &str,
    forms: [(&str, &str); N],
    from: &str,
    to: &str,
) -> anyhow::Result<String> {
    let mut out = text.to_string();
    let mut found = false;
    for (before, after) in forms {
        let old = format!("{before}{from}{after}");
        if out.contains(&old) {
            found = true;
            out = out.replace(&old, &format!("{before}{to}{after}"));
        }
    }
    anyhow::ensure!(found, "not found");
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
    fn imports_are_rewritten_and_the_wasm_import_names_are_not() {
        let glue = r#"import*as a from"./s.js";import * as b from './s.js';const i={"./s.js":a};"#;
        assert_eq!(
            rewrite_imports(glue, "./s.js", "./s.1.js").unwrap(),
            r#"import*as a from"./s.1.js";import * as b from './s.1.js';const i={"./s.js":a};"#
        );
        assert!(rewrite_imports(glue, "./t.js", "./t.1.js").is_err());
    }

    #[test]
    fn a_literal_becomes_code() {
        let js = r#"const parts="on-demand-parts";"#;
        assert_eq!(
            replace_literal(js, LOADER_PARTS, r#"{"a":["b.wasm"]}"#).unwrap(),
            r#"const parts={"a":["b.wasm"]};"#
        );
        assert!(replace_literal("const parts={};", LOADER_PARTS, "{}").is_err());
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
