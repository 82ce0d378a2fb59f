//! In-band DTMF detection: hears keys sent as audio by the phones and
//! trunks that do not send RFC 4733 events, so a voice menu works for
//! them too.
//!
//! The detector runs the Goertzel algorithm at the eight Q.23 frequencies
//! over 20 ms blocks of 8 kHz linear PCM and accepts a block as a key only
//! when one row and one column tone stand above a level floor, within the
//! twist limits, well above the other tones of their group, and carrying
//! most of the block's energy (speech and music spread theirs). A key must
//! hold for two consecutive blocks (40 ms) and ends after two blocks
//! without it, so one press is one key and a 20 ms burst is none. Events
//! are [`crate::dtmf`]'s, so the switch handles in-band and RFC 4733 keys
//! alike.

use crate::dtmf::{DigitEvent, DtmfOutput};
use crate::tone::{dtmf_digit, DBM0_AMPLITUDE, DTMF_COLS, DTMF_ROWS, SAMPLE_RATE};

/// Samples per analysis block: 20 ms at 8 kHz, a bin width of 50 Hz,
/// narrower than the 73 Hz between the closest DTMF frequencies.
pub const BLOCK: usize = 160;

/// Consecutive key blocks that make a press (40 ms, Q.24's shortest).
pub const MIN_BLOCKS: u32 = 2;

/// Consecutive blocks without the key that end a press: one lost or
/// concealed frame does not split a key in two.
pub const GAP_BLOCKS: u32 = 2;

/// Weakest tone accepted, in dBm0 per group.
pub const MIN_LEVEL_DBM0: f64 = -36.0;

/// Normal twist limit (row louder than column), in dB.
pub const NORMAL_TWIST_DB: f64 = 8.0;

/// Reverse twist limit (column louder than row), in dB.
pub const REVERSE_TWIST_DB: f64 = 4.0;

/// How far a row (column) tone must stand above every other row (column)
/// frequency, in dB.
pub const DOMINANCE_DB: f64 = 8.0;

/// Share of the block's energy the two tones must carry. Below 1 for
/// quantisation noise; well above a block only partly filled by a tone, so
/// two blocks of a 20 ms burst never both pass.
pub const MIN_ENERGY_SHARE: f64 = 0.65;

fn db_ratio(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// Goertzel power at `freq` over `block`, scaled to squared amplitude, so a
/// sine of peak `a` filling the block gives `a * a`.
fn tone_power(block: &[f64], freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(SAMPLE_RATE)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in block {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let n = block.len() as f64;
    4.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

/// The strongest of `freqs` in `block`: (index, power), if it dominates
/// the others of its group.
fn dominant(block: &[f64], freqs: &[f64; 4]) -> Option<(usize, f64)> {
    let powers = freqs.map(|f| tone_power(block, f));
    let (best, &p) = powers.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let others_ok = powers.iter().enumerate().all(|(i, &q)| i == best || q * db_ratio(DOMINANCE_DB) <= p);
    others_ok.then_some((best, p))
}

/// The key one block holds, if it passes every check.
fn classify(samples: &[i16]) -> Option<char> {
    let block: Vec<f64> = samples.iter().map(|&s| f64::from(s)).collect();
    let energy: f64 = block.iter().map(|x| x * x).sum();
    let floor = (DBM0_AMPLITUDE * 10f64.powf(MIN_LEVEL_DBM0 / 20.0)).powi(2);
    let (row, rp) = dominant(&block, &DTMF_ROWS)?;
    let (col, cp) = dominant(&block, &DTMF_COLS)?;
    let loud = rp >= floor && cp >= floor;
    let twist_ok = rp <= cp * db_ratio(NORMAL_TWIST_DB) && cp <= rp * db_ratio(REVERSE_TWIST_DB);
    // A sine of squared peak p over n samples carries p * n / 2 of energy.
    let share_ok = (rp + cp) * block.len() as f64 / 2.0 >= MIN_ENERGY_SHARE * energy;
    if loud && twist_ok && share_ok {
        dtmf_digit(row, col)
    } else {
        None
    }
}

/// The key being heard now.
#[derive(Debug, Clone, Copy)]
struct Press {
    digit: char,
    start_ts: u32,
    /// Timestamp just past its last block.
    end_ts: u32,
    /// Blocks without it since then.
    misses: u32,
}

/// Hears DTMF keys in one stream of 8 kHz linear PCM. Feed it audio in
/// any slice sizes (decoded G.711 frames, typically); it keeps at most one
/// block of samples, so its memory is constant.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    block: Vec<i16>,
    /// Sample clock (RTP units) of `block`'s first sample.
    block_ts: u32,
    /// The last run of blocks holding the same key: (key, start, blocks).
    run: Option<(char, u32, u32)>,
    press: Option<Press>,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new(0)
    }
}

impl DtmfDetector {
    /// A detector whose first sample is at RTP timestamp `start_ts`.
    pub fn new(start_ts: u32) -> Self {
        Self { block: Vec::with_capacity(BLOCK), block_ts: start_ts, run: None, press: None }
    }

    /// Takes the next samples and returns what they completed: a `Begin`
    /// when a key has held for [`MIN_BLOCKS`], an `End` once it is gone.
    pub fn process(&mut self, samples: &[i16]) -> Vec<DtmfOutput> {
        let mut out = Vec::new();
        for &s in samples {
            self.block.push(s);
            if self.block.len() == BLOCK {
                let hit = classify(&self.block);
                self.block.clear();
                self.on_block(hit, &mut out);
                self.block_ts = self.block_ts.wrapping_add(BLOCK as u32);
            }
        }
        out
    }

    /// Ends a key still held (the call is hanging up or the stream stops).
    pub fn flush(&mut self) -> Option<DigitEvent> {
        self.run = None;
        self.flush_press()
    }

    fn on_block(&mut self, hit: Option<char>, out: &mut Vec<DtmfOutput>) {
        let end_ts = self.block_ts.wrapping_add(BLOCK as u32);
        self.run = match (hit, self.run) {
            (Some(d), Some((r, start, n))) if r == d => Some((d, start, n + 1)),
            (Some(d), _) => Some((d, self.block_ts, 1)),
            (None, _) => None,
        };
        if let Some(p) = &mut self.press {
            if hit == Some(p.digit) {
                p.end_ts = end_ts;
                p.misses = 0;
                return;
            }
            p.misses += 1;
            if p.misses < GAP_BLOCKS {
                return;
            }
            if let Some(ev) = self.flush_press() {
                out.push(DtmfOutput::End(ev));
            }
        }
        if let Some((digit, start_ts, _)) = self.run.filter(|r| r.2 >= MIN_BLOCKS) {
            self.press = Some(Press { digit, start_ts, end_ts, misses: 0 });
            out.push(DtmfOutput::Begin { digit, start_ts });
        }
    }

    fn flush_press(&mut self) -> Option<DigitEvent> {
        self.press.take().map(|p| DigitEvent { digit: p.digit, start_ts: p.start_ts, duration: p.end_ts.wrapping_sub(p.start_ts) })
    }
}
