//! f64 reference implementations of the multi-class losses and metrics of
//! `loss_core::multiclass`: the oracle the multi-class tests compare against.
//!
//! Straightforward formulas in f64, per pixel and class, with nothing shared with `loss-core`
//! but the parameter types:
//!
//! - **log-softmax** `log p_c = (x_c - m) - ln(1 + Σ_{k ≠ k*} exp(x_k - m))` with `m = x_{k*}`
//!   the (first) largest score. The `ln_1p` form keeps `-log p` of the winning class accurate
//!   when it is tiny (`ln(Σ exp)` in f64 would lose it below about `1e-16`). Infinite scores
//!   take the limit the crate documents: classes tied at `+inf` share the mass equally (the
//!   others get `-inf`), all `-inf` is uniform; NaN anywhere gives NaN.
//! - **Softmax focal** (Lin et al. 2017, eq. 5 per class; MONAI `FocalLoss(use_softmax=True)`,
//!   kornia `focal_loss`): `w_c (1 - p_c)^gamma (-log p_c) t_c` with `1 - p_c =
//!   -expm1(log p_c)` and `w_c = alpha_c · weight_c`; optionally with `p_c` clipped first
//!   (Keras `CategoricalFocalCrossentropy`).
//! - **One-vs-rest sigmoid focal**: the binary focal loss from a logit per class with one of the
//!   soft-target forms (torchvision, MONAI, kornia, smp), times `weight_c` (and `alpha_c` on
//!   positives only for `ClassAlpha::Positives`, MONAI >= 1.6).
//! - **Overlap statistics** per (sample, class): `tp = Σ p t` (or MONAI's L1 form
//!   `Σ (|p| + |t| - |p - t|) / 2` with `P = Σ |p|`, `T = Σ |t|`; `Σ min(p, t)` with squares),
//!   `P = Σ p` (`Σ p²`), `T = Σ t` (`Σ t²`), with `p` the scores, `sigmoid`, `softmax` or `tanh`, and
//!   targets dense or one-hot from the label; then dice, Jaccard (MONAI form) and Tversky
//!   (`fp = P - tp`, `fn = T - tp`), the class reduction (background, weights multiplied or
//!   normalised, empty-class policy, mean or sum) and the generalized dice loss with MONAI's
//!   rule for absent classes (`monai/losses/dice.py` lines 394-399: an infinite weight becomes
//!   the largest finite weight of the sample).
//! - **Confusion counts** from argmax or per-class thresholds, and the metrics from them.
//! - Keras's `BinaryFocalCrossentropy` on probabilities (`BinaryFocal::keras`): clip
//!   `[1e-7, 1 - 1e-7]` (as f32, Keras's float32 epsilon) in the logarithms only.
//!
//! Ignored label-map pixels are removed before anything sees them. A weighted term whose
//! weight is exactly zero is absent even where the term is infinite (the loss is 0 for every
//! finite input there, so 0 is also its limit). `0^0 = 1`.
//!
//! Every sum also carries the sum of the absolute values of its terms, the scale of the
//! summation error bound (`|error| <= eps · Σ|term|`), which equals the sum itself for
//! non-negative terms and keeps the bound meaningful for `tanh` statistics.
//!
//! The functions assert that their inputs are consistent; they are for tests, not for
//! untrusted data.

use super::weighted;
use loss_core::Reduction;
use loss_core::dice::{Overlap, OverlapLoss};
use loss_core::focal::SoftTargets;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassReduction, ConfusionCounts, Decision, EmptyClass, Intersection,
    Layout, Metric, Undefined, WeightType, Weighting,
};

/// The dimensions of a batch: `batch` samples, `classes` channels, `spatial` pixels, a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Samples `N`.
    pub batch: usize,
    /// Classes `C`.
    pub classes: usize,
    /// Pixels per sample.
    pub spatial: usize,
    /// Where the class axis is.
    pub layout: Layout,
}

impl Dims {
    /// Elements of a score tensor.
    pub const fn elements(&self) -> usize {
        self.batch * self.classes * self.spatial
    }

    /// Index of class `c` of pixel `s` of sample `n` in a score tensor.
    pub const fn index(&self, n: usize, s: usize, c: usize) -> usize {
        match self.layout {
            Layout::ChannelsFirst => (n * self.classes + c) * self.spatial + s,
            Layout::ChannelsLast => (n * self.spatial + s) * self.classes + c,
        }
    }
}

/// The targets, as the oracle reads them.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    /// Dense targets laid out like the scores.
    Dense(&'a [f32]),
    /// A label map (`N × spatial`) with an optional ignored value.
    Labels {
        /// The class of each pixel.
        labels: &'a [i32],
        /// Pixels with this label are removed.
        ignore_index: Option<i32>,
    },
}

/// One non-ignored pixel in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Pixel {
    /// Its sample.
    pub sample: usize,
    /// Its position in the sample.
    pub position: usize,
    /// The scores of its classes.
    pub scores: Vec<f64>,
    /// The targets of its classes (one-hot for a label).
    pub targets: Vec<f64>,
    /// Its label, for label-map targets.
    pub label: Option<usize>,
}

/// The non-ignored pixels, sample by sample, in order.
///
/// # Panics
/// If the slices do not fit `dims` or a label is neither a class nor ignored.
pub fn pixels(dims: &Dims, scores: &[f32], truth: Truth<'_>) -> Vec<Pixel> {
    assert_eq!(scores.len(), dims.elements(), "scores do not fit the dims");
    let mut out = Vec::new();
    for n in 0..dims.batch {
        for s in 0..dims.spatial {
            let at = |c| dims.index(n, s, c);
            let scores = (0..dims.classes)
                .map(|c| f64::from(scores[at(c)]))
                .collect();
            let (targets, label) = match truth {
                Truth::Dense(t) => {
                    assert_eq!(t.len(), dims.elements(), "targets do not fit the dims");
                    (
                        (0..dims.classes).map(|c| f64::from(t[at(c)])).collect(),
                        None,
                    )
                }
                Truth::Labels {
                    labels,
                    ignore_index,
                } => {
                    assert_eq!(labels.len(), dims.batch * dims.spatial, "labels do not fit");
                    let l = labels[n * dims.spatial + s];
                    if Some(l) == ignore_index {
                        continue;
                    }
                    let k = usize::try_from(l).expect("negative label");
                    assert!(k < dims.classes, "label {l} out of range");
                    let onehot = (0..dims.classes).map(|c| f64::from(u8::from(c == k)));
                    (onehot.collect(), Some(k))
                }
            };
            out.push(Pixel {
                sample: n,
                position: s,
                scores,
                targets,
                label,
            });
        }
    }
    out
}

/// The log-softmax of one pixel's scores (see the [module docs](self)).
pub fn log_softmax(x: &[f64]) -> Vec<f64> {
    if x.iter().any(|v| v.is_nan()) {
        return vec![f64::NAN; x.len()];
    }
    let (mut top, mut m) = (0, f64::NEG_INFINITY);
    for (c, &v) in x.iter().enumerate() {
        if v > m {
            (top, m) = (c, v);
        }
    }
    if m == f64::INFINITY {
        let ties = x.iter().filter(|&&v| v == m).count() as f64;
        return x
            .iter()
            .map(|&v| {
                if v == m {
                    -ties.ln()
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
    }
    if m == f64::NEG_INFINITY {
        return vec![-(x.len() as f64).ln(); x.len()];
    }
    let rest: f64 = x
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != top)
        .map(|(_, &v)| (v - m).exp())
        .sum();
    let log_sum = rest.ln_1p();
    x.iter().map(|&v| (v - m) - log_sum).collect()
}

/// Cross-entropy of one pixel with a label, `-log softmax(x)_k`, written independently of
/// [`log_softmax`] as `ln Σ_c exp(x_c - x_k)` (the form PyTorch's `cross_entropy` reduces to),
/// with `ln_1p` for the `c = k` term: `ln(1 + Σ_{c ≠ k} exp(x_c - x_k))`. Finite scores only.
pub fn cross_entropy(x: &[f64], k: usize) -> f64 {
    let xk = x[k];
    let rest: f64 = x
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != k)
        .map(|(_, &v)| (v - xk).exp())
        .sum();
    if rest.is_finite() {
        rest.ln_1p()
    } else {
        // exp overflowed: the largest score dominates; ln Σ exp(x_c - x_k) = (m - x_k) + ...
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = x.iter().map(|&v| (v - m).exp()).sum();
        (m - xk) + s.ln()
    }
}

/// The multiplier `alpha_c` of each class, 1 for `ClassAlpha::None`.
pub fn class_alpha(alpha: ClassAlpha<'_>, classes: usize) -> Vec<f64> {
    (0..classes)
        .map(|c| match alpha {
            ClassAlpha::None => 1.0,
            ClassAlpha::Background(a) if c == 0 => 1.0 - f64::from(a),
            ClassAlpha::Background(a) | ClassAlpha::Uniform(a) => f64::from(a),
            ClassAlpha::PerClass(list) => f64::from(list[c]),
            ClassAlpha::Positives(_) => panic!("positive-only alpha is one-vs-rest only"),
        })
        .collect()
}

/// `weight_c`, 1 without weights.
fn class_weight(weights: Option<&[f32]>, c: usize) -> f64 {
    weights.map_or(1.0, |w| f64::from(w[c]))
}

/// The softmax focal terms of one pixel, one per class.
pub fn softmax_focal_terms(
    pixel: &Pixel,
    gamma: f64,
    alpha: ClassAlpha<'_>,
    weights: Option<&[f32]>,
) -> Vec<f64> {
    softmax_focal_terms_clipped(pixel, gamma, alpha, weights, None)
}

/// The softmax focal terms with each probability clipped to `[min, max]` before its logarithm
/// and focal factor (Keras `CategoricalFocalCrossentropy`, `SoftmaxFocal::with_probability_clip`):
/// `w_c (1 - p'_c)^gamma (-ln p'_c) t_c` with `p'_c = clip(p_c)`.
pub fn softmax_focal_terms_clipped(
    pixel: &Pixel,
    gamma: f64,
    alpha: ClassAlpha<'_>,
    weights: Option<&[f32]>,
    clip: Option<(f32, f32)>,
) -> Vec<f64> {
    let log_p = log_softmax(&pixel.scores);
    let alpha = class_alpha(alpha, pixel.scores.len());
    (0..pixel.scores.len())
        .map(|c| {
            let t = pixel.targets[c];
            if t == 0.0 {
                return 0.0;
            }
            let (log_p, q) = match clip {
                None => (log_p[c], -log_p[c].exp_m1()),
                Some((lo, hi)) => {
                    let p = log_p[c].exp().clamp(f64::from(lo), f64::from(hi));
                    (p.ln(), 1.0 - p)
                }
            };
            let focal = q.powf(gamma) * -log_p;
            weighted(alpha[c] * class_weight(weights, c) * t, focal)
        })
        .collect()
}

pub use super::{sigmoid, sigmoid_focal, softplus};

/// The one-vs-rest focal terms of one pixel, one per class.
pub fn one_vs_rest_terms(
    pixel: &Pixel,
    gamma: f64,
    alpha: ClassAlpha<'_>,
    weights: Option<&[f32]>,
    soft: SoftTargets,
) -> Vec<f64> {
    (0..pixel.scores.len())
        .map(|c| {
            let t = pixel.targets[c];
            let (a, positive) = match alpha {
                ClassAlpha::None => (None, 1.0),
                ClassAlpha::Uniform(a) => (Some(f64::from(a)), 1.0),
                ClassAlpha::PerClass(list) => (Some(f64::from(list[c])), 1.0),
                ClassAlpha::Positives(list) => {
                    (None, if t == 1.0 { f64::from(list[c]) } else { 1.0 })
                }
                ClassAlpha::Background(_) => panic!("no background alpha one-vs-rest"),
            };
            let term = sigmoid_focal(pixel.scores[c], t, a, gamma, soft);
            weighted(class_weight(weights, c) * positive, term)
        })
        .collect()
}

/// An f64 sum with the sum of its terms' absolute values (the scale of its error bound).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sum {
    /// `Σ v`.
    pub value: f64,
    /// `Σ |v|`.
    pub scale: f64,
}

impl Sum {
    /// Adds one term.
    pub fn add(&mut self, v: f64) {
        self.value += v;
        self.scale += v.abs();
    }
}

/// Per-(sample, class) sums of per-pixel terms, `out[n * C + c]`, from a term function.
pub fn class_sums(
    dims: &Dims,
    pixels: &[Pixel],
    mut terms: impl FnMut(&Pixel) -> Vec<f64>,
) -> Vec<Sum> {
    let mut out = vec![Sum::default(); dims.batch * dims.classes];
    for p in pixels {
        for (c, v) in terms(p).into_iter().enumerate() {
            out[p.sample * dims.classes + c].add(v);
        }
    }
    out
}

/// The unreduced terms laid out like the scores (ignored pixels 0).
pub fn elementwise(
    dims: &Dims,
    pixels: &[Pixel],
    mut terms: impl FnMut(&Pixel) -> Vec<f64>,
) -> Vec<f64> {
    let mut out = vec![0.0; dims.elements()];
    for p in pixels {
        for (c, v) in terms(p).into_iter().enumerate() {
            out[dims.index(p.sample, p.position, c)] = v;
        }
    }
    out
}

/// Per-class soft overlap sums of one (sample, class), in f64.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassStats {
    /// `Σ p t` (or `Σ min(p, t)`).
    pub intersection: Sum,
    /// `Σ p` (`Σ p²`).
    pub prediction_sum: Sum,
    /// `Σ t` (`Σ t²`).
    pub target_sum: Sum,
    /// Pixels.
    pub count: u64,
}

impl ClassStats {
    fn add(&mut self, other: &Self) {
        for (a, b) in [
            (&mut self.intersection, other.intersection),
            (&mut self.prediction_sum, other.prediction_sum),
            (&mut self.target_sum, other.target_sum),
        ] {
            a.value += b.value;
            a.scale += b.scale;
        }
        self.count += other.count;
    }
}

/// The probabilities of one pixel under an activation.
pub fn activate(scores: &[f64], activation: Activation) -> Vec<f64> {
    match activation {
        Activation::None => scores.to_vec(),
        Activation::Sigmoid => scores.iter().map(|&x| sigmoid(x)).collect(),
        Activation::Tanh => scores.iter().map(|&x| x.tanh()).collect(),
        Activation::Softmax => log_softmax(scores).into_iter().map(f64::exp).collect(),
    }
}

/// Overlap statistics per (sample, class), `out[n * C + c]`.
pub fn class_stats(
    dims: &Dims,
    pixels: &[Pixel],
    activation: Activation,
    squared: bool,
    intersection: Intersection,
) -> Vec<ClassStats> {
    let mut out = vec![ClassStats::default(); dims.batch * dims.classes];
    for px in pixels {
        let p = activate(&px.scores, activation);
        for (c, (&p, &t)) in p.iter().zip(&px.targets).enumerate() {
            let s = &mut out[px.sample * dims.classes + c];
            // MONAI's L1 form (`Min` without squares): `(|p| + |t| - |p - t|) / 2` with the sums
            // `Σ |p|`, `Σ |t|`, as `compute_tp_fp_fn` writes it.
            let l1 = intersection == Intersection::Min && !squared;
            s.intersection.add(match intersection {
                Intersection::Product => p * t,
                // Its exact value, without the cancellation of the literal formula.
                Intersection::Min if l1 => {
                    if p.is_nan() || t.is_nan() {
                        f64::NAN
                    } else if (p < 0.0) == (t < 0.0) {
                        p.abs().min(t.abs())
                    } else {
                        0.0
                    }
                }
                Intersection::Min => {
                    if p.is_nan() {
                        p
                    } else {
                        p.min(t)
                    }
                }
            });
            s.prediction_sum.add(match (squared, l1) {
                (true, _) => p * p,
                (false, true) => p.abs(),
                (false, false) => p,
            });
            s.target_sum.add(match (squared, l1) {
                (true, _) => t * t,
                (false, true) => t.abs(),
                (false, false) => t,
            });
            s.count += 1;
        }
    }
    out
}

/// The statistics of each class pooled over the batch.
pub fn pooled(stats: &[ClassStats], classes: usize) -> Vec<ClassStats> {
    let mut out = vec![ClassStats::default(); classes];
    for sample in stats.chunks_exact(classes) {
        for (o, s) in out.iter_mut().zip(sample) {
            o.add(s);
        }
    }
    out
}

/// The overlap score (dice, Jaccard or Tversky, with the loss's smoothing) from f64 sums.
pub fn overlap_score(loss: &OverlapLoss, tp: f64, p: f64, t: f64) -> f64 {
    let (s_nr, s_dr) = loss.smoothing();
    let (s_nr, s_dr) = (f64::from(s_nr), f64::from(s_dr));
    match loss.overlap() {
        Overlap::Dice => (2.0 * tp + s_nr) / (p + t + s_dr),
        Overlap::Jaccard => (2.0 * tp + s_nr) / (2.0 * (p + t - tp) + s_dr),
        Overlap::Tversky { alpha, beta } => {
            let (fp, fn_) = (p - tp, t - tp);
            (tp + s_nr) / (tp + f64::from(alpha) * fp + f64::from(beta) * fn_ + s_dr)
        }
    }
}

/// `1 - score`, with the score of [`overlap_score`].
pub fn overlap_loss(loss: &OverlapLoss, s: &ClassStats) -> f64 {
    1.0 - overlap_score(
        loss,
        s.intersection.value,
        s.prediction_sum.value,
        s.target_sum.value,
    )
}

/// The per-(sample, kept class) losses of a [`ClassReduction`] (`reduction="none"`):
/// `Multiply` weights applied, `None` for a skipped empty class.
pub fn class_losses(
    red: &ClassReduction<'_>,
    loss: &OverlapLoss,
    stats: &[ClassStats],
    classes: usize,
) -> Vec<Option<f64>> {
    let first = usize::from(!red.include_background && classes > 1);
    let mut out = Vec::new();
    for sample in stats.chunks_exact(classes) {
        for (c, s) in sample.iter().enumerate().skip(first) {
            let w = match red.weighting {
                Weighting::Multiply => class_weight(red.weights, c),
                Weighting::Normalize => 1.0,
            };
            out.push(entry(red, loss, s).map(|l| l * w));
        }
    }
    out
}

fn entry(red: &ClassReduction<'_>, loss: &OverlapLoss, s: &ClassStats) -> Option<f64> {
    if s.target_sum.value != 0.0 {
        return Some(overlap_loss(loss, s));
    }
    match red.empty {
        EmptyClass::Formula => Some(overlap_loss(loss, s)),
        EmptyClass::Zero => Some(0.0),
        EmptyClass::Skip => None,
    }
}

/// The reduced loss of a [`ClassReduction`]; `None` when every entry is skipped.
pub fn class_reduce(
    red: &ClassReduction<'_>,
    loss: &OverlapLoss,
    stats: &[ClassStats],
    classes: usize,
) -> Option<f64> {
    let first = usize::from(!red.include_background && classes > 1);
    let (mut weighted_sum, mut weight_sum, mut n) = (0.0, 0.0, 0u64);
    for sample in stats.chunks_exact(classes) {
        for (c, s) in sample.iter().enumerate().skip(first) {
            let w = class_weight(red.weights, c);
            if let Some(l) = entry(red, loss, s) {
                weighted_sum += l * w;
                weight_sum += w;
                n += 1;
            }
        }
    }
    (n > 0).then(|| match (red.weighting, red.reduction) {
        (_, Reduction::Sum) => weighted_sum,
        (Weighting::Multiply, Reduction::Mean) => weighted_sum / n as f64,
        (Weighting::Normalize, Reduction::Mean) => weighted_sum / weight_sum,
    })
}

/// The generalized dice loss of one sample's classes (Sudre et al. 2017; MONAI
/// `GeneralizedDiceLoss`), with MONAI's absent-class rule.
pub fn generalized_dice(
    weight_type: WeightType,
    smooth_nr: f64,
    smooth_dr: f64,
    classes: &[ClassStats],
) -> f64 {
    let raw = |t: f64| match weight_type {
        WeightType::Square => 1.0 / (t * t),
        WeightType::Simple => 1.0 / t,
        WeightType::Uniform => 1.0,
    };
    let max_finite = classes
        .iter()
        .map(|s| raw(s.target_sum.value))
        .filter(|w| w.is_finite())
        .fold(0.0, f64::max);
    let (mut num, mut den) = (0.0, 0.0);
    for s in classes {
        let w = raw(s.target_sum.value);
        let w = if w.is_infinite() { max_finite } else { w };
        num += s.intersection.value * w;
        den += (s.prediction_sum.value + s.target_sum.value) * w;
    }
    1.0 - (2.0 * num + smooth_nr) / (den + smooth_dr)
}

/// Confusion counts per class from hard decisions (see `loss_core::multiclass` metrics).
pub fn confusion(pixels: &[Pixel], classes: usize, decision: Decision) -> Vec<ConfusionCounts> {
    let first_max = |v: &[f64]| {
        let mut best = (0, f64::NEG_INFINITY);
        for (c, &x) in v.iter().enumerate() {
            if x > best.1 {
                best = (c, x);
            }
        }
        best.0
    };
    let mut out = vec![ConfusionCounts::default(); classes];
    for px in pixels {
        let truth_class = px.label.unwrap_or_else(|| first_max(&px.targets));
        let predicted_class = first_max(&px.scores);
        for (c, k) in out.iter_mut().enumerate() {
            let (predicted, truth) = match decision {
                Decision::Argmax => (predicted_class == c, truth_class == c),
                Decision::Threshold(t) => (px.scores[c] >= f64::from(t), px.targets[c] >= 0.5),
            };
            *match (predicted, truth) {
                (true, true) => &mut k.true_positives,
                (true, false) => &mut k.false_positives,
                (false, true) => &mut k.false_negatives,
                (false, false) => &mut k.true_negatives,
            } += 1;
        }
    }
    out
}

/// A metric from counts in f64, `None` when its denominator is zero.
pub fn metric(k: &ConfusionCounts, metric: Metric) -> Option<f64> {
    let (tp, fp, fn_, tn) = (
        k.true_positives as f64,
        k.false_positives as f64,
        k.false_negatives as f64,
        k.true_negatives as f64,
    );
    let (num, den) = match metric {
        Metric::Dice | Metric::F1 => (2.0 * tp, 2.0 * tp + fp + fn_),
        Metric::Iou => (tp, tp + fp + fn_),
        Metric::Precision => (tp, tp + fp),
        Metric::Recall => (tp, tp + fn_),
        Metric::Specificity => (tn, tn + fp),
    };
    (den > 0.0).then(|| num / den)
}

/// The macro average of a metric from `first_class` on, with the undefined-class policy.
pub fn macro_average(
    counts: &[ConfusionCounts],
    m: Metric,
    first_class: usize,
    undefined: Undefined,
) -> Option<f64> {
    let values: Vec<f64> = counts
        .iter()
        .skip(first_class)
        .filter_map(|k| match (metric(k, m), undefined) {
            (Some(v), _) => Some(v),
            (None, Undefined::Value(v)) => Some(f64::from(v)),
            (None, Undefined::Skip) => None,
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Keras 3 `binary_focal_crossentropy` on a probability (`from_logits=False`, no label
/// smoothing): `alpha_t (1 - p_t)^gamma BCE(clip(p), t)` with `p_t = p t + (1 - p)(1 - t)` from
/// the unclipped `p` and the clip `[1e-7, 1 - 1e-7]` in float32.
pub fn keras_binary_focal(p: f64, t: f64, alpha: Option<f64>, gamma: f64) -> f64 {
    let (lo, hi) = (f64::from(1e-7f32), f64::from(1.0f32 - 1e-7f32));
    let clipped = p.clamp(lo, hi);
    let bce = weighted(t, -clipped.ln()) + weighted(1.0 - t, -(-clipped).ln_1p());
    let q = p * (1.0 - t) + (1.0 - p) * t;
    let alpha_t = alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
    weighted(alpha_t, q.powf(gamma) * bce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_limits_and_accuracy() {
        let l = log_softmax(&[0.0, 0.0]);
        assert!((l[0] + 2f64.ln()).abs() < 1e-15);
        let l = log_softmax(&[f64::INFINITY, 1.0, f64::INFINITY]);
        assert_eq!(l[1], f64::NEG_INFINITY);
        assert!((l[0] + 2f64.ln()).abs() < 1e-15);
        let l = log_softmax(&[f64::NEG_INFINITY; 4]);
        assert!((l[2] + 4f64.ln()).abs() < 1e-15);
        assert!(log_softmax(&[1.0, f64::NAN])[0].is_nan());
        // -log p of the winner at margin 40: exp(-40) to full relative accuracy.
        let l = log_softmax(&[40.0, 0.0]);
        assert!((-l[0] / (-40f64).exp() - 1.0).abs() < 1e-15);
        assert!((cross_entropy(&[40.0, 0.0], 0) / (-40f64).exp() - 1.0).abs() < 1e-15);
        assert!((cross_entropy(&[1e4, 0.0, -1e4], 2) - 2e4).abs() < 1e-9);
    }

    #[test]
    fn softmax_focal_by_hand() {
        // Two classes, label 1, scores (0, ln 3): p = 3/4, term = (1/4)^2 ln(4/3).
        let px = Pixel {
            sample: 0,
            position: 0,
            scores: vec![0.0, 3f64.ln()],
            targets: vec![0.0, 1.0],
            label: Some(1),
        };
        let t = softmax_focal_terms(&px, 2.0, ClassAlpha::Background(0.25), None);
        assert_eq!(t[0], 0.0);
        assert!((t[1] - 0.25 * 0.0625 * (4.0f64 / 3.0).ln()).abs() < 1e-16);
    }

    #[test]
    fn generalized_dice_absent_class_rule() {
        let s = |tp: f64, p: f64, t: f64| ClassStats {
            intersection: Sum {
                value: tp,
                scale: tp,
            },
            prediction_sum: Sum { value: p, scale: p },
            target_sum: Sum { value: t, scale: t },
            count: 4,
        };
        // Class 1 absent: its weight is class 0's 1/2^2.
        let classes = [s(1.0, 2.0, 2.0), s(0.0, 1.0, 0.0)];
        let want = 1.0 - (2.0 * 0.25) / (0.25 * 4.0 + 0.25 * 1.0);
        assert!((generalized_dice(WeightType::Square, 0.0, 0.0, &classes) - want).abs() < 1e-15);
        // Every class absent: all weights 0, loss 1 - s_nr / s_dr.
        let none = [s(0.0, 3.0, 0.0), s(0.0, 1.0, 0.0)];
        assert_eq!(generalized_dice(WeightType::Square, 1e-5, 1e-5, &none), 0.0);
    }

    #[test]
    fn keras_clip_applies_to_logs_only() {
        // p = 0, t = 1: -ln(1e-7) with focal factor 1.
        let v = keras_binary_focal(0.0, 1.0, None, 2.0);
        assert!((v + f64::from(1e-7f32).ln()).abs() < 1e-12);
        // p = 1, t = 1: the factor (1 - p)^gamma is exactly 0.
        assert_eq!(keras_binary_focal(1.0, 1.0, None, 2.0), 0.0);
    }
}
