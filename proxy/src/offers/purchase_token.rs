//! Purchase tokens: strict mode's answer to a thank-you page's URL being a bearer credential.
//!
//! By default the offers of a purchase go to whoever names its payment id, and the payment id
//! is in the thank-you page's URL (Dodo's redirect puts it there), so a leaked URL opens
//! one-click charges on the customer's saved card for the offer window. A merchant with a
//! server can close that (`UPSELL_REQUIRE_PURCHASE_TOKEN=true`): its server, having just
//! confirmed the payment, renders a short-lived token for it into the page
//! (`<dodo-upsell purchase-token="…">`), signed with the proxy's token keys like the account
//! token, and the proxy offers nothing for a payment without a valid token bound to it.
//!
//! Only the offers lookup is gated: it alone turns a payment id into offer tokens, and every
//! other route that can act on the purchase (accept, decline, checkout, impression) is
//! authorised by an offer token.

use super::{OfferError, Offers};
use crate::tokens::{TokenError, TokenKeys};
use serde::{Deserialize, Serialize};

/// `typ` of a purchase token.
pub const PURCHASE: &str = "purchase";

/// What a purchase token says: this payment, until `exp`. Minted by the merchant's server (see
/// `upsell-purchase-token`), never by the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseClaims {
    /// Always [`PURCHASE`], so that no other token of ours passes for one (an offer token also
    /// names its payment in `sub`, but has no `typ`).
    pub typ: String,
    /// The Dodo payment id the token opens the offers of. `sub`, as in every token of ours:
    /// `TokenKeys::verify` requires it.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

impl PurchaseClaims {
    /// Claims for `payment_id`, issued at `now` (Unix seconds), valid for `minutes`.
    pub fn new(payment_id: &str, now: i64, minutes: i64) -> Self {
        Self {
            typ: PURCHASE.into(),
            sub: payment_id.into(),
            iat: now,
            exp: now + minutes * 60,
        }
    }
}

/// Checks, in strict mode, that `token` is a valid, unexpired purchase token for exactly
/// `payment_id`; without strict mode any token (or none) passes, unread. Called before Dodo is
/// asked anything, so a refused lookup also tells nothing about the payment.
pub fn check(offers: &Offers, token: Option<&str>, payment_id: &str) -> Result<(), OfferError> {
    if offers.require_purchase_token {
        check_bound(&offers.keys, token, payment_id)
    } else {
        Ok(())
    }
}

/// `token` is a purchase token signed by one of `keys`, unexpired, for `payment_id`.
fn check_bound(keys: &TokenKeys, token: Option<&str>, payment_id: &str) -> Result<(), OfferError> {
    let token = token.ok_or(OfferError::PurchaseTokenMissing)?;
    let claims: PurchaseClaims = keys.verify(token).map_err(|e| match e {
        TokenError::Expired => OfferError::PurchaseTokenExpired,
        TokenError::Invalid => OfferError::PurchaseTokenInvalid,
    })?;
    if claims.typ != PURCHASE || claims.sub != payment_id {
        return Err(OfferError::PurchaseTokenInvalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offers::token::OfferClaims;
    use crate::plan_changes::token::{AccountClaims, ACCOUNT};

    fn keys() -> TokenKeys {
        TokenKeys::parse("k=0123456789abcdef0123456789abcdef").unwrap()
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn a_purchase_token_round_trips_and_others_do_not_read_as_one() {
        let keys = keys();
        let claims = PurchaseClaims::new("pay_1", now(), 30);
        let token = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify::<PurchaseClaims>(&token).unwrap(), claims);
        // It is no offer token either.
        assert!(keys.verify::<OfferClaims>(&token).is_err());

        // An offer token names its payment in `sub` too, but has no `typ`.
        let offer = keys
            .sign(&OfferClaims {
                sub: "pay_1".into(),
                cus: "cus_1".into(),
                oid: "o".into(),
                iid: "o".into(),
                pid: "prod".into(),
                amt: 1,
                cur: "USD".into(),
                qmin: 1,
                qmax: 1,
                pm: String::new(),
                iat: now(),
                exp: now() + 60,
                jti: "j".into(),
                var: String::new(),
                loc: String::new(),
            })
            .unwrap();
        assert!(keys.verify::<PurchaseClaims>(&offer).is_err());

        // An account token reads as one, but its `typ` gives it away.
        let account = keys
            .sign(&AccountClaims {
                typ: ACCOUNT.into(),
                sub: "pay_1".into(),
                cus: "cus_1".into(),
                iat: now(),
                exp: now() + 60,
            })
            .unwrap();
        assert!(matches!(
            check_bound(&keys, Some(&account), "pay_1"),
            Err(OfferError::PurchaseTokenInvalid)
        ));
        assert!(matches!(
            check_bound(&keys, Some(&offer), "pay_1"),
            Err(OfferError::PurchaseTokenInvalid)
        ));
    }

    #[test]
    fn only_a_valid_token_for_exactly_this_payment_passes() {
        let keys = keys();
        let valid = keys.sign(&PurchaseClaims::new("pay_1", now(), 30)).unwrap();
        assert!(check_bound(&keys, Some(&valid), "pay_1").is_ok());
        assert!(matches!(
            check_bound(&keys, None, "pay_1"),
            Err(OfferError::PurchaseTokenMissing)
        ));
        assert!(matches!(
            check_bound(&keys, Some(&valid), "pay_2"),
            Err(OfferError::PurchaseTokenInvalid)
        ));
        let expired = keys
            .sign(&PurchaseClaims::new("pay_1", now() - 120, 1))
            .unwrap();
        assert!(matches!(
            check_bound(&keys, Some(&expired), "pay_1"),
            Err(OfferError::PurchaseTokenExpired)
        ));
        let other_keys = TokenKeys::parse("k=fedcba9876543210fedcba9876543210").unwrap();
        let foreign = other_keys
            .sign(&PurchaseClaims::new("pay_1", now(), 30))
            .unwrap();
        assert!(matches!(
            check_bound(&keys, Some(&foreign), "pay_1"),
            Err(OfferError::PurchaseTokenInvalid)
        ));
    }
}
