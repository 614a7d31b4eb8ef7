//! Undoing a change scheduled for the next billing date (Dodo's `DELETE
//! /subscriptions/{id}/change-plan/scheduled`), with a change's discipline: a token that names
//! exactly the scheduled change (its rule, both plans and the date), checked against the
//! subscription as Dodo has it before anything is done, so that a change scheduled since, or
//! one that has already taken effect, is never undone by it; recorded before Dodo is called,
//! once per token and per key; Dodo asked once. No money moves.

use super::plans::{direction, plan, subscription};
use super::token::{WithdrawClaims, WITHDRAW};
use super::{PlanChangeError, PlanChanges};
use crate::clock;
use crate::idempotency_key;
use crate::storage::plan_change_withdrawals::{BeginWithdrawal, Withdrawal, WithdrawalState};
use dodopayments::models::Subscription;
use std::time::Duration;
use time::OffsetDateTime;
use upsell_wire::{EffectiveAt, PlanChange, WithdrawResult, WithdrawStatus};

/// How often a request that found the withdrawal under way looks for its outcome.
const WAIT_STEP: Duration = Duration::from_millis(100);

/// The subscription's scheduled change, with a token to undo it, when a rule of the offers
/// file made it (its target is a rule's `to` from the current plan). `None` otherwise.
pub async fn scheduled(
    state: &PlanChanges,
    subscription: &Subscription,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
    locale: Option<&str>,
) -> Result<Option<PlanChange>, PlanChangeError> {
    let Some(change) = subscription.scheduled_change.as_ref() else {
        return Ok(None);
    };
    let rules = state.rules.current();
    let Some(rule) = rules
        .plan_changes_from(&subscription.product_id)
        .find(|r| r.to == change.product_id)
    else {
        tracing::info!(subscription = %subscription.subscription_id, to = %change.product_id, "a change scheduled outside the offers file; not offered to undo");
        return Ok(None);
    };
    let (Some(current), Some(target)) = (
        plan(state, &rule.from, locale).await?,
        plan(state, &rule.to, locale).await?,
    ) else {
        return Ok(None);
    };
    let claims = WithdrawClaims {
        typ: WITHDRAW.into(),
        sub: subscription.subscription_id.clone(),
        cus: subscription.customer.customer_id.clone(),
        rid: rule.id.clone(),
        from: rule.from.clone(),
        to: rule.to.clone(),
        at: change.effective_at.clone(),
        iat: now.unix_timestamp(),
        exp: expires_at.unix_timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    Ok(Some(PlanChange {
        change_id: rule.id.clone(),
        token: state.keys.sign(&claims).map_err(PlanChangeError::Signing)?,
        direction: direction(rule.direction),
        current,
        target,
        effective_at: EffectiveAt::NextBillingDate,
        scheduled_for: Some(change.effective_at.clone()),
    }))
}

/// Verifies a withdrawal token: ours, unexpired, and of that kind.
pub fn verify(state: &PlanChanges, token: &str) -> Result<WithdrawClaims, PlanChangeError> {
    let claims: WithdrawClaims = state.keys.verify(token).map_err(PlanChangeError::Token)?;
    if claims.typ != WITHDRAW {
        return Err(PlanChangeError::InvalidToken);
    }
    Ok(claims)
}

/// Undoes the scheduled change `claims` names, once, and returns what became of it. A retry,
/// a double click or a replayed token gets the first withdrawal's outcome.
pub async fn withdraw(
    state: &PlanChanges,
    claims: &WithdrawClaims,
    idempotency_key: &str,
) -> Result<Withdrawal, PlanChangeError> {
    if !idempotency_key::is_well_formed(idempotency_key) {
        return Err(PlanChangeError::InvalidIdempotencyKey);
    }
    if let Some(existing) = state.storage.withdrawal(&claims.jti).await? {
        return outcome(state, existing).await;
    }
    let subscription = subscription(state, &claims.sub).await?;
    if subscription.customer.customer_id != claims.cus {
        return Err(PlanChangeError::NotTheCustomers);
    }
    if !still_scheduled(&subscription, claims) {
        // Undone meanwhile by a request with this token (a double click, sent at once)?
        if let Some(existing) = state.storage.withdrawal(&claims.jti).await? {
            return outcome(state, existing).await;
        }
        return Err(PlanChangeError::AlreadyChanged);
    }
    let candidate = Withdrawal {
        jti: claims.jti.clone(),
        idempotency_key: idempotency_key.to_string(),
        subscription_id: claims.sub.clone(),
        customer_id: claims.cus.clone(),
        rule_id: claims.rid.clone(),
        from_product: claims.from.clone(),
        to_product: claims.to.clone(),
        state: WithdrawalState::Pending,
        failure_code: None,
        created_at: clock::rfc3339(OffsetDateTime::now_utc()),
    };
    match state.storage.begin_withdrawal(&candidate).await? {
        BeginWithdrawal::Existing(existing) if existing.jti != claims.jti => {
            Err(PlanChangeError::IdempotencyKeyReused)
        }
        BeginWithdrawal::Existing(existing) => outcome(state, *existing).await,
        BeginWithdrawal::Recorded => {
            let (next, code) = match state.dodo.cancel_change_plan(&claims.sub).await {
                Ok(()) => (WithdrawalState::Withdrawn, None),
                Err(dodopayments::Error::Api { status, message })
                    if (400..500).contains(&status)
                        && status != 404
                        && status != 408
                        && status != 429 =>
                {
                    tracing::warn!(subscription = %claims.sub, status, %message, "Dodo refused to undo the scheduled change");
                    (
                        WithdrawalState::Failed,
                        Some("withdraw_refused".to_string()),
                    )
                }
                // Nothing left to undo (404), or an answer lost: the subscription tells.
                Err(error) => {
                    tracing::info!(%error, subscription = %claims.sub, "undo answer unknown; reading the subscription");
                    from_subscription(state, &candidate).await
                }
            };
            finish(state, &candidate, next, code.as_deref()).await?;
            tracing::info!(subscription = %claims.sub, state = next.as_str(), "scheduled change undo");
            found(state, &claims.jti).await
        }
    }
}

/// A withdrawal as the widget is told of it.
pub fn result(withdrawal: &Withdrawal) -> WithdrawResult {
    WithdrawResult {
        status: match withdrawal.state {
            WithdrawalState::Withdrawn => WithdrawStatus::Withdrawn,
            WithdrawalState::Pending | WithdrawalState::Failed => WithdrawStatus::Failed,
        },
        failure_code: withdrawal.failure_code.clone(),
    }
}

/// The outcome of a withdrawal another request recorded: waited for while that request asks
/// Dodo (at most the grace period, longer than any call to Dodo), then, if it never finished
/// (its proxy stopped), read from the subscription.
async fn outcome(
    state: &PlanChanges,
    mut withdrawal: Withdrawal,
) -> Result<Withdrawal, PlanChangeError> {
    while withdrawal.state == WithdrawalState::Pending
        && !clock::silent_for(&withdrawal.created_at, state.grace)
    {
        tokio::time::sleep(WAIT_STEP).await;
        withdrawal = found(state, &withdrawal.jti).await?;
    }
    if withdrawal.state != WithdrawalState::Pending {
        return Ok(withdrawal);
    }
    let (next, code) = from_subscription(state, &withdrawal).await;
    finish(state, &withdrawal, next, code.as_deref()).await?;
    found(state, &withdrawal.jti).await
}

/// Records a withdrawal's outcome; once undone, the change it undid is marked so (the report
/// no longer counts it as scheduled).
async fn finish(
    state: &PlanChanges,
    withdrawal: &Withdrawal,
    next: WithdrawalState,
    code: Option<&str>,
) -> Result<(), PlanChangeError> {
    state
        .storage
        .finish_withdrawal(&withdrawal.jti, next, code)
        .await?;
    if next == WithdrawalState::Withdrawn {
        state
            .storage
            .withdraw_scheduled_plan_change(&withdrawal.subscription_id, &withdrawal.to_product)
            .await?;
    }
    Ok(())
}

/// After an answer that does not say: undone if the subscription is still on the plan kept
/// with nothing scheduled. A subscription that has moved to the target meanwhile (the date
/// passed first) was not undone, whatever Dodo's 404 said.
async fn from_subscription(
    state: &PlanChanges,
    withdrawal: &Withdrawal,
) -> (WithdrawalState, Option<String>) {
    match state.dodo.subscription(&withdrawal.subscription_id).await {
        Ok(subscription)
            if subscription.scheduled_change.is_none()
                && subscription.product_id == withdrawal.from_product =>
        {
            (WithdrawalState::Withdrawn, None)
        }
        Ok(subscription) if subscription.scheduled_change.is_none() => {
            (WithdrawalState::Failed, Some("plan_already_changed".into()))
        }
        Ok(_) => (WithdrawalState::Failed, Some("not_withdrawn".into())),
        Err(error) => {
            tracing::warn!(%error, subscription = %withdrawal.subscription_id, "cannot tell whether the scheduled change was undone");
            (WithdrawalState::Failed, Some("provider_unreachable".into()))
        }
    }
}

/// The change the token names is the one Dodo still has scheduled: same plans, same date.
fn still_scheduled(subscription: &Subscription, claims: &WithdrawClaims) -> bool {
    let same_time = |a: &str, b: &str| match (clock::parse_rfc3339(a), clock::parse_rfc3339(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    };
    subscription.product_id == claims.from
        && subscription
            .scheduled_change
            .as_ref()
            .is_some_and(|s| s.product_id == claims.to && same_time(&s.effective_at, &claims.at))
}

async fn found(state: &PlanChanges, jti: &str) -> Result<Withdrawal, PlanChangeError> {
    state
        .storage
        .withdrawal(jti)
        .await?
        .ok_or(PlanChangeError::NotFound)
}
