//! [`QuantizedFocal`]: a binary focal loss's per-code terms.

use core::marker::PhantomData;

use super::counts::{BINS, bin};
use super::{Code, CodeCounts, Mask, Quantization};
use crate::elementwise::{ElementLoss, Predictions, check_buffer};
use crate::sum::{DetSum, Reduction};
use crate::{Error, Operand};

/// A binary focal loss ([`SigmoidFocal`](crate::focal::SigmoidFocal) on logits or
/// [`BinaryFocal`](crate::focal::BinaryFocal) on probabilities) for quantized predictions and
/// hard targets: the loss of every (target, code) pair, computed once when it is built (512
/// evaluations of the f32 kernel) and kept in 2 KiB.
///
/// Probabilities: codes that dequantize outside `[0, 1]` have no term; counting one is
/// [`Error::CodeOutOfRange`] when the loss is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizedFocal<C> {
    /// The f32 kernel's term of each bin (NaN for a code outside the loss's domain).
    terms: [f32; BINS],
    quantization: Quantization,
    code: PhantomData<C>,
}

impl<C: Code> QuantizedFocal<C> {
    /// The terms of `loss` for every code of `C` under `quantization`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`.
    pub fn new<L: ElementLoss>(loss: &L, quantization: Quantization) -> Result<Self, Error> {
        quantization.check::<C>()?;
        let mut terms = [f32::NAN; BINS];
        for (b, term) in terms.iter_mut().enumerate() {
            let v = quantization.of_bin::<C>(b & 0xff);
            let in_domain = L::PREDICTIONS == Predictions::Logits || (0.0..=1.0).contains(&v);
            if in_domain {
                *term = loss.element(v, if b >= 256 { 1.0 } else { 0.0 });
            }
        }
        Ok(Self {
            terms,
            quantization,
            code: PhantomData,
        })
    }

    /// The quantization the terms were built for.
    pub const fn quantization(&self) -> Quantization {
        self.quantization
    }

    /// The loss of everything in `counts`, reduced: `Σ n · term` over the counted bins in bin
    /// order (each product rounded once, summed by [`DetSum`]); the mean divides by the count.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing was counted; [`Error::CodeOutOfRange`] for a counted
    /// code outside the domain (probabilities only).
    pub fn loss(&self, counts: &CodeCounts<C>, reduction: Reduction) -> Result<f32, Error> {
        let mut sum = DetSum::<1>::new();
        for (t, code, n) in counts.nonzero() {
            let term = self.terms.get(bin(t, code)).copied().unwrap_or(f32::NAN);
            if term.is_nan() {
                return Err(Error::CodeOutOfRange {
                    code: C::of_bin(code),
                });
            }
            // `u32 as f32` rounds to nearest: exact up to 2^24 per bin.
            sum.add([n as f32 * term]);
        }
        if counts.count() == 0 {
            return Err(Error::EmptyInput);
        }
        let [total] = sum.value();
        Ok(match reduction {
            Reduction::Sum => total,
            // `u64 as f32` rounds to nearest: exact up to 2^24 elements.
            Reduction::Mean => total / counts.count() as f32,
        })
    }

    /// The unreduced loss (`reduction="none"`), one term per element, written to
    /// `out[..codes.len()]`: the bits of the f32 kernel on the dequantized values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::EmptyInput`], [`Error::BufferTooSmall`],
    /// [`Error::OutOfRange`] for a mask byte other than 0 or 1 or (probabilities) a code that
    /// dequantizes outside `[0, 1]`, with its index. On error `out` is untouched.
    pub fn loss_elementwise(
        &self,
        codes: &[C],
        targets: Mask<'_>,
        out: &mut [f32],
    ) -> Result<(), Error> {
        targets.check_len(codes.len())?;
        targets.check_values()?;
        if codes.is_empty() {
            return Err(Error::EmptyInput);
        }
        check_buffer(codes.len(), out)?;
        let term = |i: usize, c: &C| {
            let t = targets.get(i).unwrap_or(0);
            self.terms.get(bin(t, c.bin())).copied().unwrap_or(f32::NAN)
        };
        if let Some(index) = codes
            .iter()
            .enumerate()
            .position(|(i, c)| term(i, c).is_nan())
        {
            return Err(Error::OutOfRange {
                operand: Operand::Predictions,
                index,
            });
        }
        for ((i, c), o) in codes.iter().enumerate().zip(out.iter_mut()) {
            *o = term(i, c);
        }
        Ok(())
    }
}
