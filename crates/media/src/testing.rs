//! What the media modules' tests share: a deterministic xorshift64
//! generator, so the no-panic tests over random packets, files and audio
//! are repeatable and need no crate.

/// Marsaglia's xorshift64 step: the next state, which is also the output.
pub(crate) fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A generator over `xorshift`; the seed must not be 0.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        xorshift(&mut self.0)
    }
}
