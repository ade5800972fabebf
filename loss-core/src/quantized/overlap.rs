//! [`QuantizedOverlap`]: a dice-family loss's per-code probabilities.

use core::marker::PhantomData;

use super::{Code, CodeCounts, Quantization};
use crate::Error;
use crate::activation::sigmoid;
use crate::dice::{OverlapLoss, OverlapStats};
use crate::elementwise::Predictions;

/// A dice-family loss ([`OverlapLoss`]: dice, Jaccard, Tversky, any smoothing, squared or not,
/// on logits or probabilities) for quantized predictions and hard targets: the probability
/// `p(q)` of every code, computed once when it is built (`sigmoid` of the dequantized logit,
/// or the dequantized probability itself), kept in 1 KiB.
///
/// Probabilities: codes that dequantize outside `[0, 1]` have no probability; counting one is
/// [`Error::CodeOutOfRange`] when the loss is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizedOverlap<C> {
    loss: OverlapLoss,
    /// `p(q)` by code bin (NaN outside the domain).
    probabilities: [f32; 256],
    code: PhantomData<C>,
}

impl<C: Code> QuantizedOverlap<C> {
    /// The probabilities of every code of `C` under `quantization`, read as `loss` reads
    /// its predictions ([`OverlapLoss::with_predictions`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`.
    pub fn new(loss: &OverlapLoss, quantization: Quantization) -> Result<Self, Error> {
        quantization.check::<C>()?;
        // Filled in place: the table is the returned value.
        let mut overlap = Self {
            loss: *loss,
            probabilities: [f32::NAN; 256],
            code: PhantomData,
        };
        fill_probabilities(
            loss.predictions(),
            quantization,
            C::of_bin,
            &mut overlap.probabilities,
        );
        Ok(overlap)
    }

    /// The overlap statistics of everything in `counts`: `Σ p t`, `Σ p` (or `Σ p²`) and
    /// `Σ t` as count-weighted sums over the counted bins in bin order.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing was counted; [`Error::CodeOutOfRange`] for a counted
    /// code outside `[0, 1]` (probabilities only).
    pub fn stats(&self, counts: &CodeCounts<C>) -> Result<OverlapStats, Error> {
        weigh_probabilities(
            &self.probabilities,
            self.loss.squared(),
            counts.by_code(),
            counts.count(),
            C::of_bin,
        )
    }

    /// The loss of everything in `counts` ([`OverlapLoss::loss_from`] of [`Self::stats`]).
    ///
    /// # Errors
    /// As [`QuantizedOverlap::stats`].
    pub fn loss(&self, counts: &CodeCounts<C>) -> Result<f32, Error> {
        Ok(self.loss.loss_from(&self.stats(counts)?))
    }
}

/// The probability of every code, `code_of` giving the code of each byte (not generic over
/// the code type).
fn fill_probabilities(
    predictions: Predictions,
    quantization: Quantization,
    code_of: fn(usize) -> i32,
    probabilities: &mut [f32; 256],
) {
    for (byte, p) in probabilities.iter_mut().enumerate() {
        let v = quantization.value(code_of(byte));
        match predictions {
            Predictions::Logits => *p = sigmoid(v),
            Predictions::Probabilities if (0.0..=1.0).contains(&v) => *p = v,
            Predictions::Probabilities => {}
        }
    }
}

/// [`QuantizedOverlap::stats`], not generic over the code type.
fn weigh_probabilities(
    probabilities: &[f32; 256],
    squared: bool,
    by_code: &[[u32; 2]; 256],
    count: u64,
    code_of: fn(usize) -> i32,
) -> Result<OverlapStats, Error> {
    if count == 0 {
        return Err(Error::EmptyInput);
    }
    let (mut intersection, mut prediction_sum) = (ExactSum::default(), ExactSum::default());
    let mut positives = 0u64;
    for (byte, (&[n0, n1], &p)) in by_code.iter().zip(probabilities).enumerate() {
        // `n0 + n1 <= u32::MAX`: the counts' total is bounded by it.
        let n = n0.wrapping_add(n1);
        if n == 0 {
            continue;
        }
        if p.is_nan() {
            return Err(Error::CodeOutOfRange {
                code: code_of(byte),
            });
        }
        positives += u64::from(n1);
        intersection.add(n1, p);
        prediction_sum.add(n, if squared { p * p } else { p });
    }
    Ok(OverlapStats {
        intersection: intersection.value(),
        prediction_sum: prediction_sum.value(),
        // `u64 as f32` rounds to nearest: exact up to 2^24, as the f32 path's `Σ t`.
        target_sum: positives as f32,
        count,
    })
}

/// `Σ n p` for counts `n < 2^32` and probabilities `p` in `[0, 1]`, exactly, in fixed point:
/// every product `n p` is an integer times `2^-149` that fits in 56 bits, so with the binary
/// point at `2^-FRACTION` the sum of all of them (at most `2^32`) fits in a `u128`, and only
/// the parts below `2^-FRACTION` of a run (products under about `2^-64`) are dropped.
/// The result is then rounded once to f32 (to nearest), so the statistics are correctly
/// rounded whatever the order of the codes: the overlap losses' only roundings are their
/// formula's. Integer work only, which soft-float targets do fastest.
#[derive(Debug, Clone, Copy, Default)]
struct ExactSum {
    /// The flushed runs, in fixed point.
    total: u128,
    /// `Σ n m` of the current run of probabilities sharing one binary exponent: below
    /// `(Σ n) 2^24 <= 2^56`, so it never overflows.
    run: u64,
    /// The run's exponent (`p = m 2^exponent`).
    exponent: i32,
}

impl ExactSum {
    /// Bits below the binary point.
    const FRACTION: i32 = 88;

    /// Adds `n p`. Probabilities with the exponent of the previous one (neighbouring codes,
    /// most of the time) only add an integer product to the run: no shift per code.
    fn add(&mut self, n: u32, p: f32) {
        let bits = p.to_bits();
        let biased = ((bits >> 23) & 0xff) as i32;
        // p = mantissa * 2^exponent; subnormals have no implicit bit.
        let (mantissa, exponent) = if biased == 0 {
            (bits & 0x7f_ffff, -149)
        } else {
            ((bits & 0x7f_ffff) | 0x80_0000, biased - 150)
        };
        if exponent != self.exponent {
            self.flush();
            self.exponent = exponent;
        }
        self.run += u64::from(n) * u64::from(mantissa);
    }

    /// Moves the run into the fixed-point total.
    fn flush(&mut self) {
        let run = u128::from(self.run);
        let shift = self.exponent + Self::FRACTION;
        let fixed = if shift >= 0 {
            run.checked_shl(shift.unsigned_abs()).unwrap_or(0)
        } else {
            run.checked_shr(shift.unsigned_abs()).unwrap_or(0)
        };
        self.total = self.total.wrapping_add(fixed);
        self.run = 0;
    }

    /// The sum rounded to f32 (`u128 as f32` rounds to nearest; the scaling by a power of two
    /// is exact above `2^-126`).
    fn value(mut self) -> f32 {
        const SCALE: f32 = 1.0 / (1u128 << ExactSum::FRACTION) as f32;
        self.flush();
        self.total as f32 * SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::ExactSum;

    /// Against f64, exact here: products of a count below 2^20 and a probability in [1/2, 1)
    /// (or 1, or 0) have at most 44 significant bits within 21 binary orders, so their f64
    /// sum is exact, and its rounding to f32 is the correctly rounded sum.
    #[test]
    fn sums_are_correctly_rounded() {
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for _ in 0..200 {
            let (mut exact, mut fixed) = (0.0f64, ExactSum::default());
            for _ in 0..256 {
                let n = next() >> 12;
                let p = match next() % 8 {
                    0 => 1.0,
                    1 => 0.0,
                    _ => 0.5 + (next() >> 9) as f32 / (1u32 << 24) as f32,
                };
                exact += f64::from(n) * f64::from(p);
                fixed.add(n, p);
            }
            assert_eq!(fixed.value(), exact as f32);
        }
        // The extremes: the largest total, and subnormal and tiny probabilities.
        let mut big = ExactSum::default();
        big.add(u32::MAX, 1.0);
        assert_eq!(big.value(), u32::MAX as f32);
        let mut tiny = ExactSum::default();
        tiny.add(3, 2.0f32.powi(-60));
        tiny.add(1, f32::from_bits(1));
        assert_eq!(tiny.value(), 3.0 * 2.0f32.powi(-60));
    }
}
