//! `POST /v1/offers/impression`: the widget saw the offer on the customer's screen. The token
//! says which offer, variant and purchase; the report counts it once per purchase and offer.

use crate::analytics::event_store::Sighting;
use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::accept::token_error;
use crate::routes::beacon;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;
use upsell_wire::{ImpressionRequest, ImpressionResponse};

pub async fn record(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<ImpressionResponse>, ApiError> {
    let request: ImpressionRequest = beacon::read(&body, "an impression")?;
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
