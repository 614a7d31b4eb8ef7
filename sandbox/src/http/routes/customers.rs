use crate::http::error::DodoError;
use crate::http::state::AppState;
use crate::world::dodo_json;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /customers/{customer_id}/payment-methods`: `{items: [...]}`, most recently used first.
pub async fn payment_methods(
    State(state): State<Arc<AppState>>,
    Path(customer_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    if !store.customers.contains_key(&customer_id) {
        return Err(DodoError::not_found("customer", &customer_id));
    }
    let mut methods: Vec<_> = store
        .payment_methods
        .values()
        .filter(|pm| pm.customer_id == customer_id)
        .collect();
    methods.sort_by_key(|pm| std::cmp::Reverse(pm.last_used_at));
    let items: Vec<Value> = methods.into_iter().map(dodo_json::payment_method).collect();
    Ok(Json(json!({ "items": items })))
}
