//! The binary losses on `int8` / `uint8` outputs: `CodeCounts` and the per-code terms.

use super::binary::stats_dict;
use super::*;

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
