//! The placeholder shown while the offer loads: the card's size, so the page does not jump.

use crate::text;
use leptos::prelude::*;

#[component]
pub fn Skeleton() -> impl IntoView {
    view! {
        <div class="dodo-upsell dodo-upsell--loading" aria-busy="true">
            <span class="dodo-upsell__sr-only">{text::LOADING}</span>
        </div>
    }
}
