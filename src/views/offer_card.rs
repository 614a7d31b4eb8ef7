//! The offer card: what is offered, what it costs, which card pays, and the two buttons.
//! It only displays a [`Phase`] and reports clicks; [`super::offer_flow`] decides what they do.

use crate::money::format_money;
use crate::text;
use leptos::prelude::*;
use upsell_wire::{Money, Offer};

/// Where the customer is with this offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Shown, waiting for a choice.
    Offered,
    /// Accepted; the charge is under way. Clicks are ignored.
    Processing,
    /// Charged this much.
    Succeeded(Money),
    /// Not charged, for this reason. Never retried by itself.
    Failed(String),
    /// The bank wants the customer to confirm the payment.
    RequiresAction,
    /// Still not final after the widget stopped waiting.
    StillProcessing,
    /// The customer said no.
    Declined,
}

/// Renders one offer.
#[component]
pub fn OfferCard(
    /// The offer, as the proxy sent it.
    offer: Offer,
    /// Locale for prices, e.g. `en-US`.
    #[prop(into)]
    locale: String,
    /// Where the customer is with this offer.
    #[prop(into)]
    phase: Signal<Phase>,
    /// Called when "Add to my order" is clicked while the offer is open.
    on_accept: Callback<()>,
    /// Called when "No thanks" is clicked while the offer is open.
    on_decline: Callback<()>,
) -> impl IntoView {
    let total = Money {
        amount: offer.price.amount * i64::from(offer.quantity),
        currency: offer.price.currency.clone(),
    };
    let price = format_money(&total, &locale);
    let card = format!(
        "{} {} {} {}",
        text::CHARGED_TO,
        offer.payment_method.network,
        text::ENDING_IN,
        offer.payment_method.last4
    );
    let is_open = move || phase.get() == Phase::Offered;
    let is_busy = move || phase.get() == Phase::Processing;
    let status_locale = locale.clone();
    let status = move || match phase.get() {
        Phase::Offered => String::new(),
        Phase::Processing => text::PROCESSING.to_string(),
        Phase::Succeeded(charged) => {
            format!(
                "{} {}.",
                text::SUCCEEDED,
                format_money(&charged, &status_locale)
            )
        }
        Phase::Failed(reason) => format!("{} {}", text::FAILED, reason),
        Phase::RequiresAction => text::REQUIRES_ACTION.to_string(),
        Phase::StillProcessing => text::STILL_PROCESSING.to_string(),
        Phase::Declined => text::DECLINED.to_string(),
    };
    let outcome = move || match phase.get() {
        Phase::Succeeded(_) => "succeeded",
        Phase::Failed(_) => "failed",
        Phase::Declined => "declined",
        Phase::Processing | Phase::StillProcessing => "processing",
        Phase::RequiresAction => "requires-action",
        Phase::Offered => "offered",
    };
    let image = offer.image.clone().map(|src| {
        view! { <img class="dodo-upsell__image" src=src alt="" width="96" height="96" /> }
    });

    view! {
        <article class="dodo-upsell" data-state=outcome>
            {image}
            <div class="dodo-upsell__body">
                <h2 class="dodo-upsell__title">{offer.title.clone()}</h2>
                {offer.description.clone().map(|d| view! { <p class="dodo-upsell__description">{d}</p> })}
                <p class="dodo-upsell__price">{price}</p>
                <p class="dodo-upsell__card">{card}</p>
                <Show when=move || is_open() || is_busy()>
                    <div class="dodo-upsell__actions">
                        <button
                            type="button"
                            class="dodo-upsell__accept"
                            disabled=is_busy
                            aria-busy=move || is_busy().to_string()
                            on:click=move |_| {
                                if is_open() {
                                    on_accept.run(());
                                }
                            }
                        >
                            {text::ADD_TO_ORDER}
                        </button>
                        <button
                            type="button"
                            class="dodo-upsell__decline"
                            disabled=is_busy
                            on:click=move |_| {
                                if is_open() {
                                    on_decline.run(());
                                }
                            }
                        >
                            {text::NO_THANKS}
                        </button>
                    </div>
                </Show>
                <p class="dodo-upsell__status" role="status" aria-live="polite">{status}</p>
            </div>
        </article>
    }
}
