//! An offer seen: the widget reports it when half its card has been on the customer's screen.
//! Counted once per purchase and offer, however often it is reported.

use crate::offers::token::OfferClaims;
use crate::storage::offer_events::Sighting;
use crate::storage::Storage;

/// Records that the customer saw the offer `claims` seal; true the first time.
pub async fn record(storage: &Storage, claims: &OfferClaims) -> Result<bool, sqlx::Error> {
    let first = storage.record_impression(&Sighting::from(claims)).await?;
    tracing::debug!(offer = %claims.oid, variant = claims.variant(), first, "impression");
    Ok(first)
}
