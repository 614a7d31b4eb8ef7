//! Which of the offers a purchase leads to fit it: the offers file's conditions
//! (`[offers.when]`: the order's total, the billing country, the currency, a start and an end,
//! a new or returning customer) read from the purchase as Dodo reports it and from the
//! customer's history (`customer_history`), and the offers' priorities. Nothing here calls
//! Dodo: the lookup has read all of it already.

use crate::dodo::client::currency_code;
use crate::rules::{Conditions, CustomerKind, OfferRule};
use dodopayments::models::Payment;
use time::OffsetDateTime;

/// What the conditions are about: the purchase as Dodo reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseFacts {
    /// The order's total, in minor units.
    pub total: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// The billing country (ISO 3166-1 alpha-2, upper case), when Dodo gives one.
    pub country: Option<String>,
    /// Whether the customer bought before; `None` when unknown, and then neither `new` nor
    /// `returning` fits.
    pub returning: Option<bool>,
}

impl PurchaseFacts {
    pub fn of(payment: &Payment, returning: Option<bool>) -> Self {
        PurchaseFacts {
            returning,
            total: payment.total_amount,
            currency: currency_code(&payment.currency),
            country: serde_json::to_value(&payment.billing.country)
                .ok()
                .and_then(|v| v.as_str().map(str::to_uppercase)),
        }
    }
}

/// Whether the purchase meets every condition given.
pub fn fits(conditions: &Conditions, facts: &PurchaseFacts, now: OffsetDateTime) -> bool {
    let total_fits = conditions.order_total.is_empty()
        || conditions
            .order_total
            .get(&facts.currency)
            .is_some_and(|range| {
                range.min.is_none_or(|min| facts.total >= min)
                    && range.max.is_none_or(|max| facts.total <= max)
            });
    let country_fits = conditions.countries.is_empty()
        || facts
            .country
            .as_ref()
            .is_some_and(|c| conditions.countries.contains(c));
    let currency_fits =
        conditions.currencies.is_empty() || conditions.currencies.contains(&facts.currency);
    let moment = |text: &Option<String>| text.as_deref().and_then(crate::clock::parse_rfc3339);
    let started = moment(&conditions.starts_at).is_none_or(|starts| now >= starts);
    let not_ended = moment(&conditions.ends_at).is_none_or(|ends| now < ends);
    let customer_fits = match conditions.customer {
        None => true,
        Some(CustomerKind::New) => facts.returning == Some(false),
        Some(CustomerKind::Returning) => facts.returning == Some(true),
    };
    total_fits && country_fits && currency_fits && started && not_ended && customer_fits
}

/// The offers that fit the purchase, highest priority first (file order among equals).
pub fn choose<'a>(
    offers: impl Iterator<Item = &'a OfferRule>,
    facts: &PurchaseFacts,
    now: OffsetDateTime,
) -> Vec<&'a OfferRule> {
    let mut fitting: Vec<&OfferRule> = offers.filter(|o| fits(&o.when, facts, now)).collect();
    // A stable sort: equal priorities keep the file's order.
    fitting.sort_by_key(|o| std::cmp::Reverse(o.priority));
    fitting
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::OfferRules;
    use time::macros::datetime;

    fn rules(text: &str) -> OfferRules {
        OfferRules::parse(text).unwrap()
    }

    fn us_purchase(total: i64) -> PurchaseFacts {
        PurchaseFacts {
            total,
            currency: "USD".into(),
            country: Some("US".into()),
            returning: Some(false),
        }
    }

    const TARGETED: &str = r#"
[[offers]]
id = "big-orders"
after = ["prod_a"]
product = "prod_b"
[offers.when]
order_total = { USD = { min = 5000, max = 20000 } }
countries = ["US", "CA"]
currencies = ["USD"]
starts_at = "2026-12-01T00:00:00Z"
ends_at = "2027-01-01T00:00:00Z"

[[offers]]
id = "everyone"
after = ["prod_a"]
product = "prod_c"

[[offers]]
id = "first-choice"
after = ["prod_a"]
product = "prod_d"
priority = 5
"#;

    fn chosen(facts: &PurchaseFacts, now: OffsetDateTime) -> Vec<String> {
        let rules = rules(TARGETED);
        choose(rules.offers.iter(), facts, now)
            .into_iter()
            .map(|o| o.id.clone())
            .collect()
    }

    #[test]
    fn every_condition_must_hold_and_priority_orders_what_fits() {
        let december = datetime!(2026-12-15 12:00 UTC);
        assert_eq!(
            chosen(&us_purchase(8000), december),
            ["first-choice", "big-orders", "everyone"]
        );
        // Each condition failing on its own leaves the offer out.
        assert_eq!(
            chosen(&us_purchase(4999), december),
            ["first-choice", "everyone"]
        );
        assert_eq!(
            chosen(&us_purchase(20001), december),
            ["first-choice", "everyone"]
        );
        let mut finnish = us_purchase(8000);
        finnish.country = Some("FI".into());
        assert_eq!(chosen(&finnish, december), ["first-choice", "everyone"]);
        let mut no_country = us_purchase(8000);
        no_country.country = None;
        assert_eq!(chosen(&no_country, december), ["first-choice", "everyone"]);
        let mut euros = us_purchase(8000);
        euros.currency = "EUR".into();
        assert_eq!(chosen(&euros, december), ["first-choice", "everyone"]);
        assert_eq!(
            chosen(&us_purchase(8000), datetime!(2026-11-30 23:59 UTC)),
            ["first-choice", "everyone"]
        );
        assert_eq!(
            chosen(&us_purchase(8000), datetime!(2027-01-01 00:00 UTC)),
            ["first-choice", "everyone"]
        );
        // The bounds are included.
        assert_eq!(chosen(&us_purchase(5000), december).len(), 3);
        assert_eq!(chosen(&us_purchase(20000), december).len(), 3);
    }

    #[test]
    fn new_and_returning_customers_are_told_apart_and_unknown_fits_neither() {
        let rules = rules(
            r#"
[[offers]]
id = "welcome"
after = ["prod_a"]
product = "prod_b"
when = { customer = "new" }

[[offers]]
id = "welcome-back"
after = ["prod_a"]
product = "prod_c"
when = { customer = "returning" }
"#,
        );
        let now = datetime!(2026-12-15 12:00 UTC);
        let chosen = |returning| {
            let facts = PurchaseFacts {
                returning,
                ..us_purchase(1000)
            };
            choose(rules.offers.iter(), &facts, now)
                .into_iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(chosen(Some(false)), ["welcome"]);
        assert_eq!(chosen(Some(true)), ["welcome-back"]);
        assert!(chosen(None).is_empty());
        let error = OfferRules::parse(
            "[[offers]]\nid = \"x\"\nafter = [\"p\"]\nproduct = \"q\"\nwhen = { customer = \"vip\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown variant"), "{error}");
    }

    #[test]
    fn conditions_that_cannot_be_met_are_refused_naming_the_offer() {
        let offer = |when: &str| {
            format!(
                "[[offers]]\nid = \"x\"\nafter = [\"p\"]\nproduct = \"q\"\n[offers.when]\n{when}\n"
            )
        };
        for (when, says) in [
            ("order_total = { usd = { min = 1 } }", "ISO 4217"),
            ("order_total = { USD = {} }", "needs `min`, `max`"),
            ("order_total = { USD = { min = -1 } }", "not negative"),
            ("order_total = { USD = { min = 9, max = 1 } }", "above max"),
            ("countries = [\"USA\"]", "ISO 3166-1"),
            ("currencies = [\"dollars\"]", "ISO 4217"),
            ("starts_at = \"tomorrow\"", "RFC 3339"),
            (
                "starts_at = \"2027-01-01T00:00:00Z\"\nends_at = \"2026-01-01T00:00:00Z\"",
                "before ends_at",
            ),
            ("country = [\"US\"]", "unknown field"),
        ] {
            let error = OfferRules::parse(&offer(when)).unwrap_err().to_string();
            assert!(error.contains(says), "{when}: {error}");
            assert!(
                error.contains("\"x\"") || error.contains("unknown field"),
                "{when}: {error}"
            );
        }
    }
}
