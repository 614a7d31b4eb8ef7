//! One offer: its badge and countdown, its items, and "No thanks", which records the decline
//! and shows the downsell the proxy sends back, or thanks the customer and closes.

use crate::api;
use crate::context::WidgetContext;
use crate::events::{self, Detail};
use crate::impression;
use crate::offer_visible;
use crate::views::countdown::Countdown;
use crate::views::item_flow::ItemFlow;
use crate::views::payment_picker::PaymentPicker;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use upsell_wire::{DeclineRequest, ImpressionRequest, Offer, OfferKind};

/// How long the thanks stays on screen after "No thanks" before the widget closes.
const CLOSE_AFTER_DECLINE: Duration = Duration::from_secs(3);

/// How an offer ended, for the queue of offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferOutcome {
    /// The customer answered with a charge (succeeded or failed): its card stays, with its
    /// confirmation or its reason and fallback.
    Answered,
    /// Declined at the end of its chain, or expired: it has left the page.
    Gone,
    /// A plan change was made: its confirmation stays, and the other plan changes offered
    /// (which start from the plan the subscriber has left) are no longer shown.
    PlanChanged,
    /// The plan changes' part could not be fetched: its place says so, and the other plan
    /// changes offered (which need the same part) are not shown.
    PlansUnavailable,
}

fn kind_name(kind: OfferKind) -> &'static str {
    match kind {
        OfferKind::Upsell => "upsell",
        OfferKind::Downsell => "downsell",
        OfferKind::CrossSell => "cross_sell",
    }
}

#[component]
pub fn OfferFlow(
    /// The widget's settings and shared state.
    context: WidgetContext,
    /// The offer to show first.
    offer: Offer,
    /// Called once, when the offer has been answered or has gone.
    on_outcome: Callback<OfferOutcome>,
    /// Called with the id of a downsell when it takes the declined offer's place, so that the
    /// queue does not show it a second time.
    #[prop(optional)]
    on_downsell: Option<Callback<String>>,
) -> impl IntoView {
    let texts = context.texts;
    let current = RwSignal::new(offer);
    let declining = RwSignal::new(false);
    let declined = RwSignal::new(false);
    let closed = RwSignal::new(false);
    let started = RwSignal::new(0usize);
    let settled = RwSignal::new(0usize);
    let reported = StoredValue::new(false);
    // `try_`: a timer may fire after the widget was unmounted; then there is no one to tell.
    let report = move |outcome| {
        if reported.try_get_value() == Some(false) {
            reported.try_set_value(true);
            on_outcome.try_run(outcome);
        }
    };
    let article_ref = NodeRef::<leptos::html::Article>::new();

    let widget_id = context.widget_id;
    // Each offer put on screen (the downsell too) is announced to the page, and reported to
    // the proxy as seen once its card is in view. The effect owns the watcher: a new offer
    // replaces it, and it is dropped (and stops watching) with the view.
    let mut watcher: Option<impression::Watcher> = None;
    let endpoint = context.endpoint.clone();
    Effect::new(move || {
        let offer = current.get();
        offer_visible::offer_rendered(widget_id);
        events::emit(
            widget_id,
            events::SHOWN,
            &Detail {
                offer_id: offer.offer_id.clone(),
                kind: Some(kind_name(offer.kind)),
                ..Detail::default()
            },
        );
        // Effects run after the view: the card of this offer is the one in the DOM.
        let card = article_ref.get_untracked();
        let token = offer.items.first().map(|item| item.token.clone());
        let endpoint = endpoint.clone();
        let seen = card.zip(token).and_then(|(card, token)| {
            impression::watch(&card, move || {
                api::report_impression(&endpoint, &ImpressionRequest { token });
            })
        });
        // The watcher of the offer before stops here.
        drop(std::mem::replace(&mut watcher, seen));
    });

    let endpoint = context.endpoint.clone();
    let on_decline = Callback::new(move |()| {
        // Not while an item's charge is under way: its outcome must stay on screen.
        if declining.get_untracked()
            || declined.get_untracked()
            || started.get_untracked() > settled.get_untracked()
        {
            return;
        }
        let offer = current.get_untracked();
        let Some(first) = offer.items.first() else {
            return;
        };
        declining.set(true);
        let answered_already = settled.get_untracked() > 0;
        let request = DeclineRequest {
            token: first.token.clone(),
        };
        let endpoint = endpoint.clone();
        spawn_local(async move {
            let answer = api::decline(&endpoint, &request).await;
            if declining.try_set(false).is_some() {
                // Unmounted meanwhile.
                return;
            }
            if answer.is_ok() {
                events::emit(
                    widget_id,
                    events::DECLINED,
                    &Detail {
                        offer_id: offer.offer_id.clone(),
                        kind: Some(kind_name(offer.kind)),
                        ..Detail::default()
                    },
                );
            }
            match answer {
                // Part of a cross-sell was taken: its confirmation stays, the rest goes.
                _ if answered_already => {
                    declined.set(true);
                    report(OfferOutcome::Answered);
                }
                Ok(response) if response.next.is_some() => {
                    if let Some(next) = response.next {
                        if let Some(on_downsell) = on_downsell {
                            on_downsell.try_run(next.offer_id.clone());
                        }
                        started.set(0);
                        settled.set(0);
                        current.set(next);
                        // The focus was on "No thanks", which is gone: it goes to the new offer.
                        request_animation_frame(move || {
                            if let Some(article) = article_ref.try_get_untracked().flatten() {
                                let _ = article.focus();
                            }
                        });
                    }
                }
                // The end of the chain, or a decline that did not reach the proxy (then the
                // offer may be shown again on a reload, which is all it costs).
                _ => {
                    declined.set(true);
                    set_timeout(
                        move || {
                            if closed.try_set(true).is_none() {
                                report(OfferOutcome::Gone);
                            }
                        },
                        CLOSE_AFTER_DECLINE,
                    );
                }
            }
        });
    });

    let on_expired = Callback::new(move |()| {
        // An offer being paid for stays until its charge is final.
        if started.get_untracked() == 0 && !closed.get_untracked() {
            closed.set(true);
            report(OfferOutcome::Gone);
        }
    });

    let on_started = Callback::new(move |()| started.update(|n| *n += 1));
    let on_settled = Callback::new(move |_succeeded: bool| {
        settled.update(|n| *n += 1);
        if settled.get_untracked() >= current.get_untracked().items.len() {
            report(OfferOutcome::Answered);
        }
    });

    view! {
        <Show when=move || !closed.get()>
            {
                let context = context.clone();
                move || {
                    let offer = current.get();
                    let single = offer.items.len() == 1 && offer.kind != OfferKind::CrossSell;
                    let badge = offer.badge.as_deref().map(|b| {
                        view! { <p class="dodo-upsell__badge">{texts.badge(b)}</p> }
                    });
                    let items = offer
                        .items
                        .iter()
                        .cloned()
                        .map(|item| {
                            view! {
                                <ItemFlow
                                    context=context.clone()
                                    offer_id=offer.offer_id.clone()
                                    item
                                    single
                                    on_decline=single.then_some(on_decline)
                                    declining=declining
                                    on_started
                                    on_settled
                                />
                            }
                        })
                        .collect_view();
                    let footer_context = context.clone();
                    let offer_id = offer.offer_id.clone();
                    let footer = (!single).then(move || {
                        let context = footer_context;
                        let all_settled = move || {
                            settled.get() > 0 && settled.get() >= current.get().items.len()
                        };
                        let busy = move || declining.get() || started.get() > settled.get();
                        view! {
                            <Show when=move || !declined.get() && !all_settled()>
                                <PaymentPicker context=context.clone() offer_id=offer_id.clone() />
                                <div class="dodo-upsell__actions">
                                    <button
                                        type="button"
                                        class="dodo-upsell__decline"
                                        aria-disabled=move || busy().to_string()
                                        on:click=move |_| on_decline.run(())
                                    >
                                        {texts.no_thanks}
                                    </button>
                                </div>
                            </Show>
                        }
                    });
                    view! {
                        <article
                            node_ref=article_ref
                            tabindex="-1"
                            class="dodo-upsell"
                            data-kind=kind_name(offer.kind)
                            data-offer=offer.offer_id.clone()
                            data-state=move || if declined.get() { "declined" } else { "open" }
                        >
                            <div class="dodo-upsell__header">
                                {badge}
                                <Countdown
                                    expires_in_seconds=offer.expires_in_seconds
                                    visible=offer.countdown
                                    texts
                                    locale=context.locale.clone()
                                    on_expired
                                />
                            </div>
                            <div
                                class="dodo-upsell__items"
                                hidden=move || declined.get() && settled.get() == 0
                            >
                                {items}
                            </div>
                            {footer}
                            <p class="dodo-upsell__status dodo-upsell__offer-status" role="status" aria-live="polite">
                                {move || (declined.get() && settled.get() == 0).then_some(texts.declined)}
                            </p>
                        </article>
                    }
                }
            }
        </Show>
    }
}
