//! `GET /payments/{id}` and `POST /payments`.

use crate::http::error::DodoError;
use crate::http::routes::{json_body, list_query, ListWindow};
use crate::http::state::AppState;
use crate::world::cart::{price_cart, CartItem};
use crate::world::charges::{self, NewCharge};
use crate::world::dodo_json;
use crate::world::seed::SeedBilling;
use crate::world::store::{new_id, Payment};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    let payment = store
        .payments
        .get(&payment_id)
        .ok_or_else(|| DodoError::not_found("payment", &payment_id))?;
    Ok(Json(dodo_json::payment(&store, payment)))
}

/// The fields of Dodo's `PaymentsCreateParams` the sandbox acts on.
#[derive(Debug, Deserialize)]
struct CreatePayment {
    billing: SeedBilling,
    customer: CustomerRef,
    product_cart: Vec<CartItem>,
    payment_method_id: Option<String>,
    metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct CustomerRef {
    customer_id: Option<String>,
}

/// `POST /payments`: with a saved `payment_method_id`, charges it at once; without, returns a
/// `payment_link` to a hosted page where the customer pays.
pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: CreatePayment = json_body(&body)?;
    let now = state.world.clock.now();
    let mut events = Vec::new();
    let response = {
        let mut store = state.world.lock()?;
        let customer_id = request.customer.customer_id.clone().ok_or_else(|| {
            DodoError::invalid_parameters(
                "the sandbox needs an existing customer: {\"customer_id\": …}",
            )
        })?;
        if !store.customers.contains_key(&customer_id) {
            return Err(DodoError::not_found("customer", &customer_id));
        }
        let cart = price_cart(&store, &request.product_cart)?;
        if cart.has_subscription {
            return Err(DodoError::invalid_parameters(
                "POST /payments takes one-time products only",
            ));
        }
        let (total, currency, cart) = (cart.total, cart.currency, cart.lines);
        let metadata = request.metadata.clone().unwrap_or_default();
        let payment_id = match &request.payment_method_id {
            Some(method) => charges::charge_card(
                &mut store,
                now,
                NewCharge {
                    customer_id: customer_id.clone(),
                    payment_method_id: method.clone(),
                    cart: cart.clone(),
                    amount: total,
                    currency: currency.clone(),
                    billing: request.billing.clone(),
                    metadata: metadata.clone(),
                    checkout_session_id: None,
                    subscription_id: None,
                    charge_type: "new",
                },
                &mut events,
            )?,
            None => {
                let payment_id = new_id("pay");
                let payment = Payment {
                    payment_id: payment_id.clone(),
                    customer_id: customer_id.clone(),
                    payment_method_id: None,
                    cart: cart.clone(),
                    total_amount: total,
                    currency: currency.clone(),
                    status: "requires_payment_method",
                    error_code: None,
                    error_message: None,
                    created_at: now,
                    updated_at: now,
                    billing: request.billing.clone(),
                    metadata: metadata.clone(),
                    checkout_session_id: None,
                    subscription_id: None,
                    charge_type: "new",
                    payment_link: Some(format!("{}/hosted/pay/{payment_id}", store.public_url)),
                    settles_at: None,
                };
                store.payments.insert(payment_id.clone(), payment);
                payment_id
            }
        };
        let payment = store.payments.get(&payment_id);
        let customer = store.customers.get(&customer_id);
        json!({
            "payment_id": payment_id,
            "client_secret": format!("{payment_id}_secret_sandbox"),
            "customer": {
                "customer_id": customer_id,
                "email": customer.map(|c| c.email.as_str()).unwrap_or_default(),
                "name": customer.map(|c| c.name.as_str()).unwrap_or_default(),
            },
            "metadata": metadata,
            "total_amount": total,
            "payment_link": payment.and_then(|p| p.payment_link.clone()),
            "product_cart": cart,
            "expires_on": payment.and_then(charges::link_expiry),
        })
    };
    state.world.send_events(events);
    Ok(Json(response))
}

/// `GET /payments` query: Dodo's filters, and its page-number pagination.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    customer_id: Option<String>,
    subscription_id: Option<String>,
    status: Option<String>,
    created_at_gte: Option<String>,
    created_at_lte: Option<String>,
    page_size: Option<usize>,
    page_number: Option<usize>,
}

/// `GET /payments`: newest first, `{items: [...]}`.
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
    let payments = store
        .payments
        .values()
        .filter(|p| {
            query
                .customer_id
                .as_ref()
                .is_none_or(|c| *c == p.customer_id)
        })
        .filter(|p| query.subscription_id.is_none() || query.subscription_id == p.subscription_id)
        .filter(|p| query.status.as_deref().is_none_or(|s| s == p.status));
    let items: Vec<Value> = window
        .newest_first(payments, |p: &Payment| {
            (p.created_at, p.payment_id.as_str())
        })
        .map(|p| {
            let mut item = dodo_json::payment(&store, p);
            item["has_license_key"] = Value::Bool(false);
            // Dodo's list items have no cart: what was bought takes `GET /payments/{id}`.
            if let Some(fields) = item.as_object_mut() {
                fields.remove("product_cart");
            }
            item
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
