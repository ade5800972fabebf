//! The native half of the Python package `loss_core`: the framework mappings of `loss-tools
//! batch` ([`frameworks`]), the device-side API of `loss-core` ([`device`]), with NumPy
//! arrays in and out ([`arrays`]), and dataset evaluation with `eval`'s exact, mergeable
//! states ([`dataset`]). The Python half (`python/loss_core/`) generates the
//! framework-shaped entry points from [`frameworks::signatures`].

use pyo3::prelude::*;

mod arrays;
mod dataset;
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
    m.add_class::<dataset::DatasetState>()?;
    m.add_function(wrap_pyfunction!(dataset::pairs, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::evaluate_pair, m)?)?;
    device::register(m)?;
    Ok(())
}
