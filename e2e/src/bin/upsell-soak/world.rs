//! The soak's world: the demo's products and offers, and a crowd of generated customers, each
//! with saved cards that behave as real ones do (most succeed; some decline, ask for 3-D
//! Secure, or stay processing a moment) and a few subscriptions on the Team plan to change.

use std::fmt::Write;

/// A generated customer and what their cards do.
#[derive(Debug, Clone)]
pub struct Customer {
    pub customer_id: String,
    /// Its subscriptions on the Team plan, each changed at most once by the soak.
    pub subscriptions: Vec<String>,
}

/// What a customer's main card does; the second card always succeeds.
const BEHAVIOURS: [&str; 6] = [
    "succeeds",
    "succeeds",
    "succeeds",
    "declines_insufficient_funds",
    "requires_customer_action",
    "stays_processing",
];

/// The sandbox's seed (TOML): the demo world plus `customers` generated customers with
/// `subscriptions` subscriptions each. Returns it and the customers.
pub fn seed(customers: usize, subscriptions: usize) -> (String, Vec<Customer>) {
    let mut toml = dodo_sandbox::DEMO_SEED.to_string();
    let mut crowd = Vec::new();
    for n in 0..customers {
        let customer_id = format!("cus_soak_{n:03}");
        let main_card = format!("pm_soak_{n:03}_main");
        let behaviour = BEHAVIOURS[n % BEHAVIOURS.len()];
        let billing = r#"{ country = "US", state = "NY", city = "New York", street = "1 Main St", zipcode = "10001" }"#;
        let _ = write!(
            toml,
            r#"
[[customers]]
customer_id = "{customer_id}"
email = "soak{n}@example.com"
name = "Soak Customer {n}"

[[payment_methods]]
payment_method_id = "{main_card}"
customer_id = "{customer_id}"
network = "Visa"
last4 = "{last4:04}"
expiry_month = "12"
expiry_year = "2031"
currency = "USD"
behaviour = "{behaviour}"
processing_seconds = 1
last_used_minutes_ago = 1

[[payment_methods]]
payment_method_id = "pm_soak_{n:03}_spare"
customer_id = "{customer_id}"
network = "Mastercard"
last4 = "{spare:04}"
expiry_month = "06"
expiry_year = "2032"
currency = "USD"
behaviour = "succeeds"
last_used_minutes_ago = 600

[[payments]]
payment_id = "pay_soak_{n:03}_first"
customer_id = "{customer_id}"
payment_method_id = "{main_card}"
product_id = "prod_basic_plan"
quantity = 1
minutes_ago = 60
billing = {billing}
"#,
            last4 = 1000 + n,
            spare = 5000 + n,
        );
        let mut owned = Vec::new();
        for s in 0..subscriptions {
            let subscription_id = format!("sub_soak_{n:03}_{s:02}");
            let _ = write!(
                toml,
                r#"
[[subscriptions]]
subscription_id = "{subscription_id}"
customer_id = "{customer_id}"
payment_method_id = "{main_card}"
product_id = "prod_plan_team"
billing = {billing}
"#
            );
            owned.push(subscription_id);
        }
        crowd.push(Customer {
            customer_id,
            subscriptions: owned,
        });
    }
    (toml, crowd)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_generated_world_is_a_seed_the_sandbox_reads() {
        let (toml, customers) = super::seed(7, 2);
        let seed = dodo_sandbox::Seed::parse(&toml).unwrap();
        assert_eq!(customers.len(), 7);
        assert!(seed.subscriptions.len() >= 14);
    }
}
