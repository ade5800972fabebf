//! Exact sums of f32 values: the dataset numbers do not depend on how the files were ordered
//! or partitioned.
//!
//! Every finite f32 is an integer multiple of `2^-149` (the smallest subnormal) below `2^128`,
//! so a sum of f32 values is an integer of at most 277 bits in that unit. [`ExactSum`] holds it
//! as a 384-bit two's-complement integer: adding a value or merging two sums is integer
//! addition, exact, and therefore commutative and associative bit for bit. The value is read
//! once, rounded to nearest (ties to even) into an f64. Headroom: `2^106` values of the
//! largest magnitude before the integer could overflow.
//!
//! Infinities and NaN are kept aside as flags and give what a plain sum gives once every value
//! is in: NaN if any value was NaN or both infinities occurred, else the infinity.

use serde::{Deserialize, Serialize};

/// 64-bit limbs of the fixed-point integer, least significant first.
const LIMBS: usize = 6;
/// The fixed point's unit is `2^UNIT_EXPONENT`.
const UNIT_EXPONENT: i32 = -149;

/// An exact, mergeable sum of f32 values (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ExactSum {
    /// The sum in units of `2^-149`, two's complement, least significant limb first.
    limbs: [u64; LIMBS],
    /// A NaN was added.
    nan: bool,
    /// `+inf` was added.
    positive_infinity: bool,
    /// `-inf` was added.
    negative_infinity: bool,
}

impl ExactSum {
    /// The empty sum.
    pub const ZERO: Self = Self {
        limbs: [0; LIMBS],
        nan: false,
        positive_infinity: false,
        negative_infinity: false,
    };

    /// The sum of `values`.
    pub fn of(values: impl IntoIterator<Item = f32>) -> Self {
        let mut s = Self::ZERO;
        for v in values {
            s.add(v);
        }
        s
    }

    /// Adds one value, exactly.
    pub fn add(&mut self, x: f32) {
        if x.is_nan() {
            self.nan = true;
        } else if x == f32::INFINITY {
            self.positive_infinity = true;
        } else if x == f32::NEG_INFINITY {
            self.negative_infinity = true;
        } else {
            let bits = x.to_bits();
            let biased = (bits >> 23) & 0xff;
            let fraction = bits & 0x7f_ffff;
            // |x| = significand · 2^(shift - 149); subnormals share the smallest exponent.
            let (significand, shift) = match biased {
                0 => (fraction, 0),
                _ => (fraction | 0x80_0000, biased - 1),
            };
            let wide = u128::from(significand) << (shift % 64);
            let mut term = [0u64; LIMBS];
            let at = (shift / 64) as usize;
            // `shift <= 253`, so `at <= 3` and the term's upper half fits in limb `at + 1`.
            term[at] = wide as u64;
            term[at + 1] = (wide >> 64) as u64;
            if bits >> 31 == 1 {
                term = negated(&term);
            }
            self.limbs = sum(&self.limbs, &term);
        }
    }

    /// Adds another sum: the same bits as adding its values one by one, in any order.
    pub fn merge(&mut self, other: &Self) {
        self.limbs = sum(&self.limbs, &other.limbs);
        self.nan |= other.nan;
        self.positive_infinity |= other.positive_infinity;
        self.negative_infinity |= other.negative_infinity;
    }

    /// The sum rounded to the nearest f64 (ties to even).
    pub fn value(&self) -> f64 {
        if self.nan || (self.positive_infinity && self.negative_infinity) {
            return f64::NAN;
        }
        if self.positive_infinity {
            return f64::INFINITY;
        }
        if self.negative_infinity {
            return f64::NEG_INFINITY;
        }
        let negative = self.limbs[LIMBS - 1] >> 63 == 1;
        let magnitude = if negative {
            negated(&self.limbs)
        } else {
            self.limbs
        };
        let Some(top) = magnitude.iter().rposition(|&l| l != 0) else {
            return 0.0;
        };
        // The highest set bit, then the 64 bits ending there with every lower bit folded into
        // the last one ("sticky"), so the u64 -> f64 conversion rounds exactly as the full
        // integer would.
        let high = top * 64 + 63 - magnitude[top].leading_zeros() as usize;
        let (window, low) = if high < 64 {
            (magnitude[0], 0)
        } else {
            let low = high - 63;
            let (at, offset) = (low / 64, low % 64);
            let mut window = magnitude[at] >> offset;
            if offset > 0 {
                window |= magnitude[at + 1] << (64 - offset);
            }
            let below = magnitude[at] & ((1u64 << offset) - 1) != 0
                || magnitude[..at].iter().any(|&l| l != 0);
            (window | u64::from(below), low)
        };
        // An exact power-of-two scaling: the exponent lies in [-149, 171].
        let scaled = window as f64 * power_of_two(low as i32 + UNIT_EXPONENT);
        if negative { -scaled } else { scaled }
    }
}

/// `2^e` for a normal f64 exponent.
fn power_of_two(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// `a + b` modulo `2^384`.
fn sum(a: &[u64; LIMBS], b: &[u64; LIMBS]) -> [u64; LIMBS] {
    let mut out = [0u64; LIMBS];
    let mut carry = false;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (s, c1) = x.overflowing_add(y);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        *o = s;
        carry = c1 || c2;
    }
    out
}

/// `-a` modulo `2^384`.
fn negated(a: &[u64; LIMBS]) -> [u64; LIMBS] {
    let mut one = [0u64; LIMBS];
    one[0] = 1;
    sum(&a.map(|l| !l), &one)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_exact() {
        let tiny = f32::from_bits(1);
        assert_eq!(ExactSum::of([tiny]).value(), 2f64.powi(-149));
        assert_eq!(ExactSum::of([f32::MAX]).value(), f64::from(f32::MAX));
        assert_eq!(
            ExactSum::of([f32::MAX, f32::MAX]).value(),
            2.0 * f64::from(f32::MAX)
        );
        assert_eq!(
            ExactSum::of([f32::MAX, tiny, -f32::MAX]).value(),
            2f64.powi(-149)
        );
        assert_eq!(ExactSum::of([-1.5, 0.25]).value(), -1.25);
        assert_eq!(
            ExactSum::of([1.0, -1.0]).value().to_bits(),
            0.0f64.to_bits()
        );
        assert_eq!(ExactSum::ZERO.value(), 0.0);
    }

    #[test]
    fn rounds_once_to_nearest_even() {
        // 2^60 + 1 + 2^-100: the exact sum lies just above a tie, so it rounds up; without the
        // tiny term it is the tie 2^60 + 2^7 ... built from f32 values.
        let big = 2f32.powi(60);
        let exact = ExactSum::of([big, 128.0]).value(); // halfway between 2^60 and 2^60 + 256
        assert_eq!(exact, 2f64.powi(60)); // ties to even
        let above = ExactSum::of([big, 128.0, 2f32.powi(-100)]).value();
        assert_eq!(above, 2f64.powi(60) + 256.0);
        let below = ExactSum::of([big, 128.0, -(2f32.powi(-100))]).value();
        assert_eq!(below, 2f64.powi(60));
    }

    #[test]
    fn non_finite_values_as_a_plain_sum() {
        assert!(ExactSum::of([1.0, f32::NAN]).value().is_nan());
        assert!(
            ExactSum::of([f32::INFINITY, f32::NEG_INFINITY])
                .value()
                .is_nan()
        );
        assert_eq!(ExactSum::of([f32::INFINITY, -3.0]).value(), f64::INFINITY);
        assert_eq!(
            ExactSum::of([f32::NEG_INFINITY, 3.0]).value(),
            f64::NEG_INFINITY
        );
    }
}
