//! `GET /subscriptions/{id}`, `POST /subscriptions/{id}/change-plan` and its `/preview`.

use crate::http::error::DodoError;
use crate::http::routes::json_body;
use crate::http::state::AppState;
use crate::world::dodo_json;
use crate::world::plan_change::{self, ChangePlanRequest};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

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
