//! Which plan changes a subscriber may make: after a subscription purchase (with its offers),
//! and on the merchant's account page (with an account token). Each is sealed in a plan change
//! token, with both plans as the comparison shows them.

use super::plans::{direction, effective_at, plan, subscription};
use super::token::{AccountClaims, PlanChangeClaims, ACCOUNT, PLAN_CHANGE};
use super::{withdraw, PlanChangeError, PlanChanges};
use crate::offers::customer_history::CustomerHistory;
use dodopayments::models::{Payment, Subscription, SubscriptionStatus};
use time::OffsetDateTime;
use upsell_wire::{PlanChange, PlanChangesResponse};

/// After a subscription purchase, the plan changes the new subscriber may make (until the
/// purchase's offers expire). None when the purchase is no subscription, or its subscription
/// cannot be read: the one-click offers do not depend on it.
pub async fn after_purchase(
    state: &PlanChanges,
    payment: &Payment,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
    locale: Option<&str>,
) -> Vec<PlanChange> {
    let Some(subscription_id) = payment.subscription_id.as_deref() else {
        return Vec::new();
    };
    match state.dodo.subscription(subscription_id).await {
        Ok(subscription) if subscription.customer.customer_id == payment.customer.customer_id => {
            offered(state, &subscription, expires_at, now, locale)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(?error, "plan changes left out");
                    Vec::new()
                })
        }
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(%error, "cannot read the purchase's subscription; no plan changes");
            Vec::new()
        }
    }
}

/// On an account page: the plan changes open to the subscriber the account token names, or the
/// change already scheduled with a token to undo it, with the merchant's feature rows in the
/// customer's `locale` where the offers file gives them.
pub async fn for_account(
    state: &PlanChanges,
    account_token: &str,
    locale: Option<&str>,
) -> Result<PlanChangesResponse, PlanChangeError> {
    let account: AccountClaims = state
        .keys
        .verify(account_token)
        .map_err(PlanChangeError::Token)?;
    if account.typ != ACCOUNT {
        return Err(PlanChangeError::InvalidToken);
    }
    let subscription = subscription(state, &account.sub).await?;
    if subscription.customer.customer_id != account.cus {
        return Err(PlanChangeError::InvalidToken);
    }
    let expires_at = OffsetDateTime::from_unix_timestamp(account.exp)
        .map_err(|_| PlanChangeError::InvalidToken)?;
    let now = OffsetDateTime::now_utc();
    Ok(PlanChangesResponse {
        plan_changes: offered(state, &subscription, expires_at, now, locale).await?,
        scheduled: withdraw::scheduled(state, &subscription, expires_at, now, locale).await?,
    })
}

/// The plan changes open to this subscription, each sealed in a token valid until `expires_at`.
pub async fn offered(
    state: &PlanChanges,
    subscription: &Subscription,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
    locale: Option<&str>,
) -> Result<Vec<PlanChange>, PlanChangeError> {
    // An inactive subscription, or one with a change already scheduled, is offered none.
    if !matches!(*subscription.status, SubscriptionStatus::Active)
        || subscription.scheduled_change.is_some()
    {
        return Ok(Vec::new());
    }
    let customer_id = &subscription.customer.customer_id;
    let rules = state.rules.current();
    if rules
        .plan_changes_from(&subscription.product_id)
        .next()
        .is_none()
    {
        return Ok(Vec::new());
    }
    // A plan the customer is already on, in another subscription, is not offered again.
    let history = match state.dodo.subscriptions_of(customer_id).await {
        Ok(subscriptions) => CustomerHistory::of_subscriptions(&subscriptions),
        Err(error) => {
            tracing::warn!(%error, customer = %customer_id, "the customer's subscriptions could not be read");
            CustomerHistory::default()
        }
    };
    let mut changes = Vec::new();
    for rule in rules.plan_changes_from(&subscription.product_id) {
        if history.is_subscribed_to(&rule.to) {
            tracing::info!(change = %rule.id, customer = %customer_id, "already on the target plan; change not offered");
            continue;
        }
        let (Some(current), Some(target)) = (
            plan(state, &rule.from, locale).await?,
            plan(state, &rule.to, locale).await?,
        ) else {
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
        let token = state.keys.sign(&claims).map_err(PlanChangeError::Signing)?;
        // Counted once per subscription and rule, for the report.
        if let Err(error) = state
            .storage
            .record_plan_change_shown(&subscription.subscription_id, &rule.id, customer_id)
            .await
        {
            tracing::warn!(%error, change = %rule.id, "cannot count the plan change shown");
        }
        changes.push(PlanChange {
            change_id: rule.id.clone(),
            token,
            direction: direction(rule.direction),
            current,
            target,
            effective_at: effective_at(rule.effective_at),
            scheduled_for: None,
        });
    }
    Ok(changes)
}
