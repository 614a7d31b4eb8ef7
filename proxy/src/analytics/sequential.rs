//! Always-valid inference for the difference of two conversion rates: a verdict that stays
//! honest however often the report is read. The fixed-horizon test of `stats::compare` assumes
//! the sample size was fixed in advance and the result read once; read every day and stopped at
//! the first p < 0.05, it names a winner between two identical variants several times more
//! often than 5 % (the simulation below measures it). The mixture sequential probability ratio
//! test (mSPRT) bounds that chance by α for any number of reads, at any times, with the
//! experiment stopped whenever the reader likes.
//!
//! The construction is the one of Johari, Koomen, Pekelis & Walsh (2017), "Peeking at A/B
//! tests: why it matters, and what to do about it" (KDD 2017; the Optimizely Stats Engine),
//! with the normal approximation of the two-stream Bernoulli case: the difference θ̂ = p_b − p_a
//! is treated as normal with variance V = p_a(1−p_a)/n_a + p_b(1−p_b)/n_b, and the likelihood
//! ratio of "θ = 0" against a normal mixture θ ~ N(0, τ²) of alternatives is
//!
//! Λ = √(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²))).
//!
//! Under θ = 0, Λ is a (nonnegative, mean-one) martingale, so by Ville's inequality the chance
//! that it ever exceeds 1/α is at most α: the always-valid p-value is min(1, 1/Λ), and reading
//! it as often as one likes and stopping at the first value below α keeps the false-winner rate
//! at most α. Inverting the test for every θ₀ gives the confidence sequence of θ (Howard,
//! Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
//! sequences", for the normal-mixture boundary): intervals that contain the true difference at
//! every read at once with probability 1 − α.
//!
//! The price of that guarantee is width: at a given sample size the sequence is wider than the
//! fixed-horizon interval, so a real difference takes longer to call. `TAU` sets where the
//! sequence is tightest.

use crate::analytics::stats::{Interval, ALPHA};
use serde::Serialize;

/// The standard deviation τ of the mixture over alternatives, in conversion-rate points (0.03 =
/// 3 percentage points). The guarantee holds for any τ; τ only decides which differences are
/// found fastest: the mixture is most powerful for differences near τ, at sample sizes where V
/// is a small multiple of τ². Upsell offers convert at roughly 5–40 %, and the differences worth
/// finding between two variants are 1.5–5 points, at a few thousand impressions.
///
/// Chosen by simulation (a sweep of τ with the tests' `power` simulation, run once in a release
/// build): 1,000 experiments per lift, split 50/50, read every 50 impressions up to 10,000,
/// power (called within the horizon) and median impressions at the call:
///
/// | τ     | 5 → 6.5 %     | 10 → 13 %     | 25 → 30 %     | 40 → 44 %     | A/A 10 % |
/// |-------|---------------|---------------|---------------|---------------|----------|
/// | 0.005 | 42.3 %, 7750  | 75.0 %, 7550  | 71.4 %, 8300  | 8.1 %, 9150   | 0.0 %    |
/// | 0.01  | 65.3 %, 6200  | 95.2 %, 4950  | 99.0 %, 5050  | 71.5 %, 7150  | 0.6 %    |
/// | 0.015 | 68.8 %, 5450  | 97.4 %, 4000  | 99.5 %, 3850  | 84.1 %, 5850  | 1.4 %    |
/// | 0.02  | 67.5 %, 4950  | 97.6 %, 3650  | 99.7 %, 3300  | 89.5 %, 5250  | 2.4 %    |
/// | 0.03  | 66.4 %, 5100  | 97.2 %, 3300  | 99.6 %, 2800  | 90.9 %, 4450  | 4.0 %    |
/// | 0.05  | 61.1 %, 4950  | 97.2 %, 3350  | 99.4 %, 2450  | 89.9 %, 4000  | 3.0 %    |
/// | 0.08  | 55.5 %, 5250  | 95.1 %, 3500  | 99.4 %, 2500  | 86.9 %, 3900  | 2.6 %    |
/// | 0.1   | 51.7 %, 5450  | 94.3 %, 3550  | 99.4 %, 2550  | 85.6 %, 4050  | 3.0 %    |
///
/// 0.03 is the only τ within 2.5 points of the best power and 15 % of the best median on every
/// lift. A larger τ calls large lifts sooner but loses small ones (the mixture spends its
/// weight on differences upsell variants rarely show); a smaller one is slow on the large
/// ones. The false-winner rate stays below α for every τ, as it must.
pub const TAU: f64 = 0.03;

/// Fewer trials than this on either side, and there is no verdict: the normal approximation of
/// a difference of proportions needs a few successes and failures on each side before θ̂ is
/// roughly normal and V roughly right (with no success at all on one side its variance counts
/// as zero, which understates V). Thirty, the usual rule of thumb for the normal approximation,
/// costs nothing measurable: the mixture alone rarely calls a difference that early, and the
/// simulations below gave the same A/A rates (5, 10 and 25 %), powers and median sample sizes
/// with a guard of 2 as with 30. It is a guard against what the simulations do not cover
/// (rates under 5 %, reads every few impressions).
pub const MIN_TRIALS: u64 = 30;

/// The always-valid comparison of a variant with the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sequential {
    /// min(1, 1/Λ): below `ALPHA` at any read, and the difference may be called then, however
    /// many reads came before. Reading it repeatedly and stopping at the first value below α is
    /// what the guarantee covers; its running minimum is the textbook always-valid p-value.
    pub always_valid_p: f64,
    /// The variant's rate minus the control's, with the 95 % confidence sequence: the interval
    /// contains the true difference at every read at once with probability 95 %. Clamped to
    /// [−1, 1].
    pub difference: Interval,
    /// `always_valid_p` below `ALPHA`; equivalently, the interval excludes 0.
    pub significant: bool,
}

/// The mSPRT of `variant` against `control`, each (successes, trials). `None` while either side
/// has fewer than `MIN_TRIALS` trials, when a count is impossible (more successes than trials),
/// or when V = 0 (every trial on both sides converted, or none did): then the data say nothing
/// about a difference that the normal approximation could use.
pub fn msprt(control: (u64, u64), variant: (u64, u64)) -> Option<Sequential> {
    msprt_with(control, variant, TAU)
}

/// `msprt` with the mixture's τ given, for the simulation that chose `TAU`.
fn msprt_with(control: (u64, u64), variant: (u64, u64), tau: f64) -> Option<Sequential> {
    let (sa, na) = control;
    let (sb, nb) = variant;
    if na < MIN_TRIALS || nb < MIN_TRIALS || sa > na || sb > nb {
        return None;
    }
    let pa = sa as f64 / na as f64;
    let pb = sb as f64 / nb as f64;
    let theta = pb - pa;
    let v = pa * (1.0 - pa) / na as f64 + pb * (1.0 - pb) / nb as f64;
    if v <= 0.0 {
        return None;
    }
    let t2 = tau * tau;
    // ln Λ rather than Λ: the exponential overflows for large experiments with a clear winner.
    let log_lambda = 0.5 * (v / (v + t2)).ln() + theta * theta * t2 / (2.0 * v * (v + t2));
    let always_valid_p = (-log_lambda).exp().min(1.0);
    // Λ(θ₀) < 1/α, solved for θ₀: the values of the difference the test cannot reject.
    let half = (v * (v + t2) / t2 * (2.0 * (1.0 / ALPHA).ln() + ((v + t2) / v).ln())).sqrt();
    Some(Sequential {
        always_valid_p,
        difference: Interval {
            estimate: theta,
            low: (theta - half).max(-1.0),
            high: (theta + half).min(1.0),
        },
        significant: always_valid_p < ALPHA,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::stats;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use rand_distr::{Binomial, Distribution};

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() < tolerance,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn lambda_matches_a_hand_computation() {
        // 100/1000 against 150/1000, τ = 0.03 (τ² = 0.0009):
        //   θ̂ = 0.15 − 0.10 = 0.05
        //   V = 0.1·0.9/1000 + 0.15·0.85/1000 = 0.00009 + 0.0001275 = 0.0002175
        //   V + τ² = 0.0002175 + 0.0009 = 0.0011175
        //   √(V/(V+τ²)) = √0.194631 = 0.441170
        //   θ̂²τ²/(2V(V+τ²)) = 0.0025·0.0009/(2·0.0002175·0.0011175)
        //                    = 2.25e-6/4.861125e-7 = 4.628558
        //   Λ = 0.441170 · e^4.628558 = 0.441170 · 102.3664 = 45.1610; p = 1/Λ = 0.022143.
        //   Half-width: √(V(V+τ²)/τ² · (2 ln 20 + ln((V+τ²)/V)))
        //     = √(0.0002700625 · (5.991465 + 1.636650)) = √0.00206007 = 0.045388.
        let s = msprt((100, 1000), (150, 1000)).unwrap();
        close(s.always_valid_p, 0.022_143, 5e-6);
        assert!(s.significant);
        close(s.difference.estimate, 0.05, 1e-12);
        close(s.difference.low, 0.05 - 0.045_388, 5e-6);
        close(s.difference.high, 0.05 + 0.045_388, 5e-6);
        // The fixed-horizon test is far more confident on the same counts (z = 3.38, p =
        // 0.0007): the price of being allowed to peek.
        assert!(stats::compare((100, 1000), (150, 1000)).unwrap().p_value < 0.001);
    }

    #[test]
    fn the_interval_excludes_zero_exactly_when_significant() {
        for (control, variant) in [
            ((100, 1000), (150, 1000)),
            ((100, 1000), (120, 1000)),
            ((400, 1000), (320, 1000)),
            ((50, 200), (50, 200)),
            ((2_000, 20_000), (2_200, 20_000)),
            ((30, 300), (60, 310)),
        ] {
            let s = msprt(control, variant).unwrap();
            let excludes_zero = s.difference.low > 0.0 || s.difference.high < 0.0;
            assert_eq!(
                s.significant, excludes_zero,
                "{control:?} {variant:?}: {s:?}"
            );
            assert!(s.always_valid_p > 0.0 && s.always_valid_p <= 1.0);
        }
        // Equal rates: Λ < 1, p = 1.
        assert_eq!(msprt((50, 200), (50, 200)).unwrap().always_valid_p, 1.0);
        // A worse variant: significant, the interval below 0.
        let worse = msprt((400, 1000), (320, 1000)).unwrap();
        assert!(
            worse.significant && worse.difference.high < 0.0,
            "{worse:?}"
        );
    }

    #[test]
    fn no_verdict_on_tiny_or_degenerate_counts() {
        assert_eq!(msprt((1, 29), (20, 40)), None);
        assert_eq!(msprt((20, 40), (1, 29)), None);
        assert_eq!(msprt((0, 500), (0, 500)), None);
        assert_eq!(msprt((500, 500), (500, 500)), None);
        assert_eq!(msprt((31, 30), (1, 30)), None);
        // One success is enough for V > 0.
        assert!(msprt((0, 30), (1, 30)).is_some());
        // A huge experiment with a clear winner: no overflow, p underflows to 0.
        let big = msprt((1_000_000, 10_000_000), (2_000_000, 10_000_000)).unwrap();
        assert!(big.significant && big.always_valid_p == 0.0, "{big:?}");
        // The interval stays within [−1, 1].
        let s = msprt((0, 30), (30, 31)).unwrap();
        assert!(
            s.difference.low >= -1.0 && s.difference.high <= 1.0,
            "{s:?}"
        );
    }

    /// A significant read: at how many impressions, and the sign of the difference it saw.
    type Verdict = Option<(u64, f64)>;

    /// A rule that calls a difference: `Some(estimated difference)` when it says significant.
    type Rule<'a> = &'a dyn Fn((u64, u64), (u64, u64)) -> Option<f64>;

    /// One simulated experiment: impressions split 50/50 at random, each converting with its
    /// arm's rate, the report read every `every` impressions up to `horizon`. Each rule's first
    /// significant read. Drawn a block at a time (the split and the conversions of a block are
    /// binomial), which is the same in distribution as impression by impression and many
    /// times faster.
    fn peek(
        rng: &mut SmallRng,
        rates: (f64, f64),
        horizon: u64,
        every: u64,
        rules: &[Rule<'_>],
    ) -> Vec<Verdict> {
        let mut verdicts: Vec<Verdict> = vec![None; rules.len()];
        let (mut a, mut b) = ((0u64, 0u64), (0u64, 0u64));
        let mut seen = 0;
        while seen < horizon && verdicts.iter().any(Option::is_none) {
            let to_a = draw(rng, every, 0.5);
            let to_b = every - to_a;
            a = (a.0 + draw(rng, to_a, rates.0), a.1 + to_a);
            b = (b.0 + draw(rng, to_b, rates.1), b.1 + to_b);
            seen += every;
            for (rule, verdict) in rules.iter().zip(&mut verdicts) {
                if verdict.is_none() {
                    *verdict = rule(a, b).map(|difference| (seen, difference));
                }
            }
        }
        verdicts
    }

    fn draw(rng: &mut SmallRng, n: u64, p: f64) -> u64 {
        Binomial::new(n, p).unwrap().sample(rng)
    }

    fn msprt_rule(tau: f64) -> impl Fn((u64, u64), (u64, u64)) -> Option<f64> {
        move |a, b| {
            msprt_with(a, b, tau)
                .filter(|s| s.significant)
                .map(|s| s.difference.estimate)
        }
    }

    /// `report::MIN_IMPRESSIONS` of the fixed-horizon report: no verdict below 100 impressions
    /// on either side.
    const OLD_MIN_IMPRESSIONS: u64 = 100;

    /// The report's old rule: `stats::compare`'s p below α with 100 impressions on each side.
    fn fixed_horizon_rule(a: (u64, u64), b: (u64, u64)) -> Option<f64> {
        if a.1 < OLD_MIN_IMPRESSIONS || b.1 < OLD_MIN_IMPRESSIONS {
            return None;
        }
        stats::compare(a, b)
            .filter(|c| c.p_value < ALPHA)
            .map(|c| c.difference.estimate)
    }

    const HORIZON: u64 = 10_000;
    const EVERY: u64 = 50;
    const EXPERIMENTS: u32 = 1_000;

    #[test]
    fn a_and_a_under_peeking_the_msprt_names_a_winner_at_most_5_percent_of_the_time() {
        let msprt = msprt_rule(TAU);
        let rules: [Rule<'_>; 2] = [&msprt, &fixed_horizon_rule];
        for (rate, seed) in [(0.05, 1), (0.10, 2), (0.25, 3)] {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut false_winners = [0u32; 2];
            for _ in 0..EXPERIMENTS {
                for (count, verdict) in false_winners.iter_mut().zip(peek(
                    &mut rng,
                    (rate, rate),
                    HORIZON,
                    EVERY,
                    &rules,
                )) {
                    *count += u32::from(verdict.is_some());
                }
            }
            let share = |count: u32| f64::from(count) / f64::from(EXPERIMENTS);
            let (sequential, fixed) = (share(false_winners[0]), share(false_winners[1]));
            println!(
                "simulation: A/A at {:.0} %, {EXPERIMENTS} experiments read every {EVERY} impressions up to {HORIZON}: false winners {:.1} % with the mSPRT (tau {TAU}), {:.1} % with the fixed-horizon test (p < 0.05, {OLD_MIN_IMPRESSIONS} impressions each)",
                rate * 100.0,
                sequential * 100.0,
                fixed * 100.0
            );
            assert!(sequential <= ALPHA, "mSPRT: {sequential}");
            // The point of the new test: peeking at the old one finds winners that are not there.
            assert!(fixed > ALPHA, "fixed horizon: {fixed}");
        }
    }

    /// Power of a rule on a real lift: the share of experiments it called, the median
    /// impressions at the call, and how many calls had the wrong sign.
    fn power(rule: Rule<'_>, rates: (f64, f64), seed: u64) -> (f64, u64, u32) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut at = Vec::new();
        let mut wrong = 0;
        for _ in 0..EXPERIMENTS {
            if let Some((impressions, difference)) =
                peek(&mut rng, rates, HORIZON, EVERY, &[rule])[0]
            {
                at.push(impressions);
                wrong += u32::from((difference > 0.0) != (rates.1 > rates.0));
            }
        }
        at.sort_unstable();
        let median = at.get(at.len() / 2).copied().unwrap_or(HORIZON);
        (at.len() as f64 / f64::from(EXPERIMENTS), median, wrong)
    }

    #[test]
    fn a_real_lift_is_found_within_the_horizon_in_the_right_direction() {
        let msprt = msprt_rule(TAU);
        for (rates, seed) in [((0.10, 0.13), 4), ((0.25, 0.30), 5), ((0.30, 0.25), 6)] {
            let (detected, median, wrong) = power(&msprt, rates, seed);
            println!(
                "simulation: mSPRT power, {:.0} % -> {:.0} %: {:.1} % of {EXPERIMENTS} experiments called within {HORIZON} impressions (read every {EVERY}), median {median} impressions at the call, {wrong} in the wrong direction",
                rates.0 * 100.0,
                rates.1 * 100.0,
                detected * 100.0
            );
            assert!(detected >= 0.8, "{rates:?}: power {detected}");
            assert_eq!(wrong, 0, "{rates:?}");
        }
    }
}
