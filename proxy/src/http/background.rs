//! The proxy's background work: reconciling every accept and plan change still in flight, at
//! start-up (what an earlier run left) and then every few seconds, and forgetting idle rate-limit
//! keys.

use super::state::AppState;
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
            match state.storage.all_open_plan_changes().await {
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
