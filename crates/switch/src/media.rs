//! Media of calls: the RTP relay that anchors a bridged call's audio
//! (`relay.rs`), and SDP, filtered to the codecs a trunk or gateway allows
//! and re-pointed at the relay (`sdp.rs`).

mod relay;
pub(crate) mod sdp;

pub(crate) use relay::{MediaPool, Relay};
