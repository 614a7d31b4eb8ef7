//! The report as plain text, for `upsell-proxy report`: one table per offer, its variants as
//! rows (per purchase, then per customer), then each variant's verdict against the control in
//! words; then whether offers add money against the holdout, one small table per currency; then
//! how things are counted and which money is still provisional.

use crate::analytics::amounts::{amounts_text, minor_text, money_text, percent};
use crate::analytics::holdout::{ArmFigures, CurrencyComparison, HoldoutReport};
use crate::analytics::incremental::MIN_SEQUENCE;
use crate::analytics::report::{Report, VariantReport};
use crate::analytics::sequential::MIN_TRIALS;
use crate::analytics::stats::Interval;
use std::fmt::Write;
use upsell_wire::Money;

/// A column's header and whether its cells are text (left-aligned) rather than counts.
/// The plan changes' table: (header, text aligned left).
const PLAN_CHANGE_COLUMNS: [(&str, bool); 10] = [
    ("change", true),
    ("shown", false),
    ("confirmed", false),
    ("succeeded", false),
    ("scheduled", false),
    ("withdrawn", false),
    ("failed", false),
    ("on hold", false),
    ("in flight", false),
    ("revenue", true),
];

const VARIANT_COLUMNS: [(&str, bool); 14] = [
    ("variant", true),
    ("weight", false),
    ("impressions", false),
    ("accepts", false),
    ("declines", false),
    ("failures", false),
    ("expiries", false),
    ("conversions", false),
    ("conversion (95% CI)", true),
    ("customers", false),
    ("paying customers", false),
    ("customer conversion (95% CI)", true),
    ("revenue", true),
    ("per impression", true),
];

/// Amounts of one currency line up on the decimal point when right-aligned.
const HOLDOUT_COLUMNS: [(&str, bool); 5] = [
    ("", true),
    ("purchases", false),
    ("customers", false),
    ("value per purchase", false),
    ("value per customer", false),
];

/// The whole report as text.
pub fn render(report: &Report) -> String {
    let mut out = format!(
        "Upsell report, {} (periods of {} s)\n",
        report.generated_at, report.period_seconds
    );
    for offer in &report.offers {
        let _ = write!(out, "\nOffer {}", offer.offer_id);
        if let Some(experiment) = &offer.experiment {
            let _ = write!(
                out,
                ", experiment {experiment} (control: {})",
                offer.variants.first().map_or("", |v| v.variant_id.as_str())
            );
            if offer.allocation == Some("bandit") {
                out.push_str(", traffic moved to the variant that earns more (bandit)");
            }
        }
        out.push('\n');
        let rows: Vec<Vec<String>> = offer.variants.iter().map(row).collect();
        out.push_str(&columns(&VARIANT_COLUMNS, &rows));
        for variant in &offer.variants {
            if let Some(verdict) = &variant.versus_control {
                let _ = writeln!(out, "  {}", verdict.summary);
            }
        }
    }
    if let Some(holdout) = &report.holdout {
        out.push_str(&holdout_text(holdout));
    }
    if !report.plan_changes.is_empty() {
        out.push_str("\nPlan changes\n");
        let rows: Vec<Vec<String>> = report
            .plan_changes
            .iter()
            .map(|change| {
                vec![
                    change.change_id.clone(),
                    change.shown.to_string(),
                    change.confirmed.to_string(),
                    change.succeeded.to_string(),
                    change.scheduled.to_string(),
                    change.withdrawn.to_string(),
                    change.failed.to_string(),
                    change.on_hold.to_string(),
                    change.in_flight.to_string(),
                    revenue_text(&change.revenue, &change.provisional_revenue),
                ]
            })
            .collect();
        out.push_str(&columns(&PLAN_CHANGE_COLUMNS, &rows));
    }
    out.push('\n');
    if report.offers.iter().any(|o| o.experiment.is_some()) {
        let _ = writeln!(out, "{}", verdicts_explained());
    }
    let _ = writeln!(
        out,
        "{} {}",
        report.counting,
        provisional_explained(report.refund_window_days)
    );
    out
}

/// What a verdict may be used for, for the table and the page alike. The old fixed-horizon
/// p-value was only right when read once; saying that this one may be read every day keeps a
/// merchant from waiting for a "final" read that is not needed.
pub(crate) fn verdicts_explained() -> String {
    format!(
        "Verdicts use an always-valid test: they stay valid however often the report is read, so \
         a significant one can be acted on at once. The test starts at {MIN_TRIALS} impressions \
         on each variant."
    )
}

/// Which money is provisional, in words.
pub(crate) fn provisional_explained(refund_window_days: u32) -> String {
    let days = if refund_window_days == 1 {
        "day".to_string()
    } else {
        format!("{refund_window_days} days")
    };
    format!("Money paid in the last {days} is provisional: it may still be refunded.")
}

fn row(variant: &VariantReport) -> Vec<String> {
    vec![
        variant.variant_id.clone(),
        variant.weight.map_or("-".into(), |w| w.to_string()),
        variant.impressions.to_string(),
        variant.accepts.to_string(),
        variant.declines.to_string(),
        variant.failures.to_string(),
        variant.expiries.to_string(),
        variant.conversions.to_string(),
        rate_text(variant.conversion_rate),
        variant.customers.to_string(),
        variant.converted_customers.to_string(),
        rate_text(variant.customer_conversion_rate),
        revenue_text(&variant.revenue, &variant.provisional_revenue),
        amounts_text(&variant.revenue_per_impression),
    ]
}

fn rate_text(rate: Option<Interval>) -> String {
    rate.map_or("-".to_string(), |r| {
        format!(
            "{} ({} to {})",
            percent(r.estimate),
            percent(r.low),
            percent(r.high)
        )
    })
}

/// Revenue per currency, with the part that may still be refunded after it:
/// `90.00 USD (35.00 provisional), 12.00 EUR`.
fn revenue_text(revenue: &[Money], provisional: &[Money]) -> String {
    let provisional_in = |currency: &str| provisional.iter().find(|p| p.currency == currency);
    let mut parts: Vec<String> = revenue
        .iter()
        .map(|money| match provisional_in(&money.currency) {
            Some(part) => format!(
                "{} ({} provisional)",
                money_text(money),
                without_currency(part)
            ),
            None => money_text(money),
        })
        .collect();
    // Provisional money is part of the revenue, so its currency is there; should it not be,
    // it is still shown rather than lost.
    parts.extend(
        provisional
            .iter()
            .filter(|p| !revenue.iter().any(|m| m.currency == p.currency))
            .map(|p| format!("{} provisional", money_text(p))),
    );
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(", ")
    }
}

/// `35.00 USD` as `35.00`: the currency is the one just before it.
fn without_currency(money: &Money) -> String {
    let text = money_text(money);
    text.strip_suffix(&format!(" {}", money.currency))
        .map(String::from)
        .unwrap_or(text)
}

/// The holdout's comparison: per currency, both sides, what offers add with its interval, and
/// the answer in words.
fn holdout_text(holdout: &HoldoutReport) -> String {
    let mut out = String::from("\nDo offers add money?\n");
    let _ = writeln!(out, "  {}", held_out_explained(holdout.share_percent));
    let _ = writeln!(out, "  {VALUE_EXPLAINED}");
    if holdout.currencies.is_empty() {
        let _ = writeln!(out, "  No purchases yet.");
    }
    for comparison in &holdout.currencies {
        out.push_str(&currency_text(comparison));
    }
    out
}

fn currency_text(c: &CurrencyComparison) -> String {
    let currency = c.currency.as_str();
    let side = |name: &str, arm: &ArmFigures| {
        let amount = |minor: Option<f64>| minor.map_or("-".into(), |m| minor_text(m, currency));
        vec![
            name.to_string(),
            arm.purchases.to_string(),
            arm.customers.to_string(),
            amount(arm.per_purchase),
            amount(arm.per_customer),
        ]
    };
    let mut header = HOLDOUT_COLUMNS;
    header[0].0 = currency;
    let mut out = String::from("\n");
    out.push_str(&columns(
        &header,
        &[
            side("shown offers", &c.offers),
            side("held out", &c.holdout),
        ],
    ));
    let _ = writeln!(
        out,
        "  Added per customer: {}",
        added_text(
            c.incremental_per_customer,
            currency,
            (c.offers.customers, c.holdout.customers),
            "customers"
        )
    );
    let _ = writeln!(
        out,
        "  Added per purchase: {}",
        added_text(
            c.incremental_per_purchase,
            currency,
            (c.offers.purchases, c.holdout.purchases),
            "purchases"
        )
    );
    let _ = writeln!(out, "  {}", c.summary);
    out
}

/// What offers add, with its interval, or why there is none yet.
fn added_text(added: Option<Interval>, currency: &str, sides: (u64, u64), unit: &str) -> String {
    match added {
        Some(i) => format!(
            "{} (95 % interval {} to {})",
            minor_text(i.estimate, currency),
            minor_text(i.low, currency),
            minor_text(i.high, currency)
        ),
        None => not_known_yet(sides, unit),
    }
}

/// Who the holdout is, in words.
pub(crate) fn held_out_explained(share_percent: u32) -> String {
    if share_percent > 0 {
        format!("{share_percent} % of customers are held out: they are shown no offer.")
    } else {
        "No customer is held out now; these are the customers held out before.".into()
    }
}

/// What the holdout compares, in words: "value" is not revenue, and the interval may be read
/// every day.
pub(crate) const VALUE_EXPLAINED: &str = "Value is what a purchase came to beyond its own \
price: the offers' payments, minus refunds of them and of the purchase itself. The intervals \
stay valid however often the report is read.";

/// Why there is no interval of what offers add: too few `unit`s on a side (offers, holdout),
/// or enough of them all with the same value, which gives nothing to measure a difference
/// against.
pub(crate) fn not_known_yet(sides: (u64, u64), unit: &str) -> String {
    if sides.0 < MIN_SEQUENCE || sides.1 < MIN_SEQUENCE {
        format!("not known yet: each side needs {MIN_SEQUENCE} {unit}")
    } else {
        "not known yet: every value so far is the same".into()
    }
}

/// The header and the rows, each column as wide as its widest cell; text to the left,
/// numbers to the right.
fn columns(header: &[(&str, bool)], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let names: Vec<String> = header.iter().map(|(h, _)| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&names).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(header)
            .map(|((cell, &width), (_, text))| {
                if *text {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

/// The fixtures are shared with the page's tests, which show the same report.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analytics::report::{OfferReport, Verdict, COUNTING};
    use crate::analytics::stats::wilson;

    pub(crate) fn usd(amount: i64) -> Money {
        Money {
            amount,
            currency: "USD".into(),
        }
    }

    fn variant(id: &str, impressions: i64, conversions: i64) -> VariantReport {
        VariantReport {
            variant_id: id.into(),
            weight: Some(1),
            is_control: id == "plain",
            impressions,
            accepts: conversions + 1,
            declines: impressions - conversions - 1,
            failures: 1,
            expiries: 0,
            conversions,
            conversion_rate: wilson(conversions as u64, impressions as u64),
            // Some customers bought twice: fewer customers than purchases.
            customers: impressions - 20,
            converted_customers: conversions - 1,
            customer_conversion_rate: wilson((conversions - 1) as u64, (impressions - 20) as u64),
            revenue: vec![usd(conversions * 5000)],
            provisional_revenue: Vec::new(),
            revenue_per_impression: vec![usd(conversions * 5000 / impressions)],
            versus_control: None,
        }
    }

    /// Offer `pro`, an experiment: `plain` (the control) and `badge`, which has 35.00 USD of
    /// provisional revenue and a verdict.
    pub(crate) fn report(holdout: Option<HoldoutReport>) -> Report {
        let mut badge = variant("badge", 100, 12);
        badge.provisional_revenue = vec![usd(3500)];
        badge.versus_control = Some(Verdict {
            difference: None,
            p_value: Some(0.651),
            significant: false,
            summary: "Not yet significant (always-valid p = 0.651).".into(),
        });
        Report {
            generated_at: "2026-12-01T10:00:00Z".into(),
            period_seconds: 60,
            refund_window_days: 30,
            counting: COUNTING,
            offers: vec![OfferReport {
                offer_id: "pro".into(),
                experiment: Some("pro".into()),
                allocation: Some("fixed"),
                variants: vec![variant("plain", 100, 10), badge],
                timeline: Vec::new(),
            }],
            holdout,
            plan_changes: Vec::new(),
        }
    }

    fn arm(purchases: u64, customers: u64, per_purchase: f64, per_customer: f64) -> ArmFigures {
        ArmFigures {
            purchases,
            customers,
            value: (per_purchase * purchases as f64) as i64,
            per_purchase: Some(per_purchase),
            per_customer: Some(per_customer),
        }
    }

    /// USD with an answer (offers add money), JPY without one yet.
    pub(crate) fn holdout_report() -> HoldoutReport {
        HoldoutReport {
            share_percent: 10,
            currencies: vec![
                CurrencyComparison {
                    currency: "USD".into(),
                    offers: arm(400, 200, 1000.0, 2000.0),
                    holdout: arm(50, 40, -300.0, -375.0),
                    incremental_per_purchase: Some(Interval {
                        estimate: 1300.0,
                        low: 512.4,
                        high: 2087.6,
                    }),
                    incremental_per_customer: Some(Interval {
                        estimate: 2375.0,
                        low: 1000.0,
                        high: 3750.0,
                    }),
                    provisional_purchases: 12,
                    summary: "Offers add money: 23.75 USD per customer (95 % interval 10.00 USD to 37.50 USD). 12 purchases are within the refund window: provisional.".into(),
                },
                CurrencyComparison {
                    currency: "JPY".into(),
                    offers: arm(40, 35, 120.0, 137.0),
                    holdout: arm(3, 3, 0.0, 0.0),
                    incremental_per_purchase: None,
                    incremental_per_customer: None,
                    provisional_purchases: 0,
                    summary: "No answer yet: each side needs 30 purchases (40 shown offers, 3 held out).".into(),
                },
            ],
        }
    }

    #[test]
    fn each_offer_is_a_table_with_its_verdicts_below() {
        let text = render(&report(None));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "Offer pro, experiment pro (control: plain)");
        assert!(
            lines[3].starts_with("  variant  weight  impressions")
                && lines[3].contains(
                    "conversion (95% CI)       customers  paying customers  customer conversion (95% CI)"
                ),
            "{text}"
        );
        // Per purchase, then per customer: 9 of the 80 customers paid.
        assert!(
            lines[4].contains(
                "10.0 % (5.5 % to 17.4 %)         80                 9  11.2 % (6.0 % to 20.0 %)"
            ),
            "{text}"
        );
        assert!(
            lines[4].ends_with("  500.00 USD                      5.00 USD"),
            "{text}"
        );
        assert!(
            lines[5].starts_with("  badge         1          100"),
            "{text}"
        );
        // Money still inside the refund window is marked in the revenue cell.
        assert!(
            lines[5].ends_with("  600.00 USD (35.00 provisional)  6.00 USD"),
            "{text}"
        );
        assert_eq!(lines[6], "  Not yet significant (always-valid p = 0.651).");
        assert!(!text.contains("Do offers add money?"), "{text}");
        let notes = &lines[lines.len() - 2..];
        assert_eq!(
            notes[0],
            "Verdicts use an always-valid test: they stay valid however often the report is read, so a significant one can be acted on at once. The test starts at 30 impressions on each variant."
        );
        assert_eq!(
            notes[1],
            format!("{COUNTING} Money paid in the last 30 days is provisional: it may still be refunded.")
        );
    }

    #[test]
    fn the_holdout_comes_after_the_offers_per_currency() {
        let text = render(&report(Some(holdout_report())));
        let start = text.find("\nDo offers add money?\n").expect(&text);
        assert!(start > text.find("Offer pro").unwrap(), "{text}");
        let section: Vec<&str> = text[start..].lines().skip(1).collect();
        assert_eq!(
            section[..13],
            [
                "Do offers add money?",
                "  10 % of customers are held out: they are shown no offer.",
                "  Value is what a purchase came to beyond its own price: the offers' payments, minus refunds of them and of the purchase itself. The intervals stay valid however often the report is read.",
                "",
                "  USD           purchases  customers  value per purchase  value per customer",
                "  shown offers        400        200           10.00 USD           20.00 USD",
                "  held out             50         40           -3.00 USD           -3.75 USD",
                "  Added per customer: 23.75 USD (95 % interval 10.00 USD to 37.50 USD)",
                "  Added per purchase: 13.00 USD (95 % interval 5.12 USD to 20.88 USD)",
                "  Offers add money: 23.75 USD per customer (95 % interval 10.00 USD to 37.50 USD). 12 purchases are within the refund window: provisional.",
                "",
                "  JPY           purchases  customers  value per purchase  value per customer",
                "  shown offers         40         35             120 JPY             137 JPY",
            ],
            "{text}"
        );
        assert_eq!(
            section[13..17],
            [
                "  held out              3          3               0 JPY               0 JPY",
                "  Added per customer: not known yet: each side needs 30 customers",
                "  Added per purchase: not known yet: each side needs 30 purchases",
                "  No answer yet: each side needs 30 purchases (40 shown offers, 3 held out).",
            ],
            "{text}"
        );
    }

    #[test]
    fn revenue_marks_its_provisional_part_per_currency() {
        let eur = |amount| Money {
            amount,
            currency: "EUR".into(),
        };
        assert_eq!(revenue_text(&[], &[]), "0");
        assert_eq!(
            revenue_text(&[usd(9000), eur(1200)], &[usd(3500)]),
            "90.00 USD (35.00 provisional), 12.00 EUR"
        );
        assert_eq!(
            revenue_text(&[usd(9000)], &[eur(500)]),
            "90.00 USD, 5.00 EUR provisional"
        );
    }

    #[test]
    fn an_ended_holdout_without_purchases_and_a_one_day_window_are_said_plainly() {
        let mut ended = report(Some(HoldoutReport {
            share_percent: 0,
            currencies: Vec::new(),
        }));
        ended.refund_window_days = 1;
        ended.offers[0].experiment = None;
        let text = render(&ended);
        assert!(
            text.contains(
                "No customer is held out now; these are the customers held out before.\n"
            ) && text.contains("  No purchases yet.\n")
                && text.contains("Money paid in the last day is provisional")
                && !text.contains("Verdicts use"),
            "{text}"
        );
    }
}
