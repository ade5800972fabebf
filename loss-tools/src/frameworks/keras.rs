//! Keras 3: `BinaryFocalCrossentropy`, `CategoricalFocalCrossentropy`, `Dice`, `Tversky`
//! (channel-last).

use loss_core::Reduction;
use loss_core::dice::OverlapLoss;
use loss_core::focal::BinaryFocal;
use loss_core::multiclass::Layout;

use super::params::{Params, ScalarOrList};
use super::plan::{
    AlphaSpec, Axes, BinaryLoss, ClassFocalPlan, ElementPlan, ElementReduce, FlatPlan, FocalKind,
    FocalReduce, Ignore, Names, Plan, Prepare, Smoothing, TargetSpec,
};
use super::torchvision::param_error;

const NAMES: Names = Names {
    prediction: &["y_pred"],
    target: &["y_true"],
};

/// Keras's `backend.epsilon()`.
const EPSILON: f32 = 1e-7;

/// `"sum_over_batch_size"` and `"mean"` are the mean without sample weights; `None`/`"none"`
/// keeps the values.
fn reduction(p: &mut Params<'_>) -> Result<Option<Reduction>, String> {
    if p.is_null("reduction") {
        return Ok(None);
    }
    Ok(
        match p.choice(
            "reduction",
            "sum_over_batch_size",
            &[
                "sum_over_batch_size",
                "mean",
                "mean_with_sample_weight",
                "sum",
                "none",
            ],
        )? {
            "sum" => Some(Reduction::Sum),
            "none" => None,
            _ => Some(Reduction::Mean),
        },
    )
}

/// The single reduction axis (checked against the input's rank when run).
fn single_axis(p: &mut Params<'_>) -> Result<i64, String> {
    match p.axes("axis")?.as_deref() {
        None => Ok(-1),
        Some([a]) => Ok(*a),
        Some(a) => Err(p.error(
            "axis",
            format_args!("{a:?} is not supported (one axis only)"),
        )),
    }
}

/// `BinaryFocalCrossentropy`: probability-space cross-entropy with `p` clipped to
/// `[1e-7, 1 - 1e-7]`, focal factor from the unclipped `p`, alpha only with
/// `apply_class_balancing`, label smoothing `t (1 - s) + s / 2`, mean over the last axis.
pub fn binary_focal(p: &mut Params<'_>) -> Result<Plan, String> {
    let balancing = p.bool("apply_class_balancing", false)?;
    let alpha = p.f32("alpha", 0.25)?;
    let gamma = p.f32("gamma", 2.0)?;
    let from_logits = p.bool("from_logits", false)?;
    let smoothing = p.f32("label_smoothing", 0.0)?;
    let axis = single_axis(p)?;
    let reduce = reduction(p)?;
    let loss =
        BinaryFocal::keras(balancing.then_some(alpha), gamma).map_err(|e| param_error(p, e))?;
    Ok(Plan::Element(ElementPlan {
        names: NAMES,
        loss: BinaryLoss::Probability(loss),
        prepare: if from_logits {
            Prepare::Sigmoid
        } else {
            Prepare::None
        },
        smoothing: if smoothing == 0.0 {
            Smoothing::None
        } else {
            Smoothing::KerasBinary(smoothing)
        },
        ignore: Ignore::None,
        reduce: ElementReduce::Axis(reduce, axis),
    }))
}

/// `CategoricalFocalCrossentropy`: softmax focal over the last axis with alpha on every class
/// (no `1 - alpha`), probabilities renormalised by their sum, label
/// smoothing `t (1 - s) + s / C`, summed over classes per row.
pub fn categorical_focal(p: &mut Params<'_>) -> Result<Plan, String> {
    let alpha = match p.scalar_or_list("alpha")? {
        None => AlphaSpec::Uniform(0.25),
        Some(ScalarOrList::Scalar(a)) => AlphaSpec::Uniform(a),
        Some(ScalarOrList::List(l)) => AlphaSpec::PerClass(l),
    };
    let gamma = p.f32("gamma", 2.0)?;
    let from_logits = p.bool("from_logits", false)?;
    let smoothing = p.f32("label_smoothing", 0.0)?;
    let axis = single_axis(p)?;
    let reduce = reduction(p)?;
    Ok(Plan::ClassFocal(ClassFocalPlan {
        names: NAMES,
        layout: Layout::ChannelsLast,
        kind: if from_logits {
            FocalKind::Softmax
        } else {
            FocalKind::SoftmaxOnProbabilities
        },
        gamma,
        alpha,
        weights: None,
        list_weight_needs_classes: false,
        targets: TargetSpec::Dense,
        ignore_index: None,
        drop_background: false,
        prepare: Prepare::None,
        clip: Some((EPSILON, 1.0 - EPSILON)),
        smoothing,
        reduce: FocalReduce::Rows(reduce, axis),
    }))
}

/// `axis=None` is one value for the whole batch; otherwise one value per index of the
/// remaining axes.
fn overlap_axes(p: &mut Params<'_>) -> Result<Axes, String> {
    Ok(p.axes("axis")?.map_or(Axes::All, Axes::These))
}

/// `Dice`: `1 - 2 Σ t p / (Σ t + Σ p + 1e-7)`.
pub fn dice(p: &mut Params<'_>) -> Result<Plan, String> {
    let axes = overlap_axes(p)?;
    let reduce = reduction(p)?;
    let loss = OverlapLoss::dice()
        .with_smoothing(0.0, EPSILON)
        .map_err(|e| param_error(p, e))?;
    Ok(Plan::Flat(FlatPlan {
        names: NAMES,
        loss,
        axes,
        reduce,
    }))
}

/// `Tversky`: `1 - I / (I + alpha fp + beta fn + 1e-7)` as documented, but Keras's code names
/// `y_true` "inputs" and `y_pred` "targets", so its `alpha` weighs false negatives and `beta`
/// false positives; reproduced as computed.
pub fn tversky(p: &mut Params<'_>) -> Result<Plan, String> {
    let alpha = p.f32("alpha", 0.5)?;
    let beta = p.f32("beta", 0.5)?;
    let axes = overlap_axes(p)?;
    let reduce = reduction(p)?;
    let loss = OverlapLoss::tversky(beta, alpha)
        .and_then(|l| l.with_smoothing(0.0, EPSILON))
        .map_err(|e| param_error(p, e))?;
    Ok(Plan::Flat(FlatPlan {
        names: NAMES,
        loss,
        axes,
        reduce,
    }))
}
