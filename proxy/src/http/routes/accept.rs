//! `POST /v1/offers/accept` and `GET /v1/accepts/{accept_id}`: one click, charged exactly once
//! (see `charging::accept`).

use crate::charging::accept::{self, AcceptRequest as Request, Accepted};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::offers::token::OfferClaims;
use crate::storage::{Accept, AcceptState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use std::sync::Arc;
use upsell_wire::{AcceptRequest, AcceptResponse, Money};

pub async fn accept(
    State(state): State<Arc<AppState>>,
    body: Result<Json<AcceptRequest>, JsonRejection>,
) -> Result<Json<AcceptResponse>, ApiError> {
    let Json(request) = body?;
    accept::check_idempotency_key(&request.idempotency_key)?;
    let claims: OfferClaims = state.keys.verify(&request.token)?;
    state.limits.check_token(&claims.jti)?;
    let Accepted { accept, call } = accept::accept(
        &state.charging,
        &claims,
        &Request {
            idempotency_key: &request.idempotency_key,
            quantity: request.quantity,
            payment_method_id: request.payment_method_id.as_deref(),
        },
    )
    .await?;
    if let Some(call) = call {
        state
            .metrics
            .charges
            .with_label_values(&[call.as_str()])
            .inc();
    }
    Ok(Json(response(&accept)))
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(accept_id): Path<String>,
) -> Result<Json<AcceptResponse>, ApiError> {
    let accept = accept::status(&state.charging, &accept_id).await?;
    Ok(Json(response(&accept)))
}

/// An accept as the widget is told of it.
fn response(accept: &Accept) -> AcceptResponse {
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
