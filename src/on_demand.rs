//! Parts of the widget that a first offer does not need, fetched only when they are: the plan
//! changes (`views::plan_flow`) and every language but English (`i18n`).
//!
//! In the build merchants get (the `split` feature, which trunk builds), each part declared
//! with [`on_demand!`] is cut out of the main wasm into a file of its own by `cargo xtask
//! widget-dist` (Leptos' code splitting: `wasm_split`), and fetched the first time it is
//! called. Without the feature (`cargo test`), the same functions are ordinary ones in one
//! module, so the tests run the same views.
//!
//! What is a part was decided by bytes: a part costs the main module about a kilobyte of
//! machinery, and a charge's outcomes (failed, 3-D Secure, still processing) would have saved
//! less than that, since a part that fails to arrive must still leave the customer the bank's
//! link and the standard checkout (see the README's "How the widget loads").
//!
//! A part may fail to arrive (a network that drops, a file missing from a CDN). That never
//! breaks the widget or the page: every call returns `Result<_, PartUnavailable>`; the caller
//! says so plainly (a plan change) or does without (a language falls back to English), and the
//! failure is reported to the proxy, which counts it (`upsell_widget_errors_total`). A failed
//! fetch is not remembered: the next call tries again. Leptos' own `#[lazy]` panics on a failed
//! fetch; `on_demand!` asks `wasm_split` for its `fallible` form instead.
//!
//! Once the first offer is on screen, [`prefetch_when_idle`] fetches the parts the customer may
//! need next while the browser has nothing else to do, so that no click waits for a download;
//! the loader (`embed/upsell.js`) starts the ones it can tell an element will need earlier still.

use crate::api;
use std::time::Duration;
use upsell_wire::{WidgetErrorReport, WIDGET_ERROR_PART_UNAVAILABLE};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::js_sys::Function;

/// A part of the widget that could not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartUnavailable;

impl From<leptos::wasm_split::SplitLoaderError> for PartUnavailable {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        PartUnavailable
    }
}

/// The parts fetched on demand, by the name their failures are counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The plan comparison, its preview and confirm (`views::plan_flow`).
    PlanChange,
    /// The strings of a language other than English (`i18n`).
    Language,
}

impl Part {
    /// The name the proxy counts its failures under (`upsell_wire::WIDGET_PARTS`).
    pub fn name(self) -> &'static str {
        match self {
            Part::PlanChange => "plan_change",
            Part::Language => "language",
        }
    }
}

/// Declares a function of a part fetched on demand. It is called as
/// `name(args).await -> Result<T, PartUnavailable>`, and `preload_name().await` fetches its
/// part without calling it (its error converts with `PartUnavailable::from`).
///
/// ```ignore
/// on_demand! {
///     /// The plan comparison.
///     pub fn plan_change_view(context: WidgetContext, change: PlanChange) -> AnyView {
///         view! { <PlanFlow context change /> }.into_any()
///     }
///     part plan_change, preload preload_plan_change;
/// }
/// ```
///
/// Functions naming the same part go into the same file. The arguments and result cross from
/// one wasm module to another by value, so they must be concrete types (no generics or `impl`).
macro_rules! on_demand {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty $body:block
        part $part:ident, preload $preload:ident;
    ) => {
        $(#[$attr])*
        #[cfg(feature = "split")]
        #[::leptos::wasm_split::wasm_split(
            $part,
            wasm_split_path = ::leptos::wasm_split,
            fallible,
            preload(#[allow(dead_code)] $preload)
        )]
        $vis fn $name($($arg: $ty),*) -> ::core::result::Result<$ret, $crate::on_demand::PartUnavailable> {
            let value: $ret = $body;
            ::core::result::Result::Ok(value)
        }

        $(#[$attr])*
        #[cfg(not(feature = "split"))]
        $vis async fn $name($($arg: $ty),*) -> ::core::result::Result<$ret, $crate::on_demand::PartUnavailable> {
            $preload().await?;
            let value: $ret = $body;
            ::core::result::Result::Ok(value)
        }

        /// Fetches this function's part without calling it (nothing to fetch in one module,
        /// unless a test has made parts unavailable).
        #[cfg(not(feature = "split"))]
        #[allow(dead_code)]
        $vis async fn $preload() -> ::core::result::Result<(), $crate::on_demand::PartUnavailable> {
            $crate::on_demand::unsplit::load(stringify!($part))
        }
    };
}

pub(crate) use on_demand;

/// Without the `split` feature there is nothing to fetch, so a part can only be unavailable
/// when a test says so: the widget's tests check what a customer sees when one fails to arrive
/// (the end-to-end tests block the real files of the split build).
#[cfg(not(feature = "split"))]
#[doc(hidden)]
pub mod unsplit {
    use std::cell::RefCell;

    thread_local! {
        static UNAVAILABLE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    /// Parts named here fail to load until [`make_available`] (tests only).
    pub fn make_unavailable(part: &str) {
        UNAVAILABLE.with(|parts| parts.borrow_mut().push(part.to_string()));
    }

    /// Every part loads again (tests only).
    pub fn make_available() {
        UNAVAILABLE.with(|parts| parts.borrow_mut().clear());
    }

    pub fn load(part: &str) -> Result<(), super::PartUnavailable> {
        if UNAVAILABLE.with(|parts| parts.borrow().iter().any(|p| p == part)) {
            Err(super::PartUnavailable)
        } else {
            Ok(())
        }
    }
}

/// Tells the proxy that `part` could not be fetched, as a beacon (the proxy counts it; nothing
/// waits for the answer).
pub fn report_unavailable(endpoint: &str, part: Part) {
    api::report_widget_error(
        endpoint,
        &WidgetErrorReport {
            kind: WIDGET_ERROR_PART_UNAVAILABLE.into(),
            part: part.name().into(),
        },
    );
}

#[wasm_bindgen]
extern "C" {
    /// `window.requestIdleCallback`, which not every browser has.
    #[wasm_bindgen(js_namespace = window, js_name = requestIdleCallback, catch)]
    fn request_idle_callback(callback: &Function) -> Result<u32, JsValue>;
}

/// Runs `fetch` when the browser is idle (or after a short pause where it cannot say), so that
/// the parts the customer may need next arrive without competing with the offer itself.
pub fn prefetch_when_idle(fetch: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(fetch);
    let function: &Function = callback.unchecked_ref();
    if request_idle_callback(function).is_err() {
        let function = function.clone();
        leptos::prelude::set_timeout(
            move || {
                let _ = function.call0(&JsValue::NULL);
            },
            Duration::from_millis(200),
        );
    }
}
