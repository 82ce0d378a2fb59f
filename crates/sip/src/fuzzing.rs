//! The one entry point of `cargo fuzz` (see `fuzz/`): every reader of
//! untrusted bytes in this crate driven from one input, so one target
//! covers the stack's parser, our framing and Via handling, the message
//! helpers the switch uses and the digest header readers. Not an API.

use std::net::SocketAddr;

use crate::digest::{Authorization, Challenge};
use crate::endpoint::{frames_untrusted, inspect_untrusted};
use crate::message::{self, NameAddr, SipUri};

/// Feeds `data` as a datagram and as a TCP stream; must never panic.
pub fn message(data: &[u8]) {
    let src: SocketAddr = ([192, 0, 2, 1], 5060).into();
    for frame in frames_untrusted(data) {
        read(&frame, src);
    }
    read(data, src);
    if let Ok(text) = std::str::from_utf8(data) {
        header_values(text);
    }
}

fn read(raw: &[u8], src: SocketAddr) {
    let Some(headers) = inspect_untrusted(raw, src) else { return };
    let _ = message::contacts(&headers);
    let _ = message::expires(&headers);
    let _ = message::user_agent(&headers);
    for na in [message::from(&headers), message::to(&headers)].into_iter().flatten() {
        let _ = na.tag();
        let _ = na.expires();
        let _ = na.sip_uri();
    }
    for value in message::authorization(&headers).chain(message::proxy_authorization(&headers)) {
        header_values(value);
    }
}

/// The readers that take one header value, on text that may be anything.
fn header_values(text: &str) {
    if let Ok(auth) = Authorization::parse(text) {
        let again = Authorization::parse(&auth.to_header()).expect("our own Authorization must parse");
        assert_eq!(again.response, auth.response);
    }
    if let Ok(ch) = Challenge::parse(text) {
        let _ = Challenge::parse(&ch.to_header());
    }
    let _ = SipUri::parse(text);
    if let Ok(na) = NameAddr::parse(text, "Contact") {
        let _ = na.sip_uri();
        let _ = na.expires();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// The seeds of the fuzz corpus, so CI runs them on every build.
    const SEEDS: &[&[u8]] = &[
        include_bytes!("../../../fuzz/seeds/sip_message/register"),
        include_bytes!("../../../fuzz/seeds/sip_message/register-auth"),
        include_bytes!("../../../fuzz/seeds/sip_message/invite-sdp"),
        include_bytes!("../../../fuzz/seeds/sip_message/response-401"),
        include_bytes!("../../../fuzz/seeds/sip_message/stream"),
    ];

    #[test]
    fn seeds_pass_without_panic() {
        for seed in SEEDS {
            super::message(seed);
        }
    }

    /// The inputs the RFC 3261 strictness checks exist for: none may panic,
    /// and none may reach the switch.
    #[test]
    fn strictness_inputs_pass_without_panic() {
        let request = |line: &str, cl: &str| {
            format!(
                "{line}\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@b>\r\n\
                 Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: {cl}\r\n\r\nbody"
            )
        };
        let src = ([192, 0, 2, 1], 5060).into();
        let inputs = [
            String::new(),
            "INVITE sip:x@h SIP/2.0".into(),
            "INVITE sip:x@h SIP/2.0\r\n\r\n".into(),
            request("INVITE sip:x@h SIP/3.0", "4"),
            request("INVITE sip:x@h SIP/2.0", "18446744073709551616"),
            request("INVITE sip:x@h SIP/2.0", "4000000"),
            request("INVITE sip:x@h SIP/2.0", "4ab"),
            request("INVITE sip:x@h SIP/2.0", "-4"),
        ];
        for input in &inputs {
            super::message(input.as_bytes());
            assert!(crate::endpoint::inspect_untrusted(input.as_bytes(), src).is_none(), "{input:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Random damage to a real message: cut, byte flips, insertions.
        #[test]
        fn damaged_messages_never_panic(
            seed in 0..SEEDS.len(),
            cut in any::<prop::sample::Index>(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            insert in prop::collection::vec(any::<u8>(), 0..12),
            at in any::<prop::sample::Index>(),
        ) {
            let mut data = SEEDS[seed].to_vec();
            for (i, b) in flips {
                let i = i.index(data.len());
                data[i] = b;
            }
            let at = at.index(data.len() + 1);
            data.splice(at..at, insert);
            data.truncate(cut.index(data.len() + 1).max(1));
            super::message(&data);
        }
    }
}
