//! `POST /subscriptions/{id}/update-payment-method`: a subscriber's new card, given on Dodo's
//! page (`type: new`) or chosen from their saved ones (`type: existing`). It is Dodo's way back
//! from `on_hold`: once the subscription has a card, what it owes is charged to it, and a
//! payment that succeeds makes it active again (`payment.succeeded`, `subscription.active`);
//! `subscription.updated` says the card changed.

use super::refusal::Refusal;
use crate::world::charges::{self, NewCharge};
use crate::world::seed::CardBehaviour;
use crate::world::store::{new_id, CardUpdate, Event, PaymentMethod, Store, Subscription};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// How long the page for a new card stays open. Dodo says when it expires (`expires_on`) but
/// not after how long; the sandbox's choice, on its own clock.
pub const CARD_PAGE_TTL: Duration = Duration::hours(24);

/// Dodo's `UpdatePaymentMethodReq`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpdatePaymentMethodRequest {
    /// The customer gives a new card on Dodo's page, then goes to `return_url`.
    New { return_url: Option<String> },
    /// One of the customer's saved cards.
    Existing { payment_method_id: String },
}

/// The card the customer types on the page: the sandbox's test cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    /// 4242 4242 4242 4242: pays.
    Pays,
    /// 4000 0000 0000 0002: declined.
    Declined,
}

/// Carries out the request. Returns Dodo's answer (`{client_secret, expires_on, payment_id,
/// payment_link}`) and the events to send.
pub fn request(
    store: &mut Store,
    subscription_id: &str,
    request: &UpdatePaymentMethodRequest,
    now: OffsetDateTime,
) -> Result<(Value, Vec<Event>), Refusal> {
    let sub = store
        .subscriptions
        .get(subscription_id)
        .ok_or_else(|| Refusal::not_found("subscription", subscription_id))?;
    takes_a_card(sub)?;
    match request {
        UpdatePaymentMethodRequest::New { return_url } => {
            let update_id = new_id("upm");
            let expires_at = now + CARD_PAGE_TTL;
            let link = format!("{}/hosted/payment-method/{update_id}", store.public_url);
            store.card_updates.insert(
                update_id.clone(),
                CardUpdate {
                    update_id,
                    subscription_id: subscription_id.to_string(),
                    return_url: return_url.clone(),
                    expires_at,
                    saved: None,
                },
            );
            Ok((
                json!({
                    "client_secret": null,
                    "expires_on": crate::world::dodo_json::rfc3339(expires_at),
                    "payment_id": null,
                    "payment_link": link,
                }),
                Vec::new(),
            ))
        }
        UpdatePaymentMethodRequest::Existing { payment_method_id } => {
            charges::check_method(
                store,
                &sub.customer_id,
                payment_method_id,
                &sub.currency,
                now,
            )?;
            let mut events = Vec::new();
            let payment_id =
                switch_card(store, subscription_id, payment_method_id, now, &mut events);
            // A charge that needs the customer (3-D Secure) has its page.
            let payment = payment_id.as_ref().and_then(|id| store.payments.get(id));
            Ok((
                json!({
                    "client_secret": null,
                    "expires_on": payment.and_then(charges::link_expiry),
                    "payment_id": payment_id,
                    "payment_link": payment.and_then(|p| p.payment_link.clone()),
                }),
                events,
            ))
        }
    }
}

/// The page for a new card: saves `card` for the subscription's customer and puts it on the
/// subscription. Returns the subscription's status after it, and where to send the customer.
/// A page stays open while its subscription is on hold (a declined card may be followed by
/// another); once a card is saved and nothing is owed, it only says so. An expired one
/// refuses.
pub fn save_card(
    store: &mut Store,
    update_id: &str,
    card: TestCard,
    now: OffsetDateTime,
    events: &mut Vec<Event>,
) -> Result<(&'static str, Option<String>), Refusal> {
    let update = store
        .card_updates
        .get(update_id)
        .cloned()
        .ok_or_else(|| Refusal::not_found("payment method update", update_id))?;
    let status = |store: &Store| {
        store
            .subscriptions
            .get(&update.subscription_id)
            .map_or("cancelled", |s| s.status)
    };
    if update.saved.is_some() && status(store) != "on_hold" {
        return Ok((status(store), update.return_url));
    }
    if update.expires_at <= now {
        return Err(Refusal::unprocessable(
            "PAYMENT_LINK_EXPIRED",
            "this page has expired; ask for a new one",
        ));
    }
    let sub = store
        .subscriptions
        .get(&update.subscription_id)
        .ok_or_else(|| Refusal::not_found("subscription", &update.subscription_id))?;
    takes_a_card(sub)?;
    let payment_method_id = new_id("pm");
    let (last4, behaviour) = match card {
        TestCard::Pays => ("4242", CardBehaviour::Succeeds),
        TestCard::Declined => ("0002", CardBehaviour::DeclinesCardDeclined),
    };
    store.payment_methods.insert(
        payment_method_id.clone(),
        PaymentMethod {
            payment_method_id: payment_method_id.clone(),
            customer_id: sub.customer_id.clone(),
            network: "visa".into(),
            last4: last4.into(),
            expiry_month: "12".into(),
            expiry_year: (now.year() + 3).to_string(),
            currency: sub.currency.clone(),
            behaviour,
            processing_seconds: 30,
            last_used_at: now,
        },
    );
    if let Some(update) = store.card_updates.get_mut(update_id) {
        update.saved = Some(payment_method_id.clone());
    }
    switch_card(
        store,
        &update.subscription_id,
        &payment_method_id,
        now,
        events,
    );
    Ok((status(store), update.return_url))
}

/// Only an active subscription, or one on hold, takes a new card.
fn takes_a_card(sub: &Subscription) -> Result<(), Refusal> {
    if matches!(sub.status, "active" | "on_hold") {
        return Ok(());
    }
    Err(Refusal::unprocessable(
        "INVALID_SUBSCRIPTION_STATUS",
        format!(
            "the subscription is {}; only an active subscription or one on hold takes a new payment method",
            sub.status
        ),
    ))
}

/// Puts a card on a subscription; one on hold is charged what it owes, and is active again
/// once that is paid (at once, or when a payment that waits succeeds). Returns the payment of
/// what it owed, if one was made.
fn switch_card(
    store: &mut Store,
    subscription_id: &str,
    payment_method_id: &str,
    now: OffsetDateTime,
    events: &mut Vec<Event>,
) -> Option<String> {
    let sub = store.subscriptions.get_mut(subscription_id)?;
    sub.payment_method_id = payment_method_id.to_string();
    let sub = sub.clone();
    let mut payment_id = None;
    if sub.status == "on_hold" {
        match &sub.owed {
            None => charges::owed_paid(store, subscription_id, events),
            Some(owed) => {
                let charge = NewCharge {
                    customer_id: sub.customer_id.clone(),
                    payment_method_id: payment_method_id.to_string(),
                    cart: owed.cart.clone(),
                    amount: owed.amount,
                    currency: sub.currency.clone(),
                    billing: sub.billing.clone(),
                    metadata: owed.metadata.clone(),
                    checkout_session_id: None,
                    subscription_id: Some(subscription_id.to_string()),
                    charge_type: owed.charge_type,
                };
                if let Ok(id) = charges::charge_card(store, now, charge, events) {
                    match store.payments.get(&id).map(|p| p.status) {
                        Some("succeeded") => charges::owed_paid(store, subscription_id, events),
                        Some("failed") | None => {}
                        // It waits (3-D Secure, processing): it pays what is owed when it
                        // succeeds.
                        Some(_) => {
                            if let Some(owed) = store
                                .subscriptions
                                .get_mut(subscription_id)
                                .and_then(|s| s.owed.as_mut())
                            {
                                owed.paying = Some(id.clone());
                            }
                        }
                    }
                    payment_id = Some(id);
                }
            }
        }
    }
    charges::push_subscription_event(store, "subscription.updated", subscription_id, events);
    payment_id
}
