//! The report as a page, served by the proxy at `/report` behind the admin token: whether
//! offers add money against the holdout, one small table per currency; then per offer, its
//! conversion rate and revenue over time as charts (SVG drawn here by `plotters`, so the page
//! needs no script and works under a strict CSP), and the table of its variants (per purchase
//! and per customer, revenue still inside the refund window marked provisional) with their
//! verdicts. The same numbers as `GET /v1/report`, and the same words as `report_table`.

use crate::analytics::amounts::{amounts_text, decimals, minor_text, percent};
use crate::analytics::holdout::{ArmFigures, CurrencyComparison, HoldoutReport};
use crate::analytics::plan_change_report::PlanChangeReport;
use crate::analytics::report::{OfferReport, Report};
use crate::analytics::report_table::{
    held_out_explained, not_known_yet, provisional_explained, verdicts_explained, VALUE_EXPLAINED,
};
use crate::analytics::stats::Interval;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use plotters::prelude::*;
use std::collections::BTreeSet;

/// The page's whole style: no file to fetch, no script.
const STYLE: &str = "
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: #111827; background: #f9fafb; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
.meta { color: #4b5563; margin: 0 0 24px; }
section { background: #fff; border: 1px solid #d1d5db; border-radius: 12px; padding: 20px; margin-bottom: 24px; }
h2 { font-size: 1.2rem; margin: 0 0 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin: 12px 0; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 6px 5px; border-bottom: 1px solid #e5e7eb; }
td { white-space: nowrap; }
.note { display: block; font-size: 12px; font-weight: 400; color: #4b5563; white-space: normal; }
th:first-child, td:first-child { text-align: left; }
thead th { font-weight: 600; color: #374151; }
.verdict { margin: 12px 0 0; padding: 8px 12px; border-radius: 8px; background: #f3f4f6; }
.verdict.significant { background: #dcfce7; color: #14532d; }
.verdict.loss { background: #fee2e2; color: #7f1d1d; }
.provisional { color: #92400e; }
caption { text-align: left; font-weight: 600; margin: 12px 0 4px; }
.empty { color: #4b5563; }
";

/// The page's Content-Security-Policy: its one inline stylesheet, nothing else.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

const BAR: RGBColor = RGBColor(79, 70, 229);
const GRID: RGBColor = RGBColor(229, 231, 235);
const CHART_SIZE: (u32, u32) = (430, 220);

pub fn render(report: &Report) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Upsell report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { "Upsell report" }
                    p.meta {
                        "Made " (time_label(&report.generated_at, 0)) " UTC. The charts have a bar per "
                        (period_words(report.period_seconds)) " (UTC)."
                    }
                    p.meta {
                        span data-explains="counting" { (report.counting) } " "
                        span.provisional data-explains="provisional" {
                            (provisional_explained(report.refund_window_days))
                        }
                    }
                    // The answer to the first question a merchant has, before the detail of
                    // each offer.
                    @if let Some(holdout) = &report.holdout {
                        (holdout_section(holdout))
                    }
                    @if report.offers.is_empty() {
                        p.empty { "The offers file has no offers yet." }
                    }
                    @for offer in &report.offers {
                        (offer_section(offer, report.period_seconds, report.refund_window_days))
                    }
                    @if !report.plan_changes.is_empty() {
                        (plan_changes_section(&report.plan_changes))
                    }
                }
            }
        }
    }
    .into_string()
}

fn offer_section(offer: &OfferReport, period: i64, refund_window_days: u32) -> Markup {
    let heading = format!("offer-{}", offer.offer_id);
    let labels: Vec<String> = offer
        .timeline
        .iter()
        .map(|p| time_label(&p.start, period))
        .collect();
    let rates: Vec<f64> = offer
        .timeline
        .iter()
        .map(|p| {
            if p.impressions > 0 {
                100.0 * p.conversions as f64 / p.impressions as f64
            } else {
                0.0
            }
        })
        .collect();
    let currencies: BTreeSet<&str> = offer
        .timeline
        .iter()
        .flat_map(|p| p.revenue.iter().map(|m| m.currency.as_str()))
        .collect();
    html! {
        section data-offer=(offer.offer_id) aria-labelledby=(heading) {
            h2 id=(heading) { "Offer " (offer.offer_id) }
            @if let Some(experiment) = &offer.experiment {
                p {
                    "Experiment " strong { (experiment) } ": "
                    (offer.variants.len()) " variants, the first is the control. "
                    @if offer.allocation == Some("bandit") {
                        "Its traffic moves toward the variant that earns more per impression \
                         (a bandit), with at least 10 % for each; a customer keeps the variant \
                         first shown. "
                    }
                    (verdicts_explained())
                }
            }
            @if offer.timeline.is_empty() {
                p.empty { "Nothing has happened yet." }
            } @else {
                div.charts {
                    @let top = rates.iter().copied().fold(0.0, f64::max);
                    (chart("Conversion rate", "conversion", &labels, &rates, |v| format!("{} %", axis_number(*v, top))))
                    @for currency in &currencies {
                        @let amounts: Vec<f64> = offer.timeline.iter().map(|p| {
                            let minor = p.revenue.iter().filter(|m| m.currency == *currency).map(|m| m.amount).sum::<i64>();
                            major_units(minor, currency)
                        }).collect();
                        @let top = amounts.iter().copied().fold(0.0, f64::max);
                        (chart(&format!("Revenue, {currency}"), "revenue", &labels, &amounts, |v| axis_number(*v, top)))
                    }
                }
            }
            div.table role="region" aria-label={ "Variants of " (offer.offer_id) } tabindex="0" {
            table {
                thead {
                    tr {
                        th scope="col" { "Variant" }
                        th scope="col" { "Impressions" }
                        th scope="col" { "Accepts" }
                        th scope="col" { "Declines" }
                        th scope="col" { "Failures" }
                        th scope="col" { "Expiries" }
                        th scope="col" { "Conversions" }
                        th scope="col" { "Conversion rate" }
                        th scope="col" { "Customers" }
                        th scope="col" { "Paying customers" }
                        th scope="col" { "Customer conversion" }
                        th scope="col" { "Revenue" }
                    }
                }
                tbody {
                    @for v in &offer.variants {
                        tr data-variant=(v.variant_id) {
                            th scope="row" {
                                (v.variant_id)
                                @if offer.experiment.is_some() {
                                    span.note {
                                        @if let Some(w) = v.weight { "weight " (w) } @else { "no longer in the offers file" }
                                        @if v.is_control { ", control" }
                                    }
                                }
                            }
                            td data-field="impressions" { (v.impressions) }
                            td data-field="accepts" { (v.accepts) }
                            td data-field="declines" { (v.declines) }
                            td data-field="failures" { (v.failures) }
                            td data-field="expiries" { (v.expiries) }
                            td data-field="conversions" { (v.conversions) }
                            td data-field="conversion_rate" { (rate(v.conversion_rate)) }
                            td data-field="customers" { (v.customers) }
                            td data-field="converted_customers" { (v.converted_customers) }
                            td data-field="customer_conversion_rate" { (rate(v.customer_conversion_rate)) }
                            td {
                                // The revenue alone in its field, so it reads (for people and the
                                // e2e test) as one amount; its provisional part in a note beside it.
                                span data-field="revenue" { (amounts_text(&v.revenue)) }
                                @if !v.provisional_revenue.is_empty() {
                                    span.note.provisional {
                                        "of which "
                                        span data-field="provisional_revenue" { (amounts_text(&v.provisional_revenue)) }
                                        " provisional"
                                    }
                                }
                                @if !v.revenue_per_impression.is_empty() {
                                    span.note {
                                        span data-field="revenue_per_impression" { (amounts_text(&v.revenue_per_impression)) }
                                        " per impression"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }
            @if offer.variants.iter().any(|v| !v.provisional_revenue.is_empty()) {
                p.note.provisional { (provisional_explained(refund_window_days)) }
            }
            @for v in &offer.variants {
                @if let Some(verdict) = &v.versus_control {
                    p.verdict.significant[verdict.significant] data-variant=(v.variant_id) { (verdict.summary) }
                }
            }
        }
    }
}

/// A rate with its 95 % interval below it, or `-` before there is anything to divide by.
fn rate(rate: Option<Interval>) -> Markup {
    html! {
        @if let Some(r) = rate {
            (percent(r.estimate))
            span.note { "95 % CI " (percent(r.low)) " to " (percent(r.high)) }
        } @else { "-" }
    }
}

/// "Do offers add money?": per currency, the customers shown offers against those held out,
/// and what offers add with its always-valid interval, then the answer in words.
/// Plan changes like offers: per rule, shown, confirmed, what became of them, their money.
fn plan_changes_section(changes: &[PlanChangeReport]) -> Markup {
    html! {
        section data-plan-changes aria-labelledby="plan-changes" {
            h2 id="plan-changes" { "Plan changes" }
            p {
                "Shown counts each subscription once; the rest counts changes the subscriber \
                 confirmed. Revenue is what succeeded changes took, less refunds."
            }
            div.table role="region" aria-label="Figures per plan change" tabindex="0" {
                table {
                    caption { "Per plan change" }
                    thead {
                        tr {
                            th scope="col" { "Change" }
                            th scope="col" { "Shown" }
                            th scope="col" { "Confirmed" }
                            th scope="col" { "Succeeded" }
                            th scope="col" { "Scheduled" }
                            th scope="col" { "Withdrawn" }
                            th scope="col" { "Failed" }
                            th scope="col" { "On hold" }
                            th scope="col" { "In flight" }
                            th scope="col" { "Revenue" }
                        }
                    }
                    tbody {
                        @for change in changes {
                            tr data-change=(change.change_id) {
                                th scope="row" { (change.change_id) }
                                td data-field="shown" { (change.shown) }
                                td data-field="confirmed" { (change.confirmed) }
                                td data-field="succeeded" { (change.succeeded) }
                                td data-field="scheduled" { (change.scheduled) }
                                td data-field="withdrawn" { (change.withdrawn) }
                                td data-field="failed" { (change.failed) }
                                td data-field="on_hold" { (change.on_hold) }
                                td data-field="in_flight" { (change.in_flight) }
                                td data-field="revenue" {
                                    (amounts_text(&change.revenue))
                                    @if !change.provisional_revenue.is_empty() {
                                        span.note.provisional {
                                            "of which " (amounts_text(&change.provisional_revenue)) " provisional"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn holdout_section(holdout: &HoldoutReport) -> Markup {
    html! {
        section data-holdout aria-labelledby="holdout" {
            h2 id="holdout" { "Do offers add money?" }
            p { (held_out_explained(holdout.share_percent)) " " (VALUE_EXPLAINED) }
            @if holdout.currencies.is_empty() {
                p.empty { "No purchases yet." }
            }
            @for c in &holdout.currencies {
                (currency_table(c))
            }
        }
    }
}

fn currency_table(c: &CurrencyComparison) -> Markup {
    let currency = c.currency.as_str();
    let amount = |minor: Option<f64>| minor.map_or("-".into(), |m| minor_text(m, currency));
    let side = |arm: &str, name: &str, figures: &ArmFigures| {
        html! {
            tr data-arm=(arm) {
                th scope="row" { (name) }
                td data-field="purchases" { (figures.purchases) }
                td data-field="customers" { (figures.customers) }
                td data-field="per_purchase" { (amount(figures.per_purchase)) }
                td data-field="per_customer" { (amount(figures.per_customer)) }
            }
        }
    };
    let added = |interval: Option<Interval>, sides: (u64, u64), unit: &str| {
        html! {
            @if let Some(i) = interval {
                (minor_text(i.estimate, currency))
                span.note {
                    "95 % interval " (minor_text(i.low, currency)) " to " (minor_text(i.high, currency))
                }
            } @else {
                span.note { (not_known_yet(sides, unit)) }
            }
        }
    };
    // The answer's colour follows its interval: above 0 offers add money, below 0 they lose it.
    let interval = c.incremental_per_customer.or(c.incremental_per_purchase);
    let gains = interval.is_some_and(|i| i.low > 0.0);
    let loses = interval.is_some_and(|i| i.high < 0.0);
    html! {
        div.table role="region" aria-label={ "Offers against the holdout, " (currency) } tabindex="0" {
            table data-currency=(currency) {
                caption { "In " (currency) }
                thead {
                    tr {
                        th scope="col" { "Group" }
                        th scope="col" { "Purchases" }
                        th scope="col" { "Customers" }
                        th scope="col" { "Value per purchase" }
                        th scope="col" { "Value per customer" }
                    }
                }
                tbody {
                    (side("offers", "Shown offers", &c.offers))
                    (side("holdout", "Held out", &c.holdout))
                    tr data-arm="added" {
                        th scope="row" { "Added by offers" }
                        td {}
                        td {}
                        td data-field="incremental_per_purchase" {
                            (added(c.incremental_per_purchase, (c.offers.purchases, c.holdout.purchases), "purchases"))
                        }
                        td data-field="incremental_per_customer" {
                            (added(c.incremental_per_customer, (c.offers.customers, c.holdout.customers), "customers"))
                        }
                    }
                }
            }
        }
        p.verdict.significant[gains].loss[loses] data-currency=(currency) { (c.summary) }
    }
}

/// One line chart as inline SVG, with a caption and a text alternative listing its points.
fn chart(
    title: &str,
    kind: &str,
    labels: &[String],
    values: &[f64],
    y_format: impl Fn(&f64) -> String,
) -> Markup {
    let description = labels
        .iter()
        .zip(values)
        .map(|(label, value)| format!("{label}: {}", y_format(value)))
        .collect::<Vec<_>>()
        .join(", ");
    let svg = match draw(labels, values, &y_format) {
        Ok(svg) => svg.replacen(
            "<svg ",
            &format!(
                "<svg role=\"img\" aria-label=\"{}\" ",
                maud::html! { (title) ". " (description) }.into_string()
            ),
            1,
        ),
        Err(error) => {
            tracing::warn!(%error, "cannot draw a report chart");
            String::new()
        }
    };
    html! {
        figure data-chart=(kind) {
            figcaption { (title) }
            (PreEscaped(svg))
        }
    }
}

fn draw(
    labels: &[String],
    values: &[f64],
    y_format: &dyn Fn(&f64) -> String,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let top = values.iter().copied().fold(0.0_f64, f64::max);
        let top = if top > 0.0 { top * 1.15 } else { 1.0 };
        // One bar per period, centred on its index: a quiet period is a gap, and a single
        // period still reads as a bar.
        let last = values.len().saturating_sub(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5..last + 0.5, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(8)
            .y_labels(5)
            .x_label_formatter(&|x| {
                // Only whole indices name a period.
                let index = x.round();
                if (x - index).abs() > 1e-6 || index < 0.0 {
                    return String::new();
                }
                labels.get(index as usize).cloned().unwrap_or_default()
            })
            .y_label_formatter(&|v| y_format(v))
            .label_style(("sans-serif", 12).into_font().color(&RGBColor(55, 65, 81)))
            .draw()?;
        chart.draw_series(values.iter().enumerate().map(|(i, value)| {
            let x = i as f64;
            Rectangle::new([(x - 0.4, 0.0), (x + 0.4, *value)], BAR.filled())
        }))?;
        root.present()?;
    }
    Ok(svg)
}

/// A number on an axis, with as many decimals as its scale needs.
fn axis_number(value: f64, top: f64) -> String {
    if top >= 10.0 {
        format!("{value:.0}")
    } else if top >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A currency's amount in major units, for a chart's axis: 12345 USD cents is 123.45.
fn major_units(minor: i64, currency: &str) -> f64 {
    minor as f64 / 10f64.powi(i32::from(decimals(currency)))
}

/// `2026-12-01T10:42:00Z` as people read it: the date for periods of days, the time for
/// shorter ones, both (`2026-12-01 10:42`) for a period of 0.
fn time_label(start: &str, period: i64) -> String {
    let part = match period {
        0 => start.get(..16).map(|s| s.replacen('T', " ", 1)),
        p if p >= 86_400 => start.get(..10).map(String::from),
        _ => start.get(11..16).map(String::from),
    };
    part.unwrap_or_else(|| start.to_string())
}

fn period_words(seconds: i64) -> String {
    match seconds {
        60 => "minute".into(),
        3600 => "hour".into(),
        86_400 => "day".into(),
        604_800 => "week".into(),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s => format!("{} minutes", s / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::report_table::tests::{holdout_report, report, usd};

    // maud writes no whitespace between tags, so the tests read the markup as it is.

    #[test]
    fn variants_show_customers_and_mark_provisional_revenue() {
        let html = render(&report(None));
        assert!(
            html.contains("<th scope=\"col\">Customer conversion</th>"),
            "{html}"
        );
        assert!(
            html.contains("<td data-field=\"customers\">80</td><td data-field=\"converted_customers\">11</td>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<td data-field=\"customer_conversion_rate\">13.8 %<span class=\"note\">95 % CI "
            ),
            "{html}"
        );
        // The revenue stays one number; its provisional part is beside it, with why.
        assert!(
            html.contains("<span data-field=\"revenue\">600.00 USD</span><span class=\"note provisional\">of which <span data-field=\"provisional_revenue\">35.00 USD</span> provisional</span>"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"note provisional\">Money paid in the last 30 days is provisional: it may still be refunded.</p>"),
            "{html}"
        );
        // Only `badge` has provisional money.
        assert_eq!(
            html.matches("data-field=\"provisional_revenue\"").count(),
            1
        );
        assert!(
            html.contains("<span data-explains=\"counting\">Counts are of purchases:"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"provisional\" data-explains=\"provisional\">Money paid in the last 30 days is provisional: it may still be refunded.</span>"),
            "{html}"
        );
    }

    #[test]
    fn verdicts_are_said_to_stay_valid_however_often_the_page_is_read() {
        let html = render(&report(None));
        assert!(
            html.contains("the first is the control. Verdicts use an always-valid test: they stay valid however often the report is read, so a significant one can be acted on at once. The test starts at 30 impressions on each variant."),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"verdict\" data-variant=\"badge\">Not yet significant (always-valid p = 0.651).</p>"),
            "{html}"
        );
        assert!(
            !html.contains("fixed horizon") && !html.contains("fixed-horizon"),
            "{html}"
        );
    }

    #[test]
    fn the_holdout_has_its_section_when_there_is_one() {
        assert!(!render(&report(None)).contains("Do offers add money?"));
        let html = render(&report(Some(holdout_report())));
        let section = html.find("<section data-holdout aria-labelledby=\"holdout\"><h2 id=\"holdout\">Do offers add money?</h2>").expect(&html);
        // Before the offers: the first question a merchant has.
        assert!(section < html.find("data-offer=\"pro\"").unwrap(), "{html}");
        assert!(
            html.contains("<p>10 % of customers are held out: they are shown no offer. Value is"),
            "{html}"
        );
        assert!(
            html.contains("<table data-currency=\"USD\"><caption>In USD</caption>"),
            "{html}"
        );
        assert!(
            html.contains("<tr data-arm=\"offers\"><th scope=\"row\">Shown offers</th><td data-field=\"purchases\">400</td><td data-field=\"customers\">200</td><td data-field=\"per_purchase\">10.00 USD</td><td data-field=\"per_customer\">20.00 USD</td></tr>"),
            "{html}"
        );
        assert!(
            html.contains("<tr data-arm=\"holdout\"><th scope=\"row\">Held out</th><td data-field=\"purchases\">50</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td data-field=\"incremental_per_customer\">23.75 USD<span class=\"note\">95 % interval 10.00 USD to 37.50 USD</span></td>"),
            "{html}"
        );
        assert!(
            html.contains("<td data-field=\"incremental_per_purchase\">13.00 USD<span class=\"note\">95 % interval 5.12 USD to 20.88 USD</span></td>"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"verdict significant\" data-currency=\"USD\">Offers add money: 23.75 USD per customer"),
            "{html}"
        );
        // JPY has no answer yet, and says why.
        assert!(
            html.contains("<td data-field=\"incremental_per_customer\"><span class=\"note\">not known yet: each side needs 30 customers</span></td>"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"verdict\" data-currency=\"JPY\">No answer yet:"),
            "{html}"
        );
    }

    #[test]
    fn offers_that_lose_money_are_marked_so_and_text_is_escaped() {
        let mut holdout = holdout_report();
        let usd_side = &mut holdout.currencies[0];
        usd_side.incremental_per_customer = Some(Interval {
            estimate: -500.0,
            low: -900.0,
            high: -100.0,
        });
        usd_side.summary = "Offers lose money <script>".into();
        let mut report = report(Some(holdout));
        report.offers[0].variants[1].revenue = vec![usd(9000)];
        let html = render(&report);
        assert!(
            html.contains("<p class=\"verdict loss\" data-currency=\"USD\">Offers lose money &lt;script&gt;</p>"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}
