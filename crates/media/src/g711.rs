//! ITU-T G.711 companding: μ-law (PCMU, RTP payload type 0) and A-law
//! (PCMA, payload type 8) between 16-bit linear samples and one byte per
//! sample at 8 kHz.
//!
//! Every SIP phone and trunk speaks G.711, so this is the codec the switch
//! can always fall back to. Encoding follows the standard's segment
//! (chord/step) algorithm; decoding uses 256-entry tables computed by a
//! `const fn` from the same formulas, so no literal table is pasted in.

/// Samples (and, for G.711, bytes) in one 20 ms frame at 8 kHz: the usual
/// RTP packetisation (`a=ptime:20`).
pub const FRAME_SAMPLES: usize = 160;

/// The two G.711 laws, named as SDP names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Law {
    /// μ-law, used in North America and Japan; static payload type 0.
    Pcmu,
    /// A-law, used everywhere else; static payload type 8.
    Pcma,
}

impl Law {
    /// The static RTP payload type (RFC 3551 table 4).
    pub const fn payload_type(self) -> u8 {
        match self {
            Law::Pcmu => 0,
            Law::Pcma => 8,
        }
    }

    /// The law for a static payload type, if it is one of the two.
    pub const fn from_payload_type(pt: u8) -> Option<Law> {
        match pt {
            0 => Some(Law::Pcmu),
            8 => Some(Law::Pcma),
            _ => None,
        }
    }

    /// Encode one linear sample.
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Law::Pcmu => ulaw_encode(sample),
            Law::Pcma => alaw_encode(sample),
        }
    }

    /// Decode one code to a linear sample.
    pub fn decode_sample(self, code: u8) -> i16 {
        match self {
            Law::Pcmu => ulaw_decode(code),
            Law::Pcma => alaw_decode(code),
        }
    }

    /// Encode `samples`, appending one byte per sample to `out`.
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| self.encode_sample(s)));
    }

    /// Decode `codes`, appending one sample per byte to `out`.
    pub fn decode(self, codes: &[u8], out: &mut Vec<i16>) {
        out.extend(codes.iter().map(|&c| self.decode_sample(c)));
    }

    /// Encode one 20 ms frame (160 samples to the 160-byte RTP payload).
    pub fn encode_frame(self, samples: &[i16; FRAME_SAMPLES]) -> [u8; FRAME_SAMPLES] {
        samples.map(|s| self.encode_sample(s))
    }

    /// Decode one 20 ms frame (a 160-byte RTP payload to 160 samples).
    pub fn decode_frame(self, codes: &[u8; FRAME_SAMPLES]) -> [i16; FRAME_SAMPLES] {
        codes.map(|c| self.decode_sample(c))
    }
}

/// μ-law bias: shifts every magnitude up so the segment boundaries fall
/// on powers of two (G.711 table 2a, scaled to 16 bits).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude that still fits segment 7 once biased.
const ULAW_CLIP: i32 = 32635;

/// Encode a 16-bit linear sample to μ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // The segment is the position of the highest set bit above bit 7;
    // `biased` is at least 0x84, so `biased >> 7` is at least 1.
    let segment = 31 - ((biased >> 7) as u32).leading_zeros();
    let mantissa = (biased >> (segment + 3)) & 0x0F;
    // G.711 transmits μ-law codes inverted (more ones on the line).
    !(sign | ((segment as i32) << 4) | mantissa) as u8
}

/// Decode a μ-law code to a 16-bit linear sample.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

const fn ulaw_decode_formula(code: u8) -> i16 {
    let u = !code;
    let segment = (u >> 4) & 0x07;
    let mantissa = (u & 0x0F) as i32;
    // The decision value sits mid-step: (mantissa + 16.5) steps of
    // 2^(segment+3), minus the bias again.
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encode a 16-bit linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes.
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        // One's complement keeps -1 in the smallest step, as the standard.
        value = -value - 1;
        0x55
    };
    // Segment 0 and 1 share the step size; above that each doubles.
    let segment = if value < 0x20 {
        0
    } else {
        // value <= 0xFFF (4095), so the highest bit is at most 11.
        31 - (value as u32).leading_zeros() - 4
    };
    let mantissa = if segment < 2 { (value >> 1) & 0x0F } else { (value >> segment) & 0x0F };
    // G.711 inverts the even bits of A-law codes (the 0x55 pattern).
    ((segment as i32) << 4 | mantissa) as u8 ^ mask
}

/// Decode an A-law code to a 16-bit linear sample.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

const fn alaw_decode_formula(code: u8) -> i16 {
    let a = code ^ 0x55;
    let segment = ((a & 0x70) >> 4) as i32;
    let mut t = ((a & 0x0F) as i32) << 4;
    // Mid-step reconstruction: half a step (8, in 16-bit units) above the
    // decision level; segments above 0 add the implied leading one.
    t = match segment {
        0 => t + 8,
        1 => t + 0x108,
        _ => (t + 0x108) << (segment - 1),
    };
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn build_table(law: Law) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            Law::Pcmu => ulaw_decode_formula(i as u8),
            Law::Pcma => alaw_decode_formula(i as u8),
        };
        i += 1;
    }
    table
}

static ULAW_DECODE: [i16; 256] = build_table(Law::Pcmu);
static ALAW_DECODE: [i16; 256] = build_table(Law::Pcma);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_code_points() {
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0); // "negative zero"
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        // Segment 0, mantissa 14: (14*8 + 132) - 132 = 112.
        assert_eq!(ulaw_decode(0xF1), 112);
        // Segment 4, mantissa 0: (132 << 4) - 132 = 1980.
        assert_eq!(ulaw_decode(0xBF), 1980);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(-1), 0x7F);
    }

    #[test]
    fn alaw_known_code_points() {
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        // Segment 1, step 0 (0x10 ^ 0xD5 = 0xC5): 0x108 = 264.
        assert_eq!(alaw_decode(0xC5), 264);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn encode_of_decode_is_identity_on_every_code() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
            // μ-law 0x7F is negative zero: it decodes to 0, which encodes
            // as the positive zero 0xFF. Every other code round-trips.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(ulaw_encode(ulaw_decode(code)), expected, "μ-law {code:#04x}");
        }
    }

    #[test]
    fn decode_tables_are_monotonic_per_sign() {
        // Within each sign half, larger magnitude codes decode larger.
        let pos: Vec<i16> = (0..128u8).map(|c| ulaw_decode(!c & 0x7F | 0x80)).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
        let mut a: Vec<i16> = (0..=255u8).map(alaw_decode).collect();
        a.sort_unstable();
        a.dedup();
        assert_eq!(a.len(), 256, "A-law has no duplicate levels");
    }

    #[test]
    fn quantisation_error_is_bounded_per_segment() {
        for x in i16::MIN..=i16::MAX {
            let xi = i32::from(x);
            let code = ulaw_encode(x);
            let y = i32::from(ulaw_decode(code));
            let segment = (!code >> 4) & 0x07;
            if xi.abs() <= ULAW_CLIP {
                // Half a step of 2^(segment+3).
                assert!((y - xi).abs() <= 4 << segment, "μ-law {x}: {y}");
            } else {
                assert_eq!(y, 32124 * xi.signum(), "μ-law clip {x}");
            }
            let code = alaw_encode(x);
            let y = i32::from(alaw_decode(code));
            let segment = ((code ^ 0x55) >> 4) & 0x07;
            let half_step = if segment == 0 { 8 } else { 8 << (segment - 1) };
            assert!((y - xi).abs() <= half_step, "A-law {x}: {y} (segment {segment})");
        }
    }

    fn snr_db(law: Law, freq: f64, amplitude: f64) -> f64 {
        let samples: Vec<i16> = (0..8000)
            .map(|n| {
                let t = f64::from(n) / 8000.0;
                (amplitude * (2.0 * std::f64::consts::PI * freq * t + 0.3).sin()) as i16
            })
            .collect();
        let mut coded = Vec::new();
        law.encode(&samples, &mut coded);
        let mut decoded = Vec::new();
        law.decode(&coded, &mut decoded);
        let (mut signal, mut noise) = (0.0f64, 0.0f64);
        for (&s, &d) in samples.iter().zip(&decoded) {
            signal += f64::from(s).powi(2);
            noise += (f64::from(s) - f64::from(d)).powi(2);
        }
        10.0 * (signal / noise).log10()
    }

    #[test]
    fn sine_round_trip_snr_above_35_db() {
        // 1 kHz and the 1004 Hz test tone (which does not alias onto a few
        // repeated sample values), at -6 dBFS and -20 dBFS.
        for law in [Law::Pcmu, Law::Pcma] {
            for freq in [1000.0, 1004.0] {
                for amplitude in [16000.0, 3000.0] {
                    let snr = snr_db(law, freq, amplitude);
                    assert!(snr > 35.0, "{law:?} {freq} Hz amp {amplitude}: {snr:.1} dB");
                }
            }
        }
    }

    #[test]
    fn frames_and_payload_types() {
        let mut samples = [0i16; FRAME_SAMPLES];
        for (i, s) in samples.iter_mut().enumerate() {
            *s = (i as i16 - 80) * 300;
        }
        for law in [Law::Pcmu, Law::Pcma] {
            let frame = law.encode_frame(&samples);
            assert_eq!(frame.len(), 160);
            let back = law.decode_frame(&frame);
            let mut bytes = Vec::new();
            law.encode(&samples, &mut bytes);
            assert_eq!(&bytes[..], &frame[..]);
            for (a, b) in samples.iter().zip(back.iter()) {
                assert!((i32::from(*a) - i32::from(*b)).abs() <= 512);
            }
            assert_eq!(Law::from_payload_type(law.payload_type()), Some(law));
        }
        assert_eq!(Law::Pcmu.payload_type(), 0);
        assert_eq!(Law::Pcma.payload_type(), 8);
        assert_eq!(Law::from_payload_type(9), None);
    }
}
