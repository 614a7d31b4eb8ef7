//! The plan change API: `GET /v1/plan-changes` with the account token (the account page's entry; after
//! a subscription purchase they come with the offers), `POST /v1/plan-changes/preview`,
//! `POST /v1/plan-changes/confirm` and `GET /v1/plan-changes/{change_ref}`.

use crate::app::AppState;
use crate::error::ApiError;
use crate::plan_change::{self, submit};
use crate::plan_change_store::{BeginChange, ChangeRecord, ChangeState};
use crate::plan_token::{AccountClaims, PlanChangeClaims, ACCOUNT, PLAN_CHANGE};
use crate::routes::accept::{invalid_token, token_error};
use crate::routes::offers::currency_code;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use std::sync::Arc;
use time::OffsetDateTime;
use upsell_wire::{
    ConfirmPlanChangeRequest, Money, PlanChangePreview, PlanChangeRequest, PlanChangeResult,
    PlanChangesResponse,
};

/// `GET /v1/plan-changes` with `Authorization: Bearer <account token>`: in a header, so the
/// token stays out of access logs.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<PlanChangesResponse>, ApiError> {
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
    let account: AccountClaims = state.keys.verify_as(token.trim()).map_err(token_error)?;
    if account.typ != ACCOUNT {
        return Err(invalid_token());
    }
    let subscription = state
        .dodo
        .subscription(&account.sub)
        .await
        .map_err(|e| match e {
            dodopayments::Error::Api { status: 404, .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "subscription_not_found",
                "no subscription with this id",
            ),
            other => ApiError::upstream(&other),
        })?;
    if subscription.customer.customer_id != account.cus {
        return Err(invalid_token());
    }
    let expires_at =
        OffsetDateTime::from_unix_timestamp(account.exp).map_err(|_| invalid_token())?;
    let plan_changes =
        plan_change::offered(&state, &subscription, expires_at, OffsetDateTime::now_utc()).await?;
    Ok(Json(PlanChangesResponse { plan_changes }))
}

fn claims(state: &AppState, token: &str) -> Result<PlanChangeClaims, ApiError> {
    let claims: PlanChangeClaims = state.keys.verify_as(token).map_err(token_error)?;
    if claims.typ != PLAN_CHANGE {
        return Err(invalid_token());
    }
    state.limits.check_token(&claims.jti)?;
    Ok(claims)
}

pub async fn preview(
    State(state): State<Arc<AppState>>,
    body: Result<Json<PlanChangeRequest>, JsonRejection>,
) -> Result<Json<PlanChangePreview>, ApiError> {
    let Json(request) = body?;
    let claims = claims(&state, &request.token)?;
    let (rule, subscription) = plan_change::check(&state, &claims).await?;
    Ok(Json(
        plan_change::preview(&state, &rule, &subscription).await?,
    ))
}

pub async fn confirm(
    State(state): State<Arc<AppState>>,
    body: Result<Json<ConfirmPlanChangeRequest>, JsonRejection>,
) -> Result<Json<PlanChangeResult>, ApiError> {
    let Json(request) = body?;
    crate::routes::accept::check_idempotency_key(&request.idempotency_key)?;
    let claims = claims(&state, &request.token)?;
    let (rule, subscription) = plan_change::check(&state, &claims).await?;
    let candidate = ChangeRecord {
        change_ref: format!("chg_{}", uuid::Uuid::new_v4().simple()),
        jti: claims.jti.clone(),
        idempotency_key: request.idempotency_key.clone(),
        subscription_id: claims.sub.clone(),
        customer_id: claims.cus.clone(),
        rule_id: rule.id.clone(),
        to_product: rule.to.clone(),
        amount: request.confirmed_amount,
        currency: currency_code(&subscription.currency),
        state: ChangeState::Pending,
        payment_id: None,
        effective_date: None,
        failure_code: None,
        action_url: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    // A retry, a double click or a replayed token: the first change's outcome, nothing more.
    if let Some(found) = find_existing(&state, &candidate).await? {
        return existing_outcome(&state, &candidate, found).await;
    }
    // The customer confirmed an amount: it must still be what Dodo will charge.
    let preview = plan_change::preview(&state, &rule, &subscription).await?;
    if preview.amount_due_now.amount != request.confirmed_amount {
        // A confirm of the same token racing this one may have made the change meanwhile (the
        // new plan then previews another amount): its outcome is the answer.
        if let Some(found) = find_existing(&state, &candidate).await? {
            return existing_outcome(&state, &candidate, found).await;
        }
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "preview_changed",
            format!(
                "the amount due is now {} {}; review the change again",
                preview.amount_due_now.amount, preview.amount_due_now.currency
            ),
        ));
    }
    let recorded = match plan_change::begin(&state, &candidate).await? {
        BeginChange::Recorded(recorded) => recorded,
        BeginChange::Existing(existing) => {
            return existing_outcome(&state, &candidate, existing).await;
        }
        BeginChange::InProgress => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "change_in_progress",
                "another plan change of this subscription is under way",
            ));
        }
    };
    // Spawned, so that a client hanging up cannot cancel the change half-way.
    let shared = Arc::clone(&state);
    let changed =
        tokio::spawn(async move { submit(&shared, recorded, &rule, &subscription).await })
            .await
            .map_err(|error| {
                tracing::error!(%error, "plan change task failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the plan change could not be followed; ask for its status",
                )
            })?;
    Ok(Json(result(&changed)))
}

/// The answer to a confirm that found a change already recorded with its token or its
/// idempotency key: that change's outcome, or, for a key reused with another token, a refusal.
async fn existing_outcome(
    state: &AppState,
    candidate: &ChangeRecord,
    found: ChangeRecord,
) -> Result<Json<PlanChangeResult>, ApiError> {
    if found.jti != candidate.jti {
        return Err(key_reused());
    }
    let current = plan_change::settle(state, found).await;
    Ok(Json(result(&current)))
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(change_ref): Path<String>,
) -> Result<Json<PlanChangeResult>, ApiError> {
    let change = state
        .storage
        .plan_change(&change_ref)
        .await
        .map_err(|e| ApiError::storage(&e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "plan_change_not_found",
                "no such plan change",
            )
        })?;
    let current = plan_change::settle(&state, change).await;
    Ok(Json(result(&current)))
}

fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this idempotency key was already used for another change",
    )
}

/// A change already recorded with this token or idempotency key.
async fn find_existing(
    state: &AppState,
    candidate: &ChangeRecord,
) -> Result<Option<ChangeRecord>, ApiError> {
    state
        .storage
        .plan_change_by_token_or_key(&candidate.jti, &candidate.idempotency_key)
        .await
        .map_err(|e| ApiError::storage(&e))
}

pub fn result(change: &ChangeRecord) -> PlanChangeResult {
    PlanChangeResult {
        change_ref: change.change_ref.clone(),
        status: change.state.to_wire(),
        amount: Money {
            amount: change.amount,
            currency: change.currency.clone(),
        },
        effective_date: change.effective_date.clone(),
        failure_code: change.failure_code.clone(),
        action_url: change
            .action_url
            .clone()
            .filter(|_| change.state == ChangeState::RequiresAction),
    }
}
