//! The native half of the Python package `loss_core`: the framework mappings of `loss-tools
//! batch` ([`frameworks`]) and the device-side API of `loss-core` ([`device`]), with NumPy
//! arrays in and out ([`arrays`]). The Python half (`python/loss_core/`) generates the
//! framework-shaped entry points from [`frameworks::signatures`].

use pyo3::prelude::*;

mod arrays;
mod device;
mod frameworks;

/// The extension module `loss_core._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(frameworks::batch, m)?)?;
    m.add_function(wrap_pyfunction!(frameworks::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(frameworks::check, m)?)?;
    m.add_function(wrap_pyfunction!(frameworks::signatures, m)?)?;
    m.add_function(wrap_pyfunction!(arrays::input_address, m)?)?;
    device::register(m)?;
    Ok(())
}
