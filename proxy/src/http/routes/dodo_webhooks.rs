//! `POST /webhooks/dodo`: Dodo's events, verified per Standard Webhooks and processed once.
//! Events may come late, twice or out of order: a final outcome is never undone.

use crate::analytics::revenue;
use crate::charging::payment_events;
use crate::dodo::webhooks;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::plan_changes::confirm::settle_for_event;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;

pub async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    if let Err(error) = webhooks::verify(&state.webhook_verifier, &body, &headers) {
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
    let event = webhooks::parse(&body)
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
    // Each concern takes what the event tells it: a plan change its outcome (read afresh from
    // Dodo), the report its revenue, an accept its state. If one cannot be recorded, the
    // delivery is forgotten, so that Dodo's retry is processed.
    let processed = async {
        settle_for_event(
            &state.plan_changes,
            event.plan_change_ref.as_deref(),
            event.subscription_id.as_deref(),
        )
        .await?;
        revenue::record(&state.storage, &event).await?;
        if let Some(payment) = &event.payment {
            payment_events::apply(&state.storage, payment).await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    if let Err(error) = processed {
        let _ = state.storage.forget_delivery(&webhook_id).await;
        return Err(ApiError::storage(&error));
    }
    state.metrics.webhooks.with_label_values(&["applied"]).inc();
    Ok(StatusCode::OK)
}
