//! The offers file reloaded while the proxy runs: on SIGHUP, and when its contents change
//! (read every `CHECK_EVERY`: one small read, and it sees every way a file changes — an editor
//! writing in place, one that replaces the file, a mounted config map — where file-system
//! events miss some; a change is taken once two reads agree, so that a file read half-way
//! through its writing is never taken). A valid file is in force at once for every request
//! that starts after it; an invalid or unreadable one is refused with the same error as at
//! start, and the last good file stays in force. Both are logged and counted in `upsell_offers_reloads_total`.

use super::state::AppState;
use crate::rules::OfferRules;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// How often the file's contents are compared with those last read, by default.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The offers file to watch.
#[derive(Debug, Clone)]
pub struct OffersFile {
    pub path: PathBuf,
    /// How often its contents are compared with those last read.
    pub check_every: Duration,
}

/// Watches the file for as long as the proxy runs. Fails only when SIGHUP cannot be listened
/// to.
pub fn spawn(
    state: Arc<AppState>,
    file: OffersFile,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let OffersFile {
        path,
        check_every: every,
    } = file;
    let mut hangups = signal(SignalKind::hangup())?;
    // What the rules in force were read from, as far as this task knows: a change between
    // the start-up read and this one is picked up by the first checks.
    let mut last_read = std::fs::read(&path).ok();
    // A change seen once: put in force only when the next check reads the same. A file being
    // written in place (truncated, then written) can be read half-way, or empty, which may
    // parse; it is not taken for the merchant's file.
    let mut settling: Option<Vec<u8>> = None;
    Ok(tokio::spawn(async move {
        loop {
            let asked = tokio::select! {
                _ = hangups.recv() => true,
                () = tokio::time::sleep(every) => false,
            };
            let contents = std::fs::read(&path);
            let apply = match &contents {
                // SIGHUP: the merchant says the file is ready.
                _ if asked => true,
                Ok(bytes) if last_read.as_ref() == Some(bytes) => {
                    settling = None;
                    false
                }
                Ok(bytes) if settling.as_ref() == Some(bytes) => true,
                Ok(bytes) => {
                    settling = Some(bytes.clone());
                    false
                }
                // Unreadable (being replaced, perhaps): said once, until it reads again.
                Err(_) => last_read.is_some(),
            };
            if !apply {
                continue;
            }
            settling = None;
            last_read = contents.as_ref().ok().cloned();
            let outcome = match contents {
                Ok(bytes) => reload(&state, &path, &bytes),
                Err(error) => {
                    tracing::error!(path = %path.display(), %error, "cannot read the offers file; the last good one stays in force");
                    "refused"
                }
            };
            state
                .metrics
                .offers_reloads
                .with_label_values(&[outcome])
                .inc();
        }
    }))
}

/// Parses and checks the new file as at start; puts it in force when it holds.
fn reload(state: &AppState, path: &Path, bytes: &[u8]) -> &'static str {
    let parsed = std::str::from_utf8(bytes)
        .map_err(anyhow::Error::from)
        .and_then(OfferRules::parse);
    match parsed {
        Ok(rules) => {
            tracing::info!(path = %path.display(), offers = rules.offers.len(), plan_changes = rules.plan_changes.len(), "offers file reloaded");
            state.rules.replace(rules);
            "applied"
        }
        Err(error) => {
            tracing::error!(path = %path.display(), error = %format!("{error:#}"), "offers file refused; the last good one stays in force");
            "refused"
        }
    }
}
