//! [`QuantizedFocal`]: a binary focal loss's per-code terms.

use core::marker::PhantomData;

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
    /// The f32 kernel's terms `[target 0, target 1]` by code byte (NaN for a code outside
    /// the loss's domain).
    terms: [[f32; 2]; 256],
    reduction: Reduction,
    /// `None` until the terms are filled.
    quantization: Option<Quantization>,
    code: PhantomData<C>,
}

impl<C: Code> QuantizedFocal<C> {
    /// A table with no terms yet, to [`fill`](Self::fill) in place: a firmware keeps it in
    /// a `static` or in `main`'s frame and fills it with little stack (the terms are written
    /// where they live; [`new`](Self::new) also holds the table it returns). Reading an
    /// empty table is [`Error::InvalidParameter`] naming `"table"`.
    pub const EMPTY: Self = Self {
        terms: [[0.0; 2]; 256],
        reduction: Reduction::Mean,
        quantization: None,
        code: PhantomData,
    };

    /// The terms of `loss` for every code of `C` under `quantization`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`.
    pub fn new<L: ElementLoss>(loss: &L, quantization: Quantization) -> Result<Self, Error> {
        let mut focal = Self::EMPTY;
        focal.fill(loss, quantization)?;
        Ok(focal)
    }

    /// Fills the table in place with the terms of `loss` for every code of `C` under
    /// `quantization` (the same table as [`new`](Self::new)).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`; the table
    /// is then unchanged.
    pub fn fill<L: ElementLoss>(
        &mut self,
        loss: &L,
        quantization: Quantization,
    ) -> Result<(), Error> {
        quantization.check::<C>()?;
        fill_terms(loss, quantization, C::of_bin, &mut self.terms);
        self.reduction = loss.reduction();
        self.quantization = Some(quantization);
        Ok(())
    }

    /// The quantization the terms were built for (`None` for an empty table).
    pub const fn quantization(&self) -> Option<Quantization> {
        self.quantization
    }

    /// The terms, or the error for an empty table.
    fn filled_terms(&self) -> Result<&[[f32; 2]; 256], Error> {
        match self.quantization {
            Some(_) => Ok(&self.terms),
            None => Err(Error::InvalidParameter("table")),
        }
    }

    /// The loss of everything in `counts`, reduced with the loss's [`Reduction`]: per code the products `n₀ · term₀` and
    /// `n₁ · term₁` (each rounded once), summed over the codes in byte order by [`DetSum`], the
    /// two sums then added; the mean divides by the count.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing was counted; [`Error::CodeOutOfRange`] for a counted
    /// code outside the domain (probabilities only); [`Error::InvalidParameter`] naming
    /// `"table"` for an [`EMPTY`](Self::EMPTY) table.
    pub fn loss(&self, counts: &CodeCounts<C>) -> Result<f32, Error> {
        weigh_terms(
            self.filled_terms()?,
            self.reduction,
            counts.by_code(),
            counts.count(),
            C::of_bin,
        )
    }

    /// The unreduced loss (`reduction="none"`), one term per element, written to
    /// `out[..codes.len()]`: the bits of the f32 kernel on the dequantized values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::EmptyInput`], [`Error::BufferTooSmall`],
    /// [`Error::OutOfRange`] for a mask byte other than 0 or 1 or (probabilities) a code that
    /// dequantizes outside `[0, 1]`, with its index; [`Error::InvalidParameter`] naming
    /// `"table"` for an [`EMPTY`](Self::EMPTY) table. On error `out` is untouched.
    pub fn loss_elementwise(
        &self,
        codes: &[C],
        targets: Mask<'_>,
        out: &mut [f32],
    ) -> Result<(), Error> {
        let terms = self.filled_terms()?;
        targets.check_len(codes.len())?;
        targets.check_values()?;
        if codes.is_empty() {
            return Err(Error::EmptyInput);
        }
        check_buffer(codes.len(), out)?;
        let term = |i: usize, c: &C| {
            let t = usize::from(targets.get(i).unwrap_or(0));
            terms
                .get(usize::from(c.byte()))
                .and_then(|pair| pair.get(t))
                .copied()
                .unwrap_or(f32::NAN)
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

/// `n · term` rounded once, and 0 for an uncounted code whatever its term (`0 · inf` would be
/// NaN).
#[inline(always)]
fn weighted(n: u32, term: f32) -> f32 {
    // `u32 as f32` rounds to nearest: exact up to 2^24.
    if n == 0 { 0.0 } else { n as f32 * term }
}

/// [`Error::CodeOutOfRange`] for the first counted code (in byte order) that `invalid` rejects.
fn out_of_domain(
    by_code: &[[u32; 2]; 256],
    code_of: fn(usize) -> i32,
    invalid: impl Fn(usize) -> bool,
) -> Error {
    let code = by_code
        .iter()
        .enumerate()
        .find(|&(code, &[a, b])| (a > 0 || b > 0) && invalid(code))
        .map_or(0, |(code, _)| code);
    Error::CodeOutOfRange {
        code: code_of(code),
    }
}

/// The terms of every code, `code_of` giving the code of each byte (not generic over the code
/// type, so a firmware with `i8` and `u8` tables links the kernel once per loss).
fn fill_terms<L: ElementLoss>(
    loss: &L,
    quantization: Quantization,
    code_of: fn(usize) -> i32,
    terms: &mut [[f32; 2]; 256],
) {
    for (byte, pair) in terms.iter_mut().enumerate() {
        let v = quantization.value(code_of(byte));
        *pair = if L::PREDICTIONS == Predictions::Logits || (0.0..=1.0).contains(&v) {
            [loss.hard_element(v, false), loss.hard_element(v, true)]
        } else {
            [f32::NAN; 2]
        };
    }
}

/// [`QuantizedFocal::loss`], not generic over the code type.
fn weigh_terms(
    terms: &[[f32; 2]; 256],
    reduction: Reduction,
    by_code: &[[u32; 2]; 256],
    count: u64,
    code_of: fn(usize) -> i32,
) -> Result<f32, Error> {
    if count == 0 {
        return Err(Error::EmptyInput);
    }
    let mut sum = DetSum::<2>::new();
    sum.extend_pairs(by_code, terms, |n, term| {
        [weighted(n[0], term[0]), weighted(n[1], term[1])]
    });
    let [negatives, positives] = sum.value();
    let total = negatives + positives;
    // Every term in the domain is a number (`+inf` at most), so a NaN total means a code
    // outside it was counted: find it (the error path only).
    if total.is_nan() {
        return Err(out_of_domain(by_code, code_of, |code| {
            terms.get(code).is_none_or(|t| t[0].is_nan())
        }));
    }
    Ok(match reduction {
        Reduction::Sum => total,
        // `u64 as f32` rounds to nearest: exact up to 2^24 elements.
        Reduction::Mean => total / count as f32,
    })
}
