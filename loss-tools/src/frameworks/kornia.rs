//! kornia: `binary_focal_loss_with_logits`, `focal_loss`, `dice_loss`.

use loss_core::dice::OverlapLoss;
use loss_core::focal::{SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassOverlap, EmptyClass, Intersection, Layout, Weighting,
};

use super::params::{Params, ScalarOrList};
use super::plan::{
    AlphaSpec, BinaryLoss, ClassFocalPlan, ElementPlan, FocalKind, FocalReduce, Ignore, Names,
    OverlapPlan, OverlapReduce, Plan, Prepare, Smoothing, TargetSpec,
};
use super::torchvision::{element_reduce, param_error};

const NAMES: Names = Names {
    prediction: &["pred", "input"],
    target: &["target"],
};

/// `binary_focal_loss_with_logits`: separate positive and negative terms (the Kornia soft-target
/// form); `pos_weight[c]` scales channel `c`'s positive term and `weight[c]` its loss; targets
/// equal to `ignore_index` (default -100) get loss 0 and stay in the mean.
pub fn binary_focal(p: &mut Params<'_>) -> Result<Plan, String> {
    let alpha = if p.is_null("alpha") {
        None
    } else {
        Some(p.f32("alpha", 0.25)?)
    };
    let gamma = p.f32("gamma", 2.0)?;
    let reduction = p.choice("reduction", "none", &["none", "mean", "sum"])?;
    let channel_weights = |p: &mut Params<'_>, key: &str| -> Result<Option<Vec<f32>>, String> {
        match p.scalar_or_list(key)? {
            None => Ok(None),
            Some(ScalarOrList::List(l)) if l.iter().all(|w| w.is_finite() && *w >= 0.0) => {
                Ok(Some(l))
            }
            Some(_) => Err(p.error(
                key,
                "must be a list of non-negative weights, one per channel",
            )),
        }
    };
    let pos_weight = channel_weights(p, "pos_weight")?;
    let weight = channel_weights(p, "weight")?;
    let ignore_index = p.opt_i64("ignore_index", Some(-100))?;
    let loss = SigmoidFocal::new(alpha, gamma)
        .map_err(|e| param_error(p, e))?
        .with_soft_targets(SoftTargets::Kornia);
    let loss = if pos_weight.is_some() || weight.is_some() {
        BinaryLoss::KorniaWeighted {
            gamma,
            alpha,
            pos_weight,
            weight,
        }
    } else {
        BinaryLoss::Sigmoid(loss)
    };
    Ok(Plan::Element(ElementPlan {
        names: NAMES,
        loss,
        prepare: Prepare::None,
        smoothing: Smoothing::None,
        ignore: ignore_index.map_or(Ignore::None, Ignore::ZeroKeep),
        reduce: element_reduce(reduction),
    }))
}

/// `focal_loss`: softmax focal with `[1 - alpha, alpha, ...]`, optional class weights; `mean`
/// divides by `B · C · spatial`, ignored pixels included.
pub fn focal(p: &mut Params<'_>) -> Result<Plan, String> {
    if !p.given("alpha") {
        return Err(p.error("alpha", "is required"));
    }
    let alpha = p.opt_f32("alpha")?;
    let gamma = p.f32("gamma", 2.0)?;
    let reduction = p.choice("reduction", "none", &["none", "mean", "sum"])?;
    let weights = p.scalar_or_list("weight")?;
    let ignore_index = p.opt_i64("ignore_index", Some(-100))?;
    Ok(Plan::ClassFocal(ClassFocalPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        kind: FocalKind::Softmax,
        gamma,
        alpha: alpha.map_or(AlphaSpec::None, AlphaSpec::Background),
        weights,
        list_weight_needs_classes: false,
        targets: TargetSpec::Labels,
        ignore_index,
        drop_background: false,
        prepare: Prepare::None,
        clip: None,
        smoothing: 0.0,
        reduce: match reduction {
            "mean" => FocalReduce::PerElementMean,
            "sum" => FocalReduce::Sum,
            _ => FocalReduce::Elementwise,
        },
    }))
}

/// `dice_loss` (kornia 0.9): softmax, `2 I / (card + eps)` per sample; `micro` pools the
/// classes (weights scale every sum by `w`), `macro` takes the weighted mean over the classes
/// present in the sample's target (loss 1 when none is); then the mean over the batch.
pub fn dice(p: &mut Params<'_>) -> Result<Plan, String> {
    let average = p.choice("average", "micro", &["micro", "macro"])?;
    let eps = p.f32("eps", 1e-8)?;
    let weights = p.scalar_or_list("weight")?;
    let ignore_index = p.opt_i64("ignore_index", Some(-100))?;
    let loss = OverlapLoss::dice()
        .with_smoothing(0.0, eps)
        .map_err(|e| param_error(p, e))?;
    let micro = average == "micro";
    Ok(Plan::Overlap(OverlapPlan {
        names: NAMES,
        layout: Layout::ChannelsFirst,
        overlap: ClassOverlap {
            activation: Activation::Softmax,
            squared: false,
            intersection: Intersection::Product,
        },
        loss,
        targets: TargetSpec::Labels,
        ignore_index,
        pooled: false,
        include_background: true,
        weights,
        weighting: Weighting::Normalize,
        weight_stats: micro,
        ndim: Some(4),
        empty: EmptyClass::Formula,
        keep_spatial: false,
        reduce: if micro {
            OverlapReduce::Micro
        } else {
            OverlapReduce::PerSample
        },
    }))
}
