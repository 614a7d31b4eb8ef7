//! A client's idempotency key (an accept's, a plan change's): a retry that sends the same key is
//! the same request.

/// Whether `key` may be one: 8 to 128 letters, digits, `-` or `_`.
pub fn is_well_formed(key: &str) -> bool {
    (8..=128).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
