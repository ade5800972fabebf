//! [`ElementPlan`]: a binary loss per element of same-shape tensors, with the framework's
//! pre-processing, target smoothing, ignored elements and reduction.

use std::collections::BTreeMap;

use loss_core::Reduction;
use loss_core::focal::{BinaryFocal, SigmoidFocal};

use super::axes::{groups, normalise_axes};
use super::{core, same_shape_inputs};
use crate::frameworks::plan::{
    BinaryLoss, ElementPlan, ElementReduce, Ignore, Smoothing, SmpModifier,
};
use crate::frameworks::tensor::Tensor;

impl SmpModifier {
    /// The losses of one smp call (one class, or the flattened binary input), in place of
    /// `out`, from the logits and targets.
    pub(super) fn losses(
        &self,
        x: &[f32],
        t: &[f32],
        out: &mut [f32],
    ) -> Result<(), loss_core::Error> {
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

impl ElementPlan {
    pub(super) fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let (x, t) = same_shape_inputs(inputs, &self.names)?;
        let raw_targets = t.as_f32();
        let keep: Vec<bool> = raw_targets.iter().map(|&v| !self.ignored(v)).collect();
        let (preds, targets) = self.kernel_inputs(x.as_f32(), &raw_targets, &keep);
        if preds.is_empty() && self.reduce == ElementReduce::Flat {
            // smp: every element ignored leaves an empty 1-D tensor.
            return Ok(Tensor::f32(vec![0], Vec::new()));
        }
        let mut losses = self.losses(&x.shape, &preds, &targets)?;
        if let Ignore::ZeroKeep(_) = self.ignore {
            for (l, k) in losses.iter_mut().zip(&keep) {
                if !k {
                    *l = 0.0;
                }
            }
        }
        self.reduced(&x.shape, losses)
    }

    /// Whether an element whose target is `v` is ignored.
    pub(super) fn ignored(&self, v: f32) -> bool {
        match self.ignore {
            Ignore::ZeroKeep(i) | Ignore::Remove(i) => v == i as f32,
            Ignore::None => false,
        }
    }

    /// What the kernel sees: the predictions prepared, the targets smoothed (0 where ignored),
    /// and without the elements not kept when the framework removes ignored elements.
    pub(super) fn kernel_inputs(
        &self,
        mut preds: Vec<f32>,
        raw_targets: &[f32],
        keep: &[bool],
    ) -> (Vec<f32>, Vec<f32>) {
        let mut targets: Vec<f32> = raw_targets
            .iter()
            .map(|&v| {
                if self.ignored(v) {
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
        if let Ignore::Remove(_) = self.ignore {
            preds = kept(&preds, keep);
            targets = kept(&targets, keep);
        }
        (preds, targets)
    }

    /// The loss of every element; `shape` is the input's (for per-channel weights).
    fn losses(&self, shape: &[usize], preds: &[f32], targets: &[f32]) -> Result<Vec<f32>, String> {
        let mut losses = vec![0.0f32; preds.len()];
        match &self.loss {
            BinaryLoss::Sigmoid(l) => l.loss_elementwise(preds, targets, &mut losses),
            BinaryLoss::Probability(l) => l.loss_elementwise(preds, targets, &mut losses),
            BinaryLoss::SeedLeaky(l) => seed_leaky(l, preds, targets, &mut losses),
            BinaryLoss::SmpModified(m) => m.losses(preds, targets, &mut losses),
            BinaryLoss::KorniaWeighted {
                gamma,
                alpha,
                pos_weight,
                weight,
            } => {
                let channels = channel_of(shape, pos_weight.as_ref().or(weight.as_ref()))?;
                kornia_weighted(
                    *gamma,
                    *alpha,
                    pos_weight,
                    weight,
                    &channels,
                    preds,
                    targets,
                    &mut losses,
                )
            }
        }
        .map_err(|e| core(e, &self.names))?;
        Ok(losses)
    }

    /// The framework's reduction of the losses of an input of `shape`.
    fn reduced(&self, shape: &[usize], losses: Vec<f32>) -> Result<Tensor, String> {
        let reduce = |r: Reduction, v: &[f32]| r.reduce(v).map_err(|e| core(e, &self.names));
        Ok(match self.reduce {
            ElementReduce::None => Tensor::f32(shape.to_vec(), losses),
            ElementReduce::Flat => Tensor::f32(vec![losses.len()], losses),
            ElementReduce::Mean => Tensor::scalar(reduce(Reduction::Mean, &losses)?),
            ElementReduce::Sum => Tensor::scalar(reduce(Reduction::Sum, &losses)?),
            ElementReduce::Axis(r, axis) => {
                let axes = normalise_axes(&[axis], shape.len())?;
                let (shape, groups) = groups(shape, &axes);
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

/// The values whose `keep` is true.
fn kept(values: &[f32], keep: &[bool]) -> Vec<f32> {
    values
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect()
}

/// The channel (dim 1) of every element of a `(B, C, ...)` tensor, checking that the per-channel
/// weights have `C` entries.
pub(super) fn channel_of(
    shape: &[usize],
    weights: Option<&Vec<f32>>,
) -> Result<Vec<usize>, String> {
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
#[expect(
    clippy::too_many_arguments,
    reason = "the loss's four parameters, then the channels, inputs and output, as the kernels take them"
)]
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
