//! Framework parity: each supported Python loss (torchvision, MONAI, smp, kornia, Keras and the
//! seed article's code) as a mapping from the framework's own parameters and tensors onto
//! `loss-core` kernels.
//!
//! A [`Request`] names the function by its qualified Python name, gives its keyword arguments
//! (the framework's names and defaults) and its input tensors in the framework's layout.
//! [`evaluate`] parses the parameters into a [`Plan`] (pure configuration: which `loss-core`
//! types with which parameters, and how the framework reduces), then runs the plan on the
//! inputs. [`Plan::rust`] renders the same configuration as `loss-core` code for firmware.
//! Unknown parameters and unsupported values are errors naming the parameter; nothing is
//! silently ignored. `docs/conventions.md` tabulates the mappings.
//!
//! One module per framework maps its parameters (`torchvision`, `monai`, `smp`, `kornia`,
//! `keras`, `seed`, with `params` and `tensor` for reading requests); `plan` holds the plan
//! types, `run/` runs them and `translate` prints them.

mod keras;
mod kornia;
mod monai;
mod params;
mod plan;
mod run;
mod seed;
mod smp;
mod tensor;
mod torchvision;
mod translate;

pub use params::Params;
pub use plan::Plan;
pub use run::GRAD_FUNCTIONS;
pub use tensor::{Tensor, TensorData};

use std::collections::BTreeMap;

/// One call of a framework loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The framework's qualified name, e.g. `monai.losses.DiceLoss`.
    pub function: String,
    /// Keyword arguments, by the framework's names.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Input tensors, by the framework's argument names.
    pub inputs: BTreeMap<String, Tensor>,
    /// Whether the response also carries the gradient with respect to the prediction
    /// (`"grad": true`).
    pub grad: bool,
}

impl Request {
    /// Parses one batch line: `{"id", "function", "params", "inputs"}`; returns the id (a
    /// string, or the JSON text of another value) with the request.
    ///
    /// # Errors
    /// A message naming the field or input at fault; the id is returned when it could be read.
    pub fn from_json(
        value: &serde_json::Value,
    ) -> Result<(String, Self), (Option<String>, String)> {
        let id = value
            .get("id")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        let fail = |msg: String| (id.clone(), msg);
        let object = value
            .as_object()
            .ok_or_else(|| fail("a request must be a JSON object".into()))?;
        if let Some(k) = object
            .keys()
            .find(|k| !REQUEST_FIELDS.contains(&k.as_str()))
        {
            return Err(fail(format!("unknown request field `{k}`")));
        }
        let function = object
            .get("function")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| fail("`function` (a string) is required".into()))?
            .to_owned();
        let params = match object.get("params") {
            None | Some(serde_json::Value::Null) => serde_json::Map::new(),
            Some(serde_json::Value::Object(m)) => m.clone(),
            Some(_) => return Err(fail("`params` must be an object".into())),
        };
        let inputs = match object.get("inputs") {
            None | Some(serde_json::Value::Null) => BTreeMap::new(),
            Some(serde_json::Value::Object(m)) => m
                .iter()
                .map(|(k, v)| Tensor::from_json(k, v).map(|t| (k.clone(), t)))
                .collect::<Result<_, _>>()
                .map_err(fail)?,
            Some(_) => return Err(fail("`inputs` must be an object".into())),
        };
        let grad = match object.get("grad") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => return Err(fail("`grad` must be true or false".into())),
        };
        Ok((
            id.unwrap_or_default(),
            Self {
                function,
                params,
                inputs,
                grad,
            },
        ))
    }
}

/// The fields a batch request may have (the `expected*` fields are the vector files' and are
/// not read).
pub const REQUEST_FIELDS: &[&str] = &[
    "id",
    "function",
    "params",
    "inputs",
    "expected",
    "expected_f64",
    "expected_error",
    "grad",
    "expected_grad",
    "expected_grad_f64",
];

/// Every supported function, in the order of the documentation.
pub const FUNCTIONS: &[&str] = &[
    "torchvision.ops.sigmoid_focal_loss",
    "monai.losses.FocalLoss",
    "monai.losses.DiceLoss",
    "monai.losses.GeneralizedDiceLoss",
    "monai.losses.TverskyLoss",
    "monai.losses.DiceFocalLoss",
    "monai.losses.DiceCELoss",
    "segmentation_models_pytorch.losses.DiceLoss",
    "segmentation_models_pytorch.losses.JaccardLoss",
    "segmentation_models_pytorch.losses.TverskyLoss",
    "segmentation_models_pytorch.losses.FocalLoss",
    "segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss",
    "kornia.losses.binary_focal_loss_with_logits",
    "kornia.losses.focal_loss",
    "kornia.losses.dice_loss",
    "keras.losses.BinaryFocalCrossentropy",
    "keras.losses.CategoricalFocalCrossentropy",
    "keras.losses.Dice",
    "keras.losses.Tversky",
    "seed.FocalLoss",
    "seed.DiceLoss",
    "seed.dice_loss",
    "seed.focal_loss",
];

/// Parses a request's parameters into a plan, without looking at inputs.
///
/// # Errors
/// A message naming the unknown function, or the parameter at fault.
pub fn plan(
    function: &str,
    params: &serde_json::Map<String, serde_json::Value>,
) -> Result<Plan, String> {
    let mut p = Params::new(function, params);
    let plan = map(function, &mut p)?;
    p.finish()?;
    Ok(plan)
}

/// The mapping of `function`, reading its parameters from `p`.
fn map(function: &str, p: &mut Params<'_>) -> Result<Plan, String> {
    Ok(match canonical(function) {
        "torchvision.ops.sigmoid_focal_loss" => torchvision::sigmoid_focal_loss(p)?,
        "monai.losses.FocalLoss" => monai::focal(p)?,
        "monai.losses.DiceLoss" => monai::dice(p)?,
        "monai.losses.GeneralizedDiceLoss" => monai::generalized_dice(p)?,
        "monai.losses.TverskyLoss" => monai::tversky(p)?,
        "monai.losses.DiceFocalLoss" => monai::dice_focal(p)?,
        "monai.losses.DiceCELoss" => monai::dice_ce(p)?,
        "segmentation_models_pytorch.losses.DiceLoss" => smp::overlap(p, smp::Kind::Dice)?,
        "segmentation_models_pytorch.losses.JaccardLoss" => smp::overlap(p, smp::Kind::Jaccard)?,
        "segmentation_models_pytorch.losses.TverskyLoss" => smp::overlap(p, smp::Kind::Tversky)?,
        "segmentation_models_pytorch.losses.FocalLoss" => smp::focal(p)?,
        "segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss" => smp::soft_bce(p)?,
        "kornia.losses.binary_focal_loss_with_logits" => kornia::binary_focal(p)?,
        "kornia.losses.focal_loss" => kornia::focal(p)?,
        "kornia.losses.dice_loss" => kornia::dice(p)?,
        "keras.losses.BinaryFocalCrossentropy" => keras::binary_focal(p)?,
        "keras.losses.CategoricalFocalCrossentropy" => keras::categorical_focal(p)?,
        "keras.losses.Dice" => keras::dice(p)?,
        "keras.losses.Tversky" => keras::tversky(p)?,
        "seed.FocalLoss" => seed::focal_class(p)?,
        "seed.DiceLoss" => seed::dice_class(p)?,
        "seed.dice_loss" => seed::keras_dice(p)?,
        "seed.focal_loss" => seed::keras_focal(p)?,
        other => {
            return Err(format!(
                "unsupported function `{other}` (supported: {})",
                FUNCTIONS.join(", ")
            ));
        }
    })
}

/// The aliases people write, with the function each stands for (a framework's class for its
/// functional form, and the reverse).
pub const ALIASES: &[(&str, &str)] = &[
    ("kornia.losses.DiceLoss", "kornia.losses.dice_loss"),
    ("kornia.losses.FocalLoss", "kornia.losses.focal_loss"),
    (
        "kornia.losses.BinaryFocalLossWithLogits",
        "kornia.losses.binary_focal_loss_with_logits",
    ),
    (
        "keras.losses.binary_focal_crossentropy",
        "keras.losses.BinaryFocalCrossentropy",
    ),
    (
        "keras.losses.categorical_focal_crossentropy",
        "keras.losses.CategoricalFocalCrossentropy",
    ),
    ("keras.losses.dice", "keras.losses.Dice"),
    ("keras.losses.tversky", "keras.losses.Tversky"),
];

/// The supported function an alias stands for; any other name unchanged.
fn canonical(function: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == function)
        .map_or(function, |(_, name)| name)
}

/// How a function is called in its framework, for entry points shaped like it (the Python
/// package generates `loss_core.monai.DiceLoss` and the others from these).
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The two tensor arguments in the framework's positional order: Keras and the seed
    /// article's Keras functions take `(y_true, y_pred)`, the others the prediction first.
    pub inputs: [&'static str; 2],
    /// The parameters without a default, in the framework's order: smp's `mode` (its
    /// constructors' first argument), kornia's `alpha` (`focal_loss(pred, target, alpha)`).
    pub required: Vec<&'static str>,
    /// The keyword parameters the mapping knows, sorted (the required ones included).
    pub parameters: Vec<String>,
}

/// The parameters of `function` that have no default, each with a value that lets
/// [`signature`] read the others.
fn required(function: &str) -> &'static [(&'static str, &'static str)] {
    match function {
        "segmentation_models_pytorch.losses.DiceLoss"
        | "segmentation_models_pytorch.losses.JaccardLoss"
        | "segmentation_models_pytorch.losses.TverskyLoss"
        | "segmentation_models_pytorch.losses.FocalLoss" => &[("mode", "\"binary\"")],
        "kornia.losses.focal_loss" => &[("alpha", "0.25")],
        _ => &[],
    }
}

/// The signature of `function` (or an alias), read from its mapping.
///
/// # Errors
/// An unknown function.
pub fn signature(function: &str) -> Result<Signature, String> {
    let canonical = canonical(function);
    let required = required(canonical);
    let probe = required
        .iter()
        .map(|(name, value)| serde_json::from_str(value).map(|v| ((*name).to_owned(), v)))
        .collect::<Result<serde_json::Map<_, _>, _>>()
        .map_err(|e| e.to_string())?;
    let mut p = Params::new(function, &probe);
    let names = map(function, &mut p)?
        .names()
        .ok_or_else(|| format!("{function} has no inputs"))?;
    let (prediction, target) = (names.prediction[0], names.target[0]);
    let target_first = canonical.starts_with("keras.")
        || canonical == "seed.dice_loss"
        || canonical == "seed.focal_loss";
    Ok(Signature {
        inputs: if target_first {
            [target, prediction]
        } else {
            [prediction, target]
        },
        required: required.iter().map(|(name, _)| *name).collect(),
        parameters: p.read().map(str::to_owned).collect(),
    })
}

/// Evaluates a request: the loss with the framework's output shape.
///
/// # Errors
/// A message naming the parameter or input at fault.
pub fn evaluate(request: &Request) -> Result<Tensor, String> {
    plan(&request.function, &request.params)?.run(&request.inputs)
}

/// Evaluates a request and, when it asks for it (`"grad": true`), the gradient of its output
/// (summed when it is not a scalar) with respect to the prediction, keyed by the prediction's
/// argument name, in its shape: what the framework's autograd gives.
///
/// # Errors
/// As [`evaluate`]; a function without gradients here is an error when one is asked for.
pub fn evaluate_with_grad(request: &Request) -> Result<(Tensor, Option<(String, Tensor)>), String> {
    let plan = plan(&request.function, &request.params)?;
    let loss = plan.run(&request.inputs)?;
    if !request.grad {
        return Ok((loss, None));
    }
    let grad = plan.grad(canonical(&request.function), &request.inputs)?;
    Ok((loss, Some(grad)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_name_the_inputs_in_the_frameworks_order_and_the_keywords() {
        let tv = signature("torchvision.ops.sigmoid_focal_loss").unwrap();
        assert_eq!(tv.inputs, ["inputs", "targets"]);
        assert_eq!(tv.parameters, ["alpha", "gamma", "reduction"]);
        assert!(tv.required.is_empty());
        let smp = signature("segmentation_models_pytorch.losses.DiceLoss").unwrap();
        assert_eq!(
            (smp.inputs, smp.required),
            (["y_pred", "y_true"], vec!["mode"])
        );
        assert_eq!(
            signature("keras.losses.dice").unwrap().inputs,
            ["y_true", "y_pred"]
        );
        let dice = signature("monai.losses.DiceLoss").unwrap();
        assert_eq!(dice.inputs, ["input", "target"]);
        assert!(dice.parameters.iter().any(|p| p == "smooth_nr"));
        assert!(
            signature("nope")
                .unwrap_err()
                .contains("unsupported function `nope`")
        );
        for f in FUNCTIONS.iter().chain(ALIASES.iter().map(|(a, _)| a)) {
            assert!(!signature(f).unwrap().parameters.is_empty(), "{f}");
        }
    }
}
