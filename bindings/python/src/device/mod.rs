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

mod binary;
mod monitor;
mod multiclass;
mod quantized;

pub use binary::{BinaryFocal, LossAccumulator, OverlapAccumulator, OverlapLoss, SigmoidFocal};
pub use monitor::{FrameSignals, Monitor};
pub use multiclass::SegmentationAccumulator;
pub use quantized::{CodeCounts, QuantizedFocalLoss, QuantizedOverlapLoss};

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
