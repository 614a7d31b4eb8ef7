//! The proxy's HTTP API, one file per route group: each handler reads the request, checks
//! what is the web layer's to check (a token's rate limit), calls the product's concern, and
//! answers.

pub mod accept;
pub mod beacon;
pub mod checkout;
pub mod decline;
pub mod dodo_webhooks;
pub mod health;
pub mod impressions;
pub mod metrics;
pub mod offers;
pub mod plan_changes;
pub mod report;
pub mod widget_errors;

use super::error::ApiError;
use axum::http::StatusCode;

/// Any path the API does not have.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "there is nothing at this path",
    )
}

/// A path the API has, asked with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}
