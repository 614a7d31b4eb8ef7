//! "No thanks": the offer is not shown again for this purchase, and the next offer of its
//! chain (a downsell) takes its place, if the merchant set one.

use super::allocation;
use super::builder::{self, Customer, Purchase};
use super::customer_history::{self, CustomerHistory};
use super::token::OfferClaims;
use super::{OfferError, Offers};
use crate::storage::offer_events::Sighting;
use time::OffsetDateTime;
use upsell_wire::Offer;

/// Records the decline of the offer `claims` seal (declining twice is declining once) and
/// returns the offer that takes its place.
pub async fn decline(offers: &Offers, claims: &OfferClaims) -> Result<Option<Offer>, OfferError> {
    offers
        .storage
        .record_decline(&claims.sub, &claims.oid)
        .await?;
    offers
        .storage
        .record_decline_event(&Sighting::from(claims))
        .await?;
    tracing::info!(offer = %claims.oid, payment = %claims.sub, "offer declined");
    next_offer(offers, claims).await
}

/// The downsell that takes the declined offer's place. Everything a token for it seals comes
/// from the declined offer's token: same purchase, customer, window and payment method.
async fn next_offer(offers: &Offers, claims: &OfferClaims) -> Result<Option<Offer>, OfferError> {
    let rules = offers.rules.current();
    let Some(declined) = rules.offer(&claims.oid) else {
        // The offer was removed from the rules since its token was signed.
        return Ok(None);
    };
    let settled = offers.storage.settled(&claims.sub).await?;
    if settled.accepted_count >= rules.max_accepted_offers {
        return Ok(None);
    }
    if declined.downsell.is_none() {
        return Ok(None);
    }
    let history = history(offers, &claims.sub).await;
    let assigned =
        allocation::assign(offers, &rules, std::iter::once(declined), &claims.cus).await?;
    let customer = Customer {
        id: &claims.cus,
        history: &history,
        assigned: &assigned,
        // The downsell speaks the declined offer's language.
        locale: Some(claims.loc.as_str()).filter(|l| !l.is_empty()),
    };
    let Some((rule, kind)) = builder::current(&rules, declined, &settled, true, customer) else {
        return Ok(None);
    };
    let expires_at =
        OffsetDateTime::from_unix_timestamp(claims.exp).map_err(|_| OfferError::InvalidToken)?;
    let purchase = Purchase {
        payment_id: claims.sub.clone(),
        customer_id: claims.cus.clone(),
        currency: claims.cur.clone(),
        expires_at,
        payment_method_id: claims.pm.clone(),
    };
    builder::build(
        offers,
        &purchase,
        rule,
        kind,
        &settled,
        customer,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// What the customer already has, so that the downsell is not something they own. When Dodo
/// cannot say, the downsell is offered: a decline always gets an answer.
async fn history(offers: &Offers, payment_id: &str) -> CustomerHistory {
    let payment = match offers.dodo.payment(payment_id).await {
        Ok(payment) => payment,
        Err(error) => {
            tracing::warn!(%error, payment = %payment_id, "the purchase could not be read for the customer's history");
            return CustomerHistory::default();
        }
    };
    customer_history::read(&offers.dodo, &payment)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, payment = %payment_id, "the customer's history could not be read");
            CustomerHistory::of_purchase_only(&payment)
        })
}
