//! Money moving: charging a saved card, settling payments that waited (3-D Secure, processing),
//! and what time brings (renewals, scheduled plan changes). Every function works on a locked
//! store and returns the webhook events to send once it is unlocked.

use super::refusal::Refusal;
use crate::world::dodo_json;
use crate::world::proration::settle;
use crate::world::seed::{CardBehaviour, SeedBilling};
use crate::world::store::{new_id, CartLine, Event, Owed, Payment, Store};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

/// How long a payment's page for the customer (3-D Secure) stays open. Dodo says when a link
/// expires (`expires_on`) but not after how long; the sandbox's choice, on its own clock. An
/// unused link expires: its payment is `cancelled` (`payment.cancelled`) and whatever waited on
/// it (a plan change) is dropped.
pub const PAYMENT_LINK_TTL: Duration = Duration::hours(1);

/// A charge to make.
#[derive(Debug, Clone)]
pub struct NewCharge {
    pub customer_id: String,
    pub payment_method_id: String,
    pub cart: Vec<CartLine>,
    pub amount: i64,
    pub currency: String,
    pub billing: SeedBilling,
    pub metadata: Map<String, Value>,
    pub checkout_session_id: Option<String>,
    pub subscription_id: Option<String>,
    pub charge_type: &'static str,
}

impl NewCharge {
    /// What a subscription owes when this charge fails and puts it on hold: the same charge,
    /// to be made again with a card that pays.
    pub fn owed(&self) -> Owed {
        Owed {
            amount: self.amount,
            cart: self.cart.clone(),
            metadata: self.metadata.clone(),
            charge_type: self.charge_type,
            paying: None,
        }
    }
}

/// Checks that a saved card may pay `currency` for `customer_id` now.
pub fn check_method(
    store: &Store,
    customer_id: &str,
    payment_method_id: &str,
    currency: &str,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let method = store
        .payment_methods
        .get(payment_method_id)
        .filter(|pm| pm.customer_id == customer_id)
        .ok_or_else(|| {
            Refusal::invalid_parameters("the payment method does not belong to this customer")
        })?;
    if !method.is_current(now) {
        return Err(Refusal::unprocessable(
            "NO_ELIGIBLE_PAYMENT_METHODS",
            "the payment method has expired",
        ));
    }
    if method.currency != currency {
        return Err(Refusal::unprocessable(
            "NO_ELIGIBLE_PAYMENT_METHODS",
            format!("the payment method cannot pay in {currency}"),
        ));
    }
    Ok(())
}

/// Charges a saved card as its seeded behaviour says. Returns the payment id.
pub fn charge_card(
    store: &mut Store,
    now: OffsetDateTime,
    charge: NewCharge,
    events: &mut Vec<Event>,
) -> Result<String, Refusal> {
    check_method(
        store,
        &charge.customer_id,
        &charge.payment_method_id,
        &charge.currency,
        now,
    )?;
    let (behaviour, processing_seconds) = store
        .payment_methods
        .get_mut(&charge.payment_method_id)
        .map(|pm| {
            pm.last_used_at = now;
            (pm.behaviour, pm.processing_seconds)
        })
        .ok_or_else(|| Refusal::not_found("payment method", &charge.payment_method_id))?;
    let payment_id = new_id("pay");
    let mut payment = Payment {
        payment_id: payment_id.clone(),
        customer_id: charge.customer_id,
        payment_method_id: Some(charge.payment_method_id),
        cart: charge.cart,
        total_amount: charge.amount,
        currency: charge.currency,
        status: "succeeded",
        error_code: None,
        error_message: None,
        created_at: now,
        updated_at: now,
        billing: charge.billing,
        metadata: charge.metadata,
        checkout_session_id: charge.checkout_session_id,
        subscription_id: charge.subscription_id,
        charge_type: charge.charge_type,
        payment_link: None,
        settles_at: None,
    };
    let event = match behaviour {
        CardBehaviour::Succeeds => Some("payment.succeeded"),
        CardBehaviour::DeclinesInsufficientFunds => {
            payment.status = "failed";
            payment.error_code = Some("INSUFFICIENT_FUNDS");
            payment.error_message = Some("Your card has insufficient funds.");
            Some("payment.failed")
        }
        CardBehaviour::DeclinesCardDeclined => {
            payment.status = "failed";
            payment.error_code = Some("CARD_DECLINED");
            payment.error_message = Some("Your card was declined.");
            Some("payment.failed")
        }
        CardBehaviour::RequiresCustomerAction => {
            payment.status = "requires_customer_action";
            payment.payment_link = Some(format!("{}/hosted/3ds/{payment_id}", store.public_url));
            payment.settles_at = Some(now + PAYMENT_LINK_TTL);
            None
        }
        CardBehaviour::StaysProcessing => {
            payment.status = "processing";
            payment.settles_at = Some(now + Duration::seconds(processing_seconds));
            Some("payment.processing")
        }
    };
    tracing::info!(%payment_id, amount = payment.total_amount, status = payment.status, "charged");
    if let Some(event) = event {
        events.push(payment_event(store, event, &payment));
    }
    store.charges.push(payment_id.clone());
    store.payments.insert(payment_id.clone(), payment);
    Ok(payment_id)
}

/// A payment of nothing, when credit covers a charge: recorded so the ledger shows it.
pub fn record_covered_payment(
    store: &mut Store,
    now: OffsetDateTime,
    charge: NewCharge,
    events: &mut Vec<Event>,
) -> String {
    let payment_id = new_id("pay");
    let payment = Payment {
        payment_id: payment_id.clone(),
        customer_id: charge.customer_id,
        payment_method_id: Some(charge.payment_method_id),
        cart: charge.cart,
        total_amount: 0,
        currency: charge.currency,
        status: "succeeded",
        error_code: None,
        error_message: None,
        created_at: now,
        updated_at: now,
        billing: charge.billing,
        metadata: charge.metadata,
        checkout_session_id: None,
        subscription_id: charge.subscription_id,
        charge_type: charge.charge_type,
        payment_link: None,
        settles_at: None,
    };
    events.push(payment_event(store, "payment.succeeded", &payment));
    store.charges.push(payment_id.clone());
    store.payments.insert(payment_id.clone(), payment);
    payment_id
}

/// The final outcome of a payment that waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// The customer never used the payment's link before it expired.
    Expired,
}

/// Settles a payment in `requires_customer_action` or `processing`, and what hangs on it.
pub fn settle_payment(
    store: &mut Store,
    payment_id: &str,
    outcome: Outcome,
    now: OffsetDateTime,
    events: &mut Vec<Event>,
) -> Result<(), Refusal> {
    let payment = store
        .payments
        .get_mut(payment_id)
        .ok_or_else(|| Refusal::not_found("payment", payment_id))?;
    if !matches!(payment.status, "requires_customer_action" | "processing") {
        return Err(Refusal::invalid_parameters("this payment is already final"));
    }
    payment.updated_at = now;
    payment.settles_at = None;
    let event = match outcome {
        Outcome::Succeeded => {
            payment.status = "succeeded";
            "payment.succeeded"
        }
        Outcome::Failed => {
            payment.status = "failed";
            payment.error_code = Some("AUTHENTICATION_FAILED");
            payment.error_message = Some("The bank could not confirm this payment.");
            "payment.failed"
        }
        Outcome::Expired => {
            payment.status = "cancelled";
            "payment.cancelled"
        }
    };
    let payment = payment.clone();
    events.push(payment_event(store, event, &payment));
    if let Some(subscription_id) = &payment.subscription_id {
        finish_plan_change(
            store,
            subscription_id,
            &payment.payment_id,
            outcome,
            now,
            events,
        );
        let pays_what_is_owed = store
            .subscriptions
            .get(subscription_id)
            .and_then(|s| s.owed.as_ref())
            .is_some_and(|o| o.paying.as_deref() == Some(payment_id));
        if pays_what_is_owed && outcome == Outcome::Succeeded {
            owed_paid(store, subscription_id, events);
        }
    }
    Ok(())
}

/// A subscription on hold has paid what it owed: it is active again (`subscription.active`).
pub fn owed_paid(store: &mut Store, subscription_id: &str, events: &mut Vec<Event>) {
    if let Some(sub) = store
        .subscriptions
        .get_mut(subscription_id)
        .filter(|s| s.status == "on_hold")
    {
        sub.status = "active";
        sub.owed = None;
        push_subscription_event(store, "subscription.active", subscription_id, events);
    }
}

/// Applies or drops a plan change that waited for its payment.
fn finish_plan_change(
    store: &mut Store,
    subscription_id: &str,
    payment_id: &str,
    outcome: Outcome,
    now: OffsetDateTime,
    events: &mut Vec<Event>,
) {
    let Some(sub) = store.subscriptions.get_mut(subscription_id) else {
        return;
    };
    let Some(pending) = sub.pending_change.take_if(|p| p.payment_id == payment_id) else {
        return;
    };
    match outcome {
        Outcome::Succeeded => {
            let interval = store
                .products
                .get(&pending.plan.product_id)
                .and_then(|p| p.interval.map(|i| (i, p.interval_count)));
            if let Some(sub) = store.subscriptions.get_mut(subscription_id) {
                sub.plan = pending.plan;
                sub.credit_balance -= pending.credit_used;
                sub.status = "active";
                if let (true, Some((interval, count))) = (pending.resets_cycle, interval) {
                    sub.previous_billing_date = now;
                    sub.next_billing_date = crate::world::store::add_interval(now, interval, count);
                }
            }
            push_subscription_event(store, "subscription.plan_changed", subscription_id, events);
            push_subscription_event(store, "subscription.active", subscription_id, events);
            push_subscription_event(store, "subscription.updated", subscription_id, events);
        }
        // `prevent_change`, or a page never used: the plan stays as it was.
        Outcome::Failed | Outcome::Expired => {}
    }
}

/// Puts a subscription's current state in an event.
pub fn push_subscription_event(
    store: &Store,
    event_type: &'static str,
    subscription_id: &str,
    events: &mut Vec<Event>,
) {
    if let Some(sub) = store.subscriptions.get(subscription_id) {
        let mut data = dodo_json::subscription(store, sub);
        data["payload_type"] = Value::from("Subscription");
        events.push(Event { event_type, data });
    }
}

pub fn payment_event(store: &Store, event_type: &'static str, payment: &Payment) -> Event {
    let mut data = dodo_json::payment(store, payment);
    data["payload_type"] = Value::from("Payment");
    Event { event_type, data }
}

/// Everything due by `now`: processing payments that settle, links for the customer that
/// expire, scheduled plan changes and renewals (several, if the clock jumped over several
/// periods).
pub fn process_due(store: &mut Store, now: OffsetDateTime) -> Vec<Event> {
    let mut events = Vec::new();
    let settling: Vec<(String, Outcome)> = store
        .payments
        .values()
        .filter(|p| p.settles_at.is_some_and(|t| t <= now))
        .filter_map(|p| match p.status {
            "processing" => Some((p.payment_id.clone(), Outcome::Succeeded)),
            "requires_customer_action" => Some((p.payment_id.clone(), Outcome::Expired)),
            _ => None,
        })
        .collect();
    for (payment_id, outcome) in settling {
        let _ = settle_payment(store, &payment_id, outcome, now, &mut events);
    }
    let mut due: Vec<(OffsetDateTime, String)> = store
        .subscriptions
        .values()
        .filter(|s| s.status == "active" && s.next_billing_date <= now)
        .map(|s| (s.next_billing_date, s.subscription_id.clone()))
        .collect();
    due.sort();
    for (_, subscription_id) in due {
        while let Some(at) = store
            .subscriptions
            .get(&subscription_id)
            .filter(|s| s.status == "active" && s.next_billing_date <= now)
            .map(|s| s.next_billing_date)
        {
            renew(store, &subscription_id, at, &mut events);
        }
    }
    events
}

/// One renewal at `at`, the end of the current period.
fn renew(store: &mut Store, subscription_id: &str, at: OffsetDateTime, events: &mut Vec<Event>) {
    let Some(mut sub) = store.subscriptions.get(subscription_id).cloned() else {
        return;
    };
    if let Some(change) = sub.scheduled_change.take().filter(|c| c.effective_at <= at) {
        sub.plan = change.plan;
        store
            .subscriptions
            .insert(subscription_id.to_string(), sub.clone());
        push_subscription_event(store, "subscription.plan_changed", subscription_id, events);
    }
    let Some((interval, count)) = store
        .products
        .get(&sub.plan.product_id)
        .and_then(|p| p.interval.map(|i| (i, p.interval_count)))
    else {
        return;
    };
    let amount = store.plan_cost(&sub.plan);
    let (to_charge, credit_used) = settle(amount, sub.credit_balance);
    sub.credit_balance -= credit_used;
    sub.previous_billing_date = at;
    sub.next_billing_date = crate::world::store::add_interval(at, interval, count);
    let charge = NewCharge {
        customer_id: sub.customer_id.clone(),
        payment_method_id: sub.payment_method_id.clone(),
        cart: vec![CartLine {
            product_id: sub.plan.product_id.clone(),
            quantity: sub.plan.quantity,
        }],
        amount: to_charge,
        currency: sub.currency.clone(),
        billing: sub.billing.clone(),
        metadata: sub.metadata.clone(),
        checkout_session_id: None,
        subscription_id: Some(subscription_id.to_string()),
        charge_type: "renewal",
    };
    store.subscriptions.insert(subscription_id.to_string(), sub);
    let owed = charge.owed();
    let paid = if to_charge == 0 {
        record_covered_payment(store, at, charge, events);
        true
    } else {
        match charge_card(store, at, charge, events) {
            Ok(payment_id) => store
                .payments
                .get(&payment_id)
                .is_some_and(|p| p.status != "failed"),
            Err(_) => false,
        }
    };
    if paid {
        push_subscription_event(store, "subscription.renewed", subscription_id, events);
    } else if let Some(sub) = store.subscriptions.get_mut(subscription_id) {
        sub.status = "on_hold";
        sub.owed = Some(owed);
        push_subscription_event(store, "subscription.on_hold", subscription_id, events);
    }
}

/// When the page of a payment waiting for its customer stops working (Dodo's `expires_on`).
pub fn link_expiry(payment: &Payment) -> Option<String> {
    (payment.status == "requires_customer_action")
        .then_some(payment.settles_at)
        .flatten()
        .map(dodo_json::rfc3339)
}
