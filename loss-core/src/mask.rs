//! The targets of the binary losses: soft `f32` values, or hard masks of bytes, `bool`s or bits
//! ([`Mask`], [`BinaryTargets`]; both at the crate root), and how the kernels read them.

use crate::elementwise::{ElementLoss, Internal, Predictions, first_outside, validate};
use crate::{Error, Operand};

/// A hard binary target: one 0/1 value per element.
///
/// A firmware usually holds a mask as a byte map (a `u8` label map of 0s and 1s) or packed,
/// eight pixels to a byte. [`Mask::bits`] reads element `i` from bit `i % 8` of byte `i / 8`
/// (least significant bit first, as numpy's `packbits(..., bitorder="little")`); bits past
/// `len` in the last byte are ignored.
///
/// The binary losses take it wherever they take `f32` targets (see [`BinaryTargets`]), and
/// [`quantized::CodeCounts`](crate::quantized::CodeCounts) counts quantized outputs against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mask<'a> {
    /// One byte per element, each 0 or 1.
    Bytes(&'a [u8]),
    /// One `bool` per element.
    Bools(&'a [bool]),
    /// `len` elements packed eight to a byte, least significant bit first.
    Bits {
        /// The packed bytes, at least `len.div_ceil(8)` of them.
        bytes: &'a [u8],
        /// The number of elements.
        len: usize,
    },
}

impl<'a> Mask<'a> {
    /// One byte per element, each 0 or 1.
    pub const fn bytes(values: &'a [u8]) -> Self {
        Self::Bytes(values)
    }

    /// One `bool` per element.
    pub const fn bools(values: &'a [bool]) -> Self {
        Self::Bools(values)
    }

    /// `len` elements packed eight to a byte, least significant bit first.
    pub const fn bits(bytes: &'a [u8], len: usize) -> Self {
        Self::Bits { bytes, len }
    }

    /// The number of elements.
    pub const fn len(&self) -> usize {
        match *self {
            Self::Bytes(v) => v.len(),
            Self::Bools(v) => v.len(),
            Self::Bits { len, .. } => len,
        }
    }

    /// Whether the mask has no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` (0 or 1 for a valid mask; the byte itself for [`Mask::Bytes`]).
    pub(crate) fn get(&self, i: usize) -> Option<u8> {
        match *self {
            Self::Bytes(v) => v.get(i).copied(),
            Self::Bools(v) => v.get(i).map(|&b| u8::from(b)),
            Self::Bits { bytes, len } if i < len => bytes.get(i / 8).map(|b| (b >> (i % 8)) & 1),
            Self::Bits { .. } => None,
        }
    }

    /// The checks every reader makes: one target per prediction, and bytes for every bit.
    pub(crate) const fn check_len(&self, predictions: usize) -> Result<(), Error> {
        if let Self::Bits { bytes, len } = *self
            && bytes.len() < len.div_ceil(8)
        {
            return Err(Error::LengthMismatch {
                predictions: len,
                targets: bytes.len().saturating_mul(8),
            });
        }
        if self.len() != predictions {
            return Err(Error::LengthMismatch {
                predictions,
                targets: self.len(),
            });
        }
        Ok(())
    }

    /// [`Error::OutOfRange`] for the first byte of a [`Mask::Bytes`] that is not 0 or 1.
    pub(crate) fn check_values(&self) -> Result<(), Error> {
        match *self {
            Self::Bytes(v) => check_bytes(v),
            Self::Bools(_) | Self::Bits { .. } => Ok(()),
        }
    }
}

/// [`Error::OutOfRange`] for the first byte that is not 0 or 1: an OR of all the bytes (no
/// early exit: it vectorises), and a search only when it finds one.
fn check_bytes(v: &[u8]) -> Result<(), Error> {
    if v.iter().fold(0, |acc, &t| acc | t) <= 1 {
        return Ok(());
    }
    match v.iter().position(|&t| t > 1) {
        Some(index) => Err(Error::OutOfRange {
            operand: Operand::Targets,
            index,
        }),
        None => Ok(()),
    }
}

mod sealed {
    pub trait Sealed {}
    impl<S: AsRef<[f32]> + ?Sized> Sealed for &S {}
    impl Sealed for super::Mask<'_> {}
}

/// The targets of the binary losses. Every binary entry point (the focal losses' `loss`, `loss_elementwise`, `loss_per_sample`
/// and accumulators, the dice family's `stats`, `loss`, `loss_per_sample` and accumulator)
/// takes its targets as any `BinaryTargets` (sealed):
///
/// | targets | what they hold |
/// |---|---|
/// | `&[f32]`, `&[f32; N]`, `&Vec<f32>` | soft targets in `[0, 1]` (the losses' [soft-target conventions](crate::focal::SoftTargets)) |
/// | [`Mask::bytes`]`(&[u8])` | one byte per element, each 0 or 1 (a label map) |
/// | [`Mask::bools`]`(&[bool])` | one `bool` per element |
/// | [`Mask::bits`]`(&[u8], len)` | `len` elements packed eight to a byte, least significant bit first |
///
/// A mask gives exactly the bits of the same call with the targets `0.0` / `1.0` as `f32`. The
/// call is monomorphised for the kind of targets: a firmware that passes only masks links
/// none of the soft-target code (on the boards; on vector hosts a mask is read as `0.0` /
/// `1.0` in blocks, through the vectorised kernels).
///
/// ```
/// use loss_core::{Mask, Predictions, dice::OverlapLoss, focal::SigmoidFocal};
/// let logits = [3.0, -2.0, 0.5, -4.0, 1.0, -1.0, 2.0, -3.0, 0.25, 4.0];
/// let soft = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0];
/// // The same mask, packed: element i is bit i % 8 of byte i / 8.
/// let bits = [0b0100_0101, 0b0000_0011];
///
/// let focal = SigmoidFocal::torchvision();
/// assert_eq!(focal.loss(&logits, Mask::bits(&bits, 10))?, focal.loss(&logits, &soft)?);
/// let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
/// let mut acc = dice.accumulator();
/// acc.push(&logits[..8], Mask::bits(&bits[..1], 8))?;
/// acc.push(&logits[8..], Mask::bytes(&[1, 1]))?;
/// assert_eq!(acc.finish()?, dice.loss(&logits, &soft)?);
/// # Ok::<(), loss_core::Error>(())
/// ```
///
/// # Bad input
/// | input | result |
/// |---|---|
/// | mask length different from the predictions | [`Error::LengthMismatch`] |
/// | bit mask with fewer than `len.div_ceil(8)` bytes | [`Error::LengthMismatch`] |
/// | a mask byte other than 0 or 1 | [`Error::OutOfRange`] (targets, with the index); an accumulator is unchanged |
pub trait BinaryTargets: sealed::Sealed + Copy {
    /// The targets as the kernels read them. Only the crate can call it.
    #[doc(hidden)]
    fn view(&self, _: Internal) -> View<'_>;
}

impl<S: AsRef<[f32]> + ?Sized> BinaryTargets for &S {
    #[inline(always)]
    fn view(&self, _: Internal) -> View<'_> {
        View::Soft((**self).as_ref())
    }
}

impl BinaryTargets for Mask<'_> {
    #[inline(always)]
    fn view(&self, _: Internal) -> View<'_> {
        View::Hard(*self)
    }
}

/// What [`BinaryTargets::view`] returns: public (it appears in a public trait) in a private
/// module, so that nothing outside the crate can name it.
mod view {
    /// Soft targets or a hard mask.
    #[derive(Debug, Clone, Copy)]
    pub enum View<'a> {
        /// `f32` targets.
        Soft(&'a [f32]),
        /// A hard mask.
        Hard(super::Mask<'a>),
    }
}
pub(crate) use view::View;

/// Runs `$body` with `$t` bound to the [`Reader`] of `$targets` (a [`BinaryTargets`]): one
/// monomorphised copy per kind of targets, the others removed as dead code once the call is
/// inlined (the entry points that use it are `#[inline(always)]`).
macro_rules! read_targets {
    ($targets:expr, $t:ident => $body:expr) => {
        match $crate::mask::BinaryTargets::view(&$targets, $crate::elementwise::Internal(())) {
            $crate::mask::View::Soft($t) => $body,
            $crate::mask::View::Hard($crate::mask::Mask::Bytes($t)) => $body,
            $crate::mask::View::Hard($crate::mask::Mask::Bools($t)) => $body,
            $crate::mask::View::Hard($crate::mask::Mask::Bits { bytes, len }) => {
                let $t = $crate::mask::Bits::new(bytes, len);
                $body
            }
        }
    };
}
pub(crate) use read_targets;

/// One target as a kernel reads it: an `f32` (soft), or a validated hard `u8` (0 or 1) or
/// `bool`.
pub(crate) trait Target: Copy {
    /// The target as an `f32`: itself, or exactly `0.0` / `1.0`.
    fn value(self) -> f32;

    /// `loss.element(prediction, self.value())`, the same bits; a hard target calls the hard
    /// kernel only.
    fn element<L: ElementLoss>(self, loss: &L, prediction: f32) -> f32;

    /// `loss.element_grad(prediction, self.value())`, the same bits; a hard target calls the
    /// hard kernel only.
    fn element_grad<L: ElementLoss>(self, loss: &L, prediction: f32) -> (f32, f32);

    /// `targets` as `f32` values: the slice itself, or their [`Target::value`]s written to
    /// the start of `buffer` (up to the shorter length).
    fn values<'a>(targets: &'a [Self], buffer: &'a mut [f32]) -> &'a [f32];
}

impl Target for f32 {
    #[inline(always)]
    fn value(self) -> f32 {
        self
    }

    #[inline(always)]
    fn element<L: ElementLoss>(self, loss: &L, prediction: f32) -> f32 {
        loss.element(prediction, self)
    }

    #[inline(always)]
    fn element_grad<L: ElementLoss>(self, loss: &L, prediction: f32) -> (f32, f32) {
        loss.element_grad(prediction, self)
    }

    #[inline(always)]
    fn values<'a>(targets: &'a [Self], _: &'a mut [f32]) -> &'a [f32] {
        targets
    }
}

/// The [`Target::values`] of hard targets.
#[inline(always)]
fn hard_values<'a, T: Target>(targets: &[T], buffer: &'a mut [f32]) -> &'a [f32] {
    let n = targets.len().min(buffer.len());
    let buffer = buffer.get_mut(..n).unwrap_or(&mut []);
    for (b, &t) in buffer.iter_mut().zip(targets) {
        *b = t.value();
    }
    buffer
}

impl Target for u8 {
    #[inline(always)]
    fn value(self) -> f32 {
        f32::from(self)
    }

    #[inline(always)]
    fn element<L: ElementLoss>(self, loss: &L, prediction: f32) -> f32 {
        loss.hard_element(prediction, self != 0)
    }

    #[inline(always)]
    fn element_grad<L: ElementLoss>(self, loss: &L, prediction: f32) -> (f32, f32) {
        loss.hard_element_grad(prediction, self != 0)
    }

    #[inline(always)]
    fn values<'a>(targets: &'a [Self], buffer: &'a mut [f32]) -> &'a [f32] {
        hard_values(targets, buffer)
    }
}

impl Target for bool {
    #[inline(always)]
    fn value(self) -> f32 {
        f32::from(self)
    }

    #[inline(always)]
    fn element<L: ElementLoss>(self, loss: &L, prediction: f32) -> f32 {
        loss.hard_element(prediction, self)
    }

    #[inline(always)]
    fn element_grad<L: ElementLoss>(self, loss: &L, prediction: f32) -> (f32, f32) {
        loss.hard_element_grad(prediction, self)
    }

    #[inline(always)]
    fn values<'a>(targets: &'a [Self], buffer: &'a mut [f32]) -> &'a [f32] {
        hard_values(targets, buffer)
    }
}

/// The targets of one call as the kernels read them: `&[f32]`, `&[u8]`, `&[bool]` or
/// [`Bits`].
pub(crate) trait Reader: Copy {
    /// One target.
    type Item: Target;

    /// What every entry point checks before it touches a value: one target per prediction,
    /// probabilities in `[0, 1]`, targets valid (`f32` in `[0, 1]`, bytes 0 or 1). NaN passes.
    fn validate(self, predictions: &[f32], kind: Predictions) -> Result<(), Error>;

    /// The first `mid` targets and the rest (`mid` at most the length: the entry points split
    /// validated targets only).
    fn split_at(self, mid: usize) -> (Self, Self);

    /// Calls `kernel` on consecutive runs of the predictions and their targets, in order, up
    /// to the shorter length.
    fn runs<K: Kernel>(self, predictions: &[f32], kernel: &mut K);
}

/// What an entry point does with each run of predictions and targets (a trait rather than a
/// closure, so that it can be always inlined: the kernels' frames stay as they were before
/// there were kinds of targets).
pub(crate) trait Kernel {
    /// Processes one run, in order after the previous ones.
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]);
}

impl Reader for &[f32] {
    type Item = f32;

    #[inline(always)]
    fn validate(self, predictions: &[f32], kind: Predictions) -> Result<(), Error> {
        validate(predictions, self, kind)
    }

    #[inline(always)]
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_checked(mid).unwrap_or((self, &[]))
    }

    #[inline(always)]
    fn runs<K: Kernel>(self, predictions: &[f32], kernel: &mut K) {
        kernel.run(predictions, self);
    }
}

/// The checks of a hard mask of `len` elements, bytes for every bit given: lengths, then
/// probabilities in `[0, 1]` (the mask's own values are checked after these).
fn validate_hard(predictions: &[f32], len: usize, kind: Predictions) -> Result<(), Error> {
    if predictions.len() != len {
        return Err(Error::LengthMismatch {
            predictions: predictions.len(),
            targets: len,
        });
    }
    if kind == Predictions::Probabilities
        && let Some(index) = first_outside(predictions)
    {
        return Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index,
        });
    }
    Ok(())
}

impl Reader for &[u8] {
    type Item = u8;

    #[inline(always)]
    fn validate(self, predictions: &[f32], kind: Predictions) -> Result<(), Error> {
        validate_hard(predictions, self.len(), kind)?;
        check_bytes(self)
    }

    #[inline(always)]
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_checked(mid).unwrap_or((self, &[]))
    }

    #[inline(always)]
    fn runs<K: Kernel>(self, predictions: &[f32], kernel: &mut K) {
        kernel.run(predictions, self);
    }
}

impl Reader for &[bool] {
    type Item = bool;

    #[inline(always)]
    fn validate(self, predictions: &[f32], kind: Predictions) -> Result<(), Error> {
        validate_hard(predictions, self.len(), kind)
    }

    #[inline(always)]
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_checked(mid).unwrap_or((self, &[]))
    }

    #[inline(always)]
    fn runs<K: Kernel>(self, predictions: &[f32], kernel: &mut K) {
        kernel.run(predictions, self);
    }
}

/// A bit-packed mask from bit `start` on: element `i` is bit `(start + i) % 8` of byte
/// `(start + i) / 8`. Read in runs of [`Bits::RUN`] elements unpacked to bytes, so that the
/// byte kernels serve bit masks too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bits<'a> {
    bytes: &'a [u8],
    start: usize,
    len: usize,
}

impl<'a> Bits<'a> {
    /// Elements unpacked at a time (bytes of stack).
    const RUN: usize = 8;

    /// The `len` elements of `bytes`.
    pub(crate) const fn new(bytes: &'a [u8], len: usize) -> Self {
        Self {
            bytes,
            start: 0,
            len,
        }
    }
}

impl Reader for Bits<'_> {
    type Item = u8;

    #[inline(always)]
    fn validate(self, predictions: &[f32], kind: Predictions) -> Result<(), Error> {
        let (bytes, len) = (self.bytes, self.len);
        if bytes.len() < self.start.saturating_add(len).div_ceil(8) {
            return Err(Error::LengthMismatch {
                predictions: len,
                targets: bytes.len().saturating_mul(8).saturating_sub(self.start),
            });
        }
        validate_hard(predictions, len, kind)
    }

    #[inline(always)]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let mid = mid.min(self.len);
        (
            Self { len: mid, ..self },
            Self {
                start: self.start + mid,
                len: self.len - mid,
                ..self
            },
        )
    }

    #[inline(always)]
    fn runs<K: Kernel>(self, predictions: &[f32], kernel: &mut K) {
        let predictions = predictions.get(..self.len).unwrap_or(predictions);
        let mut run = [0u8; Self::RUN];
        let mut i = self.start;
        for p in predictions.chunks(Self::RUN) {
            let run = run.get_mut(..p.len()).unwrap_or(&mut []);
            for t in run.iter_mut() {
                *t = self.bytes.get(i / 8).map_or(0, |b| (b >> (i % 8)) & 1);
                i += 1;
            }
            kernel.run(p, run);
        }
    }
}
