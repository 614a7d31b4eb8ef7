//! `POST /v1/offers/accept` and `GET /v1/accepts/{accept_id}`.
//!
//! The token decides what is charged; the request only adds an idempotency key and a quantity
//! inside the token's bounds. The accept is recorded before Dodo is called, and only the request
//! that recorded it calls Dodo (see `storage::Storage::begin_accept`).

use crate::analytics::event_store::Sighting;
use crate::app::AppState;
use crate::charge;
use crate::dodo_api::card_is_current;
use crate::error::ApiError;
use crate::offer_token::{OfferClaims, TokenError};
use crate::reconcile::reconcile;
use crate::storage::{Accept, AcceptState, BeginAccept};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;
use upsell_wire::{AcceptRequest, AcceptResponse, Money};

pub async fn accept(
    State(state): State<Arc<AppState>>,
    body: Result<Json<AcceptRequest>, JsonRejection>,
) -> Result<Json<AcceptResponse>, ApiError> {
    let Json(request) = body?;
    check_idempotency_key(&request.idempotency_key)?;
    let claims = state.keys.verify(&request.token).map_err(token_error)?;
    state.limits.check_token(&claims.jti)?;
    check_quantity(&claims, request.quantity)?;
    let settled = state
        .storage
        .settled(&claims.sub)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if settled.declined_offers.contains(&claims.oid)
        && !settled.accepted_items.contains(&claims.iid)
    {
        // Declined (perhaps in another tab) and perhaps replaced by its downsell: taking both
        // is what the chain exists to prevent.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offer_declined",
            "this offer was declined",
        ));
    }
    let amount = claims
        .amt
        .checked_mul(i64::from(request.quantity))
        .ok_or_else(|| ApiError::bad_request("invalid_quantity", "quantity is too large"))?;
    let payment_method_id = match request.payment_method_id.as_deref() {
        Some(chosen) if chosen != claims.pm => {
            check_customer_method(&state, &claims.cus, &claims.cur, chosen).await?;
            chosen.to_string()
        }
        _ if claims.pm.is_empty() => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_payment_method",
                "no saved payment method can pay this offer; use the checkout instead",
            ));
        }
        _ => claims.pm.clone(),
    };
    let candidate = Accept {
        accept_id: format!("acc_{}", uuid::Uuid::new_v4().simple()),
        jti: claims.jti.clone(),
        idempotency_key: request.idempotency_key.clone(),
        original_payment_id: claims.sub.clone(),
        offer_id: claims.iid.clone(),
        customer_id: claims.cus.clone(),
        product_id: claims.pid.clone(),
        payment_method_id,
        quantity: request.quantity,
        amount,
        currency: claims.cur.clone(),
        state: AcceptState::Pending,
        checkout_session_id: None,
        charge_payment_id: None,
        failure_reason: None,
        failure_code: None,
        action_url: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    let recorded = match state
        .storage
        .begin_accept(
            &candidate,
            state.rules.max_accepted_offers,
            &Sighting::from(&claims),
        )
        .await
        .map_err(|e| ApiError::storage(&e))?
    {
        BeginAccept::Existing(existing) => {
            // The same click retried, a double click, or a replayed token: answer with the first
            // accept's outcome. A key reused for a different offer is the caller's bug.
            if existing.idempotency_key == candidate.idempotency_key
                && existing.jti != candidate.jti
            {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "this idempotency key was already used for another offer",
                ));
            }
            let current = reconcile(&state, existing).await;
            return Ok(Json(response(&current)));
        }
        BeginAccept::LimitReached => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "offer_limit_reached",
                "this purchase has accepted as many offers as it may",
            ));
        }
        BeginAccept::Recorded(recorded) => recorded,
    };
    // Spawned, so that a client hanging up mid-charge cannot cancel it half-way.
    let charged = tokio::spawn(charge::charge(Arc::clone(&state), recorded.clone()))
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, accept_id = %recorded.accept_id, "charge task failed");
            recorded
        });
    Ok(Json(response(&charged)))
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(accept_id): Path<String>,
) -> Result<Json<AcceptResponse>, ApiError> {
    let accept = state
        .storage
        .accept(&accept_id)
        .await
        .map_err(|e| ApiError::storage(&e))?
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "accept_not_found", "no such accept")
        })?;
    let current = reconcile(&state, accept).await;
    Ok(Json(response(&current)))
}

pub fn response(accept: &Accept) -> AcceptResponse {
    AcceptResponse {
        accept_id: accept.accept_id.clone(),
        offer_id: accept.offer_id.clone(),
        status: accept.state.to_wire(),
        amount: Money {
            amount: accept.amount,
            currency: accept.currency.clone(),
        },
        failure_reason: accept.failure_reason.clone(),
        failure_code: accept.failure_code.clone(),
        action_url: accept
            .action_url
            .clone()
            .filter(|_| accept.state == AcceptState::RequiresAction),
    }
}

/// The answer to a token that is not one of ours, or not of the kind asked.
pub fn invalid_token() -> ApiError {
    token_error(TokenError::Invalid)
}

pub fn token_error(error: TokenError) -> ApiError {
    match error {
        TokenError::Invalid => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the offer token is not valid",
        ),
        TokenError::Expired => {
            ApiError::new(StatusCode::GONE, "offer_expired", "this offer has expired")
        }
    }
}

/// A payment method the customer picked instead of the offered one must be one of their saved,
/// current cards. (Dodo checks the currency when charging.)
async fn check_customer_method(
    state: &AppState,
    customer_id: &str,
    currency: &str,
    payment_method_id: &str,
) -> Result<(), ApiError> {
    let methods = state
        .dodo
        .payment_methods(customer_id)
        .await
        .map_err(|e| ApiError::upstream(&e))?;
    let now = time::OffsetDateTime::now_utc();
    let usable = methods.iter().any(|m| {
        m.payment_method_id == payment_method_id
            && m.payment_method == "card"
            && m.card.as_ref().is_some_and(|c| card_is_current(c, now))
    });
    if usable {
        Ok(())
    } else {
        tracing::warn!(%currency, "accept named a payment method the customer cannot use");
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment_method_not_allowed",
            "this payment method cannot be used for this offer",
        ))
    }
}

/// The customer chooses a quantity only within the bounds the token seals.
pub fn check_quantity(claims: &OfferClaims, quantity: u32) -> Result<(), ApiError> {
    if (claims.qmin..=claims.qmax).contains(&quantity) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
            format!(
                "quantity must be between {} and {}",
                claims.qmin, claims.qmax
            ),
        ))
    }
}

pub fn check_idempotency_key(key: &str) -> Result<(), ApiError> {
    let well_formed = (8..=128).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "idempotency_key must be 8 to 128 letters, digits, '-' or '_'",
        ))
    }
}
