//! `POST /v1/widget/errors`: the widget tells the merchant's metrics that something went wrong
//! in a customer's browser (today: a part of the widget fetched on demand could not be fetched).
//! Sent as a beacon, so the JSON body is read whatever its content type says. Only the known
//! kinds and parts are counted, so that the metric's labels stay few whatever is sent.

use super::beacon;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;
use upsell_wire::{WidgetErrorCounted, WidgetErrorReport, WIDGET_ERROR_KINDS, WIDGET_PARTS};

pub async fn record(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<WidgetErrorCounted>, ApiError> {
    let report: WidgetErrorReport = beacon::read(&body, "a widget error")?;
    if !WIDGET_ERROR_KINDS.contains(&report.kind.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_kind",
            format!("kind must be one of {}", WIDGET_ERROR_KINDS.join(", ")),
        ));
    }
    if !WIDGET_PARTS.contains(&report.part.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_part",
            format!("part must be one of {}", WIDGET_PARTS.join(", ")),
        ));
    }
    state
        .metrics
        .widget_errors
        .with_label_values(&[report.kind.as_str(), report.part.as_str()])
        .inc();
    tracing::warn!(kind = %report.kind, part = %report.part, "the widget reported an error");
    Ok(Json(WidgetErrorCounted {
        kind: report.kind,
        part: report.part,
    }))
}
