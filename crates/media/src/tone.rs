//! Call-progress and signalling tones, generated sample-exact as 16-bit
//! linear PCM: the beep before a voicemail, ringback and busy, DTMF keys
//! (ITU-T Q.23), conference entry and exit, and a synthesized music on
//! hold that needs no licensed recording.
//!
//! A [`TonePlan`] is a list of [`Segment`]s (one or two sines, on and off
//! times, a repeat count); a [`ToneGenerator`] plays it 20 ms at a time.
//! Each sample is computed from its index in the burst, so the phase is
//! continuous across frames and never drifts, however long the tone.

use std::f64::consts::PI;
use std::fmt;

use crate::dtmf::{digit_event, DtmfError};

/// Narrowband telephony's sample rate, that of G.711.
pub const SAMPLE_RATE: u32 = 8000;

/// Peak of a 0 dBm0 sine in 16-bit linear PCM: G.711's full-scale sine is
/// +3.17 dBm0 (G.711 table 5, μ-law), so 0 dBm0 is 3.17 dB below it.
pub const DBM0_AMPLITUDE: f64 = 32767.0 * 0.694_224_6;

/// Low (row) group of Q.23 DTMF frequencies, in Hz.
pub const DTMF_ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High (column) group of Q.23 DTMF frequencies, in Hz.
pub const DTMF_COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Keypad (row, column) of each DTMF event code 0-15 (`0-9 * # A-D`, the
/// order of [`crate::dtmf::event_digit`]), on the Q.23 4x4 keypad.
const KEYPAD: [(usize, usize); 16] = [
    (3, 1), // 0
    (0, 0), // 1
    (0, 1), // 2
    (0, 2), // 3
    (1, 0), // 4
    (1, 1), // 5
    (1, 2), // 6
    (2, 0), // 7
    (2, 1), // 8
    (2, 2), // 9
    (3, 0), // *
    (3, 2), // #
    (0, 3), // A
    (1, 3), // B
    (2, 3), // C
    (3, 3), // D
];

/// Lowest sample rate accepted: below narrowband there is no telephony.
pub const MIN_RATE: u32 = 8000;

/// Highest sample rate accepted: past wideband audio's 48 kHz nobody sends.
pub const MAX_RATE: u32 = 192_000;

/// Longest on or off time of one segment: an hour is past any real tone.
pub const MAX_SEGMENT_MS: u32 = 3_600_000;

/// Why a tone plan was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ToneError {
    /// A sample rate outside [`MIN_RATE`]..=[`MAX_RATE`].
    BadRate(u32),
    /// A frequency that is not finite, not positive, or not below Nyquist.
    BadFrequency(f64),
    /// A level that is not finite.
    BadLevel(f64),
    /// The sines of a segment add up past full scale (peak given).
    Clipping(f64),
    /// A segment with no sine, or more than two.
    BadToneCount(usize),
    /// An on or off time over [`MAX_SEGMENT_MS`], or a segment of zero length.
    BadDuration(u32),
    /// A repeat count of zero.
    BadRepeat,
    /// A ramp longer than half the on time.
    BadRamp(u32),
    /// A plan with no segment.
    EmptyPlan,
    /// A DTMF key that is not `0-9 * # A-D`.
    Digit(DtmfError),
}

impl fmt::Display for ToneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRate(r) => write!(f, "sample rate {r} Hz is not between {MIN_RATE} and {MAX_RATE}"),
            Self::BadFrequency(x) => write!(f, "frequency {x} Hz is not between 0 and Nyquist"),
            Self::BadLevel(l) => write!(f, "level {l} is not a number"),
            Self::Clipping(p) => write!(f, "tones add up to a peak of {p:.0}, past full scale"),
            Self::BadToneCount(n) => write!(f, "a segment has {n} tones, not one or two"),
            Self::BadDuration(d) => write!(f, "duration {d} ms is over {MAX_SEGMENT_MS} or the segment is empty"),
            Self::BadRepeat => f.write_str("repeat count is zero"),
            Self::BadRamp(r) => write!(f, "ramp of {r} ms is longer than half the on time"),
            Self::EmptyPlan => f.write_str("tone plan has no segment"),
            Self::Digit(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ToneError {}

impl From<DtmfError> for ToneError {
    fn from(e: DtmfError) -> Self {
        Self::Digit(e)
    }
}

/// The level of one sine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// Relative to the G.711 digital milliwatt (telephony's unit).
    Dbm0(f64),
    /// Peak relative to 16-bit full scale.
    Dbfs(f64),
}

impl Level {
    /// The sine's peak in 16-bit linear units.
    pub fn amplitude(self) -> Result<f64, ToneError> {
        let (db, reference) = match self {
            Self::Dbm0(db) => (db, DBM0_AMPLITUDE),
            Self::Dbfs(db) => (db, 32767.0),
        };
        if !db.is_finite() {
            return Err(ToneError::BadLevel(db));
        }
        Ok(reference * 10f64.powf(db / 20.0))
    }
}

/// One sine of a segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Frequency in Hz.
    pub freq: f64,
    /// Its level.
    pub level: Level,
}

/// A cadence step: `repeat` times, the tones for `on_ms` then silence for
/// `off_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// One or two sines, summed.
    pub tones: Vec<Tone>,
    /// Time the tones sound, in ms.
    pub on_ms: u32,
    /// Silence after them, in ms.
    pub off_ms: u32,
    /// How many on/off cycles; at least one.
    pub repeat: u32,
    /// Raised-cosine fade in and out at each burst's edges, in ms, so a
    /// note starts and stops without a click; 0 for the abrupt edges
    /// signalling tones have.
    pub ramp_ms: u32,
}

impl Segment {
    /// `tones` for `on_ms`, then `off_ms` of silence, once, hard edges.
    pub fn new(tones: &[(f64, Level)], on_ms: u32, off_ms: u32) -> Self {
        Self { tones: tones.iter().map(|&(freq, level)| Tone { freq, level }).collect(), on_ms, off_ms, repeat: 1, ramp_ms: 0 }
    }

    /// The same segment, `repeat` times.
    pub fn times(mut self, repeat: u32) -> Self {
        self.repeat = repeat;
        self
    }

    /// The same segment with soft edges of `ramp_ms`.
    pub fn ramp(mut self, ramp_ms: u32) -> Self {
        self.ramp_ms = ramp_ms;
        self
    }
}

/// A tone to play: segments in order, once or looping until the caller
/// stops asking for frames.
#[derive(Debug, Clone, PartialEq)]
pub struct TonePlan {
    /// The steps, played in order.
    pub segments: Vec<Segment>,
    /// Start again after the last segment (ringback, music on hold).
    pub looping: bool,
}

/// The Q.23 (row, column) frequencies of a DTMF key, `a-d` accepted.
pub fn dtmf_frequencies(digit: char) -> Result<(f64, f64), ToneError> {
    let (row, col) = KEYPAD[usize::from(digit_event(digit)?)];
    Ok((DTMF_ROWS[row], DTMF_COLS[col]))
}

/// The key at a keypad row and column (0-3 each), if both are in range.
pub fn dtmf_digit(row: usize, col: usize) -> Option<char> {
    let code = KEYPAD.iter().position(|&p| p == (row, col))?;
    crate::dtmf::event_digit(code as u8).ok()
}

/// Frequencies of the equal-tempered notes the hold music plays (A4 = 440).
fn note(semitones_from_a4: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(semitones_from_a4) / 12.0)
}

impl TonePlan {
    /// A plan playing `segments` once.
    pub fn once(segments: Vec<Segment>) -> Self {
        Self { segments, looping: false }
    }

    /// A plan repeating `segments` until stopped.
    pub fn looping(segments: Vec<Segment>) -> Self {
        Self { segments, looping: true }
    }

    /// The beep before a voicemail recording: 1 kHz for 250 ms at -10 dBm0.
    pub fn beep() -> Self {
        Self::once(vec![Segment::new(&[(1000.0, Level::Dbm0(-10.0))], 250, 0)])
    }

    /// European ringback (ETSI TR 101 041 / CEPT): 425 Hz, 1 s on, 4 s off.
    pub fn ringback_europe() -> Self {
        Self::looping(vec![Segment::new(&[(425.0, Level::Dbm0(-13.0))], 1000, 4000)])
    }

    /// North American ringback: 440 + 480 Hz at -19 dBm0 each, 2 s on, 4 s off.
    pub fn ringback_north_america() -> Self {
        Self::looping(vec![Segment::new(&[(440.0, Level::Dbm0(-19.0)), (480.0, Level::Dbm0(-19.0))], 2000, 4000)])
    }

    /// European busy: 425 Hz, 500 ms on, 500 ms off.
    pub fn busy_europe() -> Self {
        Self::looping(vec![Segment::new(&[(425.0, Level::Dbm0(-13.0))], 500, 500)])
    }

    /// North American busy: 480 + 620 Hz at -24 dBm0 each, 500 ms on, 500 ms off.
    pub fn busy_north_america() -> Self {
        Self::looping(vec![Segment::new(&[(480.0, Level::Dbm0(-24.0)), (620.0, Level::Dbm0(-24.0))], 500, 500)])
    }

    /// One DTMF key: its row and column tones for `on_ms`, then `off_ms`
    /// of silence; the column 2 dB above the row, the usual pre-emphasis
    /// that offsets the line's high-frequency loss.
    pub fn dtmf(digit: char, on_ms: u32, off_ms: u32) -> Result<Self, ToneError> {
        Self::dtmf_levels(digit, Level::Dbm0(-8.0), Level::Dbm0(-6.0), on_ms, off_ms)
    }

    /// One DTMF key with each group's level given.
    pub fn dtmf_levels(digit: char, row: Level, col: Level, on_ms: u32, off_ms: u32) -> Result<Self, ToneError> {
        let (low, high) = dtmf_frequencies(digit)?;
        Ok(Self::once(vec![Segment::new(&[(low, row), (high, col)], on_ms, off_ms)]))
    }

    /// A string of DTMF keys, each `on_ms` then `off_ms` (dialling a number
    /// into a trunk that takes no RFC 4733).
    pub fn dtmf_sequence(digits: &str, on_ms: u32, off_ms: u32) -> Result<Self, ToneError> {
        let mut segments = Vec::new();
        for d in digits.chars() {
            segments.extend(Self::dtmf(d, on_ms, off_ms)?.segments);
        }
        Ok(Self::once(segments))
    }

    /// A participant joined a conference: two rising soft notes.
    pub fn conference_entry() -> Self {
        let l = Level::Dbm0(-16.0);
        Self::once(vec![Segment::new(&[(note(-2), l)], 120, 20).ramp(10), Segment::new(&[(note(5), l)], 180, 0).ramp(15)])
    }

    /// A participant left a conference: the entry notes falling.
    pub fn conference_exit() -> Self {
        let l = Level::Dbm0(-16.0);
        Self::once(vec![Segment::new(&[(note(5), l)], 120, 20).ramp(10), Segment::new(&[(note(-2), l)], 180, 0).ramp(15)])
    }

    /// Synthesized music on hold, ours to play royalty-free: a slow
    /// arpeggio over C, A minor, F and G major, each note a soft sine with
    /// its octave above, faded in and out so no edge clicks. Its notes lie
    /// below the DTMF row group, so a detector never hears a key in it.
    pub fn music_on_hold() -> Self {
        // Semitones from A4: C4 = -9, E4 = -5, G4 = -2, A3 = -12, F3 = -16, G3 = -14, B3 = -10, D4 = -7.
        let chords: [[i32; 3]; 4] = [[-9, -5, -2], [-12, -9, -5], [-16, -12, -9], [-14, -10, -7]];
        let mut segments = Vec::new();
        for chord in chords {
            for &n in chord.iter().chain(std::iter::once(&chord[1])) {
                let tones = [(note(n), Level::Dbm0(-20.0)), (note(n + 12), Level::Dbm0(-30.0))];
                segments.push(Segment::new(&tones, 340, 60).ramp(60));
            }
        }
        Self::looping(segments)
    }
}

/// A segment checked and turned into samples at one rate.
#[derive(Debug, Clone)]
struct Compiled {
    /// (phase step in cycles per sample, peak amplitude) of each sine.
    tones: Vec<(f64, f64)>,
    on: u64,
    off: u64,
    repeat: u32,
    ramp: u64,
}

/// ms to samples at `rate`, rounded to the nearest sample.
fn samples(ms: u32, rate: u32) -> u64 {
    (u64::from(ms) * u64::from(rate) + 500) / 1000
}

fn compile(seg: &Segment, rate: u32) -> Result<Compiled, ToneError> {
    if seg.tones.is_empty() || seg.tones.len() > 2 {
        return Err(ToneError::BadToneCount(seg.tones.len()));
    }
    for d in [seg.on_ms, seg.off_ms] {
        if d > MAX_SEGMENT_MS {
            return Err(ToneError::BadDuration(d));
        }
    }
    if seg.on_ms == 0 && seg.off_ms == 0 {
        return Err(ToneError::BadDuration(0));
    }
    if seg.repeat == 0 {
        return Err(ToneError::BadRepeat);
    }
    if u64::from(seg.ramp_ms) * 2 > u64::from(seg.on_ms) {
        return Err(ToneError::BadRamp(seg.ramp_ms));
    }
    let nyquist = f64::from(rate) / 2.0;
    let mut tones = Vec::new();
    for t in &seg.tones {
        if !(t.freq.is_finite() && t.freq > 0.0 && t.freq < nyquist) {
            return Err(ToneError::BadFrequency(t.freq));
        }
        tones.push((t.freq / f64::from(rate), t.level.amplitude()?));
    }
    let peak: f64 = tones.iter().map(|t| t.1).sum();
    if peak > 32767.0 {
        return Err(ToneError::Clipping(peak));
    }
    Ok(Compiled {
        tones,
        on: samples(seg.on_ms, rate),
        off: samples(seg.off_ms, rate),
        repeat: seg.repeat,
        ramp: samples(seg.ramp_ms, rate),
    })
}

/// Plays a [`TonePlan`] frame by frame.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    segments: Vec<Compiled>,
    looping: bool,
    rate: u32,
    /// Segment playing now; `segments.len()` once a one-shot plan is done.
    segment: usize,
    /// Cycle of that segment.
    cycle: u32,
    /// Sample within that cycle's on+off period.
    pos: u64,
}

impl ToneGenerator {
    /// A generator of `plan` at 8 kHz.
    pub fn new(plan: &TonePlan) -> Result<Self, ToneError> {
        Self::with_rate(plan, SAMPLE_RATE)
    }

    /// A generator of `plan` at any rate from [`MIN_RATE`] to [`MAX_RATE`].
    pub fn with_rate(plan: &TonePlan, rate: u32) -> Result<Self, ToneError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(ToneError::BadRate(rate));
        }
        if plan.segments.is_empty() {
            return Err(ToneError::EmptyPlan);
        }
        let segments = plan.segments.iter().map(|s| compile(s, rate)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { segments, looping: plan.looping, rate, segment: 0, cycle: 0, pos: 0 })
    }

    /// Samples in one 20 ms frame at this rate (160 at 8 kHz).
    pub fn frame_samples(&self) -> usize {
        (self.rate / 50) as usize
    }

    /// The plan has played out (never, for a looping plan).
    pub fn is_done(&self) -> bool {
        self.segment >= self.segments.len()
    }

    /// Total samples of one pass through the plan (saturating: a plan of
    /// many hour-long segments repeated billions of times is past counting).
    pub fn plan_samples(&self) -> u64 {
        self.segments.iter().fold(0u64, |n, s| n.saturating_add((s.on + s.off).saturating_mul(u64::from(s.repeat))))
    }

    /// The next 20 ms frame, silence-padded at the plan's end; `None` once
    /// a one-shot plan has played out.
    pub fn next_frame(&mut self) -> Option<Vec<i16>> {
        if self.is_done() {
            return None;
        }
        let mut frame = vec![0; self.frame_samples()];
        self.fill(&mut frame);
        Some(frame)
    }

    /// Writes the next samples into `out` and returns how many were
    /// written: fewer than `out.len()` only when a one-shot plan ends.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let mut written = 0;
        while written < out.len() && !self.is_done() {
            let seg = &self.segments[self.segment];
            let period = seg.on + seg.off;
            let n = ((period - self.pos) as usize).min(out.len() - written);
            for (i, sample) in out[written..written + n].iter_mut().enumerate() {
                *sample = seg.sample(self.pos + i as u64);
            }
            written += n;
            self.pos += n as u64;
            if self.pos == period {
                self.advance();
            }
        }
        written
    }

    fn advance(&mut self) {
        self.pos = 0;
        self.cycle += 1;
        if self.cycle < self.segments[self.segment].repeat {
            return;
        }
        self.cycle = 0;
        self.segment += 1;
        if self.segment == self.segments.len() && self.looping {
            self.segment = 0;
        }
    }
}

impl Compiled {
    /// Sample `n` of a cycle: the sines from the burst's own index, so the
    /// phase follows the sample clock exactly.
    fn sample(&self, n: u64) -> i16 {
        if n >= self.on {
            return 0;
        }
        let mut v: f64 = self.tones.iter().map(|&(step, amp)| amp * (2.0 * PI * (step * n as f64).fract()).sin()).sum();
        let from_edge = n.min(self.on - 1 - n);
        if from_edge < self.ramp {
            v *= 0.5 - 0.5 * (PI * (from_edge as f64 + 0.5) / self.ramp as f64).cos();
        }
        v.round().clamp(-32768.0, 32767.0) as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    /// Every sample of a one-shot plan.
    fn render(plan: &TonePlan) -> Vec<i16> {
        let mut g = ToneGenerator::new(plan).unwrap();
        let mut out = vec![0; g.plan_samples() as usize];
        assert_eq!(g.fill(&mut out), out.len());
        out
    }

    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn levels_follow_g711_digital_milliwatt() {
        // 0 dBm0 is 3.17 dB under the full-scale sine.
        assert!(near(Level::Dbm0(0.0).amplitude().unwrap(), 22748.0, 1.0));
        assert!(near(Level::Dbm0(3.17).amplitude().unwrap(), 32767.0, 1.0));
        assert!(near(Level::Dbm0(-10.0).amplitude().unwrap(), 7193.6, 1.0));
        assert!(near(Level::Dbfs(-6.0206).amplitude().unwrap(), 16383.5, 1.0));
        assert!(near(Level::Dbfs(0.0).amplitude().unwrap(), 32767.0, 0.01));
        assert_eq!(Level::Dbm0(f64::NAN).amplitude().unwrap_err().to_string(), "level NaN is not a number");
    }

    #[test]
    fn beep_is_250_ms_of_1khz_then_done() {
        let mut g = ToneGenerator::new(&TonePlan::beep()).unwrap();
        assert_eq!(g.plan_samples(), 2000);
        let frames: Vec<Vec<i16>> = std::iter::from_fn(|| g.next_frame()).collect();
        // 2000 samples are 12.5 frames: the 13th is half tone, half padding.
        assert_eq!(frames.len(), 13);
        assert!(frames.iter().all(|f| f.len() == 160));
        let all: Vec<i16> = frames.concat();
        assert!(all[1920..2000].iter().any(|&s| s != 0));
        assert!(all[2000..].iter().all(|&s| s == 0));
        // 1 kHz at 8 kHz: eight samples a cycle, peak at the second.
        let peak = Level::Dbm0(-10.0).amplitude().unwrap().round() as i16;
        assert_eq!((all[0], all[2], all[4], all[6], all[8]), (0, peak, 0, -peak, 0));
        assert_eq!(all[1], (Level::Dbm0(-10.0).amplitude().unwrap() * 0.5f64.sqrt()).round() as i16);
        assert!(g.is_done() && g.next_frame().is_none());
    }

    #[test]
    fn phase_is_continuous_whatever_the_chunking() {
        let plan = TonePlan::ringback_north_america();
        let mut whole = ToneGenerator::new(&plan).unwrap();
        let mut expect = vec![0; 50_000];
        whole.fill(&mut expect);
        let mut frames = ToneGenerator::new(&plan).unwrap();
        let by_frames: Vec<i16> = (0..313).flat_map(|_| frames.next_frame().unwrap()).collect();
        assert_eq!(&by_frames[..50_000], &expect[..]);
        let mut odd = ToneGenerator::new(&plan).unwrap();
        let mut by_seven = Vec::new();
        while by_seven.len() < 50_000 {
            let mut chunk = [0; 7];
            assert_eq!(odd.fill(&mut chunk), 7);
            by_seven.extend_from_slice(&chunk);
        }
        assert_eq!(&by_seven[..50_000], &expect[..]);
    }

    #[test]
    fn ringback_cadence_is_sample_exact_and_loops() {
        let mut g = ToneGenerator::new(&TonePlan::ringback_europe()).unwrap();
        assert_eq!(g.plan_samples(), 40_000);
        let mut two = vec![0; 80_000];
        assert_eq!(g.fill(&mut two), 80_000);
        assert!(!g.is_done());
        assert!(two[..8000].iter().filter(|&&s| s != 0).count() > 7000);
        assert!(two[8000..40_000].iter().all(|&s| s == 0));
        assert_eq!(two[..40_000], two[40_000..]);
        // At 16 kHz the same cadence is twice the samples, 320 a frame.
        let wide = ToneGenerator::with_rate(&TonePlan::ringback_europe(), 16_000).unwrap();
        assert_eq!((wide.plan_samples(), wide.frame_samples()), (80_000, 320));
    }

    #[test]
    fn two_tones_stay_below_clipping() {
        for plan in [TonePlan::ringback_north_america(), TonePlan::busy_north_america(), TonePlan::dtmf('D', 100, 0).unwrap()] {
            let mut g = ToneGenerator::new(&plan).unwrap();
            let mut s = vec![0; 8000];
            g.fill(&mut s);
            let seg = &plan.segments[0];
            let bound: f64 = seg.tones.iter().map(|t| t.level.amplitude().unwrap()).sum();
            let max = s.iter().map(|&x| f64::from(x).abs()).fold(0.0, f64::max);
            assert!(max <= bound + 1.0 && max > bound * 0.9, "{max} vs {bound}");
        }
        let loud = TonePlan::once(vec![Segment::new(&[(440.0, Level::Dbm0(0.0)), (480.0, Level::Dbm0(0.0))], 100, 0)]);
        assert!(matches!(ToneGenerator::new(&loud), Err(ToneError::Clipping(p)) if p > 45_000.0));
        let ok = TonePlan::dtmf_levels('5', Level::Dbm0(-3.0), Level::Dbm0(-3.0), 100, 0).unwrap();
        assert!(ToneGenerator::new(&ok).is_ok());
    }

    #[test]
    fn dtmf_uses_q23_pairs_for_all_sixteen_keys() {
        assert_eq!(dtmf_frequencies('1').unwrap(), (697.0, 1209.0));
        assert_eq!(dtmf_frequencies('5').unwrap(), (770.0, 1336.0));
        assert_eq!(dtmf_frequencies('9').unwrap(), (852.0, 1477.0));
        assert_eq!(dtmf_frequencies('0').unwrap(), (941.0, 1336.0));
        assert_eq!(dtmf_frequencies('*').unwrap(), (941.0, 1209.0));
        assert_eq!(dtmf_frequencies('#').unwrap(), (941.0, 1477.0));
        assert_eq!(dtmf_frequencies('a').unwrap(), (697.0, 1633.0));
        assert_eq!(dtmf_frequencies('D').unwrap(), (941.0, 1633.0));
        assert_eq!(dtmf_frequencies('x'), Err(ToneError::Digit(DtmfError::UnknownDigit('x'))));
        let mut seen = Vec::new();
        for code in 0..16u8 {
            let d = crate::dtmf::event_digit(code).unwrap();
            let (lo, hi) = dtmf_frequencies(d).unwrap();
            let (r, c) = (DTMF_ROWS.iter().position(|&f| f == lo).unwrap(), DTMF_COLS.iter().position(|&f| f == hi).unwrap());
            assert_eq!(dtmf_digit(r, c), Some(d));
            seen.push((r, c));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 16);
        assert_eq!(dtmf_digit(4, 0), None);
        let seq = TonePlan::dtmf_sequence("12#", 60, 50).unwrap();
        assert_eq!(seq.segments.len(), 3);
        assert_eq!(ToneGenerator::new(&seq).unwrap().plan_samples(), 3 * 880);
    }

    /// The largest step between neighbouring samples around each burst's
    /// edges: a hard edge jumps by up to the peak, a soft one barely moves.
    fn edges_are_soft(plan: &TonePlan) {
        let s = render(&TonePlan::once(plan.segments.clone()));
        let mut at = 0usize;
        for seg in &plan.segments {
            let on = samples(seg.on_ms, SAMPLE_RATE) as usize;
            let off = samples(seg.off_ms, SAMPLE_RATE) as usize;
            assert!(s[at].abs() < 20 && s[at + on - 1].abs() < 20, "edge at {at}: {} {}", s[at], s[at + on - 1]);
            at += on + off;
        }
        assert_eq!(at, s.len());
    }

    #[test]
    fn music_on_hold_and_conference_tones_have_no_clicks() {
        for plan in [TonePlan::music_on_hold(), TonePlan::conference_entry(), TonePlan::conference_exit()] {
            edges_are_soft(&plan);
        }
        let moh = TonePlan::music_on_hold();
        assert!(moh.looping);
        assert_eq!(moh.segments.len(), 16);
        // The hold music is quiet: its peak is the two sines' sum.
        let s = render(&TonePlan::once(moh.segments.clone()));
        let max = s.iter().map(|x| x.unsigned_abs()).max().unwrap();
        let bound = Level::Dbm0(-20.0).amplitude().unwrap() + Level::Dbm0(-30.0).amplitude().unwrap();
        assert!(f64::from(max) <= bound + 1.0 && f64::from(max) > bound * 0.5);
        // A hard-edged signalling tone, by contrast, starts at once.
        let busy = render(&TonePlan::once(TonePlan::busy_europe().segments));
        assert!(busy[..4].iter().any(|x| x.abs() > 1000));
    }

    #[test]
    fn bad_plans_are_typed_errors() {
        let one = |s: Segment| ToneGenerator::new(&TonePlan::once(vec![s])).map(|_| ()).unwrap_err();
        let l = Level::Dbm0(-10.0);
        assert_eq!(ToneGenerator::with_rate(&TonePlan::beep(), 0).unwrap_err(), ToneError::BadRate(0));
        assert_eq!(ToneGenerator::with_rate(&TonePlan::beep(), 7999).unwrap_err(), ToneError::BadRate(7999));
        let huge = Segment::new(&[(400.0, l)], MAX_SEGMENT_MS, MAX_SEGMENT_MS).times(u32::MAX);
        assert_eq!(ToneGenerator::with_rate(&TonePlan::once(vec![huge; 8]), MAX_RATE).unwrap().plan_samples(), u64::MAX);
        assert_eq!(ToneGenerator::with_rate(&TonePlan::beep(), 200_000).unwrap_err(), ToneError::BadRate(200_000));
        assert_eq!(ToneGenerator::new(&TonePlan::once(vec![])).unwrap_err(), ToneError::EmptyPlan);
        assert_eq!(one(Segment::new(&[(4000.0, l)], 10, 0)), ToneError::BadFrequency(4000.0));
        assert_eq!(one(Segment::new(&[(-1.0, l)], 10, 0)), ToneError::BadFrequency(-1.0));
        assert!(matches!(one(Segment::new(&[(f64::NAN, l)], 10, 0)), ToneError::BadFrequency(_)));
        assert_eq!(one(Segment::new(&[], 10, 0)), ToneError::BadToneCount(0));
        assert_eq!(one(Segment::new(&[(400.0, l); 3], 10, 0)), ToneError::BadToneCount(3));
        assert_eq!(one(Segment::new(&[(400.0, l)], 0, 0)), ToneError::BadDuration(0));
        assert_eq!(one(Segment::new(&[(400.0, l)], MAX_SEGMENT_MS + 1, 0)), ToneError::BadDuration(MAX_SEGMENT_MS + 1));
        assert_eq!(one(Segment::new(&[(400.0, l)], 10, 0).times(0)), ToneError::BadRepeat);
        assert_eq!(one(Segment::new(&[(400.0, l)], 10, 0).ramp(6)), ToneError::BadRamp(6));
        // 4 kHz is fine once the rate allows it.
        let wide = TonePlan::once(vec![Segment::new(&[(4000.0, l)], 10, 0)]);
        assert!(ToneGenerator::with_rate(&wide, 16_000).is_ok());
        // Off-only segments are pauses.
        assert_eq!(render(&TonePlan::once(vec![Segment::new(&[(400.0, l)], 0, 5)])), vec![0; 40]);
    }

    #[test]
    fn repeat_plays_a_segment_n_times() {
        let plan = TonePlan::once(vec![Segment::new(&[(1000.0, Level::Dbfs(-6.0))], 10, 5).times(3)]);
        let s = render(&plan);
        assert_eq!(s.len(), 3 * 120);
        assert_eq!(s[..120], s[120..240]);
        assert!(s[80..120].iter().all(|&x| x == 0) && s[2] != 0);
    }

    /// A random float: any bit pattern (NaN, infinities, subnormals) half
    /// the time, else a plain value.
    fn any_f64(x: &mut u64) -> f64 {
        let bits = xorshift(x);
        if bits % 2 == 0 {
            f64::from_bits(xorshift(x))
        } else {
            (bits % 10_000) as f64 - 5000.0
        }
    }

    #[test]
    fn random_plans_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut built = 0;
        for _ in 0..3000 {
            let mut tones = Vec::new();
            for _ in 0..xorshift(&mut x) % 4 {
                let freq = if xorshift(&mut x) % 2 == 0 { (xorshift(&mut x) % 5000) as f64 } else { any_f64(&mut x) };
                let db = any_f64(&mut x) % 60.0;
                tones.push((freq, if xorshift(&mut x) % 2 == 0 { Level::Dbm0(db) } else { Level::Dbfs(db) }));
            }
            let (on, off) = ((xorshift(&mut x) % 200) as u32, (xorshift(&mut x) % 200) as u32);
            let seg = Segment::new(&tones, on, off).times((xorshift(&mut x) % 3) as u32).ramp((xorshift(&mut x) % 60) as u32);
            let rate = if x % 3 == 0 { SAMPLE_RATE } else { (xorshift(&mut x) % 50_000) as u32 };
            if let Ok(mut g) = ToneGenerator::with_rate(&TonePlan { segments: vec![seg], looping: x % 2 == 0 }, rate) {
                built += 1;
                for _ in 0..3 {
                    let _ = g.next_frame();
                }
            }
        }
        // The generator let some through, so the frames were really made.
        assert!(built > 50, "{built}");
    }
}
