//! The report: per offer and variant, what customers did and what it earned, the conversion
//! rate with its 95 % interval, each variant against the experiment's control, and each offer
//! over time. `GET /v1/report`, `upsell-proxy report` and the report page all show this.

use crate::analytics::stats::{self, Interval, ALPHA};
use crate::clock;
use crate::rules::{OfferRules, NO_EXPERIMENT};
use crate::storage::offer_events::Snapshot;
use crate::storage::Storage;
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use upsell_wire::Money;

/// Fewer impressions than this on either side, and no difference is called significant:
/// early results swing widely, and a test read every day needs the margin.
pub const MIN_IMPRESSIONS: i64 = 100;

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
    /// The offers of the offers file in its order, then any others that have data.
    pub offers: Vec<OfferReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OfferReport {
    pub offer_id: String,
    /// The experiment's name, when the offer has variants.
    pub experiment: Option<String>,
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
    /// Confirmed payments minus refunds, per currency, in minor units.
    pub revenue: Vec<Money>,
    /// Revenue per impression, per currency, rounded to the minor unit.
    pub revenue_per_impression: Vec<Money>,
    /// Against the control, for the other variants of an experiment.
    pub versus_control: Option<Verdict>,
}

/// A variant against the control.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// This variant's conversion rate minus the control's, with its 95 % interval.
    pub difference: Option<Interval>,
    /// Two-sided p-value; `None` before both have impressions.
    pub p_value: Option<f64>,
    /// True only with `MIN_IMPRESSIONS` on both sides and `p_value` below 0.05.
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
    let snapshot = storage.snapshot(now.unix_timestamp(), period_for).await?;
    Ok(assemble(rules, &snapshot, now))
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
            OfferReport {
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
        offers,
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
    let count = |kind: &str| {
        facts
            .counts
            .iter()
            .filter(|c| c.offer_id == offer_id && c.variant_id == variant_id && c.kind == kind)
            .map(|c| c.purchases)
            .sum::<i64>()
    };
    let impressions = count("impression");
    let conversions = count("paid");
    let revenue: Vec<Money> = facts
        .revenue
        .iter()
        .filter(|r| r.offer_id == offer_id && r.variant_id == variant_id)
        .map(|r| Money {
            amount: r.amount,
            currency: r.currency.clone(),
        })
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
        is_control: false,
        weight,
        impressions,
        accepts: count("accept"),
        declines: count("decline"),
        failures: count("failure"),
        expiries: count("expiry"),
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
    let comparison = stats::compare(
        (
            control.conversions.max(0) as u64,
            control.impressions.max(0) as u64,
        ),
        (
            variant.conversions.max(0) as u64,
            variant.impressions.max(0) as u64,
        ),
    );
    let (a, b) = (&control.variant_id, &variant.variant_id);
    let Some(comparison) = comparison else {
        return Verdict {
            difference: None,
            p_value: None,
            significant: false,
            summary: format!("No verdict yet: {a} and {b} both need impressions."),
        };
    };
    let p = comparison.p_value;
    let enough = control.impressions >= MIN_IMPRESSIONS && variant.impressions >= MIN_IMPRESSIONS;
    let significant = enough && p < ALPHA;
    let rate = |v: &VariantReport| v.conversion_rate.map_or(0.0, |r| r.estimate);
    let summary = if significant {
        let direction = if rate(variant) > rate(control) {
            "better"
        } else {
            "worse"
        };
        format!(
            "Significant: {b} converts {direction} than {a} ({} against {}, p = {}).",
            percent(rate(variant)),
            percent(rate(control)),
            p_value(p)
        )
    } else if !enough {
        format!(
            "Not yet significant: {b} has {} and {a} {}; a verdict needs {MIN_IMPRESSIONS} impressions on each.",
            impressions(variant.impressions),
            impressions(control.impressions)
        )
    } else {
        format!(
            "Not yet significant (p = {}): the difference may be chance; keep the experiment running.",
            p_value(p)
        )
    };
    Verdict {
        difference: Some(comparison.difference),
        p_value: Some(p),
        significant,
        summary,
    }
}

/// An amount for people to read: `1400.00 USD`, `2500 JPY`, with the currency's own number of
/// decimals (ISO 4217); a code the standard does not know is shown in minor units.
pub fn money_text(money: &Money) -> String {
    let decimals = decimals(&money.currency);
    let sign = if money.amount < 0 { "-" } else { "" };
    let units = money.amount.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{units} {}", money.currency);
    }
    let scale = 10u64.pow(u32::from(decimals));
    format!(
        "{sign}{}.{:0width$} {}",
        units / scale,
        units % scale,
        money.currency,
        width = usize::from(decimals)
    )
}

/// How many decimals the currency's amounts have (ISO 4217): 2 for USD, 0 for JPY; 0 for a
/// code the standard does not know, whose amounts are then shown in minor units.
pub fn decimals(currency: &str) -> u16 {
    iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .unwrap_or(0)
}

/// Several amounts, one per currency: `1400.00 USD, 300.00 EUR`, or `0` for none.
pub fn amounts_text(amounts: &[Money]) -> String {
    if amounts.is_empty() {
        return "0".into();
    }
    amounts
        .iter()
        .map(money_text)
        .collect::<Vec<_>>()
        .join(", ")
}

fn impressions(n: i64) -> String {
    if n == 1 {
        "1 impression".into()
    } else {
        format!("{n} impressions")
    }
}

/// A rate in percent with one decimal: `12.5 %`.
pub fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
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
            }],
            timeline: Vec::new(),
            span: Some((0, 600)),
            period: 60,
        };
        assemble(&rules, &facts, OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn each_variant_is_judged_against_the_control() {
        let report = report(vec![
            count("plain", "impression", 1000),
            count("plain", "paid", 200),
            count("best-value", "impression", 1000),
            count("best-value", "paid", 250),
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
                amount: 13,
                currency: "USD".into()
            }]
        );
        let verdict = best.versus_control.as_ref().unwrap();
        assert!(verdict.significant, "{verdict:?}");
        assert_eq!(
            verdict.summary,
            "Significant: best-value converts better than plain (25.0 % against 20.0 %, p = 0.007)."
        );
        // Every period of the span is there, quiet ones as zero.
        assert_eq!(offer.timeline.len(), 11);
    }

    #[test]
    fn a_small_or_chance_difference_is_said_to_be_not_yet_significant() {
        let small = report(vec![
            count("plain", "impression", 40),
            count("plain", "paid", 2),
            count("best-value", "impression", 40),
            count("best-value", "paid", 20),
        ]);
        let verdict = small.offers[0].variants[1].versus_control.clone().unwrap();
        assert!(!verdict.significant && verdict.p_value.unwrap() < 0.001);
        assert!(
            verdict.summary.starts_with(
                "Not yet significant: best-value has 40 impressions and plain 40 impressions"
            ),
            "{}",
            verdict.summary
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
            "Not yet significant (p = 0.651): the difference may be chance; keep the experiment running."
        );

        let empty = report(Vec::new());
        let verdict = empty.offers[0].variants[1].versus_control.clone().unwrap();
        assert!(verdict.summary.starts_with("No verdict yet"));
        assert_eq!(empty.offers[0].variants[0].conversion_rate, None);
    }

    #[test]
    fn amounts_have_their_currencys_decimals() {
        let money = |amount, currency: &str| Money {
            amount,
            currency: currency.into(),
        };
        assert_eq!(money_text(&money(140_005, "USD")), "1400.05 USD");
        assert_eq!(money_text(&money(2500, "JPY")), "2500 JPY");
        assert_eq!(money_text(&money(1234, "KWD")), "1.234 KWD");
        assert_eq!(money_text(&money(-50, "EUR")), "-0.50 EUR");
        assert_eq!(
            amounts_text(&[money(100, "USD"), money(5, "EUR")]),
            "1.00 USD, 0.05 EUR"
        );
        assert_eq!(amounts_text(&[]), "0");
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
