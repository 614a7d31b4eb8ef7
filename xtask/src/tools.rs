//! The tools the project needs beyond the Rust toolchain, each installed only when missing and
//! at a pinned version: the wasm target, trunk, wasm-bindgen-cli (the exact version of the
//! `wasm-bindgen` crate in Cargo.lock), binaryen's wasm-opt and axe-core (npm), Chromium and
//! ChromeDriver (Debian's packages).

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TRUNK_VERSION: &str = "0.21.14";
/// binaryen from npm. Debian's binaryen (108) produces wasm that fails at run time in Chromium.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// axe-core from npm: the accessibility check of the end-to-end tests.
pub const AXE_CORE_VERSION: &str = "4.11.0";
/// esbuild from npm: minifies the JavaScript and CSS trunk copies as they are.
pub const ESBUILD_VERSION: &str = "0.28.2";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs a command, failing with its name when it fails.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("cannot start {}", describe(command)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(command));
    }
    Ok(())
}

pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// What `program args` prints, when it runs and succeeds.
pub fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Where tools that are not cargo binaries are kept: one folder per pinned version.
fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("dodo-upsell")
}

/// The folder holding the pinned wasm-opt; put it first on PATH for trunk.
pub fn binaryen_bin() -> PathBuf {
    cache_dir()
        .join(format!("binaryen-{BINARYEN_VERSION}"))
        .join("node_modules")
        .join(".bin")
}

/// PATH with the pinned wasm-opt first.
pub fn path_with_tools() -> std::ffi::OsString {
    let mut paths = vec![binaryen_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// The `wasm-bindgen` version pinned in Cargo.lock.
pub fn locked_wasm_bindgen_version(root: &Path) -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
            {
                return Ok(version.to_string());
            }
        }
    }
    bail!("no wasm-bindgen in Cargo.lock")
}

/// Everything the widget build needs.
pub fn ensure_build_tools(root: &Path) -> anyhow::Result<()> {
    let targets = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets.lines().any(|t| t == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let trunk = output_of("trunk", &["--version"]).unwrap_or_default();
    if trunk != format!("trunk {TRUNK_VERSION}") {
        run(Command::new("cargo").args([
            "install",
            "--locked",
            "trunk",
            "--version",
            TRUNK_VERSION,
        ]))?;
    }
    let wanted = locked_wasm_bindgen_version(root)?;
    let have = output_of("wasm-bindgen", &["--version"]).unwrap_or_default();
    let runner = output_of("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    if have != format!("wasm-bindgen {wanted}") || !runner.ends_with(&wanted) {
        // Without --locked: one of its locked dependencies is missing from the registry mirror.
        run(Command::new("cargo").args([
            "install",
            "--force",
            "wasm-bindgen-cli",
            "--version",
            &wanted,
        ]))?;
    }
    ensure_post_build_tools()
}

/// What the widget's post-build step (`cargo xtask widget-dist`, run by trunk) needs beyond
/// wasm-bindgen: binaryen's wasm-opt and esbuild, from npm.
pub fn ensure_post_build_tools() -> anyhow::Result<()> {
    if !wasm_opt().exists() {
        npm_install("binaryen", BINARYEN_VERSION)?;
    }
    if !esbuild().exists() {
        npm_install("esbuild", ESBUILD_VERSION)?;
    }
    Ok(())
}

/// The pinned wasm-opt.
pub fn wasm_opt() -> PathBuf {
    binaryen_bin().join("wasm-opt")
}

/// Installs `package@version` from npm into its own folder of the cache.
fn npm_install(package: &str, version: &str) -> anyhow::Result<()> {
    let prefix = cache_dir().join(format!("{package}-{version}"));
    std::fs::create_dir_all(&prefix)?;
    run(Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&prefix)
        .arg(format!("{package}@{version}")))
}

/// The pinned esbuild.
pub fn esbuild() -> PathBuf {
    cache_dir()
        .join(format!("esbuild-{ESBUILD_VERSION}"))
        .join("node_modules/.bin/esbuild")
}

/// axe-core's browser script, which the end-to-end tests inject into the page.
pub fn axe_core_js() -> PathBuf {
    cache_dir()
        .join(format!("axe-core-{AXE_CORE_VERSION}"))
        .join("node_modules/axe-core/axe.min.js")
}

/// axe-core, for the accessibility check of the end-to-end tests.
pub fn ensure_axe_core() -> anyhow::Result<()> {
    if axe_core_js().exists() {
        return Ok(());
    }
    npm_install("axe-core", AXE_CORE_VERSION)
}

/// Chromium and ChromeDriver, for the browser and end-to-end tests.
pub fn ensure_browser() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(())
}

/// `trunk build --release`, offline: trunk builds the widget crate with the `split` feature and
/// copies the files beside it, then runs `cargo xtask widget-dist` (its post-build hook, see
/// Trunk.toml), which makes the release files: split, optimised, minified, content-hashed and
/// precompressed (`crate::widget_dist`).
pub fn build_widget(root: &Path) -> anyhow::Result<()> {
    run(Command::new("trunk")
        .args(["build", "--release", "--offline"])
        .current_dir(root))
}

/// The test PostgreSQL cluster: Debian's PostgreSQL, a cluster of our own on its own port with
/// trust authentication on loopback, so tests need no password and touch no other database.
pub const POSTGRES_CLUSTER: &str = "upsell";
pub const POSTGRES_PORT: u16 = 54329;

/// The newest PostgreSQL installed (Debian's `/usr/lib/postgresql/<version>`).
fn postgres_version() -> anyhow::Result<String> {
    Ok(std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed in /usr/lib/postgresql")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .context("no PostgreSQL version in /usr/lib/postgresql")?
        .to_string())
}

/// The command that restarts the test cluster (the soak restarts it under load).
pub fn restart_test_postgres_command() -> anyhow::Result<String> {
    Ok(format!(
        "pg_ctlcluster {} {POSTGRES_CLUSTER} restart",
        postgres_version()?
    ))
}

/// Installs PostgreSQL when missing and starts a fresh test cluster. Returns its admin URL.
pub fn start_test_postgres() -> anyhow::Result<String> {
    if !Path::new("/usr/bin/pg_createcluster").exists() {
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "postgresql",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let version = postgres_version()?;
    let clusters = output_of("pg_lsclusters", &["--no-header"]).unwrap_or_default();
    if clusters
        .lines()
        .any(|line| line.split_whitespace().nth(1) == Some(POSTGRES_CLUSTER))
    {
        // A fresh cluster each run: no databases left from earlier runs.
        run(Command::new("pg_dropcluster").args(["--stop", &version, POSTGRES_CLUSTER]))?;
    }
    run(Command::new("pg_createcluster")
        .args([
            "--port",
            &POSTGRES_PORT.to_string(),
            "--start",
            &version,
            POSTGRES_CLUSTER,
        ])
        .args(["--", "--auth-host=trust", "--auth-local=trust"]))?;
    Ok(format!(
        "postgres://postgres@127.0.0.1:{POSTGRES_PORT}/postgres"
    ))
}
