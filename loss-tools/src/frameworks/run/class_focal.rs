//! [`ClassFocalPlan`]: a multi-class focal loss (softmax or one-vs-rest) and its framework's
//! reduction.

use std::collections::BTreeMap;

use loss_core::Reduction;
use loss_core::multiclass::{
    ClassAlpha, ClassLoss, ClassLossAccumulator, Layout, OneVsRestFocal, SoftmaxFocal,
};

use super::axes::{groups, normalise_axes};
use super::class_data::ClassData;
use super::{HOST_CLASSES, core, input, resolve_weights};
use crate::frameworks::params::ScalarOrList;
use crate::frameworks::plan::{AlphaSpec, ClassFocalPlan, FocalKind, FocalReduce, TargetSpec};
use crate::frameworks::tensor::Tensor;

/// Keras's categorical losses take the class axis; `loss-core` takes it first or last.
fn class_axis_layout(axis: i64, ndim: usize) -> Result<Layout, String> {
    match normalise_axes(&[axis], ndim)?[..] {
        [d] if d + 1 == ndim => Ok(Layout::ChannelsLast),
        [1] => Ok(Layout::ChannelsFirst),
        _ => Err(format!(
            "parameter `axis`: {axis} is not supported (the class axis must be 1 or the last)"
        )),
    }
}

impl ClassFocalPlan {
    pub(super) fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let names = &self.names;
        let full_shape = input(inputs, names.prediction)?.shape.clone();
        let layout = match self.reduce {
            FocalReduce::Rows(_, axis) => class_axis_layout(axis, full_shape.len())?,
            _ => self.layout,
        };
        let mut data = ClassData::read(inputs, names, layout, self.targets, self.ignore_index)?;
        // MONAI ignores `to_onehot_y` with one channel and masks the dense target by value:
        // not mapped (an error rather than a different number).
        if self.ignore_index.is_some()
            && self.targets == TargetSpec::LabelsWithChannel
            && data.classes() == 1
        {
            return Err(
                "parameter `ignore_index` is not supported with a single channel".to_owned(),
            );
        }
        if self.drop_background && data.classes() > 1 {
            data.drop_background()?;
        }
        self.prepare.apply(&mut data.scores);
        if self.smoothing != 0.0 {
            data.densify();
            let c = data.classes() as f32;
            let s = self.smoothing;
            if let Some(d) = data.dense.as_mut() {
                d.iter_mut().for_each(|t| *t = *t * (1.0 - s) + s / c);
            }
        }
        let classes = data.classes();
        if self.list_weight_needs_classes
            && classes == 1
            && matches!(self.weights, Some(ScalarOrList::List(_)))
        {
            return Err(
                "parameter `weight`: a per-class list is not supported for single-channel outputs"
                    .to_owned(),
            );
        }
        let weights = resolve_weights(&self.weights, classes, "weight")?;
        let alpha_list;
        let alpha = match &self.alpha {
            AlphaSpec::None => ClassAlpha::None,
            AlphaSpec::Background(a) => ClassAlpha::Background(*a),
            AlphaSpec::Uniform(a) => ClassAlpha::Uniform(*a),
            AlphaSpec::PerClass(l) => {
                alpha_list = l.clone();
                ClassAlpha::PerClass(&alpha_list)
            }
            AlphaSpec::Positives(l) => {
                alpha_list = l.clone();
                ClassAlpha::Positives(&alpha_list)
            }
        };
        let err = |e| core(e, names);
        match self.kind {
            FocalKind::Softmax | FocalKind::SoftmaxOnProbabilities => {
                let mut loss =
                    SoftmaxFocal::new(alpha, self.gamma, weights.as_deref()).map_err(err)?;
                if self.kind == FocalKind::SoftmaxOnProbabilities {
                    loss = loss.with_predictions(loss_core::Predictions::Probabilities);
                }
                if let Some((min, max)) = self.clip {
                    loss = loss.with_probability_clip(min, max).map_err(err)?;
                }
                self.reduce_with(loss, &data, &full_shape)
            }
            FocalKind::OneVsRest(_)
                if matches!(
                    self.reduce,
                    FocalReduce::ClassMeans {
                        modifier: Some(_),
                        ..
                    }
                ) =>
            {
                self.smp_class_means(&data)
            }
            FocalKind::OneVsRest(soft) => {
                let loss = OneVsRestFocal::new(alpha, self.gamma, weights.as_deref())
                    .map_err(err)?
                    .with_soft_targets(soft);
                self.reduce_with(loss, &data, &full_shape)
            }
        }
    }

    /// smp's per-class focal with a [`SmpModifier`](crate::frameworks::plan::SmpModifier):
    /// each class's non-ignored elements are one
    /// `focal_loss_with_logits` call, reduced, then the (weighted) mean over classes.
    fn smp_class_means(&self, data: &ClassData) -> Result<Tensor, String> {
        let FocalReduce::ClassMeans {
            sum_each,
            batch_only,
            weights,
            modifier: Some(m),
        } = &self.reduce
        else {
            return Err("internal: not an smp class mean".into());
        };
        let err = |e| core(e, &self.names);
        let (b, c, s) = (data.shape.batch(), data.classes(), data.shape.spatial());
        let mut per_class = Vec::with_capacity(c);
        for k in 0..c {
            let (mut x, mut t) = (Vec::new(), Vec::new());
            for n in 0..b {
                for p in 0..s {
                    let target = match (&data.dense, &data.labels) {
                        (Some(d), _) => d[data.index(n, k, p)],
                        (None, Some(l)) if Some(l[n * s + p]) == data.ignore => continue,
                        (None, Some(l)) => f32::from(u8::from(l[n * s + p] == k as i32)),
                        (None, None) => continue,
                    };
                    x.push(data.scores[data.index(n, k, p)]);
                    t.push(target);
                }
            }
            let mut losses = vec![0.0f32; x.len()];
            m.losses(&x, &t, &mut losses).map_err(err)?;
            let r = if *sum_each {
                Reduction::Sum
            } else {
                Reduction::Mean
            };
            let v = r.reduce(&losses).map_err(err)?;
            per_class.push(if *batch_only { v / s as f32 } else { v });
        }
        Ok(Tensor::scalar(class_mean(
            per_class.into_iter(),
            weights.as_ref(),
            c,
        )?))
    }

    /// The focal terms of `loss` on `data`, reduced as the framework does.
    fn reduce_with<L: ClassLoss>(
        &self,
        loss: L,
        data: &ClassData,
        full_shape: &[usize],
    ) -> Result<Tensor, String> {
        match &self.reduce {
            FocalReduce::Elementwise | FocalReduce::Rows(..) => {
                self.elementwise(loss, data, full_shape)
            }
            FocalReduce::MonaiSum => self.monai_sum(loss, data),
            FocalReduce::PerElementMean
            | FocalReduce::Sum
            | FocalReduce::PerPixelMean
            | FocalReduce::ClassMeans { .. } => self.accumulated(loss, data),
        }
    }

    /// Every term in the input's shape (C classes), or Keras's per-pixel sums over the class
    /// axis, reduced.
    fn elementwise<L: ClassLoss>(
        &self,
        loss: L,
        data: &ClassData,
        full_shape: &[usize],
    ) -> Result<Tensor, String> {
        let err = |e| core(e, &self.names);
        let shape = &data.shape;
        let mut out = vec![0.0f32; shape.elements()];
        loss.loss_elementwise(shape, &data.scores, data.targets(), &mut out)
            .map_err(err)?;
        if let FocalReduce::Rows(r, axis) = self.reduce {
            // Each pixel's terms, summed over the class axis in class order.
            let axes = normalise_axes(&[axis], full_shape.len())?;
            let (shape, groups) = groups(full_shape, &axes);
            let rows: Vec<f32> = groups
                .iter()
                .map(|g| g.iter().fold(0.0, |a, &i| a + out[i]))
                .collect();
            return Ok(match r {
                Some(r) => Tensor::scalar(r.reduce(&rows).map_err(err)?),
                None => Tensor::f32(shape, rows),
            });
        }
        let mut out_shape = full_shape.to_vec();
        if let Some(d) = out_shape.get_mut(if self.layout == Layout::ChannelsFirst {
            1
        } else {
            full_shape.len() - 1
        }) {
            *d = shape.classes();
        }
        Ok(Tensor::f32(out_shape, out))
    }

    /// MONAI `sum`: per sample, each class's sum over the valid pixels divided by their count,
    /// summed.
    fn monai_sum<L: ClassLoss>(&self, loss: L, data: &ClassData) -> Result<Tensor, String> {
        let err = |e| core(e, &self.names);
        let (b, c) = (data.shape.batch(), data.shape.classes());
        let mut total = 0.0f32;
        let mut sums = vec![0.0f32; c];
        for n in 0..b {
            let mut acc = ClassLossAccumulator::<L, HOST_CLASSES>::new(loss, c).map_err(err)?;
            let (scores, targets) = data.sample(n);
            acc.push(self.layout, scores, targets).map_err(err)?;
            acc.class_sums(&mut sums).map_err(err)?;
            let valid = (acc.pixels() as f32).max(f32::EPSILON);
            total = sums.iter().fold(total, |a, v| a + v / valid);
        }
        Ok(Tensor::scalar(total))
    }

    /// The reductions of all the terms at once: the per-element or per-pixel mean, the sum, or
    /// smp's (weighted) mean of the per-class means or sums.
    fn accumulated<L: ClassLoss>(&self, loss: L, data: &ClassData) -> Result<Tensor, String> {
        let err = |e| core(e, &self.names);
        let shape = &data.shape;
        let (b, c, s) = (shape.batch(), shape.classes(), shape.spatial());
        let mut acc = ClassLossAccumulator::<L, HOST_CLASSES>::new(loss, c).map_err(err)?;
        for n in 0..b {
            let (scores, targets) = data.sample(n);
            acc.push(self.layout, scores, targets).map_err(err)?;
        }
        let value = match &self.reduce {
            FocalReduce::PerElementMean => acc.total() / (b * c * s) as f32,
            FocalReduce::Sum => acc.total(),
            FocalReduce::PerPixelMean => acc.mean_per_pixel().map_err(err)?,
            FocalReduce::ClassMeans {
                sum_each,
                batch_only,
                weights,
                ..
            } => {
                let mut sums = vec![0.0f32; c];
                acc.class_sums(&mut sums).map_err(err)?;
                let pixels = acc.pixels() as f32;
                let per_class = sums.iter().map(|v| match (*sum_each, *batch_only) {
                    (true, true) => v / s as f32,
                    (true, false) => *v,
                    (false, _) => v / pixels,
                });
                class_mean(per_class, weights.as_ref(), c)?
            }
            FocalReduce::Elementwise | FocalReduce::Rows(..) | FocalReduce::MonaiSum => {
                unreachable!("reduced elsewhere")
            }
        };
        Ok(Tensor::scalar(value))
    }
}

/// The mean of the `c` per-class values, or their weighted mean `Σ w v / Σ w` with smp's
/// `class_weights`.
fn class_mean(
    per_class: impl Iterator<Item = f32>,
    weights: Option<&Vec<f32>>,
    c: usize,
) -> Result<f32, String> {
    match weights {
        Some(w) if w.len() != c => Err(format!(
            "parameter `class_weights` has {} entries for {c} classes",
            w.len()
        )),
        Some(w) => {
            let (num, den) = per_class
                .zip(w)
                .fold((0.0f32, 0.0f32), |(n, d), (v, w)| (n + v * w, d + w));
            Ok(num / den)
        }
        None => Ok(per_class.fold(0.0, |a, v| a + v) / c as f32),
    }
}
