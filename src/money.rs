//! Prices shown in the customer's locale by the browser's own `Intl.NumberFormat`: the browser
//! knows every currency's symbol, placement and number of decimals, so the widget carries no
//! table of its own.

use serde::Serialize;
use std::cell::RefCell;
use upsell_wire::Money;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Intl, js_name = NumberFormat)]
    pub(crate) type NumberFormat;

    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "NumberFormat", catch)]
    fn new(locale: &str, options: &JsValue) -> Result<NumberFormat, JsValue>;

    #[wasm_bindgen(method)]
    pub(crate) fn format(this: &NumberFormat, value: f64) -> String;

    #[wasm_bindgen(method, js_name = resolvedOptions)]
    fn resolved_options(this: &NumberFormat) -> ResolvedOptions;

    type ResolvedOptions;

    #[wasm_bindgen(method, getter, js_name = maximumFractionDigits)]
    fn maximum_fraction_digits(this: &ResolvedOptions) -> u32;
}

#[derive(Serialize)]
struct CurrencyOptions<'a> {
    style: &'a str,
    currency: &'a str,
}

/// The browser's number formatter for `locale` with these options; `None` when the browser
/// does not know the locale or an option.
pub(crate) fn number_format(locale: &str, options: &impl Serialize) -> Option<NumberFormat> {
    serde_wasm_bindgen::to_value(options)
        .ok()
        .and_then(|options| NumberFormat::new(locale, &options).ok())
}

/// A currency's formatter and its minor-unit exponent (2 for USD, 0 for JPY); `None` when the
/// browser does not know the locale or the currency.
type CurrencyFormat = Option<(NumberFormat, u32)>;

thread_local! {
    /// Currency formatters by locale and currency (a page has one or two: a list is enough).
    /// Making an `Intl.NumberFormat` costs the browser far more than using one, and a card
    /// shows the same currency several times (price, list price, button, confirmation).
    static CURRENCY_FORMATS: RefCell<Vec<(String, String, CurrencyFormat)>> =
        const { RefCell::new(Vec::new()) };
}

/// Formats an amount in minor units, e.g. 5000 USD in `en-US` → `$50.00`, 5000 JPY in `ja-JP`
/// → `￥5,000`. An unknown locale or currency falls back to the amount and code.
pub fn format_money(money: &Money, locale: &str) -> String {
    CURRENCY_FORMATS.with(|formats| {
        let mut formats = formats.borrow_mut();
        let known = formats
            .iter()
            .position(|(l, c, _)| l == locale && *c == money.currency);
        let index = known.unwrap_or_else(|| {
            let options = CurrencyOptions {
                style: "currency",
                currency: &money.currency,
            };
            let format = number_format(locale, &options).map(|formatter| {
                // The currency's minor-unit exponent, as the browser knows it.
                let digits = formatter.resolved_options().maximum_fraction_digits();
                (formatter, digits)
            });
            formats.push((locale.to_string(), money.currency.clone(), format));
            formats.len() - 1
        });
        match &formats[index].2 {
            Some((formatter, digits)) => {
                formatter.format(money.amount as f64 / 10f64.powi(*digits as i32))
            }
            None => format!("{} {}", money.amount, money.currency),
        }
    })
}
