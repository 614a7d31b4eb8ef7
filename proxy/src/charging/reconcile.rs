//! Settling accepts whose outcome the proxy does not know: a charge call that timed out or got
//! a 5xx, or a proxy that stopped between recording an accept and hearing from Dodo.
//!
//! Nothing is ever sent to Dodo again blindly. A `submitted` accept is looked up among the
//! customer's payments by its `upsell_accept_id` metadata: found, it takes that payment's state;
//! not found once the grace period has passed (longer than any request to Dodo can take), it
//! failed without a charge. A `pending` accept never reached Dodo. This runs at start-up (so a
//! restarted proxy reconciles what it left in flight), every few seconds (`http::background`),
//! and whenever the widget asks.

use super::outcome::{fail, refresh, reload};
use super::Charging;
use crate::clock;
use crate::dodo::metadata;
use crate::storage::{Accept, AcceptState, Failure};
use dodopayments::models::IntentStatus;

const NOT_CHARGED: &str = "The order could not be completed. Nothing was charged.";

/// Brings one accept as close to its final state as Dodo can tell now.
pub async fn reconcile(state: &Charging, accept: Accept) -> Accept {
    match accept.state {
        AcceptState::Pending if clock::silent_for(&accept.updated_at, state.grace) => {
            fail(state, accept, Failure::new("not_charged", NOT_CHARGED)).await
        }
        AcceptState::Submitted => look_up(state, accept).await,
        // In flight without its payment or session (a webhook said `processing` before either
        // was recorded): found again by its metadata, as a lost charge is.
        AcceptState::Processing | AcceptState::RequiresAction
            if accept.charge_payment_id.is_none() && accept.checkout_session_id.is_none() =>
        {
            look_up(state, accept).await
        }
        AcceptState::Processing | AcceptState::RequiresAction => refresh(state, accept).await,
        _ => accept,
    }
}

async fn look_up(state: &Charging, accept: Accept) -> Accept {
    let since = clock::look_up_since(&accept.created_at);
    let found = state
        .dodo
        .find_payment_by_metadata(
            &accept.customer_id,
            &since,
            metadata::ACCEPT_ID,
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
            let current = reload(state, accept).await;
            match payment.status.as_deref() {
                Some(
                    IntentStatus::Succeeded
                    | IntentStatus::Failed
                    | IntentStatus::Cancelled
                    | IntentStatus::RequiresCustomerAction,
                ) => refresh(state, current).await,
                _ => current,
            }
        }
        Ok(None) if clock::silent_for(&accept.updated_at, state.grace) => {
            tracing::warn!(accept_id = %accept.accept_id, "no charge was made; the accept failed");
            fail(state, accept, Failure::new("not_charged", NOT_CHARGED)).await
        }
        Ok(None) => accept,
        Err(error) => {
            tracing::info!(%error, accept_id = %accept.accept_id, "cannot look the charge up yet");
            accept
        }
    }
}
