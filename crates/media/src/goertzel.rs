//! In-band DTMF detection: hears keys sent as audio by the phones and
//! trunks that do not send RFC 4733 events, so a voice menu works for
//! them too.
//!
//! The detector runs the Goertzel algorithm at the eight Q.23 frequencies
//! (each probed ±1.2% too, for senders off frequency) over 20 ms blocks of
//! 8 kHz linear PCM and accepts a block as a key only
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

/// Frequency error of a sender we still hear: Q.24 has receivers accept
/// ±1.5% (and refuse ±3.5%), wider than half a 50 Hz bin at the high
/// columns, so each tone is also probed this far either side.
pub const FREQ_TOLERANCE: f64 = 0.012;

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

/// Power near `freq`: the best of it and the two probes at the tolerance.
fn probed_power(block: &[f64], freq: f64) -> f64 {
    [1.0 - FREQ_TOLERANCE, 1.0, 1.0 + FREQ_TOLERANCE].map(|k| tone_power(block, freq * k)).into_iter().fold(0.0, f64::max)
}

/// The strongest of `freqs` in `block`: (index, power), if it dominates
/// the others of its group.
fn dominant(block: &[f64], freqs: &[f64; 4]) -> Option<(usize, f64)> {
    let powers = freqs.map(|f| probed_power(block, f));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::event_digit;
    use crate::g711::Law;
    use crate::testing::xorshift;
    use crate::tone::{Level, Segment, ToneGenerator, TonePlan};

    const DIGITS: &str = "0123456789*#ABCD";

    fn render(plan: &TonePlan, samples: usize) -> Vec<i16> {
        let mut g = ToneGenerator::new(plan).unwrap();
        let mut out = vec![0; samples];
        g.fill(&mut out);
        out
    }

    fn key(d: char, row_db: f64, col_db: f64, on_ms: u32) -> Vec<i16> {
        let plan = TonePlan::dtmf_levels(d, Level::Dbm0(row_db), Level::Dbm0(col_db), on_ms, 0).unwrap();
        render(&plan, on_ms as usize * 8)
    }

    /// Every event the detector gives for `audio` followed by 200 ms of
    /// silence, fed as 20 ms frames.
    fn detect(audio: &[i16]) -> Vec<DtmfOutput> {
        let mut det = DtmfDetector::new(0);
        let mut out = Vec::new();
        for frame in audio.chunks(160).chain(std::iter::repeat_n(&[0i16; 160][..], 10)) {
            out.extend(det.process(frame));
        }
        assert_eq!(det.flush(), None, "silence ended every key");
        out
    }

    fn ends(events: &[DtmfOutput]) -> Vec<DigitEvent> {
        events.iter().filter_map(|e| if let DtmfOutput::End(ev) = e { Some(*ev) } else { None }).collect()
    }

    fn digits(events: &[DtmfOutput]) -> String {
        ends(events).iter().map(|e| e.digit).collect()
    }

    fn silence(ms: usize) -> Vec<i16> {
        vec![0; ms * 8]
    }

    #[test]
    fn goertzel_measures_a_sine_s_squared_peak() {
        let s: Vec<f64> = (0..BLOCK).map(|n| 1000.0 * (2.0 * std::f64::consts::PI * 697.0 * n as f64 / 8000.0).sin()).collect();
        let p = tone_power(&s, 697.0);
        assert!((p.sqrt() - 1000.0).abs() < 10.0, "{}", p.sqrt());
        // The neighbour row hears it at least 13 dB down.
        assert!(tone_power(&s, 770.0) < p / 19.0);
        assert!(tone_power(&s, 1209.0) < p / 1000.0);
    }

    #[test]
    fn all_sixteen_keys_at_minus_3_to_minus_30_dbm0_are_heard_once() {
        for level in [-3.0, -10.0, -20.0, -30.0] {
            for d in DIGITS.chars() {
                let mut audio = silence(30);
                audio.extend(key(d, level, level, 100));
                audio.extend(silence(100));
                let events = detect(&audio);
                let got = ends(&events);
                assert_eq!(got.len(), 1, "{d} at {level} dBm0: {events:?}");
                assert_eq!(events[0], DtmfOutput::Begin { digit: d, start_ts: got[0].start_ts });
                // Heard from the first whole block in the tone (240) for 80 ms give or take a block.
                assert_eq!((got[0].digit, got[0].start_ts), (d, 320));
                assert!((640..=800).contains(&got[0].duration), "{:?}", got[0]);
            }
        }
    }

    #[test]
    fn a_dialled_string_with_50_ms_gaps_is_each_key_once() {
        for lead in [0, 17, 80, 159] {
            let mut audio = vec![0; lead];
            audio.extend(render(&TonePlan::dtmf_sequence("12#", 60, 50).unwrap(), 3 * 880));
            assert_eq!(digits(&detect(&audio)), "12#", "lead {lead}");
            let mut long = vec![0; lead];
            long.extend(render(&TonePlan::dtmf_sequence("5550123", 100, 50).unwrap(), 7 * 1200));
            assert_eq!(digits(&detect(&long)), "5550123", "lead {lead}");
        }
    }

    #[test]
    fn a_46_ms_key_is_heard_at_every_alignment() {
        for lead in 0..BLOCK {
            let mut audio = vec![0; lead];
            audio.extend(key('7', -10.0, -10.0, 46));
            assert_eq!(digits(&detect(&audio)), "7", "lead {lead}");
        }
    }

    #[test]
    fn a_20_ms_burst_is_no_key_at_any_alignment() {
        for d in DIGITS.chars() {
            for lead in (0..BLOCK).step_by(7) {
                let mut audio = vec![0; lead];
                audio.extend(key(d, -6.0, -6.0, 20));
                audio.extend(silence(60));
                audio.extend(key(d, -6.0, -6.0, 20));
                assert_eq!(detect(&audio), vec![], "{d} lead {lead}");
            }
        }
    }

    #[test]
    fn silence_beep_music_and_noise_are_no_key() {
        assert_eq!(detect(&silence(2000)), vec![]);
        assert_eq!(detect(&render(&TonePlan::beep(), 2000)), vec![]);
        let moh = TonePlan::music_on_hold();
        let pass = ToneGenerator::new(&moh).unwrap().plan_samples() as usize;
        assert_eq!(detect(&render(&moh, 2 * pass)), vec![]);
        for plan in [TonePlan::ringback_europe(), TonePlan::ringback_north_america(), TonePlan::busy_north_america()] {
            assert_eq!(detect(&render(&plan, 80_000)), vec![]);
        }
        for tone in [TonePlan::conference_entry(), TonePlan::conference_exit()] {
            assert_eq!(detect(&render(&tone, 4000)), vec![]);
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for amp in [100u64, 3000, 30_000] {
            let noise: Vec<i16> = (0..80_000)
                .map(|_| {
                    let x = xorshift(&mut x);
                    ((x % (2 * amp + 1)) as i64 - amp as i64) as i16
                })
                .collect();
            assert_eq!(detect(&noise), vec![], "noise of {amp}");
        }
    }

    #[test]
    fn mu_law_and_a_law_in_between_keep_every_key() {
        for law in [Law::Pcmu, Law::Pcma] {
            for level in [-6.0, -20.0, -30.0] {
                let mut audio = Vec::new();
                for d in DIGITS.chars() {
                    audio.extend(key(d, level, level + 2.0, 80));
                    audio.extend(silence(80));
                }
                let mut codes = Vec::new();
                law.encode(&audio, &mut codes);
                let mut decoded = Vec::new();
                law.decode(&codes, &mut decoded);
                assert_eq!(digits(&detect(&decoded)), DIGITS, "{law:?} at {level} dBm0");
            }
        }
    }

    #[test]
    fn keys_off_frequency_by_1_5_percent_are_heard_by_3_5_percent_are_not() {
        for code in 0..16 {
            let d = event_digit(code).unwrap();
            let (lo, hi) = crate::tone::dtmf_frequencies(d).unwrap();
            for (dev, heard) in [(1.015, true), (0.985, true), (1.035, false), (0.965, false)] {
                let l = Level::Dbm0(-10.0);
                let plan = TonePlan::once(vec![Segment::new(&[(lo * dev, l), (hi * dev, l)], 100, 0)]);
                let want = if heard { d.to_string() } else { String::new() };
                assert_eq!(digits(&detect(&render(&plan, 800))), want, "{d} at x{dev}");
            }
        }
    }

    #[test]
    fn twist_past_the_limits_is_refused() {
        // Normal twist (row louder): 6 dB passes, 10 dB does not.
        assert_eq!(digits(&detect(&key('5', -10.0, -16.0, 100))), "5");
        assert_eq!(detect(&key('5', -10.0, -20.0, 100)), vec![]);
        // Reverse twist (column louder): 3 dB passes, 6 and 10 dB do not.
        assert_eq!(digits(&detect(&key('5', -13.0, -10.0, 100))), "5");
        assert_eq!(detect(&key('5', -16.0, -10.0, 100)), vec![]);
        assert_eq!(detect(&key('5', -20.0, -10.0, 100)), vec![]);
    }

    #[test]
    fn too_quiet_or_one_tone_alone_is_no_key() {
        assert_eq!(detect(&key('8', -45.0, -45.0, 200)), vec![]);
        let row_only = TonePlan::once(vec![Segment::new(&[(852.0, Level::Dbm0(-10.0))], 200, 0)]);
        assert_eq!(detect(&render(&row_only, 1600)), vec![]);
        // Two rows at once is no key either.
        let two_rows = TonePlan::once(vec![Segment::new(&[(697.0, Level::Dbm0(-10.0)), (852.0, Level::Dbm0(-10.0))], 200, 0)]);
        assert_eq!(detect(&render(&two_rows, 1600)), vec![]);
        // Nor two rows with a column: no row dominates its group.
        let mut chord = render(&two_rows, 1600);
        let col = TonePlan::once(vec![Segment::new(&[(1336.0, Level::Dbm0(-10.0))], 200, 0)]);
        for (a, c) in chord.iter_mut().zip(render(&col, 1600)) {
            *a += c;
        }
        assert_eq!(detect(&chord), vec![]);
    }

    #[test]
    fn a_key_drowned_in_speech_like_energy_is_refused() {
        // A 300 Hz tone as loud as the key carries half the block's energy.
        let mut audio = key('3', -10.0, -10.0, 200);
        let hum = render(&TonePlan::once(vec![Segment::new(&[(300.0, Level::Dbm0(-7.0))], 200, 0)]), 1600);
        for (a, h) in audio.iter_mut().zip(hum) {
            *a = a.saturating_add(h);
        }
        assert_eq!(detect(&audio), vec![]);
    }

    #[test]
    fn one_lost_frame_does_not_split_a_key_but_two_do() {
        let mut audio = key('9', -10.0, -10.0, 200);
        audio[640..800].fill(0);
        assert_eq!(digits(&detect(&audio)), "9");
        let mut split = key('9', -10.0, -10.0, 200);
        split[640..960].fill(0);
        assert_eq!(digits(&detect(&split)), "99");
    }

    #[test]
    fn a_key_changing_without_a_gap_is_two_keys() {
        let mut audio = key('1', -10.0, -10.0, 100);
        audio.extend(key('2', -10.0, -10.0, 100));
        let got = ends(&detect(&audio));
        assert_eq!(got.iter().map(|e| e.digit).collect::<String>(), "12");
        assert_eq!((got[0].start_ts, got[0].duration, got[1].start_ts), (0, 800, 800));
    }

    #[test]
    fn timestamps_wrap_at_2_pow_32_and_any_frame_size_works() {
        let start = u32::MAX - 479;
        let mut det = DtmfDetector::new(start);
        let audio = key('#', -10.0, -10.0, 120);
        let mut out = Vec::new();
        for chunk in audio.chunks(37) {
            out.extend(det.process(chunk));
        }
        assert_eq!(out, vec![DtmfOutput::Begin { digit: '#', start_ts: start }]);
        // Flushed while held: the six blocks of the 120 ms, across the wrap.
        assert_eq!(det.flush(), Some(DigitEvent { digit: '#', start_ts: start, duration: 960 }));
        assert_eq!(det.flush(), None);
        assert_eq!(det.block_ts, 480);
    }

    #[test]
    fn random_audio_never_panics_and_stays_bounded() {
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        let mut det = DtmfDetector::default();
        for _ in 0..3000 {
            xorshift(&mut x);
            let len = (x % 400) as usize;
            let frame: Vec<i16> = (0..len)
                .map(|i| {
                    let v = x.rotate_left(i as u32 % 64);
                    if v % 7 == 0 {
                        i16::MIN
                    } else {
                        v as i16
                    }
                })
                .collect();
            let _ = det.process(&frame);
            assert!(det.block.len() < BLOCK);
        }
        for code in 0..16 {
            let d = event_digit(code).unwrap();
            assert_eq!(digits(&detect(&key(d, -8.0, -6.0, 60))), d.to_string());
        }
    }
}
