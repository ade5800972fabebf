//! The seed article's code, literally: PyTorch `FocalLoss` and `DiceLoss`, Keras `dice_loss`
//! and `focal_loss`.

use loss_core::dice::OverlapLoss;
use loss_core::focal::BinaryFocal;

use super::params::Params;
use super::plan::{
    Axes, BinaryLoss, ElementPlan, ElementReduce, FlatPlan, Ignore, Names, Plan, Prepare, Smoothing,
};
use super::torchvision::param_error;

/// `FocalLoss(alpha=0.25, gamma=2, logits=False, sampling="mean")`, with the clamp bounds
/// exposed (`clamp_min=1e-3`, `clamp_max=0.999`). The article's `torch.where` + `clamp` code
/// makes every element also pay the clamped term of the other class.
pub fn focal_class(p: &mut Params<'_>) -> Result<Plan, String> {
    let alpha = p.f32("alpha", 0.25)?;
    let gamma = p.f32("gamma", 2.0)?;
    let logits = p.bool("logits", false)?;
    let sampling = if p.is_null("sampling") {
        "none"
    } else {
        p.choice("sampling", "mean", &["mean", "sum", "none"])?
    };
    let clamp_min = p.f32("clamp_min", 1e-3)?;
    let clamp_max = p.f32("clamp_max", 0.999)?;
    let loss = BinaryFocal::new(Some(alpha), gamma, clamp_min, clamp_max)
        .map_err(|e| param_error(p, e))?;
    Ok(Plan::Element(ElementPlan {
        names: Names {
            prediction: &["y_pred"],
            target: &["y_true"],
        },
        loss: BinaryLoss::SeedLeaky(loss),
        prepare: if logits {
            Prepare::Sigmoid
        } else {
            Prepare::None
        },
        smoothing: Smoothing::None,
        ignore: Ignore::None,
        reduce: match sampling {
            "mean" => ElementReduce::Mean,
            "sum" => ElementReduce::Sum,
            _ => ElementReduce::None,
        },
    }))
}

/// `DiceLoss`: per sample `2 (Σ xy + smooth) / (Σ x + Σ y + smooth)`, then `1 - mean` over the
/// batch (the article's flattened text is ambiguous here; this is the widely copied original,
/// see `docs/conventions.md`), computed as the mean of `1 - score`.
pub fn dice_class(p: &mut Params<'_>) -> Result<Plan, String> {
    let smooth = p.f32("smooth", 1.0)?;
    let loss = OverlapLoss::seed_torch_dice()
        .with_smoothing(2.0 * smooth, smooth)
        .map_err(|e| param_error(p, e))?;
    Ok(Plan::Flat(FlatPlan {
        names: Names {
            prediction: &["input"],
            target: &["target"],
        },
        loss,
        axes: Axes::AllButBatch,
        reduce: Some(loss_core::Reduction::Mean),
    }))
}

/// Keras `dice_loss`: `1 - (2 I + smooth) / (Σ y + Σ p + smooth)` over the whole batch.
pub fn keras_dice(p: &mut Params<'_>) -> Result<Plan, String> {
    let smooth = p.f32("smooth", 1.0)?;
    let loss = OverlapLoss::seed_keras_dice()
        .with_smoothing(smooth, smooth)
        .map_err(|e| param_error(p, e))?;
    Ok(Plan::Flat(FlatPlan {
        names: Names {
            prediction: &["y_pred"],
            target: &["y_true"],
        },
        loss,
        axes: Axes::All,
        reduce: None,
    }))
}

/// Keras `focal_loss`: the same `where` + `clip` code as the PyTorch class, mean over every
/// element.
pub fn keras_focal(p: &mut Params<'_>) -> Result<Plan, String> {
    let alpha = p.f32("alpha", 0.25)?;
    let gamma = p.f32("gamma", 2.0)?;
    let loss = BinaryFocal::new(Some(alpha), gamma, 1e-3, 0.999).map_err(|e| param_error(p, e))?;
    Ok(Plan::Element(ElementPlan {
        names: Names {
            prediction: &["y_pred"],
            target: &["y_true"],
        },
        loss: BinaryLoss::SeedLeaky(loss),
        prepare: Prepare::None,
        smoothing: Smoothing::None,
        ignore: Ignore::None,
        reduce: ElementReduce::Mean,
    }))
}
