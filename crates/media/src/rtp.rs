//! RTP data packets (RFC 3550 §5.1) and the per-source sequence and
//! jitter bookkeeping of RFC 3550 Appendix A.1 and A.8.
//!
//! [`RtpPacket`] is a zero-copy view over a received datagram: parsing
//! checks every length before it reads, so a hostile packet yields an
//! [`RtpError`], never a panic. [`RtpHeader`] writes packets. A
//! [`SourceStats`] per remote SSRC decides which packets are in sequence
//! and counts what RTCP receiver reports (and the jitter buffer) need.

use std::fmt;

/// Length of the fixed RTP header, before CSRCs and extension.
pub const FIXED_HEADER_LEN: usize = 12;
/// The only RTP version there is.
pub const RTP_VERSION: u8 = 2;

/// Why a datagram is not a valid RTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than the part of the header it claims to have.
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes the datagram has.
        len: usize,
    },
    /// The version field is not 2.
    BadVersion(u8),
    /// The padding count is zero or larger than what follows the header.
    BadPadding(u8),
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::Truncated { needed, len } => {
                write!(f, "RTP packet truncated: header needs {needed} bytes, have {len}")
            }
            RtpError::BadVersion(v) => write!(f, "RTP version {v}, expected 2"),
            RtpError::BadPadding(n) => write!(f, "RTP padding count {n} does not fit the packet"),
        }
    }
}

impl std::error::Error for RtpError {}

/// A header extension (RFC 3550 §5.3.1): the profile-defined 16 bits and
/// the extension data (a whole number of 32-bit words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The profile-defined field (e.g. 0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// The extension's data, without its 4-byte header.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the datagram it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The marker bit (for audio: first packet of a talkspurt).
    pub marker: bool,
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp in the payload's clock rate.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    csrcs: &'a [u8],
    /// Header extension, if the X bit was set.
    pub extension: Option<Extension<'a>>,
    /// The payload, without header, extension or padding.
    pub payload: &'a [u8],
    /// Number of padding bytes (including the count byte), 0 if none.
    pub padding: u8,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> RtpPacket<'a> {
    /// Parse a datagram. Checks version, CSRC and extension lengths and
    /// the padding count against the datagram's length.
    pub fn parse(buf: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        let len = buf.len();
        let need = |needed: usize| {
            if len < needed {
                Err(RtpError::Truncated { needed, len })
            } else {
                Ok(())
            }
        };
        need(FIXED_HEADER_LEN)?;
        let version = buf[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0F);
        let mut header_len = FIXED_HEADER_LEN + 4 * csrc_count;
        need(header_len)?;
        let csrcs = &buf[FIXED_HEADER_LEN..header_len];
        let extension = if has_extension {
            need(header_len + 4)?;
            let profile = be16(buf, header_len);
            let words = usize::from(be16(buf, header_len + 2));
            let start = header_len + 4;
            header_len = start + 4 * words;
            need(header_len)?;
            Some(Extension { profile, data: &buf[start..header_len] })
        } else {
            None
        };
        let padding = if has_padding {
            // need(FIXED_HEADER_LEN) above guarantees a last byte.
            let count = buf[len - 1];
            if count == 0 || usize::from(count) > len - header_len {
                return Err(RtpError::BadPadding(count));
            }
            count
        } else {
            0
        };
        Ok(RtpPacket {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: be16(buf, 2),
            timestamp: be32(buf, 4),
            ssrc: be32(buf, 8),
            csrcs,
            extension,
            payload: &buf[header_len..len - usize::from(padding)],
            padding,
        })
    }

    /// Number of contributing sources.
    pub fn csrc_count(&self) -> usize {
        self.csrcs.len() / 4
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.csrcs.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Why a packet could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtpBuildError {
    /// Payload type above 127.
    PayloadTypeOutOfRange(u8),
    /// More than 15 CSRCs.
    TooManyCsrcs(usize),
    /// Extension data not a whole number of 32-bit words, or over 65535 words.
    BadExtensionLength(usize),
    /// The output slice is shorter than the packet.
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the slice has.
        len: usize,
    },
}

impl fmt::Display for RtpBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpBuildError::PayloadTypeOutOfRange(pt) => write!(f, "payload type {pt} > 127"),
            RtpBuildError::TooManyCsrcs(n) => write!(f, "{n} CSRCs, at most 15"),
            RtpBuildError::BadExtensionLength(n) => {
                write!(f, "extension of {n} bytes is not a whole number of words")
            }
            RtpBuildError::BufferTooSmall { needed, len } => {
                write!(f, "packet needs {needed} bytes, buffer has {len}")
            }
        }
    }
}

impl std::error::Error for RtpBuildError {}

/// The fields of a packet to send; [`RtpHeader::write`] adds a payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    /// Marker bit.
    pub marker: bool,
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources (a mixer lists its inputs), at most 15.
    pub csrcs: &'a [u32],
    /// Header extension, data a whole number of 32-bit words.
    pub extension: Option<Extension<'a>>,
    /// Padding bytes to append (0 for none), e.g. to align for SRTP.
    pub padding: u8,
}

impl RtpHeader<'_> {
    /// Total length of the packet with a payload of `payload_len` bytes.
    pub fn packet_len(&self, payload_len: usize) -> usize {
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + self.extension.map_or(0, |e| 4 + e.data.len()) + payload_len + usize::from(self.padding)
    }

    fn check(&self) -> Result<(), RtpBuildError> {
        if self.payload_type > 127 {
            return Err(RtpBuildError::PayloadTypeOutOfRange(self.payload_type));
        }
        if self.csrcs.len() > 15 {
            return Err(RtpBuildError::TooManyCsrcs(self.csrcs.len()));
        }
        if let Some(e) = self.extension {
            if e.data.len() % 4 != 0 || e.data.len() / 4 > usize::from(u16::MAX) {
                return Err(RtpBuildError::BadExtensionLength(e.data.len()));
            }
        }
        Ok(())
    }

    /// Append the packet (header, `payload`, padding) to `out`.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpBuildError> {
        self.check()?;
        let start = out.len();
        out.resize(start + self.packet_len(payload.len()), 0);
        self.write_into(payload, &mut out[start..]).map(|_| ())
    }

    /// Write the packet at the start of `buf`; returns its length.
    pub fn write_into(&self, payload: &[u8], buf: &mut [u8]) -> Result<usize, RtpBuildError> {
        self.check()?;
        let needed = self.packet_len(payload.len());
        if buf.len() < needed {
            return Err(RtpBuildError::BufferTooSmall { needed, len: buf.len() });
        }
        let p = if self.padding > 0 { 0x20 } else { 0 };
        let x = if self.extension.is_some() { 0x10 } else { 0 };
        // check() bounds the CSRC count to 15, so it fits the 4-bit field.
        buf[0] = RTP_VERSION << 6 | p | x | self.csrcs.len() as u8;
        buf[1] = u8::from(self.marker) << 7 | self.payload_type;
        buf[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        buf[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        buf[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = FIXED_HEADER_LEN;
        for csrc in self.csrcs {
            buf[at..at + 4].copy_from_slice(&csrc.to_be_bytes());
            at += 4;
        }
        if let Some(e) = self.extension {
            buf[at..at + 2].copy_from_slice(&e.profile.to_be_bytes());
            let words = (e.data.len() / 4) as u16;
            buf[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
            at += 4;
            buf[at..at + e.data.len()].copy_from_slice(e.data);
            at += e.data.len();
        }
        buf[at..at + payload.len()].copy_from_slice(payload);
        at += payload.len();
        if self.padding > 0 {
            let pad = usize::from(self.padding);
            buf[at..at + pad - 1].fill(0);
            buf[at + pad - 1] = self.padding;
            at += pad;
        }
        Ok(at)
    }
}

/// Packets in sequence needed before a new source is believed (A.1).
pub const MIN_SEQUENTIAL: u16 = 2;
/// Largest forward jump still taken as loss rather than a restart (A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// Largest backward step still taken as reordering (A.1).
pub const MAX_MISORDER: u16 = 100;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// What [`SourceStats::record`] made of a packet's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqVerdict {
    /// In sequence (or a tolerable reorder/duplicate): use the packet.
    Valid,
    /// The source is still on probation: not yet enough packets in a row.
    Probation,
    /// A jump too large to be loss or reordering; two in a row that agree
    /// restart the sequence (the sender restarted), one alone is dropped.
    BadJump,
}

/// Reception bookkeeping for one remote SSRC (RFC 3550 A.1, A.3, A.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStats {
    ssrc: u32,
    max_seq: u16,
    /// Sequence wraps, shifted left 16 bits (A.1's `cycles`).
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u16,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    transit: Option<u32>,
    /// Interarrival jitter scaled by 16 (the A.8 integer form).
    jitter_q4: u32,
}

impl SourceStats {
    /// Start tracking a source from its first packet's sequence number
    /// (A.1 `init_seq` then probation). Pass that packet to
    /// [`SourceStats::record`] as well.
    pub fn new(ssrc: u32, first_seq: u16) -> SourceStats {
        let mut s = SourceStats {
            ssrc,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
        };
        s.init_seq(first_seq);
        s.max_seq = first_seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`, word for word in behaviour.
    fn update_seq(&mut self, seq: u16) -> SeqVerdict {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqVerdict::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqVerdict::Probation;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two packets agree on the new numbering: the sender
                // restarted, so start over without probation.
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return SeqVerdict::BadJump;
            }
        }
        // Otherwise a duplicate or a packet reordered by < MAX_MISORDER.
        self.received += 1;
        SeqVerdict::Valid
    }

    /// Record a packet: its sequence number, its RTP timestamp and its
    /// arrival time in the same clock units (A.8). Jitter is updated only
    /// for packets judged valid.
    pub fn record(&mut self, seq: u16, rtp_timestamp: u32, arrival: u32) -> SeqVerdict {
        let verdict = self.update_seq(seq);
        if verdict == SeqVerdict::Valid {
            let transit = arrival.wrapping_sub(rtp_timestamp);
            if let Some(prev) = self.transit {
                // Differences of wrapping clocks: read as signed.
                let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
                // J += (|D| - J) / 16, in units of 1/16.
                let j = self.jitter_q4;
                self.jitter_q4 = j.wrapping_add(d).wrapping_sub((j + 8) >> 4);
            }
            self.transit = Some(transit);
        }
        verdict
    }

    /// The source's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Whether the source has left probation.
    pub fn is_valid(&self) -> bool {
        self.probation == 0
    }

    /// Extended highest sequence number received: cycles and max_seq.
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Number of sequence wraps seen.
    pub fn wraps(&self) -> u32 {
        self.cycles >> 16
    }

    /// Packets received (including duplicates) since the sequence base.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Packets expected: extended max minus base plus one (A.3).
    pub fn expected(&self) -> u32 {
        if !self.is_valid() {
            return 0;
        }
        self.extended_max().wrapping_sub(self.base_seq).wrapping_add(1)
    }

    /// Cumulative packets lost; negative when duplicates outnumber losses.
    pub fn lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// Interarrival jitter in timestamp units (A.8).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Close a reporting interval: fraction of packets lost since the last
    /// call, in 1/256 (A.3), 0 if none lost or more arrived than expected.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // lost <= expected, so the quotient is at most 256; clamp 256.
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;

    /// A PCMU packet as a phone sends it: V=2, PT 0, seq 0x1234,
    /// ts 0xDEADBEEF, SSRC 0x01020304, 4 payload bytes.
    const PLAIN: [u8; 16] = [0x80, 0x00, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0xFF, 0xFE, 0x7F, 0x00];

    fn full_packet() -> Vec<u8> {
        let mut out = Vec::new();
        RtpHeader {
            marker: true,
            payload_type: 101,
            sequence: 65535,
            timestamp: u32::MAX,
            ssrc: 0xCAFEBABE,
            csrcs: &[1, 0xFFFF_FFFF],
            extension: Some(Extension { profile: 0xBEDE, data: &[0x10, 0xAA, 0, 0] }),
            padding: 3,
        }
        .write(b"payload", &mut out)
        .unwrap();
        out
    }

    #[test]
    fn parses_a_plain_packet() {
        let p = RtpPacket::parse(&PLAIN).unwrap();
        assert!(!p.marker);
        assert_eq!(p.payload_type, 0);
        assert_eq!(p.sequence, 0x1234);
        assert_eq!(p.timestamp, 0xDEADBEEF);
        assert_eq!(p.ssrc, 0x01020304);
        assert_eq!(p.csrc_count(), 0);
        assert_eq!(p.extension, None);
        assert_eq!(p.payload, &[0xFF, 0xFE, 0x7F, 0x00]);
        assert_eq!(p.padding, 0);
    }

    #[test]
    fn builder_round_trips_every_field() {
        let bytes = full_packet();
        // 12 fixed + 8 CSRC + 4 ext header + 4 ext data + 7 payload + 3 pad.
        assert_eq!(bytes.len(), 38);
        assert_eq!(bytes[0], 0x80 | 0x20 | 0x10 | 2);
        assert_eq!(bytes[1], 0x80 | 101);
        assert_eq!(bytes[37], 3);
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, 101);
        assert_eq!(p.sequence, 65535);
        assert_eq!(p.timestamp, u32::MAX);
        assert_eq!(p.ssrc, 0xCAFEBABE);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![1, 0xFFFF_FFFF]);
        let ext = p.extension.unwrap();
        assert_eq!(ext.profile, 0xBEDE);
        assert_eq!(ext.data, &[0x10, 0xAA, 0, 0]);
        assert_eq!(p.payload, b"payload");
        assert_eq!(p.padding, 3);
    }

    #[test]
    fn write_into_a_slice_matches_write() {
        let header = RtpHeader { payload_type: 8, sequence: 7, timestamp: 160, ssrc: 9, ..RtpHeader::default() };
        let mut buf = [0u8; 64];
        let n = header.write_into(&[1, 2, 3], &mut buf).unwrap();
        let mut v = vec![0xAA];
        header.write(&[1, 2, 3], &mut v).unwrap();
        assert_eq!(&buf[..n], &v[1..]);
        assert_eq!(header.write_into(&[1, 2, 3], &mut buf[..14]), Err(RtpBuildError::BufferTooSmall { needed: 15, len: 14 }));
    }

    #[test]
    fn builder_rejects_what_the_header_cannot_say() {
        let mut out = Vec::new();
        let bad_pt = RtpHeader { payload_type: 128, ..RtpHeader::default() };
        assert_eq!(bad_pt.write(&[], &mut out), Err(RtpBuildError::PayloadTypeOutOfRange(128)));
        let csrcs = [0u32; 16];
        let many = RtpHeader { csrcs: &csrcs, ..RtpHeader::default() };
        assert_eq!(many.write(&[], &mut out), Err(RtpBuildError::TooManyCsrcs(16)));
        let odd = RtpHeader { extension: Some(Extension { profile: 1, data: &[1, 2, 3] }), ..RtpHeader::default() };
        assert_eq!(odd.write(&[], &mut out), Err(RtpBuildError::BadExtensionLength(3)));
        assert!(out.is_empty(), "a failed write appends nothing");
    }

    #[test]
    fn rejects_bad_version_and_padding() {
        let mut p = PLAIN;
        p[0] = 0x40; // version 1
        assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadVersion(1)));
        p[0] = 0xA0; // padding bit, last byte 0x00
        assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadPadding(0)));
        p[15] = 5; // more padding than the 4 payload bytes
        assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadPadding(5)));
        p[15] = 4; // exactly the whole payload: empty payload
        assert_eq!(RtpPacket::parse(&p).unwrap().payload, &[] as &[u8]);
    }

    #[test]
    fn rejects_lengths_that_do_not_add_up() {
        let mut p = PLAIN;
        p[0] = 0x81; // one CSRC: 16 bytes, fine, empty payload
        assert_eq!(RtpPacket::parse(&p).unwrap().payload.len(), 0);
        p[0] = 0x82; // two CSRCs need 20
        assert_eq!(RtpPacket::parse(&p), Err(RtpError::Truncated { needed: 20, len: 16 }));
        p[0] = 0x90; // extension: header 0xFFFE, 0x7F00 words
        assert_eq!(RtpPacket::parse(&p), Err(RtpError::Truncated { needed: 16 + 4 * 0x7F00, len: 16 }));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = full_packet();
        for n in 0..bytes.len() {
            assert!(RtpPacket::parse(&bytes[..n]).is_err(), "prefix {n}");
        }
        assert!(RtpPacket::parse(&bytes).is_ok());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next();
        let mut ok = 0;
        for _ in 0..5000 {
            let len = (next() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(b) = buf.first_mut() {
                // Half the time force version 2 so the deeper checks run.
                if next() % 2 == 0 {
                    *b = (*b & 0x3F) | 0x80;
                }
            }
            if let Ok(p) = RtpPacket::parse(&buf) {
                ok += 1;
                assert!(p.payload.len() <= buf.len());
                assert!(p.csrcs().count() <= 15);
            }
        }
        assert!(ok > 0, "some random packets parse, so the deep paths ran");
    }

    #[test]
    fn errors_display() {
        assert_eq!(RtpError::BadVersion(3).to_string(), "RTP version 3, expected 2");
        let e: Box<dyn std::error::Error> = Box::new(RtpBuildError::TooManyCsrcs(16));
        assert_eq!(e.to_string(), "16 CSRCs, at most 15");
    }

    #[test]
    fn a_stream_across_both_wraps_builds_parses_and_tracks() {
        // 20 ms PCMU packets starting just before sequence 65535 and
        // timestamp 2^32, as a long call reaches them.
        let mut stats = SourceStats::new(0xABCD, 65530);
        let mut out = Vec::new();
        for i in 0..20u16 {
            out.clear();
            let sequence = 65530u16.wrapping_add(i);
            let timestamp = (u32::MAX - 1000).wrapping_add(u32::from(i) * 160);
            let header = RtpHeader { sequence, timestamp, ssrc: 0xABCD, ..RtpHeader::default() };
            header.write(&[0xFF; 160], &mut out).unwrap();
            let p = RtpPacket::parse(&out).unwrap();
            assert_eq!((p.sequence, p.timestamp, p.payload.len()), (sequence, timestamp, 160));
            stats.record(p.sequence, p.timestamp, p.timestamp.wrapping_add(5000));
        }
        assert_eq!(stats.extended_max(), 65536 + 13);
        assert_eq!(stats.expected(), 19);
        assert_eq!(stats.received(), 19);
        assert_eq!(stats.jitter(), 0);
    }

    fn feed(s: &mut SourceStats, seqs: impl IntoIterator<Item = u16>) -> Vec<SeqVerdict> {
        seqs.into_iter().map(|q| s.record(q, 0, 0)).collect()
    }

    #[test]
    fn probation_needs_two_in_sequence() {
        let mut s = SourceStats::new(7, 100);
        assert_eq!(s.record(100, 0, 0), SeqVerdict::Probation);
        assert!(!s.is_valid());
        assert_eq!(s.expected(), 0);
        assert_eq!(s.record(101, 0, 0), SeqVerdict::Valid);
        assert!(s.is_valid());
        assert_eq!(s.received(), 1);
        assert_eq!(s.expected(), 1);
        // An out-of-order packet during probation restarts it.
        let mut t = SourceStats::new(8, 10);
        assert_eq!(feed(&mut t, [10, 50, 51]), vec![SeqVerdict::Probation, SeqVerdict::Probation, SeqVerdict::Valid]);
        assert_eq!(t.extended_max(), 51);
    }

    #[test]
    fn sequence_wrap_at_65535_counts_a_cycle() {
        let mut s = SourceStats::new(1, 65533);
        feed(&mut s, [65533, 65534, 65535, 0, 1]);
        assert_eq!(s.wraps(), 1);
        assert_eq!(s.extended_max(), 65536 + 1);
        assert_eq!(s.expected(), 4); // base 65534 .. 65537
        assert_eq!(s.received(), 4);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn loss_reorder_and_duplicates() {
        let mut s = SourceStats::new(1, 1000);
        feed(&mut s, [1000, 1001, 1002, 1005, 1004, 1004]);
        // Base 1001, max 1005: 5 expected; 1001,1002,1005,1004,1004 = 5.
        assert_eq!(s.expected(), 5);
        assert_eq!(s.received(), 5);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.extended_max(), 1005);
        feed(&mut s, [1010]);
        assert_eq!(s.lost(), 4);
        // A reordered packet up to MAX_MISORDER back is still valid.
        assert_eq!(s.record(1010 - MAX_MISORDER + 1, 0, 0), SeqVerdict::Valid);
        assert_eq!(s.extended_max(), 1010, "reordering does not move max");
    }

    #[test]
    fn big_jump_is_dropped_unless_confirmed() {
        let mut s = SourceStats::new(1, 0);
        feed(&mut s, [0, 1, 2]);
        let jump = 2 + MAX_DROPOUT;
        assert_eq!(s.record(jump, 0, 0), SeqVerdict::BadJump);
        assert_eq!(s.extended_max(), 2);
        // Just under MAX_DROPOUT counts as loss.
        let mut t = SourceStats::new(1, 0);
        feed(&mut t, [0, 1]);
        assert_eq!(t.record(1 + MAX_DROPOUT - 1, 0, 0), SeqVerdict::Valid);
        // The next packet after the jump confirms a restart: resync.
        assert_eq!(s.record(jump + 1, 0, 0), SeqVerdict::Valid);
        assert_eq!(s.extended_max(), u32::from(jump) + 1);
        assert_eq!(s.expected(), 1);
        assert_eq!(s.received(), 1);
    }

    #[test]
    fn fraction_lost_per_interval() {
        let mut s = SourceStats::new(1, 0);
        feed(&mut s, 0..=100); // base 1 .. 100, all there
        assert_eq!(s.take_fraction_lost(), 0);
        // Next interval: 101..=200 with every fourth missing: 25 of 100.
        feed(&mut s, (101..=200).filter(|q| q % 4 != 1));
        // 101, 105, .., 197 missing: 25/100 of 256.
        assert_eq!(s.take_fraction_lost(), 64);
        // Nothing arrives at all: an empty interval reports 0.
        assert_eq!(s.take_fraction_lost(), 0);
        // Duplicates only (more received than expected): 0, not negative.
        feed(&mut s, [200, 200, 200]);
        assert_eq!(s.take_fraction_lost(), 0);
    }

    #[test]
    fn jitter_follows_a8() {
        // 20 ms packets (160 ticks at 8 kHz), alternately 0 and 80 ticks late.
        let mut s = SourceStats::new(1, 0);
        for i in 0..200u32 {
            let ts = i * 160;
            let arrival = ts + if i % 2 == 0 { 0 } else { 80 } + 1_000_000;
            s.record(i as u16, ts, arrival);
        }
        // |D| is 80 every time once valid, so J converges to 80.
        assert!((78..=80).contains(&s.jitter()), "{}", s.jitter());
        // Perfectly paced packets keep jitter at zero, even across the
        // 2^32 timestamp wrap.
        let mut t = SourceStats::new(2, 0);
        for i in 0..100u32 {
            let ts = (u32::MAX - 800).wrapping_add(i * 160);
            t.record(i as u16, ts, ts.wrapping_add(12345));
        }
        assert_eq!(t.jitter(), 0);
    }
}
