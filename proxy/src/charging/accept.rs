//! Accepting an offer: the token decides what is charged; the request adds only an idempotency
//! key, a quantity inside the token's bounds and, perhaps, another of the customer's own cards.
//! The accept is recorded before Dodo is called, and only the request that recorded it calls
//! Dodo (see `storage::accepts`); every other request for the same offer gets its outcome.

use super::charge;
use super::reconcile::reconcile;
use super::{AcceptError, ChargeCall, Charging};
use crate::dodo::client::card_is_current;
use crate::idempotency_key;
use crate::offers::token::OfferClaims;
use crate::storage::offer_events::Sighting;
use crate::storage::{Accept, AcceptState, BeginAccept};

/// What the customer asked for, beside the token.
#[derive(Debug, Clone)]
pub struct AcceptRequest<'a> {
    pub idempotency_key: &'a str,
    pub quantity: u32,
    /// Another of the customer's saved cards than the offered one, if they chose one.
    pub payment_method_id: Option<&'a str>,
}

/// An accept as it stands once the request is answered, and the call to Dodo's charge
/// endpoint this request made, if it made one.
#[derive(Debug)]
pub struct Accepted {
    pub accept: Accept,
    pub call: Option<ChargeCall>,
}

/// Checks an idempotency key's form.
pub fn check_idempotency_key(key: &str) -> Result<(), AcceptError> {
    if idempotency_key::is_well_formed(key) {
        Ok(())
    } else {
        Err(AcceptError::InvalidIdempotencyKey)
    }
}

/// The customer chooses a quantity only within the bounds the token seals.
pub fn check_quantity(claims: &OfferClaims, quantity: u32) -> Result<(), AcceptError> {
    if (claims.qmin..=claims.qmax).contains(&quantity) {
        Ok(())
    } else {
        Err(AcceptError::InvalidQuantity {
            min: claims.qmin,
            max: claims.qmax,
        })
    }
}

/// Accepts the offer item `claims` seal: records it, and charges it if this request recorded it.
pub async fn accept(
    charging: &Charging,
    claims: &OfferClaims,
    request: &AcceptRequest<'_>,
) -> Result<Accepted, AcceptError> {
    check_quantity(claims, request.quantity)?;
    let settled = charging.storage.settled(&claims.sub).await?;
    if settled.declined_offers.contains(&claims.oid)
        && !settled.accepted_items.contains(&claims.iid)
    {
        // Declined (perhaps in another tab) and perhaps replaced by its downsell: taking both
        // is what the chain exists to prevent.
        return Err(AcceptError::Declined);
    }
    let amount = claims
        .amt
        .checked_mul(i64::from(request.quantity))
        .ok_or(AcceptError::QuantityTooLarge)?;
    let payment_method_id = match request.payment_method_id {
        Some(chosen) if chosen != claims.pm => {
            check_customer_method(charging, &claims.cus, &claims.cur, chosen).await?;
            chosen.to_string()
        }
        _ if claims.pm.is_empty() => return Err(AcceptError::NoPaymentMethod),
        _ => claims.pm.clone(),
    };
    let candidate = Accept {
        accept_id: format!("acc_{}", uuid::Uuid::new_v4().simple()),
        jti: claims.jti.clone(),
        idempotency_key: request.idempotency_key.to_string(),
        original_payment_id: claims.sub.clone(),
        offer_id: claims.iid.clone(),
        customer_id: claims.cus.clone(),
        product_id: claims.pid.clone(),
        payment_method_id,
        quantity: request.quantity,
        amount,
        currency: claims.cur.clone(),
        state: AcceptState::Pending,
        checkout_session_id: None,
        charge_payment_id: None,
        failure_reason: None,
        failure_code: None,
        action_url: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    let recorded = match charging
        .storage
        .begin_accept(
            &candidate,
            charging.rules.current().max_accepted_offers,
            &Sighting::from(claims),
        )
        .await?
    {
        BeginAccept::Existing(existing) => {
            // The same click retried, a double click, or a replayed token: answer with the first
            // accept's outcome. A key reused for a different offer is the caller's bug.
            if existing.idempotency_key == candidate.idempotency_key
                && existing.jti != candidate.jti
            {
                return Err(AcceptError::IdempotencyKeyReused);
            }
            return Ok(Accepted {
                accept: reconcile(charging, existing).await,
                call: None,
            });
        }
        BeginAccept::LimitReached => return Err(AcceptError::LimitReached),
        BeginAccept::Recorded(recorded) => recorded,
    };
    // Spawned, so that a client hanging up mid-charge cannot cancel it half-way.
    let charged = tokio::spawn(charge::charge(charging.clone(), recorded.clone())).await;
    Ok(match charged {
        Ok(charged) => Accepted {
            accept: charged.accept,
            call: charged.call,
        },
        Err(error) => {
            tracing::error!(%error, accept_id = %recorded.accept_id, "charge task failed");
            Accepted {
                accept: recorded,
                call: None,
            }
        }
    })
}

/// Where accept `accept_id` stands now, as close to final as Dodo can tell.
pub async fn status(charging: &Charging, accept_id: &str) -> Result<Accept, AcceptError> {
    let accept = charging
        .storage
        .accept(accept_id)
        .await?
        .ok_or(AcceptError::NotFound)?;
    Ok(reconcile(charging, accept).await)
}

/// A payment method the customer picked instead of the offered one must be one of their saved,
/// current cards. (Dodo checks the currency when charging.)
async fn check_customer_method(
    charging: &Charging,
    customer_id: &str,
    currency: &str,
    payment_method_id: &str,
) -> Result<(), AcceptError> {
    let methods = charging
        .dodo
        .payment_methods(customer_id)
        .await
        .map_err(AcceptError::Upstream)?;
    let now = time::OffsetDateTime::now_utc();
    let usable = methods.iter().any(|m| {
        m.payment_method_id == payment_method_id
            && m.payment_method == "card"
            && m.card.as_ref().is_some_and(|c| card_is_current(c, now))
    });
    if usable {
        Ok(())
    } else {
        tracing::warn!(%currency, "accept named a payment method the customer cannot use");
        Err(AcceptError::PaymentMethodNotAllowed)
    }
}
