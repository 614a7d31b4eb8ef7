//! The money the report counts, as one SQL subquery shared by every read of it (the offers'
//! revenue, a purchase's value against the holdout, a bandit's arms): payments confirmed for
//! offers, and refunds of them.

/// Every amount of revenue, as rows `(offer_id, variant_id, original_payment_id, kind,
/// currency, amount, occurred_at, paid_at)`: each payment confirmed for an offer (`paid`), and
/// each refund of one (`refund`, negative, at the time of the refund; `amount` NULL was all of
/// it). `paid_at` is when the payment refunded or not was confirmed: money paid within the
/// refund window is provisional.
pub const MONEY: &str = "SELECT offer_id, variant_id, original_payment_id, kind, currency, \
     amount, occurred_at, occurred_at AS paid_at FROM offer_events WHERE kind = 'paid' \
     UNION ALL \
     SELECT paid.offer_id, paid.variant_id, paid.original_payment_id, 'refund' AS kind, \
     paid.currency, -COALESCE(refunds.amount, paid.amount) AS amount, \
     refunds.refunded_at AS occurred_at, paid.occurred_at AS paid_at \
     FROM refunds JOIN offer_events paid \
       ON paid.kind = 'paid' AND paid.charge_payment_id = refunds.payment_id";
