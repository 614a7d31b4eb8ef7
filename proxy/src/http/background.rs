//! The proxy's background work: reconciling every accept and plan change still in flight, at
//! start-up (what an earlier run left) and then every few seconds; forgetting idle rate-limit
//! keys; and sweeping Dodo's recent payments and refunds for what webhooks missed.

use super::state::AppState;
use crate::analytics::sweep::sweep;
use crate::charging::reconcile::reconcile;
use crate::plan_changes::change::settle;
use std::sync::Arc;
use std::time::Duration;

/// Reconciles every open accept and plan change now, then every `every`, for as long as the
/// proxy runs.
pub fn spawn(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match state.storage.open_accepts().await {
                Ok(open) => {
                    for accept in open {
                        reconcile(&state.charging, accept).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot list open accepts"),
            }
            // A change that timed out waiting for 3-D Secure is still looked at for a day: Dodo
            // may settle its payment late (its page expires long before).
            let since =
                crate::clock::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::days(1));
            match state.storage.all_open_plan_changes(&since).await {
                Ok(open) => {
                    for change in open {
                        settle(&state.plan_changes, change).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot list open plan changes"),
            }
            state.limits.forget_idle();
            tokio::time::sleep(every).await;
        }
    })
}

/// Sweeps Dodo's recent payments and refunds (`analytics::sweep`) every `every`, the first a
/// moment after start-up.
pub fn spawn_sweeps(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match sweep(&state.charging.dodo, &state.storage).await {
                Ok(swept) if swept.payments + swept.refunds > 0 => {
                    tracing::warn!(
                        payments = swept.payments,
                        refunds = swept.refunds,
                        "recorded what webhooks had not delivered"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "cannot sweep Dodo's recent payments"),
            }
        }
    })
}
