//! The audit log: every create, update and delete, by whom, with the record
//! before and after, written in the same transaction as the change.

use crate::record::Record;
use crate::sql::Sql;
use crate::{Actor, Result};
use domain::schema::Storage;
use domain::Value;

pub(crate) async fn write(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    actor: &Actor,
    action: &str,
    kind: &str,
    id: i64,
    before: Option<&Record>,
    after: Option<&Record>,
) -> Result<()> {
    let json = |r: Option<&Record>| Value::from(r.map(|r| r.audit_json().to_string()));
    entry(actor, action, kind, id, json(before), json(after)).query().execute(&mut **tx).await?;
    Ok(())
}

fn entry(actor: &Actor, action: &str, kind: &str, id: i64, before: Value, after: Value) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, resource_type, resource_id, before_json, after_json) VALUES (",
    );
    let values = [
        Value::Int(domain::time::now_ms()),
        actor.kind.into(),
        Value::Text(actor.id.clone()),
        Value::Text(actor.name.clone()),
        action.into(),
        kind.into(),
        Value::Text(id.to_string()),
        before,
        after,
    ];
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(v, if i == 0 { Storage::Int } else { Storage::Text });
    }
    sql.push(")");
    sql
}

impl crate::Store {
    /// Records an event that is not a row change (a session opened on a
    /// customer's behalf, say) in the audit log.
    pub async fn log_event(&self, actor: &Actor, action: &str, kind: &str, id: i64, detail: serde_json::Value) -> Result<()> {
        let sql = entry(actor, action, kind, id, Value::Null, Value::Text(detail.to_string()));
        sql.query().execute(&self.pool).await?;
        Ok(())
    }
}
