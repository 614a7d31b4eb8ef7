//! The offers for a purchase that has just succeeded: the purchase read from Dodo and checked,
//! then the offers its products lead to that fit it and its customer, and the saved cards that
//! can pay them in one click.

use super::allocation;
use super::builder::{self, Customer, Purchase};
use super::customer_history::{self, CustomerHistory};
use super::holdout;
use super::targeting::{self, PurchaseFacts};
use super::{OfferError, Offers};
use crate::clock;
use crate::dodo::client::{card_is_current, currency_code, SavedMethod};
use crate::rules::{OfferRule, OfferRules};
use crate::storage::offered_purchases::{Arm, OfferedPurchase};
use crate::storage::Settled;
use dodopayments::models::{IntentStatus, Payment};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};
use tokio::task::JoinSet;
use upsell_wire::{OffersResponse, PaymentMethod};

/// A purchase offers may follow: it succeeded, and its offer window is open.
#[derive(Debug, Clone)]
pub struct PaidPurchase {
    pub payment: Payment,
    /// What the customer already did with its offers.
    pub settled: Settled,
    /// When it was made.
    pub purchased_at: OffsetDateTime,
    /// The end of its offer window.
    pub expires_at: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// Reads the purchase `payment_id` and checks that offers may follow it.
pub async fn paid_purchase(offers: &Offers, payment_id: &str) -> Result<PaidPurchase, OfferError> {
    // Our own records of the purchase are read while Dodo is asked for the payment: the
    // database's time hides behind the round trip instead of adding to it.
    let (payment, settled) = tokio::join!(
        offers.dodo.payment(payment_id),
        offers.storage.settled(payment_id),
    );
    let payment = payment.map_err(|e| match e {
        dodopayments::Error::Api { status: 404, .. } => OfferError::PaymentNotFound,
        other => OfferError::Upstream(other),
    })?;
    if !matches!(payment.status.as_deref(), Some(IntentStatus::Succeeded)) {
        return Err(OfferError::PaymentNotSucceeded);
    }
    let now = OffsetDateTime::now_utc();
    let purchased_at =
        clock::parse_rfc3339(&payment.created_at).ok_or(OfferError::UnreadableDate)?;
    let expires_at = purchased_at + Duration::minutes(offers.rules.current().offer_window_minutes);
    if expires_at <= now {
        return Err(OfferError::WindowClosed);
    }
    Ok(PaidPurchase {
        payment,
        settled: settled?,
        purchased_at,
        expires_at,
        now,
    })
}

/// The offers of the purchase, and the cards that can pay them in one click.
pub async fn one_click_offers(
    offers: &Offers,
    purchase: &PaidPurchase,
    locale: Option<&str>,
) -> Result<OffersResponse, OfferError> {
    let (payment, settled, now) = (&purchase.payment, &purchase.settled, purchase.now);
    let rules = offers.rules.current();
    if settled.accepted_count >= rules.max_accepted_offers {
        return Ok(OffersResponse::default());
    }
    let purchased = purchased_products(payment);
    if rules.offers_after(&purchased).next().is_none() {
        return Ok(OffersResponse::default());
    }

    // What the customer already has, the cards that can pay, and the products the offers may
    // show are read at the same time.
    let customer_id = payment.customer.customer_id.clone();
    let candidates: Vec<&OfferRule> = rules.offers_after(&purchased).collect();
    let (history, methods, ()) = tokio::join!(
        customer_history::read(&offers.dodo, payment),
        offers.dodo.payment_methods(&customer_id),
        warm_products(offers, &rules, &candidates),
    );
    let history = history.unwrap_or_else(|error| {
        // Offers still follow; only the purchase's own products are known to be owned, and
        // no `customer = "new"` or `"returning"` condition holds.
        tracing::warn!(%error, customer = %customer_id, "the customer's history could not be read");
        CustomerHistory::of_purchase_only(payment)
    });

    let facts = PurchaseFacts::of(payment, history.returning());
    let roots = targeting::choose(rules.offers_after(&purchased), &facts, now);
    let assigned = allocation::assign(offers, &rules, roots.iter().copied(), &customer_id).await?;
    let customer = Customer {
        id: &customer_id,
        history: &history,
        assigned: &assigned,
        locale,
    };
    let mut shown = Vec::new();
    for root in roots {
        if let Some((rule, kind)) = builder::current(&rules, root, settled, false, customer) {
            // Two chains may lead to the same downsell: show it once.
            if !shown.iter().any(|(r, _): &(&OfferRule, _)| r.id == rule.id) {
                shown.push((rule, kind));
            }
        }
    }
    if shown.is_empty() {
        return Ok(OffersResponse::default());
    }
    // Offers fit this purchase: it is filed in its side of the holdout, whichever it is, so
    // that the report compares like with like. A held-out customer is shown nothing.
    let arm = holdout::arm(&rules, &customer_id);
    let filed = OfferedPurchase {
        payment_id: payment.payment_id.clone(),
        customer_id: customer_id.clone(),
        arm,
        currency: currency_code(&payment.currency),
        total: payment.total_amount,
        purchased_at: purchase.purchased_at.unix_timestamp(),
    };
    // Written once: a reload of the page finds it filed (read with the purchase, at the start).
    let filing = async {
        if settled.filed {
            return Ok(());
        }
        offers.storage.record_offered_purchase(&filed).await
    };
    if arm == Arm::Holdout {
        filing.await?;
        return Ok(OffersResponse::default());
    }

    let methods = methods.map_err(OfferError::Upstream)?;
    let payment_methods = usable_methods(&methods, payment.payment_method_id.as_deref(), now);
    let for_purchase = Purchase {
        payment_id: payment.payment_id.clone(),
        customer_id: customer_id.clone(),
        currency: currency_code(&payment.currency),
        expires_at: purchase.expires_at,
        payment_method_id: payment_methods
            .first()
            .map(|m| m.payment_method_id.clone())
            .unwrap_or_default(),
    };
    // The filing is written while the offers are priced and sealed.
    let (filed, built) = tokio::join!(filing, async {
        let mut built = Vec::new();
        for (rule, kind) in shown {
            if let Some(offer) =
                builder::build(offers, &for_purchase, rule, kind, settled, customer, now).await?
            {
                built.push(offer);
            }
        }
        Ok::<_, OfferError>(built)
    });
    filed?;
    let built = built?;
    Ok(OffersResponse {
        offers: built,
        payment_methods,
        plan_changes: Vec::new(),
    })
}

/// Reads every product the chains from `roots` may show into the product cache at once (those
/// it holds cost nothing), so that pricing the offers waits on no round trip of its own, even
/// when the cache has just expired. A product that cannot be read is left to the pricing,
/// which says why.
async fn warm_products(offers: &Offers, rules: &OfferRules, roots: &[&OfferRule]) {
    let mut products = BTreeSet::new();
    for root in roots {
        let mut rule = Some(*root);
        // Chains are checked to end when the rules are loaded; the bound is a second guard.
        for _ in 0..=rules.offers.len() {
            let Some(current) = rule else { break };
            products.extend(current.products().into_iter().map(|p| p.product));
            products.extend(current.variants.iter().filter_map(|v| v.product.clone()));
            rule = current.downsell.as_deref().and_then(|id| rules.offer(id));
        }
    }
    let mut reads = JoinSet::new();
    for product in products {
        let dodo = offers.dodo.clone();
        reads.spawn(async move {
            let _ = dodo.product(&product).await;
        });
    }
    while reads.join_next().await.is_some() {}
}

fn purchased_products(payment: &Payment) -> Vec<String> {
    payment
        .product_cart
        .iter()
        .flatten()
        .filter_map(|line| line.get("product_id")?.as_str().map(String::from))
        .collect()
}

/// The saved cards one click may charge: current cards only, the one the purchase was paid
/// with first (it has just paid this currency), then the most recently used.
fn usable_methods(
    methods: &[SavedMethod],
    paid_with: Option<&str>,
    now: OffsetDateTime,
) -> Vec<PaymentMethod> {
    let mut usable: Vec<&SavedMethod> = methods
        .iter()
        .filter(|m| {
            m.payment_method == "card" && m.card.as_ref().is_some_and(|c| card_is_current(c, now))
        })
        .collect();
    usable.sort_by_key(|m| {
        (
            Some(m.payment_method_id.as_str()) != paid_with,
            std::cmp::Reverse(m.last_used_at.as_deref().and_then(clock::parse_rfc3339)),
        )
    });
    usable
        .into_iter()
        .filter_map(|m| {
            let card = m.card.as_ref()?;
            Some(PaymentMethod {
                payment_method_id: m.payment_method_id.clone(),
                network: card.card_network.clone().unwrap_or_else(|| "Card".into()),
                last4: card.last4_digits.clone().unwrap_or_default(),
            })
        })
        .collect()
}
