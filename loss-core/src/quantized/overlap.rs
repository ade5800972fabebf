//! [`QuantizedOverlap`]: a dice-family loss's per-code probabilities.

use core::marker::PhantomData;

use super::focal::{out_of_domain, weighted};
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
        if counts.count() == 0 {
            return Err(Error::EmptyInput);
        }
        let squared = self.loss.squared();
        let mut sum = DetSum::<2>::new();
        let mut positives = 0u64;
        sum.extend_pairs(counts.by_code(), &self.probabilities, |[n0, n1], p| {
            positives += u64::from(n1);
            let predicted = if squared { p * p } else { p };
            // `n0 + n1 <= u32::MAX`: the counts' total is bounded by it.
            [weighted(n1, p), weighted(n0.wrapping_add(n1), predicted)]
        });
        let [intersection, prediction_sum] = sum.value();
        // The probabilities in the domain are numbers: NaN means a code outside it was counted.
        if prediction_sum.is_nan() {
            return Err(out_of_domain::<C>(counts, |code| {
                self.probabilities.get(code).is_none_or(|p| p.is_nan())
            }));
        }
        Ok(OverlapStats {
            intersection,
            prediction_sum,
            // `u64 as f32` rounds to nearest: exact up to 2^24, as the f32 path's `Σ t`.
            target_sum: positives as f32,
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
