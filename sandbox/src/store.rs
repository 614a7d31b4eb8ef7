//! The sandbox's state: what Dodo would hold for one business, in memory.

use crate::seed::{CardBehaviour, Seed, SeedBilling, SeedCustomer, SeedProduct};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
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
    pub last_used_at: OffsetDateTime,
}

/// One line of a payment's cart.
#[derive(Debug, Clone, Serialize)]
pub struct CartLine {
    pub product_id: String,
    pub quantity: i64,
}

/// A payment, seeded or created by a confirmed checkout session.
#[derive(Debug, Clone)]
pub struct Payment {
    pub payment_id: String,
    pub customer_id: String,
    pub payment_method_id: String,
    pub cart: Vec<CartLine>,
    pub total_amount: i64,
    pub currency: String,
    /// Dodo's `IntentStatus`, e.g. `succeeded`.
    pub status: &'static str,
    pub error_code: Option<&'static str>,
    pub error_message: Option<&'static str>,
    pub created_at: OffsetDateTime,
    pub billing: SeedBilling,
    pub metadata: Map<String, Value>,
    pub checkout_session_id: Option<String>,
}

/// A checkout session.
#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub session_id: String,
    pub customer_id: String,
    pub payment_id: Option<String>,
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

/// Everything the sandbox knows.
#[derive(Debug)]
pub struct Store {
    pub business_id: String,
    pub brand_id: String,
    pub customers: HashMap<String, SeedCustomer>,
    pub payment_methods: HashMap<String, PaymentMethod>,
    pub products: HashMap<String, SeedProduct>,
    pub payments: HashMap<String, Payment>,
    pub sessions: HashMap<String, CheckoutSession>,
    /// Payment ids created by charges, in the order they were made.
    pub charges: Vec<String>,
    pub deliveries: Vec<WebhookDelivery>,
}

impl Store {
    /// Builds the world a seed file describes, with relative times taken from `now`.
    pub fn from_seed(seed: &Seed, now: OffsetDateTime) -> anyhow::Result<Store> {
        let mut store = Store {
            business_id: seed.business_id.clone(),
            brand_id: seed.brand_id.clone(),
            customers: HashMap::new(),
            payment_methods: HashMap::new(),
            products: HashMap::new(),
            payments: HashMap::new(),
            sessions: HashMap::new(),
            charges: Vec::new(),
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
                    last_used_at: now - Duration::minutes(pm.last_used_minutes_ago),
                },
            );
        }
        for product in &seed.products {
            anyhow::ensure!(
                (0..=100).contains(&product.discount),
                "product {}: discount must be a percentage from 0 to 100",
                product.product_id
            );
            let mut product = product.clone();
            product.currency = product.currency.to_uppercase();
            store.products.insert(product.product_id.clone(), product);
        }
        for payment in &seed.payments {
            let product = store.products.get(&payment.product_id).ok_or_else(|| {
                anyhow::anyhow!(
                    "payment {} names unknown product {}",
                    payment.payment_id,
                    payment.product_id
                )
            })?;
            let method = store
                .payment_methods
                .get(&payment.payment_method_id)
                .filter(|pm| pm.customer_id == payment.customer_id)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "payment {}: payment method {} is not one of customer {}'s",
                        payment.payment_id,
                        payment.payment_method_id,
                        payment.customer_id
                    )
                })?;
            let record = Payment {
                payment_id: payment.payment_id.clone(),
                customer_id: payment.customer_id.clone(),
                payment_method_id: method.payment_method_id.clone(),
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
                billing: payment.billing.clone(),
                metadata: Map::new(),
                checkout_session_id: None,
            };
            store.payments.insert(record.payment_id.clone(), record);
        }
        Ok(store)
    }

    /// The billing address of the customer's most recent payment, if any.
    pub fn latest_billing(&self, customer_id: &str) -> Option<SeedBilling> {
        self.payments
            .values()
            .filter(|p| p.customer_id == customer_id)
            .max_by_key(|p| p.created_at)
            .map(|p| p.billing.clone())
    }
}

/// A product's price after its percentage discount, in minor units. Half a minor unit rounds up.
pub fn unit_price(product: &SeedProduct) -> i64 {
    (product.price * (100 - product.discount) + 50) / 100
}

/// A new random id with Dodo's prefix, e.g. `pay_3f2a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        // 999 × 50 % = 499.5 → 500
        assert_eq!(unit_price(&product), 500);
    }
}
