//! Amounts and rates for people to read, in the report's JSON summaries, its table and its
//! page: money with its currency's own number of decimals (ISO 4217), never through floating
//! point but for means, which are rounded to the minor unit.

use upsell_wire::Money;

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

/// An amount in minor units that need not be whole (a mean), for people to read: rounded to
/// the minor unit, with the currency's decimals.
pub fn minor_text(minor: f64, currency: &str) -> String {
    money_text(&Money {
        amount: minor.round() as i64,
        currency: currency.to_string(),
    })
}

/// A rate in percent with one decimal: `12.5 %`.
pub fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
