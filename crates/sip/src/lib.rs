//! Switchboard's thin wrapper over SIP: transports, transactions, message
//! helpers and digest authentication. Nothing PBX-specific lives here, and
//! no type of the underlying stack (rsipstack) appears in the public API.

pub mod digest;
pub mod endpoint;
#[doc(hidden)]
pub mod fuzzing;
pub mod message;

pub use endpoint::{BindError, Incoming, Method, ReplyError, ServerOptions, SipServer, Transport};
