//! Versioned schema migrations, one SQL file per version and backend,
//! embedded in the binary and applied in order inside a transaction each.

use crate::{Backend, Error, Result, Store};
use sqlx::{Connection, Executor, Row};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_sip_bindings.sql"),
        postgres: include_str!("../migrations/postgres/0002_sip_bindings.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_live_calls.sql"),
        postgres: include_str!("../migrations/postgres/0003_live_calls.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_ring_groups.sql"),
        postgres: include_str!("../migrations/postgres/0004_ring_groups.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_termination_live_calls.sql"),
        postgres: include_str!("../migrations/postgres/0005_termination_live_calls.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/sqlite/0006_incoming_global_tag.sql"),
        postgres: include_str!("../migrations/postgres/0006_incoming_global_tag.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("../migrations/sqlite/0007_ring_group_external_numbers.sql"),
        postgres: include_str!("../migrations/postgres/0007_ring_group_external_numbers.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("../migrations/sqlite/0008_trunk_allowed_sources.sql"),
        postgres: include_str!("../migrations/postgres/0008_trunk_allowed_sources.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../migrations/sqlite/0009_sip_timers.sql"),
        postgres: include_str!("../migrations/postgres/0009_sip_timers.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../migrations/sqlite/0010_trunk_credentials.sql"),
        postgres: include_str!("../migrations/postgres/0010_trunk_credentials.sql"),
    },
    Migration {
        version: 11,
        sqlite: include_str!("../migrations/sqlite/0011_live_call_nodes.sql"),
        postgres: include_str!("../migrations/postgres/0011_live_call_nodes.sql"),
    },
    Migration {
        version: 12,
        sqlite: include_str!("../migrations/sqlite/0012_fraud_limits.sql"),
        postgres: include_str!("../migrations/postgres/0012_fraud_limits.sql"),
    },
    Migration {
        version: 13,
        sqlite: include_str!("../migrations/sqlite/0013_capacity_groups.sql"),
        postgres: include_str!("../migrations/postgres/0013_capacity_groups.sql"),
    },
    Migration {
        version: 14,
        sqlite: include_str!("../migrations/sqlite/0014_server_header.sql"),
        postgres: include_str!("../migrations/postgres/0014_server_header.sql"),
    },
    Migration {
        version: 15,
        sqlite: include_str!("../migrations/sqlite/0015_tenant_ids.sql"),
        postgres: include_str!("../migrations/postgres/0015_tenant_ids.sql"),
    },
    Migration {
        version: 17,
        sqlite: include_str!("../migrations/sqlite/0017_ui_preferences.sql"),
        postgres: include_str!("../migrations/postgres/0017_ui_preferences.sql"),
    },
    Migration {
        version: 18,
        sqlite: include_str!("../migrations/sqlite/0018_picker_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0018_picker_indexes.sql"),
    },
    Migration {
        version: 19,
        sqlite: include_str!("../migrations/sqlite/0019_cdr_hourly.sql"),
        postgres: include_str!("../migrations/postgres/0019_cdr_hourly.sql"),
    },
];

/// Advisory lock key that serialises migration between nodes.
const LOCK_KEY: i64 = 727274;

pub(crate) async fn run(store: &Store) -> Result<()> {
    let _guard = store.write_lock.lock().await;
    if store.backend == Backend::Sqlite {
        return apply(store).await;
    }
    // Several nodes may start at once on one database. The advisory lock
    // belongs to a session, so it must be taken and released on one
    // connection; detached from the pool, it is closed (ending the session
    // and so the lock) if we fail or are cancelled before unlocking,
    // instead of going back to the pool still holding the lock.
    let mut conn = store.pool.acquire().await?.detach();
    sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY).execute(&mut conn).await?;
    let result = apply(store).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY).execute(&mut conn).await;
    let _ = conn.close().await;
    result?;
    unlocked?;
    Ok(())
}

async fn apply(store: &Store) -> Result<()> {
    // Inside the lock: concurrent CREATE TABLE IF NOT EXISTS can still fail
    // on PostgreSQL with a duplicate key in pg_type.
    store.pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)").await?;
    let current: i64 =
        sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").fetch_one(&store.pool).await?.try_get("v")?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let sql = match store.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let mut tx = store.begin_write().await?;
        let step = async {
            tx.execute(sqlx::raw_sql(sql)).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(m.version)
                .bind(domain::time::now_ms())
                .execute(&mut *tx)
                .await?;
            Ok::<_, sqlx::Error>(())
        };
        step.await.map_err(|source| Error::Migration { version: m.version, source })?;
        tx.commit().await?;
        tracing::info!(version = m.version, "applied migration");
    }
    Ok(())
}

/// Applies the migrations up to `version` on a bare pool, as an older
/// release left the database: for tests that migrate real data forward.
#[cfg(test)]
pub(crate) async fn apply_until(pool: &sqlx::AnyPool, backend: Backend, version: i64) {
    pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)").await.unwrap();
    for m in MIGRATIONS.iter().filter(|m| m.version <= version) {
        let sql = if backend == Backend::Sqlite { m.sqlite } else { m.postgres };
        pool.execute(sqlx::raw_sql(sql)).await.unwrap_or_else(|e| panic!("migration {}: {e}", m.version));
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)").bind(m.version).execute(pool).await.unwrap();
    }
}
