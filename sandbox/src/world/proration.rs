//! Plan-change money, as Dodo documents it (`subscription-upgrade-downgrade.mdx`).
//!
//! All amounts are integers in the currency's minor units (cents, or yen for JPY). Time-based
//! proration uses the exact seconds left in the current period over the period's length; each
//! prorated amount (the credit for the unused old plan, the cost of the new plan for the rest of
//! the period) is rounded on its own to the nearest minor unit, half away from zero, and the
//! charge is their difference, so the preview and the change always agree to the minor unit.
//!
//! | mode | upgrade | downgrade | cycle |
//! |---|---|---|---|
//! | `prorated_immediately` | new × left − old × left | the same difference, as credit | unchanged |
//! | `difference_immediately` | new − old | old − new, as credit | unchanged |
//! | `full_immediately` | new, no credit | no charge, no credit | restarts now |
//! | `do_not_bill` | nothing now | nothing, no credit | unchanged |
//!
//! `do_not_bill` is not described by any published guide; the sandbox takes it literally: the
//! plan changes at once, nothing is charged or credited now, and the next renewal bills the new
//! plan's price. Credits the subscription already holds are used before the card is charged,
//! and a downgrade's credit is kept on the subscription and consumed by later renewals.

use serde::{Deserialize, Serialize};

/// `proration_billing_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProrationMode {
    ProratedImmediately,
    FullImmediately,
    DifferenceImmediately,
    DoNotBill,
}

/// What a plan costs per period, in minor units: the plan's price times its quantity, plus its
/// add-ons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanCost {
    pub total: i64,
}

/// Where the change happens within the current period, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodPosition {
    /// Seconds from the change to the end of the period.
    pub remaining: i64,
    /// Length of the period.
    pub length: i64,
}

/// The money of one plan change, before existing credits are applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proration {
    /// Value of the unused part of the old plan given back (0 when the mode gives none).
    pub credit_for_old: i64,
    /// Cost of the new plan charged for now.
    pub cost_of_new: i64,
    /// The old plan's share as a fraction of a period (negative: given back).
    pub old_factor: f64,
    /// The new plan's share as a fraction of a period.
    pub new_factor: f64,
    /// Whether the billing cycle restarts at the change.
    pub resets_cycle: bool,
}

impl Proration {
    /// Positive: to charge now. Negative: credit to keep on the subscription.
    pub fn net(&self) -> i64 {
        self.cost_of_new - self.credit_for_old
    }
}

/// `amount × numerator / denominator`, rounded to the nearest integer, half away from zero.
pub fn scale(amount: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator == 0 {
        return 0;
    }
    let product = i128::from(amount) * i128::from(numerator);
    let denominator = i128::from(denominator);
    let half = denominator / 2;
    let rounded = if product >= 0 {
        (product + half) / denominator
    } else {
        (product - half) / denominator
    };
    rounded as i64
}

/// The money of changing from `old` to `new` at `position` in the period.
pub fn prorate(
    mode: ProrationMode,
    old: PlanCost,
    new: PlanCost,
    position: PeriodPosition,
) -> Proration {
    let left = position.remaining.clamp(0, position.length);
    let fraction = if position.length > 0 {
        left as f64 / position.length as f64
    } else {
        0.0
    };
    match mode {
        ProrationMode::ProratedImmediately => Proration {
            credit_for_old: scale(old.total, left, position.length),
            cost_of_new: scale(new.total, left, position.length),
            old_factor: -fraction,
            new_factor: fraction,
            resets_cycle: false,
        },
        ProrationMode::DifferenceImmediately => Proration {
            credit_for_old: old.total,
            cost_of_new: new.total,
            old_factor: -1.0,
            new_factor: 1.0,
            resets_cycle: false,
        },
        ProrationMode::FullImmediately => Proration {
            credit_for_old: 0,
            cost_of_new: new.total,
            old_factor: 0.0,
            new_factor: 1.0,
            resets_cycle: true,
        },
        ProrationMode::DoNotBill => Proration {
            credit_for_old: 0,
            cost_of_new: 0,
            old_factor: 0.0,
            new_factor: 0.0,
            resets_cycle: false,
        },
    }
}

/// A charge after the subscription's credit balance is used: (to charge, credit used).
/// A negative net adds to the balance instead: (0, −credit added).
pub fn settle(net: i64, credit_balance: i64) -> (i64, i64) {
    if net <= 0 {
        (0, net)
    } else {
        let used = net.min(credit_balance.max(0));
        (net - used, used)
    }
}

#[cfg(test)]
mod tests {
    //! The worked examples of Dodo's guide: Basic $30, Pro $80, Starter $20 a month; a 30-day
    //! cycle from Jan 1; the change on Jan 16, 15 days used and 15 left.
    use super::*;

    const DAY: i64 = 86_400;
    const MID_CYCLE: PeriodPosition = PeriodPosition {
        remaining: 15 * DAY,
        length: 30 * DAY,
    };
    const BASIC: PlanCost = PlanCost { total: 3000 };
    const PRO: PlanCost = PlanCost { total: 8000 };
    const STARTER: PlanCost = PlanCost { total: 2000 };

    #[test]
    fn prorated_upgrade_charges_25_dollars() {
        let p = prorate(ProrationMode::ProratedImmediately, BASIC, PRO, MID_CYCLE);
        assert_eq!(
            (p.credit_for_old, p.cost_of_new, p.net()),
            (1500, 4000, 2500)
        );
        assert!(!p.resets_cycle);
    }

    #[test]
    fn prorated_downgrade_credits_30_dollars_then_renews_at_0_and_10() {
        let p = prorate(ProrationMode::ProratedImmediately, PRO, STARTER, MID_CYCLE);
        assert_eq!(
            (p.credit_for_old, p.cost_of_new, p.net()),
            (4000, 1000, -3000)
        );
        let (charged, used) = settle(p.net(), 0);
        assert_eq!((charged, used), (0, -3000));
        let mut balance = -used;
        // Feb 1: $20 − $30 credit → $0, $10 left. Mar 1: $20 − $10 → $10.
        let (feb, used) = settle(STARTER.total, balance);
        balance -= used;
        assert_eq!((feb, balance), (0, 1000));
        let (mar, used) = settle(STARTER.total, balance);
        balance -= used;
        assert_eq!((mar, balance), (1000, 0));
    }

    #[test]
    fn difference_upgrade_charges_50_dollars_wherever_in_the_cycle() {
        for remaining in [0, 15 * DAY, 30 * DAY] {
            let position = PeriodPosition {
                remaining,
                length: 30 * DAY,
            };
            let p = prorate(ProrationMode::DifferenceImmediately, BASIC, PRO, position);
            assert_eq!(p.net(), 5000);
        }
    }

    #[test]
    fn difference_downgrade_credits_60_dollars_used_over_three_renewals() {
        let p = prorate(
            ProrationMode::DifferenceImmediately,
            PRO,
            STARTER,
            MID_CYCLE,
        );
        assert_eq!(p.net(), -6000);
        let mut balance = 6000;
        for _ in 0..3 {
            let (charged, used) = settle(STARTER.total, balance);
            balance -= used;
            assert_eq!(charged, 0);
        }
        assert_eq!(balance, 0);
        assert_eq!(settle(STARTER.total, balance), (2000, 0));
    }

    #[test]
    fn full_upgrade_charges_80_dollars_and_restarts_the_cycle() {
        let p = prorate(ProrationMode::FullImmediately, BASIC, PRO, MID_CYCLE);
        assert_eq!((p.credit_for_old, p.net()), (0, 8000));
        assert!(p.resets_cycle);
    }

    #[test]
    fn prorated_upgrade_with_three_10_dollar_seats_charges_40_dollars() {
        let pro_with_seats = PlanCost {
            total: 8000 + 3 * 1000,
        };
        let p = prorate(
            ProrationMode::ProratedImmediately,
            BASIC,
            pro_with_seats,
            MID_CYCLE,
        );
        assert_eq!(
            (p.credit_for_old, p.cost_of_new, p.net()),
            (1500, 5500, 4000)
        );
        // The next renewal is $110.
        assert_eq!(pro_with_seats.total, 11_000);
    }

    #[test]
    fn do_not_bill_charges_and_credits_nothing() {
        let p = prorate(ProrationMode::DoNotBill, BASIC, PRO, MID_CYCLE);
        assert_eq!((p.credit_for_old, p.cost_of_new, p.net()), (0, 0, 0));
        assert!(!p.resets_cycle);
    }

    #[test]
    fn rounding_is_to_the_nearest_minor_unit_half_away_from_zero() {
        // $10.01 for 1 of 3 days: 333.67 cents → 334.
        assert_eq!(scale(1001, 1, 3), 334);
        // 1 cent for half a period: 0.5 → 1.
        assert_eq!(scale(1, 1, 2), 1);
        assert_eq!(scale(-1, 1, 2), -1);
        // ¥980 → ¥1,980 for 10 of 31 days in JPY (no minor unit): credit ¥316 (316.13),
        // cost ¥639 (638.71), charge ¥323.
        let p = prorate(
            ProrationMode::ProratedImmediately,
            PlanCost { total: 980 },
            PlanCost { total: 1980 },
            PeriodPosition {
                remaining: 10 * DAY,
                length: 31 * DAY,
            },
        );
        assert_eq!((p.credit_for_old, p.cost_of_new, p.net()), (316, 639, 323));
    }

    #[test]
    fn existing_credit_is_used_before_the_card() {
        assert_eq!(settle(2500, 1000), (1500, 1000));
        assert_eq!(settle(2500, 4000), (0, 2500));
        assert_eq!(settle(-3000, 500), (0, -3000));
    }
}
