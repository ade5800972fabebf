//! Inputs of `eval` and `sweep`: which files, how they pair up, and how a prediction tensor and
//! its targets are interpreted (layout, classes, label map or dense targets).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use loss_core::multiclass::Layout;

pub mod sample;

use crate::io::npy::Data;
use crate::io::{self, Raw, Source, shape_text};

/// Where the predictions and targets come from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Predictions: a `.npy` file (float32/float16), a raw little-endian float32 file (with
    /// `--shape`), or a directory of them. Omitted: the built-in sample.
    pub predictions: Option<PathBuf>,
    /// Targets: a `.png` label mask, a `.npy` label map or one-hot/soft tensor, a raw float32
    /// file, or a directory holding one file with the same stem per prediction.
    pub targets: Option<PathBuf>,
    /// The predictions are logits (softmax / sigmoid applied here), not probabilities.
    #[arg(long)]
    pub from_logits: bool,
    /// Memory layout of the predictions; `auto` guesses from the shape and says so.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub layout: LayoutArg,
    /// Shape of raw float32 prediction files, e.g. `1,4,512,512`.
    #[arg(long, value_delimiter = ',')]
    pub shape: Option<Vec<usize>>,
    /// Label value to leave out of every statistic (e.g. 255).
    #[arg(long)]
    pub ignore_index: Option<i32>,
    /// Class names, comma separated, one per class.
    #[arg(long, value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
    /// Proceed when predictions hold NaN or infinity (otherwise an error naming the first).
    #[arg(long)]
    pub allow_nonfinite: bool,
}

/// The `--layout` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// Guess from the shape.
    Auto,
    /// `N×C×H×W` (or `C×H×W`): PyTorch.
    Nchw,
    /// `N×H×W×C` (or `H×W×C`): Keras, TFLite.
    Nhwc,
    /// `H×W`: one binary channel.
    Hw,
}

/// A prediction tensor understood: `batch × classes × height × width` in a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Samples.
    pub batch: usize,
    /// Channels (1: a binary problem).
    pub classes: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Where the class axis is.
    pub layout: Layout,
}

impl Geometry {
    /// Pixels per sample.
    pub const fn spatial(&self) -> usize {
        self.height * self.width
    }

    /// Index of score `(n, c, s)`.
    pub const fn index(&self, n: usize, c: usize, s: usize) -> usize {
        match self.layout {
            Layout::ChannelsFirst => (n * self.classes + c) * self.spatial() + s,
            Layout::ChannelsLast => (n * self.spatial() + s) * self.classes + c,
        }
    }

    /// `(n, c, y, x)` of a score index, for messages.
    pub fn position(&self, i: usize) -> String {
        let (n, c, s) = match self.layout {
            Layout::ChannelsFirst => (
                i / (self.classes * self.spatial()),
                i / self.spatial() % self.classes,
                i % self.spatial(),
            ),
            Layout::ChannelsLast => (
                i / (self.classes * self.spatial()),
                i % self.classes,
                i / self.classes % self.spatial(),
            ),
        };
        format!(
            "sample {n}, class {c}, row {}, column {}",
            s / self.width,
            s % self.width
        )
    }
}

/// Interprets a prediction shape; the string says how (stated in the report).
pub fn geometry(shape: &[usize], layout: LayoutArg) -> Result<(Geometry, String), String> {
    let dims = shape_text(shape);
    let make = |batch, classes, height, width, layout| Geometry {
        batch,
        classes,
        height,
        width,
        layout,
    };
    let first = Layout::ChannelsFirst;
    let last = Layout::ChannelsLast;
    let g = match (layout, shape) {
        (LayoutArg::Hw | LayoutArg::Auto, &[h, w]) => (make(1, 1, h, w, first), "HW"),
        (LayoutArg::Nchw, &[c, h, w]) => (make(1, c, h, w, first), "CHW"),
        (LayoutArg::Nchw, &[n, c, h, w]) => (make(n, c, h, w, first), "NCHW"),
        (LayoutArg::Nhwc, &[h, w, c]) => (make(1, c, h, w, last), "HWC"),
        (LayoutArg::Nhwc, &[n, h, w, c]) => (make(n, c, h, w, last), "NHWC"),
        (LayoutArg::Auto, &[a, h, b]) => {
            let (g, name) = if a <= b {
                (make(1, a, h, b, first), "CHW")
            } else {
                (make(1, b, a, h, last), "HWC")
            };
            let why = if a == b {
                "ambiguous, assumed"
            } else {
                "guessed"
            };
            return check(g).map(|g| {
                (
                    g,
                    format!("{name} ({why} from shape {dims}: the class axis is the smaller end; --layout overrides)"),
                )
            });
        }
        (LayoutArg::Auto, &[n, a, h, b]) => {
            let (g, name) = if a <= b {
                (make(n, a, h, b, first), "NCHW")
            } else {
                (make(n, b, a, h, last), "NHWC")
            };
            let why = if a == b {
                "ambiguous, assumed"
            } else {
                "guessed"
            };
            return check(g).map(|g| {
                (
                    g,
                    format!("{name} ({why} from shape {dims}: the class axis is the smaller of dims 1 and 3; --layout overrides)"),
                )
            });
        }
        (LayoutArg::Hw, _) => return Err(format!("--layout hw needs a 2-D array, got {dims}")),
        _ => {
            return Err(format!(
                "predictions of shape {dims}: expected HW, CHW/HWC or NCHW/NHWC"
            ));
        }
    };
    check(g.0).map(|geo| (geo, format!("{} (--layout)", g.1)))
}

fn check(g: Geometry) -> Result<Geometry, String> {
    if g.batch == 0 || g.classes == 0 || g.height == 0 || g.width == 0 {
        return Err("predictions are empty".into());
    }
    Ok(g)
}

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

/// A prediction source and its target source, before decoding.
#[derive(Debug, Clone)]
pub struct Job {
    /// Predictions.
    pub predictions: Source,
    /// Targets.
    pub targets: Source,
}

/// The jobs the arguments describe, in a stable (sorted) order.
pub fn jobs(args: &InputArgs) -> Result<Vec<Job>, String> {
    let (p, t) = match (&args.predictions, &args.targets) {
        (None, None) => return Ok(vec![sample::job()]),
        (Some(p), Some(t)) => (p, t),
        _ => {
            return Err(
                "give both predictions and targets (or neither: the built-in sample)".into(),
            );
        }
    };
    if p.is_dir() != t.is_dir() {
        return Err(format!(
            "{} and {}: give two files or two directories",
            p.display(),
            t.display()
        ));
    }
    if !p.is_dir() {
        return Ok(vec![Job {
            predictions: Source::File(p.clone()),
            targets: Source::File(t.clone()),
        }]);
    }
    let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        let mut files = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: cannot list: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect::<Vec<_>>();
        files.sort();
        Ok(files)
    };
    let targets = list(t)?;
    let mut out = Vec::new();
    for pred in list(p)? {
        let stem = pred.file_stem().map(|s| s.to_os_string());
        let matches: Vec<&PathBuf> = targets
            .iter()
            .filter(|t| t.file_stem().map(|s| s.to_os_string()) == stem)
            .collect();
        match matches.as_slice() {
            [one] => out.push(Job {
                predictions: Source::File(pred.clone()),
                targets: Source::File((*one).clone()),
            }),
            [] => {
                return Err(format!(
                    "{}: no target with the same name in {}",
                    pred.display(),
                    t.display()
                ));
            }
            _ => {
                return Err(format!(
                    "{}: several targets with the same name in {}",
                    pred.display(),
                    t.display()
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no prediction files", p.display()));
    }
    Ok(out)
}

/// Reads and checks one pair. Errors name the file at fault.
pub fn load(job: &Job, args: &InputArgs) -> Result<Pair, String> {
    let pname = job.predictions.name();
    let tname = job.targets.name();
    let raw = args.shape.as_deref().map_or(Raw::No, Raw::Shape);
    let pred = io::load(&job.predictions, raw).map_err(|e| format!("{pname}: {e}"))?;
    let Data::Float(scores) = pred.data else {
        return Err(format!(
            "{pname}: predictions must be float16 or float32, found {}",
            pred.kind.trim_start_matches(".npy ")
        ));
    };
    let (geometry, layout_note) =
        geometry(&pred.shape, args.layout).map_err(|e| format!("{pname}: {e}"))?;
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
    let target = io::load(&job.targets, raw_t).map_err(|e| format!("{tname}: {e}"))?;
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
        prediction_kind: format!("{} {}", pred.kind, shape_text(&pred.shape)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_layouts_from_the_smaller_axis() {
        let (g, note) = geometry(&[1, 4, 64, 64], LayoutArg::Auto).unwrap();
        assert_eq!((g.classes, g.layout), (4, Layout::ChannelsFirst));
        assert!(note.starts_with("NCHW (guessed"));
        let (g, _) = geometry(&[2, 64, 32, 3], LayoutArg::Auto).unwrap();
        assert_eq!((g.batch, g.classes, g.height, g.width), (2, 3, 64, 32));
        assert_eq!(g.layout, Layout::ChannelsLast);
        let (g, _) = geometry(&[8, 8], LayoutArg::Auto).unwrap();
        assert_eq!(g.classes, 1);
        let (g, note) = geometry(&[3, 5, 3], LayoutArg::Auto).unwrap();
        assert_eq!(g.classes, 3);
        assert!(note.contains("ambiguous"));
        assert!(geometry(&[4], LayoutArg::Auto).is_err());
        assert!(geometry(&[1, 2, 3], LayoutArg::Hw).is_err());
        assert!(geometry(&[0, 2, 3, 3], LayoutArg::Nchw).is_err());
    }

    #[test]
    fn positions_name_sample_class_row_column() {
        let (g, _) = geometry(&[2, 3, 4, 5], LayoutArg::Nchw).unwrap();
        assert_eq!(
            g.position(g.index(1, 2, 7)),
            "sample 1, class 2, row 1, column 2"
        );
        let (g, _) = geometry(&[2, 4, 5, 3], LayoutArg::Nhwc).unwrap();
        assert_eq!(
            g.position(g.index(1, 2, 7)),
            "sample 1, class 2, row 1, column 2"
        );
    }
}
