//! Losses and metrics on quantized model outputs: `i8` / `u8` codes with TFLite's affine
//! parameters, and hard masks ([`Mask`]: bytes, `bool`s or bits), without a
//! dequantized buffer and without a transcendental function per element.
//!
//! # Convention
//! A code `q` stands for `real = scale * (q - zero_point)` (TensorFlow Lite's affine
//! quantization, per tensor: [`Quantization`]). That product is rounded once in f32, exactly as
//! TFLite's `Dequantize` computes it, so each dequantized value here is the bits a firmware would
//! get by dequantizing first.
//!
//! # Design: count codes, weight per-code terms once
//! With a hard target `t` in `{0, 1}` a binary loss term depends only on the pair `(t, q)`, and
//! there are 512 pairs. So the data pass only counts them ([`CodeCounts`]: 512 `u32`, 2 KiB):
//! per element a load of the code and of the mask, and one increment, no float operation. The
//! losses then weight a per-code term by its count, once per frame:
//!
//! ```text
//! focal sum = Σ_t Σ_q n[t][q] · term(dequantize(q), t)       (QuantizedFocal, 512 terms, 2 KiB)
//! dice:  tp = Σ_q n[1][q] p(q)   P = Σ_q (n[0][q] + n[1][q]) p(q)   T = Σ_q n[1][q]
//!                                                             (QuantizedOverlap, 256 p(q), 1 KiB)
//! ```
//!
//! The per-code terms are computed once, when the loss is built, with the f32 kernels of
//! [`crate::focal`] and [`crate::dice`] (`term(v, t)` is the bits of `SigmoidFocal::element(v, t)`
//! and so on). One histogram serves every loss and metric of a frame: focal, the dice family
//! and confusion counts at a threshold ([`CodeCounts::confusion`]).
//!
//! # Evaluation order and accuracy
//! The counts are exact integers, so the result does not depend on the order of the elements,
//! on how they were split into tiles, or on the target. Focal: per code the products
//! `n₀ · term₀` and `n₁ · term₁`, each rounded once, summed over the codes in byte order with
//! the crate's deterministic summation ([`crate::sum`]). Dice family: `Σ n p` summed exactly in
//! fixed point and rounded once, so the statistics are correctly rounded. Neither is the bits
//! of "dequantize, then the f32 path" (whose sums run in element order), but both are at least
//! as accurate: the f32 path rounds once per element, these at most once per distinct code. The
//! unreduced terms ([`QuantizedFocal::loss_elementwise`]) are exactly the f32 path's bits on the
//! dequantized values. Counts convert to f32 exactly up to `2^24` per bin. Measured accuracy is
//! in `docs/numerics.md`.
//!
//! # Bad input
//! | input | result |
//! |---|---|
//! | `scale` not finite or `<= 0` | [`Error::InvalidParameter`]`("scale")` |
//! | `zero_point` outside the code type's range | [`Error::InvalidParameter`]`("zero_point")` |
//! | mask length different from the codes, bit mask too short | [`Error::LengthMismatch`] |
//! | a mask byte other than 0 or 1 | [`Error::OutOfRange`] (targets, with the index); the counts are unchanged |
//! | more than `u32::MAX` elements in one [`CodeCounts`] | [`Error::CountOverflow`]; unchanged |
//! | probabilities: a counted code that dequantizes outside `[0, 1]` | [`Error::CodeOutOfRange`] |
//! | nothing counted | [`Error::EmptyInput`] |
//!
//! # Example
//! ```
//! use loss_core::dice::OverlapLoss;
//! use loss_core::focal::SigmoidFocal;
//! use loss_core::quantized::{CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
//! use loss_core::{Mask, Predictions};
//!
//! // An int8 logit map as TFLite Micro returns it, and a bit-packed mask (LSB first).
//! let q = Quantization::new(0.125, -8)?;
//! let logits: [i8; 10] = [-128, -40, -8, 0, 30, 127, 12, -90, 64, 5];
//! let mask = [0b1011_0110, 0b0000_0001];
//!
//! // Built once (the per-code terms), kept for every frame.
//! let focal = QuantizedFocal::<i8>::new(&SigmoidFocal::torchvision(), q)?;
//! let dice = QuantizedOverlap::<i8>::new(&OverlapLoss::dice().with_predictions(Predictions::Logits), q)?;
//!
//! // Per frame: count (tile by tile if the data arrives in tiles), then read the losses.
//! let mut counts = CodeCounts::<i8>::new();
//! counts.push(&logits[..8], Mask::bits(&mask[..1], 8))?;
//! counts.push(&logits[8..], Mask::bits(&mask[1..], 2))?;
//! let focal_mean = focal.loss(&counts)?; // the loss's reduction: the mean
//! let dice_loss = dice.loss(&counts)?;
//! assert!(focal_mean > 0.0 && (0.0..1.0).contains(&dice_loss));
//! # Ok::<(), loss_core::Error>(())
//! ```

mod classes;
mod counts;
mod focal;
mod overlap;

pub use classes::ClassQuantization;
pub(crate) use classes::{SoftmaxTable, read_pixel};
pub use counts::CodeCounts;
pub use focal::QuantizedFocal;
pub use overlap::QuantizedOverlap;

// The mask lives at the crate root (`loss_core::Mask`): the f32 losses take it too.
use crate::{Error, Mask};

mod sealed {
    pub trait Sealed {}
    impl Sealed for i8 {}
    impl Sealed for u8 {}
}

/// The integer types a quantized tensor holds: `i8` and `u8`.
pub trait Code: sealed::Sealed + Copy + Eq + core::fmt::Debug {
    /// The smallest code.
    const MIN: i32;
    /// The largest code.
    const MAX: i32;
    /// The code's byte: its place in a table of 256.
    fn byte(self) -> u8;
    /// The code whose byte is `bin` (the inverse of [`Code::byte`]).
    fn of_bin(bin: usize) -> i32;
    /// The code as an integer.
    #[inline(always)]
    fn get(self) -> i32 {
        Self::of_bin(usize::from(self.byte()))
    }
}

impl Code for i8 {
    const MIN: i32 = -128;
    const MAX: i32 = 127;
    #[inline(always)]
    fn byte(self) -> u8 {
        self.cast_unsigned()
    }
    #[inline]
    fn of_bin(bin: usize) -> i32 {
        i32::from((bin as u8).cast_signed())
    }
}

impl Code for u8 {
    const MIN: i32 = 0;
    const MAX: i32 = 255;
    #[inline(always)]
    fn byte(self) -> u8 {
        self
    }
    #[inline]
    fn of_bin(bin: usize) -> i32 {
        i32::from(bin as Self)
    }
}

/// TFLite's per-tensor affine quantization: a code `q` stands for `scale * (q - zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quantization {
    scale: f32,
    zero_point: i32,
}

impl Quantization {
    /// A finite `scale > 0` and any `zero_point` (checked against the code type where it is
    /// used: `-128..=127` for `i8`, `0..=255` for `u8`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"scale"`.
    pub const fn new(scale: f32, zero_point: i32) -> Result<Self, Error> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::InvalidParameter("scale"));
        }
        Ok(Self { scale, zero_point })
    }

    /// The scale.
    pub const fn scale(&self) -> f32 {
        self.scale
    }

    /// The zero point.
    pub const fn zero_point(&self) -> i32 {
        self.zero_point
    }

    /// `scale * (q - zero_point)`, rounded once (TFLite's `Dequantize`).
    #[inline]
    pub fn dequantize<C: Code>(&self, code: C) -> f32 {
        self.of_bin::<C>(usize::from(code.byte()))
    }

    /// The dequantized value of bin `bin`.
    fn of_bin<C: Code>(&self, bin: usize) -> f32 {
        self.value(C::of_bin(bin))
    }

    /// The dequantized value of `code`.
    fn value(&self, code: i32) -> f32 {
        // `q - zero_point` is an integer of at most 9 bits: exact in f32.
        self.scale * (code - self.zero_point) as f32
    }

    /// [`Error::InvalidParameter`]`("zero_point")` unless the zero point is a code of `C`.
    const fn check<C: Code>(&self) -> Result<(), Error> {
        if self.zero_point < C::MIN || self.zero_point > C::MAX {
            return Err(Error::InvalidParameter("zero_point"));
        }
        Ok(())
    }
}
