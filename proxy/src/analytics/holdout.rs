//! Do offers add money, or just move it? The purchases offers fit are split by customer into
//! those shown offers and a holdout shown none (`offers::holdout`); what each purchase came to
//! beyond its own price (the offers' payments, minus refunds of them and of the purchase
//! itself: an offer that makes customers return their first order counts against it) is
//! compared between the two, per purchase and per customer, with the always-valid interval of
//! `incremental`, so the answer can be read every day.

use super::incremental::{self, Sample, MIN_SEQUENCE};
use super::stats::Interval;
use crate::storage::offered_purchases::{Arm, PurchaseValue};
use serde::Serialize;
use std::collections::BTreeMap;

/// The holdout's comparison, per currency (amounts in different currencies are never added).
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    /// The share of customers held out now, in percent (the offers file's `holdout_percent`).
    pub share_percent: u32,
    pub currencies: Vec<CurrencyComparison>,
}

/// Offers against the holdout, in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct CurrencyComparison {
    pub currency: String,
    pub offers: ArmFigures,
    pub holdout: ArmFigures,
    /// What showing offers adds per purchase, in minor units, with its 95 % always-valid
    /// interval; `None` until each side has `MIN_SEQUENCE` purchases.
    pub incremental_per_purchase: Option<Interval>,
    /// The same per customer (all their purchases together): customers, not purchases, are
    /// assigned to the holdout, so this is the comparison the split supports exactly.
    pub incremental_per_customer: Option<Interval>,
    /// Purchases of either side made within the refund window: their figures may still fall.
    pub provisional_purchases: u64,
    /// The answer in words.
    pub summary: String,
}

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ArmFigures {
    pub purchases: u64,
    pub customers: u64,
    /// What its purchases came to beyond their price, in minor units.
    pub value: i64,
    /// Per purchase, in minor units; `None` without purchases.
    pub per_purchase: Option<f64>,
    /// Per customer, in minor units; `None` without customers.
    pub per_customer: Option<f64>,
}

/// The comparison, when there is a holdout now or there was one: `None` otherwise.
pub fn compare(
    purchases: &[PurchaseValue],
    share_percent: u32,
    provisional_since: i64,
) -> Option<HoldoutReport> {
    if share_percent == 0 && !purchases.iter().any(|p| p.arm == Arm::Holdout) {
        return None;
    }
    let mut by_currency: BTreeMap<&str, Vec<&PurchaseValue>> = BTreeMap::new();
    for purchase in purchases {
        by_currency
            .entry(purchase.currency.as_str())
            .or_default()
            .push(purchase);
    }
    let currencies = by_currency
        .into_iter()
        .map(|(currency, purchases)| compare_in(currency, &purchases, provisional_since))
        .collect();
    Some(HoldoutReport {
        share_percent,
        currencies,
    })
}

fn compare_in(
    currency: &str,
    purchases: &[&PurchaseValue],
    provisional_since: i64,
) -> CurrencyComparison {
    let side = |arm: Arm| {
        let mut per_purchase = Sample::default();
        let mut per_customer: BTreeMap<&str, i64> = BTreeMap::new();
        for purchase in purchases.iter().filter(|p| p.arm == arm) {
            per_purchase.push(purchase.value);
            *per_customer
                .entry(purchase.customer_id.as_str())
                .or_default() += purchase.value;
        }
        let customers = Sample::from_values(per_customer.values().copied());
        (per_purchase, customers)
    };
    let (offers, offers_customers) = side(Arm::Offers);
    let (holdout, holdout_customers) = side(Arm::Holdout);
    let per_purchase = incremental::difference_of_means_sequence(&offers, &holdout);
    let per_customer =
        incremental::difference_of_means_sequence(&offers_customers, &holdout_customers);
    let provisional_purchases = purchases
        .iter()
        .filter(|p| p.purchased_at > provisional_since)
        .count() as u64;
    let summary = summary(
        currency,
        &offers,
        &holdout,
        per_customer.or(per_purchase),
        provisional_purchases,
    );
    CurrencyComparison {
        currency: currency.to_string(),
        offers: figures(&offers, &offers_customers),
        holdout: figures(&holdout, &holdout_customers),
        incremental_per_purchase: per_purchase,
        incremental_per_customer: per_customer,
        provisional_purchases,
        summary,
    }
}

fn figures(purchases: &Sample, customers: &Sample) -> ArmFigures {
    ArmFigures {
        purchases: purchases.n,
        customers: customers.n,
        value: purchases.sum.round() as i64,
        per_purchase: purchases.mean(),
        per_customer: customers.mean(),
    }
}

fn summary(
    currency: &str,
    offers: &Sample,
    holdout: &Sample,
    per_customer: Option<Interval>,
    provisional: u64,
) -> String {
    let amount = |minor: f64| super::amounts::minor_text(minor, currency);
    let verdict = match per_customer {
        None => format!(
            "No answer yet: each side needs {MIN_SEQUENCE} purchases ({} shown offers, {} held out).",
            offers.n, holdout.n
        ),
        Some(i) if i.low > 0.0 => format!(
            "Offers add money: {} per customer (95 % interval {} to {}).",
            amount(i.estimate),
            amount(i.low),
            amount(i.high)
        ),
        Some(i) if i.high < 0.0 => format!(
            "Offers lose money: {} per customer (95 % interval {} to {}), refunds included.",
            amount(i.estimate),
            amount(i.low),
            amount(i.high)
        ),
        Some(i) => format!(
            "Not yet clear: {} per customer, but anything from {} to {} fits the data; keep the holdout.",
            amount(i.estimate),
            amount(i.low),
            amount(i.high)
        ),
    };
    if provisional > 0 {
        format!("{verdict} {provisional} purchases are within the refund window: provisional.")
    } else {
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purchase(customer: usize, arm: Arm, value: i64, at: i64) -> PurchaseValue {
        PurchaseValue {
            customer_id: format!("cus_{customer}"),
            arm,
            currency: "USD".into(),
            value,
            purchased_at: at,
        }
    }

    #[test]
    fn no_holdout_no_comparison() {
        assert!(compare(&[purchase(1, Arm::Offers, 100, 0)], 0, 0).is_none());
    }

    #[test]
    fn offers_that_add_money_are_said_to_and_refunds_count_against_them() {
        let mut purchases = Vec::new();
        // 200 customers shown offers: every fourth takes a 40.00 upsell; 100 held out, one in
        // ten of whom has their 30.00 order refunded (-3000).
        for c in 0..200 {
            let value = if c % 4 == 0 { 4000 } else { 0 };
            purchases.push(purchase(c, Arm::Offers, value, 0));
        }
        for c in 200..300 {
            let value = if c % 10 == 0 { -3000 } else { 0 };
            purchases.push(purchase(c, Arm::Holdout, value, 0));
        }
        let report = compare(&purchases, 10, 1_000).unwrap();
        let usd = &report.currencies[0];
        assert_eq!((usd.offers.purchases, usd.holdout.purchases), (200, 100));
        assert_eq!(usd.offers.per_purchase, Some(1000.0));
        assert_eq!(usd.holdout.per_purchase, Some(-300.0));
        let added = usd.incremental_per_customer.unwrap();
        assert_eq!(added.estimate, 1300.0);
        assert!(added.low > 0.0, "{added:?}");
        assert!(
            usd.summary
                .starts_with("Offers add money: 13.00 USD per customer"),
            "{}",
            usd.summary
        );
        assert_eq!(usd.provisional_purchases, 0);
    }

    #[test]
    fn a_repeat_buyer_is_one_customer_and_recent_purchases_are_provisional() {
        let mut purchases = Vec::new();
        for c in 0..40 {
            purchases.push(purchase(c, Arm::Offers, 500, 10));
            purchases.push(purchase(c, Arm::Offers, 500, 2_000));
            purchases.push(purchase(100 + c, Arm::Holdout, 0, 10));
        }
        let report = compare(&purchases, 50, 1_000).unwrap();
        let usd = &report.currencies[0];
        assert_eq!((usd.offers.purchases, usd.offers.customers), (80, 40));
        assert_eq!(usd.offers.per_purchase, Some(500.0));
        assert_eq!(usd.offers.per_customer, Some(1000.0));
        assert_eq!(usd.provisional_purchases, 40);
        assert!(usd
            .summary
            .ends_with("40 purchases are within the refund window: provisional."));
        let small = compare(&purchases[..6], 50, 1_000).unwrap();
        assert!(small.currencies[0].summary.starts_with("No answer yet"));
    }
}
