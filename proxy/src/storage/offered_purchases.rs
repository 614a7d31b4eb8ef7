//! The purchases offers fit, each in its arm (`offers`: shown what fits; `holdout`: shown
//! nothing), and what each came to: the money its offers took, minus refunds of it and of the
//! purchase itself. The report compares the two arms with these (`analytics::holdout`).

use super::money::MONEY;
use super::Storage;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// Which side of the holdout a purchase is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm {
    /// Shown the offers that fit it.
    Offers,
    /// Shown no offer: the baseline of what offers add.
    Holdout,
}

impl Arm {
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Offers => "offers",
            Arm::Holdout => "holdout",
        }
    }

    fn parse(text: &str) -> Option<Arm> {
        match text {
            "offers" => Some(Arm::Offers),
            "holdout" => Some(Arm::Holdout),
            _ => None,
        }
    }
}

/// A purchase offers fit, as the first lookup of it saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPurchase {
    pub payment_id: String,
    pub customer_id: String,
    pub arm: Arm,
    pub currency: String,
    /// Its total, in minor units.
    pub total: i64,
    /// Unix seconds.
    pub purchased_at: i64,
}

/// What a purchase came to for the merchant beyond its own price, in its currency's minor
/// units: the offers' payments, minus their refunds and refunds of the purchase itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseValue {
    pub customer_id: String,
    pub arm: Arm,
    pub currency: String,
    pub value: i64,
    /// Unix seconds.
    pub purchased_at: i64,
}

impl Storage {
    /// Files the purchase in its arm; a later lookup of the same purchase changes nothing.
    pub async fn record_offered_purchase(
        &self,
        purchase: &OfferedPurchase,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO offered_purchases \
             (payment_id, customer_id, arm, currency, total, purchased_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&purchase.payment_id)
        .bind(&purchase.customer_id)
        .bind(purchase.arm.as_str())
        .bind(&purchase.currency)
        .bind(purchase.total)
        .bind(purchase.purchased_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Every filed purchase with what it came to (see `PurchaseValue`).
pub(super) async fn purchase_values(
    db: &mut AnyConnection,
) -> Result<Vec<PurchaseValue>, sqlx::Error> {
    // Three grouped reads joined here rather than one correlated query: each is one pass.
    let upsell_money: HashMap<(String, String), i64> = sqlx::query(&format!(
        "SELECT original_payment_id, currency, CAST(SUM(amount) AS BIGINT) AS amount \
         FROM ({MONEY}) money GROUP BY original_payment_id, currency"
    ))
    .fetch_all(&mut *db)
    .await?
    .iter()
    .map(|row| {
        Ok((
            (
                row.try_get("original_payment_id")?,
                row.try_get("currency")?,
            ),
            row.try_get("amount")?,
        ))
    })
    .collect::<Result<_, sqlx::Error>>()?;
    // A refund without an amount is of the whole purchase.
    let refunded: HashMap<String, i64> = sqlx::query(
        "SELECT refunds.payment_id, \
         CAST(SUM(COALESCE(refunds.amount, purchase.total)) AS BIGINT) AS amount \
         FROM refunds JOIN offered_purchases purchase ON purchase.payment_id = refunds.payment_id \
         GROUP BY refunds.payment_id",
    )
    .fetch_all(&mut *db)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("payment_id")?, row.try_get("amount")?)))
    .collect::<Result<_, sqlx::Error>>()?;
    let rows = sqlx::query(
        "SELECT payment_id, customer_id, arm, currency, total, purchased_at \
         FROM offered_purchases ORDER BY purchased_at, payment_id",
    )
    .fetch_all(&mut *db)
    .await?;
    let mut values = Vec::with_capacity(rows.len());
    for row in &rows {
        let payment_id: String = row.try_get("payment_id")?;
        let currency: String = row.try_get("currency")?;
        let arm: String = row.try_get("arm")?;
        let Some(arm) = Arm::parse(&arm) else {
            continue;
        };
        let total: i64 = row.try_get("total")?;
        let earned = upsell_money
            .get(&(payment_id.clone(), currency.clone()))
            .copied()
            .unwrap_or(0);
        // Never more than the purchase itself is taken back.
        let given_back = refunded.get(&payment_id).copied().unwrap_or(0).min(total);
        values.push(PurchaseValue {
            customer_id: row.try_get("customer_id")?,
            arm,
            currency,
            value: earned - given_back,
            purchased_at: row.try_get("purchased_at")?,
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::offer_events::{ConfirmedPayment, Sighting};

    fn filed(payment: &str, customer: &str, arm: Arm) -> OfferedPurchase {
        OfferedPurchase {
            payment_id: payment.into(),
            customer_id: customer.into(),
            arm,
            currency: "USD".into(),
            total: 3000,
            purchased_at: 100,
        }
    }

    /// A purchase's value: its offers' money minus their refunds and refunds of the purchase
    /// itself (never more than its total); filed once however often it is looked up.
    #[tokio::test]
    async fn a_purchase_comes_to_its_offers_money_less_every_refund() {
        let file = std::env::temp_dir().join(format!("purchases-{}.db", uuid::Uuid::new_v4()));
        let storage = Storage::open(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        for _ in 0..2 {
            storage
                .record_offered_purchase(&filed("pay_a", "cus_a", Arm::Offers))
                .await
                .unwrap();
        }
        // A later lookup in the other arm (the holdout grew) does not move the purchase.
        storage
            .record_offered_purchase(&filed("pay_a", "cus_a", Arm::Holdout))
            .await
            .unwrap();
        storage
            .record_offered_purchase(&filed("pay_h", "cus_h", Arm::Holdout))
            .await
            .unwrap();
        let mut accept = crate::storage::accepts::tests::accept("acc_a");
        accept.original_payment_id = "pay_a".into();
        let seen = Sighting {
            offer_id: "pro".into(),
            variant_id: "default".into(),
            original_payment_id: "pay_a".into(),
            customer_id: "cus_a".into(),
            expires_at: 1_000,
        };
        storage.begin_accept(&accept, 3, &seen).await.unwrap();
        storage
            .record_payment_confirmed(
                "acc_a",
                &ConfirmedPayment {
                    payment_id: "pay_charge_a".into(),
                    amount: 5000,
                    currency: "USD".into(),
                },
            )
            .await
            .unwrap();
        // 12.00 of the upsell given back, 10.00 of Ada's order; the holdout's order in full,
        // twice over (a refund in full, then another): no more than its 30.00.
        for (refund, payment, amount) in [
            ("ref_1", "pay_charge_a", Some(1200)),
            ("ref_2", "pay_a", Some(1000)),
            ("ref_3", "pay_h", None),
            ("ref_4", "pay_h", Some(500)),
        ] {
            storage
                .record_refund(refund, payment, amount)
                .await
                .unwrap();
        }
        let values = storage.snapshot(0, 0, |_| 60).await.unwrap().purchases;
        let value = |customer: &str| {
            let found: Vec<_> = values
                .iter()
                .filter(|v| v.customer_id == customer)
                .collect();
            assert_eq!(found.len(), 1, "{values:?}");
            (found[0].arm, found[0].value)
        };
        assert_eq!(value("cus_a"), (Arm::Offers, 5000 - 1200 - 1000));
        assert_eq!(value("cus_h"), (Arm::Holdout, -3000));
        let _ = std::fs::remove_file(file);
    }
}
