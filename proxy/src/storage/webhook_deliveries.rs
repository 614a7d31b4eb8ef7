//! The webhooks already processed, by their `webhook-id`: Dodo may deliver one twice.

use super::{now, Storage};

impl Storage {
    /// Remembers a webhook id; returns false when it was already processed.
    pub async fn first_delivery(
        &self,
        webhook_id: &str,
        event_type: &str,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "INSERT INTO webhook_events (webhook_id, event_type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(webhook_id)
        .bind(event_type)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Forgets a webhook id, so that a delivery whose processing failed is processed on retry.
    pub async fn forget_delivery(&self, webhook_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM webhook_events WHERE webhook_id = $1")
            .bind(webhook_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
