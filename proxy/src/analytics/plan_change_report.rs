//! Plan changes in the report, like offers: per plan change rule, how many subscribers were
//! shown it, how many confirmed it, what became of those changes, and the money they took
//! (net of refunds, the part within the refund window provisional).

use crate::rules::OfferRules;
use crate::storage::plan_change_figures::{ConfirmedChange, ShownCount};
use serde::Serialize;
use std::collections::BTreeMap;
use upsell_wire::Money;

/// One plan change rule's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PlanChangeReport {
    /// The rule's id in the offers file.
    pub change_id: String,
    /// Subscriptions shown the change (once each).
    pub shown: i64,
    /// Changes the subscriber confirmed.
    pub confirmed: i64,
    /// Made, and paid for when there was anything to pay.
    pub succeeded: i64,
    /// Set for the next billing date (and not undone).
    pub scheduled: i64,
    /// Scheduled, then undone by the subscriber before it took effect.
    pub withdrawn: i64,
    /// Not made: the payment failed (`prevent_change`), or the change never reached Dodo.
    pub failed: i64,
    /// Made, but the subscription waits on hold until it is paid (`apply_change`).
    pub on_hold: i64,
    /// Still in flight: being sent, processing, or waiting on the customer's bank (3-D Secure).
    pub in_flight: i64,
    /// What succeeded changes took, less refunds, per currency, in minor units.
    pub revenue: Vec<Money>,
    /// The part of `revenue` taken within the refund window.
    pub provisional_revenue: Vec<Money>,
}

/// Per rule: the offers file's in its order, then any others the data knows.
pub fn reports(
    rules: &OfferRules,
    shown: &[ShownCount],
    changes: &[ConfirmedChange],
    provisional_since: i64,
) -> Vec<PlanChangeReport> {
    let mut ids: Vec<String> = rules.plan_changes.iter().map(|r| r.id.clone()).collect();
    let mut unknown: Vec<String> = shown
        .iter()
        .map(|s| s.rule_id.clone())
        .chain(changes.iter().map(|c| c.rule_id.clone()))
        .filter(|id| !ids.contains(id))
        .collect();
    unknown.sort();
    unknown.dedup();
    ids.extend(unknown);
    ids.into_iter()
        .map(|id| {
            let mine: Vec<&ConfirmedChange> = changes.iter().filter(|c| c.rule_id == id).collect();
            let count = |states: &[&str]| {
                mine.iter()
                    .filter(|c| states.contains(&c.state.as_str()))
                    .count() as i64
            };
            let mut revenue: BTreeMap<&str, i64> = BTreeMap::new();
            let mut provisional: BTreeMap<&str, i64> = BTreeMap::new();
            for change in mine.iter().filter(|c| c.state == "succeeded") {
                *revenue.entry(change.currency.as_str()).or_default() += change.net;
                if change.updated_at > provisional_since {
                    *provisional.entry(change.currency.as_str()).or_default() += change.net;
                }
            }
            let money = |amounts: BTreeMap<&str, i64>| -> Vec<Money> {
                amounts
                    .into_iter()
                    .filter(|(_, amount)| *amount != 0)
                    .map(|(currency, amount)| Money {
                        amount,
                        currency: currency.to_string(),
                    })
                    .collect()
            };
            PlanChangeReport {
                shown: shown
                    .iter()
                    .filter(|s| s.rule_id == id)
                    .map(|s| s.subscriptions)
                    .sum(),
                confirmed: mine.len() as i64,
                succeeded: count(&["succeeded"]),
                scheduled: count(&["scheduled"]),
                withdrawn: count(&["withdrawn"]),
                failed: count(&["failed"]),
                on_hold: count(&["on_hold"]),
                in_flight: count(&["pending", "submitted", "processing", "requires_action"]),
                revenue: money(revenue),
                provisional_revenue: money(provisional),
                change_id: id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(rule: &str, state: &str, net: i64, at: i64) -> ConfirmedChange {
        ConfirmedChange {
            rule_id: rule.into(),
            state: state.into(),
            currency: "USD".into(),
            net,
            updated_at: at,
        }
    }

    #[test]
    fn each_rule_counts_its_changes_and_money() {
        let rules = OfferRules::parse(
            "[[plans]]\nproduct = \"a\"\n[[plans]]\nproduct = \"b\"\n\
             [[plan_changes]]\nid = \"up\"\nfrom = \"a\"\nto = \"b\"\ndirection = \"upgrade\"\n",
        )
        .unwrap();
        let shown = [ShownCount {
            rule_id: "up".into(),
            subscriptions: 4,
        }];
        let changes = [
            change("up", "succeeded", 5000, 10),
            change("up", "succeeded", 2500, 2_000),
            change("up", "failed", 0, 10),
            change("up", "on_hold", 0, 10),
            change("up", "requires_action", 0, 10),
            change("gone", "scheduled", 0, 10),
        ];
        let reports = reports(&rules, &shown, &changes, 1_000);
        let up = &reports[0];
        assert_eq!(
            (
                up.shown,
                up.confirmed,
                up.succeeded,
                up.failed,
                up.on_hold,
                up.in_flight
            ),
            (4, 5, 2, 1, 1, 1)
        );
        assert_eq!(up.revenue[0].amount, 7500);
        assert_eq!(up.provisional_revenue[0].amount, 2500);
        assert_eq!(
            (reports[1].change_id.as_str(), reports[1].scheduled),
            ("gone", 1)
        );
    }
}
