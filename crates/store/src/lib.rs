//! Switchboard's store of record: one API over SQLite (default, a file in WAL
//! mode) and PostgreSQL, with versioned migrations for each. Lists are built
//! from the resource schema of the `domain` crate, so filters, sorting and
//! paging work the same for every object and both backends.
//!
//! Every read and write of tenant data takes a [`Scope`]: the rows it may
//! see (`domain::access`) become a condition of the SQL itself, so a
//! cross-tenant read cannot be written by accident.

mod audit;
pub mod auth;
pub mod cdr;
pub mod dependants;
pub mod directory;
mod error;
mod migrate;
pub mod prefs;
pub mod presence;
pub mod query;
mod record;
pub mod routing;
pub mod row;
mod rules;
mod sql;
pub mod testing;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;

pub use domain::access::{Actor, Scope};
pub use error::{Error, Result};
pub use query::{Cond, Cursor, ListPage, ListQuery, Op};
pub use record::{Input, Record, RelInput};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Serialises writes: SQLite has one writer anyway, and holding it here
    /// avoids SQLITE_BUSY on lock upgrades; limit checks stay race-free.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Every committed change, for in-memory caches (the SIP plane's
    /// accounts) to drop what went stale.
    changes: tokio::sync::broadcast::Sender<Change>,
}

/// A committed create, update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The resource's JSON:API type.
    pub kind: &'static str,
    pub id: i64,
}

impl Store {
    /// Opens (and on first use creates) the database at `url` and brings
    /// its schema up to date. `sqlite://path`, a bare path, or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url);
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                options
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(&url).await?,
        };
        let store =
            Store { pool, backend, write_lock: Arc::new(tokio::sync::Mutex::new(())), changes: tokio::sync::broadcast::channel(1024).0 };
        migrate::run(&store).await?;
        rules::ensure_settings(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Committed changes from now on. A receiver that falls behind gets
    /// `Lagged` and should drop its whole cache.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// A write transaction. On SQLite it takes the write lock at BEGIN
    /// (IMMEDIATE): a deferred transaction that reads first and then writes
    /// fails at once with "database is locked" when another connection is
    /// still rolling back, instead of waiting in the busy handler.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub(crate) fn changed(&self, kind: &'static str, id: i64) {
        // No receiver is fine: nothing caches.
        let _ = self.changes.send(Change { kind, id });
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Accepts `postgres://`, `postgresql://`, `sqlite:` URLs and bare file paths.
fn normalise_url(url: &str) -> (Backend, String) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return (Backend::Postgres, url.to_owned());
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let sep = if path.contains('?') { '&' } else { '?' };
    let mode = if path.contains("mode=") { String::new() } else { format!("{sep}mode=rwc") };
    (Backend::Sqlite, format!("sqlite://{path}{mode}"))
}

pub(crate) type Row = AnyRow;

#[cfg(test)]
mod tests;
