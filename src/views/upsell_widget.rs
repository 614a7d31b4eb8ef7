//! The whole widget: after a purchase, loads its offers (and, after a subscription purchase,
//! its plan changes) and shows them one after another; on an account page, the plan changes
//! its account token opens, or the change already scheduled, which the subscriber may undo.

use crate::api;
use crate::context::WidgetContext;
use crate::host;
use crate::on_demand::{self, Part, PartUnavailable as Unavailable};
use crate::views::offer_flow::{OfferFlow, OfferOutcome};
use crate::views::part_unavailable::PartUnavailable;
use crate::views::plan_flow;
use crate::views::skeleton::Skeleton;
use api::{array_items, OffersAnswer, PlanChangesAnswer};
use leptos::prelude::*;
use std::collections::VecDeque;
use upsell_wire::Offer;
use wasm_bindgen::JsValue;

#[component]
pub fn UpsellWidget(
    /// The widget's settings and shared state.
    context: WidgetContext,
) -> impl IntoView {
    let entries = LocalResource::new({
        let endpoint = context.endpoint.clone();
        let payment_id = context.payment_id.clone();
        let account_token = context.account_token.clone();
        let purchase_token = context.purchase_token.clone();
        let locale = context.locale.clone();
        let first_answer = context.first_answer;
        move || {
            let endpoint = endpoint.clone();
            let payment_id = payment_id.clone();
            let account_token = account_token.clone();
            let purchase_token = purchase_token.clone();
            let locale = locale.clone();
            let first_answer = first_answer.try_update_value(Option::take).flatten();
            async move {
                match (account_token, first_answer) {
                    (Some(_), Some(answer)) => api::read_first_answer::<PlanChangesAnswer>(answer)
                        .await
                        .map(|r| (Vec::new(), r.entries(), Vec::new())),
                    (Some(token), None) => api::fetch_plan_changes(&endpoint, &token, &locale)
                        .await
                        .map(|r| (Vec::new(), r.entries(), Vec::new())),
                    (None, Some(answer)) => api::read_first_answer::<OffersAnswer>(answer)
                        .await
                        .map(|r| (r.offers, array_items(&r.plan_changes), r.payment_methods)),
                    (None, None) => api::fetch_offers(
                        &endpoint,
                        &payment_id,
                        purchase_token.as_deref(),
                        &locale,
                    )
                    .await
                    .map(|r| (r.offers, array_items(&r.plan_changes), r.payment_methods)),
                }
            }
        }
    });
    let texts = context.texts;
    view! {
        <section class="dodo-upsell-widget" aria-label=texts.region_label>
            <Suspense fallback=move || view! { <Skeleton texts /> }>
                {
                    let context = context.clone();
                    move || {
                        let context = context.clone();
                        Suspend::new(async move {
                            match entries.await {
                                Ok((offers, plan_changes, methods))
                                    if !offers.is_empty() || !plan_changes.is_empty() =>
                                {
                                    let chosen = methods.first().map(|m| m.payment_method_id.clone());
                                    context.payment_methods.set(methods);
                                    context.chosen_method.set(chosen);
                                    // A subscriber's plan change first, then the one-click offers.
                                    let entries = (0..plan_changes.len())
                                        .map(Entry::Plan)
                                        .chain(offers.into_iter().map(Entry::Offer))
                                        .collect();
                                    Some(view! { <OfferQueue context entries plan_changes /> })
                                }
                                // An optional offer must never put an error on a thank-you
                                // page: when there is nothing to offer, or the service is
                                // down, show nothing, and give back the room the page kept.
                                _ => {
                                    host::release_reserved_room(context.widget_id);
                                    None
                                }
                            }
                        })
                    }
                }
            </Suspense>
        </section>
    }
}

/// One thing the widget offers.
#[derive(Debug, Clone)]
enum Entry {
    Offer(Offer),
    /// The plan change at this index of the answer's, read by the plan change's part.
    Plan(usize),
}

/// The offers of a purchase, one at a time: the next appears once the customer has answered
/// the one before (an accepted offer's confirmation stays above it).
#[component]
fn OfferQueue(
    context: WidgetContext,
    entries: Vec<Entry>,
    /// The plan changes of the answer, unread (see `api::OffersAnswer`).
    plan_changes: Vec<JsValue>,
) -> impl IntoView {
    let widget_id = context.widget_id;
    let plan_changes = StoredValue::new_local(plan_changes);
    let mut queue: VecDeque<Entry> = entries.into();
    let first = queue.pop_front();
    let queue = StoredValue::new(queue);
    let shown = RwSignal::new(first.into_iter().enumerate().collect::<Vec<_>>());
    let next_key = StoredValue::new(1usize);
    let on_outcome = Callback::new(move |(key, outcome): (usize, OfferOutcome)| {
        if outcome == OfferOutcome::Gone {
            shown.try_update(|list| list.retain(|(k, _)| *k != key));
        }
        if matches!(
            outcome,
            OfferOutcome::PlanChanged | OfferOutcome::PlansUnavailable
        ) {
            queue.try_update_value(|q| q.retain(|e| !matches!(e, Entry::Plan(_))));
        }
        let next = queue.try_update_value(|q| q.pop_front()).flatten();
        if let (Some(next), Some(key)) = (next, next_key.try_get_value()) {
            next_key.try_set_value(key + 1);
            shown.try_update(|list| list.push((key, next)));
        }
        // The last offer has left the page: so does the room it had.
        if shown.try_with_untracked(Vec::is_empty) == Some(true) {
            host::release_reserved_room(widget_id);
        }
    });
    // Once the first offer is on screen, a plan change further down the queue is fetched
    // while the browser is idle, so that it shows without a wait.
    if entries_have(&shown, &queue, |e| matches!(e, Entry::Plan(_))) {
        on_demand::prefetch_when_idle(|| {
            leptos::task::spawn_local(async {
                let _ = plan_flow::preload_plan_change().await;
            });
        });
    }
    view! {
        <For each=move || shown.get() key=|(key, _)| *key let:((key, entry))>
            {
                let on_outcome = Callback::new(move |outcome| on_outcome.run((key, outcome)));
                // A downsell may also be an offer of its own further down the queue.
                let on_downsell = Callback::new(move |offer_id: String| {
                    queue.try_update_value(|q| {
                        q.retain(|e| !matches!(e, Entry::Offer(o) if o.offer_id == offer_id))
                    });
                });
                match entry {
                    Entry::Offer(offer) => view! {
                        <OfferFlow context=context.clone() offer on_outcome on_downsell />
                    }
                    .into_any(),
                    Entry::Plan(index) => {
                        let change = plan_changes.with_value(|list| list.get(index).cloned());
                        view! {
                            <PlanChangePart context=context.clone() change on_outcome />
                        }
                        .into_any()
                    }
                }
            }
        </For>
    }
}

/// True when an entry on screen or in the queue is `wanted`.
fn entries_have(
    shown: &RwSignal<Vec<(usize, Entry)>>,
    queue: &StoredValue<VecDeque<Entry>>,
    wanted: impl Fn(&Entry) -> bool,
) -> bool {
    shown.with_untracked(|list| list.iter().any(|(_, e)| wanted(e)))
        || queue.with_value(|q| q.iter().any(&wanted))
}

/// A plan change, from its part fetched on demand: a card-sized placeholder while it arrives,
/// and a plain sentence if it cannot (then the offers after it are shown).
#[component]
fn PlanChangePart(
    context: WidgetContext,
    /// An `upsell_wire::PlanChange`, unread.
    change: Option<JsValue>,
    on_outcome: Callback<OfferOutcome>,
) -> impl IntoView {
    let change = change.unwrap_or_default();
    let texts = context.texts;
    view! {
        <Suspense fallback=move || view! { <Skeleton texts /> }>
            {move || {
                let (context, change) = (context.clone(), change.clone());
                Suspend::new(async move {
                    let endpoint = context.endpoint.clone();
                    match plan_flow::plan_change_view(context, change, on_outcome).await {
                        Ok(view) => view,
                        Err(Unavailable) => {
                            on_outcome.try_run(OfferOutcome::PlansUnavailable);
                            view! {
                                <article class="dodo-upsell" data-state="unavailable">
                                    <PartUnavailable texts endpoint part=Part::PlanChange />
                                </article>
                            }
                            .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}
