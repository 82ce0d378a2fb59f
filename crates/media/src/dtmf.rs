//! RFC 4733 telephone-events (DTMF carried in RTP) in and out, and the SIP
//! INFO `application/dtmf-relay` fallback, so a voice menu hears a key once
//! however the network treats the packets that carry it.
//!
//! The receiver takes fields the RTP layer already parsed (timestamp,
//! marker, payload) and identifies an event by its RTP timestamp, as
//! RFC 4733 §2.5.2 tells receivers to: the same key pressed twice is two
//! timestamps, three retransmitted end packets are one timestamp.

use std::fmt;

/// RTP clock of telephone-events for narrowband audio (RFC 4733 §2.1).
pub const CLOCK_RATE: u32 = 8000;

/// The sixteen DTMF events, in event-code order (RFC 4733 §3.2, table 7).
const DIGITS: [char; 16] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

/// Longest key press the sender builds and SIP INFO accepts: a minute is
/// far past any human press, so more means a bug or an attack.
pub const MAX_DURATION_MS: u32 = 60_000;

/// Why a telephone-event payload, a send request or a dtmf-relay body was
/// refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtmfError {
    /// The payload is not the 4 bytes of §2.3 (truncated, or several
    /// events packed together, which we do not accept).
    BadLength(usize),
    /// An event code outside DTMF 0-15 (flash, fax tones, ...).
    NotDtmf(u8),
    /// A character that is not `0-9 * # A-D`.
    UnknownDigit(char),
    /// Volume above the 6-bit field's 63 (-dBm0).
    BadVolume(u8),
    /// A duration of zero or over [`MAX_DURATION_MS`].
    BadDuration(u32),
    /// A packetisation interval of zero or over one second.
    BadInterval(u32),
    /// A dtmf-relay body without a `Signal` line.
    MissingSignal,
    /// A dtmf-relay `Signal` value that is not a DTMF key.
    UnknownSignal(String),
    /// A dtmf-relay `Duration` value that is not a number of milliseconds.
    BadRelayDuration(String),
    /// A dtmf-relay line without `=`, or a key given twice.
    BadRelayLine(String),
}

impl fmt::Display for DtmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength(n) => write!(f, "telephone-event payload of {n} bytes, not 4"),
            Self::NotDtmf(e) => write!(f, "telephone-event {e} is not a DTMF key"),
            Self::UnknownDigit(c) => write!(f, "{c:?} is not a DTMF key"),
            Self::BadVolume(v) => write!(f, "volume {v} is over 63"),
            Self::BadDuration(d) => write!(f, "duration {d} ms is zero or over {MAX_DURATION_MS}"),
            Self::BadInterval(i) => write!(f, "packet interval {i} ms is zero or over 1000"),
            Self::MissingSignal => f.write_str("dtmf-relay body has no Signal"),
            Self::UnknownSignal(s) => write!(f, "dtmf-relay Signal {s:?} is not a DTMF key"),
            Self::BadRelayDuration(s) => write!(f, "dtmf-relay Duration {s:?} is not a number"),
            Self::BadRelayLine(s) => write!(f, "dtmf-relay line {s:?} is malformed"),
        }
    }
}

impl std::error::Error for DtmfError {}

/// The key of a DTMF event code 0-15.
pub fn event_digit(event: u8) -> Result<char, DtmfError> {
    DIGITS.get(usize::from(event)).copied().ok_or(DtmfError::NotDtmf(event))
}

/// The event code of a key; `a-d` are accepted for `A-D`.
pub fn digit_event(digit: char) -> Result<u8, DtmfError> {
    let upper = digit.to_ascii_uppercase();
    DIGITS.iter().position(|&d| d == upper).map(|i| i as u8).ok_or(DtmfError::UnknownDigit(digit))
}

/// One telephone-event payload (RFC 4733 §2.3). The reserved R bit is
/// ignored on parse and sent as zero, as §2.3.3 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The key, `0-9 * # A-D`.
    pub digit: char,
    /// E bit: this packet ends the event (or its segment).
    pub end: bool,
    /// Power level in -dBm0, 0-63.
    pub volume: u8,
    /// Duration so far, in RTP timestamp units (1/8000 s).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the 4-byte payload of one packet.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let &[event, flags, d0, d1] = payload else {
            return Err(DtmfError::BadLength(payload.len()));
        };
        Ok(Self { digit: event_digit(event)?, end: flags & 0x80 != 0, volume: flags & 0x3f, duration: u16::from_be_bytes([d0, d1]) })
    }

    /// The 4 payload bytes to send.
    pub fn build(&self) -> Result<[u8; 4], DtmfError> {
        let event = digit_event(self.digit)?;
        if self.volume > 63 {
            return Err(DtmfError::BadVolume(self.volume));
        }
        let [d0, d1] = self.duration.to_be_bytes();
        Ok([event, u8::from(self.end) << 7 | self.volume, d0, d1])
    }
}

/// A key press the receiver recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// The key.
    pub digit: char,
    /// RTP timestamp of the event's (first segment's) start.
    pub start_ts: u32,
    /// Total duration in RTP units, across long-event segments.
    pub duration: u32,
}

/// What one packet told the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfOutput {
    /// A new key went down: lets a prompt stop at once (barge-in).
    Begin {
        /// The key.
        digit: char,
        /// RTP timestamp of the event, the one its End will carry.
        start_ts: u32,
    },
    /// The key ended; reported exactly once per event.
    End(DigitEvent),
}

/// The event the receiver is hearing now.
#[derive(Debug, Clone, Copy)]
struct Current {
    digit: char,
    /// Timestamp the event started at (first segment).
    start_ts: u32,
    /// Timestamp of the segment packets carry now (§2.5.1.3).
    segment_ts: u32,
    /// Duration of the segments before this one.
    earlier: u32,
    /// Longest duration seen in this segment (packets may be reordered).
    segment_duration: u16,
    ended: bool,
}

impl Current {
    fn event(&self) -> DigitEvent {
        DigitEvent { digit: self.digit, start_ts: self.start_ts, duration: self.earlier + u32::from(self.segment_duration) }
    }
}

/// Turns the telephone-event packets of one RTP source into each key once.
/// Only the newest event is kept: packets of older timestamps (late
/// retransmissions, reordering) are ignored, so memory stays constant
/// whatever a flood of events does.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    current: Option<Current>,
}

/// Whether `a` is after `b` in RTP timestamp order (RFC 1982 arithmetic).
fn ts_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl DtmfReceiver {
    /// A receiver that has heard nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet; returns what it means, at most an
    /// end of the previous event, a begin and an end of this one.
    pub fn on_packet(&mut self, timestamp: u32, marker: bool, payload: &[u8]) -> Result<Vec<DtmfOutput>, DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        let mut out = Vec::new();
        if let Some(cur) = self.current.as_mut() {
            if timestamp == cur.segment_ts {
                if ev.digit == cur.digit && !cur.ended {
                    cur.segment_duration = cur.segment_duration.max(ev.duration);
                    if ev.end {
                        cur.ended = true;
                        out.push(DtmfOutput::End(cur.event()));
                    }
                }
                return Ok(out);
            }
            if !ts_after(timestamp, cur.segment_ts) {
                return Ok(out); // a reordered packet of something older
            }
            // §2.5.1.3: a long event goes on in a new segment that starts
            // where the last ended (65535 units on), same key, no marker;
            // the gap also bridges a lost closing packet of the old segment.
            let gap = timestamp.wrapping_sub(cur.segment_ts);
            let continues =
                !cur.ended && !marker && ev.digit == cur.digit && (u32::from(cur.segment_duration)..=u32::from(u16::MAX)).contains(&gap);
            if continues {
                cur.earlier += gap;
                cur.segment_ts = timestamp;
                cur.segment_duration = ev.duration;
                if ev.end {
                    cur.ended = true;
                    out.push(DtmfOutput::End(cur.event()));
                }
                return Ok(out);
            }
            if !cur.ended {
                // Ended by a new event without its end packets arriving.
                out.push(DtmfOutput::End(cur.event()));
            }
        }
        // A new event, whether or not its marker packet arrived.
        let cur = Current {
            digit: ev.digit,
            start_ts: timestamp,
            segment_ts: timestamp,
            earlier: 0,
            segment_duration: ev.duration,
            ended: ev.end,
        };
        out.push(DtmfOutput::Begin { digit: ev.digit, start_ts: timestamp });
        if ev.end {
            out.push(DtmfOutput::End(cur.event()));
        }
        self.current = Some(cur);
        Ok(out)
    }

    /// Ends the event in progress when the caller knows the source stopped
    /// sending events (audio resumed, a timeout, the call ended).
    pub fn flush(&mut self) -> Option<DigitEvent> {
        let cur = self.current.as_mut().filter(|c| !c.ended)?;
        cur.ended = true;
        Some(cur.event())
    }
}

/// Builds the packets that send one key press.
#[derive(Debug, Clone, Copy)]
pub struct DtmfSender {
    /// Milliseconds between update packets (50 by default, as most phones).
    pub interval_ms: u32,
    /// Power level in -dBm0.
    pub volume: u8,
}

impl Default for DtmfSender {
    fn default() -> Self {
        Self { interval_ms: 50, volume: 10 }
    }
}

/// One packet to send: (marker, RTP timestamp, payload).
pub type DtmfPacket = (bool, u32, [u8; 4]);

impl DtmfSender {
    /// The packets for `digit` pressed for `duration_ms` from RTP time
    /// `start_ts`, in send order: the first has the marker, one update per
    /// interval with the duration so far, then the end packet three times
    /// with the final duration (§2.5.1.4). Events longer than the 16-bit
    /// duration field are split into segments (§2.5.1.3).
    pub fn packets(&self, digit: char, start_ts: u32, duration_ms: u32) -> Result<Vec<DtmfPacket>, DtmfError> {
        if duration_ms == 0 || duration_ms > MAX_DURATION_MS {
            return Err(DtmfError::BadDuration(duration_ms));
        }
        if self.interval_ms == 0 || self.interval_ms > 1000 {
            return Err(DtmfError::BadInterval(self.interval_ms));
        }
        let units_per_ms = CLOCK_RATE / 1000;
        let total = duration_ms * units_per_ms;
        let step = self.interval_ms * units_per_ms;
        let payload = |end: bool, duration: u32| {
            TelephoneEvent { digit, end, volume: self.volume, duration: u16::try_from(duration).unwrap_or(u16::MAX) }.build()
        };
        let mut out = Vec::new();
        let mut segment = 0u32; // offset of the current segment's start
        let mut push = |out: &mut Vec<DtmfPacket>, at: u32, end: bool| {
            if at - segment > u32::from(u16::MAX) {
                // Close the full segment; the E bit stays clear (§2.5.1.3).
                let ts = start_ts.wrapping_add(segment);
                out.push((false, ts, payload(false, u32::from(u16::MAX))?));
                segment += u32::from(u16::MAX);
            }
            let marker = out.is_empty();
            out.push((marker, start_ts.wrapping_add(segment), payload(end, at - segment)?));
            Ok::<(), DtmfError>(())
        };
        let mut at = step;
        while at < total {
            push(&mut out, at, false)?;
            at += step;
        }
        push(&mut out, total, true)?;
        let last = out[out.len() - 1];
        out.push((false, last.1, last.2));
        out.push((false, last.1, last.2));
        Ok(out)
    }
}

/// A key from a SIP INFO `application/dtmf-relay` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfRelay {
    /// The key.
    pub digit: char,
    /// `Duration` in milliseconds, when the body gives one.
    pub duration_ms: Option<u32>,
}

/// Parses `Signal=5\r\nDuration=160`: keys in any case, spaces around
/// either side, `\n` or `\r\n`, unknown keys ignored. `Signal` is one key
/// character or its event code 0-15 (some phones send `10` for `*`).
pub fn parse_dtmf_relay(body: &str) -> Result<DtmfRelay, DtmfError> {
    let (mut digit, mut duration) = (None, None);
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (key, value) = line.split_once('=').ok_or_else(|| DtmfError::BadRelayLine(line.to_owned()))?;
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("signal") {
            if digit.is_some() {
                return Err(DtmfError::BadRelayLine(line.to_owned()));
            }
            digit = Some(relay_signal(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            if duration.is_some() {
                return Err(DtmfError::BadRelayLine(line.to_owned()));
            }
            let ms: u32 = value.parse().map_err(|_| DtmfError::BadRelayDuration(value.to_owned()))?;
            if ms == 0 || ms > MAX_DURATION_MS {
                return Err(DtmfError::BadDuration(ms));
            }
            duration = Some(ms);
        }
    }
    Ok(DtmfRelay { digit: digit.ok_or(DtmfError::MissingSignal)?, duration_ms: duration })
}

fn relay_signal(value: &str) -> Result<char, DtmfError> {
    let unknown = || DtmfError::UnknownSignal(value.to_owned());
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => digit_event(c).map(|e| DIGITS[usize::from(e)]).map_err(|_| unknown()),
        _ => {
            let code: u8 = value.parse().map_err(|_| unknown())?;
            event_digit(code).map_err(|_| unknown())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;

    fn pkt(digit: char, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent { digit, end, volume: 10, duration }.build().unwrap()
    }

    fn ends(out: &[DtmfOutput]) -> Vec<DigitEvent> {
        out.iter()
            .filter_map(|o| match o {
                DtmfOutput::End(e) => Some(*e),
                DtmfOutput::Begin { .. } => None,
            })
            .collect()
    }

    /// Feeds (ts, marker, payload) packets; returns every End in order.
    fn feed(rx: &mut DtmfReceiver, packets: &[DtmfPacket]) -> Vec<DigitEvent> {
        let mut all = Vec::new();
        for (marker, ts, payload) in packets {
            all.extend(ends(&rx.on_packet(*ts, *marker, payload).unwrap()));
        }
        all
    }

    #[test]
    fn payload_matches_rfc_4733_layout() {
        // Key 5, end, volume 10, duration 1600 (200 ms): 05 8a 06 40.
        assert_eq!(pkt('5', true, 1600), [0x05, 0x8a, 0x06, 0x40]);
        let ev = TelephoneEvent::parse(&[0x0b, 0x4a, 0x00, 0xa0]).unwrap();
        // R bit set is ignored; # is event 11.
        assert_eq!(ev, TelephoneEvent { digit: '#', end: false, volume: 10, duration: 160 });
        for (code, digit) in DIGITS.iter().enumerate() {
            assert_eq!(event_digit(code as u8), Ok(*digit));
            assert_eq!(digit_event(*digit), Ok(code as u8));
            let back = TelephoneEvent::parse(&pkt(*digit, code % 2 == 0, 0xffff)).unwrap();
            assert_eq!((back.digit, back.end, back.duration), (*digit, code % 2 == 0, 0xffff));
        }
        assert_eq!(digit_event('d'), Ok(15));
    }

    #[test]
    fn bad_payloads_are_typed_errors() {
        assert_eq!(TelephoneEvent::parse(&[5, 0x8a, 6]), Err(DtmfError::BadLength(3)));
        assert_eq!(TelephoneEvent::parse(&[5, 0, 0, 0, 0]), Err(DtmfError::BadLength(5)));
        assert_eq!(TelephoneEvent::parse(&[16, 0, 0, 0]), Err(DtmfError::NotDtmf(16)));
        let loud = TelephoneEvent { digit: '1', end: false, volume: 64, duration: 0 };
        assert_eq!(loud.build(), Err(DtmfError::BadVolume(64)));
        assert_eq!(digit_event('E'), Err(DtmfError::UnknownDigit('E')));
        assert!(!DtmfError::NotDtmf(16).to_string().is_empty());
    }

    #[test]
    fn no_panic_on_truncations_and_random_bytes() {
        let mut rx = DtmfReceiver::new();
        let valid = pkt('9', true, 800);
        for n in 0..valid.len() {
            assert!(rx.on_packet(0, false, &valid[..n]).is_err());
        }
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        for _ in 0..5000 {
            let r = next();
            let len = (r % 7) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (r >> (8 * i)) as u8).collect();
            let ts = (next() % 4) as u32 * 800;
            let _ = rx.on_packet(ts, r & 1 == 1, &bytes);
            let text: String = bytes.iter().map(|&b| char::from(b % 128)).collect();
            let _ = parse_dtmf_relay(&text);
            let _ = parse_dtmf_relay(&format!("Signal={text}\nDuration={}", r % 100_000));
        }
    }

    #[test]
    fn sender_follows_section_2_5() {
        let tx = DtmfSender::default();
        // 200 ms at 50 ms: updates at 400, 800, 1200, then end 1600 x3.
        let p = tx.packets('1', 4_294_967_000, 200).unwrap();
        assert_eq!(p.len(), 6);
        assert!(p[0].0 && p[1..].iter().all(|x| !x.0));
        assert!(p.iter().all(|x| x.1 == 4_294_967_000));
        let durs: Vec<_> = p.iter().map(|x| TelephoneEvent::parse(&x.2).unwrap()).collect();
        let d: Vec<u16> = durs.iter().map(|e| e.duration).collect();
        assert_eq!(d, [400, 800, 1200, 1600, 1600, 1600]);
        let e: Vec<bool> = durs.iter().map(|e| e.end).collect();
        assert_eq!(e, [false, false, false, true, true, true]);
        // A press shorter than one interval is only end packets, the first marked.
        let short = DtmfSender { interval_ms: 20, volume: 0 }.packets('#', 0, 10).unwrap();
        assert_eq!(short.len(), 3);
        assert!(short[0].0);
        assert_eq!(short[0].2, [11, 0x80, 0, 80]);
        assert_eq!(tx.packets('1', 0, 0), Err(DtmfError::BadDuration(0)));
        assert_eq!(tx.packets('1', 0, 60_001), Err(DtmfError::BadDuration(60_001)));
        assert_eq!(tx.packets('x', 0, 100), Err(DtmfError::UnknownDigit('x')));
        let zero = DtmfSender { interval_ms: 0, volume: 0 };
        assert_eq!(zero.packets('1', 0, 100), Err(DtmfError::BadInterval(0)));
    }

    #[test]
    fn long_press_is_split_into_segments_and_rejoined() {
        // 10 s = 80000 units > 65535: segment 2 starts at ts + 65535.
        let p = DtmfSender::default().packets('0', 1000, 10_000).unwrap();
        let closes: Vec<_> = p.iter().filter(|x| TelephoneEvent::parse(&x.2).unwrap().duration == u16::MAX).collect();
        assert_eq!(closes.len(), 1);
        assert!(!TelephoneEvent::parse(&closes[0].2).unwrap().end);
        let last = p.last().unwrap();
        assert_eq!(last.1, 1000 + 65535);
        assert_eq!(TelephoneEvent::parse(&last.2).unwrap().duration, 14_465);
        let mut rx = DtmfReceiver::new();
        let got = feed(&mut rx, &p);
        assert_eq!(got, [DigitEvent { digit: '0', start_ts: 1000, duration: 80_000 }]);
    }

    #[test]
    fn receiver_reports_each_press_once() {
        let tx = DtmfSender::default();
        let mut rx = DtmfReceiver::new();
        let mut all = feed(&mut rx, &tx.packets('1', 0, 100).unwrap());
        // The same key again is a new timestamp, so a new press.
        all.extend(feed(&mut rx, &tx.packets('1', 8000, 100).unwrap()));
        // Late retransmission of the first press's end is ignored.
        all.extend(ends(&rx.on_packet(0, false, &pkt('1', true, 800)).unwrap()));
        let want = |ts| DigitEvent { digit: '1', start_ts: ts, duration: 800 };
        assert_eq!(all, [want(0), want(8000)]);
        assert_eq!(rx.flush(), None);
    }

    #[test]
    fn receiver_survives_loss_reorder_and_missing_end() {
        let mut rx = DtmfReceiver::new();
        // First (marker) packet lost: Begin still comes from the next one.
        let out = rx.on_packet(160, false, &pkt('7', false, 800)).unwrap();
        assert_eq!(out, [DtmfOutput::Begin { digit: '7', start_ts: 160 }]);
        // End arrives before a reordered update; duration is the max.
        let out = rx.on_packet(160, false, &pkt('7', true, 1600)).unwrap();
        assert_eq!(ends(&out)[0].duration, 1600);
        assert!(rx.on_packet(160, false, &pkt('7', false, 1200)).unwrap().is_empty());
        // A press whose end packets are all lost ends when the next starts.
        assert!(ends(&rx.on_packet(4000, true, &pkt('8', false, 400)).unwrap()).is_empty());
        let out = rx.on_packet(9000, true, &pkt('9', false, 400)).unwrap();
        assert_eq!(
            out,
            [DtmfOutput::End(DigitEvent { digit: '8', start_ts: 4000, duration: 400 }), DtmfOutput::Begin { digit: '9', start_ts: 9000 }]
        );
        // Its late end packet does not report it again; older ts is ignored.
        assert!(rx.on_packet(4000, false, &pkt('8', true, 800)).unwrap().is_empty());
        assert!(rx.on_packet(100, false, &pkt('3', true, 800)).unwrap().is_empty());
        // The caller ends the last one when the source goes quiet.
        assert_eq!(rx.flush().map(|e| e.digit), Some('9'));
        assert_eq!(rx.flush(), None);
    }

    #[test]
    fn receiver_handles_timestamp_wrap() {
        let mut rx = DtmfReceiver::new();
        let tx = DtmfSender::default();
        let mut got = feed(&mut rx, &tx.packets('A', u32::MAX - 100, 100).unwrap());
        got.extend(feed(&mut rx, &tx.packets('B', 700, 100).unwrap()));
        let digits: Vec<char> = got.iter().map(|e| e.digit).collect();
        assert_eq!(digits, ['A', 'B']);
    }

    #[test]
    fn dtmf_relay_bodies() {
        let want = |digit, duration_ms| Ok(DtmfRelay { digit, duration_ms });
        assert_eq!(parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"), want('5', Some(160)));
        assert_eq!(parse_dtmf_relay("signal = *\nDURATION= 250"), want('*', Some(250)));
        assert_eq!(parse_dtmf_relay("Signal=11"), want('#', None));
        assert_eq!(parse_dtmf_relay("Signal=d\nFoo=bar"), want('D', None));
        assert_eq!(parse_dtmf_relay("Signal=16"), Err(DtmfError::UnknownSignal("16".into())));
        assert_eq!(parse_dtmf_relay("Signal=E"), Err(DtmfError::UnknownSignal("E".into())));
        assert_eq!(parse_dtmf_relay("Duration=160"), Err(DtmfError::MissingSignal));
        assert_eq!(parse_dtmf_relay("Signal=1\nDuration=abc"), Err(DtmfError::BadRelayDuration("abc".into())));
        assert_eq!(parse_dtmf_relay("Signal=1\nSignal=2"), Err(DtmfError::BadRelayLine("Signal=2".into())));
        assert_eq!(parse_dtmf_relay("Signal 1"), Err(DtmfError::BadRelayLine("Signal 1".into())));
        assert_eq!(parse_dtmf_relay("Signal=1\nDuration=0"), Err(DtmfError::BadDuration(0)));
    }
}
