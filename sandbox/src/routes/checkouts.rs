//! `POST /checkouts` and `GET /checkouts/{id}`. A session created with `confirm: true` and a
//! saved `payment_method_id` charges that method at once, as Dodo's one-click flow does.

use crate::app::AppState;
use crate::dodo_json;
use crate::error::DodoError;
use crate::seed::{CardBehaviour, SeedBilling};
use crate::store::{new_id, unit_price, CartLine, CheckoutSession, Payment};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

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
}

#[derive(Debug, Deserialize)]
struct CartItem {
    product_id: String,
    quantity: i64,
}

/// Dodo's untagged `CustomerRequest`: `{customer_id}` or `{email, name?, phone_number?}`.
#[derive(Debug, Deserialize)]
struct CustomerRef {
    customer_id: Option<String>,
}

/// Dodo refuses metadata with more than 50 keys.
const MAX_METADATA_KEYS: usize = 50;
/// "Minimum amount of $0.50 is required".
const MINIMUM_USD_AMOUNT: i64 = 50;

/// `POST /checkouts`
pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: CheckoutRequest = serde_json::from_slice(&body)
        .map_err(|e| DodoError::invalid_body(format!("invalid checkout session request: {e}")))?;
    let now = OffsetDateTime::now_utc();

    let (response, webhook) = {
        let mut store = state.lock()?;
        if request.product_cart.is_empty() {
            return Err(DodoError::invalid_body("product_cart must not be empty"));
        }
        let mut total = 0i64;
        let mut currency: Option<String> = None;
        for item in &request.product_cart {
            if item.quantity < 1 {
                return Err(DodoError::invalid_body("quantity must be at least 1"));
            }
            let product = store
                .products
                .get(&item.product_id)
                .ok_or_else(|| DodoError::not_found("product", &item.product_id))?;
            match &currency {
                Some(c) if *c != product.currency => {
                    return Err(DodoError::invalid_parameters(
                        "all products in a cart must share one currency",
                    ))
                }
                _ => currency = Some(product.currency.clone()),
            }
            total += unit_price(product) * item.quantity;
        }
        let currency = currency.unwrap_or_default();
        if request.metadata.as_ref().map_or(0, Map::len) > MAX_METADATA_KEYS {
            return Err(DodoError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "MAXIMUM_KEYS_REACHED",
                "metadata may hold at most 50 keys",
            ));
        }
        let confirm = request.confirm.unwrap_or(false);
        let customer_id = request
            .customer
            .as_ref()
            .and_then(|c| c.customer_id.clone());
        let Some(payment_method_id) = request.payment_method_id.clone() else {
            return Err(DodoError::invalid_parameters(
                "the sandbox simulates only one-click sessions: confirm=true with a saved payment_method_id",
            ));
        };
        if !confirm {
            return Err(DodoError::invalid_parameters(
                "payment_method_id is only allowed when confirm is true",
            ));
        }
        let Some(customer_id) = customer_id else {
            return Err(DodoError::invalid_parameters(
                "payment_method_id requires an existing customer: {\"customer_id\": …}",
            ));
        };
        if !store.customers.contains_key(&customer_id) {
            return Err(DodoError::not_found("customer", &customer_id));
        }
        let billing = request.billing_address.clone().ok_or_else(|| {
            DodoError::invalid_parameters("billing_address is required when confirm is true")
        })?;
        check_billing(&billing, request.minimal_address.unwrap_or(false))?;
        if currency == "USD" && total < MINIMUM_USD_AMOUNT {
            return Err(DodoError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "TOTAL_PAYMENT_AMOUNT_BELOW_MINIMUM_AMOUNT",
                "Minimum amount of $0.50 is required",
            ));
        }
        let method = store
            .payment_methods
            .get(&payment_method_id)
            .filter(|pm| pm.customer_id == customer_id)
            .cloned()
            .ok_or_else(|| {
                DodoError::invalid_parameters("the payment method does not belong to this customer")
            })?;
        if method.currency != currency {
            return Err(DodoError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "NO_ELIGIBLE_PAYMENT_METHODS",
                format!("payment method cannot pay in {currency}"),
            ));
        }

        let (status, error_code, error_message, event) = match method.behaviour {
            CardBehaviour::Succeeds => ("succeeded", None, None, "payment.succeeded"),
            CardBehaviour::DeclinesInsufficientFunds => (
                "failed",
                Some("INSUFFICIENT_FUNDS"),
                Some("Your card has insufficient funds."),
                "payment.failed",
            ),
            CardBehaviour::DeclinesCardDeclined => (
                "failed",
                Some("CARD_DECLINED"),
                Some("Your card was declined."),
                "payment.failed",
            ),
        };
        let session_id = new_id("cks");
        let payment = Payment {
            payment_id: new_id("pay"),
            customer_id: customer_id.clone(),
            payment_method_id: payment_method_id.clone(),
            cart: request
                .product_cart
                .iter()
                .map(|item| CartLine {
                    product_id: item.product_id.clone(),
                    quantity: item.quantity,
                })
                .collect(),
            total_amount: total,
            currency,
            status,
            error_code,
            error_message,
            created_at: now,
            billing,
            metadata: request.metadata.clone().unwrap_or_default(),
            checkout_session_id: Some(session_id.clone()),
        };
        if let Some(pm) = store.payment_methods.get_mut(&payment_method_id) {
            pm.last_used_at = now;
        }
        let webhook_data = {
            let mut data = dodo_json::payment(&store, &payment);
            data["payload_type"] = json!("Payment");
            data
        };
        store.sessions.insert(
            session_id.clone(),
            CheckoutSession {
                session_id: session_id.clone(),
                customer_id,
                payment_id: Some(payment.payment_id.clone()),
                created_at: now,
            },
        );
        store.charges.push(payment.payment_id.clone());
        let response = json!({
            "session_id": session_id,
            "checkout_url": null,
            "payment_id": payment.payment_id,
            "client_secret": null,
            "publishable_key": null,
        });
        tracing::info!(payment_id = %payment.payment_id, amount = payment.total_amount, status, "charged");
        store.payments.insert(payment.payment_id.clone(), payment);
        (response, (event, webhook_data))
    };
    state.webhooks.send(&state.store, webhook.0, webhook.1);
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
    let store = state.lock()?;
    let session = store
        .sessions
        .get(&session_id)
        .ok_or_else(|| DodoError::not_found("checkout session", &session_id))?;
    let customer = store.customers.get(&session.customer_id);
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
