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
    /// The probabilities have been filled. (An `EMPTY` table is all zeros, which the compiler
    /// writes with a memset rather than copying a template from flash.)
    filled: bool,
    code: PhantomData<C>,
}

impl<C: Code> QuantizedOverlap<C> {
    /// A table with no probabilities yet, to [`fill`](Self::fill) in place (see
    /// [`QuantizedFocal::EMPTY`](super::QuantizedFocal::EMPTY)). Reading an empty table is
    /// [`Error::InvalidParameter`] naming `"table"`.
    pub const EMPTY: Self = Self {
        loss: OverlapLoss::PLACEHOLDER,
        probabilities: [0.0; 256],
        filled: false,
        code: PhantomData,
    };

    /// The probabilities of every code of `C` under `quantization`, read as `loss` reads
    /// its predictions ([`OverlapLoss::with_predictions`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`.
    pub fn new(loss: &OverlapLoss, quantization: Quantization) -> Result<Self, Error> {
        let mut overlap = Self::EMPTY;
        overlap.fill(loss, quantization)?;
        Ok(overlap)
    }

    /// Fills the table in place (the same table as [`new`](Self::new)).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`; the table
    /// is then unchanged.
    pub fn fill(&mut self, loss: &OverlapLoss, quantization: Quantization) -> Result<(), Error> {
        quantization.check::<C>()?;
        fill_probabilities(
            loss.predictions(),
            quantization,
            C::of_bin,
            &mut self.probabilities,
        );
        self.loss = *loss;
        self.filled = true;
        Ok(())
    }

    /// The overlap statistics of everything in `counts`: `Σ p t`, `Σ p` (or `Σ p²`) and
    /// `Σ t` as count-weighted sums over the counted bins in bin order.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing was counted; [`Error::CodeOutOfRange`] for a counted
    /// code outside `[0, 1]` (probabilities only); [`Error::InvalidParameter`] naming
    /// `"table"` for an [`EMPTY`](Self::EMPTY) table.
    pub fn stats(&self, counts: &CodeCounts<C>) -> Result<OverlapStats, Error> {
        if !self.filled {
            return Err(Error::InvalidParameter("table"));
        }
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
        *p = match predictions {
            Predictions::Logits => sigmoid(v),
            Predictions::Probabilities if (0.0..=1.0).contains(&v) => v,
            Predictions::Probabilities => f32::NAN,
        };
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
    let Some(([intersection, sum], positives)) = weigh::<false>(probabilities, by_code) else {
        // A counted code without a probability (NaN): the first in byte order (the error
        // path only).
        let byte = by_code
            .iter()
            .zip(probabilities)
            .position(|(&[n0, n1], p)| (n0 > 0 || n1 > 0) && p.is_nan())
            .unwrap_or(0);
        return Err(Error::CodeOutOfRange {
            code: code_of(byte),
        });
    };
    // `Σ n p²`: a second pass (every probability is known to be valid now).
    let prediction_sum = match squared {
        false => sum,
        true => weigh::<true>(probabilities, by_code).map_or(f32::NAN, |([_, sum], _)| sum),
    };
    Ok(OverlapStats {
        intersection,
        prediction_sum,
        // `u32 as f32` rounds to nearest: exact up to 2^24, as the f32 path's `Σ t`.
        target_sum: positives as f32,
        count,
    })
}

/// `[Σ n₁ w, Σ (n₀ + n₁) w]` over the counted codes, each exact and rounded once
/// ([`ExactSum`]), with `w = p` or `p²` (`SQUARE`), and `Σ n₁`; `None` if a counted code has
/// no probability (NaN).
///
/// One pass over the codes in byte order: per counted code a load of `w`'s bits, a compare
/// of their exponent with the current run's, and one integer multiply-add per sum into the
/// runs (held in registers); the shifts into the fixed-point totals ([`ExactSum::fold`])
/// happen once per run of equal exponents, not per code.
fn weigh<const SQUARE: bool>(
    probabilities: &[f32; 256],
    by_code: &[[u32; 2]; 256],
) -> Option<([f32; 2], u32)> {
    let mut sums = [ExactSum::default(); 2];
    // The current runs (`Σ n m`), their exponent (none yet: a value no `w` has) and what
    // turns the bits of a `w` of the run into its mantissa.
    let (mut run_1, mut run_n, mut exponent) = (0u64, 0u64, u32::MAX);
    let mut to_mantissa = 0u32;
    for (&[n0, n1], &p) in by_code.iter().zip(probabilities) {
        // `n0 + n1 <= u32::MAX`: the counts' total is bounded by it.
        let n = n0.wrapping_add(n1);
        // Uncounted codes add nothing (a block rather than `continue`: LLVM then keeps one
        // loop test per code).
        if n != 0 {
            let bits = if SQUARE { p * p } else { p }.to_bits();
            // NaN never has the exponent of a run: the check is on the path that starts one.
            if ExactSum::exponent(bits) != exponent {
                if bits & 0x7fff_ffff > 0x7f80_0000 {
                    return None;
                }
                ExactSum::fold(&mut sums, run_1, run_n, exponent);
                (run_1, run_n, exponent) = (0, 0, ExactSum::exponent(bits));
                // `bits - (exponent << 23)` is the fraction; the implicit bit adds `1 << 23`.
                to_mantissa = (exponent << 23).wrapping_sub(1 << 23);
            }
            // The 24-bit mantissa with its implicit bit.
            let mantissa = u64::from(bits.wrapping_sub(to_mantissa));
            run_1 += u64::from(n1) * mantissa;
            run_n += u64::from(n) * mantissa;
        }
    }
    ExactSum::fold(&mut sums, run_1, run_n, exponent);
    // At most the total count, which is a `u32`.
    let positives = by_code.iter().fold(0u32, |s, n| s.wrapping_add(n[1]));
    Some((sums.map(ExactSum::value), positives))
}

/// `Σ n p` for counts `n < 2^32` and probabilities `p` in `[0, 1]`, exactly, in fixed point:
/// every product `n p` is an integer times `2^-149` that fits in 56 bits, so with the binary
/// point at `2^-FRACTION` the sum of all of them (at most `2^32`) fits in a `u128`, and only
/// the parts below `2^-FRACTION` of a run (products under about `2^-64`) are dropped.
/// The result is then rounded once to f32 (to nearest), so the statistics are correctly
/// rounded whatever the order of the codes: the overlap losses' only roundings are their
/// formula's. Integer work only, which soft-float targets do fastest.
///
/// The caller gathers the products in runs of probabilities that share a biased exponent `k`
/// (bits `23..31` of a non-negative f32): `p = m 2^(k - 150)` with the 24-bit mantissa `m`,
/// and a run only adds `n m`, below `(Σ n) 2^24 <= 2^56`. A run of
/// `k = 0` (subnormals and zero) lies wholly below `2^-FRACTION` (`Σ n m < 2^56` times
/// `2^-150`), so it adds nothing whatever its mantissas: the implicit bit need not be told
/// apart from a subnormal's.
#[derive(Debug, Clone, Copy, Default)]
struct ExactSum {
    /// The folded runs, in fixed point.
    total: u128,
}

impl ExactSum {
    /// Bits below the binary point.
    const FRACTION: i32 = 88;

    /// The biased exponent of the non-negative f32 `bits`.
    #[inline(always)]
    const fn exponent(bits: u32) -> u32 {
        (bits >> 23) & 0xff
    }

    /// Adds a run to each sum: `Σ n m` of values with biased exponent `exponent`.
    #[inline(never)]
    fn fold(sums: &mut [Self; 2], run_1: u64, run_n: u64, exponent: u32) {
        // `exponent <= 127` for a probability (at most 1), so `shift` is within `-62 ..= 65`;
        // the initial `u32::MAX` (`-1`) comes with empty runs.
        let shift = exponent.cast_signed() - 150 + Self::FRACTION;
        for (sum, run) in sums.iter_mut().zip([run_1, run_n]) {
            let run = u128::from(run);
            let fixed = if shift >= 0 {
                run.checked_shl(shift.unsigned_abs()).unwrap_or(0)
            } else {
                run.checked_shr(shift.unsigned_abs()).unwrap_or(0)
            };
            sum.total = sum.total.wrapping_add(fixed);
        }
    }

    /// The sum rounded to f32 (`u128 as f32` rounds to nearest; the scaling by a power of two
    /// is exact above `2^-126`).
    fn value(self) -> f32 {
        const SCALE: f32 = 1.0 / (1u128 << ExactSum::FRACTION) as f32;
        self.total as f32 * SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::{ExactSum, weigh_probabilities};

    /// Statistics against f64, exact here: products of a count below 2^19 and a probability
    /// in [1/4, 1) (or 1, or 0) have at most 43 significant bits, and their sums (below 2^28,
    /// in steps of 2^-25) fit in f64's 53 bits, so the f64 sums are exact and their roundings
    /// to f32 are the correctly rounded sums. Codes in runs of equal exponents and alone,
    /// uncounted codes between them.
    #[test]
    fn statistics_are_correctly_rounded() {
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for round in 0..200 {
            let squared = round % 2 == 1;
            let mut probabilities = [0.0f32; 256];
            let mut by_code = [[0u32; 2]; 256];
            let (mut intersection, mut prediction_sum, mut count) = (0.0f64, 0.0f64, 0);
            for (p, n) in probabilities.iter_mut().zip(&mut by_code) {
                *p = match next() % 16 {
                    0 => 1.0,
                    1 => 0.0,
                    2..6 => 0.25 + (next() >> 9) as f32 / (1u32 << 25) as f32,
                    _ => 0.5 + (next() >> 9) as f32 / (1u32 << 24) as f32,
                };
                *n = if next() % 4 == 0 {
                    [0, 0]
                } else {
                    [next() >> 13, next() >> 13]
                };
                let weight = if squared { *p * *p } else { *p };
                intersection += f64::from(n[1]) * f64::from(*p);
                prediction_sum += f64::from(n[0] + n[1]) * f64::from(weight);
                count += u64::from(n[0] + n[1]);
            }
            let stats = weigh_probabilities(&probabilities, squared, &by_code, count, |b| b as i32)
                .unwrap();
            assert_eq!(stats.intersection, intersection as f32);
            assert_eq!(stats.prediction_sum, prediction_sum as f32);
        }
    }

    /// The extremes: the largest total, and subnormal and tiny probabilities.
    #[test]
    fn extreme_sums() {
        let sum = |terms: &[(u32, f32)]| {
            let mut sums = [ExactSum::default(); 2];
            for &(n, p) in terms {
                let bits = p.to_bits();
                let mantissa = (bits & 0x7f_ffff) | 0x80_0000;
                let run = u64::from(n) * u64::from(mantissa);
                ExactSum::fold(&mut sums, run, 0, ExactSum::exponent(bits));
            }
            sums[0].value()
        };
        assert_eq!(sum(&[(u32::MAX, 1.0)]), u32::MAX as f32);
        assert_eq!(
            sum(&[(3, 2.0f32.powi(-60)), (1, f32::from_bits(1))]),
            3.0 * 2.0f32.powi(-60)
        );
        // A run of subnormals lies below 2^-FRACTION: dropped, as documented.
        assert_eq!(sum(&[(u32::MAX, f32::from_bits(0x7f_ffff))]), 0.0);
    }
}
