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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimeOptions {
    hour: &'static str,
    minute: &'static str,
}

/// The clock time `seconds` from now, e.g. `10:42 AM` in `en-US`, `10:42` in `de-DE`.
pub fn clock_time_in(seconds: i64, locale: &str) -> String {
    let date = JsDate::new_at(JsDate::now() + seconds as f64 * 1000.0);
    let formatter = serde_wasm_bindgen::to_value(&TimeOptions {
        hour: "numeric",
        minute: "2-digit",
    })
    .ok()
    .and_then(|options| DateTimeFormat::new(locale, &options).ok());
    match formatter {
        Some(formatter) => formatter.format(&date),
        None => clock_text(seconds),
    }
}
