//! A standard Dodo checkout for an offered item, for when one click cannot pay: no saved method
//! can, or the one-click charge failed. The customer pays on Dodo's hosted page, so nothing is
//! charged here and the offer token is not used up. One checkout per token: a second click gets
//! the first one's page, never a second one to pay; and none once the item is accepted, unless
//! its charge failed, or once the purchase has accepted as many items as it may (an item paid
//! through a standard checkout counts like a one-click accept).

use super::accept::check_quantity;
use super::{AcceptError, Charging};
use crate::dodo::metadata;
use crate::offers::token::OfferClaims;
use crate::storage::offer_events::Sighting;
use crate::storage::AcceptState;
use dodopayments::models::{
    AttachExistingCustomer, CheckoutSessionsCreateParams, CustomerRequest, Metadata, ProductItemReq,
};
use serde_json::json;

/// The page of the standard checkout for the item `claims` seal, `quantity` of it; Dodo sends
/// the customer back to `return_url` (already checked to be one of the merchant's pages).
pub async fn open(
    charging: &Charging,
    claims: &OfferClaims,
    quantity: u32,
    return_url: Option<String>,
) -> Result<String, AcceptError> {
    check_quantity(claims, quantity)?;
    if let Some(url) = charging.storage.fallback_checkout(&claims.jti).await? {
        // A second click: the same checkout, never a second one to pay.
        count_checkout(charging, claims).await?;
        return Ok(url);
    }
    let accepted = charging
        .storage
        .accept_for_item(&claims.sub, &claims.iid)
        .await?;
    if accepted.is_some_and(|a| a.state != AcceptState::Failed) {
        return Err(AcceptError::AlreadyAccepted);
    }
    // The purchase's limit holds for checkouts as for one click: an item paid here counts.
    let settled = charging.storage.settled(&claims.sub).await?;
    if settled.accepted_count >= charging.rules.current().max_accepted_offers {
        return Err(AcceptError::LimitReached);
    }
    let mut meta = Metadata::new();
    meta.insert(metadata::OFFER_ID.into(), json!(claims.iid));
    meta.insert(metadata::ORIGINAL_PAYMENT_ID.into(), json!(claims.sub));
    let params = CheckoutSessionsCreateParams {
        product_cart: Some(vec![ProductItemReq {
            product_id: claims.pid.clone(),
            quantity: i64::from(quantity),
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
        metadata: Some(Box::new(meta)),
        ..Default::default()
    };
    let session = charging
        .dodo
        .create_checkout(params)
        .await
        .map_err(AcceptError::Upstream)?;
    let checkout_url = session.checkout_url.ok_or(AcceptError::NoCheckoutPage)?;
    let checkout_url = charging
        .storage
        .record_fallback_checkout(
            &claims.jti,
            &claims.sub,
            &claims.iid,
            &session.session_id,
            &checkout_url,
        )
        .await?;
    tracing::info!(offer = %claims.iid, payment = %claims.sub, session_id = %session.session_id, "fallback checkout created");
    count_checkout(charging, claims).await?;
    Ok(checkout_url)
}

/// Files the checkout under its offer and variant for the report (again on a second click: a
/// first that failed to is made good).
async fn count_checkout(charging: &Charging, claims: &OfferClaims) -> Result<(), AcceptError> {
    charging
        .storage
        .record_checkout_event(&Sighting::from(claims), &claims.jti)
        .await?;
    Ok(())
}
