//! The seeder's pseudo-random numbers: every draw of names, numbers and traffic comes from here, in a fixed order, so the same
//! seed gives the same data.

/// SplitMix64: tiny, fast, and good enough for demo data.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi`.
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    pub(super) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Appends `n` random decimal digits.
    pub(super) fn push_digits(&mut self, s: &mut String, mut n: usize) {
        while n > 0 {
            let mut x = self.next();
            for _ in 0..n.min(19) {
                s.push(char::from(b'0' + (x % 10) as u8));
                x /= 10;
                n -= 1;
            }
        }
    }

    /// Appends `n` random lower-case hex digits.
    pub(super) fn push_hex(&mut self, s: &mut String, mut n: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        while n > 0 {
            let mut x = self.next();
            for _ in 0..n.min(16) {
                s.push(char::from(HEX[(x & 0xf) as usize]));
                x >>= 4;
                n -= 1;
            }
        }
    }
}
