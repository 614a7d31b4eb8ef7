//! The statistics of the report: a conversion rate's 95 % interval, and whether two variants'
//! rates differ by more than chance. Formulas as in Newcombe (1998), "Two-sided confidence
//! intervals for the single proportion" and "Interval estimation for the difference between
//! independent proportions", whose worked examples are the tests.

use serde::Serialize;

/// The normal quantile of a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// Below this p-value a difference is called significant.
pub const ALPHA: f64 = 0.05;

/// A rate and its interval, as fractions of 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval of `successes` out of `trials`: unlike the textbook
/// p ± 1.96·√(p(1−p)/n), it stays inside [0, 1] and is honest for small counts and rates near
/// 0, which conversion rates are. `None` without trials.
pub fn wilson(successes: u64, trials: u64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Some(Interval {
        estimate: p,
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    })
}

/// How a variant compares with the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    /// The variant's rate minus the control's, with its 95 % interval (Newcombe's hybrid
    /// score interval, from the two Wilson intervals).
    pub difference: Interval,
    /// Two-sided p-value of the pooled two-proportion z-test.
    pub p_value: f64,
}

/// Compares `b` (successes, trials) with the control `a`. `None` when either has no trials.
pub fn compare(a: (u64, u64), b: (u64, u64)) -> Option<Comparison> {
    let wa = wilson(a.0, a.1)?;
    let wb = wilson(b.0, b.1)?;
    let d = wb.estimate - wa.estimate;
    let low = d - ((wb.estimate - wb.low).powi(2) + (wa.high - wa.estimate).powi(2)).sqrt();
    let high = d + ((wb.high - wb.estimate).powi(2) + (wa.estimate - wa.low).powi(2)).sqrt();
    let (na, nb) = (a.1 as f64, b.1 as f64);
    let pooled = (a.0 + b.0) as f64 / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    // All or none converting in both: no evidence of any difference.
    let p_value = if se == 0.0 {
        1.0
    } else {
        libm::erfc((d / se).abs() / std::f64::consts::SQRT_2)
    };
    Some(Comparison {
        difference: Interval {
            estimate: d,
            low,
            high,
        },
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 5e-5,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn wilson_intervals_match_newcombes_table() {
        // Newcombe (1998a), table I, method 3 (score, no continuity correction).
        for (x, n, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let interval = wilson(x, n).unwrap();
            assert!((interval.low - low).abs() < 5e-4, "{x}/{n}: {interval:?}");
            assert!((interval.high - high).abs() < 5e-4, "{x}/{n}: {interval:?}");
        }
        let ten = wilson(10, 100).unwrap();
        close(ten.estimate, 0.1);
        close(ten.low, 0.055_229);
        close(ten.high, 0.174_366);
        let all = wilson(20, 20).unwrap();
        close(all.low, 0.838_875);
        assert_eq!(all.high, 1.0);
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(3, 2), None);
    }

    #[test]
    fn the_difference_and_its_p_value_match_known_values() {
        // Newcombe (1998b), example (a): 56/70 against 48/80, method 10: 0.0524 to 0.3339.
        let c = compare((48, 80), (56, 70)).unwrap();
        close(c.difference.estimate, 0.2);
        close(c.difference.low, 0.052_431);
        close(c.difference.high, 0.333_873);
        // 20 % against 25 % of 1000 each: z = 2.6774, p = 0.00742.
        let c = compare((200, 1000), (250, 1000)).unwrap();
        close(c.p_value, 0.007_420);
        assert!(c.p_value < ALPHA);
        // 10 % against 12 % of 100 each: not significant (p = 0.65).
        let c = compare((10, 100), (12, 100)).unwrap();
        assert!(
            c.p_value > ALPHA && (c.p_value - 0.6513).abs() < 5e-4,
            "{c:?}"
        );
        assert_eq!(compare((0, 0), (1, 10)), None);
        assert_eq!(compare((0, 10), (0, 10)).unwrap().p_value, 1.0);
    }
}
