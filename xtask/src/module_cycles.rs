//! No import circles between the modules of the proxy, the sandbox, the widget and xtask: the
//! layers each README section describes point one way, and `cargo xtask test` fails if a change
//! makes two modules import each other, however far round.
//!
//! A module is a file (`x/mod.rs` is module `x`). It imports another when it names it through
//! `crate::`, `super::` or `self::` (in a `use` or inline); a name resolves to the deepest
//! module it passes through. A module's own submodules are its to re-export (`pub use
//! accepts::Accept` in `storage/mod.rs`), so a parent's naming of its descendants is not an
//! import. Two graphs are checked: files, and the crate's top-level modules (so that `offers`
//! and `charging`, say, never depend on each other both ways, whichever files do it). Test
//! modules are left out: a test may reach anywhere.
//!
//! Our own check rather than `cargo-modules`: that tool builds rust-analyzer (minutes of
//! compiling, and an install, on every fresh machine) to answer a question the project's
//! plain module layout lets a hundred lines answer.

use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates checked: their source folder and root file.
pub const CRATES: [(&str, &str); 4] = [
    ("proxy/src", "lib.rs"),
    ("sandbox/src", "lib.rs"),
    ("src", "lib.rs"),
    ("xtask/src", "main.rs"),
];

/// A module's imports of other modules: module → (imported module → the names it takes).
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Fails with every circle found, in every crate.
pub fn check(root: &Path) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (src, root_file) in CRATES {
        let graph = graph_of(&root.join(src), root_file)?;
        let before = problems.len();
        for circle in circles(&graph) {
            problems.push(format!("{src}: {}", describe(&graph, &circle)));
        }
        let top = top_level(&graph);
        for circle in circles(&top) {
            problems.push(format!(
                "{src}, between top-level modules: {}",
                describe(&top, &circle)
            ));
        }
        println!(
            "Module imports of {src}: {} modules, {} circles",
            graph.len(),
            problems.len() - before
        );
    }
    anyhow::ensure!(
        problems.is_empty(),
        "import circles between modules:\n  {}",
        problems.join("\n  ")
    );
    Ok(())
}

/// The import graph of the crate in `src`.
fn graph_of(src: &Path, root_file: &str) -> anyhow::Result<Graph> {
    let mut modules = BTreeMap::new();
    collect(src, src, root_file, &mut modules)?;
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph = Graph::new();
    for (module, file) in &modules {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let imports = graph.entry(module.clone()).or_default();
        for path in paths_named(&without_comments(without_tests(&text))) {
            let Some(absolute) = absolute(module, &path) else {
                continue;
            };
            let Some(target) = deepest_module(&absolute, &names) else {
                continue;
            };
            if target == *module || is_descendant(&target, module) {
                continue;
            }
            let name = absolute.last().cloned().unwrap_or_default();
            imports.entry(target).or_default().insert(name);
        }
    }
    Ok(graph)
}

/// Every `.rs` file below `dir` as its module path ("" for the crate root), leaving out other
/// crates' roots (a library's `main.rs`, `bin/`).
fn collect(
    src: &Path,
    dir: &Path,
    root_file: &str,
    modules: &mut BTreeMap<String, PathBuf>,
) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let relative = path.strip_prefix(src)?;
        if path.is_dir() {
            if relative != Path::new("bin") {
                collect(src, &path, root_file, modules)?;
            }
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let mut segments: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        let file = segments.pop().unwrap_or_default();
        let at_top = segments.is_empty();
        if at_top && format!("{file}.rs") == root_file {
            // The crate root: module "".
        } else if at_top && (file == "lib" || file == "main") {
            // Another crate's root (a library's binary).
            continue;
        } else if file != "mod" {
            segments.push(file);
        }
        modules.insert(segments.join("::"), path);
    }
    Ok(())
}

/// `text` up to its test module: a test may reach anywhere (by the project's convention the
/// `#[cfg(test)]` module ends each file).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// `text` without its `//` comments (doc comments name modules in prose).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting with `crate`, `super` or `self` in `text`, braces expanded:
/// `use super::{a, b::c}` names `super::a` and `super::b::c`.
fn paths_named(text: &str) -> Vec<Vec<String>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let starts_word = at == 0 || !is_ident(bytes[at - 1]);
        let keyword = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|k| bytes[at..].starts_with(k.as_bytes()));
        match keyword {
            Some(keyword) if starts_word => {
                let (paths, end) = parse_path(text, at, Vec::new());
                found.extend(paths);
                at = end.max(at + keyword.len());
            }
            _ => at += 1,
        }
    }
    found
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Parses the path at `at` (after `prefix`): its segments, and a brace group's paths.
fn parse_path(text: &str, mut at: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let bytes = text.as_bytes();
    let mut segments = prefix;
    loop {
        let start = at;
        while at < bytes.len() && is_ident(bytes[at]) {
            at += 1;
        }
        if at > start {
            segments.push(text[start..at].to_string());
        }
        if bytes[at..].starts_with(b"::{") {
            let mut paths = Vec::new();
            at += 3;
            loop {
                while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
                    at += 1;
                }
                if at >= bytes.len() || bytes[at] == b'}' {
                    return (paths, at + 1);
                }
                let (inner, end) = parse_path(text, at, segments.clone());
                paths.extend(inner);
                // Past `as alias` or anything else up to the next item.
                at = end;
                while at < bytes.len() && bytes[at] != b',' && bytes[at] != b'}' {
                    at += 1;
                }
            }
        }
        if bytes[at..].starts_with(b"::") && at + 2 < bytes.len() && is_ident(bytes[at + 2]) {
            at += 2;
            continue;
        }
        return (vec![segments], at);
    }
}

/// `path` (as written in `module`) from the crate root; `None` when it climbs above the root.
fn absolute(module: &str, path: &[String]) -> Option<Vec<String>> {
    let mut current: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(String::from).collect()
    };
    let mut rest = path.iter().peekable();
    match rest.peek().map(|s| s.as_str()) {
        Some("crate") => {
            current.clear();
            rest.next();
        }
        Some("self") => {
            rest.next();
        }
        _ => {}
    }
    while rest.peek().map(|s| s.as_str()) == Some("super") {
        current.pop()?;
        rest.next();
    }
    current.extend(rest.cloned());
    Some(current)
}

/// The deepest module `path` passes through.
fn deepest_module(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

fn is_descendant(module: &str, of: &str) -> bool {
    of.is_empty() || module.starts_with(&format!("{of}::"))
}

/// The graph of top-level modules: each file's imports, grouped by first segment.
fn top_level(graph: &Graph) -> Graph {
    let first = |m: &str| m.split("::").next().unwrap_or_default().to_string();
    let mut top = Graph::new();
    for (module, imports) in graph {
        if module.is_empty() {
            continue;
        }
        for (target, names) in imports {
            if target.is_empty() || first(target) == first(module) {
                continue;
            }
            top.entry(first(module))
                .or_default()
                .entry(first(target))
                .or_default()
                .extend(names.iter().cloned());
        }
    }
    top
}

/// The circles of `graph`: its strongly connected components of more than one module
/// (Tarjan's algorithm).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            let graph = self.graph;
            for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

/// A circle, with what each of its modules takes from the others in it.
fn describe(graph: &Graph, circle: &[String]) -> String {
    let mut ties = Vec::new();
    for module in circle {
        for (target, names) in graph.get(module).into_iter().flatten() {
            if circle.contains(target) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                ties.push(format!("{module} -> {target} ({})", names.join(", ")));
            }
        }
    }
    ties.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace as it stands: what `cargo xtask test` checks, also run by `cargo test`.
    #[test]
    fn the_workspace_has_no_import_circles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        check(&root).unwrap();
    }

    fn path(p: &str) -> Vec<String> {
        p.split("::").map(String::from).collect()
    }

    #[test]
    fn paths_are_read_with_their_braces_and_resolved_from_the_crate_root() {
        let text = "use super::{charge, outcome::{fail, reload as again}};\n\
                    use crate::dodo::metadata; // crate::not_this\n\
                    let x = crate::clock::rfc3339(now); self::inner::f();";
        let paths = paths_named(&without_comments(text));
        assert_eq!(
            paths,
            vec![
                path("super::charge"),
                path("super::outcome::fail"),
                path("super::outcome::reload"),
                path("crate::dodo::metadata"),
                path("crate::clock::rfc3339"),
                path("self::inner::f"),
            ]
        );
        assert_eq!(
            absolute("charging::accept", &path("super::outcome::fail")),
            Some(path("charging::outcome::fail"))
        );
        assert_eq!(absolute("", &path("super::x")), None);
        let modules: BTreeSet<String> = ["charging", "charging::outcome", "dodo"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            deepest_module(&path("charging::outcome::fail"), &modules).as_deref(),
            Some("charging::outcome")
        );
    }

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut graph = Graph::new();
        for (from, to) in edges {
            graph
                .entry(from.to_string())
                .or_default()
                .entry(to.to_string())
                .or_default()
                .insert("x".into());
        }
        graph
    }

    #[test]
    fn a_circle_however_far_round_is_found_and_a_chain_is_not() {
        let chain = graph(&[
            ("http", "offers"),
            ("offers", "storage"),
            ("http", "storage"),
        ]);
        assert!(circles(&chain).is_empty());
        let round = graph(&[
            ("http::state", "http::metrics"),
            ("http::metrics", "offers::x"),
            ("offers::x", "http::state"),
            ("storage", "clock"),
        ]);
        assert_eq!(
            circles(&round),
            vec![vec![
                "http::metrics".to_string(),
                "http::state".to_string(),
                "offers::x".to_string()
            ]]
        );
        // Files apart, the top-level modules still go round.
        let top = top_level(&graph(&[
            ("offers::a", "charging::b"),
            ("charging::c", "offers::d"),
        ]));
        assert_eq!(
            circles(&top),
            vec![vec!["charging".to_string(), "offers".to_string()]]
        );
    }

    #[test]
    fn the_projects_crates_have_no_circles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        check(&root).unwrap();
    }
}
