//! `POST /refunds`, `GET /refunds/{id}` and `GET /refunds`: money given back on a succeeded
//! payment, in full or in part, never more than was paid; each refund is announced by
//! `refund.succeeded`, and listed for whoever missed the announcement.

use crate::http::error::DodoError;
use crate::http::routes::{json_body, list_query, ListWindow};
use crate::http::state::AppState;
use crate::world::dodo_json;
use crate::world::store::{new_id, Event, Refund};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Dodo's `CreateRefundRequest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRefund {
    payment_id: String,
    /// Parts of the payment to refund; all of it when absent.
    items: Option<Vec<RefundItem>>,
    reason: Option<String>,
    metadata: Option<Map<String, Value>>,
    /// The payment's currency, when given: a refund is always in it.
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundItem {
    item_id: String,
    /// The amount to refund for the item; the whole item when absent.
    amount: Option<i64>,
    #[allow(dead_code)]
    tax_inclusive: Option<bool>,
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: CreateRefund = json_body(&body)?;
    let now = state.world.clock.now();
    let (response, event) = {
        let mut store = state.world.lock()?;
        let payment = store
            .payments
            .get(&request.payment_id)
            .ok_or_else(|| DodoError::not_found("payment", &request.payment_id))?
            .clone();
        if payment.status != "succeeded" {
            return Err(DodoError::unprocessable(
                "PAYMENT_NOT_SUCCEEDED",
                "only a succeeded payment can be refunded",
            ));
        }
        if request
            .currency
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case(&payment.currency))
        {
            return Err(DodoError::invalid_parameters(
                "a refund is in the payment's currency",
            ));
        }
        let refunded: i64 = store
            .refunds
            .iter()
            .filter(|r| r.payment_id == payment.payment_id)
            .map(|r| r.amount)
            .sum();
        let left = payment.total_amount - refunded;
        let amount = match &request.items {
            None => left,
            Some(items) => {
                let mut amount = 0i64;
                for item in items {
                    if !payment.cart.iter().any(|l| l.product_id == item.item_id) {
                        return Err(DodoError::invalid_parameters(format!(
                            "{} is not in the payment",
                            item.item_id
                        )));
                    }
                    match item.amount {
                        Some(a) if a > 0 => amount = amount.saturating_add(a),
                        Some(_) => {
                            return Err(DodoError::invalid_parameters(
                                "a refunded amount must be positive",
                            ))
                        }
                        None => amount = left,
                    }
                }
                amount.min(left)
            }
        };
        if amount <= 0 || amount > left {
            return Err(DodoError::unprocessable(
                "REFUND_AMOUNT_EXCEEDS_PAYMENT",
                "nothing of this payment is left to refund",
            ));
        }
        let refund = Refund {
            refund_id: new_id("ref"),
            payment_id: payment.payment_id.clone(),
            customer_id: payment.customer_id.clone(),
            amount,
            currency: payment.currency.clone(),
            is_partial: amount < payment.total_amount,
            reason: request.reason,
            metadata: request.metadata.unwrap_or_default(),
            created_at: now,
        };
        let response = dodo_json::refund(&store, &refund);
        let mut data = response.clone();
        data["payload_type"] = Value::from("Refund");
        store.refunds.push(refund);
        (
            response,
            Event {
                event_type: "refund.succeeded",
                data,
            },
        )
    };
    state.world.send_events(vec![event]);
    Ok(Json(response))
}

pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(refund_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    let refund = store
        .refunds
        .iter()
        .find(|r| r.refund_id == refund_id)
        .ok_or_else(|| DodoError::not_found("refund", &refund_id))?;
    Ok(Json(dodo_json::refund(&store, refund)))
}

/// `GET /refunds` filters, as Dodo's `ListRefunds` takes them.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    customer_id: Option<String>,
    status: Option<String>,
    created_at_gte: Option<String>,
    created_at_lte: Option<String>,
    page_size: Option<usize>,
    page_number: Option<usize>,
}

/// `GET /refunds`: newest first, `{items: [...]}`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, DodoError> {
    let query = list_query(query)?;
    let window = ListWindow::new(
        query.created_at_gte.as_deref(),
        query.created_at_lte.as_deref(),
        query.page_size,
        query.page_number,
    )?;
    let store = state.world.lock()?;
    let refunds = store
        .refunds
        .iter()
        .filter(|r| {
            query
                .customer_id
                .as_ref()
                .is_none_or(|c| *c == r.customer_id)
        })
        // Every refund here has succeeded.
        .filter(|_| query.status.as_deref().is_none_or(|s| s == "succeeded"));
    let items: Vec<Value> = window
        .newest_first(refunds, |r: &Refund| (r.created_at, r.refund_id.as_str()))
        .map(|r| dodo_json::refund(&store, r))
        .collect();
    Ok(Json(json!({ "items": items })))
}
