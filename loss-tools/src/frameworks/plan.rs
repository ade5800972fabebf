//! Plans: what a framework call means in `loss-core` terms, separated from the data so that
//! the same plan is both run ([`Plan::run`], in `run/`) and printed as firmware code
//! ([`Plan::rust`], in `translate.rs`).

use loss_core::Reduction;
use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::multiclass::{ClassOverlap, EmptyClass, GeneralizedDice, Layout, Weighting};

use super::params::ScalarOrList;

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

impl Plan {
    /// The argument names of its prediction and target tensors (a combined plan's first part's).
    pub fn names(&self) -> Option<Names> {
        match self {
            Self::Element(p) => Some(p.names),
            Self::ClassFocal(p) => Some(p.names),
            Self::Overlap(p) => Some(p.names),
            Self::Generalized(p) => Some(p.names),
            Self::Flat(p) => Some(p.names),
            Self::Sum(parts) => parts.first().and_then(|(_, p)| p.names()),
            Self::ByChannels { several, .. } => several.names(),
        }
    }
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
    /// A 1-D tensor of the losses, ignored elements removed (smp binary flattens its inputs).
    Flat,
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
        /// With `sum_each`, divide each class's sum by the pixels of one sample (smp
        /// `batchwise_mean` without `ignore_index`: a sum over the batch axis, then the mean
        /// over the pixels).
        batch_only: bool,
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
    /// A per-class weight list is an error when one channel is left (MONAI `FocalLoss`).
    pub list_weight_needs_classes: bool,
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
    /// `loss-core`'s [`ClassReduction`](loss_core::multiclass::ClassReduction) with this
    /// reduction; `None` is MONAI's `none` output.
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
    /// The `none` output has a size-1 axis per spatial axis: MONAI `DiceLoss` `(B, C, 1, …)`
    /// (`(C, 1, …)` with `batch`); without, MONAI `TverskyLoss` `(B, C)` (`(C,)`).
    pub keep_spatial: bool,
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

impl GeneralizedPlan {
    pub(super) fn loss_weight_type(&self) -> loss_core::multiclass::WeightType {
        self.loss.weight_type()
    }

    pub(super) fn loss_smoothing(&self) -> (f32, f32) {
        self.loss.smoothing()
    }
}
