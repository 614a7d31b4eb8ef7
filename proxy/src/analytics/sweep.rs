//! The backstop for Dodo's webhooks. Revenue and refunds are learned from `payment.succeeded`
//! and `refund.succeeded` (`revenue`), which Dodo retries for a day; but an endpoint down for
//! longer, or an event lost, would leave the report short for good. So every few minutes the
//! proxy also lists the payments and refunds of the last hours from Dodo and records what the
//! webhooks missed, through the same idempotent records: nothing counts twice.
//!
//! Found by the randomized soak (`cargo xtask soak`), with webhooks never delivered.

use crate::clock;
use crate::dodo::client::{currency_code, DodoApi};
use crate::dodo::metadata;
use crate::storage::offer_events::ConfirmedPayment;
use crate::storage::Storage;
use std::time::Duration;
use time::OffsetDateTime;

/// How far back each sweep looks: longer than an offer window plus a 3-D Secure page left open,
/// so a payment that succeeds late is still seen.
pub const LOOKBACK: Duration = Duration::from_secs(2 * 3600);

/// What one sweep found that the webhooks had not said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub payments: usize,
    pub refunds: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("Dodo: {0}")]
    Upstream(#[from] dodopayments::Error),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Records the offers' payments and the refunds of the last [`LOOKBACK`] that are not yet
/// recorded. Refunds first, and each part whatever became of the other: they are separate lists
/// at Dodo, and one failing must not keep the other from being read.
pub async fn sweep(dodo: &DodoApi, storage: &Storage) -> Result<Swept, SweepError> {
    let since = clock::rfc3339(OffsetDateTime::now_utc() - LOOKBACK);
    let refunds = sweep_refunds(dodo, storage, &since).await;
    let payments = sweep_payments(dodo, storage, &since).await;
    Ok(Swept {
        refunds: refunds?,
        payments: payments?,
    })
}

async fn sweep_refunds(
    dodo: &DodoApi,
    storage: &Storage,
    since: &str,
) -> Result<usize, SweepError> {
    let mut recorded = 0;
    for refund in dodo.refunds_since(since).await? {
        if storage
            .record_refund(&refund.refund_id, &refund.payment_id, refund.amount)
            .await?
        {
            recorded += 1;
        }
    }
    Ok(recorded)
}

async fn sweep_payments(
    dodo: &DodoApi,
    storage: &Storage,
    since: &str,
) -> Result<usize, SweepError> {
    let mut recorded = 0;
    for listed in dodo.succeeded_payments_since(since).await? {
        let accept_id = listed
            .metadata
            .get(metadata::ACCEPT_ID)
            .and_then(|v| v.as_str());
        let for_an_offer = listed.metadata.get(metadata::OFFER_ID).is_some();
        if !for_an_offer
            || storage
                .revenue_recorded(&listed.payment_id, accept_id)
                .await?
        {
            continue;
        }
        // The list leaves out the tax, which is not the merchant's revenue: ask for the payment.
        let payment = dodo.payment(&listed.payment_id).await?;
        let confirmed = ConfirmedPayment {
            payment_id: payment.payment_id.clone(),
            amount: payment.total_amount - payment.tax.unwrap_or(0),
            currency: currency_code(&payment.currency),
        };
        match (accept_id, &payment.checkout_session_id) {
            (Some(accept_id), _) => {
                storage
                    .record_payment_confirmed(accept_id, &confirmed)
                    .await?
            }
            (None, Some(session_id)) => {
                storage
                    .record_checkout_payment(session_id, &confirmed)
                    .await?
            }
            (None, None) => continue,
        }
        recorded += 1;
    }
    Ok(recorded)
}
