//! The machinery shared by losses defined per element (focal losses): reductions, per-sample
//! results, elementwise output and streaming, all through one deterministic summation.

use core::num::NonZeroUsize;

use crate::activation::{BLOCK, for_each_block};
use crate::mask::{BinaryTargets, Kernel, Reader, Target, read_targets};
use crate::sum::{DetSum, Reduction};
use crate::{Error, Operand};

/// What the prediction slice holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Predictions {
    /// Raw scores, any value including `±inf`; the sigmoid is applied on the fly.
    Logits,
    /// Probabilities in `[0, 1]`.
    Probabilities,
}

/// A flag for the branch-free range check: bits 30 and 31 of `range_flag(v)` (see [`OUTSIDE`])
/// are set for every `v` outside `[0, 1]`, and clear for `+0 ..= 1` and a negative NaN.
///
/// Adding `2^23 - 1` to the bits carries everything from `0x3f80_0001` (just above 1) up to
/// `+inf` into bit 30, keeps the sign bit of negative values, and wraps only the negative NaNs
/// (`0xff80_0001 ..`) round to small numbers. `-0` and positive NaNs raise false alarms,
/// which [`range_error`] settles. One add and one OR per value: no branch, no float compare.
#[inline(always)]
const fn range_flag(v: f32) -> u32 {
    v.to_bits().wrapping_add(0x007f_ffff)
}

/// The bits of an OR of [`range_flag`]s that mean "maybe outside `[0, 1]`".
const OUTSIDE: u32 = 0xc000_0000;

/// Whether every value of `values` is in `[0, 1]` or NaN, for certain; `false` may be a false
/// alarm (see [`range_flag`]). One pass with no early exit, eight values at a time (two
/// instructions per value on the Cortex-M4F, plus a multiple load per group).
#[inline]
fn surely_in_unit(values: &[f32]) -> bool {
    let (groups, tail) = values.as_chunks::<8>();
    let mut flags = 0;
    // Written out: at opt-level "s" a fold over the group stays a loop.
    for &[a, b, c, d, e, f, g, h] in groups {
        flags |= ((range_flag(a) | range_flag(b)) | (range_flag(c) | range_flag(d)))
            | ((range_flag(e) | range_flag(f)) | (range_flag(g) | range_flag(h)));
    }
    for &v in tail {
        flags |= range_flag(v);
    }
    flags & OUTSIDE == 0
}

/// Whether `v` is outside `[0, 1]` (NaN is not).
#[allow(clippy::manual_range_contains)] // `!contains` would call NaN outside
const fn outside(v: f32) -> bool {
    v < 0.0 || v > 1.0
}

/// The index of the first value outside `[0, 1]`: the branch-free screen of
/// [`surely_in_unit`], and a search only when it raises an alarm.
pub(crate) fn first_outside(values: &[f32]) -> Option<usize> {
    if surely_in_unit(values) {
        return None;
    }
    values.iter().position(|&v| outside(v))
}

/// The error for slices whose [`range_flag`]s raised an alarm, if it is not a false one.
#[cold]
#[inline(never)]
fn range_error(predictions: &[f32], targets: &[f32], kind: Predictions) -> Result<(), Error> {
    // The screen has already raised an alarm: search.
    if kind == Predictions::Probabilities
        && let Some(index) = predictions.iter().position(|&v| outside(v))
    {
        return Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index,
        });
    }
    if let Some(index) = targets.iter().position(|&v| outside(v)) {
        return Err(Error::OutOfRange {
            operand: Operand::Targets,
            index,
        });
    }
    Ok(())
}

/// Checks what every entry point needs before it touches a value: equal lengths, targets in
/// `[0, 1]`, and probabilities in `[0, 1]`. NaN passes (it propagates by design).
///
/// A branch-free pass per slice ([`range_flag`]) clears valid data; only an alarm pays for the
/// second pass that finds the first bad index. (Folding the flags into the accumulation loop
/// instead saves nothing measurable on the Cortex-M4F: the values then need a move from the
/// float registers, and the state a copy to roll back.)
pub(crate) fn validate(
    predictions: &[f32],
    targets: &[f32],
    kind: Predictions,
) -> Result<(), Error> {
    if predictions.len() != targets.len() {
        return Err(Error::LengthMismatch {
            predictions: predictions.len(),
            targets: targets.len(),
        });
    }
    let predictions_ok = kind == Predictions::Logits || surely_in_unit(predictions);
    if predictions_ok && surely_in_unit(targets) {
        return Ok(());
    }
    range_error(predictions, targets, kind)
}

/// Splits `len` elements into `samples` equal parts; returns the part length (non-zero, so
/// that `chunks_exact` of it keeps no panic path, however the optimiser inlines the caller).
pub(crate) fn sample_len(len: usize, samples: usize) -> Result<NonZeroUsize, Error> {
    match len.checked_div(samples).and_then(NonZeroUsize::new) {
        Some(n) if n.get() * samples == len => Ok(n),
        _ if len == 0 => Err(Error::EmptyInput),
        _ => Err(Error::SampleCountMismatch { len, samples }),
    }
}

pub(crate) fn check_buffer(needed: usize, out: &[f32]) -> Result<(), Error> {
    if out.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            capacity: out.len(),
        });
    }
    Ok(())
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::focal::SigmoidFocal {}
    impl Sealed for crate::focal::BinaryFocal {}
}

/// A loss defined element by element, `loss_i = f(prediction_i, target_i)`, then reduced with
/// its own [`Reduction`].
///
/// Implemented by [`SigmoidFocal`](crate::focal::SigmoidFocal) and
/// [`BinaryFocal`](crate::focal::BinaryFocal); sealed. Their `loss`, `loss_elementwise`,
/// `loss_per_sample` and `accumulator` are inherent methods (nothing to import), the same
/// functions as the trait's provided methods, which serve code generic over the losses. They
/// validate the input, then share [`LossAccumulator`]'s summation, so every way of evaluating
/// a loss gives the same bits.
pub trait ElementLoss: sealed::Sealed + Copy {
    /// What the predictions are.
    const PREDICTIONS: Predictions;

    /// The loss of one element. Inputs are assumed valid; NaN in, NaN out.
    fn element(&self, prediction: f32, target: f32) -> f32;

    /// `Err` when this build leaves out what the loss needs (without the feature
    /// `soft-conventions`: a `SigmoidFocal` with another convention than torchvision's);
    /// checked by every call before it reads an element.
    #[doc(hidden)]
    #[inline(always)]
    fn built(&self) -> Result<(), Error> {
        Ok(())
    }

    /// [`ElementLoss::element`] for a hard target (1 if `positive`, else 0), the same bits,
    /// without the soft-target code (which the quantized tables never need).
    #[doc(hidden)]
    fn hard_element(&self, prediction: f32, positive: bool) -> f32 {
        self.element(prediction, if positive { 1.0 } else { 0.0 })
    }

    /// The loss of one element (the bits of [`ElementLoss::element`]) and its derivative with
    /// respect to the prediction (see [`crate::gradient`]). Inputs are assumed valid; NaN in,
    /// NaN out.
    #[doc(hidden)]
    fn element_grad(&self, prediction: f32, target: f32) -> (f32, f32);

    /// [`ElementLoss::element_grad`] for a hard target, without the soft-target code.
    #[doc(hidden)]
    fn hard_element_grad(&self, prediction: f32, positive: bool) -> (f32, f32) {
        self.element_grad(prediction, if positive { 1.0 } else { 0.0 })
    }

    /// `(losses[i], grad[i]) = self.element_grad(predictions[i], targets[i])` up to the
    /// shortest length, the same bits, possibly several elements at a time (on vector hosts
    /// `SigmoidFocal` takes its exponentials and logarithms a block at a time). Only the crate
    /// can call it.
    #[doc(hidden)]
    #[inline]
    fn elements_grad(
        &self,
        predictions: &[f32],
        targets: &[f32],
        losses: &mut [f32],
        grad: &mut [f32],
        _: Internal,
    ) {
        for (((o, g), &p), &t) in losses
            .iter_mut()
            .zip(grad.iter_mut())
            .zip(predictions)
            .zip(targets)
        {
            (*o, *g) = self.element_grad(p, t);
        }
    }

    /// `out[i] = self.element(predictions[i], targets[i])` up to the shortest length, the same
    /// bits, possibly several elements at a time (on vector hosts `SigmoidFocal` evaluates its
    /// exponentials and logarithms a block at a time with [`crate::lanes`]). Only the crate can
    /// call it (its last parameter cannot be named outside).
    #[doc(hidden)]
    #[inline]
    fn elements(&self, predictions: &[f32], targets: &[f32], out: &mut [f32], _: Internal) {
        for ((o, &p), &t) in out.iter_mut().zip(predictions).zip(targets) {
            *o = self.element(p, t);
        }
    }

    /// How the loss reduces its elements.
    fn reduction(&self) -> Reduction;

    /// The same loss reduced with `reduction`.
    #[must_use]
    fn with_reduction(self, reduction: Reduction) -> Self;

    /// The loss over all elements, reduced (for code generic over the losses; each loss also
    /// has it as an inherent method, documented there).
    ///
    /// # Errors
    /// As the losses' `loss`.
    fn loss<T: BinaryTargets>(&self, predictions: &[f32], targets: T) -> Result<f32, Error> {
        loss(self, predictions, targets)
    }

    /// The unreduced loss, one value per element (see the losses' `loss_elementwise`).
    ///
    /// # Errors
    /// As the losses' `loss_elementwise`.
    fn loss_elementwise<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        out: &mut [f32],
    ) -> Result<(), Error> {
        loss_elementwise(self, predictions, targets, out)
    }

    /// The loss of each of `samples` equal-length samples (see the losses'
    /// `loss_per_sample`).
    ///
    /// # Errors
    /// As the losses' `loss_per_sample`.
    fn loss_per_sample<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        samples: usize,
        out: &mut [f32],
    ) -> Result<(), Error> {
        loss_per_sample(self, predictions, targets, samples, out)
    }

    /// The loss and its gradient (see the losses' `loss_and_grad`).
    ///
    /// # Errors
    /// As the losses' `loss_and_grad`.
    fn loss_and_grad<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        grad: &mut [f32],
    ) -> Result<f32, Error> {
        crate::gradient::loss_and_grad(self, predictions, targets, grad)
    }

    /// The unreduced loss and its gradient (see the losses' `loss_and_grad_elementwise`).
    ///
    /// # Errors
    /// As the losses' `loss_and_grad_elementwise`.
    fn loss_and_grad_elementwise<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        losses: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), Error> {
        crate::gradient::loss_and_grad_elementwise(self, predictions, targets, losses, grad)
    }

    /// Per-sample losses and the gradient of their sum (see the losses'
    /// `loss_and_grad_per_sample`).
    ///
    /// # Errors
    /// As the losses' `loss_and_grad_per_sample`.
    fn loss_and_grad_per_sample<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        samples: usize,
        losses: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), Error> {
        crate::gradient::loss_and_grad_per_sample(self, predictions, targets, samples, losses, grad)
    }

    /// A streaming accumulator for this loss.
    fn accumulator(&self) -> LossAccumulator<Self> {
        LossAccumulator::new(*self)
    }
}

/// The inherent methods every [`ElementLoss`] shares, written once.
macro_rules! element_loss_methods {
    ($loss:ty) => {
        impl $loss {
            /// The loss over all elements, reduced with the loss's [`Reduction`].
            ///
            /// `targets` are `f32` values (`&[f32]`, `&[f32; N]`) or a hard
            /// [`Mask`](crate::Mask) of bytes, `bool`s or bits, which gives the bits of the
            /// `f32` targets `0.0` / `1.0` (see [`BinaryTargets`](crate::BinaryTargets)).
            ///
            /// # Errors
            /// - [`Error::LengthMismatch`] if the predictions and targets differ in length (or
            ///   a bit mask has too few bytes);
            /// - [`Error::EmptyInput`] if they are empty;
            /// - [`Error::OutOfRange`] for a target (or a probability) outside `[0, 1]`, or a
            ///   mask byte other than 0 or 1.
            #[inline(always)]
            pub fn loss<T: crate::BinaryTargets>(
                &self,
                predictions: &[f32],
                targets: T,
            ) -> Result<f32, Error> {
                crate::elementwise::loss(self, predictions, targets)
            }

            /// The unreduced loss (`reduction="none"`), one value per element, written to
            /// `out[..predictions.len()]`.
            ///
            /// # Errors
            /// As [`Self::loss`], plus [`Error::BufferTooSmall`]. On error `out` is untouched.
            #[inline(always)]
            pub fn loss_elementwise<T: crate::BinaryTargets>(
                &self,
                predictions: &[f32],
                targets: T,
                out: &mut [f32],
            ) -> Result<(), Error> {
                crate::elementwise::loss_elementwise(self, predictions, targets, out)
            }

            /// The loss of each of `samples` equal-length samples (a batch laid out sample
            /// after sample), each reduced with the loss's [`Reduction`], written to
            /// `out[..samples]`.
            ///
            /// # Errors
            /// As [`Self::loss`], plus [`Error::SampleCountMismatch`] and
            /// [`Error::BufferTooSmall`]. On error `out` is untouched.
            #[inline(always)]
            pub fn loss_per_sample<T: crate::BinaryTargets>(
                &self,
                predictions: &[f32],
                targets: T,
                samples: usize,
                out: &mut [f32],
            ) -> Result<(), Error> {
                crate::elementwise::loss_per_sample(self, predictions, targets, samples, out)
            }

            /// The loss, reduced with the loss's [`Reduction`] (the bits of [`Self::loss`]),
            /// and its gradient with respect to every prediction written to `grad`, in one
            /// pass: `grad[i] = d loss / d predictions[i]` (divided by the element count for
            /// the mean). See [`crate::gradient`] for the derivatives and their edges.
            ///
            /// # Errors
            /// As [`Self::loss`], plus [`Error::GradientLength`] unless
            /// `grad.len() == predictions.len()`. On error `grad` is untouched.
            #[inline(always)]
            pub fn loss_and_grad<T: crate::BinaryTargets>(
                &self,
                predictions: &[f32],
                targets: T,
                grad: &mut [f32],
            ) -> Result<f32, Error> {
                crate::gradient::loss_and_grad(self, predictions, targets, grad)
            }

            /// The unreduced loss (`reduction="none"`) into `losses[..predictions.len()]`
            /// (the bits of [`Self::loss_elementwise`]) and `grad[i] = d losses[i] / d
            /// predictions[i]`: the gradient of their sum, as autograd gives it for a
            /// `reduction="none"` output summed.
            ///
            /// # Errors
            /// As [`Self::loss_elementwise`], plus [`Error::GradientLength`]. On error
            /// neither buffer is touched.
            #[inline(always)]
            pub fn loss_and_grad_elementwise<T: crate::BinaryTargets>(
                &self,
                predictions: &[f32],
                targets: T,
                losses: &mut [f32],
                grad: &mut [f32],
            ) -> Result<(), Error> {
                crate::gradient::loss_and_grad_elementwise(self, predictions, targets, losses, grad)
            }

            /// The loss of each of `samples` equal-length samples into `losses[..samples]`
            /// (the bits of [`Self::loss_per_sample`]) and the gradient of their sum with
            /// respect to every prediction into `grad` (divided by the sample's length for
            /// the mean).
            ///
            /// # Errors
            /// As [`Self::loss_per_sample`], plus [`Error::GradientLength`]. On error
            /// neither buffer is touched.
            #[inline(always)]
            pub fn loss_and_grad_per_sample<T: crate::BinaryTargets>(
                &self,
                predictions: &[f32],
                targets: T,
                samples: usize,
                losses: &mut [f32],
                grad: &mut [f32],
            ) -> Result<(), Error> {
                crate::gradient::loss_and_grad_per_sample(
                    self,
                    predictions,
                    targets,
                    samples,
                    losses,
                    grad,
                )
            }

            /// A streaming accumulator for this loss.
            pub const fn accumulator(&self) -> crate::LossAccumulator<Self> {
                crate::LossAccumulator::new(*self)
            }
        }
    };
}
pub(crate) use element_loss_methods;

/// The losses' `loss`: one copy per kind of targets ([`read_targets`]).
#[inline(always)]
pub(crate) fn loss<L: ElementLoss, T: BinaryTargets>(
    loss: &L,
    predictions: &[f32],
    targets: T,
) -> Result<f32, Error> {
    read_targets!(targets, t => loss_of(loss, predictions, t))
}

/// The losses' `loss` on one kind of targets: the operations of `accumulator()`, `push` and
/// `finish`, in one stack frame.
fn loss_of<L: ElementLoss, R: Reader>(
    loss: &L,
    predictions: &[f32],
    targets: R,
) -> Result<f32, Error> {
    loss.built()?;
    targets.validate(predictions, L::PREDICTIONS)?;
    loss.reduction()
        .finish(&sum_elements(loss, predictions, targets))
}

#[inline(always)]
pub(crate) fn loss_elementwise<L: ElementLoss, T: BinaryTargets>(
    loss: &L,
    predictions: &[f32],
    targets: T,
    out: &mut [f32],
) -> Result<(), Error> {
    read_targets!(targets, t => loss_elementwise_of(loss, predictions, t, out))
}

fn loss_elementwise_of<L: ElementLoss, R: Reader>(
    loss: &L,
    predictions: &[f32],
    targets: R,
    out: &mut [f32],
) -> Result<(), Error> {
    loss.built()?;
    targets.validate(predictions, L::PREDICTIONS)?;
    if predictions.is_empty() {
        return Err(Error::EmptyInput);
    }
    check_buffer(predictions.len(), out)?;
    targets.runs(predictions, &mut WriteElements { loss, out });
    Ok(())
}

/// [`write_elements`] of each run, into the rest of `out`.
struct WriteElements<'a, L> {
    loss: &'a L,
    out: &'a mut [f32],
}

impl<L: ElementLoss> Kernel for WriteElements<'_, L> {
    #[inline(always)]
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]) {
        let (out, rest) = core::mem::take(&mut self.out)
            .split_at_mut_checked(predictions.len())
            .unwrap_or((&mut [], &mut []));
        self.out = rest;
        write_elements(self.loss, predictions, targets, out);
    }
}

/// `out[i] = loss.element(predictions[i], targets[i])` up to the shortest length. Where
/// [`BLOCK`] is 0 (the boards) one element at a time; on vector hosts through
/// [`ElementLoss::elements`], a block at a time for hard targets (read as `0.0` / `1.0`).
#[inline(always)]
fn write_elements<L: ElementLoss, B: Target>(
    loss: &L,
    predictions: &[f32],
    targets: &[B],
    out: &mut [f32],
) {
    if BLOCK == 0 {
        for ((o, &p), &t) in out.iter_mut().zip(predictions).zip(targets) {
            *o = t.element(loss, p);
        }
        return;
    }
    let mut values = [0.0f32; BLOCK];
    // `max(1)`: `chunks(0)` would panic; with `BLOCK = 0` this is never reached.
    let size = BLOCK.max(1);
    for ((p, t), out) in predictions
        .chunks(size)
        .zip(targets.chunks(size))
        .zip(out.chunks_mut(size))
    {
        loss.elements(p, B::values(t, &mut values), out, Internal(()));
    }
}

#[inline(always)]
pub(crate) fn loss_per_sample<L: ElementLoss, T: BinaryTargets>(
    loss: &L,
    predictions: &[f32],
    targets: T,
    samples: usize,
    out: &mut [f32],
) -> Result<(), Error> {
    read_targets!(targets, t => loss_per_sample_of(loss, predictions, t, samples, out))
}

fn loss_per_sample_of<L: ElementLoss, R: Reader>(
    loss: &L,
    predictions: &[f32],
    targets: R,
    samples: usize,
    out: &mut [f32],
) -> Result<(), Error> {
    loss.built()?;
    targets.validate(predictions, L::PREDICTIONS)?;
    let n = sample_len(predictions.len(), samples)?.get();
    check_buffer(samples, out)?;
    let mut rest = targets;
    let mut left = predictions;
    // Checked splits, not `chunks_exact(n)`: its division by a run-time `n` keeps a panic
    // path (the C API's link-time proof finds it) that the optimiser cannot rule out.
    for o in out.iter_mut().take(samples) {
        let Some((p, more)) = left.split_at_checked(n) else {
            break;
        };
        left = more;
        let (t, tail) = rest.split_at(n);
        rest = tail;
        *o = loss.reduction().finish(&sum_elements(loss, p, t))?;
    }
    Ok(())
}

/// The deterministic sum of `loss.element` over validated predictions and targets (always
/// inlined: a frame of its own would save the registers a second time).
#[inline(always)]
fn sum_elements<L: ElementLoss, R: Reader>(loss: &L, predictions: &[f32], targets: R) -> DetSum<1> {
    let mut sum = DetSum::new();
    add_elements(&mut sum, loss, predictions, targets);
    sum
}

/// Adds `loss.element` of every validated pair to `sum`, in order.
#[inline(always)]
fn add_elements<L: ElementLoss, R: Reader>(
    sum: &mut DetSum<1>,
    loss: &L,
    predictions: &[f32],
    targets: R,
) {
    targets.runs(predictions, &mut AddElements { sum, loss });
}

/// [`add_run`] of each run.
struct AddElements<'a, L> {
    sum: &'a mut DetSum<1>,
    loss: &'a L,
}

impl<L: ElementLoss> Kernel for AddElements<'_, L> {
    #[inline(always)]
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]) {
        add_run(self.sum, self.loss, predictions, targets);
    }
}

/// Adds `loss.element` of every pair of a run to `sum`, in order. Where [`BLOCK`] is 0 (the
/// boards) one element at a time (a hard target through the hard kernel only); on vector
/// hosts a block of losses at a time through [`ElementLoss::elements`] (hard targets read as
/// `0.0` / `1.0`), then summed: the same values added in the same order, so the same bits
/// ([`crate::sum`]'s order depends only on the element index).
#[inline(always)]
fn add_run<L: ElementLoss, B: Target>(
    sum: &mut DetSum<1>,
    loss: &L,
    predictions: &[f32],
    targets: &[B],
) {
    if BLOCK == 0 {
        sum.extend_pairs(predictions, targets, |p, t| [t.element(loss, p)]);
        return;
    }
    let (mut losses, mut values) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    for_each_block(predictions, targets, |p, t| {
        let losses = losses.get_mut(..p.len()).unwrap_or(&mut []);
        loss.elements(p, B::values(t, &mut values), losses, Internal(()));
        sum.extend_pairs_unrolled(losses, losses, |v, _| [v]);
    });
}

/// The token that keeps [`ElementLoss::elements`] inside the crate: public (it appears in a
/// public trait) in a private module, so that nothing outside the crate can name it.
mod internal {
    /// Proof that the caller is inside the crate.
    #[derive(Debug, Clone, Copy)]
    pub struct Internal(pub(crate) ());
}
pub(crate) use internal::Internal;

/// Streams an [`ElementLoss`] over data that arrives in chunks of any size.
///
/// The result is bit-identical to the one-shot `loss` on the concatenated data,
/// for every chunking (see [`crate::sum`]). The state is fixed-size and `Copy`.
///
/// # Examples
/// ```
/// use loss_core::focal::SigmoidFocal;
/// let fl = SigmoidFocal::torchvision();
/// let (logits, targets) = ([2.0, -1.0, 0.5, 3.0], [1.0, 0.0, 1.0, 0.0]);
/// let mut acc = fl.accumulator();
/// acc.push(&logits[..1], &targets[..1])?;
/// acc.push(&logits[1..], &targets[1..])?;
/// assert_eq!(acc.finish()?, fl.loss(&logits, &targets)?);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossAccumulator<L> {
    loss: L,
    sum: DetSum<1>,
}

impl<L: ElementLoss> LossAccumulator<L> {
    /// An empty accumulator for `loss`.
    pub const fn new(loss: L) -> Self {
        Self {
            loss,
            sum: DetSum::new(),
        }
    }

    /// Adds a chunk. An empty chunk is allowed and changes nothing. The targets are `f32`
    /// values or a hard [`Mask`](crate::Mask), as in the losses' `loss`; chunks may mix them.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] or [`Error::OutOfRange`] (the index is within this chunk); the
    /// accumulator is then unchanged.
    #[inline(always)]
    pub fn push<T: BinaryTargets>(&mut self, predictions: &[f32], targets: T) -> Result<(), Error> {
        read_targets!(targets, t => self.push_of(predictions, t))
    }

    fn push_of<R: Reader>(&mut self, predictions: &[f32], targets: R) -> Result<(), Error> {
        self.loss.built()?;
        targets.validate(predictions, L::PREDICTIONS)?;
        self.accumulate(predictions, targets);
        Ok(())
    }

    fn accumulate<R: Reader>(&mut self, predictions: &[f32], targets: R) {
        add_elements(&mut self.sum, &self.loss, predictions, targets);
    }

    /// Elements pushed so far.
    pub const fn count(&self) -> u64 {
        self.sum.count()
    }

    /// The loss of everything pushed so far, reduced with the loss's [`Reduction`]. The
    /// accumulator is not consumed, so a monitor can read a running value and keep streaming.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing has been pushed.
    pub fn finish(&self) -> Result<f32, Error> {
        self.loss.reduction().finish(&self.sum)
    }

    /// Forgets everything pushed, keeping the loss parameters.
    pub fn reset(&mut self) {
        self.sum = DetSum::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast flag never misses a value outside `[0, 1]`, and raises false alarms only for
    /// `-0` and positive NaNs: checked on every exponent with several mantissas and signs, and
    /// on the boundaries.
    #[test]
    fn range_flag_is_exact_up_to_documented_false_alarms() {
        let mut patterns = vec![
            0,
            1,
            0x007f_ffff,
            0x0080_0000,
            0x3f7f_ffff,
            0x3f80_0000,
            0x3f80_0001,
            0x7f7f_ffff,
            0x7f80_0000,
            0x7f80_0001,
            0x7fc0_0000,
            0x7fff_ffff,
        ];
        for exponent in 0..=255u32 {
            for mantissa in [0, 1, 2, 0x40_0000, 0x55_5555, 0x7f_fffe, 0x7f_ffff] {
                patterns.push(exponent << 23 | mantissa);
            }
        }
        let negatives: Vec<u32> = patterns.iter().map(|p| p | 0x8000_0000).collect();
        patterns.extend(negatives);
        for bits in patterns {
            let v = f32::from_bits(bits);
            let alarm = range_flag(v) & OUTSIDE != 0;
            if outside(v) {
                assert!(alarm, "{bits:#010x} missed");
            } else if alarm {
                assert!(
                    bits == 0x8000_0000 || (v.is_nan() && v.is_sign_positive()),
                    "{bits:#010x} false alarm"
                );
            }
        }
    }

    #[test]
    fn validate_finds_the_first_bad_index_after_false_alarms() {
        let p = [0.5, -0.0, f32::NAN, 0.25, 1.0, 0.0];
        let t = [0.0, 1.0, 1.0, -0.0, f32::NAN, 1.0];
        assert_eq!(validate(&p, &t, Predictions::Probabilities), Ok(()));
        for bad in [
            -1e-45,
            1.000_000_1,
            2.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -3.0,
        ] {
            for at in 0..p.len() {
                let mut q = t;
                q[at] = bad;
                let e = Err(Error::OutOfRange {
                    operand: Operand::Targets,
                    index: at,
                });
                assert_eq!(validate(&p, &q, Predictions::Logits), e);
                let mut q = p;
                q[at] = bad;
                assert_eq!(
                    validate(&q, &t, Predictions::Probabilities),
                    Err(Error::OutOfRange {
                        operand: Operand::Predictions,
                        index: at,
                    })
                );
                // Logits may be anything.
                assert_eq!(validate(&q, &t, Predictions::Logits), Ok(()));
            }
        }
    }
}
