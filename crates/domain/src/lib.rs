//! The objects of Switchboard as validated types: the resource schema that
//! drives storage and the APIs, the access policy (who may do what), field
//! validation, codecs, rewrite rules, termination route selection and time
//! formats. Pure: no I/O, no async.

pub mod access;
pub mod codec;
pub mod net;
pub mod rewrite;
pub mod routing;
pub mod schema;
pub mod time;
pub mod validate;
pub mod value;

pub use access::{Actor, Method, Policy, Scope};
pub use schema::{Field, Kind, Rel, Resource};
pub use validate::FieldError;
pub use value::Value;
