use crate::app::AppState;
use crate::dodo_json;
use crate::error::DodoError;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// `GET /products/{product_id}`
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(product_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.lock()?;
    let product = store
        .products
        .get(&product_id)
        .ok_or_else(|| DodoError::not_found("product", &product_id))?;
    Ok(Json(dodo_json::product(&store, product, state.started_at)))
}
