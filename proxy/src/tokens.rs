//! The proxy's signed tokens: JWTs (HS256) that seal what the browser carries without being able
//! to change it (an offer: `offers::token`; a plan change, an account: `plan_changes::token`).
//! Each token's `kid` names the key that signed it, so keys can rotate with two valid at once.

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

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
pub struct TokenKeys {
    keys: Vec<Key>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("TokenKeys").field("kids", &kids).finish()
    }
}

/// A shorter secret would make HS256 guessable.
const MIN_SECRET_BYTES: usize = 32;

impl TokenKeys {
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

    /// Verifies a token's algorithm, key, signature and expiry, and reads its claims as `T`; a
    /// token of another kind does not read as `T`.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
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

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenKeys::parse("k=short").is_err());
        assert!(TokenKeys::parse("").is_err());
    }
}
