//! Offer tokens: what an offer's token seals, everything about the offer that decides money,
//! so that the browser carries the offer without being able to change it. Signed with the
//! proxy's token keys (`crate::tokens`); the `jti` is burned on first use (see
//! `storage::accepts`).

use crate::rules::NO_EXPERIMENT;
use crate::storage::offer_events::Sighting;
use serde::{Deserialize, Serialize};

/// What an offer token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferClaims {
    /// The purchase the offer follows (Dodo payment id).
    pub sub: String,
    /// The customer who made that purchase.
    pub cus: String,
    /// The offer's id in the offers file.
    pub oid: String,
    /// The item's id: what the accept is recorded under (the offer id for a one-product offer).
    pub iid: String,
    /// The Dodo product to charge.
    pub pid: String,
    /// Unit price in minor units.
    pub amt: i64,
    /// ISO 4217 currency of `amt`.
    pub cur: String,
    /// Lowest quantity the customer may choose.
    pub qmin: u32,
    /// Highest quantity the customer may choose.
    pub qmax: u32,
    /// The saved payment method to charge; empty when the customer has none that can pay, and
    /// then only a standard checkout is possible.
    pub pm: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds: the end of the purchase's offer window.
    pub exp: i64,
    /// Unique token id, burned on first use.
    pub jti: String,
    /// The variant of the offer's experiment the customer was shown; empty when the offer has
    /// no experiment (and in tokens signed before experiments existed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub var: String,
    /// The customer's language the offer was shown in, so that its downsell speaks it too;
    /// empty when the widget named none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub loc: String,
}

impl OfferClaims {
    /// The variant the report files this offer under.
    pub fn variant(&self) -> &str {
        if self.var.is_empty() {
            NO_EXPERIMENT
        } else {
            &self.var
        }
    }
}

/// What the customer was shown, as the report files it: the offer and variant a token seals.
impl From<&OfferClaims> for Sighting {
    fn from(claims: &OfferClaims) -> Self {
        Sighting {
            offer_id: claims.oid.clone(),
            variant_id: claims.variant().to_string(),
            original_payment_id: claims.sub.clone(),
            customer_id: claims.cus.clone(),
            expires_at: claims.exp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{TokenError, TokenKeys};
    use jsonwebtoken::{Algorithm, Header};

    const OLD: &str = "old=0123456789abcdef0123456789abcdef";
    const NEW: &str = "new=fedcba9876543210fedcba9876543210";

    fn claims(exp_in: i64) -> OfferClaims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        OfferClaims {
            sub: "pay_1".into(),
            cus: "cus_1".into(),
            oid: "pro".into(),
            iid: "pro".into(),
            pid: "prod_pro".into(),
            amt: 5000,
            cur: "USD".into(),
            qmin: 1,
            qmax: 1,
            pm: "pm_1".into(),
            iat: now,
            exp: now + exp_in,
            jti: "j1".into(),
            var: String::new(),
            loc: String::new(),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips() {
        let keys = TokenKeys::parse(NEW).unwrap();
        let token = keys.sign(&claims(60)).unwrap();
        assert_eq!(keys.verify::<OfferClaims>(&token).unwrap(), claims(60));
    }

    #[test]
    fn tokens_of_the_previous_key_verify_during_rotation() {
        let before = TokenKeys::parse(OLD).unwrap();
        let token = before.sign(&claims(60)).unwrap();
        let during = TokenKeys::parse(&format!("{NEW},{OLD}")).unwrap();
        assert!(during.verify::<OfferClaims>(&token).is_ok());
        let after = TokenKeys::parse(NEW).unwrap();
        assert_eq!(
            after.verify::<OfferClaims>(&token),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tampered_expired_and_unsigned_tokens_are_refused() {
        let keys = TokenKeys::parse(NEW).unwrap();
        let token = keys.sign(&claims(60)).unwrap();
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let mut forged = claims(60);
        forged.amt = 1;
        parts[1] = {
            use jsonwebtoken::{encode, EncodingKey};
            let other = encode(
                &Header::new(Algorithm::HS256),
                &forged,
                &EncodingKey::from_secret(b"x"),
            )
            .unwrap();
            other.split('.').nth(1).unwrap().to_string()
        };
        assert_eq!(
            keys.verify::<OfferClaims>(&parts.join(".")),
            Err(TokenError::Invalid)
        );

        let expired = keys.sign(&claims(-5)).unwrap();
        assert_eq!(
            keys.verify::<OfferClaims>(&expired),
            Err(TokenError::Expired)
        );

        let unsigned = format!("{}.{}.", "eyJhbGciOiJub25lIiwia2lkIjoibmV3In0", parts[1]);
        assert_eq!(
            keys.verify::<OfferClaims>(&unsigned),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys.verify::<OfferClaims>("not a token"),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenKeys::parse("k=short").is_err());
        assert!(TokenKeys::parse("").is_err());
    }
}
