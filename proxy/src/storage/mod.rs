//! Durable state, in SQLite (one file, no set-up) or PostgreSQL (several proxy instances behind a
//! load balancer), chosen by the URL: accepted offers and what else the customer did with a
//! purchase's offers (`accepts`), plan changes (`plan_changes`), the facts the report counts
//! (`offer_events`) and the webhooks already processed (`webhook_deliveries`). Migrations are
//! applied at start.
//!
//! The SQL is written once for both: `$N` placeholders, `BIGINT`, `ON CONFLICT DO NOTHING`.

pub mod accepts;
pub mod money;
pub mod offer_events;
pub mod offered_purchases;
pub mod plan_change_figures;
pub mod plan_change_withdrawals;
pub mod plan_changes;
pub mod variant_assignments;
pub mod webhook_deliveries;

pub use accepts::{Accept, AcceptState, BeginAccept, Failure, Settled};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

/// The proxy's database: a pool of connections, shared by every request.
#[derive(Clone)]
pub struct Storage {
    pool: AnyPool,
}

impl Storage {
    /// Opens the database at `url` and applies the migrations: `sqlite://path` (the file is
    /// created if missing), `sqlite::memory:`, or `postgres://user:password@host/db`.
    pub async fn open(url: &str) -> anyhow::Result<Storage> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !url.contains(":memory:") && !url.contains("mode=") {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}mode=rwc")
        } else {
            url.to_string()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        // One in-memory SQLite database is per connection, so it gets exactly one.
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sqlite {
                        // Readers never wait for the writer; writers wait their turn a while.
                        connection.execute("PRAGMA journal_mode = WAL").await?;
                        connection.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Storage { pool })
    }
}

/// The time stamps every table keeps (RFC 3339).
fn now() -> String {
    crate::clock::rfc3339(time::OffsetDateTime::now_utc())
}
