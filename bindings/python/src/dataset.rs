//! Dataset evaluation with the bits of `loss-tools eval`: one prediction/target pair's exact
//! state ([`evaluate_pair`]), states merged in any order and grouping ([`DatasetState::merge`],
//! exact: commutative and associative bit for bit), and the report's rows
//! ([`DatasetState::report`]). A distributed run (`examples/distributed_eval.py`) ships states
//! between processes as their JSON (`pickle` uses it too).

use std::path::PathBuf;

use loss_tools::scoring::dataset::{self, Options};
use loss_tools::scoring::totals::Totals;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

fn value_error(message: String) -> PyErr {
    PyValueError::new_err(message)
}

fn options(flags: Vec<String>) -> PyResult<Options> {
    Options::from_flags(flags).map_err(value_error)
}

/// The pooled, exact state of some pairs of a dataset (empty: no pair yet).
#[pyclass(module = "loss_core._native", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct DatasetState {
    totals: Totals,
}

#[pymethods]
impl DatasetState {
    /// The empty state, the identity of `merge`.
    #[new]
    fn new() -> Self {
        Self {
            totals: Totals::default(),
        }
    }

    /// `self` and `other` pooled, as a new state: exact, so any order and grouping of merges
    /// gives the same bits. `ValueError` for states of different class counts.
    fn merge(&self, other: &DatasetState) -> PyResult<Self> {
        let mut totals = self.totals.clone();
        totals.merge(&other.totals).map_err(value_error)?;
        Ok(Self { totals })
    }

    fn __add__(&self, other: &DatasetState) -> PyResult<Self> {
        self.merge(other)
    }

    /// Pixels pooled.
    #[getter]
    fn pixels(&self) -> u64 {
        self.totals.pixels
    }

    /// Classes (0 for the empty state).
    #[getter]
    fn classes(&self) -> usize {
        self.totals.classes.len()
    }

    /// The state as JSON, the format `loss-tools eval --state` writes.
    fn to_json(&self) -> String {
        dataset::state_json(&self.totals)
    }

    /// A state from its JSON (`to_json`, or a `loss-tools eval --state` file's text).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Self {
            totals: dataset::state_from_json(text).map_err(value_error)?,
        })
    }

    /// Pickled as its JSON.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let from_json = py.get_type::<Self>().getattr("from_json")?;
        (from_json, (self.to_json(),)).into_pyobject(py)
    }

    /// The report's rows for this state under `eval`'s options (`flags`, as on the command
    /// line): `{"classes": [...], "overall": {...}}`, every number at full precision.
    #[pyo3(signature = (flags = Vec::new()))]
    fn report_json(&self, flags: Vec<String>) -> PyResult<String> {
        let o = options(flags)?;
        let (classes, overall) =
            dataset::rows(&self.totals, &o.input, &o.loss).map_err(value_error)?;
        Ok(serde_json::json!({ "classes": classes, "overall": overall }).to_string())
    }

    fn __repr__(&self) -> String {
        format!(
            "DatasetState(classes={}, pixels={})",
            self.totals.classes.len(),
            self.totals.pixels
        )
    }
}

/// The prediction/target file pairs `loss-tools eval` reads from two directories (matched by
/// file stem) or two files, in its order.
#[pyfunction]
#[pyo3(name = "_dataset_pairs")]
pub fn pairs(predictions: PathBuf, targets: PathBuf) -> PyResult<Vec<(PathBuf, PathBuf)>> {
    dataset::pairs(&predictions, &targets).map_err(value_error)
}

/// The exact state of one prediction file and its target file (the formats `loss-tools eval`
/// reads) under `eval`'s options (`flags`). Errors name the file at fault.
#[pyfunction]
#[pyo3(name = "_evaluate_pair", signature = (predictions, targets, flags = Vec::new()))]
pub fn evaluate_pair(
    py: Python<'_>,
    predictions: PathBuf,
    targets: PathBuf,
    flags: Vec<String>,
) -> PyResult<DatasetState> {
    let o = options(flags)?;
    let totals = py
        .detach(|| dataset::evaluate_files(&predictions, &targets, &o.input, &o.loss))
        .map_err(value_error)?;
    Ok(DatasetState { totals })
}
