//! torchvision (and fvcore) `sigmoid_focal_loss`.

use loss_core::focal::SigmoidFocal;

use super::params::Params;
use super::plan::{
    BinaryLoss, ElementPlan, ElementReduce, Ignore, Names, Plan, Prepare, Smoothing,
};

/// `torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none")`;
/// a negative alpha disables weighting, alpha above 1 is rejected (torchvision ≥ 0.21).
pub fn sigmoid_focal_loss(p: &mut Params<'_>) -> Result<Plan, String> {
    let alpha = p.f32("alpha", 0.25)?;
    let gamma = p.f32("gamma", 2.0)?;
    let reduction = p.choice("reduction", "none", &["none", "mean", "sum"])?;
    // torchvision ≥ 0.21: alpha in [0, 1], or -1 to disable.
    if !(alpha == -1.0 || (0.0..=1.0).contains(&alpha)) {
        return Err(p.error(
            "alpha",
            format_args!("invalid alpha value {alpha}: must be in [0, 1] or -1"),
        ));
    }
    let alpha = (alpha >= 0.0).then_some(alpha);
    let loss = SigmoidFocal::new(alpha, gamma).map_err(|e| param_error(p, e))?;
    Ok(Plan::Element(ElementPlan {
        names: Names {
            prediction: &["inputs", "logits"],
            target: &["targets"],
        },
        loss: BinaryLoss::Sigmoid(loss),
        prepare: Prepare::None,
        smoothing: Smoothing::None,
        ignore: Ignore::None,
        reduce: element_reduce(reduction),
    }))
}

/// PyTorch's `"none" | "mean" | "sum"`.
pub fn element_reduce(reduction: &str) -> ElementReduce {
    match reduction {
        "mean" => ElementReduce::Mean,
        "sum" => ElementReduce::Sum,
        _ => ElementReduce::None,
    }
}

/// A `loss-core` parameter error as a message about the framework parameter.
pub fn param_error(p: &Params<'_>, e: loss_core::Error) -> String {
    match e {
        loss_core::Error::InvalidParameter(name) => p.error(name, "is out of range"),
        e => e.to_string(),
    }
}
