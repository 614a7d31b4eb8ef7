//! The report: per offer and variant, what customers did and what it earned (money paid within
//! the refund window marked provisional), the conversion rate with its 95 % interval per
//! purchase and per customer, each variant against the experiment's control with a test that
//! stays valid however often it is read (`sequential`), what showing offers adds against the
//! holdout (`holdout`), and each offer over time. `GET /v1/report`, `upsell-proxy report` and
//! the report page all show this.

use crate::analytics::amounts::percent;
use crate::analytics::holdout::{self, HoldoutReport};
use crate::analytics::plan_change_report::{self, PlanChangeReport};
use crate::analytics::sequential::{self, MIN_TRIALS};
use crate::analytics::stats::{self, Interval};
use crate::clock;
use crate::rules::{Allocation, OfferRules, NO_EXPERIMENT};
use crate::storage::offer_events::{RevenueRow, Snapshot};
use crate::storage::Storage;
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use upsell_wire::Money;

/// The periods the timeline may use, shortest first; the shortest that keeps it to
/// `MAX_POINTS` points is chosen.
const PERIODS: [i64; 7] = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400];
const MAX_POINTS: i64 = 60;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The length of one period of the timelines, in seconds.
    pub period_seconds: i64,
    /// Money paid within this many days is provisional: it may still be refunded.
    pub refund_window_days: u32,
    /// How purchases and customers are counted, in words.
    pub counting: &'static str,
    /// The offers of the offers file in its order, then any others that have data.
    pub offers: Vec<OfferReport>,
    /// What showing offers adds against the holdout; `None` without a holdout.
    pub holdout: Option<HoldoutReport>,
    /// Plan changes, per rule: shown, confirmed, what became of them, and their money.
    pub plan_changes: Vec<PlanChangeReport>,
}

/// What `Report::counting` says.
pub const COUNTING: &str = "Counts are of purchases: a customer who buys twice and sees an \
offer twice counts twice. Customers counts each customer once, whatever they bought; its \
conversion rate is the share of customers who saw the offer and paid for it at least once.";

#[derive(Debug, Clone, Serialize)]
pub struct OfferReport {
    pub offer_id: String,
    /// The experiment's name, when the offer has variants.
    pub experiment: Option<String>,
    /// How its traffic is split: `fixed` by the weights, or `bandit` (moved toward the variant
    /// that earns more per impression); `None` without an experiment.
    pub allocation: Option<&'static str>,
    /// Its variants, the control first; one named `default` when there is no experiment.
    pub variants: Vec<VariantReport>,
    /// The offer (all variants) period by period, oldest first.
    pub timeline: Vec<TimelinePoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantReport {
    pub variant_id: String,
    /// Its share of the traffic in the offers file; `None` for a variant no longer there.
    pub weight: Option<u32>,
    /// The variant the others are compared with: the experiment's first.
    pub is_control: bool,
    /// Purchases whose customer saw the offer (reported by the widget when it was on screen,
    /// or implied by an answer).
    pub impressions: i64,
    /// Purchases with an item of the offer accepted (charged or not).
    pub accepts: i64,
    /// Purchases whose customer said "No thanks".
    pub declines: i64,
    /// Purchases with an accepted item whose charge failed.
    pub failures: i64,
    /// Purchases that saw the offer and let its window close unanswered.
    pub expiries: i64,
    /// Purchases with a payment for the offer confirmed by Dodo: the conversions.
    pub conversions: i64,
    /// Conversions per impression, with its 95 % interval; `None` before any impression.
    pub conversion_rate: Option<Interval>,
    /// Customers who saw the offer (once each, however many purchases).
    pub customers: i64,
    /// Customers who paid for the offer at least once.
    pub converted_customers: i64,
    /// Converted customers per customer, with its 95 % interval.
    pub customer_conversion_rate: Option<Interval>,
    /// Confirmed payments minus refunds, per currency, in minor units.
    pub revenue: Vec<Money>,
    /// The part of `revenue` paid within the refund window: it may still be refunded.
    pub provisional_revenue: Vec<Money>,
    /// Revenue per impression, per currency, rounded to the minor unit.
    pub revenue_per_impression: Vec<Money>,
    /// Against the control, for the other variants of an experiment.
    pub versus_control: Option<Verdict>,
}

/// A variant against the control, by the mixture sequential probability ratio test: valid at
/// whatever moment it is read, however often it was read before.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// This variant's conversion rate minus the control's, with its 95 % confidence sequence
    /// (it holds the true difference at every read at once, with probability 95 %).
    pub difference: Option<Interval>,
    /// The always-valid p-value; `None` before both have `MIN_TRIALS` impressions.
    pub p_value: Option<f64>,
    /// `p_value` below 0.05: the confidence sequence excludes 0.
    pub significant: bool,
    /// The same in words.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    /// Start of the period (RFC 3339).
    pub start: String,
    pub impressions: i64,
    pub conversions: i64,
    /// Revenue confirmed in the period, minus refunds, per currency.
    pub revenue: Vec<Money>,
}

/// Builds the report from what the database holds and what the offers file says.
pub async fn build(
    storage: &Storage,
    rules: &OfferRules,
    now: OffsetDateTime,
) -> Result<Report, sqlx::Error> {
    let snapshot = storage
        .snapshot(
            now.unix_timestamp(),
            provisional_since(rules, now),
            period_for,
        )
        .await?;
    Ok(assemble(rules, &snapshot, now))
}

/// Money paid after this moment (Unix seconds) is within the refund window.
fn provisional_since(rules: &OfferRules, now: OffsetDateTime) -> i64 {
    now.unix_timestamp() - i64::from(rules.refund_window_days) * 86_400
}

fn period_for(span: Option<(i64, i64)>) -> i64 {
    let length = span.map_or(0, |(first, last)| last - first);
    PERIODS
        .into_iter()
        .find(|period| length / period < MAX_POINTS)
        .unwrap_or(PERIODS[PERIODS.len() - 1])
}

fn assemble(rules: &OfferRules, facts: &Snapshot, now: OffsetDateTime) -> Report {
    let period = facts.period;
    // Offers in the file's order, then those only the data knows (since removed).
    let offer_ids = then_unknown(
        rules.offers.iter().map(|o| o.id.clone()).collect(),
        facts.counts.iter().map(|c| c.offer_id.clone()),
    );

    let offers = offer_ids
        .into_iter()
        .map(|offer_id| {
            let rule = rules.offer(&offer_id);
            // Its variants in the file's order, then those only the data knows.
            let known = match rule {
                Some(rule) if !rule.variants.is_empty() => {
                    rule.variants.iter().map(|v| v.id.clone()).collect()
                }
                Some(_) => vec![NO_EXPERIMENT.to_string()],
                None => Vec::new(),
            };
            let variant_ids = then_unknown(
                known,
                facts
                    .counts
                    .iter()
                    .filter(|c| c.offer_id == offer_id)
                    .map(|c| c.variant_id.clone()),
            );
            let mut reports: Vec<VariantReport> = variant_ids
                .into_iter()
                .map(|variant_id| {
                    let weight = rule
                        .and_then(|r| r.variants.iter().find(|v| v.id == variant_id))
                        .map(|v| v.weight);
                    variant_report(facts, &offer_id, variant_id, weight)
                })
                .collect();
            let experiment = rule.and_then(|r| r.experiment_name()).map(String::from);
            if experiment.is_some() {
                compare_with_control(&mut reports);
            }
            let allocation = experiment.as_ref().and(rule).map(|r| match r.allocation {
                Allocation::Fixed => "fixed",
                Allocation::Bandit => "bandit",
            });
            OfferReport {
                allocation,
                timeline: timeline(facts, &offer_id, period),
                offer_id,
                experiment,
                variants: reports,
            }
        })
        .collect();
    Report {
        generated_at: clock::rfc3339(now),
        period_seconds: period,
        refund_window_days: rules.refund_window_days,
        counting: COUNTING,
        offers,
        holdout: holdout::compare(
            &facts.purchases,
            rules.holdout_percent,
            provisional_since(rules, now),
        ),
        plan_changes: plan_change_report::reports(
            rules,
            &facts.plan_changes_shown,
            &facts.plan_changes,
            provisional_since(rules, now),
        ),
    }
}

/// `known`, then the other ids `seen`, sorted, each once.
fn then_unknown(mut known: Vec<String>, seen: impl Iterator<Item = String>) -> Vec<String> {
    let mut unknown: Vec<String> = seen.filter(|id| !known.contains(id)).collect();
    unknown.sort();
    unknown.dedup();
    known.extend(unknown);
    known
}

fn variant_report(
    facts: &Snapshot,
    offer_id: &str,
    variant_id: String,
    weight: Option<u32>,
) -> VariantReport {
    // (purchases, customers) with a fact of `kind`.
    let count = |kind: &str| {
        facts
            .counts
            .iter()
            .filter(|c| c.offer_id == offer_id && c.variant_id == variant_id && c.kind == kind)
            .fold((0i64, 0i64), |(p, c), row| {
                (p + row.purchases, c + row.customers)
            })
    };
    let (impressions, customers) = count("impression");
    let (conversions, converted_customers) = count("paid");
    let money = |amount: fn(&RevenueRow) -> i64| -> Vec<Money> {
        facts
            .revenue
            .iter()
            .filter(|r| r.offer_id == offer_id && r.variant_id == variant_id)
            .map(|r| Money {
                amount: amount(r),
                currency: r.currency.clone(),
            })
            .collect()
    };
    let revenue = money(|r| r.amount);
    let provisional_revenue: Vec<Money> = money(|r| r.provisional)
        .into_iter()
        .filter(|m| m.amount != 0)
        .collect();
    let revenue_per_impression = if impressions > 0 {
        revenue
            .iter()
            .map(|m| Money {
                amount: (m.amount as f64 / impressions as f64).round() as i64,
                currency: m.currency.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    VariantReport {
        conversion_rate: stats::wilson(conversions.max(0) as u64, impressions.max(0) as u64),
        customer_conversion_rate: stats::wilson(
            converted_customers.max(0) as u64,
            customers.max(0) as u64,
        ),
        customers,
        converted_customers,
        provisional_revenue,
        is_control: false,
        weight,
        impressions,
        accepts: count("accept").0,
        declines: count("decline").0,
        failures: count("failure").0,
        expiries: count("expiry").0,
        conversions,
        revenue,
        revenue_per_impression,
        versus_control: None,
        variant_id,
    }
}

/// Marks the first variant as the control and judges each other one against it.
fn compare_with_control(variants: &mut [VariantReport]) {
    let Some((control, others)) = variants.split_first_mut() else {
        return;
    };
    control.is_control = true;
    for variant in others {
        variant.versus_control = Some(judge(control, variant));
    }
}

fn judge(control: &VariantReport, variant: &VariantReport) -> Verdict {
    let counts = |v: &VariantReport| (v.conversions.max(0) as u64, v.impressions.max(0) as u64);
    let test = sequential::msprt(counts(control), counts(variant));
    let (a, b) = (&control.variant_id, &variant.variant_id);
    let Some(test) = test else {
        return Verdict {
            difference: None,
            p_value: None,
            significant: false,
            summary: format!(
                "No verdict yet: {b} has {} and {a} {}; the test starts at {MIN_TRIALS} impressions on each.",
                impressions(variant.impressions),
                impressions(control.impressions)
            ),
        };
    };
    let p = test.always_valid_p;
    let rate = |v: &VariantReport| v.conversion_rate.map_or(0.0, |r| r.estimate);
    let summary = if test.significant {
        let direction = if rate(variant) > rate(control) {
            "better"
        } else {
            "worse"
        };
        format!(
            "Significant: {b} converts {direction} than {a} ({} against {}, always-valid p {}); safe to act on now, however often the report was read.",
            percent(rate(variant)),
            percent(rate(control)),
            p_value(p)
        )
    } else {
        format!(
            "Not yet significant (always-valid p {}): the difference, {} points (from {} to {}), may be chance; keep the experiment running.",
            p_value(p),
            points(test.difference.estimate),
            points(test.difference.low),
            points(test.difference.high)
        )
    };
    Verdict {
        difference: Some(test.difference),
        p_value: Some(p),
        significant: test.significant,
        summary,
    }
}

/// A difference of rates in percentage points, signed: `+2.5`, `-0.3`.
fn points(difference: f64) -> String {
    format!("{:+.1}", difference * 100.0)
}

fn impressions(n: i64) -> String {
    if n == 1 {
        "1 impression".into()
    } else {
        format!("{n} impressions")
    }
}

/// A p-value with its relation: `= 0.024`, `< 0.001`.
fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("= {p:.3}")
    }
}

/// The offer's points, one per period from the first fact of any offer to the last, so that
/// every offer's chart covers the same time and a quiet period shows as zero.
fn timeline(facts: &Snapshot, offer_id: &str, period: i64) -> Vec<TimelinePoint> {
    let Some((first, last)) = facts.span else {
        return Vec::new();
    };
    let mut points: BTreeMap<i64, (i64, i64, BTreeMap<String, i64>)> = BTreeMap::new();
    let mut start = first / period * period;
    while start <= last {
        points.insert(start, (0, 0, BTreeMap::new()));
        start += period;
    }
    for row in facts.timeline.iter().filter(|r| r.offer_id == offer_id) {
        let point = points.entry(row.start).or_default();
        match row.kind.as_str() {
            "impression" => point.0 += row.purchases,
            "paid" => point.1 += row.purchases,
            _ => {}
        }
        if let (Some(currency), Some(amount)) = (&row.currency, row.amount) {
            *point.2.entry(currency.clone()).or_default() += amount;
        }
    }
    points
        .into_iter()
        .map(
            |(start, (impressions, conversions, revenue))| TimelinePoint {
                start: OffsetDateTime::from_unix_timestamp(start)
                    .map(clock::rfc3339)
                    .unwrap_or_default(),
                impressions,
                conversions,
                revenue: revenue
                    .into_iter()
                    .map(|(currency, amount)| Money { amount, currency })
                    .collect(),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::offer_events::{KindCount, RevenueRow};

    const RULES: &str = r#"
        [[offers]]
        id = "pro"
        after = ["basic"]
        product = "prod_pro"
        [[offers.variants]]
        id = "plain"
        weight = 1
        [[offers.variants]]
        id = "best-value"
        weight = 1
        badge = "best_value"
    "#;

    fn count(variant: &str, kind: &str, purchases: i64) -> KindCount {
        KindCount {
            offer_id: "pro".into(),
            variant_id: variant.into(),
            kind: kind.into(),
            purchases,
            // One purchase each, but for the repeat buyers of `report_with_repeat_buyers`.
            customers: purchases,
        }
    }

    fn report(counts: Vec<KindCount>) -> Report {
        let rules = OfferRules::parse(RULES).unwrap();
        let facts = Snapshot {
            counts,
            revenue: vec![RevenueRow {
                offer_id: "pro".into(),
                variant_id: "best-value".into(),
                currency: "USD".into(),
                amount: 12_500,
                provisional: 2_500,
            }],
            timeline: Vec::new(),
            purchases: Vec::new(),
            plan_changes_shown: Vec::new(),
            plan_changes: Vec::new(),
            span: Some((0, 600)),
            period: 60,
        };
        assemble(&rules, &facts, OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn each_variant_is_judged_against_the_control() {
        let report = report(vec![
            count("plain", "impression", 3000),
            count("plain", "paid", 600),
            count("best-value", "impression", 3000),
            count("best-value", "paid", 750),
            count("best-value", "expiry", 7),
        ]);
        let offer = &report.offers[0];
        assert_eq!(offer.experiment.as_deref(), Some("pro"));
        let [plain, best] = &offer.variants[..] else {
            panic!("two variants: {:?}", offer.variants)
        };
        assert!(plain.is_control && plain.versus_control.is_none());
        assert_eq!(best.expiries, 7);
        assert_eq!(
            best.revenue_per_impression,
            vec![Money {
                amount: 4,
                currency: "USD".into()
            }]
        );
        let verdict = best.versus_control.as_ref().unwrap();
        assert!(verdict.significant, "{verdict:?}");
        assert_eq!(
            verdict.summary,
            "Significant: best-value converts better than plain (25.0 % against 20.0 %, always-valid p < 0.001); safe to act on now, however often the report was read."
        );
        assert_eq!(
            best.provisional_revenue,
            vec![Money {
                amount: 2_500,
                currency: "USD".into()
            }]
        );
        assert_eq!((best.customers, best.converted_customers), (3000, 750));
        // Every period of the span is there, quiet ones as zero.
        assert_eq!(offer.timeline.len(), 11);
    }

    #[test]
    fn a_small_or_chance_difference_is_said_to_be_not_yet_significant() {
        let small = report(vec![
            count("plain", "impression", 25),
            count("plain", "paid", 1),
            count("best-value", "impression", 25),
            count("best-value", "paid", 15),
        ]);
        let verdict = small.offers[0].variants[1].versus_control.clone().unwrap();
        assert!(!verdict.significant && verdict.p_value.is_none());
        assert_eq!(
            verdict.summary,
            "No verdict yet: best-value has 25 impressions and plain 25 impressions; the test starts at 30 impressions on each."
        );

        // What the fixed-horizon test called significant (p = 0.007), read as often as a
        // merchant reads a report, is not yet evidence.
        let peeked = report(vec![
            count("plain", "impression", 1000),
            count("plain", "paid", 200),
            count("best-value", "impression", 1000),
            count("best-value", "paid", 250),
        ]);
        let verdict = peeked.offers[0].variants[1].versus_control.clone().unwrap();
        assert!(!verdict.significant);
        assert!(
            (verdict.p_value.unwrap() - 0.1414).abs() < 1e-3,
            "{verdict:?}"
        );

        let chance = report(vec![
            count("plain", "impression", 100),
            count("plain", "paid", 10),
            count("best-value", "impression", 100),
            count("best-value", "paid", 12),
        ]);
        let verdict = chance.offers[0].variants[1].versus_control.clone().unwrap();
        assert!(!verdict.significant);
        assert_eq!(
            verdict.summary,
            "Not yet significant (always-valid p = 1.000): the difference, +2.0 points (from -17.9 to +21.9), may be chance; keep the experiment running."
        );

        let empty = report(Vec::new());
        let verdict = empty.offers[0].variants[1].versus_control.clone().unwrap();
        assert!(verdict.summary.starts_with("No verdict yet"));
        assert_eq!(empty.offers[0].variants[0].conversion_rate, None);
    }

    #[test]
    fn the_period_keeps_the_timeline_short() {
        assert_eq!(period_for(None), 60);
        assert_eq!(period_for(Some((0, 59 * 60))), 60);
        assert_eq!(period_for(Some((0, 3 * 3600))), 300);
        assert_eq!(period_for(Some((0, 30 * 86_400))), 86_400);
        assert_eq!(period_for(Some((0, 3650 * 86_400))), 7 * 86_400);
    }
}
