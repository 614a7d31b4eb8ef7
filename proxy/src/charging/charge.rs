//! Charging an accepted offer, and learning its final outcome.
//!
//! `charge` runs once per accept, only for the request that recorded it. It reads what the
//! charge needs while the accept is `pending`, then moves it to `submitted` immediately before
//! calling Dodo, so that an outcome that is never heard (a timeout, a crash) is visible as such
//! instead of looking like "not charged", and so that only the charge call itself lies between
//! the claim and the charge.

use super::outcome::{fail, reload};
use super::{ChargeCall, Charging};
use crate::dodo::client::one_time_price;
use crate::dodo::metadata;
use crate::storage::{Accept, Failure};
use dodopayments::models::{
    AttachExistingCustomer, CheckoutSessionBillingAddress, CheckoutSessionsCreateParams,
    CustomerRequest, Metadata, ProductItemReq,
};
use serde_json::json;

/// An accept as it stands after the charge, and what became of the call to Dodo (none when
/// none was made: another caller had claimed it, or the purchase could not be read).
#[derive(Debug)]
pub struct Charged {
    pub accept: Accept,
    pub call: Option<ChargeCall>,
}

impl Charged {
    fn without_call(accept: Accept) -> Self {
        Self { accept, call: None }
    }
}

/// Charges a freshly recorded accept and returns it as it then stands.
pub async fn charge(state: Charging, accept: Accept) -> Charged {
    let id = accept.accept_id.clone();
    // The billing address of the purchase the offer follows (Dodo requires one to confirm),
    // and the product as Dodo would charge it now.
    let (original, product) = tokio::join!(
        state.dodo.payment(&accept.original_payment_id),
        state.dodo.fresh_product(&accept.product_id),
    );
    let (original, product) = match (original, product) {
        (Ok(original), _) if original.customer.customer_id != accept.customer_id => {
            return Charged::without_call(
                fail(
                    &state,
                    accept,
                    Failure::new(
                        "not_charged",
                        "This offer does not belong to this purchase.",
                    ),
                )
                .await,
            );
        }
        (Ok(original), Ok(product)) => (original, product),
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, accept_id = %id, "cannot read the original purchase or the product");
            return Charged::without_call(
                fail(
                    &state,
                    accept,
                    Failure::new(
                        "provider_unreachable",
                        "The payment provider could not be reached. Nothing was charged.",
                    ),
                )
                .await,
            );
        }
    };
    // Dodo charges the product's price of the moment; the customer agreed to the one shown.
    let still_shown_price = one_time_price(&product).is_some_and(|price| {
        price.unit_amount.checked_mul(i64::from(accept.quantity)) == Some(accept.amount)
            && price.currency == accept.currency
    });
    if !still_shown_price {
        return Charged::without_call(
            fail(
                &state,
                accept,
                Failure::new(
                    "price_changed",
                    "The price of this offer has changed since it was shown. Nothing was charged.",
                ),
            )
            .await,
        );
    }
    // Claimed only now, right before the one call that charges: a `submitted` accept that Dodo
    // does not show after the grace period is taken as never charged, so nothing slow (the
    // reads above, with their retries) may come between the claim and the charge. Found by
    // the soak: reads that outlasted the grace let the reconciler give up on an accept whose
    // charge then went through.
    match state.storage.claim_for_charge(&id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(accept_id = %id, "accept no longer pending; not charging");
            return Charged::without_call(reload(&state, accept).await);
        }
        Err(error) => {
            tracing::error!(%error, accept_id = %id, "cannot mark accept submitted; not charging");
            return Charged::without_call(accept);
        }
    }

    let billing = &original.billing;
    let mut meta = Metadata::new();
    meta.insert(metadata::ACCEPT_ID.into(), json!(accept.accept_id));
    meta.insert(metadata::OFFER_ID.into(), json!(accept.offer_id));
    meta.insert(
        metadata::ORIGINAL_PAYMENT_ID.into(),
        json!(accept.original_payment_id),
    );
    let params = CheckoutSessionsCreateParams {
        product_cart: Some(vec![ProductItemReq {
            product_id: accept.product_id.clone(),
            quantity: i64::from(accept.quantity),
            addons: None,
            amount: None,
            credit_entitlements: None,
        }]),
        customer: Some(Box::new(CustomerRequest::AttachExistingCustomer(Box::new(
            AttachExistingCustomer {
                customer_id: accept.customer_id.clone(),
            },
        )))),
        payment_method_id: Some(accept.payment_method_id.clone()),
        confirm: Some(true),
        billing_address: Some(Box::new(CheckoutSessionBillingAddress {
            country: billing.country.clone(),
            city: billing.city.clone(),
            state: billing.state.clone(),
            street: billing.street.clone(),
            zipcode: billing.zipcode.clone(),
        })),
        metadata: Some(Box::new(meta)),
        ..Default::default()
    };

    let call = match state.dodo.create_confirmed_checkout(params).await {
        Ok(session) => {
            if let Err(error) = state
                .storage
                .record_checkout(
                    &id,
                    Some(&session.session_id),
                    session.payment_id.as_deref(),
                )
                .await
            {
                tracing::error!(%error, accept_id = %id, session_id = %session.session_id, "charge made but not recorded");
            }
            tracing::info!(accept_id = %id, session_id = %session.session_id, "charge submitted");
            ChargeCall::Submitted
        }
        Err(dodopayments::Error::Api { status, message })
            if (400..500).contains(&status) && status != 408 && status != 429 =>
        {
            // Dodo refused the request outright: nothing was charged.
            tracing::warn!(accept_id = %id, status, %message, "Dodo refused the charge");
            return Charged {
                accept: fail(&state, accept, refusal(&message)).await,
                call: Some(ChargeCall::Refused),
            };
        }
        Err(error) => {
            // Timeout, 5xx, 429 or a broken connection: the charge may or may not exist. It stays
            // `submitted`, is never sent again blindly, and is looked up by its metadata.
            tracing::warn!(%error, accept_id = %id, "charge outcome unknown");
            let current = reload(&state, accept).await;
            return Charged {
                accept: super::reconcile::reconcile(&state, current).await,
                call: Some(ChargeCall::Unknown),
            };
        }
    };
    Charged {
        accept: reload(&state, accept).await,
        call: Some(call),
    }
}

/// Dodo's error body is `{code, message}`: the code (lower-cased) for the widget, the message
/// for people.
fn refusal(body: &str) -> Failure {
    let value = serde_json::from_str::<serde_json::Value>(body).ok();
    let field = |name: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(name)?.as_str().map(String::from))
    };
    Failure::new(
        field("code")
            .map(|c| c.to_lowercase())
            .unwrap_or_else(|| "refused".into()),
        field("message").unwrap_or_else(|| "The payment provider refused this charge.".into()),
    )
}
