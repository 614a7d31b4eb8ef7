//! Which variant of an offer a customer sees. The assignment is a pure function of the
//! experiment's name and the customer's id, so the customer sees the same variant on every
//! visit, on every proxy instance, after every restart, with nothing stored: SHA-256 of both,
//! read as a point in [0, 1), falls in one variant's share of the weights.

use crate::rules::{OfferRule, VariantRule, NO_EXPERIMENT};
use sha2::{Digest, Sha256};

/// The variant `customer_id` sees of `rule`; `None` when the offer has no experiment.
pub fn variant_for<'a>(rule: &'a OfferRule, customer_id: &str) -> Option<&'a VariantRule> {
    let experiment = rule.experiment_name()?;
    let weights: Vec<u32> = rule.variants.iter().map(|v| v.weight).collect();
    let index = pick(experiment, customer_id, &weights)?;
    rule.variants.get(index)
}

/// The name the report gives the variant a customer saw.
pub fn variant_id(variant: Option<&VariantRule>) -> String {
    variant.map_or(NO_EXPERIMENT, |v| v.id.as_str()).to_string()
}

/// The index of the weight whose share holds the customer's point; `None` when there is no
/// weight at all.
pub fn pick(experiment: &str, customer_id: &str, weights: &[u32]) -> Option<usize> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(experiment.as_bytes());
    // A separator, so that ("ab", "c") and ("a", "bc") are different customers.
    hasher.update([0]);
    hasher.update(customer_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Scaled, not taken modulo `total`: no variant gets a larger share from the remainder.
    let point = ((u128::from(u64::from_be_bytes(first)) * u128::from(total)) >> 64) as u64;
    let mut upper = 0u64;
    weights.iter().position(|w| {
        upper += u64::from(*w);
        point < upper
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customers(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("cus_{i:08}"))
    }

    /// Ids shaped like Dodo's (`cus_` and 21 letters and digits that look random), made the
    /// same way each run.
    fn dodo_like_customers(n: usize) -> impl Iterator<Item = String> {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n).map(|i| {
            let digest = Sha256::digest(format!("customer {i}").as_bytes());
            let id: String = digest[..21]
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            format!("cus_{id}")
        })
    }

    #[test]
    fn a_customer_always_gets_the_same_variant() {
        let weights = [1, 1, 2];
        for customer in customers(200) {
            let first = pick("pro-upgrade", &customer, &weights);
            for _ in 0..3 {
                assert_eq!(pick("pro-upgrade", &customer, &weights), first);
            }
        }
        // Fixed values: the assignment must not change between releases, or customers would
        // switch variants mid-experiment.
        let seen: Vec<_> = customers(8)
            .map(|c| pick("pro-upgrade", &c, &weights).unwrap())
            .collect();
        assert_eq!(seen, EXPECTED_FIRST_EIGHT);
    }

    /// `pick("pro-upgrade", "cus_0000000i", [1, 1, 2])` for i in 0..8, as first computed.
    const EXPECTED_FIRST_EIGHT: [usize; 8] = [2, 0, 2, 2, 2, 2, 1, 0];

    #[test]
    fn the_split_follows_the_weights_within_one_point_over_10000_customers() {
        for weights in [vec![50, 50], vec![10, 90], vec![1, 1, 2], vec![70, 20, 10]] {
            let total: u32 = weights.iter().sum();
            let mut counts = vec![0u32; weights.len()];
            for customer in dodo_like_customers(10_000) {
                counts[pick("checkout-copy", &customer, &weights).unwrap()] += 1;
            }
            for (count, weight) in counts.iter().zip(&weights) {
                let share = f64::from(*count) / 100.0;
                let expected = 100.0 * f64::from(*weight) / f64::from(total);
                assert!(
                    (share - expected).abs() <= 1.0,
                    "weights {weights:?}: {share:.2} % instead of {expected:.2} %"
                );
            }
        }
    }

    #[test]
    fn another_experiment_reshuffles_the_customers() {
        let weights = [1, 1];
        let moved = customers(1_000)
            .filter(|c| pick("badge-2026-11", c, &weights) != pick("badge-2026-12", c, &weights))
            .count();
        // Independent halves: about half the customers change sides.
        assert!((400..=600).contains(&moved), "{moved} of 1000 moved");
    }

    #[test]
    fn no_weights_no_variant() {
        assert_eq!(pick("x", "cus_1", &[]), None);
    }
}
