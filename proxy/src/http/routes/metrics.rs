//! `GET /metrics`: the proxy's Prometheus metrics (see `http::metrics`).

use crate::http::error::ApiError;
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `GET /metrics`
pub async fn render(State(state): State<Arc<AppState>>) -> Response {
    match state.metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render metrics");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "metrics_unavailable",
                "the metrics could not be rendered",
            )
            .into_response()
        }
    }
}
