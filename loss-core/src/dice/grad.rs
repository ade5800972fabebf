//! The overlap losses' gradients with respect to the predictions: statistics, then a gradient
//! pass (see "Gradients" in the [module docs](super)).

use super::{Overlap, OverlapLoss, OverlapStats, stats_of};
use crate::Error;
use crate::elementwise::{Predictions, check_buffer, sample_len};
use crate::gradient::check_gradient;
use crate::mask::{BinaryTargets, Kernel, Reader, Target, read_targets};
use crate::sum::DetSum;

/// The second pass of an overlap loss's gradient: built from the statistics of the whole
/// channel ([`OverlapLoss::gradient`]), it writes `d loss / d prediction` of the data tile by
/// tile ([`OverlapGradient::tile`]), in any tiling, and checks that the tiles cover exactly the
/// elements the statistics counted ([`OverlapGradient::finish`]). Fixed-size, `Copy`.
///
/// # Examples
/// ```
/// use loss_core::{Predictions, dice::OverlapLoss};
/// let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
/// let (x, t) = ([2.0, -1.0, 0.5, -3.0], [1.0, 0.0, 1.0, 0.0]);
/// // Pass 1: the statistics, tile by tile.
/// let mut acc = dice.accumulator();
/// acc.push(&x[..2], &t[..2])?;
/// acc.push(&x[2..], &t[2..])?;
/// // Pass 2: the gradient, tile by tile (here in other tiles).
/// let mut pass = dice.gradient(&acc.stats()?)?;
/// let mut grad = [0.0; 4];
/// pass.tile(&x[..1], &t[..1], &mut grad[..1])?;
/// pass.tile(&x[1..], &t[1..], &mut grad[1..])?;
/// let loss = pass.finish()?;
/// // The one-shot call: the same loss and gradient.
/// let mut one_shot = [0.0; 4];
/// assert_eq!(dice.loss_and_grad(&x, &t, &mut one_shot)?, loss);
/// assert_eq!(one_shot, grad);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlapGradient {
    loss: OverlapLoss,
    /// Elements the statistics counted.
    count: u64,
    /// Elements the tiles have covered so far.
    covered: u64,
    /// `1 - score`, the loss's bits.
    value: f32,
    /// `d loss / d p = a + b t + c p` (see [`OverlapGradient::coefficients`]).
    a: f32,
    b: f32,
    c: f32,
}

impl OverlapLoss {
    /// The gradient pass for `stats`, the statistics of the whole channel (from
    /// [`OverlapLoss::stats`] or an [`OverlapAccumulator`](super::OverlapAccumulator)).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if the statistics count no element.
    pub fn gradient(&self, stats: &OverlapStats) -> Result<OverlapGradient, Error> {
        if stats.count == 0 {
            return Err(Error::EmptyInput);
        }
        let (numerator, denominator) = self.fraction(stats);
        let floored = self.denominator_floor > 0.0 && denominator < self.denominator_floor;
        let d = if floored {
            self.denominator_floor
        } else {
            denominator
        };
        let score = numerator / d;
        // A floored denominator is a constant: `clamp_min`'s backward is 0 below the floor
        // (and passes at it).
        let k_d = if floored { 0.0 } else { score / d };
        let (a, b, c) = OverlapGradient::coefficients(self, k_d, 1.0 / d);
        Ok(OverlapGradient {
            loss: *self,
            count: stats.count,
            covered: 0,
            value: 1.0 - score,
            a,
            b,
            c,
        })
    }

    /// The loss over a whole slice (the bits of [`OverlapLoss::loss`]) and its gradient with
    /// respect to every prediction into `grad`: the statistics pass, then the gradient pass.
    /// On logits the first pass keeps `exp(-|x|)` in `grad`, so the exponentials are computed
    /// once.
    ///
    /// # Errors
    /// As [`OverlapLoss::stats`], plus [`Error::GradientLength`] unless
    /// `grad.len() == predictions.len()`. On error `grad` is untouched.
    #[inline(always)]
    pub fn loss_and_grad<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        grad: &mut [f32],
    ) -> Result<f32, Error> {
        read_targets!(targets, t => self.loss_and_grad_of(predictions, t, grad))
    }

    fn loss_and_grad_of<R: Reader>(
        &self,
        predictions: &[f32],
        targets: R,
        grad: &mut [f32],
    ) -> Result<f32, Error> {
        targets.validate(predictions, self.predictions)?;
        if predictions.is_empty() {
            return Err(Error::EmptyInput);
        }
        check_gradient(predictions.len(), grad)?;
        self.sample_loss_and_grad(predictions, targets, grad)
    }

    /// Both passes over validated data with a gradient buffer of its length.
    #[inline(always)]
    fn sample_loss_and_grad<R: Reader>(
        &self,
        predictions: &[f32],
        targets: R,
        grad: &mut [f32],
    ) -> Result<f32, Error> {
        let mut sum = DetSum::new();
        if self.predictions == Predictions::Logits {
            targets.runs(
                predictions,
                &mut KeepExp {
                    loss: self,
                    sum: &mut sum,
                    e: &mut *grad,
                },
            );
        } else {
            self.add_to(&mut sum, predictions, targets);
        }
        let mut pass = self.gradient(&stats_of(&sum)?)?;
        let keep = self.predictions == Predictions::Logits;
        targets.runs(
            predictions,
            &mut WriteGrad {
                pass: &pass,
                grad,
                kept_exp: keep,
            },
        );
        pass.covered = pass.count;
        pass.finish()
    }

    /// The loss of each of `samples` equal-length samples into `losses[..samples]` (the bits
    /// of [`OverlapLoss::loss_per_sample`]) and the gradient of their sum into `grad` (for
    /// their mean, divide by `samples`).
    ///
    /// # Errors
    /// As [`OverlapLoss::loss_per_sample`], plus [`Error::GradientLength`]. On error neither
    /// buffer is touched.
    #[inline(always)]
    pub fn loss_and_grad_per_sample<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        samples: usize,
        losses: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), Error> {
        read_targets!(targets, t => self.loss_and_grad_per_sample_of(predictions, t, samples, losses, grad))
    }

    fn loss_and_grad_per_sample_of<R: Reader>(
        &self,
        predictions: &[f32],
        targets: R,
        samples: usize,
        losses: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), Error> {
        targets.validate(predictions, self.predictions)?;
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
            *o = self.sample_loss_and_grad(p, t, g)?;
        }
        Ok(())
    }

    /// `(numerator, denominator)` of the score before the floor (see [`OverlapLoss::score`]).
    #[inline]
    pub(super) fn fraction(&self, s: &OverlapStats) -> (f32, f32) {
        let (tp, p, t) = (s.intersection, s.prediction_sum, s.target_sum);
        match self.overlap {
            Overlap::Dice => (2.0 * tp + self.smooth_nr, (p + t) + self.smooth_dr),
            Overlap::Jaccard => (
                2.0 * tp + self.smooth_nr,
                2.0 * ((p + t) - tp) + self.smooth_dr,
            ),
            Overlap::Tversky { alpha, beta } => {
                let (fp, fn_) = (p - tp, t - tp);
                (
                    tp + self.smooth_nr,
                    ((tp + alpha * fp) + beta * fn_) + self.smooth_dr,
                )
            }
        }
    }
}

impl OverlapGradient {
    /// The loss the statistics give (`1 - score`, the bits of
    /// [`OverlapLoss::loss_from`]).
    pub const fn loss(&self) -> f32 {
        self.value
    }

    /// Elements the tiles have covered so far.
    pub const fn covered(&self) -> u64 {
        self.covered
    }

    /// Writes `d loss / d predictions[i]` of the next tile into `grad`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] or [`Error::OutOfRange`] as [`OverlapLoss::stats`],
    /// [`Error::GradientLength`] unless `grad.len() == predictions.len()`, and
    /// [`Error::StatisticsMismatch`] if the tiles would cover more elements than the
    /// statistics counted. On error `grad` and the pass are unchanged.
    #[inline(always)]
    pub fn tile<T: BinaryTargets>(
        &mut self,
        predictions: &[f32],
        targets: T,
        grad: &mut [f32],
    ) -> Result<(), Error> {
        read_targets!(targets, t => self.tile_of(predictions, t, grad))
    }

    fn tile_of<R: Reader>(
        &mut self,
        predictions: &[f32],
        targets: R,
        grad: &mut [f32],
    ) -> Result<(), Error> {
        targets.validate(predictions, self.loss.predictions)?;
        check_gradient(predictions.len(), grad)?;
        let covered = self.covered.saturating_add(predictions.len() as u64);
        if covered > self.count {
            return Err(Error::StatisticsMismatch {
                expected: saturate(self.count),
                found: saturate(covered),
            });
        }
        targets.runs(
            predictions,
            &mut WriteGrad {
                pass: self,
                grad,
                kept_exp: false,
            },
        );
        self.covered = covered;
        Ok(())
    }

    /// The loss, once the tiles have covered every element the statistics counted.
    ///
    /// # Errors
    /// [`Error::StatisticsMismatch`] if they cover fewer.
    pub const fn finish(&self) -> Result<f32, Error> {
        if self.covered != self.count {
            return Err(Error::StatisticsMismatch {
                expected: saturate(self.count),
                found: saturate(self.covered),
            });
        }
        Ok(self.value)
    }

    /// `d loss / d p = k_d dD/dp - k_n dN/dp` (`k_d = score / D`, `k_n = 1 / D`) is linear in
    /// `t` and `p`: with `dP = 1` (or `2p` squared), `dD = d0 + d1 t + d2 p` and `dN = n1 t`,
    /// it is `a + b t + c p`. Computed once per pass, so that each element costs two
    /// products and two sums.
    fn coefficients(loss: &OverlapLoss, k_d: f32, k_n: f32) -> (f32, f32, f32) {
        // dP/dp = p0 + p2 p.
        let (p0, p2) = if loss.squared { (0.0, 2.0) } else { (1.0, 0.0) };
        let (d0, d1, d2, n1) = match loss.overlap {
            Overlap::Dice => (p0, 0.0, p2, 2.0),
            // 2 (dP - t).
            Overlap::Jaccard => (2.0 * p0, -2.0, 2.0 * p2, 2.0),
            // t + alpha (dP - t) - beta t.
            Overlap::Tversky { alpha, beta } => (alpha * p0, (1.0 - alpha) - beta, alpha * p2, 1.0),
        };
        (k_d * d0, k_d * d1 - k_n * n1, k_d * d2)
    }

    /// `d loss / d p` of one probability.
    #[inline(always)]
    fn slope(&self, p: f32, t: f32) -> f32 {
        if self.loss.squared {
            (self.a + self.b * t) + self.c * p
        } else {
            self.a + self.b * t
        }
    }
}

/// A count as the errors report it.
const fn saturate(count: u64) -> usize {
    if count > usize::MAX as u64 {
        usize::MAX
    } else {
        count as usize
    }
}

/// The statistics pass on logits that also keeps `exp(-|x|)` of each element in `e` (the
/// gradient buffer), so that the gradient pass needs no second exponential.
struct KeepExp<'a, 'b> {
    loss: &'a OverlapLoss,
    sum: &'b mut DetSum<3>,
    e: &'b mut [f32],
}

impl Kernel for KeepExp<'_, '_> {
    #[inline(always)]
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]) {
        let (e, rest) = core::mem::take(&mut self.e)
            .split_at_mut_checked(predictions.len())
            .unwrap_or((&mut [], &mut []));
        self.e = rest;
        let squared = self.loss.squared;
        if crate::activation::BLOCK > 0 {
            // Vector hosts: the exponentials at once (`lanes`, libm's bits), then the sums.
            crate::activation::exp_neg_abs(predictions, e);
            for ((&x, &e), &t) in predictions.iter().zip(&*e).zip(targets) {
                let p = (if x >= 0.0 { 1.0 } else { e }) / (1.0 + e);
                let t = t.value();
                self.sum.add(if squared {
                    [p * t, p * p, t * t]
                } else {
                    [p * t, p, t]
                });
            }
            return;
        }
        let mut kept = e.iter_mut();
        // `sigmoid` as `activation::sigmoid` forms it (the same bits), its `e` kept.
        let mut sigmoid = |x: f32| {
            let e = libm::expf(-x.abs());
            if let Some(k) = kept.next() {
                *k = e;
            }
            (if x >= 0.0 { 1.0 } else { e }) / (1.0 + e)
        };
        if squared {
            self.sum.extend_pairs(predictions, targets, |x, t| {
                let (p, t) = (sigmoid(x), t.value());
                [p * t, p * p, t * t]
            });
        } else {
            self.sum.extend_pairs(predictions, targets, |x, t| {
                let (p, t) = (sigmoid(x), t.value());
                [p * t, p, t]
            });
        }
    }
}

/// The gradient pass over one run: `d loss / d p`, times `p (1 - p)` on logits.
struct WriteGrad<'a, 'b> {
    pass: &'a OverlapGradient,
    grad: &'b mut [f32],
    /// Whether `grad` holds `exp(-|x|)` from [`KeepExp`].
    kept_exp: bool,
}

impl Kernel for WriteGrad<'_, '_> {
    #[inline(always)]
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]) {
        let (grad, rest) = core::mem::take(&mut self.grad)
            .split_at_mut_checked(predictions.len())
            .unwrap_or((&mut [], &mut []));
        self.grad = rest;
        let pass = self.pass;
        match pass.loss.predictions {
            // One loop per form, the coefficients in registers: the two products and sums of
            // `slope`, nothing else per element.
            Predictions::Probabilities if pass.loss.squared => {
                let (a, b, c) = (pass.a, pass.b, pass.c);
                for ((g, &p), &t) in grad.iter_mut().zip(predictions).zip(targets) {
                    *g = (a + b * t.value()) + c * p;
                }
            }
            Predictions::Probabilities => {
                let (a, b) = (pass.a, pass.b);
                let n = grad.len().min(targets.len());
                let (grad, targets) = (
                    grad.get_mut(..n).unwrap_or(&mut []),
                    targets.get(..n).unwrap_or(&[]),
                );
                // Four at a time (at opt-level "s" the plain loop is not unrolled, and its
                // bookkeeping costs as much as the arithmetic).
                let (g4, g_tail) = grad.as_chunks_mut::<4>();
                let (t4, t_tail) = targets.as_chunks::<4>();
                for (g, t) in g4.iter_mut().zip(t4) {
                    let [t0, t1, t2, t3] = *t;
                    *g = [
                        a + b * t0.value(),
                        a + b * t1.value(),
                        a + b * t2.value(),
                        a + b * t3.value(),
                    ];
                }
                for (g, &t) in g_tail.iter_mut().zip(t_tail) {
                    *g = a + b * t.value();
                }
            }
            Predictions::Logits => {
                for ((g, &x), &t) in grad.iter_mut().zip(predictions).zip(targets) {
                    let e = if self.kept_exp {
                        *g
                    } else {
                        libm::expf(-x.abs())
                    };
                    // sigmoid(x) and sigmoid(-x) from e, with one division.
                    let r = 1.0 / (1.0 + e);
                    let (p, q) = if x >= 0.0 { (r, e * r) } else { (e * r, r) };
                    *g = pass.slope(p, t.value()) * (p * q);
                }
            }
        }
    }
}
