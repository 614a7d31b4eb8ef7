//! The facts the report counts, in the `offer_events` table (see its migration). Each fact has
//! a key that names it (`impression:<purchase>:<offer>`, `paid:<accept>`, …): a second delivery
//! of the same fact, from a widget that sends twice or from Dodo redelivering a webhook, finds
//! the key taken and changes nothing. The facts live in the proxy's database, so they survive
//! restarts and are shared by every instance.

use crate::offer_token::OfferClaims;
use crate::storage::Storage;
use sqlx::Row;
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

impl From<&OfferClaims> for Sighting {
    fn from(claims: &OfferClaims) -> Self {
        Sighting {
            offer_id: claims.oid.clone(),
            variant_id: claims.variant().to_string(),
            original_payment_id: claims.sub.clone(),
            customer_id: claims.cus.clone(),
            expires_at: claims.exp,
        }
    }
}

/// What a kind of fact counts per offer and variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    pub offer_id: String,
    pub variant_id: String,
    pub kind: String,
    /// Purchases with at least one such fact.
    pub purchases: i64,
}

/// Money per offer, variant and currency: payments confirmed minus refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueRow {
    pub offer_id: String,
    pub variant_id: String,
    pub currency: String,
    pub amount: i64,
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

const INSERT: &str = "INSERT INTO offer_events (event_key, kind, offer_id, variant_id, \
     original_payment_id, customer_id, accept_id, expires_at, occurred_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";

impl Storage {
    /// The customer saw the offer. Once per purchase and offer, however often it is reported;
    /// returns whether this report was the first.
    pub async fn record_impression(&self, seen: &Sighting) -> Result<bool, sqlx::Error> {
        let key = format!("impression:{}:{}", seen.original_payment_id, seen.offer_id);
        self.insert_event(&key, "impression", seen, None).await
    }

    /// The customer declined the offer (and so saw it).
    pub async fn record_decline_event(&self, seen: &Sighting) -> Result<(), sqlx::Error> {
        self.record_impression(seen).await?;
        let key = format!("decline:{}:{}", seen.original_payment_id, seen.offer_id);
        self.insert_event(&key, "decline", seen, None).await?;
        Ok(())
    }

    /// The customer accepted an item of the offer (and so saw it). Recorded again by every
    /// retry of the accept, which heals a crash between the accept and this.
    pub async fn record_accept_event(
        &self,
        seen: &Sighting,
        accept_id: &str,
    ) -> Result<(), sqlx::Error> {
        self.record_impression(seen).await?;
        let key = format!("accept:{accept_id}");
        self.insert_event(&key, "accept", seen, Some(accept_id))
            .await?;
        Ok(())
    }

    /// Dodo confirmed (by webhook) the payment of an accept: its amount is revenue of the
    /// accept's offer and variant. Once per accept.
    pub async fn record_payment_confirmed(
        &self,
        accept_id: &str,
        charge_payment_id: &str,
        amount: i64,
        currency: &str,
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
        .bind(charge_payment_id)
        .bind(amount)
        .bind(currency)
        .bind(now())
        .bind(format!("accept:{accept_id}"))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Dodo confirmed (by webhook) a refund of a payment. When the payment was one of our
    /// charges, the refunded amount (all of it when Dodo gives none) comes off its offer's
    /// revenue, once per refund. Returns whether it was one of ours and new.
    pub async fn record_refund(
        &self,
        refund_id: &str,
        charge_payment_id: &str,
        amount: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "INSERT INTO offer_events (event_key, kind, offer_id, variant_id, \
             original_payment_id, customer_id, accept_id, charge_payment_id, amount, currency, \
             occurred_at) \
             SELECT $1, 'refund', offer_id, variant_id, original_payment_id, customer_id, \
             accept_id, charge_payment_id, -COALESCE($2, amount), currency, $3 \
             FROM offer_events WHERE kind = 'paid' AND charge_payment_id = $4 \
             ON CONFLICT DO NOTHING",
        )
        .bind(format!("refund:{refund_id}"))
        .bind(amount)
        .bind(now())
        .bind(charge_payment_id)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Per offer, variant and kind of fact: how many purchases have one. Two kinds are read
    /// rather than recorded: failures (accepts whose charge failed, from the accepts
    /// themselves) and expiries (offers seen and left unanswered until their window closed,
    /// before `now`, Unix seconds).
    pub async fn kind_counts(&self, now: i64) -> Result<Vec<KindCount>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT offer_id, variant_id, kind, COUNT(DISTINCT original_payment_id) AS purchases \
             FROM offer_events GROUP BY offer_id, variant_id, kind \
             UNION ALL \
             SELECT fact.offer_id, fact.variant_id, 'failure' AS kind, \
             COUNT(DISTINCT fact.original_payment_id) AS purchases \
             FROM offer_events fact JOIN accepts ON accepts.accept_id = fact.accept_id \
             WHERE fact.kind = 'accept' AND accepts.state = 'failed' \
             GROUP BY fact.offer_id, fact.variant_id \
             UNION ALL \
             SELECT seen.offer_id, seen.variant_id, 'expiry' AS kind, COUNT(*) AS purchases \
             FROM offer_events seen \
             WHERE seen.kind = 'impression' AND seen.expires_at <= $1 AND NOT EXISTS ( \
               SELECT 1 FROM offer_events answer \
               WHERE answer.original_payment_id = seen.original_payment_id \
                 AND answer.offer_id = seen.offer_id AND answer.kind IN ('accept', 'decline')) \
             GROUP BY seen.offer_id, seen.variant_id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KindCount {
                    offer_id: row.try_get("offer_id")?,
                    variant_id: row.try_get("variant_id")?,
                    kind: row.try_get("kind")?,
                    purchases: row.try_get("purchases")?,
                })
            })
            .collect()
    }

    /// Per offer, variant and currency: payments confirmed minus refunds.
    pub async fn revenue(&self) -> Result<Vec<RevenueRow>, sqlx::Error> {
        // PostgreSQL sums BIGINT as NUMERIC: cast back, the amounts are minor units.
        let rows = sqlx::query(
            "SELECT offer_id, variant_id, currency, CAST(SUM(amount) AS BIGINT) AS amount \
             FROM offer_events WHERE kind IN ('paid', 'refund') \
             GROUP BY offer_id, variant_id, currency",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RevenueRow {
                    offer_id: row.try_get("offer_id")?,
                    variant_id: row.try_get("variant_id")?,
                    currency: row.try_get("currency")?,
                    amount: row.try_get("amount")?,
                })
            })
            .collect()
    }

    /// The first and last time anything happened (Unix seconds), if anything did.
    pub async fn event_span(&self) -> Result<Option<(i64, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT MIN(occurred_at) AS first, MAX(occurred_at) AS last FROM offer_events",
        )
        .fetch_one(self.pool())
        .await?;
        let first: Option<i64> = row.try_get("first")?;
        let last: Option<i64> = row.try_get("last")?;
        Ok(first.zip(last))
    }

    /// Impressions, conversions and money per offer in periods of `period` seconds.
    pub async fn timeline(&self, period: i64) -> Result<Vec<TimelineRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT offer_id, (occurred_at / $1) * $2 AS start, kind, currency, \
             COUNT(DISTINCT original_payment_id) AS purchases, \
             CAST(SUM(amount) AS BIGINT) AS amount FROM offer_events \
             WHERE kind IN ('impression', 'paid', 'refund') \
             GROUP BY offer_id, start, kind, currency ORDER BY start",
        )
        .bind(period)
        .bind(period)
        .fetch_all(self.pool())
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

    async fn insert_event(
        &self,
        key: &str,
        kind: &str,
        seen: &Sighting,
        accept_id: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(INSERT)
            .bind(key)
            .bind(kind)
            .bind(&seen.offer_id)
            .bind(&seen.variant_id)
            .bind(&seen.original_payment_id)
            .bind(&seen.customer_id)
            .bind(accept_id)
            .bind(seen.expires_at)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }
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
        let mut accept = crate::storage::tests::accept(id);
        accept.original_payment_id = payment.into();
        accept
    }

    fn counts(rows: &[KindCount], variant: &str, kind: &str) -> i64 {
        rows.iter()
            .filter(|c| c.variant_id == variant && c.kind == kind)
            .map(|c| c.purchases)
            .sum()
    }

    /// Everything sent twice, the proxy restarted in between: each fact counts once.
    #[tokio::test]
    async fn facts_count_once_however_often_they_come_and_survive_a_restart() {
        let file = std::env::temp_dir().join(format!("events-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", file.display());
        {
            let storage = Storage::open(&url).await.unwrap();
            for attempt in 0..2 {
                let first = attempt == 0;
                assert_eq!(
                    storage
                        .record_impression(&seen("pay_a", "cus_a", "plain"))
                        .await
                        .unwrap(),
                    first
                );
                storage
                    .begin_accept(&accept("acc_a", "pay_a"), 3)
                    .await
                    .unwrap();
                storage
                    .record_accept_event(&seen("pay_a", "cus_a", "plain"), "acc_a")
                    .await
                    .unwrap();
                storage
                    .record_payment_confirmed("acc_a", "pay_charge_a", 5000, "USD")
                    .await
                    .unwrap();
                assert_eq!(
                    storage
                        .record_refund("ref_1", "pay_charge_a", Some(1200))
                        .await
                        .unwrap(),
                    first
                );
                storage
                    .record_decline_event(&seen("pay_b", "cus_b", "badge"))
                    .await
                    .unwrap();
            }
            // A refund of a payment that is not one of our charges is not ours to count.
            assert!(!storage
                .record_refund("ref_2", "pay_original", None)
                .await
                .unwrap());
            // Grace's accept fails.
            storage
                .begin_accept(&accept("acc_c", "pay_c"), 3)
                .await
                .unwrap();
            storage
                .record_accept_event(&seen("pay_c", "cus_c", "plain"), "acc_c")
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
        }
        let storage = Storage::open(&url).await.unwrap();
        let rows = storage.kind_counts(0).await.unwrap();
        assert_eq!(counts(&rows, "plain", "impression"), 2);
        assert_eq!(counts(&rows, "plain", "accept"), 2);
        assert_eq!(counts(&rows, "plain", "paid"), 1);
        assert_eq!(counts(&rows, "plain", "failure"), 1);
        assert_eq!(
            counts(&rows, "badge", "impression"),
            1,
            "implied by the decline"
        );
        assert_eq!(counts(&rows, "badge", "decline"), 1);
        assert_eq!(
            storage.revenue().await.unwrap(),
            vec![RevenueRow {
                offer_id: "pro".into(),
                variant_id: "plain".into(),
                currency: "USD".into(),
                amount: 3800,
            }]
        );
        // Once their window has closed, offers seen and never answered have expired: none
        // here (every purchase answered), until one is only seen.
        let rows = storage.kind_counts(2_000).await.unwrap();
        assert_eq!(
            counts(&rows, "plain", "expiry") + counts(&rows, "badge", "expiry"),
            0
        );
        storage
            .record_impression(&seen("pay_d", "cus_d", "badge"))
            .await
            .unwrap();
        let rows = storage.kind_counts(999).await.unwrap();
        assert_eq!(counts(&rows, "badge", "expiry"), 0, "still open");
        let rows = storage.kind_counts(1_000).await.unwrap();
        assert_eq!(counts(&rows, "badge", "expiry"), 1);
        drop(storage);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}
