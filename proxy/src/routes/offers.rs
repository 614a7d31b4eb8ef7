//! `GET /v1/offers?payment_id=pay_…`: the offers for a purchase that has just succeeded.

use crate::app::AppState;
use crate::clock;
use crate::dodo_api::{card_is_current, one_time_price, SavedMethod};
use crate::error::ApiError;
use crate::offer_token::OfferClaims;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use dodopayments::models::{IntentStatus, Payment};
use serde::Deserialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use upsell_wire::{Money, Offer, OffersResponse, SavedCard};

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
    let payment = state
        .dodo
        .payment(&query.payment_id)
        .await
        .map_err(|e| match e {
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

    let accepted = state
        .storage
        .accepted_count(&payment.payment_id)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if accepted >= state.rules.max_accepted_offers {
        return Ok(Json(OffersResponse { offers: Vec::new() }));
    }
    let purchased = purchased_products(&payment);
    let settled = state
        .storage
        .settled_offers(&payment.payment_id)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    let rules: Vec<_> = state
        .rules
        .offers_after(&purchased)
        .filter(|rule| !settled.contains(&rule.id))
        .cloned()
        .collect();
    if rules.is_empty() {
        return Ok(Json(OffersResponse { offers: Vec::new() }));
    }

    let customer_id = payment.customer.customer_id.clone();
    let methods = state
        .dodo
        .payment_methods(&customer_id)
        .await
        .map_err(|e| ApiError::upstream(&e))?;
    let Some((method_id, card)) = choose_card(&methods, payment.payment_method_id.as_deref(), now)
    else {
        // Nothing to charge with one click: the widget shows nothing.
        return Ok(Json(OffersResponse { offers: Vec::new() }));
    };

    let mut offers = Vec::new();
    for rule in rules {
        let product = state
            .dodo
            .product(&rule.product)
            .await
            .map_err(|e| ApiError::upstream(&e))?;
        let Some(price) = one_time_price(&product) else {
            tracing::warn!(offer = %rule.id, product = %rule.product, "offered product has no one-time price; skipped");
            continue;
        };
        let claims = OfferClaims {
            sub: payment.payment_id.clone(),
            cus: customer_id.clone(),
            oid: rule.id.clone(),
            pid: rule.product.clone(),
            amt: price.unit_amount,
            cur: price.currency.clone(),
            qmin: rule.quantity,
            qmax: rule.quantity,
            pm: method_id.clone(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = state.keys.sign(&claims).map_err(|error| {
            tracing::error!(%error, "cannot sign offer token");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "signing_failed",
                "the offer could not be prepared",
            )
        })?;
        offers.push(Offer {
            offer_id: rule.id.clone(),
            token,
            title: product.name.clone().unwrap_or_else(|| rule.product.clone()),
            description: product.description.clone(),
            image: product.image.clone(),
            price: Money {
                amount: price.unit_amount,
                currency: price.currency,
            },
            quantity: rule.quantity,
            payment_method: card.clone(),
            expires_at: clock::rfc3339(expires_at),
        });
    }
    Ok(Json(OffersResponse { offers }))
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

/// The card to charge: the one the purchase was paid with if it is still saved and current,
/// otherwise the most recently used current card.
fn choose_card(
    methods: &[SavedMethod],
    paid_with: Option<&str>,
    now: OffsetDateTime,
) -> Option<(String, SavedCard)> {
    let usable = |m: &&SavedMethod| {
        m.payment_method == "card" && m.card.as_ref().is_some_and(|c| card_is_current(c, now))
    };
    let chosen = methods
        .iter()
        .filter(usable)
        .find(|m| Some(m.payment_method_id.as_str()) == paid_with)
        .or_else(|| {
            methods
                .iter()
                .filter(usable)
                .max_by_key(|m| m.last_used_at.as_deref().and_then(clock::parse_rfc3339))
        })?;
    let card = chosen.card.as_ref()?;
    Some((
        chosen.payment_method_id.clone(),
        SavedCard {
            network: card.card_network.clone().unwrap_or_else(|| "Card".into()),
            last4: card.last4_digits.clone().unwrap_or_default(),
        },
    ))
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
