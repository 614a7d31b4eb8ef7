//! The facts the report counts, in the `offer_events` table (see its migration). Each fact has
//! a key that names it (`impression:<purchase>:<offer>`, `paid:<accept>`, …): a second delivery
//! of the same fact, from a widget that sends twice or from Dodo redelivering a webhook, finds
//! the key taken and changes nothing. The facts live in the proxy's database, so they survive
//! restarts and are shared by every instance.

use super::money::MONEY;
use super::offered_purchases::{purchase_values, PurchaseValue};
use super::plan_change_figures::{confirmed_changes, shown_counts, ConfirmedChange, ShownCount};
use super::Storage;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Executor, Row};
use time::OffsetDateTime;

/// Where a fact about an offer belongs: the offer and variant a customer saw after a purchase.
/// Every field comes from a verified offer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub offer_id: String,
    pub variant_id: String,
    pub original_payment_id: String,
    pub customer_id: String,
    /// When the offer's window closes (Unix seconds): unanswered by then, it expired.
    pub expires_at: i64,
}

/// What a kind of fact counts per offer and variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    pub offer_id: String,
    pub variant_id: String,
    pub kind: String,
    /// Purchases with at least one such fact.
    pub purchases: i64,
    /// Customers with at least one such fact: a customer who bought twice counts once.
    pub customers: i64,
}

/// Money per offer, variant and currency: payments confirmed minus refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueRow {
    pub offer_id: String,
    pub variant_id: String,
    pub currency: String,
    pub amount: i64,
    /// The part of `amount` paid within the refund window: it may still be refunded.
    pub provisional: i64,
}

/// One offer's facts in one period of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    pub offer_id: String,
    /// Start of the period, Unix seconds.
    pub start: i64,
    pub kind: String,
    pub currency: Option<String>,
    pub purchases: i64,
    pub amount: Option<i64>,
}

/// One fact about an offer a customer saw, ready to be written by itself or inside another
/// write's transaction (see `Storage::begin_accept`).
pub struct Fact<'a> {
    key: String,
    kind: &'static str,
    seen: &'a Sighting,
    accept_id: Option<&'a str>,
}

impl<'a> Fact<'a> {
    /// The customer saw the offer: once per purchase and offer.
    pub fn impression(seen: &'a Sighting) -> Self {
        Fact {
            key: format!("impression:{}:{}", seen.original_payment_id, seen.offer_id),
            kind: "impression",
            seen,
            accept_id: None,
        }
    }

    /// The customer accepted an item of the offer (and so saw it).
    pub fn accepted(seen: &'a Sighting, accept_id: &'a str) -> [Self; 2] {
        [
            Fact::impression(seen),
            Fact {
                key: format!("accept:{accept_id}"),
                kind: "accept",
                seen,
                accept_id: Some(accept_id),
            },
        ]
    }

    /// The customer said yes by a standard checkout (`jti`: the offer token that opened it),
    /// as one click could not pay: an accept too, whose payment comes from that checkout.
    pub fn checkout(seen: &'a Sighting, jti: &str) -> [Self; 2] {
        [
            Fact::impression(seen),
            Fact {
                key: format!("checkout:{jti}"),
                kind: "accept",
                seen,
                accept_id: None,
            },
        ]
    }

    /// The customer said "No thanks" (and so saw the offer).
    pub fn declined(seen: &'a Sighting) -> [Self; 2] {
        [
            Fact::impression(seen),
            Fact {
                key: format!("decline:{}:{}", seen.original_payment_id, seen.offer_id),
                kind: "decline",
                seen,
                accept_id: None,
            },
        ]
    }

    /// The insert; it changes nothing when the fact is already there.
    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        sqlx::query(
            "INSERT INTO offer_events (event_key, kind, offer_id, variant_id, \
             original_payment_id, customer_id, accept_id, expires_at, occurred_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(self.key.as_str())
        .bind(self.kind)
        .bind(self.seen.offer_id.as_str())
        .bind(self.seen.variant_id.as_str())
        .bind(self.seen.original_payment_id.as_str())
        .bind(self.seen.customer_id.as_str())
        .bind(self.accept_id)
        .bind(self.seen.expires_at)
        .bind(now())
    }
}

/// A payment Dodo confirmed by webhook, as the report counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedPayment {
    pub payment_id: String,
    /// What it charged before taxes (taxes are not the merchant's revenue), in minor units.
    pub amount: i64,
    pub currency: String,
}

impl Storage {
    /// The customer saw the offer. Once per purchase and offer, however often it is reported;
    /// returns whether this report was the first.
    pub async fn record_impression(&self, seen: &Sighting) -> Result<bool, sqlx::Error> {
        let written = Fact::impression(seen).query().execute(&self.pool).await?;
        Ok(written.rows_affected() == 1)
    }

    /// The customer declined the offer.
    pub async fn record_decline_event(&self, seen: &Sighting) -> Result<(), sqlx::Error> {
        self.record_facts(&Fact::declined(seen)).await
    }

    /// The customer went to a standard checkout for an item of the offer.
    pub async fn record_checkout_event(
        &self,
        seen: &Sighting,
        jti: &str,
    ) -> Result<(), sqlx::Error> {
        self.record_facts(&Fact::checkout(seen, jti)).await
    }

    async fn record_facts(&self, facts: &[Fact<'_>]) -> Result<(), sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        for fact in facts {
            fact.query().execute(&mut *transaction).await?;
        }
        transaction.commit().await
    }

    /// Dodo confirmed the payment of an accept: revenue of the accept's offer and variant,
    /// once per accept.
    pub async fn record_payment_confirmed(
        &self,
        accept_id: &str,
        payment: &ConfirmedPayment,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO offer_events (event_key, kind, offer_id, variant_id, \
             original_payment_id, customer_id, accept_id, charge_payment_id, amount, currency, \
             occurred_at) \
             SELECT $1, 'paid', offer_id, variant_id, original_payment_id, customer_id, \
             accept_id, $2, $3, $4, $5 FROM offer_events WHERE event_key = $6 \
             ON CONFLICT DO NOTHING",
        )
        .bind(format!("paid:{accept_id}"))
        .bind(&payment.payment_id)
        .bind(payment.amount)
        .bind(&payment.currency)
        .bind(now())
        .bind(format!("accept:{accept_id}"))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Dodo confirmed a payment made in checkout session `session_id`: when that is a standard
    /// checkout opened for an offer, revenue of that offer and variant, once per payment.
    pub async fn record_checkout_payment(
        &self,
        session_id: &str,
        payment: &ConfirmedPayment,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO offer_events (event_key, kind, offer_id, variant_id, \
             original_payment_id, customer_id, charge_payment_id, amount, currency, occurred_at) \
             SELECT $1, 'paid', fact.offer_id, fact.variant_id, fact.original_payment_id, \
             fact.customer_id, $2, $3, $4, $5 \
             FROM fallback_checkouts opened \
             JOIN offer_events fact ON fact.event_key = 'checkout:' || opened.jti \
             WHERE opened.session_id = $6 ON CONFLICT DO NOTHING",
        )
        .bind(format!("paid:{}", payment.payment_id))
        .bind(&payment.payment_id)
        .bind(payment.amount)
        .bind(&payment.currency)
        .bind(now())
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a payment's revenue has been recorded (from its webhook or a sweep): by its
    /// accept for a one-click charge, by the payment for a standard checkout (the keys
    /// `record_payment_confirmed` and `record_checkout_payment` write).
    pub async fn revenue_recorded(
        &self,
        payment_id: &str,
        accept_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let key = match accept_id {
            Some(accept_id) => format!("paid:{accept_id}"),
            None => format!("paid:{payment_id}"),
        };
        let found: Option<(String,)> =
            sqlx::query_as("SELECT event_key FROM offer_events WHERE event_key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// Dodo confirmed a refund of a payment, once per refund. Kept whatever the payment: it
    /// comes off an offer's revenue when the payment is, or later turns out to be, one of the
    /// offer's (Dodo's events may come in any order). `amount` `None` is the whole payment.
    /// True when it was new.
    pub async fn record_refund(
        &self,
        refund_id: &str,
        payment_id: &str,
        amount: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO refunds (refund_id, payment_id, amount, refunded_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(refund_id)
        .bind(payment_id)
        .bind(amount)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }

    /// Everything the report reads, from one moment of the database: its queries see the
    /// same facts, though webhooks and impressions keep arriving while they run. The
    /// timeline's period comes from the span of the facts (`period_for`).
    /// Money paid after `provisional_since` (Unix seconds) is within the refund window.
    pub async fn snapshot(
        &self,
        now: i64,
        provisional_since: i64,
        period_for: impl FnOnce(Option<(i64, i64)>) -> i64,
    ) -> Result<Snapshot, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        // SQLite reads one snapshot per transaction already; PostgreSQL, unless told, one per
        // statement.
        if transaction.backend_name() == "PostgreSQL" {
            transaction
                .execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?;
        }
        let span = event_span(&mut transaction).await?;
        let period = period_for(span);
        let snapshot = Snapshot {
            counts: kind_counts(&mut transaction, now).await?,
            revenue: revenue(&mut transaction, provisional_since).await?,
            timeline: timeline(&mut transaction, period).await?,
            purchases: purchase_values(&mut transaction).await?,
            plan_changes_shown: shown_counts(&mut transaction).await?,
            plan_changes: confirmed_changes(&mut transaction).await?,
            span,
            period,
        };
        transaction.commit().await?;
        Ok(snapshot)
    }
}

/// What the report is made of (see `Storage::snapshot`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub counts: Vec<KindCount>,
    pub revenue: Vec<RevenueRow>,
    pub timeline: Vec<TimelineRow>,
    /// The purchases offers fit, each in its arm, with what it came to.
    pub purchases: Vec<PurchaseValue>,
    /// Subscriptions shown each plan change rule.
    pub plan_changes_shown: Vec<ShownCount>,
    /// Every confirmed plan change.
    pub plan_changes: Vec<ConfirmedChange>,
    /// The first and last time anything happened (Unix seconds), if anything did.
    pub span: Option<(i64, i64)>,
    /// The length of one period of the timeline, in seconds.
    pub period: i64,
}

/// Per offer, variant and kind of fact: how many purchases have one. Two kinds are read rather
/// than recorded: failures (accepts whose charge failed, from the accepts themselves) and
/// expiries (offers seen and left unanswered until their window closed, before `now`, Unix
/// seconds).
async fn kind_counts(db: &mut AnyConnection, now: i64) -> Result<Vec<KindCount>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT offer_id, variant_id, kind, COUNT(DISTINCT original_payment_id) AS purchases, \
         COUNT(DISTINCT customer_id) AS customers \
         FROM offer_events GROUP BY offer_id, variant_id, kind \
         UNION ALL \
         SELECT fact.offer_id, fact.variant_id, 'failure' AS kind, \
         COUNT(DISTINCT fact.original_payment_id) AS purchases, \
         COUNT(DISTINCT fact.customer_id) AS customers \
         FROM offer_events fact JOIN accepts ON accepts.accept_id = fact.accept_id \
         WHERE fact.kind = 'accept' AND accepts.state = 'failed' \
         GROUP BY fact.offer_id, fact.variant_id \
         UNION ALL \
         SELECT seen.offer_id, seen.variant_id, 'expiry' AS kind, COUNT(*) AS purchases, \
         COUNT(DISTINCT seen.customer_id) AS customers \
         FROM offer_events seen \
         WHERE seen.kind = 'impression' AND seen.expires_at <= $1 AND NOT EXISTS ( \
           SELECT 1 FROM offer_events answer \
           WHERE answer.original_payment_id = seen.original_payment_id \
             AND answer.offer_id = seen.offer_id AND answer.kind IN ('accept', 'decline')) \
         GROUP BY seen.offer_id, seen.variant_id",
    )
    .bind(now)
    .fetch_all(&mut *db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(KindCount {
                offer_id: row.try_get("offer_id")?,
                variant_id: row.try_get("variant_id")?,
                kind: row.try_get("kind")?,
                purchases: row.try_get("purchases")?,
                customers: row.try_get("customers")?,
            })
        })
        .collect()
}

/// Per offer, variant and currency: payments confirmed minus refunds, and the part of it paid
/// after `provisional_since`.
async fn revenue(
    db: &mut AnyConnection,
    provisional_since: i64,
) -> Result<Vec<RevenueRow>, sqlx::Error> {
    // PostgreSQL sums BIGINT as NUMERIC: cast back, the amounts are minor units.
    let rows = sqlx::query(&format!(
        "SELECT offer_id, variant_id, currency, CAST(SUM(amount) AS BIGINT) AS amount, \
         CAST(SUM(CASE WHEN paid_at > $1 THEN amount ELSE 0 END) AS BIGINT) AS provisional \
         FROM ({MONEY}) money GROUP BY offer_id, variant_id, currency"
    ))
    .bind(provisional_since)
    .fetch_all(&mut *db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RevenueRow {
                offer_id: row.try_get("offer_id")?,
                variant_id: row.try_get("variant_id")?,
                currency: row.try_get("currency")?,
                amount: row.try_get("amount")?,
                provisional: row.try_get("provisional")?,
            })
        })
        .collect()
}

/// The first and last time anything happened (Unix seconds), if anything did.
async fn event_span(db: &mut AnyConnection) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT MIN(occurred_at) AS first, MAX(occurred_at) AS last FROM ( \
         SELECT occurred_at FROM offer_events UNION ALL SELECT occurred_at FROM ({MONEY}) money \
         ) facts"
    ))
    .fetch_one(&mut *db)
    .await?;
    let first: Option<i64> = row.try_get("first")?;
    let last: Option<i64> = row.try_get("last")?;
    Ok(first.zip(last))
}

/// Impressions, conversions and money per offer in periods of `period` seconds.
async fn timeline(db: &mut AnyConnection, period: i64) -> Result<Vec<TimelineRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT offer_id, (occurred_at / $1) * $2 AS start, kind, currency, \
         COUNT(DISTINCT original_payment_id) AS purchases, \
         CAST(SUM(amount) AS BIGINT) AS amount FROM ( \
           SELECT offer_id, occurred_at, kind, currency, original_payment_id, amount \
           FROM offer_events WHERE kind = 'impression' \
           UNION ALL \
           SELECT offer_id, occurred_at, kind, currency, original_payment_id, amount \
           FROM ({MONEY}) money \
         ) facts GROUP BY offer_id, start, kind, currency ORDER BY start"
    ))
    .bind(period)
    .bind(period)
    .fetch_all(&mut *db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TimelineRow {
                offer_id: row.try_get("offer_id")?,
                start: row.try_get("start")?,
                kind: row.try_get("kind")?,
                currency: row.try_get("currency")?,
                purchases: row.try_get("purchases")?,
                amount: row.try_get("amount")?,
            })
        })
        .collect()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Accept, AcceptState, Failure};

    fn seen(payment: &str, customer: &str, variant: &str) -> Sighting {
        Sighting {
            offer_id: "pro".into(),
            variant_id: variant.into(),
            original_payment_id: payment.into(),
            customer_id: customer.into(),
            expires_at: 1_000,
        }
    }

    fn accept(id: &str, payment: &str) -> Accept {
        let mut accept = crate::storage::accepts::tests::accept(id);
        accept.original_payment_id = payment.into();
        accept
    }

    fn paid(payment_id: &str, amount: i64) -> ConfirmedPayment {
        ConfirmedPayment {
            payment_id: payment_id.into(),
            amount,
            currency: "USD".into(),
        }
    }

    fn counts(rows: &[KindCount], variant: &str, kind: &str) -> i64 {
        rows.iter()
            .filter(|c| c.variant_id == variant && c.kind == kind)
            .map(|c| c.purchases)
            .sum()
    }

    async fn revenue_of(storage: &Storage, variant: &str) -> i64 {
        storage
            .snapshot(0, 0, |_| 60)
            .await
            .unwrap()
            .revenue
            .iter()
            .filter(|r| r.variant_id == variant)
            .map(|r| r.amount)
            .sum()
    }

    /// Everything sent twice, a refund before its payment, the proxy restarted in between:
    /// each fact counts once.
    #[tokio::test]
    async fn facts_count_once_however_often_and_in_whatever_order_and_survive_a_restart() {
        let file = std::env::temp_dir().join(format!("events-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", file.display());
        {
            let storage = Storage::open(&url).await.unwrap();
            // Ada sees the offer (reported twice), takes it; Dodo confirms the payment twice,
            // and a refund of $12 arrives, twice, before the payment's own webhook.
            let ada = seen("pay_a", "cus_a", "plain");
            for attempt in 0..2 {
                assert_eq!(storage.record_impression(&ada).await.unwrap(), attempt == 0);
            }
            storage
                .begin_accept(&accept("acc_a", "pay_a"), 3, &ada)
                .await
                .unwrap();
            for _ in 0..2 {
                storage
                    .record_refund("ref_1", "pay_charge_a", Some(1200))
                    .await
                    .unwrap();
            }
            assert_eq!(revenue_of(&storage, "plain").await, 0, "nothing paid yet");
            for _ in 0..2 {
                storage
                    .record_payment_confirmed("acc_a", &paid("pay_charge_a", 5000))
                    .await
                    .unwrap();
            }
            // Bea declines (twice); a refund of some other payment is not an offer's.
            let bea = seen("pay_b", "cus_b", "badge");
            for _ in 0..2 {
                storage.record_decline_event(&bea).await.unwrap();
            }
            storage
                .record_refund("ref_2", "pay_original", None)
                .await
                .unwrap();
            // Cy's accept fails.
            let cy = seen("pay_c", "cus_c", "plain");
            storage
                .begin_accept(&accept("acc_c", "pay_c"), 3, &cy)
                .await
                .unwrap();
            storage
                .advance(
                    "acc_c",
                    AcceptState::Failed,
                    Some(&Failure::new("card_declined", "no")),
                )
                .await
                .unwrap();
            // Di has no usable card: a standard checkout, opened twice, paid once.
            let di = seen("pay_d", "cus_d", "badge");
            storage
                .record_fallback_checkout("jti_d", "pay_d", "pro", "cks_d", "https://pay")
                .await
                .unwrap();
            for _ in 0..2 {
                storage.record_checkout_event(&di, "jti_d").await.unwrap();
                storage
                    .record_checkout_payment("cks_d", &paid("pay_charge_d", 3500))
                    .await
                    .unwrap();
            }
            // A payment in a checkout that is none of ours counts for nothing.
            storage
                .record_checkout_payment("cks_other", &paid("pay_other", 999))
                .await
                .unwrap();
        }
        let storage = Storage::open(&url).await.unwrap();
        let rows = storage.snapshot(0, 0, |_| 60).await.unwrap().counts;
        assert_eq!(counts(&rows, "plain", "impression"), 2, "Ada, Cy");
        assert_eq!(counts(&rows, "plain", "accept"), 2);
        assert_eq!(counts(&rows, "plain", "paid"), 1);
        assert_eq!(counts(&rows, "plain", "failure"), 1);
        assert_eq!(
            counts(&rows, "badge", "impression"),
            2,
            "implied by the answers"
        );
        assert_eq!(counts(&rows, "badge", "decline"), 1);
        assert_eq!(counts(&rows, "badge", "accept"), 1, "the checkout");
        assert_eq!(counts(&rows, "badge", "paid"), 1);
        assert_eq!(revenue_of(&storage, "plain").await, 3800);
        assert_eq!(revenue_of(&storage, "badge").await, 3500);
        // The refund is in the timeline too, as money taken back.
        let timeline = storage.snapshot(0, 0, |_| 60).await.unwrap().timeline;
        let money: i64 = timeline.iter().filter_map(|r| r.amount).sum();
        assert_eq!(money, 3800 + 3500);
        assert!(timeline
            .iter()
            .any(|r| r.kind == "refund" && r.amount == Some(-1200)));

        // Once its window has closed, an offer seen and never answered has expired.
        let rows = storage.snapshot(2_000, 0, |_| 60).await.unwrap().counts;
        assert_eq!(
            counts(&rows, "plain", "expiry") + counts(&rows, "badge", "expiry"),
            0
        );
        storage
            .record_impression(&seen("pay_e", "cus_e", "badge"))
            .await
            .unwrap();
        let rows = storage.snapshot(999, 0, |_| 60).await.unwrap().counts;
        assert_eq!(counts(&rows, "badge", "expiry"), 0, "still open");
        let rows = storage.snapshot(1_000, 0, |_| 60).await.unwrap().counts;
        assert_eq!(counts(&rows, "badge", "expiry"), 1);
        drop(storage);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}
