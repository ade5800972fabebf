//! MONAI 1.6 losses: `FocalLoss`, `DiceLoss`, `GeneralizedDiceLoss`, `TverskyLoss`,
//! `DiceFocalLoss`, `DiceCELoss` (channel-first, `(B, C, ...)`).

use loss_core::Reduction;
use loss_core::dice::OverlapLoss;
use loss_core::focal::{SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassOverlap, EmptyClass, GeneralizedDice, Intersection, Layout, WeightType,
    Weighting,
};

use super::params::{Params, ScalarOrList};
use super::plan::{
    AlphaSpec, BinaryLoss, ClassFocalPlan, ElementPlan, ElementReduce, FocalKind, FocalReduce,
    GeneralizedPlan, Ignore, Names, OverlapPlan, OverlapReduce, Plan, Prepare, Smoothing,
    TargetSpec,
};
use super::torchvision::param_error;

const NAMES: Names = Names {
    prediction: &["input"],
    target: &["target"],
};

/// `sigmoid`, `softmax` and `other_act` (only `"tanh"`, the callable MONAI's tests use).
fn activation(p: &mut Params<'_>) -> Result<Activation, String> {
    let sigmoid = p.bool("sigmoid", false)?;
    let softmax = p.bool("softmax", false)?;
    let other = p.has("other_act");
    let tanh = if other {
        p.choice("other_act", "tanh", &["tanh"])?;
        true
    } else {
        false
    };
    match (sigmoid, softmax, tanh) {
        (false, false, false) => Ok(Activation::None),
        (true, false, false) => Ok(Activation::Sigmoid),
        (false, true, false) => Ok(Activation::Softmax),
        (false, false, true) => Ok(Activation::Tanh),
        _ => Err(p.error(
            "sigmoid",
            "only one of sigmoid=True, softmax=True, other_act may be set",
        )),
    }
}

fn targets(p: &mut Params<'_>) -> Result<TargetSpec, String> {
    Ok(if p.bool("to_onehot_y", false)? {
        TargetSpec::LabelsWithChannel
    } else {
        TargetSpec::Dense
    })
}

fn reduction(p: &mut Params<'_>) -> Result<Option<Reduction>, String> {
    Ok(
        match p.choice("reduction", "mean", &["mean", "sum", "none"])? {
            "mean" => Some(Reduction::Mean),
            "sum" => Some(Reduction::Sum),
            _ => None,
        },
    )
}

fn weight(p: &mut Params<'_>) -> Result<Option<ScalarOrList>, String> {
    let w = p.scalar_or_list("weight")?;
    let negative = match &w {
        Some(ScalarOrList::Scalar(v)) => *v < 0.0,
        Some(ScalarOrList::List(l)) => l.iter().any(|v| *v < 0.0),
        None => false,
    };
    if negative {
        return Err(p.error("weight", "must be no less than 0"));
    }
    Ok(w)
}

/// MONAI ≥ 1.6 `ignore_index`: pixels whose label is `ignore_index` leave every sum. Supported
/// with label targets (`to_onehot_y=True`).
fn ignore_index(p: &mut Params<'_>, targets: TargetSpec) -> Result<Option<i64>, String> {
    let ignore = p.opt_i64("ignore_index", None)?;
    if ignore.is_some() && targets != TargetSpec::LabelsWithChannel {
        return Err(p.error(
            "ignore_index",
            "is supported with label targets (to_onehot_y=True) only",
        ));
    }
    Ok(ignore)
}

fn smoothing(p: &mut Params<'_>) -> Result<(f32, f32), String> {
    Ok((p.f32("smooth_nr", 1e-5)?, p.f32("smooth_dr", 1e-5)?))
}

fn overlap_plan(
    p: &mut Params<'_>,
    loss: OverlapLoss,
    squared: bool,
) -> Result<OverlapPlan, String> {
    let include_background = p.bool("include_background", true)?;
    let targets = targets(p)?;
    let activation = activation(p)?;
    let soft_label = p.bool("soft_label", false)?;
    let batch = p.bool("batch", false)?;
    let reduce = reduction(p)?;
    let ignore_index = ignore_index(p, targets)?;
    Ok(OverlapPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        overlap: ClassOverlap {
            activation,
            squared,
            // MONAI's L1 form only without squares; with squares its identity is the product.
            intersection: if soft_label && !squared {
                Intersection::Min
            } else {
                Intersection::Product
            },
        },
        loss,
        targets,
        ignore_index,
        pooled: batch,
        include_background,
        weights: None,
        weighting: Weighting::Multiply,
        weight_stats: false,
        ndim: None,
        empty: EmptyClass::Formula,
        reduce: OverlapReduce::Classes(reduce),
        keep_spatial: true,
    })
}

/// `monai.losses.DiceLoss`.
pub fn dice(p: &mut Params<'_>) -> Result<Plan, String> {
    Ok(Plan::Overlap(dice_plan(p)?))
}

/// The `DiceLoss` part of `DiceLoss`, `DiceFocalLoss` and `DiceCELoss`.
fn dice_plan(p: &mut Params<'_>) -> Result<OverlapPlan, String> {
    let (nr, dr) = smoothing(p)?;
    let squared = p.bool("squared_pred", false)?;
    let base = if p.bool("jaccard", false)? {
        OverlapLoss::jaccard()
    } else {
        OverlapLoss::dice()
    };
    let loss = base.with_smoothing(nr, dr).map_err(|e| param_error(p, e))?;
    let mut plan = overlap_plan(p, loss, squared)?;
    // Checked when run: MONAI skips the weights (and their checks) with one channel left.
    plan.weights = p.scalar_or_list("weight")?;
    Ok(plan)
}

/// `monai.losses.TverskyLoss`.
pub fn tversky(p: &mut Params<'_>) -> Result<Plan, String> {
    let (nr, dr) = smoothing(p)?;
    let alpha = p.f32("alpha", 0.5)?;
    let beta = p.f32("beta", 0.5)?;
    let loss = OverlapLoss::tversky(alpha, beta)
        .and_then(|l| l.with_smoothing(nr, dr))
        .map_err(|e| param_error(p, e))?;
    let mut plan = overlap_plan(p, loss, false)?;
    // `none` is the (B, C) (or, with `batch`, (C,)) score tensor itself.
    plan.keep_spatial = false;
    Ok(Plan::Overlap(plan))
}

/// `monai.losses.GeneralizedDiceLoss`.
pub fn generalized_dice(p: &mut Params<'_>) -> Result<Plan, String> {
    let (nr, dr) = smoothing(p)?;
    let w_type = match p.choice("w_type", "square", &["square", "simple", "uniform"])? {
        "simple" => WeightType::Simple,
        "uniform" => WeightType::Uniform,
        _ => WeightType::Square,
    };
    let loss = GeneralizedDice::new(w_type, nr, dr).map_err(|e| param_error(p, e))?;
    let plan = overlap_plan(p, loss_core::dice::OverlapLoss::dice(), false)?;
    if plan.ignore_index.is_some() {
        return Err(p.error("ignore_index", "is not a parameter of GeneralizedDiceLoss"));
    }
    let reduce = match plan.reduce {
        OverlapReduce::Classes(r) => r,
        _ => Some(Reduction::Mean),
    };
    Ok(Plan::Generalized(GeneralizedPlan {
        names: NAMES,
        overlap: plan.overlap,
        loss,
        targets: plan.targets,
        pooled: plan.pooled,
        include_background: plan.include_background,
        reduce,
    }))
}

/// `monai.losses.FocalLoss`.
pub fn focal(p: &mut Params<'_>) -> Result<Plan, String> {
    let include_background = p.bool("include_background", true)?;
    let targets = targets(p)?;
    let gamma = p.f32("gamma", 2.0)?;
    let use_softmax = p.bool("use_softmax", false)?;
    let alpha = p.scalar_or_list("alpha")?;
    let weights = weight(p)?;
    let ignore = ignore_index(p, targets)?;
    if ignore.is_some() && !include_background {
        return Err(p.error(
            "ignore_index",
            "together with include_background=False is not supported",
        ));
    }
    let reduce = match reduction(p)? {
        // With ignore_index MONAI divides by the valid pixels, not pixels × classes.
        Some(Reduction::Mean) if ignore.is_some() => FocalReduce::PerPixelMean,
        Some(Reduction::Mean) => FocalReduce::PerElementMean,
        Some(Reduction::Sum) => FocalReduce::MonaiSum,
        None => FocalReduce::Elementwise,
    };
    let alpha = focal_alpha(alpha, use_softmax, include_background);
    Ok(Plan::ClassFocal(ClassFocalPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        kind: if use_softmax {
            FocalKind::Softmax
        } else {
            FocalKind::OneVsRest(SoftTargets::Monai)
        },
        gamma,
        alpha,
        weights,
        list_weight_needs_classes: true,
        targets,
        ignore_index: ignore,
        drop_background: !include_background,
        prepare: Prepare::None,
        clip: None,
        smoothing: 0.0,
        reduce,
    }))
}

/// MONAI 1.6 alpha: a scalar is `[1 - a, a, ...]` with softmax (dropped, with a warning,
/// without the background channel) and `a` on positives / `1 - a` on negatives with sigmoid; a
/// list is one alpha per class with softmax, and on positives only with sigmoid.
fn focal_alpha(
    alpha: Option<ScalarOrList>,
    use_softmax: bool,
    include_background: bool,
) -> AlphaSpec {
    match (alpha, use_softmax) {
        (None, _) => AlphaSpec::None,
        (Some(ScalarOrList::Scalar(_)), true) if !include_background => AlphaSpec::None,
        (Some(ScalarOrList::Scalar(a)), true) => AlphaSpec::Background(a),
        (Some(ScalarOrList::Scalar(a)), false) => AlphaSpec::Uniform(a),
        (Some(ScalarOrList::List(l)), true) => AlphaSpec::PerClass(l),
        (Some(ScalarOrList::List(l)), false) => AlphaSpec::Positives(l),
    }
}

fn lambda(p: &mut Params<'_>, key: &str) -> Result<f32, String> {
    let v = p.f32(key, 1.0)?;
    if v < 0.0 {
        return Err(p.error(key, "should be no less than 0.0"));
    }
    Ok(v)
}

/// `monai.losses.DiceFocalLoss`: `lambda_dice · DiceLoss + lambda_focal · FocalLoss`; the
/// activation flags apply to the dice part only, the focal part is one-vs-rest on logits.
pub fn dice_focal(p: &mut Params<'_>) -> Result<Plan, String> {
    if p.has("soft_label") {
        return Err(p.error("soft_label", "is not a parameter of DiceFocalLoss"));
    }
    let dice = dice_plan(p)?;
    let gamma = p.f32("gamma", 2.0)?;
    let alpha = focal_alpha(p.scalar_or_list("alpha")?, false, dice.include_background);
    let lambda_dice = lambda(p, "lambda_dice")?;
    let lambda_focal = lambda(p, "lambda_focal")?;
    if dice.ignore_index.is_some() {
        return Err(p.error("ignore_index", "is not a parameter of DiceFocalLoss"));
    }
    // `none` adds the (B, C, 1, ...) dice to the (B, C, ...) focal terms.
    let reduce = match &dice.reduce {
        OverlapReduce::Classes(Some(Reduction::Mean)) => FocalReduce::PerElementMean,
        OverlapReduce::Classes(Some(Reduction::Sum)) => FocalReduce::MonaiSum,
        _ => FocalReduce::Elementwise,
    };
    let focal = ClassFocalPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        kind: FocalKind::OneVsRest(SoftTargets::Monai),
        gamma,
        alpha,
        weights: dice.weights.clone(),
        list_weight_needs_classes: true,
        targets: dice.targets,
        ignore_index: None,
        drop_background: !dice.include_background,
        prepare: Prepare::None,
        clip: None,
        smoothing: 0.0,
        reduce,
    };
    Ok(Plan::Sum(vec![
        (lambda_dice, Plan::Overlap(dice)),
        (lambda_focal, Plan::ClassFocal(focal)),
    ]))
}

/// `monai.losses.DiceCELoss`: `lambda_dice · DiceLoss + lambda_ce · CE`, CE on the logits
/// (softmax cross-entropy for several channels, binary cross-entropy for one).
pub fn dice_ce(p: &mut Params<'_>) -> Result<Plan, String> {
    if p.has("soft_label") {
        return Err(p.error("soft_label", "is not a parameter of DiceCELoss"));
    }
    let dice = dice_plan(p)?;
    if dice.weights.is_some() {
        return Err(p.error("weight", "is not supported for DiceCELoss"));
    }
    if dice.ignore_index.is_some() {
        return Err(p.error("ignore_index", "is not supported for DiceCELoss"));
    }
    p.only("label_smoothing", &serde_json::json!(0.0))?;
    let lambda_dice = lambda(p, "lambda_dice")?;
    let lambda_ce = lambda(p, "lambda_ce")?;
    let reduce = match &dice.reduce {
        OverlapReduce::Classes(Some(r)) => *r,
        _ => return Err(p.error("reduction", "`none` is not supported for a combined loss")),
    };
    let ce = Plan::ClassFocal(ClassFocalPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        kind: FocalKind::Softmax,
        gamma: 0.0,
        alpha: AlphaSpec::None,
        weights: None,
        list_weight_needs_classes: true,
        targets: dice.targets,
        ignore_index: None,
        drop_background: false,
        prepare: Prepare::None,
        clip: None,
        smoothing: 0.0,
        reduce: match reduce {
            Reduction::Mean => FocalReduce::PerPixelMean,
            Reduction::Sum => FocalReduce::Sum,
        },
    });
    let bce = Plan::Element(ElementPlan {
        names: NAMES,
        loss: BinaryLoss::Sigmoid(SigmoidFocal::new(None, 0.0).map_err(|e| param_error(p, e))?),
        prepare: Prepare::None,
        smoothing: Smoothing::None,
        ignore: Ignore::None,
        reduce: match reduce {
            Reduction::Mean => ElementReduce::Mean,
            Reduction::Sum => ElementReduce::Sum,
        },
    });
    Ok(Plan::Sum(vec![
        (lambda_dice, Plan::Overlap(dice)),
        (
            lambda_ce,
            Plan::ByChannels {
                several: Box::new(ce),
                one: Box::new(bce),
            },
        ),
    ]))
}
