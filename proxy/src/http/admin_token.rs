//! The admin token that opens the report (`GET /v1/report`, `/report`), from the environment
//! (`UPSELL_ADMIN_TOKEN`). A program sends it as `Authorization: Bearer <token>`; a person's
//! browser as HTTP Basic authentication with the token as the password (any user name), which
//! the browser asks for once and then sends with every request to the proxy.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shorter tokens would be guessable despite the rate limit.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The token, kept as its SHA-256 so that comparing takes the same time whatever is sent.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

impl AdminToken {
    pub fn parse(token: &str) -> anyhow::Result<AdminToken> {
        anyhow::ensure!(
            token.chars().count() >= MIN_TOKEN_CHARS,
            "the admin token must have at least {MIN_TOKEN_CHARS} characters"
        );
        Ok(AdminToken {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether the request's `Authorization` header carries the token.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        presented(headers).is_some_and(|sent| {
            let sent: [u8; 32] = Sha256::digest(sent.as_bytes()).into();
            bool::from(sent.ct_eq(&self.digest))
        })
    }
}

/// The token in `Bearer <token>`, or the password in `Basic base64(user:password)`.
fn presented(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text
            .split_once(':')
            .map(|(_, password)| password.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "admin-token-0123456789abcdef0123456789";

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization.parse().unwrap());
        headers
    }

    #[test]
    fn the_token_opens_as_bearer_or_as_a_basic_password_and_nothing_else_does() {
        let token = AdminToken::parse(TOKEN).unwrap();
        assert!(token.allows(&headers(&format!("Bearer {TOKEN}"))));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("admin:{TOKEN}"));
        assert!(token.allows(&headers(&format!("Basic {basic}"))));
        assert!(!token.allows(&headers(&format!("Bearer {TOKEN}x"))));
        assert!(!token.allows(&headers("Bearer ")));
        assert!(!token.allows(&headers("Basic !!!")));
        let user_only = base64::engine::general_purpose::STANDARD.encode(TOKEN);
        assert!(!token.allows(&headers(&format!("Basic {user_only}"))));
        assert!(!token.allows(&HeaderMap::new()));
    }

    #[test]
    fn a_short_token_is_refused_at_start() {
        assert!(AdminToken::parse("short").is_err());
    }
}
