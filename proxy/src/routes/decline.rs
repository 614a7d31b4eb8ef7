//! `POST /v1/offers/decline`: "No thanks". The offer is not shown again for this purchase, and
//! the answer carries the next offer of its chain (a downsell), if the merchant set one.

use crate::analytics::event_store::Sighting;
use crate::app::AppState;
use crate::error::ApiError;
use crate::offer_builder::{self, Purchase};
use crate::offer_token::OfferClaims;
use crate::routes::accept::{invalid_token, token_error};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;
use time::OffsetDateTime;
use upsell_wire::{DeclineRequest, DeclineResponse, Offer};

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
    state
        .storage
        .record_decline_event(&Sighting::from(&claims))
        .await
        .map_err(|e| ApiError::storage(&e))?;
    tracing::info!(offer = %claims.oid, payment = %claims.sub, "offer declined");
    let next = next_offer(&state, &claims).await?;
    Ok(Json(DeclineResponse {
        offer_id: claims.oid,
        next,
    }))
}

/// The downsell that takes the declined offer's place. Everything a token for it seals comes
/// from the declined offer's token: same purchase, customer, window and payment method.
async fn next_offer(state: &AppState, claims: &OfferClaims) -> Result<Option<Offer>, ApiError> {
    let Some(declined) = state.rules.offer(&claims.oid) else {
        // The offer was removed from the rules since its token was signed.
        return Ok(None);
    };
    let settled = state
        .storage
        .settled(&claims.sub)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if settled.accepted_count >= state.rules.max_accepted_offers {
        return Ok(None);
    }
    let Some((rule, kind)) = offer_builder::current(&state.rules, declined, &settled, true) else {
        return Ok(None);
    };
    let expires_at =
        OffsetDateTime::from_unix_timestamp(claims.exp).map_err(|_| invalid_token())?;
    let purchase = Purchase {
        payment_id: claims.sub.clone(),
        customer_id: claims.cus.clone(),
        currency: claims.cur.clone(),
        expires_at,
        payment_method_id: claims.pm.clone(),
    };
    offer_builder::build(
        state,
        &purchase,
        rule,
        kind,
        &settled,
        OffsetDateTime::now_utc(),
    )
    .await
}
