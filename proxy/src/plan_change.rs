//! Plan changes: which a subscriber may make, what Dodo says each will cost, and making one,
//! exactly once. Dodo computes every amount; the proxy shows its preview, refuses a confirm
//! whose amount no longer matches it, records the change before calling Dodo, and learns the
//! outcome from the payment, the subscription and their webhooks.

use crate::app::AppState;
use crate::clock;
use crate::dodo_api::recurring_price;
use crate::error::ApiError;
use crate::offer_rules::{Direction, Effective, OnPaymentFailure, PlanChangeRule};
use crate::plan_change_store::{BeginChange, ChangeRecord, ChangeState};
use crate::plan_token::{PlanChangeClaims, PLAN_CHANGE};
use crate::reconcile::{look_up_since, silent_for_grace};
use crate::routes::offers::currency_code;
use axum::http::StatusCode;
use dodopayments::models::{
    AttachAddon, IntentStatus, Metadata, Subscription, SubscriptionStatus,
    SubscriptionsChangePlanParams,
};
use serde_json::{json, Value};
use time::OffsetDateTime;
use upsell_wire::{EffectiveAt, Money, Plan, PlanChange, PlanChangePreview, PlanDirection};

/// Metadata key on the payment of a plan change: its webhooks find the change by it.
pub const META_PLAN_CHANGE_REF: &str = "upsell_plan_change_ref";

/// The plan changes open to this subscription, each sealed in a token valid until `expires_at`.
pub async fn offered(
    state: &AppState,
    subscription: &Subscription,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Vec<PlanChange>, ApiError> {
    // An inactive subscription, or one with a change already scheduled, is offered none.
    if !matches!(*subscription.status, SubscriptionStatus::Active)
        || subscription.scheduled_change.is_some()
    {
        return Ok(Vec::new());
    }
    let mut changes = Vec::new();
    for rule in state.rules.plan_changes_from(&subscription.product_id) {
        let (Some(current), Some(target)) =
            (plan(state, &rule.from).await?, plan(state, &rule.to).await?)
        else {
            tracing::warn!(change = %rule.id, "a plan of this change has no recurring price; skipped");
            continue;
        };
        let claims = PlanChangeClaims {
            typ: PLAN_CHANGE.into(),
            sub: subscription.subscription_id.clone(),
            cus: subscription.customer.customer_id.clone(),
            rid: rule.id.clone(),
            from: rule.from.clone(),
            to: rule.to.clone(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = state.keys.sign(&claims).map_err(|error| {
            tracing::error!(%error, "cannot sign plan change token");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "signing_failed",
                "the plan change could not be prepared",
            )
        })?;
        changes.push(PlanChange {
            change_id: rule.id.clone(),
            token,
            direction: match rule.direction {
                Direction::Upgrade => PlanDirection::Upgrade,
                Direction::Downgrade => PlanDirection::Downgrade,
            },
            current,
            target,
            effective_at: effective_at(rule.effective_at),
        });
    }
    Ok(changes)
}

fn effective_at(effective: Effective) -> EffectiveAt {
    match effective {
        Effective::Immediately => EffectiveAt::Immediately,
        Effective::NextBillingDate => EffectiveAt::NextBillingDate,
    }
}

/// A plan as the comparison shows it: Dodo's name and price, the merchant's feature rows.
async fn plan(state: &AppState, product_id: &str) -> Result<Option<Plan>, ApiError> {
    let product = state
        .dodo
        .product(product_id)
        .await
        .map_err(|e| ApiError::upstream(&e))?;
    let Some(price) = recurring_price(&product) else {
        return Ok(None);
    };
    Ok(Some(Plan {
        name: product
            .name
            .clone()
            .unwrap_or_else(|| product_id.to_string()),
        price: Money {
            amount: price.amount,
            currency: price.currency,
        },
        interval: price.interval,
        interval_count: price.interval_count,
        features: state
            .rules
            .plan(product_id)
            .map(|p| p.features.clone())
            .unwrap_or_default(),
    }))
}

/// The rule a token names, and the subscription, checked to still be where the token found
/// it: the same customer, on the plan the change starts from.
pub async fn check(
    state: &AppState,
    claims: &PlanChangeClaims,
) -> Result<(PlanChangeRule, Subscription), ApiError> {
    let rule = state
        .rules
        .plan_change(&claims.rid)
        .filter(|r| r.from == claims.from && r.to == claims.to)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::GONE,
                "plan_change_withdrawn",
                "this plan change is no longer offered",
            )
        })?;
    let subscription = state
        .dodo
        .subscription(&claims.sub)
        .await
        .map_err(|e| ApiError::upstream(&e))?;
    if subscription.customer.customer_id != claims.cus {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the plan change token is not valid",
        ));
    }
    Ok((rule, subscription))
}

/// The request both the preview and the change send.
pub fn params(
    rule: &PlanChangeRule,
    subscription: &Subscription,
    metadata: Option<Metadata>,
) -> SubscriptionsChangePlanParams {
    let addons = match &rule.addons {
        Some(addons) => addons
            .iter()
            .map(|a| AttachAddon {
                addon_id: a.addon_id.clone(),
                quantity: i64::from(a.quantity),
            })
            .collect(),
        // Dodo removes the add-ons a change does not list: keep the ones the subscriber has.
        None => subscription
            .addons
            .iter()
            .map(|a| AttachAddon {
                addon_id: a.addon_id.clone(),
                quantity: a.quantity,
            })
            .collect(),
    };
    SubscriptionsChangePlanParams {
        product_id: Some(rule.to.clone()),
        proration_billing_mode: Some(rule.proration().as_str().into()),
        quantity: Some(subscription.quantity),
        addons: Some(addons),
        effective_at: Some(
            match rule.effective_at {
                Effective::Immediately => "immediately",
                Effective::NextBillingDate => "next_billing_date",
            }
            .into(),
        ),
        on_payment_failure: Some(rule.on_payment_failure.as_str().into()),
        metadata: metadata.map(Box::new),
        ..Default::default()
    }
}

/// Dodo's preview of a change, as the customer reads it.
pub async fn preview(
    state: &AppState,
    rule: &PlanChangeRule,
    subscription: &Subscription,
) -> Result<PlanChangePreview, ApiError> {
    if subscription.product_id != rule.from || subscription.scheduled_change.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "plan_already_changed",
            "the subscription is no longer on the plan this change starts from, or a change is already scheduled",
        ));
    }
    let preview = state
        .dodo
        .preview_plan_change(
            &subscription.subscription_id,
            params(rule, subscription, None),
        )
        .await
        .map_err(|e| match e {
            dodopayments::Error::Api { status, message } if (400..500).contains(&status) => {
                tracing::warn!(status, %message, "Dodo refused the plan change preview");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "plan_change_refused",
                    "this plan change is not possible for this subscription",
                )
            }
            other => ApiError::upstream(&other),
        })?;
    let currency = currency_code(&subscription.currency);
    let money = |amount: i64| Money {
        amount,
        currency: currency.clone(),
    };
    let summary = &preview.immediate_charge["summary"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let total = int(&summary["total_amount"]).max(0);
    // Negative when the subscription's credit paid part of it, positive when credit was added.
    let credits = int(&summary["customer_credits"]);
    let tax = int(&summary["tax"]);
    // The new plan's lines (positive proration factor): what it costs now, and, at full
    // price, what it renews at (add-ons included). What they cost beyond the total and the
    // credit used is the credit for the current plan.
    let new_lines: Vec<&Value> = preview.immediate_charge["line_items"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l["proration_factor"].as_f64().unwrap_or(0.0) > 0.0)
                .collect()
        })
        .unwrap_or_default();
    let full = |l: &Value| int(&l["unit_price"]) * l["quantity"].as_i64().unwrap_or(1);
    let new_cost: i64 = new_lines
        .iter()
        .map(|l| (full(l) as f64 * l["proration_factor"].as_f64().unwrap_or(0.0)).round() as i64)
        .sum();
    let renewal = if new_lines.is_empty() {
        preview.new_plan.recurring_pre_tax_amount
    } else {
        new_lines.iter().map(|l| full(l)).sum()
    };
    Ok(PlanChangePreview {
        amount_due_now: money(total),
        // Shown only against an amount due: a downgrade's credit is `credit_added`.
        credit_used: money(if total > 0 {
            (new_cost - (total - tax) - (-credits).max(0)).max(0)
        } else {
            0
        }),
        credit_added: money(credits.max(0)),
        tax: (tax > 0).then(|| money(tax)),
        effective_date: preview.immediate_charge["effective_at"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| clock::rfc3339(OffsetDateTime::now_utc())),
        effective_at: effective_at(rule.effective_at),
        next_billing_date: preview.new_plan.next_billing_date.clone(),
        next_renewal_amount: money(renewal),
    })
}

/// Makes a recorded change at Dodo, once: only the caller that claims it sends it.
pub async fn submit(
    state: &AppState,
    change: ChangeRecord,
    rule: &PlanChangeRule,
    subscription: &Subscription,
) -> ChangeRecord {
    match state.storage.claim_plan_change(&change.change_ref).await {
        Ok(true) => {}
        Ok(false) => return reload(state, change).await,
        Err(error) => {
            tracing::error!(%error, change = %change.change_ref, "cannot claim the plan change");
            return change;
        }
    }
    let mut metadata = Metadata::new();
    metadata.insert(META_PLAN_CHANGE_REF.into(), json!(change.change_ref));
    match state
        .dodo
        .change_plan(
            &change.subscription_id,
            params(rule, subscription, Some(metadata)),
        )
        .await
    {
        Ok(response) => {
            record(
                state,
                &change,
                ChangeState::Processing,
                response.payment_id.as_deref(),
                None,
                None,
            )
            .await;
        }
        Err(dodopayments::Error::Api { status, message })
            if (400..500).contains(&status) && status != 408 && status != 429 =>
        {
            // Refused outright: nothing changed, nothing charged.
            tracing::warn!(change = %change.change_ref, status, %message, "Dodo refused the plan change");
            let code = serde_json::from_str::<Value>(&message)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_lowercase))
                .unwrap_or_else(|| "refused".into());
            record(state, &change, ChangeState::Failed, None, None, Some(&code)).await;
            return reload(state, change).await;
        }
        Err(error) => {
            // The change may or may not have happened: it stays `submitted`, is never sent
            // again, and `settle` finds out from its payment or its subscription.
            tracing::warn!(%error, change = %change.change_ref, "plan change outcome unknown");
        }
    }
    let current = reload(state, change).await;
    settle(state, current).await
}

/// Brings a change in flight as close to its outcome as Dodo can tell now: its payment, then
/// its subscription. A change whose answer from Dodo was lost (`submitted`: a timeout, or a
/// proxy that stopped mid-call) is found by its payment's metadata, or by the subscription
/// having moved; never sent again. Once nothing has shown for the grace period, nothing
/// happened.
pub async fn settle(state: &AppState, change: ChangeRecord) -> ChangeRecord {
    let change = match change.state {
        ChangeState::Submitted | ChangeState::Processing if change.payment_id.is_none() => {
            find_lost_payment(state, change).await
        }
        ChangeState::Processing | ChangeState::RequiresAction | ChangeState::Submitted => change,
        // Recorded, but the proxy stopped before sending it: nothing was sent.
        ChangeState::Pending if silent_for_grace(state, &change.updated_at) => {
            record(
                state,
                &change,
                ChangeState::Failed,
                None,
                None,
                Some("not_charged"),
            )
            .await;
            return reload(state, change).await;
        }
        _ => return change,
    };
    let subscription = match state.dodo.subscription(&change.subscription_id).await {
        Ok(subscription) => subscription,
        Err(error) => {
            tracing::info!(%error, change = %change.change_ref, "cannot read the subscription");
            return change;
        }
    };
    let on_target = subscription.product_id == change.to_product;
    let scheduled = subscription
        .scheduled_change
        .as_ref()
        .filter(|s| s.product_id == change.to_product)
        .map(|s| s.effective_at.clone());
    let on_hold = matches!(*subscription.status, SubscriptionStatus::OnHold);
    let (next, effective, code, action) = if let Some(payment_id) = change.payment_id.as_deref() {
        let payment = match state.dodo.payment(payment_id).await {
            Ok(payment) => payment,
            Err(error) => {
                tracing::info!(%error, change = %change.change_ref, "cannot read the plan change payment");
                return change;
            }
        };
        match payment.status.as_deref() {
            Some(IntentStatus::Succeeded) if on_target => (
                ChangeState::Succeeded,
                Some(clock::rfc3339(OffsetDateTime::now_utc())),
                None,
                None,
            ),
            Some(IntentStatus::Failed | IntentStatus::Cancelled) => {
                let code = payment
                    .error_code
                    .as_deref()
                    .map(str::to_lowercase)
                    .unwrap_or_else(|| "payment_failed".into());
                // With `apply_change` the plan changes anyway and the subscription waits on hold
                // (Dodo may say so a moment after the payment fails); a subscription on hold is
                // said to be, whatever the rule.
                let apply_change = state
                    .rules
                    .plan_change(&change.rule_id)
                    .is_some_and(|r| r.on_payment_failure == OnPaymentFailure::ApplyChange);
                let next = if on_hold || apply_change {
                    ChangeState::OnHold
                } else {
                    ChangeState::Failed
                };
                (next, None, Some(code), None)
            }
            Some(IntentStatus::RequiresCustomerAction) => (
                ChangeState::RequiresAction,
                None,
                None,
                payment.payment_link.clone(),
            ),
            _ => return change,
        }
    } else if let Some(date) = scheduled {
        (ChangeState::Scheduled, Some(date), None, None)
    } else if on_target
        && (change.state != ChangeState::Submitted || silent_for_grace(state, &change.updated_at))
    {
        // Without a payment, the subscription alone tells, but not while Dodo's answer to a
        // `submitted` change may still come (its webhooks can arrive first): that answer may
        // name a payment, and a payment that failed puts the moved subscription on hold.
        if on_hold {
            (ChangeState::OnHold, None, None, None)
        } else {
            (
                ChangeState::Succeeded,
                Some(clock::rfc3339(OffsetDateTime::now_utc())),
                None,
                None,
            )
        }
    } else if matches!(
        change.state,
        ChangeState::Submitted | ChangeState::Processing
    ) && silent_for_grace(state, &change.updated_at)
    {
        // No payment, and the subscription has not moved: nothing happened.
        (
            ChangeState::Failed,
            None,
            Some("not_charged".to_string()),
            None,
        )
    } else {
        return change;
    };
    record(
        state,
        &change,
        next,
        None,
        effective.as_deref(),
        code.as_deref(),
    )
    .await;
    if let Some(url) = action {
        if let Err(error) = state
            .storage
            .advance_plan_change(
                &change.change_ref,
                ChangeState::RequiresAction,
                None,
                None,
                None,
                Some(&url),
            )
            .await
        {
            tracing::error!(%error, change = %change.change_ref, "cannot record the action link");
        }
    }
    reload(state, change).await
}

/// For a change whose answer was lost: its payment, found by the metadata it carries.
async fn find_lost_payment(state: &AppState, change: ChangeRecord) -> ChangeRecord {
    if change.payment_id.is_some() {
        return change;
    }
    let since = look_up_since(&change.created_at);
    match state
        .dodo
        .find_payment_by_metadata(
            &change.customer_id,
            &since,
            META_PLAN_CHANGE_REF,
            &change.change_ref,
        )
        .await
    {
        Ok(Some(payment)) => {
            tracing::info!(change = %change.change_ref, payment_id = %payment.payment_id, "lost plan change payment found");
            record(
                state,
                &change,
                ChangeState::Processing,
                Some(&payment.payment_id),
                None,
                None,
            )
            .await;
            reload(state, change).await
        }
        Ok(None) => change,
        Err(error) => {
            tracing::info!(%error, change = %change.change_ref, "cannot look for the plan change payment");
            change
        }
    }
}

async fn record(
    state: &AppState,
    change: &ChangeRecord,
    next: ChangeState,
    payment_id: Option<&str>,
    effective_date: Option<&str>,
    failure_code: Option<&str>,
) {
    if let Err(error) = state
        .storage
        .advance_plan_change(
            &change.change_ref,
            next,
            payment_id,
            effective_date,
            failure_code,
            None,
        )
        .await
    {
        tracing::error!(%error, change = %change.change_ref, "cannot record the plan change");
    }
}

pub async fn reload(state: &AppState, change: ChangeRecord) -> ChangeRecord {
    match state.storage.plan_change(&change.change_ref).await {
        Ok(Some(current)) => current,
        _ => change,
    }
}

/// Records a confirmed change, or finds the one already recorded for this token or key.
pub async fn begin(state: &AppState, change: &ChangeRecord) -> Result<BeginChange, ApiError> {
    state
        .storage
        .begin_plan_change(change)
        .await
        .map_err(|e| ApiError::storage(&e))
}
