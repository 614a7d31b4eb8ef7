//! Time left on an offer. The countdown is measured from the proxy's `expires_in_seconds`
//! against the browser's monotonic clock, so a customer whose clock is wrong still sees the
//! server's real expiry; the clock time it ends at is formatted by the browser's `Intl`.

use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type DateTimeFormat;

    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "DateTimeFormat", catch)]
    fn new(locale: &str, options: &JsValue) -> Result<DateTimeFormat, JsValue>;

    #[wasm_bindgen(method)]
    fn format(this: &DateTimeFormat, date: &JsValue) -> String;

    #[wasm_bindgen(js_name = Date)]
    type JsDate;

    #[wasm_bindgen(constructor, js_class = "Date")]
    fn new_at(milliseconds: f64) -> JsDate;

    #[wasm_bindgen(constructor, js_class = "Date")]
    fn parse_iso(iso: &str) -> JsDate;

    #[wasm_bindgen(static_method_of = JsDate, js_class = "Date")]
    fn now() -> f64;
}

/// Milliseconds on the page's monotonic clock.
pub fn monotonic_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(JsDate::now)
}

/// `m:ss` (or `h:mm:ss` past an hour) for a countdown.
pub fn clock_text(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (hours, minutes, secs) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

/// The browser's date formatter for `locale` with these options.
fn date_time_format(locale: &str, options: &impl Serialize) -> Option<DateTimeFormat> {
    serde_wasm_bindgen::to_value(options)
        .ok()
        .and_then(|options| DateTimeFormat::new(locale, &options).ok())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimeOptions {
    hour: &'static str,
    minute: &'static str,
}

/// The clock time `seconds` from now, e.g. `10:42 AM` in `en-US`, `10:42` in `de-DE`.
pub fn clock_time_in(seconds: i64, locale: &str) -> String {
    let date = JsDate::new_at(JsDate::now() + seconds as f64 * 1000.0);
    let options = TimeOptions {
        hour: "numeric",
        minute: "2-digit",
    };
    match date_time_format(locale, &options) {
        Some(formatter) => formatter.format(&date),
        None => clock_text(seconds),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DateOptions {
    date_style: &'static str,
}

/// A date, e.g. `January 16, 2026` in `en-US`, `16. Januar 2026` in `de-DE`. A date the
/// browser cannot read is shown as it came.
pub fn format_date(iso: &str, locale: &str) -> String {
    let date = JsDate::parse_iso(iso);
    match date_time_format(locale, &DateOptions { date_style: "long" }) {
        Some(formatter) => {
            let text = formatter.format(&date);
            if text.contains("Invalid") {
                iso.to_string()
            } else {
                text
            }
        }
        None => iso.to_string(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitOptions<'a> {
    style: &'static str,
    unit: &'a str,
    unit_display: &'static str,
}

/// A billing period of several units, e.g. `30 days`, `3 Monate`, from the browser's `Intl`.
pub fn format_period(count: u32, unit: &str, locale: &str) -> String {
    let options = UnitOptions {
        style: "unit",
        unit,
        unit_display: "long",
    };
    match crate::money::number_format(locale, &options) {
        Some(formatter) => formatter.format(f64::from(count)),
        None => format!("{count} {unit}"),
    }
}
