//! segmentation_models_pytorch 0.6: `DiceLoss`, `JaccardLoss`,
//! `TverskyLoss`, `FocalLoss`, `SoftBCEWithLogitsLoss`.

use loss_core::dice::OverlapLoss;
use loss_core::focal::{SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassOverlap, EmptyClass, Intersection, Layout, Weighting,
};

use super::params::Params;
use super::plan::{
    AlphaSpec, BinaryLoss, ClassFocalPlan, ElementPlan, ElementReduce, FocalKind, FocalReduce,
    Ignore, Names, OverlapPlan, OverlapReduce, Plan, Prepare, Smoothing, SmpModifier, TargetSpec,
};
use super::torchvision::{element_reduce, param_error};

const NAMES: Names = Names {
    prediction: &["y_pred"],
    target: &["y_true"],
};

/// Which overlap loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `DiceLoss`: Tversky with alpha = beta = 0.5.
    Dice,
    /// `JaccardLoss`: alpha = beta = 1.
    Jaccard,
    /// `TverskyLoss`.
    Tversky,
}

fn mode(p: &mut Params<'_>) -> Result<&'static str, String> {
    if !p.has("mode") {
        return Err(p.error("mode", "is required (binary, multiclass or multilabel)"));
    }
    p.choice("mode", "binary", &["binary", "multiclass", "multilabel"])
}

/// `DiceLoss`, `JaccardLoss`, `TverskyLoss`: statistics pooled over the batch per class with
/// the L1 intersection (`Σ min(p, t)`, smp ≥ 0.4), `(I + s) / (I + α fp + β fn + s)`, classes
/// with an empty target masked to 0, mean over classes.
pub fn overlap(p: &mut Params<'_>, kind: Kind) -> Result<Plan, String> {
    let mode = mode(p)?;
    let classes = p.index_list("classes")?;
    let log_loss = p.bool("log_loss", false)?;
    let from_logits = p.bool("from_logits", true)?;
    let smooth = p.f32("smooth", 0.0)?;
    let eps = p.f32("eps", 1e-7)?;
    let ignore_index = p.opt_i64("ignore_index", None)?;
    let weights = p.scalar_or_list("class_weights")?;
    let (loss, gamma) = match kind {
        Kind::Dice => (
            OverlapLoss::dice().with_smoothing(2.0 * smooth, 2.0 * smooth),
            1.0,
        ),
        Kind::Jaccard => (
            OverlapLoss::jaccard().with_smoothing(2.0 * smooth, 2.0 * smooth),
            1.0,
        ),
        Kind::Tversky => {
            let alpha = p.f32("alpha", 0.5)?;
            let beta = p.f32("beta", 0.5)?;
            let gamma = p.f32("gamma", 1.0)?;
            (
                OverlapLoss::tversky(alpha, beta).and_then(|l| l.with_smoothing(smooth, smooth)),
                gamma,
            )
        }
    };
    let loss = loss
        .and_then(|l| l.with_denominator_floor(eps))
        .map_err(|e| param_error(p, e))?;
    if mode == "binary" && weights.is_some() {
        return Err(p.error("class_weights", "is not supported in binary mode"));
    }
    if classes.is_some() && mode == "binary" {
        return Err(p.error(
            "classes",
            "masking classes is not supported with mode=binary",
        ));
    }
    let activation = match (from_logits, mode) {
        (false, _) => Activation::None,
        (true, "multiclass") => Activation::Softmax,
        (true, _) => Activation::Sigmoid,
    };
    Ok(Plan::Overlap(OverlapPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        overlap: ClassOverlap {
            activation,
            squared: false,
            intersection: Intersection::Min,
        },
        loss,
        targets: match mode {
            "multiclass" => TargetSpec::Labels,
            "binary" => TargetSpec::Flattened,
            _ => TargetSpec::Dense,
        },
        ignore_index,
        pooled: true,
        include_background: true,
        weights,
        weighting: Weighting::Normalize,
        weight_stats: false,
        ndim: None,
        empty: EmptyClass::Zero,
        keep_spatial: false,
        reduce: OverlapReduce::Smp {
            classes,
            log_loss,
            eps,
            gamma,
        },
    }))
}

/// `FocalLoss` (smp 0.6): focal with the `(1 - exp(-CE))^gamma` factor per element; in
/// multiclass and multilabel modes one-vs-rest per class, each class reduced over its
/// non-ignored pixels, then the (weighted) mean over classes. `from_logits=False` turns
/// clamped probabilities into logits first, as smp does.
pub fn focal(p: &mut Params<'_>) -> Result<Plan, String> {
    let mode = mode(p)?;
    let alpha = p.opt_f32("alpha")?;
    let gamma = p.f32("gamma", 2.0)?;
    let ignore_index = p.opt_i64("ignore_index", None)?;
    let reduction = p.choice(
        "reduction",
        "mean",
        &["mean", "sum", "none", "batchwise_mean"],
    )?;
    let normalized = p.bool("normalized", false)?;
    let reduced_threshold = p.opt_f32("reduced_threshold")?;
    if reduced_threshold.is_some_and(|r| !(r > 0.0 && r <= 1.0)) {
        return Err(p.error("reduced_threshold", "must be in (0, 1]"));
    }
    let modifier = (normalized || reduced_threshold.is_some()).then_some(SmpModifier {
        gamma,
        alpha,
        reduced_threshold,
        normalized,
    });
    let from_logits = p.bool("from_logits", true)?;
    let eps = p.f32("eps", 1e-7)?;
    let class_weights = match p.scalar_or_list("class_weights")? {
        None => None,
        Some(super::params::ScalarOrList::List(l)) => Some(l),
        Some(_) => return Err(p.error("class_weights", "must be a list")),
    };
    let prepare = match (from_logits, mode) {
        (true, _) => Prepare::None,
        (false, "multiclass") => Prepare::Log(eps),
        (false, _) => Prepare::Logit(eps),
    };
    if mode != "binary" {
        if mode == "multilabel" && ignore_index.is_some() {
            return Err(p.error(
                "ignore_index",
                "is not supported in multilabel mode (smp fails on it)",
            ));
        }
        // "none" reduces each class like "mean" before smp's final mean over classes;
        // "batchwise_mean" sums each class over the batch axis (`sum(0)`), which leaves the
        // pixels to that mean, or, with `ignore_index` (kept elements flattened), everything.
        let sum_each = matches!(reduction, "sum" | "batchwise_mean");
        let batch_only = reduction == "batchwise_mean" && ignore_index.is_none();
        // Then smp's class losses are not one value per class, and the weights broadcast
        // against their last axis (an error, or a meaningless number when the sizes agree).
        if class_weights.is_some() && (reduction == "none" || batch_only) {
            return Err(p.error(
                "class_weights",
                "is not supported with this reduction (smp multiplies them into per-element losses)",
            ));
        }
        return Ok(Plan::ClassFocal(ClassFocalPlan {
            names: NAMES,
            layout: Layout::ChannelsFirst,
            kind: FocalKind::OneVsRest(SoftTargets::Smp),
            gamma,
            alpha: alpha.map_or(AlphaSpec::None, AlphaSpec::Uniform),
            weights: None,
            list_weight_needs_classes: false,
            targets: if mode == "multiclass" {
                TargetSpec::Labels
            } else {
                TargetSpec::Dense
            },
            ignore_index,
            drop_background: false,
            prepare,
            clip: None,
            smoothing: 0.0,
            reduce: FocalReduce::ClassMeans {
                sum_each,
                batch_only,
                weights: class_weights,
                modifier,
            },
        }));
    }
    if class_weights.is_some() {
        return Err(p.error("class_weights", "is not supported in binary mode"));
    }
    let loss = SigmoidFocal::new(alpha, gamma)
        .map_err(|e| param_error(p, e))?
        .with_soft_targets(SoftTargets::Smp);
    Ok(Plan::Element(ElementPlan {
        names: NAMES,
        loss: modifier.map_or(BinaryLoss::Sigmoid(loss), BinaryLoss::SmpModified),
        prepare,
        smoothing: Smoothing::None,
        ignore: ignore_index.map_or(Ignore::None, Ignore::Remove),
        // smp flattens both tensors: `none` is 1-D (the kept elements), `batchwise_mean`
        // (`sum(0)`) is the sum.
        reduce: match reduction {
            "none" => ElementReduce::Flat,
            "batchwise_mean" => ElementReduce::Sum,
            r => element_reduce(r),
        },
    }))
}

/// `SoftBCEWithLogitsLoss`: BCE with logits on smoothed targets; ignored elements are zeroed
/// but stay in the mean's denominator.
pub fn soft_bce(p: &mut Params<'_>) -> Result<Plan, String> {
    p.only("weight", &serde_json::Value::Null)?;
    p.only("pos_weight", &serde_json::Value::Null)?;
    p.only("dim", &serde_json::json!(1))?;
    let ignore_index = p.opt_i64("ignore_index", Some(-100))?;
    let reduction = p.choice("reduction", "mean", &["mean", "sum", "none"])?;
    let smooth = p.opt_f32("smooth_factor")?;
    let loss = SigmoidFocal::new(None, 0.0).map_err(|e| param_error(p, e))?;
    Ok(Plan::Element(ElementPlan {
        names: NAMES,
        loss: BinaryLoss::Sigmoid(loss),
        prepare: Prepare::None,
        smoothing: smooth.map_or(Smoothing::None, Smoothing::Smp),
        ignore: ignore_index.map_or(Ignore::None, Ignore::ZeroKeep),
        reduce: element_reduce(reduction),
    }))
}
