//! Impressions: an offer counts as seen when at least half of its card has been on the
//! customer's screen, styled (the widget stays hidden until its stylesheet loads, and a hidden
//! card never intersects). The browser's `IntersectionObserver` says when; the widget then
//! tells the proxy once per offer, which counts it once per purchase however often it is told.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::js_sys::Array;
use web_sys::{Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

/// The share of the card that must be on screen.
const VISIBLE_SHARE: f64 = 0.5;

/// Watches one card until it is seen. Dropping it stops watching.
pub struct Watcher {
    observer: IntersectionObserver,
    // The observer calls into this closure: it must live as long as the observer.
    _callback: Closure<dyn FnMut(Array)>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// Calls `on_seen` once, the first time `card` is on screen; `None` when the browser has no
/// `IntersectionObserver` (then nothing is reported: an impression is never guessed).
pub fn watch(card: &Element, on_seen: impl FnOnce() + 'static) -> Option<Watcher> {
    let mut on_seen = Some(on_seen);
    let callback = Closure::<dyn FnMut(Array)>::new(move |entries: Array| {
        // The observer passes only its entries: no need to check their type.
        let seen = entries.iter().any(|entry| {
            entry
                .unchecked_into::<IntersectionObserverEntry>()
                .intersection_ratio()
                >= VISIBLE_SHARE
        });
        // Once: later crossings of the threshold are the same impression.
        if seen {
            if let Some(on_seen) = on_seen.take() {
                on_seen();
            }
        }
    });
    let options = IntersectionObserverInit::new();
    options.set_threshold(&JsValue::from_f64(VISIBLE_SHARE));
    let observer =
        IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &options).ok()?;
    observer.observe(card);
    Some(Watcher {
        observer,
        _callback: callback,
    })
}
