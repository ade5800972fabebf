//! Gradients with respect to the predictions: the backward pass of every binary loss, with no
//! heap, into caller buffers.
//!
//! # The API
//! | loss | one pass | what `grad` holds |
//! |---|---|---|
//! | [`SigmoidFocal`], [`BinaryFocal`] | `loss_and_grad` | `d loss / d predictions[i]`, the loss reduced with its [`Reduction`] |
//! | | `loss_and_grad_elementwise` | `d losses[i] / d predictions[i]` (`reduction="none"`, the gradient of the sum) |
//! | | `loss_and_grad_per_sample` | the gradient of the sum of the per-sample losses |
//! | [`SoftmaxFocal`] (logits) | [`SoftmaxFocal::loss_and_grad_elementwise`] | the gradient of the sum of the terms with respect to every score, in the scores' layout |
//! | [`OneVsRestFocal`] | [`OneVsRestFocal::loss_and_grad_elementwise`] | each term's derivative with respect to its score, in the scores' layout |
//! | [`OverlapLoss`] (dice, Jaccard, Tversky) | [`OverlapLoss::loss_and_grad`] | `d loss / d predictions[i]` |
//! | | [`OverlapLoss::loss_and_grad_per_sample`] | the gradient of the sum of the per-sample losses |
//! | | [`OverlapLoss::gradient`], then [`OverlapGradient::tile`] | the same, a tile at a time after the statistics pass |
//!
//! ```
//! use loss_core::focal::SigmoidFocal;
//! let fl = SigmoidFocal::torchvision();
//! let (x, t) = ([2.0, -1.0, 0.5], [1.0, 0.0, 0.0]);
//! let mut grad = [0.0; 3];
//! let loss = fl.loss_and_grad(&x, &t, &mut grad)?;
//! assert_eq!(loss, fl.loss(&x, &t)?);
//! // Descent raises the positive's logit and lowers the negatives'.
//! assert!(grad[0] < 0.0 && grad[1] > 0.0 && grad[2] > 0.0);
//! # Ok::<(), loss_core::Error>(())
//! ```
//!
//! The loss each call returns has the bits of the forward call (`loss`, `loss_elementwise`,
//! `loss_per_sample`), so a training step needs no second forward pass. `grad` must have
//! exactly one element per prediction ([`Error::GradientLength`]); on any error no buffer is
//! touched.
//!
//! The focal losses are local: element `i`'s derivative needs only element `i` (and, for the
//! mean, the element count). The overlap losses are not: every derivative needs the sums
//! `Σpt, Σp, Σt` over the whole channel. Streaming data therefore takes two passes: the
//! statistics ([`OverlapLoss::accumulator`], as for the loss), then [`OverlapGradient::tile`]
//! tile by tile, which checks that the tiles cover exactly the elements the statistics
//! counted ([`Error::StatisticsMismatch`]).
//!
//! # Derivatives
//! With `p = sigmoid(x)`, `m` the margin (`x` for a positive, `-x` for a negative),
//! `u = sigmoid(-m) = 1 - p_t` and `CE = softplus(-m) = -ln p_t`:
//!
//! ```text
//! hard focal from logits:   d/dx alpha_t u^gamma CE = ∓ alpha_t u^gamma (gamma p_t CE + u)
//! ```
//!
//! (`-` for a positive). This form has no `u^(gamma - 1)`, so it is finite for every gamma,
//! and `p_t CE <= 1/e`. The soft-target forms differentiate their own factor
//! (`q = p(1 - t) + (1 - p)t`, `sigmoid(-x(2t - 1))`, `1 - exp(-CE)`, or the two kornia terms,
//! each the hard form above), with `d CE / dx = p - t`. From probabilities
//! ([`BinaryFocal`]) the terms `-(1 - p)^gamma ln p` and `-p^gamma ln(1 - p)` are
//! differentiated with `d/dp q^gamma = gamma q^(gamma - 1)` (0 for `gamma = 0`, as PyTorch's
//! `pow` backward). The overlap losses' derivatives are in [`crate::dice`] ("Gradients").
//!
//! # Edges (as the frameworks' autograd, except where said)
//! - **Clamp** ([`BinaryFocal`]): `torch.clamp`'s backward: the derivative passes where
//!   `clamp_min <= p <= clamp_max` (the bounds included) and is 0 outside. Keras clips the
//!   logarithms only: the focal factor's derivative always passes.
//! - **Infinite logits**: the limit of the derivative (`∓ alpha_t` on the wrong side, 0 on the
//!   right side). PyTorch's autograd gives NaN on the wrong side (`sigmoid`'s backward
//!   `0 * inf`), which `loss-tools batch` reproduces for torchvision (docs/framework-vectors.md).
//! - **Zero weights**: a term with weight 0 (alpha 0 or 1) has derivative 0, as its loss is 0.
//! - **NaN** propagates, as in the forward pass (autograd through `torch.clamp` would give 0 for
//!   a NaN probability).
//!
//! # Accuracy
//! Against the f64 oracle's analytic derivatives (themselves checked against central finite
//! differences in f64): measured figures and the rule in `docs/numerics.md`. The derivatives
//! are plain f32 (the soft-target losses' double words are not carried into them).
//!
//! [`SigmoidFocal`]: crate::focal::SigmoidFocal
//! [`BinaryFocal`]: crate::focal::BinaryFocal
//! [`Reduction`]: crate::Reduction
//! [`OverlapLoss`]: crate::dice::OverlapLoss
//! [`OneVsRestFocal`]: crate::multiclass::OneVsRestFocal
//! [`SoftmaxFocal`]: crate::multiclass::SoftmaxFocal
//! [`SoftmaxFocal::loss_and_grad_elementwise`]: crate::multiclass::SoftmaxFocal::loss_and_grad_elementwise
//! [`OneVsRestFocal::loss_and_grad_elementwise`]: crate::multiclass::OneVsRestFocal::loss_and_grad_elementwise
//! [`OverlapLoss::loss_and_grad`]: crate::dice::OverlapLoss::loss_and_grad
//! [`OverlapLoss::loss_and_grad_per_sample`]: crate::dice::OverlapLoss::loss_and_grad_per_sample
//! [`OverlapLoss::gradient`]: crate::dice::OverlapLoss::gradient
//! [`OverlapLoss::accumulator`]: crate::dice::OverlapLoss::accumulator
//! [`OverlapGradient::tile`]: crate::dice::OverlapGradient::tile

use crate::Error;
use crate::activation::BLOCK;
use crate::elementwise::{ElementLoss, Internal, check_buffer, sample_len};
use crate::mask::{BinaryTargets, Kernel, Reader, Target, read_targets};
use crate::sum::{DetSum, Reduction};

/// Checks that a gradient buffer has exactly `expected` elements.
pub(crate) const fn check_gradient(expected: usize, grad: &[f32]) -> Result<(), Error> {
    if grad.len() != expected {
        return Err(Error::GradientLength {
            expected,
            found: grad.len(),
        });
    }
    Ok(())
}

/// What a gradient is divided by for `reduction` over `n` elements: `n` for the mean (as
/// PyTorch's `mean` backward), none for the sum.
fn divisor(reduction: Reduction, n: usize) -> Option<f32> {
    match reduction {
        // `usize as f32` rounds to nearest, as `Reduction::finish` does.
        Reduction::Mean => Some(n as f32),
        Reduction::Sum => None,
    }
}

#[inline(always)]
pub(crate) fn loss_and_grad<L: ElementLoss, T: BinaryTargets>(
    loss: &L,
    predictions: &[f32],
    targets: T,
    grad: &mut [f32],
) -> Result<f32, Error> {
    read_targets!(targets, t => loss_and_grad_of(loss, predictions, t, grad))
}

fn loss_and_grad_of<L: ElementLoss, R: Reader>(
    loss: &L,
    predictions: &[f32],
    targets: R,
    grad: &mut [f32],
) -> Result<f32, Error> {
    loss.built()?;
    targets.validate(predictions, L::PREDICTIONS)?;
    if predictions.is_empty() {
        return Err(Error::EmptyInput);
    }
    check_gradient(predictions.len(), grad)?;
    let mut sum = DetSum::new();
    targets.runs(
        predictions,
        &mut GradElements {
            loss,
            sum: Some(&mut sum),
            losses: &mut [],
            grad,
            divisor: divisor(loss.reduction(), predictions.len()),
        },
    );
    loss.reduction().finish(&sum)
}

#[inline(always)]
pub(crate) fn loss_and_grad_elementwise<L: ElementLoss, T: BinaryTargets>(
    loss: &L,
    predictions: &[f32],
    targets: T,
    losses: &mut [f32],
    grad: &mut [f32],
) -> Result<(), Error> {
    read_targets!(targets, t => loss_and_grad_elementwise_of(loss, predictions, t, losses, grad))
}

fn loss_and_grad_elementwise_of<L: ElementLoss, R: Reader>(
    loss: &L,
    predictions: &[f32],
    targets: R,
    losses: &mut [f32],
    grad: &mut [f32],
) -> Result<(), Error> {
    loss.built()?;
    targets.validate(predictions, L::PREDICTIONS)?;
    if predictions.is_empty() {
        return Err(Error::EmptyInput);
    }
    check_buffer(predictions.len(), losses)?;
    check_gradient(predictions.len(), grad)?;
    targets.runs(
        predictions,
        &mut GradElements {
            loss,
            sum: None,
            losses,
            grad,
            divisor: None,
        },
    );
    Ok(())
}

#[inline(always)]
pub(crate) fn loss_and_grad_per_sample<L: ElementLoss, T: BinaryTargets>(
    loss: &L,
    predictions: &[f32],
    targets: T,
    samples: usize,
    losses: &mut [f32],
    grad: &mut [f32],
) -> Result<(), Error> {
    read_targets!(targets, t => loss_and_grad_per_sample_of(loss, predictions, t, samples, losses, grad))
}

fn loss_and_grad_per_sample_of<L: ElementLoss, R: Reader>(
    loss: &L,
    predictions: &[f32],
    targets: R,
    samples: usize,
    losses: &mut [f32],
    grad: &mut [f32],
) -> Result<(), Error> {
    loss.built()?;
    targets.validate(predictions, L::PREDICTIONS)?;
    let n = sample_len(predictions.len(), samples)?.get();
    check_buffer(samples, losses)?;
    check_gradient(predictions.len(), grad)?;
    let mut rest = targets;
    for ((o, p), g) in losses
        .iter_mut()
        .zip(predictions.chunks_exact(n))
        .zip(grad.chunks_exact_mut(n))
    {
        let (t, tail) = rest.split_at(n);
        rest = tail;
        let mut sum = DetSum::new();
        t.runs(
            p,
            &mut GradElements {
                loss,
                sum: Some(&mut sum),
                losses: &mut [],
                grad: g,
                divisor: divisor(loss.reduction(), n),
            },
        );
        *o = loss.reduction().finish(&sum)?;
    }
    Ok(())
}

/// Each run's losses (added to `sum`, or written to the rest of `losses`) and derivatives
/// (written to the rest of `grad`, divided by `divisor`).
struct GradElements<'a, 'b, L> {
    loss: &'a L,
    sum: Option<&'b mut DetSum<1>>,
    losses: &'a mut [f32],
    grad: &'a mut [f32],
    divisor: Option<f32>,
}

impl<L: ElementLoss> Kernel for GradElements<'_, '_, L> {
    #[inline(always)]
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]) {
        let n = predictions.len();
        let (grad, rest) = core::mem::take(&mut self.grad)
            .split_at_mut_checked(n)
            .unwrap_or((&mut [], &mut []));
        self.grad = rest;
        let divisor = self.divisor;
        let scale = |g: f32| divisor.map_or(g, |d| g / d);
        if BLOCK > 0 {
            // Vector hosts: a block at a time through `elements_grad` (hard targets read as
            // 0.0 / 1.0), the same bits; the losses summed in order, or written out.
            let (mut values, mut targets_f32) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
            let size = BLOCK.max(1);
            let mut losses = core::mem::take(&mut self.losses);
            for ((p, t), g) in predictions
                .chunks(size)
                .zip(targets.chunks(size))
                .zip(grad.chunks_mut(size))
            {
                let t = B::values(t, &mut targets_f32);
                let out = match self.sum {
                    Some(_) => values.get_mut(..p.len()).unwrap_or(&mut []),
                    None => {
                        let (out, rest) = losses
                            .split_at_mut_checked(p.len())
                            .unwrap_or((&mut [], &mut []));
                        losses = rest;
                        out
                    }
                };
                self.loss.elements_grad(p, t, out, g, Internal(()));
                if let Some(sum) = self.sum.as_deref_mut() {
                    out.iter().for_each(|&v| sum.add([v]));
                }
                g.iter_mut().for_each(|g| *g = scale(*g));
            }
            self.losses = losses;
            return;
        }
        if let Some(sum) = self.sum.as_deref_mut() {
            for ((g, &p), &t) in grad.iter_mut().zip(predictions).zip(targets) {
                let (value, slope) = t.element_grad(self.loss, p);
                sum.add([value]);
                *g = scale(slope);
            }
        } else {
            let (losses, rest) = core::mem::take(&mut self.losses)
                .split_at_mut_checked(n)
                .unwrap_or((&mut [], &mut []));
            self.losses = rest;
            for (((o, g), &p), &t) in losses
                .iter_mut()
                .zip(grad.iter_mut())
                .zip(predictions)
                .zip(targets)
            {
                (*o, *g) = t.element_grad(self.loss, p);
            }
        }
    }
}
