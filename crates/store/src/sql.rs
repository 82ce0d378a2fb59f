//! A small SQL text builder with `$N` placeholders (both SQLite and
//! PostgreSQL accept them) and typed arguments, plus row decoding by the
//! schema's storage types.

use crate::Row;
use domain::schema::Storage;
use domain::Value;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::Row as _;

#[derive(Default, Debug)]
pub(crate) struct Sql {
    pub text: String,
    args: Vec<(Value, Storage)>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql { text: text.into(), args: Vec::new() }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`, typed as `st` (a typed NULL
    /// matters to PostgreSQL).
    pub fn arg(&mut self, v: Value, st: Storage) -> &mut Self {
        let placeholder = self.bind(v, st);
        self.text.push_str(&placeholder);
        self
    }

    /// Binds `v` and returns its placeholder without writing it (for the
    /// VALUES list of an INSERT that is assembled beside the column list).
    pub fn bind(&mut self, v: Value, st: Storage) -> String {
        self.args.push((v, st));
        format!("${}", self.args.len())
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for (v, st) in &self.args {
            q = match (v, st) {
                (Value::Int(i), _) => q.bind(*i),
                (Value::Text(s), _) => q.bind(s.as_str()),
                (Value::Bool(b), _) => q.bind(*b),
                (Value::Null, Storage::Int) => q.bind(None::<i64>),
                (Value::Null, Storage::Text) => q.bind(None::<String>),
                (Value::Null, Storage::Bool) => q.bind(None::<bool>),
            };
        }
        q
    }
}

/// Reads column `i` (a name, or a position in a list built from the same
/// columns) as the given storage type. SQLite has no boolean type (it
/// answers integers), so booleans accept both forms.
pub(crate) fn decode<I: sqlx::ColumnIndex<Row> + Copy>(row: &Row, i: I, st: Storage) -> Result<Value, sqlx::Error> {
    Ok(match st {
        Storage::Int => Value::from(row.try_get::<Option<i64>, _>(i)?),
        Storage::Text => Value::from(row.try_get::<Option<String>, _>(i)?),
        Storage::Bool => match row.try_get::<Option<bool>, _>(i) {
            Ok(b) => Value::from(b),
            Err(_) => Value::from(row.try_get::<Option<i64>, _>(i)?.map(|x| x != 0)),
        },
    })
}
