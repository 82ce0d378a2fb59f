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

/// Where a keyset page starts: just after (or, for `before`, just ahead
/// of) the row with these sort key and id.
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
    /// Keyset paging backwards: the page of rows just ahead of this one, in
    /// the list's own order (for a Previous link). Not with `after`.
    pub before: Option<Cursor>,
    /// Whether to count all matching rows (not for CDRs).
    pub count: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { conds: Vec::new(), sort: Vec::new(), offset: 0, limit: 50, after: None, before: None, count: false }
    }
}

#[derive(Debug)]
pub struct ListPage {
    pub records: Vec<Record>,
    pub has_more: bool,
    /// Whether rows come ahead of this page: known for keyset pages (a
    /// cursor names a row there) and offset pages (offset > 0).
    pub has_before: bool,
    pub total: Option<u64>,
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// ` WHERE` the scope's rows and the conditions.
pub(crate) fn where_conds(res: &Resource, backend: Backend, scope: Scope, conds: &[Cond], sql: &mut Sql) {
    sql.push(" WHERE 1 = 1");
    tenant_cond(res, scope, sql);
    and_conds(backend, conds, sql);
}

/// ` AND` each condition.
pub(crate) fn and_conds(backend: Backend, conds: &[Cond], sql: &mut Sql) {
    let like = if backend == Backend::Postgres { " ILIKE " } else { " LIKE " };
    for c in conds {
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
}

fn where_clause(res: &Resource, backend: Backend, scope: Scope, q: &ListQuery, sql: &mut Sql) {
    where_conds(res, backend, scope, &q.conds, sql);
    let (cur, backwards) = match (&q.after, &q.before) {
        (Some(c), _) => (c, false),
        (None, Some(c)) => (c, true),
        (None, None) => return,
    };
    // Past the cursor in the list's order; `before` looks the other way.
    let desc = q.sort.first().is_some_and(|s| s.2) != backwards;
    let cmp = if desc { " < " } else { " > " };
    match q.sort.first() {
        Some(&(col, st, _)) if col != "id" => {
            // A row value, which both backends serve as one range of the
            // (col, id) index (an OR of two ranges scans on PostgreSQL).
            sql.push(" AND (").push(col).push(", id)").push(cmp).push("(").arg(cur.value.clone(), st);
            sql.push(", ").arg(Value::Int(cur.id), Storage::Int).push(")");
        }
        _ => {
            sql.push(" AND id").push(cmp).arg(Value::Int(cur.id), Storage::Int);
        }
    }
}

/// The list's order, or its reverse (`flip`: a `before` page is read
/// backwards from its cursor and turned round).
fn order_clause(q: &ListQuery, flip: bool, sql: &mut Sql) {
    sql.push(" ORDER BY ");
    let mut id_desc = flip;
    for &(col, _, desc) in &q.sort {
        let desc = desc != flip;
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
        let backwards = q.after.is_none() && q.before.is_some();
        order_clause(q, backwards, &mut sql);
        let keyset = q.after.is_some() || q.before.is_some();
        sql.push(&format!(" LIMIT {} OFFSET {}", q.limit + 1, if keyset { 0 } else { q.offset }));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let extra = rows.len() as u64 > q.limit;
        let mut records = rows.iter().take(q.limit as usize).map(|r| Record::from_row(res, r)).collect::<Result<Vec<_>>>()?;
        // A cursor names a row of the list: the side it came from has rows.
        let (has_more, has_before) = if backwards {
            records.reverse();
            (true, extra)
        } else {
            (extra, q.after.is_some() || (!keyset && q.offset > 0))
        };
        let total = if q.count { Some(self.count(res, scope, q).await?) } else { None };
        Ok(ListPage { records, has_more, has_before, total })
    }

    pub async fn count(&self, res: &'static Resource, scope: Scope, q: &ListQuery) -> Result<u64> {
        let mut sql = Sql::new(format!("SELECT COUNT(*) AS n FROM {}", res.table));
        let unpaged = ListQuery { after: None, before: None, ..q.clone() };
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
        order_clause(q, false, &mut sql);
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
