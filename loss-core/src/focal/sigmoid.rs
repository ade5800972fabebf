//! [`SigmoidFocal`]: binary focal loss from logits, torchvision semantics.

use super::{Power, SoftTargets, check_alpha, weighted};
use crate::activation::Logit;
use crate::elementwise::{ElementLoss, Predictions, element_loss_methods};
use crate::{Error, Reduction};

/// Binary focal loss from logits, torchvision semantics (see the [module docs](super)).
///
/// # Examples
/// ```
/// use loss_core::{Reduction, focal::SigmoidFocal};
/// // torchvision.ops.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2, reduction="mean")
/// let fl = SigmoidFocal::torchvision();
/// let logits = [-2.0, -0.5, 0.0, 0.5, 2.0, 4.0];
/// let targets = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
/// let mean = fl.loss(&logits, &targets)?;
/// assert!((mean - 0.554_786_2).abs() < 1e-6);
/// // reduction="sum"
/// let sum = fl.with_reduction(Reduction::Sum).loss(&logits, &targets)?;
/// assert!((sum - 6.0 * mean).abs() < 1e-5);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SigmoidFocal {
    pub(super) alpha: Option<f32>,
    pub(super) power: Power,
    pub(super) soft_targets: SoftTargets,
    pub(super) reduction: Reduction,
}

element_loss_methods!(SigmoidFocal);

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
            reduction: Reduction::Mean,
        }
    }

    /// Any `alpha` in `[0, 1]` (or `None`: no weighting) and `gamma >= 0`.
    ///
    /// A configured loss can live in a `const` or `static`; the checks then run at compile
    /// time:
    /// ```
    /// use loss_core::focal::SigmoidFocal;
    /// const FOCAL: SigmoidFocal = match SigmoidFocal::new(Some(0.5), 1.5) {
    ///     Ok(loss) => loss,
    ///     Err(_) => panic!("invalid focal parameters"),
    /// };
    /// assert_eq!(FOCAL.gamma(), 1.5);
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"` or `"gamma"` (negative, NaN or infinite).
    pub const fn new(alpha: Option<f32>, gamma: f32) -> Result<Self, Error> {
        if let Err(e) = check_alpha(alpha) {
            return Err(e);
        }
        match Power::new(gamma) {
            Ok(power) => Ok(Self {
                alpha,
                power,
                soft_targets: SoftTargets::Torchvision,
                reduction: Reduction::Mean,
            }),
            Err(e) => Err(e),
        }
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
            reduction: Reduction::Mean,
        }
    }

    /// The same loss reduced with `reduction` (torchvision's `reduction="mean"` or `"sum"`;
    /// `"none"` is [`Self::loss_elementwise`]). The default is the mean.
    #[must_use]
    pub const fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
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
}

impl ElementLoss for SigmoidFocal {
    const PREDICTIONS: Predictions = Predictions::Logits;

    #[inline]
    fn element(&self, x: f32, t: f32) -> f32 {
        // One specialised copy of the hard kernel per label.
        if t == 1.0 {
            self.hard_element(x, true)
        } else if t == 0.0 {
            self.hard_element(x, false)
        } else {
            self.soft(x, t)
        }
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
    fn hard_element(&self, x: f32, positive: bool) -> f32 {
        let weight = if positive {
            self.alpha.unwrap_or(1.0)
        } else {
            self.alpha.map_or(1.0, |a| 1.0 - a)
        };
        weighted(weight, self.hard(&Logit::new(x), positive))
    }
}
