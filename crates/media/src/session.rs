//! One call leg's media endpoint, sans-IO: the glue the switch drives from
//! its relay socket (`on_rtp`, `on_rtcp`) and its 20 ms clock (`tick`,
//! `rtcp_due`, `build_rtcp`).
//!
//! It reuses the crate's parts rather than repeating them: `rtp.rs` parses
//! and writes packets and keeps the per-source statistics, `jitter.rs`
//! orders what arrives, `g711.rs` is the codec, `dtmf.rs` reads and writes
//! RFC 4733 events, `goertzel.rs` hears in-band keys when no
//! telephone-event payload type was negotiated, `tone.rs` plays tones and
//! `rtcp.rs` builds and reads the reports.
//!
//! Whom to hear is decided by SSRC: the first valid packet latches its
//! source, other sources are counted and ignored, and only a silence of
//! the latched one (`relatch_ms`) lets another take over, so a stray or
//! forged stream cannot hijack the leg. The remote address is the
//! switch's business (it filters before calling us).

use std::collections::VecDeque;
use std::fmt;

use crate::dtmf::{DigitEvent, DtmfError, DtmfOutput, DtmfReceiver, DtmfSender};
use crate::g711::{Law, FRAME_SAMPLES};
use crate::goertzel::DtmfDetector;
use crate::jitter::{JitterBuffer, JitterConfig, Playout};
use crate::rtcp::{self, NtpTimestamp, ReceiverReport, ReportBlock, RtcpPacket, SenderReport};
use crate::rtp::{RtpHeader, RtpPacket, SourceStats};
use crate::tone::{ToneGenerator, TonePlan};

/// One 20 ms frame of 8 kHz linear PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// RTP timestamp units per 20 ms frame at 8 kHz.
const FRAME_TS: u32 = FRAME_SAMPLES as u32;

/// Gap between in-band keys sent by `send_digit` (a detector needs one).
const INBAND_GAP_MS: u32 = 60;

/// Quiet ticks still fed to the in-band detector (it needs a gap of
/// `goertzel::GAP_BLOCKS` to end a key).
const DETECT_AFTER_QUIET: u32 = 5;

/// Consecutive lost frames concealed by repetition before silence.
const MAX_CONCEAL: u32 = 3;

/// How a session is set up (the result of the SDP negotiation).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our SSRC, chosen by the caller (no RNG in here).
    pub ssrc: u32,
    /// The negotiated codec.
    pub law: Law,
    /// Its payload type (normally `law.payload_type()`, 0 or 8).
    pub payload_type: u8,
    /// The telephone-event payload type, if negotiated (e.g. 101).
    pub event_payload_type: Option<u8>,
    /// Silence of the latched source after which another may latch.
    pub relatch_ms: u64,
    /// Send encoded silence while `Source::Silence` plays, instead of nothing.
    pub comfort_silence: bool,
    /// Hear keys in the received audio when no event PT was negotiated.
    pub inband_dtmf: bool,
    /// First sequence number and timestamp (random per RFC 3550; the caller picks).
    pub initial_seq: u16,
    /// First RTP timestamp.
    pub initial_ts: u32,
    /// SDES CNAME for our reports.
    pub cname: Vec<u8>,
    /// Time between RTCP reports (5 s per RFC 3550 §6.2).
    pub rtcp_interval_ms: u64,
    /// Jitter buffer tuning.
    pub jitter: JitterConfig,
    /// RFC 4733 sender tuning (update interval, volume).
    pub dtmf: DtmfSender,
}

impl SessionConfig {
    /// A configuration with the usual values for `law`: its static payload
    /// type, 2 s re-latch, no comfort silence, in-band detection on, 5 s RTCP.
    pub fn new(ssrc: u32, law: Law, event_payload_type: Option<u8>) -> Self {
        Self {
            ssrc,
            law,
            payload_type: law.payload_type(),
            event_payload_type,
            relatch_ms: 2000,
            comfort_silence: false,
            inband_dtmf: true,
            initial_seq: 0,
            initial_ts: 0,
            cname: b"switchboard".to_vec(),
            rtcp_interval_ms: 5000,
            jitter: JitterConfig::default(),
            dtmf: DtmfSender::default(),
        }
    }
}

/// Why a session could not be set up or a digit not sent.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionError {
    /// A payload type over 127.
    BadPayloadType(u8),
    /// The codec and telephone-event share a payload type.
    SamePayloadType(u8),
    /// The CNAME does not fit an SDES item (255 bytes).
    CnameTooLong(usize),
    /// A zero RTCP interval would report every tick.
    BadRtcpInterval,
    /// The digit or its duration was refused.
    Dtmf(DtmfError),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPayloadType(pt) => write!(f, "payload type {pt} is over 127"),
            Self::SamePayloadType(pt) => write!(f, "codec and telephone-event both use payload type {pt}"),
            Self::CnameTooLong(n) => write!(f, "CNAME of {n} bytes is over 255"),
            Self::BadRtcpInterval => write!(f, "RTCP interval must be above 0"),
            Self::Dtmf(e) => write!(f, "DTMF: {e}"),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<DtmfError> for SessionError {
    fn from(e: DtmfError) -> Self {
        Self::Dtmf(e)
    }
}

/// What the session plays to the remote.
pub enum Source {
    /// Nothing (or comfort silence, per `SessionConfig::comfort_silence`).
    Silence,
    /// A tone plan (ringback, beep, music on hold).
    Tone(ToneGenerator),
    /// Frames from elsewhere, e.g. a prompt read from a WAV.
    Frames(Box<dyn Iterator<Item = Frame>>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Silence => "Silence",
            Self::Tone(_) => "Tone",
            Self::Frames(_) => "Frames",
        })
    }
}

/// Something the caller should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A remote source was latched (the first, or a new one after silence).
    Latched {
        /// Its SSRC.
        ssrc: u32,
    },
    /// A key went down (barge-in: stop the prompt now).
    DigitBegin(char),
    /// A key was pressed, reported once (RFC 4733 or in-band).
    Digit(DigitEvent),
    /// The tone or frames source played out; the source is now silence.
    SourceDone,
}

/// What one 20 ms tick produced.
#[derive(Debug, Default)]
pub struct Tick {
    /// One RTP packet to send, or none when nothing is being played.
    pub send: Option<Vec<u8>>,
    /// The frame heard from the remote, decoded or concealed; none before
    /// the first frame is due or while the remote is quiet.
    pub heard: Option<Frame>,
    /// Whether `heard` is a concealment of a lost frame.
    pub concealed: bool,
    /// Keys heard in-band and the end of the source.
    pub events: Vec<Event>,
}

/// Counters for logs, CDRs and monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// RTP packets accepted from the latched source.
    pub packets_received: u64,
    /// Their payload bytes.
    pub bytes_received: u64,
    /// Datagrams that were not RTP.
    pub parse_errors: u64,
    /// Packets from a source other than the latched one.
    pub wrong_ssrc: u64,
    /// Packets with a payload type not negotiated.
    pub wrong_pt: u64,
    /// Telephone-event payloads that did not parse.
    pub bad_events: u64,
    /// RTCP datagrams that did not parse.
    pub rtcp_errors: u64,
    /// Frames after their playout time (jitter buffer).
    pub late: u64,
    /// Ticks with a missing frame (jitter buffer).
    pub lost: u64,
    /// Packets lost per the sequence numbers (RFC 3550 A.3).
    pub lost_seq: i64,
    /// Interarrival jitter in milliseconds (RFC 3550 A.8).
    pub jitter_ms: u32,
    /// Round-trip time from the last report about us, in ms.
    pub rtt_ms: Option<u64>,
}

/// An RFC 4733 packet waiting for its send time.
#[derive(Debug, Clone, Copy)]
struct Pending {
    due_ts: u32,
    marker: bool,
    ts: u32,
    payload: [u8; 4],
}

/// The remote source we listen to.
#[derive(Debug)]
struct Latch {
    stats: SourceStats,
    last_ms: u64,
    /// Middle 32 bits of its last SR's NTP time and when it arrived.
    last_sr: Option<(u32, u64)>,
}

/// Whether RTP timestamp `a` is at or after `b` (RFC 1982 arithmetic).
fn ts_reached(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// One call leg's media: see the module doc.
pub struct Session {
    cfg: SessionConfig,
    source: Source,
    seq: u16,
    ts: u32,
    /// Whether the previous tick sent audio (else the next audio is a talkspurt start).
    talking: bool,
    digits: VecDeque<(char, u32)>,
    events_out: VecDeque<Pending>,
    inband_out: Option<ToneGenerator>,
    latch: Option<Latch>,
    jitter: JitterBuffer,
    dtmf_rx: DtmfReceiver,
    detector: DtmfDetector,
    last_heard: Option<Frame>,
    misses: u32,
    /// Ticks since a frame was heard.
    unheard: u32,
    sent_since_report: bool,
    next_rtcp_ms: Option<u64>,
    /// Our clock and NTP time at the last report built: maps arrival ms to NTP.
    clock_ref: Option<(u64, NtpTimestamp)>,
    stats: SessionStats,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("ssrc", &self.cfg.ssrc).field("source", &self.source).field("stats", &self.stats).finish()
    }
}

impl Session {
    /// A session with `cfg`, playing silence.
    pub fn new(cfg: SessionConfig) -> Result<Self, SessionError> {
        for pt in std::iter::once(cfg.payload_type).chain(cfg.event_payload_type) {
            if pt > 127 {
                return Err(SessionError::BadPayloadType(pt));
            }
        }
        if cfg.event_payload_type == Some(cfg.payload_type) {
            return Err(SessionError::SamePayloadType(cfg.payload_type));
        }
        if cfg.cname.len() > 255 {
            return Err(SessionError::CnameTooLong(cfg.cname.len()));
        }
        if cfg.rtcp_interval_ms == 0 {
            return Err(SessionError::BadRtcpInterval);
        }
        Ok(Self {
            source: Source::Silence,
            seq: cfg.initial_seq,
            ts: cfg.initial_ts,
            talking: false,
            digits: VecDeque::new(),
            events_out: VecDeque::new(),
            inband_out: None,
            latch: None,
            jitter: JitterBuffer::new(cfg.jitter),
            dtmf_rx: DtmfReceiver::new(),
            detector: DtmfDetector::new(0),
            last_heard: None,
            misses: 0,
            unheard: u32::MAX,
            sent_since_report: false,
            next_rtcp_ms: None,
            clock_ref: None,
            stats: SessionStats::default(),
            cfg,
        })
    }

    /// Plays `source` from the next tick on; sequence and timestamp go on.
    pub fn set_source(&mut self, source: Source) {
        self.source = source;
    }

    /// The SSRC we listen to, once latched.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.latch.as_ref().map(|l| l.stats.ssrc())
    }

    /// The sequence number and timestamp the next packet will carry.
    pub fn next_seq_ts(&self) -> (u16, u32) {
        (self.seq, self.ts)
    }

    /// Queues a key press: RFC 4733 packets when telephone-event was
    /// negotiated, else the Q.23 tone in-band. Audio pauses meanwhile.
    pub fn send_digit(&mut self, digit: char, duration_ms: u32) -> Result<(), SessionError> {
        // Validate now, so an error reaches the caller rather than a tick.
        self.cfg.dtmf.packets(digit, 0, duration_ms)?;
        TonePlan::dtmf(digit, duration_ms, INBAND_GAP_MS).map_err(|_| SessionError::Dtmf(DtmfError::UnknownDigit(digit)))?;
        self.digits.push_back((digit, duration_ms));
        Ok(())
    }

    /// Takes one datagram from the RTP socket that arrived at `now_ms`.
    pub fn on_rtp(&mut self, bytes: &[u8], now_ms: u64) -> Vec<Event> {
        let mut events = Vec::new();
        let Ok(pkt) = RtpPacket::parse(bytes) else {
            self.stats.parse_errors += 1;
            return events;
        };
        let is_audio = pkt.payload_type == self.cfg.payload_type;
        let is_event = Some(pkt.payload_type) == self.cfg.event_payload_type;
        if !is_audio && !is_event {
            self.stats.wrong_pt += 1;
            return events;
        }
        let silent = self.latch.as_ref().is_none_or(|l| now_ms.saturating_sub(l.last_ms) >= self.cfg.relatch_ms);
        if self.remote_ssrc() != Some(pkt.ssrc) {
            if !silent {
                self.stats.wrong_ssrc += 1;
                return events;
            }
            self.latch = Some(Latch { stats: SourceStats::new(pkt.ssrc, pkt.sequence), last_ms: now_ms, last_sr: None });
            self.dtmf_rx = DtmfReceiver::new();
            events.push(Event::Latched { ssrc: pkt.ssrc });
        }
        let Some(latch) = self.latch.as_mut() else { return events };
        latch.last_ms = now_ms;
        // A.8 wants arrival in RTP units: 8 per ms at 8 kHz.
        latch.stats.record(pkt.sequence, pkt.timestamp, (now_ms as u32).wrapping_mul(FRAME_TS / 20));
        self.stats.packets_received += 1;
        self.stats.bytes_received += pkt.payload.len() as u64;
        if is_audio {
            self.jitter.push(pkt.ssrc, pkt.sequence, pkt.timestamp, pkt.marker, now_ms, pkt.payload);
        } else {
            match self.dtmf_rx.on_packet(pkt.timestamp, pkt.marker, pkt.payload) {
                Ok(outs) => events.extend(outs.into_iter().map(digit_event)),
                Err(_) => self.stats.bad_events += 1,
            }
        }
        events
    }

    /// The 20 ms tick at `now_ms`: the packet to send and the frame heard.
    /// The timestamp advances one frame per tick whether or not we send.
    pub fn tick(&mut self, now_ms: u64) -> Tick {
        let mut tick = Tick::default();
        tick.send = self.outgoing(&mut tick.events);
        self.ts = self.ts.wrapping_add(FRAME_TS);
        self.hear(now_ms, &mut tick);
        tick
    }

    /// Whether an RTCP report is due at `now_ms`: the first half an
    /// interval after the first call, then one per interval.
    pub fn rtcp_due(&mut self, now_ms: u64) -> bool {
        let half = self.cfg.rtcp_interval_ms / 2;
        now_ms >= *self.next_rtcp_ms.get_or_insert(now_ms.saturating_add(half))
    }

    /// The compound report to send now (`ntp` is the wall clock the caller
    /// read): an SR if we sent RTP since the last report, else an RR, with
    /// a block about the latched source.
    pub fn build_rtcp(&mut self, now_ms: u64, ntp: NtpTimestamp) -> Vec<u8> {
        self.next_rtcp_ms = Some(now_ms.saturating_add(self.cfg.rtcp_interval_ms));
        self.clock_ref = Some((now_ms, ntp));
        let reports: Vec<ReportBlock> = self
            .latch
            .as_mut()
            .map(|l| {
                let (lsr, dlsr) = l.last_sr.map_or((0, 0), |(lsr, at)| (lsr, rtcp::dlsr_from_millis(now_ms.saturating_sub(at))));
                ReportBlock::from_stats(&mut l.stats, lsr, dlsr)
            })
            .into_iter()
            .collect();
        let mut out = Vec::new();
        let written = if self.sent_since_report {
            let sr = SenderReport {
                ssrc: self.cfg.ssrc,
                ntp,
                rtp_timestamp: self.ts,
                packet_count: self.stats.packets_sent as u32,
                octet_count: self.stats.bytes_sent as u32,
                reports,
            };
            rtcp::write_sr(&sr, &self.cfg.cname, &mut out)
        } else {
            rtcp::write_rr(&ReceiverReport { ssrc: self.cfg.ssrc, reports }, &self.cfg.cname, &mut out)
        };
        self.sent_since_report = false;
        // One block and a CNAME checked in `new`: writing cannot fail.
        if written.is_err() {
            out.clear();
        }
        out
    }

    /// Takes one datagram from the RTCP socket: records the latched
    /// source's SR (for our LSR/DLSR) and the round trip from its blocks
    /// about us. Reports from a source other than the latched one are
    /// ignored (a receive-only peer, never latched, is believed).
    pub fn on_rtcp(&mut self, bytes: &[u8], now_ms: u64) {
        let Ok(packets) = rtcp::parse_compound(bytes) else {
            self.stats.rtcp_errors += 1;
            return;
        };
        let remote = self.remote_ssrc();
        for packet in &packets {
            let (sender, blocks) = match packet {
                RtcpPacket::SenderReport(sr) => (sr.ssrc, &sr.reports),
                RtcpPacket::ReceiverReport(rr) => (rr.ssrc, &rr.reports),
                _ => continue,
            };
            if remote.is_some_and(|r| r != sender) {
                continue;
            }
            if let (RtcpPacket::SenderReport(sr), Some(latch)) = (packet, self.latch.as_mut()) {
                latch.last_sr = Some((sr.ntp.middle32(), now_ms));
            }
            let Some((at_ms, at_ntp)) = self.clock_ref else { continue };
            // Our NTP time now, from the clock pair of the last report built.
            let elapsed = u128::from(now_ms.saturating_sub(at_ms));
            let arrival = NtpTimestamp(at_ntp.0.wrapping_add(((elapsed << 32) / 1000) as u64));
            for block in blocks.iter().filter(|b| b.ssrc == self.cfg.ssrc) {
                // A negative round trip (clock skew, a forged block) is no figure.
                if let Some(rtt) = rtcp::round_trip(arrival, block).filter(|&r| (r as i32) >= 0) {
                    self.stats.rtt_ms = Some(rtcp::dlsr_to_millis(rtt));
                }
            }
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> SessionStats {
        let j = self.jitter.stats();
        let mut s = SessionStats { late: j.late, lost: j.lost, ..self.stats };
        if let Some(l) = &self.latch {
            s.lost_seq = l.stats.lost();
            s.jitter_ms = l.stats.jitter() / (FRAME_TS / 20);
        }
        s
    }

    /// The packet of this tick: a queued RFC 4733 packet, an in-band key,
    /// or the source's next frame.
    fn outgoing(&mut self, events: &mut Vec<Event>) -> Option<Vec<u8>> {
        let tick_ts = self.ts;
        if self.events_out.is_empty() && self.inband_out.is_none() {
            if let Some((digit, ms)) = self.digits.pop_front() {
                self.start_digit(digit, ms, tick_ts);
            }
        }
        if let (Some(pt), Some(&p)) = (self.cfg.event_payload_type, self.events_out.front()) {
            self.talking = false; // audio paused: the next frame starts a talkspurt
            if !ts_reached(tick_ts, p.due_ts) {
                return None;
            }
            self.events_out.pop_front();
            return self.packet(p.marker, pt, p.ts, &p.payload);
        }
        if let Some(generator) = self.inband_out.as_mut() {
            let mut frame = [0; FRAME_SAMPLES];
            generator.fill(&mut frame);
            if generator.is_done() {
                self.inband_out = None;
            }
            return self.audio(&frame, tick_ts);
        }
        let frame = match &mut self.source {
            Source::Silence => None,
            Source::Tone(generator) if !generator.is_done() => {
                let mut frame = [0; FRAME_SAMPLES];
                generator.fill(&mut frame);
                Some(frame)
            }
            Source::Tone(_) => None,
            Source::Frames(frames) => frames.next(),
        };
        if frame.is_none() && !matches!(self.source, Source::Silence) {
            self.source = Source::Silence;
            events.push(Event::SourceDone);
        }
        match frame {
            Some(frame) => self.audio(&frame, tick_ts),
            None if self.cfg.comfort_silence => self.audio(&[0; FRAME_SAMPLES], tick_ts),
            None => {
                self.talking = false;
                None
            }
        }
    }

    /// Queues the packets (or the tone) of one key starting at `ts`.
    fn start_digit(&mut self, digit: char, ms: u32, ts: u32) {
        if self.cfg.event_payload_type.is_none() {
            self.inband_out = TonePlan::dtmf(digit, ms, INBAND_GAP_MS).and_then(|plan| ToneGenerator::new(&plan)).ok();
            return;
        }
        let step = self.cfg.dtmf.interval_ms * (FRAME_TS / 20);
        // Validated in `send_digit`; each packet is due once its duration
        // has elapsed, less one interval so the first goes out at once.
        for (marker, pts, payload) in self.cfg.dtmf.packets(digit, ts, ms).unwrap_or_default() {
            let duration = u32::from(u16::from_be_bytes([payload[2], payload[3]]));
            self.events_out.push_back(Pending { due_ts: pts.wrapping_add(duration.saturating_sub(step)), marker, ts: pts, payload });
        }
    }

    /// One audio packet: the marker on the first after a pause (§5.1).
    fn audio(&mut self, frame: &Frame, ts: u32) -> Option<Vec<u8>> {
        let payload = self.cfg.law.encode_frame(frame);
        let marker = !self.talking;
        self.talking = true;
        self.packet(marker, self.cfg.payload_type, ts, &payload)
    }

    fn packet(&mut self, marker: bool, payload_type: u8, timestamp: u32, payload: &[u8]) -> Option<Vec<u8>> {
        let header = RtpHeader { marker, payload_type, sequence: self.seq, timestamp, ssrc: self.cfg.ssrc, ..RtpHeader::default() };
        let mut out = Vec::with_capacity(header.packet_len(payload.len()));
        header.write(payload, &mut out).ok()?;
        self.seq = self.seq.wrapping_add(1);
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload.len() as u64;
        self.sent_since_report = true;
        Some(out)
    }

    /// The heard side of a tick: jitter buffer, decode or conceal, in-band keys.
    fn hear(&mut self, now_ms: u64, tick: &mut Tick) {
        tick.heard = match self.jitter.pop(now_ms) {
            Playout::Frame(bytes) => {
                let mut frame = [0; FRAME_SAMPLES];
                match <&[u8; FRAME_SAMPLES]>::try_from(bytes.as_slice()) {
                    Ok(codes) => frame = self.cfg.law.decode_frame(codes),
                    Err(_) => {
                        // Not 20 ms: take what fits, pad with silence.
                        let mut pcm = Vec::with_capacity(bytes.len());
                        self.cfg.law.decode(&bytes, &mut pcm);
                        let n = pcm.len().min(FRAME_SAMPLES);
                        frame[..n].copy_from_slice(&pcm[..n]);
                    }
                }
                self.misses = 0;
                self.last_heard = Some(frame);
                Some(frame)
            }
            Playout::Missing => {
                // Repeat the last frame, 6 dB down per loss, then silence.
                self.misses += 1;
                tick.concealed = true;
                let last = self.last_heard.filter(|_| self.misses <= MAX_CONCEAL).unwrap_or([0; FRAME_SAMPLES]);
                Some(last.map(|s| s >> self.misses.min(15)))
            }
            Playout::NotYet => None,
        };
        self.unheard = if tick.heard.is_some() { 0 } else { self.unheard.saturating_add(1) };
        // Silence ends a key held when the stream stopped, then the
        // detector rests: a send-only leg pays no Goertzel per tick.
        if self.cfg.event_payload_type.is_none() && self.cfg.inband_dtmf && self.unheard <= DETECT_AFTER_QUIET {
            let outs = self.detector.process(&tick.heard.unwrap_or([0; FRAME_SAMPLES]));
            tick.events.extend(outs.into_iter().map(digit_event));
        }
    }
}

fn digit_event(out: DtmfOutput) -> Event {
    match out {
        DtmfOutput::Begin { digit, .. } => Event::DigitBegin(digit),
        DtmfOutput::End(digit) => Event::Digit(digit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;
    use crate::tone::{Level, Segment};

    const EV: u8 = 101;

    fn session(ssrc: u32, event_pt: Option<u8>) -> Session {
        Session::new(SessionConfig::new(ssrc, Law::Pcmu, event_pt)).unwrap()
    }

    fn tone_plan(freq: f64) -> TonePlan {
        TonePlan::looping(vec![Segment::new(&[(freq, Level::Dbm0(-10.0))], 1000, 0)])
    }

    /// One direction of the network: a fixed delay, loss and reordering
    /// (a packet held 30 ms more, behind the next one or two).
    struct Link {
        delay: u64,
        loss_pct: u64,
        reorder_pct: u64,
        rng: XorShift,
        queue: Vec<(u64, Vec<u8>)>,
    }

    impl Link {
        fn new(delay: u64, loss_pct: u64, reorder_pct: u64) -> Self {
            Self { delay, loss_pct, reorder_pct, rng: XorShift(0x9E37_79B9_7F4A_7C15), queue: Vec::new() }
        }

        fn send(&mut self, now: u64, packet: Vec<u8>) {
            if self.rng.next() % 100 < self.loss_pct {
                return;
            }
            let extra = if self.rng.next() % 100 < self.reorder_pct { 30 } else { 0 };
            self.queue.push((now + self.delay + extra, packet));
        }

        fn deliver(&mut self, now: u64) -> Vec<Vec<u8>> {
            self.queue.sort_by_key(|(at, _)| *at);
            let n = self.queue.iter().take_while(|(at, _)| *at <= now).count();
            self.queue.drain(..n).map(|(_, p)| p).collect()
        }
    }

    /// What B did over a run: its heard frames (with the concealed flag) and events.
    #[derive(Default)]
    struct Heard {
        frames: Vec<(Option<Frame>, bool)>,
        events: Vec<Event>,
    }

    /// Ticks A and B every 20 ms from `start` for `ticks`, A's packets
    /// reaching B over `link`.
    fn run(a: &mut Session, b: &mut Session, link: &mut Link, start: u64, ticks: u64, heard: &mut Heard) {
        for i in 0..ticks {
            let now = start + i * 20;
            if let Some(p) = a.tick(now).send {
                link.send(now, p);
            }
            for p in link.deliver(now) {
                heard.events.extend(b.on_rtp(&p, now));
            }
            let t = b.tick(now);
            heard.frames.push((t.heard, t.concealed));
            heard.events.extend(t.events);
        }
    }

    fn digits(events: &[Event]) -> String {
        events.iter().filter_map(|e| if let Event::Digit(d) = e { Some(d.digit) } else { None }).collect()
    }

    /// SNR (dB) of the frames B heard against the tone, at the best alignment.
    fn snr_db(heard: &[(Option<Frame>, bool)], freq: f64) -> f64 {
        let got: Vec<Frame> = heard.iter().filter(|(f, c)| f.is_some() && !c).map(|(f, _)| f.unwrap()).take(100).collect();
        assert_eq!(got.len(), 100, "B heard too little");
        let mut generator = ToneGenerator::new(&tone_plan(freq)).unwrap();
        let reference: Vec<Frame> = (0..110)
            .map(|_| {
                let mut f = [0; FRAME_SAMPLES];
                generator.fill(&mut f);
                f
            })
            .collect();
        (0..10)
            .map(|offset| {
                let (mut signal, mut noise) = (0f64, 0f64);
                for (g, r) in got.iter().zip(&reference[offset..]) {
                    for (&x, &y) in g.iter().zip(r) {
                        signal += f64::from(y).powi(2);
                        noise += (f64::from(x) - f64::from(y)).powi(2);
                    }
                }
                10.0 * (signal / noise.max(1.0)).log10()
            })
            .fold(f64::MIN, f64::max)
    }

    #[test]
    fn b_hears_a_tone_through_g711_above_30_db() {
        let (mut a, mut b) = (session(0xA, None), session(0xB, None));
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(1004.0)).unwrap()));
        let mut heard = Heard::default();
        run(&mut a, &mut b, &mut Link::new(40, 0, 0), 1000, 150, &mut heard);
        let snr = snr_db(&heard.frames, 1004.0);
        assert!(snr > 30.0, "SNR {snr:.1} dB");
        assert_eq!(heard.events, vec![Event::Latched { ssrc: 0xA }]);
        let s = b.stats();
        assert_eq!((s.packets_received, s.bytes_received), (150 - 2, 148 * 160));
        assert_eq!((a.stats().packets_sent, a.stats().bytes_sent), (150, 150 * 160));
        assert_eq!((s.parse_errors, s.wrong_ssrc, s.wrong_pt, s.lost), (0, 0, 0, 0));
    }

    #[test]
    fn rfc4733_digits_arrive_once_in_order_despite_loss_and_reorder() {
        let (mut a, mut b) = (session(0xA, Some(EV)), session(0xB, Some(EV)));
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(440.0)).unwrap()));
        for d in "159#*0D".chars() {
            a.send_digit(d, 100).unwrap();
        }
        let mut link = Link::new(40, 10, 15);
        let mut heard = Heard::default();
        run(&mut a, &mut b, &mut link, 0, 200, &mut heard);
        assert_eq!(digits(&heard.events), "159#*0D");
        assert!(heard.events.contains(&Event::DigitBegin('5')));
        // Loss did happen and the audio after the digits was still heard.
        assert!(b.stats().lost_seq > 0);
        assert!(heard.frames.iter().rev().take(20).all(|(f, _)| f.is_some()));
    }

    #[test]
    fn inband_digits_are_sent_and_heard_without_telephone_event() {
        let (mut a, mut b) = (session(0xA, None), session(0xB, None));
        for d in "2580".chars() {
            a.send_digit(d, 100).unwrap();
        }
        let mut link = Link::new(40, 0, 0);
        let mut heard = Heard::default();
        let mut pts = Vec::new();
        for i in 0..80 {
            let now = i * 20;
            if let Some(p) = a.tick(now).send {
                pts.push(RtpPacket::parse(&p).unwrap().payload_type);
                link.send(now, p);
            }
            for p in link.deliver(now) {
                heard.events.extend(b.on_rtp(&p, now));
            }
            heard.events.extend(b.tick(now).events);
        }
        assert_eq!(digits(&heard.events), "2580");
        // Four keys of 100 ms and 60 ms gaps: 32 audio packets, no event PT.
        assert_eq!(pts, vec![0; 32]);
    }

    /// (payload type, marker, timestamp, payload) of a packet sent.
    type Seen = (u8, bool, u32, Vec<u8>);

    #[test]
    fn inband_key_is_ended_by_the_stream_stopping() {
        let (mut a, mut b) = (session(0xA, None), session(0xB, None));
        // The key with no trailing gap: only the quiet after it ends it.
        a.set_source(Source::Tone(ToneGenerator::new(&TonePlan::dtmf('7', 100, 0).unwrap()).unwrap()));
        let mut heard = Heard::default();
        run(&mut a, &mut b, &mut Link::new(40, 0, 0), 0, 40, &mut heard);
        assert_eq!(digits(&heard.events), "7");
        assert!(heard.frames.iter().rev().take(10).all(|(f, _)| f.is_none()), "the stream stopped");
    }

    #[test]
    fn event_packets_go_out_at_their_times_and_pause_audio() {
        let mut a = session(0xA, Some(EV));
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(440.0)).unwrap()));
        a.tick(0);
        let (_, ts0) = a.next_seq_ts();
        a.send_digit('5', 100).unwrap();
        let sent: Vec<Option<Vec<u8>>> = (1..=7).map(|i| a.tick(i * 20).send).collect();
        let view: Vec<Option<Seen>> = sent
            .iter()
            .map(|p| p.as_ref().map(|p| RtpPacket::parse(p).unwrap()).map(|p| (p.payload_type, p.marker, p.timestamp, p.payload.to_vec())))
            .collect();
        let ev = |marker, end: bool, d: u16| Some((EV, marker, ts0, vec![5, u8::from(end) << 7 | 10, (d >> 8) as u8, d as u8]));
        // First at once (50 ms so far), nothing while the key is held, the
        // end at 100 ms three times, then audio with the marker.
        assert_eq!(view[0], ev(true, false, 400));
        assert_eq!((view[1].clone(), view[2].clone()), (None, None));
        assert_eq!(view[3], ev(false, true, 800));
        assert_eq!((view[4].clone(), view[5].clone()), (view[3].clone(), view[3].clone()));
        let audio = view[6].clone().unwrap();
        assert_eq!((audio.0, audio.1, audio.2), (0, true, ts0.wrapping_add(6 * 160)));
    }

    #[test]
    fn seq_and_ts_continue_across_sources_and_wrap() {
        let mut cfg = SessionConfig::new(0xA, Law::Pcma, Some(EV));
        cfg.initial_seq = 65533;
        cfg.initial_ts = u32::MAX - 400;
        let mut a = Session::new(cfg).unwrap();
        let mut out = Vec::new();
        let mut events = Vec::new();
        let mut tick = |a: &mut Session, i: u32| {
            let t = a.tick(u64::from(i) * 20);
            events.extend(t.events);
            if let Some(p) = t.send {
                let p = RtpPacket::parse(&p).unwrap();
                out.push((i, p.sequence, p.timestamp, p.marker, p.payload_type));
            }
        };
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(440.0)).unwrap()));
        (0..3).for_each(|i| tick(&mut a, i));
        a.set_source(Source::Silence);
        (3..5).for_each(|i| tick(&mut a, i));
        a.set_source(Source::Frames(Box::new(vec![[1000; FRAME_SAMPLES]; 2].into_iter())));
        (5..8).for_each(|i| tick(&mut a, i));
        assert_eq!(events, vec![Event::SourceDone]);
        let ts = |i: u32| (u32::MAX - 400).wrapping_add(i * 160);
        let expect = vec![
            (0, 65533, ts(0), true, 8),
            (1, 65534, ts(1), false, 8),
            (2, 65535, ts(2), false, 8),
            (5, 0, ts(5), true, 8),
            (6, 1, ts(6), false, 8),
        ];
        assert_eq!(out, expect);
        assert!(ts(5) < ts(2), "the timestamp wrapped");
        assert_eq!(a.next_seq_ts(), (2, ts(8)));
    }

    #[test]
    fn comfort_silence_sends_encoded_zeros_with_one_marker() {
        let mut cfg = SessionConfig::new(0xA, Law::Pcmu, None);
        cfg.comfort_silence = true;
        let mut a = Session::new(cfg).unwrap();
        let packets: Vec<Vec<u8>> = (0..3).map(|i| a.tick(i * 20).send.unwrap()).collect();
        let parsed: Vec<RtpPacket<'_>> = packets.iter().map(|p| RtpPacket::parse(p).unwrap()).collect();
        assert_eq!(parsed.iter().map(|p| p.marker).collect::<Vec<_>>(), vec![true, false, false]);
        assert!(parsed.iter().all(|p| p.payload == [0xFF; FRAME_SAMPLES]), "μ-law silence is 0xFF");
    }

    #[test]
    fn forged_ssrc_is_ignored_and_counted_until_the_latched_one_falls_silent() {
        let (mut a, mut b, mut forger) = (session(0xA, None), session(0xB, None), session(0xF, None));
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(1004.0)).unwrap()));
        forger.set_source(Source::Tone(ToneGenerator::new(&tone_plan(2000.0)).unwrap()));
        let mut link = Link::new(40, 0, 0);
        let mut heard = Heard::default();
        for i in 0..150 {
            let now = i * 20;
            if let Some(p) = a.tick(now).send {
                link.send(now, p);
            }
            if i > 0 {
                link.send(now, forger.tick(now).send.unwrap());
            }
            for p in link.deliver(now) {
                heard.events.extend(b.on_rtp(&p, now));
            }
            let t = b.tick(now);
            heard.frames.push((t.heard, t.concealed));
        }
        assert!(snr_db(&heard.frames, 1004.0) > 30.0);
        assert_eq!(b.stats().wrong_ssrc, 147);
        assert_eq!(b.remote_ssrc(), Some(0xA));
        // A stops; 2 s later the other stream may take over, not before.
        let mut events = Vec::new();
        for i in 150..300 {
            let now = i * 20;
            link.send(now, forger.tick(now).send.unwrap());
            for p in link.deliver(now) {
                events.extend(b.on_rtp(&p, now).into_iter().map(|e| (now, e)));
            }
        }
        assert_eq!(events.len(), 1);
        let (at, event) = events[0];
        assert_eq!(event, Event::Latched { ssrc: 0xF });
        let last_a = 149 * 20 + 40;
        assert!((last_a + 2000..last_a + 2020).contains(&at), "re-latched at {at}");
    }

    #[test]
    fn lost_frame_is_concealed_by_the_last_one_6_db_down() {
        let mut a = session(0xA, None);
        let mut b = session(0xB, None);
        a.set_source(Source::Frames(Box::new(vec![[8000; FRAME_SAMPLES]; 20].into_iter())));
        let mut frames = Vec::new();
        for i in 0..20 {
            let now = i * 20;
            let p = a.tick(now).send.unwrap();
            if i != 10 {
                b.on_rtp(&p, now);
            }
            let t = b.tick(now);
            frames.push((t.heard.map(|f| f[0]), t.concealed));
        }
        let decoded = Law::Pcmu.decode_sample(Law::Pcmu.encode_sample(8000));
        assert!(frames.contains(&(Some(decoded / 2), true)), "{frames:?}");
        assert_eq!(frames.iter().filter(|(_, c)| *c).count(), 1);
        assert_eq!(b.stats().lost, 1);
    }

    #[test]
    fn sr_rr_exchange_measures_twice_the_one_way_delay() {
        let (mut a, mut b) = (session(0xA, None), session(0xB, None));
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(440.0)).unwrap()));
        let (mut ab, mut ba) = (Link::new(40, 0, 0), Link::new(40, 0, 0));
        let (mut rtcp_ab, mut rtcp_ba) = (Link::new(40, 0, 0), Link::new(40, 0, 0));
        let ntp = |ms: u64| NtpTimestamp::from_unix_micros(1_800_000_000_000_000 + ms * 1000);
        let mut kinds = Vec::new();
        let mut a_srs = Vec::new();
        for i in 0..700 {
            let now = i * 20;
            if let Some(p) = a.tick(now).send {
                ab.send(now, p);
            }
            if let Some(p) = b.tick(now).send {
                ba.send(now, p);
            }
            for p in ab.deliver(now) {
                b.on_rtp(&p, now);
            }
            for p in ba.deliver(now) {
                a.on_rtp(&p, now);
            }
            if a.rtcp_due(now) {
                let report = a.build_rtcp(now, ntp(now));
                if let RtcpPacket::SenderReport(sr) = &rtcp::parse_compound(&report).unwrap()[0] {
                    a_srs.push((sr.ssrc, sr.packet_count, sr.reports.len()));
                }
                rtcp_ab.send(now, report);
            }
            if b.rtcp_due(now) {
                let report = b.build_rtcp(now, ntp(now));
                kinds.push(matches!(rtcp::parse_compound(&report).unwrap()[0], RtcpPacket::ReceiverReport(_)));
                rtcp_ba.send(now, report);
            }
            for p in rtcp_ab.deliver(now) {
                b.on_rtcp(&p, now);
            }
            for p in rtcp_ba.deliver(now) {
                a.on_rtcp(&p, now);
            }
        }
        // B only listens: its reports are RRs, one per 5 s after the first at 2.5 s.
        assert_eq!(kinds, vec![true; 3]);
        // A sends: SRs with its packet count and no block (it hears nobody).
        assert_eq!(a_srs, vec![(0xA, 126, 0), (0xA, 376, 0), (0xA, 626, 0)]);
        let rtt = a.stats().rtt_ms.unwrap();
        assert!((79..=81).contains(&rtt), "rtt {rtt}");
        assert_eq!(b.stats().rtt_ms, None, "B sent no SR, so nobody reports on it");
    }

    #[test]
    fn rtcp_from_strangers_and_garbage_is_ignored() {
        let mut a = session(0xA, None);
        let mut b = session(0xB, None);
        b.set_source(Source::Silence);
        let mut c = session(0xC, None);
        c.set_source(Source::Tone(ToneGenerator::new(&tone_plan(440.0)).unwrap()));
        a.on_rtp(&c.tick(0).send.unwrap(), 0);
        a.build_rtcp(0, NtpTimestamp(1 << 40));
        let mut stranger = Vec::new();
        let block = ReportBlock { ssrc: 0xA, lsr: 1, ..ReportBlock::default() };
        rtcp::write_rr(&ReceiverReport { ssrc: 0x5, reports: vec![block] }, b"x", &mut stranger).unwrap();
        a.on_rtcp(&stranger, 100);
        assert_eq!(a.stats().rtt_ms, None);
        a.on_rtcp(&[0x80, 201, 0, 9], 100);
        a.on_rtcp(&[], 100);
        assert_eq!(a.stats().rtcp_errors, 2);
    }

    #[test]
    fn bad_configs_and_digits_are_refused() {
        let mut cfg = SessionConfig::new(1, Law::Pcmu, Some(128));
        assert_eq!(Session::new(cfg.clone()).unwrap_err(), SessionError::BadPayloadType(128));
        cfg.event_payload_type = Some(0);
        assert_eq!(Session::new(cfg.clone()).unwrap_err(), SessionError::SamePayloadType(0));
        cfg.event_payload_type = None;
        cfg.cname = vec![b'x'; 256];
        assert_eq!(Session::new(cfg.clone()).unwrap_err(), SessionError::CnameTooLong(256));
        let mut s = session(1, Some(EV));
        assert_eq!(s.send_digit('x', 100), Err(SessionError::Dtmf(DtmfError::UnknownDigit('x'))));
        assert_eq!(s.send_digit('1', 0), Err(SessionError::Dtmf(DtmfError::BadDuration(0))));
        assert!(!SessionError::BadRtcpInterval.to_string().is_empty());
    }

    #[test]
    fn wrong_payload_types_and_garbage_never_panic_and_are_counted() {
        let mut a = session(0xA, Some(EV));
        a.set_source(Source::Tone(ToneGenerator::new(&tone_plan(440.0)).unwrap()));
        let valid = a.tick(0).send.unwrap();
        let mut b = session(0xB, Some(EV));
        for n in 0..valid.len() {
            b.on_rtp(&valid[..n], 0);
            b.on_rtcp(&valid[..n], 0);
        }
        assert_eq!(b.stats().parse_errors, 12, "only shorter than a header fails");
        let mut rng = XorShift(0x1234_5678);
        for i in 0..5000u64 {
            let len = (rng.next() % 300) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i % 2 == 0 && len >= 12 {
                // Mostly valid headers from the latched source, random payloads.
                bytes[0] = 0x80;
                bytes[1] = [0, EV, 9][i as usize % 3];
                bytes[8..12].copy_from_slice(&0xAu32.to_be_bytes());
            }
            b.on_rtp(&bytes, i);
            b.on_rtcp(&bytes, i);
            b.tick(i);
        }
        let s = b.stats();
        assert!(s.parse_errors > 0 && s.wrong_pt > 0 && s.bad_events > 0 && s.rtcp_errors > 0, "{s:?}");
    }

    #[test]
    fn a_flood_of_events_stays_bounded() {
        let mut b = session(0xB, Some(EV));
        let mut rng = XorShift(42);
        let mut out = Vec::new();
        for i in 0..20_000u32 {
            let payload = [(rng.next() % 16) as u8, (rng.next() as u8) & 0xBF, rng.next() as u8, rng.next() as u8];
            RtpHeader {
                payload_type: EV,
                sequence: i as u16,
                timestamp: rng.next() as u32,
                ssrc: 7,
                marker: i % 3 == 0,
                ..RtpHeader::default()
            }
            .write(&payload, &mut out)
            .unwrap();
            let events = b.on_rtp(&out, u64::from(i));
            assert!(events.len() <= 3, "{events:?}");
            out.clear();
        }
        assert_eq!(b.stats().packets_received, 20_000);
    }

    /// Release figures: `cargo test -p media --release -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_playback_and_receive() {
        let n = 200_000u64;
        let mut a = session(0xA, None);
        a.set_source(Source::Tone(ToneGenerator::new(&TonePlan::music_on_hold()).unwrap()));
        let t = std::time::Instant::now();
        let mut packets = Vec::with_capacity(n as usize);
        for i in 0..n {
            packets.push(a.tick(i * 20).send.unwrap());
        }
        let play = t.elapsed();
        // The same without the tone synthesis: the session's own cost.
        let mut f = session(0xF, None);
        f.set_source(Source::Frames(Box::new(std::iter::repeat([1000; FRAME_SAMPLES]))));
        let t = std::time::Instant::now();
        for i in 0..n {
            std::hint::black_box(f.tick(i * 20).send);
        }
        let play_frames = t.elapsed();
        let mut b = session(0xB, None);
        b.cfg.inband_dtmf = false;
        let t = std::time::Instant::now();
        let mut heard = 0u64;
        for (i, p) in packets.iter().enumerate() {
            let now = i as u64 * 20;
            b.on_rtp(p, now);
            heard += u64::from(b.tick(now).heard.is_some());
        }
        let recv = t.elapsed();
        let mut c = session(0xC, None);
        let t = std::time::Instant::now();
        for (i, p) in packets.iter().enumerate() {
            let now = i as u64 * 20;
            c.on_rtp(p, now);
            c.tick(now);
        }
        let recv_dtmf = t.elapsed();
        assert!(heard > n - 10);
        let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
        println!("playback (tone -> G.711 -> RTP): {:.0} ticks/s, {:.2} us each", rate(play), play.as_secs_f64() * 1e6 / n as f64);
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!("playback (frames -> G.711 -> RTP): {:.0} ticks/s, {:.2} us each", rate(play_frames), us(play_frames));
        println!(
            "receive (RTP -> jitter -> decode): {:.0} packets+ticks/s, {:.2} us each",
            rate(recv),
            recv.as_secs_f64() * 1e6 / n as f64
        );
        println!("receive + in-band DTMF detection: {:.0} packets+ticks/s", rate(recv_dtmf));
    }
}
