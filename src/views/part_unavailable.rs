//! What the customer sees in place of a part of the widget that could not be fetched (see
//! `crate::on_demand`): a plain sentence, never a broken card, and the failure counted.

use crate::i18n::Texts;
use crate::on_demand::{self, Part};
use leptos::prelude::*;

#[component]
pub fn PartUnavailable(
    /// Strings of the widget's language.
    texts: &'static Texts,
    /// The proxy, told of the failure (`crate::on_demand::report_unavailable`).
    #[prop(into)]
    endpoint: String,
    /// Which part could not be fetched.
    part: Part,
) -> impl IntoView {
    on_demand::report_unavailable(&endpoint, part);
    view! {
        <p class="dodo-upsell__status dodo-upsell__part-unavailable" role="status" data-part=part.name()>
            {texts.part_unavailable}
        </p>
    }
}
