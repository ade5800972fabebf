//! The scores and targets of a multi-class call, read once and normalised: a `loss-core`
//! [`Shape`], dense `f32` targets or `i32` labels.

use std::collections::BTreeMap;

use loss_core::multiclass::{Layout, Shape, Targets};

use super::{check_inputs, input};
use crate::frameworks::plan::{Names, TargetSpec};
use crate::frameworks::tensor::{Tensor, TensorData};

/// The (batch, classes, spatial) of a score tensor in a layout.
fn split_shape(
    shape: &[usize],
    layout: Layout,
    name: &str,
) -> Result<(usize, usize, usize), String> {
    match (layout, shape) {
        (_, [] | [_]) => Err(format!(
            "input `{name}` needs a batch and a class axis, got shape {shape:?}"
        )),
        (Layout::ChannelsFirst, [b, c, rest @ ..]) => Ok((*b, *c, rest.iter().product())),
        (Layout::ChannelsLast, [b, rest @ ..]) => {
            let (c, spatial) = rest.split_last().map_or((1, &[][..]), |(c, s)| (*c, s));
            Ok((*b, c, spatial.iter().product()))
        }
    }
}

/// Scores and targets of a multi-class call, normalised: dense `f32` targets or `i32` labels.
pub(super) struct ClassData {
    pub(super) shape: Shape,
    pub(super) scores: Vec<f32>,
    pub(super) dense: Option<Vec<f32>>,
    pub(super) labels: Option<Vec<i32>>,
    pub(super) ignore: Option<i32>,
}

impl ClassData {
    /// Reads the prediction and target tensors of a call in `layout`, the targets as `spec`
    /// says.
    pub(super) fn read(
        inputs: &BTreeMap<String, Tensor>,
        names: &Names,
        layout: Layout,
        spec: TargetSpec,
        ignore_index: Option<i64>,
    ) -> Result<Self, String> {
        check_inputs(inputs, names)?;
        let pname = names.prediction[0];
        let x = input(inputs, names.prediction)?;
        let t = input(inputs, names.target)?;
        let flat;
        let (x, t, spec) = if spec == TargetSpec::Flattened {
            flat = flatten(x, t, names)?;
            (&flat.0, &flat.1, TargetSpec::Dense)
        } else {
            (x, t, spec)
        };
        let (b, c, s) = split_shape(&x.shape, layout, pname)?;
        let shape = Shape::new(b, c, s, layout).map_err(|e| format!("input `{pname}`: {e}"))?;
        // MONAI ignores `to_onehot_y` with one channel: the target is then dense.
        let spec = if c == 1 && spec == TargetSpec::LabelsWithChannel {
            TargetSpec::Dense
        } else {
            spec
        };
        let (dense, labels) = match spec {
            TargetSpec::Dense => (Some(dense_targets(x, t, names)?), None),
            TargetSpec::LabelsWithChannel | TargetSpec::Labels | TargetSpec::Flattened => {
                (None, Some(label_targets(x, t, names, spec, layout)?))
            }
        };
        let ignore = ignore_index
            .map(|i| i32::try_from(i).map_err(|_| format!("ignore_index {i} is out of range")))
            .transpose()?;
        Ok(Self {
            shape,
            scores: x.as_f32(),
            dense,
            labels,
            ignore,
        })
    }

    pub(super) fn targets(&self) -> Targets<'_> {
        match (&self.dense, &self.labels) {
            (Some(d), _) => Targets::dense(d),
            (None, Some(l)) => match self.ignore {
                Some(i) => Targets::labels(l).with_ignore_index(i),
                None => Targets::labels(l),
            },
            (None, None) => Targets::dense(&[]),
        }
    }

    pub(super) fn classes(&self) -> usize {
        self.shape.classes()
    }

    /// Dense one-hot targets (ignored pixels all zero).
    pub(super) fn densify(&mut self) {
        if let Some(labels) = self.labels.take() {
            let (c, s) = (self.shape.classes(), self.shape.spatial());
            let mut dense = vec![0.0f32; self.shape.elements()];
            for (pixel, &l) in labels.iter().enumerate() {
                if Some(l) == self.ignore {
                    continue;
                }
                let (n, p) = (pixel / s, pixel % s);
                if let Ok(k) = usize::try_from(l)
                    && k < c
                {
                    let i = self.index(n, k, p);
                    dense[i] = 1.0;
                }
            }
            self.dense = Some(dense);
            self.ignore = None;
        }
    }

    pub(super) fn index(&self, n: usize, c: usize, s: usize) -> usize {
        let (classes, spatial) = (self.shape.classes(), self.shape.spatial());
        match self.shape.layout() {
            Layout::ChannelsFirst => (n * classes + c) * spatial + s,
            Layout::ChannelsLast => (n * spatial + s) * classes + c,
        }
    }

    /// Removes class 0 from scores and targets (targets become dense).
    pub(super) fn drop_background(&mut self) -> Result<(), String> {
        self.densify();
        let (b, c, s) = (
            self.shape.batch(),
            self.shape.classes(),
            self.shape.spatial(),
        );
        let layout = self.shape.layout();
        let keep = move |v: &[f32]| -> Vec<f32> {
            let mut out = Vec::with_capacity(b * (c - 1) * s);
            for n in 0..b {
                match layout {
                    Layout::ChannelsFirst => {
                        out.extend_from_slice(&v[(n * c + 1) * s..(n + 1) * c * s]);
                    }
                    Layout::ChannelsLast => {
                        for p in 0..s {
                            out.extend_from_slice(&v[(n * s + p) * c + 1..(n * s + p + 1) * c]);
                        }
                    }
                }
            }
            out
        };
        let scores = keep(&self.scores);
        let dense = self.dense.as_deref().map(keep);
        self.scores = scores;
        self.dense = dense;
        self.shape = Shape::new(b, c - 1, s, self.shape.layout()).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The scores and targets of sample `n`, for an accumulator push.
    pub(super) fn sample(&self, n: usize) -> (&[f32], Targets<'_>) {
        let per = self.shape.classes() * self.shape.spatial();
        let s = self.shape.spatial();
        let scores = &self.scores[n * per..(n + 1) * per];
        let targets = match (&self.dense, &self.labels) {
            (Some(d), _) => Targets::dense(&d[n * per..(n + 1) * per]),
            (None, Some(l)) => {
                let t = Targets::labels(&l[n * s..(n + 1) * s]);
                match self.ignore {
                    Some(i) => t.with_ignore_index(i),
                    None => t,
                }
            }
            (None, None) => Targets::dense(&[]),
        };
        (scores, targets)
    }
}

/// smp binary mode: scores and targets of any shapes with the same size, read as
/// `(B, 1, everything else)`.
fn flatten(x: &Tensor, t: &Tensor, names: &Names) -> Result<(Tensor, Tensor), String> {
    let (pname, tname) = (names.prediction[0], names.target[0]);
    let b = x.shape.first().copied().unwrap_or(1);
    if t.len() != x.len() {
        return Err(format!(
            "input `{tname}` has {} elements but `{pname}` has {}",
            t.len(),
            x.len()
        ));
    }
    let shape = vec![b, 1, x.len() / b.max(1)];
    Ok((
        Tensor::f32(shape.clone(), x.as_f32()),
        Tensor::f32(shape, t.as_f32()),
    ))
}

/// Dense targets, which have the shape of the scores.
fn dense_targets(x: &Tensor, t: &Tensor, names: &Names) -> Result<Vec<f32>, String> {
    if t.shape != x.shape {
        return Err(format!(
            "input `{}` has shape {:?}, expected {:?} like `{}`",
            names.target[0], t.shape, x.shape, names.prediction[0]
        ));
    }
    Ok(t.as_f32())
}

/// Class indices, with the shape of the scores without (or with a singleton) class axis.
fn label_targets(
    x: &Tensor,
    t: &Tensor,
    names: &Names,
    spec: TargetSpec,
    layout: Layout,
) -> Result<Vec<i32>, String> {
    let tname = names.target[0];
    let mut expected = x.shape.clone();
    match (spec, layout) {
        (TargetSpec::LabelsWithChannel, _) => expected[1] = 1,
        (_, Layout::ChannelsFirst) => {
            expected.remove(1);
        }
        (_, Layout::ChannelsLast) => {
            expected.pop();
        }
    }
    if t.shape != expected {
        return Err(format!(
            "input `{tname}` has shape {:?}, expected {expected:?}",
            t.shape
        ));
    }
    if spec == TargetSpec::Labels && !matches!(t.data, TensorData::I64(_)) {
        return Err(format!(
            "input `{tname}` must hold class indices (dtype int64)"
        ));
    }
    t.as_labels(tname)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            i32::try_from(l).map_err(|_| format!("input `{tname}`[{i}] = {l} is not a class"))
        })
        .collect()
}
