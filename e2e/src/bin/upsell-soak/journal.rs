//! What the soak did and saw, shared by every simulated customer and the fault schedule: the
//! counts for the table, the accepts, checkouts and plan changes the proxy answered with (what
//! the invariants check the ledger against), and every answer that broke the API's promise.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// An accept the proxy answered with, and what its token sealed.
#[derive(Debug, Clone)]
pub struct AcceptSeen {
    /// The purchase the offer followed.
    pub original_payment_id: String,
    /// The offer item.
    pub item_id: String,
    /// The token's unit price times the quantity asked for.
    pub amount: i64,
}

/// A standard checkout the proxy opened for an offer item.
#[derive(Debug, Clone)]
pub struct CheckoutSeen {
    pub original_payment_id: String,
    pub item_id: String,
    /// The token's unit price times the quantity.
    pub amount: i64,
}

/// A plan change the proxy answered with.
#[derive(Debug, Clone)]
pub struct ChangeSeen {
    pub subscription_id: String,
    /// The amount due now that the customer confirmed.
    pub confirmed_amount: i64,
    /// The plan it moves to.
    pub to_product: String,
}

#[derive(Debug, Default)]
pub struct Record {
    /// Actions by kind.
    pub actions: BTreeMap<String, u64>,
    /// Faults by kind.
    pub faults: BTreeMap<String, u64>,
    /// The proxy's answers by class (`2xx`, `409 accept_in_progress`, `cut off`…).
    pub answers: BTreeMap<String, u64>,
    /// Answers that break the promise: a 500, an error without `{code, message}`, no answer.
    pub bad_answers: Vec<String>,
    pub accepts: BTreeMap<String, AcceptSeen>,
    /// Checkout sessions by id.
    pub checkouts: BTreeMap<String, CheckoutSeen>,
    pub changes: BTreeMap<String, ChangeSeen>,
    /// Which offer each item belongs to (from the tokens), for the report.
    pub offer_of_item: BTreeMap<String, String>,
    /// The unit price each offer token sealed, by (purchase, item).
    pub sealed_unit_price: BTreeMap<(String, String), i64>,
}

#[derive(Debug, Default)]
pub struct Journal {
    record: Mutex<Record>,
}

impl Journal {
    /// Runs `f` on the record.
    pub fn with<T>(&self, f: impl FnOnce(&mut Record) -> T) -> T {
        let mut record = self
            .record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut record)
    }

    pub fn act(&self, kind: &str) {
        self.with(|r| *r.actions.entry(kind.to_string()).or_default() += 1);
    }

    pub fn fault(&self, kind: &str) {
        self.with(|r| *r.faults.entry(kind.to_string()).or_default() += 1);
    }

    pub fn answer(&self, class: String) {
        self.with(|r| *r.answers.entry(class).or_default() += 1);
    }

    pub fn bad_answer(&self, what: String) {
        eprintln!("soak: bad answer: {what}");
        self.with(|r| r.bad_answers.push(what));
    }
}
