//! Revenue is what Dodo confirms: a succeeded payment of one of our charges, or of a standard
//! checkout opened for an offer, counts for its offer, and a refund comes off it. Each once,
//! however often Dodo delivers it, in whatever order.

use crate::dodo::webhooks::WebhookEvent;
use crate::storage::offer_events::ConfirmedPayment;
use crate::storage::Storage;

/// Counts the revenue a webhook confirms or gives back, if any.
pub async fn record(storage: &Storage, event: &WebhookEvent) -> Result<(), sqlx::Error> {
    if let Some(paid) = &event.paid {
        let payment = ConfirmedPayment {
            payment_id: paid.payment_id.clone(),
            amount: paid.amount,
            currency: paid.currency.clone(),
        };
        match (&event.payment, &paid.checkout_session_id) {
            (Some(ours), _) => {
                storage
                    .record_payment_confirmed(&ours.accept_id, &payment)
                    .await?
            }
            (None, Some(session_id)) => {
                storage
                    .record_checkout_payment(session_id, &payment)
                    .await?
            }
            (None, None) => {}
        }
    }
    if let Some(refund) = &event.refund {
        storage
            .record_refund(&refund.refund_id, &refund.payment_id, refund.amount)
            .await?;
    }
    Ok(())
}
