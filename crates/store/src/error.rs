//! Store errors: what callers branch on (not found, conflicts, refused
//! rules) kept apart from database failures.

use domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("record not found")]
    NotFound,
    /// A value breaks a uniqueness or validity rule of one attribute.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// A client-chosen id is taken.
    #[error("id {0} is already taken")]
    IdTaken(i64),
    /// The change is refused as a whole (e.g. a delete that would orphan
    /// records, a limit reached).
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("password hashing failed")]
    Hash,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps a named unique constraint to the attribute it protects.
pub(crate) fn from_db(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(db) = &e {
        let msg = db.message();
        let constraint = db.constraint().map(str::to_owned);
        let hit = |name: &str, sqlite_cols: &str| constraint.as_deref() == Some(name) || msg.contains(sqlite_cols);
        for (name, cols, field, text) in UNIQUE {
            if hit(name, cols) {
                return Error::Invalid(FieldError::new(*field, *text));
            }
        }
    }
    Error::Db(e)
}

/// (constraint, SQLite's message fragment, attribute, message)
const UNIQUE: &[(&str, &str, &str, &str)] = &[
    ("did_numbers_number_key", "did_numbers.number", "number", "has already been taken"),
    ("sip_accounts_username_key", "sip_accounts.username", "username", "has already been taken"),
    (
        "sip_accounts_internal_caller_id_key",
        "sip_accounts.customer_id, sip_accounts.internal_caller_id",
        "internal_caller_id",
        "is already used by another SIP account of this customer",
    ),
    ("incoming_trunks_domain_key", "incoming_trunks.domain", "domain", "has already been taken"),
    ("operator_users_username_key", "operator_users.username", "username", "has already been taken"),
    ("customer_users_username_key", "customer_users.username", "username", "has already been taken"),
    ("api_credentials_username_key", "api_credentials.username", "username", "has already been taken"),
];
