//! [`FlatPlan`]: a binary dice-family loss over flattened tensors (Keras, the seed article).

use std::collections::BTreeMap;

use super::axes::{groups, normalise_axes};
use super::{core, same_shape_inputs};
use crate::frameworks::plan::{Axes, FlatPlan};
use crate::frameworks::tensor::Tensor;

impl FlatPlan {
    pub(super) fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        let (x, t) = same_shape_inputs(inputs, &self.names)?;
        let err = |e| core(e, &self.names);
        let (preds, targets) = (x.as_f32(), t.as_f32());
        let (shape, out) = match &self.axes {
            Axes::All => {
                return Ok(Tensor::scalar(
                    self.loss.loss(&preds, &targets).map_err(err)?,
                ));
            }
            Axes::AllButBatch => {
                let samples = x.shape.first().copied().unwrap_or(1);
                let mut out = vec![0.0f32; samples];
                self.loss
                    .loss_per_sample(&preds, &targets, samples, &mut out)
                    .map_err(err)?;
                (vec![samples], out)
            }
            Axes::These(axes) => {
                let axes = normalise_axes(axes, x.shape.len())?;
                let (shape, groups) = groups(&x.shape, &axes);
                let out = groups
                    .iter()
                    .map(|g| {
                        let p: Vec<f32> = g.iter().map(|&i| preds[i]).collect();
                        let t: Vec<f32> = g.iter().map(|&i| targets[i]).collect();
                        self.loss.loss(&p, &t).map_err(err)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (shape, out)
            }
        };
        Ok(match self.reduce {
            Some(r) => Tensor::scalar(r.reduce(&out).map_err(err)?),
            None => Tensor::f32(shape, out),
        })
    }
}
