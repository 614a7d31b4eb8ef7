//! `change-plan` and its preview. Both go through [`quote`], at the same clock reading, so the
//! preview is exactly what the change then charges or credits.

use super::refusal::Refusal;
use crate::world::charges::{self, NewCharge};
use crate::world::dodo_json::{self, rfc3339};
use crate::world::proration::{
    prorate, settle, PeriodPosition, PlanCost, Proration, ProrationMode,
};
use crate::world::store::{
    new_id, unit_price, AddonLine, CartLine, Event, PendingChange, Plan, ScheduledChange, Store,
    Subscription,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// Dodo's `UpdateSubscriptionPlanReq`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangePlanRequest {
    pub product_id: String,
    pub proration_billing_mode: ProrationMode,
    pub quantity: i64,
    pub addons: Option<Vec<AddonRequest>>,
    pub effective_at: Option<EffectiveAt>,
    pub on_payment_failure: Option<OnPaymentFailure>,
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AddonRequest {
    pub addon_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveAt {
    Immediately,
    NextBillingDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnPaymentFailure {
    /// Keep the current plan until the payment succeeds.
    PreventChange,
    /// Change anyway; a failed payment puts the subscription `on_hold`. Dodo's default.
    ApplyChange,
}

/// The money and the outcome of a change, before anything is changed.
#[derive(Debug, Clone)]
pub struct Quote {
    pub old_plan: Plan,
    pub new_plan: Plan,
    pub proration: Proration,
    /// To charge the card now.
    pub charge: i64,
    /// Credit the subscription already had that this change uses.
    pub credit_used: i64,
    /// Credit this change adds to the subscription.
    pub credit_added: i64,
    pub effective_at: OffsetDateTime,
    pub scheduled: bool,
}

/// Checks a change and works out its money.
pub fn quote(
    store: &Store,
    sub: &Subscription,
    request: &ChangePlanRequest,
    now: OffsetDateTime,
) -> Result<Quote, Refusal> {
    if sub.status != "active" {
        return Err(Refusal::unprocessable(
            "INACTIVE_SUBSCRIPTION_PLAN_CHANGE_NOT_SUPPORTED",
            format!(
                "the subscription is {}; only an active subscription can change plan",
                sub.status
            ),
        ));
    }
    if sub.pending_change.is_some() {
        return Err(Refusal::unprocessable(
            "PREVIOUS_PAYMENT_PENDING",
            "a previous plan change is waiting for its payment",
        ));
    }
    if request.quantity < 1 {
        return Err(Refusal::invalid_body("quantity must be at least 1"));
    }
    let product = store
        .products
        .get(&request.product_id)
        .ok_or_else(|| Refusal::not_found("product", &request.product_id))?;
    if product.deleted {
        return Err(Refusal::unprocessable(
            "PRODUCT_IS_DELETED",
            "the product has been deleted",
        ));
    }
    if product.interval.is_none() {
        return Err(Refusal::invalid_parameters(
            "the product is not a subscription product",
        ));
    }
    if product.currency != sub.currency {
        return Err(Refusal::unprocessable(
            "UNSUPPORTED_PAYMENT_CURRENCY",
            format!(
                "the product is priced in {}, the subscription in {}",
                product.currency, sub.currency
            ),
        ));
    }
    let mut addons = Vec::new();
    for addon in request.addons.iter().flatten() {
        if !product.addons.contains(&addon.addon_id) || !store.addons.contains_key(&addon.addon_id)
        {
            return Err(Refusal::unprocessable(
                "MISSING_ADDON_IDS",
                format!(
                    "add-on {} is not available on {}",
                    addon.addon_id, product.product_id
                ),
            ));
        }
        if addon.quantity < 1 {
            return Err(Refusal::invalid_body("add-on quantity must be at least 1"));
        }
        addons.push(AddonLine {
            addon_id: addon.addon_id.clone(),
            quantity: addon.quantity,
        });
    }
    let new_plan = Plan {
        product_id: request.product_id.clone(),
        quantity: request.quantity,
        addons,
    };
    let old = PlanCost {
        total: store.plan_cost(&sub.plan),
    };
    let new = PlanCost {
        total: store.plan_cost(&new_plan),
    };
    let scheduled = request.effective_at == Some(EffectiveAt::NextBillingDate);
    if scheduled {
        return Ok(Quote {
            old_plan: sub.plan.clone(),
            new_plan,
            proration: prorate(
                ProrationMode::DoNotBill,
                old,
                new,
                PeriodPosition {
                    remaining: 0,
                    length: 1,
                },
            ),
            charge: 0,
            credit_used: 0,
            credit_added: 0,
            effective_at: sub.next_billing_date,
            scheduled,
        });
    }
    let position = PeriodPosition {
        remaining: (sub.next_billing_date - now).whole_seconds(),
        length: (sub.next_billing_date - sub.previous_billing_date).whole_seconds(),
    };
    let proration = prorate(request.proration_billing_mode, old, new, position);
    let (charge, used) = settle(proration.net(), sub.credit_balance);
    Ok(Quote {
        old_plan: sub.plan.clone(),
        new_plan,
        proration,
        charge,
        credit_used: used.max(0),
        credit_added: (-used).max(0),
        effective_at: now,
        scheduled,
    })
}

/// The preview's `immediate_charge`: line items (the TypeScript SDK's shapes) and summary.
pub fn immediate_charge(store: &Store, quote: &Quote, currency: &str) -> Value {
    let mut lines = Vec::new();
    let plan_line = |plan: &Plan, factor: f64| {
        let product = store.products.get(&plan.product_id);
        json!({
            "type": "subscription",
            "id": plan.product_id,
            "product_id": plan.product_id,
            "name": product.map(|p| p.name.as_str()),
            "description": product.and_then(|p| p.description.as_deref()),
            "currency": currency,
            "proration_factor": factor,
            "quantity": plan.quantity,
            "tax_inclusive": false,
            "unit_price": product.map_or(0, unit_price),
            "tax": 0,
            "tax_rate": 0,
        })
    };
    let addon_lines = |plan: &Plan, factor: f64| -> Vec<Value> {
        plan.addons
            .iter()
            .map(|a| {
                let addon = store.addons.get(&a.addon_id);
                json!({
                    "type": "addon",
                    "id": a.addon_id,
                    "name": addon.map(|x| x.name.as_str()).unwrap_or_default(),
                    "currency": currency,
                    "proration_factor": factor,
                    "quantity": a.quantity,
                    "tax_category": "saas",
                    "tax_inclusive": false,
                    "tax_rate": 0,
                    "unit_price": addon.map_or(0, |x| x.price),
                    "tax": 0,
                })
            })
            .collect()
    };
    if quote.proration.new_factor != 0.0 {
        lines.push(plan_line(&quote.new_plan, quote.proration.new_factor));
        lines.extend(addon_lines(&quote.new_plan, quote.proration.new_factor));
    }
    if quote.proration.old_factor != 0.0 {
        lines.push(plan_line(&quote.old_plan, quote.proration.old_factor));
        lines.extend(addon_lines(&quote.old_plan, quote.proration.old_factor));
    }
    // Negative when credits were used, positive when credits were added.
    let customer_credits = quote.credit_added - quote.credit_used;
    json!({
        "effective_at": rfc3339(quote.effective_at),
        "line_items": lines,
        "summary": {
            "currency": currency,
            "customer_credits": customer_credits,
            "settlement_amount": quote.charge,
            "settlement_currency": currency,
            "total_amount": quote.charge,
            "tax": 0,
            "settlement_tax": 0,
        },
    })
}

/// The subscription as it will be once the quote applies.
pub fn after(
    sub: &Subscription,
    quote: &Quote,
    store: &Store,
    now: OffsetDateTime,
) -> Subscription {
    let mut next = sub.clone();
    if quote.scheduled {
        next.scheduled_change = Some(ScheduledChange {
            id: new_id("spc"),
            plan: quote.new_plan.clone(),
            created_at: now,
            effective_at: sub.next_billing_date,
        });
        return next;
    }
    next.plan = quote.new_plan.clone();
    next.credit_balance += quote.credit_added - quote.credit_used;
    if quote.proration.resets_cycle {
        if let Some((interval, count)) = store
            .products
            .get(&quote.new_plan.product_id)
            .and_then(|p| p.interval.map(|i| (i, p.interval_count)))
        {
            next.previous_billing_date = now;
            next.next_billing_date = crate::world::store::add_interval(now, interval, count);
        }
    }
    next
}

/// Carries out a change. Returns the change-plan response and the events to send.
pub fn apply(
    store: &mut Store,
    subscription_id: &str,
    request: &ChangePlanRequest,
    now: OffsetDateTime,
) -> Result<(Value, Vec<Event>), Refusal> {
    let sub = store
        .subscriptions
        .get(subscription_id)
        .cloned()
        .ok_or_else(|| Refusal::not_found("subscription", subscription_id))?;
    let quote = quote(store, &sub, request, now)?;
    let mut events = Vec::new();
    let changed = after(&sub, &quote, store, now);
    if quote.scheduled {
        store
            .subscriptions
            .insert(subscription_id.to_string(), changed);
        charges::push_subscription_event(
            store,
            "subscription.updated",
            subscription_id,
            &mut events,
        );
        return Ok((json!({}), events));
    }
    if quote.charge == 0 {
        put_on_new_plan(store, subscription_id, changed, &mut events);
        return Ok((json!({}), events));
    }

    // `charge_card` checks the card (owner, expiry, currency) before anything changes.
    let charge = NewCharge {
        customer_id: sub.customer_id.clone(),
        payment_method_id: sub.payment_method_id.clone(),
        cart: vec![CartLine {
            product_id: quote.new_plan.product_id.clone(),
            quantity: quote.new_plan.quantity,
        }],
        amount: quote.charge,
        currency: sub.currency.clone(),
        billing: sub.billing.clone(),
        metadata: request
            .metadata
            .clone()
            .unwrap_or_else(|| sub.metadata.clone()),
        checkout_session_id: None,
        subscription_id: Some(subscription_id.to_string()),
        charge_type: "plan_change",
    };
    let owed = charge.owed();
    let payment_id = charges::charge_card(store, now, charge, &mut events)?;
    let payment = store.payments.get(&payment_id).cloned();
    let status = payment.as_ref().map_or("failed", |p| p.status);
    let apply_anyway = request.on_payment_failure != Some(OnPaymentFailure::PreventChange);
    match status {
        "succeeded" => put_on_new_plan(store, subscription_id, changed, &mut events),
        "failed" if apply_anyway => {
            let mut on_hold = changed;
            on_hold.status = "on_hold";
            on_hold.owed = Some(owed);
            store
                .subscriptions
                .insert(subscription_id.to_string(), on_hold);
            charges::push_subscription_event(
                store,
                "subscription.plan_changed",
                subscription_id,
                &mut events,
            );
            charges::push_subscription_event(
                store,
                "subscription.on_hold",
                subscription_id,
                &mut events,
            );
        }
        // prevent_change: the plan stays; the failed payment is the whole story.
        "failed" => {}
        _ => {
            // Waiting for the customer (3-D Secure) or the bank: the change follows the payment.
            if let Some(sub) = store.subscriptions.get_mut(subscription_id) {
                sub.pending_change = Some(PendingChange {
                    payment_id: payment_id.clone(),
                    plan: quote.new_plan.clone(),
                    resets_cycle: quote.proration.resets_cycle,
                    credit_used: quote.credit_used - quote.credit_added,
                });
            }
        }
    }
    let response = json!({
        "payment_id": payment_id,
        "client_secret": null,
        "expires_on": payment.as_ref().and_then(charges::link_expiry),
        "payment_link": payment.and_then(|p| p.payment_link),
    });
    Ok((response, events))
}

/// Puts a subscription on its changed plan and says so (`subscription.plan_changed`, then
/// `subscription.updated`).
fn put_on_new_plan(
    store: &mut Store,
    subscription_id: &str,
    changed: Subscription,
    events: &mut Vec<Event>,
) {
    store
        .subscriptions
        .insert(subscription_id.to_string(), changed);
    charges::push_subscription_event(store, "subscription.plan_changed", subscription_id, events);
    charges::push_subscription_event(store, "subscription.updated", subscription_id, events);
}

/// The preview response: `{immediate_charge, new_plan}`.
pub fn preview(
    store: &Store,
    subscription_id: &str,
    request: &ChangePlanRequest,
    now: OffsetDateTime,
) -> Result<Value, Refusal> {
    let sub = store
        .subscriptions
        .get(subscription_id)
        .ok_or_else(|| Refusal::not_found("subscription", subscription_id))?;
    let quote = quote(store, sub, request, now)?;
    let new_plan = after(sub, &quote, store, now);
    Ok(json!({
        "immediate_charge": immediate_charge(store, &quote, &sub.currency),
        "new_plan": dodo_json::subscription(store, &new_plan),
    }))
}

/// `DELETE /subscriptions/{id}/change-plan/scheduled`: withdraws the change scheduled for the
/// next billing date; the subscription stays on its plan, and says so (`subscription.updated`).
/// Nothing scheduled is Dodo's `404`.
pub fn cancel_scheduled(store: &mut Store, subscription_id: &str) -> Result<Vec<Event>, Refusal> {
    let sub = store
        .subscriptions
        .get_mut(subscription_id)
        .ok_or_else(|| Refusal::not_found("subscription", subscription_id))?;
    if sub.scheduled_change.take().is_none() {
        return Err(Refusal::not_found(
            "scheduled plan change of subscription",
            subscription_id,
        ));
    }
    let mut events = Vec::new();
    charges::push_subscription_event(store, "subscription.updated", subscription_id, &mut events);
    Ok(events)
}
