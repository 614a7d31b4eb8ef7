//! The pages Dodo hosts for customers, as plain HTML forms: the checkout page of a session
//! without a saved card, the 3-D Secure page of a payment that needs the customer, the
//! payment link of `POST /payments` without a card, and the page on which a subscriber gives a
//! new card (`update-payment-method`). They pay with the test card 4242.

use crate::http::error::DodoError;
use crate::http::state::AppState;
use crate::world::charges::{self, Outcome};
use crate::world::payment_method_update::{self, TestCard};
use crate::world::store::{new_id, Payment};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::sync::Arc;

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} — Dodo sandbox</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}\
         button{{font:inherit;padding:.6rem 1rem;margin:.25rem .5rem .25rem 0}}</style></head>\
         <body><p><small>Dodo Payments sandbox</small></p><h1>{title}</h1>{body}</body></html>"
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /hosted/checkout/{session_id}`
pub async fn checkout_page(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
) -> Result<Response, DodoError> {
    let now = state.world.clock.now();
    let store = state.world.lock()?;
    let session = store
        .sessions
        .get(&session_id)
        .ok_or_else(|| DodoError::not_found("checkout session", &session_id))?;
    if session.expires_at <= now {
        return Ok((
            StatusCode::GONE,
            page(
                "This checkout has expired",
                "<p>Start again from the shop.</p>",
            ),
        )
            .into_response());
    }
    if session.payment_id.is_some() {
        return Ok(page("Already paid", "<p>This checkout is complete.</p>").into_response());
    }
    let lines: String = session
        .cart
        .iter()
        .map(|line| {
            let name = store
                .products
                .get(&line.product_id)
                .map_or(line.product_id.as_str(), |p| p.name.as_str());
            format!("<li>{} × {}</li>", line.quantity, escape(name))
        })
        .collect();
    Ok(page(
        "Checkout",
        &format!(
            "<ul>{lines}</ul><form method=\"post\" action=\"/hosted/checkout/{id}/pay\">\
             <p>Card 4242 4242 4242 4242 (sandbox)</p><button type=\"submit\">Pay</button></form>",
            id = escape(&session_id)
        ),
    )
    .into_response())
}

/// `POST /hosted/checkout/{session_id}/pay`
pub async fn checkout_pay(
    State(state): State<Arc<AppState>>,
    Path(session_id): Path<String>,
) -> Result<Response, DodoError> {
    let now = state.world.clock.now();
    let mut events = Vec::new();
    let (payment_id, return_url) = {
        let mut store = state.world.lock()?;
        let session = store
            .sessions
            .get(&session_id)
            .cloned()
            .ok_or_else(|| DodoError::not_found("checkout session", &session_id))?;
        if session.expires_at <= now {
            return Err(DodoError::new(
                StatusCode::GONE,
                "CHECKOUT_SESSION_EXPIRED",
                "this checkout has expired",
            ));
        }
        if let Some(paid) = &session.payment_id {
            (paid.clone(), session.return_url.clone())
        } else {
            let customer_id = match session.customer_id.clone() {
                Some(id) => id,
                None => {
                    let id = new_id("cus");
                    store.customers.insert(
                        id.clone(),
                        crate::world::seed::SeedCustomer {
                            customer_id: id.clone(),
                            email: "guest@example.com".into(),
                            name: "Guest".into(),
                        },
                    );
                    id
                }
            };
            let billing = session
                .billing
                .clone()
                .or_else(|| store.latest_billing(&customer_id))
                .unwrap_or(crate::world::seed::SeedBilling {
                    country: "US".into(),
                    state: None,
                    city: None,
                    street: None,
                    zipcode: None,
                });
            let total: i64 = session
                .cart
                .iter()
                .filter_map(|l| {
                    store
                        .products
                        .get(&l.product_id)
                        .map(|p| crate::world::store::unit_price(p) * l.quantity)
                })
                .sum();
            let currency = session
                .cart
                .first()
                .and_then(|l| store.products.get(&l.product_id))
                .map(|p| p.currency.clone())
                .unwrap_or_default();
            let payment_id = new_id("pay");
            let payment = Payment {
                payment_id: payment_id.clone(),
                customer_id,
                payment_method_id: None,
                cart: session.cart.clone(),
                total_amount: total,
                currency,
                status: "succeeded",
                error_code: None,
                error_message: None,
                created_at: now,
                updated_at: now,
                billing,
                metadata: session.metadata.clone(),
                checkout_session_id: Some(session_id.clone()),
                subscription_id: None,
                charge_type: "new",
                payment_link: None,
                settles_at: None,
            };
            events.push(charges::payment_event(
                &store,
                "payment.succeeded",
                &payment,
            ));
            store.charges.push(payment_id.clone());
            store.payments.insert(payment_id.clone(), payment);
            if let Some(s) = store.sessions.get_mut(&session_id) {
                s.payment_id = Some(payment_id.clone());
            }
            (payment_id, session.return_url.clone())
        }
    };
    state.world.send_events(events);
    Ok(finished(&payment_id, return_url))
}

fn finished(payment_id: &str, return_url: Option<String>) -> Response {
    match return_url {
        Some(url) => back_to(&url, &format!("payment_id={payment_id}&status=succeeded")),
        None => page(
            "Payment complete",
            &format!("<p>Payment {} succeeded.</p>", escape(payment_id)),
        )
        .into_response(),
    }
}

/// Sends the customer back to the shop's `url`, with `query` added to it.
fn back_to(url: &str, query: &str) -> Response {
    let separator = if url.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{url}{separator}{query}")).into_response()
}

/// `GET /hosted/3ds/{payment_id}`
pub async fn three_ds_page(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
) -> Result<Response, DodoError> {
    let store = state.world.lock()?;
    let payment = store
        .payments
        .get(&payment_id)
        .ok_or_else(|| DodoError::not_found("payment", &payment_id))?;
    if payment.status != "requires_customer_action" {
        return Ok(page(
            "Nothing to confirm",
            &format!("<p>This payment is {}.</p>", payment.status),
        )
        .into_response());
    }
    let id = escape(&payment_id);
    Ok(page(
        "Confirm your payment",
        &format!(
            "<p>Your bank asks you to confirm a payment of {} {}.</p>\
             <form method=\"post\" action=\"/hosted/3ds/{id}/complete\"><button type=\"submit\">Confirm</button></form>\
             <form method=\"post\" action=\"/hosted/3ds/{id}/fail\"><button type=\"submit\">Fail authentication</button></form>",
            payment.total_amount, escape(&payment.currency)
        ),
    )
    .into_response())
}

/// `POST /hosted/3ds/{payment_id}/complete`
pub async fn three_ds_complete(
    state: State<Arc<AppState>>,
    path: Path<String>,
) -> Result<Response, DodoError> {
    three_ds_finish(state, path, Outcome::Succeeded).await
}

/// `POST /hosted/3ds/{payment_id}/fail`
pub async fn three_ds_fail(
    state: State<Arc<AppState>>,
    path: Path<String>,
) -> Result<Response, DodoError> {
    three_ds_finish(state, path, Outcome::Failed).await
}

async fn three_ds_finish(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
    outcome: Outcome,
) -> Result<Response, DodoError> {
    let now = state.world.clock.now();
    let mut events = Vec::new();
    let return_url = {
        let mut store = state.world.lock()?;
        charges::settle_payment(&mut store, &payment_id, outcome, now, &mut events)?;
        store
            .payments
            .get(&payment_id)
            .and_then(|p| p.checkout_session_id.as_ref())
            .and_then(|s| store.sessions.get(s))
            .and_then(|s| s.return_url.clone())
    };
    state.world.send_events(events);
    Ok(match (outcome, return_url) {
        (Outcome::Succeeded, url) => finished(&payment_id, url),
        (Outcome::Failed | Outcome::Expired, _) => (
            [(header::CACHE_CONTROL, "no-store")],
            page(
                "Payment not confirmed",
                "<p>The bank could not confirm this payment. Nothing was charged.</p>",
            ),
        )
            .into_response(),
    })
}

/// `GET /hosted/pay/{payment_id}`
pub async fn pay_page(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
) -> Result<Response, DodoError> {
    let store = state.world.lock()?;
    let payment = store
        .payments
        .get(&payment_id)
        .ok_or_else(|| DodoError::not_found("payment", &payment_id))?;
    if payment.status != "requires_payment_method" {
        return Ok(page(
            "Nothing to pay",
            &format!("<p>This payment is {}.</p>", payment.status),
        )
        .into_response());
    }
    Ok(page(
        "Pay",
        &format!(
            "<p>{} {}</p><form method=\"post\" action=\"/hosted/pay/{}\"><p>Card 4242 4242 4242 4242 (sandbox)</p>\
             <button type=\"submit\">Pay</button></form>",
            payment.total_amount,
            escape(&payment.currency),
            escape(&payment_id)
        ),
    )
    .into_response())
}

/// `POST /hosted/pay/{payment_id}`
pub async fn pay(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
) -> Result<Response, DodoError> {
    let now = state.world.clock.now();
    let mut events = Vec::new();
    {
        let mut store = state.world.lock()?;
        let payment = store
            .payments
            .get_mut(&payment_id)
            .ok_or_else(|| DodoError::not_found("payment", &payment_id))?;
        if payment.status == "requires_payment_method" {
            payment.status = "succeeded";
            payment.updated_at = now;
            let payment = payment.clone();
            events.push(charges::payment_event(
                &store,
                "payment.succeeded",
                &payment,
            ));
            store.charges.push(payment_id.clone());
        }
    }
    state.world.send_events(events);
    Ok(finished(&payment_id, None))
}

/// `GET /hosted/payment-method/{update_id}`: the subscriber's new card, and what it will be
/// charged now (what a subscription on hold owes).
pub async fn card_page(
    State(state): State<Arc<AppState>>,
    Path(update_id): Path<String>,
) -> Result<Response, DodoError> {
    let now = state.world.clock.now();
    let store = state.world.lock()?;
    let update = store
        .card_updates
        .get(&update_id)
        .ok_or_else(|| DodoError::not_found("payment method update", &update_id))?;
    let sub = store
        .subscriptions
        .get(&update.subscription_id)
        .ok_or_else(|| DodoError::not_found("subscription", &update.subscription_id))?;
    if update.saved.is_some() && sub.status != "on_hold" {
        return Ok(page("Payment method updated", "<p>This card is saved.</p>").into_response());
    }
    if update.expires_at <= now {
        return Ok((
            StatusCode::GONE,
            page(
                "This page has expired",
                "<p>Ask the shop for a new link.</p>",
            ),
        )
            .into_response());
    }
    let plan = store
        .products
        .get(&sub.plan.product_id)
        .map_or(sub.plan.product_id.as_str(), |p| p.name.as_str());
    let owed = match (&sub.owed, sub.status) {
        (Some(owed), "on_hold") => format!(
            "<p>Your subscription is on hold. {} {} will be charged to the new card now.</p>",
            owed.amount,
            escape(&sub.currency)
        ),
        _ => String::new(),
    };
    let id = escape(&update_id);
    Ok(page(
        "Update your payment method",
        &format!(
            "<p>The card for your {plan} subscription.</p>{owed}\
             <form method=\"post\" action=\"/hosted/payment-method/{id}/save\">\
             <p>Card 4242 4242 4242 4242 (sandbox)</p><button type=\"submit\">Save card</button></form>\
             <form method=\"post\" action=\"/hosted/payment-method/{id}/save-declined\">\
             <button type=\"submit\">Use a card that is declined</button></form>",
            plan = escape(plan),
        ),
    )
    .into_response())
}

/// `POST /hosted/payment-method/{update_id}/save`
pub async fn save_card(
    state: State<Arc<AppState>>,
    path: Path<String>,
) -> Result<Response, DodoError> {
    card_saved(state, path, TestCard::Pays).await
}

/// `POST /hosted/payment-method/{update_id}/save-declined`
pub async fn save_declined_card(
    state: State<Arc<AppState>>,
    path: Path<String>,
) -> Result<Response, DodoError> {
    card_saved(state, path, TestCard::Declined).await
}

async fn card_saved(
    State(state): State<Arc<AppState>>,
    Path(update_id): Path<String>,
    card: TestCard,
) -> Result<Response, DodoError> {
    let now = state.world.clock.now();
    let mut events = Vec::new();
    let (status, return_url) = {
        let mut store = state.world.lock()?;
        payment_method_update::save_card(&mut store, &update_id, card, now, &mut events)?
    };
    state.world.send_events(events);
    Ok(match return_url {
        Some(url) => back_to(&url, &format!("status={status}")),
        None if status == "on_hold" => (
            [(header::CACHE_CONTROL, "no-store")],
            page(
                "Card declined",
                "<p>The card is saved, but it was declined: your subscription is still on hold.</p>",
            ),
        )
            .into_response(),
        None => (
            [(header::CACHE_CONTROL, "no-store")],
            page(
                "Payment method updated",
                "<p>Your subscription is active. You can close this tab.</p>",
            ),
        )
            .into_response(),
    })
}
