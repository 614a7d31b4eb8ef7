//! Making a plan change at Dodo exactly once, and learning its outcome. The change is recorded
//! before Dodo is called (see `confirm`), sent once by the caller that claims it, never again;
//! its outcome comes from its payment and its subscription as Dodo reports them, read when the
//! widget asks, on their webhooks and in the background. A change whose answer was lost is found
//! by its payment's metadata, or by the subscription having moved.

use super::preview::params;
use super::PlanChanges;
use crate::clock;
use crate::dodo::metadata;
use crate::rules::{OnPaymentFailure, PlanChangeRule};
use crate::storage::plan_changes::{ChangeRecord, ChangeState, AUTHENTICATION_TIMED_OUT};
use dodopayments::models::{IntentStatus, Metadata, Subscription, SubscriptionStatus};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Makes a recorded change at Dodo, once: only the caller that claims it sends it.
pub async fn submit(
    state: &PlanChanges,
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
    let mut meta = Metadata::new();
    meta.insert(metadata::PLAN_CHANGE_REF.into(), json!(change.change_ref));
    match state
        .dodo
        .change_plan(
            &change.subscription_id,
            params(rule, subscription, Some(meta)),
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
                None,
            )
            .await;
        }
        Err(dodopayments::Error::Api { status, message })
            if (400..500).contains(&status) && status != 408 && status != 429 =>
        {
            // Refused outright: nothing changed, nothing charged.
            tracing::warn!(change = %change.change_ref, status, %message, "Dodo refused the plan change");
            let code = match serde_json::from_str::<Value>(&message)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_lowercase))
            {
                // Another payment of the subscription waits for 3-D Secure: in the widget's
                // words, another change is under way.
                Some(code) if code == "previous_payment_pending" => "change_in_progress".into(),
                Some(code) => code,
                None => "refused".into(),
            };
            return fail(state, change, &code).await;
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
/// happened. A change still waiting for its customer's 3-D Secure after the action timeout is
/// failed, unless Dodo says otherwise, then, or later.
pub async fn settle(state: &PlanChanges, change: ChangeRecord) -> ChangeRecord {
    let timed_out = change.state == ChangeState::Failed
        && change.failure_code.as_deref() == Some(AUTHENTICATION_TIMED_OUT);
    let change = match change.state {
        ChangeState::OnHold => return settle_held(state, change).await,
        // Its payment may still succeed or fail at Dodo: that outcome is the true one.
        ChangeState::Failed if timed_out && change.payment_id.is_some() => change,
        ChangeState::Submitted | ChangeState::Processing if change.payment_id.is_none() => {
            find_lost_payment(state, change).await
        }
        ChangeState::Processing | ChangeState::RequiresAction | ChangeState::Submitted => change,
        // Recorded, but the proxy stopped before sending it: nothing was sent.
        ChangeState::Pending if clock::silent_for(&change.updated_at, state.grace) => {
            return fail(state, change, "not_charged").await;
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
            // A late outcome of a change that timed out replaces its failure only if it moved
            // money or the plan (a subscription on hold for another reason, a renewal, says
            // nothing of this change).
            Some(
                IntentStatus::RequiresCustomerAction
                | IntentStatus::Failed
                | IntentStatus::Cancelled,
            ) if timed_out && !(on_hold && on_target) => return change,
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
                // (Dodo may say so a moment after the payment fails); a subscription on hold on
                // the new plan is said to be, whatever the rule. A plan that never moved (a
                // 3-D Secure page that failed or expired) is a failed change.
                let apply_change = state
                    .rules
                    .current()
                    .plan_change(&change.rule_id)
                    .is_some_and(|r| r.on_payment_failure == OnPaymentFailure::ApplyChange);
                let next = if on_target && (on_hold || apply_change) {
                    ChangeState::OnHold
                } else {
                    ChangeState::Failed
                };
                // A card that failed (not a page left unused): Dodo's page for a new one.
                let page = match payment.status.as_deref() {
                    Some(IntentStatus::Failed) => payment_method_page(state, &change).await,
                    _ => None,
                };
                (next, None, Some(code), page)
            }
            // The customer never finished 3-D Secure, and Dodo still waits: the subscription
            // is no longer held for it (Dodo may still refuse a new change while its payment
            // is open, and says so).
            Some(IntentStatus::RequiresCustomerAction)
                if clock::silent_for(&change.created_at, state.action_timeout) =>
            {
                tracing::info!(change = %change.change_ref, "3-D Secure never completed; the change is failed");
                (
                    ChangeState::Failed,
                    None,
                    Some(AUTHENTICATION_TIMED_OUT.to_string()),
                    None,
                )
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
        && (change.state != ChangeState::Submitted
            || clock::silent_for(&change.updated_at, state.grace))
    {
        // Without a payment, the subscription alone tells, but not while Dodo's answer to a
        // `submitted` change may still come (its webhooks can arrive first): that answer may
        // name a payment, and a payment that failed puts the moved subscription on hold.
        if on_hold {
            let page = payment_method_page(state, &change).await;
            (ChangeState::OnHold, None, None, page)
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
    ) && clock::silent_for(&change.updated_at, state.grace)
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
        action.as_deref(),
    )
    .await;
    reload(state, change).await
}

/// A change whose plan changed although its payment failed: the subscription waits on hold
/// until the customer gives a card that pays what it owes (Dodo's update-payment-method page,
/// asked for again here if Dodo could not give it before). The change has succeeded once Dodo
/// has the subscription active on the new plan and a payment naming the change succeeded (Dodo
/// charges the failed payment again, with its metadata): the amount the customer confirmed is
/// then paid, by that payment. Neither alone is enough: a subscription may be active for a
/// moment before Dodo puts it on hold.
async fn settle_held(state: &PlanChanges, change: ChangeRecord) -> ChangeRecord {
    let subscription = match state.dodo.subscription(&change.subscription_id).await {
        Ok(subscription) => subscription,
        Err(error) => {
            tracing::info!(%error, change = %change.change_ref, "cannot read the subscription");
            return change;
        }
    };
    if matches!(*subscription.status, SubscriptionStatus::OnHold) && change.action_url.is_none() {
        if let Some(page) = payment_method_page(state, &change).await {
            if let Err(error) = state
                .storage
                .record_payment_method_page(&change.change_ref, &page)
                .await
            {
                tracing::error!(%error, change = %change.change_ref, "cannot record the page for a new card");
            }
            return reload(state, change).await;
        }
    }
    if !matches!(*subscription.status, SubscriptionStatus::Active)
        || subscription.product_id != change.to_product
    {
        return change;
    }
    let paid = match state
        .dodo
        .succeeded_subscription_payment_by_metadata(
            &change.subscription_id,
            metadata::PLAN_CHANGE_REF,
            &change.change_ref,
        )
        .await
    {
        Ok(Some(payment)) => payment,
        Ok(None) => return change,
        Err(error) => {
            tracing::info!(%error, change = %change.change_ref, "cannot look for the payment of what was owed");
            return change;
        }
    };
    tracing::info!(change = %change.change_ref, payment_id = %paid.payment_id, "the subscription paid what it owed; the change is complete");
    let now = clock::rfc3339(OffsetDateTime::now_utc());
    record(
        state,
        &change,
        ChangeState::Succeeded,
        Some(&paid.payment_id),
        Some(&now),
        None,
        None,
    )
    .await;
    reload(state, change).await
}

/// Dodo's page on which the customer gives a new card for the change's subscription (and pays
/// what it owes, if it is on hold). None when Dodo cannot give one now: the widget then says
/// what happened without the link.
async fn payment_method_page(state: &PlanChanges, change: &ChangeRecord) -> Option<String> {
    match state
        .dodo
        .update_payment_method(&change.subscription_id)
        .await
    {
        Ok(link) => link,
        Err(error) => {
            tracing::warn!(%error, change = %change.change_ref, "no page for a new card");
            None
        }
    }
}

/// For a change whose answer was lost: its payment, found by the metadata it carries.
async fn find_lost_payment(state: &PlanChanges, change: ChangeRecord) -> ChangeRecord {
    if change.payment_id.is_some() {
        return change;
    }
    let since = clock::look_up_since(&change.created_at);
    match state
        .dodo
        .find_payment_by_metadata(
            &change.customer_id,
            &since,
            metadata::PLAN_CHANGE_REF,
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

/// Records the change as failed with `code` (in the widget's words) and reads it back.
async fn fail(state: &PlanChanges, change: ChangeRecord, code: &str) -> ChangeRecord {
    record(
        state,
        &change,
        ChangeState::Failed,
        None,
        None,
        Some(code),
        None,
    )
    .await;
    reload(state, change).await
}

async fn record(
    state: &PlanChanges,
    change: &ChangeRecord,
    next: ChangeState,
    payment_id: Option<&str>,
    effective_date: Option<&str>,
    failure_code: Option<&str>,
    action_url: Option<&str>,
) {
    if let Err(error) = state
        .storage
        .advance_plan_change(
            &change.change_ref,
            next,
            payment_id,
            effective_date,
            failure_code,
            action_url,
        )
        .await
    {
        tracing::error!(%error, change = %change.change_ref, "cannot record the plan change");
    }
}

/// `change` as the database has it now.
pub async fn reload(state: &PlanChanges, change: ChangeRecord) -> ChangeRecord {
    match state.storage.plan_change(&change.change_ref).await {
        Ok(Some(current)) => current,
        _ => change,
    }
}
