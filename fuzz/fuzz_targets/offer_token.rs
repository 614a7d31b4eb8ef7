//! Offer tokens come from the browser: any bytes must be refused or accepted, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use upsell_proxy::tokens::TokenKeys;

static KEYS: OnceLock<TokenKeys> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let keys = KEYS.get_or_init(|| {
        TokenKeys::parse(
            "new=fuzz-signing-key-0123456789abcdef012345,old=fuzz-older-key-0123456789abcdef0123456",
        )
        .expect("valid fuzz keys")
    });
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = keys.verify(text);
        // The key list itself comes from the environment: it must not panic either.
        let _ = TokenKeys::parse(text);
    }
});
