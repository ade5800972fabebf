//! One prediction file and its targets, decoded and checked: the scores with their geometry,
//! and the targets matched to them (a label map, or dense values laid out like the scores).

use crate::io::npy::Data;
use crate::io::{self, Raw, shape_text};

use super::args::InputArgs;
use super::files::Job;
use super::geometry::{Geometry, geometry};

/// Targets matched to their predictions.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetData {
    /// One class index per pixel, `N × H × W`.
    Labels(Vec<i32>),
    /// One value in `[0, 1]` per score, laid out like the predictions.
    Dense(Vec<f32>),
}

/// One prediction file and its targets, decoded and checked.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The prediction file's name.
    pub name: String,
    /// The target file's name.
    pub target_name: String,
    /// Stem, for overlay names.
    pub stem: String,
    /// The scores.
    pub scores: Vec<f32>,
    /// Their geometry.
    pub geometry: Geometry,
    /// How the layout was decided.
    pub layout_note: String,
    /// `.npy <f2 1x4x64x64`.
    pub prediction_kind: String,
    /// `8-bit palette PNG 64x64`.
    pub target_kind: String,
    /// The targets.
    pub targets: TargetData,
}

/// Reads and checks one pair. Errors name the file at fault.
pub fn load(job: &Job, args: &InputArgs) -> Result<Pair, String> {
    let pname = job.predictions.name();
    let tname = job.targets.name();
    let raw = args.shape.as_deref().map_or(Raw::No, Raw::Shape);
    let pred = io::load(&job.predictions, raw, None).map_err(|e| format!("{pname}: {e}"))?;
    // A target holds at most as many values as its predictions (a dense target as many, a
    // label map one per pixel): larger files are refused before their data is decoded.
    let max_values = match &pred.data {
        Data::Float(v) => v.len(),
        Data::Int(v) => v.len(),
    };
    let (geometry, layout_note) =
        geometry(&pred.shape, args.layout).map_err(|e| format!("{pname}: {e}"))?;
    let dtype = pred.kind.trim_start_matches(".npy ");
    let (scores, quantized) = match pred.data {
        Data::Float(_) if args.scale.is_some() || args.zero_point.is_some() => {
            return Err(format!(
                "{pname}: --scale and --zero-point are for int8 / uint8 predictions, these are {dtype}"
            ));
        }
        Data::Float(scores) => (scores, String::new()),
        Data::Int(codes) => {
            let scores =
                dequantize(&codes, dtype, &geometry, args).map_err(|e| format!("{pname}: {e}"))?;
            let note = format!(
                ", dequantized (scale {}, zero point {}; TFLite affine, as loss_core::quantized)",
                list(args.scale.as_deref().unwrap_or(&[])),
                list(args.zero_point.as_deref().unwrap_or(&[]))
            );
            (scores, note)
        }
    };
    if !args.allow_nonfinite
        && let Some(i) = loss_core::first_non_finite(&scores)
    {
        return Err(format!(
            "{pname}: {} at index {i} ({}); pass --allow-nonfinite to proceed",
            scores.get(i).copied().unwrap_or(f32::NAN),
            geometry.position(i)
        ));
    }
    if !args.from_logits
        && let Some(i) = scores.iter().position(|v| *v < 0.0 || *v > 1.0)
    {
        return Err(format!(
            "{pname}: value {} at index {i} ({}) is not a probability; pass --from-logits for logits",
            scores.get(i).copied().unwrap_or(f32::NAN),
            geometry.position(i)
        ));
    }
    let raw_t = if args.shape.is_some() {
        Raw::Flat
    } else {
        Raw::No
    };
    let target =
        io::load(&job.targets, raw_t, Some(max_values)).map_err(|e| format!("{tname}: {e}"))?;
    let target_kind = format!("{} {}", target.kind, shape_text(&target.shape));
    let targets = match_targets(&geometry, &pred.shape, target, args.ignore_index)
        .map_err(|e| format!("{tname}: {e}"))?;
    Ok(Pair {
        name: pname,
        target_name: tname,
        stem: job.predictions.stem(),
        scores,
        geometry,
        layout_note,
        prediction_kind: format!("{} {}{quantized}", pred.kind, shape_text(&pred.shape)),
        target_kind,
        targets,
    })
}

fn squeeze(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

fn match_targets(
    g: &Geometry,
    pred_shape: &[usize],
    target: io::Loaded,
    ignore_index: Option<i32>,
) -> Result<TargetData, String> {
    let label_shape = [g.batch, g.height, g.width];
    let is_label_shape = squeeze(&target.shape) == squeeze(&label_shape)
        && target.shape.iter().product::<usize>() == g.batch * g.spatial();
    let same_as_predictions = target.shape == pred_shape
        || (target.shape.len() == 1 && target.shape[0] == pred_shape.iter().product::<usize>());
    let labels = match target.data {
        Data::Float(values) if same_as_predictions => {
            if let Some(i) = values.iter().position(|v| !(0.0..=1.0).contains(v)) {
                return Err(format!(
                    "target value {} at index {i} ({}) is outside [0, 1]",
                    values.get(i).copied().unwrap_or(f32::NAN),
                    g.position(i)
                ));
            }
            return Ok(TargetData::Dense(values));
        }
        Data::Float(values) if is_label_shape || target.shape.len() == 1 => {
            if target.shape.len() == 1 && target.shape[0] != g.batch * g.spatial() {
                return Err(shape_mismatch(&target.shape, g, pred_shape));
            }
            if let Some(i) = values
                .iter()
                .position(|v| v.fract() != 0.0 || !v.is_finite())
            {
                return Err(format!(
                    "float label map holds {} at pixel {i}, not a class index",
                    values.get(i).copied().unwrap_or(f32::NAN)
                ));
            }
            values.into_iter().map(|v| v as i64).collect::<Vec<_>>()
        }
        Data::Int(values) if is_label_shape => values,
        _ => return Err(shape_mismatch(&target.shape, g, pred_shape)),
    };
    // Label maps: every value a class or the ignore index.
    let classes = if g.classes == 1 { 2 } else { g.classes };
    let mut out = Vec::with_capacity(labels.len());
    for (i, &l) in labels.iter().enumerate() {
        let valid = (0..classes as i64).contains(&l) || Some(l) == ignore_index.map(i64::from);
        if !valid {
            let hint = if g.classes == 1 {
                " (binary predictions: labels must be 0 or 1)".to_string()
            } else {
                format!(" (predictions have {} classes)", g.classes)
            };
            return Err(format!(
                "label {l} at pixel {i} (sample {}, row {}, column {}) is outside the classes{hint}; --ignore-index skips a value",
                i / g.spatial(),
                i % g.spatial() / g.width,
                i % g.width
            ));
        }
        out.push(i32::try_from(l).unwrap_or(i32::MAX));
    }
    Ok(TargetData::Labels(out))
}

fn shape_mismatch(target: &[usize], g: &Geometry, pred_shape: &[usize]) -> String {
    format!(
        "shape {} matches neither the predictions ({}) nor a label map of {}x{}x{} (shape mismatch)",
        shape_text(target),
        shape_text(pred_shape),
        g.batch,
        g.height,
        g.width
    )
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    let items: Vec<String> = values.iter().map(ToString::to_string).collect();
    items.join(",")
}

/// int8 / uint8 codes to f32 with `loss_core::quantized::Quantization::dequantize` (the bits a
/// device gets), one quantization for the tensor or one per class.
fn dequantize(
    codes: &[i64],
    dtype: &str,
    geometry: &Geometry,
    args: &InputArgs,
) -> Result<Vec<f32>, String> {
    use loss_core::quantized::Quantization;
    let signed = match dtype.get(1..) {
        Some("i1") => true,
        Some("u1") => false,
        _ => {
            return Err(format!(
                "predictions must be float16/32/64, int8 or uint8, found {dtype}"
            ));
        }
    };
    let (Some(scales), Some(zero_points)) = (&args.scale, &args.zero_point) else {
        return Err(format!(
            "{} predictions need --scale and --zero-point (the model's output quantization)",
            if signed { "int8" } else { "uint8" }
        ));
    };
    let classes = geometry.classes;
    let per_class = |name: &str, n: usize| {
        if n == 1 || n == classes {
            Ok(())
        } else {
            Err(format!(
                "--{name} has {n} values: give one, or one per class ({classes})"
            ))
        }
    };
    per_class("scale", scales.len())?;
    per_class("zero-point", zero_points.len())?;
    let range = if signed { -128..=127 } else { 0..=255 };
    let mut quantizations = Vec::with_capacity(classes);
    for c in 0..classes {
        let scale = scales
            .get(c)
            .or(scales.first())
            .copied()
            .unwrap_or(f32::NAN);
        let zero_point = zero_points
            .get(c)
            .or(zero_points.first())
            .copied()
            .unwrap_or(0);
        let q = Quantization::new(scale, zero_point)
            .map_err(|_| format!("--scale {scale} (class {c}) is not a finite number above 0"))?;
        if !range.contains(&zero_point) {
            return Err(format!(
                "--zero-point {zero_point} (class {c}) is not a code of {dtype} ({}..={})",
                range.start(),
                range.end()
            ));
        }
        quantizations.push(q);
    }
    codes
        .iter()
        .enumerate()
        .map(|(i, &code)| {
            let q = quantizations[geometry.class_of(i)];
            if signed {
                i8::try_from(code).map(|c| q.dequantize(c)).ok()
            } else {
                u8::try_from(code).map(|c| q.dequantize(c)).ok()
            }
            .ok_or_else(|| format!("code {code} at index {i} does not fit {dtype}"))
        })
        .collect()
}
