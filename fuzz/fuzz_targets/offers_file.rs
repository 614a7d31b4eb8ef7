//! The offers file is the merchant's: whatever it holds, the proxy refuses it with an error or
//! accepts it, and never panics at start.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upsell_proxy::rules::OfferRules;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = OfferRules::parse(text);
    }
});
