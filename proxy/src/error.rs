//! Every error the proxy answers with: a status and `{code, message}` (see `upsell_wire::ApiError`).
//! The caller's mistakes are 4xx; Dodo's trouble is 502/503/504; nothing on bad input is a 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use upsell_wire::ApiError as WireError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn upstream(error: &dodopayments::Error) -> Self {
        tracing::warn!(%error, "Dodo call failed");
        Self::new(
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            "the payment provider could not be reached; try again shortly",
        )
    }

    pub fn storage(error: &sqlx::Error) -> Self {
        tracing::error!(%error, "storage error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the upsell service cannot record this right now; try again shortly",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = WireError {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        Self::new(rejection.status(), "invalid_body", rejection.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}
