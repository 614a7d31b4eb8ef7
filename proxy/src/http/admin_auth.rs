//! The report's routes open only with the admin token (see `admin_token`): an extractor, so a
//! handler that takes it cannot run without it.

use super::error::ApiError;
use super::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// A request the admin token authorised: an extractor, so a handler that takes it cannot run
/// without it.
pub struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = &state.admin_token else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "report_disabled",
                "the report is off: start the proxy with UPSELL_ADMIN_TOKEN set",
            )
            .into_response());
        };
        if token.allows(&parts.headers) {
            return Ok(Admin);
        }
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the report needs the admin token: Authorization: Bearer <token>",
        )
        .into_response();
        // A browser then asks its user for the token (as the password).
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Upsell report\", charset=\"UTF-8\""),
        );
        Err(response)
    }
}
