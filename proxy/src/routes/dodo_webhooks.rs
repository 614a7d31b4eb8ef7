//! `POST /webhooks/dodo`: Dodo's events, verified per Standard Webhooks and processed once.
//! Events may come late, twice or out of order: a final outcome is never undone.

use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::AcceptState;
use crate::webhook_event::{self, PaymentEvent, WebhookEvent};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;

pub async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    if let Err(error) = webhook_event::verify(&state.webhook_verifier, &body, &headers) {
        tracing::warn!(%error, "webhook refused");
        state.metrics.webhooks.with_label_values(&["refused"]).inc();
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "webhook signature, id or timestamp is not valid",
        ));
    }
    // `verify` has checked that the header is present.
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let event = webhook_event::parse(&body)
        .map_err(|e| ApiError::bad_request("invalid_body", format!("not a Dodo webhook: {e}")))?;
    let event_type = event.event_type.clone();
    if !state
        .storage
        .first_delivery(&webhook_id, &event_type)
        .await
        .map_err(|e| ApiError::storage(&e))?
    {
        tracing::info!(%webhook_id, %event_type, "duplicate webhook ignored");
        state
            .metrics
            .webhooks
            .with_label_values(&["duplicate"])
            .inc();
        return Ok(StatusCode::OK);
    }
    // A plan change learns its outcome from its payment and its subscription: both are read
    // afresh from Dodo (events may arrive late, twice or out of order).
    if let Err(error) = settle_plan_changes(
        &state,
        event.plan_change_ref.as_deref(),
        event.subscription_id.as_deref(),
    )
    .await
    {
        let _ = state.storage.forget_delivery(&webhook_id).await;
        return Err(ApiError::storage(&error));
    }
    if let Err(error) = count_revenue(&state, &event).await {
        let _ = state.storage.forget_delivery(&webhook_id).await;
        return Err(ApiError::storage(&error));
    }
    if let Err(error) = apply(&state, event.payment).await {
        // Let Dodo deliver it again.
        let _ = state.storage.forget_delivery(&webhook_id).await;
        return Err(ApiError::storage(&error));
    }
    state.metrics.webhooks.with_label_values(&["applied"]).inc();
    Ok(StatusCode::OK)
}

async fn settle_plan_changes(
    state: &AppState,
    plan_change_ref: Option<&str>,
    subscription_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut open = Vec::new();
    if let Some(change_ref) = plan_change_ref {
        open.extend(state.storage.plan_change(change_ref).await?);
    }
    if let Some(subscription_id) = subscription_id {
        open.extend(state.storage.open_plan_changes(subscription_id).await?);
    }
    for change in open {
        let settled = crate::plan_change::settle(state, change).await;
        tracing::info!(change = %settled.change_ref, state = settled.state.as_str(), "plan change settled by webhook");
    }
    Ok(())
}

/// Revenue is what Dodo confirms: a succeeded payment of one of our charges, or of a standard
/// checkout opened for an offer, counts for its offer, and a refund comes off it. Each once,
/// however often Dodo delivers it, in whatever order.
async fn count_revenue(state: &AppState, event: &WebhookEvent) -> Result<(), sqlx::Error> {
    if let Some(paid) = &event.paid {
        match (&event.payment, &paid.checkout_session_id) {
            (Some(ours), _) => {
                state
                    .storage
                    .record_payment_confirmed(&ours.accept_id, &paid.payment)
                    .await?
            }
            (None, Some(session_id)) => {
                state
                    .storage
                    .record_checkout_payment(session_id, &paid.payment)
                    .await?
            }
            (None, None) => {}
        }
    }
    if let Some(refund) = &event.refund {
        state
            .storage
            .record_refund(&refund.refund_id, &refund.payment_id, refund.amount)
            .await?;
    }
    Ok(())
}

async fn apply(state: &AppState, payment: Option<PaymentEvent>) -> Result<(), sqlx::Error> {
    // Not a payment event of one of our charges.
    let Some(PaymentEvent {
        accept_id,
        next,
        failure,
    }) = payment
    else {
        return Ok(());
    };
    // `processing` must not pull a succeeded or failed accept back, and `advance` never moves a
    // final state; it may only move pending/submitted forward.
    if next == AcceptState::Processing {
        if let Some(current) = state.storage.accept(&accept_id).await? {
            if !matches!(current.state, AcceptState::Pending | AcceptState::Submitted) {
                return Ok(());
            }
        }
    }
    let changed = state
        .storage
        .advance(&accept_id, next, failure.as_ref())
        .await?;
    tracing::info!(%accept_id, state = next.as_str(), changed, "webhook applied");
    Ok(())
}
