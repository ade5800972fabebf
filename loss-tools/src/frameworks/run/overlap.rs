//! [`OverlapPlan`] (a per-class dice-family loss) and [`GeneralizedPlan`] (MONAI's generalized
//! dice): per-class statistics from `loss-core`, then the framework's reduction.

use std::collections::BTreeMap;

use loss_core::Reduction;
use loss_core::dice::OverlapStats;
use loss_core::multiclass::{
    Activation, ClassOverlap, ClassReduction, EmptyClass, Layout, Shape, Weighting,
};

use super::class_data::ClassData;
use super::{HOST_CLASSES, core, input, resolve_weights};
use crate::frameworks::plan::{GeneralizedPlan, OverlapPlan, OverlapReduce};
use crate::frameworks::tensor::Tensor;

impl OverlapPlan {
    pub(super) fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        self.check_rank(inputs)?;
        let mut data = ClassData::read(
            inputs,
            &self.names,
            self.layout,
            self.targets,
            self.ignore_index,
        )?;
        let overlap = one_channel_activation(self.overlap, data.classes());
        let overlap = self.mask_ignored(&mut data, overlap);
        let c = data.classes();
        let mut stats =
            class_stats(overlap, &data, self.pooled).map_err(|e| core(e, &self.names))?;
        let weights = self.class_weights(c)?;
        if self.weight_stats
            && let Some(w) = &weights
        {
            weigh_stats(&mut stats, c, w);
        }
        let weights = weights.as_deref();
        match &self.reduce {
            OverlapReduce::Classes(r) => {
                self.reduce_classes(*r, &stats, weights, &data.shape, inputs)
            }
            OverlapReduce::PerSample => self.macro_per_sample(&stats, weights, c),
            OverlapReduce::Micro => self.micro_per_sample(&stats, c),
            OverlapReduce::Smp {
                classes,
                log_loss,
                eps,
                gamma,
            } => {
                let kept = smp_classes(classes.as_deref(), c)?;
                Ok(self.smp_mean(&kept, (*log_loss, *eps, *gamma), &stats, weights))
            }
        }
    }

    /// The number of dimensions the scores must have, if the framework fixes it (kornia: 4).
    fn check_rank(&self, inputs: &BTreeMap<String, Tensor>) -> Result<(), String> {
        if let Some(ndim) = self.ndim {
            let shape = &input(inputs, self.names.prediction)?.shape;
            if shape.len() != ndim {
                return Err(format!(
                    "input `{}` has shape {shape:?}, expected {ndim} dimensions",
                    self.names.prediction[0]
                ));
            }
        }
        Ok(())
    }

    /// Dense binary targets with an ignore value (smp binary, multilabel): ignored elements
    /// vanish from every sum, as smp multiplies both tensors by the mask after activation. When
    /// anything is ignored a sigmoid is applied here and the statistics get none (a tanh maps
    /// the zeroed scores to 0 itself).
    fn mask_ignored(&self, data: &mut ClassData, mut overlap: ClassOverlap) -> ClassOverlap {
        if let (Some(ignore), Some(dense)) = (self.ignore_index, data.dense.as_mut()) {
            let ignored: Vec<bool> = dense.iter().map(|&t| t == ignore as f32).collect();
            if ignored.iter().any(|&i| i) {
                // A zero score is a zero after tanh; no logit is a zero after sigmoid.
                if overlap.activation == Activation::Sigmoid {
                    for p in data.scores.iter_mut() {
                        *p = loss_core::sigmoid(*p);
                    }
                    overlap.activation = Activation::None;
                }
                for ((p, t), i) in data.scores.iter_mut().zip(dense.iter_mut()).zip(&ignored) {
                    if *i {
                        *p = 0.0;
                        *t = 0.0;
                    }
                }
            }
        }
        overlap
    }

    /// The class weights by class index: MONAI indexes `weight` after background removal,
    /// loss-core by class. MONAI skips its weights altogether (length check included) when one channel is left.
    fn class_weights(&self, c: usize) -> Result<Option<Vec<f32>>, String> {
        let first = usize::from(!self.include_background && c > 1);
        if self.weighting == Weighting::Multiply && c - first == 1 {
            return Ok(None);
        }
        let weights = resolve_weights(&self.weights, c - first, "weight")?;
        if weights.as_ref().is_some_and(|w| w.iter().any(|v| *v < 0.0)) {
            return Err("parameter `weight` must be no less than 0".to_owned());
        }
        Ok(match weights {
            Some(w) if first == 1 => Some(std::iter::once(1.0).chain(w).collect::<Vec<_>>()),
            w => w,
        })
    }

    /// `loss-core`'s class reduction (MONAI); without a reduction, the per-(sample, class)
    /// losses in MONAI's `none` shape.
    fn reduce_classes(
        &self,
        r: Option<Reduction>,
        stats: &[OverlapStats],
        weights: Option<&[f32]>,
        shape: &Shape,
        inputs: &BTreeMap<String, Tensor>,
    ) -> Result<Tensor, String> {
        let err = |e| core(e, &self.names);
        let (b, c) = (shape.batch(), shape.classes());
        let reduction = ClassReduction {
            include_background: self.include_background,
            weights: if self.weight_stats { None } else { weights },
            weighting: self.weighting,
            empty: self.empty,
            reduction: r.unwrap_or(Reduction::Mean),
        };
        if r.is_some() {
            return Ok(Tensor::scalar(
                reduction.reduce(&self.loss, stats, c).map_err(err)?,
            ));
        }
        let mut out = vec![0.0f32; stats.len()];
        let n = reduction
            .losses(&self.loss, stats, c, &mut out)
            .map_err(err)?;
        out.truncate(n);
        let first = usize::from(!self.include_background && c > 1);
        let full = &input(inputs, self.names.prediction)?.shape;
        let mut shape = if self.pooled {
            vec![c - first]
        } else {
            vec![b, c - first]
        };
        if self.keep_spatial {
            shape.extend(std::iter::repeat_n(1, full.len().saturating_sub(2)));
        }
        Ok(Tensor::f32(shape, out))
    }

    /// kornia macro: per sample, the weighted mean over the classes present in its target (loss
    /// 1 when none is), then the mean over samples.
    fn macro_per_sample(
        &self,
        stats: &[OverlapStats],
        weights: Option<&[f32]>,
        c: usize,
    ) -> Result<Tensor, String> {
        let reduction = ClassReduction {
            include_background: self.include_background,
            weights,
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
            Reduction::Mean
                .reduce(&per_sample)
                .map_err(|e| core(e, &self.names))?,
        ))
    }

    /// kornia micro: statistics summed over classes per sample, then the mean over samples.
    fn micro_per_sample(&self, stats: &[OverlapStats], c: usize) -> Result<Tensor, String> {
        let per_sample = stats
            .chunks(c)
            .map(|row| {
                let pooled = row
                    .iter()
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
            Reduction::Mean
                .reduce(&per_sample)
                .map_err(|e| core(e, &self.names))?,
        ))
    }

    /// smp: over the `kept` classes, `-ln(max(score, eps))` or `1 - score` (0 for an empty
    /// target), their (weighted) mean, raised to `gamma`.
    fn smp_mean(
        &self,
        kept: &[usize],
        (log_loss, eps, gamma): (bool, f32, f32),
        stats: &[OverlapStats],
        weights: Option<&[f32]>,
    ) -> Tensor {
        let mut sum = 0.0f32;
        let mut weight_sum = 0.0f32;
        for &k in kept {
            let s = &stats[k];
            let score = self.loss.score(s);
            let loss = if log_loss {
                -score.max(eps).ln()
            } else {
                1.0 - score
            };
            // smp multiplies by the mask: an infinite loss (`eps=0`) becomes NaN, not 0.
            let loss = if s.target_sum > 0.0 { loss } else { loss * 0.0 };
            let w = weights.map_or(1.0, |w| w[k]);
            sum += loss * w;
            weight_sum += w;
        }
        let mean = if weights.is_some() {
            sum / weight_sum
        } else {
            sum / kept.len() as f32
        };
        Tensor::scalar(if gamma == 1.0 { mean } else { mean.powf(gamma) })
    }
}

impl GeneralizedPlan {
    pub(super) fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let names = &self.names;
        let err = |e| core(e, names);
        let data = ClassData::read(inputs, names, Layout::ChannelsFirst, self.targets, None)?;
        let overlap = one_channel_activation(self.overlap, data.classes());
        let c = data.classes();
        let stats = class_stats(overlap, &data, self.pooled).map_err(err)?;
        // MONAI keeps the background when it is the only channel.
        let loss = self
            .loss
            .with_include_background(self.include_background || c <= 1);
        let values = stats
            .chunks(c)
            .map(|row| loss.loss(row).map_err(err))
            .collect::<Result<Vec<_>, _>>()?;
        match self.reduce {
            Some(r) => Ok(Tensor::scalar(r.reduce(&values).map_err(err)?)),
            None => {
                let full = &input(inputs, names.prediction)?.shape;
                // MONAI: (B, 1, 1, …); with `batch` the class sum leaves (1,), hence
                // (1, 1, …) with one axis fewer than the input.
                let mut shape = vec![values.len()];
                if !self.pooled {
                    shape.push(1);
                }
                shape.extend(std::iter::repeat_n(1, full.len().saturating_sub(2)));
                Ok(Tensor::f32(shape, values))
            }
        }
    }
}

/// MONAI: softmax is ignored with one channel.
fn one_channel_activation(mut overlap: ClassOverlap, classes: usize) -> ClassOverlap {
    if classes == 1 && overlap.activation == Activation::Softmax {
        overlap.activation = Activation::None;
    }
    overlap
}

/// The statistics of every (sample, class), or of every class pooled over the batch.
fn class_stats(
    overlap: ClassOverlap,
    data: &ClassData,
    pooled: bool,
) -> Result<Vec<OverlapStats>, loss_core::Error> {
    let groups = if pooled { 1 } else { data.shape.batch() };
    let mut stats = vec![OverlapStats::default(); groups * data.classes()];
    if pooled {
        overlap.pooled_class_stats::<HOST_CLASSES>(
            &data.shape,
            &data.scores,
            data.targets(),
            &mut stats,
        )
    } else {
        overlap.class_stats::<HOST_CLASSES>(&data.shape, &data.scores, data.targets(), &mut stats)
    }?;
    Ok(stats)
}

/// kornia micro with weights: each class's statistics scaled by its weight (`Σ w p t`, `Σ w p`,
/// `Σ w t`).
fn weigh_stats(stats: &mut [OverlapStats], c: usize, w: &[f32]) {
    for row in stats.chunks_mut(c) {
        for (s, &w) in row.iter_mut().zip(w) {
            s.intersection *= w;
            s.prediction_sum *= w;
            s.target_sum *= w;
        }
    }
}

/// smp's `classes`: the classes to keep, each of which must exist.
fn smp_classes(classes: Option<&[usize]>, c: usize) -> Result<Vec<usize>, String> {
    match classes {
        Some(list) => {
            if let Some(bad) = list.iter().find(|&&k| k >= c) {
                return Err(format!(
                    "parameter `classes`: class {bad} does not exist ({c} classes)"
                ));
            }
            Ok(list.to_vec())
        }
        None => Ok((0..c).collect()),
    }
}
