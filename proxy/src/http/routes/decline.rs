//! `POST /v1/offers/decline`: "No thanks". The offer is not shown again for this purchase, and
//! the answer carries the next offer of its chain (a downsell), if the merchant set one.

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::offers::decline;
use crate::offers::token::OfferClaims;
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
    let claims: OfferClaims = state.keys.verify(&request.token)?;
    state.limits.check_token(&claims.jti)?;
    let next = decline::decline(&state.offers, &claims).await?;
    Ok(Json(DeclineResponse {
        offer_id: claims.oid,
        next,
    }))
}
