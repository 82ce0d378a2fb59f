//! Sans-IO wire handling the SIP stack does not do for us: stream framing,
//! RFC 3581 `received`/`rport` on the top Via, the RFC 3261 §18.3 datagram
//! Content-Length rule the stack's parser waives, and stateless error
//! responses (400, 501, 505) built from raw text.

use std::net::SocketAddr;

use crate::message::{canonical_name, split_host_port};

/// Largest message we buffer on a stream before giving up on the peer.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

/// Methods the stack can parse; anything else that looks like a method
/// gets 501 from us.
const KNOWN_METHODS: [&str; 14] = [
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// One step of reading a byte stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete message (header section plus Content-Length body).
    Message(Vec<u8>),
    /// A CRLF keep-alive (RFC 5626 §3.5.1): `ping` when a pong is owed.
    Keepalive { ping: bool },
    /// More bytes are needed.
    Incomplete,
    /// The stream cannot be framed any more (bad Content-Length, too big).
    Broken,
}

/// Takes the next frame off the front of `buf`.
pub(crate) fn take_frame(buf: &mut Vec<u8>) -> Frame {
    if buf.starts_with(b"\r\n\r\n") {
        buf.drain(..4);
        return Frame::Keepalive { ping: true };
    }
    if buf.starts_with(b"\r\n") {
        buf.drain(..2);
        return Frame::Keepalive { ping: false };
    }
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_MESSAGE { Frame::Broken } else { Frame::Incomplete };
    };
    // RFC 3261 §18.3: on a stream Content-Length is mandatory; a missing one
    // is read as 0, an unreadable one leaves us unable to find the next message.
    let Some(length) = content_length(&buf[..head_end]) else {
        return Frame::Broken;
    };
    let Some(total) = (head_end + 4).checked_add(length) else {
        return Frame::Broken;
    };
    if total > MAX_MESSAGE {
        return Frame::Broken;
    }
    if buf.len() < total {
        return Frame::Incomplete;
    }
    let rest = buf.split_off(total);
    Frame::Message(std::mem::replace(buf, rest))
}

/// The Content-Length of a header section: 0 when absent, `None` when any
/// copy is not `1*DIGIT` (the stack's parser would read it as 0, and Rust's
/// would take `+5`) or does not fit a `usize`.
fn content_length(head: &[u8]) -> Option<usize> {
    let head = String::from_utf8_lossy(head);
    let mut length = 0;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else { continue };
        if canonical_name(name.trim()).eq_ignore_ascii_case("Content-Length") {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            length = value.parse().ok()?;
        }
    }
    Some(length)
}

/// Whether a datagram's Content-Length is readable and no larger than the
/// bytes after its header section. RFC 3261 §18.3 makes a larger one an
/// error on UDP, while a smaller one only truncates the body (the parser
/// does that). Without a header section end the parser refuses it anyway.
pub(crate) fn datagram_length_ok(raw: &[u8]) -> bool {
    let Some(head_end) = find(raw, b"\r\n\r\n") else { return true };
    content_length(&raw[..head_end]).is_some_and(|n| n <= raw.len() - head_end - 4)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Fills `received`/`rport` in one Via value for a request from `src`.
///
/// RFC 3581 §4: when the client asked for `rport`, set it to the source
/// port and always add `received`; otherwise add `received` only when the
/// sent-by host differs from the source address (RFC 3261 §18.2.1).
pub(crate) fn fill_via_received(via: &str, src: SocketAddr) -> String {
    let mut parts = via.split(';');
    let sent = parts.next().unwrap_or("").trim_end().to_string();
    let mut params: Vec<(String, Option<String>)> = parts
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.trim().to_string(), Some(v.trim().to_string())),
            None => (p.trim().to_string(), None),
        })
        .filter(|(n, _)| !n.is_empty())
        .collect();
    let rport = params.iter().any(|(n, _)| n.eq_ignore_ascii_case("rport"));
    let src_ip = match src {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let sent_host = sent.split_whitespace().nth(1).and_then(split_host_port).map(|(h, _)| h.to_ascii_lowercase());
    let add_received = rport || sent_host.as_deref() != Some(src_ip.as_str());
    params.retain(|(n, _)| !(n.eq_ignore_ascii_case("received") && add_received || n.eq_ignore_ascii_case("rport")));
    if add_received {
        params.push(("received".into(), Some(src_ip)));
    }
    if rport {
        params.push(("rport".into(), Some(src.port().to_string())));
    }
    let mut out = sent;
    for (n, v) in params {
        out.push(';');
        out.push_str(&n);
        if let Some(v) = v {
            out.push('=');
            out.push_str(&v);
        }
    }
    out
}

/// The first value of a Via field that may carry several, comma-separated.
pub(crate) fn first_via_value(value: &str) -> &str {
    crate::message::split_list(value).first().copied().unwrap_or("")
}

/// What to do with bytes the stack's parser rejected.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// A request with an extension method we do not know: answer 501.
    UnknownMethod,
    /// A request we cannot make sense of: answer 400 if we can route it.
    Malformed,
    /// A request in a SIP version other than 2.0: answer 505.
    BadVersion,
    /// Not a request (a broken response, binary noise): drop silently.
    Ignore,
}

/// Classifies bytes the stack could not parse, from the start line only.
pub(crate) fn classify_rejected(raw: &[u8]) -> Rejected {
    let line_end = find(raw, b"\r\n").unwrap_or(raw.len());
    let Ok(line) = std::str::from_utf8(&raw[..line_end]) else {
        return Rejected::Ignore;
    };
    let mut words = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) = (words.next(), words.next(), words.next(), words.next()) else {
        return Rejected::Ignore;
    };
    if uri.is_empty() || !is_token(method) {
        return Rejected::Ignore;
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        // Anything else (HTTP, noise) is not ours to answer.
        let sip = version.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
        return if sip { Rejected::BadVersion } else { Rejected::Ignore };
    }
    if KNOWN_METHODS.iter().any(|m| m.eq_ignore_ascii_case(method)) {
        Rejected::Malformed
    } else {
        Rejected::UnknownMethod
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Builds a stateless final response to a request we will not process,
/// copying Via/From/To/Call-ID/CSeq from the raw text (RFC 3261 §8.2.6).
/// `None` when the request cannot be answered: an ACK, or no Via to send
/// it along. The others are copied when present: a client may not match
/// a reply without them, but a person reading a trace still learns why
/// (the reason phrase names the missing header).
pub(crate) fn stateless_response(raw: &[u8], src: SocketAddr, status: u16, reason: &str, server: &str) -> Option<Vec<u8>> {
    let head_end = find(raw, b"\r\n\r\n").unwrap_or(raw.len());
    let head = std::str::from_utf8(&raw[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?;
    if method.eq_ignore_ascii_case("ACK") {
        return None;
    }
    let (mut vias, mut from, mut to, mut call_id, mut cseq) = (Vec::new(), None, None, None, None);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match canonical_name(name.trim()).to_ascii_lowercase().as_str() {
            "via" => vias.push(value),
            "from" => from = Some(value),
            "to" => to = Some(value),
            "call-id" => call_id = Some(value),
            "cseq" => cseq = Some(value),
            _ => {}
        }
    }
    let top = vias.first().filter(|v| !v.is_empty())?;
    let top_first = first_via_value(top);
    let rest = &top[top_first.len()..];
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    out.push_str(&format!("Via: {}{rest}\r\n", fill_via_received(top_first, src)));
    for via in &vias[1..] {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    fn present(v: Option<&str>) -> Option<&str> {
        v.filter(|v| !v.is_empty())
    }
    if let Some(from) = present(from) {
        out.push_str(&format!("From: {from}\r\n"));
    }
    if let Some(to) = present(to) {
        let has_tag = crate::message::NameAddr::parse(to, "To").map(|t| t.tag().is_some()).unwrap_or(true);
        if has_tag {
            out.push_str(&format!("To: {to}\r\n"));
        } else {
            out.push_str(&format!("To: {to};tag={}\r\n", new_tag()));
        }
    }
    if let Some(call_id) = present(call_id) {
        out.push_str(&format!("Call-ID: {call_id}\r\n"));
    }
    if let Some(cseq) = present(cseq) {
        out.push_str(&format!("CSeq: {cseq}\r\n"));
    }
    if !server.is_empty() {
        out.push_str(&format!("Server: {server}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

fn new_tag() -> String {
    use rand::Rng;
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

/// Where a stateless UDP response goes: the source port when `rport` was
/// asked for (NAT), else the Via sent-by port on the source address.
pub(crate) fn udp_reply_target(raw: &[u8], src: SocketAddr) -> SocketAddr {
    let text = String::from_utf8_lossy(raw);
    let via = text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        canonical_name(name.trim()).eq_ignore_ascii_case("Via").then(|| first_via_value(value.trim()).to_string())
    });
    let Some(via) = via else {
        return src;
    };
    let mut parts = via.split(';');
    let sent = parts.next().unwrap_or("");
    if parts.any(|p| p.trim().eq_ignore_ascii_case("rport") || p.trim().starts_with("rport=")) {
        return src;
    }
    let port = sent.split_whitespace().nth(1).and_then(split_host_port).and_then(|(_, p)| p).unwrap_or(5060);
    SocketAddr::new(src.ip(), port)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "203.0.113.7:40000";

    fn src() -> SocketAddr {
        SRC.parse().unwrap()
    }

    #[test]
    fn via_rport_gets_port_and_received_always() {
        let via = "SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1;rport";
        assert_eq!(fill_via_received(via, src()), "SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1;received=203.0.113.7;rport=40000");
    }

    #[test]
    fn via_without_rport_gets_received_only_when_host_differs() {
        let same = "SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1";
        assert_eq!(fill_via_received(same, src()), same);
        let other = "SIP/2.0/UDP phone.lan:5060;branch=z9hG4bK1;received=1.1.1.1";
        assert_eq!(fill_via_received(other, src()), "SIP/2.0/UDP phone.lan:5060;branch=z9hG4bK1;received=203.0.113.7");
    }

    #[test]
    fn via_ipv6_source_is_bracketed() {
        let src: SocketAddr = "[2001:db8::7]:5070".parse().unwrap();
        let out = fill_via_received("SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKx;rport", src);
        assert_eq!(out, "SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKx;received=[2001:db8::7];rport=5070");
    }

    #[test]
    fn frames_split_on_content_length_and_keepalives() {
        let mut buf = b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabcREG".to_vec();
        assert_eq!(take_frame(&mut buf), Frame::Keepalive { ping: true });
        let Frame::Message(m) = take_frame(&mut buf) else {
            panic!("expected a message");
        };
        assert!(m.ends_with(b"\r\n\r\nabc"));
        assert_eq!(take_frame(&mut buf), Frame::Incomplete);
        assert_eq!(buf, b"REG");
        for cl in ["x", "-1", "+3", "", "99999999999999999999999"] {
            let mut bad = format!("X sip:a SIP/2.0\r\nContent-Length: {cl}\r\n\r\nabc").into_bytes();
            assert_eq!(take_frame(&mut bad), Frame::Broken, "{cl}");
        }
        let mut huge = vec![b'a'; MAX_MESSAGE + 1];
        assert_eq!(take_frame(&mut huge), Frame::Broken);
    }

    #[test]
    fn classifies_rejected_start_lines() {
        assert_eq!(classify_rejected(b"FOO sip:a SIP/2.0\r\n\r\n"), Rejected::UnknownMethod);
        assert_eq!(classify_rejected(b"OPTIONS <bad> SIP/2.0\r\n"), Rejected::Malformed);
        assert_eq!(classify_rejected(b"SIP/2.0 200 OK\r\n"), Rejected::Ignore);
        assert_eq!(classify_rejected(b"INVITE sip:x@h SIP/3.x\r\n"), Rejected::BadVersion);
        assert_eq!(classify_rejected(b"GET / HTTP/1.1\r\n"), Rejected::Ignore);
        assert_eq!(classify_rejected(b"INVITE sip:x@h S\r\n"), Rejected::Ignore);
        assert_eq!(classify_rejected(b"\xff\xfe garbage"), Rejected::Ignore);
        assert_eq!(classify_rejected(b"hello world"), Rejected::Ignore);
    }

    #[test]
    fn stateless_response_copies_dialog_headers_and_tags_to() {
        let raw = b"FOO sip:x@y SIP/2.0\r\n\
            v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport, SIP/2.0/UDP p;branch=z9hG4bKb\r\n\
            Via: SIP/2.0/UDP q;branch=z9hG4bKc\r\n\
            f: <sip:a@y>;tag=1\r\nt: <sip:x@y>\r\ni: abc\r\nCSeq: 7 FOO\r\n\r\n";
        let resp = stateless_response(raw, src(), 501, "Not Implemented", "sb").unwrap();
        let resp = String::from_utf8(resp).unwrap();
        assert!(resp.starts_with("SIP/2.0 501 Not Implemented\r\n"));
        assert!(resp.contains(
            "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;received=203.0.113.7;rport=40000, SIP/2.0/UDP p;branch=z9hG4bKb\r\nVia: SIP/2.0/UDP q;branch=z9hG4bKc\r\n"
        ));
        assert!(resp.contains("To: <sip:x@y>;tag="));
        assert!(resp.contains("Call-ID: abc\r\nCSeq: 7 FOO\r\n"));
        assert!(resp.ends_with("Content-Length: 0\r\n\r\n"));
        assert_eq!(udp_reply_target(raw, src()), src());
    }

    #[test]
    fn stateless_response_refuses_ack_and_unroutable() {
        let ack = b"ACK sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 ACK\r\n\r\n";
        assert_eq!(stateless_response(ack, src(), 400, "Bad Request", ""), None);
        let no_via = b"FOO sip:x SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 FOO\r\n\r\n";
        assert_eq!(stateless_response(no_via, src(), 501, "Not Implemented", ""), None);
        assert_eq!(stateless_response(b"FOO sip:x SIP/2.0\r\nVia: \r\n\r\n", src(), 400, "Missing Via", ""), None);
    }

    #[test]
    fn stateless_response_needs_only_a_via() {
        let raw = b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nnot a header\r\nCall-ID:\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let resp = String::from_utf8(stateless_response(raw, src(), 400, "Missing Call-ID", "").unwrap()).unwrap();
        assert_eq!(
            resp,
            "SIP/2.0 400 Missing Call-ID\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1;received=203.0.113.7\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn datagram_content_length_must_be_digits_and_fit() {
        let msg = |cl: &str, body: &str| format!("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n{cl}\r\n\r\n{body}").into_bytes();
        assert!(datagram_length_ok(&msg("Content-Length: 5", "hello")));
        assert!(datagram_length_ok(&msg("l: 2", "hello")), "a smaller one truncates");
        assert!(datagram_length_ok(&msg("X-No-Length: 1", "")), "absent is 0");
        for bad in
            ["Content-Length: 6", "Content-Length: -1", "Content-Length: abc", "Content-Length: +5", "l:", "l: 99999999999999999999999"]
        {
            assert!(!datagram_length_ok(&msg(bad, "hello")), "{bad}");
        }
        assert!(datagram_length_ok(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 9"), "no header end: the parser's call");
    }

    #[test]
    fn udp_target_without_rport_uses_sent_by_port() {
        let raw = b"FOO sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5080;branch=z9hG4bKa\r\n\r\n";
        assert_eq!(udp_reply_target(raw, src()), "203.0.113.7:5080".parse().unwrap());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_noise(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = classify_rejected(&raw);
            let _ = stateless_response(&raw, src(), 400, "Bad Request", "x");
            let _ = udp_reply_target(&raw, src());
            let _ = datagram_length_ok(&raw);
            let mut buf = raw.clone();
            while let Frame::Message(_) | Frame::Keepalive { .. } = take_frame(&mut buf) {}
        }
    }
}
