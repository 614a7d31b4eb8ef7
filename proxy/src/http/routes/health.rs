use axum::Json;
use serde_json::{json, Value};

/// `GET /healthz`
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
