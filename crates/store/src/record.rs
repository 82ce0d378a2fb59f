//! Records as the schema sees them: the columns of a resource, reading rows
//! into [`Record`]s, and the input of a create or update.

use crate::sql::{decode, Sql};
use crate::{Error, Result, Row, Scope};
use domain::access::Rows;
use domain::schema::{Field, Kind, Mode, Rel, Resource, Storage, Tenant};
use domain::Value;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::OnceLock;

/// One stored column of a resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub st: Storage,
}

/// The readable columns of a resource, in a fixed order: attributes (not
/// hashed secrets), then each relationship's id and type columns. Computed
/// once per resource: every row read uses it.
pub(crate) fn columns(res: &'static Resource) -> &'static [Column] {
    static CACHE: OnceLock<HashMap<&'static str, Vec<Column>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| domain::schema::RESOURCES.iter().map(|r| (r.kind, compute_columns(r))).collect());
    cache.get(res.kind).map(Vec::as_slice).expect("every resource is in RESOURCES")
}

fn compute_columns(res: &Resource) -> Vec<Column> {
    let mut cols: Vec<Column> =
        res.fields.iter().filter(|f| f.mode != Mode::Hashed).map(|f| Column { name: f.column, st: f.kind.storage() }).collect();
    for r in res.rels {
        cols.push(Column { name: r.column, st: if r.many { Storage::Text } else { Storage::Int } });
        if let Some(t) = r.type_column {
            cols.push(Column { name: t, st: Storage::Text });
        }
    }
    cols
}

pub(crate) fn select_list(res: &'static Resource) -> String {
    columns(res).iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// One stored object.
#[derive(Debug, Clone)]
pub struct Record {
    pub res: &'static Resource,
    cols: &'static [Column],
    values: Vec<Value>,
    /// A secret generated on create, answered once in the create response.
    pub generated: Option<(&'static str, String)>,
}

impl Record {
    /// `row` is selected with [`select_list`] of `res`, so position `i`
    /// is `columns(res)[i]` by construction; looking each cell up by name
    /// would cost a hash per cell on every list page.
    pub(crate) fn from_row(res: &'static Resource, row: &Row) -> Result<Record> {
        let cols = columns(res);
        let values = cols.iter().enumerate().map(|(i, c)| decode(row, i, c.st)).collect::<Result<_, _>>()?;
        Ok(Record { res, cols, values, generated: None })
    }

    pub fn id(&self) -> i64 {
        self.values[0].as_i64().unwrap_or_default()
    }

    /// The value of a column (`Null` for a column the resource lacks).
    pub fn get(&self, column: &str) -> &Value {
        self.cols.iter().position(|c| c.name == column).map_or(&Value::Null, |i| &self.values[i])
    }

    pub fn field(&self, f: &Field) -> &Value {
        self.get(f.column)
    }

    /// The related record's type and id, if set (`None` for a to-many
    /// relationship: see [`Record::rel_ids`]).
    pub fn rel(&self, r: &Rel) -> Option<(&str, i64)> {
        let id = self.get(r.column).as_i64()?;
        let kind = match r.type_column {
            Some(t) => self.get(t).as_str()?,
            None => r.targets[0],
        };
        Some((kind, id))
    }

    /// Every related (type, id), in order: the members of a to-many
    /// relationship, or the one target of a to-one.
    pub fn rel_ids(&self, r: &Rel) -> Vec<(&str, i64)> {
        if r.many {
            let list = self.get(r.column).as_str().unwrap_or_default();
            return parse_id_list(list).map(|id| (r.targets[0], id)).collect();
        }
        self.rel(r).into_iter().collect()
    }

    pub fn customer_id(&self) -> Option<i64> {
        match self.res.tenant {
            Tenant::Own => Some(self.id()),
            _ => self.get("customer_id").as_i64(),
        }
    }

    pub(crate) fn set(&mut self, column: &str, v: Value) {
        if let Some(i) = self.cols.iter().position(|c| c.name == column) {
            self.values[i] = v;
        }
    }

    /// A flat JSON object of the record for the audit log; secrets masked.
    pub fn audit_json(&self) -> Json {
        let mut m = Map::new();
        for (c, v) in self.cols.iter().zip(&self.values) {
            let secret = self.res.fields.iter().any(|f| f.column == c.name && f.kind == Kind::Secret);
            let j = if secret && !v.is_null() { Json::from("***") } else { v.to_plain_json() };
            m.insert(c.name.to_owned(), j);
        }
        Json::Object(m)
    }
}

impl domain::access::Row for Record {
    fn value(&self, column: &str) -> &Value {
        self.get(column)
    }
}

/// Ids of a to-many relationship as stored: `"12,5,40"`. Anything that is
/// not a positive id is skipped (the store never writes such a thing).
pub fn parse_id_list(list: &str) -> impl Iterator<Item = i64> + '_ {
    list.split(',').filter_map(|s| s.trim().parse::<i64>().ok()).filter(|&id| id > 0)
}

/// The stored text of a to-many relationship.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// A relationship value in input: cleared, pointing at (type, id), or the
/// whole ordered list of a to-many relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelInput {
    None,
    To(&'static str, i64),
    Many(Vec<i64>),
}

/// Validated input of a create or update: attributes already parsed by
/// their kinds, relationship types already resolved.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub id: Option<i64>,
    pub attrs: Vec<(&'static Field, Value)>,
    pub rels: Vec<(&'static Rel, RelInput)>,
}

impl Input {
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attrs.iter().find(|(f, _)| f.name == name).map(|(_, v)| v)
    }

    pub fn with(mut self, res: &'static Resource, name: &str, v: impl Into<Value>) -> Self {
        let f = res.field(name).expect("known field");
        self.attrs.retain(|(x, _)| x.name != name);
        self.attrs.push((f, v.into()));
        self
    }

    pub fn with_rel(mut self, res: &'static Resource, name: &str, to: RelInput) -> Self {
        let r = res.rel(name).expect("known relationship");
        self.rels.retain(|(x, _)| x.name != name);
        self.rels.push((r, to));
        self
    }
}

/// Appends the condition of the rows `scope` sees (starting with `AND`).
pub(crate) fn tenant_cond(res: &Resource, scope: Scope, sql: &mut Sql) {
    match scope.rows(res) {
        Rows::All => {}
        Rows::Id(c) => {
            sql.push(" AND id = ").arg(Value::Int(c), Storage::Int);
        }
        Rows::OfCustomer(c) => {
            sql.push(" AND customer_id = ").arg(Value::Int(c), Storage::Int);
        }
        Rows::Nothing => {
            sql.push(" AND 1 = 0");
        }
    }
}

pub(crate) async fn fetch_one<'e, E>(exec: E, res: &'static Resource, scope: Scope, id: i64) -> Result<Record>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut sql = Sql::new(format!("SELECT {} FROM {} WHERE id = ", select_list(res), res.table));
    sql.arg(Value::Int(id), Storage::Int);
    tenant_cond(res, scope, &mut sql);
    let row = sql.query().fetch_optional(exec).await?.ok_or(Error::NotFound)?;
    Record::from_row(res, &row)
}
