//! `loss_core.batch` and the framework-shaped entry points: the `loss-tools batch` contract on
//! Python objects. The request is read by `loss_tools::frameworks::Request::from_json` (the
//! CLI's own reader: field names, parameters and their messages) and run by
//! `loss_tools::frameworks::evaluate`; only the tensors take another road, NumPy arrays
//! becoming typed tensors without a JSON text in between.

use std::collections::BTreeMap;

use loss_tools::frameworks::{self as fw, Request, Tensor, TensorData};
use numpy::{PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyModule, PyString};
use serde_json::{Map, Value};

use crate::arrays::{contiguous, kind, slice, vector};

/// A Python value as JSON (`what` names it in the message).
fn json(value: &Bound<'_, PyAny>, what: &str) -> Result<Value, String> {
    pythonize::depythonize(value).map_err(|e| format!("{what}: {e}"))
}

/// An input given as an array, a list or a number: converted by NumPy once, float dtypes to
/// float32 and integer dtypes to int64 (class indices), like the JSON `dtype`s.
fn tensor(name: &str, value: &Bound<'_, PyAny>) -> Result<Tensor, String> {
    let py = value.py();
    let what = format!("input `{name}`");
    let array = PyModule::import(py, "numpy")
        .and_then(|np| np.call_method1("asarray", (value,)))
        .map_err(|e| format!("{what}: {}", e.value(py)))?;
    let err = |e: PyErr| format!("{what}: {}", e.value(py));
    let shape = array
        .cast::<PyUntypedArray>()
        .map_err(|e| format!("{what}: {e}"))?
        .shape()
        .to_vec();
    let data = match kind(&array) {
        Some(b'f' | b'b') => {
            let a = contiguous::<f32>(&array, &what).map_err(err)?;
            TensorData::F32(slice(&a).map_err(err)?.to_vec())
        }
        Some(b'i' | b'u') => {
            let a = contiguous::<i64>(&array, &what).map_err(err)?;
            TensorData::I64(slice(&a).map_err(err)?.to_vec())
        }
        _ => {
            let dtype = array
                .getattr("dtype")
                .and_then(|d| d.str().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(format!("{what}: unsupported dtype `{dtype}`"));
        }
    };
    Ok(Tensor { shape, data })
}

/// A request dict as a [`Request`]: every field but the array inputs through the CLI's reader.
fn read_request(object: &Bound<'_, PyAny>) -> Result<Request, String> {
    let dict = object
        .cast::<PyDict>()
        .map_err(|_| "a request must be a JSON object".to_owned())?;
    let mut fields = Map::new();
    let mut arrays = BTreeMap::new();
    for (key, value) in dict.iter() {
        let key = key
            .cast::<PyString>()
            .map_err(|_| "request keys must be strings".to_owned())?
            .to_string();
        let inputs = if key == "inputs" {
            value.cast::<PyDict>().ok()
        } else {
            None
        };
        let Some(inputs) = inputs else {
            // An unknown field is left for the reader to name; its value is never read.
            let value = if fw::REQUEST_FIELDS.contains(&key.as_str()) {
                json(&value, &format!("field `{key}`"))?
            } else {
                Value::Null
            };
            fields.insert(key, value);
            continue;
        };
        let mut json_inputs = Map::new();
        for (name, tensor_value) in inputs.iter() {
            let name = name
                .cast::<PyString>()
                .map_err(|_| "input names must be strings".to_owned())?
                .to_string();
            if tensor_value.is_instance_of::<PyDict>() {
                let what = format!("input `{name}`");
                json_inputs.insert(name, json(&tensor_value, &what)?);
            } else {
                arrays.insert(name.clone(), tensor(&name, &tensor_value)?);
            }
        }
        fields.insert(key, Value::Object(json_inputs));
    }
    let (_, mut request) = Request::from_json(&Value::Object(fields)).map_err(|(_, e)| e)?;
    request.inputs.extend(arrays);
    Ok(request)
}

/// A request's loss and, when it asks for it (`"grad": true`), the gradient with respect to
/// the prediction by the prediction's argument name; the GIL released while they run.
type Answer = (Tensor, Option<(String, Tensor)>);

/// Runs a request with the GIL released.
fn run(py: Python<'_>, request: &Bound<'_, PyAny>) -> Result<Answer, String> {
    let request = read_request(request)?;
    py.detach(|| fw::evaluate_with_grad(&request))
}

/// A tensor as `{"shape": [...], "data": <1-D float32 array>}`.
fn tensor_dict<'py>(py: Python<'py>, t: Tensor) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("shape", PyList::new(py, &t.shape)?)?;
    out.set_item("data", vector(py, values(t)))?;
    Ok(out)
}

/// A tensor as a float (a scalar) or a float32 array of its shape.
fn shaped<'py>(py: Python<'py>, t: Tensor) -> PyResult<Bound<'py, PyAny>> {
    let shape = t.shape.clone();
    let data = values(t);
    if let ([], [x]) = (&shape[..], &data[..]) {
        return Ok(x.into_pyobject(py)?.into_any());
    }
    Ok(vector(py, data).reshape(shape)?.into_any())
}

/// The loss values as float32 (a framework's losses are floats).
fn values(tensor: Tensor) -> Vec<f32> {
    match tensor.data {
        TensorData::F32(v) => v,
        TensorData::I64(v) => v.into_iter().map(|x| x as f32).collect(),
    }
}

/// `loss_core.batch(request)`: one `loss-tools batch` request as a dict, its response as a
/// dict: `{"id": ..., "loss": {"shape": [...], "data": <1-D float32 array>}}` (with `"grad":
/// true` also `"grad": {"<prediction argument>": {"shape": ..., "data": ...}}`) or
/// `{"id": ..., "error": "..."}`.
#[pyfunction]
pub fn batch<'py>(py: Python<'py>, request: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let response = PyDict::new(py);
    let id = match request.cast::<PyDict>() {
        Ok(d) => d.get_item("id")?,
        Err(_) => None,
    };
    response.set_item("id", id)?;
    match run(py, request) {
        Ok((loss, grad)) => {
            response.set_item("loss", tensor_dict(py, loss)?)?;
            if let Some((name, grad)) = grad {
                let by_name = PyDict::new(py);
                by_name.set_item(name, tensor_dict(py, grad)?)?;
                response.set_item("grad", by_name)?;
            }
        }
        Err(message) => response.set_item("error", message)?,
    }
    Ok(response)
}

/// `evaluate(function, params, inputs, grad=False)`: the loss with the framework's shape, a
/// float for a scalar; with `grad`, `(loss, {"<prediction argument>": gradient})`, the
/// gradient a float32 array of the prediction's shape. `ValueError` with the batch error
/// message.
#[pyfunction]
#[pyo3(signature = (function, params, inputs, grad = false))]
pub fn evaluate<'py>(
    py: Python<'py>,
    function: &Bound<'py, PyAny>,
    params: &Bound<'py, PyAny>,
    inputs: &Bound<'py, PyAny>,
    grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let request = PyDict::new(py);
    request.set_item("function", function)?;
    request.set_item("params", params)?;
    request.set_item("inputs", inputs)?;
    if grad {
        request.set_item("grad", true)?;
    }
    let (loss, gradient) = run(py, &request).map_err(PyValueError::new_err)?;
    let loss = shaped(py, loss)?;
    match gradient {
        None => Ok(loss),
        Some((name, g)) => {
            let by_name = PyDict::new(py);
            by_name.set_item(name, shaped(py, g)?)?;
            Ok((loss, by_name).into_pyobject(py)?.into_any())
        }
    }
}

/// Every supported function and alias with its signature (`function`, `alias_of`, `inputs`,
/// `required`, `parameters`), for the entry points generated in `loss_core._frameworks`.
#[pyfunction]
pub fn signatures(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    let names = fw::FUNCTIONS
        .iter()
        .map(|f| (*f, None))
        .chain(fw::ALIASES.iter().map(|(a, f)| (*a, Some(*f))));
    for (function, alias_of) in names {
        let s = fw::signature(function).map_err(PyValueError::new_err)?;
        let d = PyDict::new(py);
        d.set_item("function", function)?;
        d.set_item("alias_of", alias_of)?;
        d.set_item("inputs", s.inputs.to_vec())?;
        d.set_item("required", s.required)?;
        d.set_item("parameters", s.parameters)?;
        list.append(d)?;
    }
    Ok(list)
}

/// `check(function, params)`: `ValueError` when the mapping rejects the function or a
/// parameter (the framework-shaped classes check at construction, as the frameworks do).
#[pyfunction]
pub fn check(function: &str, params: &Bound<'_, PyAny>) -> PyResult<()> {
    let params = match json(params, "params").map_err(PyValueError::new_err)? {
        Value::Object(m) => m,
        _ => return Err(PyValueError::new_err("`params` must be an object")),
    };
    fw::plan(function, &params)
        .map(drop)
        .map_err(PyValueError::new_err)
}
