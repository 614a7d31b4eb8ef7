//! What the report counts of plan changes, per rule: how many subscribers were shown each
//! (`plan_change_sightings`), and every confirmed change with its state and the money its
//! payment took, less refunds (`plan_changes`, `refunds`).

use super::Storage;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

/// One confirmed plan change, as the report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedChange {
    pub rule_id: String,
    /// Its state (`plan_changes.state`).
    pub state: String,
    pub currency: String,
    /// What its payment took, less refunds of it, in minor units: 0 unless it succeeded.
    pub net: i64,
    /// When it last moved (Unix seconds; 0 when unreadable).
    pub updated_at: i64,
}

/// Subscribers shown a rule's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownCount {
    pub rule_id: String,
    pub subscriptions: i64,
}

impl Storage {
    /// The change `rule_id` was listed to the subscription: counted once.
    pub async fn record_plan_change_shown(
        &self,
        subscription_id: &str,
        rule_id: &str,
        customer_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO plan_change_sightings (subscription_id, rule_id, customer_id, first_shown_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(subscription_id)
        .bind(rule_id)
        .bind(customer_id)
        .bind(OffsetDateTime::now_utc().unix_timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

pub(super) async fn shown_counts(db: &mut AnyConnection) -> Result<Vec<ShownCount>, sqlx::Error> {
    sqlx::query(
        "SELECT rule_id, COUNT(*) AS subscriptions FROM plan_change_sightings GROUP BY rule_id",
    )
    .fetch_all(&mut *db)
    .await?
    .iter()
    .map(|row| {
        Ok(ShownCount {
            rule_id: row.try_get("rule_id")?,
            subscriptions: row.try_get("subscriptions")?,
        })
    })
    .collect()
}

pub(super) async fn confirmed_changes(
    db: &mut AnyConnection,
) -> Result<Vec<ConfirmedChange>, sqlx::Error> {
    // A succeeded change took what its confirmed preview said (the confirm refuses any other
    // amount); a refund without an amount is of the whole payment.
    let rows = sqlx::query(
        "SELECT pc.rule_id, pc.state, pc.currency, pc.amount, pc.updated_at, \
         CAST(COALESCE((SELECT SUM(COALESCE(refunds.amount, pc.amount)) FROM refunds \
           WHERE refunds.payment_id = pc.payment_id), 0) AS BIGINT) AS refunded \
         FROM plan_changes pc",
    )
    .fetch_all(&mut *db)
    .await?;
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            let amount: i64 = row.try_get("amount")?;
            let refunded: i64 = row.try_get("refunded")?;
            let updated_at: String = row.try_get("updated_at")?;
            Ok(ConfirmedChange {
                rule_id: row.try_get("rule_id")?,
                net: if state == "succeeded" {
                    amount - refunded.min(amount)
                } else {
                    0
                },
                state,
                currency: row.try_get("currency")?,
                updated_at: crate::clock::parse_rfc3339(&updated_at)
                    .map_or(0, OffsetDateTime::unix_timestamp),
            })
        })
        .collect()
}
