//! `POST /v1/offers/decline`: "No thanks". The offer is not shown again for this purchase.

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::accept::token_error;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;
use upsell_wire::{DeclineRequest, DeclineResponse};

pub async fn decline(
    State(state): State<Arc<AppState>>,
    body: Result<Json<DeclineRequest>, JsonRejection>,
) -> Result<Json<DeclineResponse>, ApiError> {
    let Json(request) = body?;
    let claims = state.keys.verify(&request.token).map_err(token_error)?;
    state.limits.check_token(&claims.jti)?;
    state
        .storage
        .record_decline(&claims.sub, &claims.oid)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    tracing::info!(offer = %claims.oid, payment = %claims.sub, "offer declined");
    Ok(Json(DeclineResponse {
        offer_id: claims.oid,
    }))
}
