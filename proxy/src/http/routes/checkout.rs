//! `POST /v1/offers/checkout`: a standard Dodo checkout for an offered item, for when one click
//! cannot pay (see `charging::checkout`); Dodo returns the customer only to the merchant's pages.

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
        .map(String::from);
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
}
