//! The seed file: the customers, saved cards, products, purchases and subscriptions the sandbox
//! starts with, and optionally the faults it starts with and the time its clock starts at.

use crate::world::faults::FaultRule;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What charging a seeded payment method does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBehaviour {
    /// The charge succeeds.
    Succeeds,
    /// The charge fails with `INSUFFICIENT_FUNDS`.
    DeclinesInsufficientFunds,
    /// The charge fails with `CARD_DECLINED`.
    DeclinesCardDeclined,
    /// The bank asks the customer to confirm (3-D Secure): the payment waits in
    /// `requires_customer_action` until its `payment_link` page completes or fails it.
    RequiresCustomerAction,
    /// The payment stays `processing` for `processing_seconds` (sandbox clock), then succeeds.
    StaysProcessing,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub business_id: String,
    pub brand_id: String,
    /// RFC 3339 time the sandbox clock starts at; the real time when absent.
    pub clock_start: Option<String>,
    #[serde(default)]
    pub customers: Vec<SeedCustomer>,
    #[serde(default)]
    pub payment_methods: Vec<SeedPaymentMethod>,
    #[serde(default)]
    pub products: Vec<SeedProduct>,
    #[serde(default)]
    pub addons: Vec<SeedAddon>,
    #[serde(default)]
    pub payments: Vec<SeedPayment>,
    #[serde(default)]
    pub subscriptions: Vec<SeedSubscription>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCustomer {
    pub customer_id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPaymentMethod {
    pub payment_method_id: String,
    pub customer_id: String,
    pub network: String,
    pub last4: String,
    pub expiry_month: String,
    pub expiry_year: String,
    /// The currency this method can pay in.
    pub currency: String,
    pub behaviour: CardBehaviour,
    /// For `stays_processing`.
    #[serde(default = "default_processing_seconds")]
    pub processing_seconds: i64,
    #[serde(default)]
    pub last_used_minutes_ago: i64,
}

fn default_processing_seconds() -> i64 {
    30
}

/// How often a recurring product bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProduct {
    pub product_id: String,
    pub name: String,
    pub description: Option<String>,
    pub image: Option<String>,
    /// Minor units.
    pub price: i64,
    pub currency: String,
    /// Percent, 0 to 100.
    #[serde(default)]
    pub discount: i64,
    /// Set for a subscription product: it bills every `interval_count` `interval`s.
    pub interval: Option<Interval>,
    #[serde(default = "one")]
    pub interval_count: i64,
    /// Add-on ids this plan accepts.
    #[serde(default)]
    pub addons: Vec<String>,
    /// A deleted product cannot be bought or changed to (`PRODUCT_IS_DELETED`).
    #[serde(default)]
    pub deleted: bool,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAddon {
    pub addon_id: String,
    pub name: String,
    /// Minor units per unit per period.
    pub price: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPayment {
    pub payment_id: String,
    pub customer_id: String,
    pub payment_method_id: String,
    pub product_id: String,
    pub quantity: i64,
    /// How long before the clock's start the purchase was made.
    #[serde(default)]
    pub minutes_ago: i64,
    pub billing: SeedBilling,
    /// The subscription this purchase started (a subscription product's first payment).
    pub subscription_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSubscription {
    pub subscription_id: String,
    pub customer_id: String,
    pub payment_method_id: String,
    pub product_id: String,
    #[serde(default = "one")]
    pub quantity: i64,
    /// Start of the current period (RFC 3339); the clock's start when absent.
    pub previous_billing_date: Option<String>,
    /// `active` unless said otherwise.
    #[serde(default = "active")]
    pub status: String,
    pub billing: SeedBilling,
}

fn active() -> String {
    "active".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct SeedBilling {
    pub country: String,
    pub state: Option<String>,
    pub city: Option<String>,
    pub street: Option<String>,
    pub zipcode: Option<String>,
}

impl Seed {
    /// Reads and parses a seed file; the error names the file and the offending line.
    pub fn load(path: &Path) -> anyhow::Result<Seed> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read seed file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("seed file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Seed> {
        Ok(toml::from_str(text)?)
    }
}
