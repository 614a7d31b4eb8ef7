//! The sandbox's HTTP surface: Dodo's routes (`routes`, behind `auth` and `fault_injection`),
//! Dodo's hosted pages (`hosted`: checkout, 3-D Secure), and the control API (`control`), over
//! the simulated world (`crate::world`). Errors are answered as Dodo answers them (`error`).

pub mod auth;
pub mod control;
pub mod error;
pub mod fault_injection;
pub mod hosted;
pub mod routes;
pub mod state;

use crate::world::seed::Seed;
use crate::world::World;
use axum::routing::{delete, get, post, put};
use axum::{middleware, Router};
use state::AppState;
use std::sync::Arc;
use std::time::Duration;

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

/// Builds the sandbox's router and state. `public_url` is the sandbox's own base URL, for the
/// links to its hosted pages.
pub fn build(config: SandboxConfig, public_url: &str) -> anyhow::Result<(Router, Arc<AppState>)> {
    let world = World::new(
        config.seed,
        config.webhook_url,
        &config.webhook_secret,
        config.webhook_time_scale,
        public_url,
    )?;
    let state = Arc::new(AppState {
        world,
        api_key: config.api_key,
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
        .route(
            "/refunds",
            post(routes::refunds::create).get(routes::refunds::list),
        )
        .route("/refunds/{refund_id}", get(routes::refunds::retrieve))
        .route("/checkouts", post(routes::checkouts::create))
        .route("/checkouts/{session_id}", get(routes::checkouts::retrieve))
        .route("/subscriptions", get(routes::subscriptions::list))
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
        .route(
            "/subscriptions/{subscription_id}/change-plan/scheduled",
            delete(routes::subscriptions::cancel_scheduled),
        )
        .route(
            "/subscriptions/{subscription_id}/update-payment-method",
            post(routes::subscriptions::update_payment_method),
        )
        // Outermost first: authentication, then faults (a fault never hides a 401).
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            fault_injection::inject,
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
        )
        .route("/hosted/payment-method/{update_id}", get(hosted::card_page))
        .route(
            "/hosted/payment-method/{update_id}/save",
            post(hosted::save_card),
        )
        .route(
            "/hosted/payment-method/{update_id}/save-declined",
            post(hosted::save_declined_card),
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
            ticker.world.process_due();
        }
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    ticking.abort();
    Ok(served?)
}
