//! The binary losses and their accumulators: `SigmoidFocal`, `BinaryFocal`, `OverlapLoss`.

use super::*;

/// The element losses share their methods; each class passes its constructors in.
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
    pub(super) inner: CoreSigmoidFocal,
}

element_loss!(SigmoidFocal, Sigmoid, {
    #[new]
    #[pyo3(
        signature = (alpha=Some(0.25), gamma=2.0, reduction="mean", soft_targets="torchvision"),
        text_signature = "(alpha=0.25, gamma=2.0, reduction='mean', soft_targets='torchvision')"
    )]
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
    pub(super) inner: CoreBinaryFocal,
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

pub(super) fn stats_dict<'py>(py: Python<'py>, s: &OverlapStats) -> PyResult<Bound<'py, PyDict>> {
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
    pub(super) inner: loss_core::dice::OverlapLoss,
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
