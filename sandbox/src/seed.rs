//! The seed file: the customers, saved cards, products and purchases the sandbox starts with.

use serde::Deserialize;
use std::path::Path;

/// What charging a seeded payment method does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBehaviour {
    /// The charge succeeds.
    Succeeds,
    /// The charge fails with `INSUFFICIENT_FUNDS`.
    DeclinesInsufficientFunds,
    /// The charge fails with `CARD_DECLINED`.
    DeclinesCardDeclined,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub business_id: String,
    pub brand_id: String,
    #[serde(default)]
    pub customers: Vec<SeedCustomer>,
    #[serde(default)]
    pub payment_methods: Vec<SeedPaymentMethod>,
    #[serde(default)]
    pub products: Vec<SeedProduct>,
    #[serde(default)]
    pub payments: Vec<SeedPayment>,
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
    #[serde(default)]
    pub last_used_minutes_ago: i64,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPayment {
    pub payment_id: String,
    pub customer_id: String,
    pub payment_method_id: String,
    pub product_id: String,
    pub quantity: i64,
    /// How long before the sandbox started the purchase was made.
    #[serde(default)]
    pub minutes_ago: i64,
    pub billing: SeedBilling,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
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
