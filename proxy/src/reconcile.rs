//! Settling accepts whose outcome the proxy does not know: a charge call that timed out or got
//! a 5xx, or a proxy that stopped between recording an accept and hearing from Dodo.
//!
//! Nothing is ever sent to Dodo again blindly. A `submitted` accept is looked up among the
//! customer's payments by its `upsell_accept_id` metadata: found, it takes that payment's state;
//! not found once the grace period has passed (longer than any request to Dodo can take), it
//! failed without a charge. A `pending` accept never reached Dodo. This runs at start-up (so a
//! restarted proxy reconciles what it left in flight), every few seconds, and whenever the
//! widget asks.

use crate::app::AppState;
use crate::charge::{self, META_ACCEPT_ID};
use crate::clock;
use crate::storage::{Accept, AcceptState, Failure};
use dodopayments::models::IntentStatus;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const NOT_CHARGED: &str = "The order could not be completed. Nothing was charged.";

/// Brings one accept as close to its final state as Dodo can tell now.
pub async fn reconcile(state: &AppState, accept: Accept) -> Accept {
    match accept.state {
        AcceptState::Pending if silent_for_grace(state, &accept.updated_at) => {
            charge::fail(state, accept, Failure::new("not_charged", NOT_CHARGED)).await
        }
        AcceptState::Submitted => look_up(state, accept).await,
        AcceptState::Processing | AcceptState::RequiresAction => {
            charge::refresh(state, accept).await
        }
        _ => accept,
    }
}

/// True once nothing can still be on its way: something sent to Dodo (an accept, a plan
/// change) has not moved since `updated_at` for the grace period, longer than any call to Dodo
/// can take.
pub fn silent_for_grace(state: &AppState, updated_at: &str) -> bool {
    clock::parse_rfc3339(updated_at)
        .is_some_and(|updated| OffsetDateTime::now_utc() - updated >= state.reconcile_grace)
}

/// Where to start looking for what was sent to Dodo at `created_at`: Dodo's clock and ours may
/// differ a little, so a few minutes further back.
pub fn look_up_since(created_at: &str) -> String {
    clock::parse_rfc3339(created_at)
        .map(|t| clock::rfc3339(t - time::Duration::minutes(5)))
        .unwrap_or_default()
}

async fn look_up(state: &AppState, accept: Accept) -> Accept {
    let since = look_up_since(&accept.created_at);
    let found = state
        .dodo
        .find_payment_by_metadata(
            &accept.customer_id,
            &since,
            META_ACCEPT_ID,
            &accept.accept_id,
        )
        .await;
    match found {
        Ok(Some(payment)) => {
            tracing::info!(accept_id = %accept.accept_id, payment_id = %payment.payment_id, "lost charge found");
            if let Err(error) = state
                .storage
                .record_checkout(
                    &accept.accept_id,
                    payment.checkout_session_id.as_deref(),
                    Some(&payment.payment_id),
                )
                .await
            {
                tracing::error!(%error, accept_id = %accept.accept_id, "cannot record the found charge");
                return accept;
            }
            let current = charge::reload(state, accept).await;
            match payment.status.as_deref() {
                Some(
                    IntentStatus::Succeeded
                    | IntentStatus::Failed
                    | IntentStatus::Cancelled
                    | IntentStatus::RequiresCustomerAction,
                ) => charge::refresh(state, current).await,
                _ => current,
            }
        }
        Ok(None) if silent_for_grace(state, &accept.updated_at) => {
            tracing::warn!(accept_id = %accept.accept_id, "no charge was made; the accept failed");
            charge::fail(state, accept, Failure::new("not_charged", NOT_CHARGED)).await
        }
        Ok(None) => accept,
        Err(error) => {
            tracing::info!(%error, accept_id = %accept.accept_id, "cannot look the charge up yet");
            accept
        }
    }
}

/// Reconciles every open accept and plan change now, then every `every`, for as long as the
/// proxy runs.
pub fn spawn(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match state.storage.open_accepts().await {
                Ok(open) => {
                    for accept in open {
                        reconcile(&state, accept).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot list open accepts"),
            }
            match state.storage.all_open_plan_changes().await {
                Ok(open) => {
                    for change in open {
                        crate::plan_change::settle(&state, change).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot list open plan changes"),
            }
            state.limits.forget_idle();
            tokio::time::sleep(every).await;
        }
    })
}
