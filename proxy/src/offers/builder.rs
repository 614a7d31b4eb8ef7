//! From offer rules to the offers a customer sees: each chain of downsells walked past what the
//! customer already declined or already has, items already accepted or owned left out, every
//! item priced from its Dodo product and sealed in its own token.

use super::customer_history::CustomerHistory;
use super::experiment;
use super::token::OfferClaims;
use super::{OfferError, Offers};
use crate::clock;
use crate::dodo::client::one_time_price;
use crate::rules::{OfferRule, OfferRules, OfferedProduct, VariantRule};
use crate::storage::Settled;
use std::collections::HashMap;
use time::OffsetDateTime;
use upsell_wire::{Money, Offer, OfferItem, OfferKind, QuantityRange};

/// The purchase offers follow, and what every offer token for it seals.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub payment_id: String,
    pub customer_id: String,
    /// The purchase's currency: offers in another currency are not shown.
    pub currency: String,
    /// End of the purchase's offer window.
    pub expires_at: OffsetDateTime,
    /// The saved method one click charges by default; empty when none can pay.
    pub payment_method_id: String,
}

/// Who the offers are for: the customer (whose id picks their variant of an experiment), what
/// they already have, and the variants they were given of bandit experiments.
#[derive(Debug, Clone, Copy)]
pub struct Customer<'a> {
    pub id: &'a str,
    pub history: &'a CustomerHistory,
    /// Offer id to variant id, for offers with `allocation = "bandit"` (`allocation::assign`).
    pub assigned: &'a HashMap<String, String>,
    /// The customer's language (BCP 47, from the widget), for the merchant's words.
    pub locale: Option<&'a str>,
}

impl Customer<'_> {
    /// The variant of `rule` this customer sees; `None` when it has no experiment.
    pub fn variant<'r>(&self, rule: &'r OfferRule) -> Option<&'r VariantRule> {
        self.assigned
            .get(&rule.id)
            .and_then(|id| rule.variants.iter().find(|v| v.id == *id))
            .or_else(|| experiment::variant_for(rule, self.id))
    }
}

/// The offer to show in place of `rule`: `rule` itself, or once it was declined, the first
/// offer down its downsell chain that was not; `None` when the chain is used up or an offer
/// in it was accepted. An offer whose every product (in the customer's variant) the customer
/// already has is passed over for the next of its chain the same way. The kind says how the
/// customer got there.
pub fn current<'a>(
    rules: &'a OfferRules,
    rule: &'a OfferRule,
    settled: &Settled,
    reached_by_decline: bool,
    customer: Customer<'_>,
) -> Option<(&'a OfferRule, OfferKind)> {
    let mut rule = rule;
    let mut declined_before = reached_by_decline;
    // Chains are checked to end when the rules are loaded; the bound is a second guard.
    for _ in 0..=rules.offers.len() {
        let items = rule.products();
        let taken = |item: &OfferedProduct| settled.accepted_items.contains(&item.item_id);
        if settled.declined_offers.contains(&rule.id) {
            // Declining what was already (partly) taken, in another tab or after a cross-sell
            // item, ends the chain: a customer never gets both an offer and its downsell.
            if items.iter().any(taken) {
                return None;
            }
            rule = rules.offer(rule.downsell.as_deref()?)?;
            declined_before = true;
            continue;
        }
        if items.iter().all(taken) {
            return None;
        }
        let variant = customer.variant(rule);
        let already_has = |item: &OfferedProduct| customer.history.owns(&item.product);
        if rule
            .products_of(variant)
            .iter()
            .filter(|item| !taken(item))
            .all(already_has)
        {
            // Not declined: the next offer is not a "downsell" in the widget's words.
            rule = rules.offer(rule.downsell.as_deref()?)?;
            continue;
        }
        let kind = if rule.is_cross_sell() {
            OfferKind::CrossSell
        } else if declined_before {
            OfferKind::Downsell
        } else {
            OfferKind::Upsell
        };
        return Some((rule, kind));
    }
    None
}

/// Builds one offer: its items not yet accepted nor owned, priced from Dodo, each with a signed
/// token. `None` when no item can be offered (all accepted or owned, or no product with a
/// one-time price in the purchase's currency).
pub async fn build(
    offers: &Offers,
    purchase: &Purchase,
    rule: &OfferRule,
    kind: OfferKind,
    settled: &Settled,
    customer: Customer<'_>,
    now: OffsetDateTime,
) -> Result<Option<Offer>, OfferError> {
    // In an experiment, the customer's variant: its product, copy and badge replace the
    // offer's, and every token seals it, so each answer is filed under it.
    let variant = customer.variant(rule);
    let text = rule.text(variant, customer.locale);
    let mut items = Vec::new();
    for offered in rule.products_of(variant) {
        if settled.accepted_items.contains(&offered.item_id)
            || customer.history.owns(&offered.product)
        {
            continue;
        }
        let product = offers
            .dodo
            .product(&offered.product)
            .await
            .map_err(OfferError::Upstream)?;
        let Some(price) = one_time_price(&product) else {
            tracing::warn!(offer = %rule.id, product = %offered.product, "offered product has no one-time price; skipped");
            continue;
        };
        if price.currency != purchase.currency {
            tracing::warn!(offer = %rule.id, product = %offered.product, "offered product is priced in another currency than the purchase; skipped");
            continue;
        }
        let claims = OfferClaims {
            sub: purchase.payment_id.clone(),
            cus: purchase.customer_id.clone(),
            oid: rule.id.clone(),
            iid: offered.item_id.clone(),
            pid: offered.product.clone(),
            amt: price.unit_amount,
            cur: price.currency.clone(),
            qmin: offered.min_quantity,
            qmax: offered.max_quantity,
            pm: purchase.payment_method_id.clone(),
            iat: now.unix_timestamp(),
            exp: purchase.expires_at.unix_timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            var: variant.map(|v| v.id.clone()).unwrap_or_default(),
            loc: customer.locale.unwrap_or_default().to_string(),
        };
        let token = offers.keys.sign(&claims).map_err(OfferError::Signing)?;
        let list_price = (price.list_amount > price.unit_amount).then(|| Money {
            amount: price.list_amount,
            currency: price.currency.clone(),
        });
        items.push(OfferItem {
            item_id: offered.item_id,
            token,
            title: text
                .title
                .clone()
                .or_else(|| product.name.clone())
                .unwrap_or_else(|| offered.product.clone()),
            description: text
                .description
                .clone()
                .or_else(|| product.description.clone()),
            image: product.image.clone(),
            price: Money {
                amount: price.unit_amount,
                currency: price.currency,
            },
            list_price,
            quantity: QuantityRange {
                min: offered.min_quantity,
                max: offered.max_quantity,
            },
        });
    }
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Offer {
        offer_id: rule.id.clone(),
        kind,
        badge: text.badge,
        items,
        expires_at: clock::rfc3339(purchase.expires_at),
        expires_in_seconds: (purchase.expires_at - now).whole_seconds().max(0),
        countdown: rule.countdown,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
        [[offers]]
        id = "pro"
        after = ["basic"]
        product = "prod_pro"
        downsell = "pro-cheaper"

        [[offers]]
        id = "pro-cheaper"
        product = "prod_pro_discounted"
        downsell = "starter"

        [[offers]]
        id = "starter"
        product = "prod_starter"

        [[offers]]
        id = "extras"
        after = ["basic"]
        [[offers.items]]
        product = "a"
        [[offers.items]]
        product = "b"
    "#;

    fn shown<'a>(
        rules: &'a OfferRules,
        id: &str,
        settled: &Settled,
    ) -> Option<(&'a str, OfferKind)> {
        shown_to(rules, id, settled, &CustomerHistory::default())
    }

    fn shown_to<'a>(
        rules: &'a OfferRules,
        id: &str,
        settled: &Settled,
        history: &CustomerHistory,
    ) -> Option<(&'a str, OfferKind)> {
        let rule = rules.offer(id).unwrap();
        let assigned = HashMap::new();
        let customer = Customer {
            id: "cus_1",
            history,
            assigned: &assigned,
            locale: None,
        };
        current(rules, rule, settled, false, customer).map(|(r, kind)| (r.id.as_str(), kind))
    }

    #[test]
    fn a_declined_offer_gives_way_to_its_downsell_until_the_chain_ends() {
        let rules = OfferRules::parse(RULES).unwrap();
        let mut settled = Settled::default();
        assert_eq!(
            shown(&rules, "pro", &settled),
            Some(("pro", OfferKind::Upsell))
        );
        settled.declined_offers.insert("pro".into());
        assert_eq!(
            shown(&rules, "pro", &settled),
            Some(("pro-cheaper", OfferKind::Downsell))
        );
        settled.declined_offers.insert("pro-cheaper".into());
        assert_eq!(
            shown(&rules, "pro", &settled),
            Some(("starter", OfferKind::Downsell))
        );
        settled.declined_offers.insert("starter".into());
        assert_eq!(shown(&rules, "pro", &settled), None);
    }

    #[test]
    fn an_accepted_offer_ends_its_chain_and_a_cross_sell_lasts_until_every_item_is_taken() {
        let rules = OfferRules::parse(RULES).unwrap();
        let mut settled = Settled::default();
        settled.declined_offers.insert("pro".into());
        settled.accepted_items.insert("pro-cheaper".into());
        assert_eq!(shown(&rules, "pro", &settled), None);

        // Accepted, then declined in another tab: the downsell never opens.
        let mut settled = Settled::default();
        settled.accepted_items.insert("pro".into());
        settled.declined_offers.insert("pro".into());
        assert_eq!(shown(&rules, "pro", &settled), None);

        settled.accepted_items.insert("extras.a".into());
        assert_eq!(
            shown(&rules, "extras", &settled),
            Some(("extras", OfferKind::CrossSell))
        );
        settled.accepted_items.insert("extras.b".into());
        assert_eq!(shown(&rules, "extras", &settled), None);
    }

    #[test]
    fn what_the_customer_already_has_gives_way_to_the_next_offer_of_its_chain() {
        let rules = OfferRules::parse(RULES).unwrap();
        let settled = Settled::default();
        let owns = |products: &[&str]| CustomerHistory::owning(products.iter().copied());
        assert_eq!(
            shown_to(&rules, "pro", &settled, &owns(&["prod_pro"])),
            Some(("pro-cheaper", OfferKind::Upsell))
        );
        assert_eq!(
            shown_to(
                &rules,
                "pro",
                &settled,
                &owns(&["prod_pro", "prod_pro_discounted", "prod_starter"])
            ),
            None
        );
        // A cross-sell stays while one of its items is not owned; owning all ends it.
        assert_eq!(
            shown_to(&rules, "extras", &settled, &owns(&["a"])),
            Some(("extras", OfferKind::CrossSell))
        );
        assert_eq!(
            shown_to(&rules, "extras", &settled, &owns(&["a", "b"])),
            None
        );
    }
}
