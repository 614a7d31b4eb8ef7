//! The plans a comparison shows: Dodo's name and recurring price, and the merchant's feature
//! rows from the offers file, in the customer's language where it gives them.

use super::{PlanChangeError, PlanChanges};
use crate::dodo::client::recurring_price;
use crate::rules::{Direction, Effective};
use dodopayments::models::Subscription;
use upsell_wire::{EffectiveAt, Money, Plan, PlanDirection};

/// A plan as the comparison shows it: Dodo's name and price, the merchant's feature rows (in
/// the customer's language when the offers file gives it).
pub async fn plan(
    state: &PlanChanges,
    product_id: &str,
    locale: Option<&str>,
) -> Result<Option<Plan>, PlanChangeError> {
    let product = state
        .dodo
        .product(product_id)
        .await
        .map_err(PlanChangeError::Upstream)?;
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
            .current()
            .plan(product_id)
            .map(|p| p.features_in(locale).to_vec())
            .unwrap_or_default(),
    }))
}

/// Which way a rule's change goes, as the widget is told.
pub fn direction(direction: Direction) -> PlanDirection {
    match direction {
        Direction::Upgrade => PlanDirection::Upgrade,
        Direction::Downgrade => PlanDirection::Downgrade,
    }
}

/// When a rule's change takes effect, as the widget is told.
pub fn effective_at(effective: Effective) -> EffectiveAt {
    match effective {
        Effective::Immediately => EffectiveAt::Immediately,
        Effective::NextBillingDate => EffectiveAt::NextBillingDate,
    }
}

/// The subscription, as Dodo has it now; one Dodo does not know is `SubscriptionNotFound`.
pub async fn subscription(
    state: &PlanChanges,
    subscription_id: &str,
) -> Result<Subscription, PlanChangeError> {
    state
        .dodo
        .subscription(subscription_id)
        .await
        .map_err(|e| match e {
            dodopayments::Error::Api { status: 404, .. } => PlanChangeError::SubscriptionNotFound,
            other => PlanChangeError::Upstream(other),
        })
}
