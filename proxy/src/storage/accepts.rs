//! Accepted offers, declines and standard checkouts opened for offers: what the customer did
//! with a purchase's offers. An accept is written before Dodo is called, and the database's
//! unique constraints (`jti`, `idempotency_key`, and one accept per purchase and offer) are what
//! make a second charge impossible, whatever the number of requests or instances racing.

use super::offer_events::{Fact, Sighting};
use super::{now, Storage};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashSet;

/// Where an accept stands. Stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptState {
    /// Recorded; Dodo not called yet.
    Pending,
    /// Dodo is being called; the outcome is not known.
    Submitted,
    /// Dodo accepted the checkout session; the payment's final status is not known yet.
    Processing,
    Succeeded,
    Failed,
    RequiresAction,
}

impl AcceptState {
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptState::Pending => "pending",
            AcceptState::Submitted => "submitted",
            AcceptState::Processing => "processing",
            AcceptState::Succeeded => "succeeded",
            AcceptState::Failed => "failed",
            AcceptState::RequiresAction => "requires_action",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => AcceptState::Pending,
            "submitted" => AcceptState::Submitted,
            "processing" => AcceptState::Processing,
            "succeeded" => AcceptState::Succeeded,
            "failed" => AcceptState::Failed,
            "requires_action" => AcceptState::RequiresAction,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, AcceptState::Succeeded | AcceptState::Failed)
    }

    /// What the widget is told.
    pub fn to_wire(self) -> upsell_wire::AcceptStatus {
        use upsell_wire::AcceptStatus;
        match self {
            AcceptState::Pending | AcceptState::Submitted | AcceptState::Processing => {
                AcceptStatus::Processing
            }
            AcceptState::Succeeded => AcceptStatus::Succeeded,
            AcceptState::Failed => AcceptStatus::Failed,
            AcceptState::RequiresAction => AcceptStatus::RequiresAction,
        }
    }
}

/// One accepted offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    pub accept_id: String,
    pub jti: String,
    pub idempotency_key: String,
    pub original_payment_id: String,
    pub offer_id: String,
    pub customer_id: String,
    pub product_id: String,
    pub payment_method_id: String,
    pub quantity: u32,
    /// Total in minor units.
    pub amount: i64,
    pub currency: String,
    pub state: AcceptState,
    pub checkout_session_id: Option<String>,
    pub charge_payment_id: Option<String>,
    pub failure_reason: Option<String>,
    /// Stable code of the failure, which the widget translates.
    pub failure_code: Option<String>,
    /// Where the customer confirms the payment, while it requires action (3-D Secure).
    pub action_url: Option<String>,
    /// When the accept was recorded (RFC 3339).
    pub created_at: String,
    /// When its state last changed (RFC 3339).
    pub updated_at: String,
}

/// Why a charge failed: a stable code for the widget, and words for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub reason: String,
}

impl Failure {
    pub fn new(code: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

/// What the customer already did with a purchase's offers.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Item ids with an accept (whatever became of its charge), or sent to a standard checkout.
    pub accepted_items: HashSet<String>,
    /// Offer ids the customer said "No thanks" to.
    pub declined_offers: HashSet<String>,
    /// What counts towards `max_accepted_offers`: every accept but those whose charge failed,
    /// and every item paid through a standard checkout.
    pub accepted_count: i64,
    /// The purchase is already filed in its side of the holdout (`offered_purchases`): a later
    /// lookup need not write it again.
    pub filed: bool,
}

/// The result of trying to record an accept.
#[derive(Debug)]
pub enum BeginAccept {
    /// This request recorded it: it, and only it, may call Dodo.
    Recorded(Accept),
    /// An accept with the same token, idempotency key, or purchase and offer already exists.
    Existing(Accept),
    /// The purchase has accepted as many offers as it may.
    LimitReached,
}

const COLUMNS: &str =
    "accept_id, jti, idempotency_key, original_payment_id, offer_id, customer_id, \
     product_id, payment_method_id, quantity, amount, currency, state, checkout_session_id, \
     charge_payment_id, failure_reason, failure_code, action_url, created_at, updated_at";

/// States an accept can still leave.
const OPEN_STATES: &str = "('pending', 'submitted', 'processing', 'requires_action')";

impl Storage {
    /// Records a new accept in state `pending`, unless one with the same `jti`, idempotency key,
    /// or purchase and offer exists; then that one is returned and nothing is written. The
    /// report's facts of the accept (`seen`: the offer and variant shown) are written with it,
    /// in one transaction: an accept is never charged without being counted.
    pub async fn begin_accept(
        &self,
        accept: &Accept,
        max_accepted: i64,
        seen: &Sighting,
    ) -> Result<BeginAccept, sqlx::Error> {
        let now = now();
        let mut transaction = self.pool.begin().await?;
        // One statement, so that the purchase's limit holds however many accepts race.
        let inserted = sqlx::query(
            "INSERT INTO accepts (accept_id, jti, idempotency_key, original_payment_id, offer_id, \
             customer_id, product_id, payment_method_id, quantity, amount, currency, state, \
             created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $13 \
             WHERE (SELECT COUNT(*) FROM accepts WHERE original_payment_id = $14 AND state <> 'failed') \
             + (SELECT COUNT(DISTINCT charge_payment_id) FROM offer_events \
                WHERE original_payment_id = $16 AND kind = 'paid' AND accept_id IS NULL) < $15 \
             ON CONFLICT DO NOTHING",
        )
        .bind(&accept.accept_id)
        .bind(&accept.jti)
        .bind(&accept.idempotency_key)
        .bind(&accept.original_payment_id)
        .bind(&accept.offer_id)
        .bind(&accept.customer_id)
        .bind(&accept.product_id)
        .bind(&accept.payment_method_id)
        .bind(i64::from(accept.quantity))
        .bind(accept.amount)
        .bind(&accept.currency)
        .bind(&now)
        .bind(&now)
        .bind(&accept.original_payment_id)
        .bind(max_accepted)
        .bind(&accept.original_payment_id)
        .execute(&mut *transaction)
        .await?;
        if inserted.rows_affected() == 1 {
            for fact in Fact::accepted(seen, &accept.accept_id) {
                fact.query().execute(&mut *transaction).await?;
            }
        }
        transaction.commit().await?;
        if inserted.rows_affected() == 1 {
            let mut recorded = accept.clone();
            recorded.state = AcceptState::Pending;
            recorded.created_at = now.clone();
            recorded.updated_at = now;
            return Ok(BeginAccept::Recorded(recorded));
        }
        let existing = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accepts WHERE jti = $1 OR idempotency_key = $2 \
             OR (original_payment_id = $3 AND offer_id = $4) ORDER BY created_at LIMIT 1"
        ))
        .bind(&accept.jti)
        .bind(&accept.idempotency_key)
        .bind(&accept.original_payment_id)
        .bind(&accept.offer_id)
        .fetch_optional(&self.pool)
        .await?;
        match existing {
            Some(row) => Ok(BeginAccept::Existing(row_to_accept(&row)?)),
            None => Ok(BeginAccept::LimitReached),
        }
    }

    pub async fn accept(&self, accept_id: &str) -> Result<Option<Accept>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accepts WHERE accept_id = $1"
        ))
        .bind(accept_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_accept).transpose()
    }

    /// Moves an accept to `state`, unless it has already reached a final state (a late or
    /// repeated event never undoes a final outcome). Returns whether anything changed.
    pub async fn advance(
        &self,
        accept_id: &str,
        state: AcceptState,
        failure: Option<&Failure>,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(&format!(
            "UPDATE accepts SET state = $1, failure_reason = COALESCE($2, failure_reason), \
             failure_code = COALESCE($3, failure_code), updated_at = $4 \
             WHERE accept_id = $5 AND state IN {OPEN_STATES}"
        ))
        .bind(state.as_str())
        .bind(failure.map(|f| f.reason.as_str()))
        .bind(failure.map(|f| f.code.as_str()))
        .bind(now())
        .bind(accept_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Claims a `pending` accept for charging: moves it to `submitted` and returns true, for
    /// exactly one caller. False when it is no longer pending (another caller charged it, or
    /// the reconciler gave up on it), and then nothing may be sent to Dodo.
    pub async fn claim_for_charge(&self, accept_id: &str) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE accepts SET state = 'submitted', updated_at = $1 \
             WHERE accept_id = $2 AND state = 'pending'",
        )
        .bind(now())
        .bind(accept_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Records the checkout session and payment Dodo created for an accept.
    pub async fn record_checkout(
        &self,
        accept_id: &str,
        session_id: Option<&str>,
        payment_id: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE accepts SET checkout_session_id = COALESCE($1, checkout_session_id), \
             charge_payment_id = COALESCE($2, charge_payment_id), \
             state = CASE WHEN state IN ('pending', 'submitted') THEN 'processing' ELSE state END, \
             updated_at = $3 WHERE accept_id = $4",
        )
        .bind(session_id)
        .bind(payment_id)
        .bind(now())
        .bind(accept_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records where the customer confirms a payment that requires action.
    pub async fn record_action_url(
        &self,
        accept_id: &str,
        action_url: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accepts SET action_url = $1 WHERE accept_id = $2")
            .bind(action_url)
            .bind(accept_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Accepts whose outcome is not final yet, oldest first.
    pub async fn open_accepts(&self) -> Result<Vec<Accept>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accepts WHERE state IN {OPEN_STATES} ORDER BY created_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_accept).collect()
    }

    /// What the customer already did with this purchase's offers: items accepted (whatever
    /// became of their charge), how many of those accepts still count, and offers declined.
    /// One query, as every offer lookup and decline needs all of it.
    pub async fn settled(&self, original_payment_id: &str) -> Result<Settled, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT offer_id, CASE WHEN state = 'failed' THEN 'failed' ELSE 'counts' END AS how \
             FROM accepts WHERE original_payment_id = $1 \
             UNION ALL SELECT item_id, 'checkout' AS how FROM fallback_checkouts WHERE original_payment_id = $2 \
             UNION ALL SELECT offer_id, 'declined' AS how FROM declines WHERE original_payment_id = $3 \
             UNION ALL SELECT payment_id, 'filed' AS how FROM offered_purchases WHERE payment_id = $4 \
             UNION ALL SELECT DISTINCT charge_payment_id, 'paid_checkout' AS how FROM offer_events \
               WHERE original_payment_id = $5 AND kind = 'paid' AND accept_id IS NULL",
        )
        .bind(original_payment_id)
        .bind(original_payment_id)
        .bind(original_payment_id)
        .bind(original_payment_id)
        .bind(original_payment_id)
        .fetch_all(&self.pool)
        .await?;
        let mut settled = Settled::default();
        for row in &rows {
            let id: String = row.try_get("offer_id")?;
            let how: String = row.try_get("how")?;
            match how.as_str() {
                "declined" => {
                    settled.declined_offers.insert(id);
                }
                // Counts towards `max_accepted_offers`: every accept but an outright failure.
                "counts" => {
                    settled.accepted_count += 1;
                    settled.accepted_items.insert(id);
                }
                "failed" | "checkout" => {
                    settled.accepted_items.insert(id);
                }
                "filed" => settled.filed = true,
                // An item paid through a standard checkout counts like a one-click accept.
                "paid_checkout" => settled.accepted_count += 1,
                other => {
                    return Err(sqlx::Error::Decode(
                        format!("unknown settlement {other:?}").into(),
                    ))
                }
            }
        }
        Ok(settled)
    }

    /// The accept of an item after a purchase, if there is one.
    pub async fn accept_for_item(
        &self,
        original_payment_id: &str,
        item_id: &str,
    ) -> Result<Option<Accept>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accepts WHERE original_payment_id = $1 AND offer_id = $2"
        ))
        .bind(original_payment_id)
        .bind(item_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_accept).transpose()
    }

    /// The standard checkout already opened with this offer token, if any.
    pub async fn fallback_checkout(&self, jti: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT checkout_url FROM fallback_checkouts WHERE jti = $1")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("checkout_url")).transpose()
    }

    /// Records the standard checkout opened with an offer token and returns the one on record:
    /// when two requests race, both get the first one's.
    pub async fn record_fallback_checkout(
        &self,
        jti: &str,
        original_payment_id: &str,
        item_id: &str,
        session_id: &str,
        checkout_url: &str,
    ) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO fallback_checkouts (jti, original_payment_id, item_id, session_id, \
             checkout_url, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(jti)
        .bind(original_payment_id)
        .bind(item_id)
        .bind(session_id)
        .bind(checkout_url)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(self
            .fallback_checkout(jti)
            .await?
            .unwrap_or_else(|| checkout_url.to_string()))
    }

    /// Records a decline; declining twice is the same as once.
    pub async fn record_decline(
        &self,
        original_payment_id: &str,
        offer_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO declines (original_payment_id, offer_id, declined_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(original_payment_id)
        .bind(offer_id)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn row_to_accept(row: &AnyRow) -> Result<Accept, sqlx::Error> {
    let state: String = row.try_get("state")?;
    let quantity: i64 = row.try_get("quantity")?;
    Ok(Accept {
        accept_id: row.try_get("accept_id")?,
        jti: row.try_get("jti")?,
        idempotency_key: row.try_get("idempotency_key")?,
        original_payment_id: row.try_get("original_payment_id")?,
        offer_id: row.try_get("offer_id")?,
        customer_id: row.try_get("customer_id")?,
        product_id: row.try_get("product_id")?,
        payment_method_id: row.try_get("payment_method_id")?,
        quantity: u32::try_from(quantity).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        state: AcceptState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown accept state {state:?}").into()))?,
        checkout_session_id: row.try_get("checkout_session_id")?,
        charge_payment_id: row.try_get("charge_payment_id")?,
        failure_reason: row.try_get("failure_reason")?,
        failure_code: row.try_get("failure_code")?,
        action_url: row.try_get("action_url")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What the customer saw of the offer of `accept`, for tests.
    pub(crate) fn seen(accept: &Accept) -> Sighting {
        Sighting {
            offer_id: accept.offer_id.clone(),
            variant_id: "default".into(),
            original_payment_id: accept.original_payment_id.clone(),
            customer_id: accept.customer_id.clone(),
            expires_at: 1_000,
        }
    }

    /// A pending accept of offer `offer-<id>` after `pay_1`, for tests.
    pub(crate) fn accept(id: &str) -> Accept {
        Accept {
            accept_id: id.into(),
            jti: format!("jti-{id}"),
            idempotency_key: format!("key-{id}"),
            original_payment_id: "pay_1".into(),
            offer_id: format!("offer-{id}"),
            customer_id: "cus_1".into(),
            product_id: "prod_1".into(),
            payment_method_id: "pm_1".into(),
            quantity: 1,
            amount: 5000,
            currency: "USD".into(),
            state: AcceptState::Pending,
            checkout_session_id: None,
            charge_payment_id: None,
            failure_reason: None,
            failure_code: None,
            action_url: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[tokio::test]
    async fn only_one_caller_claims_an_accept_and_a_failed_one_cannot_be_claimed() {
        let storage = Storage::open("sqlite::memory:").await.unwrap();
        assert!(matches!(
            storage
                .begin_accept(&accept("a"), 3, &seen(&accept("a")))
                .await
                .unwrap(),
            BeginAccept::Recorded(_)
        ));
        assert!(storage.claim_for_charge("a").await.unwrap());
        assert!(
            !storage.claim_for_charge("a").await.unwrap(),
            "claimed once only"
        );

        assert!(matches!(
            storage
                .begin_accept(&accept("b"), 3, &seen(&accept("b")))
                .await
                .unwrap(),
            BeginAccept::Recorded(_)
        ));
        assert!(storage
            .advance(
                "b",
                AcceptState::Failed,
                Some(&Failure::new("not_charged", "gave up"))
            )
            .await
            .unwrap());
        assert!(
            !storage.claim_for_charge("b").await.unwrap(),
            "a failed accept is never charged"
        );
        assert!(
            !storage
                .advance("b", AcceptState::Succeeded, None)
                .await
                .unwrap(),
            "final states never move"
        );
    }

    #[tokio::test]
    async fn the_same_token_key_or_offer_finds_the_first_accept() {
        let storage = Storage::open("sqlite::memory:").await.unwrap();
        let first = accept("a");
        storage
            .begin_accept(&first, 3, &seen(&first))
            .await
            .unwrap();
        let mut again = accept("b");
        again.offer_id = first.offer_id.clone();
        match storage
            .begin_accept(&again, 3, &seen(&again))
            .await
            .unwrap()
        {
            BeginAccept::Existing(existing) => assert_eq!(existing.accept_id, "a"),
            other => panic!("expected the first accept, got {other:?}"),
        }
    }
}
