//! Durable state of plan changes, beside the accepts (see `storage`): a change is written before
//! Dodo is called, and its unique token id and idempotency key, with "one change in flight per
//! subscription", are what make a second change impossible.

use super::{now, Storage};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Where a plan change stands. Stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeState {
    Pending,
    Submitted,
    Processing,
    Succeeded,
    Scheduled,
    Failed,
    OnHold,
    RequiresAction,
    /// Scheduled, then undone by the subscriber before it took effect.
    Withdrawn,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Submitted => "submitted",
            ChangeState::Processing => "processing",
            ChangeState::Succeeded => "succeeded",
            ChangeState::Scheduled => "scheduled",
            ChangeState::Failed => "failed",
            ChangeState::OnHold => "on_hold",
            ChangeState::RequiresAction => "requires_action",
            ChangeState::Withdrawn => "withdrawn",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ChangeState::Pending,
            "submitted" => ChangeState::Submitted,
            "processing" => ChangeState::Processing,
            "succeeded" => ChangeState::Succeeded,
            "scheduled" => ChangeState::Scheduled,
            "failed" => ChangeState::Failed,
            "on_hold" => ChangeState::OnHold,
            "requires_action" => ChangeState::RequiresAction,
            "withdrawn" => ChangeState::Withdrawn,
            _ => return None,
        })
    }

    /// What the widget is told.
    pub fn to_wire(self) -> upsell_wire::PlanChangeStatus {
        use upsell_wire::PlanChangeStatus as S;
        match self {
            ChangeState::Pending | ChangeState::Submitted | ChangeState::Processing => {
                S::Processing
            }
            ChangeState::Succeeded => S::Succeeded,
            ChangeState::Scheduled => S::Scheduled,
            // The widget's words for a change that did not happen; `failure_code` says why.
            ChangeState::Failed | ChangeState::Withdrawn => S::Failed,
            ChangeState::OnHold => S::OnHold,
            ChangeState::RequiresAction => S::RequiresAction,
        }
    }
}

/// One confirmed plan change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub change_ref: String,
    pub jti: String,
    pub idempotency_key: String,
    pub subscription_id: String,
    pub customer_id: String,
    pub rule_id: String,
    pub to_product: String,
    /// Due now, as previewed and confirmed, in minor units.
    pub amount: i64,
    pub currency: String,
    pub state: ChangeState,
    pub payment_id: Option<String>,
    pub effective_date: Option<String>,
    pub failure_code: Option<String>,
    pub action_url: Option<String>,
    /// When the change was recorded, and when its state last moved (RFC 3339).
    pub created_at: String,
    pub updated_at: String,
}

/// The result of trying to record a plan change.
#[derive(Debug)]
pub enum BeginChange {
    /// This request recorded it: it, and only it, may call Dodo.
    Recorded(ChangeRecord),
    /// A change with the same token or idempotency key exists.
    Existing(ChangeRecord),
    /// Another change of this subscription is still in flight.
    InProgress,
}

const COLUMNS: &str = "change_ref, jti, idempotency_key, subscription_id, customer_id, rule_id, \
     to_product, amount, currency, state, payment_id, effective_date, failure_code, action_url";
const READ_COLUMNS: &str = "change_ref, jti, idempotency_key, subscription_id, customer_id, \
     rule_id, to_product, amount, currency, state, payment_id, effective_date, failure_code, \
     action_url, created_at, updated_at";

/// States a change can still leave (`0004_one_open_plan_change.sql` lists them too).
const OPEN: &str = "('pending', 'submitted', 'processing', 'requires_action')";

/// The failure of a change whose customer never finished 3-D Secure within the proxy's bound.
/// It no longer holds the subscription (a new change may begin), but Dodo may still settle its
/// payment late, and that outcome is recorded over it: the only failure that may move.
pub const AUTHENTICATION_TIMED_OUT: &str = "authentication_timed_out";

/// A change failed for [`AUTHENTICATION_TIMED_OUT`] whose payment Dodo may still settle.
const TIMED_OUT: &str =
    "(state = 'failed' AND failure_code = 'authentication_timed_out' AND payment_id IS NOT NULL)";

impl Storage {
    /// Records a new plan change in state `pending`, unless one with the same token or key
    /// exists (that one is returned), or another change of the subscription is in flight.
    pub async fn begin_plan_change(
        &self,
        change: &ChangeRecord,
    ) -> Result<BeginChange, sqlx::Error> {
        let now = now();
        let inserted = sqlx::query(&format!(
            "INSERT INTO plan_changes ({COLUMNS}, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', NULL, NULL, NULL, NULL, $10, $11 \
             WHERE NOT EXISTS (SELECT 1 FROM plan_changes WHERE subscription_id = $12 AND state IN {OPEN}) \
             ON CONFLICT DO NOTHING"
        ))
        .bind(&change.change_ref)
        .bind(&change.jti)
        .bind(&change.idempotency_key)
        .bind(&change.subscription_id)
        .bind(&change.customer_id)
        .bind(&change.rule_id)
        .bind(&change.to_product)
        .bind(change.amount)
        .bind(&change.currency)
        .bind(&now)
        .bind(&now)
        .bind(&change.subscription_id)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            let mut recorded = change.clone();
            recorded.state = ChangeState::Pending;
            recorded.created_at = now.clone();
            recorded.updated_at = now;
            return Ok(BeginChange::Recorded(recorded));
        }
        match self
            .plan_change_by_token_or_key(&change.jti, &change.idempotency_key)
            .await?
        {
            Some(existing) => Ok(BeginChange::Existing(existing)),
            None => Ok(BeginChange::InProgress),
        }
    }

    /// The change recorded with this token or idempotency key, if any.
    pub async fn plan_change_by_token_or_key(
        &self,
        jti: &str,
        idempotency_key: &str,
    ) -> Result<Option<ChangeRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM plan_changes WHERE jti = $1 OR idempotency_key = $2 \
             ORDER BY created_at LIMIT 1"
        ))
        .bind(jti)
        .bind(idempotency_key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_change).transpose()
    }

    pub async fn plan_change(&self, change_ref: &str) -> Result<Option<ChangeRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM plan_changes WHERE change_ref = $1"
        ))
        .bind(change_ref)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_change).transpose()
    }

    /// Claims a `pending` change for sending to Dodo, for exactly one caller.
    pub async fn claim_plan_change(&self, change_ref: &str) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE plan_changes SET state = 'submitted', updated_at = $1 \
             WHERE change_ref = $2 AND state = 'pending'",
        )
        .bind(now())
        .bind(change_ref)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Moves a change still in flight to `state`, with what is known of it. Final states never
    /// move, but for [`AUTHENTICATION_TIMED_OUT`] to what Dodo says came of it after all, and
    /// a change on hold to `succeeded` once its subscription has paid what it owed. A failure
    /// or a hold keeps only the link it is given (the page for a new card), never an earlier
    /// one (a 3-D Secure page).
    pub async fn advance_plan_change(
        &self,
        change_ref: &str,
        state: ChangeState,
        payment_id: Option<&str>,
        effective_date: Option<&str>,
        failure_code: Option<&str>,
        action_url: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(&format!(
            "UPDATE plan_changes SET state = $1, payment_id = COALESCE($2, payment_id), \
             effective_date = COALESCE($3, effective_date), \
             failure_code = CASE WHEN $1 IN ('failed', 'on_hold') \
                 THEN COALESCE($4, failure_code) ELSE $4 END, \
             action_url = CASE WHEN $1 IN ('failed', 'on_hold') \
                 THEN $5 ELSE COALESCE($5, action_url) END, \
             updated_at = $6 WHERE change_ref = $7 AND (state IN {OPEN} \
                 OR (state = 'failed' AND failure_code = '{AUTHENTICATION_TIMED_OUT}' \
                     AND $1 IN ('succeeded', 'on_hold', 'failed')) \
                 OR (state = 'on_hold' AND $1 = 'succeeded'))"
        ))
        .bind(state.as_str())
        .bind(payment_id)
        .bind(effective_date)
        .bind(failure_code)
        .bind(action_url)
        .bind(now())
        .bind(change_ref)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Every change still in flight, oldest first (for the reconciler), with those that timed
    /// out waiting for 3-D Secure since `since` (RFC 3339): Dodo may still settle them.
    pub async fn all_open_plan_changes(
        &self,
        since: &str,
    ) -> Result<Vec<ChangeRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM plan_changes WHERE state IN {OPEN} \
             OR ({TIMED_OUT} AND created_at >= $1) ORDER BY created_at"
        ))
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_change).collect()
    }

    /// Changes of a subscription still in flight, those that timed out waiting for 3-D Secure,
    /// and those on hold (for its webhooks: Dodo may still settle them).
    pub async fn open_plan_changes(
        &self,
        subscription_id: &str,
    ) -> Result<Vec<ChangeRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM plan_changes WHERE subscription_id = $1 \
             AND (state IN {OPEN} OR {TIMED_OUT} OR state = 'on_hold')"
        ))
        .bind(subscription_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_change).collect()
    }

    /// Records the page for a new card of a change on hold that had none (Dodo could not give
    /// it when the change was put on hold).
    pub async fn record_payment_method_page(
        &self,
        change_ref: &str,
        url: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE plan_changes SET action_url = $1, updated_at = $2 \
             WHERE change_ref = $3 AND state = 'on_hold' AND action_url IS NULL",
        )
        .bind(url)
        .bind(now())
        .bind(change_ref)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the subscription's change scheduled for `to_product` withdrawn (the subscriber
    /// undid it at Dodo).
    pub async fn withdraw_scheduled_plan_change(
        &self,
        subscription_id: &str,
        to_product: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE plan_changes SET state = 'withdrawn', failure_code = 'withdrawn', \
             updated_at = $1 WHERE subscription_id = $2 AND to_product = $3 AND state = 'scheduled'",
        )
        .bind(now())
        .bind(subscription_id)
        .bind(to_product)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn row_to_change(row: &AnyRow) -> Result<ChangeRecord, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(ChangeRecord {
        change_ref: row.try_get("change_ref")?,
        jti: row.try_get("jti")?,
        idempotency_key: row.try_get("idempotency_key")?,
        subscription_id: row.try_get("subscription_id")?,
        customer_id: row.try_get("customer_id")?,
        rule_id: row.try_get("rule_id")?,
        to_product: row.try_get("to_product")?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        state: ChangeState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown change state {state:?}").into()))?,
        payment_id: row.try_get("payment_id")?,
        effective_date: row.try_get("effective_date")?,
        failure_code: row.try_get("failure_code")?,
        action_url: row.try_get("action_url")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
