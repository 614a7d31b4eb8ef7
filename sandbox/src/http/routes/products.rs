use crate::http::error::DodoError;
use crate::http::state::AppState;
use crate::world::dodo_json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// `GET /products/{product_id}`
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(product_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    let product = store
        .products
        .get(&product_id)
        .ok_or_else(|| DodoError::not_found("product", &product_id))?;
    Ok(Json(dodo_json::product(
        &store,
        product,
        state.world.started_at,
    )))
}

/// `PATCH /products/{product_id}`: the merchant edits a product. The sandbox applies what the
/// upsell cares about, a new `price` (`price`, and optionally `currency` and `discount`), and
/// answers 200 with no body, as Dodo does.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(product_id): Path<String>,
    Json(body): Json<Value>,
) -> Result<StatusCode, DodoError> {
    let mut store = state.world.lock()?;
    let product = store
        .products
        .get_mut(&product_id)
        .ok_or_else(|| DodoError::not_found("product", &product_id))?;
    if let Some(price) = body.get("price") {
        let amount = price["price"]
            .as_i64()
            .filter(|amount| *amount >= 0)
            .ok_or_else(|| {
                DodoError::invalid_body("price.price must be a whole number of minor units")
            })?;
        product.price = amount;
        if let Some(currency) = price["currency"].as_str() {
            product.currency = currency.to_uppercase();
        }
        if let Some(discount) = price["discount"].as_i64() {
            product.discount = discount.clamp(0, 100);
        }
    }
    Ok(StatusCode::OK)
}
