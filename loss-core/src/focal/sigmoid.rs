//! [`SigmoidFocal`]: binary focal loss from logits, torchvision semantics.

use super::{Power, SoftTargets, check_alpha, weighted};
use crate::activation::{self, Logit, positive_part};
use crate::elementwise::{ElementLoss, Internal, Predictions, element_loss_methods};
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

    #[inline]
    fn element_grad(&self, x: f32, t: f32) -> (f32, f32) {
        self.element_grad_of(x, t)
    }

    #[inline(always)]
    fn hard_element_grad(&self, x: f32, positive: bool) -> (f32, f32) {
        self.hard_element_grad_of(x, positive)
    }

    #[inline]
    fn elements_grad(
        &self,
        x: &[f32],
        t: &[f32],
        losses: &mut [f32],
        grad: &mut [f32],
        _: Internal,
    ) {
        self.block_grad(x, t, losses, grad);
    }

    // With `soft-conventions` the trait's `Ok(())`, so that the default build is unchanged.
    #[cfg(not(feature = "soft-conventions"))]
    #[inline(always)]
    fn built(&self) -> Result<(), Error> {
        soft_targets_built(self.soft_targets)
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

    #[inline]
    fn elements(&self, x: &[f32], t: &[f32], out: &mut [f32], _: Internal) {
        if activation::BLOCK == 0 {
            for ((o, &x), &t) in out.iter_mut().zip(x).zip(t) {
                *o = self.element(x, t);
            }
            return;
        }
        // `max(1)`: `chunks(0)` would panic; with `BLOCK = 0` this is never reached.
        let size = activation::BLOCK.max(1);
        for ((x, t), out) in x.chunks(size).zip(t.chunks(size)).zip(out.chunks_mut(size)) {
            self.block(x, t, out);
        }
    }
}

/// `Ok` when the build has the soft-target formula: without the feature `soft-conventions`
/// only torchvision's is built, and another is [`Error::InvalidParameter`] (`"soft_targets"`).
#[inline(always)]
pub(crate) fn soft_targets_built(soft_targets: SoftTargets) -> Result<(), Error> {
    if cfg!(feature = "soft-conventions") || matches!(soft_targets, SoftTargets::Torchvision) {
        Ok(())
    } else {
        Err(Error::InvalidParameter("soft_targets"))
    }
}

impl SigmoidFocal {
    /// [`ElementLoss::element`] of at most [`activation::BLOCK`] elements, the same bits: the
    /// hard-target kernel ([`SigmoidFocal::hard`] after [`Logit::new`]) rewritten as passes
    /// over the block without branches, so that they vectorise: `exp(-|x|)` and its `log1p`
    /// in one [`crate::lanes`] call each, the focal factor by [`Power::of_each`], the weight by
    /// a select. Elements with a soft target (`0 < t < 1`, or NaN) are computed as well, then
    /// overwritten by [`SigmoidFocal::soft`], element by element as before.
    #[inline]
    fn block(&self, x: &[f32], t: &[f32], out: &mut [f32]) {
        let n = x.len().min(t.len()).min(out.len()).min(activation::BLOCK);
        let (mut q, mut l) = ([0.0f32; activation::BLOCK], [0.0f32; activation::BLOCK]);
        let (Some(x), Some(t), Some(out), Some(q), Some(l)) = (
            x.get(..n),
            t.get(..n),
            out.get_mut(..n),
            q.get_mut(..n),
            l.get_mut(..n),
        ) else {
            return;
        };
        // e = exp(-|x|) (in `q` for now) and l = log1p(e): `Logit::new`.
        activation::exp_neg_abs(x, q);
        l.copy_from_slice(q);
        crate::lanes::ln_1p(l);
        // The base of the focal factor into `q`, the cross-entropy into `out`:
        //   t = 1: q = sigmoid(-x), CE = softplus(-x);  t = 0: q = sigmoid(x), CE = softplus(x)
        // (`Logit::sigmoid_neg`, `sigmoid`, `softplus_neg`, `softplus`: the numerator is `e`
        // where the sigmoid is below 1/2, else 1).
        for (((q, ce), &x), (&t, &l)) in q
            .iter_mut()
            .zip(out.iter_mut())
            .zip(x)
            .zip(t.iter().zip(&*l))
        {
            let positive = t == 1.0;
            let e = *q;
            *q = (if (x >= 0.0) == positive { e } else { 1.0 }) / (1.0 + e);
            *ce = positive_part(if positive { -x } else { x }) + l;
        }
        // The factor: `Power::of` with `log q = -softplus(x)` (t = 1) or `-softplus(-x)`.
        self.power.of_each(q, |log_q| {
            for ((v, &x), (&t, &l)) in log_q.iter_mut().zip(x).zip(t.iter().zip(&*l)) {
                *v = -(positive_part(if t == 1.0 { x } else { -x }) + l);
            }
        });
        let (w1, w0) = (
            self.alpha.unwrap_or(1.0),
            self.alpha.map_or(1.0, |a| 1.0 - a),
        );
        for ((o, &factor), &t) in out.iter_mut().zip(&*q).zip(t) {
            *o = weighted(if t == 1.0 { w1 } else { w0 }, factor * *o);
        }
        // Any soft target (or NaN)? A fold without early exit or short circuit: it vectorises.
        let soft = t
            .iter()
            .fold(false, |soft, &t| soft | ((t != 1.0) & (t != 0.0)));
        if soft {
            for ((o, &x), &t) in out.iter_mut().zip(x).zip(t) {
                if t != 1.0 && t != 0.0 {
                    *o = self.soft(x, t);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::tests::{LENGTHS, SPECIAL_LOGITS, logits};
    use crate::sum::{DetSum, Reduction};

    /// Every gamma branch of `Power` (integer 0-4, square and multiply, real), alpha `None`,
    /// 0 and 1 (zero weights), and the soft-target forms.
    fn losses() -> Vec<SigmoidFocal> {
        let mut out = vec![SigmoidFocal::torchvision()];
        for gamma in [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 0.5, 2.5] {
            for alpha in [None, Some(0.25), Some(0.0), Some(1.0)] {
                out.push(SigmoidFocal::new(alpha, gamma).unwrap());
            }
        }
        for soft in [SoftTargets::Monai, SoftTargets::Kornia, SoftTargets::Smp] {
            out.push(SigmoidFocal::torchvision().with_soft_targets(soft));
        }
        out
    }

    /// Targets: mostly hard (0, 1, and -0), with soft values and NaN in some runs.
    fn targets(n: usize, soft: bool, seed: u32) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                match state >> 28 {
                    0..=6 => 0.0,
                    7 => -0.0,
                    8..=13 => 1.0,
                    14 if soft => 0.05,
                    15 if soft => [0.7, f32::NAN, 0.999][(state >> 8) as usize % 3],
                    _ => 1.0,
                }
            })
            .collect()
    }

    /// The blocks (`elements`, and every provided method, which go through them on vector
    /// hosts) give each element the bits of `element` (NaN payloads included), and the sums
    /// the bits of adding those one by one in element order (a NaN sum: any NaN).
    #[test]
    fn blocks_give_each_element_its_own_bits() {
        let every_special: Vec<f32> = SPECIAL_LOGITS.iter().flat_map(|&x| [x, x]).collect();
        let hard: Vec<f32> = (0..every_special.len()).map(|i| (i % 2) as f32).collect();
        for (case, fl) in losses().into_iter().enumerate() {
            let mut inputs = vec![(every_special.clone(), hard.clone())];
            for (k, n) in LENGTHS.into_iter().enumerate() {
                let seed = (case * 31 + k) as u32;
                inputs.push((logits(n, seed), targets(n, k % 2 == 1, seed)));
            }
            for (x, t) in inputs {
                let n = x.len();
                let want: Vec<f32> = x.iter().zip(&t).map(|(&x, &t)| fl.element(x, t)).collect();
                let mut got = vec![f32::NAN; n];
                fl.elements(&x, &t, &mut got, Internal(()));
                let mut elementwise = vec![f32::NAN; n];
                if n > 0 {
                    fl.loss_elementwise(&x, &t, &mut elementwise).unwrap();
                }
                for i in 0..n {
                    let what = || format!("{fl:?}: x {:e}, t {}", x[i], t[i]);
                    assert_eq!(got[i].to_bits(), want[i].to_bits(), "{}", what());
                    assert_eq!(elementwise[i].to_bits(), want[i].to_bits(), "{}", what());
                }
                if n == 0 {
                    continue;
                }
                let mut reference = DetSum::<1>::new();
                want.iter().for_each(|&v| reference.add([v]));
                // A NaN sum is any NaN: Rust leaves the payload of an operation on two NaNs
                // to the compiler (the golden vectors' rule too).
                let bits = |r: Result<f32, crate::Error>| {
                    r.map_or(0, |v| {
                        if v.is_nan() {
                            f32::NAN.to_bits()
                        } else {
                            v.to_bits()
                        }
                    })
                };
                for reduction in [Reduction::Mean, Reduction::Sum] {
                    let reference = bits(reduction.finish(&reference));
                    let fl = fl.with_reduction(reduction);
                    assert_eq!(bits(fl.loss(&x, &t)), reference, "{fl:?}");
                    // Streaming in chunks that straddle the blocks.
                    for chunk in [1, 5, 100, 300] {
                        let mut acc = fl.accumulator();
                        for (x, t) in x.chunks(chunk).zip(t.chunks(chunk)) {
                            acc.push(x, t).unwrap();
                        }
                        assert_eq!(bits(acc.finish()), reference, "{fl:?}");
                    }
                }
                // Per sample: samples of 1, 3 and n elements where n allows.
                for samples in [1, 3, n] {
                    if n % samples != 0 {
                        continue;
                    }
                    let mut out = vec![0.0; samples];
                    fl.with_reduction(Reduction::Sum)
                        .loss_per_sample(&x, &t, samples, &mut out)
                        .unwrap();
                    let m = n / samples;
                    for (o, w) in out.iter().zip(want.chunks(m)) {
                        let mut s = DetSum::<1>::new();
                        w.iter().for_each(|&v| s.add([v]));
                        assert_eq!(bits(Ok(*o)), bits(Reduction::Sum.finish(&s)));
                    }
                }
            }
        }
    }

    /// Without the feature `soft-conventions` a convention other than torchvision's is refused
    /// by every call (never NaN); with it, every convention gives a number. Hard targets and
    /// torchvision's convention work in every build. (`cargo test -p loss-core --lib
    /// --no-default-features lean_` runs it without the feature.)
    #[test]
    fn lean_builds_refuse_the_conventions_they_leave_out() {
        use crate::multiclass::{ClassAlpha, ClassLoss, Layout, OneVsRestFocal, Shape, Targets};
        let (x, soft, hard) = ([0.5f32, -1.0], [0.25f32, 1.0], [1.0f32, 0.0]);
        let built = cfg!(feature = "soft-conventions");
        for s in [SoftTargets::Monai, SoftTargets::Kornia, SoftTargets::Smp] {
            let loss = SigmoidFocal::torchvision().with_soft_targets(s);
            let refused = Err(Error::InvalidParameter("soft_targets"));
            let mut out = [0.0f32; 2];
            let results = [
                loss.loss(&x, &soft[..]).map(|_| ()),
                loss.loss(&x, &hard[..]).map(|_| ()),
                loss.loss_elementwise(&x, &soft[..], &mut out),
                loss.loss_per_sample(&x, &soft[..], 1, &mut out),
                loss.accumulator().push(&x, &soft[..]),
                loss.loss_and_grad(&x, &soft[..], &mut [0.0; 2]).map(|_| ()),
            ];
            for r in results {
                assert_eq!(r, if built { Ok(()) } else { refused });
            }
            let ovr = OneVsRestFocal::new(ClassAlpha::None, 2.0, None)
                .unwrap()
                .with_soft_targets(s);
            let shape = Shape::new(1, 2, 1, Layout::ChannelsFirst).unwrap();
            let r = ovr.loss_elementwise(&shape, &x, Targets::dense(&soft), &mut out);
            assert_eq!(r, if built { Ok(()) } else { refused });
        }
        let loss = SigmoidFocal::torchvision();
        assert!(loss.loss(&x, &soft[..]).unwrap().is_finite());
        // Without `real-gamma` a non-integer gamma is refused where the loss is made.
        let real = SigmoidFocal::new(None, 1.5).map(|_| ());
        let expect = if cfg!(feature = "real-gamma") {
            Ok(())
        } else {
            Err(Error::InvalidParameter("gamma"))
        };
        assert_eq!(real, expect);
        assert!(SigmoidFocal::new(None, 3.0).is_ok());
    }
}
