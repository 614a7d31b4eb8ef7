//! Offer tokens: JWTs (HS256) that seal everything about an offer that decides money, so the
//! browser carries the offer without being able to change it. The `jti` is burned on first use
//! (see `storage`), and `kid` names the key, so keys can rotate with two valid at once.

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::de::DeserializeOwned;
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
}

impl OfferClaims {
    /// The variant the report files this offer under.
    pub fn variant(&self) -> &str {
        if self.var.is_empty() {
            crate::offer_rules::NO_EXPERIMENT
        } else {
            &self.var
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, tampered with, signed by an unknown key, or with the wrong algorithm.
    Invalid,
    /// Correctly signed but past its `exp`.
    Expired,
}

/// One signing key.
#[derive(Clone)]
struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The proxy's token keys: the first signs, all of them verify.
#[derive(Clone)]
pub struct OfferTokenKeys {
    keys: Vec<Key>,
}

impl std::fmt::Debug for OfferTokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("OfferTokenKeys")
            .field("kids", &kids)
            .finish()
    }
}

/// A shorter secret would make HS256 guessable.
const MIN_SECRET_BYTES: usize = 32;

impl OfferTokenKeys {
    /// Parses `kid=secret,kid=secret`; the first key signs new tokens.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, secret) = entry
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("token key entries look like kid=secret"))?;
            anyhow::ensure!(!kid.is_empty(), "a token key has an empty kid");
            anyhow::ensure!(
                secret.len() >= MIN_SECRET_BYTES,
                "token key {kid:?} is shorter than {MIN_SECRET_BYTES} bytes"
            );
            keys.push(Key {
                kid: kid.to_string(),
                encoding: EncodingKey::from_secret(secret.as_bytes()),
                decoding: DecodingKey::from_secret(secret.as_bytes()),
            });
        }
        anyhow::ensure!(!keys.is_empty(), "at least one token key is required");
        Ok(Self { keys })
    }

    /// Signs claims with the current key.
    pub fn sign(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        Ok(encode(&header, claims, &key.encoding)?)
    }

    /// Verifies an offer token's algorithm, key, signature and expiry, and returns its claims.
    pub fn verify(&self, token: &str) -> Result<OfferClaims, TokenError> {
        self.verify_as(token)
    }

    /// Verifies a token and reads it as `T`; a token of another kind does not read as `T`.
    pub fn verify_as<T: DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips() {
        let keys = OfferTokenKeys::parse(NEW).unwrap();
        let token = keys.sign(&claims(60)).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), claims(60));
    }

    #[test]
    fn tokens_of_the_previous_key_verify_during_rotation() {
        let before = OfferTokenKeys::parse(OLD).unwrap();
        let token = before.sign(&claims(60)).unwrap();
        let during = OfferTokenKeys::parse(&format!("{NEW},{OLD}")).unwrap();
        assert!(during.verify(&token).is_ok());
        let after = OfferTokenKeys::parse(NEW).unwrap();
        assert_eq!(after.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn tampered_expired_and_unsigned_tokens_are_refused() {
        let keys = OfferTokenKeys::parse(NEW).unwrap();
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
        assert_eq!(keys.verify(&parts.join(".")), Err(TokenError::Invalid));

        let expired = keys.sign(&claims(-5)).unwrap();
        assert_eq!(keys.verify(&expired), Err(TokenError::Expired));

        let unsigned = format!("{}.{}.", "eyJhbGciOiJub25lIiwia2lkIjoibmV3In0", parts[1]);
        assert_eq!(keys.verify(&unsigned), Err(TokenError::Invalid));
        assert_eq!(keys.verify("not a token"), Err(TokenError::Invalid));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(OfferTokenKeys::parse("k=short").is_err());
        assert!(OfferTokenKeys::parse("").is_err());
    }
}
