//! The sandbox as an axum application.

use crate::error::DodoError;
use crate::seed::Seed;
use crate::store::Store;
use crate::webhooks::WebhookSender;
use crate::{auth, control, routes};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{middleware, Router};
use std::sync::{Arc, Mutex, MutexGuard};
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
    pub api_key: String,
    pub webhooks: Arc<WebhookSender>,
    pub started_at: OffsetDateTime,
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
}

/// Builds the sandbox's router from its configuration.
pub fn router(config: SandboxConfig) -> anyhow::Result<Router> {
    let started_at = OffsetDateTime::now_utc();
    let store = Store::from_seed(&config.seed, started_at)?;
    let state = Arc::new(AppState {
        store: Arc::new(Mutex::new(store)),
        api_key: config.api_key,
        webhooks: Arc::new(WebhookSender::new(
            config.webhook_url,
            &config.webhook_secret,
            config.webhook_time_scale,
        )?),
        started_at,
    });
    let dodo = Router::new()
        .route("/payments/{payment_id}", get(routes::payments::retrieve))
        .route("/products/{product_id}", get(routes::products::retrieve))
        .route(
            "/customers/{customer_id}/payment-methods",
            get(routes::customers::payment_methods),
        )
        .route("/checkouts", post(routes::checkouts::create))
        .route("/checkouts/{session_id}", get(routes::checkouts::retrieve))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_api_key,
        ));
    let mut app = dodo;
    if config.control_api {
        app = app
            .route("/_sandbox/ledger", get(control::ledger))
            .route("/_sandbox/purchases", post(control::purchase));
    }
    Ok(app.with_state(state))
}

/// Serves the sandbox on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SandboxConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(config)?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
