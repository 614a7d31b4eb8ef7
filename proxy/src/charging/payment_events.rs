//! What Dodo's `payment.*` webhooks say of our charges. Events may come late, twice or out of
//! order: a final outcome is never undone, and `processing` never pulls an accept back.

use crate::dodo::webhooks::{PaymentEvent, PaymentOutcome};
use crate::storage::{AcceptState, Failure, Storage};

/// Moves the accept a payment event is about to the state it reports.
pub async fn apply(storage: &Storage, event: &PaymentEvent) -> Result<(), sqlx::Error> {
    let accept_id = &event.accept_id;
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
