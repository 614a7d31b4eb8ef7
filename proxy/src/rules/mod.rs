//! The merchant's offers file (TOML): which product to offer after which purchase.

pub mod merchant_text;

use merchant_text::{Locales, OfferText, PlanText};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRules {
    /// How long after a purchase its offers stay valid.
    #[serde(default = "default_window")]
    pub offer_window_minutes: i64,
    /// How many items one purchase may accept in one click (an upsell is one item; each item of
    /// a cross-sell counts). Shopify's limit is 3.
    #[serde(default = "default_max_accepted")]
    pub max_accepted_offers: i64,
    /// The share of customers (in percent, 0 to 50) who are shown no offer at all, so that the
    /// report can say what showing offers adds: their purchases are the baseline. 0: none.
    #[serde(default)]
    pub holdout_percent: u32,
    /// How many days customers may ask for their money back: money paid more recently is
    /// marked provisional in the report.
    #[serde(default = "default_refund_window")]
    pub refund_window_days: u32,
    #[serde(default)]
    pub offers: Vec<OfferRule>,
    /// The subscription plans a change may go between, with their feature rows.
    #[serde(default)]
    pub plans: Vec<PlanRule>,
    /// The plan changes subscribers may make.
    #[serde(default)]
    pub plan_changes: Vec<PlanChangeRule>,
}

/// A subscription plan (a recurring Dodo product) and what it includes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRule {
    /// The Dodo product.
    pub product: String,
    /// Feature rows shown in the comparison, in order.
    #[serde(default)]
    pub features: Vec<String>,
    /// The feature rows in other languages (`[plans.locales.pt-BR] features = […]`).
    #[serde(default)]
    pub locales: Locales<PlanText>,
}

impl PlanRule {
    /// The feature rows in the customer's language, or the default ones.
    pub fn features_in(&self, locale: Option<&str>) -> &[String] {
        merchant_text::pick(&self.locales, locale).map_or(&self.features, |t| &t.features)
    }
}

/// Up to a bigger plan, or down to a smaller one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upgrade,
    Downgrade,
}

/// Dodo's `proration_billing_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proration {
    ProratedImmediately,
    DifferenceImmediately,
    FullImmediately,
    DoNotBill,
}

impl Proration {
    pub fn as_str(self) -> &'static str {
        match self {
            Proration::ProratedImmediately => "prorated_immediately",
            Proration::DifferenceImmediately => "difference_immediately",
            Proration::FullImmediately => "full_immediately",
            Proration::DoNotBill => "do_not_bill",
        }
    }
}

/// Dodo's `on_payment_failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnPaymentFailure {
    /// The plan stays as it is when the payment fails.
    #[default]
    PreventChange,
    /// The plan changes anyway and the subscription goes on hold until it is paid.
    ApplyChange,
}

impl OnPaymentFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnPaymentFailure::PreventChange => "prevent_change",
            OnPaymentFailure::ApplyChange => "apply_change",
        }
    }
}

/// When a plan change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effective {
    #[default]
    Immediately,
    NextBillingDate,
}

/// An add-on on the target plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddonRule {
    pub addon_id: String,
    pub quantity: u32,
}

/// A plan change subscribers on `from` may make to `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeRule {
    /// Unique name of the change.
    pub id: String,
    /// The plan the subscriber is on.
    pub from: String,
    /// The plan they move to.
    pub to: String,
    pub direction: Direction,
    /// How the change is billed; `difference_immediately` for an upgrade (as Dodo's guide
    /// recommends), `prorated_immediately` for a downgrade, when absent.
    pub proration: Option<Proration>,
    /// What a failed payment does; `prevent_change` when absent.
    #[serde(default)]
    pub on_payment_failure: OnPaymentFailure,
    /// `immediately` (default) or `next_billing_date`.
    #[serde(default)]
    pub effective_at: Effective,
    /// Add-ons on the new plan; when absent, the subscription keeps the ones it has.
    pub addons: Option<Vec<AddonRule>>,
}

impl PlanChangeRule {
    /// The proration mode, with the defaults filled in.
    pub fn proration(&self) -> Proration {
        self.proration.unwrap_or(match self.direction {
            Direction::Upgrade => Proration::DifferenceImmediately,
            Direction::Downgrade => Proration::ProratedImmediately,
        })
    }
}

fn default_window() -> i64 {
    30
}

fn default_max_accepted() -> i64 {
    3
}

/// Thirty days: the most common refund window of digital goods.
fn default_refund_window() -> u32 {
    30
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRule {
    /// Unique name of the offer.
    pub id: String,
    /// Dodo product ids whose purchase triggers this offer. Empty for an offer that is shown
    /// only as another offer's `downsell`.
    #[serde(default)]
    pub after: Vec<String>,
    /// The Dodo product offered (an upsell or downsell). Exclusive with `items`.
    pub product: Option<String>,
    /// Units added by accepting `product`; the smallest the customer may choose.
    #[serde(default = "one")]
    pub quantity: u32,
    /// The most units of `product` the customer may choose; `quantity` when absent.
    pub max_quantity: Option<u32>,
    /// Several products, each added with its own click (a cross-sell). Exclusive with `product`.
    #[serde(default)]
    pub items: Vec<ItemRule>,
    /// The offer shown when this one is declined.
    pub downsell: Option<String>,
    /// Social-proof badge: `most_popular`, `best_value`, `limited_offer` (translated by the
    /// widget), or the merchant's own words.
    pub badge: Option<String>,
    /// Copy shown instead of the product's name (a one-product offer only).
    pub title: Option<String>,
    /// Copy shown instead of the product's description (a one-product offer only).
    pub description: Option<String>,
    /// The title, description and badge in other languages (`[offers.locales.pt-BR]`); what a
    /// locale leaves out is the default's.
    #[serde(default)]
    pub locales: Locales<OfferText>,
    /// Show the time left until the offer window closes.
    #[serde(default)]
    pub countdown: bool,
    /// An experiment: versions of this offer, each shown to its share of customers. A customer
    /// always sees the same one (see `analytics::experiment`).
    #[serde(default)]
    pub variants: Vec<VariantRule>,
    /// Names the experiment, which decides who sees which variant: a new name reshuffles the
    /// customers. The offer id when absent.
    pub experiment: Option<String>,
    /// How traffic is split between the variants: `fixed` (by their weights) or `bandit`
    /// (moved toward the variant that earns more per impression, see
    /// `offers::allocation`). `fixed` when absent.
    #[serde(default)]
    pub allocation: Allocation,
    /// Among the offers one purchase leads to, higher first (file order among equals).
    #[serde(default)]
    pub priority: i32,
    /// Conditions the purchase must meet for the offer to be shown (`[offers.when]`); none
    /// when absent. A downsell follows its offer: its own conditions are not read.
    #[serde(default)]
    pub when: Conditions,
}

/// How an experiment's traffic is split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Allocation {
    /// By the variants' weights, for the experiment's whole life.
    #[default]
    Fixed,
    /// By Thompson sampling on revenue per impression, with a floor of exploration for every
    /// variant; a customer keeps the variant first shown.
    Bandit,
}

/// What a purchase must be for an offer to follow it; every condition given must hold. Read
/// from the purchase as Dodo reports it (`offers::targeting`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The order's total, per currency (ISO 4217, upper case), in minor units: a purchase in a
    /// currency not named here does not qualify, when any is named.
    #[serde(default)]
    pub order_total: BTreeMap<String, TotalRange>,
    /// Billing countries (ISO 3166-1 alpha-2, upper case).
    #[serde(default)]
    pub countries: Vec<String>,
    /// The purchase's currencies (ISO 4217, upper case).
    #[serde(default)]
    pub currencies: Vec<String>,
    /// Shown from this moment (RFC 3339)...
    pub starts_at: Option<String>,
    /// ...and until this one (RFC 3339), excluded.
    pub ends_at: Option<String>,
    /// Only customers buying for the first time (`new`), or only those who bought before
    /// (`returning`): read from the customer's succeeded payments at Dodo.
    pub customer: Option<CustomerKind>,
}

/// Whether the customer had bought from the merchant before this purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerKind {
    /// No succeeded payment before this purchase.
    New,
    /// At least one succeeded payment before this purchase.
    Returning,
}

/// An order total's bounds, both included, in minor units.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalRange {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Conditions {
    /// Refuses conditions that could never be met or are misspelt, naming the offer.
    fn check(&self, offer: &str) -> anyhow::Result<()> {
        let upper = |code: &str, len: usize| {
            code.len() == len && code.chars().all(|c| c.is_ascii_uppercase())
        };
        for (currency, range) in &self.order_total {
            anyhow::ensure!(
                upper(currency, 3),
                "offer {offer:?}: order_total currency {currency:?} must be an ISO 4217 code in upper case, like \"USD\""
            );
            anyhow::ensure!(
                range.min.is_some() || range.max.is_some(),
                "offer {offer:?}: order_total.{currency} needs `min`, `max` or both"
            );
            anyhow::ensure!(
                range.min.unwrap_or(0) >= 0 && range.max.unwrap_or(0) >= 0,
                "offer {offer:?}: order_total.{currency} bounds are amounts in minor units, not negative"
            );
            if let (Some(min), Some(max)) = (range.min, range.max) {
                anyhow::ensure!(
                    min <= max,
                    "offer {offer:?}: order_total.{currency} has min {min} above max {max}"
                );
            }
        }
        for country in &self.countries {
            anyhow::ensure!(
                upper(country, 2),
                "offer {offer:?}: country {country:?} must be an ISO 3166-1 alpha-2 code in upper case, like \"US\""
            );
        }
        for currency in &self.currencies {
            anyhow::ensure!(
                upper(currency, 3),
                "offer {offer:?}: currency {currency:?} must be an ISO 4217 code in upper case, like \"USD\""
            );
        }
        let moment = |name: &str,
                      text: &Option<String>|
         -> anyhow::Result<Option<time::OffsetDateTime>> {
            text.as_deref()
                .map(|t| {
                    crate::clock::parse_rfc3339(t).ok_or_else(|| {
                        anyhow::anyhow!("offer {offer:?}: {name} {t:?} is not an RFC 3339 time, like \"2026-12-01T00:00:00Z\"")
                    })
                })
                .transpose()
        };
        let (starts, ends) = (
            moment("starts_at", &self.starts_at)?,
            moment("ends_at", &self.ends_at)?,
        );
        if let (Some(starts), Some(ends)) = (starts, ends) {
            anyhow::ensure!(
                starts < ends,
                "offer {offer:?}: starts_at must come before ends_at"
            );
        }
        Ok(())
    }
}

/// One version of an offer in an experiment: what it changes, and its share of the traffic.
/// What it leaves out is the offer's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantRule {
    /// Unique within the offer; the report names it.
    pub id: String,
    /// Relative share of customers: weights 1 and 3 show this variant to a quarter of them.
    pub weight: u32,
    /// Another Dodo product (a one-product offer only), for instance one with a discount.
    pub product: Option<String>,
    /// Another badge, or none with `""`.
    pub badge: Option<String>,
    /// Copy shown instead of the product's name.
    pub title: Option<String>,
    /// Copy shown instead of the product's description.
    pub description: Option<String>,
    /// This variant's words in other languages (`[offers.variants.locales.pt-BR]`).
    #[serde(default)]
    pub locales: Locales<OfferText>,
}

/// The variant of an offer that has no experiment.
pub const NO_EXPERIMENT: &str = "default";

/// One product of a cross-sell.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRule {
    /// The Dodo product.
    pub product: String,
    /// The smallest number of units the customer may add.
    #[serde(default = "one")]
    pub quantity: u32,
    /// The most units the customer may add; `quantity` when absent.
    pub max_quantity: Option<u32>,
}

/// One product of an offer, as the rules define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedProduct {
    /// Names this product's accept: the offer id for a one-product offer,
    /// `offer.product` inside a cross-sell.
    pub item_id: String,
    pub product: String,
    pub min_quantity: u32,
    pub max_quantity: u32,
}

impl OfferRule {
    /// The words a customer reads, in their `locale` when the file gives it: for each of title,
    /// description and badge, the variant's (in the locale, then its default), else the
    /// offer's (in the locale, then its default). A title or description left `None` is the
    /// product's own; a badge `""` takes the offer's away.
    pub fn text(&self, variant: Option<&VariantRule>, locale: Option<&str>) -> OfferText {
        let mut layers: Vec<OfferText> = Vec::with_capacity(4);
        if let Some(variant) = variant {
            layers.extend(merchant_text::pick(&variant.locales, locale).cloned());
            layers.push(OfferText {
                title: variant.title.clone(),
                description: variant.description.clone(),
                badge: variant.badge.clone(),
            });
        }
        layers.extend(merchant_text::pick(&self.locales, locale).cloned());
        layers.push(OfferText {
            title: self.title.clone(),
            description: self.description.clone(),
            badge: self.badge.clone(),
        });
        let first = |field: fn(&OfferText) -> &Option<String>| {
            layers.iter().find_map(|layer| field(layer).clone())
        };
        OfferText {
            title: first(|t| &t.title),
            description: first(|t| &t.description),
            badge: first(|t| &t.badge).filter(|b| !b.is_empty()),
        }
    }

    /// The name of the offer's experiment: its `experiment`, or its id; `None` without
    /// variants.
    pub fn experiment_name(&self) -> Option<&str> {
        (!self.variants.is_empty()).then(|| self.experiment.as_deref().unwrap_or(&self.id))
    }

    /// True for a cross-sell (several products, each with its own click).
    pub fn is_cross_sell(&self) -> bool {
        !self.items.is_empty()
    }

    /// The products this offer sells, in file order.
    pub fn products(&self) -> Vec<OfferedProduct> {
        self.products_of(None)
    }

    /// The products a variant of this offer sells: the variant's product, when it names one,
    /// under the same item id (an accept is of the offer, whatever the variant).
    pub fn products_of(&self, variant: Option<&VariantRule>) -> Vec<OfferedProduct> {
        let product = variant
            .and_then(|v| v.product.as_ref())
            .or(self.product.as_ref());
        match product {
            Some(product) => vec![OfferedProduct {
                item_id: self.id.clone(),
                product: product.clone(),
                min_quantity: self.quantity,
                max_quantity: self.max_quantity.unwrap_or(self.quantity),
            }],
            None => self
                .items
                .iter()
                .map(|item| OfferedProduct {
                    item_id: format!("{}.{}", self.id, item.product),
                    product: item.product.clone(),
                    min_quantity: item.quantity,
                    max_quantity: item.max_quantity.unwrap_or(item.quantity),
                })
                .collect(),
        }
    }
}

fn one() -> u32 {
    1
}

/// The offers file in force. A reload replaces it whole, and each request works with the
/// file it started with (`current`), so none sees half of one file and half of another.
#[derive(Debug, Clone)]
pub struct LiveRules(Arc<RwLock<Arc<OfferRules>>>);

impl LiveRules {
    pub fn new(rules: OfferRules) -> Self {
        LiveRules(Arc::new(RwLock::new(Arc::new(rules))))
    }

    /// The file in force now.
    pub fn current(&self) -> Arc<OfferRules> {
        // A panic while the lock was held cannot leave a half-written `Arc`: the value is
        // still whole, so a poisoned lock is read through.
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts `rules` in force for every request that starts from now on.
    pub fn replace(&self, rules: OfferRules) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules);
    }
}

impl OfferRules {
    pub fn load(path: &Path) -> anyhow::Result<OfferRules> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read offers file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("offers file {}: {e}", path.display()))
    }

    /// Parses and checks an offers file. TOML errors carry the line; rule errors name the offer.
    pub fn parse(text: &str) -> anyhow::Result<OfferRules> {
        let rules: OfferRules = toml::from_str(text)?;
        anyhow::ensure!(
            (1..=24 * 60).contains(&rules.offer_window_minutes),
            "offer_window_minutes must be between 1 and 1440"
        );
        anyhow::ensure!(
            (1..=20).contains(&rules.max_accepted_offers),
            "max_accepted_offers must be between 1 and 20"
        );
        anyhow::ensure!(
            rules.holdout_percent <= 50,
            "holdout_percent must be between 0 and 50"
        );
        anyhow::ensure!(
            (1..=365).contains(&rules.refund_window_days),
            "refund_window_days must be between 1 and 365"
        );
        let mut ids = HashSet::new();
        for offer in &rules.offers {
            offer.when.check(&offer.id)?;
            anyhow::ensure!(
                offer.allocation == Allocation::Fixed || offer.variants.len() >= 2,
                "offer {:?}: allocation = \"bandit\" needs at least two variants",
                offer.id
            );
            anyhow::ensure!(
                is_identifier(&offer.id),
                "offer id {:?} must be 1 to 64 letters, digits, '-' or '_'",
                offer.id
            );
            anyhow::ensure!(
                ids.insert(offer.id.as_str()),
                "offer {:?} is defined twice",
                offer.id
            );
            anyhow::ensure!(
                offer.product.is_some() != offer.is_cross_sell(),
                "offer {:?}: give either `product` or `items`, not both or neither",
                offer.id
            );
            anyhow::ensure!(
                offer.items.len() <= 6,
                "offer {:?}: a cross-sell has at most 6 items",
                offer.id
            );
            let mut products = HashSet::new();
            for item in offer.products() {
                anyhow::ensure!(
                    products.insert(item.product.clone()),
                    "offer {:?}: product {:?} is listed twice",
                    offer.id,
                    item.product
                );
                anyhow::ensure!(
                    (1..=100).contains(&item.min_quantity)
                        && (item.min_quantity..=100).contains(&item.max_quantity),
                    "offer {:?}: quantities must satisfy 1 <= quantity <= max_quantity <= 100",
                    offer.id
                );
            }
            if let Some(badge) = &offer.badge {
                anyhow::ensure!(
                    (1..=40).contains(&badge.chars().count()),
                    "offer {:?}: a badge has 1 to 40 characters",
                    offer.id
                );
            }
            check_offer_text(offer)?;
            check_variants(offer)?;
        }
        for plan in &rules.plans {
            merchant_text::check_tags(&plan.locales)
                .map_err(|e| anyhow::anyhow!("plan {:?}: {e}", plan.product))?;
            for (tag, text) in &plan.locales {
                anyhow::ensure!(
                    text.features.len() == plan.features.len()
                        && text.features.iter().all(|f| !f.trim().is_empty()),
                    "plan {:?}: its features in {tag:?} must be {} rows, like its default ones, none empty",
                    plan.product,
                    plan.features.len()
                );
            }
        }
        let mut change_ids = HashSet::new();
        for change in &rules.plan_changes {
            anyhow::ensure!(
                is_identifier(&change.id),
                "plan change id {:?} must be 1 to 64 letters, digits, '-' or '_'",
                change.id
            );
            anyhow::ensure!(
                change_ids.insert(change.id.as_str()),
                "plan change {:?} is defined twice",
                change.id
            );
            anyhow::ensure!(
                change.from != change.to,
                "plan change {:?}: `from` and `to` are the same plan",
                change.id
            );
            for plan in [&change.from, &change.to] {
                anyhow::ensure!(
                    rules.plan(plan).is_some(),
                    "plan change {:?}: plan {:?} is not in [[plans]]",
                    change.id,
                    plan
                );
            }
            check_plan_locales(&rules, change)?;
            for addon in change.addons.iter().flatten() {
                anyhow::ensure!(
                    (1..=100).contains(&addon.quantity),
                    "plan change {:?}: add-on quantities are 1 to 100",
                    change.id
                );
            }
        }
        let downsell_targets: HashSet<&str> = rules
            .offers
            .iter()
            .filter_map(|o| o.downsell.as_deref())
            .collect();
        for offer in &rules.offers {
            if let Some(target) = &offer.downsell {
                anyhow::ensure!(
                    ids.contains(target.as_str()),
                    "offer {:?}: downsell {:?} is not defined",
                    offer.id,
                    target
                );
            }
            anyhow::ensure!(
                !offer.after.is_empty() || downsell_targets.contains(offer.id.as_str()),
                "offer {:?}: `after` must name at least one product, unless the offer is another offer's `downsell`",
                offer.id
            );
            // A chain must end: a customer who declines every offer sees each at most once.
            let mut seen = HashSet::from([offer.id.as_str()]);
            let mut next = offer.downsell.as_deref();
            while let Some(id) = next {
                anyhow::ensure!(
                    seen.insert(id),
                    "offer {:?}: its downsell chain comes back to {:?}",
                    offer.id,
                    id
                );
                next = rules.offer(id).and_then(|o| o.downsell.as_deref());
            }
        }
        Ok(rules)
    }

    /// The offers triggered by a purchase of these products, in file order (before their
    /// conditions and priorities are applied, in `offers::targeting`).
    pub fn offers_after<'a>(
        &'a self,
        purchased: &'a [String],
    ) -> impl Iterator<Item = &'a OfferRule> + 'a {
        self.offers
            .iter()
            .filter(move |rule| rule.after.iter().any(|p| purchased.contains(p)))
    }

    /// The offer with this id.
    pub fn offer(&self, id: &str) -> Option<&OfferRule> {
        self.offers.iter().find(|o| o.id == id)
    }

    /// The plan of this product.
    pub fn plan(&self, product: &str) -> Option<&PlanRule> {
        self.plans.iter().find(|p| p.product == product)
    }

    /// The changes open to a subscriber on this plan, in file order.
    pub fn plan_changes_from<'a>(
        &'a self,
        product: &'a str,
    ) -> impl Iterator<Item = &'a PlanChangeRule> + 'a {
        self.plan_changes.iter().filter(move |c| c.from == product)
    }

    /// The plan change with this id.
    pub fn plan_change(&self, id: &str) -> Option<&PlanChangeRule> {
        self.plan_changes.iter().find(|c| c.id == id)
    }
}

/// An experiment needs two variants or more, each with a share of the traffic, and changes
/// only what its offer has.
fn check_variants(offer: &OfferRule) -> anyhow::Result<()> {
    if offer.variants.is_empty() {
        anyhow::ensure!(
            offer.experiment.is_none(),
            "offer {:?}: `experiment` names the experiment of its `variants`, and it has none",
            offer.id
        );
        return Ok(());
    }
    anyhow::ensure!(
        offer.variants.len() >= 2,
        "offer {:?}: an experiment has at least two variants",
        offer.id
    );
    if let Some(name) = &offer.experiment {
        anyhow::ensure!(
            is_identifier(name),
            "offer {:?}: experiment {:?} must be 1 to 64 letters, digits, '-' or '_'",
            offer.id,
            name
        );
    }
    let mut ids = HashSet::new();
    for variant in &offer.variants {
        anyhow::ensure!(
            is_identifier(&variant.id),
            "offer {:?}: variant id {:?} must be 1 to 64 letters, digits, '-' or '_'",
            offer.id,
            variant.id
        );
        anyhow::ensure!(
            ids.insert(variant.id.as_str()),
            "offer {:?}: variant {:?} is defined twice",
            offer.id,
            variant.id
        );
        anyhow::ensure!(
            (1..=10_000).contains(&variant.weight),
            "offer {:?}: variant {:?} needs a weight from 1 to 10000",
            offer.id,
            variant.id
        );
        anyhow::ensure!(
            variant.product.is_none() || !offer.is_cross_sell(),
            "offer {:?}: variant {:?} cannot change the product of a cross-sell",
            offer.id,
            variant.id
        );
        anyhow::ensure!(
            variant
                .badge
                .as_ref()
                .is_none_or(|b| b.chars().count() <= 40),
            "offer {:?}: variant {:?}: a badge has at most 40 characters",
            offer.id,
            variant.id
        );
        anyhow::ensure!(
            variant
                .title
                .as_ref()
                .is_none_or(|t| (1..=120).contains(&t.chars().count())),
            "offer {:?}: variant {:?}: a title has 1 to 120 characters",
            offer.id,
            variant.id
        );
        anyhow::ensure!(
            variant
                .description
                .as_ref()
                .is_none_or(|d| d.chars().count() <= 500),
            "offer {:?}: variant {:?}: a description has at most 500 characters",
            offer.id,
            variant.id
        );
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether a locale's text gives one of the words (title, description, badge).
type GivesWord = fn(&OfferText) -> bool;

/// An offer's own words and every locale's: lengths as the widget lays them out; a title or
/// description only for a one-product offer (a cross-sell's items keep their products' names);
/// and a variant that replaces a word replaces it in every locale the offer gives it in, so
/// that no customer reads the variant's default beside the offer's translation.
fn check_offer_text(offer: &OfferRule) -> anyhow::Result<()> {
    let own = OfferText {
        title: offer.title.clone(),
        description: offer.description.clone(),
        badge: None,
    };
    check_text(&offer.id, "", &own, offer.is_cross_sell())?;
    merchant_text::check_tags(&offer.locales)
        .map_err(|e| anyhow::anyhow!("offer {:?}: {e}", offer.id))?;
    for (tag, text) in &offer.locales {
        anyhow::ensure!(
            text != &OfferText::default(),
            "offer {:?}: locale {tag:?} gives no title, description or badge",
            offer.id
        );
        check_text(
            &offer.id,
            &format!(" in {tag:?}"),
            text,
            offer.is_cross_sell(),
        )?;
        if let Some(badge) = &text.badge {
            anyhow::ensure!(
                (1..=40).contains(&badge.chars().count()),
                "offer {:?}: a badge in {tag:?} has 1 to 40 characters",
                offer.id
            );
        }
    }
    for variant in &offer.variants {
        merchant_text::check_tags(&variant.locales)
            .map_err(|e| anyhow::anyhow!("offer {:?}: variant {:?}: {e}", offer.id, variant.id))?;
        for (tag, text) in &variant.locales {
            check_text(
                &offer.id,
                &format!(" (variant {:?}) in {tag:?}", variant.id),
                text,
                offer.is_cross_sell(),
            )?;
        }
        let fields: [(&str, bool, GivesWord); 3] = [
            ("title", variant.title.is_some(), |t| t.title.is_some()),
            ("description", variant.description.is_some(), |t| {
                t.description.is_some()
            }),
            (
                "badge",
                variant.badge.as_deref().is_some_and(|b| !b.is_empty()),
                |t| t.badge.is_some(),
            ),
        ];
        for (field, replaced, given) in fields {
            for (tag, _) in offer.locales.iter().filter(|(_, t)| given(t)) {
                let translated =
                    merchant_text::pick(&variant.locales, Some(tag)).is_some_and(given);
                anyhow::ensure!(
                    !replaced || translated,
                    "offer {:?}: variant {:?} replaces the {field}, and the offer gives it in {tag:?}: give the variant's {field} in {tag:?} too",
                    offer.id,
                    variant.id
                );
            }
        }
    }
    Ok(())
}

/// A title of 1 to 120 characters and a description of at most 500, neither on a cross-sell.
fn check_text(offer: &str, place: &str, text: &OfferText, cross_sell: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        !cross_sell || (text.title.is_none() && text.description.is_none()),
        "offer {offer:?}: a cross-sell shows its products' own names and descriptions; give no title or description{place}"
    );
    anyhow::ensure!(
        text.title
            .as_ref()
            .is_none_or(|t| (1..=120).contains(&t.trim().chars().count())),
        "offer {offer:?}: a title{place} has 1 to 120 characters"
    );
    anyhow::ensure!(
        text.description
            .as_ref()
            .is_none_or(|d| d.chars().count() <= 500),
        "offer {offer:?}: a description{place} has at most 500 characters"
    );
    Ok(())
}

/// The two plans of a change give their features in the same languages: the comparison marks
/// what is gained or lost by matching rows, which only works within one language.
fn check_plan_locales(rules: &OfferRules, change: &PlanChangeRule) -> anyhow::Result<()> {
    let tags = |product: &str| -> std::collections::BTreeSet<String> {
        rules
            .plan(product)
            .filter(|p| !p.features.is_empty())
            .map(|p| {
                p.locales
                    .keys()
                    .map(|t| merchant_text::normalize(t))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (from, to) = (tags(&change.from), tags(&change.to));
    let from_has = rules
        .plan(&change.from)
        .is_some_and(|p| !p.features.is_empty());
    let to_has = rules
        .plan(&change.to)
        .is_some_and(|p| !p.features.is_empty());
    if let Some(tag) = from
        .symmetric_difference(&to)
        .next()
        .filter(|_| from_has && to_has)
    {
        anyhow::bail!(
            "plan change {:?}: plans {:?} and {:?} must give their features in the same languages ({tag:?} is in one only)",
            change.id,
            change.from,
            change.to
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dodo's four proration modes are accepted; the "fifth" some guides name
    /// (`prorated_immediately_keep_cycle`) is in none of Dodo's SDKs or its OpenAPI, so a file
    /// asking for it is refused at start rather than refused by Dodo at a customer's click.
    #[test]
    fn only_dodos_proration_modes_are_accepted() {
        let file = |mode: &str| {
            format!(
                "[[plans]]\nproduct = \"a\"\n[[plans]]\nproduct = \"b\"\n[[plan_changes]]\n\
                 id = \"up\"\nfrom = \"a\"\nto = \"b\"\ndirection = \"upgrade\"\nproration = \"{mode}\"\n"
            )
        };
        for mode in [
            "prorated_immediately",
            "full_immediately",
            "difference_immediately",
            "do_not_bill",
        ] {
            let rules = OfferRules::parse(&file(mode)).unwrap();
            assert_eq!(rules.plan_changes[0].proration().as_str(), mode);
        }
        let error = OfferRules::parse(&file("prorated_immediately_keep_cycle"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown variant"), "{error}");
    }

    /// Merchant text per locale: chosen closest first, falling back field by field to the
    /// default; refused at start when it could show a customer two languages at once.
    #[test]
    fn merchant_text_is_given_per_locale_and_checked_at_start() {
        let ok = r#"
[[offers]]
id = "guide"
after = ["p"]
product = "x"
title = "Add the guide"
badge = "Staff pick"
[offers.locales.pt-BR]
title = "Adicione o guia"
badge = "Escolha da equipe"
[offers.locales.de]
description = "Nur heute"
[[offers.variants]]
id = "plain"
weight = 1
[[offers.variants]]
id = "short"
weight = 1
title = "Guide?"
[offers.variants.locales.pt-BR]
title = "Guia?"

[[plans]]
product = "a"
features = ["3 projects", "Email support"]
[plans.locales.pt-BR]
features = ["3 projetos", "Suporte por e-mail"]
[[plans]]
product = "b"
features = ["Unlimited projects", "Email support"]
[plans.locales.pt-BR]
features = ["Projetos ilimitados", "Suporte por e-mail"]
[[plan_changes]]
id = "up"
from = "a"
to = "b"
direction = "upgrade"
"#;
        let rules = OfferRules::parse(ok).unwrap();
        let offer = rules.offer("guide").unwrap();
        let (plain, short) = (&offer.variants[0], &offer.variants[1]);
        let text = offer.text(Some(plain), Some("pt-BR"));
        assert_eq!(text.title.as_deref(), Some("Adicione o guia"));
        assert_eq!(text.badge.as_deref(), Some("Escolha da equipe"));
        assert_eq!(text.description, None, "the product's own");
        let text = offer.text(Some(plain), Some("pt-PT"));
        assert_eq!(
            text.title.as_deref(),
            Some("Adicione o guia"),
            "same language"
        );
        let text = offer.text(Some(short), Some("pt-BR"));
        assert_eq!(text.title.as_deref(), Some("Guia?"));
        let text = offer.text(Some(short), Some("en-US"));
        assert_eq!(text.title.as_deref(), Some("Guide?"));
        let text = offer.text(None, Some("de-DE"));
        assert_eq!(
            (text.title.as_deref(), text.description.as_deref()),
            (Some("Add the guide"), Some("Nur heute")),
            "what a locale leaves out is the default's"
        );
        let plan = rules.plan("a").unwrap();
        assert_eq!(plan.features_in(Some("pt-BR"))[0], "3 projetos");
        assert_eq!(plan.features_in(Some("fr"))[0], "3 projects");
        assert_eq!(plan.features_in(None)[0], "3 projects");

        for (change, expected) in [
            (ok.replace("[offers.locales.de]", "[offers.locales.deutsch]"), "locale \"deutsch\""),
            (
                ok.replace("[offers.locales.de]\ndescription = \"Nur heute\"", "[offers.locales.de]"),
                "gives no title",
            ),
            (
                ok.replace("[offers.variants.locales.pt-BR]\ntitle = \"Guia?\"", ""),
                "give the variant's title in \"pt-BR\" too",
            ),
            (
                ok.replace("features = [\"3 projetos\", \"Suporte por e-mail\"]", "features = [\"3 projetos\"]"),
                "must be 2 rows",
            ),
            (
                ok.replace("[plans.locales.pt-BR]\nfeatures = [\"Projetos ilimitados\", \"Suporte por e-mail\"]", ""),
                "same languages",
            ),
            (ok.replace("[offers.locales.de]", "[offers.locales.pt_br]"), "given twice"),
            (ok.replace("badge = \"Escolha da equipe\"", "colour = \"red\""), "unknown field"),
        ] {
            let error = OfferRules::parse(&change).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn the_shipped_offers_file_is_valid() {
        let rules = OfferRules::parse(include_str!("../../offers.toml")).unwrap();
        assert_eq!(rules.offer_window_minutes, 30);
        let purchased = vec!["prod_basic_plan".to_string()];
        let ids: Vec<_> = rules
            .offers_after(&purchased)
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, ["pro-upgrade", "add-ons"]);
        let chain = rules.offer("pro-upgrade").and_then(|o| o.downsell.clone());
        assert_eq!(chain.as_deref(), Some("pro-upgrade-discount"));
        let add_ons = rules.offer("add-ons").unwrap().products();
        assert_eq!(add_ons[0].item_id, "add-ons.prod_template_pack");
        assert_eq!((add_ons[0].min_quantity, add_ons[0].max_quantity), (1, 5));
    }

    #[test]
    fn chains_must_end_and_name_defined_offers() {
        let cycle = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\ndownsell = \"b\"\n\
                     [[offers]]\nid = \"b\"\nproduct = \"y\"\ndownsell = \"a\"\n";
        let err = OfferRules::parse(cycle).unwrap_err().to_string();
        assert!(err.contains("comes back to"), "{err}");

        let missing =
            "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\ndownsell = \"zz\"\n";
        let err = OfferRules::parse(missing).unwrap_err().to_string();
        assert!(err.contains("downsell \"zz\" is not defined"), "{err}");

        let orphan = "[[offers]]\nid = \"a\"\nproduct = \"x\"\n";
        let err = OfferRules::parse(orphan).unwrap_err().to_string();
        assert!(
            err.contains("unless the offer is another offer's `downsell`"),
            "{err}"
        );

        let both = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\n\
                    [[offers.items]]\nproduct = \"y\"\n";
        let err = OfferRules::parse(both).unwrap_err().to_string();
        assert!(err.contains("either `product` or `items`"), "{err}");

        let bounds = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\nquantity = 3\nmax_quantity = 2\n";
        let err = OfferRules::parse(bounds).unwrap_err().to_string();
        assert!(err.contains("quantity <= max_quantity"), "{err}");
    }

    #[test]
    fn an_experiment_needs_two_weighted_variants_that_change_only_what_the_offer_has() {
        let offer = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\n";
        let variant = |id: &str, rest: &str| {
            format!("[[offers.variants]]\nid = \"{id}\"\nweight = 1\n{rest}")
        };
        let ok = format!(
            "{offer}{}{}",
            variant("v1", ""),
            variant("v2", "badge = \"\"\n")
        );
        let rules = OfferRules::parse(&ok).unwrap();
        assert_eq!(rules.offers[0].variants.len(), 2);
        for (text, error) in [
            (format!("{offer}{}", variant("v1", "")), "at least two variants"),
            (
                format!("{offer}{}{}", variant("v1", ""), variant("v1", "")),
                "variant \"v1\" is defined twice",
            ),
            (
                format!(
                    "{offer}{}[[offers.variants]]\nid = \"v2\"\nweight = 0\n",
                    variant("v1", "")
                ),
                "needs a weight from 1 to 10000",
            ),
            (
                format!("{offer}experiment = \"e\"\n"),
                "`experiment` names the experiment of its `variants`",
            ),
            (
                format!("{offer}{}{}", variant("v1", ""), variant("v2", "title = \"\"\n")),
                "a title has 1 to 120 characters",
            ),
            (
                format!(
                    "[[offers]]\nid = \"a\"\nafter = [\"p\"]\n{}{}[[offers.items]]\nproduct = \"y\"\n",
                    variant("v1", ""),
                    variant("v2", "product = \"z\"\n")
                ),
                "cannot change the product of a cross-sell",
            ),
        ] {
            let err = OfferRules::parse(&text).unwrap_err().to_string();
            assert!(err.contains(error), "{err}\n{text}");
        }
    }

    #[test]
    fn errors_name_the_line_or_the_offer() {
        let err = OfferRules::parse("[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");

        let twice = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\n\
                     [[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"y\"\n";
        let err = OfferRules::parse(twice).unwrap_err().to_string();
        assert!(err.contains("\"a\" is defined twice"), "{err}");

        let unknown = "[[offers]]\nid = \"a\"\nafter = [\"p\"]\nproduct = \"x\"\nprice = 1\n";
        let err = OfferRules::parse(unknown).unwrap_err().to_string();
        assert!(err.contains("unknown field `price`"), "{err}");
    }
}
