//! The simulated Dodo: what exists (customers, saved cards, products, payments, checkouts,
//! subscriptions, refunds: `store`, from a `seed`), what happens to it (charging a card:
//! `charges` and `cart`; changing a plan: `plan_change`, `proration`; a subscriber's new card:
//! `payment_method_update`), on its own `clock`, the
//! webhooks it sends (`webhooks`), the shapes Dodo shows it in (`dodo_json`), the faults it is
//! told to have (`faults`) and how it refuses (`refusal`). It knows nothing of HTTP.

pub mod cart;
pub mod charges;
pub mod clock;
pub mod dodo_json;
pub mod faults;
pub mod payment_method_update;
pub mod plan_change;
pub mod proration;
pub mod refusal;
pub mod seed;
pub mod store;
pub mod webhooks;

use clock::Clock;
use faults::Faults;
use refusal::{Refusal, RefusalKind};
use seed::Seed;
use std::sync::{Arc, Mutex, MutexGuard};
use store::{parse_time, Event, Store};
use time::OffsetDateTime;
use webhooks::{WebhookSender, WebhookSettings};

/// The world and what acts on it.
pub struct World {
    pub store: Arc<Mutex<Store>>,
    /// The seed the sandbox started from, for `POST /_sandbox/reset`.
    pub seed: Mutex<Seed>,
    pub webhooks: Arc<WebhookSender>,
    pub clock: Clock,
    pub faults: Faults,
    pub started_at: OffsetDateTime,
    /// The sandbox's own base URL, for the links to its hosted pages.
    pub public_url: String,
}

impl World {
    /// The world `seed` describes; its webhooks go to `webhook_url`, signed with
    /// `webhook_secret`, their retries `time_scale` times Dodo's schedule.
    pub fn new(
        seed: Seed,
        webhook_url: Option<String>,
        webhook_secret: &str,
        time_scale: f64,
        public_url: &str,
    ) -> anyhow::Result<World> {
        let start = seed.clock_start.as_deref().map(parse_time).transpose()?;
        let clock = Clock::new(start);
        let store = Arc::new(Mutex::new(Store::from_seed(
            &seed,
            clock.now(),
            public_url,
        )?));
        let webhooks = Arc::new(WebhookSender::new(
            WebhookSettings {
                endpoint: webhook_url,
                ..WebhookSettings::default()
            },
            webhook_secret,
            time_scale,
            Arc::clone(&store),
        )?);
        Ok(World {
            store,
            faults: Faults::new(seed.faults.clone())?,
            seed: Mutex::new(seed),
            webhooks,
            clock,
            started_at: OffsetDateTime::now_utc(),
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// The store, for one request's reading and changing.
    pub fn lock(&self) -> Result<MutexGuard<'_, Store>, Refusal> {
        self.store.lock().map_err(|_| {
            Refusal::new(
                RefusalKind::Internal,
                "INTERNAL_SERVER_ERROR",
                "sandbox state is poisoned",
            )
        })
    }

    /// Sends events produced while the store was locked.
    pub fn send_events(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let business_id = self
            .lock()
            .map(|s| s.business_id.clone())
            .unwrap_or_default();
        let now = self.clock.now();
        for event in events {
            self.webhooks
                .send(&business_id, event.event_type, event.data, now);
        }
    }

    /// Applies everything due by the clock's reading: settled payments, renewals.
    pub fn process_due(&self) {
        let now = self.clock.now();
        let events = match self.lock() {
            Ok(mut store) => charges::process_due(&mut store, now),
            Err(_) => return,
        };
        self.send_events(events);
    }

    /// Rebuilds the world from `seed`.
    pub fn reset_to(&self, seed: Seed) -> anyhow::Result<()> {
        let start = seed.clock_start.as_deref().map(parse_time).transpose()?;
        let store = Store::from_seed(
            &seed,
            start.unwrap_or_else(OffsetDateTime::now_utc),
            &self.public_url,
        )?;
        self.faults.replace(seed.faults.clone())?;
        self.clock.reset(start);
        *self.lock().map_err(|e| anyhow::anyhow!(e.message))? = store;
        if let Ok(mut current) = self.seed.lock() {
            *current = seed;
        }
        Ok(())
    }
}
