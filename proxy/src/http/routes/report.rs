//! `GET /v1/report` (JSON) and `GET /report` (the page): which offers convert, and how each
//! experiment's variants compare. Both need the admin token (see `http::admin_auth`).

use crate::analytics::report::{self, Report};
use crate::analytics::report_page;
use crate::http::admin_auth::Admin;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use time::OffsetDateTime;

pub async fn json(_: Admin, State(state): State<Arc<AppState>>) -> Result<Json<Report>, ApiError> {
    Ok(Json(build(&state).await?))
}

pub async fn page(_: Admin, State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let report = build(&state).await?;
    Ok((
        [
            (
                CONTENT_SECURITY_POLICY,
                report_page::CONTENT_SECURITY_POLICY,
            ),
            (CACHE_CONTROL, "no-store"),
        ],
        Html(report_page::render(&report)),
    )
        .into_response())
}

async fn build(state: &AppState) -> Result<Report, ApiError> {
    report::build(
        &state.storage,
        &state.rules.current(),
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| ApiError::storage(&e))
}
