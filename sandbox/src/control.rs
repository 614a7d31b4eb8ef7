//! The sandbox's own API for tests and the demo, under `/_sandbox/`, never mixed with Dodo's
//! paths, and mounted only when enabled.

use crate::app::AppState;
use crate::dodo_json;
use crate::error::DodoError;
use crate::store::{new_id, unit_price, CartLine, Payment};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// `GET /_sandbox/ledger`: every charge made through a checkout session, and every webhook
/// delivery attempt, oldest first.
pub async fn ledger(State(state): State<Arc<AppState>>) -> Result<Json<Value>, DodoError> {
    let store = state.lock()?;
    let charges: Vec<Value> = store
        .charges
        .iter()
        .filter_map(|id| store.payments.get(id))
        .map(|p| {
            json!({
                "payment_id": p.payment_id,
                "checkout_session_id": p.checkout_session_id,
                "customer_id": p.customer_id,
                "payment_method_id": p.payment_method_id,
                "product_cart": p.cart,
                "total_amount": p.total_amount,
                "currency": p.currency,
                "status": p.status,
                "metadata": p.metadata,
                "created_at": dodo_json::rfc3339(p.created_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "charges": charges,
        "webhook_deliveries": store.deliveries,
    })))
}

#[derive(Debug, Deserialize)]
pub struct PurchaseRequest {
    customer_id: String,
    product_id: String,
    #[serde(default = "one")]
    quantity: i64,
    /// How long ago the purchase was made (0: now).
    #[serde(default)]
    minutes_ago: i64,
}

fn one() -> i64 {
    1
}

/// `POST /_sandbox/purchases`: records a purchase that has just succeeded, paid with the
/// customer's most recently used card and billed to the address of their latest payment, as
/// if the customer had completed a Dodo checkout. Returns `{payment_id}`.
pub async fn purchase(
    State(state): State<Arc<AppState>>,
    Json(request): Json<PurchaseRequest>,
) -> Result<Json<Value>, DodoError> {
    let mut store = state.lock()?;
    let product = store
        .products
        .get(&request.product_id)
        .ok_or_else(|| DodoError::not_found("product", &request.product_id))?;
    if request.quantity < 1 || request.minutes_ago < 0 {
        return Err(DodoError::invalid_body(
            "quantity must be at least 1 and minutes_ago not negative",
        ));
    }
    let total_amount = unit_price(product) * request.quantity;
    let currency = product.currency.clone();
    let method = store
        .payment_methods
        .values()
        .filter(|pm| pm.customer_id == request.customer_id)
        .max_by_key(|pm| pm.last_used_at)
        .ok_or_else(|| DodoError::invalid_parameters("the customer has no saved payment method"))?;
    let billing = store.latest_billing(&request.customer_id).ok_or_else(|| {
        DodoError::invalid_parameters(
            "the customer has no earlier payment to take a billing address from",
        )
    })?;
    let payment = Payment {
        payment_id: new_id("pay"),
        customer_id: request.customer_id.clone(),
        payment_method_id: method.payment_method_id.clone(),
        cart: vec![CartLine {
            product_id: request.product_id.clone(),
            quantity: request.quantity,
        }],
        total_amount,
        currency,
        status: "succeeded",
        error_code: None,
        error_message: None,
        created_at: OffsetDateTime::now_utc() - Duration::minutes(request.minutes_ago),
        billing,
        metadata: Map::new(),
        checkout_session_id: None,
    };
    let payment_id = payment.payment_id.clone();
    store.payments.insert(payment_id.clone(), payment);
    Ok(Json(json!({ "payment_id": payment_id })))
}
