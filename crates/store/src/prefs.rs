//! Per-user UI preferences: one JSON object per signed-in identity
//! (`actor_type`, `actor_id`), read with each UI page (one primary-key
//! lookup) and changed one key at a time.

use crate::{Error, Result, Store};
use serde_json::{Map, Value as Json};
use sqlx::Row;

/// The longest preferences object kept: a list of column names per list
/// fits many times over; anything larger is a client's mistake.
const MAX_PREFS_LEN: usize = 16 * 1024;

impl Store {
    /// The preferences of one identity; empty when it has saved none.
    pub async fn ui_preferences(&self, actor_type: &str, actor_id: &str) -> Result<Map<String, Json>> {
        let row = sqlx::query("SELECT prefs FROM ui_preferences WHERE actor_type = $1 AND actor_id = $2")
            .bind(actor_type)
            .bind(actor_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(Map::new()) };
        let text: String = row.try_get("prefs")?;
        // A row that does not parse (written by hand) counts as no preferences.
        Ok(match serde_json::from_str(&text) {
            Ok(Json::Object(m)) => m,
            _ => Map::new(),
        })
    }

    /// Sets (or, with `None`, removes) one preference of an identity,
    /// keeping the others.
    pub async fn set_ui_preference(&self, actor_type: &str, actor_id: &str, key: &str, value: Option<Json>) -> Result<()> {
        let _guard = self.write_lock.lock().await;
        let mut prefs = self.ui_preferences(actor_type, actor_id).await?;
        match value {
            Some(v) => prefs.insert(key.to_owned(), v),
            None => prefs.remove(key),
        };
        let text = Json::Object(prefs).to_string();
        if text.len() > MAX_PREFS_LEN {
            return Err(Error::Refused(format!("the preferences are too large (over {MAX_PREFS_LEN} bytes)")));
        }
        sqlx::query(
            "INSERT INTO ui_preferences (actor_type, actor_id, prefs, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (actor_type, actor_id) DO UPDATE SET prefs = excluded.prefs, updated_at = excluded.updated_at",
        )
        .bind(actor_type)
        .bind(actor_id)
        .bind(text)
        .bind(domain::time::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
