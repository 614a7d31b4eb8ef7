//! The merchant's offers file (TOML): which product to offer after which purchase.

use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRules {
    /// How long after a purchase its offers stay valid.
    #[serde(default = "default_window")]
    pub offer_window_minutes: i64,
    /// How many offers one purchase may accept (Shopify's limit is 3).
    #[serde(default = "default_max_accepted")]
    pub max_accepted_offers: i64,
    #[serde(default)]
    pub offers: Vec<OfferRule>,
}

fn default_window() -> i64 {
    30
}

fn default_max_accepted() -> i64 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRule {
    /// Unique name of the offer.
    pub id: String,
    /// Dodo product ids whose purchase triggers this offer.
    pub after: Vec<String>,
    /// The Dodo product offered.
    pub product: String,
    /// Units added by accepting.
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

impl OfferRules {
    pub fn load(path: &Path) -> anyhow::Result<OfferRules> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read offers file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("offers file {}: {e}", path.display()))
    }

    /// Parses and checks an offers file. TOML errors carry the line; rule errors name the offer.
    pub fn parse(text: &str) -> anyhow::Result<OfferRules> {
        let rules: OfferRules = toml::from_str(text)?;
        anyhow::ensure!(
            (1..=24 * 60).contains(&rules.offer_window_minutes),
            "offer_window_minutes must be between 1 and 1440"
        );
        anyhow::ensure!(
            (1..=20).contains(&rules.max_accepted_offers),
            "max_accepted_offers must be between 1 and 20"
        );
        let mut ids = HashSet::new();
        for offer in &rules.offers {
            anyhow::ensure!(
                is_identifier(&offer.id),
                "offer id {:?} must be 1 to 64 letters, digits, '-' or '_'",
                offer.id
            );
            anyhow::ensure!(
                ids.insert(&offer.id),
                "offer {:?} is defined twice",
                offer.id
            );
            anyhow::ensure!(
                !offer.after.is_empty(),
                "offer {:?}: `after` must name at least one product",
                offer.id
            );
            anyhow::ensure!(
                (1..=100).contains(&offer.quantity),
                "offer {:?}: quantity must be between 1 and 100",
                offer.id
            );
        }
        Ok(rules)
    }

    /// The offers triggered by a purchase of these products, in file order.
    pub fn offers_after<'a>(
        &'a self,
        purchased: &'a [String],
    ) -> impl Iterator<Item = &'a OfferRule> + 'a {
        self.offers
            .iter()
            .filter(move |rule| rule.after.iter().any(|p| purchased.contains(p)))
    }
}

fn is_identifier(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_offers_file_is_valid() {
        let rules = OfferRules::parse(include_str!("../offers.toml")).unwrap();
        assert_eq!(rules.offer_window_minutes, 30);
        let purchased = vec!["prod_basic_plan".to_string()];
        let ids: Vec<_> = rules
            .offers_after(&purchased)
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, ["pro-upgrade"]);
    }

    #[test]
    fn errors_name_the_line_or_the_offer() {
        let err = OfferRules::parse("[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");

        let twice = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\n\
                     [[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"y\"\n";
        let err = OfferRules::parse(twice).unwrap_err().to_string();
        assert!(err.contains("\"a\" is defined twice"), "{err}");

        let unknown = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\nprice = 1\n";
        let err = OfferRules::parse(unknown).unwrap_err().to_string();
        assert!(err.contains("unknown field `price`"), "{err}");
    }
}
