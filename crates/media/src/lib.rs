//! Switchboard's media engine (issue 17): the parts that let the B2BUA
//! speak audio itself (prompts, music on hold, DTMF, recording,
//! conferences, voicemail) instead of only relaying RTP.
//!
//! Sans-IO, like the SIP layers we admire: every type here turns bytes and
//! clock readings into bytes, frames and events, and owns no socket, task
//! or timer. The switch (`crates/switch`) drives them from its sockets and
//! its clock, so every behaviour is testable without a network and under a
//! fake clock.

pub mod dtmf;
pub mod g711;
pub mod goertzel;
pub mod jitter;
pub mod mixer;
pub mod rtcp;
pub mod rtp;
pub mod session;
#[cfg(test)]
mod testing;
pub mod tone;
pub mod wav;
