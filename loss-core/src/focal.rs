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

use crate::Error;
use crate::activation::Logit;
use crate::elementwise::{ElementLoss, Predictions};
use dw::Dw;

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

    /// `q^gamma` for a double-word `q` in `(0, 1]` (the soft-target paths): square and multiply
    /// in double words for integer gamma (the same sequence as [`Power::of`]), else
    /// `exp(gamma ln q)` with `ln q` in two words ([`Dw::ln`]).
    fn of_dw(&self, q: Dw) -> Dw {
        match self.integer {
            Some(0) => Dw::ONE,
            Some(mut n) => {
                let (mut result, mut base) = (None::<Dw>, q);
                loop {
                    if n & 1 == 1 {
                        result = Some(result.map_or(base, |r| r.mul(base)));
                    }
                    n >>= 1;
                    if n == 0 {
                        break;
                    }
                    base = base.mul(base);
                }
                result.unwrap_or(Dw::ONE)
            }
            None => q.ln().scale(self.gamma).exp(),
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

    /// Soft target `0 < t < 1`, in double words (see "Soft targets: accuracy" in the
    /// [module docs](self)).
    fn soft(&self, x: f32, t: f32) -> f32 {
        // d = 1 + e exactly, and its logarithm log1p(exp(-|x|)) in two words.
        let e = libm::expf(-x.abs());
        let (d_hi, d_lo) = dw::fast_two_sum(1.0, e);
        let d = Dw { hi: d_hi, lo: d_lo };
        let ln_d = d.ln();
        let ce = soft_ce(x, t, ln_d);
        let w = || {
            self.alpha.map_or(Dw::ONE, |a| {
                let (hi, lo) = dw::two_prod(a, t);
                Dw { hi, lo }.add(Dw::one_minus(a).mul(Dw::one_minus(t)))
            })
        };
        match self.soft_targets {
            SoftTargets::Torchvision => {
                // q = p (1 - t) + (1 - p) t = (a + b e) / d, with a the weight of the larger
                // probability; q >= min(t, 1 - t) > 0.
                let (a, b) = if x >= 0.0 {
                    (Dw::one_minus(t), Dw::exact(t))
                } else {
                    (Dw::exact(t), Dw::one_minus(t))
                };
                let n = a.add(b.scale(e));
                let q_hi = n.hi / d.hi;
                // The division's remainder n - q_hi d, exactly (n.hi - p is Sterbenz-exact).
                let (p, pe) = dw::two_prod(q_hi, d.hi);
                let q_lo = (((n.hi - p) - pe) + n.lo - q_hi * d.lo) / d.hi;
                let factor = self.power.of_dw(Dw { hi: q_hi, lo: q_lo });
                dw::product(w(), factor, ce)
            }
            SoftTargets::Monai => {
                // z = -x (2t - 1) = z_hi + z_lo: 2t - 1 exactly, then the product exactly.
                let (d_hi, d_lo) = dw::two_sum(2.0 * t, -1.0);
                // `-x * 0` would be NaN for infinite x; the factor is sigmoid(0) for every x.
                let (z_hi, z_lo) = if d_hi == 0.0 {
                    (0.0, 0.0)
                } else if x.abs() < dw::SAFE {
                    let (p, pe) = dw::two_prod(x, d_hi);
                    dw::fast_two_sum(-p, -(pe + x * d_lo))
                } else {
                    // |z| >= 2^-25 SAFE: sigmoid(z) is 0 or 1 to every bit.
                    (-x * d_hi, 0.0)
                };
                let ez = libm::expf(-z_hi.abs());
                let (dz_hi, dz_lo) = dw::fast_two_sum(1.0, ez);
                let dz = Dw {
                    hi: dz_hi,
                    lo: dz_lo,
                };
                let factor = sigmoid_power(&self.power, z_hi, z_lo, ez, dz, || dz.ln());
                // At x = ±inf on the wrong side of 1/2 the factor decays like exp(-gamma |x d|)
                // and CE grows like |x|: the limit is 0, not 0 * inf.
                if factor.hi == 0.0 && ce.hi.is_infinite() {
                    return 0.0;
                }
                dw::product(w(), factor, ce)
            }
            SoftTargets::Smp => {
                // 1 - exp(-CE) without cancellation when CE is small; CE's low word enters
                // through the derivative exp(-CE) = 1 - q.
                let q = -libm::expm1f(-ce.hi);
                let factor = self.power.of_dw(Dw {
                    hi: q,
                    lo: ce.lo * (1.0 - q),
                });
                dw::product(w(), factor, ce)
            }
            SoftTargets::Kornia => {
                // alpha t sigmoid(-x)^gamma softplus(-x) + (1 - alpha)(1 - t) sigmoid(x)^gamma
                // softplus(x); softplus(±x) = max(±x, 0) + ln d.
                let softplus = |m: f32| {
                    if m <= 0.0 {
                        ln_d
                    } else if m < dw::SAFE {
                        Dw::exact(m).add(ln_d)
                    } else {
                        Dw::exact(m)
                    }
                };
                let (w_pos, w_neg) = match self.alpha {
                    Some(a) => {
                        let (hi, lo) = dw::two_prod(a, t);
                        (Dw { hi, lo }, Dw::one_minus(a).mul(Dw::one_minus(t)))
                    }
                    None => (Dw::exact(t), Dw::one_minus(t)),
                };
                let term = |w: Dw, m: f32| {
                    let sp = softplus(m);
                    // A zero weight removes an infinite term (see `weighted`).
                    if w.hi == 0.0 && sp.hi.is_infinite() {
                        return 0.0;
                    }
                    let factor = sigmoid_power(&self.power, m, 0.0, e, d, || ln_d);
                    dw::product(w, factor, sp)
                };
                term(w_pos, -x) + term(w_neg, x)
            }
        }
    }
}

/// Soft-target cross-entropy `max(x, 0) - x t + log1p(exp(-|x|))` as `|x| c + ln d` with
/// `c = 1 - t` for `x >= 0` and `c = t` for `x < 0` (no cancellation), in two words.
fn soft_ce(x: f32, t: f32, ln_d: Dw) -> Dw {
    let m = x.abs();
    let c = if x >= 0.0 {
        Dw::one_minus(t)
    } else {
        Dw::exact(t)
    };
    if m < dw::SAFE {
        let (p, pe) = dw::two_prod(m, c.hi);
        let (s, se) = dw::two_sum(p, ln_d.hi);
        let (hi, lo) = dw::fast_two_sum(s, se + ((pe + m * c.lo) + ln_d.lo));
        Dw { hi, lo }
    } else {
        // Huge, infinite or NaN: ln d is negligible or NaN already.
        Dw::exact(m * c.hi + ln_d.hi)
    }
}

/// `sigmoid(z)^gamma` in two words for `z = z_hi + z_lo`, given `ez = exp(-|z_hi|)`,
/// `d = 1 + ez` exactly and `ln_d() = ln d`. `z_lo` enters through
/// `d/dz ln sigmoid(z) = sigmoid(-z)`.
///
/// For `z_hi < 0` the power is taken in log space, `exp(gamma (z_hi - ln d))`, for every gamma:
/// `sigmoid(z)` is then about `exp(z)`, and a product of powers would multiply `expf`'s
/// rounding by gamma, where `exp` of the exact `gamma z_hi` rounds once.
fn sigmoid_power(
    power: &Power,
    z_hi: f32,
    z_lo: f32,
    ez: f32,
    d: Dw,
    ln_d: impl FnOnce() -> Dw,
) -> Dw {
    if power.integer == Some(0) {
        return Dw::ONE;
    }
    if z_hi >= 0.0 {
        let slope = z_lo * (ez / d.hi);
        if power.integer.is_some() {
            // sigmoid(z_hi) = 1 / d = s (1 + r): s = fl(1 / d.hi), r from the exact remainder.
            let s = 1.0 / d.hi;
            let (p, pe) = dw::two_prod(s, d.hi);
            let r = ((1.0 - p) - pe) - s * d.lo + slope;
            power.of_dw(Dw { hi: s, lo: s * r })
        } else {
            let ln_d = ln_d();
            Dw {
                hi: -ln_d.hi,
                lo: slope - ln_d.lo,
            }
            .scale(power.gamma)
            .exp()
        }
    } else {
        let ln_d = ln_d();
        Dw::exact(z_hi)
            .scale(power.gamma)
            .add(
                Dw {
                    hi: -ln_d.hi,
                    lo: z_lo / d.hi - ln_d.lo,
                }
                .scale(power.gamma),
            )
            .exp()
    }
}

impl ElementLoss for SigmoidFocal {
    const PREDICTIONS: Predictions = Predictions::Logits;

    #[inline]
    fn element(&self, x: f32, t: f32) -> f32 {
        if t == 1.0 {
            weighted(self.alpha.unwrap_or(1.0), self.hard(&Logit::new(x), true))
        } else if t == 0.0 {
            weighted(
                self.alpha.map_or(1.0, |a| 1.0 - a),
                self.hard(&Logit::new(x), false),
            )
        } else {
            self.soft(x, t)
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

/// Double-word arithmetic in f32 for the soft-target paths: a value is carried as an unevaluated
/// sum `hi + lo` with `|lo|` about `2^-24 |hi|` or less, so that roundings that a power or an
/// exponential would amplify are not made.
///
/// The error-free transformations are Knuth's two-sum ([`two_sum`]), Dekker's fast two-sum
/// ([`fast_two_sum`]) and Dekker's two-product with Veltkamp's splitting ([`two_prod`];
/// `4097 = 2^12 + 1` for a 24-bit significand), as in Ogita, Rump and Oishi 2005, "Accurate Sum
/// and Dot Product" (SIAM J. Sci. Comput. 26(6)). They need only IEEE 754 round-to-nearest
/// `+ - *`, which every target has; Rust never contracts `a * b + c` into an FMA, so the results
/// are the same bits everywhere. The splitting overflows above about `2^115`, so products with
/// an operand or result beyond [`SAFE`] skip the error term (one ordinary rounding there).
mod dw {
    /// Magnitude up to which [`two_prod`] computes its error term.
    pub(super) const SAFE: f32 = 1e30;
    /// `ln 2 = LN2_HI + LN2_LO` with `LN2_HI` 15 significant bits, so `k * LN2_HI` is exact for
    /// `|k| < 2^9` (the split used by FreeBSD's `expf`).
    const LN2_HI: f32 = 6.931_457_5e-1;
    const LN2_LO: f32 = 1.428_606_8e-6;

    /// `a + b = s + e` exactly (two-sum).
    #[inline]
    pub(super) fn two_sum(a: f32, b: f32) -> (f32, f32) {
        let s = a + b;
        let bb = s - a;
        (s, (a - (s - bb)) + (b - bb))
    }

    /// `a + b = s + e` exactly when `a == 0` or `|a| >= |b|` (fast two-sum).
    #[inline]
    pub(super) fn fast_two_sum(a: f32, b: f32) -> (f32, f32) {
        let s = a + b;
        (s, b - (s - a))
    }

    #[inline]
    fn split(a: f32) -> (f32, f32) {
        let c = 4097.0 * a;
        let hi = c - (c - a);
        (hi, a - hi)
    }

    /// `a b = p + e` exactly (two-product), barring underflow; `e = 0` beyond [`SAFE`].
    #[inline]
    pub(super) fn two_prod(a: f32, b: f32) -> (f32, f32) {
        let p = a * b;
        if a.abs() < SAFE && b.abs() < SAFE && p.abs() < SAFE {
            let (ah, al) = split(a);
            let (bh, bl) = split(b);
            (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
        } else {
            (p, 0.0)
        }
    }

    /// A double-word value `hi + lo`.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Dw {
        pub hi: f32,
        pub lo: f32,
    }

    impl Dw {
        pub const ONE: Self = Self::exact(1.0);

        pub const fn exact(v: f32) -> Self {
            Self { hi: v, lo: 0.0 }
        }

        /// `1 - v`, exactly.
        #[inline]
        pub fn one_minus(v: f32) -> Self {
            let (hi, lo) = two_sum(1.0, -v);
            Self { hi, lo }
        }

        #[inline]
        pub fn add(self, o: Self) -> Self {
            let (hi, e) = two_sum(self.hi, o.hi);
            Self {
                hi,
                lo: e + (self.lo + o.lo),
            }
        }

        #[inline]
        pub fn mul(self, o: Self) -> Self {
            let (hi, e) = two_prod(self.hi, o.hi);
            Self {
                hi,
                lo: e + (self.hi * o.lo + self.lo * o.hi),
            }
        }

        /// `g (hi + lo)`.
        #[inline]
        pub fn scale(self, g: f32) -> Self {
            let (hi, e) = two_prod(g, self.hi);
            Self {
                hi,
                lo: e + g * self.lo,
            }
        }

        /// `ln(hi + lo)` for `hi > 0`, with an absolute error of about `2^-25`: `hi = 2^k m`,
        /// `m` in `[sqrt(1/2), sqrt(2)]`, so `ln = k ln 2 + log1p(m - 1)` with `m - 1` exact
        /// (Sterbenz), `k ln 2` in two words and `|log1p(m - 1)| <= 0.35` rounded by `log1pf`;
        /// `lo` enters as `log1p(lo / hi)` to second order. The error no longer grows with
        /// `|ln|`, as `logf`'s does (`|ln| 2^-24`). Not positive and finite: `logf(hi)`.
        pub fn ln(self) -> Self {
            let h = self.hi;
            if h.is_nan() || h <= 0.0 || h == f32::INFINITY {
                return Self::exact(libm::logf(h));
            }
            // Subnormals are scaled into the normal range first.
            let (v, k0) = if h < f32::MIN_POSITIVE {
                (h * 16_777_216.0, -24)
            } else {
                (h, 0)
            };
            let bits = v.to_bits();
            // The exponent field of a positive normal float is 1..=254: no overflow.
            let mut k = (bits >> 23) as i32 - 127 + k0;
            let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
            if m > core::f32::consts::SQRT_2 {
                m *= 0.5;
                k += 1;
            }
            let kf = k as f32;
            let (s, e) = fast_two_sum(kf * LN2_HI, libm::log1pf(m - 1.0));
            let c = self.lo / h;
            let (hi, lo) = two_sum(s, e + (kf * LN2_LO + (c - 0.5 * c * c)));
            Self { hi, lo }
        }

        /// `exp(hi + lo) = expf(hi) (1 + lo)`: only `expf`'s own rounding remains.
        pub fn exp(self) -> Self {
            let f = libm::expf(self.hi);
            Self {
                hi: f,
                lo: if f > 0.0 && f < SAFE {
                    f * self.lo
                } else {
                    0.0
                },
            }
        }
    }

    /// `w f c` for a finite or infinite `c` and `w, f` in `[0, 1]`, rounded once at the end:
    /// `(f c) w` with both products' errors and the low words carried to first order.
    pub(super) fn product(w: Dw, f: Dw, c: Dw) -> f32 {
        let (p1, e1) = two_prod(f.hi, c.hi);
        let (p2, e2) = two_prod(p1, w.hi);
        if !p2.is_finite() {
            return p2;
        }
        p2 + (e2 + e1 * w.hi + p1 * w.lo + w.hi * (f.lo * c.hi + f.hi * c.lo))
    }
}
