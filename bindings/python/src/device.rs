//! The device-side API (filled in next).
use pyo3::prelude::*;

/// Adds the device-side classes to the module.
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
