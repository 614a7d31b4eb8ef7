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

/// The query of a list, as Dodo reads it: one that does not parse is `422
/// INVALID_REQUEST_PARAMETERS`.
pub fn list_query<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, DodoError> {
    query
        .map(|axum::extract::Query(query)| query)
        .map_err(|e| DodoError::unprocessable("INVALID_REQUEST_PARAMETERS", e.body_text()))
}

/// Which items of a list are asked for: created within `created_at_gte` and `created_at_lte`
/// (both included), and which page of them (10 a page by default, at most 100).
pub struct ListWindow {
    after: Option<time::OffsetDateTime>,
    before: Option<time::OffsetDateTime>,
    page_size: usize,
    page_number: usize,
}

impl ListWindow {
    pub fn new(
        created_at_gte: Option<&str>,
        created_at_lte: Option<&str>,
        page_size: Option<usize>,
        page_number: Option<usize>,
    ) -> Result<Self, DodoError> {
        let bound = |text: Option<&str>| {
            text.map(crate::world::store::parse_time)
                .transpose()
                .map_err(|e| DodoError::unprocessable("INVALID_REQUEST_PARAMETERS", e.to_string()))
        };
        Ok(ListWindow {
            after: bound(created_at_gte)?,
            before: bound(created_at_lte)?,
            page_size: page_size.unwrap_or(10).clamp(1, 100),
            page_number: page_number.unwrap_or(0),
        })
    }

    /// Whether something created at `created_at` is in the window.
    pub fn contains(&self, created_at: time::OffsetDateTime) -> bool {
        self.after.is_none_or(|t| created_at >= t) && self.before.is_none_or(|t| created_at <= t)
    }

    /// The asked-for page of `items` in the window, in Dodo's order: newest first, then by id
    /// (`key` gives both).
    pub fn newest_first<'a, T: 'a>(
        &self,
        items: impl Iterator<Item = &'a T>,
        key: impl Fn(&T) -> (time::OffsetDateTime, &str),
    ) -> impl Iterator<Item = &'a T> {
        let mut items: Vec<&T> = items.filter(|item| self.contains(key(item).0)).collect();
        items.sort_by(|a, b| key(b).cmp(&key(a)));
        items
            .into_iter()
            .skip(self.page_number * self.page_size)
            .take(self.page_size)
    }
}
