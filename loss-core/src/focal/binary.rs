//! [`BinaryFocal`]: binary focal loss from clamped probabilities.

use super::{Power, SoftTargets, check_alpha, weighted};
use crate::elementwise::{ElementLoss, Predictions, element_loss_methods};
use crate::{Error, Reduction};

/// Binary focal loss from probabilities with a clamp (the seed article's `FocalLoss`, Keras's
/// `BinaryFocalCrossentropy`).
///
/// # Examples
/// ```
/// use loss_core::{Reduction, focal::BinaryFocal};
/// let fl = BinaryFocal::seed();
/// // p_t = 0.05 for a positive: 0.25 * 0.95^2 * -ln(0.05)
/// let loss = fl.with_reduction(Reduction::Sum).loss(&[0.05], &[1.0])?;
/// assert!((loss - 0.25 * 0.95f32 * 0.95 * 2.995_732_3).abs() < 1e-6);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BinaryFocal {
    pub(super) alpha: Option<f32>,
    pub(super) power: Power,
    pub(super) clamp_min: f32,
    pub(super) clamp_max: f32,
    pub(super) soft_targets: SoftTargets,
    pub(super) clamp_logs_only: bool,
    reduction: Reduction,
}

element_loss_methods!(BinaryFocal);

impl BinaryFocal {
    /// The seed article's `FocalLoss`: alpha 0.25, gamma 2, clamp `[1e-3, 0.999]` applied to
    /// `p` everywhere, separate positive and negative terms.
    pub const fn seed() -> Self {
        Self {
            alpha: Some(0.25),
            power: Power {
                gamma: 2.0,
                integer: Some(2),
            },
            clamp_min: 1e-3,
            clamp_max: 0.999,
            soft_targets: SoftTargets::Kornia,
            clamp_logs_only: false,
            reduction: Reduction::Mean,
        }
    }

    /// Keras 3 `BinaryFocalCrossentropy` on probabilities: the cross-entropy uses `p` clipped
    /// to `[1e-7, 1 - 1e-7]`, the focal factor `(1 - p_t)^gamma` the unclipped `p`, and soft
    /// targets (label smoothing) the torchvision form. `alpha` is `Some` only with
    /// `apply_class_balancing=True`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"` or `"gamma"`.
    pub const fn keras(alpha: Option<f32>, gamma: f32) -> Result<Self, Error> {
        match Self::new(alpha, gamma, 1e-7, 1.0 - 1e-7) {
            Ok(mut s) => {
                s.soft_targets = SoftTargets::Torchvision;
                s.clamp_logs_only = true;
                Ok(s)
            }
            Err(e) => Err(e),
        }
    }

    /// Any `alpha` in `[0, 1]` (or `None`), `gamma >= 0` and clamp bounds with
    /// `0 <= clamp_min < clamp_max <= 1` (`0, 1` disables the clamp; a probability of exactly 0
    /// or 1 on the wrong side then gives `+inf`). Soft targets use separate positive and
    /// negative terms, as the seed article does.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"`, `"gamma"` or `"clamp"`.
    pub const fn new(
        alpha: Option<f32>,
        gamma: f32,
        clamp_min: f32,
        clamp_max: f32,
    ) -> Result<Self, Error> {
        if let Err(e) = check_alpha(alpha) {
            return Err(e);
        }
        let power = match Power::new(gamma) {
            Ok(power) => power,
            Err(e) => return Err(e),
        };
        if !(0.0 <= clamp_min && clamp_min < clamp_max && clamp_max <= 1.0) {
            return Err(Error::InvalidParameter("clamp"));
        }
        Ok(Self {
            alpha,
            power,
            clamp_min,
            clamp_max,
            soft_targets: SoftTargets::Kornia,
            clamp_logs_only: false,
            reduction: Reduction::Mean,
        })
    }

    /// The same loss with another soft-target definition: `Torchvision` (`(1 - p_t)^gamma`
    /// times the cross-entropy) or `Kornia` (separate terms, the default).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"soft_targets"` for `Monai` and `Smp`, which are
    /// defined on logits only.
    pub const fn with_soft_targets(mut self, soft_targets: SoftTargets) -> Result<Self, Error> {
        if matches!(soft_targets, SoftTargets::Monai | SoftTargets::Smp) {
            return Err(Error::InvalidParameter("soft_targets"));
        }
        self.soft_targets = soft_targets;
        Ok(self)
    }

    /// The same loss reduced with `reduction` (the default is the mean; `"none"` is
    /// [`Self::loss_elementwise`]).
    #[must_use]
    pub const fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// How the loss reduces its elements.
    pub const fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// The positive-class weight, if any.
    pub const fn alpha(&self) -> Option<f32> {
        self.alpha
    }

    /// The focusing exponent.
    pub const fn gamma(&self) -> f32 {
        self.power.gamma
    }

    /// The clamp bounds `(min, max)`.
    pub const fn clamp(&self) -> (f32, f32) {
        (self.clamp_min, self.clamp_max)
    }

    /// The soft-target definition.
    pub const fn soft_targets(&self) -> SoftTargets {
        self.soft_targets
    }

    /// Whether the clamp applies to the logarithms only (Keras) rather than to `p` everywhere.
    pub const fn clamp_logs_only(&self) -> bool {
        self.clamp_logs_only
    }
}

impl BinaryFocal {
    /// `p` clamped for the logarithms, and the `p` the focal factor reads (unclamped for
    /// Keras). Written out rather than `clamp` so that NaN stays NaN.
    #[inline(always)]
    pub(super) fn clamped(&self, p: f32) -> (f32, f32) {
        let clamped = if p < self.clamp_min {
            self.clamp_min
        } else if p > self.clamp_max {
            self.clamp_max
        } else {
            p
        };
        (clamped, if self.clamp_logs_only { p } else { clamped })
    }

    /// `(alpha, 1 - alpha)`, or no weighting.
    #[inline(always)]
    pub(super) fn weights(&self) -> (f32, f32) {
        self.alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a))
    }

    /// The unweighted terms of a positive, `-(1 - p)^gamma log p`, and of a negative,
    /// `-p^gamma log(1 - p)`.
    #[inline(always)]
    fn positive_term(&self, clamped: f32, pf: f32) -> f32 {
        -(self.power.of(1.0 - pf, || libm::log1pf(-pf)) * libm::logf(clamped))
    }

    #[inline(always)]
    fn negative_term(&self, clamped: f32, pf: f32) -> f32 {
        -(self.power.of(pf, || libm::logf(pf)) * libm::log1pf(-clamped))
    }
}

impl ElementLoss for BinaryFocal {
    const PREDICTIONS: Predictions = Predictions::Probabilities;

    #[inline]
    fn element(&self, p: f32, t: f32) -> f32 {
        // One specialised copy of the hard kernel per label.
        if t == 1.0 {
            return self.hard_element(p, true);
        }
        if t == 0.0 {
            return self.hard_element(p, false);
        }
        let (clamped, pf) = self.clamped(p);
        let (a_pos, a_neg) = self.weights();
        if self.soft_targets == SoftTargets::Torchvision {
            let q = pf * (1.0 - t) + (1.0 - pf) * t;
            let ce = -(t * libm::logf(clamped) + (1.0 - t) * libm::log1pf(-clamped));
            let alpha_t = self.alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
            alpha_t * (self.power.of(q, || libm::logf(q)) * ce)
        } else {
            weighted(a_pos * t, self.positive_term(clamped, pf))
                + weighted(a_neg * (1.0 - t), self.negative_term(clamped, pf))
        }
    }

    #[inline]
    fn element_grad(&self, p: f32, t: f32) -> (f32, f32) {
        self.element_grad_of(p, t)
    }

    #[inline(always)]
    fn hard_element_grad(&self, p: f32, positive: bool) -> (f32, f32) {
        self.hard_element_grad_of(p, positive)
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn with_reduction(self, reduction: Reduction) -> Self {
        Self::with_reduction(self, reduction)
    }

    // Always inlined into `element` (whose one call site in the element loop is inlined), so
    // the hard-target kernel is laid out as one piece there.
    #[inline(always)]
    fn hard_element(&self, p: f32, positive: bool) -> f32 {
        let (clamped, pf) = self.clamped(p);
        let (a_pos, a_neg) = self.weights();
        if positive {
            weighted(a_pos, self.positive_term(clamped, pf))
        } else {
            weighted(a_neg, self.negative_term(clamped, pf))
        }
    }
}
