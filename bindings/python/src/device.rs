//! The device-side API of `loss-core` in Python: the binary losses and their accumulators,
//! the multi-class accumulator, quantized (`int8` / `uint8`) inputs and the monitor. Each
//! class wraps the `loss-core` type of the same name, calls it with the arrays read in place
//! (see [`crate::arrays`]) and the GIL released, and turns its `Error` into a `ValueError`
//! with the error's one-line message.

use loss_core::dice::{OverlapAccumulator as CoreOverlapAccumulator, OverlapStats};
use loss_core::focal::{BinaryFocal as CoreBinaryFocal, SigmoidFocal as CoreSigmoidFocal};
use loss_core::monitor::{
    Baseline, Cause, Direction, Event, FrameSignals as CoreFrameSignals, Level,
    Monitor as CoreMonitor, Signal, SignalConfig, Statistic,
};
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassOverlap, Decision, Layout, OneVsRestFocal,
    SegmentationAccumulator as CoreSegmentation, SoftmaxFocal, Targets,
};
use loss_core::quantized::{
    ClassQuantization, Code, CodeCounts as CoreCodeCounts, Quantization, QuantizedFocal,
    QuantizedOverlap as CoreQuantizedOverlap,
};
use loss_core::{Error, LossAccumulator as CoreLossAccumulator, Mask, Predictions, Reduction};
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrays::{contiguous, kind, slice, vector};

/// Class capacity of the multi-class accumulator (as `loss-tools`' host accumulators).
const CLASSES: usize = 64;

fn err(e: Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

fn reduction(name: &str) -> PyResult<Reduction> {
    match name {
        "mean" => Ok(Reduction::Mean),
        "sum" => Ok(Reduction::Sum),
        other => Err(value_error(format!(
            "reduction `{other}` is not \"mean\" or \"sum\" (loss_elementwise gives \"none\")"
        ))),
    }
}

fn predictions(name: &str) -> PyResult<Predictions> {
    match name {
        "logits" => Ok(Predictions::Logits),
        "probabilities" => Ok(Predictions::Probabilities),
        other => Err(value_error(format!(
            "predictions `{other}` is not \"logits\" or \"probabilities\""
        ))),
    }
}

fn soft_targets(name: &str) -> PyResult<loss_core::focal::SoftTargets> {
    use loss_core::focal::SoftTargets as S;
    match name {
        "torchvision" => Ok(S::Torchvision),
        "monai" => Ok(S::Monai),
        "kornia" => Ok(S::Kornia),
        "smp" => Ok(S::Smp),
        other => Err(value_error(format!(
            "soft_targets `{other}` is not one of \"torchvision\", \"monai\", \"kornia\", \"smp\""
        ))),
    }
}

fn layout(name: &str) -> PyResult<Layout> {
    match name {
        "channels_first" | "nchw" => Ok(Layout::ChannelsFirst),
        "channels_last" | "nhwc" => Ok(Layout::ChannelsLast),
        other => Err(value_error(format!(
            "layout `{other}` is not \"channels_first\" or \"channels_last\""
        ))),
    }
}

/// Binary targets as read: float32 values, or a hard mask of `bool`s or bytes.
enum BinaryTargets<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    Bools(PyReadonlyArrayDyn<'py, bool>),
    Bytes(PyReadonlyArrayDyn<'py, u8>),
}

fn is_u8(obj: &Bound<'_, PyAny>) -> bool {
    obj.cast::<PyArrayDyn<u8>>().is_ok()
}

/// `bool` and `uint8` arrays are masks read in place; anything else becomes float32 once.
fn binary_targets<'py>(obj: &Bound<'py, PyAny>) -> PyResult<BinaryTargets<'py>> {
    Ok(match kind(obj) {
        Some(b'b') => BinaryTargets::Bools(contiguous(obj, "targets")?),
        Some(b'u') if is_u8(obj) => BinaryTargets::Bytes(contiguous(obj, "targets")?),
        _ => BinaryTargets::F32(contiguous(obj, "targets")?),
    })
}

/// A hard mask for codes: `bool` or `uint8` (0 / 1) only, read in place.
fn mask_targets<'py>(obj: &Bound<'py, PyAny>) -> PyResult<BinaryTargets<'py>> {
    match binary_targets(obj)? {
        BinaryTargets::F32(_) => Err(value_error(
            "targets of codes must be a bool or uint8 mask (numpy array)",
        )),
        other => Ok(other),
    }
}

/// Runs `$body` with `$t` bound to the `loss-core` targets (`&[f32]` or a [`Mask`]).
macro_rules! with_targets {
    ($targets:expr, |$t:ident| $body:expr) => {
        match &$targets {
            BinaryTargets::F32(a) => {
                let $t = slice(a)?;
                $body
            }
            BinaryTargets::Bools(a) => {
                let $t = Mask::bools(slice(a)?);
                $body
            }
            BinaryTargets::Bytes(a) => {
                let $t = Mask::bytes(slice(a)?);
                $body
            }
        }
    };
}

/// Runs `$body` with `$t` bound to the [`Mask`] of mask targets.
macro_rules! with_mask {
    ($targets:expr, |$t:ident| $body:expr) => {
        match &$targets {
            BinaryTargets::Bools(a) => {
                let $t = Mask::bools(slice(a)?);
                $body
            }
            BinaryTargets::Bytes(a) => {
                let $t = Mask::bytes(slice(a)?);
                $body
            }
            BinaryTargets::F32(_) => unreachable_targets(),
        }
    };
}

fn unreachable_targets<T>() -> PyResult<T> {
    Err(value_error("targets of codes must be a bool or uint8 mask"))
}

/// The output of `loss_per_sample`, allocated after `loss-core`'s own checks of the sample
/// count (a count that does not divide the input is its error, not a huge allocation).
fn per_sample_buffer(len: usize, samples: usize) -> PyResult<Vec<f32>> {
    if len == 0 {
        return Err(err(Error::EmptyInput));
    }
    if samples == 0 || !len.is_multiple_of(samples) {
        return Err(err(Error::SampleCountMismatch { len, samples }));
    }
    Ok(vec![0.0; samples])
}

/// The element losses share their methods; `$core` is the `loss-core` type.
macro_rules! element_loss {
    ($name:ident, $variant:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $name {
            $($extra)*

            /// The reduced loss (`mean` or `sum`, chosen at construction).
            fn loss(
                &self,
                py: Python<'_>,
                predictions: &Bound<'_, PyAny>,
                targets: &Bound<'_, PyAny>,
            ) -> PyResult<f32> {
                let p = contiguous::<f32>(predictions, "predictions")?;
                let t = binary_targets(targets)?;
                let p = slice(&p)?;
                let loss = self.inner;
                with_targets!(t, |t| py.detach(|| loss.loss(p, t)).map_err(err))
            }

            /// The loss of every element (`reduction="none"`), shaped like `predictions`.
            fn loss_elementwise<'py>(
                &self,
                py: Python<'py>,
                predictions: &Bound<'py, PyAny>,
                targets: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let pa = contiguous::<f32>(predictions, "predictions")?;
                let t = binary_targets(targets)?;
                let p = slice(&pa)?;
                let mut out = vec![0.0f32; p.len()];
                let loss = self.inner;
                with_targets!(t, |t| py
                    .detach(|| loss.loss_elementwise(p, t, &mut out))
                    .map_err(err))?;
                Ok(vector(py, out).reshape(pa.shape().to_vec())?.into_any())
            }

            /// One reduced loss per sample: the inputs split into `samples` equal parts.
            fn loss_per_sample<'py>(
                &self,
                py: Python<'py>,
                predictions: &Bound<'py, PyAny>,
                targets: &Bound<'py, PyAny>,
                samples: usize,
            ) -> PyResult<Bound<'py, PyArray1<f32>>> {
                let p = contiguous::<f32>(predictions, "predictions")?;
                let t = binary_targets(targets)?;
                let p = slice(&p)?;
                let mut out = per_sample_buffer(p.len(), samples)?;
                let loss = self.inner;
                with_targets!(t, |t| py
                    .detach(|| loss.loss_per_sample(p, t, samples, &mut out))
                    .map_err(err))?;
                Ok(vector(py, out))
            }

            /// A streaming accumulator of this loss: chunks of any size, the one-shot bits.
            fn accumulator(&self) -> LossAccumulator {
                LossAccumulator {
                    inner: ElementAccumulator::$variant(CoreLossAccumulator::new(self.inner)),
                }
            }

            fn __repr__(&self) -> String {
                format!("{:?}", self.inner)
            }
        }
    };
}

/// Binary focal loss from logits (`loss_core::focal::SigmoidFocal`, torchvision semantics).
#[pyclass(module = "loss_core", frozen)]
pub struct SigmoidFocal {
    inner: CoreSigmoidFocal,
}

element_loss!(SigmoidFocal, Sigmoid, {
    #[new]
    #[pyo3(signature = (alpha=Some(0.25), gamma=2.0, reduction="mean", soft_targets="torchvision"))]
    fn new(alpha: Option<f32>, gamma: f32, reduction: &str, soft_targets: &str) -> PyResult<Self> {
        let inner = CoreSigmoidFocal::new(alpha, gamma)
            .map_err(err)?
            .with_reduction(self::reduction(reduction)?)
            .with_soft_targets(self::soft_targets(soft_targets)?);
        Ok(Self { inner })
    }
});

/// Binary focal loss from clamped probabilities (`loss_core::focal::BinaryFocal`).
#[pyclass(module = "loss_core", frozen)]
pub struct BinaryFocal {
    inner: CoreBinaryFocal,
}

element_loss!(BinaryFocal, Binary, {
    #[new]
    #[pyo3(signature = (alpha=None, gamma=2.0, clamp_min=0.0, clamp_max=1.0, reduction="mean", soft_targets="kornia"))]
    fn new(
        alpha: Option<f32>,
        gamma: f32,
        clamp_min: f32,
        clamp_max: f32,
        reduction: &str,
        soft_targets: &str,
    ) -> PyResult<Self> {
        let inner = CoreBinaryFocal::new(alpha, gamma, clamp_min, clamp_max)
            .map_err(err)?
            .with_soft_targets(self::soft_targets(soft_targets)?)
            .map_err(err)?
            .with_reduction(self::reduction(reduction)?);
        Ok(Self { inner })
    }

    /// The seed article's `FocalLoss` (alpha 0.25, gamma 2, clamp `[1e-3, 0.999]`).
    #[staticmethod]
    fn seed() -> Self {
        Self {
            inner: CoreBinaryFocal::seed(),
        }
    }

    /// Keras's `BinaryFocalCrossentropy` on probabilities.
    #[staticmethod]
    #[pyo3(signature = (alpha=None, gamma=2.0))]
    fn keras(alpha: Option<f32>, gamma: f32) -> PyResult<Self> {
        Ok(Self {
            inner: CoreBinaryFocal::keras(alpha, gamma).map_err(err)?,
        })
    }
});

enum ElementAccumulator {
    Sigmoid(CoreLossAccumulator<CoreSigmoidFocal>),
    Binary(CoreLossAccumulator<CoreBinaryFocal>),
}

/// A binary focal loss streamed in chunks (`SigmoidFocal.accumulator()`,
/// `BinaryFocal.accumulator()`); `finish()` gives the one-shot call's bits.
// A place for the mergeable state of order-independent dataset evaluation: when `loss-core`'s
// accumulators gain `merge`, it is exposed here and on the other accumulators.
#[pyclass(module = "loss_core")]
pub struct LossAccumulator {
    inner: ElementAccumulator,
}

#[pymethods]
impl LossAccumulator {
    /// Adds a chunk.
    fn push(
        &mut self,
        py: Python<'_>,
        predictions: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let p = contiguous::<f32>(predictions, "predictions")?;
        let t = binary_targets(targets)?;
        let p = slice(&p)?;
        let inner = &mut self.inner;
        with_targets!(t, |t| py
            .detach(|| match inner {
                ElementAccumulator::Sigmoid(a) => a.push(p, t),
                ElementAccumulator::Binary(a) => a.push(p, t),
            })
            .map_err(err))
    }

    /// The reduced loss of everything pushed.
    fn finish(&self) -> PyResult<f32> {
        match &self.inner {
            ElementAccumulator::Sigmoid(a) => a.finish(),
            ElementAccumulator::Binary(a) => a.finish(),
        }
        .map_err(err)
    }

    /// Elements pushed.
    #[getter]
    fn count(&self) -> u64 {
        match &self.inner {
            ElementAccumulator::Sigmoid(a) => a.count(),
            ElementAccumulator::Binary(a) => a.count(),
        }
    }

    /// Forgets everything pushed.
    fn reset(&mut self) {
        match &mut self.inner {
            ElementAccumulator::Sigmoid(a) => a.reset(),
            ElementAccumulator::Binary(a) => a.reset(),
        }
    }
}

fn stats_dict<'py>(py: Python<'py>, s: &OverlapStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("intersection", s.intersection)?;
    d.set_item("prediction_sum", s.prediction_sum)?;
    d.set_item("target_sum", s.target_sum)?;
    d.set_item("count", s.count)?;
    Ok(d)
}

/// Dice, Jaccard or Tversky on one channel (`loss_core::dice::OverlapLoss`).
#[pyclass(module = "loss_core", frozen)]
pub struct OverlapLoss {
    inner: loss_core::dice::OverlapLoss,
}

#[pymethods]
impl OverlapLoss {
    /// `kind` is `"dice"`, `"jaccard"` or `"tversky"` (with `alpha`, `beta`); the smoothing
    /// defaults are MONAI's (`1e-5`, `1e-5`).
    #[new]
    #[pyo3(signature = (kind="dice", alpha=0.5, beta=0.5, smooth_nr=1e-5, smooth_dr=1e-5, squared=false, predictions="probabilities"))]
    fn new(
        kind: &str,
        alpha: f32,
        beta: f32,
        smooth_nr: f32,
        smooth_dr: f32,
        squared: bool,
        predictions: &str,
    ) -> PyResult<Self> {
        use loss_core::dice::OverlapLoss as L;
        let base = match kind {
            "dice" => L::dice(),
            "jaccard" => L::jaccard(),
            "tversky" => L::tversky(alpha, beta).map_err(err)?,
            other => {
                return Err(value_error(format!(
                    "kind `{other}` is not \"dice\", \"jaccard\" or \"tversky\""
                )));
            }
        };
        let inner = base
            .with_smoothing(smooth_nr, smooth_dr)
            .map_err(err)?
            .with_squared(squared)
            .map_err(err)?
            .with_predictions(self::predictions(predictions)?);
        Ok(Self { inner })
    }

    /// The loss of the whole input.
    fn loss(
        &self,
        py: Python<'_>,
        predictions: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<f32> {
        let p = contiguous::<f32>(predictions, "predictions")?;
        let t = binary_targets(targets)?;
        let p = slice(&p)?;
        let loss = self.inner;
        with_targets!(t, |t| py.detach(|| loss.loss(p, t)).map_err(err))
    }

    /// The overlap statistics: `intersection`, `prediction_sum`, `target_sum`, `count`.
    fn stats<'py>(
        &self,
        py: Python<'py>,
        predictions: &Bound<'py, PyAny>,
        targets: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let p = contiguous::<f32>(predictions, "predictions")?;
        let t = binary_targets(targets)?;
        let p = slice(&p)?;
        let loss = self.inner;
        let s = with_targets!(t, |t| py.detach(|| loss.stats(p, t)).map_err(err))?;
        stats_dict(py, &s)
    }

    /// One loss per sample: the inputs split into `samples` equal parts.
    fn loss_per_sample<'py>(
        &self,
        py: Python<'py>,
        predictions: &Bound<'py, PyAny>,
        targets: &Bound<'py, PyAny>,
        samples: usize,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let p = contiguous::<f32>(predictions, "predictions")?;
        let t = binary_targets(targets)?;
        let p = slice(&p)?;
        let mut out = per_sample_buffer(p.len(), samples)?;
        let loss = self.inner;
        with_targets!(t, |t| py
            .detach(|| loss.loss_per_sample(p, t, samples, &mut out))
            .map_err(err))?;
        Ok(vector(py, out))
    }

    /// A streaming accumulator of this loss.
    fn accumulator(&self) -> OverlapAccumulator {
        OverlapAccumulator {
            inner: self.inner.accumulator(),
        }
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// A dice-family loss streamed in chunks (`OverlapLoss.accumulator()`).
#[pyclass(module = "loss_core")]
pub struct OverlapAccumulator {
    inner: CoreOverlapAccumulator,
}

#[pymethods]
impl OverlapAccumulator {
    /// Adds a chunk.
    fn push(
        &mut self,
        py: Python<'_>,
        predictions: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let p = contiguous::<f32>(predictions, "predictions")?;
        let t = binary_targets(targets)?;
        let p = slice(&p)?;
        let inner = &mut self.inner;
        with_targets!(t, |t| py.detach(|| inner.push(p, t)).map_err(err))
    }

    /// The statistics of everything pushed.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats().map_err(err)?)
    }

    /// The loss of everything pushed.
    fn finish(&self) -> PyResult<f32> {
        self.inner.finish().map_err(err)
    }

    /// Elements pushed.
    #[getter]
    fn count(&self) -> u64 {
        self.inner.count()
    }

    /// Forgets everything pushed.
    fn reset(&mut self) {
        self.inner.reset();
    }
}

// ---- multi-class ------------------------------------------------------------------------

enum Segmentation {
    Softmax(Box<CoreSegmentation<SoftmaxFocal<'static>, CLASSES>>),
    OneVsRest(Box<CoreSegmentation<OneVsRestFocal<'static>, CLASSES>>),
}

/// Label maps as `loss-core` reads them: `uint8`, `uint16`, `int32` in place, other integer
/// dtypes converted to `int32` once (a label outside `int32` is an error).
enum Labels<'py> {
    U8(PyReadonlyArrayDyn<'py, u8>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    I32(PyReadonlyArrayDyn<'py, i32>),
    Dense(PyReadonlyArrayDyn<'py, f32>),
}

fn labels<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Labels<'py>> {
    if obj.cast::<PyArrayDyn<u8>>().is_ok() {
        return Ok(Labels::U8(contiguous(obj, "targets")?));
    }
    if obj.cast::<PyArrayDyn<u16>>().is_ok() {
        return Ok(Labels::U16(contiguous(obj, "targets")?));
    }
    match kind(obj) {
        Some(b'i' | b'u') => {
            if obj.cast::<PyArrayDyn<i32>>().is_err() {
                let wide = contiguous::<i64>(obj, "targets")?;
                if let Some((i, v)) = slice(&wide)?
                    .iter()
                    .enumerate()
                    .find(|(_, v)| i32::try_from(**v).is_err())
                {
                    return Err(err(Error::LabelOutOfRange {
                        index: i,
                        label: i32::try_from(*v).unwrap_or(i32::MAX),
                    }));
                }
            }
            Ok(Labels::I32(contiguous(obj, "targets")?))
        }
        _ => Ok(Labels::Dense(contiguous(obj, "targets")?)),
    }
}

macro_rules! with_labels {
    ($labels:expr, $ignore:expr, |$t:ident| $body:expr) => {{
        let ignore: Option<i32> = $ignore;
        fn add(t: Targets<'_>, ignore: Option<i32>) -> Targets<'_> {
            match ignore {
                Some(i) => t.with_ignore_index(i),
                None => t,
            }
        }
        match &$labels {
            Labels::U8(a) => {
                let $t = add(Targets::labels(slice(a)?), ignore);
                $body
            }
            Labels::U16(a) => {
                let $t = add(Targets::labels(slice(a)?), ignore);
                $body
            }
            Labels::I32(a) => {
                let $t = add(Targets::labels(slice(a)?), ignore);
                $body
            }
            Labels::Dense(a) => {
                let $t = add(Targets::dense(slice(a)?), ignore);
                $body
            }
        }
    }};
}

fn quantizations(
    scale: &Bound<'_, PyAny>,
    zero_point: &Bound<'_, PyAny>,
) -> PyResult<Vec<Quantization>> {
    let scales: Vec<f32> = match scale.extract::<f32>() {
        Ok(s) => vec![s],
        Err(_) => scale.extract()?,
    };
    let zeros: Vec<i32> = match zero_point.extract::<i32>() {
        Ok(z) => vec![z],
        Err(_) => zero_point.extract()?,
    };
    if scales.len() != zeros.len() {
        return Err(value_error(format!(
            "{} scales for {} zero points",
            scales.len(),
            zeros.len()
        )));
    }
    scales
        .iter()
        .zip(&zeros)
        .map(|(&s, &z)| Quantization::new(s, z).map_err(err))
        .collect()
}

fn class_quantization<C: Code>(q: &[Quantization]) -> PyResult<ClassQuantization<'_, C>> {
    match q {
        [one] => ClassQuantization::per_tensor(*one),
        many => ClassQuantization::per_class(many),
    }
    .map_err(err)
}

/// Per-class loss sums, soft overlap statistics and confusion counts of a multi-class
/// segmentation, streamed in chunks of whole pixels of one sample
/// (`loss_core::multiclass::SegmentationAccumulator`, up to 64 classes).
#[pyclass(module = "loss_core")]
pub struct SegmentationAccumulator {
    inner: Segmentation,
}

#[pymethods]
impl SegmentationAccumulator {
    /// `loss`: `"softmax_focal"`, `"one_vs_rest_focal"` or `None`; `alpha` a scalar
    /// (`alpha_spread`: `"background"` gives `[1 - a, a, …]`, `"uniform"` `a` everywhere);
    /// `activation` of the overlap statistics: `"softmax"`, `"sigmoid"`, `"tanh"` or `"none"`;
    /// `decision`: `"argmax"` or a threshold.
    #[new]
    #[pyo3(signature = (classes, loss=Some("softmax_focal"), gamma=2.0, alpha=None, alpha_spread="background", predictions="logits", activation="softmax", squared=false, decision=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        classes: usize,
        loss: Option<&str>,
        gamma: f32,
        alpha: Option<f32>,
        alpha_spread: &str,
        predictions: &str,
        activation: &str,
        squared: bool,
        decision: Option<f32>,
    ) -> PyResult<Self> {
        let alpha = match (alpha, alpha_spread) {
            (None, _) => ClassAlpha::None,
            (Some(a), "background") => ClassAlpha::Background(a),
            (Some(a), "uniform") => ClassAlpha::Uniform(a),
            (_, other) => {
                return Err(value_error(format!(
                    "alpha_spread `{other}` is not \"background\" or \"uniform\""
                )));
            }
        };
        let overlap = ClassOverlap {
            activation: match activation {
                "softmax" => Activation::Softmax,
                "sigmoid" => Activation::Sigmoid,
                "tanh" => Activation::Tanh,
                "none" => Activation::None,
                other => {
                    return Err(value_error(format!(
                        "activation `{other}` is not \"softmax\", \"sigmoid\", \"tanh\" or \"none\""
                    )));
                }
            },
            squared,
            ..ClassOverlap::default()
        };
        let decision = decision.map_or(Decision::Argmax, Decision::Threshold);
        let predictions = self::predictions(predictions)?;
        let inner = match loss {
            Some("softmax_focal") | None => {
                let focal = match loss {
                    Some(_) => Some(
                        SoftmaxFocal::new(alpha, gamma, None)
                            .map_err(err)?
                            .with_predictions(predictions),
                    ),
                    None => None,
                };
                Segmentation::Softmax(Box::new(
                    CoreSegmentation::new(focal, overlap, decision, classes).map_err(err)?,
                ))
            }
            Some("one_vs_rest_focal") => {
                let focal = OneVsRestFocal::new(alpha, gamma, None).map_err(err)?;
                Segmentation::OneVsRest(Box::new(
                    CoreSegmentation::new(Some(focal), overlap, decision, classes).map_err(err)?,
                ))
            }
            Some(other) => {
                return Err(value_error(format!(
                    "loss `{other}` is not \"softmax_focal\", \"one_vs_rest_focal\" or None"
                )));
            }
        };
        Ok(Self { inner })
    }

    /// Adds whole pixels of one sample: `scores` (`C` planes, or `C` scores per pixel with
    /// `layout="channels_last"`) and `targets` (a label map, or dense like the scores).
    #[pyo3(signature = (scores, targets, layout="channels_first", ignore_index=None))]
    fn push(
        &mut self,
        py: Python<'_>,
        scores: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
        layout: &str,
        ignore_index: Option<i32>,
    ) -> PyResult<()> {
        let layout = self::layout(layout)?;
        let s = contiguous::<f32>(scores, "scores")?;
        let s = slice(&s)?;
        let l = labels(targets)?;
        let inner = &mut self.inner;
        with_labels!(l, ignore_index, |t| py
            .detach(|| match inner {
                Segmentation::Softmax(a) => a.push(layout, s, t),
                Segmentation::OneVsRest(a) => a.push(layout, s, t),
            })
            .map_err(err))
    }

    /// Adds whole pixels of quantized scores: `int8` or `uint8` codes with a scale and zero
    /// point (scalars for the tensor, or one per class).
    #[pyo3(signature = (codes, targets, scale, zero_point, layout="channels_first", ignore_index=None))]
    #[allow(clippy::too_many_arguments)]
    fn push_codes(
        &mut self,
        py: Python<'_>,
        codes: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
        scale: &Bound<'_, PyAny>,
        zero_point: &Bound<'_, PyAny>,
        layout: &str,
        ignore_index: Option<i32>,
    ) -> PyResult<()> {
        let layout = self::layout(layout)?;
        let q = quantizations(scale, zero_point)?;
        let l = labels(targets)?;
        let inner = &mut self.inner;
        match kind(codes) {
            Some(b'i') if codes.cast::<PyArrayDyn<i8>>().is_ok() => {
                let c = contiguous::<i8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<i8>(&q)?;
                with_labels!(l, ignore_index, |t| py
                    .detach(|| match inner {
                        Segmentation::Softmax(a) => a.push_codes(layout, c, &q, t),
                        Segmentation::OneVsRest(a) => a.push_codes(layout, c, &q, t),
                    })
                    .map_err(err))
            }
            Some(b'u') if is_u8(codes) => {
                let c = contiguous::<u8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<u8>(&q)?;
                with_labels!(l, ignore_index, |t| py
                    .detach(|| match inner {
                        Segmentation::Softmax(a) => a.push_codes(layout, c, &q, t),
                        Segmentation::OneVsRest(a) => a.push_codes(layout, c, &q, t),
                    })
                    .map_err(err))
            }
            _ => Err(value_error("codes must be an int8 or uint8 array")),
        }
    }

    /// Pixels accumulated (ignored pixels excluded).
    #[getter]
    fn pixels(&self) -> u64 {
        match &self.inner {
            Segmentation::Softmax(a) => a.pixels(),
            Segmentation::OneVsRest(a) => a.pixels(),
        }
    }

    /// The loss summed per class.
    fn class_sums<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let mut out = vec![0.0f32; self.classes()];
        match &self.inner {
            Segmentation::Softmax(a) => a.class_sums(&mut out),
            Segmentation::OneVsRest(a) => a.class_sums(&mut out),
        }
        .map_err(err)?;
        Ok(vector(py, out))
    }

    /// The loss summed over classes and pixels.
    fn loss_total(&self) -> PyResult<f32> {
        match &self.inner {
            Segmentation::Softmax(a) => a.loss_total(),
            Segmentation::OneVsRest(a) => a.loss_total(),
        }
        .map_err(err)
    }

    /// The mean over every `pixel × class` term (MONAI, kornia `mean`).
    fn loss_mean_per_element(&self) -> PyResult<f32> {
        match &self.inner {
            Segmentation::Softmax(a) => a.loss_mean_per_element(),
            Segmentation::OneVsRest(a) => a.loss_mean_per_element(),
        }
        .map_err(err)
    }

    /// The mean over pixels (Keras, cross-entropy).
    fn loss_mean_per_pixel(&self) -> PyResult<f32> {
        match &self.inner {
            Segmentation::Softmax(a) => a.loss_mean_per_pixel(),
            Segmentation::OneVsRest(a) => a.loss_mean_per_pixel(),
        }
        .map_err(err)
    }

    /// Per-class soft statistics, a `(C, 3)` float32 array: intersection, prediction sum,
    /// target sum.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let classes = self.classes();
        let mut out = vec![OverlapStats::default(); classes];
        match &self.inner {
            Segmentation::Softmax(a) => a.stats(&mut out),
            Segmentation::OneVsRest(a) => a.stats(&mut out),
        }
        .map_err(err)?;
        let flat: Vec<f32> = out
            .iter()
            .flat_map(|s| [s.intersection, s.prediction_sum, s.target_sum])
            .collect();
        Ok(vector(py, flat).reshape([classes, 3])?.into_any())
    }

    /// Per-class confusion counts, a `(C, 4)` uint64 array: true positives, false
    /// positives, false negatives, true negatives.
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let counts = match &self.inner {
            Segmentation::Softmax(a) => a.counts(),
            Segmentation::OneVsRest(a) => a.counts(),
        };
        let flat: Vec<u64> = counts
            .iter()
            .flat_map(|c| {
                [
                    c.true_positives,
                    c.false_positives,
                    c.false_negatives,
                    c.true_negatives,
                ]
            })
            .collect();
        Ok(PyArray1::from_vec(py, flat)
            .reshape([counts.len(), 4])?
            .into_any())
    }

    /// Per-class metrics of the confusion counts, float32 arrays of `C` values (NaN where the
    /// denominator is zero): `dice`, `iou`, `precision`, `recall`, `specificity`.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use loss_core::multiclass::Metric;
        let counts = match &self.inner {
            Segmentation::Softmax(a) => a.counts(),
            Segmentation::OneVsRest(a) => a.counts(),
        };
        let d = PyDict::new(py);
        for (name, metric) in [
            ("dice", Metric::Dice),
            ("iou", Metric::Iou),
            ("precision", Metric::Precision),
            ("recall", Metric::Recall),
            ("specificity", Metric::Specificity),
        ] {
            let values = counts
                .iter()
                .map(|c| c.metric(metric).unwrap_or(f32::NAN))
                .collect();
            d.set_item(name, vector(py, values))?;
        }
        Ok(d)
    }

    /// Classes.
    #[getter]
    fn classes(&self) -> usize {
        match &self.inner {
            Segmentation::Softmax(a) => a.classes(),
            Segmentation::OneVsRest(a) => a.classes(),
        }
    }

    /// Forgets everything pushed.
    fn reset(&mut self) {
        match &mut self.inner {
            Segmentation::Softmax(a) => a.reset(),
            Segmentation::OneVsRest(a) => a.reset(),
        }
    }
}

// ---- quantized binary -----------------------------------------------------------------------

#[derive(Clone)]
enum Counts {
    I8(Box<CoreCodeCounts<i8>>),
    U8(Box<CoreCodeCounts<u8>>),
}

fn code_dtype(name: &str) -> PyResult<bool> {
    match name {
        "int8" => Ok(true),
        "uint8" => Ok(false),
        other => Err(value_error(format!(
            "dtype `{other}` is not \"int8\" or \"uint8\""
        ))),
    }
}

/// How often each code met each target value: the whole state of the binary losses on
/// quantized outputs (`loss_core::quantized::CodeCounts`). Integer counts, so `merge` is exact
/// and order-independent.
#[pyclass(module = "loss_core")]
pub struct CodeCounts {
    inner: Counts,
}

#[pymethods]
impl CodeCounts {
    #[new]
    #[pyo3(signature = (dtype="int8"))]
    fn new(dtype: &str) -> PyResult<Self> {
        Ok(Self {
            inner: if code_dtype(dtype)? {
                Counts::I8(Box::default())
            } else {
                Counts::U8(Box::default())
            },
        })
    }

    /// Counts a chunk of codes (of this dtype) against a bool or uint8 mask.
    fn push(
        &mut self,
        py: Python<'_>,
        codes: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let t = mask_targets(targets)?;
        match &mut self.inner {
            Counts::I8(counts) => {
                let c = exact_codes::<i8>(codes, "int8")?;
                let c = slice(&c)?;
                with_mask!(t, |t| py.detach(|| counts.push(c, t)).map_err(err))
            }
            Counts::U8(counts) => {
                let c = exact_codes::<u8>(codes, "uint8")?;
                let c = slice(&c)?;
                with_mask!(t, |t| py.detach(|| counts.push(c, t)).map_err(err))
            }
        }
    }

    /// Adds another tally of the same dtype (`a.merge(a)` doubles the counts).
    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        let theirs = other.try_borrow()?.inner.clone();
        slf.try_borrow_mut()?.merge_counts(&theirs)
    }

    /// Elements counted.
    #[getter]
    fn count(&self) -> u64 {
        match &self.inner {
            Counts::I8(c) => c.count(),
            Counts::U8(c) => c.count(),
        }
    }

    /// Forgets everything counted.
    fn reset(&mut self) {
        match &mut self.inner {
            Counts::I8(c) => c.reset(),
            Counts::U8(c) => c.reset(),
        }
    }
}

impl CodeCounts {
    fn merge_counts(&mut self, other: &Counts) -> PyResult<()> {
        match (&mut self.inner, other) {
            (Counts::I8(a), Counts::I8(b)) => a.merge(b).map_err(err),
            (Counts::U8(a), Counts::U8(b)) => a.merge(b).map_err(err),
            _ => Err(value_error("cannot merge int8 and uint8 counts")),
        }
    }
}

/// Codes of exactly `C` (`int8` / `uint8`), read in place.
fn exact_codes<'py, C: numpy::Element>(
    codes: &Bound<'py, PyAny>,
    dtype: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, C>> {
    if codes.cast::<PyArrayDyn<C>>().is_err() {
        return Err(value_error(format!("codes must be a {dtype} array")));
    }
    contiguous(codes, "codes")
}

enum FocalTerms {
    I8(Box<QuantizedFocal<i8>>),
    U8(Box<QuantizedFocal<u8>>),
}

/// A binary focal loss on quantized outputs: the f32 kernel's terms for all 256 codes
/// (`loss_core::quantized::QuantizedFocal`), read against [`CodeCounts`].
#[pyclass(module = "loss_core", frozen)]
pub struct QuantizedFocalLoss {
    inner: FocalTerms,
}

#[pymethods]
impl QuantizedFocalLoss {
    /// `loss` is a `SigmoidFocal` (codes of logits) or a `BinaryFocal` (of probabilities).
    #[new]
    #[pyo3(signature = (loss, scale, zero_point, dtype="int8"))]
    fn new(loss: &Bound<'_, PyAny>, scale: f32, zero_point: i32, dtype: &str) -> PyResult<Self> {
        let q = Quantization::new(scale, zero_point).map_err(err)?;
        let signed = code_dtype(dtype)?;
        macro_rules! build {
            ($l:expr) => {
                if signed {
                    FocalTerms::I8(Box::new(QuantizedFocal::new($l, q).map_err(err)?))
                } else {
                    FocalTerms::U8(Box::new(QuantizedFocal::new($l, q).map_err(err)?))
                }
            };
        }
        let inner = if let Ok(l) = loss.cast::<SigmoidFocal>() {
            build!(&l.get().inner)
        } else if let Ok(l) = loss.cast::<BinaryFocal>() {
            build!(&l.get().inner)
        } else {
            return Err(value_error("loss must be a SigmoidFocal or a BinaryFocal"));
        };
        Ok(Self { inner })
    }

    /// The reduced loss of everything in `counts` (of the same dtype).
    fn loss(&self, counts: &Bound<'_, CodeCounts>) -> PyResult<f32> {
        let counts = counts.try_borrow()?;
        match (&self.inner, &counts.inner) {
            (FocalTerms::I8(f), Counts::I8(c)) => f.loss(c).map_err(err),
            (FocalTerms::U8(f), Counts::U8(c)) => f.loss(c).map_err(err),
            _ => Err(value_error("counts of another dtype")),
        }
    }
}

enum OverlapTerms {
    I8(Box<CoreQuantizedOverlap<i8>>),
    U8(Box<CoreQuantizedOverlap<u8>>),
}

/// A dice-family loss on quantized outputs (`loss_core::quantized::QuantizedOverlap`), read
/// against [`CodeCounts`].
#[pyclass(module = "loss_core", frozen)]
pub struct QuantizedOverlapLoss {
    inner: OverlapTerms,
}

#[pymethods]
impl QuantizedOverlapLoss {
    #[new]
    #[pyo3(signature = (loss, scale, zero_point, dtype="int8"))]
    fn new(
        loss: &Bound<'_, OverlapLoss>,
        scale: f32,
        zero_point: i32,
        dtype: &str,
    ) -> PyResult<Self> {
        let q = Quantization::new(scale, zero_point).map_err(err)?;
        let l = &loss.get().inner;
        let inner = if code_dtype(dtype)? {
            OverlapTerms::I8(Box::new(CoreQuantizedOverlap::new(l, q).map_err(err)?))
        } else {
            OverlapTerms::U8(Box::new(CoreQuantizedOverlap::new(l, q).map_err(err)?))
        };
        Ok(Self { inner })
    }

    /// The overlap statistics of everything in `counts`.
    fn stats<'py>(
        &self,
        py: Python<'py>,
        counts: &Bound<'py, CodeCounts>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let counts = counts.try_borrow()?;
        let s = match (&self.inner, &counts.inner) {
            (OverlapTerms::I8(f), Counts::I8(c)) => f.stats(c),
            (OverlapTerms::U8(f), Counts::U8(c)) => f.stats(c),
            _ => return Err(value_error("counts of another dtype")),
        }
        .map_err(err)?;
        stats_dict(py, &s)
    }

    /// The loss of everything in `counts`.
    fn loss(&self, counts: &Bound<'_, CodeCounts>) -> PyResult<f32> {
        let counts = counts.try_borrow()?;
        match (&self.inner, &counts.inner) {
            (OverlapTerms::I8(f), Counts::I8(c)) => f.loss(c).map_err(err),
            (OverlapTerms::U8(f), Counts::U8(c)) => f.loss(c).map_err(err),
            _ => Err(value_error("counts of another dtype")),
        }
    }
}

// ---- the monitor ------------------------------------------------------------------------

fn signal(name: &str) -> PyResult<Signal> {
    let bad = || {
        value_error(format!(
            "signal `{name}` is not loss, entropy, confidence, consistency, consistency_iou, \
             or dice:N, iou:N, area:N, other:N (N a class or index below 256)"
        ))
    };
    Ok(match name {
        "loss" => Signal::Loss,
        "entropy" => Signal::Entropy,
        "confidence" => Signal::Confidence,
        "consistency" => Signal::Consistency,
        "consistency_iou" => Signal::ConsistencyIou,
        other => {
            let (kind, index) = other.split_once(':').ok_or_else(bad)?;
            let index: u8 = index.parse().map_err(|_| bad())?;
            match kind {
                "dice" => Signal::Dice(index),
                "iou" => Signal::Iou(index),
                "area" => Signal::Area(index),
                "other" => Signal::Other(index),
                _ => return Err(bad()),
            }
        }
    })
}

fn signal_name(s: Signal) -> String {
    match s {
        Signal::Loss => "loss".into(),
        Signal::Entropy => "entropy".into(),
        Signal::Confidence => "confidence".into(),
        Signal::Consistency => "consistency".into(),
        Signal::ConsistencyIou => "consistency_iou".into(),
        Signal::Dice(i) => format!("dice:{i}"),
        Signal::Iou(i) => format!("iou:{i}"),
        Signal::Area(i) => format!("area:{i}"),
        Signal::Other(i) => format!("other:{i}"),
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Alarm => "alarm",
    }
}

fn cause_name(c: Cause) -> &'static str {
    match c {
        Cause::Threshold => "threshold",
        Cause::Drift => "drift",
        Cause::Fault => "fault",
        Cause::Recovery => "recovery",
    }
}

/// One signal's configuration from a dict: `signal` (required) and any of `baseline` (mean,
/// std), `learn_frames`, `min_std`, `warn`, `alarm`, `hysteresis`, `debounce`, `cusum_k`,
/// `cusum_h`, `ewma_alpha`, `statistic` ("value" / "ewma"), `direction` ("up" / "down" /
/// "both"); unknown keys are errors.
fn signal_config(d: &Bound<'_, PyDict>) -> PyResult<SignalConfig> {
    let name: String = d
        .get_item("signal")?
        .ok_or_else(|| value_error("a signal configuration needs `signal`"))?
        .extract()?;
    let mut c = SignalConfig::new(signal(&name)?);
    for (key, value) in d.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "signal" => {}
            "baseline" => {
                if !value.is_none() {
                    let (mean, std): (f32, f32) = value.extract()?;
                    c.baseline = Some(Baseline { mean, std });
                }
            }
            "learn_frames" => c.learn_frames = value.extract()?,
            "min_std" => c.min_std = value.extract()?,
            "warn" => c.warn = value.extract()?,
            "alarm" => c.alarm = value.extract()?,
            "hysteresis" => c.hysteresis = value.extract()?,
            "debounce" => c.debounce = value.extract()?,
            "cusum_k" => c.cusum_k = value.extract()?,
            "cusum_h" => c.cusum_h = value.extract()?,
            "ewma_alpha" => c.ewma_alpha = value.extract()?,
            "statistic" => {
                c.statistic = match value.extract::<String>()?.as_str() {
                    "value" => Statistic::Value,
                    "ewma" => Statistic::Ewma,
                    other => {
                        return Err(value_error(format!(
                            "statistic `{other}` is not \"value\" or \"ewma\""
                        )));
                    }
                }
            }
            "direction" => {
                c.direction = match value.extract::<String>()?.as_str() {
                    "up" => Direction::Up,
                    "down" => Direction::Down,
                    "both" => Direction::Both,
                    other => {
                        return Err(value_error(format!(
                            "direction `{other}` is not \"up\", \"down\" or \"both\""
                        )));
                    }
                }
            }
            other => {
                return Err(value_error(format!(
                    "unknown signal configuration key `{other}`"
                )));
            }
        }
    }
    c.validate().map_err(err)?;
    Ok(c)
}

fn event_dict<'py>(py: Python<'py>, e: &Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match *e {
        Event::Transition {
            frame,
            signal,
            from,
            to,
            cause,
            value,
            baseline,
        } => {
            d.set_item("event", "transition")?;
            d.set_item("frame", frame)?;
            d.set_item("signal", signal_name(signal))?;
            d.set_item("from", level_name(from))?;
            d.set_item("to", level_name(to))?;
            d.set_item("cause", cause_name(cause))?;
            d.set_item("value", value)?;
            d.set_item("baseline", baseline)?;
        }
        Event::Fault {
            frame,
            signal,
            value,
        } => {
            d.set_item("event", "fault")?;
            d.set_item("frame", frame)?;
            d.set_item("signal", signal_name(signal))?;
            d.set_item("value", value)?;
        }
        Event::BaselineLearned {
            frame,
            signal,
            baseline,
        } => {
            d.set_item("event", "baseline_learned")?;
            d.set_item("frame", frame)?;
            d.set_item("signal", signal_name(signal))?;
            d.set_item("mean", baseline.mean)?;
            d.set_item("std", baseline.std)?;
        }
    }
    Ok(d)
}

/// The tracks of a `Monitor<S, N>`: each signal is watched on its own (the device's monitor
/// runs its tracks one after the other on the same frame index and takes the highest level),
/// so `S` one-signal monitors in configuration order give its events and levels exactly.
enum Tracks {
    W16(Vec<CoreMonitor<1, 16>>),
    W32(Vec<CoreMonitor<1, 32>>),
    W64(Vec<CoreMonitor<1, 64>>),
    W128(Vec<CoreMonitor<1, 128>>),
}

macro_rules! each_track {
    ($tracks:expr, |$v:ident| $body:expr) => {
        match $tracks {
            Tracks::W16($v) => $body,
            Tracks::W32($v) => $body,
            Tracks::W64($v) => $body,
            Tracks::W128($v) => $body,
        }
    };
}

/// The edge monitor (`loss_core::monitor::Monitor`): replays per-frame signal values, as
/// recorded from a device, through the device's state machine.
#[pyclass(module = "loss_core")]
pub struct Monitor {
    tracks: Tracks,
    level: Level,
    frames: u32,
}

#[pymethods]
impl Monitor {
    /// `signals`: one dict per signal (see `docs/python.md`); `window`: the device's `N`
    /// (16, 32, 64 or 128).
    #[new]
    #[pyo3(signature = (signals, window=32))]
    fn new(signals: &Bound<'_, PyList>, window: usize) -> PyResult<Self> {
        let configs = signals
            .iter()
            .map(|s| signal_config(s.cast::<PyDict>()?))
            .collect::<PyResult<Vec<_>>>()?;
        macro_rules! make {
            () => {
                configs
                    .iter()
                    .map(|c| CoreMonitor::new([*c]).map_err(err))
                    .collect::<PyResult<Vec<_>>>()?
            };
        }
        let tracks = match window {
            16 => Tracks::W16(make!()),
            32 => Tracks::W32(make!()),
            64 => Tracks::W64(make!()),
            128 => Tracks::W128(make!()),
            other => {
                return Err(value_error(format!(
                    "window {other} is not 16, 32, 64 or 128"
                )));
            }
        };
        Ok(Self {
            tracks,
            level: Level::Ok,
            frames: 0,
        })
    }

    /// One frame: a value per signal (`None`: not measured); returns the monitor's level
    /// (`"ok"`, `"warn"`, `"alarm"`) and the events, in signal order.
    fn observe<'py>(
        &mut self,
        py: Python<'py>,
        values: Vec<Option<f32>>,
    ) -> PyResult<(&'static str, Bound<'py, PyList>)> {
        let events = PyList::empty(py);
        let mut found = Vec::new();
        let level = each_track!(&mut self.tracks, |tracks| {
            if values.len() != tracks.len() {
                return Err(value_error(format!(
                    "{} values for {} signals",
                    values.len(),
                    tracks.len()
                )));
            }
            let mut level = Level::Ok;
            for (m, v) in tracks.iter_mut().zip(&values) {
                level = level.max(m.observe(&[*v], |e| found.push(e)));
            }
            level
        });
        for e in &found {
            events.append(event_dict(py, e)?)?;
        }
        self.level = level;
        self.frames = self.frames.saturating_add(1);
        Ok((level_name(level), events))
    }

    /// Many frames at once, as recorded from a device: `values` is `(frames, signals)`
    /// (float32 read in place, anything else converted once), `measured` an optional bool
    /// array of the same shape (`False`: not measured that frame). Returns the level after
    /// each frame as uint8 codes (0 ok, 1 warn, 2 alarm) and the events, in order; the same
    /// as `observe` frame by frame. The GIL is released while the frames run.
    #[pyo3(signature = (values, measured=None))]
    fn replay<'py>(
        &mut self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        measured: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyArray1<u8>>, Bound<'py, PyList>)> {
        let v = contiguous::<f32>(values, "values")?;
        let signals = each_track!(&self.tracks, |tracks| tracks.len());
        let shape = v.shape().to_vec();
        if shape.len() != 2 || shape[1] != signals {
            return Err(value_error(format!(
                "values has shape {shape:?}, expected (frames, {signals})"
            )));
        }
        let m = measured
            .map(|m| contiguous::<bool>(m, "measured"))
            .transpose()?;
        let m = m.as_ref().map(slice).transpose()?;
        let v = slice(&v)?;
        if let Some(m) = m
            && m.len() != v.len()
        {
            return Err(value_error(format!(
                "measured has {} values, values {}",
                m.len(),
                v.len()
            )));
        }
        let tracks = &mut self.tracks;
        let (levels, found) = py.detach(|| {
            let mut levels = Vec::new();
            let mut found = Vec::new();
            let mut level = Level::Ok;
            if signals > 0 {
                for (f, row) in v.chunks(signals).enumerate() {
                    level = each_track!(&mut *tracks, |tracks| {
                        let mut level = Level::Ok;
                        for (s, (track, &x)) in tracks.iter_mut().zip(row).enumerate() {
                            let given = m.is_none_or(|m| m.get(f * signals + s) == Some(&true));
                            let value = given.then_some(x);
                            level = level.max(track.observe(&[value], |e| found.push(e)));
                        }
                        level
                    });
                    levels.push(match level {
                        Level::Ok => 0u8,
                        Level::Warn => 1,
                        Level::Alarm => 2,
                    });
                }
            }
            (levels, (found, level))
        });
        let (found, last) = found;
        let events = PyList::empty(py);
        for e in &found {
            events.append(event_dict(py, e)?)?;
        }
        if !levels.is_empty() {
            self.level = last;
        }
        let frames = u32::try_from(levels.len()).unwrap_or(u32::MAX);
        self.frames = self.frames.saturating_add(frames);
        Ok((PyArray1::from_vec(py, levels), events))
    }

    /// The level after the last frame.
    #[getter]
    fn level(&self) -> &'static str {
        level_name(self.level)
    }

    /// Frames observed.
    #[getter]
    fn frames(&self) -> u32 {
        self.frames
    }

    /// Telemetry of signal `i`: level, window count, mean, min, median, max, EWMA, CUSUM.
    fn summary<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyDict>> {
        let s = each_track!(&self.tracks, |tracks| tracks
            .get(i)
            .and_then(|m| m.summary(0)))
        .ok_or_else(|| value_error(format!("no signal {i}")))?;
        let d = PyDict::new(py);
        d.set_item("signal", signal_name(s.signal))?;
        d.set_item("level", level_name(s.level))?;
        d.set_item("count", s.count)?;
        d.set_item("mean", s.mean)?;
        d.set_item("min", s.min)?;
        d.set_item("median", s.median)?;
        d.set_item("max", s.max)?;
        d.set_item("ewma", s.ewma)?;
        d.set_item("cusum", s.cusum)?;
        Ok(d)
    }
}

/// The label-free signals of each frame of a model's output (`loss_core::monitor::
/// FrameSignals`): entropy, confidence, area per class and, with `consistency=True`, the
/// temporal consistency against the previous frame (the previous mask is kept here, one byte
/// per pixel, as the device keeps it in a buffer it lends). The values to feed a `Monitor`.
#[pyclass(module = "loss_core")]
pub struct FrameSignals {
    predictions: Predictions,
    channels: usize,
    consistency: bool,
    mask: Vec<u8>,
    holds_previous: bool,
}

impl FrameSignals {
    /// Runs one frame: `push` adds its pixels to a fresh `loss-core` frame.
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        len: usize,
        push: impl FnOnce(&mut CoreFrameSignals<'_, CLASSES>) -> Result<(), Error> + Send,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (predictions, channels, consistency) =
            (self.predictions, self.channels, self.consistency);
        let pixels = len.checked_div(channels).unwrap_or(0);
        if consistency && self.mask.len() != pixels {
            // A frame of another size: no previous mask to compare with.
            self.mask = vec![0; pixels];
            self.holds_previous = false;
        }
        let (mask, holds) = (&mut self.mask, self.holds_previous);
        let signals = py.detach(|| {
            let mut frame = CoreFrameSignals::<CLASSES>::new(predictions, channels)?;
            if consistency {
                frame = frame.with_previous_mask(mask, holds)?;
            }
            push(&mut frame)?;
            frame.finish()
        });
        // After an error the mask may hold part of this frame: nothing to compare with.
        self.holds_previous = consistency && signals.is_ok();
        let signals = signals.map_err(err)?;
        let d = PyDict::new(py);
        d.set_item("pixels", signals.pixels)?;
        d.set_item("classes", signals.classes)?;
        d.set_item("entropy", signals.entropy)?;
        d.set_item("confidence", signals.confidence)?;
        let area: Vec<f32> = (0..signals.classes)
            .filter_map(|c| signals.area(c))
            .collect();
        d.set_item("area", vector(py, area))?;
        d.set_item("consistency", signals.consistency)?;
        d.set_item("consistency_iou", signals.consistency_iou)?;
        d.set_item("agreement", signals.agreement)?;
        Ok(d)
    }
}

#[pymethods]
impl FrameSignals {
    /// `channels` of the model's output (1: a binary channel), `predictions` `"logits"` or
    /// `"probabilities"`.
    #[new]
    #[pyo3(signature = (channels, predictions="logits", consistency=false))]
    fn new(channels: usize, predictions: &str, consistency: bool) -> PyResult<Self> {
        let predictions = self::predictions(predictions)?;
        CoreFrameSignals::<CLASSES>::new(predictions, channels).map_err(err)?;
        Ok(Self {
            predictions,
            channels,
            consistency,
            mask: Vec::new(),
            holds_previous: false,
        })
    }

    /// The signals of one whole frame of scores: a dict with `pixels`, `classes`, `entropy`,
    /// `confidence`, `area` (per class), `consistency`, `consistency_iou`, `agreement` (None
    /// without `consistency=True` or on the first frame's comparison).
    #[pyo3(signature = (scores, layout="channels_first"))]
    fn frame<'py>(
        &mut self,
        py: Python<'py>,
        scores: &Bound<'py, PyAny>,
        layout: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let layout = self::layout(layout)?;
        let s = contiguous::<f32>(scores, "scores")?;
        let s = slice(&s)?;
        self.run(py, s.len(), |f| f.push(layout, s))
    }

    /// The same for a frame of `int8` / `uint8` codes with a scale and zero point (scalars,
    /// or one per channel).
    #[pyo3(signature = (codes, scale, zero_point, layout="channels_first"))]
    fn frame_codes<'py>(
        &mut self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        scale: &Bound<'py, PyAny>,
        zero_point: &Bound<'py, PyAny>,
        layout: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let layout = self::layout(layout)?;
        let q = quantizations(scale, zero_point)?;
        match kind(codes) {
            Some(b'i') if codes.cast::<PyArrayDyn<i8>>().is_ok() => {
                let c = contiguous::<i8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<i8>(&q)?;
                self.run(py, c.len(), |f| f.push_codes(layout, c, &q))
            }
            Some(b'u') if is_u8(codes) => {
                let c = contiguous::<u8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<u8>(&q)?;
                self.run(py, c.len(), |f| f.push_codes(layout, c, &q))
            }
            _ => Err(value_error("codes must be an int8 or uint8 array")),
        }
    }
}

/// Adds the device-side classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SigmoidFocal>()?;
    m.add_class::<BinaryFocal>()?;
    m.add_class::<LossAccumulator>()?;
    m.add_class::<OverlapLoss>()?;
    m.add_class::<OverlapAccumulator>()?;
    m.add_class::<SegmentationAccumulator>()?;
    m.add_class::<CodeCounts>()?;
    m.add_class::<QuantizedFocalLoss>()?;
    m.add_class::<QuantizedOverlapLoss>()?;
    m.add_class::<Monitor>()?;
    m.add_class::<FrameSignals>()?;
    Ok(())
}
