//! The holdout comparison: did showing offers earn more per purchase than not showing them?
//! Conversion rates cannot say it (the holdout converts nothing by construction, and an offer
//! may take spending away from elsewhere), so the comparison is of the mean value per purchase,
//! in minor units, between purchases that were offered upsells (treated) and purchases held out.
//!
//! Values per purchase are skewed (most purchases take no upsell, a few take a large one) and
//! the two groups differ in size and spread, so the interval is Welch's: each mean's variance
//! estimated from its own group, no pooling (Welch 1947, "The generalization of 'Student's'
//! problem when several different population variances are involved"), with the normal
//! quantile, which at the hundreds of purchases a holdout needs is Welch's t within a fraction
//! of a percent.
//!
//! `difference_of_means` is the fixed-horizon interval: valid when read once, at a sample size
//! chosen in advance. `difference_of_means_sequence` is the always-valid one for a report read
//! every day: the normal-mixture confidence sequence (Howard, Ramdas, McAuliffe & Sekhon 2021,
//! "Time-uniform, nonparametric, nonasymptotic confidence sequences"; the same boundary as the
//! mSPRT of `sequential`, Johari et al. 2017), which contains the true difference at every read
//! at once with probability 95 %.

use crate::analytics::stats::{Interval, ALPHA};
use serde::Serialize;

/// The normal quantile of a two-sided 95 % interval (as in `stats`).
const Z_95: f64 = 1.959_963_984_540_054;

/// The mixture's τ of `difference_of_means_sequence`, as a multiple of the values' standard
/// deviation σ: τ = 0.1 σ. A mean difference has no natural scale the way a conversion rate
/// does (the values are amounts in the shop's currency), so τ follows the data. The boundary's
/// width relative to the fixed-horizon interval, √((1 + V/τ²)(2 ln(1/α) + ln(1 + τ²/V))) / 1.96,
/// is smallest (1.55 times the fixed interval) where τ²/V ≈ 8: with τ = 0.1 σ that is at about
/// 1,600 purchases on each side of an even split, or 900 in a 10 % holdout, the sizes a holdout
/// of an upsell shop reaches in weeks; from a quarter to fifteen times those sizes it stays
/// within 10 % of that minimum. Differences worth finding (an upsell adding a few percent to the value
/// per purchase) are a small fraction of σ, which a smaller τ would favour only at sample sizes
/// few shops reach.
pub const TAU_PER_SD: f64 = 0.1;

/// Fewer purchases than this on either side, and no confidence sequence: τ and V are estimated
/// from the data, and from a handful of skewed values the standard deviation is often far too
/// small, which would make the sequence too narrow at exactly the reads it must survive.
pub const MIN_SEQUENCE: u64 = 30;

/// The count, sum and sum of squares of values per purchase: all a mean and its variance need,
/// kept as a purchase comes in or summed by the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Purchases.
    pub n: u64,
    /// Their values, in minor units.
    pub sum: f64,
    /// The squares of their values, in minor units squared. In f64 the variance from these is
    /// exact to far below a minor unit for amounts and counts a shop has (values up to 10⁷,
    /// counts up to 10⁷ keep the squares' sum below 2⁵³ · 10⁶, with a relative error ~1e-16).
    pub sum_squares: f64,
}

impl Sample {
    /// Adds one purchase's value, in minor units.
    pub fn push(&mut self, value: i64) {
        let value = value as f64;
        self.n += 1;
        self.sum += value;
        self.sum_squares += value * value;
    }

    /// The sample of `values`, in minor units.
    pub fn from_values(values: impl IntoIterator<Item = i64>) -> Sample {
        let mut sample = Sample::default();
        for value in values {
            sample.push(value);
        }
        sample
    }

    /// The mean value; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    /// The sample variance (divided by n − 1); `None` with fewer than 2 values. Never
    /// negative: rounding in sum_squares − sum²/n can leave a tiny negative for equal values.
    pub fn variance(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        Some(((self.sum_squares - self.sum * self.sum / n) / (n - 1.0)).max(0.0))
    }

    /// The estimated variance of the mean, s²/n.
    fn variance_of_mean(&self) -> Option<f64> {
        Some(self.variance()? / self.n as f64)
    }
}

/// mean(treated) − mean(holdout), in minor units, with its 95 % Welch interval (normal
/// quantile). Valid when read once; see `difference_of_means_sequence` for a report read
/// repeatedly. `None` with fewer than 2 purchases on either side.
pub fn difference_of_means(treated: &Sample, holdout: &Sample) -> Option<Interval> {
    let d = treated.mean()? - holdout.mean()?;
    let half = Z_95 * (treated.variance_of_mean()? + holdout.variance_of_mean()?).sqrt();
    Some(Interval {
        estimate: d,
        low: d - half,
        high: d + half,
    })
}

/// mean(treated) − mean(holdout), in minor units, with its always-valid 95 % confidence
/// sequence: d ± √(V(V+τ²)/τ² · (2 ln(1/α) + ln((V+τ²)/V))), where V is the Welch variance of d
/// and τ = `TAU_PER_SD` times the two groups' root mean variance. Reading it after every
/// purchase and stopping when it excludes 0 keeps the chance of a wrong call below 5 %.
/// `None` with fewer than `MIN_SEQUENCE` purchases on either side, or when every value on both
/// sides is the same (V = 0: nothing to measure a difference against).
pub fn difference_of_means_sequence(treated: &Sample, holdout: &Sample) -> Option<Interval> {
    if treated.n < MIN_SEQUENCE || holdout.n < MIN_SEQUENCE {
        return None;
    }
    let d = treated.mean()? - holdout.mean()?;
    let v = treated.variance_of_mean()? + holdout.variance_of_mean()?;
    if v <= 0.0 {
        return None;
    }
    let t2 = TAU_PER_SD * TAU_PER_SD * (treated.variance()? + holdout.variance()?) / 2.0;
    let half = (v * (v + t2) / t2 * (2.0 * (1.0 / ALPHA).ln() + ((v + t2) / v).ln())).sqrt();
    Some(Interval {
        estimate: d,
        low: d - half,
        high: d + half,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Exp};

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-6,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn a_sample_keeps_count_mean_and_variance() {
        let s = Sample::from_values([1, 2, 3, 4, 5]);
        assert_eq!(s.n, 5);
        close(s.mean().unwrap(), 3.0);
        close(s.variance().unwrap(), 2.5);
        let mut pushed = Sample::default();
        for v in [1, 2, 3, 4, 5] {
            pushed.push(v);
        }
        assert_eq!(pushed, s);
        // Refunds make values negative.
        let refunds = Sample::from_values([-4000, 0, 4000]);
        close(refunds.mean().unwrap(), 0.0);
        close(refunds.variance().unwrap(), 16_000_000.0);
        // Equal large values: no negative variance from rounding.
        let equal = Sample::from_values(std::iter::repeat_n(123_456_789, 1000));
        assert!(equal.variance().unwrap() >= 0.0);
        assert_eq!(Sample::default().mean(), None);
        assert_eq!(Sample::from_values([7]).variance(), None);
    }

    #[test]
    fn the_welch_interval_matches_a_hand_computation() {
        // [1..5]: mean 3, s² 2.5; [2, 4, 6]: mean 4, s² 4.
        // d = −1, se = √(2.5/5 + 4/3) = √1.833333 = 1.354006, half = 1.959964 · 1.354006 =
        // 2.653804.
        let i = difference_of_means(
            &Sample::from_values([1, 2, 3, 4, 5]),
            &Sample::from_values([2, 4, 6]),
        )
        .unwrap();
        close(i.estimate, -1.0);
        close(i.low, -3.653_803_780);
        close(i.high, 1.653_803_780);
        assert_eq!(
            difference_of_means(&Sample::from_values([1]), &Sample::from_values([2, 4])),
            None
        );
        assert_eq!(
            difference_of_means(&Sample::from_values([1, 2]), &Sample::default()),
            None
        );
    }

    /// n values with the given mean and standard deviation, as the database would sum them.
    fn moments(n: u64, mean: f64, sd: f64) -> Sample {
        let count = n as f64;
        Sample {
            n,
            sum: count * mean,
            sum_squares: (count - 1.0) * sd * sd + count * mean * mean,
        }
    }

    #[test]
    fn the_sequence_matches_a_hand_computation_and_is_wider() {
        // 1000 purchases each, means 500 and 400, both σ = 1000 (minor units):
        //   d = 100, V = 1000²/1000 · 2 = 2000; fixed: 100 ± 1.959964 · √2000 = 100 ± 87.652254.
        //   τ = 0.1 · 1000 = 100, τ² = 10000: V(V+τ²)/τ² = 2000 · 1.2 = 2400,
        //   2 ln 20 + ln(12000/2000) = 5.991465 + 1.791759 = 7.783224,
        //   half = √(2400 · 7.783224) = √18679.74 = 136.673837.
        let treated = moments(1000, 500.0, 1000.0);
        let holdout = moments(1000, 400.0, 1000.0);
        let fixed = difference_of_means(&treated, &holdout).unwrap();
        close(fixed.estimate, 100.0);
        assert!((fixed.high - 187.652_254).abs() < 1e-4, "{fixed:?}");
        let sequence = difference_of_means_sequence(&treated, &holdout).unwrap();
        close(sequence.estimate, 100.0);
        assert!((sequence.low + 36.673_837).abs() < 1e-4, "{sequence:?}");
        assert!((sequence.high - 236.673_837).abs() < 1e-4, "{sequence:?}");
        // Significant read once, not yet when read all along.
        assert!(fixed.low > 0.0 && sequence.low < 0.0);
        // Guards: too few purchases, nothing varies.
        assert_eq!(
            difference_of_means_sequence(&moments(29, 500.0, 1000.0), &holdout),
            None
        );
        let constant = Sample::from_values(std::iter::repeat_n(4000, 50));
        assert_eq!(difference_of_means_sequence(&constant, &constant), None);
    }

    /// One purchase's value in minor units: nothing else bought for 30 % of purchases, an
    /// exponential amount of mean 30.00 otherwise, and, when treated, an upsell of 40.00 taken
    /// one time in ten. Skewed and lumpy, as values per purchase are.
    fn purchase(rng: &mut SmallRng, spend: &Exp<f64>, treated: bool) -> i64 {
        let base = if rng.random_bool(0.3) {
            0
        } else {
            (3000.0 * spend.sample(rng)).round() as i64
        };
        base + if treated && rng.random_bool(0.1) {
            4000
        } else {
            0
        }
    }

    /// The true difference of means: the upsell's 10 % · 40.00.
    const TRUE_DIFFERENCE: f64 = 400.0;

    #[test]
    fn the_sequence_covers_the_true_difference_at_every_read() {
        const EXPERIMENTS: u32 = 1_000;
        const PURCHASES: u32 = 4_000;
        const EVERY: u32 = 50;
        let spend = Exp::new(1.0).unwrap();
        for (holdout_share, seed) in [(0.5, 21), (0.1, 22)] {
            let mut rng = SmallRng::seed_from_u64(seed);
            let (mut sequence_missed, mut fixed_missed) = (0u32, 0u32);
            for _ in 0..EXPERIMENTS {
                let (mut treated, mut holdout) = (Sample::default(), Sample::default());
                let (mut sequence_ok, mut fixed_ok) = (true, true);
                for purchase_number in 1..=PURCHASES {
                    if rng.random_bool(holdout_share) {
                        holdout.push(purchase(&mut rng, &spend, false));
                    } else {
                        treated.push(purchase(&mut rng, &spend, true));
                    }
                    if purchase_number % EVERY != 0 {
                        continue;
                    }
                    let covers = |i: Option<Interval>| {
                        i.is_none_or(|i| i.low <= TRUE_DIFFERENCE && TRUE_DIFFERENCE <= i.high)
                    };
                    sequence_ok &= covers(difference_of_means_sequence(&treated, &holdout));
                    // The fixed interval with the same guard, so that only the width differs.
                    fixed_ok &= holdout.n < MIN_SEQUENCE
                        || treated.n < MIN_SEQUENCE
                        || covers(difference_of_means(&treated, &holdout));
                }
                sequence_missed += u32::from(!sequence_ok);
                fixed_missed += u32::from(!fixed_ok);
            }
            let coverage =
                |missed: u32| 100.0 * f64::from(EXPERIMENTS - missed) / f64::from(EXPERIMENTS);
            println!(
                "simulation: holdout {:.0} %, {EXPERIMENTS} experiments read every {EVERY} purchases up to {PURCHASES}: the true difference inside at every read in {:.1} % with the confidence sequence, {:.1} % with the fixed-horizon Welch interval",
                holdout_share * 100.0,
                coverage(sequence_missed),
                coverage(fixed_missed)
            );
            assert!(coverage(sequence_missed) >= 95.0);
            assert!(coverage(fixed_missed) < 95.0);
        }
    }
}
