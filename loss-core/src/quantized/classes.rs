//! [`ClassQuantization`]: how a model's class scores are quantized, for the multi-class
//! accumulators' `push_codes`.

use core::marker::PhantomData;

use super::{Code, Quantization};
use crate::multiclass::Layout;
use crate::{Error, Operand};

/// The quantization of a multi-class score tensor: one [`Quantization`] for the whole tensor
/// (TFLite's default for activations), or one per class (per-channel along the class axis).
///
/// Per tensor it also holds the softmax table (2 KiB, built once by [`Self::per_tensor`]): for
/// `d = q_max - q` in `0..=255`, the shifted logit `scale · (q - q_max)` (one rounding) and its
/// `expf`. Within a pixel the difference of two codes is an integer, so a softmax over codes
/// needs no exponential per score: see the
/// [module docs](crate::multiclass#quantized-scores) for what each accumulator
/// computes from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassQuantization<'q, C> {
    params: Params<'q>,
    /// `scale · (-d)` and `expf` of it, by `d`; present per tensor when `255 · scale` is finite.
    table: Option<SoftmaxTable>,
    code: PhantomData<C>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Params<'q> {
    Tensor(Quantization),
    Class(&'q [Quantization]),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SoftmaxTable {
    shifted: [f32; 256],
    exps: [f32; 256],
}

impl SoftmaxTable {
    /// `scale · (-d)` and its `expf`, for a code `d` below the pixel's highest (`0..=255`; as
    /// a `u8` it indexes the tables without a bounds check).
    #[inline(always)]
    pub(crate) fn at(&self, d: i32) -> (f32, f32) {
        let i = usize::from(d as u8);
        let x = self.shifted.get(i).copied().unwrap_or(f32::NAN);
        (x, self.exps.get(i).copied().unwrap_or(f32::NAN))
    }
}

impl<C: Code> ClassQuantization<'static, C> {
    /// One quantization for every class, and its softmax table.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if it is not a code of `C`.
    pub fn per_tensor(quantization: Quantization) -> Result<Self, Error> {
        quantization.check::<C>()?;
        let scale = quantization.scale();
        let table = (scale * 255.0).is_finite().then(|| {
            let mut table = SoftmaxTable {
                shifted: [0.0; 256],
                exps: [0.0; 256],
            };
            for (d, (x, e)) in table.shifted.iter_mut().zip(&mut table.exps).enumerate() {
                // `-d` is exact in f32, and negated as an integer so that `d = 0` gives +0.0
                // (the winner's shifted score), not `scale · -0.0`.
                *x = scale * (-(d as i32)) as f32;
                *e = libm::expf(*x);
            }
            table
        });
        Ok(Self {
            params: Params::Tensor(quantization),
            table,
            code: PhantomData,
        })
    }
}

impl<'q, C: Code> ClassQuantization<'q, C> {
    /// One quantization per class, in class order (their number is checked against the
    /// classes when codes are pushed).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` if one is not a code of `C`, or
    /// `"quantization"` for an empty list.
    pub fn per_class(quantizations: &'q [Quantization]) -> Result<Self, Error> {
        if quantizations.is_empty() {
            return Err(Error::InvalidParameter("quantization"));
        }
        for q in quantizations {
            q.check::<C>()?;
        }
        Ok(Self {
            params: Params::Class(quantizations),
            table: None,
            code: PhantomData,
        })
    }

    /// The quantization of class `c` (`None` past the last class of a per-class list).
    pub fn of_class(&self, c: usize) -> Option<Quantization> {
        match self.params {
            Params::Tensor(q) => Some(q),
            Params::Class(qs) => qs.get(c).copied(),
        }
    }

    /// [`Error::QuantizationCount`] unless there is one quantization per class (or one for the
    /// tensor).
    pub(crate) fn check_classes(&self, classes: usize) -> Result<(), Error> {
        match self.params {
            Params::Class(qs) if qs.len() != classes => Err(Error::QuantizationCount {
                expected: classes,
                found: qs.len(),
            }),
            _ => Ok(()),
        }
    }

    /// The dequantized score of class `c` holding `code` (NaN past the last class, which
    /// checked callers never ask for).
    #[inline]
    pub(crate) fn value(&self, c: usize, code: C) -> f32 {
        match self.params {
            Params::Tensor(q) => q.dequantize(code),
            Params::Class(qs) => qs.get(c).map_or(f32::NAN, |q| q.dequantize(code)),
        }
    }

    /// The softmax table (per tensor, unless `255 · scale` overflows).
    pub(crate) const fn table(&self) -> Option<&SoftmaxTable> {
        self.table.as_ref()
    }

    /// [`Error::OutOfRange`] naming the first code of a chunk (`classes` per pixel, laid out
    /// as `layout`) that dequantizes outside `[0, 1]`: the check of probabilities.
    pub(crate) fn check_probabilities(
        &self,
        codes: &[C],
        layout: Layout,
        classes: usize,
    ) -> Result<(), Error> {
        let pixels = codes.len().checked_div(classes).unwrap_or(0);
        let class_of = |i: usize| match layout {
            Layout::ChannelsLast => i.checked_rem(classes).unwrap_or(0),
            Layout::ChannelsFirst => i.checked_div(pixels).unwrap_or(0),
        };
        let inside = |(i, &code): (usize, &C)| (0.0..=1.0).contains(&self.value(class_of(i), code));
        match codes.iter().enumerate().position(|e| !inside(e)) {
            Some(index) => Err(Error::OutOfRange {
                operand: Operand::Predictions,
                index,
            }),
            None => Ok(()),
        }
    }
}

/// Reads a pixel's codes (class `c` at `base + c · stride`) into `q`, and returns the highest
/// code and the first class holding it (as the first highest score wins): the pixel's
/// shifted scores are then `SoftmaxTable::at(top - q_c)`.
#[inline(always)]
pub(crate) fn read_pixel<C: Code>(
    codes: &[C],
    base: usize,
    stride: usize,
    q: &mut [i32],
) -> (i32, usize) {
    for (c, q) in q.iter_mut().enumerate() {
        *q = codes.get(base + c * stride).map_or(0, |&code| code.get());
    }
    let (mut top, mut winner) = (i32::MIN, 0);
    for (c, &q) in q.iter().enumerate() {
        if q > top {
            (top, winner) = (q, c);
        }
    }
    (top, winner)
}
