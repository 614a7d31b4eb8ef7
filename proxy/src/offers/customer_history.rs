//! What the customer already has, as Dodo knows it: the one-time products of their succeeded
//! payments (those not refunded in full), the plans of their live subscriptions, and whether
//! they had bought before this purchase. Offers and plan changes skip what the customer
//! already has (merchants' most common complaint about upsell apps), and `[offers.when]
//! customer` tells new customers from returning ones.
//!
//! Dodo's list of payments names no products, so the products come from each payment, read in
//! parallel. Only the `RECENT_PURCHASES` most recent one-time payments are read: a bound on the
//! calls one lookup makes, documented in the README. A lookup reads this while it reads the
//! saved cards, so it waits for the slower of the two, not for both.

use crate::clock;
use crate::dodo::DodoApi;
use dodopayments::models::{
    Payment, PaymentListResponse, PaymentRefundStatus, SubscriptionListResponse, SubscriptionStatus,
};
use std::collections::BTreeSet;
use tokio::task::JoinSet;

/// How many of the customer's most recent one-time payments are read for what they bought.
pub const RECENT_PURCHASES: usize = 20;

/// What the customer has, and whether they are new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerHistory {
    /// One-time products bought and not refunded in full, this purchase's included.
    bought: BTreeSet<String>,
    /// Products of subscriptions not ended: active, pending, on hold, paused or past due.
    subscribed: BTreeSet<String>,
    /// A succeeded payment before this purchase; `None` when Dodo could not tell.
    returning: Option<bool>,
}

impl CustomerHistory {
    /// Whether the customer already has `product_id`: bought it, or is subscribed to it.
    pub fn owns(&self, product_id: &str) -> bool {
        self.bought.contains(product_id) || self.subscribed.contains(product_id)
    }

    /// Whether the customer is on the plan `product_id` in a live subscription.
    pub fn is_subscribed_to(&self, product_id: &str) -> bool {
        self.subscribed.contains(product_id)
    }

    /// Whether the customer had bought before this purchase; `None` when unknown.
    pub fn returning(&self) -> Option<bool> {
        self.returning
    }

    /// Only what the purchase itself shows: its products. What a lookup falls back to when
    /// Dodo cannot list the customer's payments.
    pub fn of_purchase_only(purchase: &Payment) -> Self {
        CustomerHistory {
            bought: cart_products(purchase).collect(),
            ..Self::default()
        }
    }

    /// A customer who bought `products` (for tests of what depends on it).
    #[cfg(test)]
    pub fn owning<'a>(products: impl Iterator<Item = &'a str>) -> Self {
        CustomerHistory {
            bought: products.map(String::from).collect(),
            ..Self::default()
        }
    }

    /// From the customer's subscriptions alone (an account page: no purchase to compare with).
    pub fn of_subscriptions(subscriptions: &[SubscriptionListResponse]) -> Self {
        CustomerHistory {
            subscribed: live_plans(subscriptions),
            ..Self::default()
        }
    }
}

/// Reads the history of the customer of `purchase` from Dodo.
pub async fn read(
    dodo: &DodoApi,
    purchase: &Payment,
) -> Result<CustomerHistory, dodopayments::Error> {
    let customer_id = &purchase.customer.customer_id;
    let (payments, subscriptions) = tokio::try_join!(
        dodo.recent_payments_of(customer_id),
        dodo.subscriptions_of(customer_id),
    )?;
    let purchased_at = clock::parse_rfc3339(&purchase.created_at);
    let others: Vec<&PaymentListResponse> = payments
        .iter()
        .filter(|p| p.payment_id != purchase.payment_id)
        .collect();
    let returning =
        others.iter().any(
            |p| match (clock::parse_rfc3339(&p.created_at), purchased_at) {
                (Some(then), Some(now)) => then < now,
                _ => false,
            },
        );

    let mut bought: BTreeSet<String> = cart_products(purchase).collect();
    let to_read: Vec<String> = others
        .iter()
        // A subscription's payments are its plan's; the subscription says whether it is live.
        .filter(|p| p.subscription_id.is_none())
        .filter(|p| !matches!(p.refund_status.as_deref(), Some(PaymentRefundStatus::Full)))
        .take(RECENT_PURCHASES)
        .map(|p| p.payment_id.clone())
        .collect();
    let mut reads = JoinSet::new();
    for payment_id in to_read {
        let dodo = dodo.clone();
        reads.spawn(async move { dodo.payment(&payment_id).await });
    }
    while let Some(read) = reads.join_next().await {
        match read {
            Ok(Ok(payment)) => bought.extend(cart_products(&payment)),
            Ok(Err(error)) => return Err(error),
            // A read that panicked: treated as one Dodo could not answer.
            Err(join) => {
                tracing::warn!(error = %join, "a payment of the customer's history could not be read");
            }
        }
    }
    Ok(CustomerHistory {
        bought,
        subscribed: live_plans(&subscriptions),
        returning: Some(returning),
    })
}

/// The products in a payment's cart.
fn cart_products(payment: &Payment) -> impl Iterator<Item = String> + '_ {
    payment
        .product_cart
        .iter()
        .flatten()
        .filter_map(|line| line.get("product_id")?.as_str().map(String::from))
}

/// The plans of the subscriptions that still run (or are about to, or wait on a payment).
fn live_plans(subscriptions: &[SubscriptionListResponse]) -> BTreeSet<String> {
    subscriptions
        .iter()
        .filter(|s| {
            matches!(
                *s.status,
                SubscriptionStatus::Active
                    | SubscriptionStatus::OnHold
                    | SubscriptionStatus::Pending
                    | SubscriptionStatus::Paused
                    | SubscriptionStatus::PastDue
            )
        })
        .map(|s| s.product_id.clone())
        .collect()
}
