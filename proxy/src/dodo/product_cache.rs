//! A short-lived cache of Dodo products. Every offer lookup shows the offered products' names,
//! images and prices; reading them from Dodo each time would add a round trip per product to the
//! thank-you page for data that changes when the merchant edits their catalogue, not per
//! customer. Products only: a purchase's payment and its customer's cards are always read fresh.
//!
//! A price edited in Dodo reaches new offers within `PRODUCT_TTL`. Dodo charges a product's
//! price as it stands at the charge, so before charging, `charge` reads the product fresh and
//! refuses (`price_changed`, nothing charged) when it is no longer the price the customer saw,
//! which the offer's signed token carries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a product read from Dodo is reused.
pub const PRODUCT_TTL: Duration = Duration::from_secs(60);

/// Values by key, each kept for `ttl` after it was read.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key` if it was stored less than `ttl` before `now`.
    pub fn get(&self, key: &str, now: Instant) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(stored_at, _)| now.saturating_duration_since(*stored_at) < self.ttl)
            .map(|(_, value)| value.clone())
    }

    /// Stores `value` for `key`, read at `now`. Expired entries go at the same time, so the map
    /// holds at most the keys read within one `ttl` (the products of the offers file).
    pub fn put(&self, key: &str, value: V, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let ttl = self.ttl;
        entries.retain(|_, (stored_at, _)| now.saturating_duration_since(*stored_at) < ttl);
        entries.insert(key.to_string(), (now, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_reused_until_its_time_is_up_then_read_again() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(cache.get("prod_a", start), None);
        cache.put("prod_a", 2500, start);
        assert_eq!(
            cache.get("prod_a", start + Duration::from_secs(59)),
            Some(2500)
        );
        assert_eq!(cache.get("prod_a", start + Duration::from_secs(60)), None);
        assert_eq!(cache.get("prod_b", start), None);
    }

    #[test]
    fn expired_entries_are_dropped_when_another_is_stored() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let start = Instant::now();
        cache.put("prod_a", 1, start);
        cache.put("prod_b", 2, start + Duration::from_secs(61));
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries.contains_key("prod_b"));
    }
}
