//! What deleting a record does to the records that refer to it, read from
//! the schema's relationships, so a delete confirmation can tell the truth
//! before anything is removed. The effects mirror how the store deletes
//! (`rules.rs` and the migrations' foreign keys): a record's `customer`
//! goes with it (ON DELETE CASCADE), a to-many list drops the id, an
//! optional link is cleared, and a required link other than `customer`
//! (a route's gateway) refuses the delete. CDRs and the audit log keep
//! their ids of the past and are not dependants.

use crate::record::parse_id_list;
use crate::{Result, Store};
use domain::schema::{self, Rel, Resource};
use sqlx::Row as _;

/// What a delete does to one kind of dependant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Deleted together with the record.
    Deleted,
    /// The link to the record is cleared; the dependant stays.
    Cleared,
    /// The record is taken out of the dependant's list (a ring group's members).
    Removed,
    /// The delete is refused while these exist.
    Blocks,
}

/// The records of one resource that refer to the deleted one through one relationship.
#[derive(Debug, Clone)]
pub struct Dependant {
    pub res: &'static Resource,
    pub rel: &'static Rel,
    pub effect: Effect,
    pub count: i64,
    /// The first few, by id: (id, name; empty when the resource has none).
    pub names: Vec<(i64, String)>,
}

/// How many dependants of one kind are named.
pub const NAMED: usize = 5;

fn effect(rel: &Rel) -> Effect {
    if rel.many {
        Effect::Removed
    } else if rel.name == "customer" {
        Effect::Deleted
    } else if rel.required {
        Effect::Blocks
    } else {
        Effect::Cleared
    }
}

/// The column that names a record in a confirmation, if the resource has one.
fn name_column(res: &Resource) -> Option<&'static str> {
    ["name", "username", "number"].into_iter().find_map(|n| res.field(n).map(|f| f.column))
}

/// The query with its parameters: PostgreSQL refuses one the statement does not use.
fn bound<'q>(sql: &'q str, id: i64, kind: Option<&'q str>) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let q = sqlx::query(sql).bind(id);
    match kind {
        Some(k) => q.bind(k),
        None => q,
    }
}

impl Store {
    /// Every kind of record that deleting record `id` of `res` would delete,
    /// change or be refused by, with how many and the first few names.
    pub async fn dependants(&self, res: &'static Resource, id: i64) -> Result<Vec<Dependant>> {
        let mut out = Vec::new();
        for from in schema::RESOURCES.iter().copied().filter(|r| !r.cdr && r.kind != "audit_log") {
            for rel in from.rels.iter().filter(|r| r.targets.contains(&res.kind)) {
                let name = name_column(from);
                let select = format!("SELECT id{} FROM {}", name.map_or(String::new(), |n| format!(", {n} AS name")), from.table);
                let names_of = |row: &sqlx::any::AnyRow| -> Result<(i64, String)> {
                    let name = match name {
                        Some(_) => row.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
                        None => String::new(),
                    };
                    Ok((row.try_get("id")?, name))
                };
                let (count, names) = if rel.many {
                    // Id lists are text: read them and look inside.
                    let sql = format!(
                        "SELECT id{}, {} AS list FROM {} ORDER BY id",
                        name.map_or(String::new(), |n| format!(", {n} AS name")),
                        rel.column,
                        from.table
                    );
                    let mut hits = Vec::new();
                    for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                        let list: Option<String> = row.try_get("list")?;
                        if list.as_deref().is_some_and(|l| parse_id_list(l).any(|m| m == id)) {
                            hits.push(names_of(&row)?);
                        }
                    }
                    let n = hits.len() as i64;
                    hits.truncate(NAMED);
                    (n, hits)
                } else {
                    let mut cond = format!(" WHERE {} = $1", rel.column);
                    if let Some(t) = rel.type_column {
                        cond.push_str(&format!(" AND {t} = $2"));
                    }
                    let count_sql = format!("SELECT COUNT(*) AS n FROM {}{cond}", from.table);
                    let kind = rel.type_column.map(|_| res.kind);
                    let n: i64 = bound(&count_sql, id, kind).fetch_one(&self.pool).await?.try_get("n")?;
                    let list_sql = format!("{select}{cond} ORDER BY id LIMIT {NAMED}");
                    let rows = if n > 0 { bound(&list_sql, id, kind).fetch_all(&self.pool).await? } else { Vec::new() };
                    (n, rows.iter().map(names_of).collect::<Result<Vec<_>>>()?)
                };
                if count > 0 {
                    out.push(Dependant { res: from, rel, effect: effect(rel), count, names });
                }
            }
        }
        Ok(out)
    }
}
