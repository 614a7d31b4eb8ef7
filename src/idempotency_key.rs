//! Idempotency keys: one per offer item or plan change shown, so that a repeated click or a
//! retried request is the same accept, never a second charge.

/// 128 random bits from the browser's CSPRNG, as hex. `crypto.getRandomValues` exists in every
/// browser that runs WebAssembly; should it fail, the token's signature (unique per offer shown)
/// serves, which keeps the one property that matters: one key per thing shown.
pub fn new_idempotency_key(token: &str) -> String {
    let mut bytes = [0u8; 16];
    let random = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if random {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        let signature = token.rsplit('.').next().unwrap_or(token);
        signature
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(64)
            .collect()
    }
}
