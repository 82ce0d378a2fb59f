//! Versioned schema migrations, one SQL file per version and backend,
//! embedded in the binary and applied in order inside a transaction each.

use crate::{Backend, Error, Result, Store};
use sqlx::{Executor, Row};

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
];

pub(crate) async fn run(store: &Store) -> Result<()> {
    let _guard = store.write_lock.lock().await;
    let pool = &store.pool;
    pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)").await?;
    if store.backend == Backend::Postgres {
        // Several nodes may start at once on one database.
        pool.execute("SELECT pg_advisory_lock(727274)").await?;
    }
    let result = apply(store).await;
    if store.backend == Backend::Postgres {
        pool.execute("SELECT pg_advisory_unlock(727274)").await?;
    }
    result
}

async fn apply(store: &Store) -> Result<()> {
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
