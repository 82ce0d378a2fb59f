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
    let mut sql = Sql::new("INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, resource_type, resource_id, before_json, after_json) VALUES (");
    sql.arg(Value::Int(domain::time::now_ms()), Storage::Int)
        .push(", ");
    sql.arg(actor.kind.into(), Storage::Text).push(", ");
    sql.arg(Value::Text(actor.id.clone()), Storage::Text)
        .push(", ");
    sql.arg(Value::Text(actor.name.clone()), Storage::Text)
        .push(", ");
    sql.arg(action.into(), Storage::Text).push(", ");
    sql.arg(kind.into(), Storage::Text).push(", ");
    sql.arg(Value::Text(id.to_string()), Storage::Text)
        .push(", ");
    sql.arg(json(before), Storage::Text).push(", ");
    sql.arg(json(after), Storage::Text).push(")");
    sql.query().execute(&mut **tx).await?;
    Ok(())
}
