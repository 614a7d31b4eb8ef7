//! Tokens for plan changes, signed with the proxy's token keys (see `crate::tokens`): one that
//! seals a single plan change, and one with which the merchant's own server names the subscriber
//! on an account page. Each has a `typ`, so that no token passes for another kind.

use serde::{Deserialize, Serialize};

/// `typ` of a plan change token.
pub const PLAN_CHANGE: &str = "plan_change";
/// `typ` of an account token.
pub const ACCOUNT: &str = "account";
/// `typ` of a token that undoes a scheduled change.
pub const WITHDRAW: &str = "withdraw_scheduled";

/// What a plan change token says. Everything that decides money is here or in the rule it
/// names; Dodo computes the amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChangeClaims {
    /// Always [`PLAN_CHANGE`].
    pub typ: String,
    /// The subscription to change.
    pub sub: String,
    /// Its customer.
    pub cus: String,
    /// The plan change rule's id.
    pub rid: String,
    /// The plan the subscription was on when the token was signed.
    pub from: String,
    /// The plan it moves to.
    pub to: String,
    pub iat: i64,
    pub exp: i64,
    /// Unique token id: one change per token.
    pub jti: String,
}

/// What a token that undoes a scheduled change says: exactly which change, so that one
/// scheduled since (or one that has taken effect) is never undone by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawClaims {
    /// Always [`WITHDRAW`].
    pub typ: String,
    /// The subscription.
    pub sub: String,
    /// Its customer.
    pub cus: String,
    /// The plan change rule that scheduled the change.
    pub rid: String,
    /// The plan the subscription is on, and stays on.
    pub from: String,
    /// The plan the scheduled change moves to.
    pub to: String,
    /// When it takes effect (RFC 3339), as Dodo said when the token was signed.
    pub at: String,
    pub iat: i64,
    pub exp: i64,
    /// Unique token id: one withdrawal per token.
    pub jti: String,
}

/// Names a subscriber on the merchant's account page. Minted by the merchant's server (see
/// `upsell-proxy account-token`), never by the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountClaims {
    /// Always [`ACCOUNT`].
    pub typ: String,
    /// The subscription.
    pub sub: String,
    /// Its customer.
    pub cus: String,
    pub iat: i64,
    pub exp: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offers::token::OfferClaims;
    use crate::tokens::TokenKeys;

    #[test]
    fn a_token_of_one_kind_never_reads_as_another() {
        let keys = TokenKeys::parse("k=0123456789abcdef0123456789abcdef").unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let account = keys
            .sign(&AccountClaims {
                typ: ACCOUNT.into(),
                sub: "sub_1".into(),
                cus: "cus_1".into(),
                iat: now,
                exp: now + 60,
            })
            .unwrap();
        assert!(keys.verify::<PlanChangeClaims>(&account).is_err());
        assert!(keys.verify::<OfferClaims>(&account).is_err());
        let change = keys
            .sign(&PlanChangeClaims {
                typ: PLAN_CHANGE.into(),
                sub: "sub_1".into(),
                cus: "cus_1".into(),
                rid: "up".into(),
                from: "a".into(),
                to: "b".into(),
                iat: now,
                exp: now + 60,
                jti: "j".into(),
            })
            .unwrap();
        assert!(keys.verify::<OfferClaims>(&change).is_err());
        let read: AccountClaims = keys.verify(&change).unwrap();
        assert_ne!(read.typ, ACCOUNT, "so every reader checks `typ`");
    }
}
