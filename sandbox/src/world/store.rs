//! The sandbox's state: what Dodo would hold for one business, in memory.

use crate::world::seed::{
    CardBehaviour, Interval, Seed, SeedAddon, SeedBilling, SeedCustomer, SeedProduct,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A saved payment method of a customer.
#[derive(Debug, Clone)]
pub struct PaymentMethod {
    pub payment_method_id: String,
    pub customer_id: String,
    pub network: String,
    pub last4: String,
    pub expiry_month: String,
    pub expiry_year: String,
    pub currency: String,
    pub behaviour: CardBehaviour,
    pub processing_seconds: i64,
    pub last_used_at: OffsetDateTime,
}

impl PaymentMethod {
    /// True when the card's expiry month has not ended at `now`.
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        let year: i32 = self.expiry_year.trim().parse().unwrap_or(0);
        let year = if year < 100 { 2000 + year } else { year };
        let month: i32 = self.expiry_month.trim().parse().unwrap_or(0);
        (year, month) >= (now.year(), i32::from(u8::from(now.month())))
    }
}

/// One line of a payment's cart.
#[derive(Debug, Clone, Serialize)]
pub struct CartLine {
    pub product_id: String,
    pub quantity: i64,
}

/// A payment: seeded, or made by a checkout, `POST /payments`, a plan change or a renewal.
#[derive(Debug, Clone)]
pub struct Payment {
    pub payment_id: String,
    pub customer_id: String,
    pub payment_method_id: Option<String>,
    pub cart: Vec<CartLine>,
    pub total_amount: i64,
    pub currency: String,
    /// Dodo's `IntentStatus`, e.g. `succeeded`.
    pub status: &'static str,
    pub error_code: Option<&'static str>,
    pub error_message: Option<&'static str>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub billing: SeedBilling,
    pub metadata: Map<String, Value>,
    pub checkout_session_id: Option<String>,
    pub subscription_id: Option<String>,
    /// `new`, `renewal` or `plan_change`.
    pub charge_type: &'static str,
    /// The page that completes a payment that needs the customer (3-D Secure, hosted checkout).
    pub payment_link: Option<String>,
    /// When a `processing` payment settles, or a `requires_customer_action` payment's link
    /// expires (sandbox clock).
    pub settles_at: Option<OffsetDateTime>,
}

/// A checkout session.
#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub session_id: String,
    pub customer_id: Option<String>,
    pub payment_id: Option<String>,
    pub cart: Vec<CartLine>,
    pub billing: Option<SeedBilling>,
    pub metadata: Map<String, Value>,
    /// Where the hosted checkout sends the customer after paying.
    pub return_url: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An add-on line on a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonLine {
    pub addon_id: String,
    pub quantity: i64,
}

/// A plan: what a subscription is on, or is changing to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub product_id: String,
    pub quantity: i64,
    pub addons: Vec<AddonLine>,
}

/// A change waiting for the next billing date.
#[derive(Debug, Clone)]
pub struct ScheduledChange {
    pub id: String,
    pub plan: Plan,
    pub created_at: OffsetDateTime,
    pub effective_at: OffsetDateTime,
}

/// A change waiting for its payment (`on_payment_failure: prevent_change`).
#[derive(Debug, Clone)]
pub struct PendingChange {
    pub payment_id: String,
    pub plan: Plan,
    pub resets_cycle: bool,
    pub credit_used: i64,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub subscription_id: String,
    pub customer_id: String,
    pub payment_method_id: String,
    pub plan: Plan,
    /// Dodo's `SubscriptionStatus`, e.g. `active`.
    pub status: &'static str,
    pub currency: String,
    pub billing: SeedBilling,
    pub created_at: OffsetDateTime,
    pub previous_billing_date: OffsetDateTime,
    pub next_billing_date: OffsetDateTime,
    /// Credit from downgrades, in minor units, used by later charges of this subscription.
    pub credit_balance: i64,
    pub scheduled_change: Option<ScheduledChange>,
    pub pending_change: Option<PendingChange>,
    /// On hold: the payment that failed, charged again once the customer gives a card that
    /// pays (`update-payment-method`).
    pub owed: Option<Owed>,
    pub metadata: Map<String, Value>,
}

/// What a subscription on hold still owes: the charge that failed, as it was made.
#[derive(Debug, Clone)]
pub struct Owed {
    pub amount: i64,
    pub cart: Vec<CartLine>,
    pub metadata: Map<String, Value>,
    /// `renewal` or `plan_change`.
    pub charge_type: &'static str,
    /// The payment now trying to pay it, while it waits (3-D Secure, processing): once it
    /// succeeds, nothing is owed.
    pub paying: Option<String>,
}

/// A page on which a subscriber gives a new card (`update-payment-method` with `type: new`).
#[derive(Debug, Clone)]
pub struct CardUpdate {
    pub update_id: String,
    pub subscription_id: String,
    /// Where the page sends the customer once the card is saved.
    pub return_url: Option<String>,
    pub expires_at: OffsetDateTime,
    /// The card it saved, once it has.
    pub saved: Option<String>,
}

/// Money given back on a payment (`POST /refunds`).
#[derive(Debug, Clone)]
pub struct Refund {
    pub refund_id: String,
    pub payment_id: String,
    pub customer_id: String,
    /// Minor units, in the payment's currency.
    pub amount: i64,
    pub currency: String,
    pub is_partial: bool,
    pub reason: Option<String>,
    pub metadata: Map<String, Value>,
    pub created_at: OffsetDateTime,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub webhook_id: String,
    pub event_type: String,
    pub attempt: u32,
    /// HTTP status the endpoint answered, or `None` when it could not be reached.
    pub status: Option<u16>,
}

/// An event to send once the store is unlocked.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: &'static str,
    pub data: Value,
}

/// Everything the sandbox knows.
#[derive(Debug)]
pub struct Store {
    pub business_id: String,
    pub brand_id: String,
    /// Base URL of the sandbox, for the hosted pages' links.
    pub public_url: String,
    pub customers: HashMap<String, SeedCustomer>,
    pub payment_methods: HashMap<String, PaymentMethod>,
    pub products: HashMap<String, SeedProduct>,
    pub addons: HashMap<String, SeedAddon>,
    pub payments: HashMap<String, Payment>,
    pub sessions: HashMap<String, CheckoutSession>,
    /// Pages for a new card of a subscription, by id.
    pub card_updates: HashMap<String, CardUpdate>,
    pub subscriptions: HashMap<String, Subscription>,
    /// Payment ids made after the sandbox started, in order.
    pub charges: Vec<String>,
    /// Refunds, in order.
    pub refunds: Vec<Refund>,
    pub deliveries: Vec<WebhookDelivery>,
}

pub fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| anyhow::anyhow!("{text:?} is not RFC 3339: {e}"))
}

impl Store {
    /// Builds the world a seed file describes, with relative times taken from `now`.
    pub fn from_seed(seed: &Seed, now: OffsetDateTime, public_url: &str) -> anyhow::Result<Store> {
        let mut store = Store {
            business_id: seed.business_id.clone(),
            brand_id: seed.brand_id.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            customers: HashMap::new(),
            payment_methods: HashMap::new(),
            products: HashMap::new(),
            addons: HashMap::new(),
            payments: HashMap::new(),
            sessions: HashMap::new(),
            card_updates: HashMap::new(),
            subscriptions: HashMap::new(),
            charges: Vec::new(),
            refunds: Vec::new(),
            deliveries: Vec::new(),
        };
        for customer in &seed.customers {
            store
                .customers
                .insert(customer.customer_id.clone(), customer.clone());
        }
        for pm in &seed.payment_methods {
            anyhow::ensure!(
                store.customers.contains_key(&pm.customer_id),
                "payment method {} names unknown customer {}",
                pm.payment_method_id,
                pm.customer_id
            );
            store.payment_methods.insert(
                pm.payment_method_id.clone(),
                PaymentMethod {
                    payment_method_id: pm.payment_method_id.clone(),
                    customer_id: pm.customer_id.clone(),
                    network: pm.network.clone(),
                    last4: pm.last4.clone(),
                    expiry_month: pm.expiry_month.clone(),
                    expiry_year: pm.expiry_year.clone(),
                    currency: pm.currency.to_uppercase(),
                    behaviour: pm.behaviour,
                    processing_seconds: pm.processing_seconds,
                    last_used_at: now - Duration::minutes(pm.last_used_minutes_ago),
                },
            );
        }
        for addon in &seed.addons {
            let mut addon = addon.clone();
            addon.currency = addon.currency.to_uppercase();
            store.addons.insert(addon.addon_id.clone(), addon);
        }
        for product in &seed.products {
            anyhow::ensure!(
                (0..=100).contains(&product.discount),
                "product {}: discount must be a percentage from 0 to 100",
                product.product_id
            );
            for addon in &product.addons {
                anyhow::ensure!(
                    store.addons.contains_key(addon),
                    "product {} names unknown add-on {addon}",
                    product.product_id
                );
            }
            let mut product = product.clone();
            product.currency = product.currency.to_uppercase();
            store.products.insert(product.product_id.clone(), product);
        }
        for payment in &seed.payments {
            let product = store.product(&payment.product_id)?;
            let method = store.method_of(&payment.customer_id, &payment.payment_method_id)?;
            let record = Payment {
                payment_id: payment.payment_id.clone(),
                customer_id: payment.customer_id.clone(),
                payment_method_id: Some(method.payment_method_id.clone()),
                cart: vec![CartLine {
                    product_id: payment.product_id.clone(),
                    quantity: payment.quantity,
                }],
                total_amount: unit_price(product) * payment.quantity,
                currency: product.currency.clone(),
                status: "succeeded",
                error_code: None,
                error_message: None,
                created_at: now - Duration::minutes(payment.minutes_ago),
                updated_at: now - Duration::minutes(payment.minutes_ago),
                billing: payment.billing.clone(),
                metadata: Map::new(),
                checkout_session_id: None,
                subscription_id: payment.subscription_id.clone(),
                charge_type: "new",
                payment_link: None,
                settles_at: None,
            };
            store.payments.insert(record.payment_id.clone(), record);
        }
        for sub in &seed.subscriptions {
            let product = store.product(&sub.product_id)?;
            let interval = product.interval.ok_or_else(|| {
                anyhow::anyhow!(
                    "subscription {}: product {} is not recurring",
                    sub.subscription_id,
                    sub.product_id
                )
            })?;
            let currency = product.currency.clone();
            let count = product.interval_count;
            store.method_of(&sub.customer_id, &sub.payment_method_id)?;
            let start = match &sub.previous_billing_date {
                Some(text) => parse_time(text)?,
                None => now,
            };
            let status = match sub.status.as_str() {
                "active" => "active",
                "on_hold" => "on_hold",
                "cancelled" => "cancelled",
                "paused" => "paused",
                "pending" => "pending",
                other => anyhow::bail!(
                    "subscription {}: unknown status {other}",
                    sub.subscription_id
                ),
            };
            store.subscriptions.insert(
                sub.subscription_id.clone(),
                Subscription {
                    subscription_id: sub.subscription_id.clone(),
                    customer_id: sub.customer_id.clone(),
                    payment_method_id: sub.payment_method_id.clone(),
                    plan: Plan {
                        product_id: sub.product_id.clone(),
                        quantity: sub.quantity,
                        addons: Vec::new(),
                    },
                    status,
                    currency,
                    billing: sub.billing.clone(),
                    created_at: start,
                    previous_billing_date: start,
                    next_billing_date: add_interval(start, interval, count),
                    credit_balance: 0,
                    scheduled_change: None,
                    pending_change: None,
                    owed: None,
                    metadata: Map::new(),
                },
            );
        }
        Ok(store)
    }

    pub fn product(&self, product_id: &str) -> anyhow::Result<&SeedProduct> {
        self.products
            .get(product_id)
            .ok_or_else(|| anyhow::anyhow!("unknown product {product_id}"))
    }

    fn method_of(
        &self,
        customer_id: &str,
        payment_method_id: &str,
    ) -> anyhow::Result<&PaymentMethod> {
        self.payment_methods
            .get(payment_method_id)
            .filter(|pm| pm.customer_id == customer_id)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "payment method {payment_method_id} is not one of customer {customer_id}'s"
                )
            })
    }

    /// The billing address of the customer's most recent payment, if any.
    pub fn latest_billing(&self, customer_id: &str) -> Option<SeedBilling> {
        self.payments
            .values()
            .filter(|p| p.customer_id == customer_id)
            .max_by_key(|p| p.created_at)
            .map(|p| p.billing.clone())
    }

    /// What a plan costs per period, in minor units.
    pub fn plan_cost(&self, plan: &Plan) -> i64 {
        let base = self
            .products
            .get(&plan.product_id)
            .map_or(0, |p| unit_price(p) * plan.quantity);
        let addons: i64 = plan
            .addons
            .iter()
            .map(|a| {
                self.addons
                    .get(&a.addon_id)
                    .map_or(0, |addon| addon.price * a.quantity)
            })
            .sum();
        base + addons
    }
}

/// A product's price after its percentage discount, in minor units. Half a minor unit rounds up.
pub fn unit_price(product: &SeedProduct) -> i64 {
    (product.price * (100 - product.discount) + 50) / 100
}

/// `at` plus `count` intervals; a month later than Jan 31 is the last day of February.
pub fn add_interval(at: OffsetDateTime, interval: Interval, count: i64) -> OffsetDateTime {
    match interval {
        Interval::Day => at + Duration::days(count),
        Interval::Week => at + Duration::weeks(count),
        Interval::Month => add_months(at, count),
        Interval::Year => add_months(at, 12 * count),
    }
}

fn add_months(at: OffsetDateTime, months: i64) -> OffsetDateTime {
    let total = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + months;
    let year = (total.div_euclid(12)) as i32;
    let month =
        time::Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(time::Month::January);
    let last_day = month.length(year);
    let day = at.day().min(last_day);
    time::Date::from_calendar_date(year, month, day)
        .map(|date| at.replace_date(date))
        .unwrap_or(at)
}

/// A new random id with Dodo's prefix, e.g. `pay_3f2a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn discount_rounds_half_a_minor_unit_up() {
        let product = SeedProduct {
            product_id: "p".into(),
            name: "p".into(),
            description: None,
            image: None,
            price: 999,
            currency: "USD".into(),
            discount: 50,
            interval: None,
            interval_count: 1,
            addons: Vec::new(),
            deleted: false,
        };
        // 999 × 50 % = 499.5 → 500
        assert_eq!(unit_price(&product), 500);
    }

    #[test]
    fn months_are_calendar_months_clamped_to_the_last_day() {
        let jan31 = datetime!(2026-01-31 10:00 UTC);
        assert_eq!(
            add_interval(jan31, Interval::Month, 1),
            datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            add_interval(jan31, Interval::Month, 11),
            datetime!(2026-12-31 10:00 UTC)
        );
        assert_eq!(
            add_interval(jan31, Interval::Year, 1),
            datetime!(2027-01-31 10:00 UTC)
        );
        assert_eq!(
            add_interval(jan31, Interval::Week, 1),
            datetime!(2026-02-07 10:00 UTC)
        );
    }
}
