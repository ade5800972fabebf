//! [`Plan::grad`]: the gradient of a framework call with respect to its prediction tensor, as
//! the framework's autograd gives it (the gradient of the output's sum, in the prediction's
//! shape), from `loss-core`'s analytic gradients and the chain rule through the framework's
//! pre-processing and reduction. Its quirks at the edges are reproduced where the framework's
//! arithmetic makes them (see `docs/framework-vectors.md`, "Gradients").

use std::collections::BTreeMap;

use loss_core::Reduction;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};

use super::axes::{groups, normalise_axes};
use super::{core, same_shape_inputs};
use crate::frameworks::plan::{
    Axes, BinaryLoss, ElementPlan, ElementReduce, FlatPlan, Ignore, Names, Plan, Prepare,
};
use crate::frameworks::tensor::Tensor;

impl Plan {
    /// The gradient of the call's output (summed when it is not a scalar) with respect to the
    /// prediction, and the name the request gave that input. `function` is the framework's
    /// qualified name (its autograd quirks depend on it).
    ///
    /// # Errors
    /// A message naming the input at fault, or saying that the plan has no gradient here
    /// (multi-class and combined losses, smp's modified focal factor).
    pub fn grad(
        &self,
        function: &str,
        inputs: &BTreeMap<String, Tensor>,
    ) -> Result<(String, Tensor), String> {
        // Only the functions whose gradients are checked against the framework's autograd
        // (tests/data/frameworks/).
        match self {
            Self::Element(p) if GRAD_FUNCTIONS.contains(&function) => p.grad(function, inputs),
            Self::Flat(p) if GRAD_FUNCTIONS.contains(&function) => p.grad(inputs),
            _ => Err(format!(
                "gradients are not supported for `{function}` (supported: {})",
                GRAD_FUNCTIONS.join(", ")
            )),
        }
    }
}

/// The functions whose requests may carry `"grad": true`.
pub const GRAD_FUNCTIONS: &[&str] = &[
    "torchvision.ops.sigmoid_focal_loss",
    "kornia.losses.binary_focal_loss_with_logits",
    "keras.losses.BinaryFocalCrossentropy",
    "keras.losses.Dice",
    "seed.FocalLoss",
    "seed.DiceLoss",
    "seed.dice_loss",
    "seed.focal_loss",
];

/// The name under which the request gave the prediction.
fn prediction_name(inputs: &BTreeMap<String, Tensor>, names: &Names) -> String {
    names
        .prediction
        .iter()
        .find(|n| inputs.contains_key(**n))
        .or(names.prediction.first())
        .map_or_else(String::new, |n| (*n).to_owned())
}

impl ElementPlan {
    fn grad(
        &self,
        function: &str,
        inputs: &BTreeMap<String, Tensor>,
    ) -> Result<(String, Tensor), String> {
        let (x, t) = same_shape_inputs(inputs, &self.names)?;
        let raw = x.as_f32();
        let raw_targets = t.as_f32();
        let keep: Vec<bool> = raw_targets.iter().map(|&v| !self.ignored(v)).collect();
        let (preds, targets) = self.kernel_inputs(raw.clone(), &raw_targets, &keep);
        // d loss_k / d kernel input k, for the kernel's elements (kept ones only).
        let slopes = self
            .slopes(&x.shape, &preds, &targets)
            .map_err(|e| core(e, &self.names))?;
        // d output-sum / d loss_k: the reduction's weights, in the input's positions.
        let weights = self.reduction_weights(&x.shape, &keep)?;
        let mut grad = vec![0.0f32; raw.len()];
        let mut k = 0;
        for (i, g) in grad.iter_mut().enumerate() {
            let removed = matches!(self.ignore, Ignore::Remove(_)) && !keep[i];
            if removed {
                continue;
            }
            let slope = slopes[k];
            k += 1;
            if !keep[i] {
                // Ignored and kept in the mean: loss 0, gradient 0.
                continue;
            }
            *g = weights[i] * slope * prepare_slope(self.prepare, raw[i]);
        }
        torch_quirks(function, self, &raw, &raw_targets, &mut grad);
        Ok((
            prediction_name(inputs, &self.names),
            Tensor::f32(x.shape.clone(), grad),
        ))
    }

    /// `d loss_k / d prediction_k` of every kernel element.
    fn slopes(
        &self,
        shape: &[usize],
        preds: &[f32],
        targets: &[f32],
    ) -> Result<Vec<f32>, loss_core::Error> {
        let n = preds.len();
        let (mut losses, mut g) = (vec![0.0f32; n], vec![0.0f32; n]);
        if n == 0 {
            return Ok(g);
        }
        match &self.loss {
            BinaryLoss::Sigmoid(l) => {
                l.loss_and_grad_elementwise(preds, targets, &mut losses, &mut g)?
            }
            BinaryLoss::Probability(l) => {
                l.loss_and_grad_elementwise(preds, targets, &mut losses, &mut g)?;
            }
            BinaryLoss::SeedLeaky(l) => seed_leaky(l, preds, targets, &mut g)?,
            BinaryLoss::KorniaWeighted {
                gamma,
                alpha,
                pos_weight,
                weight,
            } => {
                let channels =
                    super::element::channel_of(shape, pos_weight.as_ref().or(weight.as_ref()))
                        .map_err(|_| loss_core::Error::InvalidParameter("weight"))?;
                let term = |a: f32| {
                    SigmoidFocal::new(Some(a), *gamma)
                        .map(|l| l.with_soft_targets(SoftTargets::Kornia))
                };
                let mut neg = vec![0.0f32; n];
                term(1.0)?.loss_and_grad_elementwise(preds, targets, &mut losses, &mut g)?;
                term(0.0)?.loss_and_grad_elementwise(preds, targets, &mut losses, &mut neg)?;
                let (a_pos, a_neg) = alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
                let at = |w: &Option<Vec<f32>>, c: usize| {
                    w.as_ref().and_then(|w| w.get(c)).copied().unwrap_or(1.0)
                };
                for ((o, nv), &c) in g.iter_mut().zip(neg).zip(&channels) {
                    *o = (a_pos * *o * at(pos_weight, c) + a_neg * nv) * at(weight, c);
                }
            }
            BinaryLoss::SmpModified(_) => return Err(loss_core::Error::InvalidParameter("grad")),
        }
        Ok(g)
    }

    /// `d output-sum / d loss_i` for every input position: 1 for outputs kept whole, `1 / n`
    /// for a mean over `n` (kept) elements, Keras's mean over an axis then its reduction.
    fn reduction_weights(&self, shape: &[usize], keep: &[bool]) -> Result<Vec<f32>, String> {
        let len = keep.len();
        let kept = match self.ignore {
            Ignore::Remove(_) => keep.iter().filter(|k| **k).count(),
            _ => len,
        };
        Ok(match self.reduce {
            ElementReduce::None | ElementReduce::Flat | ElementReduce::Sum => vec![1.0; len],
            ElementReduce::Mean => vec![1.0 / kept.max(1) as f32; len],
            ElementReduce::Axis(r, axis) => {
                let axes = normalise_axes(&[axis], shape.len())?;
                let (_, groups) = groups(shape, &axes);
                let rows = groups.len().max(1) as f32;
                let outer = match r {
                    Some(Reduction::Mean) => 1.0 / rows,
                    _ => 1.0,
                };
                let mut w = vec![0.0; len];
                for g in &groups {
                    for &i in g {
                        w[i] = outer / g.len().max(1) as f32;
                    }
                }
                w
            }
        })
    }
}

/// `d kernel input / d framework input` of [`Prepare`].
fn prepare_slope(prepare: Prepare, x: f32) -> f32 {
    match prepare {
        Prepare::None => 1.0,
        // sigmoid'(x) = p (1 - p) of the rounded `p` the kernel sees, as autograd's `sigmoid`
        // backward forms it: the kernel's derivative (`1 / (1 - p)` and the like) is of that
        // `p`, and the two roundings cancel (`sigmoid(-x)` instead would miss Keras's f64
        // gradient by up to 5e-4 relative near `|x| = 10`).
        Prepare::Sigmoid => {
            let p = loss_core::sigmoid(x);
            p * (1.0 - p)
        }
        Prepare::Logit(eps) => {
            if eps > 0.0 && !(eps..=1.0 - eps).contains(&x) {
                0.0
            } else {
                1.0 / (x * (1.0 - x))
            }
        }
        Prepare::Log(eps) => {
            if eps > 0.0 && !(eps..=1.0 - eps).contains(&x) {
                0.0
            } else {
                1.0 / x
            }
        }
    }
}

/// The seed article's `torch.where` code: the gradient flows into the positive term where
/// `t == 1` and into the negative term where `t == 0`; the other class's clamped constant and
/// soft targets get none (`where` passes the gradient to the branch it selects only).
fn seed_leaky(
    l: &BinaryFocal,
    preds: &[f32],
    targets: &[f32],
    out: &mut [f32],
) -> Result<(), loss_core::Error> {
    let n = preds.len();
    let mut losses = vec![0.0f32; n];
    let mut pos = vec![0.0f32; n];
    let mut neg = vec![0.0f32; n];
    l.loss_and_grad_elementwise(preds, &vec![1.0; n], &mut losses, &mut pos)?;
    l.loss_and_grad_elementwise(preds, &vec![0.0; n], &mut losses, &mut neg)?;
    for (((o, &t), p), m) in out.iter_mut().zip(targets).zip(pos).zip(neg) {
        *o = if t == 1.0 {
            p
        } else if t == 0.0 {
            m
        } else {
            0.0
        };
    }
    Ok(())
}

/// Where PyTorch's autograd gives NaN and the analytic gradient a limit (torchvision and
/// kornia, whose arithmetic this mirrors in f32): an infinite logit (`sigmoid`'s and
/// `binary_cross_entropy_with_logits`' backward meet `0 * inf`), and, for `0 < gamma < 1`, a
/// focal base `1 - p_t` that is 0 in f32 (`pow`'s backward `gamma 0^(gamma - 1) = inf` times a
/// zero slope).
fn torch_quirks(function: &str, plan: &ElementPlan, x: &[f32], t: &[f32], grad: &mut [f32]) {
    let gamma = match &plan.loss {
        BinaryLoss::Sigmoid(l) => l.gamma(),
        BinaryLoss::KorniaWeighted { gamma, .. } => *gamma,
        _ => return,
    };
    let torchvision = function == "torchvision.ops.sigmoid_focal_loss";
    let kornia = function.starts_with("kornia.losses.");
    if !(torchvision || kornia) {
        return;
    }
    for ((g, &x), &t) in grad.iter_mut().zip(x).zip(t) {
        if x.is_infinite() {
            *g = f32::NAN;
            continue;
        }
        if gamma > 0.0 && gamma < 1.0 {
            let p = loss_core::sigmoid(x);
            let zero_base = if torchvision {
                // torchvision: 1 - (p t + (1 - p)(1 - t)), in f32.
                1.0 - (p * t + (1.0 - p) * (1.0 - t)) == 0.0
            } else {
                // kornia: (1 - p)^gamma on positives, p^gamma on negatives.
                (t != 0.0 && 1.0 - p == 0.0) || (t != 1.0 && p == 0.0)
            };
            if zero_base {
                *g = f32::NAN;
            }
        }
    }
}

impl FlatPlan {
    fn grad(&self, inputs: &BTreeMap<String, Tensor>) -> Result<(String, Tensor), String> {
        let (x, t) = same_shape_inputs(inputs, &self.names)?;
        let err = |e| core(e, &self.names);
        let (preds, targets) = (x.as_f32(), t.as_f32());
        let mut grad = vec![0.0f32; preds.len()];
        let values = match &self.axes {
            Axes::All => {
                self.loss
                    .loss_and_grad(&preds, &targets, &mut grad)
                    .map_err(err)?;
                1
            }
            Axes::AllButBatch => {
                let samples = x.shape.first().copied().unwrap_or(1);
                let mut out = vec![0.0f32; samples];
                self.loss
                    .loss_and_grad_per_sample(&preds, &targets, samples, &mut out, &mut grad)
                    .map_err(err)?;
                samples
            }
            Axes::These(axes) => {
                let axes = normalise_axes(axes, x.shape.len())?;
                let (_, groups) = groups(&x.shape, &axes);
                for g in &groups {
                    let p: Vec<f32> = g.iter().map(|&i| preds[i]).collect();
                    let t: Vec<f32> = g.iter().map(|&i| targets[i]).collect();
                    let mut d = vec![0.0f32; g.len()];
                    self.loss.loss_and_grad(&p, &t, &mut d).map_err(err)?;
                    for (&i, d) in g.iter().zip(d) {
                        grad[i] = d;
                    }
                }
                groups.len()
            }
        };
        if self.reduce == Some(Reduction::Mean) {
            let n = values.max(1) as f32;
            grad.iter_mut().for_each(|g| *g /= n);
        }
        Ok((
            prediction_name(inputs, &self.names),
            Tensor::f32(x.shape.clone(), grad),
        ))
    }
}
