//! What Dodo's `payment.*` webhooks say of our charges. Events may come late, twice or out of
//! order: a final outcome is never undone, and `processing` never pulls an accept back. Each
//! also names the charge's payment, which the accept keeps: an accept whose charge answer was
//! lost learns it here, so that it can be followed if no later webhook comes.

use crate::dodo::webhooks::{PaymentEvent, PaymentOutcome};
use crate::storage::{AcceptState, Failure, Storage};

/// Moves the accept a payment event is about to the state it reports.
pub async fn apply(storage: &Storage, event: &PaymentEvent) -> Result<(), sqlx::Error> {
    let accept_id = &event.accept_id;
    if event.payment_id.is_some() || event.checkout_session_id.is_some() {
        storage
            .record_checkout(
                accept_id,
                event.checkout_session_id.as_deref(),
                event.payment_id.as_deref(),
            )
            .await?;
    }
    let (next, failure) = match &event.outcome {
        PaymentOutcome::Succeeded => (AcceptState::Succeeded, None),
        PaymentOutcome::Failed { code, reason } => {
            (AcceptState::Failed, Some(Failure::new(code, reason)))
        }
        PaymentOutcome::Processing => (AcceptState::Processing, None),
    };
    // `processing` must not pull a succeeded or failed accept back, and `advance` never moves a
    // final state; it may only move pending/submitted forward.
    if next == AcceptState::Processing {
        if let Some(current) = storage.accept(accept_id).await? {
            if !matches!(current.state, AcceptState::Pending | AcceptState::Submitted) {
                return Ok(());
            }
        }
    }
    let changed = storage.advance(accept_id, next, failure.as_ref()).await?;
    tracing::info!(%accept_id, state = next.as_str(), changed, "webhook applied");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dodo::webhooks::PaymentEvent;
    use crate::storage::accepts::tests::{accept, seen};

    /// Found by the soak: an accept whose charge answer was lost (`submitted`), moved on by a
    /// `processing` webhook, lost its only way to be followed when the payment was not kept.
    #[tokio::test]
    async fn a_processing_webhook_leaves_the_accept_with_its_payment() {
        let storage = Storage::open("sqlite::memory:").await.unwrap();
        storage
            .begin_accept(&accept("a"), 3, &seen(&accept("a")))
            .await
            .unwrap();
        assert!(storage.claim_for_charge("a").await.unwrap());
        let event = PaymentEvent {
            accept_id: "a".into(),
            outcome: PaymentOutcome::Processing,
            payment_id: Some("pay_9".into()),
            checkout_session_id: Some("cks_9".into()),
        };
        apply(&storage, &event).await.unwrap();
        let stored = storage.accept("a").await.unwrap().unwrap();
        assert_eq!(stored.state, AcceptState::Processing);
        assert_eq!(stored.charge_payment_id.as_deref(), Some("pay_9"));
        assert_eq!(stored.checkout_session_id.as_deref(), Some("cks_9"));
    }
}
