//! What the SIP plane reads and writes about SIP accounts: the login of a
//! registering or calling phone, its registration bindings (kept across restarts), and
//! the live `is_online` / `user_agent` state. Live state is not a change by
//! anyone, so it is not audited.

use crate::{Result, Store};
use sqlx::Row as _;

/// A SIP account as the registrar and call handling need it.
#[derive(Debug, Clone)]
pub struct SipLogin {
    pub id: i64,
    pub customer_id: i64,
    pub username: String,
    pub password: String,
    pub caller_id_name: Option<String>,
    pub allow_external_calls: bool,
    /// The extension other accounts of the customer dial.
    pub internal_caller_id: Option<String>,
    pub external_caller_id: Option<String>,
}

const LOGIN_COLUMNS: &str =
    "id, customer_id, username, password, caller_id_name, allow_external_calls, internal_caller_id, external_caller_id";

fn login(r: &crate::Row) -> Result<SipLogin> {
    Ok(SipLogin {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        username: r.try_get("username")?,
        password: r.try_get("password")?,
        caller_id_name: r.try_get("caller_id_name")?,
        allow_external_calls: crate::sql::decode(r, "allow_external_calls", domain::schema::Storage::Bool)?.as_bool().unwrap_or(false),
        internal_caller_id: r.try_get("internal_caller_id")?,
        external_caller_id: r.try_get("external_caller_id")?,
    })
}

impl Store {
    /// The SIP account with this username, if any.
    pub async fn sip_login(&self, username: &str) -> Result<Option<SipLogin>> {
        let sql = format!("SELECT {LOGIN_COLUMNS} FROM sip_accounts WHERE username = $1");
        sqlx::query(&sql).bind(username).fetch_optional(&self.pool).await?.as_ref().map(login).transpose()
    }

    /// The SIP account of `customer` whose extension is `extension`, if any.
    pub async fn sip_extension(&self, customer: i64, extension: &str) -> Result<Option<SipLogin>> {
        let sql = format!("SELECT {LOGIN_COLUMNS} FROM sip_accounts WHERE customer_id = $1 AND internal_caller_id = $2");
        sqlx::query(&sql).bind(customer).bind(extension).fetch_optional(&self.pool).await?.as_ref().map(login).transpose()
    }

    /// Every SIP account, for the registrar's in-memory cache.
    pub async fn sip_logins(&self) -> Result<Vec<SipLogin>> {
        let sql = format!("SELECT {LOGIN_COLUMNS} FROM sip_accounts");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(login).collect()
    }

    /// Marks every account offline but those given (at start, after the
    /// bindings that survived the restart were loaded).
    pub async fn reset_presence(&self, online: &[i64]) -> Result<()> {
        let keep = if online.is_empty() { "0".to_owned() } else { online.iter().map(i64::to_string).collect::<Vec<_>>().join(",") };
        sqlx::query(&format!("UPDATE sip_accounts SET is_online = $1, user_agent = NULL WHERE is_online = $2 AND id NOT IN ({keep})"))
            .bind(false)
            .bind(true)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies binding and presence changes in order, in one transaction
    /// (the registrar writes behind the REGISTERs it answers, in batches).
    /// A run of saves becomes a few multi-row upserts: a statement per
    /// binding cost the registrar a thread hop each on SQLite.
    pub async fn write_bindings(&self, ops: &[BindingOp]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut run: Vec<&StoredBinding> = Vec::new();
        for op in ops {
            if let BindingOp::Save(b) = op {
                // One upsert may not touch a row twice (PostgreSQL refuses): the later save wins.
                run.retain(|r| (r.account, &r.contact) != (b.account, &b.contact));
                run.push(b);
                continue;
            }
            save_bindings(&mut tx, &run).await?;
            run.clear();
            match op {
                BindingOp::Save(_) => unreachable!("handled above"),
                BindingOp::Delete { account, contact: Some(c) } => {
                    sqlx::query("DELETE FROM sip_bindings WHERE sip_account_id = $1 AND contact = $2")
                        .bind(account)
                        .bind(c)
                        .execute(&mut *tx)
                        .await?;
                }
                BindingOp::Delete { account, contact: None } => {
                    sqlx::query("DELETE FROM sip_bindings WHERE sip_account_id = $1").bind(account).execute(&mut *tx).await?;
                }
                BindingOp::Presence { account, online, user_agent } => {
                    sqlx::query("UPDATE sip_accounts SET is_online = $1, user_agent = $2 WHERE id = $3")
                        .bind(*online)
                        .bind(user_agent.as_deref())
                        .bind(account)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        save_bindings(&mut tx, &run).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes bindings expired by `now_ms`.
    pub async fn purge_bindings(&self, now_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM sip_bindings WHERE expires_at <= $1").bind(now_ms).execute(&self.pool).await?;
        Ok(())
    }

    /// Drops bindings expired by `now_ms` and returns the rest.
    pub async fn live_bindings(&self, now_ms: i64) -> Result<Vec<StoredBinding>> {
        self.purge_bindings(now_ms).await?;
        let rows = sqlx::query(
            "SELECT sip_account_id, contact, expires_at, user_agent, source, transport, call_id, cseq, updated_at FROM sip_bindings",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredBinding {
                    account: r.try_get("sip_account_id")?,
                    contact: r.try_get("contact")?,
                    expires_at: r.try_get("expires_at")?,
                    user_agent: r.try_get("user_agent")?,
                    source: r.try_get("source")?,
                    transport: r.try_get("transport")?,
                    call_id: r.try_get("call_id")?,
                    cseq: r.try_get("cseq")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}

/// Upserts bindings, 40 rows (360 parameters) per statement: sqlx's SQLite
/// binding slows down more than linearly with the parameter count.
async fn save_bindings(tx: &mut sqlx::Transaction<'static, sqlx::Any>, rows: &[&StoredBinding]) -> Result<()> {
    for chunk in rows.chunks(40) {
        let mut sql = String::from(
            "INSERT INTO sip_bindings (sip_account_id, contact, expires_at, user_agent, source, transport, call_id, cseq, updated_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 9;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&(1..=9).map(|k| format!("${}", n + k)).collect::<Vec<_>>().join(", "));
            sql.push(')');
        }
        sql.push_str(
            " ON CONFLICT (sip_account_id, contact) DO UPDATE SET expires_at = excluded.expires_at, user_agent = excluded.user_agent, \
             source = excluded.source, transport = excluded.transport, call_id = excluded.call_id, cseq = excluded.cseq, \
             updated_at = excluded.updated_at",
        );
        let mut q = sqlx::query(&sql);
        for b in chunk {
            q = q
                .bind(b.account)
                .bind(&b.contact)
                .bind(b.expires_at)
                .bind(b.user_agent.as_deref())
                .bind(&b.source)
                .bind(&b.transport)
                .bind(&b.call_id)
                .bind(b.cseq)
                .bind(b.updated_at);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// One change to the stored bindings or to an account's live state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingOp {
    Save(StoredBinding),
    /// One contact of an account, or all of them.
    Delete {
        account: i64,
        contact: Option<String>,
    },
    /// Whether the account has a live registration, and its latest user agent.
    Presence {
        account: i64,
        online: bool,
        user_agent: Option<String>,
    },
}

/// A registration binding as stored (times in epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    pub account: i64,
    pub contact: String,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    /// `ip:port` the REGISTER came from.
    pub source: String,
    /// `udp` or `tcp`.
    pub transport: String,
    pub call_id: String,
    pub cseq: i64,
    pub updated_at: i64,
}
