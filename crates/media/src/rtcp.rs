//! RTCP (RFC 3550 §6): sender and receiver reports, SDES with CNAME and
//! BYE; parsing of compound packets and building of the compound
//! SR+SDES or RR+SDES packets every RTP session sends.
//!
//! Reports are how each side learns loss, jitter and round-trip time; the
//! switch sends them for the legs it terminates and reads them for call
//! quality. Parsing checks every length against the datagram and returns
//! an [`RtcpError`] for anything malformed, never panics.

use std::fmt;

use crate::rtp::SourceStats;

/// Sender report packet type.
pub const PT_SR: u8 = 200;
/// Receiver report packet type.
pub const PT_RR: u8 = 201;
/// Source description packet type.
pub const PT_SDES: u8 = 202;
/// Goodbye packet type.
pub const PT_BYE: u8 = 203;
/// Application-defined packet type.
pub const PT_APP: u8 = 204;
/// SDES item type of the canonical name.
pub const SDES_CNAME: u8 = 1;

const REPORT_BLOCK_LEN: usize = 24;
/// At most 31 report blocks / sources fit the 5-bit count field.
const MAX_COUNT: usize = 31;

/// Why a datagram is not a valid (compound) RTCP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcpError {
    /// No bytes at all.
    Empty,
    /// A packet or one of its parts runs past the data it has.
    Truncated {
        /// Bytes the part needs.
        needed: usize,
        /// Bytes available.
        len: usize,
    },
    /// The version field is not 2.
    BadVersion(u8),
    /// The padding count is zero or larger than the packet's body.
    BadPadding(u8),
    /// A compound packet's first packet is not SR or RR (§6.1); carries
    /// the packet type found.
    FirstNotReport(u8),
    /// A packet other than the last of a compound has padding (§6.1).
    PaddingNotLast,
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcpError::Empty => write!(f, "empty RTCP packet"),
            RtcpError::Truncated { needed, len } => {
                write!(f, "RTCP packet truncated: needs {needed} bytes, have {len}")
            }
            RtcpError::BadVersion(v) => write!(f, "RTCP version {v}, expected 2"),
            RtcpError::BadPadding(n) => write!(f, "RTCP padding count {n} does not fit"),
            RtcpError::FirstNotReport(pt) => {
                write!(f, "compound RTCP starts with type {pt}, not SR or RR")
            }
            RtcpError::PaddingNotLast => write!(f, "padding before the last RTCP packet"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// One reception report block (§6.4.1) about one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a 24-bit signed value on the wire.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR from the source, or 0.
    pub lsr: u32,
    /// Delay since that SR in 1/65536 s, or 0.
    pub dlsr: u32,
}

impl ReportBlock {
    /// The block for `stats`, closing its reporting interval (fraction
    /// lost per A.3); `lsr` and `dlsr` come from the last SR the source
    /// sent us (0 if none). Cumulative loss is clamped to 24 bits.
    pub fn from_stats(stats: &mut SourceStats, lsr: u32, dlsr: u32) -> ReportBlock {
        ReportBlock {
            ssrc: stats.ssrc(),
            fraction_lost: stats.take_fraction_lost(),
            cumulative_lost: stats.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: stats.extended_max(),
            jitter: stats.jitter(),
            lsr,
            dlsr,
        }
    }

    fn parse(b: &[u8]) -> ReportBlock {
        let raw = u32::from_be_bytes([0, b[5], b[6], b[7]]);
        // Sign-extend the 24-bit two's complement value.
        let cumulative_lost = ((raw << 8) as i32) >> 8;
        ReportBlock {
            ssrc: be32(b, 0),
            fraction_lost: b[4],
            cumulative_lost,
            extended_highest_seq: be32(b, 8),
            jitter: be32(b, 12),
            lsr: be32(b, 16),
            dlsr: be32(b, 20),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(self.fraction_lost);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32;
        out.extend_from_slice(&lost.to_be_bytes()[1..]);
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.lsr.to_be_bytes());
        out.extend_from_slice(&self.dlsr.to_be_bytes());
    }
}

/// A sender report (§6.4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Wallclock time of this report, NTP format.
    pub ntp: NtpTimestamp,
    /// The same instant in the RTP timestamp clock.
    pub rtp_timestamp: u32,
    /// Packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
    /// Reports on the sources this sender hears (at most 31).
    pub reports: Vec<ReportBlock>,
}

/// A receiver report (§6.4.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverReport {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Reports on the sources it hears (at most 31).
    pub reports: Vec<ReportBlock>,
}

/// An SDES item (§6.5): type and value bytes (UTF-8 by the RFC, not checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// Item type (1 CNAME, 2 NAME, ...).
    pub kind: u8,
    /// Item value.
    pub value: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The described source.
    pub ssrc: u32,
    /// Its items, in order.
    pub items: Vec<SdesItem<'a>>,
}

impl<'a> SdesChunk<'a> {
    /// The CNAME item's value, if present.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items.iter().find(|i| i.kind == SDES_CNAME).map(|i| i.value)
    }
}

/// A BYE packet (§6.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bye<'a> {
    /// Sources leaving.
    pub ssrcs: Vec<u32>,
    /// Optional reason text.
    pub reason: Option<&'a [u8]>,
}

/// One packet of a compound RTCP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report.
    SenderReport(SenderReport),
    /// Receiver report.
    ReceiverReport(ReceiverReport),
    /// Source description chunks.
    Sdes(Vec<SdesChunk<'a>>),
    /// Goodbye.
    Bye(Bye<'a>),
    /// Any other type (APP, XR, feedback): kept unparsed.
    Other {
        /// Packet type.
        packet_type: u8,
        /// The 5-bit count/subtype field.
        count: u8,
        /// Body after the 4-byte header, without padding.
        body: &'a [u8],
    },
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn need(needed: usize, len: usize) -> Result<(), RtcpError> {
    if len < needed {
        Err(RtcpError::Truncated { needed, len })
    } else {
        Ok(())
    }
}

/// Parse the first RTCP packet in `buf`; returns it, its length on the
/// wire, and whether it had the padding bit.
pub fn parse_packet(buf: &[u8]) -> Result<(RtcpPacket<'_>, usize, bool), RtcpError> {
    need(4, buf.len())?;
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtcpError::BadVersion(version));
    }
    let padded = buf[0] & 0x20 != 0;
    let count = buf[0] & 0x1F;
    let packet_type = buf[1];
    let size = 4 * (usize::from(u16::from_be_bytes([buf[2], buf[3]])) + 1);
    need(size, buf.len())?;
    let mut end = size;
    if padded {
        let pad = buf[size - 1];
        if pad == 0 || usize::from(pad) > size - 4 {
            return Err(RtcpError::BadPadding(pad));
        }
        end -= usize::from(pad);
    }
    let body = &buf[4..end];
    let n = usize::from(count);
    let packet = match packet_type {
        PT_SR => {
            need(24 + n * REPORT_BLOCK_LEN, body.len())?;
            RtcpPacket::SenderReport(SenderReport {
                ssrc: be32(body, 0),
                ntp: NtpTimestamp(u64::from(be32(body, 4)) << 32 | u64::from(be32(body, 8))),
                rtp_timestamp: be32(body, 12),
                packet_count: be32(body, 16),
                octet_count: be32(body, 20),
                reports: blocks(&body[24..], n),
            })
        }
        PT_RR => {
            need(4 + n * REPORT_BLOCK_LEN, body.len())?;
            RtcpPacket::ReceiverReport(ReceiverReport { ssrc: be32(body, 0), reports: blocks(&body[4..], n) })
        }
        PT_SDES => RtcpPacket::Sdes(parse_sdes(body, n)?),
        PT_BYE => {
            need(4 * n, body.len())?;
            let ssrcs = (0..n).map(|i| be32(body, 4 * i)).collect();
            let rest = &body[4 * n..];
            let reason = match rest.first() {
                Some(&len) => {
                    need(1 + usize::from(len), rest.len())?;
                    Some(&rest[1..1 + usize::from(len)])
                }
                None => None,
            };
            RtcpPacket::Bye(Bye { ssrcs, reason })
        }
        _ => RtcpPacket::Other { packet_type, count, body },
    };
    Ok((packet, size, padded))
}

fn blocks(b: &[u8], n: usize) -> Vec<ReportBlock> {
    b.chunks_exact(REPORT_BLOCK_LEN).take(n).map(ReportBlock::parse).collect()
}

fn parse_sdes(body: &[u8], chunks: usize) -> Result<Vec<SdesChunk<'_>>, RtcpError> {
    let mut out = Vec::with_capacity(chunks);
    let mut at = 0;
    for _ in 0..chunks {
        need(at + 4, body.len())?;
        let ssrc = be32(body, at);
        at += 4;
        let mut items = Vec::new();
        loop {
            need(at + 1, body.len())?;
            let kind = body[at];
            if kind == 0 {
                // The end marker, then null octets up to the next word.
                at = (at + 4) & !3;
                break;
            }
            need(at + 2, body.len())?;
            let len = usize::from(body[at + 1]);
            need(at + 2 + len, body.len())?;
            items.push(SdesItem { kind, value: &body[at + 2..at + 2 + len] });
            at += 2 + len;
        }
        out.push(SdesChunk { ssrc, items });
    }
    Ok(out)
}

/// Parse a compound RTCP packet (§6.1): every packet's length must fit,
/// the first must be SR or RR, and only the last may be padded.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket<'_>>, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let (packet, size, padded) = parse_packet(rest)?;
        if packets.is_empty() && !matches!(packet_type_of(&packet), PT_SR | PT_RR) {
            return Err(RtcpError::FirstNotReport(packet_type_of(&packet)));
        }
        rest = &rest[size..];
        if padded && !rest.is_empty() {
            return Err(RtcpError::PaddingNotLast);
        }
        packets.push(packet);
    }
    Ok(packets)
}

fn packet_type_of(p: &RtcpPacket<'_>) -> u8 {
    match p {
        RtcpPacket::SenderReport(_) => PT_SR,
        RtcpPacket::ReceiverReport(_) => PT_RR,
        RtcpPacket::Sdes(_) => PT_SDES,
        RtcpPacket::Bye(_) => PT_BYE,
        RtcpPacket::Other { packet_type, .. } => *packet_type,
    }
}

/// Why an RTCP packet could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcpBuildError {
    /// More than 31 report blocks or BYE sources.
    TooMany(usize),
    /// A CNAME or BYE reason over 255 bytes.
    TextTooLong(usize),
}

impl fmt::Display for RtcpBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcpBuildError::TooMany(n) => write!(f, "{n} entries, at most 31 per packet"),
            RtcpBuildError::TextTooLong(n) => write!(f, "text of {n} bytes, at most 255"),
        }
    }
}

impl std::error::Error for RtcpBuildError {}

fn header(out: &mut Vec<u8>, count: usize, packet_type: u8) -> usize {
    let start = out.len();
    // Callers check count <= 31; the length is patched by `finish`.
    out.extend_from_slice(&[0x80 | count as u8, packet_type, 0, 0]);
    start
}

fn finish(out: &mut [u8], start: usize) {
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn check(reports: usize, text: usize) -> Result<(), RtcpBuildError> {
    if reports > MAX_COUNT {
        return Err(RtcpBuildError::TooMany(reports));
    }
    if text > 255 {
        return Err(RtcpBuildError::TextTooLong(text));
    }
    Ok(())
}

fn write_sdes_cname(out: &mut Vec<u8>, ssrc: u32, cname: &[u8]) {
    let start = header(out, 1, PT_SDES);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname);
    // At least one null octet ends the item list, then pad to a word.
    out.push(0);
    while (out.len() - start) % 4 != 0 {
        out.push(0);
    }
    finish(out, start);
}

/// Append the compound SR + SDES(CNAME) packet a sender sends (§6.1).
pub fn write_sr(sr: &SenderReport, cname: &[u8], out: &mut Vec<u8>) -> Result<(), RtcpBuildError> {
    check(sr.reports.len(), cname.len())?;
    let start = header(out, sr.reports.len(), PT_SR);
    out.extend_from_slice(&sr.ssrc.to_be_bytes());
    out.extend_from_slice(&sr.ntp.0.to_be_bytes());
    out.extend_from_slice(&sr.rtp_timestamp.to_be_bytes());
    out.extend_from_slice(&sr.packet_count.to_be_bytes());
    out.extend_from_slice(&sr.octet_count.to_be_bytes());
    for block in &sr.reports {
        block.write(out);
    }
    finish(out, start);
    write_sdes_cname(out, sr.ssrc, cname);
    Ok(())
}

/// Append the compound RR + SDES(CNAME) packet a receiver sends (§6.1).
pub fn write_rr(rr: &ReceiverReport, cname: &[u8], out: &mut Vec<u8>) -> Result<(), RtcpBuildError> {
    check(rr.reports.len(), cname.len())?;
    let start = header(out, rr.reports.len(), PT_RR);
    out.extend_from_slice(&rr.ssrc.to_be_bytes());
    for block in &rr.reports {
        block.write(out);
    }
    finish(out, start);
    write_sdes_cname(out, rr.ssrc, cname);
    Ok(())
}

/// Append a BYE packet (send it after an RR or SR in one compound).
pub fn write_bye(ssrcs: &[u32], reason: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), RtcpBuildError> {
    check(ssrcs.len(), reason.map_or(0, <[u8]>::len))?;
    let start = header(out, ssrcs.len(), PT_BYE);
    for ssrc in ssrcs {
        out.extend_from_slice(&ssrc.to_be_bytes());
    }
    if let Some(text) = reason {
        out.push(text.len() as u8);
        out.extend_from_slice(text);
        while (out.len() - start) % 4 != 0 {
            out.push(0);
        }
    }
    finish(out, start);
    Ok(())
}

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, the
/// fraction of a second in the low 32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// From microseconds since the Unix epoch (the caller reads its clock).
    pub fn from_unix_micros(micros: u64) -> NtpTimestamp {
        let secs = micros / 1_000_000 + NTP_UNIX_OFFSET_SECS;
        let frac = ((micros % 1_000_000) << 32) / 1_000_000;
        NtpTimestamp((secs << 32) | frac)
    }

    /// The middle 32 bits (16.16 fixed point seconds): what LSR carries.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// A delay in milliseconds as DLSR units of 1/65536 s (saturating).
pub fn dlsr_from_millis(millis: u64) -> u32 {
    (millis.saturating_mul(65_536) / 1000).min(u64::from(u32::MAX)) as u32
}

/// DLSR units of 1/65536 s as milliseconds (rounded down).
pub fn dlsr_to_millis(dlsr: u32) -> u64 {
    u64::from(dlsr) * 1000 / 65_536
}

/// Round-trip time from a report block received at `arrival` (§6.4.1):
/// arrival − LSR − DLSR, in 1/65536 s. `None` when the block carries no
/// LSR (the source has not had an SR from us yet).
pub fn round_trip(arrival: NtpTimestamp, block: &ReportBlock) -> Option<u32> {
    if block.lsr == 0 {
        return None;
    }
    Some(arrival.middle32().wrapping_sub(block.lsr).wrapping_sub(block.dlsr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;

    /// An RR with one block, written out by hand from §6.4.2's layout.
    const RR: [u8; 32] = [
        0x81, 0xC9, 0x00, 0x07, // V=2 RC=1 PT=201 length 7
        0x11, 0x22, 0x33, 0x44, // reporter SSRC
        0x55, 0x66, 0x77, 0x88, // source SSRC
        0x40, 0xFF, 0xFF, 0xFE, // fraction 64/256, cumulative lost -2
        0x00, 0x01, 0x00, 0x05, // one cycle, highest 5
        0x00, 0x00, 0x00, 0x20, // jitter 32
        0xB7, 0x05, 0x20, 0x00, // LSR 46853.125 s
        0x00, 0x05, 0x40, 0x00, // DLSR 5.25 s
    ];

    fn block() -> ReportBlock {
        ReportBlock {
            ssrc: 0x55667788,
            fraction_lost: 0x40,
            cumulative_lost: -2,
            extended_highest_seq: 0x0001_0005,
            jitter: 32,
            lsr: 0xB705_2000,
            dlsr: 0x0005_4000,
        }
    }

    fn sample_sr() -> SenderReport {
        SenderReport {
            ssrc: 0xCAFE_F00D,
            ntp: NtpTimestamp(0x83AA_7E80_8000_0000),
            rtp_timestamp: 160_000,
            packet_count: 1000,
            octet_count: 160_000,
            reports: vec![block(), ReportBlock::default()],
        }
    }

    #[test]
    fn parses_a_hand_written_receiver_report() {
        let packets = parse_compound(&RR).unwrap();
        assert_eq!(packets, vec![RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 0x11223344, reports: vec![block()] })]);
    }

    #[test]
    fn round_trip_time_matches_the_rfc_example() {
        // §6.4.1: A = 0xb710:8000 (46864.500 s), LSR 0xb705:2000,
        // DLSR 0x0005:4000 (5.250 s) give 0x0006:2000 (6.125 s).
        let arrival = NtpTimestamp(0x0000_B710_8000_0000);
        assert_eq!(round_trip(arrival, &block()), Some(0x0006_2000));
        let no_sr = ReportBlock::default();
        assert_eq!(round_trip(arrival, &no_sr), None);
    }

    #[test]
    fn ntp_and_dlsr_helpers() {
        // The Unix epoch is 2 208 988 800 s after the NTP epoch.
        assert_eq!(NtpTimestamp::from_unix_micros(0).0, 0x83AA_7E80u64 << 32);
        let half = NtpTimestamp::from_unix_micros(1_500_000);
        assert_eq!(half.0, (0x83AA_7E81u64 << 32) | 0x8000_0000);
        assert_eq!(half.middle32(), 0x7E81_8000);
        assert_eq!(dlsr_from_millis(5250), 0x0005_4000);
        assert_eq!(dlsr_to_millis(0x0005_4000), 5250);
        assert_eq!(dlsr_from_millis(1), 65);
        assert_eq!(dlsr_from_millis(u64::MAX), u32::MAX);
    }

    #[test]
    fn compound_sr_sdes_round_trips() {
        let mut out = Vec::new();
        write_sr(&sample_sr(), b"switchboard@10.0.0.1", &mut out).unwrap();
        assert_eq!(out.len() % 4, 0);
        // SR: 4 + 24 + 2*24 = 76 bytes, length field 18.
        assert_eq!(&out[..4], &[0x82, 200, 0, 18]);
        let packets = parse_compound(&out).unwrap();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0], RtcpPacket::SenderReport(sample_sr()));
        let RtcpPacket::Sdes(chunks) = &packets[1] else {
            panic!("second packet is SDES: {:?}", packets[1]);
        };
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].ssrc, 0xCAFE_F00D);
        assert_eq!(chunks[0].cname(), Some(&b"switchboard@10.0.0.1"[..]));
    }

    #[test]
    fn compound_rr_sdes_bye_round_trips() {
        let rr = ReceiverReport { ssrc: 9, reports: vec![block()] };
        let mut out = Vec::new();
        // CNAME lengths 0..8 exercise every SDES padding remainder.
        for len in 0..8 {
            out.clear();
            let cname = &b"abcdefgh"[..len];
            write_rr(&rr, cname, &mut out).unwrap();
            write_bye(&[9, 10], Some(b"hangup"), &mut out).unwrap();
            let p = parse_compound(&out).unwrap();
            assert_eq!(p[0], RtcpPacket::ReceiverReport(rr.clone()));
            let RtcpPacket::Sdes(chunks) = &p[1] else { panic!("{:?}", p[1]) };
            assert_eq!(chunks[0].cname(), Some(cname));
            assert_eq!(p[2], RtcpPacket::Bye(Bye { ssrcs: vec![9, 10], reason: Some(b"hangup") }));
        }
        assert_eq!(&out[..32], &RR[..4].iter().chain(&[0, 0, 0, 9]).chain(&RR[8..]).copied().collect::<Vec<_>>()[..]);
    }

    #[test]
    fn cumulative_loss_is_24_bit_signed() {
        for lost in [0, 1, -1, 0x7F_FFFF, -0x80_0000] {
            let mut b = block();
            b.cumulative_lost = lost;
            let mut out = Vec::new();
            write_rr(&ReceiverReport { ssrc: 1, reports: vec![b] }, b"", &mut out).unwrap();
            let RtcpPacket::ReceiverReport(rr) = parse_packet(&out).unwrap().0 else { panic!() };
            assert_eq!(rr.reports[0].cumulative_lost, lost);
        }
        // Out-of-range values saturate rather than wrap on the wire.
        let mut b = block();
        b.cumulative_lost = 0x100_0000;
        let mut out = Vec::new();
        write_rr(&ReceiverReport { ssrc: 1, reports: vec![b] }, b"", &mut out).unwrap();
        assert_eq!(&out[13..16], &[0x7F, 0xFF, 0xFF]);
    }

    #[test]
    fn report_block_from_source_stats() {
        let mut stats = SourceStats::new(0x5566_7788, 65530);
        // Base 65531, through the wrap to 65545 extended, 3 missing.
        for seq in (65530u16..=65535).chain(0..=9) {
            if ![2, 3, 4].contains(&seq) {
                stats.record(seq, 0, 0);
            }
        }
        let b = ReportBlock::from_stats(&mut stats, 0xB705_2000, 7);
        assert_eq!(b.ssrc, 0x5566_7788);
        assert_eq!(b.extended_highest_seq, 65536 + 9);
        assert_eq!(b.cumulative_lost, 3);
        // 3 lost of 15 expected: 3*256/15 = 51.
        assert_eq!(b.fraction_lost, 51);
        assert_eq!((b.lsr, b.dlsr), (0xB705_2000, 7));
        // The interval closed: the next block reports no new loss.
        assert_eq!(ReportBlock::from_stats(&mut stats, 0, 0).fraction_lost, 0);
    }

    #[test]
    fn compound_rules_of_section_6_1() {
        let mut out = Vec::new();
        write_bye(&[1], None, &mut out).unwrap();
        assert_eq!(parse_compound(&out), Err(RtcpError::FirstNotReport(PT_BYE)));
        assert!(parse_packet(&out).is_ok(), "a lone BYE parses as a packet");
        assert_eq!(parse_compound(&[]), Err(RtcpError::Empty));
        // An empty RR with 4 bytes of padding, on the first of two packets.
        let padded = [0xA0, PT_RR, 0, 2, 0, 0, 0, 7, 0, 0, 0, 4];
        let mut two = padded.to_vec();
        two.extend_from_slice(&RR);
        assert_eq!(parse_compound(&two), Err(RtcpError::PaddingNotLast));
        // ... is fine on the last packet, and is cut from the body.
        let mut last = RR.to_vec();
        last.extend_from_slice(&padded);
        let p = parse_compound(&last).unwrap();
        assert_eq!(p[1], RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 7, reports: vec![] }));
        // Padding that eats into the report blocks truncates them.
        let mut rr = RR.to_vec();
        rr[0] |= 0x20;
        rr[31] = 4;
        assert_eq!(parse_packet(&rr), Err(RtcpError::Truncated { needed: 28, len: 24 }));
        rr[31] = 29;
        assert_eq!(parse_packet(&rr), Err(RtcpError::BadPadding(29)));
        rr[31] = 0;
        assert_eq!(parse_packet(&rr), Err(RtcpError::BadPadding(0)));
        let mut v1 = RR;
        v1[0] = 0x41;
        assert_eq!(parse_packet(&v1), Err(RtcpError::BadVersion(1)));
    }

    #[test]
    fn unknown_types_are_kept_unparsed() {
        let app = [0x80 | 3, PT_APP, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e'];
        let mut compound = RR.to_vec();
        compound.extend_from_slice(&app);
        let p = parse_compound(&compound).unwrap();
        assert_eq!(p[1], RtcpPacket::Other { packet_type: PT_APP, count: 3, body: &app[4..] });
    }

    #[test]
    fn builders_reject_what_the_fields_cannot_hold() {
        let mut out = Vec::new();
        let rr = ReceiverReport { ssrc: 1, reports: vec![ReportBlock::default(); 32] };
        assert_eq!(write_rr(&rr, b"x", &mut out), Err(RtcpBuildError::TooMany(32)));
        assert_eq!(write_sr(&SenderReport::default(), &[b'a'; 256], &mut out), Err(RtcpBuildError::TextTooLong(256)));
        assert_eq!(write_bye(&[0; 32], None, &mut out), Err(RtcpBuildError::TooMany(32)));
        assert!(out.is_empty());
        assert_eq!(RtcpBuildError::TooMany(32).to_string(), "32 entries, at most 31 per packet");
        assert_eq!(RtcpError::FirstNotReport(203).to_string(), "compound RTCP starts with type 203, not SR or RR");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        write_sr(&sample_sr(), b"cname", &mut out).unwrap();
        write_bye(&[1], Some(b"bye"), &mut out).unwrap();
        assert_eq!(parse_compound(&out).unwrap().len(), 3);
        assert_eq!(out.len(), 104);
        // A cut at a packet boundary is a valid shorter compound; any
        // other cut must be an error.
        // SR 76 bytes, SDES 16, BYE 12.
        let boundaries = [76, 92];
        for n in 1..out.len() {
            let r = parse_compound(&out[..n]);
            assert_eq!(r.is_ok(), boundaries.contains(&n), "prefix {n}: {r:?}");
        }
        // Shrinking the declared length (the bytes are there) must not
        // let a part run past its packet: under 18 words the two report
        // blocks do not fit; 19 words keeps 4 trailing (profile) bytes.
        for words in 0..=19u8 {
            let mut sr = out[..80].to_vec();
            sr[3] = words;
            assert_eq!(parse_packet(&sr).is_ok(), words >= 18, "length {words}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.next();
        let mut parsed = 0;
        for _ in 0..5000 {
            let len = (next() % 120) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Steer towards plausible headers so the inner parsers run.
            if len >= 4 && next() % 2 == 0 {
                buf[0] = 0x80 | (buf[0] & 0x3F);
                buf[1] = 200 + (next() % 5) as u8;
                buf[2] = 0;
                buf[3] = (next() % (len as u64 / 4)) as u8;
            }
            if parse_packet(&buf).is_ok() {
                parsed += 1;
            }
            let _ = parse_compound(&buf);
        }
        assert!(parsed > 0, "some random packets parse, so the deep paths ran");
    }
}
