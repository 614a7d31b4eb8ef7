//! What a plan change will cost, as Dodo previews it: the token's rule and subscription checked
//! to still be where the token found them, then Dodo's preview read as the customer reads it
//! (due now, the credits, taxes, when it takes effect, the next renewal).

use super::plans::effective_at;
use super::token::PlanChangeClaims;
use super::{PlanChangeError, PlanChanges};
use crate::clock;
use crate::dodo::client::currency_code;
use crate::rules::{Effective, PlanChangeRule};
use dodopayments::models::{AttachAddon, Metadata, Subscription, SubscriptionsChangePlanParams};
use serde_json::Value;
use time::OffsetDateTime;
use upsell_wire::{Money, PlanChangePreview};

/// The rule a token names, and the subscription, checked to still be where the token found
/// it: the same customer, on the plan the change starts from.
pub async fn check(
    state: &PlanChanges,
    claims: &PlanChangeClaims,
) -> Result<(PlanChangeRule, Subscription), PlanChangeError> {
    let rule = state
        .rules
        .current()
        .plan_change(&claims.rid)
        .filter(|r| r.from == claims.from && r.to == claims.to)
        .cloned()
        .ok_or(PlanChangeError::Withdrawn)?;
    let subscription = state
        .dodo
        .subscription(&claims.sub)
        .await
        .map_err(PlanChangeError::Upstream)?;
    if subscription.customer.customer_id != claims.cus {
        return Err(PlanChangeError::NotTheCustomers);
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
    state: &PlanChanges,
    rule: &PlanChangeRule,
    subscription: &Subscription,
) -> Result<PlanChangePreview, PlanChangeError> {
    if subscription.product_id != rule.from || subscription.scheduled_change.is_some() {
        return Err(PlanChangeError::AlreadyChanged);
    }
    let preview = state
        .dodo
        .preview_plan_change(
            &subscription.subscription_id,
            params(rule, subscription, None),
        )
        .await
        .map_err(|e| match e {
            // Another payment of the subscription still waits for its customer (a change in
            // 3-D Secure): the subscription is busy, not this change impossible.
            dodopayments::Error::Api { status, message }
                if (400..500).contains(&status) && message.contains("PREVIOUS_PAYMENT_PENDING") =>
            {
                tracing::info!(status, "a previous payment of the subscription is pending");
                PlanChangeError::InProgress
            }
            dodopayments::Error::Api { status, message } if (400..500).contains(&status) => {
                tracing::warn!(status, %message, "Dodo refused the plan change preview");
                PlanChangeError::Refused
            }
            other => PlanChangeError::Upstream(other),
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
