//! `POST /v1/offers/impression`: the widget saw the offer on the customer's screen. The token
//! says which offer, variant and purchase; the report counts it once per purchase and offer.

use crate::analytics::event_store::Sighting;
use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::accept::token_error;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;
use upsell_wire::{ImpressionRequest, ImpressionResponse};

pub async fn record(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<ImpressionResponse>, ApiError> {
    // The widget sends a beacon, whose JSON comes as `text/plain` (no preflight across
    // origins): the body is read whatever its content type says.
    let request: ImpressionRequest = serde_json::from_slice(&body).map_err(|error| {
        let status = if error.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(
            status,
            "invalid_body",
            format!("not an impression: {error}"),
        )
    })?;
    let claims = state.keys.verify(&request.token).map_err(token_error)?;
    state.limits.check_token(&claims.jti)?;
    let first = state
        .storage
        .record_impression(&Sighting::from(&claims))
        .await
        .map_err(|e| ApiError::storage(&e))?;
    tracing::debug!(offer = %claims.oid, variant = claims.variant(), first, "impression");
    Ok(Json(ImpressionResponse {
        offer_id: claims.oid,
    }))
}
