//! Confirming a plan change, exactly once: the amount the customer confirmed must still be what
//! Dodo would charge; the change is recorded before Dodo is called (one per token and per key,
//! and one in flight per subscription); only the request that recorded it sends it. A retry, a
//! double click or a replayed token gets the first change's outcome, nothing more.

use super::change::{settle, submit};
use super::preview::{check, preview};
use super::token::{PlanChangeClaims, PLAN_CHANGE};
use super::{PlanChangeError, PlanChanges};
use crate::dodo::client::currency_code;
use crate::idempotency_key;
use crate::storage::plan_changes::{BeginChange, ChangeRecord, ChangeState};
use upsell_wire::{Money, PlanChangeResult};

/// Verifies a plan change token: ours, unexpired, and of that kind.
pub fn verify(state: &PlanChanges, token: &str) -> Result<PlanChangeClaims, PlanChangeError> {
    let claims: PlanChangeClaims = state.keys.verify(token).map_err(PlanChangeError::Token)?;
    if claims.typ != PLAN_CHANGE {
        return Err(PlanChangeError::InvalidToken);
    }
    Ok(claims)
}

/// Checks an idempotency key's form.
pub fn check_idempotency_key(key: &str) -> Result<(), PlanChangeError> {
    if idempotency_key::is_well_formed(key) {
        Ok(())
    } else {
        Err(PlanChangeError::InvalidIdempotencyKey)
    }
}

/// Makes the change `claims` seal, if Dodo would still charge `confirmed_amount` for it, and
/// returns it as it then stands.
pub async fn confirm(
    state: &PlanChanges,
    claims: &PlanChangeClaims,
    idempotency_key: &str,
    confirmed_amount: i64,
) -> Result<ChangeRecord, PlanChangeError> {
    let (rule, subscription) = check(state, claims).await?;
    let candidate = ChangeRecord {
        change_ref: format!("chg_{}", uuid::Uuid::new_v4().simple()),
        jti: claims.jti.clone(),
        idempotency_key: idempotency_key.to_string(),
        subscription_id: claims.sub.clone(),
        customer_id: claims.cus.clone(),
        rule_id: rule.id.clone(),
        to_product: rule.to.clone(),
        amount: confirmed_amount,
        currency: currency_code(&subscription.currency),
        state: ChangeState::Pending,
        payment_id: None,
        effective_date: None,
        failure_code: None,
        action_url: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    // A retry, a double click or a replayed token: the first change's outcome, nothing more.
    if let Some(found) = find_existing(state, &candidate).await? {
        return existing_outcome(state, &candidate, found).await;
    }
    // The customer confirmed an amount: it must still be what Dodo will charge.
    let preview = preview(state, &rule, &subscription).await?;
    if preview.amount_due_now.amount != confirmed_amount {
        // A confirm of the same token racing this one may have made the change meanwhile (the
        // new plan then previews another amount): its outcome is the answer.
        if let Some(found) = find_existing(state, &candidate).await? {
            return existing_outcome(state, &candidate, found).await;
        }
        return Err(PlanChangeError::PreviewChanged {
            amount: preview.amount_due_now.amount,
            currency: preview.amount_due_now.currency,
        });
    }
    let recorded = match state.storage.begin_plan_change(&candidate).await? {
        BeginChange::Recorded(recorded) => recorded,
        BeginChange::Existing(existing) => {
            return existing_outcome(state, &candidate, existing).await;
        }
        BeginChange::InProgress => return Err(PlanChangeError::InProgress),
    };
    // Spawned, so that a client hanging up cannot cancel the change half-way.
    let shared = state.clone();
    tokio::spawn(async move { submit(&shared, recorded, &rule, &subscription).await })
        .await
        .map_err(|error| {
            tracing::error!(%error, "plan change task failed");
            PlanChangeError::NotFollowed
        })
}

/// Where change `change_ref` stands now, as close to its outcome as Dodo can tell.
pub async fn status(
    state: &PlanChanges,
    change_ref: &str,
) -> Result<ChangeRecord, PlanChangeError> {
    let change = state
        .storage
        .plan_change(change_ref)
        .await?
        .ok_or(PlanChangeError::NotFound)?;
    Ok(settle(state, change).await)
}

/// Settles the changes a webhook is about: the change its payment names, and those in flight
/// of the subscription it names. Both are read afresh from Dodo (events may arrive late, twice
/// or out of order).
pub async fn settle_for_event(
    state: &PlanChanges,
    plan_change_ref: Option<&str>,
    subscription_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut open = Vec::new();
    if let Some(change_ref) = plan_change_ref {
        open.extend(state.storage.plan_change(change_ref).await?);
    }
    if let Some(subscription_id) = subscription_id {
        open.extend(state.storage.open_plan_changes(subscription_id).await?);
    }
    for change in open {
        let settled = settle(state, change).await;
        tracing::info!(change = %settled.change_ref, state = settled.state.as_str(), "plan change settled by webhook");
    }
    Ok(())
}

/// The answer to a confirm that found a change already recorded with its token or its
/// idempotency key: that change's outcome, or, for a key reused with another token, a refusal.
async fn existing_outcome(
    state: &PlanChanges,
    candidate: &ChangeRecord,
    found: ChangeRecord,
) -> Result<ChangeRecord, PlanChangeError> {
    if found.jti != candidate.jti {
        return Err(PlanChangeError::IdempotencyKeyReused);
    }
    Ok(settle(state, found).await)
}

/// A change already recorded with this token or idempotency key.
async fn find_existing(
    state: &PlanChanges,
    candidate: &ChangeRecord,
) -> Result<Option<ChangeRecord>, PlanChangeError> {
    Ok(state
        .storage
        .plan_change_by_token_or_key(&candidate.jti, &candidate.idempotency_key)
        .await?)
}

/// A change as the widget is told of it.
pub fn result(change: &ChangeRecord) -> PlanChangeResult {
    PlanChangeResult {
        change_ref: change.change_ref.clone(),
        status: change.state.to_wire(),
        amount: Money {
            amount: change.amount,
            currency: change.currency.clone(),
        },
        effective_date: change.effective_date.clone(),
        failure_code: change.failure_code.clone(),
        // The 3-D Secure page while it waits; the page for a new card after a card failed.
        action_url: change.action_url.clone().filter(|_| {
            matches!(
                change.state,
                ChangeState::RequiresAction | ChangeState::OnHold | ChangeState::Failed
            )
        }),
    }
}
