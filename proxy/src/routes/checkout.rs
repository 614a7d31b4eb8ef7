//! `POST /v1/offers/checkout`: a standard Dodo checkout for an offered item, for when one click
//! cannot pay: no saved method can, or the one-click charge failed. The customer pays on Dodo's
//! hosted page, so nothing is charged here and the offer token is not used up.

use crate::analytics::event_store::Sighting;
use crate::app::AppState;
use crate::charge::{META_OFFER_ID, META_ORIGINAL_PAYMENT_ID};
use crate::error::ApiError;
use crate::offer_token::OfferClaims;
use crate::routes::accept::{check_quantity, token_error};
use crate::storage::AcceptState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dodopayments::models::{
    AttachExistingCustomer, CheckoutSessionsCreateParams, CustomerRequest, Metadata, ProductItemReq,
};
use serde_json::json;
use std::sync::Arc;
use upsell_wire::{CheckoutRequest, CheckoutResponse};

pub async fn checkout(
    State(state): State<Arc<AppState>>,
    body: Result<Json<CheckoutRequest>, JsonRejection>,
) -> Result<Json<CheckoutResponse>, ApiError> {
    let Json(request) = body?;
    let claims = state.keys.verify(&request.token).map_err(token_error)?;
    state.limits.check_token(&claims.jti)?;
    check_quantity(&claims, request.quantity)?;
    if let Some(url) = state
        .storage
        .fallback_checkout(&claims.jti)
        .await
        .map_err(|e| ApiError::storage(&e))?
    {
        // A second click: the same checkout, never a second one to pay.
        count_checkout(&state, &claims).await?;
        return Ok(Json(CheckoutResponse { checkout_url: url }));
    }
    let accepted = state
        .storage
        .accept_for_item(&claims.sub, &claims.iid)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if accepted.is_some_and(|a| a.state != AcceptState::Failed) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_accepted",
            "this item was already added to the order",
        ));
    }
    let return_url = request
        .return_url
        .as_deref()
        .filter(|url| is_allowed_return_url(url, &state.allowed_origins))
        .map(String::from);

    let mut metadata = Metadata::new();
    metadata.insert(META_OFFER_ID.into(), json!(claims.iid));
    metadata.insert(META_ORIGINAL_PAYMENT_ID.into(), json!(claims.sub));
    let params = CheckoutSessionsCreateParams {
        product_cart: Some(vec![ProductItemReq {
            product_id: claims.pid.clone(),
            quantity: i64::from(request.quantity),
            addons: None,
            amount: None,
            credit_entitlements: None,
        }]),
        customer: Some(Box::new(CustomerRequest::AttachExistingCustomer(Box::new(
            AttachExistingCustomer {
                customer_id: claims.cus.clone(),
            },
        )))),
        return_url,
        metadata: Some(Box::new(metadata)),
        ..Default::default()
    };
    let session = state
        .dodo
        .create_checkout(params)
        .await
        .map_err(|e| ApiError::upstream(&e))?;
    let checkout_url = session.checkout_url.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_invalid",
            "the payment provider did not return a checkout page",
        )
    })?;
    let checkout_url = state
        .storage
        .record_fallback_checkout(
            &claims.jti,
            &claims.sub,
            &claims.iid,
            &session.session_id,
            &checkout_url,
        )
        .await
        .map_err(|e| ApiError::storage(&e))?;
    tracing::info!(offer = %claims.iid, payment = %claims.sub, session_id = %session.session_id, "fallback checkout created");
    count_checkout(&state, &claims).await?;
    Ok(Json(CheckoutResponse { checkout_url }))
}

/// Files the checkout under its offer and variant for the report (again on a second click: a
/// first that failed to is made good).
async fn count_checkout(state: &AppState, claims: &OfferClaims) -> Result<(), ApiError> {
    state
        .storage
        .record_checkout_event(&Sighting::from(claims), &claims.jti)
        .await
        .map_err(|e| ApiError::storage(&e))
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
