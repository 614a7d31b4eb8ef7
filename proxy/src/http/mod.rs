//! The web layer: the proxy as an axum application. Its configuration, the state every handler
//! shares (`state`), the routes (`routes`: small handlers that call the product's concerns),
//! errors as `{code, message}` responses (`error`, the one place the concerns' errors become
//! HTTP, and `refusals`, which gives every other refusal the same shape), rate limits,
//! metrics, the report's admin token, the widget's files, and the background reconciliation
//! (`background`). Nothing below this layer imports it.

pub mod admin_auth;
pub mod admin_token;
pub mod background;
pub mod customer_locale;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod offers_reload;
pub mod rate_limit;
pub mod refusals;
pub mod routes;
pub mod state;
pub mod widget_files;

use crate::charging::Charging;
use crate::dodo::DodoApi;
use crate::offers::Offers;
use crate::plan_changes::PlanChanges;
use crate::rules::{LiveRules, OfferRules};
use crate::storage::Storage;
use crate::tokens::TokenKeys;
use admin_token::AdminToken;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::routing::{get, post};
pub use axum::Router;
use metrics::Metrics;
use rate_limit::{Rate, RateLimits};
use standardwebhooks::Webhook;
use state::AppState;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use upsell_wire::paths;

/// Everything the proxy needs to run; secrets come from the environment (see `main.rs`).
#[derive(Debug)]
pub struct ProxyConfig {
    /// `https://test.dodopayments.com`, `https://live.dodopayments.com`, or the sandbox.
    pub dodo_base_url: String,
    pub dodo_api_key: String,
    /// `whsec_…` secret of the Dodo webhook endpoint.
    pub webhook_secret: String,
    pub token_keys: TokenKeys,
    pub rules: OfferRules,
    /// `sqlite://upsell.db` (created if missing) or `sqlite::memory:`.
    pub database_url: String,
    /// Origins of the merchant's pages that may call the API from a browser.
    pub allowed_origins: Vec<String>,
    /// A folder of static files served at `/` (the built widget, and in the demo its page).
    pub widget_dir: Option<PathBuf>,
    /// Limit on every call to Dodo.
    pub upstream_timeout: Duration,
    /// How long a charge whose answer was lost may still appear at Dodo; after it, a charge
    /// that cannot be found never happened. Longer than `upstream_timeout`.
    pub reconcile_grace: Duration,
    /// How long a plan change waits for its customer's 3-D Secure (see `PlanChanges`).
    pub plan_change_action_timeout: Duration,
    /// How often accepts in flight are reconciled (also once at start-up).
    pub reconcile_every: Duration,
    /// How often Dodo's recent payments and refunds are swept for what webhooks missed.
    pub sweep_every: Duration,
    /// Requests per client IP address, on every API route.
    pub rate_per_client: Rate,
    /// Accepts and declines per offer token.
    pub rate_per_token: Rate,
    /// Key the per-client limit by `X-Forwarded-For` (behind a load balancer only).
    pub trust_forwarded_for: bool,
    /// Opens the report (`GET /v1/report`, `/report`); without it the report is off.
    pub admin_token: Option<AdminToken>,
    /// Strict mode: offers only for a payment the merchant's purchase token names, so that a
    /// thank-you page's URL alone opens nothing (see `offers::purchase_token`).
    pub require_purchase_token: bool,
    /// The offers file `rules` came from: reloaded on SIGHUP and when it changes (see
    /// `offers_reload`). `None`: the rules stay as given.
    pub offers_file: Option<offers_reload::OffersFile>,
}

/// The report as JSON, and as a page for people (both behind the admin token).
pub const REPORT: &str = "/v1/report";
pub const REPORT_PAGE: &str = "/report";

/// Request bodies are small JSON documents; anything larger is refused before it is read.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Builds the router, opening the database and checking the configuration.
pub async fn router(config: ProxyConfig) -> anyhow::Result<Router> {
    let dodo = DodoApi::new(
        &config.dodo_base_url,
        &config.dodo_api_key,
        config.upstream_timeout,
    )?;
    let storage = Storage::open(&config.database_url).await?;
    let webhook_verifier = Webhook::new(&config.webhook_secret)
        .map_err(|e| anyhow::anyhow!("the webhook secret must be whsec_<base64>: {e}"))?;
    let rules = LiveRules::new(config.rules);
    let keys = Arc::new(config.token_keys);
    let state = Arc::new(AppState {
        offers: Offers {
            dodo: dodo.clone(),
            storage: storage.clone(),
            rules: rules.clone(),
            keys: Arc::clone(&keys),
            require_purchase_token: config.require_purchase_token,
            allocator: Arc::default(),
        },
        charging: Charging {
            dodo: dodo.clone(),
            storage: storage.clone(),
            grace: config.reconcile_grace,
            rules: rules.clone(),
        },
        plan_changes: PlanChanges {
            dodo,
            storage: storage.clone(),
            rules: rules.clone(),
            keys: Arc::clone(&keys),
            grace: config.reconcile_grace,
            action_timeout: config.plan_change_action_timeout,
        },
        rules,
        keys,
        storage,
        webhook_verifier,
        allowed_origins: config.allowed_origins.clone(),
        limits: RateLimits::new(
            config.rate_per_client,
            config.rate_per_token,
            config.trust_forwarded_for,
        ),
        metrics: Metrics::new()?,
        admin_token: config.admin_token,
    });
    // Reconciles what an earlier run left in flight, then keeps watching.
    background::spawn(Arc::clone(&state), config.reconcile_every);
    background::spawn_sweeps(Arc::clone(&state), config.sweep_every);
    if let Some(file) = config.offers_file.clone() {
        offers_reload::spawn(Arc::clone(&state), file)?;
    }

    let origins = config
        .allowed_origins
        .iter()
        .map(|o| HeaderValue::from_str(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("an allowed origin is not a valid header value: {e}"))?;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);

    let api = Router::new()
        .route(paths::OFFERS, get(routes::offers::list))
        .route(paths::ACCEPT, post(routes::accept::accept))
        .route(paths::DECLINE, post(routes::decline::decline))
        .route(paths::IMPRESSION, post(routes::impressions::record))
        .route(paths::WIDGET_ERRORS, post(routes::widget_errors::record))
        .route(paths::CHECKOUT, post(routes::checkout::checkout))
        .route(paths::PLAN_CHANGES, get(routes::plan_changes::list))
        .route(
            paths::PLAN_CHANGE_PREVIEW,
            post(routes::plan_changes::preview),
        )
        .route(
            paths::PLAN_CHANGE_CONFIRM,
            post(routes::plan_changes::confirm),
        )
        .route(
            paths::PLAN_CHANGE_WITHDRAW,
            post(routes::plan_changes::withdraw),
        )
        .route(
            &format!("{}/{{change_ref}}", paths::PLAN_CHANGE_STATUS),
            get(routes::plan_changes::status),
        )
        .route(
            &format!("{}/{{accept_id}}", paths::ACCEPTS),
            get(routes::accept::status),
        )
        // The report is rate limited too: it is guarded by a token that could be guessed at.
        .route(REPORT, get(routes::report::json))
        .route(REPORT_PAGE, get(routes::report::page))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            middleware::per_client,
        ))
        // Not rate limited: health checks, and Dodo's webhooks (verified, and dropping one
        // would lose the truth).
        .route("/healthz", get(routes::health::healthz))
        .route("/webhooks/dodo", post(routes::dodo_webhooks::receive))
        .route("/metrics", get(routes::metrics::render))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            middleware::observe,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    let app = match config.widget_dir {
        Some(dir) => api.fallback_service(widget_files::service(&dir)),
        None => api.fallback(routes::not_found),
    }
    .method_not_allowed_fallback(routes::method_not_allowed);
    // Around everything, so that no refusal, whoever makes it, leaves in another shape.
    Ok(app
        .layer(axum::middleware::from_fn(refusals::as_json))
        .layer(cors))
}

/// Serves the proxy on `listener` until `shutdown` completes, finishing requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: ProxyConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(config).await?;
    serve_router(listener, app, shutdown).await?;
    Ok(())
}

/// Serves an already built router (see [`router`]) until `shutdown` completes.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The caller's address feeds the per-client rate limit.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
