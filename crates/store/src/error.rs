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
    /// Several attributes or relationships are invalid at once: every one
    /// a submit got wrong, so a form or client can fix them in one go.
    /// Never holds fewer than two (one is [`Error::Invalid`]).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidMany(Vec<FieldError>),
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

impl Error {
    /// The error for these field errors: `None` when there are none, one
    /// [`Error::Invalid`] for one, [`Error::InvalidMany`] for more.
    pub fn invalid_all(mut errors: Vec<FieldError>) -> Option<Error> {
        match errors.len() {
            0 => None,
            1 => errors.pop().map(Error::Invalid),
            _ => Some(Error::InvalidMany(errors)),
        }
    }

    /// The field errors this error carries (none for other kinds).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Invalid(f) => std::slice::from_ref(f),
            Error::InvalidMany(list) => list,
            _ => &[],
        }
    }
}

/// Field errors gathered over one pass of checks: the first error of each
/// field is kept (a later rule about a field already wrong adds noise).
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<FieldError>);

impl Errors {
    pub(crate) fn add(&mut self, field: &str, msg: impl Into<String>) {
        if !self.has(field) {
            self.0.push(FieldError::new(field, msg));
        }
    }

    pub(crate) fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Files a check's failure: a field error is gathered, anything else
    /// (a database failure, a refusal of the whole change) is returned.
    pub(crate) fn take<T>(&mut self, r: Result<T>) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(Error::Invalid(f)) => {
                self.add(&f.field, f.message);
                Ok(None)
            }
            Err(Error::InvalidMany(list)) => {
                for f in list {
                    self.add(&f.field, f.message);
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `Err` with every gathered error, if any.
    pub(crate) fn check(self) -> Result<()> {
        Error::invalid_all(self.0).map_or(Ok(()), Err)
    }
}

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
