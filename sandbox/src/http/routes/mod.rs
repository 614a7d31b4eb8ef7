//! Dodo's API paths, one file per resource.

pub mod checkouts;
pub mod customers;
pub mod payments;
pub mod products;
pub mod refunds;
pub mod subscriptions;

use crate::http::error::DodoError;
use serde::de::DeserializeOwned;

/// Parses a JSON body as Dodo does: a body that does not fit is `422 INVALID_REQUEST_BODY`.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, DodoError> {
    serde_json::from_slice(body)
        .map_err(|e| DodoError::invalid_body(format!("invalid request body: {e}")))
}
