//! `POST /v1/offers/impression`: the widget saw the offer on the customer's screen. The token
//! says which offer, variant and purchase; the report counts it once per purchase and offer.

use super::beacon;
use crate::analytics::impressions;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::offers::token::OfferClaims;
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
    let claims: OfferClaims = state.keys.verify(&request.token)?;
    state.limits.check_token(&claims.jti)?;
    impressions::record(&state.storage, &claims)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    Ok(Json(ImpressionResponse {
        offer_id: claims.oid,
    }))
}
