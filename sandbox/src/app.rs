//! The sandbox as an axum application.

use crate::charges;
use crate::clock::Clock;
use crate::error::DodoError;
use crate::faults::Faults;
use crate::seed::Seed;
use crate::store::{parse_time, Event, Store};
use crate::webhooks::{WebhookSender, WebhookSettings};
use crate::{auth, control, faults, hosted, routes};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{middleware, Router};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub seed: Seed,
    /// The bearer key callers must present, like a Dodo API key.
    pub api_key: String,
    /// Where webhooks go; `None` sends none.
    pub webhook_url: Option<String>,
    /// `whsec_<base64>` secret the webhooks are signed with.
    pub webhook_secret: String,
    /// Multiplies webhook retry delays (1.0 is Dodo's schedule).
    pub webhook_time_scale: f64,
    /// Mounts the `/_sandbox/` control API.
    pub control_api: bool,
}

pub struct AppState {
    pub store: Arc<Mutex<Store>>,
    /// The seed the sandbox started from, for `POST /_sandbox/reset`.
    pub seed: Mutex<Seed>,
    pub api_key: String,
    pub webhooks: Arc<WebhookSender>,
    pub clock: Clock,
    pub faults: Faults,
    pub started_at: OffsetDateTime,
    pub public_url: String,
}

impl AppState {
    pub fn lock(&self) -> Result<MutexGuard<'_, Store>, DodoError> {
        self.store.lock().map_err(|_| {
            DodoError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
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

/// Builds the sandbox's router and state. `public_url` is the sandbox's own base URL, for the
/// links to its hosted pages.
pub fn build(config: SandboxConfig, public_url: &str) -> anyhow::Result<(Router, Arc<AppState>)> {
    let start = config
        .seed
        .clock_start
        .as_deref()
        .map(parse_time)
        .transpose()?;
    let clock = Clock::new(start);
    let store = Arc::new(Mutex::new(Store::from_seed(
        &config.seed,
        clock.now(),
        public_url,
    )?));
    let webhooks = Arc::new(WebhookSender::new(
        WebhookSettings {
            endpoint: config.webhook_url,
            ..WebhookSettings::default()
        },
        &config.webhook_secret,
        config.webhook_time_scale,
        Arc::clone(&store),
    )?);
    let state = Arc::new(AppState {
        store,
        faults: Faults::new(config.seed.faults.clone())?,
        seed: Mutex::new(config.seed),
        api_key: config.api_key,
        webhooks,
        clock,
        started_at: OffsetDateTime::now_utc(),
        public_url: public_url.trim_end_matches('/').to_string(),
    });
    let dodo = Router::new()
        .route(
            "/payments",
            post(routes::payments::create).get(routes::payments::list),
        )
        .route("/payments/{payment_id}", get(routes::payments::retrieve))
        .route(
            "/products/{product_id}",
            get(routes::products::retrieve).patch(routes::products::update),
        )
        .route(
            "/customers/{customer_id}/payment-methods",
            get(routes::customers::payment_methods),
        )
        .route("/refunds", post(routes::refunds::create))
        .route("/refunds/{refund_id}", get(routes::refunds::retrieve))
        .route("/checkouts", post(routes::checkouts::create))
        .route("/checkouts/{session_id}", get(routes::checkouts::retrieve))
        .route(
            "/subscriptions/{subscription_id}",
            get(routes::subscriptions::retrieve),
        )
        .route(
            "/subscriptions/{subscription_id}/change-plan",
            post(routes::subscriptions::change_plan),
        )
        .route(
            "/subscriptions/{subscription_id}/change-plan/preview",
            post(routes::subscriptions::preview),
        )
        // Outermost first: authentication, then faults (a fault never hides a 401).
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            faults::inject,
        ))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_api_key,
        ));
    let hosted_pages = Router::new()
        .route("/hosted/checkout/{session_id}", get(hosted::checkout_page))
        .route(
            "/hosted/checkout/{session_id}/pay",
            post(hosted::checkout_pay),
        )
        .route("/hosted/3ds/{payment_id}", get(hosted::three_ds_page))
        .route(
            "/hosted/3ds/{payment_id}/complete",
            post(hosted::three_ds_complete),
        )
        .route("/hosted/3ds/{payment_id}/fail", post(hosted::three_ds_fail))
        .route(
            "/hosted/pay/{payment_id}",
            get(hosted::pay_page).post(hosted::pay),
        );
    let mut app = dodo.merge(hosted_pages);
    if config.control_api {
        app = app.merge(
            Router::new()
                .route("/_sandbox/ledger", get(control::ledger))
                .route("/_sandbox/purchases", post(control::purchase))
                .route("/_sandbox/reset", post(control::reset))
                .route("/_sandbox/seed", put(control::replace_seed))
                .route(
                    "/_sandbox/faults",
                    get(control::faults).put(control::set_faults),
                )
                .route("/_sandbox/clock", get(control::clock))
                .route("/_sandbox/clock/advance", post(control::advance_clock))
                .route(
                    "/_sandbox/webhooks",
                    get(control::webhooks).put(control::set_webhooks),
                ),
        );
    }
    Ok((app.with_state(Arc::clone(&state)), state))
}

/// Serves the sandbox on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SandboxConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let public_url = format!("http://{}", listener.local_addr()?);
    let (app, state) = build(config, &public_url)?;
    // What comes due as real time passes (processing payments, renewals on a running clock).
    let ticker = Arc::clone(&state);
    let ticking = tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(250));
        loop {
            interval.tick().await;
            ticker.process_due();
        }
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    ticking.abort();
    Ok(served?)
}
