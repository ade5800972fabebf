//! Tensors of the batch interface: row-major, with the framework's own layout, as JSON.

use serde_json::Value;

/// The values of a [`Tensor`].
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// `float32` (the default dtype).
    F32(Vec<f32>),
    /// `int64` class indices.
    I64(Vec<i64>),
}

/// A row-major tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions; `[]` is a scalar.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: TensorData,
}

impl Tensor {
    /// A float tensor.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            data: TensorData::F32(data),
        }
    }

    /// A scalar.
    pub fn scalar(value: f32) -> Self {
        Self::f32(Vec::new(), vec![value])
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        }
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f32 (class indices converted).
    pub fn as_f32(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            TensorData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The values as class indices; float values must be integers.
    pub fn as_labels(&self, name: &str) -> Result<Vec<i64>, String> {
        match &self.data {
            TensorData::I64(v) => Ok(v.clone()),
            TensorData::F32(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if x.fract() == 0.0 && x.is_finite() {
                        Ok(x as i64)
                    } else {
                        Err(format!("input `{name}`[{i}] = {x} is not a class index"))
                    }
                })
                .collect(),
        }
    }

    /// Parses `{"shape": [...], "data": [...], "dtype": "float32" | "int64"}`; `data` may also be
    /// nested lists matching `shape`, and `shape` may be left out when `data` is nested.
    pub fn from_json(name: &str, value: &Value) -> Result<Self, String> {
        let (shape_value, data_value, dtype) = match value {
            Value::Object(o) => (
                o.get("shape"),
                o.get("data")
                    .ok_or_else(|| format!("input `{name}` has no `data`"))?,
                o.get("dtype").and_then(Value::as_str).unwrap_or("float32"),
            ),
            Value::Array(_) | Value::Number(_) => (None, value, "float32"),
            _ => return Err(format!("input `{name}` is not a tensor object")),
        };
        let mut flat = Vec::new();
        let nested_shape = flatten(name, data_value, &mut flat, 0)?;
        let shape = match shape_value {
            Some(s) => s
                .as_array()
                .ok_or_else(|| format!("input `{name}`: `shape` is not a list"))?
                .iter()
                .map(|d| {
                    d.as_u64()
                        .and_then(|d| usize::try_from(d).ok())
                        .ok_or_else(|| format!("input `{name}`: shape entry {d} is not a size"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => nested_shape,
        };
        // Checked: a product that overflows (even with a zero elsewhere in the shape) would
        // wrap to a count that matches a short `data`.
        let overflow = || format!("input `{name}`: shape {shape:?} overflows");
        shape
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(overflow)?;
        let expected = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(overflow)?;
        if expected != flat.len() {
            return Err(format!(
                "input `{name}`: shape {shape:?} needs {expected} values but `data` has {}",
                flat.len()
            ));
        }
        let data = match dtype {
            "float32" | "float64" | "float16" => {
                TensorData::F32(flat.iter().map(|&v| v as f32).collect())
            }
            "int64" | "int32" | "uint8" | "int16" | "uint16" => TensorData::I64(
                flat.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        if v.fract() == 0.0 && v.is_finite() {
                            Ok(v as i64)
                        } else {
                            Err(format!("input `{name}`[{i}] = {v} is not an integer"))
                        }
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("input `{name}`: unsupported dtype `{other}`")),
        };
        Ok(Self { shape, data })
    }

    /// `{"shape": [...], "data": [...]}`, with non-finite values as strings and finite values
    /// in their shortest round-trip form.
    pub fn to_json(&self) -> String {
        let shape: Vec<String> = self.shape.iter().map(ToString::to_string).collect();
        let data: Vec<String> = match &self.data {
            TensorData::F32(v) => v.iter().map(|&x| float_json(x)).collect(),
            TensorData::I64(v) => v.iter().map(ToString::to_string).collect(),
        };
        format!(
            "{{\"shape\": [{}], \"data\": [{}]}}",
            shape.join(", "),
            data.join(", ")
        )
    }
}

/// One f32 as JSON: `{:?}` is the shortest form that reads back to the same f32.
pub fn float_json(x: f32) -> String {
    if x.is_nan() {
        "\"NaN\"".into()
    } else if x == f32::INFINITY {
        "\"Infinity\"".into()
    } else if x == f32::NEG_INFINITY {
        "\"-Infinity\"".into()
    } else {
        format!("{x:?}")
    }
}

/// One JSON number or non-finite string as f64.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn flatten(
    name: &str,
    value: &Value,
    out: &mut Vec<f64>,
    depth: usize,
) -> Result<Vec<usize>, String> {
    match value {
        Value::Array(items) => {
            let mut inner: Option<Vec<usize>> = None;
            for item in items {
                let shape = flatten(name, item, out, depth + 1)?;
                match &inner {
                    None => inner = Some(shape),
                    Some(s) if *s != shape => {
                        return Err(format!(
                            "input `{name}`: ragged nested lists at depth {depth}"
                        ));
                    }
                    Some(_) => {}
                }
            }
            let mut shape = vec![items.len()];
            shape.extend(inner.unwrap_or_default());
            Ok(shape)
        }
        other => {
            out.push(number(other).ok_or_else(|| {
                format!("input `{name}`: {other} is not a number (use \"NaN\", \"Infinity\", \"-Infinity\")")
            })?);
            Ok(Vec::new())
        }
    }
}
