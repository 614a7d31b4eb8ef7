//! `GET /v1/offers?payment_id=pay_…`: the offers for a purchase that has just succeeded.

use crate::app::AppState;
use crate::clock;
use crate::dodo_api::{card_is_current, SavedMethod};
use crate::error::ApiError;
use crate::offer_builder::{self, Purchase, Settled};
use crate::offer_rules::OfferRule;
use crate::plan_change;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use dodopayments::models::{Currency, IntentStatus, Payment};
use serde::Deserialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use upsell_wire::{OffersResponse, PaymentMethod};

#[derive(Debug, Deserialize)]
pub struct OffersQuery {
    payment_id: String,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<OffersQuery>, QueryRejection>,
) -> Result<Json<OffersResponse>, ApiError> {
    let Query(query) = query?;
    check_payment_id(&query.payment_id)?;
    // Our own records of the purchase are read while Dodo is asked for the payment: the
    // database's time hides behind the round trip instead of adding to it.
    let (payment, settled) = tokio::join!(
        state.dodo.payment(&query.payment_id),
        state.storage.settled(&query.payment_id),
    );
    let payment = payment.map_err(|e| match e {
        dodopayments::Error::Api { status: 404, .. } => ApiError::new(
            StatusCode::NOT_FOUND,
            "payment_not_found",
            "no payment with this id",
        ),
        other => ApiError::upstream(&other),
    })?;
    if !matches!(payment.status.as_deref(), Some(IntentStatus::Succeeded)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "payment_not_succeeded",
            "offers follow only a purchase that succeeded",
        ));
    }
    let now = OffsetDateTime::now_utc();
    let purchased_at = clock::parse_rfc3339(&payment.created_at).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_invalid",
            "the payment provider sent an unreadable date",
        )
    })?;
    let expires_at = purchased_at + Duration::minutes(state.rules.offer_window_minutes);
    if expires_at <= now {
        return Err(ApiError::new(
            StatusCode::GONE,
            "offer_window_closed",
            "the offers for this purchase have expired",
        ));
    }

    // After a subscription purchase, the new subscriber may also change plan.
    let plan_changes = match payment.subscription_id.as_deref() {
        Some(subscription_id) => match state.dodo.subscription(subscription_id).await {
            Ok(subscription)
                if subscription.customer.customer_id == payment.customer.customer_id =>
            {
                plan_change::offered(&state, &subscription, expires_at, now)
                    .await
                    .unwrap_or_else(|error| {
                        tracing::warn!(code = error.code, "plan changes left out");
                        Vec::new()
                    })
            }
            Ok(_) => Vec::new(),
            // The one-click offers do not depend on it: they are still shown.
            Err(error) => {
                tracing::warn!(%error, "cannot read the purchase's subscription; no plan changes");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let settled = settled.map_err(|e| ApiError::storage(&e))?;
    let mut response = one_click_offers(&state, &payment, &settled, expires_at, now).await?;
    response.plan_changes = plan_changes;
    Ok(Json(response))
}

/// The offers of the purchase, and the cards that can pay them in one click.
async fn one_click_offers(
    state: &AppState,
    payment: &Payment,
    settled: &Settled,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<OffersResponse, ApiError> {
    if settled.accepted_count >= state.rules.max_accepted_offers {
        return Ok(OffersResponse::default());
    }
    let purchased = purchased_products(payment);
    let mut shown = Vec::new();
    for root in state.rules.offers_after(&purchased) {
        if let Some((rule, kind)) = offer_builder::current(&state.rules, root, settled, false) {
            // Two chains may lead to the same downsell: show it once.
            if !shown.iter().any(|(r, _): &(&OfferRule, _)| r.id == rule.id) {
                shown.push((rule, kind));
            }
        }
    }
    if shown.is_empty() {
        return Ok(OffersResponse::default());
    }

    let customer_id = payment.customer.customer_id.clone();
    let methods = state
        .dodo
        .payment_methods(&customer_id)
        .await
        .map_err(|e| ApiError::upstream(&e))?;
    let payment_methods = usable_methods(&methods, payment.payment_method_id.as_deref(), now);
    let purchase = Purchase {
        payment_id: payment.payment_id.clone(),
        customer_id,
        currency: currency_code(&payment.currency),
        expires_at,
        payment_method_id: payment_methods
            .first()
            .map(|m| m.payment_method_id.clone())
            .unwrap_or_default(),
    };
    let mut offers = Vec::new();
    for (rule, kind) in shown {
        if let Some(offer) =
            offer_builder::build(state, &purchase, rule, kind, settled, now).await?
        {
            offers.push(offer);
        }
    }
    Ok(OffersResponse {
        offers,
        payment_methods,
        plan_changes: Vec::new(),
    })
}

/// ISO 4217 code of Dodo's `Currency` enum (serialized upper case).
pub fn currency_code(currency: &Currency) -> String {
    serde_json::to_value(currency)
        .ok()
        .and_then(|v| v.as_str().map(str::to_uppercase))
        .unwrap_or_default()
}

/// Dodo payment ids are `pay_` and a short alphanumeric id; anything else is refused before
/// it reaches Dodo's URL.
fn check_payment_id(id: &str) -> Result<(), ApiError> {
    let well_formed = id.starts_with("pay_")
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_payment_id",
            "payment_id must look like pay_…",
        ))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_are_checked_before_they_reach_a_url() {
        assert!(check_payment_id("pay_abc123").is_ok());
        assert!(check_payment_id("pay_../../customers").is_err());
        assert!(check_payment_id("cus_123").is_err());
        assert!(check_payment_id(&format!("pay_{}", "a".repeat(80))).is_err());
    }
}
