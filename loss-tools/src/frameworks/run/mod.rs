//! [`Plan::run`]: a plan run on the framework's input tensors, with `loss-core` doing the
//! arithmetic. One module per kind of plan ([`element`], [`class_focal`], [`overlap`],
//! [`flat`]), the multi-class inputs read and normalised once ([`class_data`]), and the axis
//! bookkeeping of the Keras reductions ([`axes`]).

mod axes;
mod class_data;
mod class_focal;
mod element;
mod flat;
mod grad;
mod overlap;

pub use grad::GRAD_FUNCTIONS;

use std::collections::BTreeMap;

use super::params::ScalarOrList;
use super::plan::{Names, Plan, Prepare};
use super::tensor::{Tensor, TensorData};

/// Class capacity of the host-side accumulators.
const HOST_CLASSES: usize = 64;

fn input<'a>(
    inputs: &'a BTreeMap<String, Tensor>,
    names: &[&'static str],
) -> Result<&'a Tensor, String> {
    names
        .iter()
        .find_map(|n| inputs.get(*n))
        .ok_or_else(|| format!("missing input `{}`", names.first().copied().unwrap_or("?")))
}

fn check_inputs(inputs: &BTreeMap<String, Tensor>, names: &Names) -> Result<(), String> {
    match inputs
        .keys()
        .find(|k| !names.prediction.contains(&k.as_str()) && !names.target.contains(&k.as_str()))
    {
        Some(k) => Err(format!(
            "unknown input `{k}` (expected `{}` and `{}`)",
            names.prediction.first().copied().unwrap_or("?"),
            names.target.first().copied().unwrap_or("?")
        )),
        None => Ok(()),
    }
}

/// The prediction and target tensors of a call whose two inputs have the same shape.
fn same_shape_inputs<'a>(
    inputs: &'a BTreeMap<String, Tensor>,
    names: &Names,
) -> Result<(&'a Tensor, &'a Tensor), String> {
    check_inputs(inputs, names)?;
    let x = input(inputs, names.prediction)?;
    let t = input(inputs, names.target)?;
    if x.shape != t.shape {
        return Err(format!(
            "input `{}` has shape {:?} but `{}` has {:?}",
            names.prediction[0], x.shape, names.target[0], t.shape
        ));
    }
    Ok((x, t))
}

/// `loss-core` errors as messages naming the input.
fn core(e: loss_core::Error, names: &Names) -> String {
    use loss_core::{Error, Operand};
    let name = |o: Operand| match o {
        Operand::Predictions => names.prediction.first().copied().unwrap_or("input"),
        Operand::Targets => names.target.first().copied().unwrap_or("target"),
    };
    match e {
        Error::OutOfRange { operand, index } => {
            format!("input `{}`[{index}] is outside [0, 1]", name(operand))
        }
        Error::ShapeMismatch {
            operand,
            expected,
            found,
        } => format!(
            "input `{}` has {found} elements, expected {expected}",
            name(operand)
        ),
        Error::LabelOutOfRange { index, label } => format!(
            "input `{}`: label {label} at pixel {index} is not a class",
            name(Operand::Targets)
        ),
        other => other.to_string(),
    }
}

impl Plan {
    /// Runs the plan on the inputs.
    ///
    /// # Errors
    /// A message naming the input at fault.
    pub fn run(&self, inputs: &BTreeMap<String, Tensor>) -> Result<Tensor, String> {
        match self {
            Self::Element(p) => p.run(inputs),
            Self::ClassFocal(p) => p.run(inputs),
            Self::Overlap(p) => p.run(inputs),
            Self::Generalized(p) => p.run(inputs),
            Self::Flat(p) => p.run(inputs),
            Self::Sum(parts) => {
                let mut total: Option<Tensor> = None;
                for (lambda, plan) in parts {
                    let mut value = plan.run(inputs)?;
                    if let TensorData::F32(v) = &mut value.data {
                        v.iter_mut().for_each(|x| *x *= lambda);
                    }
                    total = Some(match total {
                        None => value,
                        Some(t) => broadcast_add(&t, &value)?,
                    });
                }
                total.ok_or_else(|| "a combined loss needs parts".to_owned())
            }
            Self::ByChannels { several, one } => {
                let channels = inputs.get("input").and_then(|t| t.shape.get(1).copied());
                if channels == Some(1) {
                    one.run(inputs)
                } else {
                    several.run(inputs)
                }
            }
        }
    }
}

/// `a + b` with NumPy broadcasting of size-1 dimensions (MONAI adds a `(B, C, 1, 1)` dice to
/// a `(B, C, H, W)` focal loss).
fn broadcast_add(a: &Tensor, b: &Tensor) -> Result<Tensor, String> {
    let rank = a.shape.len().max(b.shape.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        std::iter::repeat_n(1, rank - s.len())
            .chain(s.iter().copied())
            .collect()
    };
    let (sa, sb) = (pad(&a.shape), pad(&b.shape));
    let shape = sa
        .iter()
        .zip(&sb)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("cannot add shapes {:?} and {:?}", a.shape, b.shape)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (va, vb) = (a.as_f32(), b.as_f32());
    let index = |s: &[usize], mut flat: usize| -> usize {
        let (mut i, mut stride) = (0, 1);
        for (d, &n) in shape.iter().zip(s).rev() {
            let coord = flat % d;
            flat /= d;
            if n != 1 {
                i += coord * stride;
            }
            stride *= n;
        }
        i
    };
    let len: usize = shape.iter().product();
    let data = (0..len)
        .map(|k| va[index(&sa, k)] + vb[index(&sb, k)])
        .collect();
    Ok(Tensor::f32(shape, data))
}

impl Prepare {
    fn apply(self, values: &mut [f32]) {
        let clamp = |p: f32, eps: f32| {
            if eps > 0.0 {
                p.clamp(eps, 1.0 - eps)
            } else {
                p
            }
        };
        match self {
            Self::None => {}
            Self::Sigmoid => values.iter_mut().for_each(|x| *x = loss_core::sigmoid(*x)),
            Self::Logit(eps) => values.iter_mut().for_each(|x| {
                let p = clamp(*x, eps);
                *x = (p / (1.0 - p)).ln();
            }),
            Self::Log(eps) => values.iter_mut().for_each(|x| *x = clamp(*x, eps).ln()),
        }
    }
}

fn resolve_weights(
    w: &Option<ScalarOrList>,
    classes: usize,
    what: &str,
) -> Result<Option<Vec<f32>>, String> {
    match w {
        None => Ok(None),
        Some(ScalarOrList::Scalar(v)) => Ok(Some(vec![*v; classes])),
        Some(ScalarOrList::List(l)) if l.len() == classes => Ok(Some(l.clone())),
        Some(ScalarOrList::List(l)) => Err(format!(
            "parameter `{what}` has {} entries for {classes} classes",
            l.len()
        )),
    }
}
