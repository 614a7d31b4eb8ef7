//! The faults in force (`world::faults`), done to Dodo's routes: latency, an error answer, or
//! no answer, before or after the request is handled.

use super::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// Middleware on Dodo's routes.
pub async fn inject(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| format!("{} {}", request.method(), p.as_str()))
        .unwrap_or_default();
    let plan = state.world.faults.plan(&route);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.after_handling {
        let response = next.run(request).await;
        if plan.hang {
            std::future::pending::<()>().await;
        }
        return match plan.error {
            Some((status, retry_after)) => error_response(status, retry_after),
            None => response,
        };
    }
    if plan.hang {
        std::future::pending::<()>().await;
    }
    match plan.error {
        Some((status, retry_after)) => error_response(status, retry_after),
        None => next.run(request).await,
    }
}

fn error_response(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
        _ => "INTERNAL_SERVER_ERROR",
    };
    let mut response = (
        status,
        Json(json!({ "code": code, "message": "Something went wrong :(" })),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
    }
    response
}
