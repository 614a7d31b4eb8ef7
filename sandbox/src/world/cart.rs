//! A `product_cart` priced the way Dodo checks it, for `POST /payments` and `POST /checkouts`.

use super::refusal::Refusal;
use crate::world::store::{unit_price, CartLine, Store};
use serde::Deserialize;

/// One `product_cart` item as requests send it.
#[derive(Debug, Clone, Deserialize)]
pub struct CartItem {
    pub product_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub struct PricedCart {
    pub lines: Vec<CartLine>,
    /// Minor units.
    pub total: i64,
    pub currency: String,
    /// Holds a subscription product (then it is the only item).
    pub has_subscription: bool,
}

/// "Minimum amount of $0.50 is required".
const MINIMUM_USD_AMOUNT: i64 = 50;
const MAX_ITEMS: usize = 100;

/// Checks a cart (1 to 100 items, quantities of at least 1, existing and undeleted products in
/// one currency, subscription products never mixed with others, at least $0.50) and prices it.
pub fn price_cart(store: &Store, items: &[CartItem]) -> Result<PricedCart, Refusal> {
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(Refusal::invalid_body(
            "product_cart must hold 1 to 100 items",
        ));
    }
    let mut total = 0i64;
    let mut currency: Option<String> = None;
    let mut subscriptions = 0;
    for item in items {
        if item.quantity < 1 {
            return Err(Refusal::invalid_body("quantity must be at least 1"));
        }
        let product = store
            .products
            .get(&item.product_id)
            .ok_or_else(|| Refusal::not_found("product", &item.product_id))?;
        if product.deleted {
            return Err(Refusal::unprocessable(
                "PRODUCT_IS_DELETED",
                "the product has been deleted",
            ));
        }
        if currency.as_ref().is_some_and(|c| *c != product.currency) {
            return Err(Refusal::invalid_parameters(
                "all products in a cart must share one currency",
            ));
        }
        currency = Some(product.currency.clone());
        subscriptions += usize::from(product.interval.is_some());
        total += unit_price(product) * item.quantity;
    }
    if subscriptions > 0 && items.len() > 1 {
        return Err(Refusal::invalid_parameters(
            "a cart of several items may hold only one-time products; subscription products cannot be mixed with others",
        ));
    }
    let currency = currency.unwrap_or_default();
    if currency == "USD" && total < MINIMUM_USD_AMOUNT {
        return Err(Refusal::unprocessable(
            "TOTAL_PAYMENT_AMOUNT_BELOW_MINIMUM_AMOUNT",
            "Minimum amount of $0.50 is required",
        ));
    }
    Ok(PricedCart {
        lines: items
            .iter()
            .map(|i| CartLine {
                product_id: i.product_id.clone(),
                quantity: i.quantity,
            })
            .collect(),
        total,
        currency,
        has_subscription: subscriptions > 0,
    })
}
