//! Webhooks come from the internet: headers and body are anyone's. The first three lines of the
//! input are `webhook-id`, `webhook-timestamp` and `webhook-signature`; the rest is the body.
//! Verification and parsing must never panic, and a body signed with the right secret, now,
//! must verify.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use standardwebhooks::Webhook;
use std::sync::OnceLock;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static VERIFIER: OnceLock<Webhook> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let verifier = VERIFIER.get_or_init(|| Webhook::new(SECRET).expect("valid secret"));
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let id = parts.next().unwrap_or_default();
    let timestamp = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("webhook-id", id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    // The proxy's own verification, as its webhook route calls it.
    let _ = upsell_proxy::dodo::webhooks::verify(verifier, body, &headers);
    let _ = upsell_proxy::dodo::webhooks::parse(body);

    // Signed properly, now: it verifies. (A webhook id is visible ASCII, as every header value
    // that can be read back: Dodo's are `msg_…`.)
    let readable_id = !id.is_empty() && id.iter().all(|b| (0x21..0x7f).contains(b));
    if let (true, Ok(id), Ok(_)) = (readable_id, std::str::from_utf8(id), std::str::from_utf8(body)) {
        if let Ok(id_header) = HeaderValue::from_str(id) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default();
            if let Ok(signed) = verifier.sign(id, now, body) {
                let mut good = HeaderMap::new();
                good.insert("webhook-id", id_header);
                good.insert("webhook-timestamp", HeaderValue::from(now));
                if let Ok(signature) = HeaderValue::from_str(&signed) {
                    good.insert("webhook-signature", signature);
                    assert!(
                        upsell_proxy::dodo::webhooks::verify(verifier, body, &good).is_ok(),
                        "a correct signature was refused"
                    );
                }
            }
        }
    }
});
