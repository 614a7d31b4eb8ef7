//! `GET /subscriptions` (a customer's, for instance), `GET /subscriptions/{id}`,
//! `POST /subscriptions/{id}/change-plan` and its `/preview`, `DELETE
//! /subscriptions/{id}/change-plan/scheduled` and `POST
//! /subscriptions/{id}/update-payment-method`.

use crate::http::error::DodoError;
use crate::http::routes::{json_body, list_query, ListWindow};
use crate::http::state::AppState;
use crate::world::dodo_json;
use crate::world::payment_method_update::{self, UpdatePaymentMethodRequest};
use crate::world::plan_change::{self, ChangePlanRequest};
use crate::world::store::Subscription;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /subscriptions` query: Dodo's filters, and its page-number pagination.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    customer_id: Option<String>,
    status: Option<String>,
    created_at_gte: Option<String>,
    created_at_lte: Option<String>,
    page_size: Option<usize>,
    page_number: Option<usize>,
}

/// `GET /subscriptions`: newest first, `{items: [...]}`, each item as `GET /subscriptions/{id}`
/// gives it (Dodo's list item has the same fields but the scheduled change).
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, DodoError> {
    let query = list_query(query)?;
    let window = ListWindow::new(
        query.created_at_gte.as_deref(),
        query.created_at_lte.as_deref(),
        query.page_size,
        query.page_number,
    )?;
    let store = state.world.lock()?;
    let subscriptions = store
        .subscriptions
        .values()
        .filter(|s| {
            query
                .customer_id
                .as_ref()
                .is_none_or(|c| *c == s.customer_id)
        })
        .filter(|s| {
            query
                .status
                .as_deref()
                .is_none_or(|status| status == s.status)
        });
    let items: Vec<Value> = window
        .newest_first(subscriptions, |s: &Subscription| {
            (s.created_at, s.subscription_id.as_str())
        })
        .map(|s| dodo_json::subscription(&store, s))
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(subscription_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    let sub = store
        .subscriptions
        .get(&subscription_id)
        .ok_or_else(|| DodoError::not_found("subscription", &subscription_id))?;
    Ok(Json(dodo_json::subscription(&store, sub)))
}

pub async fn preview(
    State(state): State<Arc<AppState>>,
    Path(subscription_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: ChangePlanRequest = json_body(&body)?;
    let now = state.world.clock.now();
    let store = state.world.lock()?;
    Ok(Json(plan_change::preview(
        &store,
        &subscription_id,
        &request,
        now,
    )?))
}

pub async fn change_plan(
    State(state): State<Arc<AppState>>,
    Path(subscription_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: ChangePlanRequest = json_body(&body)?;
    let now = state.world.clock.now();
    let (response, events) = {
        let mut store = state.world.lock()?;
        plan_change::apply(&mut store, &subscription_id, &request, now)?
    };
    state.world.send_events(events);
    Ok(Json(response))
}

/// `DELETE /subscriptions/{id}/change-plan/scheduled`: an empty answer, as Dodo's SDKs expect
/// (`cancelChangePlan(…) -> void`).
pub async fn cancel_scheduled(
    State(state): State<Arc<AppState>>,
    Path(subscription_id): Path<String>,
) -> Result<StatusCode, DodoError> {
    let events = {
        let mut store = state.world.lock()?;
        plan_change::cancel_scheduled(&mut store, &subscription_id)?
    };
    state.world.send_events(events);
    Ok(StatusCode::OK)
}

/// `POST /subscriptions/{id}/update-payment-method`: a page for a new card, or a saved card put
/// on the subscription (see `world::payment_method_update`).
pub async fn update_payment_method(
    State(state): State<Arc<AppState>>,
    Path(subscription_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: UpdatePaymentMethodRequest = json_body(&body)?;
    let now = state.world.clock.now();
    let (response, events) = {
        let mut store = state.world.lock()?;
        payment_method_update::request(&mut store, &subscription_id, &request, now)?
    };
    state.world.send_events(events);
    Ok(Json(response))
}
