//! Plans: what a framework call means in `loss-core` terms, separated from the data so that
//! the same plan is both run ([`Plan::run`]) and printed as firmware code ([`Plan::rust`]).

use std::collections::BTreeMap;

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::multiclass::{
    ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction, EmptyClass,
    GeneralizedDice, Layout, OneVsRestFocal, Shape, SoftmaxFocal, Targets, Weighting,
};
use loss_core::{ElementLoss, Reduction};

use super::params::ScalarOrList;
use super::tensor::Tensor;

/// Class capacity of the host-side accumulators.
pub const HOST_CLASSES: usize = 64;

/// The argument names of the prediction and target tensors (first is canonical, then aliases).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Names {
    /// Names of the prediction tensor.
    pub prediction: &'static [&'static str],
    /// Names of the target tensor.
    pub target: &'static [&'static str],
}

/// What a framework call computes, in `loss-core` terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A binary loss per element of same-shape tensors.
    Element(ElementPlan),
    /// A multi-class focal loss.
    ClassFocal(ClassFocalPlan),
    /// A per-class dice-family loss.
    Overlap(OverlapPlan),
    /// MONAI's generalized dice loss.
    Generalized(GeneralizedPlan),
    /// A binary dice-family loss over flattened tensors (Keras, the seed article).
    Flat(FlatPlan),
    /// A weighted sum of scalar plans (MONAI `DiceFocalLoss`, `DiceCELoss`).
    Sum(Vec<(f32, Plan)>),
    /// One plan for several channels, another for one (MONAI's cross-entropy).
    ByChannels {
        /// For `C > 1`.
        several: Box<Plan>,
        /// For `C = 1`.
        one: Box<Plan>,
    },
}

/// smp's changes to the focal factor `(1 - p_t)^gamma` (`focal_loss_with_logits`):
/// `reduced_threshold` makes it `((1 - p_t) / threshold)^gamma`, or 1 where
/// `p_t < threshold`; `normalized` divides every loss of the call by `max(Σ factor, 1e-6)`.
/// Built from two runs of `loss-core`'s kernel (`gamma`, and 0 for the cross-entropy `CE`):
/// the factor is their ratio and `p_t = exp(-CE)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmpModifier {
    /// Focusing exponent.
    pub gamma: f32,
    /// Weight of positives (`1 - alpha` for negatives), or none.
    pub alpha: Option<f32>,
    /// `reduced_threshold`.
    pub reduced_threshold: Option<f32>,
    /// `normalized`.
    pub normalized: bool,
}

impl SmpModifier {
    /// The losses of one smp call (one class, or the flattened binary input), in place of
    /// `out`, from the logits and targets.
    fn losses(&self, x: &[f32], t: &[f32], out: &mut [f32]) -> Result<(), loss_core::Error> {
        use loss_core::focal::SoftTargets;
        let kernel =
            |gamma| SigmoidFocal::new(None, gamma).map(|l| l.with_soft_targets(SoftTargets::Smp));
        let mut ce = vec![0.0f32; x.len()];
        kernel(self.gamma)?.loss_elementwise(x, t, out)?;
        kernel(0.0)?.loss_elementwise(x, t, &mut ce)?;
        let mut factor_sum = 0.0f32;
        for ((o, &ce), &t) in out.iter_mut().zip(&ce).zip(t) {
            // (1 - p_t)^gamma: the focal loss over the cross-entropy (0^gamma where CE is 0).
            let base = if ce == 0.0 {
                if self.gamma == 0.0 { 1.0 } else { 0.0 }
            } else {
                *o / ce
            };
            let factor = match self.reduced_threshold {
                Some(r) if (-ce).exp() < r => 1.0,
                Some(r) => base / r.powf(self.gamma),
                None => base,
            };
            factor_sum += factor;
            let alpha_t = self.alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
            *o = factor * ce * alpha_t;
        }
        if self.normalized {
            let norm = factor_sum.max(1e-6);
            out.iter_mut().for_each(|o| *o /= norm);
        }
        Ok(())
    }
}

/// A binary elementwise loss.
#[derive(Debug, Clone, PartialEq)]
pub enum BinaryLoss {
    /// From logits.
    Sigmoid(SigmoidFocal),
    /// From probabilities.
    Probability(BinaryFocal),
    /// The seed article's `where`/`clamp` code: every element also pays the clamped terms of
    /// the class it is not (`pos(0.999)` for negatives, `neg(1e-3)` for positives).
    SeedLeaky(BinaryFocal),
    /// smp's focal with `reduced_threshold` or `normalized` (see [`SmpModifier`]).
    SmpModified(SmpModifier),
    /// kornia's binary focal with per-channel weights (channel = dim 1): the positive and
    /// negative terms come from two runs of the Kornia-form kernel (alpha 1 keeps only
    /// `t (1-p)^gamma (-log p)`, alpha 0 only the negative term) and are combined as
    /// `(alpha pos_weight[c] pos + (1 - alpha) neg) weight[c]`.
    KorniaWeighted {
        /// Focusing exponent.
        gamma: f32,
        /// Weight of the positive term (`1 - alpha` of the negative), or none.
        alpha: Option<f32>,
        /// Per-channel weight of the positive term.
        pos_weight: Option<Vec<f32>>,
        /// Per-channel weight of the whole loss.
        weight: Option<Vec<f32>>,
    },
}

/// How scores are transformed on the host before a `loss-core` kernel sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prepare {
    /// Unchanged.
    None,
    /// `sigmoid(x)`: logits into a probability loss (Keras `from_logits`, seed `logits`).
    Sigmoid,
    /// `ln(p / (1 - p))` of `p` clamped to `[eps, 1 - eps]`: probabilities into a logit loss
    /// (smp `from_logits=False`, binary and multilabel).
    Logit(f32),
    /// `ln p`, `p` clamped to `[eps, 1 - eps]` when `eps > 0`: probabilities into a softmax loss,
    /// which renormalises them (smp multiclass, which clamps before renormalising).
    Log(f32),
}

impl Prepare {
    fn apply(self, values: &mut [f32]) {
        let clamp = |p: f32, eps: f32| {
            if eps > 0.0 {
                p.clamp(eps, 1.0 - eps)
            } else {
                p
            }
        };
        match self {
            Self::None => {}
            Self::Sigmoid => values.iter_mut().for_each(|x| *x = loss_core::sigmoid(*x)),
            Self::Logit(eps) => values.iter_mut().for_each(|x| {
                let p = clamp(*x, eps);
                *x = (p / (1.0 - p)).ln();
            }),
            Self::Log(eps) => values.iter_mut().for_each(|x| *x = clamp(*x, eps).ln()),
        }
    }
}

/// How targets are smoothed before the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// Unchanged.
    None,
    /// Keras binary: `t (1 - s) + s / 2`.
    KerasBinary(f32),
    /// smp `SoftBCEWithLogitsLoss`: `(1 - t) s + t (1 - s)`.
    Smp(f32),
}

/// What happens to elements whose target equals an `ignore_index`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ignore {
    /// Nothing is ignored.
    None,
    /// Their loss is 0 but they count in the mean (kornia, smp `SoftBCEWithLogitsLoss`).
    ZeroKeep(i64),
    /// They are removed (smp `FocalLoss`).
    Remove(i64),
}

/// How elementwise losses are reduced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ElementReduce {
    /// The input's shape.
    None,
    /// Mean over every element.
    Mean,
    /// Sum over every element.
    Sum,
    /// Keras: mean over `axis`, then `reduction` over the remaining values (`None`: them).
    Axis(Option<Reduction>, i64),
}

/// A binary elementwise loss and its framework's pre-processing and reduction.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementPlan {
    /// Argument names.
    pub names: Names,
    /// The loss.
    pub loss: BinaryLoss,
    /// Host-side transform of the predictions.
    pub prepare: Prepare,
    /// Target smoothing.
    pub smoothing: Smoothing,
    /// Ignored targets.
    pub ignore: Ignore,
    /// Reduction.
    pub reduce: ElementReduce,
}

/// How the target tensor of a multi-class call is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetSpec {
    /// Same shape as the scores.
    Dense,
    /// Class indices with a singleton channel axis, `(B, 1, ...)` (MONAI `to_onehot_y`).
    LabelsWithChannel,
    /// Class indices, `(B, ...)` (kornia, smp multiclass).
    Labels,
    /// smp binary mode: scores and targets of any shapes with the same size, read as
    /// `(B, 1, everything else)`.
    Flattened,
}

/// A per-class alpha specification, resolved against the class count when run.
#[derive(Debug, Clone, PartialEq)]
pub enum AlphaSpec {
    /// No alpha.
    None,
    /// `[1 - a, a, a, ...]`.
    Background(f32),
    /// `a` for every class.
    Uniform(f32),
    /// One per class.
    PerClass(Vec<f32>),
    /// One per class, on positives only.
    Positives(Vec<f32>),
}

/// Which focal loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FocalKind {
    /// Softmax over the classes.
    Softmax,
    /// Probabilities renormalised by their sum (`SoftmaxFocal::with_predictions`).
    SoftmaxOnProbabilities,
    /// One sigmoid focal per class, with a soft-target form.
    OneVsRest(loss_core::focal::SoftTargets),
}

/// How class-focal terms are reduced.
#[derive(Debug, Clone, PartialEq)]
pub enum FocalReduce {
    /// Every term, in the input's shape (MONAI and kornia `none`).
    Elementwise,
    /// Sum over every term divided by `B · C · spatial` (MONAI `mean`; kornia `mean`, where
    /// ignored pixels count).
    PerElementMean,
    /// Mean over the (non-ignored) pixels of each (sample, class), summed (MONAI `sum`).
    MonaiSum,
    /// Sum of every term.
    Sum,
    /// Per pixel (row) sum over classes along `axis` (the last), then reduced (Keras; `None`:
    /// the rows).
    Rows(Option<Reduction>, i64),
    /// Each class's terms reduced over the (non-ignored) pixels (mean, or sum with
    /// `sum_each`), then the mean over classes, or the weighted mean `Σ w v / Σ w` (smp 0.6).
    ClassMeans {
        /// Sum instead of mean within a class.
        sum_each: bool,
        /// Class weights of the final mean.
        weights: Option<Vec<f32>>,
        /// smp's `reduced_threshold` / `normalized` focal factor, if either is set.
        modifier: Option<SmpModifier>,
    },
    /// Sum over every term divided by the pixels (cross-entropy `mean`).
    PerPixelMean,
}

/// A multi-class focal loss and its framework's conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassFocalPlan {
    /// Argument names.
    pub names: Names,
    /// Memory layout of the framework.
    pub layout: Layout,
    /// Softmax or one-vs-rest.
    pub kind: FocalKind,
    /// Focusing exponent.
    pub gamma: f32,
    /// Alpha per class.
    pub alpha: AlphaSpec,
    /// Class weights.
    pub weights: Option<ScalarOrList>,
    /// How targets are read.
    pub targets: TargetSpec,
    /// Ignored label.
    pub ignore_index: Option<i64>,
    /// Drop class 0 from scores and targets before anything (MONAI `include_background=False`).
    pub drop_background: bool,
    /// Host-side transform of the scores.
    pub prepare: Prepare,
    /// Clip of each class probability (Keras `[1e-7, 1 - 1e-7]`).
    pub clip: Option<(f32, f32)>,
    /// Keras categorical label smoothing `t (1 - s) + s / C`.
    pub smoothing: f32,
    /// Reduction.
    pub reduce: FocalReduce,
}

/// How per-(sample, class) overlap losses are reduced.
#[derive(Debug, Clone, PartialEq)]
pub enum OverlapReduce {
    /// `loss-core`'s [`ClassReduction`] with this reduction; `None` is MONAI's `none` output.
    Classes(Option<Reduction>),
    /// smp: optional class subset, `-ln(max(score, eps))` or `1 - score`, mean over classes,
    /// then `^gamma` (Tversky).
    Smp {
        /// Classes to keep.
        classes: Option<Vec<usize>>,
        /// `-ln` of the score.
        log_loss: bool,
        /// Clamp of the score in the log.
        eps: f32,
        /// Exponent of the mean (smp Tversky `gamma`).
        gamma: f32,
    },
    /// kornia micro: statistics summed over classes per sample, then mean over samples.
    Micro,
    /// kornia macro: per sample, the weighted mean over the classes present in its target
    /// (loss 1 when none is), then the mean over samples.
    PerSample,
}

/// A per-class dice-family loss.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlapPlan {
    /// Argument names.
    pub names: Names,
    /// Memory layout.
    pub layout: Layout,
    /// Statistics: activation, squared, intersection.
    pub overlap: ClassOverlap,
    /// Score and smoothing.
    pub loss: OverlapLoss,
    /// How targets are read.
    pub targets: TargetSpec,
    /// Ignored label (or, for dense binary targets, ignored value).
    pub ignore_index: Option<i64>,
    /// Pool statistics over the batch.
    pub pooled: bool,
    /// Keep class 0.
    pub include_background: bool,
    /// Class weights (MONAI: after background removal).
    pub weights: Option<ScalarOrList>,
    /// How weights apply.
    pub weighting: Weighting,
    /// Scale the statistics by the weights (kornia micro: `Σ w p t`, `Σ w p`, `Σ w t`).
    pub weight_stats: bool,
    /// The number of dimensions the scores must have (kornia: 4).
    pub ndim: Option<usize>,
    /// Empty-class policy.
    pub empty: EmptyClass,
    /// Reduction.
    pub reduce: OverlapReduce,
}

/// MONAI's generalized dice loss.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneralizedPlan {
    /// Argument names.
    pub names: Names,
    /// Statistics.
    pub overlap: ClassOverlap,
    /// Weights and smoothing.
    pub loss: GeneralizedDice,
    /// How targets are read.
    pub targets: TargetSpec,
    /// Pool over the batch.
    pub pooled: bool,
    /// Keep class 0.
    pub include_background: bool,
    /// `None` keeps per-sample values.
    pub reduce: Option<Reduction>,
}

/// The axes a Keras loss reduces over.
#[derive(Debug, Clone, PartialEq)]
pub enum Axes {
    /// Every axis: one value (`axis=None`).
    All,
    /// Every axis but the batch: one value per sample (the seed article's `DiceLoss`).
    AllButBatch,
    /// These axes (negative counts from the end); the others remain.
    These(Vec<i64>),
}

/// For a row-major tensor of `shape`, the shape that remains after reducing `axes` and, for
/// each remaining index in order, the flat indices of its elements in order.
fn groups(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let out_shape: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
    let mut out = vec![Vec::new(); out_shape.iter().product::<usize>().max(1)];
    let len: usize = shape.iter().product();
    for flat in 0..len {
        let (mut rest, mut group, mut stride) = (flat, 0, 1);
        let mut coords = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            coords[d] = rest % shape[d];
            rest /= shape[d];
        }
        for &d in kept.iter().rev() {
            group += coords[d] * stride;
            stride *= shape[d];
        }
        out[group].push(flat);
    }
    (out_shape, out)
}

/// Normalises Keras axes (negative from the end) against a rank.
fn normalise_axes(axes: &[i64], ndim: usize) -> Result<Vec<usize>, String> {
    axes.iter()
        .map(|&a| {
            let d = if a < 0 { a + ndim as i64 } else { a };
            usize::try_from(d)
                .ok()
                .filter(|&d| d < ndim)
                .ok_or_else(|| {
                    format!("parameter `axis`: {a} is out of range for {ndim} dimensions")
                })
        })
        .collect()
}

/// A binary dice-family loss on flattened tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatPlan {
    /// Argument names.
    pub names: Names,
    /// Score and smoothing.
    pub loss: OverlapLoss,
    /// The axes reduced into each value.
    pub axes: Axes,
    /// Reduction of per-sample values (`None`: the values).
    pub reduce: Option<Reduction>,
}

fn input<'a>(
    inputs: &'a BTreeMap<String, Tensor>,
    names: &[&'static str],
) -> Result<&'a Tensor, String> {
    names
        .iter()
        .find_map(|n| inputs.get(*n))
        .ok_or_else(|| format!("missing input `{}`", names.first().copied().unwrap_or("?")))
}

fn check_inputs(inputs: &BTreeMap<String, Tensor>, names: &Names) -> Result<(), String> {
    match inputs
        .keys()
        .find(|k| !names.prediction.contains(&k.as_str()) && !names.target.contains(&k.as_str()))
    {
        Some(k) => Err(format!(
            "unknown input `{k}` (expected `{}` and `{}`)",
            names.prediction.first().copied().unwrap_or("?"),
            names.target.first().copied().unwrap_or("?")
        )),
        None => Ok(()),
    }
}

/// `loss-core` errors as messages naming the input.
fn core(e: loss_core::Error, names: &Names) -> String {
    use loss_core::{Error, Operand};
    let name = |o: Operand| match o {
        Operand::Predictions => names.prediction.first().copied().unwrap_or("input"),
        Operand::Targets => names.target.first().copied().unwrap_or("target"),
    };
    match e {
        Error::OutOfRange { operand, index } => {
            format!("input `{}`[{index}] is outside [0, 1]", name(operand))
        }
        Error::ShapeMismatch {
            operand,
            expected,
            found,
        } => format!(
            "input `{}` has {found} elements, expected {expected}",
            name(operand)
        ),
        Error::LabelOutOfRange { index, label } => format!(
            "input `{}`: label {label} at pixel {index} is not a class",
            name(Operand::Targets)
        ),
        other => other.to_string(),
    }
}

impl Plan {
    /// Runs the plan on the inputs.
    ///
    /// # Errors
    /// A message naming the input at fault.
    pub fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        match self {
            Self::Element(p) => p.run(inputs),
            Self::ClassFocal(p) => p.run(inputs),
            Self::Overlap(p) => p.run(inputs),
            Self::Generalized(p) => p.run(inputs),
            Self::Flat(p) => p.run(inputs),
            Self::Sum(parts) => {
                let mut total: Option<Tensor> = None;
                for (lambda, plan) in parts {
                    let mut value = plan.run(inputs)?;
                    if let super::tensor::TensorData::F32(v) = &mut value.data {
                        v.iter_mut().for_each(|x| *x *= lambda);
                    }
                    total = Some(match total {
                        None => value,
                        Some(t) => broadcast_add(&t, &value)?,
                    });
                }
                total.ok_or_else(|| "a combined loss needs parts".to_owned())
            }
            Self::ByChannels { several, one } => {
                let channels = inputs.get("input").and_then(|t| t.shape.get(1).copied());
                if channels == Some(1) {
                    one.run(inputs)
                } else {
                    several.run(inputs)
                }
            }
        }
    }
}

/// `a + b` with NumPy broadcasting of size-1 dimensions (MONAI adds a `(B, C, 1, 1)` dice to
/// a `(B, C, H, W)` focal loss).
fn broadcast_add(a: &Tensor, b: &Tensor) -> Result<Tensor, String> {
    let rank = a.shape.len().max(b.shape.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        std::iter::repeat_n(1, rank - s.len())
            .chain(s.iter().copied())
            .collect()
    };
    let (sa, sb) = (pad(&a.shape), pad(&b.shape));
    let shape = sa
        .iter()
        .zip(&sb)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("cannot add shapes {:?} and {:?}", a.shape, b.shape)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (va, vb) = (a.as_f32(), b.as_f32());
    let index = |s: &[usize], mut flat: usize| -> usize {
        let (mut i, mut stride) = (0, 1);
        for (d, &n) in shape.iter().zip(s).rev() {
            let coord = flat % d;
            flat /= d;
            if n != 1 {
                i += coord * stride;
            }
            stride *= n;
        }
        i
    };
    let len: usize = shape.iter().product();
    let data = (0..len)
        .map(|k| va[index(&sa, k)] + vb[index(&sb, k)])
        .collect();
    Ok(Tensor::f32(shape, data))
}

impl ElementPlan {
    fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        check_inputs(inputs, &self.names)?;
        let x = input(inputs, self.names.prediction)?;
        let t = input(inputs, self.names.target)?;
        if x.shape != t.shape {
            return Err(format!(
                "input `{}` has shape {:?} but `{}` has {:?}",
                self.names.prediction[0], x.shape, self.names.target[0], t.shape
            ));
        }
        let mut preds = x.as_f32();
        let raw_targets = t.as_f32();
        let ignored = |v: f32| match self.ignore {
            Ignore::ZeroKeep(i) | Ignore::Remove(i) => v == i as f32,
            Ignore::None => false,
        };
        let mut targets: Vec<f32> = raw_targets
            .iter()
            .map(|&v| {
                if ignored(v) {
                    0.0
                } else {
                    match self.smoothing {
                        Smoothing::None => v,
                        Smoothing::KerasBinary(s) => v * (1.0 - s) + 0.5 * s,
                        Smoothing::Smp(s) => (1.0 - v) * s + v * (1.0 - s),
                    }
                }
            })
            .collect();
        self.prepare.apply(&mut preds);
        let keep: Vec<bool> = raw_targets.iter().map(|&v| !ignored(v)).collect();
        if let Ignore::Remove(_) = self.ignore {
            preds = preds
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(p, _)| *p)
                .collect();
            targets = targets
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(t, _)| *t)
                .collect();
        }
        let mut losses = vec![0.0f32; preds.len()];
        let names = &self.names;
        match &self.loss {
            BinaryLoss::Sigmoid(l) => l.loss_elementwise(&preds, &targets, &mut losses),
            BinaryLoss::Probability(l) => l.loss_elementwise(&preds, &targets, &mut losses),
            BinaryLoss::SeedLeaky(l) => seed_leaky(l, &preds, &targets, &mut losses),
            BinaryLoss::SmpModified(m) => m.losses(&preds, &targets, &mut losses),
            BinaryLoss::KorniaWeighted {
                gamma,
                alpha,
                pos_weight,
                weight,
            } => {
                let channels = channel_of(&x.shape, pos_weight.as_ref().or(weight.as_ref()))?;
                kornia_weighted(
                    *gamma,
                    *alpha,
                    pos_weight,
                    weight,
                    &channels,
                    &preds,
                    &targets,
                    &mut losses,
                )
            }
        }
        .map_err(|e| core(e, names))?;
        if let Ignore::ZeroKeep(_) = self.ignore {
            for (l, k) in losses.iter_mut().zip(&keep) {
                if !k {
                    *l = 0.0;
                }
            }
        }
        let reduce = |r: Reduction, v: &[f32]| r.reduce(v).map_err(|e| core(e, names));
        Ok(match self.reduce {
            ElementReduce::None => Tensor::f32(x.shape.clone(), losses),
            ElementReduce::Mean => Tensor::scalar(reduce(Reduction::Mean, &losses)?),
            ElementReduce::Sum => Tensor::scalar(reduce(Reduction::Sum, &losses)?),
            ElementReduce::Axis(r, axis) => {
                let axes = normalise_axes(&[axis], x.shape.len())?;
                let (shape, groups) = groups(&x.shape, &axes);
                let rows = groups
                    .iter()
                    .map(|g| {
                        reduce(
                            Reduction::Mean,
                            &g.iter().map(|&i| losses[i]).collect::<Vec<_>>(),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match r {
                    Some(r) => Tensor::scalar(reduce(r, &rows)?),
                    None => Tensor::f32(shape, rows),
                }
            }
        })
    }
}

/// Keras's categorical losses take the class axis; `loss-core` takes it first or last.
fn class_axis_layout(axis: i64, ndim: usize) -> Result<Layout, String> {
    match normalise_axes(&[axis], ndim)?[..] {
        [d] if d + 1 == ndim => Ok(Layout::ChannelsLast),
        [1] => Ok(Layout::ChannelsFirst),
        _ => Err(format!(
            "parameter `axis`: {axis} is not supported (the class axis must be 1 or the last)"
        )),
    }
}

/// The channel (dim 1) of every element of a `(B, C, ...)` tensor, checking that the per-channel
/// weights have `C` entries.
fn channel_of(shape: &[usize], weights: Option<&Vec<f32>>) -> Result<Vec<usize>, String> {
    let (channels, inner) = match shape {
        [_, c, rest @ ..] => (*c, rest.iter().product::<usize>()),
        _ => {
            return Err(format!(
                "per-channel weights need a (B, C, ...) input, got shape {shape:?}"
            ));
        }
    };
    if let Some(w) = weights.filter(|w| w.len() != channels) {
        return Err(format!(
            "per-channel weights have {} entries for {channels} channels",
            w.len()
        ));
    }
    let len: usize = shape.iter().product();
    Ok((0..len)
        .map(|i| (i / inner.max(1)) % channels.max(1))
        .collect())
}

/// kornia's weighted binary focal (see [`BinaryLoss::KorniaWeighted`]).
#[allow(clippy::too_many_arguments)] // the loss's parameters, then the data
fn kornia_weighted(
    gamma: f32,
    alpha: Option<f32>,
    pos_weight: &Option<Vec<f32>>,
    weight: &Option<Vec<f32>>,
    channels: &[usize],
    preds: &[f32],
    targets: &[f32],
    out: &mut [f32],
) -> Result<(), loss_core::Error> {
    use loss_core::focal::SoftTargets;
    let term = |a: f32| {
        SigmoidFocal::new(Some(a), gamma).map(|l| l.with_soft_targets(SoftTargets::Kornia))
    };
    let mut neg = vec![0.0f32; preds.len()];
    term(1.0)?.loss_elementwise(preds, targets, out)?;
    term(0.0)?.loss_elementwise(preds, targets, &mut neg)?;
    let (a_pos, a_neg) = alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    let at =
        |w: &Option<Vec<f32>>, c: usize| w.as_ref().and_then(|w| w.get(c)).copied().unwrap_or(1.0);
    for ((o, n), &c) in out.iter_mut().zip(neg).zip(channels) {
        *o = (a_pos * *o * at(pos_weight, c) + a_neg * n) * at(weight, c);
    }
    Ok(())
}

/// The seed article's focal code, element by element (see [`BinaryLoss::SeedLeaky`]).
fn seed_leaky(
    l: &BinaryFocal,
    preds: &[f32],
    targets: &[f32],
    out: &mut [f32],
) -> Result<(), loss_core::Error> {
    let positive: Vec<f32> = preds
        .iter()
        .zip(targets)
        .map(|(&p, &t)| if t == 1.0 { p } else { 1.0 })
        .collect();
    let negative: Vec<f32> = preds
        .iter()
        .zip(targets)
        .map(|(&p, &t)| if t == 0.0 { p } else { 0.0 })
        .collect();
    let mut neg = vec![0.0f32; preds.len()];
    l.loss_elementwise(&positive, &vec![1.0; preds.len()], out)?;
    l.loss_elementwise(&negative, &vec![0.0; preds.len()], &mut neg)?;
    for (o, n) in out.iter_mut().zip(neg) {
        *o += n;
    }
    Ok(())
}

/// The (batch, classes, spatial) of a score tensor in a layout.
fn split_shape(
    shape: &[usize],
    layout: Layout,
    name: &str,
) -> Result<(usize, usize, usize), String> {
    match (layout, shape) {
        (_, [] | [_]) => Err(format!(
            "input `{name}` needs a batch and a class axis, got shape {shape:?}"
        )),
        (Layout::ChannelsFirst, [b, c, rest @ ..]) => Ok((*b, *c, rest.iter().product())),
        (Layout::ChannelsLast, [b, rest @ ..]) => {
            let (c, spatial) = rest.split_last().map_or((1, &[][..]), |(c, s)| (*c, s));
            Ok((*b, c, spatial.iter().product()))
        }
    }
}

/// Scores and targets of a multi-class call, normalised: dense `f32` targets or `i32` labels.
struct ClassData {
    shape: Shape,
    scores: Vec<f32>,
    dense: Option<Vec<f32>>,
    labels: Option<Vec<i32>>,
    ignore: Option<i32>,
}

impl ClassData {
    fn read(
        inputs: &BTreeMap<String, Tensor>,
        names: &Names,
        layout: Layout,
        spec: TargetSpec,
        ignore_index: Option<i64>,
    ) -> Result<Self, String> {
        check_inputs(inputs, names)?;
        let pname = names.prediction[0];
        let tname = names.target[0];
        let x = input(inputs, names.prediction)?;
        let t = input(inputs, names.target)?;
        let flat;
        let (x, t, spec) = if spec == TargetSpec::Flattened {
            let b = x.shape.first().copied().unwrap_or(1);
            if t.len() != x.len() {
                return Err(format!(
                    "input `{tname}` has {} elements but `{pname}` has {}",
                    t.len(),
                    x.len()
                ));
            }
            let shape = vec![b, 1, x.len() / b.max(1)];
            flat = (
                Tensor::f32(shape.clone(), x.as_f32()),
                Tensor::f32(shape, t.as_f32()),
            );
            (&flat.0, &flat.1, TargetSpec::Dense)
        } else {
            (x, t, spec)
        };
        let (b, c, s) = split_shape(&x.shape, layout, pname)?;
        let shape = Shape::new(b, c, s, layout).map_err(|e| format!("input `{pname}`: {e}"))?;
        // MONAI ignores `to_onehot_y` with one channel: the target is then dense.
        let spec = if c == 1 && spec == TargetSpec::LabelsWithChannel {
            TargetSpec::Dense
        } else {
            spec
        };
        let (dense, labels) = match spec {
            TargetSpec::Dense => {
                if t.shape != x.shape {
                    return Err(format!(
                        "input `{tname}` has shape {:?}, expected {:?} like `{pname}`",
                        t.shape, x.shape
                    ));
                }
                (Some(t.as_f32()), None)
            }
            TargetSpec::LabelsWithChannel | TargetSpec::Labels | TargetSpec::Flattened => {
                let mut expected = x.shape.clone();
                match (spec, layout) {
                    (TargetSpec::LabelsWithChannel, _) => expected[1] = 1,
                    (_, Layout::ChannelsFirst) => {
                        expected.remove(1);
                    }
                    (_, Layout::ChannelsLast) => {
                        expected.pop();
                    }
                }
                if t.shape != expected {
                    return Err(format!(
                        "input `{tname}` has shape {:?}, expected {expected:?}",
                        t.shape
                    ));
                }
                if spec == TargetSpec::Labels
                    && !matches!(t.data, super::tensor::TensorData::I64(_))
                {
                    return Err(format!(
                        "input `{tname}` must hold class indices (dtype int64)"
                    ));
                }
                let labels = t
                    .as_labels(tname)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        i32::try_from(l)
                            .map_err(|_| format!("input `{tname}`[{i}] = {l} is not a class"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (None, Some(labels))
            }
        };
        let ignore = ignore_index
            .map(|i| i32::try_from(i).map_err(|_| format!("ignore_index {i} is out of range")))
            .transpose()?;
        Ok(Self {
            shape,
            scores: x.as_f32(),
            dense,
            labels,
            ignore,
        })
    }

    fn targets(&self) -> Targets<'_> {
        match (&self.dense, &self.labels) {
            (Some(d), _) => Targets::dense(d),
            (None, Some(l)) => match self.ignore {
                Some(i) => Targets::labels(l).with_ignore_index(i),
                None => Targets::labels(l),
            },
            (None, None) => Targets::dense(&[]),
        }
    }

    fn classes(&self) -> usize {
        self.shape.classes()
    }

    /// Dense one-hot targets (ignored pixels all zero).
    fn densify(&mut self) {
        if let Some(labels) = self.labels.take() {
            let (c, s) = (self.shape.classes(), self.shape.spatial());
            let mut dense = vec![0.0f32; self.shape.elements()];
            for (pixel, &l) in labels.iter().enumerate() {
                if Some(l) == self.ignore {
                    continue;
                }
                let (n, p) = (pixel / s, pixel % s);
                if let Ok(k) = usize::try_from(l)
                    && k < c
                {
                    let i = self.index(n, k, p);
                    dense[i] = 1.0;
                }
            }
            self.dense = Some(dense);
            self.ignore = None;
        }
    }

    fn index(&self, n: usize, c: usize, s: usize) -> usize {
        let (classes, spatial) = (self.shape.classes(), self.shape.spatial());
        match self.shape.layout() {
            Layout::ChannelsFirst => (n * classes + c) * spatial + s,
            Layout::ChannelsLast => (n * spatial + s) * classes + c,
        }
    }

    /// Removes class 0 from scores and targets (targets become dense).
    fn drop_background(&mut self) -> Result<(), String> {
        self.densify();
        let (b, c, s) = (
            self.shape.batch(),
            self.shape.classes(),
            self.shape.spatial(),
        );
        let layout = self.shape.layout();
        let keep = move |v: &[f32]| -> Vec<f32> {
            let mut out = Vec::with_capacity(b * (c - 1) * s);
            for n in 0..b {
                match layout {
                    Layout::ChannelsFirst => {
                        out.extend_from_slice(&v[(n * c + 1) * s..(n + 1) * c * s]);
                    }
                    Layout::ChannelsLast => {
                        for p in 0..s {
                            out.extend_from_slice(&v[(n * s + p) * c + 1..(n * s + p + 1) * c]);
                        }
                    }
                }
            }
            out
        };
        let scores = keep(&self.scores);
        let dense = self.dense.as_deref().map(keep);
        self.scores = scores;
        self.dense = dense;
        self.shape = Shape::new(b, c - 1, s, self.shape.layout()).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The scores and targets of sample `n`, for an accumulator push.
    fn sample(&self, n: usize) -> (&[f32], Targets<'_>) {
        let per = self.shape.classes() * self.shape.spatial();
        let s = self.shape.spatial();
        let scores = &self.scores[n * per..(n + 1) * per];
        let targets = match (&self.dense, &self.labels) {
            (Some(d), _) => Targets::dense(&d[n * per..(n + 1) * per]),
            (None, Some(l)) => {
                let t = Targets::labels(&l[n * s..(n + 1) * s]);
                match self.ignore {
                    Some(i) => t.with_ignore_index(i),
                    None => t,
                }
            }
            (None, None) => Targets::dense(&[]),
        };
        (scores, targets)
    }
}

fn resolve_weights(
    w: &Option<ScalarOrList>,
    classes: usize,
    what: &str,
) -> Result<Option<Vec<f32>>, String> {
    match w {
        None => Ok(None),
        Some(ScalarOrList::Scalar(v)) => Ok(Some(vec![*v; classes])),
        Some(ScalarOrList::List(l)) if l.len() == classes => Ok(Some(l.clone())),
        Some(ScalarOrList::List(l)) => Err(format!(
            "parameter `{what}` has {} entries for {classes} classes",
            l.len()
        )),
    }
}

impl ClassFocalPlan {
    fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let names = &self.names;
        let full_shape = input(inputs, names.prediction)?.shape.clone();
        let layout = match self.reduce {
            FocalReduce::Rows(_, axis) => class_axis_layout(axis, full_shape.len())?,
            _ => self.layout,
        };
        let mut data = ClassData::read(inputs, names, layout, self.targets, self.ignore_index)?;
        if self.drop_background && data.classes() > 1 {
            data.drop_background()?;
        }
        self.prepare.apply(&mut data.scores);
        if self.smoothing != 0.0 {
            data.densify();
            let c = data.classes() as f32;
            let s = self.smoothing;
            if let Some(d) = data.dense.as_mut() {
                d.iter_mut().for_each(|t| *t = *t * (1.0 - s) + s / c);
            }
        }
        let classes = data.classes();
        let weights = resolve_weights(&self.weights, classes, "weight")?;
        let alpha_list;
        let alpha = match &self.alpha {
            AlphaSpec::None => ClassAlpha::None,
            AlphaSpec::Background(a) => ClassAlpha::Background(*a),
            AlphaSpec::Uniform(a) => ClassAlpha::Uniform(*a),
            AlphaSpec::PerClass(l) => {
                alpha_list = l.clone();
                ClassAlpha::PerClass(&alpha_list)
            }
            AlphaSpec::Positives(l) => {
                alpha_list = l.clone();
                ClassAlpha::Positives(&alpha_list)
            }
        };
        let err = |e| core(e, names);
        match self.kind {
            FocalKind::Softmax | FocalKind::SoftmaxOnProbabilities => {
                let mut loss =
                    SoftmaxFocal::new(self.gamma, alpha, weights.as_deref()).map_err(err)?;
                if self.kind == FocalKind::SoftmaxOnProbabilities {
                    loss = loss.with_predictions(loss_core::Predictions::Probabilities);
                }
                if let Some((min, max)) = self.clip {
                    loss = loss.with_probability_clip(min, max).map_err(err)?;
                }
                self.reduce_with(loss, &data, &full_shape)
            }
            FocalKind::OneVsRest(_)
                if matches!(
                    self.reduce,
                    FocalReduce::ClassMeans {
                        modifier: Some(_),
                        ..
                    }
                ) =>
            {
                self.smp_class_means(&data)
            }
            FocalKind::OneVsRest(soft) => {
                let loss = OneVsRestFocal::new(self.gamma, alpha, weights.as_deref())
                    .map_err(err)?
                    .with_soft_targets(soft);
                self.reduce_with(loss, &data, &full_shape)
            }
        }
    }

    /// smp's per-class focal with a [`SmpModifier`]: each class's non-ignored elements are one
    /// `focal_loss_with_logits` call, reduced, then the (weighted) mean over classes.
    fn smp_class_means(&self, data: &ClassData) -> Result<Tensor, String> {
        let FocalReduce::ClassMeans {
            sum_each,
            weights,
            modifier: Some(m),
        } = &self.reduce
        else {
            return Err("internal: not an smp class mean".into());
        };
        let err = |e| core(e, &self.names);
        let (b, c, s) = (data.shape.batch(), data.classes(), data.shape.spatial());
        let mut per_class = Vec::with_capacity(c);
        for k in 0..c {
            let (mut x, mut t) = (Vec::new(), Vec::new());
            for n in 0..b {
                for p in 0..s {
                    let target = match (&data.dense, &data.labels) {
                        (Some(d), _) => d[data.index(n, k, p)],
                        (None, Some(l)) if Some(l[n * s + p]) == data.ignore => continue,
                        (None, Some(l)) => f32::from(u8::from(l[n * s + p] == k as i32)),
                        (None, None) => continue,
                    };
                    x.push(data.scores[data.index(n, k, p)]);
                    t.push(target);
                }
            }
            let mut losses = vec![0.0f32; x.len()];
            m.losses(&x, &t, &mut losses).map_err(err)?;
            let r = if *sum_each {
                Reduction::Sum
            } else {
                Reduction::Mean
            };
            per_class.push(r.reduce(&losses).map_err(err)?);
        }
        Ok(Tensor::scalar(match weights {
            Some(w) if w.len() != c => {
                return Err(format!(
                    "parameter `class_weights` has {} entries for {c} classes",
                    w.len()
                ));
            }
            Some(w) => {
                let (num, den) = per_class
                    .iter()
                    .zip(w)
                    .fold((0.0f32, 0.0f32), |(n, d), (v, w)| (n + v * w, d + w));
                num / den
            }
            None => per_class.iter().fold(0.0, |a, v| a + v) / c as f32,
        }))
    }

    fn reduce_with<L: ClassLoss>(
        &self,
        loss: L,
        data: &ClassData,
        full_shape: &[usize],
    ) -> Result<Tensor, String> {
        let names = &self.names;
        let err = |e| core(e, names);
        let shape = &data.shape;
        let (b, c, s) = (shape.batch(), shape.classes(), shape.spatial());
        match &self.reduce {
            FocalReduce::Elementwise | FocalReduce::Rows(..) => {
                let mut out = vec![0.0f32; shape.elements()];
                loss.loss_elementwise(shape, &data.scores, data.targets(), &mut out)
                    .map_err(err)?;
                if let FocalReduce::Rows(r, axis) = self.reduce {
                    // Each pixel's terms, summed over the class axis in class order.
                    let axes = normalise_axes(&[axis], full_shape.len())?;
                    let (shape, groups) = groups(full_shape, &axes);
                    let rows: Vec<f32> = groups
                        .iter()
                        .map(|g| g.iter().fold(0.0, |a, &i| a + out[i]))
                        .collect();
                    return Ok(match r {
                        Some(r) => Tensor::scalar(r.reduce(&rows).map_err(err)?),
                        None => Tensor::f32(shape, rows),
                    });
                }
                let mut out_shape = full_shape.to_vec();
                if let Some(d) = out_shape.get_mut(if self.layout == Layout::ChannelsFirst {
                    1
                } else {
                    full_shape.len() - 1
                }) {
                    *d = c;
                }
                Ok(Tensor::f32(out_shape, out))
            }
            FocalReduce::MonaiSum => {
                // Per sample: each class's sum over the valid pixels, divided by their count.
                let mut total = 0.0f32;
                let mut sums = vec![0.0f32; c];
                for n in 0..b {
                    let mut acc =
                        ClassLossAccumulator::<L, HOST_CLASSES>::new(loss, c).map_err(err)?;
                    let (scores, targets) = data.sample(n);
                    acc.push(self.layout, scores, targets).map_err(err)?;
                    acc.class_sums(&mut sums).map_err(err)?;
                    let valid = (acc.pixels() as f32).max(f32::EPSILON);
                    total = sums.iter().fold(total, |a, v| a + v / valid);
                }
                Ok(Tensor::scalar(total))
            }
            _ => {
                let mut acc = ClassLossAccumulator::<L, HOST_CLASSES>::new(loss, c).map_err(err)?;
                for n in 0..b {
                    let (scores, targets) = data.sample(n);
                    acc.push(self.layout, scores, targets).map_err(err)?;
                }
                let value = match &self.reduce {
                    FocalReduce::PerElementMean => acc.total() / (b * c * s) as f32,
                    FocalReduce::Sum => acc.total(),
                    FocalReduce::PerPixelMean => acc.mean_per_pixel().map_err(err)?,
                    FocalReduce::ClassMeans {
                        sum_each, weights, ..
                    } => {
                        let mut sums = vec![0.0f32; c];
                        acc.class_sums(&mut sums).map_err(err)?;
                        let pixels = acc.pixels() as f32;
                        let per_class =
                            sums.iter().map(|v| if *sum_each { *v } else { v / pixels });
                        match weights {
                            Some(w) if w.len() != c => {
                                return Err(format!(
                                    "parameter `class_weights` has {} entries for {c} classes",
                                    w.len()
                                ));
                            }
                            Some(w) => {
                                let (num, den) = per_class
                                    .zip(w)
                                    .fold((0.0f32, 0.0f32), |(n, d), (v, w)| (n + v * w, d + w));
                                num / den
                            }
                            None => per_class.fold(0.0, |a, v| a + v) / c as f32,
                        }
                    }
                    FocalReduce::Elementwise | FocalReduce::Rows(..) | FocalReduce::MonaiSum => {
                        unreachable!("reduced above")
                    }
                };
                Ok(Tensor::scalar(value))
            }
        }
    }
}

impl OverlapPlan {
    fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let names = &self.names;
        let err = |e| core(e, names);
        if let Some(ndim) = self.ndim {
            let shape = &input(inputs, names.prediction)?.shape;
            if shape.len() != ndim {
                return Err(format!(
                    "input `{}` has shape {shape:?}, expected {ndim} dimensions",
                    names.prediction[0]
                ));
            }
        }
        let mut data =
            ClassData::read(inputs, names, self.layout, self.targets, self.ignore_index)?;
        let mut overlap = self.overlap;
        // MONAI: softmax is ignored with one channel.
        if data.classes() == 1 && overlap.activation == loss_core::multiclass::Activation::Softmax {
            overlap.activation = loss_core::multiclass::Activation::None;
        }
        // Dense binary targets with an ignore value (smp binary, multilabel): ignored elements
        // vanish from every sum, as smp multiplies both tensors by the mask after activation.
        if let (Some(ignore), Some(dense)) = (self.ignore_index, data.dense.as_mut()) {
            let ignored: Vec<bool> = dense.iter().map(|&t| t == ignore as f32).collect();
            if ignored.iter().any(|&i| i) {
                for p in data.scores.iter_mut() {
                    *p = match overlap.activation {
                        loss_core::multiclass::Activation::Sigmoid => loss_core::sigmoid(*p),
                        _ => *p,
                    };
                }
                overlap.activation = loss_core::multiclass::Activation::None;
                for ((p, t), i) in data.scores.iter_mut().zip(dense.iter_mut()).zip(&ignored) {
                    if *i {
                        *p = 0.0;
                        *t = 0.0;
                    }
                }
            }
        }
        let (b, c) = (data.shape.batch(), data.classes());
        let groups = if self.pooled { 1 } else { b };
        let mut stats = vec![OverlapStats::default(); groups * c];
        if self.pooled {
            overlap
                .pooled_class_stats::<HOST_CLASSES>(
                    &data.shape,
                    &data.scores,
                    data.targets(),
                    &mut stats,
                )
                .map_err(err)?;
        } else {
            overlap
                .class_stats::<HOST_CLASSES>(&data.shape, &data.scores, data.targets(), &mut stats)
                .map_err(err)?;
        }
        let first = usize::from(!self.include_background && c > 1);
        // MONAI indexes `weight` after background removal; loss-core by class.
        let weights = match resolve_weights(&self.weights, c - first, "weight")? {
            Some(w) if first == 1 => Some(std::iter::once(1.0).chain(w).collect::<Vec<_>>()),
            w => w,
        };
        if self.weight_stats
            && let Some(w) = &weights
        {
            for row in stats.chunks_mut(c) {
                for (s, &w) in row.iter_mut().zip(w) {
                    s.intersection *= w;
                    s.prediction_sum *= w;
                    s.target_sum *= w;
                }
            }
        }
        match &self.reduce {
            OverlapReduce::Classes(r) => {
                let reduction = ClassReduction {
                    include_background: self.include_background,
                    weights: if self.weight_stats {
                        None
                    } else {
                        weights.as_deref()
                    },
                    weighting: self.weighting,
                    empty: self.empty,
                    reduction: r.unwrap_or(Reduction::Mean),
                };
                match r {
                    Some(_) => Ok(Tensor::scalar(
                        reduction.reduce(&self.loss, &stats, c).map_err(err)?,
                    )),
                    None => {
                        let mut out = vec![0.0f32; stats.len()];
                        let n = reduction
                            .losses(&self.loss, &stats, c, &mut out)
                            .map_err(err)?;
                        out.truncate(n);
                        let full = &input(inputs, names.prediction)?.shape;
                        let mut shape = if self.pooled {
                            vec![c - first]
                        } else {
                            vec![b, c - first]
                        };
                        shape.extend(std::iter::repeat_n(1, full.len().saturating_sub(2)));
                        Ok(Tensor::f32(shape, out))
                    }
                }
            }
            OverlapReduce::PerSample => {
                let reduction = ClassReduction {
                    include_background: self.include_background,
                    weights: weights.as_deref(),
                    weighting: Weighting::Normalize,
                    empty: EmptyClass::Skip,
                    reduction: Reduction::Mean,
                };
                let per_sample = stats
                    .chunks(c)
                    .map(|row| match reduction.reduce(&self.loss, row, c) {
                        // No class present, or every present class weighs 0: loss 1.
                        Err(loss_core::Error::EmptyInput) => 1.0,
                        Ok(v) if v.is_nan() && weights.is_some() => 1.0,
                        Ok(v) => v,
                        Err(_) => f32::NAN,
                    })
                    .collect::<Vec<_>>();
                Ok(Tensor::scalar(
                    Reduction::Mean.reduce(&per_sample).map_err(err)?,
                ))
            }
            OverlapReduce::Micro => {
                let per_sample = stats
                    .chunks(c)
                    .map(|row| {
                        let pooled =
                            row.iter()
                                .fold(OverlapStats::default(), |a, s| OverlapStats {
                                    intersection: a.intersection + s.intersection,
                                    prediction_sum: a.prediction_sum + s.prediction_sum,
                                    target_sum: a.target_sum + s.target_sum,
                                    count: a.count + s.count,
                                });
                        self.loss.loss_from(&pooled)
                    })
                    .collect::<Vec<_>>();
                Ok(Tensor::scalar(
                    Reduction::Mean.reduce(&per_sample).map_err(err)?,
                ))
            }
            OverlapReduce::Smp {
                classes,
                log_loss,
                eps,
                gamma,
            } => {
                let kept: Vec<usize> = match classes {
                    Some(list) => {
                        if let Some(bad) = list.iter().find(|&&k| k >= c) {
                            return Err(format!(
                                "parameter `classes`: class {bad} does not exist ({c} classes)"
                            ));
                        }
                        list.clone()
                    }
                    None => (0..c).collect(),
                };
                let mut sum = 0.0f32;
                let mut weight_sum = 0.0f32;
                for &k in &kept {
                    let s = &stats[k];
                    let score = self.loss.score(s);
                    let loss = if *log_loss {
                        -score.max(*eps).ln()
                    } else {
                        1.0 - score
                    };
                    let loss = if s.target_sum > 0.0 { loss } else { 0.0 };
                    let w = weights.as_ref().map_or(1.0, |w| w[k]);
                    sum += loss * w;
                    weight_sum += w;
                }
                let mean = if weights.is_some() {
                    sum / weight_sum
                } else {
                    sum / kept.len() as f32
                };
                Ok(Tensor::scalar(if *gamma == 1.0 {
                    mean
                } else {
                    mean.powf(*gamma)
                }))
            }
        }
    }
}

impl GeneralizedPlan {
    fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let names = &self.names;
        let err = |e| core(e, names);
        let data = ClassData::read(inputs, names, Layout::ChannelsFirst, self.targets, None)?;
        let mut overlap = self.overlap;
        if data.classes() == 1 && overlap.activation == loss_core::multiclass::Activation::Softmax {
            overlap.activation = loss_core::multiclass::Activation::None;
        }
        let (b, c) = (data.shape.batch(), data.classes());
        let groups = if self.pooled { 1 } else { b };
        let mut stats = vec![OverlapStats::default(); groups * c];
        if self.pooled {
            overlap.pooled_class_stats::<HOST_CLASSES>(
                &data.shape,
                &data.scores,
                data.targets(),
                &mut stats,
            )
        } else {
            overlap.class_stats::<HOST_CLASSES>(
                &data.shape,
                &data.scores,
                data.targets(),
                &mut stats,
            )
        }
        .map_err(err)?;
        let first = usize::from(!self.include_background && c > 1);
        let values = stats
            .chunks(c)
            .map(|row| self.loss.loss(&row[first..]).map_err(err))
            .collect::<Result<Vec<_>, _>>()?;
        match self.reduce {
            Some(r) => Ok(Tensor::scalar(r.reduce(&values).map_err(err)?)),
            None => {
                let full = &input(inputs, names.prediction)?.shape;
                let mut shape = vec![values.len(), 1];
                shape.extend(std::iter::repeat_n(1, full.len().saturating_sub(2)));
                Ok(Tensor::f32(shape, values))
            }
        }
    }
}

impl GeneralizedPlan {
    pub(super) fn loss_weight_type(&self) -> loss_core::multiclass::WeightType {
        self.loss.weight_type()
    }

    pub(super) fn loss_smoothing(&self) -> (f32, f32) {
        self.loss.smoothing()
    }
}

impl FlatPlan {
    fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let names = &self.names;
        check_inputs(inputs, names)?;
        let err = |e| core(e, names);
        let x = input(inputs, names.prediction)?;
        let t = input(inputs, names.target)?;
        if x.shape != t.shape {
            return Err(format!(
                "input `{}` has shape {:?} but `{}` has {:?}",
                names.prediction[0], x.shape, names.target[0], t.shape
            ));
        }
        let (preds, targets) = (x.as_f32(), t.as_f32());
        let (shape, out) = match &self.axes {
            Axes::All => {
                return Ok(Tensor::scalar(
                    self.loss.loss(&preds, &targets).map_err(err)?,
                ));
            }
            Axes::AllButBatch => {
                let samples = x.shape.first().copied().unwrap_or(1);
                let mut out = vec![0.0f32; samples];
                self.loss
                    .loss_per_sample(&preds, &targets, samples, &mut out)
                    .map_err(err)?;
                (vec![samples], out)
            }
            Axes::These(axes) => {
                let axes = normalise_axes(axes, x.shape.len())?;
                let (shape, groups) = groups(&x.shape, &axes);
                let out = groups
                    .iter()
                    .map(|g| {
                        let p: Vec<f32> = g.iter().map(|&i| preds[i]).collect();
                        let t: Vec<f32> = g.iter().map(|&i| targets[i]).collect();
                        self.loss.loss(&p, &t).map_err(err)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (shape, out)
            }
        };
        Ok(match self.reduce {
            Some(r) => Tensor::scalar(r.reduce(&out).map_err(err)?),
            None => Tensor::f32(shape, out),
        })
    }
}
