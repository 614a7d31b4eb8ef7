//! `POST /checkouts` and `GET /checkouts/{id}`. A session created with `confirm: true` and a
//! saved `payment_method_id` charges that method at once, as Dodo's one-click flow does; any
//! other session gets a `checkout_url` to the sandbox's hosted checkout page.

use crate::http::error::DodoError;
use crate::http::routes::json_body;
use crate::http::state::AppState;
use crate::world::cart::{price_cart, CartItem};
use crate::world::charges::{self, NewCharge};
use crate::world::dodo_json;
use crate::world::seed::SeedBilling;
use crate::world::store::{new_id, CheckoutSession};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::Duration;

/// The fields of Dodo's `CheckoutSessionRequest` the sandbox acts on; others are accepted and ignored.
#[derive(Debug, Deserialize)]
struct CheckoutRequest {
    product_cart: Vec<CartItem>,
    customer: Option<CustomerRef>,
    payment_method_id: Option<String>,
    confirm: Option<bool>,
    billing_address: Option<SeedBilling>,
    minimal_address: Option<bool>,
    metadata: Option<Map<String, Value>>,
    return_url: Option<String>,
}

/// Dodo's untagged `CustomerRequest`: `{customer_id}` or `{email, name?, phone_number?}`.
#[derive(Debug, Deserialize)]
struct CustomerRef {
    customer_id: Option<String>,
}

/// Dodo refuses metadata with more than 50 keys.
const MAX_METADATA_KEYS: usize = 50;
/// A confirmed session lives 15 minutes; any other, 24 hours.
const CONFIRMED_LIFETIME: Duration = Duration::minutes(15);
const OPEN_LIFETIME: Duration = Duration::hours(24);

/// `POST /checkouts`
pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: CheckoutRequest = json_body(&body)?;
    let now = state.world.clock.now();
    let mut events = Vec::new();
    let response = {
        let mut store = state.world.lock()?;
        let priced = price_cart(&store, &request.product_cart)?;
        if priced.has_subscription {
            return Err(DodoError::invalid_parameters(
                "the sandbox does not simulate subscription checkouts; seed the subscription instead",
            ));
        }
        if request.metadata.as_ref().map_or(0, Map::len) > MAX_METADATA_KEYS {
            return Err(DodoError::unprocessable(
                "MAXIMUM_KEYS_REACHED",
                "metadata may hold at most 50 keys",
            ));
        }
        let confirm = request.confirm.unwrap_or(false);
        let customer_id = request
            .customer
            .as_ref()
            .and_then(|c| c.customer_id.clone());
        if let Some(customer_id) = &customer_id {
            if !store.customers.contains_key(customer_id) {
                return Err(DodoError::not_found("customer", customer_id));
            }
        }
        if request.payment_method_id.is_some() {
            if !confirm {
                return Err(DodoError::invalid_parameters(
                    "payment_method_id is only allowed when confirm is true",
                ));
            }
            if customer_id.is_none() {
                return Err(DodoError::invalid_parameters(
                    "payment_method_id requires an existing customer: {\"customer_id\": …}",
                ));
            }
        }
        if confirm {
            let billing = request.billing_address.as_ref().ok_or_else(|| {
                DodoError::invalid_parameters("billing_address is required when confirm is true")
            })?;
            check_billing(billing, request.minimal_address.unwrap_or(false))?;
        }
        let (total, currency, cart) = (priced.total, priced.currency, priced.lines);
        let session_id = new_id("cks");
        let metadata = request.metadata.clone().unwrap_or_default();
        let (payment_id, checkout_url) = match (
            &request.payment_method_id,
            &customer_id,
            &request.billing_address,
        ) {
            (Some(method), Some(customer_id), Some(billing)) => {
                let payment_id = charges::charge_card(
                    &mut store,
                    now,
                    NewCharge {
                        customer_id: customer_id.clone(),
                        payment_method_id: method.clone(),
                        cart: cart.clone(),
                        amount: total,
                        currency,
                        billing: billing.clone(),
                        metadata: metadata.clone(),
                        checkout_session_id: Some(session_id.clone()),
                        subscription_id: None,
                        charge_type: "new",
                    },
                    &mut events,
                )?;
                (Some(payment_id), None)
            }
            _ => (
                None,
                Some(format!("{}/hosted/checkout/{session_id}", store.public_url)),
            ),
        };
        store.sessions.insert(
            session_id.clone(),
            CheckoutSession {
                session_id: session_id.clone(),
                customer_id,
                payment_id: payment_id.clone(),
                cart,
                billing: request.billing_address.clone(),
                metadata,
                return_url: request.return_url.clone(),
                created_at: now,
                expires_at: now
                    + if confirm {
                        CONFIRMED_LIFETIME
                    } else {
                        OPEN_LIFETIME
                    },
            },
        );
        json!({
            "session_id": session_id,
            "checkout_url": checkout_url,
            "payment_id": payment_id,
            "client_secret": null,
            "publishable_key": null,
        })
    };
    state.world.send_events(events);
    Ok(Json(response))
}

/// "When confirm is set to true, all billing address fields become required", unless
/// `minimal_address`, where only the zipcode (besides the country) is.
fn check_billing(billing: &SeedBilling, minimal: bool) -> Result<(), DodoError> {
    let present = |field: &Option<String>| field.as_deref().is_some_and(|v| !v.trim().is_empty());
    if billing.country.len() != 2 {
        return Err(DodoError::invalid_parameters(
            "billing_address.country must be an ISO 3166-1 alpha-2 code",
        ));
    }
    let complete = if minimal {
        present(&billing.zipcode)
    } else {
        present(&billing.street)
            && present(&billing.city)
            && present(&billing.state)
            && present(&billing.zipcode)
    };
    if complete {
        Ok(())
    } else {
        Err(DodoError::invalid_parameters(
            "every billing_address field is required when confirm is true",
        ))
    }
}

/// `GET /checkouts/{id}`
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    let session = store
        .sessions
        .get(&session_id)
        .ok_or_else(|| DodoError::not_found("checkout session", &session_id))?;
    let customer = session
        .customer_id
        .as_ref()
        .and_then(|id| store.customers.get(id));
    let payment_status = session
        .payment_id
        .as_ref()
        .and_then(|id| store.payments.get(id))
        .map(|p| p.status);
    Ok(Json(json!({
        "id": session.session_id,
        "created_at": dodo_json::rfc3339(session.created_at),
        "customer_email": customer.map(|c| c.email.as_str()),
        "customer_name": customer.map(|c| c.name.as_str()),
        "payment_id": session.payment_id,
        "payment_status": payment_status,
    })))
}
