//! NumPy arrays in and out. A C-contiguous array of the kernel's element type is read where it
//! is (a read-only borrow, no copy); anything else — another dtype, a strided view, a list —
//! is converted once by `numpy.ascontiguousarray` and the copy is read.

use numpy::{
    Element, PyArray1, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyModule;

/// `obj` as a C-contiguous array of `T`: the caller's array when it already is one, otherwise
/// one converted copy.
///
/// # Errors
/// `ValueError` naming `what` when NumPy cannot convert it, or the array is being written.
pub fn contiguous<'py, T: Element>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let py = obj.py();
    let array = match obj.cast::<PyArrayDyn<T>>() {
        Ok(a) if a.is_c_contiguous() => a.clone(),
        _ => {
            let np = PyModule::import(py, "numpy")?;
            let fail = |e: PyErr| PyValueError::new_err(format!("{what}: {}", e.value(py)));
            let any = np.call_method1("asarray", (obj,)).map_err(fail)?;
            // Numbers only: NumPy would cast complex values to real, dropping a part.
            if !matches!(kind(&any), Some(b'b' | b'i' | b'u' | b'f')) {
                let dtype = any
                    .getattr("dtype")
                    .and_then(|d| d.str().map(|s| s.to_string()))
                    .unwrap_or_default();
                return Err(PyValueError::new_err(format!(
                    "{what}: unsupported dtype `{dtype}`"
                )));
            }
            np.call_method1("ascontiguousarray", (any, numpy::dtype::<T>(py)))
                .map_err(fail)?
                .cast_into::<PyArrayDyn<T>>()
                .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?
        }
    };
    array
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

/// The values of a contiguous read-only array (never fails for one from [`contiguous`]).
pub fn slice<'a, T: Element>(array: &'a PyReadonlyArrayDyn<'_, T>) -> PyResult<&'a [T]> {
    array
        .as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The dtype kind of a NumPy array (`b'f'`, `b'i'`, ...), or none for another object.
pub fn kind(obj: &Bound<'_, PyAny>) -> Option<u8> {
    obj.cast::<PyUntypedArray>().ok().map(|a| a.dtype().kind())
}

/// A 1-D float32 array that owns `values` (no copy).
pub fn vector(py: Python<'_>, values: Vec<f32>) -> Bound<'_, PyArray1<f32>> {
    PyArray1::from_vec(py, values)
}

/// The address of the float32 data a kernel reads for `values`: equal to
/// `values.ctypes.data` when the array is read in place (the package's no-copy check).
#[pyfunction]
pub fn input_address(values: &Bound<'_, PyAny>) -> PyResult<usize> {
    let array = contiguous::<f32>(values, "values")?;
    Ok(slice(&array)?.as_ptr() as usize)
}
