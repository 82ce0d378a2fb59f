//! Fresh, throw-away stores for tests: a temporary SQLite file always, and a
//! new PostgreSQL database when `SWITCHBOARD_TEST_POSTGRES_URL` names a
//! server (CI sets it, so both backends run on every CI run).

use crate::Store;
use sqlx::{Connection, Executor};

pub const POSTGRES_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";
/// Set (by CI) to make a missing PostgreSQL URL an error, not a skip.
pub const REQUIRE_POSTGRES_ENV: &str = "SWITCHBOARD_REQUIRE_POSTGRES";

/// Removes the database when dropped.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside a runtime; do the async cleanup on its own thread.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async {
                        let mut c = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                        c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()
                    })
                })
                .join();
            }
        }
    }
}

/// A fresh SQLite store in a temporary file.
pub async fn sqlite() -> (Store, TestDb) {
    let path = std::env::temp_dir().join(format!("switchboard-test-{}.db", crate::auth::random_token(12)));
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.expect("open sqlite test store");
    (store, TestDb { url, cleanup: Cleanup::File(path) })
}

/// A fresh PostgreSQL store in a new database, if a server is configured.
pub async fn postgres() -> Option<(Store, TestDb)> {
    let db = postgres_database().await?;
    let store = Store::connect(&db.url).await.expect("open postgres test store");
    Some((store, db))
}

/// A new, empty PostgreSQL database (no schema yet), if a server is
/// configured: for tests of what happens before and during migration.
pub async fn postgres_database() -> Option<TestDb> {
    let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
    sqlx::any::install_default_drivers();
    let name = format!("sbt_{}", crate::auth::random_token(12).to_ascii_lowercase());
    let mut c = sqlx::AnyConnection::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
    c.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
    let url = with_database(&admin_url, &name);
    Some(TestDb { url, cleanup: Cleanup::Database { admin_url, name } })
}

/// Panics when CI requires PostgreSQL but none is configured; otherwise notes the skip.
pub fn postgres_missing() {
    if std::env::var_os(REQUIRE_POSTGRES_ENV).is_some() {
        panic!("{REQUIRE_POSTGRES_ENV} is set but {POSTGRES_ENV} is not");
    }
    eprintln!("note: {POSTGRES_ENV} is not set; PostgreSQL is not tested in this run");
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Inserts SIP accounts `{prefix}{i:06}` for `i` in `from..=to` of
/// `customer` in one statement: volume for search and paging tests (a
/// hundred thousand in seconds, where one create per row takes minutes).
/// Bypasses the rules, the audit log and the change feed.
pub async fn bulk_sip_accounts(store: &Store, customer: i64, prefix: &str, from: i64, to: i64) -> crate::Result<()> {
    assert!(prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "a plain prefix");
    let sql = match store.backend() {
        crate::Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {to}) \
             INSERT INTO sip_accounts (customer_id, username, password, created_at) \
             SELECT {customer}, '{prefix}' || printf('%06d', i), 'bulk', 0 FROM n"
        ),
        crate::Backend::Postgres => format!(
            "INSERT INTO sip_accounts (customer_id, username, password, created_at) \
             SELECT {customer}, '{prefix}' || lpad(i::text, 6, '0'), 'bulk', 0 FROM generate_series({from}, {to}) AS i"
        ),
    };
    store.pool().execute(sql.as_str()).await?;
    Ok(())
}

/// Every backend available here: SQLite always, PostgreSQL when configured.
pub async fn stores() -> Vec<(&'static str, Store, TestDb)> {
    let mut out = Vec::new();
    let (s, d) = sqlite().await;
    out.push(("sqlite", s, d));
    match postgres().await {
        Some((s, d)) => out.push(("postgres", s, d)),
        None => postgres_missing(),
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn swaps_database_name() {
        assert_eq!(super::with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(super::with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(super::with_database("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    }
}
