//! The body of a beacon: the widget sends what nothing waits for (an impression, an error) with
//! `navigator.sendBeacon`, whose JSON comes as `text/plain` (which needs no preflight across
//! origins), so the body is read as JSON whatever its content type says.

use crate::http::error::ApiError;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Reads `body` as a `T`; `what` names it in the error (`not an impression: …`). Malformed JSON
/// is 400, JSON of the wrong shape 422, both `invalid_body`.
pub fn read<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        let status = if error.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, "invalid_body", format!("not {what}: {error}"))
    })
}
