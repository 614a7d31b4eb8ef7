//! After the quiet period: the proxy's word against the sandbox's ledger, which is the ground
//! truth of what was charged.
//!
//! 1. No offer item (per purchase), accept or plan change was charged more than once.
//! 2. Every charge of ours in the ledger is known to the proxy, under the right accept, checkout
//!    or change, for the amount its token sealed (or its customer confirmed).
//! 3. Every accept and change the proxy reports final agrees with the ledger (succeeded ⇔
//!    charged), and none is left in flight after the grace period (a 3-D Secure page the
//!    customer walked away from is the customer's to finish: it must agree with the ledger too).
//! 4. The report's conversions and revenue (net of refunds) are what the ledger implies.
//! 5. Every answer was 2xx or a JSON refusal with a `code`, and no instance panicked.

use crate::journal::Record;
use crate::Soak;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One invariant's result: its name and what broke it.
pub struct Verdict {
    pub name: &'static str,
    pub checked: usize,
    pub violations: Vec<String>,
}

/// A charge in the ledger that is the proxy's doing.
struct Charge<'a> {
    json: &'a Value,
    status: &'a str,
    amount: i64,
}

impl<'a> Charge<'a> {
    fn of(json: &'a Value) -> Self {
        Charge {
            json,
            status: json["status"].as_str().unwrap_or_default(),
            amount: json["total_amount"].as_i64().unwrap_or_default(),
        }
    }
    fn meta(&self, key: &str) -> Option<&'a str> {
        self.json["metadata"][key].as_str()
    }
    /// Money taken, or that may still be.
    fn holds_money(&self) -> bool {
        matches!(
            self.status,
            "succeeded" | "processing" | "requires_customer_action"
        )
    }
    fn quantity(&self) -> i64 {
        self.json["product_cart"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["quantity"].as_i64())
            .sum()
    }
}

/// Waits (up to `patience`) for every accept and change to settle, asking the proxy as the
/// widget does (which also reconciles them), and returns their last statuses: those the soak
/// was answered with, and those only the ledger names (their answer was cut off by a kill).
pub async fn settle(soak: &Soak, patience: Duration) -> anyhow::Result<BTreeMap<String, Value>> {
    let ledger = soak.sandbox().ledger().await?;
    let named_by_ledger = |key: &str| -> Vec<String> {
        ledger["charges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["metadata"][key].as_str().map(String::from))
            .collect()
    };
    let (mut accepts, mut changes): (BTreeSet<String>, BTreeSet<String>) = soak.journal.with(|r| {
        (
            r.accepts.keys().cloned().collect(),
            r.changes.keys().cloned().collect(),
        )
    });
    accepts.extend(named_by_ledger("upsell_accept_id"));
    changes.extend(named_by_ledger("upsell_plan_change_ref"));
    let paths: Vec<String> = accepts
        .iter()
        .map(|id| format!("/v1/accepts/{id}"))
        .chain(changes.iter().map(|id| format!("/v1/plan-changes/{id}")))
        .collect();
    let mut last = BTreeMap::new();
    let deadline = Instant::now() + patience;
    loop {
        let mut in_flight = 0;
        for path in &paths {
            if last
                .get(path)
                .is_some_and(|v: &Value| is_settled(v["status"].as_str()))
            {
                continue;
            }
            if let Ok(response) = soak
                .http()
                .get(format!("{}{path}", soak.stack.instances[0].url))
                .send()
                .await
            {
                if let Ok(value) = response.json::<Value>().await {
                    if !is_settled(value["status"].as_str()) {
                        in_flight += 1;
                    }
                    last.insert(path.clone(), value);
                    continue;
                }
            }
            in_flight += 1;
        }
        if in_flight == 0 || Instant::now() > deadline {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Final, or waiting on the customer (3-D Secure), which only the customer can end.
fn is_settled(status: Option<&str>) -> bool {
    matches!(
        status,
        Some("succeeded" | "failed" | "scheduled" | "on_hold" | "requires_action")
    )
}

pub fn check(
    record: &Record,
    ledger: &Value,
    statuses: &BTreeMap<String, Value>,
    report: &Value,
    panics: Vec<String>,
) -> Vec<Verdict> {
    let charges: Vec<Charge> = ledger["charges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Charge::of)
        .filter(|c| {
            c.meta("upsell_offer_id").is_some() || c.meta("upsell_plan_change_ref").is_some()
        })
        .collect();
    vec![
        charged_at_most_once(&charges, record),
        every_charge_known(&charges, record, statuses),
        statuses_agree(&charges, record, statuses, ledger),
        report_agrees(&charges, record, ledger, report),
        Verdict {
            name: "5. every answer 2xx or a JSON refusal; no panic",
            checked: record.answers.values().sum::<u64>() as usize,
            violations: record.bad_answers.iter().cloned().chain(panics).collect(),
        },
    ]
}

fn charged_at_most_once(charges: &[Charge], record: &Record) -> Verdict {
    let mut by_item: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut by_accept: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_change: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_subscription: BTreeMap<&str, usize> = BTreeMap::new();
    for charge in charges {
        if let (Some(purchase), Some(item)) = (
            charge.meta("upsell_original_payment_id"),
            charge.meta("upsell_offer_id"),
        ) {
            if charge.holds_money() {
                *by_item.entry((purchase, item)).or_default() += 1;
            }
        }
        if let Some(accept) = charge.meta("upsell_accept_id") {
            *by_accept.entry(accept).or_default() += 1;
        }
        if let Some(change) = charge.meta("upsell_plan_change_ref") {
            *by_change.entry(change).or_default() += 1;
            if charge.holds_money() {
                let subscription = charge.json["subscription_id"].as_str().unwrap_or_default();
                *by_subscription.entry(subscription).or_default() += 1;
            }
        }
    }
    let mut violations = Vec::new();
    for ((purchase, item), n) in &by_item {
        if *n > 1 {
            violations.push(format!("{item} after {purchase}: charged {n} times"));
        }
    }
    for (accept, n) in &by_accept {
        if *n > 1 {
            violations.push(format!("accept {accept}: sent to Dodo {n} times"));
        }
    }
    for (change, n) in &by_change {
        if *n > 1 {
            violations.push(format!("plan change {change}: sent to Dodo {n} times"));
        }
    }
    // Each subscription is changed at most once by the soak (whatever the number of clicks).
    for (subscription, n) in &by_subscription {
        if *n > 1 {
            violations.push(format!("{subscription}: charged for {n} plan changes"));
        }
    }
    let _ = record;
    Verdict {
        name: "1. no item, accept or plan change charged twice",
        checked: charges.len(),
        violations,
    }
}

fn every_charge_known(
    charges: &[Charge],
    record: &Record,
    statuses: &BTreeMap<String, Value>,
) -> Verdict {
    let mut violations = Vec::new();
    for charge in charges {
        let payment = charge.json["payment_id"].as_str().unwrap_or_default();
        if let Some(accept) = charge.meta("upsell_accept_id") {
            let known = statuses
                .get(&format!("/v1/accepts/{accept}"))
                .filter(|s| s["accept_id"] == accept);
            let sealed = charge
                .meta("upsell_original_payment_id")
                .zip(charge.meta("upsell_offer_id"))
                .and_then(|(p, i)| {
                    record
                        .sealed_unit_price
                        .get(&(p.to_string(), i.to_string()))
                });
            match (known, record.accepts.get(accept)) {
                (Some(status), _) if status["amount"]["amount"].as_i64() != Some(charge.amount) => {
                    violations.push(format!(
                        "{payment}: charged {} but the proxy's accept {accept} says {}",
                        charge.amount, status["amount"]
                    ))
                }
                (None, _) => {
                    violations.push(format!("{payment}: accept {accept} unknown to the proxy"))
                }
                _ => {}
            }
            match sealed {
                Some(unit) if unit * charge.quantity() != charge.amount => {
                    violations.push(format!(
                        "{payment}: charged {} for {} × {unit} sealed",
                        charge.amount,
                        charge.quantity()
                    ))
                }
                None => violations.push(format!(
                    "{payment}: charged for an offer item no token sealed"
                )),
                _ => {}
            }
        } else if let Some(change) = charge.meta("upsell_plan_change_ref") {
            match statuses.get(&format!("/v1/plan-changes/{change}")) {
                Some(status) if status["amount"]["amount"].as_i64() != Some(charge.amount) => {
                    violations.push(format!(
                        "{payment}: charged {} for plan change {change} confirmed at {}",
                        charge.amount, status["amount"]
                    ))
                }
                Some(_) => {}
                None => violations.push(format!(
                    "{payment}: plan change {change} unknown to the proxy"
                )),
            }
        } else {
            // A standard checkout opened for an offer.
            let session = charge.json["checkout_session_id"]
                .as_str()
                .unwrap_or_default();
            match record.checkouts.get(session) {
                Some(seen) if seen.amount != charge.amount => violations.push(format!(
                    "{payment}: checkout {session} charged {} for {} sealed",
                    charge.amount, seen.amount
                )),
                Some(_) => {}
                None => violations.push(format!(
                    "{payment}: checkout {session} not opened by the proxy"
                )),
            }
        }
    }
    Verdict {
        name: "2. every charge known to the proxy, for the sealed amount",
        checked: charges.len(),
        violations,
    }
}

fn statuses_agree(
    charges: &[Charge],
    record: &Record,
    statuses: &BTreeMap<String, Value>,
    ledger: &Value,
) -> Verdict {
    let mut violations = Vec::new();
    let ledger_states = |key: &str, id: &str| -> BTreeSet<&str> {
        charges
            .iter()
            .filter(|c| c.meta(key) == Some(id))
            .map(|c| c.status)
            .collect()
    };
    // Every accept: those the soak was answered with, and those only the ledger names.
    let accepts: BTreeSet<&str> = record
        .accepts
        .keys()
        .map(String::as_str)
        .chain(
            statuses
                .keys()
                .filter_map(|p| p.strip_prefix("/v1/accepts/")),
        )
        .collect();
    for accept in accepts {
        let status = statuses
            .get(&format!("/v1/accepts/{accept}"))
            .and_then(|s| s["status"].as_str())
            .unwrap_or("unknown");
        let states = ledger_states("upsell_accept_id", accept);
        let agrees = match status {
            "succeeded" => states.contains("succeeded"),
            "failed" => !states
                .iter()
                .any(|s| matches!(*s, "succeeded" | "processing")),
            "requires_action" => states.contains("requires_customer_action"),
            _ => false,
        };
        if !agrees {
            violations.push(format!(
                "accept {accept}: proxy says {status}, ledger has {states:?}"
            ));
        }
    }
    let subscriptions: BTreeMap<&str, &str> = ledger["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s["subscription_id"].as_str()?, s["product_id"].as_str()?)))
        .collect();
    for (change, seen) in &record.changes {
        let status = statuses
            .get(&format!("/v1/plan-changes/{change}"))
            .and_then(|s| s["status"].as_str())
            .unwrap_or("unknown");
        let states = ledger_states("upsell_plan_change_ref", change);
        let plan = subscriptions.get(seen.subscription_id.as_str()).copied();
        let charged = states.contains("succeeded");
        let agrees = match status {
            "succeeded" => {
                plan == Some(seen.to_product.as_str()) && (charged || seen.confirmed_amount == 0)
            }
            "failed" => !charged && plan != Some(seen.to_product.as_str()),
            "scheduled" => states.is_empty(),
            "on_hold" => !charged,
            "requires_action" => states.contains("requires_customer_action"),
            _ => false,
        };
        if !agrees {
            violations.push(format!(
                "plan change {change}: proxy says {status}, ledger has {states:?} and plan {plan:?}"
            ));
        }
    }
    Verdict {
        name: "3. final statuses agree with the ledger; none left in flight",
        checked: statuses.len(),
        violations,
    }
}

/// Per offer: (conversions, revenue in USD cents).
type Figures = BTreeMap<String, (i64, i64)>;

/// What the ledger says the report must say.
pub fn implied_by_ledger(ledger: &Value, record: &Record) -> Figures {
    let refunds: BTreeMap<&str, i64> = ledger["refunds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["payment_id"].as_str()?, r["amount"].as_i64()?)))
        .fold(BTreeMap::new(), |mut all, (payment, amount)| {
            *all.entry(payment).or_default() += amount;
            all
        });
    let mut purchases: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
    for charge in ledger["charges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Charge::of)
    {
        let (Some(item), Some(purchase)) = (
            charge.meta("upsell_offer_id"),
            charge.meta("upsell_original_payment_id"),
        ) else {
            continue;
        };
        if charge.status != "succeeded" {
            continue;
        }
        let offer = record
            .offer_of_item
            .get(item)
            .cloned()
            .unwrap_or_else(|| item.to_string());
        let payment = charge.json["payment_id"].as_str().unwrap_or_default();
        purchases.entry(offer.clone()).or_default().insert(purchase);
        *revenue.entry(offer).or_default() +=
            charge.amount - refunds.get(payment).copied().unwrap_or(0);
    }
    purchases
        .into_iter()
        .map(|(offer, bought)| {
            let money = revenue.get(&offer).copied().unwrap_or(0);
            (offer, (bought.len() as i64, money))
        })
        .collect()
}

/// What the report says.
pub fn reported(report: &Value) -> Figures {
    let mut figures = Figures::new();
    for offer in report["offers"].as_array().into_iter().flatten() {
        let Some(id) = offer["offer_id"].as_str() else {
            continue;
        };
        let (mut conversions, mut revenue) = (0, 0);
        for variant in offer["variants"].as_array().into_iter().flatten() {
            conversions += variant["conversions"].as_i64().unwrap_or(0);
            revenue += variant["revenue"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["amount"].as_i64())
                .sum::<i64>();
        }
        if conversions != 0 || revenue != 0 {
            figures.insert(id.to_string(), (conversions, revenue));
        }
    }
    figures
}

fn report_agrees(charges: &[Charge], record: &Record, ledger: &Value, report: &Value) -> Verdict {
    let implied = implied_by_ledger(ledger, record);
    let said = reported(report);
    let mut violations = Vec::new();
    for offer in implied.keys().chain(said.keys()).collect::<BTreeSet<_>>() {
        let (want, got) = (implied.get(offer), said.get(offer));
        if want != got {
            violations.push(format!(
                "offer {offer}: ledger implies (conversions, revenue) {want:?}, report says {got:?}"
            ));
        }
    }
    Verdict {
        name: "4. report's conversions and revenue net of refunds = ledger",
        checked: charges.len(),
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::AcceptSeen;
    use serde_json::json;

    fn charge(payment: &str, accept: &str, status: &str, amount: i64) -> Value {
        json!({ "payment_id": payment, "status": status, "total_amount": amount,
                "checkout_session_id": "cks_1",
                "product_cart": [{ "product_id": "prod_pro", "quantity": 1 }],
                "metadata": { "upsell_accept_id": accept, "upsell_offer_id": "pro-upgrade",
                              "upsell_original_payment_id": "pay_purchase" } })
    }

    fn record() -> Record {
        let mut record = Record::default();
        record
            .sealed_unit_price
            .insert(("pay_purchase".into(), "pro-upgrade".into()), 5000);
        record
            .offer_of_item
            .insert("pro-upgrade".into(), "pro-upgrade".into());
        record.accepts.insert(
            "acc_1".into(),
            AcceptSeen {
                original_payment_id: "pay_purchase".into(),
                item_id: "pro-upgrade".into(),
                amount: 5000,
            },
        );
        record
    }

    fn statuses(status: &str, amount: i64) -> BTreeMap<String, Value> {
        BTreeMap::from([(
            "/v1/accepts/acc_1".to_string(),
            json!({ "accept_id": "acc_1", "status": status, "amount": { "amount": amount, "currency": "USD" } }),
        )])
    }

    fn report(conversions: i64, revenue: i64) -> Value {
        json!({ "offers": [{ "offer_id": "pro-upgrade", "variants": [
            { "conversions": conversions, "revenue": [{ "amount": revenue, "currency": "USD" }] }] }] })
    }

    fn violations(
        ledger: &Value,
        statuses: &BTreeMap<String, Value>,
        report: &Value,
    ) -> Vec<usize> {
        check(&record(), ledger, statuses, report, Vec::new())
            .iter()
            .map(|v| v.violations.len())
            .collect()
    }

    #[test]
    fn one_charge_told_right_everywhere_breaks_nothing() {
        let ledger = json!({ "charges": [charge("pay_1", "acc_1", "succeeded", 5000)],
                             "refunds": [{ "payment_id": "pay_1", "amount": 1000 }] });
        assert_eq!(
            violations(&ledger, &statuses("succeeded", 5000), &report(1, 4000)),
            [0; 5]
        );
    }

    #[test]
    fn each_invariant_catches_its_lie() {
        let twice = json!({ "charges": [charge("pay_1", "acc_1", "succeeded", 5000),
                                        charge("pay_2", "acc_1", "succeeded", 5000)] });
        assert!(violations(&twice, &statuses("succeeded", 5000), &report(1, 10000))[0] > 0);

        let overcharged = json!({ "charges": [charge("pay_1", "acc_1", "succeeded", 6000)] });
        assert!(violations(&overcharged, &statuses("succeeded", 5000), &report(1, 6000))[1] > 0);

        let charged = json!({ "charges": [charge("pay_1", "acc_1", "succeeded", 5000)] });
        assert!(violations(&charged, &statuses("failed", 5000), &report(1, 5000))[2] > 0);
        assert!(violations(&charged, &statuses("processing", 5000), &report(1, 5000))[2] > 0);

        let refunded = json!({ "charges": [charge("pay_1", "acc_1", "succeeded", 5000)],
                               "refunds": [{ "payment_id": "pay_1", "amount": 5000 }] });
        assert!(violations(&refunded, &statuses("succeeded", 5000), &report(1, 5000))[3] > 0);
    }
}
