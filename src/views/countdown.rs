//! The offer's expiry: an optional countdown to the server's real expiry, and in any case the
//! moment the offer leaves the page.

use crate::i18n::{fill, Texts};
use crate::time_left::{clock_text, clock_time_in, monotonic_ms};
use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn Countdown(
    /// Seconds left when the offers were loaded.
    expires_in_seconds: i64,
    /// Whether the merchant wants the time shown; the offer expires either way.
    visible: bool,
    /// Strings of the widget's language.
    texts: &'static Texts,
    /// Locale for the clock time it ends at.
    #[prop(into)]
    locale: String,
    /// Called once, when the offer expires.
    on_expired: Callback<()>,
) -> impl IntoView {
    let deadline = monotonic_ms() + expires_in_seconds as f64 * 1000.0;
    let seconds_left = move || ((deadline - monotonic_ms()) / 1000.0).ceil() as i64;
    let left = RwSignal::new(seconds_left());
    let expired = std::cell::Cell::new(false);
    let ticker = set_interval_with_handle(
        move || {
            let now_left = seconds_left();
            left.try_set(now_left);
            if now_left <= 0 && !expired.replace(true) {
                on_expired.try_run(());
            }
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(ticker) = ticker {
            ticker.clear();
        }
    });
    // The screen reader's "Ends at 10:42 AM" is written just after the card is shown: the
    // browser's first `Intl.DateTimeFormat` costs tens of milliseconds, which would otherwise
    // delay the offer itself.
    let ends_at = RwSignal::new(String::new());
    set_timeout(
        move || {
            ends_at.try_set(fill(
                texts.ends_at,
                &[("time", &clock_time_in(expires_in_seconds, &locale))],
            ));
        },
        Duration::ZERO,
    );
    visible.then(|| {
        view! {
            <p class="dodo-upsell__countdown">
                <span aria-hidden="true">
                    {move || fill(texts.ends_in, &[("time", &clock_text(left.get()))])}
                </span>
                <span class="dodo-upsell__sr-only">{move || ends_at.get()}</span>
            </p>
        }
    })
}
