//! How an experiment's traffic is split between its variants.
//!
//! - `fixed` (the default): by the variants' weights, a hash of the customer id
//!   (`experiment::pick`); nothing stored.
//! - `bandit`: moved toward the variant that earns more per impression, by Thompson sampling
//!   (`thompson`), with `EXPLORATION_FLOOR` of the traffic for every variant so that
//!   a slow start never starves one. The shares are recomputed from what each variant has
//!   earned at most every `REFRESH`, and a customer keeps the variant first given to them
//!   (`variant_assignments`), whatever the shares become.
//!
//! The holdout is decided before any of this (`holdout`), and is untouched by it.

use super::thompson::{self, Arm};
use super::{experiment, OfferError, Offers};
use crate::rules::{Allocation, OfferRule, OfferRules};
use crate::storage::variant_assignments::VariantTally;
use crate::storage::Storage;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long computed shares are used before they are computed again from the database.
pub const REFRESH: Duration = Duration::from_secs(60);

/// The least share of traffic any variant of a bandit keeps.
pub const EXPLORATION_FLOOR: f64 = 0.1;

/// Posterior draws per computation: the shares are then within about a point of the exact
/// probabilities, far finer than the traffic can tell apart.
const DRAWS: u32 = 4_000;

/// The shares of each bandit experiment, as last computed: (when, integer weights).
#[derive(Debug, Default)]
pub struct Allocator {
    computed: Mutex<HashMap<String, (Instant, Vec<u32>)>>,
}

impl Allocator {
    /// The current weights of a bandit offer's variants, in the file's order.
    async fn weights(
        &self,
        storage: &Storage,
        rule: &OfferRule,
        experiment: &str,
    ) -> Result<Vec<u32>, sqlx::Error> {
        let cached = self
            .computed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(experiment)
            .filter(|(at, weights)| at.elapsed() < REFRESH && weights.len() == rule.variants.len())
            .map(|(_, weights)| weights.clone());
        if let Some(weights) = cached {
            return Ok(weights);
        }
        let tallies = storage.variant_tallies(&rule.id).await?;
        let ids: Vec<&str> = rule.variants.iter().map(|v| v.id.as_str()).collect();
        let arms = arms(&ids, &tallies);
        // Seeded by the minute, so instances computing from the same counts agree.
        let minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 60);
        let shares = thompson::thompson_shares(&arms, EXPLORATION_FLOOR, DRAWS, minute);
        let weights = thompson::weights(&shares);
        tracing::info!(experiment, ?weights, "bandit shares computed");
        self.computed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(experiment.to_string(), (Instant::now(), weights.clone()));
        Ok(weights)
    }
}

/// Each variant's arm, in `ids`' order, in the currency the offer earned most in (amounts in
/// different currencies cannot be compared).
fn arms(ids: &[&str], tallies: &[VariantTally]) -> Vec<Arm> {
    let mut by_currency: HashMap<&str, i64> = HashMap::new();
    for tally in tallies {
        if let Some(currency) = &tally.currency {
            *by_currency.entry(currency).or_default() += tally.revenue.max(0);
        }
    }
    let main = by_currency
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(currency, _)| currency);
    ids.iter()
        .map(|id| {
            let mine = tallies.iter().filter(|t| t.variant_id == *id);
            let mut arm = Arm::default();
            for tally in mine {
                arm.impressions = tally.impressions.max(0) as u64;
                arm.conversions = tally.conversions.max(0) as u64;
                if tally.currency.as_deref() == main {
                    arm.revenue = tally.revenue;
                }
            }
            arm
        })
        .collect()
}

/// The variant of every bandit offer the chains from `roots` may show, for this customer:
/// the one first given to them, or one drawn now by the current shares and kept. Offers split
/// by fixed weights are not in the map: their variant is a hash (`experiment::variant_for`).
pub async fn assign(
    offers: &Offers,
    rules: &OfferRules,
    roots: impl Iterator<Item = &OfferRule>,
    customer_id: &str,
) -> Result<HashMap<String, String>, OfferError> {
    let mut assigned = HashMap::new();
    for root in roots {
        let mut rule = Some(root);
        // Chains are checked to end when the rules are loaded; the bound is a second guard.
        for _ in 0..=rules.offers.len() {
            let Some(current) = rule else { break };
            if current.allocation == Allocation::Bandit && !assigned.contains_key(&current.id) {
                if let Some(variant) = variant_of(offers, current, customer_id).await? {
                    assigned.insert(current.id.clone(), variant);
                }
            }
            rule = current.downsell.as_deref().and_then(|id| rules.offer(id));
        }
    }
    Ok(assigned)
}

async fn variant_of(
    offers: &Offers,
    rule: &OfferRule,
    customer_id: &str,
) -> Result<Option<String>, OfferError> {
    let Some(experiment) = rule.experiment_name() else {
        return Ok(None);
    };
    let known = |id: &str| rule.variants.iter().any(|v| v.id == id);
    if let Some(kept) = offers
        .storage
        .existing_assignment(experiment, customer_id)
        .await?
        .filter(|id| known(id))
    {
        return Ok(Some(kept));
    }
    let weights = offers
        .allocator
        .weights(&offers.storage, rule, experiment)
        .await?;
    let Some(index) = experiment::pick(experiment, customer_id, &weights) else {
        return Ok(None);
    };
    let drawn = &rule.variants[index].id;
    let kept = offers
        .storage
        .assigned_variant(experiment, customer_id, drawn)
        .await?;
    // A variant removed from the file since it was given: the customer is given another.
    Ok(Some(if known(&kept) { kept } else { drawn.clone() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(
        variant: &str,
        impressions: i64,
        conversions: i64,
        money: Option<(&str, i64)>,
    ) -> VariantTally {
        VariantTally {
            variant_id: variant.into(),
            impressions,
            conversions,
            currency: money.map(|(c, _)| c.to_string()),
            revenue: money.map_or(0, |(_, a)| a),
        }
    }

    #[test]
    fn arms_follow_the_files_order_in_the_main_currency() {
        let tallies = [
            tally("b", 100, 13, Some(("USD", 52_000))),
            tally("b", 100, 13, Some(("EUR", 800))),
            tally("a", 100, 10, Some(("USD", 40_000))),
            tally("c", 5, 0, None),
        ];
        let arms = arms(&["a", "b", "c", "new"], &tallies);
        assert_eq!(
            arms,
            vec![
                Arm {
                    impressions: 100,
                    conversions: 10,
                    revenue: 40_000
                },
                Arm {
                    impressions: 100,
                    conversions: 13,
                    revenue: 52_000
                },
                Arm {
                    impressions: 5,
                    conversions: 0,
                    revenue: 0
                },
                Arm::default(),
            ]
        );
    }

    /// Against a database where variant `b` has clearly earned more per impression: most new
    /// customers are given `b`, `a` keeps at least its floor, and a customer given a variant
    /// keeps it on every later lookup, even once the shares move.
    #[tokio::test]
    async fn new_customers_go_mostly_to_the_better_variant_and_everyone_keeps_theirs() {
        use crate::dodo::DodoApi;
        use crate::rules::LiveRules;
        use crate::storage::offer_events::{ConfirmedPayment, Sighting};
        use crate::tokens::TokenKeys;
        use std::sync::Arc;

        let rules = OfferRules::parse(
            r#"
[[offers]]
id = "pro"
after = ["basic"]
product = "prod_pro"
allocation = "bandit"
[[offers.variants]]
id = "a"
weight = 1
[[offers.variants]]
id = "b"
weight = 1
"#,
        )
        .unwrap();
        let file = std::env::temp_dir().join(format!("bandit-{}.db", uuid::Uuid::new_v4()));
        let storage = Storage::open(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let offers = Offers {
            // Never called: the allocation reads only the database.
            dodo: DodoApi::new("http://127.0.0.1:9", "sk_unused", Duration::from_secs(1)).unwrap(),
            storage: storage.clone(),
            rules: LiveRules::new(rules.clone()),
            keys: Arc::new(TokenKeys::parse("k=0123456789abcdef0123456789abcdef").unwrap()),
            require_purchase_token: false,
            allocator: Arc::default(),
        };
        let rule = rules.offer("pro").unwrap();
        let assign = |customer: String| {
            let offers = &offers;
            let rules = &rules;
            async move {
                assign(offers, rules, std::iter::once(rule), &customer)
                    .await
                    .unwrap()["pro"]
                    .clone()
            }
        };
        // Before any data: an even split. Ada is given hers, and keeps it.
        let ada = assign("cus_ada".into()).await;

        // 200 impressions each; a converts 10 % at 40.00, b 25 % at 40.00.
        for (variant, conversions) in [("a", 20), ("b", 50)] {
            for i in 0..200 {
                let seen = Sighting {
                    offer_id: "pro".into(),
                    variant_id: variant.into(),
                    original_payment_id: format!("pay_{variant}_{i}"),
                    customer_id: format!("cus_{variant}_{i}"),
                    expires_at: i64::MAX,
                };
                storage.record_impression(&seen).await.unwrap();
                if i < conversions {
                    let accept_id = format!("acc_{variant}_{i}");
                    let mut accept = crate::storage::accepts::tests::accept(&accept_id);
                    accept.original_payment_id = seen.original_payment_id.clone();
                    storage.begin_accept(&accept, 3, &seen).await.unwrap();
                    let paid = ConfirmedPayment {
                        payment_id: format!("pay_charge_{variant}_{i}"),
                        amount: 4000,
                        currency: "USD".into(),
                    };
                    storage
                        .record_payment_confirmed(&accept_id, &paid)
                        .await
                        .unwrap();
                }
            }
        }
        // The shares are computed again (here: at once, the cache forgotten).
        offers.allocator.computed.lock().unwrap().clear();
        let mut given = HashMap::<String, usize>::new();
        for i in 0..400 {
            *given
                .entry(assign(format!("cus_new_{i}")).await)
                .or_default() += 1;
        }
        let (a, b) = (given["a"], given["b"]);
        assert!(b > 300, "{given:?}");
        // The floor: about 10 % of new customers still see a.
        assert!((20..=70).contains(&a), "{given:?}");
        for _ in 0..3 {
            assert_eq!(assign("cus_ada".into()).await, ada);
        }
        let _ = std::fs::remove_file(file);
    }
}
