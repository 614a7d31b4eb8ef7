//! The report as plain text, for `upsell-proxy report`: one table per offer, its variants as
//! rows, then each variant's verdict against the control in words.

use crate::analytics::report::{amounts_text, percent, Report, VariantReport};
use std::fmt::Write;

const HEADER: [&str; 11] = [
    "variant",
    "weight",
    "impressions",
    "accepts",
    "declines",
    "failures",
    "expiries",
    "conversions",
    "conversion (95% CI)",
    "revenue",
    "per impression",
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
        }
        out.push('\n');
        let rows: Vec<[String; 11]> = offer.variants.iter().map(row).collect();
        out.push_str(&columns(&rows));
        for variant in &offer.variants {
            if let Some(verdict) = &variant.versus_control {
                let _ = writeln!(out, "  {}", verdict.summary);
            }
        }
    }
    out
}

fn row(variant: &VariantReport) -> [String; 11] {
    let rate = variant.conversion_rate.map_or("-".to_string(), |r| {
        format!(
            "{} ({} to {})",
            percent(r.estimate),
            percent(r.low),
            percent(r.high)
        )
    });
    [
        variant.variant_id.clone(),
        variant.weight.map_or("-".into(), |w| w.to_string()),
        variant.impressions.to_string(),
        variant.accepts.to_string(),
        variant.declines.to_string(),
        variant.failures.to_string(),
        variant.expiries.to_string(),
        variant.conversions.to_string(),
        rate,
        amounts_text(&variant.revenue),
        amounts_text(&variant.revenue_per_impression),
    ]
}

/// The header and the rows, each column as wide as its widest cell; text to the left,
/// numbers to the right.
fn columns(rows: &[[String; 11]]) -> String {
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = HEADER.map(String::from);
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i == 0 || i >= 8 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::report::OfferReport;
    use upsell_wire::Money;

    #[test]
    fn each_offer_is_a_table_with_its_verdicts_below() {
        let variant = |id: &str, impressions, conversions| VariantReport {
            variant_id: id.into(),
            weight: Some(1),
            is_control: id == "plain",
            impressions,
            accepts: conversions + 1,
            declines: impressions - conversions - 1,
            failures: 1,
            expiries: 0,
            conversions,
            conversion_rate: crate::analytics::stats::wilson(
                conversions as u64,
                impressions as u64,
            ),
            revenue: vec![Money {
                amount: conversions * 5000,
                currency: "USD".into(),
            }],
            revenue_per_impression: vec![Money {
                amount: conversions * 5000 / impressions,
                currency: "USD".into(),
            }],
            versus_control: None,
        };
        let mut badge = variant("badge", 100, 12);
        badge.versus_control = Some(crate::analytics::report::Verdict {
            difference: None,
            p_value: Some(0.651),
            significant: false,
            summary: "Not yet significant (p = 0.651).".into(),
        });
        let report = Report {
            generated_at: "2026-12-01T10:00:00Z".into(),
            period_seconds: 60,
            offers: vec![OfferReport {
                offer_id: "pro".into(),
                experiment: Some("pro".into()),
                variants: vec![variant("plain", 100, 10), badge],
                timeline: Vec::new(),
            }],
        };
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "Offer pro, experiment pro (control: plain)");
        assert!(
            lines[3].starts_with("  variant  weight  impressions"),
            "{text}"
        );
        assert!(
            lines[4].contains("10.0 % (5.5 % to 17.4 %)  500.00 USD  5.00 USD"),
            "{text}"
        );
        assert!(
            lines[5].starts_with("  badge         1          100"),
            "{text}"
        );
        assert_eq!(lines[6], "  Not yet significant (p = 0.651).");
    }
}
