//! RIFF/WAVE files: reading prompts and uploads, writing recordings.
//!
//! [`parse_wav`] reads strictly: the RIFF size must match the bytes, every
//! chunk must fit (with its pad byte when its size is odd), and the `fmt `
//! chunk must describe 16-bit PCM, μ-law or A-law (plain or as
//! `WAVE_FORMAT_EXTENSIBLE` with the PCM subformat), mono or stereo, with
//! a block align and byte rate that agree. Anything else is a typed
//! [`WavError`], never a panic, and the caller's size limit bounds the
//! memory an upload can take. Unknown chunks (`LIST`, `fact`, `cue `) are
//! skipped.
//!
//! [`WavWriter`] writes 16-bit PCM or G.711 files incrementally over any
//! `Write + Seek`, because a recording is written while its call runs: it
//! appends frames and patches the sizes in the header on
//! [`WavWriter::finish`].
//!
//! [`resample_linear`] and [`downmix_stereo`] bring a file to the 8 kHz
//! mono the phones speak.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::g711::Law;

/// The rate G.711 and the mixer run at.
pub const TELEPHONY_RATE: u32 = 8000;
/// Sample rates outside `MIN_RATE..=MAX_RATE` are refused as absurd.
pub const MIN_RATE: u32 = 1000;
/// See [`MIN_RATE`]: 384 kHz is the highest rate studio gear writes.
pub const MAX_RATE: u32 = 384_000;
/// The most data bytes a writer accepts: the RIFF sizes are 32-bit.
pub const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 64;

const FORMAT_PCM: u16 = 1;
const FORMAT_ALAW: u16 = 6;
const FORMAT_MULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// `KSDATAFORMAT_SUBTYPE_PCM` as stored (little-endian GUID fields).
const SUBFORMAT_PCM: [u8; 16] = [1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71];

/// How the samples in the `data` chunk are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Signed 16-bit little-endian linear PCM.
    Pcm16,
    /// G.711 μ-law, one byte per sample.
    Mulaw,
    /// G.711 A-law, one byte per sample.
    Alaw,
}

impl Encoding {
    /// Bits per stored sample.
    pub const fn bits(self) -> u16 {
        match self {
            Encoding::Pcm16 => 16,
            Encoding::Mulaw | Encoding::Alaw => 8,
        }
    }

    const fn tag(self) -> u16 {
        match self {
            Encoding::Pcm16 => FORMAT_PCM,
            Encoding::Mulaw => FORMAT_MULAW,
            Encoding::Alaw => FORMAT_ALAW,
        }
    }

    const fn law(self) -> Option<Law> {
        match self {
            Encoding::Pcm16 => None,
            Encoding::Mulaw => Some(Law::Pcmu),
            Encoding::Alaw => Some(Law::Pcma),
        }
    }
}

/// What a file holds: encoding, channel count and sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WavFormat {
    /// Sample storage.
    pub encoding: Encoding,
    /// 1 (mono) or 2 (stereo, interleaved left then right).
    pub channels: u16,
    /// Samples per second per channel.
    pub sample_rate: u32,
}

impl WavFormat {
    /// 8 kHz mono in `encoding`: a prompt or one side of a call.
    pub const fn telephony(encoding: Encoding) -> Self {
        WavFormat { encoding, channels: 1, sample_rate: TELEPHONY_RATE }
    }

    /// Bytes per sample frame (all channels).
    pub const fn block_align(&self) -> u16 {
        // Saturating: a format built by hand with absurd values must not
        // overflow before `check` refuses it.
        self.channels.saturating_mul(self.encoding.bits() / 8)
    }

    /// Bytes per second.
    pub const fn byte_rate(&self) -> u32 {
        self.sample_rate.saturating_mul(self.block_align() as u32)
    }

    fn check(&self) -> Result<(), WavError> {
        if !(1..=2).contains(&self.channels) {
            return Err(WavError::Channels(self.channels));
        }
        if !(MIN_RATE..=MAX_RATE).contains(&self.sample_rate) {
            return Err(WavError::Rate(self.sample_rate));
        }
        Ok(())
    }
}

/// A decoded file: its format and its samples as i16, interleaved when
/// stereo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    /// What the file declared.
    pub format: WavFormat,
    /// Every sample, G.711 decoded to linear.
    pub samples: Vec<i16>,
}

impl Wav {
    /// Sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.format.channels.max(1))
    }

    /// Length in whole milliseconds.
    pub fn duration_ms(&self) -> u64 {
        (self.frames() as u64 * 1000).checked_div(u64::from(self.format.sample_rate)).unwrap_or(0)
    }

    /// The samples as mono (stereo is downmixed).
    pub fn to_mono(&self) -> Vec<i16> {
        if self.format.channels == 2 {
            downmix_stereo(&self.samples)
        } else {
            self.samples.clone()
        }
    }

    /// Mono at 8 kHz, ready for G.711 frames.
    pub fn to_mono_8k(&self) -> Result<Vec<i16>, WavError> {
        resample_linear(&self.to_mono(), self.format.sample_rate, TELEPHONY_RATE)
    }
}

/// Why a file was refused or could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WavError {
    /// More bytes than the caller's limit (or, writing, than RIFF can hold).
    TooLarge {
        /// Bytes seen (at least).
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// The file ends inside the RIFF header or a chunk header.
    Truncated {
        /// Bytes needed to go on.
        needed: usize,
        /// Bytes there are.
        len: usize,
    },
    /// The file does not start with `RIFF`.
    NotRiff,
    /// The RIFF form type is not `WAVE`.
    NotWave,
    /// The RIFF size field does not match the file length.
    RiffSize {
        /// The size field plus 8.
        declared: u64,
        /// The file length.
        actual: usize,
    },
    /// A chunk (with its pad byte) runs past the end of the file.
    ChunkOverrun {
        /// The chunk id.
        id: [u8; 4],
        /// Its declared size.
        size: u32,
        /// Bytes left after its header.
        left: usize,
    },
    /// A second `fmt ` or `data` chunk.
    DuplicateChunk([u8; 4]),
    /// The `data` chunk comes before any `fmt `.
    DataBeforeFmt,
    /// No `fmt ` chunk.
    MissingFmt,
    /// No `data` chunk.
    MissingData,
    /// A `fmt ` chunk too short for its format tag.
    FmtTooShort(u32),
    /// A format tag other than PCM, μ-law, A-law or extensible.
    UnsupportedFormat(u16),
    /// An extensible format whose subformat is not PCM.
    UnsupportedSubformat,
    /// Not 1 or 2 channels.
    Channels(u16),
    /// A sample rate outside `MIN_RATE..=MAX_RATE`.
    Rate(u32),
    /// Bits per sample that the format tag does not allow (PCM must be 16,
    /// G.711 8; extensible valid bits 1..=16).
    Bits {
        /// The format tag.
        format: u16,
        /// The bits declared.
        bits: u16,
    },
    /// The block align does not match channels × bytes per sample.
    BlockAlign {
        /// As declared.
        declared: u16,
        /// As the format implies.
        expected: u16,
    },
    /// The byte rate does not match rate × block align.
    ByteRate {
        /// As declared.
        declared: u32,
        /// As the format implies.
        expected: u32,
    },
    /// Data whose length is not a whole number of sample frames.
    PartialFrame {
        /// Bytes (or, writing, samples) given.
        len: u64,
        /// What it must be a multiple of.
        multiple: u16,
    },
    /// Stereo halves of different lengths given to the writer.
    ChannelLengths {
        /// Left samples.
        left: usize,
        /// Right samples.
        right: usize,
    },
    /// The underlying reader or writer failed.
    Io(io::ErrorKind),
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = |id: &[u8; 4]| String::from_utf8_lossy(id).into_owned();
        match self {
            WavError::TooLarge { len, limit } => write!(f, "WAV file of {len} bytes is over the limit of {limit}"),
            WavError::Truncated { needed, len } => write!(f, "WAV file truncated: {needed} bytes needed, {len} present"),
            WavError::NotRiff => write!(f, "not a RIFF file"),
            WavError::NotWave => write!(f, "RIFF file is not WAVE"),
            WavError::RiffSize { declared, actual } => write!(f, "RIFF size says {declared} bytes, the file has {actual}"),
            WavError::ChunkOverrun { id: c, size, left } => {
                write!(f, "chunk {:?} of {size} bytes runs past the end ({left} left)", id(c))
            }
            WavError::DuplicateChunk(c) => write!(f, "second {:?} chunk", id(c)),
            WavError::DataBeforeFmt => write!(f, "data chunk before the fmt chunk"),
            WavError::MissingFmt => write!(f, "no fmt chunk"),
            WavError::MissingData => write!(f, "no data chunk"),
            WavError::FmtTooShort(n) => write!(f, "fmt chunk of {n} bytes is too short"),
            WavError::UnsupportedFormat(t) => write!(f, "WAV format tag {t:#06x} is not PCM, mu-law or A-law"),
            WavError::UnsupportedSubformat => write!(f, "extensible WAV subformat is not PCM"),
            WavError::Channels(n) => write!(f, "{n} channels, only mono or stereo"),
            WavError::Rate(r) => write!(f, "sample rate {r} outside {MIN_RATE}..={MAX_RATE}"),
            WavError::Bits { format, bits } => write!(f, "{bits} bits per sample for format {format:#06x}"),
            WavError::BlockAlign { declared, expected } => write!(f, "block align {declared}, expected {expected}"),
            WavError::ByteRate { declared, expected } => write!(f, "byte rate {declared}, expected {expected}"),
            WavError::PartialFrame { len, multiple } => write!(f, "{len} is not a multiple of the frame size {multiple}"),
            WavError::ChannelLengths { left, right } => write!(f, "{left} left and {right} right samples"),
            WavError::Io(kind) => write!(f, "WAV I/O error: {kind}"),
        }
    }
}

impl std::error::Error for WavError {}

impl From<io::Error> for WavError {
    fn from(e: io::Error) -> Self {
        WavError::Io(e.kind())
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a whole file from `reader`, refusing (after reading at most
/// `max_bytes + 1` bytes) anything longer than `max_bytes`.
pub fn read_wav<R: Read>(reader: R, max_bytes: usize) -> Result<Wav, WavError> {
    let mut buf = Vec::new();
    reader.take((max_bytes as u64).saturating_add(1)).read_to_end(&mut buf)?;
    parse_wav(&buf, max_bytes)
}

/// Parses a complete file held in memory; see the module doc for what is
/// accepted. Files over `max_bytes` are refused before anything is decoded.
pub fn parse_wav(bytes: &[u8], max_bytes: usize) -> Result<Wav, WavError> {
    let len = bytes.len();
    if len > max_bytes {
        return Err(WavError::TooLarge { len: len as u64, limit: max_bytes as u64 });
    }
    if len < 12 {
        return Err(WavError::Truncated { needed: 12, len });
    }
    if &bytes[0..4] != b"RIFF" {
        return Err(WavError::NotRiff);
    }
    if &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let declared = u64::from(u32_at(bytes, 4)) + 8;
    if declared != len as u64 {
        return Err(WavError::RiffSize { declared, actual: len });
    }
    let mut format = None;
    let mut data = None;
    let mut pos = 12;
    while pos < len {
        if len - pos < 8 {
            return Err(WavError::Truncated { needed: pos + 8, len });
        }
        let id = [bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]];
        let size = u32_at(bytes, pos + 4);
        let body = pos + 8;
        let left = len - body;
        // RIFF pads odd-sized chunks to an even length; the pad is not in size.
        let padded = u64::from(size) + u64::from(size & 1);
        if padded > left as u64 {
            return Err(WavError::ChunkOverrun { id, size, left });
        }
        let chunk = &bytes[body..body + size as usize];
        match &id {
            b"fmt " => {
                if format.is_some() {
                    return Err(WavError::DuplicateChunk(id));
                }
                format = Some(parse_fmt(chunk)?);
            }
            b"data" => {
                if data.is_some() {
                    return Err(WavError::DuplicateChunk(id));
                }
                let f: &WavFormat = format.as_ref().ok_or(WavError::DataBeforeFmt)?;
                if size % u32::from(f.block_align()) != 0 {
                    return Err(WavError::PartialFrame { len: u64::from(size), multiple: f.block_align() });
                }
                data = Some(chunk);
            }
            _ => {}
        }
        pos = body + padded as usize;
    }
    let format = format.ok_or(WavError::MissingFmt)?;
    let data = data.ok_or(WavError::MissingData)?;
    let samples = match format.encoding.law() {
        None => data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect(),
        Some(law) => {
            let mut v = Vec::with_capacity(data.len());
            law.decode(data, &mut v);
            v
        }
    };
    Ok(Wav { format, samples })
}

fn parse_fmt(b: &[u8]) -> Result<WavFormat, WavError> {
    let too_short = || WavError::FmtTooShort(b.len() as u32);
    if b.len() < 16 {
        return Err(too_short());
    }
    let tag = u16_at(b, 0);
    let channels = u16_at(b, 2);
    let sample_rate = u32_at(b, 4);
    let byte_rate = u32_at(b, 8);
    let block_align = u16_at(b, 12);
    let bits = u16_at(b, 14);
    let encoding = match tag {
        FORMAT_PCM => Encoding::Pcm16,
        FORMAT_MULAW => Encoding::Mulaw,
        FORMAT_ALAW => Encoding::Alaw,
        FORMAT_EXTENSIBLE => {
            // cbSize (22), valid bits, channel mask, then the subformat GUID.
            if b.len() < 40 || u16_at(b, 16) < 22 {
                return Err(too_short());
            }
            if b[24..40] != SUBFORMAT_PCM {
                return Err(WavError::UnsupportedSubformat);
            }
            let valid = u16_at(b, 18);
            if valid == 0 || valid > 16 {
                return Err(WavError::Bits { format: tag, bits: valid });
            }
            Encoding::Pcm16
        }
        other => return Err(WavError::UnsupportedFormat(other)),
    };
    if bits != encoding.bits() {
        return Err(WavError::Bits { format: tag, bits });
    }
    let format = WavFormat { encoding, channels, sample_rate };
    format.check()?;
    if block_align != format.block_align() {
        return Err(WavError::BlockAlign { declared: block_align, expected: format.block_align() });
    }
    if byte_rate != format.byte_rate() {
        return Err(WavError::ByteRate { declared: byte_rate, expected: format.byte_rate() });
    }
    Ok(format)
}

/// Writes a WAV file as audio arrives: the header goes out first with
/// zero sizes, frames are appended, and [`finish`](Self::finish) seeks back
/// to patch the sizes. A writer dropped without `finish` leaves a file
/// whose sizes say it is empty (the audio is there for a repair tool).
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    format: WavFormat,
    start: u64,
    data_len: u64,
    scratch: Vec<u8>,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Starts a file at the writer's current position. G.711 files get the
    /// 18-byte `fmt ` and the `fact` chunk (sample count) that non-PCM
    /// formats require.
    pub fn new(mut inner: W, format: WavFormat) -> Result<Self, WavError> {
        format.check()?;
        let start = inner.stream_position()?;
        inner.write_all(&header(&format, 0))?;
        Ok(WavWriter { inner, format, start, data_len: 0, scratch: Vec::new() })
    }

    /// The file's format.
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// Data bytes written so far.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Sample frames written so far.
    pub fn frames(&self) -> u64 {
        self.data_len / u64::from(self.format.block_align())
    }

    /// Appends linear samples (interleaved when stereo), encoding them to
    /// the file's encoding.
    pub fn write_samples(&mut self, samples: &[i16]) -> Result<(), WavError> {
        let channels = self.format.channels;
        if samples.len() % usize::from(channels) != 0 {
            return Err(WavError::PartialFrame { len: samples.len() as u64, multiple: channels });
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        match self.format.encoding.law() {
            None => scratch.extend(samples.iter().flat_map(|s| s.to_le_bytes())),
            Some(law) => law.encode(samples, &mut scratch),
        }
        let result = self.append(&scratch);
        self.scratch = scratch;
        result
    }

    /// Appends the two directions of a call as the left and right channels
    /// of a stereo file (the caller's leg left, the other party right), so
    /// a recording keeps both sides apart.
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> Result<(), WavError> {
        if self.format.channels != 2 {
            return Err(WavError::Channels(self.format.channels));
        }
        if left.len() != right.len() {
            return Err(WavError::ChannelLengths { left: left.len(), right: right.len() });
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let pairs = left.iter().zip(right.iter());
        match self.format.encoding.law() {
            None => scratch.extend(pairs.flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()]).flatten()),
            Some(law) => scratch.extend(pairs.flat_map(|(&l, &r)| [law.encode_sample(l), law.encode_sample(r)])),
        }
        let result = self.append(&scratch);
        self.scratch = scratch;
        result
    }

    /// Appends bytes already in the file's encoding (a PCMU call leg goes
    /// to a μ-law file without a decode and re-encode).
    pub fn write_encoded(&mut self, bytes: &[u8]) -> Result<(), WavError> {
        let align = self.format.block_align();
        if bytes.len() % usize::from(align) != 0 {
            return Err(WavError::PartialFrame { len: bytes.len() as u64, multiple: align });
        }
        self.append(bytes)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), WavError> {
        let len = self.data_len + bytes.len() as u64;
        if len > MAX_DATA_BYTES {
            return Err(WavError::TooLarge { len, limit: MAX_DATA_BYTES });
        }
        self.inner.write_all(bytes)?;
        self.data_len = len;
        Ok(())
    }

    /// Pads the data to an even length, writes the real sizes into the
    /// header and leaves the writer positioned after the file.
    pub fn finish(mut self) -> Result<W, WavError> {
        if self.data_len % 2 == 1 {
            self.inner.write_all(&[0])?;
        }
        let end = self.inner.stream_position()?;
        let head = header(&self.format, self.data_len as u32);
        self.inner.seek(SeekFrom::Start(self.start))?;
        self.inner.write_all(&head)?;
        self.inner.seek(SeekFrom::Start(end))?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// The bytes before the samples: RIFF header, `fmt `, `fact` for G.711,
/// and the `data` chunk header.
fn header(format: &WavFormat, data_len: u32) -> Vec<u8> {
    let pcm = format.encoding == Encoding::Pcm16;
    let padded = data_len + (data_len & 1);
    let fmt_len: u32 = if pcm { 16 } else { 18 };
    let fact_len: u32 = if pcm { 0 } else { 12 };
    let riff = 4 + 8 + fmt_len + fact_len + 8 + padded;
    let mut h = Vec::with_capacity(60);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&riff.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    h.extend_from_slice(&format.encoding.tag().to_le_bytes());
    h.extend_from_slice(&format.channels.to_le_bytes());
    h.extend_from_slice(&format.sample_rate.to_le_bytes());
    h.extend_from_slice(&format.byte_rate().to_le_bytes());
    h.extend_from_slice(&format.block_align().to_le_bytes());
    h.extend_from_slice(&format.encoding.bits().to_le_bytes());
    if !pcm {
        h.extend_from_slice(&0u16.to_le_bytes()); // cbSize: no extra format bytes
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&(data_len / u32::from(format.block_align())).to_le_bytes());
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// Converts mono samples between rates by linear interpolation, so a
/// 16/44.1/48 kHz prompt can play at 8 kHz and an 8 kHz recording can be
/// offered at another rate.
///
/// This is deliberately small: it has no low-pass filter, so content above
/// the new Nyquist frequency folds back when downsampling. That is fine for
/// speech prompts recorded for telephony; uploads will go through a proper
/// band-limited resampler (the `rubato` crate, issue 17) in a later slice.
pub fn resample_linear(input: &[i16], from_rate: u32, to_rate: u32) -> Result<Vec<i16>, WavError> {
    for rate in [from_rate, to_rate] {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(WavError::Rate(rate));
        }
    }
    if from_rate == to_rate {
        return Ok(input.to_vec());
    }
    let (from, to) = (u64::from(from_rate), u64::from(to_rate));
    let n_out = (input.len() as u64 * to / from) as usize;
    let mut out = Vec::with_capacity(n_out);
    for i in 0..n_out as u64 {
        // Output sample i sits at input position i·from/to; i < n_out keeps
        // the integer part inside the input.
        let pos = i * from;
        let idx = (pos / to) as usize;
        let frac = (pos % to) as i64;
        let a = i64::from(input[idx]);
        let b = input.get(idx + 1).map_or(a, |&s| i64::from(s));
        out.push((a + (b - a) * frac / to as i64) as i16);
    }
    Ok(out)
}

/// Averages interleaved stereo to mono (a trailing unpaired sample is
/// dropped). Averaging, not summing, so two full-scale channels cannot
/// wrap.
pub fn downmix_stereo(interleaved: &[i16]) -> Vec<i16> {
    interleaved.chunks_exact(2).map(|lr| ((i32::from(lr[0]) + i32::from(lr[1])) >> 1) as i16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;
    use std::io::Cursor;

    const LIMIT: usize = 1 << 20;

    /// A RIFF/WAVE file from chunks, each padded, with a correct RIFF size.
    fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&(body.len() as u32).to_le_bytes());
        f.extend_from_slice(&body);
        f
    }

    fn fmt(tag: u16, channels: u16, rate: u32, byte_rate: u32, align: u16, bits: u16) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [tag, channels] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&byte_rate.to_le_bytes());
        b.extend_from_slice(&align.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b
    }

    fn pcm_fmt(channels: u16, rate: u32) -> Vec<u8> {
        fmt(1, channels, rate, rate * 2 * u32::from(channels), 2 * channels, 16)
    }

    fn extensible(subformat: [u8; 16], valid_bits: u16) -> Vec<u8> {
        let mut b = fmt(0xFFFE, 1, 16000, 32000, 2, 16);
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&valid_bits.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes()); // SPEAKER_FRONT_CENTER
        b.extend_from_slice(&subformat);
        b
    }

    fn le(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    fn write(format: WavFormat, chunks: &[&[i16]]) -> Vec<u8> {
        let mut w = WavWriter::new(Cursor::new(Vec::new()), format).unwrap();
        for c in chunks {
            w.write_samples(c).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn canonical_pcm_header_is_the_44_byte_layout() {
        let f = write(WavFormat::telephony(Encoding::Pcm16), &[&[1, -2, 0x1234]]);
        assert_eq!(f.len(), 44 + 6);
        assert_eq!(&f[0..4], b"RIFF");
        assert_eq!(u32_at(&f, 4), 36 + 6);
        assert_eq!(&f[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&f, 16), 16);
        assert_eq!(u16_at(&f, 20), 1); // PCM
        assert_eq!(u16_at(&f, 22), 1); // mono
        assert_eq!(u32_at(&f, 24), 8000);
        assert_eq!(u32_at(&f, 28), 16000); // byte rate
        assert_eq!(u16_at(&f, 32), 2); // block align
        assert_eq!(u16_at(&f, 34), 16);
        assert_eq!(&f[36..40], b"data");
        assert_eq!(u32_at(&f, 40), 6);
        assert_eq!(&f[44..], &[1, 0, 0xFE, 0xFF, 0x34, 0x12]);
        let wav = parse_wav(&f, LIMIT).unwrap();
        assert_eq!(wav.samples, [1, -2, 0x1234]);
        assert_eq!(wav.format, WavFormat::telephony(Encoding::Pcm16));
    }

    #[test]
    fn pcm_round_trips_mono_and_stereo_written_in_pieces() {
        let samples: Vec<i16> = (0..1000).map(|i| (i * 65 - 32768) as i16).collect();
        for (channels, rate) in [(1, 8000), (2, 44100), (1, 16000), (2, 8000)] {
            let format = WavFormat { encoding: Encoding::Pcm16, channels, sample_rate: rate };
            let f = write(format, &[&samples[..200], &[], &samples[200..]]);
            let wav = parse_wav(&f, LIMIT).unwrap();
            assert_eq!(wav.format, format);
            assert_eq!(wav.samples, samples);
            assert_eq!(wav.frames(), 1000 / usize::from(channels));
        }
        let wav = parse_wav(&write(WavFormat::telephony(Encoding::Pcm16), &[&[0; 8000]]), LIMIT).unwrap();
        assert_eq!(wav.duration_ms(), 1000);
    }

    #[test]
    fn g711_round_trips_through_the_codec_with_fact_chunk_and_pad() {
        let samples: Vec<i16> = (0..161).map(|i| (i * 400 - 32000) as i16).collect();
        for (encoding, law) in [(Encoding::Mulaw, Law::Pcmu), (Encoding::Alaw, Law::Pcma)] {
            let f = write(WavFormat::telephony(encoding), &[&samples]);
            // 58-byte header, 161 data bytes and one pad byte.
            assert_eq!(f.len(), 58 + 162);
            assert_eq!(u32_at(&f, 16), 18);
            assert_eq!(u16_at(&f, 20), encoding.tag());
            assert_eq!(&f[38..42], b"fact");
            assert_eq!(u32_at(&f, 46), 161, "fact holds the sample count");
            assert_eq!(u32_at(&f, 54), 161, "data size excludes the pad");
            let wav = parse_wav(&f, LIMIT).unwrap();
            let want: Vec<i16> = samples.iter().map(|&s| law.decode_sample(law.encode_sample(s))).collect();
            assert_eq!(wav.samples, want);
        }
        // Known G.711 bytes: μ-law 0xFF is 0, A-law 0xD5 is +8.
        let mut w = WavWriter::new(Cursor::new(Vec::new()), WavFormat::telephony(Encoding::Mulaw)).unwrap();
        w.write_encoded(&[0xFF, 0x80]).unwrap();
        assert_eq!(w.frames(), 2);
        let wav = parse_wav(&w.finish().unwrap().into_inner(), LIMIT).unwrap();
        assert_eq!(wav.samples, [0, 32124]);
        let alaw = riff(&[(b"fmt ", fmt(6, 1, 8000, 8000, 1, 8)), (b"data", vec![0xD5])]);
        assert_eq!(parse_wav(&alaw, LIMIT).unwrap().samples, [8]);
    }

    #[test]
    fn writer_patches_sizes_at_its_start_offset_and_ends_after_the_file() {
        let mut cur = Cursor::new(b"prefix".to_vec());
        cur.set_position(6);
        let mut w = WavWriter::new(cur, WavFormat { encoding: Encoding::Pcm16, channels: 2, sample_rate: 8000 }).unwrap();
        w.write_samples(&[1, 2, 3, 4]).unwrap();
        assert_eq!(w.write_samples(&[5]), Err(WavError::PartialFrame { len: 1, multiple: 2 }));
        assert_eq!(w.write_encoded(&[0, 0]), Err(WavError::PartialFrame { len: 2, multiple: 4 }));
        assert_eq!(w.data_len(), 8);
        let mut cur = w.finish().unwrap();
        assert_eq!(cur.position(), 6 + 44 + 8);
        cur.write_all(b"!").unwrap();
        let all = cur.into_inner();
        assert_eq!(&all[..6], b"prefix");
        assert_eq!(parse_wav(&all[6..all.len() - 1], LIMIT).unwrap().samples, [1, 2, 3, 4]);
        // Absurd formats are refused before anything is written.
        let bad = WavFormat { encoding: Encoding::Pcm16, channels: 3, sample_rate: 8000 };
        assert_eq!(WavWriter::new(Cursor::new(Vec::new()), bad).unwrap_err(), WavError::Channels(3));
    }

    #[test]
    fn stereo_recording_keeps_both_directions_apart() {
        let caller: Vec<i16> = (0..320).map(|i| (i * 100) as i16).collect();
        let callee: Vec<i16> = (0..320).map(|i| -(i * 50) as i16).collect();
        for encoding in [Encoding::Pcm16, Encoding::Mulaw] {
            let format = WavFormat { encoding, channels: 2, sample_rate: TELEPHONY_RATE };
            let mut w = WavWriter::new(Cursor::new(Vec::new()), format).unwrap();
            w.write_stereo(&caller[..160], &callee[..160]).unwrap();
            w.write_stereo(&caller[160..], &callee[160..]).unwrap();
            assert_eq!(w.write_stereo(&caller[..2], &callee[..1]), Err(WavError::ChannelLengths { left: 2, right: 1 }));
            assert_eq!(w.frames(), 320);
            let wav = parse_wav(&w.finish().unwrap().into_inner(), LIMIT).unwrap();
            let left: Vec<i16> = wav.samples.iter().step_by(2).copied().collect();
            let right: Vec<i16> = wav.samples.iter().skip(1).step_by(2).copied().collect();
            let law = encoding.law();
            let through = |s: &[i16]| -> Vec<i16> { s.iter().map(|&x| law.map_or(x, |l| l.decode_sample(l.encode_sample(x)))).collect() };
            assert_eq!(left, through(&caller));
            assert_eq!(right, through(&callee));
        }
        let mut mono = WavWriter::new(Cursor::new(Vec::new()), WavFormat::telephony(Encoding::Pcm16)).unwrap();
        assert_eq!(mono.write_stereo(&[1], &[2]), Err(WavError::Channels(1)));
    }

    #[test]
    fn extensible_pcm_is_read_and_other_subformats_refused() {
        let data = le(&[100, -100]);
        let f = riff(&[(b"fmt ", extensible(SUBFORMAT_PCM, 16)), (b"data", data.clone())]);
        let wav = parse_wav(&f, LIMIT).unwrap();
        assert_eq!(wav.format, WavFormat { encoding: Encoding::Pcm16, channels: 1, sample_rate: 16000 });
        assert_eq!(wav.samples, [100, -100]);
        let mut float = SUBFORMAT_PCM;
        float[0] = 3; // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
        let f = riff(&[(b"fmt ", extensible(float, 16)), (b"data", data.clone())]);
        assert_eq!(parse_wav(&f, LIMIT), Err(WavError::UnsupportedSubformat));
        let f = riff(&[(b"fmt ", extensible(SUBFORMAT_PCM, 24)), (b"data", data.clone())]);
        assert_eq!(parse_wav(&f, LIMIT), Err(WavError::Bits { format: 0xFFFE, bits: 24 }));
        let short = extensible(SUBFORMAT_PCM, 16)[..30].to_vec();
        assert_eq!(parse_wav(&riff(&[(b"fmt ", short), (b"data", data)]), LIMIT), Err(WavError::FmtTooShort(30)));
    }

    #[test]
    fn odd_sized_unknown_chunks_are_skipped_with_their_pad() {
        let f = riff(&[
            (b"LIST", b"abc".to_vec()),
            (b"fmt ", pcm_fmt(1, 8000)),
            (b"junk", vec![9; 5]),
            (b"data", le(&[7, 8])),
            (b"cue ", vec![1]),
        ]);
        assert_eq!(parse_wav(&f, LIMIT).unwrap().samples, [7, 8]);
        // Without the pad byte after the odd chunk the layout no longer adds up.
        let mut nopad = riff(&[(b"fmt ", pcm_fmt(1, 8000)), (b"data", le(&[7])), (b"LIST", b"abc".to_vec())]);
        nopad.pop();
        let size = nopad.len() as u32 - 8;
        nopad[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(parse_wav(&nopad, LIMIT), Err(WavError::ChunkOverrun { id: *b"LIST", size: 3, left: 3 }));
    }

    #[test]
    fn wrong_and_contradicting_sizes_are_refused() {
        let good = riff(&[(b"fmt ", pcm_fmt(1, 8000)), (b"data", le(&[1, 2, 3]))]);
        let mut longer = good.clone();
        longer[4] += 1;
        assert_eq!(parse_wav(&longer, LIMIT), Err(WavError::RiffSize { declared: good.len() as u64 + 1, actual: good.len() }));
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0, 0]);
        assert!(matches!(parse_wav(&trailing, LIMIT), Err(WavError::RiffSize { .. })));
        // data says 8 bytes, 6 are there (the RIFF size agrees with the file).
        let mut overrun = good.clone();
        overrun[40] = 8;
        assert_eq!(parse_wav(&overrun, LIMIT), Err(WavError::ChunkOverrun { id: *b"data", size: 8, left: 6 }));
        // A chunk size near 4 GiB cannot overflow the arithmetic.
        let mut huge = good.clone();
        huge[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse_wav(&huge, LIMIT), Err(WavError::ChunkOverrun { .. })));
        let half = riff(&[(b"fmt ", pcm_fmt(2, 8000)), (b"data", le(&[1, 2, 3]))]);
        assert_eq!(parse_wav(&half, LIMIT), Err(WavError::PartialFrame { len: 6, multiple: 4 }));
        let f = |fmt_body: Vec<u8>| parse_wav(&riff(&[(b"fmt ", fmt_body), (b"data", vec![])]), LIMIT);
        assert_eq!(f(fmt(1, 1, 8000, 16000, 4, 16)), Err(WavError::BlockAlign { declared: 4, expected: 2 }));
        assert_eq!(f(fmt(1, 1, 8000, 8000, 2, 16)), Err(WavError::ByteRate { declared: 8000, expected: 16000 }));
        assert_eq!(f(fmt(1, 1, 8000, 8000, 1, 8)), Err(WavError::Bits { format: 1, bits: 8 }));
        assert_eq!(f(fmt(7, 1, 8000, 16000, 2, 16)), Err(WavError::Bits { format: 7, bits: 16 }));
        assert_eq!(f(fmt(1, 0, 8000, 0, 0, 16)), Err(WavError::Channels(0)));
        assert_eq!(f(fmt(1, 6, 8000, 96000, 12, 16)), Err(WavError::Channels(6)));
        assert_eq!(f(fmt(1, 1, 0, 0, 2, 16)), Err(WavError::Rate(0)));
        assert_eq!(f(fmt(1, 1, u32::MAX, 0, 2, 16)), Err(WavError::Rate(u32::MAX)));
        assert_eq!(f(fmt(3, 1, 8000, 32000, 4, 32)), Err(WavError::UnsupportedFormat(3)));
        assert_eq!(f(pcm_fmt(1, 8000)[..14].to_vec()), Err(WavError::FmtTooShort(14)));
    }

    #[test]
    fn structure_errors_are_typed() {
        let data = (b"data", le(&[1]));
        let fmt1 = (b"fmt ", pcm_fmt(1, 8000));
        assert_eq!(parse_wav(&riff(std::slice::from_ref(&data)), LIMIT), Err(WavError::DataBeforeFmt));
        assert_eq!(parse_wav(&riff(std::slice::from_ref(&fmt1)), LIMIT), Err(WavError::MissingData));
        assert_eq!(parse_wav(&riff(&[(b"LIST", vec![])]), LIMIT), Err(WavError::MissingFmt));
        assert_eq!(parse_wav(&riff(&[fmt1.clone(), fmt1.clone(), data.clone()]), LIMIT), Err(WavError::DuplicateChunk(*b"fmt ")));
        assert_eq!(parse_wav(&riff(&[fmt1.clone(), data.clone(), data.clone()]), LIMIT), Err(WavError::DuplicateChunk(*b"data")));
        let good = riff(&[fmt1, data]);
        let mut rifx = good.clone();
        rifx[3] = b'X';
        assert_eq!(parse_wav(&rifx, LIMIT), Err(WavError::NotRiff));
        let mut avi = good.clone();
        avi[8..12].copy_from_slice(b"AVI ");
        assert_eq!(parse_wav(&avi, LIMIT), Err(WavError::NotWave));
        assert_eq!(parse_wav(&good, good.len() - 1), Err(WavError::TooLarge { len: good.len() as u64, limit: good.len() as u64 - 1 }));
        assert!(parse_wav(&good, good.len()).is_ok());
        assert!(WavError::RiffSize { declared: 9, actual: 8 }.to_string().contains("says 9"));
        assert_eq!(
            WavError::ChunkOverrun { id: *b"data", size: 8, left: 6 }.to_string(),
            "chunk \"data\" of 8 bytes runs past the end (6 left)"
        );
    }

    #[test]
    fn read_wav_stops_at_the_limit() {
        let good = write(WavFormat::telephony(Encoding::Pcm16), &[&[5; 1000]]);
        assert_eq!(read_wav(Cursor::new(&good), LIMIT).unwrap().samples.len(), 1000);
        // A reader that never ends is cut off after limit + 1 bytes.
        let endless = io::repeat(0);
        assert_eq!(read_wav(endless, 4096), Err(WavError::TooLarge { len: 4097, limit: 4096 }));
        // No limit at all must not overflow the reader's cap.
        assert!(read_wav(Cursor::new(&good), usize::MAX).is_ok());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let files = [
            write(WavFormat::telephony(Encoding::Pcm16), &[&[1, 2, 3]]),
            write(WavFormat::telephony(Encoding::Alaw), &[&[1, 2, 3]]),
            riff(&[(b"LIST", b"abc".to_vec()), (b"fmt ", extensible(SUBFORMAT_PCM, 16)), (b"data", le(&[4]))]),
        ];
        for f in &files {
            assert!(parse_wav(f, LIMIT).is_ok());
            for n in 0..f.len() {
                assert!(parse_wav(&f[..n], LIMIT).is_err(), "prefix of {n} bytes parsed");
                // Even with the RIFF size fixed up to match, a cut file fails.
                if n >= 8 {
                    let mut cut = f[..n].to_vec();
                    cut[4..8].copy_from_slice(&(n as u32 - 8).to_le_bytes());
                    assert!(parse_wav(&cut, LIMIT).is_err(), "fixed-up prefix of {n} bytes parsed");
                }
            }
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let good = riff(&[(b"LIST", b"abc".to_vec()), (b"fmt ", pcm_fmt(2, 8000)), (b"data", le(&[1, 2, 3, 4]))]);
        let mut ok = 0;
        for round in 0..4000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (rng.next() % 80) as usize;
                let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                // Half of these get a valid RIFF/WAVE start so the chunk walk runs.
                if len >= 12 && round % 4 == 0 {
                    b[..4].copy_from_slice(b"RIFF");
                    b[4..8].copy_from_slice(&(len as u32 - 8).to_le_bytes());
                    b[8..12].copy_from_slice(b"WAVE");
                }
                b
            } else {
                let mut b = good.clone();
                for _ in 0..1 + rng.next() % 3 {
                    let at = (rng.next() as usize) % b.len();
                    b[at] = rng.next() as u8;
                }
                b
            };
            if parse_wav(&bytes, LIMIT).is_ok() {
                ok += 1;
            }
        }
        // Mutations of sample bytes still parse: the walk is exercised on both sides.
        assert!(ok > 0);
    }

    #[test]
    fn linear_resampler_values_and_lengths() {
        assert_eq!(resample_linear(&[1, 2, 3], 8000, 8000).unwrap(), [1, 2, 3]);
        assert_eq!(resample_linear(&[0, 100, 200], 8000, 16000).unwrap(), [0, 50, 100, 150, 200, 200]);
        assert_eq!(resample_linear(&[0, 1, 2, 3, 4, 5], 16000, 8000).unwrap(), [0, 2, 4]);
        assert_eq!(resample_linear(&[i16::MIN, i16::MAX], 8000, 32000).unwrap(), [-32768, -16385, -1, 16383, 32767, 32767, 32767, 32767]);
        assert_eq!(resample_linear(&vec![0; 48000], 48000, 8000).unwrap().len(), 8000);
        assert_eq!(resample_linear(&vec![0; 44100], 44100, 8000).unwrap().len(), 8000);
        assert!(resample_linear(&[], 8000, 44100).unwrap().is_empty());
        assert_eq!(resample_linear(&[1], 0, 8000), Err(WavError::Rate(0)));
        assert_eq!(resample_linear(&[1], 8000, 10_000_000), Err(WavError::Rate(10_000_000)));
    }

    #[test]
    fn resampled_tone_keeps_its_frequency() {
        // A 1 kHz tone at 48 kHz is still 1 kHz at 8 kHz: it matches a
        // 1 kHz tone generated at 8 kHz almost exactly.
        let tone = |rate: f64, n: usize| -> Vec<i16> {
            (0..n).map(|i| ((i as f64 / rate * 1000.0 * std::f64::consts::TAU).sin() * 10000.0) as i16).collect()
        };
        let down = resample_linear(&tone(48000.0, 4800), 48000, 8000).unwrap();
        let want = tone(8000.0, 800);
        assert_eq!(down.len(), 800);
        let worst = down.iter().zip(want.iter()).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).max().unwrap();
        assert!(worst <= 1, "worst {worst}");
        // Up to 16 kHz: every other sample is the original.
        let up = resample_linear(&want, 8000, 16000).unwrap();
        assert!(up.iter().step_by(2).eq(want.iter()));
    }

    #[test]
    fn hand_built_absurd_formats_do_not_overflow() {
        let absurd = WavFormat { encoding: Encoding::Pcm16, channels: u16::MAX, sample_rate: u32::MAX };
        assert_eq!(absurd.block_align(), u16::MAX);
        assert_eq!(absurd.byte_rate(), u32::MAX);
        let silent = Wav { format: WavFormat { encoding: Encoding::Alaw, channels: 0, sample_rate: 0 }, samples: vec![1, 2] };
        assert_eq!(silent.frames(), 2);
        assert_eq!(silent.duration_ms(), 0);
        assert_eq!(silent.to_mono_8k(), Err(WavError::Rate(0)));
    }

    #[test]
    fn stereo_downmix_averages_without_wrapping() {
        assert_eq!(downmix_stereo(&[100, 300, -5, 5, i16::MAX, i16::MAX, i16::MIN, i16::MIN, 9]), [200, 0, i16::MAX, i16::MIN]);
        let stereo = Wav {
            format: WavFormat { encoding: Encoding::Pcm16, channels: 2, sample_rate: 16000 },
            samples: [[1000i16, 3000]; 4].concat(),
        };
        assert_eq!(stereo.to_mono(), [2000; 4]);
        assert_eq!(stereo.to_mono_8k().unwrap(), [2000; 2]);
    }
}
