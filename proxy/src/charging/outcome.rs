//! Where an accept's charge stands: asked of Dodo (its payment, or before the payment is known
//! its checkout session), and recorded; a failure recorded; the accept read back.

use super::Charging;
use crate::storage::{Accept, AcceptState, Failure};
use dodopayments::models::IntentStatus;

/// For an accept still in flight, asks Dodo where its payment stands (or, before the payment
/// id is known, its checkout session).
pub async fn refresh(state: &Charging, accept: Accept) -> Accept {
    if !matches!(
        accept.state,
        AcceptState::Processing | AcceptState::RequiresAction
    ) {
        return accept;
    }
    let (status, failure, action_url) = if let Some(payment_id) =
        accept.charge_payment_id.as_deref()
    {
        match state.dodo.payment(payment_id).await {
            Ok(payment) => {
                let failure = Failure::new(
                    payment
                        .error_code
                        .as_deref()
                        .map(str::to_lowercase)
                        .unwrap_or_else(|| "payment_failed".into()),
                    payment
                        .error_message
                        .unwrap_or_else(|| "The payment did not go through.".into()),
                );
                (payment.status.map(|s| *s), failure, payment.payment_link)
            }
            Err(error) => {
                tracing::info!(%error, accept_id = %accept.accept_id, "cannot poll the payment");
                return accept;
            }
        }
    } else if let Some(session_id) = accept.checkout_session_id.as_deref() {
        match state.dodo.checkout_status(session_id).await {
            Ok(session) => (
                session.payment_status.map(|s| *s),
                Failure::new("payment_failed", "The payment did not go through."),
                None,
            ),
            Err(error) => {
                tracing::info!(%error, accept_id = %accept.accept_id, "cannot poll the checkout session");
                return accept;
            }
        }
    } else {
        return accept;
    };
    let (next, failure) = match status {
        Some(IntentStatus::Succeeded) => (AcceptState::Succeeded, None),
        Some(IntentStatus::Failed | IntentStatus::Cancelled) => {
            (AcceptState::Failed, Some(failure))
        }
        Some(IntentStatus::RequiresCustomerAction) => {
            if let Some(url) = action_url.filter(|_| accept.action_url.is_none()) {
                if let Err(error) = state
                    .storage
                    .record_action_url(&accept.accept_id, &url)
                    .await
                {
                    tracing::error!(%error, accept_id = %accept.accept_id, "cannot record the action link");
                }
            }
            (AcceptState::RequiresAction, None)
        }
        _ => return accept,
    };
    if let Err(error) = state
        .storage
        .advance(&accept.accept_id, next, failure.as_ref())
        .await
    {
        tracing::error!(%error, accept_id = %accept.accept_id, "cannot record polled outcome");
        return accept;
    }
    reload(state, accept).await
}

/// Records that `accept` failed, for `failure`.
pub async fn fail(state: &Charging, accept: Accept, failure: Failure) -> Accept {
    if let Err(error) = state
        .storage
        .advance(&accept.accept_id, AcceptState::Failed, Some(&failure))
        .await
    {
        tracing::error!(%error, accept_id = %accept.accept_id, "cannot record failure");
    }
    reload(state, accept).await
}

/// `accept` as the database has it now.
pub async fn reload(state: &Charging, accept: Accept) -> Accept {
    match state.storage.accept(&accept.accept_id).await {
        Ok(Some(current)) => current,
        _ => accept,
    }
}
