//! Who is held out: a stable share of customers (the offers file's `holdout_percent`) who are
//! shown no offer after a purchase, so that the report can compare what purchases come to with
//! and without offers (`analytics::holdout`). By customer, not by purchase: a customer is in or
//! out for every purchase, as with an experiment's variants, and raising the share only adds
//! customers to the holdout (a customer's point below the old share is below the new one).

use super::experiment;
use crate::rules::OfferRules;
use crate::storage::offered_purchases::Arm;

/// The name the holdout's assignment hashes with the customer id.
const HOLDOUT: &str = "holdout";

/// The side of the holdout the customer is on.
pub fn arm(rules: &OfferRules, customer_id: &str) -> Arm {
    let share = rules.holdout_percent.min(100);
    if share == 0 {
        return Arm::Offers;
    }
    match experiment::pick(HOLDOUT, customer_id, &[share, 100 - share]) {
        Some(0) => Arm::Holdout,
        _ => Arm::Offers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(percent: u32) -> OfferRules {
        OfferRules::parse(&format!("holdout_percent = {percent}\n")).unwrap()
    }

    #[test]
    fn the_share_is_held_out_and_a_larger_share_only_adds_customers() {
        let customers: Vec<String> = (0..10_000).map(|i| format!("cus_{i:06}")).collect();
        let held = |percent| -> Vec<&String> {
            let rules = rules(percent);
            customers
                .iter()
                .filter(|c| arm(&rules, c) == Arm::Holdout)
                .collect()
        };
        assert!(held(0).is_empty());
        let ten = held(10);
        assert!((900..=1100).contains(&ten.len()), "{}", ten.len());
        let twenty = held(20);
        assert!((1900..=2100).contains(&twenty.len()), "{}", twenty.len());
        assert!(ten.iter().all(|c| twenty.contains(c)));
        assert!(OfferRules::parse("holdout_percent = 51\n").is_err());
    }
}
