//! Typed rows: a struct whose field names are a table's columns, declared
//! once with `table_row!`, gives the column list of its SQL, the values to
//! bind in the same order and decoding by column name, so a column is
//! spelled in one place of Rust and a field cannot be bound to the wrong
//! column.

use domain::schema::Storage;
use domain::Value;
use sqlx::any::AnyRow;
use sqlx::Row as _;
use std::borrow::Borrow;

/// One stored column of a typed row, as its field's type declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: &'static str,
    pub storage: Storage,
    /// The field is an `Option`: the column may hold NULL.
    pub nullable: bool,
}

/// A row of one table, as a struct named by its columns. Sealed: only the
/// store declares rows, since writing one bypasses the rules and the audit
/// log (CDRs and the live-call journal are written that way on purpose).
pub trait TableRow: Sized + sealed::Sealed {
    const TABLE: &'static str;
    /// Every field's column, in field order. A column the database fills
    /// itself (a CDR's `id`) has no field.
    const COLUMNS: &'static [ColumnDef];

    /// Passes each field's value, in [`Self::COLUMNS`] order.
    fn each_value(&self, f: impl FnMut(Value));

    /// Reads a row selected with (at least) [`Self::COLUMNS`], by column name.
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error>;

    /// `COLUMNS` as the column list of a statement.
    fn column_list() -> String {
        Self::COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A Rust type a typed row's field may have, and how it is stored.
pub(crate) trait Cell: Sized {
    const STORAGE: Storage;
    const NULLABLE: bool;
    fn value(&self) -> Value;
    fn get(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error>;
}

impl Cell for i64 {
    const STORAGE: Storage = Storage::Int;
    const NULLABLE: bool = false;
    fn value(&self) -> Value {
        Value::Int(*self)
    }
    fn get(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        row.try_get(column)
    }
}

impl Cell for Option<i64> {
    const STORAGE: Storage = Storage::Int;
    const NULLABLE: bool = true;
    fn value(&self) -> Value {
        Value::from(*self)
    }
    fn get(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        row.try_get(column)
    }
}

impl Cell for String {
    const STORAGE: Storage = Storage::Text;
    const NULLABLE: bool = false;
    fn value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn get(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        row.try_get(column)
    }
}

impl Cell for Option<String> {
    const STORAGE: Storage = Storage::Text;
    const NULLABLE: bool = true;
    fn value(&self) -> Value {
        Value::from(self.clone())
    }
    fn get(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        row.try_get(column)
    }
}

impl Cell for bool {
    const STORAGE: Storage = Storage::Bool;
    const NULLABLE: bool = false;
    fn value(&self) -> Value {
        Value::Bool(*self)
    }
    fn get(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        let v = crate::sql::decode(row, column, Storage::Bool)?;
        v.as_bool().ok_or_else(|| sqlx::Error::ColumnDecode { index: column.to_owned(), source: "NULL in a NOT NULL boolean".into() })
    }
}

/// Declares a typed row: `table_row! { /// docs  pub struct Name in "table" { pub column: Type, … } }`.
/// Field types are `i64`, `String`, `bool` (NOT NULL columns) or
/// `Option<i64>`, `Option<String>` (nullable ones).
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::row::sealed::Sealed for $name {}

        impl $crate::row::TableRow for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [$crate::row::ColumnDef] = &[$(
                $crate::row::ColumnDef {
                    name: stringify!($field),
                    storage: <$ty as $crate::row::Cell>::STORAGE,
                    nullable: <$ty as $crate::row::Cell>::NULLABLE,
                }
            ),*];

            fn each_value(&self, mut f: impl FnMut(domain::Value)) {
                $( f($crate::row::Cell::value(&self.$field)); )*
            }

            fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                Ok($name { $( $field: $crate::row::Cell::get(row, stringify!($field))?, )* })
            }
        }
    };
}
pub(crate) use table_row;

/// Appends `rows` (typed rows, or references to them) within `tx`, in
/// multi-row INSERTs.
pub(crate) async fn insert<R: TableRow, T: Borrow<R> + Sync>(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[T],
) -> crate::Result<()> {
    let columns = R::COLUMNS;
    // A few hundred parameters per statement: sqlx's SQLite binding slows
    // down more than linearly with the count (30,000 parameters ran at 2k
    // rows/s, ~400 at 44k rows/s), while a statement per row pays the
    // round trip each time.
    let per_stmt = (400 / columns.len()).max(1);
    let head = format!("INSERT INTO {} ({}) VALUES ", R::TABLE, R::column_list());
    for chunk in rows.chunks(per_stmt) {
        let mut sql = crate::sql::Sql::new(head.as_str());
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            let mut j = 0;
            row.borrow().each_value(|v| {
                if j > 0 {
                    sql.push(", ");
                }
                sql.arg(v, columns[j].storage);
                j += 1;
            });
            sql.push(")");
        }
        sql.query().execute(&mut **tx).await?;
    }
    Ok(())
}
