//! Who was first shown which variant of an experiment with automatic allocation (see its
//! migration), and what each variant of an offer has earned so far, which the allocation reads.

use super::money::MONEY;
use super::Storage;
use sqlx::Row;
use time::OffsetDateTime;

/// What one variant of an offer has seen, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantTally {
    pub variant_id: String,
    /// Purchases whose customer saw it.
    pub impressions: i64,
    /// Purchases with a payment for it confirmed.
    pub conversions: i64,
    /// Confirmed payments minus refunds, in minor units of `currency`.
    pub revenue: i64,
    pub currency: Option<String>,
}

impl Storage {
    /// The variant the customer was first given; `assign` is stored when none was. Two lookups
    /// racing agree: the first write wins and both read it.
    pub async fn assigned_variant(
        &self,
        experiment: &str,
        customer_id: &str,
        assign: &str,
    ) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO variant_assignments (experiment, customer_id, variant_id, assigned_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(experiment)
        .bind(customer_id)
        .bind(assign)
        .bind(OffsetDateTime::now_utc().unix_timestamp())
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "SELECT variant_id FROM variant_assignments WHERE experiment = $1 AND customer_id = $2",
        )
        .bind(experiment)
        .bind(customer_id)
        .fetch_one(&self.pool)
        .await?
        .try_get("variant_id")
    }

    /// The variant the customer was first given, if any.
    pub async fn existing_assignment(
        &self,
        experiment: &str,
        customer_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query(
            "SELECT variant_id FROM variant_assignments WHERE experiment = $1 AND customer_id = $2",
        )
        .bind(experiment)
        .bind(customer_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.try_get("variant_id"))
        .transpose()
    }

    /// Per variant of `offer_id`: impressions, conversions, and revenue per currency (a row per
    /// currency it earned in; one row with no currency for a variant that earned nothing).
    pub async fn variant_tallies(&self, offer_id: &str) -> Result<Vec<VariantTally>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT seen.variant_id, seen.impressions, seen.conversions, \
             money.currency, money.amount FROM ( \
               SELECT variant_id, \
               COUNT(DISTINCT CASE WHEN kind = 'impression' THEN original_payment_id END) \
                 AS impressions, \
               COUNT(DISTINCT CASE WHEN kind = 'paid' THEN original_payment_id END) \
                 AS conversions \
               FROM offer_events WHERE offer_id = $1 GROUP BY variant_id \
             ) seen LEFT JOIN ( \
               SELECT variant_id, currency, CAST(SUM(amount) AS BIGINT) AS amount \
               FROM ({MONEY}) m WHERE offer_id = $2 GROUP BY variant_id, currency \
             ) money ON money.variant_id = seen.variant_id"
        ))
        .bind(offer_id)
        .bind(offer_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(VariantTally {
                    variant_id: row.try_get("variant_id")?,
                    impressions: row.try_get("impressions")?,
                    conversions: row.try_get("conversions")?,
                    currency: row.try_get("currency")?,
                    revenue: row.try_get::<Option<i64>, _>("amount")?.unwrap_or(0),
                })
            })
            .collect()
    }
}
