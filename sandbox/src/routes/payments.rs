use crate::app::AppState;
use crate::dodo_json;
use crate::error::DodoError;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// `GET /payments/{payment_id}`
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.lock()?;
    let payment = store
        .payments
        .get(&payment_id)
        .ok_or_else(|| DodoError::not_found("payment", &payment_id))?;
    Ok(Json(dodo_json::payment(&store, payment)))
}
