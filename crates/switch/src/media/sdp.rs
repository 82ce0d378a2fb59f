//! SDP, sans-IO: offers filtered to a trunk's or gateway's codecs (RFC
//! 3264 §5: the audio payload types we allow, in the allowed list's
//! priority order; other media declined with port 0), answers checked
//! against our offer (§6), and the audio address of an SDP read, or
//! re-pointed at the relay.

/// Static payload types (RFC 3551) by their canonical codec name.
const STATIC: &[(u8, &str)] = &[(0, "PCMU"), (3, "GSM"), (8, "PCMA"), (9, "G722"), (18, "g729")];

/// Why an offer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("no audio codec in common")]
    NoCommonCodec,
    #[error("malformed SDP: {0}")]
    Malformed(&'static str),
    #[error("the answer has {0}")]
    BadAnswer(&'static str),
}

/// Keeps the audio formats whose codec is in `allowed`, ordered by
/// `allowed`; declines other media. Fails when no audio codec but
/// telephone-event would be left.
pub fn filter(sdp: &str, allowed: &[&str]) -> Result<String, SdpError> {
    let parsed = Parsed::new(sdp)?;
    let mut out = String::with_capacity(sdp.len());
    for line in &parsed.session {
        push_line(&mut out, line);
    }
    let mut any_audio = false;
    for m in &parsed.media {
        if m.kind != "audio" {
            let mut words = m.line.splitn(3, ' ');
            let (kind, _port, rest) = (words.next().unwrap_or(""), words.next(), words.next().unwrap_or(""));
            push_line(&mut out, &format!("{kind} 0 {rest}"));
            for a in &m.lines {
                push_line(&mut out, a);
            }
            continue;
        }
        let mut kept: Vec<(usize, &str)> = m
            .formats
            .iter()
            .filter_map(|pt| {
                let codec = m.codec_of(pt)?;
                let rank = allowed.iter().position(|a| a.eq_ignore_ascii_case(codec))?;
                Some((rank, pt.as_str()))
            })
            .collect();
        kept.sort_by_key(|(rank, _)| *rank);
        let has_voice = kept.iter().any(|(_, pt)| m.codec_of(pt) != Some("telephone-event"));
        if !has_voice {
            // Decline this stream; a second audio stream may still carry the call.
            let mut words = m.line.splitn(4, ' ');
            let (kind, _port, proto) = (words.next().unwrap_or(""), words.next(), words.next().unwrap_or(""));
            push_line(&mut out, &format!("{kind} 0 {proto} {}", m.formats.first().map(String::as_str).unwrap_or("0")));
            continue;
        }
        any_audio = true;
        let head: Vec<&str> = m.line.splitn(4, ' ').take(3).collect();
        let formats: Vec<&str> = kept.iter().map(|(_, pt)| *pt).collect();
        push_line(&mut out, &format!("{} {}", head.join(" "), formats.join(" ")));
        for a in &m.lines {
            match format_attribute(a) {
                Some(pt) if !formats.contains(&pt) => {}
                _ => push_line(&mut out, a),
            }
        }
    }
    if any_audio {
        Ok(out)
    } else {
        Err(SdpError::NoCommonCodec)
    }
}

/// Checks an answer against the offer it answers (RFC 3264 §6): one `m=`
/// line per offered stream, of the same media, and every accepted audio
/// stream keeps to codecs the offer listed, with at least one voice codec.
pub fn check_answer(offer: &str, answer: &str) -> Result<(), SdpError> {
    let (offer, answer) = (Parsed::new(offer)?, Parsed::new(answer)?);
    if offer.media.len() != answer.media.len() {
        return Err(SdpError::BadAnswer("a different number of media streams than offered"));
    }
    let mut any_audio = false;
    for (o, a) in offer.media.iter().zip(&answer.media) {
        if o.kind != a.kind {
            return Err(SdpError::BadAnswer("media streams out of the offer's order"));
        }
        if a.kind != "audio" || a.port() == Some(0) {
            continue;
        }
        let offered: Vec<&str> = o.formats.iter().filter_map(|pt| o.codec_of(pt)).collect();
        let mut voice = false;
        for pt in &a.formats {
            let codec = a.codec_of(pt).ok_or(SdpError::BadAnswer("an unknown payload type"))?;
            if !offered.iter().any(|c| c.eq_ignore_ascii_case(codec)) {
                return Err(SdpError::BadAnswer("a codec the offer did not list"));
            }
            voice |= codec != "telephone-event";
        }
        if !voice {
            return Err(SdpError::BadAnswer("no voice codec"));
        }
        any_audio = true;
    }
    if any_audio {
        Ok(())
    } else {
        Err(SdpError::NoCommonCodec)
    }
}

/// Where the first active audio stream wants its RTP: the media-level
/// `c=` address (else the session one) and the `m=` port.
pub fn audio_target(sdp: &str) -> Option<std::net::SocketAddr> {
    let parsed = Parsed::new(sdp).ok()?;
    let m = parsed.media.iter().find(|m| m.kind == "audio" && m.port() != Some(0))?;
    let conn = m.lines.iter().chain(parsed.session.iter()).find_map(|l| l.strip_prefix("c=IN "))?;
    let ip = conn.split_whitespace().nth(1)?.split('/').next()?.parse().ok()?;
    Some(std::net::SocketAddr::new(ip, m.port()?))
}

/// Whether an SDP says its sender will not (or may not) send audio: the
/// active audio stream is `inactive`, `sendonly` or `recvonly` (at media
/// level, else session level), its connection address is `0.0.0.0` (the
/// RFC 2543 hold), or there is no active audio stream. A call on hold
/// may be silent for good.
pub fn on_hold(sdp: &str) -> bool {
    let Ok(parsed) = Parsed::new(sdp) else { return false };
    let Some(m) = parsed.media.iter().find(|m| m.kind == "audio" && m.port() != Some(0)) else { return true };
    let direction = |lines: &[&str]| {
        lines.iter().rev().find_map(|l| ["a=inactive", "a=sendonly", "a=recvonly", "a=sendrecv"].into_iter().find(|d| l == d))
    };
    let held = direction(&m.lines).or_else(|| direction(&parsed.session)).is_some_and(|d| d != "a=sendrecv");
    let conn = m.lines.iter().chain(parsed.session.iter()).find_map(|l| l.strip_prefix("c=IN "));
    held || conn.and_then(|c| c.split_whitespace().nth(1)).is_some_and(|ip| ip == "0.0.0.0" || ip == "::")
}

/// The same SDP with every connection address and the origin's address
/// set to `addr`'s, and the active audio streams' port to `addr`'s (the
/// relay anchors them; the peer should learn no address behind it).
pub fn anchor(sdp: &str, addr: std::net::SocketAddr) -> String {
    let family = if addr.is_ipv4() { "IP4" } else { "IP6" };
    let mut out = String::with_capacity(sdp.len() + 16);
    for line in sdp.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        if line.starts_with("c=IN ") {
            push_line(&mut out, &format!("c=IN {family} {}", addr.ip()));
        } else if let Some(origin) = line.strip_prefix("o=").filter(|o| o.split(' ').count() == 6) {
            // username, session id and version stay; the address is ours.
            let kept: Vec<&str> = origin.split(' ').take(4).collect();
            push_line(&mut out, &format!("o={} {family} {}", kept.join(" "), addr.ip()));
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            let mut words = m.splitn(2, ' ');
            let (port, rest) = (words.next().unwrap_or("0"), words.next().unwrap_or(""));
            let port = if port == "0" { 0 } else { addr.port() };
            push_line(&mut out, &format!("m=audio {port} {rest}"));
        } else {
            push_line(&mut out, line);
        }
    }
    out
}

/// An answer declining every stream of `offer` (RFC 3264 §6: port zero):
/// what a late offer's ACK carries when the call ends anyway, as RFC 3261
/// §13.2.2.4 wants a valid answer before the BYE.
pub fn decline(offer: &str) -> String {
    let mut out = String::with_capacity(offer.len());
    for line in offer.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        match line.strip_prefix("m=") {
            Some(m) => {
                let mut words = m.splitn(3, ' ');
                let (kind, _port, rest) = (words.next().unwrap_or(""), words.next(), words.next().unwrap_or(""));
                push_line(&mut out, &format!("m={kind} 0 {rest}"));
            }
            None => push_line(&mut out, line),
        }
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push_str("\r\n");
}

/// The payload type an `a=rtpmap:`, `a=fmtp:` or `a=rtcp-fb:` line is about.
fn format_attribute(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("a=rtpmap:").or_else(|| line.strip_prefix("a=fmtp:")).or_else(|| line.strip_prefix("a=rtcp-fb:"))?;
    rest.split_whitespace().next()
}

struct Parsed<'a> {
    session: Vec<&'a str>,
    media: Vec<Media<'a>>,
}

struct Media<'a> {
    line: &'a str,
    kind: &'a str,
    formats: Vec<String>,
    lines: Vec<&'a str>,
}

impl<'a> Parsed<'a> {
    fn new(sdp: &'a str) -> Result<Self, SdpError> {
        let mut lines = sdp.lines().map(str::trim_end).filter(|l| !l.is_empty());
        if lines.next().is_none_or(|v| !v.starts_with("v=")) {
            return Err(SdpError::Malformed("does not start with v="));
        }
        let mut parsed = Parsed { session: vec!["v=0"], media: Vec::new() };
        for line in lines {
            if line.len() < 2 || line.as_bytes()[1] != b'=' {
                return Err(SdpError::Malformed("a line is not <type>=<value>"));
            }
            if let Some(m) = line.strip_prefix("m=") {
                let mut words = m.split(' ');
                let kind = words.next().unwrap_or("");
                let port = words.next().ok_or(SdpError::Malformed("m= line without port"))?;
                if port.split('/').next().and_then(|p| p.parse::<u16>().ok()).is_none() {
                    return Err(SdpError::Malformed("m= line with a bad port"));
                }
                words.next().ok_or(SdpError::Malformed("m= line without protocol"))?;
                let formats: Vec<String> = words.filter(|w| !w.is_empty()).map(str::to_owned).collect();
                parsed.media.push(Media { line, kind, formats, lines: Vec::new() });
            } else if let Some(m) = parsed.media.last_mut() {
                m.lines.push(line);
            } else {
                parsed.session.push(line);
            }
        }
        Ok(parsed)
    }
}

impl Media<'_> {
    fn port(&self) -> Option<u16> {
        self.line.split(' ').nth(1)?.split('/').next()?.parse().ok()
    }

    /// The canonical codec of a payload type: its rtpmap, else the static table.
    fn codec_of(&self, pt: &str) -> Option<&'static str> {
        let mapped = self.lines.iter().find_map(|l| {
            let rest = l.strip_prefix("a=rtpmap:")?;
            let (p, enc) = rest.split_once(' ')?;
            (p == pt).then(|| enc.split('/').next().unwrap_or(""))
        });
        match mapped {
            Some(name) => domain::codec::canonical(name),
            None => {
                let n: u8 = pt.parse().ok()?;
                STATIC.iter().find(|(p, _)| *p == n).map(|(_, c)| *c)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 0 8 18 111 101\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n\
        m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";

    #[test]
    fn keeps_allowed_codecs_in_the_allowed_order_and_declines_video() {
        let out = filter(OFFER, &["PCMA", "PCMU", "telephone-event"]).unwrap();
        assert!(out.contains("m=audio 4000 RTP/AVP 8 0 101\r\n"), "{out}");
        assert!(!out.contains("opus") && !out.contains("fmtp:111"), "dropped formats lose their attributes: {out}");
        assert!(out.contains("a=fmtp:101 0-16\r\n") && out.contains("a=sendrecv\r\n"), "{out}");
        assert!(out.contains("m=video 0 RTP/AVP 96\r\n"), "{out}");
    }

    #[test]
    fn dynamic_codecs_are_known_by_rtpmap() {
        let out = filter(OFFER, &["OPUS", "g729"]).unwrap();
        assert!(out.contains("m=audio 4000 RTP/AVP 111 18\r\n"), "{out}");
        assert!(out.contains("a=fmtp:111 useinbandfec=1"), "{out}");
    }

    #[test]
    fn nothing_in_common_or_only_dtmf_is_refused() {
        assert_eq!(filter(OFFER, &["G722"]), Err(SdpError::NoCommonCodec));
        assert_eq!(filter(OFFER, &["telephone-event"]), Err(SdpError::NoCommonCodec));
    }

    #[test]
    fn the_relay_anchors_the_audio() {
        assert_eq!(audio_target(OFFER), Some("198.51.100.7:4000".parse().unwrap()));
        let out = anchor(OFFER, "203.0.113.5:30000".parse().unwrap());
        assert!(out.contains("c=IN IP4 203.0.113.5\r\n") && out.contains("m=audio 30000 RTP/AVP 0 8 18 111 101\r\n"), "{out}");
        assert!(out.contains("o=- 1 1 IN IP4 203.0.113.5\r\n"), "the origin names the relay too: {out}");
        assert!(out.contains("m=video 5000"), "only audio is relayed: {out}");
        assert_eq!(audio_target(&out), Some("203.0.113.5:30000".parse().unwrap()));
        assert_eq!(audio_target("v=0\r\nm=audio 0 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n"), None, "a declined stream has no target");
    }

    #[test]
    fn an_answer_keeps_to_the_offer() {
        let offer = filter(OFFER, &["PCMA", "opus", "telephone-event"]).unwrap();
        let answer = |m: &str| format!("v=0\r\no=- 2 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n{m}");
        let good = answer("m=audio 7000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 0 RTP/AVP 96\r\n");
        assert_eq!(check_answer(&offer, &good), Ok(()));
        // Opus under another dynamic number is still Opus.
        let renumbered = answer("m=audio 7000 RTP/AVP 100\r\na=rtpmap:100 OPUS/48000/2\r\nm=video 0 RTP/AVP 96\r\n");
        assert_eq!(check_answer(&offer, &renumbered), Ok(()));
        let not_offered = answer("m=audio 7000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n");
        assert_eq!(check_answer(&offer, &not_offered), Err(SdpError::BadAnswer("a codec the offer did not list")));
        let dtmf_only = answer("m=audio 7000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 0 RTP/AVP 96\r\n");
        assert_eq!(check_answer(&offer, &dtmf_only), Err(SdpError::BadAnswer("no voice codec")));
        let one_stream = answer("m=audio 7000 RTP/AVP 8\r\n");
        assert!(matches!(check_answer(&offer, &one_stream), Err(SdpError::BadAnswer(_))));
        let rejected = answer("m=audio 0 RTP/AVP 8\r\nm=video 0 RTP/AVP 96\r\n");
        assert_eq!(check_answer(&offer, &rejected), Err(SdpError::NoCommonCodec));
        assert!(matches!(check_answer(&offer, "garbage"), Err(SdpError::Malformed(_))));
    }

    #[test]
    fn hold_is_any_direction_but_sendrecv_a_null_address_or_no_audio() {
        let sdp = |extra_session: &str, extra_media: &str, c: &str, port: u16| {
            format!("v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 {c}\r\nt=0 0\r\n{extra_session}m=audio {port} RTP/AVP 8\r\n{extra_media}")
        };
        assert!(!on_hold(&sdp("", "", "10.0.0.1", 4000)), "an ordinary offer");
        assert!(!on_hold(&sdp("", "a=sendrecv\r\n", "10.0.0.1", 4000)));
        for d in ["a=inactive", "a=sendonly", "a=recvonly"] {
            assert!(on_hold(&sdp("", &format!("{d}\r\n"), "10.0.0.1", 4000)), "{d} at media level");
            assert!(on_hold(&sdp(&format!("{d}\r\n"), "", "10.0.0.1", 4000)), "{d} at session level");
        }
        assert!(!on_hold(&sdp("a=inactive\r\n", "a=sendrecv\r\n", "10.0.0.1", 4000)), "the media level wins");
        assert!(on_hold(&sdp("", "", "0.0.0.0", 4000)), "RFC 2543 hold");
        assert!(on_hold(&sdp("", "", "10.0.0.1", 0)), "no active audio stream");
        assert!(!on_hold("not sdp"), "garbage is no hold");
    }

    #[test]
    fn a_declining_answer_rejects_every_stream() {
        let out = decline(OFFER);
        assert!(out.contains("m=audio 0 RTP/AVP 0 8 18 111 101\r\n") && out.contains("m=video 0 RTP/AVP 96\r\n"), "{out}");
        assert_eq!(audio_target(&out), None);
        assert_eq!(check_answer(OFFER, &out), Err(SdpError::NoCommonCodec), "one answer per stream, none accepted");
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in ["", "hello", "v=0\r\nm=audio\r\n", "v=0\r\nm=audio x RTP/AVP 0\r\n", "v=0\r\nbogus\r\n"] {
            assert!(matches!(filter(bad, &["PCMU"]), Err(SdpError::Malformed(_))), "{bad:?}");
        }
    }
}
