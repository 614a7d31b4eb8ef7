//! Which saved card pays: the preselected one named, or a choice when the customer has several.

use crate::context::WidgetContext;
use crate::i18n::fill;
use leptos::prelude::*;

#[component]
pub fn PaymentPicker(
    /// The widget's settings; its `payment_methods` and `chosen_method` are read and set here.
    context: WidgetContext,
    /// Makes the picker's id unique on the page (one per offer shown).
    #[prop(into)]
    offer_id: String,
) -> impl IntoView {
    let texts = context.texts;
    let methods = context.payment_methods;
    let chosen = context.chosen_method;
    let id = format!("dodo-upsell-card-{}-{offer_id}", context.widget_id);
    move || {
        let list = methods.get();
        let label = |network: &str, last4: &str| {
            fill(texts.card, &[("network", network), ("last4", last4)])
        };
        match list.as_slice() {
            [] => None,
            [only] => Some(
                view! {
                    <p class="dodo-upsell__card">
                        {fill(texts.charged_to, &[("card", &label(&only.network, &only.last4))])}
                    </p>
                }
                .into_any(),
            ),
            several => {
                let options = several
                    .iter()
                    .map(|m| {
                        let value = m.payment_method_id.clone();
                        let selected = chosen.get_untracked().as_deref() == Some(value.as_str());
                        view! {
                            <option value=value selected=selected>{label(&m.network, &m.last4)}</option>
                        }
                    })
                    .collect_view();
                Some(
                    view! {
                        <label class="dodo-upsell__card dodo-upsell__card-choice" for=id.clone()>
                            {texts.pay_with}
                            <select
                                id=id.clone()
                                on:change=move |ev| chosen.set(Some(event_target_value(&ev)))
                            >
                                {options}
                            </select>
                        </label>
                    }
                    .into_any(),
                )
            }
        }
    }
}
