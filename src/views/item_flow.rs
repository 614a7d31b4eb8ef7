//! One offered product and its one click: what it is and costs, the quantity, the button, and
//! then its charge followed to a final state (processing, succeeded, failed with a way to pay
//! another way, or waiting for the customer's bank).

use crate::api::{self, ApiFailure};
use crate::context::WidgetContext;
use crate::events::{self, Detail};
use crate::i18n::fill;
use crate::idempotency_key::new_idempotency_key;
use crate::money::format_money;
use crate::views::payment_picker::PaymentPicker;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use upsell_wire::{AcceptRequest, AcceptResponse, AcceptStatus, CheckoutRequest, Money, OfferItem};
use wasm_bindgen::JsCast;

/// How often, and how many times, the widget asks for the final state of a charge.
const POLL_EVERY: Duration = Duration::from_secs(1);
const POLL_LIMIT: u32 = 60;
/// While the customer confirms with their bank (in another tab), the widget keeps asking,
/// more slowly, for up to 15 minutes: it picks the result up when they come back.
const ACTION_POLL_EVERY: Duration = Duration::from_secs(2);
const ACTION_POLL_LIMIT: u32 = 450;

/// Where the customer is with one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemPhase {
    /// Offered, waiting for a click.
    Open,
    /// Accepted; the charge is under way. Clicks are ignored.
    Processing,
    /// Charged this much.
    Succeeded(Money),
    /// Not charged, for this reason (already translated). Never retried by itself. `fallback`
    /// offers a standard checkout: only when the card was the problem, never when the outcome
    /// is unknown (a lost connection) or the offer itself is gone.
    Failed { reason: String, fallback: bool },
    /// The bank wants the customer to confirm, at this page.
    RequiresAction(Option<String>),
    /// Still not final after the widget stopped waiting.
    StillProcessing,
}

impl ItemPhase {
    fn name(&self) -> &'static str {
        match self {
            ItemPhase::Open => "offered",
            ItemPhase::Processing | ItemPhase::StillProcessing => "processing",
            ItemPhase::Succeeded(_) => "succeeded",
            ItemPhase::Failed { .. } => "failed",
            ItemPhase::RequiresAction(_) => "requires-action",
        }
    }
}

#[component]
pub fn ItemFlow(
    /// The widget's settings and shared state.
    context: WidgetContext,
    /// The offer this item belongs to, for events.
    #[prop(into)]
    offer_id: String,
    /// The item, as the proxy sent it.
    item: OfferItem,
    /// True when the item is the whole offer (an upsell or downsell): it then carries the
    /// card choice and the "No thanks" button, and its button says "Add to my order".
    single: bool,
    /// "No thanks", for a single-item offer (a cross-sell has one for all its items).
    #[prop(default = None)]
    on_decline: Option<Callback<()>>,
    /// True while the decline is being sent.
    #[prop(into)]
    declining: Signal<bool>,
    /// Called when the customer clicks the item's button.
    on_started: Callback<()>,
    /// Called once the item's charge is final: true when it succeeded.
    on_settled: Callback<bool>,
) -> impl IntoView {
    let texts = context.texts;
    let phase = RwSignal::new(ItemPhase::Open);
    let quantity = RwSignal::new(item.quantity.min);
    // One key per item shown: a repeated click or a retried request is the same accept.
    let idempotency_key = new_idempotency_key(&item.token);
    let one_click = move || context.chosen_method.get().is_some();
    let is_open = move || phase.get() == ItemPhase::Open;
    let is_busy = move || phase.get() == ItemPhase::Processing;
    let status_ref = NodeRef::<leptos::html::P>::new();
    // When the item's buttons give way to its outcome, the focus would fall to the page: it
    // goes to the outcome instead, which is also read out.
    Effect::new(move |was_open: Option<bool>| {
        let open = matches!(phase.get(), ItemPhase::Open | ItemPhase::Processing);
        if was_open == Some(true) && !open && focus_was_lost() {
            if let Some(status) = status_ref.get_untracked() {
                let _ = status.focus();
            }
        }
        open
    });

    let accept = {
        let context = context.clone();
        let item = item.clone();
        let offer_id = offer_id.clone();
        move || {
            if phase.get_untracked() != ItemPhase::Open || declining.get_untracked() {
                return;
            }
            phase.set(ItemPhase::Processing);
            on_started.run(());
            let request = AcceptRequest {
                token: item.token.clone(),
                idempotency_key: idempotency_key.clone(),
                quantity: quantity.get_untracked(),
                payment_method_id: context.chosen_method.get_untracked(),
            };
            let follower = Follower {
                context: context.clone(),
                offer_id: offer_id.clone(),
                item_id: item.item_id.clone(),
                quantity: request.quantity,
                phase,
                on_settled,
                following: None,
            };
            spawn_local(follower.send(request, 0));
        }
    };

    // Opening the standard checkout: clicks are ignored meanwhile; an error is said.
    let opening = RwSignal::new(false);
    let checkout_error = RwSignal::new(None::<&'static str>);
    let checkout = {
        let context = context.clone();
        let token = item.token.clone();
        move || {
            if opening.get_untracked() {
                return;
            }
            opening.set(true);
            checkout_error.set(None);
            let request = CheckoutRequest {
                token: token.clone(),
                quantity: quantity.get_untracked(),
                return_url: web_sys::window().and_then(|w| w.location().href().ok()),
            };
            let endpoint = context.endpoint.clone();
            spawn_local(async move {
                match api::checkout(&endpoint, &request).await {
                    Ok(response) => {
                        if let Some(window) = web_sys::window() {
                            let _ = window.location().assign(&response.checkout_url);
                        }
                    }
                    Err(failure) => {
                        checkout_error.try_set(Some(texts.reason(&failure_code(&failure))));
                        opening.try_set(false);
                    }
                }
            });
        }
    };

    let locale = context.locale.clone();
    let unit_price = item.price.clone();
    let total = move |locale: &str| {
        format_money(
            &Money {
                amount: unit_price.amount * i64::from(quantity.get()),
                currency: unit_price.currency.clone(),
            },
            locale,
        )
    };
    let price_view = {
        let locale = locale.clone();
        let list_price = item.list_price.clone();
        let price = item.price.clone();
        move || match &list_price {
            Some(list) => {
                let was = format_money(list, &locale);
                let now = format_money(&price, &locale);
                let percent = ((list.amount - price.amount) * 100 + list.amount / 2) / list.amount;
                view! {
                    <p class="dodo-upsell__price">
                        <span class="dodo-upsell__sr-only">
                            {fill(texts.was_price, &[("price", &was)])}
                            " "
                            {fill(texts.now_price, &[("price", &now)])}
                        </span>
                        <s class="dodo-upsell__list-price" aria-hidden="true">{was.clone()}</s>
                        <span aria-hidden="true">{now.clone()}</span>
                        " "
                        <span class="dodo-upsell__discount">
                            {fill(texts.percent_off, &[("percent", &percent.to_string())])}
                        </span>
                    </p>
                }
                .into_any()
            }
            None => view! { <p class="dodo-upsell__price">{format_money(&price, &locale)}</p> }
                .into_any(),
        }
    };
    let status_locale = locale.clone();
    let title = item.title.clone();
    let status = move || match phase.get() {
        ItemPhase::Open => String::new(),
        ItemPhase::Processing => texts.processing.to_string(),
        ItemPhase::Succeeded(charged) => fill(
            texts.succeeded,
            &[
                ("item", &title),
                ("amount", &format_money(&charged, &status_locale)),
            ],
        ),
        ItemPhase::Failed { reason, .. } => fill(texts.failed, &[("reason", &reason)]),
        ItemPhase::RequiresAction(_) => texts.requires_action.to_string(),
        ItemPhase::StillProcessing => texts.still_processing.to_string(),
    };
    let quantity_id = format!("dodo-upsell-qty-{}", item.item_id);
    let choose_quantity = (item.quantity.max > item.quantity.min).then(|| {
        let options = (item.quantity.min..=item.quantity.max)
            .map(|n| view! { <option value=n.to_string()>{n}</option> })
            .collect_view();
        view! {
            <label class="dodo-upsell__quantity" for=quantity_id.clone()>
                {texts.quantity}
                <select
                    id=quantity_id.clone()
                    disabled=move || !is_open()
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse::<u32>() {
                            quantity.set(n);
                        }
                    }
                >
                    {options}
                </select>
            </label>
        }
    });
    let image = item.image.clone().map(|src| {
        view! { <img class="dodo-upsell__image" src=src alt="" width="96" height="96" /> }
    });
    let button_text = if single {
        texts.add_to_order
    } else {
        texts.add_item
    };
    let accept_label = format!("{} {}", texts.add_item, item.title);
    let checkout_again = checkout.clone();

    view! {
        <div class="dodo-upsell__item" data-state=move || phase.get().name() data-item=item.item_id.clone()>
            {image}
            <div class="dodo-upsell__body">
                <h2 class="dodo-upsell__title">{item.title.clone()}</h2>
                {item.description.clone().map(|d| view! { <p class="dodo-upsell__description">{d}</p> })}
                {price_view}
                {choose_quantity}
                <Show when=move || { single && (is_open() || is_busy()) }>
                    <PaymentPicker context=context.clone() offer_id=offer_id.clone() />
                </Show>
                <Show when=move || (is_open() || is_busy()) && one_click()>
                    <div class="dodo-upsell__actions">
                        <button
                            type="button"
                            class="dodo-upsell__accept"
                            aria-label=(!single).then(|| accept_label.clone())
                            aria-disabled=move || (is_busy() || declining.get()).to_string()
                            aria-busy=move || is_busy().to_string()
                            on:click={
                                let accept = accept.clone();
                                move |_| accept()
                            }
                        >
                            {button_text}
                            <span class="dodo-upsell__total">{
                                let locale = locale.clone();
                                let total = total.clone();
                                move || (!single && quantity.get() > 1).then(|| format!(" · {}", total(&locale)))
                            }</span>
                        </button>
                        {on_decline.map(|decline| view! {
                            <button
                                type="button"
                                class="dodo-upsell__decline"
                                aria-disabled=move || (is_busy() || declining.get()).to_string()
                                on:click=move |_| {
                                    if is_open() {
                                        decline.run(());
                                    }
                                }
                            >
                                {texts.no_thanks}
                            </button>
                        })}
                    </div>
                </Show>
                <Show when=move || is_open() && !one_click()>
                    <p class="dodo-upsell__card">{texts.no_one_click}</p>
                    <div class="dodo-upsell__actions">
                        <button
                            type="button"
                            class="dodo-upsell__accept dodo-upsell__checkout"
                            aria-busy=move || opening.get().to_string()
                            on:click={
                            let checkout = checkout.clone();
                            move |_| checkout()
                        }>
                            {texts.continue_to_checkout}
                        </button>
                        {on_decline.map(|decline| view! {
                            <button type="button" class="dodo-upsell__decline" on:click=move |_| decline.run(())>
                                {texts.no_thanks}
                            </button>
                        })}
                    </div>
                </Show>
                <p class="dodo-upsell__status" role="status" aria-live="polite" tabindex="-1" node_ref=status_ref>
                    {status}
                    {move || checkout_error.get().map(|reason| format!(" {reason}"))}
                </p>
                {move || match phase.get() {
                    ItemPhase::RequiresAction(Some(url)) => Some(view! {
                        <a class="dodo-upsell__link" href=url target="_blank" rel="noopener">
                            {texts.confirm_payment}
                        </a>
                    }.into_any()),
                    ItemPhase::Failed { fallback: true, .. } => Some(view! {
                        <button
                            type="button"
                            class="dodo-upsell__link dodo-upsell__checkout"
                            aria-busy=move || opening.get().to_string()
                            on:click={
                            let checkout = checkout_again.clone();
                            move |_| checkout()
                        }>
                            {texts.pay_another_way}
                        </button>
                    }.into_any()),
                    _ => None,
                }}
            </div>
        </div>
    }
}

/// How often, and how many times, an accept lost to the network is sent again (with the same
/// idempotency key, so the proxy answers with the first one's outcome, never a second charge).
const RESEND_AFTER_MS: [u64; 3] = [1000, 2000, 4000];

/// Follows one accept to its final state.
#[derive(Clone)]
struct Follower {
    context: WidgetContext,
    offer_id: String,
    item_id: String,
    quantity: u32,
    phase: RwSignal<ItemPhase>,
    on_settled: Callback<bool>,
    /// The status being polled for, so that each kind of wait has its own limit.
    following: Option<AcceptStatus>,
}

impl Follower {
    /// False once the widget was unmounted: nothing more is asked or shown.
    fn alive(&self) -> bool {
        self.phase.try_get_untracked().is_some()
    }

    /// Sends the accept; a request lost to the network is sent again, as it was.
    async fn send(self, request: AcceptRequest, attempt: usize) {
        match api::accept(&self.context.endpoint, &request).await {
            Ok(response) => self.follow(response, 0),
            Err(ApiFailure::Unreachable(_)) if attempt < RESEND_AFTER_MS.len() => {
                let delay = Duration::from_millis(RESEND_AFTER_MS[attempt]);
                set_timeout(
                    move || {
                        if self.alive() {
                            spawn_local(self.send(request, attempt + 1));
                        }
                    },
                    delay,
                );
            }
            Err(failure) => self.fail(&failure_code(&failure)),
        }
    }

    /// Shows a charge's status, and keeps asking the proxy until it is final.
    fn follow(mut self, response: AcceptResponse, polls: u32) {
        if !self.alive() {
            return;
        }
        let polls = if self.following == Some(response.status) {
            polls
        } else {
            0
        };
        self.following = Some(response.status);
        match response.status {
            AcceptStatus::Succeeded => {
                events::emit(
                    self.context.widget_id,
                    events::ACCEPTED,
                    &Detail {
                        offer_id: self.offer_id.clone(),
                        item_id: Some(self.item_id.clone()),
                        accept_id: Some(response.accept_id.clone()),
                        quantity: Some(self.quantity),
                        amount: Some(response.amount.amount),
                        currency: Some(response.amount.currency.clone()),
                        ..Detail::default()
                    },
                );
                self.phase.set(ItemPhase::Succeeded(response.amount));
                self.on_settled.try_run(true);
            }
            AcceptStatus::Failed => {
                let code = response
                    .failure_code
                    .unwrap_or_else(|| "payment_failed".into());
                self.fail(&code);
            }
            AcceptStatus::RequiresAction | AcceptStatus::Processing
                if polls >= poll_limit(response.status) =>
            {
                self.phase.set(ItemPhase::StillProcessing);
                self.on_settled.try_run(false);
            }
            AcceptStatus::RequiresAction => {
                self.phase
                    .set(ItemPhase::RequiresAction(response.action_url.clone()));
                self.poll(response, polls, ACTION_POLL_EVERY);
            }
            AcceptStatus::Processing => self.poll(response, polls, POLL_EVERY),
        }
    }

    fn poll(self, response: AcceptResponse, polls: u32, after: Duration) {
        set_timeout(
            move || {
                if !self.alive() {
                    return;
                }
                spawn_local(async move {
                    match api::accept_status(&self.context.endpoint, &response.accept_id).await {
                        Ok(next) => self.follow(next, polls + 1),
                        // A failed poll is not a failed charge: ask again.
                        Err(_) => self.follow(response, polls + 1),
                    }
                })
            },
            after,
        );
    }

    fn fail(self, code: &str) {
        if !self.alive() {
            return;
        }
        events::emit(
            self.context.widget_id,
            events::FAILED,
            &Detail {
                offer_id: self.offer_id.clone(),
                item_id: Some(self.item_id.clone()),
                code: Some(code.to_string()),
                ..Detail::default()
            },
        );
        self.phase.set(ItemPhase::Failed {
            reason: self.context.texts.reason(code).to_string(),
            fallback: card_was_the_problem(code),
        });
        self.on_settled.try_run(false);
    }
}

fn poll_limit(status: AcceptStatus) -> u32 {
    if status == AcceptStatus::RequiresAction {
        ACTION_POLL_LIMIT
    } else {
        POLL_LIMIT
    }
}

/// A standard checkout helps when the card could not pay; not when the offer is gone (expired,
/// declined, over the limit), the request was wrong, or the outcome is unknown.
pub fn card_was_the_problem(code: &str) -> bool {
    !matches!(
        code,
        "connection_lost"
            | "offer_expired"
            | "offer_window_closed"
            | "offer_declined"
            | "offer_limit_reached"
            | "already_accepted"
            | "invalid_token"
            | "invalid_quantity"
            | "idempotency_key_reused"
            | "rate_limited"
    )
}

/// True when nothing has the focus: the button that had it was removed, and it fell to the
/// page's body (or, inside our shadow root, to nothing).
fn focus_was_lost() -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let Some(active) = document.active_element() else {
        return true;
    };
    if document
        .body()
        .is_some_and(|body| active == *body.unchecked_ref::<web_sys::Element>())
    {
        return true;
    }
    active
        .shadow_root()
        .is_some_and(|root| root.active_element().is_none())
}

fn failure_code(failure: &ApiFailure) -> String {
    match failure {
        ApiFailure::Refused(error) => error.code.clone(),
        ApiFailure::Unreachable(_) => "connection_lost".into(),
    }
}
