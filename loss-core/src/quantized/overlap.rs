//! [`QuantizedOverlap`]: a dice-family loss's per-code probabilities.

use core::marker::PhantomData;

use super::{Code, CodeCounts, Quantization};
use crate::Error;
use crate::activation::sigmoid;
use crate::dice::{OverlapLoss, OverlapStats};
use crate::elementwise::Predictions;
use crate::sum::DetSum;

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
        let mut probabilities = [f32::NAN; 256];
        for (b, p) in probabilities.iter_mut().enumerate() {
            let v = quantization.of_bin::<C>(b);
            match loss.predictions() {
                Predictions::Logits => *p = sigmoid(v),
                Predictions::Probabilities if (0.0..=1.0).contains(&v) => *p = v,
                Predictions::Probabilities => {}
            }
        }
        Ok(Self {
            loss: *loss,
            probabilities,
            code: PhantomData,
        })
    }

    /// The overlap statistics of everything in `counts`: `Σ p t`, `Σ p` (or `Σ p²`) and
    /// `Σ t` as count-weighted sums over the counted bins in bin order.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing was counted; [`Error::CodeOutOfRange`] for a counted
    /// code outside `[0, 1]` (probabilities only).
    pub fn stats(&self, counts: &CodeCounts<C>) -> Result<OverlapStats, Error> {
        let mut sum = DetSum::<3>::new();
        for (t, code, n) in counts.nonzero() {
            let p = self.probabilities.get(code).copied().unwrap_or(f32::NAN);
            if p.is_nan() {
                return Err(Error::CodeOutOfRange {
                    code: C::of_bin(code),
                });
            }
            // `u32 as f32` rounds to nearest: exact up to 2^24 per bin.
            let count = n as f32;
            let predicted = count * if self.loss.squared() { p * p } else { p };
            sum.add(if t == 1 {
                [count * p, predicted, count]
            } else {
                [0.0, predicted, 0.0]
            });
        }
        if counts.count() == 0 {
            return Err(Error::EmptyInput);
        }
        let [intersection, prediction_sum, target_sum] = sum.value();
        Ok(OverlapStats {
            intersection,
            prediction_sum,
            target_sum,
            count: counts.count(),
        })
    }

    /// The loss of everything in `counts` ([`OverlapLoss::loss_from`] of [`Self::stats`]).
    ///
    /// # Errors
    /// As [`QuantizedOverlap::stats`].
    pub fn loss(&self, counts: &CodeCounts<C>) -> Result<f32, Error> {
        Ok(self.loss.loss_from(&self.stats(counts)?))
    }
}
