//! Durable state of withdrawals of scheduled plan changes (see `plan_changes::withdraw`): written
//! before Dodo is called, once per token and per idempotency key, so that only the request that
//! wrote it asks Dodo, and every other gets its outcome.

use super::{now, Storage};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Where a withdrawal stands. Stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalState {
    /// Recorded; Dodo has not answered yet.
    Pending,
    Withdrawn,
    Failed,
}

impl WithdrawalState {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalState::Pending => "pending",
            WithdrawalState::Withdrawn => "withdrawn",
            WithdrawalState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => WithdrawalState::Pending,
            "withdrawn" => WithdrawalState::Withdrawn,
            "failed" => WithdrawalState::Failed,
            _ => return None,
        })
    }
}

/// One withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub jti: String,
    pub idempotency_key: String,
    pub subscription_id: String,
    pub customer_id: String,
    pub rule_id: String,
    /// The plan kept.
    pub from_product: String,
    /// The plan the scheduled change moved to.
    pub to_product: String,
    pub state: WithdrawalState,
    pub failure_code: Option<String>,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
}

/// The result of trying to record a withdrawal.
#[derive(Debug)]
pub enum BeginWithdrawal {
    /// This request recorded it: it, and only it, asks Dodo.
    Recorded,
    /// One with the same token or idempotency key exists.
    Existing(Box<Withdrawal>),
}

const COLUMNS: &str = "jti, idempotency_key, subscription_id, customer_id, rule_id, \
     from_product, to_product, state, failure_code";
const READ_COLUMNS: &str = "jti, idempotency_key, subscription_id, customer_id, rule_id, \
     from_product, to_product, state, failure_code, created_at";

impl Storage {
    /// Records a withdrawal in state `pending`, unless one with the same token or key exists.
    pub async fn begin_withdrawal(
        &self,
        withdrawal: &Withdrawal,
    ) -> Result<BeginWithdrawal, sqlx::Error> {
        let now = now();
        let inserted = sqlx::query(&format!(
            "INSERT INTO plan_change_withdrawals ({COLUMNS}, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', NULL, $8, $9) ON CONFLICT DO NOTHING"
        ))
        .bind(&withdrawal.jti)
        .bind(&withdrawal.idempotency_key)
        .bind(&withdrawal.subscription_id)
        .bind(&withdrawal.customer_id)
        .bind(&withdrawal.rule_id)
        .bind(&withdrawal.from_product)
        .bind(&withdrawal.to_product)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(BeginWithdrawal::Recorded);
        }
        let row = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM plan_change_withdrawals WHERE jti = $1 OR idempotency_key = $2 \
             ORDER BY created_at LIMIT 1"
        ))
        .bind(&withdrawal.jti)
        .bind(&withdrawal.idempotency_key)
        .fetch_one(&self.pool)
        .await?;
        Ok(BeginWithdrawal::Existing(Box::new(row_to_withdrawal(
            &row,
        )?)))
    }

    /// Records the outcome of a `pending` withdrawal; a final one never moves.
    pub async fn finish_withdrawal(
        &self,
        jti: &str,
        state: WithdrawalState,
        failure_code: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE plan_change_withdrawals SET state = $1, failure_code = $2, updated_at = $3 \
             WHERE jti = $4 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(failure_code)
        .bind(now())
        .bind(jti)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The withdrawal made with this token.
    pub async fn withdrawal(&self, jti: &str) -> Result<Option<Withdrawal>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM plan_change_withdrawals WHERE jti = $1"
        ))
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_withdrawal).transpose()
    }
}

fn row_to_withdrawal(row: &AnyRow) -> Result<Withdrawal, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(Withdrawal {
        jti: row.try_get("jti")?,
        idempotency_key: row.try_get("idempotency_key")?,
        subscription_id: row.try_get("subscription_id")?,
        customer_id: row.try_get("customer_id")?,
        rule_id: row.try_get("rule_id")?,
        from_product: row.try_get("from_product")?,
        to_product: row.try_get("to_product")?,
        state: WithdrawalState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown withdrawal state {state:?}").into())
        })?,
        failure_code: row.try_get("failure_code")?,
        created_at: row.try_get("created_at")?,
    })
}
