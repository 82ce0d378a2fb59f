//! List queries: filter conditions, sorting, offset or keyset paging, and
//! streaming for exports. CDR tables are read by keyset (`time_start`, `id`)
//! so a page stays fast at tens of millions of rows.

use crate::record::{select_list, tenant_cond, Record};
use crate::sql::Sql;
use crate::{Backend, Result, Scope, Store};
use domain::schema::{Resource, Storage};
use domain::Value;
use futures_util::TryStreamExt;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    /// Any of the values.
    In,
    Contains,
    StartsWith,
    Gte,
    Lte,
    Gt,
    Lt,
    /// `IS NULL` (true) or `IS NOT NULL` (false).
    Null(bool),
    /// Equal to the value or NULL: a customer's own records and the shared
    /// ones it may reference (the relationship pickers).
    EqOrNull,
}

#[derive(Debug, Clone)]
pub struct Cond {
    pub column: &'static str,
    pub st: Storage,
    pub op: Op,
    pub values: Vec<Value>,
}

/// Where the next keyset page starts: just after the row with these sort
/// key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub value: Value,
    pub id: i64,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub conds: Vec<Cond>,
    /// (column, storage, descending); `id` is always the final tiebreak.
    pub sort: Vec<(&'static str, Storage, bool)>,
    pub offset: u64,
    pub limit: u64,
    /// Keyset paging; only with at most one sort column that is never NULL.
    pub after: Option<Cursor>,
    /// Whether to count all matching rows (not for CDRs).
    pub count: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { conds: Vec::new(), sort: Vec::new(), offset: 0, limit: 50, after: None, count: false }
    }
}

#[derive(Debug)]
pub struct ListPage {
    pub records: Vec<Record>,
    pub has_more: bool,
    pub total: Option<u64>,
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn where_clause(res: &Resource, backend: Backend, scope: Scope, q: &ListQuery, sql: &mut Sql) {
    sql.push(" WHERE 1 = 1");
    tenant_cond(res, scope, sql);
    let like = if backend == Backend::Postgres { " ILIKE " } else { " LIKE " };
    for c in &q.conds {
        sql.push(if c.op == Op::EqOrNull { " AND (" } else { " AND " }).push(c.column);
        let v = || c.values.first().cloned().unwrap_or(Value::Null);
        match c.op {
            Op::Eq => {
                sql.push(" = ").arg(v(), c.st);
            }
            Op::In => {
                sql.push(" IN (");
                for (i, x) in c.values.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.arg(x.clone(), c.st);
                }
                sql.push(")");
            }
            Op::Contains | Op::StartsWith => {
                let text = v().as_str().map(like_escape).unwrap_or_default();
                let pattern = if c.op == Op::Contains { format!("%{text}%") } else { format!("{text}%") };
                sql.push(like).arg(Value::Text(pattern), Storage::Text).push(" ESCAPE '\\'");
            }
            Op::Gte => {
                sql.push(" >= ").arg(v(), c.st);
            }
            Op::Lte => {
                sql.push(" <= ").arg(v(), c.st);
            }
            Op::Gt => {
                sql.push(" > ").arg(v(), c.st);
            }
            Op::Lt => {
                sql.push(" < ").arg(v(), c.st);
            }
            Op::Null(true) => {
                sql.push(" IS NULL");
            }
            Op::Null(false) => {
                sql.push(" IS NOT NULL");
            }
            Op::EqOrNull => {
                sql.push(" = ").arg(v(), c.st).push(" OR ").push(c.column).push(" IS NULL)");
            }
        }
    }
    if let Some(cur) = &q.after {
        match q.sort.first() {
            Some(&(col, st, desc)) if col != "id" => {
                let cmp = if desc { " < " } else { " > " };
                sql.push(" AND (").push(col).push(cmp).arg(cur.value.clone(), st);
                sql.push(" OR (").push(col).push(" = ").arg(cur.value.clone(), st);
                sql.push(" AND id").push(cmp).arg(Value::Int(cur.id), Storage::Int).push("))");
            }
            first => {
                let desc = first.is_some_and(|s| s.2);
                sql.push(if desc { " AND id < " } else { " AND id > " }).arg(Value::Int(cur.id), Storage::Int);
            }
        }
    }
}

fn order_clause(q: &ListQuery, sql: &mut Sql) {
    sql.push(" ORDER BY ");
    let mut id_desc = false;
    for &(col, _, desc) in &q.sort {
        if col == "id" {
            id_desc = desc;
            break;
        }
        sql.push(col).push(if desc { " DESC, " } else { " ASC, " });
        id_desc = desc;
    }
    sql.push(if id_desc { "id DESC" } else { "id ASC" });
}

impl Store {
    /// One page of a list.
    pub async fn list(&self, res: &'static Resource, scope: Scope, q: &ListQuery) -> Result<ListPage> {
        let mut sql = Sql::new(format!("SELECT {} FROM {}", select_list(res), res.table));
        where_clause(res, self.backend, scope, q, &mut sql);
        order_clause(q, &mut sql);
        sql.push(&format!(" LIMIT {} OFFSET {}", q.limit + 1, if q.after.is_some() { 0 } else { q.offset }));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let has_more = rows.len() as u64 > q.limit;
        let records = rows.iter().take(q.limit as usize).map(|r| Record::from_row(res, r)).collect::<Result<Vec<_>>>()?;
        let total = if q.count { Some(self.count(res, scope, q).await?) } else { None };
        Ok(ListPage { records, has_more, total })
    }

    pub async fn count(&self, res: &'static Resource, scope: Scope, q: &ListQuery) -> Result<u64> {
        let mut sql = Sql::new(format!("SELECT COUNT(*) AS n FROM {}", res.table));
        let unpaged = ListQuery { after: None, ..q.clone() };
        where_clause(res, self.backend, scope, &unpaged, &mut sql);
        let n: i64 = sqlx::Row::try_get(&sql.query().fetch_one(&self.pool).await?, "n")?;
        Ok(n as u64)
    }

    /// Every matching record, in order, through a bounded channel: an
    /// export of millions of rows holds only a few hundred in memory.
    pub fn stream(&self, res: &'static Resource, scope: Scope, q: &ListQuery) -> mpsc::Receiver<Result<Record>> {
        let (tx, rx) = mpsc::channel(256);
        let mut sql = Sql::new(format!("SELECT {} FROM {}", select_list(res), res.table));
        where_clause(res, self.backend, scope, q, &mut sql);
        order_clause(q, &mut sql);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut rows = sql.query().fetch(&pool);
            loop {
                let item = match rows.try_next().await {
                    Ok(Some(row)) => Record::from_row(res, &row),
                    Ok(None) => break,
                    Err(e) => Err(e.into()),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        rx
    }

    /// Records by id (for `include`), within the scope.
    pub async fn get_many(&self, res: &'static Resource, scope: Scope, ids: &[i64]) -> Result<Vec<Record>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = ListQuery {
            conds: vec![Cond { column: "id", st: Storage::Int, op: Op::In, values: ids.iter().map(|i| Value::Int(*i)).collect() }],
            limit: ids.len() as u64,
            ..ListQuery::default()
        };
        Ok(self.list(res, scope, &q).await?.records)
    }

    pub async fn get(&self, res: &'static Resource, scope: Scope, id: i64) -> Result<Record> {
        crate::record::fetch_one(&self.pool, res, scope, id).await
    }
}
