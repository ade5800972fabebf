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

use crate::Error;
use crate::activation::Logit;
use crate::elementwise::{ElementLoss, Predictions};

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

/// `q^gamma` for `q` in `[0, 1]`: products (square and multiply) for integer gamma up to 255,
/// else `exp(gamma * log q)`.
///
/// Products keep the relative error near `gamma` times that of `q`; going through `exp` adds
/// the rounding of `gamma * log q`, about `|gamma log q| * 2^-24` relative, which exceeds
/// `1e-6` for gamma = 5 (measured in `docs/numerics.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Power {
    gamma: f32,
    integer: Option<u8>,
}

impl Power {
    pub(crate) const ZERO: Self = Self {
        gamma: 0.0,
        integer: Some(0),
    };

    pub(crate) fn new(gamma: f32) -> Result<Self, Error> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::InvalidParameter("gamma"));
        }
        let integer = (gamma <= 255.0 && gamma == libm::truncf(gamma)).then_some(gamma as u8);
        Ok(Self { gamma, integer })
    }

    /// `q^gamma`, given `q` and a way to get `log q` accurately (only called for real gamma).
    #[inline]
    pub(crate) fn of(&self, q: f32, log_q: impl FnOnce() -> f32) -> f32 {
        match self.integer {
            Some(0) => 1.0,
            Some(1) => q,
            Some(2) => q * q,
            Some(3) => q * q * q,
            Some(4) => {
                let q2 = q * q;
                q2 * q2
            }
            Some(n) => {
                // Square and multiply, from the lowest bit: a fixed sequence for each n.
                let (mut result, mut base, mut n) = (1.0, q, n);
                while n > 0 {
                    if n & 1 == 1 {
                        result *= base;
                    }
                    base *= base;
                    n >>= 1;
                }
                result
            }
            None => libm::expf(self.gamma * log_q()),
        }
    }
}

pub(crate) fn check_alpha(alpha: Option<f32>) -> Result<(), Error> {
    match alpha {
        Some(a) if !(0.0..=1.0).contains(&a) => Err(Error::InvalidParameter("alpha")),
        _ => Ok(()),
    }
}

/// `weight * term`, except that a zero weight removes the term even when it is infinite: with
/// `alpha = 1` the negatives' term is zero for every finite logit, so its limit at `x = +inf`
/// is 0, not `0 * inf = NaN`. NaN still propagates.
#[inline]
fn weighted(weight: f32, term: f32) -> f32 {
    if weight == 0.0 && term.is_infinite() {
        0.0
    } else {
        weight * term
    }
}

/// Binary focal loss from logits, torchvision semantics (see the [module docs](self)).
///
/// # Examples
/// ```
/// use loss_core::{ElementLoss, Reduction, focal::SigmoidFocal};
/// // torchvision.ops.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2, reduction="mean")
/// let fl = SigmoidFocal::torchvision();
/// let logits = [-2.0, -0.5, 0.0, 0.5, 2.0, 4.0];
/// let targets = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
/// let mean = fl.loss(&logits, &targets, Reduction::Mean)?;
/// assert!((mean - 0.554_786_2).abs() < 1e-6);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SigmoidFocal {
    alpha: Option<f32>,
    power: Power,
    soft_targets: SoftTargets,
}

impl SigmoidFocal {
    /// torchvision's defaults: `alpha = 0.25`, `gamma = 2`.
    pub const fn torchvision() -> Self {
        Self {
            alpha: Some(0.25),
            power: Power {
                gamma: 2.0,
                integer: Some(2),
            },
            soft_targets: SoftTargets::Torchvision,
        }
    }

    /// Any `alpha` in `[0, 1]` (or `None`: no weighting) and `gamma >= 0`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"` or `"gamma"` (negative, NaN or infinite).
    pub fn new(alpha: Option<f32>, gamma: f32) -> Result<Self, Error> {
        check_alpha(alpha)?;
        Ok(Self {
            alpha,
            power: Power::new(gamma)?,
            soft_targets: SoftTargets::Torchvision,
        })
    }

    /// Assembles a loss from validated parts (the per-class losses build one per class).
    pub(crate) const fn from_parts(
        alpha: Option<f32>,
        power: Power,
        soft_targets: SoftTargets,
    ) -> Self {
        Self {
            alpha,
            power,
            soft_targets,
        }
    }

    /// The same loss with another soft-target definition.
    #[must_use]
    pub const fn with_soft_targets(mut self, soft_targets: SoftTargets) -> Self {
        self.soft_targets = soft_targets;
        self
    }

    /// The positive-class weight, if any.
    pub const fn alpha(&self) -> Option<f32> {
        self.alpha
    }

    /// The focusing exponent.
    pub const fn gamma(&self) -> f32 {
        self.power.gamma
    }

    /// The soft-target definition.
    pub const fn soft_targets(&self) -> SoftTargets {
        self.soft_targets
    }

    /// Unweighted focal loss of a hard positive with margin `m` (`m = x` for `t = 1`,
    /// `m = -x` for `t = 0`): `sigmoid(-m)^gamma * softplus(-m)`.
    #[inline]
    fn hard(&self, s: &Logit, positive: bool) -> f32 {
        if positive {
            self.power.of(s.sigmoid_neg(), || -s.softplus()) * s.softplus_neg()
        } else {
            self.power.of(s.sigmoid(), || -s.softplus_neg()) * s.softplus()
        }
    }

    fn soft(&self, s: &Logit, t: f32) -> f32 {
        let (x, l) = (s.x, s.l);
        let ce = || {
            if x >= 0.0 {
                x * (1.0 - t) + l
            } else {
                -x * t + l
            }
        };
        let weight = |a: f32, b: f32| {
            self.alpha
                .map_or(1.0, |alpha| alpha * a + (1.0 - alpha) * b)
        };
        match self.soft_targets {
            SoftTargets::Torchvision => {
                // p_t lies between t and 1 - t, so q >= min(t, 1 - t) > 0: no underflow.
                let q = s.sigmoid() * (1.0 - t) + s.sigmoid_neg() * t;
                weight(t, 1.0 - t) * (self.power.of(q, || libm::logf(q)) * ce())
            }
            SoftTargets::Monai => {
                let d = 2.0 * t - 1.0;
                // `-x * 0` would be NaN for infinite x; the factor is sigmoid(0) for every x.
                let z = Logit::new(if d == 0.0 { 0.0 } else { -x * d });
                // At x = ±inf on the wrong side of 1/2 the factor decays like exp(-gamma |x d|)
                // and CE grows like |x|: the limit is 0, not 0 * inf.
                let factor = self.power.of(z.sigmoid(), || -z.softplus_neg());
                weight(t, 1.0 - t) * weighted(factor, ce())
            }
            SoftTargets::Smp => {
                // 1 - exp(-CE) without cancellation when CE is small.
                let ce = ce();
                let q = -libm::expm1f(-ce);
                weight(t, 1.0 - t) * (self.power.of(q, || libm::logf(q)) * ce)
            }
            SoftTargets::Kornia => {
                let (a_pos, a_neg) = self.alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
                let pos = self.power.of(s.sigmoid_neg(), || -s.softplus()) * s.softplus_neg();
                let neg = self.power.of(s.sigmoid(), || -s.softplus_neg()) * s.softplus();
                weighted(a_pos * t, pos) + weighted(a_neg * (1.0 - t), neg)
            }
        }
    }
}

impl ElementLoss for SigmoidFocal {
    const PREDICTIONS: Predictions = Predictions::Logits;

    #[inline]
    fn element(&self, x: f32, t: f32) -> f32 {
        let s = Logit::new(x);
        if t == 1.0 {
            weighted(self.alpha.unwrap_or(1.0), self.hard(&s, true))
        } else if t == 0.0 {
            weighted(self.alpha.map_or(1.0, |a| 1.0 - a), self.hard(&s, false))
        } else {
            self.soft(&s, t)
        }
    }
}

/// Binary focal loss from probabilities with a clamp (the seed article's `FocalLoss`, Keras's
/// `BinaryFocalCrossentropy`).
///
/// # Examples
/// ```
/// use loss_core::{ElementLoss, Reduction, focal::BinaryFocal};
/// let fl = BinaryFocal::seed();
/// // p_t = 0.05 for a positive: 0.25 * 0.95^2 * -ln(0.05)
/// let loss = fl.loss(&[0.05], &[1.0], Reduction::Sum)?;
/// assert!((loss - 0.25 * 0.95f32 * 0.95 * 2.995_732_3).abs() < 1e-6);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BinaryFocal {
    alpha: Option<f32>,
    power: Power,
    clamp_min: f32,
    clamp_max: f32,
    soft_targets: SoftTargets,
    clamp_logs_only: bool,
}

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
        }
    }

    /// Keras 3 `BinaryFocalCrossentropy` on probabilities: the cross-entropy uses `p` clipped
    /// to `[1e-7, 1 - 1e-7]`, the focal factor `(1 - p_t)^gamma` the unclipped `p`, and soft
    /// targets (label smoothing) the torchvision form. `alpha` is `Some` only with
    /// `apply_class_balancing=True`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"` or `"gamma"`.
    pub fn keras(alpha: Option<f32>, gamma: f32) -> Result<Self, Error> {
        let mut s = Self::new(alpha, gamma, 1e-7, 1.0 - 1e-7)?;
        s.soft_targets = SoftTargets::Torchvision;
        s.clamp_logs_only = true;
        Ok(s)
    }

    /// Any `alpha` in `[0, 1]` (or `None`), `gamma >= 0` and clamp bounds with
    /// `0 <= clamp_min < clamp_max <= 1` (`0, 1` disables the clamp; a probability of exactly 0
    /// or 1 on the wrong side then gives `+inf`). Soft targets use separate positive and
    /// negative terms, as the seed article does.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"`, `"gamma"` or `"clamp"`.
    pub fn new(
        alpha: Option<f32>,
        gamma: f32,
        clamp_min: f32,
        clamp_max: f32,
    ) -> Result<Self, Error> {
        check_alpha(alpha)?;
        let power = Power::new(gamma)?;
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
        })
    }

    /// The same loss with another soft-target definition: `Torchvision` (`(1 - p_t)^gamma`
    /// times the cross-entropy) or `Kornia` (separate terms, the default).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"soft_targets"` for `Monai` and `Smp`, which are
    /// defined on logits only.
    pub fn with_soft_targets(mut self, soft_targets: SoftTargets) -> Result<Self, Error> {
        if matches!(soft_targets, SoftTargets::Monai | SoftTargets::Smp) {
            return Err(Error::InvalidParameter("soft_targets"));
        }
        self.soft_targets = soft_targets;
        Ok(self)
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

impl ElementLoss for BinaryFocal {
    const PREDICTIONS: Predictions = Predictions::Probabilities;

    #[inline]
    fn element(&self, p: f32, t: f32) -> f32 {
        // Written out rather than `clamp` so that NaN stays NaN.
        let clamped = if p < self.clamp_min {
            self.clamp_min
        } else if p > self.clamp_max {
            self.clamp_max
        } else {
            p
        };
        // `pf` feeds the focal factor, `clamped` the logarithms.
        let pf = if self.clamp_logs_only { p } else { clamped };
        let (a_pos, a_neg) = self.alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
        let log_p = || libm::logf(clamped);
        let log_not_p = || libm::log1pf(-clamped);
        let pos = || -(self.power.of(1.0 - pf, || libm::log1pf(-pf)) * log_p());
        let neg = || -(self.power.of(pf, || libm::logf(pf)) * log_not_p());
        if t == 1.0 {
            weighted(a_pos, pos())
        } else if t == 0.0 {
            weighted(a_neg, neg())
        } else if self.soft_targets == SoftTargets::Torchvision {
            let q = pf * (1.0 - t) + (1.0 - pf) * t;
            let ce = -(t * log_p() + (1.0 - t) * log_not_p());
            let alpha_t = self.alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
            alpha_t * (self.power.of(q, || libm::logf(q)) * ce)
        } else {
            weighted(a_pos * t, pos()) + weighted(a_neg * (1.0 - t), neg())
        }
    }
}
