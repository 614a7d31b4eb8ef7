//! `POST /v1/offers/checkout`: a standard Dodo checkout for an offered item, for when one click
//! cannot pay (see `charging::checkout`); Dodo returns the customer only to the merchant's pages,
//! naming the purchase the offer followed.

use crate::charging::checkout;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::offers::token::OfferClaims;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;
use upsell_wire::{CheckoutRequest, CheckoutResponse};

pub async fn checkout(
    State(state): State<Arc<AppState>>,
    body: Result<Json<CheckoutRequest>, JsonRejection>,
) -> Result<Json<CheckoutResponse>, ApiError> {
    let Json(request) = body?;
    let claims: OfferClaims = state.keys.verify(&request.token)?;
    state.limits.check_token(&claims.jti)?;
    let return_url = request
        .return_url
        .as_deref()
        .filter(|url| is_allowed_return_url(url, &state.allowed_origins))
        .map(|url| naming_the_purchase(url, &claims.sub));
    let checkout_url =
        checkout::open(&state.charging, &claims, request.quantity, return_url).await?;
    Ok(Json(CheckoutResponse { checkout_url }))
}

/// Dodo sends the customer back only to the merchant's own pages: an origin the proxy allows.
fn is_allowed_return_url(url: &str, allowed_origins: &[String]) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let origin = parsed.origin().ascii_serialization();
    matches!(parsed.scheme(), "https" | "http")
        && allowed_origins
            .iter()
            .any(|allowed| allowed.trim_end_matches('/') == origin)
}

/// `url` with the purchase the offer followed as its `payment_id`. The widget has taken the
/// purchase out of the page's address bar (so that the link is not a key to the customer's
/// card); the page the customer comes back to must name it again, before the new payment's id
/// that Dodo adds, so that it goes on with the same purchase's offers. Its other parameters
/// stay, in their order.
fn naming_the_purchase(url: &str, payment_id: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| name != "payment_id" && name != "status")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    parsed
        .query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("payment_id", payment_id);
    parsed.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_merchants_origins_are_return_urls() {
        let allowed = vec!["https://shop.example/".to_string()];
        assert!(is_allowed_return_url(
            "https://shop.example/thanks?payment_id=pay_1",
            &allowed
        ));
        assert!(!is_allowed_return_url("https://evil.example/", &allowed));
        assert!(!is_allowed_return_url(
            "https://shop.example.evil.example/",
            &allowed
        ));
        assert!(!is_allowed_return_url("javascript:alert(1)", &allowed));
        assert!(!is_allowed_return_url("not a url", &allowed));
    }

    #[test]
    fn the_return_url_names_the_purchase_once_and_keeps_the_rest() {
        assert_eq!(
            naming_the_purchase("https://shop.example/thanks", "pay_1"),
            "https://shop.example/thanks?payment_id=pay_1"
        );
        assert_eq!(
            naming_the_purchase(
                "https://shop.example/thanks?utm_source=mail&payment_id=pay_0&status=succeeded#order",
                "pay_1"
            ),
            "https://shop.example/thanks?utm_source=mail&payment_id=pay_1#order"
        );
    }
}
