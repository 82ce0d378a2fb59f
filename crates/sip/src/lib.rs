//! Switchboard's thin wrapper over SIP: transports, transactions, message
//! helpers and digest authentication. Nothing PBX-specific lives here.

pub mod digest;
