//! What the SIP plane reads and writes about SIP accounts: the login of a
//! registering phone, and the live `is_online` / `user_agent` state. Live
//! state is not a change by anyone, so it is not audited.

use crate::{Result, Store};
use sqlx::Row as _;

/// A SIP account as the registrar needs it.
#[derive(Debug, Clone)]
pub struct SipLogin {
    pub id: i64,
    pub customer_id: i64,
    pub username: String,
    pub password: String,
}

impl Store {
    /// The SIP account with this username, if any.
    pub async fn sip_login(&self, username: &str) -> Result<Option<SipLogin>> {
        let row = sqlx::query("SELECT id, customer_id, username, password FROM sip_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(SipLogin { id: r.try_get(0)?, customer_id: r.try_get(1)?, username: r.try_get(2)?, password: r.try_get(3)? }))
            .transpose()
    }

    /// Records whether an account has a live registration and its latest
    /// user agent.
    pub async fn set_presence(&self, account: i64, online: bool, user_agent: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE sip_accounts SET is_online = $1, user_agent = $2 WHERE id = $3")
            .bind(online)
            .bind(user_agent)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks every account offline (at start: bindings are not yet kept
    /// across restarts).
    pub async fn clear_presence(&self) -> Result<()> {
        sqlx::query("UPDATE sip_accounts SET is_online = $1 WHERE is_online = $2").bind(false).bind(true).execute(&self.pool).await?;
        Ok(())
    }
}
