//! `loss-tools eval` (and the no-argument sample report): losses and metrics of model outputs
//! against masks, per class and overall, as a table, JSON or CSV.
//!
//! The way of a number, in [`report`]: the jobs the arguments name ([`input::jobs`]); each pair
//! decoded and evaluated in parallel ([`input::each_pair`], [`evaluate_file`], with
//! [`dataset::evaluate`]), one pair per worker at a time, so memory is bounded by a few files
//! whatever the size of the dataset; the per-file totals pooled exactly ([`Totals::merge`]),
//! so the output depends neither on scheduling nor on the order of the files; the report's
//! rows ([`summarise`]); the text ([`EvalReport::render`]).

use std::path::{Path, PathBuf};

use clap::Args;

use super::Failure;
use crate::input::files::refuse_overwriting_inputs;
use crate::input::{self, InputArgs, Pair};
use crate::io::atomic::write_atomically;
use crate::io::path_text;
use crate::output::eval_report::{EvalReport, PairInfo};
use crate::output::{Format, overlay};
use crate::scoring::dataset;
use crate::scoring::spec::{Convention, LossArgs, Spec};
use crate::scoring::summary::{OverallRow, summarise};
use crate::scoring::totals::Totals;

/// Options of `loss-tools eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    loss: LossArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to this file (atomically: an existing file is replaced only when the
    /// whole report is ready) instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write one PNG per image into this directory: true positives green, false positives red,
    /// false negatives blue (see `docs/tools.md`).
    #[arg(long)]
    overlay: Option<PathBuf>,
    /// Overlays for this class only (its TP / FP / FN) instead of all classes.
    #[arg(long, requires = "overlay")]
    overlay_class: Option<usize>,
    /// Also write the pooled dataset state (JSON, exact: see `docs/tools.md`) to this file,
    /// atomically; states of parts of a dataset merge into the whole's bits.
    #[arg(long)]
    state: Option<PathBuf>,
}

impl EvalArgs {
    /// The arguments of `loss-tools` with no subcommand: the built-in sample.
    pub fn sample_report() -> Self {
        Self {
            input: InputArgs {
                predictions: None,
                targets: None,
                from_logits: false,
                layout: input::LayoutArg::Auto,
                shape: None,
                ignore_index: None,
                class_names: None,
                allow_nonfinite: false,
                scale: None,
                zero_point: None,
            },
            loss: LossArgs {
                loss: None,
                convention: Convention::Monai,
                alpha: None,
                gamma: None,
                beta: None,
                smooth_nr: None,
                smooth_dr: None,
                threshold: None,
                exclude_background: false,
            },
            format: Format::Table,
            output: None,
            overlay: None,
            overlay_class: None,
            state: None,
        }
    }
}

/// What one file gave.
struct FileResult {
    pair: PairInfo,
    classes: usize,
    totals: Totals,
}

/// Runs `loss-tools eval`.
pub fn run(args: &EvalArgs) -> Result<(), Failure> {
    let (text, state) = report(args)?;
    if let Some(path) = &args.state {
        write_atomically(path, state.as_bytes())?;
    }
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => super::print(&text)?,
    }
    Ok(())
}

/// The whole report as text and the pooled state as JSON, or the first error (in file order).
fn report(args: &EvalArgs) -> Result<(String, String), String> {
    let jobs = input::jobs(&args.input)?;
    let files: Vec<(&str, &Path)> = args
        .output
        .iter()
        .map(|p| ("--output", p.as_path()))
        .chain(args.state.iter().map(|p| ("--state", p.as_path())))
        .collect();
    if let (Some(output), Some(state)) = (&args.output, &args.state)
        && output == state
    {
        return Err(format!(
            "--output and --state are both {}: give two files",
            path_text(output)
        ));
    }
    let dirs: Vec<(&str, &Path)> = args
        .overlay
        .iter()
        .map(|p| ("--overlay", p.as_path()))
        .collect();
    refuse_overwriting_inputs(&jobs, &files, &dirs)?;
    if let Some(dir) = &args.overlay {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", path_text(dir)))?;
    }
    let files = input::each_pair(&jobs, &args.input, |pair| evaluate_file(pair, args))?;
    let classes = class_count(&files)?;
    let spec = Spec::new(&args.loss, classes)?;
    let names = input::class_names(&args.input, classes)?;
    let mut total = Totals::default();
    for f in &files {
        total.merge(&f.totals)?;
    }
    let (rows, overall) = summarise(&total, &spec, &names);
    let per_file: Vec<(String, OverallRow)> = if files.len() > 1 {
        files
            .iter()
            .map(|f| {
                (
                    f.pair.predictions.clone(),
                    summarise(&f.totals, &spec, &names).1,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let text = EvalReport {
        spec: &spec,
        from_logits: args.input.from_logits,
        ignore_index: args.input.ignore_index,
        pairs: files.iter().map(|f| &f.pair).collect(),
        rows: &rows,
        overall: &overall,
        per_file: &per_file,
    }
    .render(args.format)?;
    Ok((text, dataset::state_json(&total)))
}

/// The totals of one pair (and its overlays, if asked for).
fn evaluate_file(pair: Pair, args: &EvalArgs) -> Result<FileResult, String> {
    let classes = pair.geometry.classes;
    let totals = dataset::evaluate(&pair, &args.input, &args.loss)?;
    if let Some(dir) = &args.overlay {
        let spec = Spec::new(&args.loss, classes).map_err(|e| format!("{}: {e}", pair.name))?;
        overlay::write(
            &pair,
            dir,
            args.overlay_class,
            spec.threshold.unwrap_or(0.5),
            args.input.from_logits,
            args.input.ignore_index,
        )
        .map_err(|e| format!("{}: overlay: {e}", pair.name))?;
    }
    Ok(FileResult {
        pair: PairInfo {
            predictions: pair.name,
            predictions_kind: pair.prediction_kind,
            targets: pair.target_name,
            targets_kind: pair.target_kind,
            layout: pair.layout_note,
        },
        classes,
        totals,
    })
}

/// The class count every file shares.
fn class_count(files: &[FileResult]) -> Result<usize, String> {
    let classes = files.first().map_or(0, |f| f.classes);
    if let Some(f) = files.iter().find(|f| f.classes != classes) {
        return Err(format!(
            "{}: {} classes, but {} has {classes}",
            f.pair.predictions,
            f.classes,
            files.first().map_or("", |f| f.pair.predictions.as_str())
        ));
    }
    Ok(classes)
}
