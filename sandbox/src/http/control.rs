//! The sandbox's own API for tests and the demo, under `/_sandbox/`, never mixed with Dodo's
//! paths, and mounted only when enabled (`--control-api`).

use crate::http::error::DodoError;
use crate::http::routes::json_body;
use crate::http::state::AppState;
use crate::world::dodo_json;
use crate::world::faults::FaultRule;
use crate::world::seed::Seed;
use crate::world::store::{new_id, unit_price, CartLine, Payment};
use crate::world::webhooks::WebhookSettings;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::Duration;

/// `GET /_sandbox/ledger`: every charge made since the start (checkouts, payments, plan changes,
/// renewals), every checkout session, every webhook delivery attempt, and each subscription's
/// state and credit.
pub async fn ledger(State(state): State<Arc<AppState>>) -> Result<Json<Value>, DodoError> {
    let store = state.world.lock()?;
    let charges: Vec<Value> = store
        .charges
        .iter()
        .filter_map(|id| store.payments.get(id))
        .map(|p| {
            json!({
                "payment_id": p.payment_id,
                "checkout_session_id": p.checkout_session_id,
                "subscription_id": p.subscription_id,
                "charge_type": p.charge_type,
                "customer_id": p.customer_id,
                "payment_method_id": p.payment_method_id,
                "product_cart": p.cart,
                "total_amount": p.total_amount,
                "currency": p.currency,
                "status": p.status,
                "error_code": p.error_code,
                "metadata": p.metadata,
                "created_at": dodo_json::rfc3339(p.created_at),
            })
        })
        .collect();
    let mut subscriptions: Vec<Value> = store
        .subscriptions
        .values()
        .map(|s| {
            json!({
                "subscription_id": s.subscription_id,
                "status": s.status,
                "payment_method_id": s.payment_method_id,
                "owed": s.owed.as_ref().map(|o| o.amount),
                "product_id": s.plan.product_id,
                "quantity": s.plan.quantity,
                "addons": s.plan.addons,
                "credit_balance": s.credit_balance,
                "previous_billing_date": dodo_json::rfc3339(s.previous_billing_date),
                "next_billing_date": dodo_json::rfc3339(s.next_billing_date),
            })
        })
        .collect();
    subscriptions.sort_by(|a, b| {
        a["subscription_id"]
            .as_str()
            .cmp(&b["subscription_id"].as_str())
    });
    let mut checkout_sessions: Vec<Value> = store
        .sessions
        .values()
        .map(|s| {
            json!({
                "session_id": s.session_id,
                "customer_id": s.customer_id,
                "payment_id": s.payment_id,
                "product_cart": s.cart,
                "metadata": s.metadata,
                "return_url": s.return_url,
                "created_at": dodo_json::rfc3339(s.created_at),
            })
        })
        .collect();
    checkout_sessions.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
    let refunds: Vec<Value> = store
        .refunds
        .iter()
        .map(|r| dodo_json::refund(&store, r))
        .collect();
    Ok(Json(json!({
        "charges": charges,
        "refunds": refunds,
        "checkout_sessions": checkout_sessions,
        "webhook_deliveries": store.deliveries,
        "subscriptions": subscriptions,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let request: PurchaseRequest = json_body(&body)?;
    let now = state.world.clock.now();
    let mut store = state.world.lock()?;
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
    let created_at = now - Duration::minutes(request.minutes_ago);
    let payment = Payment {
        payment_id: new_id("pay"),
        customer_id: request.customer_id.clone(),
        payment_method_id: Some(method.payment_method_id.clone()),
        cart: vec![CartLine {
            product_id: request.product_id.clone(),
            quantity: request.quantity,
        }],
        total_amount,
        currency,
        status: "succeeded",
        error_code: None,
        error_message: None,
        created_at,
        updated_at: created_at,
        billing,
        metadata: Map::new(),
        checkout_session_id: None,
        subscription_id: None,
        charge_type: "new",
        payment_link: None,
        settles_at: None,
    };
    let payment_id = payment.payment_id.clone();
    store.payments.insert(payment_id.clone(), payment);
    Ok(Json(json!({ "payment_id": payment_id })))
}

/// `POST /_sandbox/reset`: back to the seed the sandbox runs from: data, faults and clock.
pub async fn reset(State(state): State<Arc<AppState>>) -> Result<Json<Value>, DodoError> {
    let seed = state
        .world
        .seed
        .lock()
        .map(|s| s.clone())
        .map_err(|_| DodoError::invalid_parameters("seed unavailable"))?;
    state
        .world
        .reset_to(seed)
        .map_err(|e| DodoError::invalid_parameters(e.to_string()))?;
    Ok(Json(json!({ "reset": true })))
}

/// `PUT /_sandbox/seed` with a seed file (TOML) as the body: replaces the world.
pub async fn replace_seed(
    State(state): State<Arc<AppState>>,
    body: String,
) -> Result<Json<Value>, DodoError> {
    let seed = Seed::parse(&body).map_err(|e| DodoError::invalid_body(format!("seed: {e}")))?;
    state
        .world
        .reset_to(seed)
        .map_err(|e| DodoError::invalid_body(format!("seed: {e}")))?;
    Ok(Json(json!({ "reset": true })))
}

/// `GET /_sandbox/faults`
pub async fn faults(State(state): State<Arc<AppState>>) -> Json<Vec<FaultRule>> {
    Json(state.world.faults.list())
}

/// `PUT /_sandbox/faults` with the full list of rules (`[]` clears them).
pub async fn set_faults(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Vec<FaultRule>>, DodoError> {
    let rules: Vec<FaultRule> = json_body(&body)?;
    state
        .world
        .faults
        .replace(rules)
        .map_err(|e| DodoError::invalid_body(e.to_string()))?;
    Ok(Json(state.world.faults.list()))
}

/// `GET /_sandbox/clock`
pub async fn clock(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "now": dodo_json::rfc3339(state.world.clock.now()) }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    #[serde(default)]
    days: i64,
    #[serde(default)]
    seconds: i64,
}

/// `POST /_sandbox/clock/advance {days?, seconds?}`: moves the clock forward and runs what
/// comes due (payments that settle, renewals, scheduled plan changes).
pub async fn advance_clock(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, DodoError> {
    let advance: Advance = json_body(&body)?;
    if advance.days < 0 || advance.seconds < 0 {
        return Err(DodoError::invalid_body("the clock only moves forward"));
    }
    state
        .world
        .clock
        .advance(Duration::days(advance.days) + Duration::seconds(advance.seconds));
    state.world.process_due();
    Ok(Json(
        json!({ "now": dodo_json::rfc3339(state.world.clock.now()) }),
    ))
}

/// `GET /_sandbox/webhooks`
pub async fn webhooks(State(state): State<Arc<AppState>>) -> Json<WebhookSettings> {
    Json(state.world.webhooks.settings())
}

/// `PUT /_sandbox/webhooks {endpoint?, duplicate?, delay_ms?, reorder_window_ms?}`
pub async fn set_webhooks(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<WebhookSettings>, DodoError> {
    let settings: WebhookSettings = json_body(&body)?;
    state.world.webhooks.set_settings(settings);
    Ok(Json(state.world.webhooks.settings()))
}
