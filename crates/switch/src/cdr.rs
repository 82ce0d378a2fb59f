//! Call detail records as the SIP plane produces them: the journal that
//! takes each call's opening, connect and end off the call path and writes
//! them to the store in batches (`journal.rs`), and the CDR row a call
//! ends with.

mod journal;

pub use journal::{recover, CallCdr, CdrSender, CdrWriter};
