//! Soft dice, Jaccard and Tversky losses on one channel.
//!
//! # Formulas
//! From the soft overlap statistics of predictions `p` (probabilities, or `sigmoid(x)` of
//! logits computed on the fly) and targets `t`:
//!
//! ```text
//! tp = Σ p t      P = Σ p   (Σ p² when squared)      T = Σ t   (Σ t² when squared)
//! fp = P - tp     fn = T - tp
//!
//! dice     = (2 tp + smooth_nr) / (P + T + smooth_dr)                 (Milletari et al. 2016)
//! jaccard  = (2 tp + smooth_nr) / (2 (tp + fp + fn) + smooth_dr)      (MONAI `jaccard=True`)
//! tversky  = (tp + smooth_nr) / (tp + alpha fp + beta fn + smooth_dr) (Salehi et al. 2017)
//! loss     = 1 - score
//! ```
//!
//! These are MONAI's `DiceLoss` (lines 195–196 of `monai/losses/dice.py`, v1.5.0) and
//! `TverskyLoss`, with MONAI's defaults `smooth_nr = smooth_dr = 1e-5`. Tversky's `alpha`
//! weights false positives and `beta` false negatives; `alpha = beta = 0.5` is dice up to the
//! smoothing (`(tp + s)/(…)` against `(2 tp + s)/(…)`). MONAI's Jaccard keeps the smoothing
//! un-halved, so it equals `(tp + s/2) / (union + s/2)`.
//! References: Milletari et al., V-Net, <https://arxiv.org/abs/1606.04797>;
//! Salehi et al., Tversky loss, <https://arxiv.org/abs/1706.05721>.
//!
//! # The seed article's two dice losses
//! | preset | article's code | here | note |
//! |---|---|---|---|
//! | [`OverlapLoss::seed_torch_dice`] | `2 (Σxy + 1) / (Σx + Σy + 1)` per sample, `1 - mean` | dice, `smooth_nr = 2`, `smooth_dr = 1` | smoothing *inside* the factor 2: not bounded by `[0, 1]`; empty masks give `-1` |
//! | [`OverlapLoss::seed_keras_dice`] | `(2 I + 1) / (Σy + Σp + 1)` over the whole batch | dice, `smooth_nr = smooth_dr = 1` | the usual form |
//!
//! `2 (Σxy + 1)` and `2 Σxy + 2` round identically (scaling by 2 is exact), so the first preset
//! reproduces the article bit for bit up to its final `1 - mean(score)`, which
//! [`OverlapLoss::loss_per_sample`] followed by [`Reduction::Mean`](crate::Reduction) computes
//! as `mean(1 - score)`.
//!
//! # Gradients
//! The loss `1 - N / D` (numerator `N`, denominator `D` above) has, for every element,
//!
//! ```text
//! d loss / d p_i = (N / D²) dD/dp_i - (1 / D) dN/dp_i        (times p_i (1 - p_i) on logits)
//!
//! dice:     dN = 2 t_i   dD = dP                dP = 1, or 2 p_i when squared
//! jaccard:  dN = 2 t_i   dD = 2 (dP - t_i)
//! tversky:  dN = t_i     dD = t_i + alpha (dP - t_i) - beta t_i
//! ```
//!
//! A floored denominator (smp's `clamp_min(eps)`) is a constant below the floor: `dD` is
//! dropped there, as `clamp_min`'s backward does. Every derivative needs the sums over the
//! whole channel, so the gradient takes two passes:
//!
//! 1. **Statistics**: [`OverlapLoss::stats`], or an [`OverlapAccumulator`] fed tile by tile.
//! 2. **Gradient**: [`OverlapLoss::gradient`] turns the statistics into an [`OverlapGradient`]
//!    (two coefficients and the loss), whose [`OverlapGradient::tile`] writes the gradient of
//!    each tile, in any tiling; [`OverlapGradient::finish`] returns the loss once the tiles
//!    covered exactly the elements the statistics counted ([`Error::StatisticsMismatch`]
//!    otherwise, also for a tile that would pass the count).
//!
//! [`OverlapLoss::loss_and_grad`] does both over one slice (on logits the first pass keeps
//! `exp(-|x|)` in the gradient buffer, so there is one exponential per element), and
//! [`OverlapLoss::loss_and_grad_per_sample`] per sample. Every form returns the loss with the
//! bits of [`OverlapLoss::loss`] and the same gradient bits.
//!
//! # Edge cases
//! | input | result |
//! |---|---|
//! | empty slices | [`Error::EmptyInput`] |
//! | target and prediction all zero | `1 - smooth_nr / smooth_dr`: 0 with the defaults; NaN if `smooth_dr = 0` |
//! | target or probability outside `[0, 1]` | [`Error::OutOfRange`] |
//! | NaN | NaN |

use crate::Error;
use crate::activation::{self, sigmoid};
use crate::elementwise::{Predictions, check_buffer, sample_len};
use crate::mask::{BinaryTargets, Kernel, Reader, Target, read_targets};
use crate::sum::DetSum;

mod grad;

pub use grad::OverlapGradient;

/// Which overlap score the loss is built on.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Overlap {
    /// Sørensen–Dice: `(2 tp + s_nr) / (P + T + s_dr)`.
    Dice,
    /// Jaccard (IoU), MONAI form: `(2 tp + s_nr) / (2 (P + T - tp) + s_dr)`.
    Jaccard,
    /// Tversky: `(tp + s_nr) / (tp + alpha fp + beta fn + s_dr)`.
    Tversky {
        /// Weight of false positives.
        alpha: f32,
        /// Weight of false negatives.
        beta: f32,
    },
}

/// Soft overlap statistics of one channel, the sufficient statistics of every score here.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OverlapStats {
    /// `Σ p t`.
    pub intersection: f32,
    /// `Σ p`, or `Σ p²` when squared.
    pub prediction_sum: f32,
    /// `Σ t`, or `Σ t²` when squared.
    pub target_sum: f32,
    /// Number of elements.
    pub count: u64,
}

/// A dice-family loss on one channel (see the [module docs](self)).
///
/// # Examples
/// ```
/// use loss_core::dice::OverlapLoss;
/// let dice = OverlapLoss::dice(); // MONAI DiceLoss defaults
/// let loss = dice.loss(&[0.9, 0.8, 0.1, 0.0], &[1.0, 1.0, 0.0, 0.0])?;
/// assert!((loss - (1.0 - 3.4 / 3.8)).abs() < 1e-6);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OverlapLoss {
    overlap: Overlap,
    smooth_nr: f32,
    smooth_dr: f32,
    squared: bool,
    predictions: Predictions,
    denominator_floor: f32,
}

impl OverlapLoss {
    const MONAI_SMOOTH: f32 = 1e-5;

    /// A placeholder whose fields are zeros and first variants, so that a structure holding
    /// it and zeroed tables (`QuantizedOverlap::EMPTY`) is written with a memset rather than
    /// copied from a template in flash. Never used as a loss.
    pub(crate) const PLACEHOLDER: Self = Self {
        overlap: Overlap::Dice,
        smooth_nr: 0.0,
        smooth_dr: 0.0,
        squared: false,
        predictions: Predictions::Logits,
        denominator_floor: 0.0,
    };

    const fn with_overlap(overlap: Overlap) -> Self {
        Self {
            overlap,
            smooth_nr: Self::MONAI_SMOOTH,
            smooth_dr: Self::MONAI_SMOOTH,
            squared: false,
            predictions: Predictions::Probabilities,
            denominator_floor: 0.0,
        }
    }

    /// Dice loss with MONAI's defaults: probabilities in, `smooth_nr = smooth_dr = 1e-5`.
    pub const fn dice() -> Self {
        Self::with_overlap(Overlap::Dice)
    }

    /// Jaccard loss (MONAI `DiceLoss(jaccard=True)`) with MONAI's defaults.
    pub const fn jaccard() -> Self {
        Self::with_overlap(Overlap::Jaccard)
    }

    /// Tversky loss with MONAI's smoothing defaults.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"alpha"` or `"beta"` if negative or not finite.
    pub const fn tversky(alpha: f32, beta: f32) -> Result<Self, Error> {
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(Error::InvalidParameter("alpha"));
        }
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(Error::InvalidParameter("beta"));
        }
        Ok(Self::with_overlap(Overlap::Tversky { alpha, beta }))
    }

    /// The seed article's PyTorch `DiceLoss`, literally: `2 (Σxy + 1) / (Σx + Σy + 1)`.
    /// Use it per sample ([`OverlapLoss::loss_per_sample`]) as the article does.
    pub const fn seed_torch_dice() -> Self {
        let mut s = Self::dice();
        s.smooth_nr = 2.0;
        s.smooth_dr = 1.0;
        s
    }

    /// The seed article's Keras `dice`: `(2 I + 1) / (Σy + Σp + 1)` over all elements.
    pub const fn seed_keras_dice() -> Self {
        let mut s = Self::dice();
        s.smooth_nr = 1.0;
        s.smooth_dr = 1.0;
        s
    }

    /// The same loss with other smoothing terms.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"smooth_nr"` or `"smooth_dr"` if negative or not
    /// finite.
    pub const fn with_smoothing(mut self, smooth_nr: f32, smooth_dr: f32) -> Result<Self, Error> {
        if !(smooth_nr.is_finite() && smooth_nr >= 0.0) {
            return Err(Error::InvalidParameter("smooth_nr"));
        }
        if !(smooth_dr.is_finite() && smooth_dr >= 0.0) {
            return Err(Error::InvalidParameter("smooth_dr"));
        }
        self.smooth_nr = smooth_nr;
        self.smooth_dr = smooth_dr;
        Ok(self)
    }

    /// The same loss with squared denominators, `Σp² + Σt²` (V-Net; MONAI `squared_pred`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"squared"` for Tversky, which has no squared form.
    pub const fn with_squared(mut self, squared: bool) -> Result<Self, Error> {
        if squared && matches!(self.overlap, Overlap::Tversky { .. }) {
            return Err(Error::InvalidParameter("squared"));
        }
        self.squared = squared;
        Ok(self)
    }

    /// The same loss with its denominator raised to at least `floor` (smp's
    /// `clamp_min(eps)`); 0, the default, leaves it alone, negative values included.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"denominator_floor"` if negative or not finite.
    pub const fn with_denominator_floor(mut self, floor: f32) -> Result<Self, Error> {
        if !(floor.is_finite() && floor >= 0.0) {
            return Err(Error::InvalidParameter("denominator_floor"));
        }
        self.denominator_floor = floor;
        Ok(self)
    }

    /// The smallest denominator the score divides by (0: no floor, any denominator is used).
    pub const fn denominator_floor(&self) -> f32 {
        self.denominator_floor
    }

    /// The same loss taking logits (`sigmoid` applied on the fly) or probabilities.
    #[must_use]
    pub const fn with_predictions(mut self, predictions: Predictions) -> Self {
        self.predictions = predictions;
        self
    }

    /// The overlap score.
    pub const fn overlap(&self) -> Overlap {
        self.overlap
    }

    /// `(smooth_nr, smooth_dr)`.
    pub const fn smoothing(&self) -> (f32, f32) {
        (self.smooth_nr, self.smooth_dr)
    }

    /// Whether the denominators are squared.
    pub const fn squared(&self) -> bool {
        self.squared
    }

    /// What the predictions are.
    pub const fn predictions(&self) -> Predictions {
        self.predictions
    }

    /// The score (higher is better) from statistics.
    pub fn score(&self, s: &OverlapStats) -> f32 {
        let (numerator, denominator) = self.fraction(s);
        // Written out rather than `max` so that NaN stays NaN. Without a floor a negative
        // denominator (tanh scores) is divided by as it is, as MONAI does.
        let denominator = if self.denominator_floor > 0.0 && denominator < self.denominator_floor {
            self.denominator_floor
        } else {
            denominator
        };
        numerator / denominator
    }

    /// The loss, `1 - score`, from statistics.
    pub fn loss_from(&self, s: &OverlapStats) -> f32 {
        1.0 - self.score(s)
    }

    /// The statistics of a whole slice.
    ///
    /// `targets` are `f32` values (`&[f32]`, `&[f32; N]`) or a hard [`Mask`](crate::Mask) of
    /// bytes, `bool`s or bits, which gives the bits of the `f32` targets `0.0` / `1.0` (see
    /// [`BinaryTargets`]).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] (also for a bit mask with too few bytes),
    /// [`Error::EmptyInput`], [`Error::OutOfRange`] (also for a mask byte other than 0 or 1).
    #[inline(always)]
    pub fn stats<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
    ) -> Result<OverlapStats, Error> {
        read_targets!(targets, t => self.stats_in(predictions, t))
    }

    /// [`OverlapLoss::stats`] on one kind of targets, in one stack frame.
    fn stats_in<R: Reader>(&self, predictions: &[f32], targets: R) -> Result<OverlapStats, Error> {
        self.stats_of(predictions, targets)
    }

    /// The statistics of validated predictions and targets: the operations of
    /// `accumulator()`, `push` and `stats`, inlined into the caller's frame.
    #[inline(always)]
    fn stats_of<R: Reader>(&self, predictions: &[f32], targets: R) -> Result<OverlapStats, Error> {
        targets.validate(predictions, self.predictions)?;
        let mut sum = DetSum::new();
        self.add_to(&mut sum, predictions, targets);
        stats_of(&sum)
    }

    /// The loss over a whole slice (one channel, all elements pooled).
    ///
    /// # Errors
    /// As [`OverlapLoss::stats`].
    #[inline(always)]
    pub fn loss<T: BinaryTargets>(&self, predictions: &[f32], targets: T) -> Result<f32, Error> {
        read_targets!(targets, t => self.loss_of(predictions, t))
    }

    /// [`OverlapLoss::loss`] on one kind of targets, in one stack frame.
    fn loss_of<R: Reader>(&self, predictions: &[f32], targets: R) -> Result<f32, Error> {
        Ok(self.loss_from(&self.stats_of(predictions, targets)?))
    }

    /// The loss of each of `samples` equal-length samples, written to `out[..samples]`; reduce
    /// them with [`Reduction::reduce`](crate::Reduction::reduce).
    ///
    /// # Errors
    /// As [`OverlapLoss::stats`], plus [`Error::SampleCountMismatch`] and
    /// [`Error::BufferTooSmall`]. On error `out` is untouched.
    #[inline(always)]
    pub fn loss_per_sample<T: BinaryTargets>(
        &self,
        predictions: &[f32],
        targets: T,
        samples: usize,
        out: &mut [f32],
    ) -> Result<(), Error> {
        read_targets!(targets, t => self.loss_per_sample_of(predictions, t, samples, out))
    }

    fn loss_per_sample_of<R: Reader>(
        &self,
        predictions: &[f32],
        targets: R,
        samples: usize,
        out: &mut [f32],
    ) -> Result<(), Error> {
        targets.validate(predictions, self.predictions)?;
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
            let mut sum = DetSum::new();
            self.add_to(&mut sum, p, t);
            *o = self.loss_from(&stats_of(&sum)?);
        }
        Ok(())
    }

    /// Adds the statistics of validated predictions and targets to `sum`:
    /// `[Σ p t, Σ p (or p²), Σ t (or t²)]`.
    // Always inlined: a frame of its own would save the float registers a second time.
    #[inline(always)]
    fn add_to<R: Reader>(&self, sum: &mut DetSum<3>, predictions: &[f32], targets: R) {
        targets.runs(predictions, &mut AddStats { loss: self, sum });
    }

    /// [`OverlapLoss::add_to`] of one run; a hard target enters as `0.0` / `1.0`, so its terms
    /// are the bits of the `f32` target's.
    #[inline(always)]
    fn add_run<B: Target>(&self, sum: &mut DetSum<3>, predictions: &[f32], targets: &[B]) {
        match (self.predictions, self.squared) {
            (Predictions::Probabilities, false) => {
                sum.extend_pairs_unrolled(predictions, targets, |p, t| {
                    let t = t.value();
                    [p * t, p, t]
                });
            }
            (Predictions::Probabilities, true) => {
                sum.extend_pairs_unrolled(predictions, targets, |p, t| {
                    let t = t.value();
                    [p * t, p * p, t * t]
                });
            }
            (Predictions::Logits, squared) if activation::BLOCK > 0 => {
                // Vector hosts: the sigmoids of a block at once (`lanes`), then the same sums
                // in the same order; the bits of the per-element form below.
                let mut p = [0.0f32; activation::BLOCK];
                activation::for_each_block(predictions, targets, |x, t| {
                    let p = p.get_mut(..x.len()).unwrap_or(&mut []);
                    activation::sigmoids(x, p);
                    if squared {
                        sum.extend_pairs_unrolled(p, t, |p, t| {
                            let t = t.value();
                            [p * t, p * p, t * t]
                        });
                    } else {
                        sum.extend_pairs_unrolled(p, t, |p, t| {
                            let t = t.value();
                            [p * t, p, t]
                        });
                    }
                });
            }
            (Predictions::Logits, false) => sum.extend_pairs(predictions, targets, |x, t| {
                let (p, t) = (sigmoid(x), t.value());
                [p * t, p, t]
            }),
            (Predictions::Logits, true) => sum.extend_pairs(predictions, targets, |x, t| {
                let (p, t) = (sigmoid(x), t.value());
                [p * t, p * p, t * t]
            }),
        }
    }

    /// A streaming accumulator of the statistics.
    pub const fn accumulator(&self) -> OverlapAccumulator {
        OverlapAccumulator {
            loss: *self,
            sum: DetSum::new(),
        }
    }
}

/// [`OverlapLoss::add_run`] of each run.
struct AddStats<'a> {
    loss: &'a OverlapLoss,
    sum: &'a mut DetSum<3>,
}

impl Kernel for AddStats<'_> {
    #[inline(always)]
    fn run<B: Target>(&mut self, predictions: &[f32], targets: &[B]) {
        self.loss.add_run(self.sum, predictions, targets);
    }
}

/// Streams the statistics of an [`OverlapLoss`] over chunks of any size; bit-identical to the
/// one-shot [`OverlapLoss::loss`] for every chunking. Fixed-size, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlapAccumulator {
    loss: OverlapLoss,
    /// `[Σ p t, Σ p (or p²), Σ t (or t²)]`.
    sum: DetSum<3>,
}

impl OverlapAccumulator {
    /// Adds a chunk. An empty chunk is allowed and changes nothing. The targets are `f32`
    /// values or a hard [`Mask`](crate::Mask), as in [`OverlapLoss::stats`]; chunks may mix
    /// them.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] or [`Error::OutOfRange`] (index within this chunk); the
    /// accumulator is then unchanged.
    #[inline(always)]
    pub fn push<T: BinaryTargets>(&mut self, predictions: &[f32], targets: T) -> Result<(), Error> {
        read_targets!(targets, t => self.push_of(predictions, t))
    }

    fn push_of<R: Reader>(&mut self, predictions: &[f32], targets: R) -> Result<(), Error> {
        targets.validate(predictions, self.loss.predictions)?;
        self.accumulate(predictions, targets);
        Ok(())
    }

    /// Adds a chunk that has been validated.
    fn accumulate<R: Reader>(&mut self, predictions: &[f32], targets: R) {
        self.loss.add_to(&mut self.sum, predictions, targets);
    }

    /// Elements pushed so far.
    pub const fn count(&self) -> u64 {
        self.sum.count()
    }

    /// The statistics of everything pushed so far.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing has been pushed.
    pub fn stats(&self) -> Result<OverlapStats, Error> {
        stats_of(&self.sum)
    }

    /// The loss of everything pushed so far (the accumulator is not consumed).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if nothing has been pushed.
    pub fn finish(&self) -> Result<f32, Error> {
        Ok(self.loss.loss_from(&self.stats()?))
    }

    /// Forgets everything pushed, keeping the loss parameters.
    pub fn reset(&mut self) {
        self.sum = DetSum::new();
    }
}

/// The statistics in a sum of `[Σ p t, Σ p, Σ t]`.
fn stats_of(sum: &DetSum<3>) -> Result<OverlapStats, Error> {
    if sum.count() == 0 {
        return Err(Error::EmptyInput);
    }
    let [intersection, prediction_sum, target_sum] = sum.value();
    Ok(OverlapStats {
        intersection,
        prediction_sum,
        target_sum,
        count: sum.count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::tests::{LENGTHS, SPECIAL_LOGITS, logits};

    /// On logits the statistics (one-shot, streamed, per sample) are the bits of adding
    /// `[p t, p, t]` (or the squares) one element at a time with the scalar [`sigmoid`],
    /// whichever way the target computes the sigmoids (a NaN sum: any NaN). The sigmoids
    /// themselves are compared bit for bit in `activation`'s tests.
    #[test]
    fn blocks_give_the_per_element_sums() {
        let mut inputs = vec![SPECIAL_LOGITS.to_vec()];
        inputs.extend(LENGTHS.iter().map(|&n| logits(n, 0x51ed_270b ^ n as u32)));
        for x in inputs {
            let n = x.len();
            let t: Vec<f32> = (0..n)
                .map(|i| [0.0, 1.0, 0.25, 1.0, -0.0][i * 7 % 5])
                .collect();
            for squared in [false, true] {
                let loss = OverlapLoss::dice()
                    .with_predictions(Predictions::Logits)
                    .with_squared(squared)
                    .unwrap();
                let mut reference = DetSum::<3>::new();
                for (&x, &t) in x.iter().zip(&t) {
                    let p = sigmoid(x);
                    reference.add(if squared {
                        [p * t, p * p, t * t]
                    } else {
                        [p * t, p, t]
                    });
                }
                if n == 0 {
                    assert_eq!(loss.stats(&x, &t), Err(Error::EmptyInput));
                    continue;
                }
                let want = stats_of(&reference).unwrap();
                // A NaN sum is any NaN: Rust leaves the payload of an operation on two NaNs
                // to the compiler (the golden vectors' rule too).
                let bits = |s: OverlapStats| {
                    [s.intersection, s.prediction_sum, s.target_sum].map(|v| {
                        if v.is_nan() {
                            f32::NAN.to_bits()
                        } else {
                            v.to_bits()
                        }
                    })
                };
                assert_eq!(bits(loss.stats(&x, &t).unwrap()), bits(want), "n {n}");
                for chunk in [1, 3, 200, 300] {
                    let mut acc = loss.accumulator();
                    for (x, t) in x.chunks(chunk).zip(t.chunks(chunk)) {
                        acc.push(x, t).unwrap();
                    }
                    assert_eq!(
                        bits(acc.stats().unwrap()),
                        bits(want),
                        "n {n} chunk {chunk}"
                    );
                }
                let mut out = [0.0];
                loss.loss_per_sample(&x, &t, 1, &mut out).unwrap();
                let (got, want) = (out[0], loss.loss_from(&want));
                assert!(got.to_bits() == want.to_bits() || got.is_nan() && want.is_nan());
            }
        }
    }
}
