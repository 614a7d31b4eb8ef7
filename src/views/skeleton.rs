//! The placeholder shown while the offer loads: the card's size, so the page does not jump.

use crate::i18n::Texts;
use leptos::prelude::*;

#[component]
pub fn Skeleton(
    /// Strings of the widget's language.
    texts: &'static Texts,
) -> impl IntoView {
    view! {
        <div class="dodo-upsell dodo-upsell--loading" data-state="loading">
            <span class="dodo-upsell__sr-only" role="status">{texts.loading}</span>
        </div>
    }
}
