//! Binary focal loss, from logits ([`SigmoidFocal`]) or from probabilities ([`BinaryFocal`]).
//!
//! # Formula
//! Focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection",
//! <https://arxiv.org/abs/1708.02002>) scales cross-entropy by how wrong the prediction is:
//!
//! ```text
//! p_t     = p t + (1 - p)(1 - t)            probability given to the true label
//! alpha_t = alpha t + (1 - alpha)(1 - t)    alpha weights positives, 1 - alpha negatives
//! FL      = alpha_t (1 - p_t)^gamma CE,     CE = -t log p - (1 - t) log(1 - p)
//! ```
//!
//! With `alpha = None` there is no weighting (`alpha_t = 1`); with `gamma = 0` and no alpha it
//! is binary cross-entropy.
//!
//! # From logits: [`SigmoidFocal`] (torchvision semantics)
//! `torchvision.ops.sigmoid_focal_loss` computes `CE` with PyTorch's stable
//! `binary_cross_entropy_with_logits`. Here every piece comes from `e = exp(-|x|)` (see the
//! private `activation` module), so every finite logit is stable and `±inf` gives the limit:
//!
//! ```text
//! t = 1:   CE = softplus(-x)   1 - p_t = sigmoid(-x)   log(1 - p_t) = -softplus(x)
//! t = 0:   CE = softplus(x)    1 - p_t = sigmoid(x)    log(1 - p_t) = -softplus(-x)
//! ```
//!
//! The focal factor `(1 - p_t)^gamma` is a product for integer `gamma` (no `powf`; square and
//! multiply above 4) and `exp(gamma * log(1 - p_t))` otherwise, with the logarithm taken from
//! the softplus above: in log space `(1 - p_t)` can underflow without the factor becoming 0 or NaN (MONAI's
//! motivation, Project-MONAI/MONAI#2513).
//!
//! ## Soft targets
//! For `0 < t < 1` the frameworks disagree; [`SoftTargets`] chooses, and all three agree
//! exactly on hard targets:
//!
//! | [`SoftTargets`] | focal factor | used by |
//! |---|---|---|
//! | `Torchvision` (default) | `(p (1 - t) + (1 - p) t)^gamma`, i.e. `(1 - p_t)^gamma` as written above | torchvision, fvcore, Keras `BinaryFocalCrossentropy` |
//! | `Monai` | `sigmoid(-x (2t - 1))^gamma` | MONAI `FocalLoss` |
//! | `Kornia` | separate terms: `alpha t (1-p)^gamma (-log p) + (1-alpha)(1-t) p^gamma (-log(1-p))` | kornia `binary_focal_loss_with_logits` |
//! | `Smp` | `(1 - exp(-CE))^gamma` | `segmentation_models_pytorch.losses.FocalLoss` |
//!
//! For soft targets `CE = max(x, 0) - x t + log1p(exp(-|x|))`, evaluated as
//! `x (1 - t) + l` for `x >= 0` and `-x t + l` for `x < 0` so that no large terms cancel.
//!
//! ## Soft targets: accuracy
//! A power turns the relative error `r` of its base into `gamma r`, and `exp(gamma ln q)` turns
//! an absolute error `a` of `ln q` into `gamma a`. Rounded once in f32, MONAI's argument
//! `z = -x (2t - 1)` puts `|z| 2^-24` into `ln sigmoid(z)` and torchvision's
//! `q = p (1 - t) + (1 - p) t` about 2 ulp into `q`: up to 1.9e-6 relative at gamma 5.
//! So the soft paths (and only they: hard targets keep the kernel above, bit for bit) carry
//! every intermediate as a double word `hi + lo` (the private `dw` module: error-free sums and
//! products in f32, no FMA):
//! - `1 - t`, `2t - 1`, `alpha_t` and `z = -x (2t - 1)` exactly; `CE = |x| c + ln(1 + e)`.
//! - `ln(1 + e)` and `ln q` as `k ln 2 + log1pf(m - 1)` (absolute error about `2^-25`, where
//!   `logf`'s grows with `|ln q|`).
//! - Torchvision: `q = (a + b e) / (1 + e)` with the division's exact remainder.
//! - The factor: integer gamma by square and multiply on double words (no `powf`);
//!   real gamma as `expf(gamma ln q)` with the low word applied as `1 + lo`. MONAI's
//!   `sigmoid(z)^gamma` for `z < 0` (and kornia's smaller side) as `exp(gamma (z - ln(1 + e)))`
//!   for every gamma: `sigmoid(z)` is then about `exp(z)`, and a product of powers would
//!   multiply `expf`'s own error by gamma.
//! - `alpha_t factor CE` with both products' errors folded in, rounded once.
//!
//! What remains is `libm`'s own error in `exp(-|x|)`, `log1pf` and the final `expf` (each
//! below 1 ulp), times gamma where it enters a base; measured worst figures are in
//! `docs/numerics.md`. This costs more than the hard-target kernel (see the speed table there).
//!
//! # From probabilities: [`BinaryFocal`] (the seed article's `FocalLoss`, Keras)
//! `p` is clamped to `[clamp_min, clamp_max]`, then
//! `FL = alpha t (1 - p)^gamma (-log p) + (1 - alpha)(1 - t) p^gamma (-log(1 - p))`
//! (the Kornia form above; the same as torchvision for hard targets). [`BinaryFocal::seed`] is
//! the article's class: clamp `[1e-3, 0.999]`, alpha 0.25, gamma 2. [`BinaryFocal::keras`] is
//! Keras's `BinaryFocalCrossentropy`: clip `[1e-7, 1 - 1e-7]` in the logarithms only, the focal
//! factor from the unclipped `p`, torchvision's soft-target form.
//!
//! # Edge cases
//! | input | result |
//! |---|---|
//! | empty slices | [`Error::EmptyInput`] |
//! | different lengths | [`Error::LengthMismatch`] |
//! | target (or probability) outside `[0, 1]` | [`Error::OutOfRange`] with the index |
//! | NaN anywhere | NaN (propagates; see [`crate::first_non_finite`]) |
//! | logit `±inf` | the limit: `0` when right, `+inf` when wrong, `0` when the wrong side has weight 0 (`alpha` 0 or 1) |
//! | probability 0 or 1 with the clamp disabled | the same limits |
//!
//! # Accuracy
//! Against an f64 oracle, elementwise relative error below `1e-6` (about 8 ulp) wherever the
//! exact value is at least `1e-6`; the measured figures are in `docs/numerics.md`.

//!
//! # Where the code is
//! [`SigmoidFocal`] (hard targets, per element and, on vector hosts, in blocks whose
//! `exp(-|x|)` and `log1p` go through [`crate::lanes`]: the same bits) in `sigmoid.rs`, its
//! double-word soft-target paths in `soft.rs` on the arithmetic of `dw.rs`; [`BinaryFocal`] in
//! `binary.rs`; the focal factor `q^gamma` in `power.rs`.

mod binary;
mod dw;
mod grad;
mod power;
mod sigmoid;
mod soft;

pub use binary::BinaryFocal;
pub(crate) use power::Power;
pub use sigmoid::SigmoidFocal;
pub(crate) use sigmoid::soft_targets_built;

use crate::Error;

/// How a focal loss treats soft targets `0 < t < 1` (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SoftTargets {
    /// `(1 - p_t)^gamma` with `p_t = p t + (1 - p)(1 - t)`: torchvision, fvcore, Keras.
    #[default]
    Torchvision,
    /// `sigmoid(-x (2t - 1))^gamma`: MONAI `FocalLoss`.
    Monai,
    /// Separate positive and negative terms: kornia `binary_focal_loss_with_logits`.
    Kornia,
    /// `(1 - exp(-CE))^gamma`: `segmentation_models_pytorch` `focal_loss_with_logits`.
    Smp,
}

pub(crate) const fn check_alpha(alpha: Option<f32>) -> Result<(), Error> {
    match alpha {
        Some(a) if !(a >= 0.0 && a <= 1.0) => Err(Error::InvalidParameter("alpha")),
        _ => Ok(()),
    }
}

/// `weight * term`, except that a zero weight removes the term even when it is infinite: with
/// `alpha = 1` the negatives' term is zero for every finite logit, so its limit at `x = +inf`
/// is 0, not `0 * inf = NaN` (the multi-class losses follow the same rule). NaN still
/// propagates.
#[inline]
pub(crate) fn weighted(weight: f32, term: f32) -> f32 {
    if weight == 0.0 && term.is_infinite() {
        0.0
    } else {
        weight * term
    }
}
