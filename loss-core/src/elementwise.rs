//! The machinery shared by losses defined per element (focal losses): reductions, per-sample
//! results, elementwise output and streaming, all through one deterministic summation.

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

/// Checks what every entry point needs before it touches a value: equal lengths, targets in
/// `[0, 1]`, and probabilities in `[0, 1]`. NaN passes (it propagates by design).
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
    let outside = |v: &f32| *v < 0.0 || *v > 1.0;
    if kind == Predictions::Probabilities
        && let Some(index) = predictions.iter().position(outside)
    {
        return Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index,
        });
    }
    if let Some(index) = targets.iter().position(outside) {
        return Err(Error::OutOfRange {
            operand: Operand::Targets,
            index,
        });
    }
    Ok(())
}

/// Splits `len` elements into `samples` equal parts; returns the part length.
pub(crate) fn sample_len(len: usize, samples: usize) -> Result<usize, Error> {
    match len.checked_div(samples) {
        Some(n) if n > 0 && n * samples == len => Ok(n),
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

/// A loss defined element by element, `loss_i = f(prediction_i, target_i)`, then reduced.
///
/// Implemented by [`SigmoidFocal`](crate::focal::SigmoidFocal) and
/// [`BinaryFocal`](crate::focal::BinaryFocal). The provided methods are the only ways to
/// evaluate one: they validate the input, then share [`LossAccumulator`], so `loss`,
/// `loss_per_sample` and any chunked use of the accumulator give bit-identical results.
pub trait ElementLoss: Copy {
    /// What the predictions are.
    const PREDICTIONS: Predictions;

    /// The loss of one element. Inputs are assumed valid (see [`ElementLoss::loss`]); NaN in,
    /// NaN out.
    fn element(&self, prediction: f32, target: f32) -> f32;

    /// The loss over all elements, reduced.
    ///
    /// # Errors
    /// - [`Error::LengthMismatch`] if the slices differ in length;
    /// - [`Error::EmptyInput`] if they are empty;
    /// - [`Error::OutOfRange`] for a target (or a probability) outside `[0, 1]`.
    fn loss(
        &self,
        predictions: &[f32],
        targets: &[f32],
        reduction: Reduction,
    ) -> Result<f32, Error> {
        let mut acc = self.accumulator();
        acc.push(predictions, targets)?;
        acc.finish(reduction)
    }

    /// The unreduced loss (`reduction="none"`), one value per element, written to
    /// `out[..predictions.len()]`.
    ///
    /// # Errors
    /// As [`ElementLoss::loss`], plus [`Error::BufferTooSmall`]. On error `out` is untouched.
    fn loss_elementwise(
        &self,
        predictions: &[f32],
        targets: &[f32],
        out: &mut [f32],
    ) -> Result<(), Error> {
        validate(predictions, targets, Self::PREDICTIONS)?;
        if predictions.is_empty() {
            return Err(Error::EmptyInput);
        }
        check_buffer(predictions.len(), out)?;
        for ((o, &p), &t) in out.iter_mut().zip(predictions).zip(targets) {
            *o = self.element(p, t);
        }
        Ok(())
    }

    /// The loss of each of `samples` equal-length samples (a batch laid out sample after
    /// sample), reduced within the sample, written to `out[..samples]`.
    ///
    /// # Errors
    /// As [`ElementLoss::loss`], plus [`Error::SampleCountMismatch`] and
    /// [`Error::BufferTooSmall`]. On error `out` is untouched.
    fn loss_per_sample(
        &self,
        predictions: &[f32],
        targets: &[f32],
        samples: usize,
        reduction: Reduction,
        out: &mut [f32],
    ) -> Result<(), Error> {
        validate(predictions, targets, Self::PREDICTIONS)?;
        let n = sample_len(predictions.len(), samples)?;
        check_buffer(samples, out)?;
        for ((o, p), t) in out
            .iter_mut()
            .zip(predictions.chunks_exact(n))
            .zip(targets.chunks_exact(n))
        {
            let mut acc = self.accumulator();
            acc.accumulate(p, t);
            *o = acc.finish(reduction)?;
        }
        Ok(())
    }

    /// A streaming accumulator for this loss.
    fn accumulator(&self) -> LossAccumulator<Self> {
        LossAccumulator::new(*self)
    }
}

/// Streams an [`ElementLoss`] over data that arrives in chunks of any size.
///
/// The result is bit-identical to the one-shot [`ElementLoss::loss`] on the concatenated data,
/// for every chunking (see [`crate::sum`]). The state is fixed-size and `Copy`.
///
/// # Examples
/// ```
/// use loss_core::{ElementLoss, Reduction, focal::SigmoidFocal};
/// let fl = SigmoidFocal::torchvision();
/// let (logits, targets) = ([2.0, -1.0, 0.5, 3.0], [1.0, 0.0, 1.0, 0.0]);
/// let mut acc = fl.accumulator();
/// acc.push(&logits[..1], &targets[..1])?;
/// acc.push(&logits[1..], &targets[1..])?;
/// assert_eq!(acc.finish(Reduction::Mean)?, fl.loss(&logits, &targets, Reduction::Mean)?);
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

    /// Adds a chunk. An empty chunk is allowed and changes nothing.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] or [`Error::OutOfRange`] (the index is within this chunk); the
    /// accumulator is then unchanged.
    pub fn push(&mut self, predictions: &[f32], targets: &[f32]) -> Result<(), Error> {
        validate(predictions, targets, L::PREDICTIONS)?;
        self.accumulate(predictions, targets);
        Ok(())
    }

    fn accumulate(&mut self, predictions: &[f32], targets: &[f32]) {
        let loss = self.loss;
        self.sum.extend(
            predictions
                .iter()
                .zip(targets)
                .map(|(&p, &t)| [loss.element(p, t)]),
        );
    }

    /// Elements pushed so far.
    pub const fn count(&self) -> u64 {
        self.sum.count()
    }

    /// The reduced loss of everything pushed so far. The accumulator is not consumed, so a
    /// monitor can read a running value and keep streaming.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing has been pushed.
    pub fn finish(&self, reduction: Reduction) -> Result<f32, Error> {
        reduction.finish(&self.sum)
    }

    /// Forgets everything pushed, keeping the loss parameters.
    pub fn reset(&mut self) {
        self.sum = DetSum::new();
    }
}
