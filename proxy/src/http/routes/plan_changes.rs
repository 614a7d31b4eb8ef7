//! The plan change API: `GET /v1/plan-changes` with the account token (the account page's entry;
//! after a subscription purchase they come with the offers), `POST /v1/plan-changes/preview`,
//! `POST /v1/plan-changes/confirm` and `GET /v1/plan-changes/{change_ref}` (see `plan_changes`).

use crate::http::customer_locale;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::plan_changes::confirm::{self, result};
use crate::plan_changes::token::PlanChangeClaims;
use crate::plan_changes::{offered, preview, withdraw};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use std::sync::Arc;
use upsell_wire::{
    ConfirmPlanChangeRequest, PlanChangePreview, PlanChangeRequest, PlanChangeResult,
    PlanChangesResponse, WithdrawRequest, WithdrawResult,
};

/// `GET /v1/plan-changes?locale=pt-BR` query: the customer's language, for the merchant's
/// feature rows (`http::customer_locale`).
#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    locale: Option<String>,
}

/// `GET /v1/plan-changes` with `Authorization: Bearer <account token>`: in a header, so the
/// token stays out of access logs.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<PlanChangesResponse>, ApiError> {
    let Query(query) = query?;
    let locale = customer_locale::checked(query.locale.as_deref());
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_account_token",
                "send the account token as `Authorization: Bearer <token>`",
            )
        })?;
    Ok(Json(
        offered::for_account(&state.plan_changes, token.trim(), locale).await?,
    ))
}

/// The plan change token of a request, counted against its rate limit.
fn claims(state: &AppState, token: &str) -> Result<PlanChangeClaims, ApiError> {
    let claims = confirm::verify(&state.plan_changes, token)?;
    state.limits.check_token(&claims.jti)?;
    Ok(claims)
}

pub async fn preview(
    State(state): State<Arc<AppState>>,
    body: Result<Json<PlanChangeRequest>, JsonRejection>,
) -> Result<Json<PlanChangePreview>, ApiError> {
    let Json(request) = body?;
    let claims = claims(&state, &request.token)?;
    let (rule, subscription) = preview::check(&state.plan_changes, &claims).await?;
    Ok(Json(
        preview::preview(&state.plan_changes, &rule, &subscription).await?,
    ))
}

pub async fn confirm(
    State(state): State<Arc<AppState>>,
    body: Result<Json<ConfirmPlanChangeRequest>, JsonRejection>,
) -> Result<Json<PlanChangeResult>, ApiError> {
    let Json(request) = body?;
    confirm::check_idempotency_key(&request.idempotency_key)?;
    let claims = claims(&state, &request.token)?;
    let change = confirm::confirm(
        &state.plan_changes,
        &claims,
        &request.idempotency_key,
        request.confirmed_amount,
    )
    .await?;
    Ok(Json(result(&change)))
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(change_ref): Path<String>,
) -> Result<Json<PlanChangeResult>, ApiError> {
    let change = confirm::status(&state.plan_changes, &change_ref).await?;
    Ok(Json(result(&change)))
}

/// `POST /v1/plan-changes/withdraw`: undoes the change scheduled for the next billing date that
/// the token names (see `plan_changes::withdraw`).
pub async fn withdraw(
    State(state): State<Arc<AppState>>,
    body: Result<Json<WithdrawRequest>, JsonRejection>,
) -> Result<Json<WithdrawResult>, ApiError> {
    let Json(request) = body?;
    let claims = withdraw::verify(&state.plan_changes, &request.token)?;
    state.limits.check_token(&claims.jti)?;
    let withdrawal =
        withdraw::withdraw(&state.plan_changes, &claims, &request.idempotency_key).await?;
    Ok(Json(withdraw::result(&withdrawal)))
}
