//! A plan change: the current and the new plan side by side, then Dodo's exact preview (due now,
//! credits, taxes, when it takes effect, the next renewal), a confirm button that names the
//! amount, and the change followed to its outcome (when a card did not pay, Dodo's page for a
//! new one, and a subscription on hold followed back to active). On the account page, a change
//! already scheduled is the same card with one button that keeps the current plan.

use crate::api::{self, ApiFailure};
use crate::context::WidgetContext;
use crate::events::{self, Detail};
use crate::i18n::{fill, Texts};
use crate::idempotency_key::new_idempotency_key;
use crate::money::format_money;
use crate::offer_visible;
use crate::time_left::{format_date, format_period};
use crate::views::offer_flow::OfferOutcome;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use upsell_wire::{
    ConfirmPlanChangeRequest, EffectiveAt, Plan, PlanChange, PlanChangePreview, PlanChangeRequest,
    PlanChangeResult, PlanChangeStatus, PlanDirection, WithdrawRequest, WithdrawStatus,
};
use wasm_bindgen::JsValue;

/// How often, and how many times, the widget asks for the outcome of a change.
const POLL_EVERY: Duration = Duration::from_secs(1);
const POLL_LIMIT: u32 = 120;
/// While a subscription is on hold, the widget asks every few seconds whether the customer has
/// given Dodo a card that pays (in another tab), for ten minutes.
const HELD_POLL_EVERY: Duration = Duration::from_secs(3);
const HELD_POLL_LIMIT: u32 = 200;
/// Waits before a confirm lost to the network is sent again.
const RESEND_AFTER_MS: [u64; 3] = [1000, 2000, 4000];

/// A confirm on its way.
struct Confirming {
    endpoint: String,
    change_id: String,
    widget_id: u32,
    texts: &'static Texts,
    request: ConfirmPlanChangeRequest,
    phase: RwSignal<PlanPhase>,
    on_outcome: Callback<OfferOutcome>,
}

/// Sends the confirm. One lost to the network is sent again, as it was (same key): the proxy
/// answers with the first one's change, never a second.
fn send_confirm(confirming: Confirming, attempt: usize) {
    spawn_local(async move {
        match api::confirm_plan_change(&confirming.endpoint, &confirming.request).await {
            Ok(result) => follow(
                Following {
                    endpoint: confirming.endpoint,
                    change_id: confirming.change_id,
                    widget_id: confirming.widget_id,
                    phase: confirming.phase,
                    on_outcome: confirming.on_outcome,
                    reported: false,
                },
                result,
                0,
            ),
            Err(ApiFailure::Unreachable(_)) if attempt < RESEND_AFTER_MS.len() => {
                let phase = confirming.phase;
                set_timeout(
                    move || {
                        if phase.try_get_untracked().is_some() {
                            send_confirm(confirming, attempt + 1);
                        }
                    },
                    Duration::from_millis(RESEND_AFTER_MS[attempt]),
                );
            }
            Err(failure) => {
                confirming
                    .phase
                    .try_set(PlanPhase::Refused(refusal(confirming.texts, &failure)));
            }
        }
    });
}

/// Where the subscriber is with a plan change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanPhase {
    /// The two plans side by side.
    Comparing,
    /// Asking Dodo what it will cost.
    Previewing,
    /// The exact amounts, waiting for the confirm.
    Previewed(PlanChangePreview),
    /// Confirmed; the change is under way. Clicks are ignored.
    Changing,
    /// Done (or scheduled, or on hold, or failed): the result as the proxy tells it.
    Done(PlanChangeResult),
    /// Still not settled after the widget stopped waiting.
    StillProcessing,
    /// The preview or the confirm was refused, for this reason (translated).
    Refused(String),
    /// Undoing the scheduled change. Clicks are ignored.
    Keeping,
    /// The scheduled change is undone: the subscriber keeps their plan.
    Kept,
}

#[component]
pub fn PlanFlow(
    /// The widget's settings and shared state.
    context: WidgetContext,
    /// The change offered, or the change already scheduled (`scheduled_for`): the card then
    /// offers to keep the current plan instead.
    change: PlanChange,
    /// Called once, when the subscriber has answered.
    on_outcome: Callback<OfferOutcome>,
) -> impl IntoView {
    let texts = context.texts;
    let locale = context.locale.clone();
    let phase = RwSignal::new(PlanPhase::Comparing);
    let idempotency_key = new_idempotency_key(&change.token);
    let widget_id = context.widget_id;
    let change_id = change.change_id.clone();

    events::emit(
        widget_id,
        events::SHOWN,
        &Detail {
            offer_id: change_id.clone(),
            kind: Some("plan_change"),
            ..Detail::default()
        },
    );

    // Effects run once the view is in the DOM.
    Effect::new(move |_| offer_visible::offer_rendered(widget_id));

    let review = {
        let endpoint = context.endpoint.clone();
        let token = change.token.clone();
        move || {
            if !matches!(
                phase.get_untracked(),
                PlanPhase::Comparing | PlanPhase::Refused(_)
            ) {
                return;
            }
            phase.set(PlanPhase::Previewing);
            let request = PlanChangeRequest {
                token: token.clone(),
            };
            let endpoint = endpoint.clone();
            spawn_local(async move {
                let next = match api::preview_plan_change(&endpoint, &request).await {
                    Ok(preview) => PlanPhase::Previewed(preview),
                    Err(failure) => PlanPhase::Refused(refusal(texts, &failure)),
                };
                phase.try_set(next);
            });
        }
    };

    let confirm = {
        let endpoint = context.endpoint.clone();
        let token = change.token.clone();
        let change_id = change_id.clone();
        let idempotency_key = idempotency_key.clone();
        move || {
            let PlanPhase::Previewed(preview) = phase.get_untracked() else {
                return;
            };
            phase.set(PlanPhase::Changing);
            let request = ConfirmPlanChangeRequest {
                token: token.clone(),
                idempotency_key: idempotency_key.clone(),
                confirmed_amount: preview.amount_due_now.amount,
            };
            let endpoint = endpoint.clone();
            let change_id = change_id.clone();
            send_confirm(
                Confirming {
                    endpoint,
                    change_id,
                    widget_id,
                    texts,
                    request,
                    phase,
                    on_outcome,
                },
                0,
            );
        }
    };

    // Undoes the scheduled change; the same key on every try, so that it is undone once.
    let keep = {
        let endpoint = context.endpoint.clone();
        let request = WithdrawRequest {
            token: change.token.clone(),
            idempotency_key: idempotency_key.clone(),
        };
        move || {
            if !matches!(
                phase.get_untracked(),
                PlanPhase::Comparing | PlanPhase::Refused(_)
            ) {
                return;
            }
            phase.set(PlanPhase::Keeping);
            let (endpoint, request) = (endpoint.clone(), request.clone());
            spawn_local(async move {
                let next = match api::withdraw_plan_change(&endpoint, &request).await {
                    Ok(result) if result.status == WithdrawStatus::Withdrawn => PlanPhase::Kept,
                    Ok(result) => PlanPhase::Refused(
                        texts
                            .reason(result.failure_code.as_deref().unwrap_or_default())
                            .into(),
                    ),
                    Err(failure) => PlanPhase::Refused(refusal(texts, &failure)),
                };
                let kept = matches!(next, PlanPhase::Kept);
                if phase.try_set(next).is_none() && kept {
                    on_outcome.try_run(OfferOutcome::Answered);
                }
            });
        }
    };

    let decline = {
        let change_id = change_id.clone();
        move || {
            events::emit(
                widget_id,
                events::DECLINED,
                &Detail {
                    offer_id: change_id.clone(),
                    kind: Some("plan_change"),
                    ..Detail::default()
                },
            );
            on_outcome.try_run(OfferOutcome::Gone);
        }
    };

    // The button that was clicked gives way to the next step's: the focus follows.
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if matches!(phase.get(), PlanPhase::Previewed(_)) {
            request_animation_frame(move || {
                if let Some(button) = confirm_ref.try_get_untracked().flatten() {
                    let _ = button.focus();
                }
            });
        }
    });
    let scheduled = change.scheduled_for.is_some();
    let title = match &change.scheduled_for {
        Some(date) => fill(
            texts.plan_scheduled,
            &[
                ("plan", &change.target.name),
                ("date", &format_date(date, &locale)),
            ],
        ),
        None => fill(
            match change.direction {
                PlanDirection::Upgrade => texts.plan_upgrade_title,
                PlanDirection::Downgrade => texts.plan_downgrade_title,
            },
            &[("plan", &change.target.name)],
        ),
    };
    let keep_label = fill(texts.keep_plan, &[("plan", &change.current.name)]);
    let comparison = comparison(texts, &locale, &change.current, &change.target);

    view! {
        <article
            class="dodo-upsell dodo-upsell--plan"
            data-kind="plan_change"
            data-offer=change.change_id.clone()
            data-state=move || phase_name(&phase.get())
        >
            <h2 class="dodo-upsell__title">{title}</h2>
            {comparison}
            {move || {
                let locale = locale.clone();
                let review = review.clone();
                let confirm = confirm.clone();
                let decline = decline.clone();
                let keep = keep.clone();
                let keep_label = keep_label.clone();
                let now = phase.get();
                // One button, busy or not: keeping the plan, or a change under way.
                let one_button = match &now {
                    PlanPhase::Comparing | PlanPhase::Refused(_) if scheduled => Some((keep_label, false)),
                    PlanPhase::Keeping => Some((keep_label, true)),
                    PlanPhase::Changing => Some((texts.changing_plan.to_string(), true)),
                    _ => None,
                };
                if let Some((label, busy)) = one_button {
                    let busy = busy.then_some("true");
                    return view! {
                        <div class="dodo-upsell__actions">
                            <button
                                type="button"
                                class="dodo-upsell__accept"
                                aria-disabled=busy
                                aria-busy=busy
                                on:click=move |_| keep()
                            >
                                {label}
                            </button>
                        </div>
                    }.into_any();
                }
                match now {
                    PlanPhase::Comparing | PlanPhase::Refused(_) => view! {
                        <div class="dodo-upsell__actions">
                            <button type="button" class="dodo-upsell__accept" on:click=move |_| review()>
                                {texts.review_change}
                            </button>
                            <button type="button" class="dodo-upsell__decline" on:click=move |_| decline()>
                                {texts.no_thanks}
                            </button>
                        </div>
                    }.into_any(),
                    PlanPhase::Previewing => view! {
                        <p class="dodo-upsell__card">{texts.loading_preview}</p>
                    }.into_any(),
                    PlanPhase::Previewed(preview) => {
                        let label = confirm_label(texts, &locale, &preview);
                        view! {
                            {breakdown(texts, &locale, &preview)}
                            <div class="dodo-upsell__actions">
                                <button
                                    type="button"
                                    class="dodo-upsell__accept"
                                    node_ref=confirm_ref
                                    on:click=move |_| confirm()
                                >
                                    {label}
                                </button>
                                <button
                                    type="button"
                                    class="dodo-upsell__decline"
                                    on:click=move |_| phase.set(PlanPhase::Comparing)
                                >
                                    {texts.back}
                                </button>
                            </div>
                        }.into_any()
                    }
                    PlanPhase::StillProcessing
                    | PlanPhase::Kept
                    | PlanPhase::Changing
                    | PlanPhase::Keeping => ().into_any(),
                    PlanPhase::Done(result) => {
                        // Dodo's page: the bank's confirmation, or (once a card did not pay)
                        // a new card, in a tab of its own while the widget follows.
                        let label = if result.status == PlanChangeStatus::RequiresAction {
                            texts.confirm_payment
                        } else {
                            texts.update_payment_method
                        };
                        result.action_url.clone().map(|url| view! {
                            <a class="dodo-upsell__link" href=url target="_blank" rel="noopener">
                                {label}
                            </a>
                        }).into_any()
                    }
                }
            }}
            <p class="dodo-upsell__status" role="status" aria-live="polite">
                {
                    let locale = context.locale.clone();
                    let plans = (change.current.name.clone(), change.target.name.clone());
                    move || status(texts, &locale, &plans, &phase.get())
                }
            </p>
        </article>
    }
}

fn phase_name(phase: &PlanPhase) -> &'static str {
    match phase {
        PlanPhase::Comparing => "comparing",
        PlanPhase::Previewing => "previewing",
        PlanPhase::Previewed(_) => "previewed",
        PlanPhase::Changing | PlanPhase::StillProcessing => "processing",
        PlanPhase::Refused(_) => "refused",
        PlanPhase::Keeping => "keeping",
        PlanPhase::Kept => "kept",
        PlanPhase::Done(result) => match result.status {
            PlanChangeStatus::Processing => "processing",
            PlanChangeStatus::Succeeded => "succeeded",
            PlanChangeStatus::Scheduled => "scheduled",
            PlanChangeStatus::Failed => "failed",
            PlanChangeStatus::OnHold => "on-hold",
            PlanChangeStatus::RequiresAction => "requires-action",
        },
    }
}

/// The words under the card, announced as they change. `plans`: the current plan's name and
/// the new one's.
fn status(
    texts: &'static Texts,
    locale: &str,
    (current, target): &(String, String),
    phase: &PlanPhase,
) -> String {
    let target = target.as_str();
    match phase {
        PlanPhase::Kept => fill(texts.plan_kept, &[("plan", current)]),
        PlanPhase::Changing => texts.changing_plan.into(),
        PlanPhase::StillProcessing => texts.still_processing.into(),
        PlanPhase::Refused(reason) => reason.clone(),
        // The amounts are read out when they appear.
        PlanPhase::Previewed(preview) => format!(
            "{} {}",
            texts.due_now,
            format_money(&preview.amount_due_now, locale)
        ),
        PlanPhase::Done(result) => match result.status {
            PlanChangeStatus::Processing => texts.changing_plan.into(),
            PlanChangeStatus::Succeeded if result.amount.amount > 0 => fill(
                texts.plan_changed_charged,
                &[
                    ("plan", target),
                    ("amount", &format_money(&result.amount, locale)),
                ],
            ),
            PlanChangeStatus::Succeeded => fill(texts.plan_changed, &[("plan", target)]),
            PlanChangeStatus::Scheduled => fill(
                texts.plan_scheduled,
                &[
                    ("plan", target),
                    (
                        "date",
                        &result
                            .effective_date
                            .as_deref()
                            .map(|d| format_date(d, locale))
                            .unwrap_or_default(),
                    ),
                ],
            ),
            PlanChangeStatus::Failed => fill(
                texts.plan_change_failed,
                &[(
                    "reason",
                    texts.reason(result.failure_code.as_deref().unwrap_or("payment_failed")),
                )],
            ),
            PlanChangeStatus::OnHold => fill(
                texts.plan_on_hold,
                &[("amount", &format_money(&result.amount, locale))],
            ),
            PlanChangeStatus::RequiresAction => texts.requires_action.into(),
        },
        _ => String::new(),
    }
}

fn refusal(texts: &'static Texts, failure: &ApiFailure) -> String {
    match failure {
        ApiFailure::Refused(error) if error.code == "preview_changed" => {
            texts.preview_changed.into()
        }
        ApiFailure::Refused(error) => texts.reason(&error.code).into(),
        ApiFailure::Unreachable(_) => texts.reason("connection_lost").into(),
    }
}

/// "$29.00 per month", "$30.00 every 30 days".
fn price_per_period(texts: &'static Texts, locale: &str, plan: &Plan) -> String {
    let price = format_money(&plan.price, locale);
    if plan.interval_count == 1 {
        let unit = match plan.interval.as_str() {
            "day" => texts.unit_day,
            "week" => texts.unit_week,
            "year" => texts.unit_year,
            _ => texts.unit_month,
        };
        fill(texts.price_per_unit, &[("price", &price), ("unit", unit)])
    } else {
        let period = format_period(plan.interval_count, &plan.interval, locale);
        fill(
            texts.price_every_period,
            &[("price", &price), ("period", &period)],
        )
    }
}

/// The two plans side by side; the new plan's rows say what is gained or lost.
fn comparison(texts: &'static Texts, locale: &str, current: &Plan, target: &Plan) -> impl IntoView {
    let column = |heading: &'static str, plan: &Plan, other: &Plan, marks: bool| {
        let mut rows: Vec<_> = plan
            .features
            .iter()
            .map(|feature| {
                let gained = marks && !other.features.contains(feature);
                let mark = gained.then_some(texts.feature_gained);
                view! {
                    <li class:dodo-upsell__gained=gained>
                        {mark.map(|m| view! { <span class="dodo-upsell__sr-only">{m}" "</span> })}
                        {feature.clone()}
                    </li>
                }
                .into_any()
            })
            .collect();
        if marks {
            rows.extend(
                other
                    .features
                    .iter()
                    .filter(|f| !plan.features.contains(f))
                    .map(|feature| {
                        view! {
                            <li class="dodo-upsell__lost">
                                <span class="dodo-upsell__sr-only">{texts.feature_lost}" "</span>
                                <s>{feature.clone()}</s>
                            </li>
                        }
                        .into_any()
                    }),
            );
        }
        view! {
            <div class="dodo-upsell__plan">
                <h3 class="dodo-upsell__plan-heading">{heading}</h3>
                <p class="dodo-upsell__plan-name">{plan.name.clone()}</p>
                <p class="dodo-upsell__plan-price">{price_per_period(texts, locale, plan)}</p>
                <ul class="dodo-upsell__features">{rows}</ul>
            </div>
        }
    };
    view! {
        <div class="dodo-upsell__comparison">
            {column(texts.plan_current, current, target, false)}
            {column(texts.plan_new, target, current, true)}
        </div>
    }
}

/// Dodo's preview as rows: due now, credits, tax, when, the next renewal.
fn breakdown(texts: &'static Texts, locale: &str, preview: &PlanChangePreview) -> impl IntoView {
    let money = |m: &upsell_wire::Money| format_money(m, locale);
    let row = |label: String, value: String| {
        view! {
            <div class="dodo-upsell__row">
                <dt>{label}</dt>
                <dd>{value}</dd>
            </div>
        }
    };
    let mut rows = vec![row(texts.due_now.into(), money(&preview.amount_due_now))];
    if preview.credit_used.amount > 0 {
        // A negative amount, formatted (sign and all) by `Intl` for the locale.
        let credit = upsell_wire::Money {
            amount: -preview.credit_used.amount,
            currency: preview.credit_used.currency.clone(),
        };
        rows.push(row(texts.credit_unused.into(), money(&credit)));
    }
    if preview.credit_added.amount > 0 {
        rows.push(row(texts.credit_added.into(), money(&preview.credit_added)));
    }
    if let Some(tax) = &preview.tax {
        rows.push(row(texts.tax.into(), money(tax)));
    }
    let when = match preview.effective_at {
        EffectiveAt::Immediately => texts.takes_effect_now.to_string(),
        EffectiveAt::NextBillingDate => fill(
            texts.takes_effect,
            &[("date", &format_date(&preview.effective_date, locale))],
        ),
    };
    let renewal = fill(
        texts.next_renewal,
        &[
            ("date", &format_date(&preview.next_billing_date, locale)),
            ("amount", &money(&preview.next_renewal_amount)),
        ],
    );
    let note = (preview.credit_added.amount > 0).then_some(texts.credit_added_note);
    view! {
        <dl class="dodo-upsell__breakdown">{rows}</dl>
        <p class="dodo-upsell__card">{note}</p>
        <p class="dodo-upsell__card">{when}</p>
        <p class="dodo-upsell__card">{renewal}</p>
    }
}

fn confirm_label(texts: &'static Texts, locale: &str, preview: &PlanChangePreview) -> String {
    if preview.effective_at == EffectiveAt::NextBillingDate {
        texts.schedule_change.into()
    } else if preview.amount_due_now.amount > 0 {
        fill(
            texts.confirm_charge,
            &[("amount", &format_money(&preview.amount_due_now, locale))],
        )
    } else {
        texts.confirm_change.into()
    }
}

/// A change being followed to its outcome.
struct Following {
    endpoint: String,
    change_id: String,
    widget_id: u32,
    phase: RwSignal<PlanPhase>,
    on_outcome: Callback<OfferOutcome>,
    /// Whether its outcome was told (events, `on_outcome`): once only, but for a change on hold
    /// that later completes, whose success is told too.
    reported: bool,
}

/// Shows a change's status, and keeps asking until it is settled, or, while its subscription
/// is on hold, until the customer has given Dodo a card that pays.
fn follow(mut following: Following, result: PlanChangeResult, polls: u32) {
    let phase = following.phase;
    let pending = matches!(
        result.status,
        PlanChangeStatus::Processing | PlanChangeStatus::RequiresAction
    );
    let held = result.status == PlanChangeStatus::OnHold;
    if phase.try_set(PlanPhase::Done(result.clone())).is_some() {
        // Unmounted.
        return;
    }
    if pending && polls >= POLL_LIMIT {
        phase.try_set(PlanPhase::StillProcessing);
        following.on_outcome.try_run(OfferOutcome::Answered);
        return;
    }
    let first_outcome = !pending && !following.reported;
    if !pending {
        report(&mut following, &result);
    }
    // The ten minutes of a hold count from when it is first seen.
    let polls = if first_outcome { 0 } else { polls };
    if pending || (held && polls < HELD_POLL_LIMIT) {
        set_timeout(
            move || {
                if phase.try_get_untracked().is_none() {
                    return;
                }
                spawn_local(async move {
                    let next = api::plan_change_status(&following.endpoint, &result.change_ref)
                        .await
                        .unwrap_or(result);
                    follow(following, next, polls + 1);
                });
            },
            if pending { POLL_EVERY } else { HELD_POLL_EVERY },
        );
    }
}

/// Tells the page (events) and the queue (`on_outcome`) how a change ended.
fn report(following: &mut Following, result: &PlanChangeResult) {
    let (name, code, outcome) = match result.status {
        PlanChangeStatus::Succeeded | PlanChangeStatus::Scheduled => {
            (events::ACCEPTED, None, OfferOutcome::PlanChanged)
        }
        // On hold, the plan changed too.
        PlanChangeStatus::OnHold => (
            events::FAILED,
            result.failure_code.clone(),
            OfferOutcome::PlanChanged,
        ),
        PlanChangeStatus::Failed => (
            events::FAILED,
            result.failure_code.clone(),
            OfferOutcome::Answered,
        ),
        _ => return,
    };
    // A change on hold was told as failed; when it completes, its success is told as well.
    if following.reported && name != events::ACCEPTED {
        return;
    }
    events::emit(
        following.widget_id,
        name,
        &Detail {
            offer_id: following.change_id.clone(),
            kind: Some("plan_change"),
            amount: Some(result.amount.amount),
            currency: Some(result.amount.currency.clone()),
            code,
            ..Detail::default()
        },
    );
    if !following.reported {
        following.reported = true;
        following.on_outcome.try_run(outcome);
    }
}

crate::on_demand::on_demand! {
    /// The plan change as a view: the comparison, the preview, the confirm and the outcome. In
    /// its own part, fetched when a plan change is to be shown (`crate::on_demand`), with the
    /// code that reads a plan change (`change` is an `upsell_wire::PlanChange` as the browser
    /// parsed it, offered or already scheduled). One the widget cannot read is not shown.
    pub fn plan_change_view(
        context: WidgetContext,
        change: JsValue,
        on_outcome: Callback<OfferOutcome>,
    ) -> AnyView {
        match serde_wasm_bindgen::from_value::<PlanChange>(change) {
            Ok(change) => view! { <PlanFlow context change on_outcome /> }.into_any(),
            Err(_) => {
                on_outcome.try_run(OfferOutcome::Gone);
                ().into_any()
            }
        }
    }
    part plan_change, preload preload_plan_change;
}
