//! `loss-tools eval` (and the no-argument sample report): losses and metrics of model outputs
//! against masks, per class and overall, as a table, JSON or CSV.
//!
//! Files are decoded and evaluated in parallel ([`input::each_pair`]), one pair per worker at a
//! time, so memory is bounded by a few files whatever the size of the dataset; per-file results
//! are combined in file order, so the output does not depend on scheduling.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::Failure;
use crate::input::{self, InputArgs, Pair, TargetData};
use crate::io::atomic::write_atomically;
use crate::output::overlay;
use crate::output::table::{Table, num, round};
use crate::scoring::spec::{LossArgs, Spec};
use crate::scoring::totals::{self as evaluate, ClassRow, OverallRow, Totals};

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON document.
    Json,
    /// CSV: one row per class, then the overall row, then one row per file.
    Csv,
}

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
            },
            loss: LossArgs {
                loss: None,
                convention: crate::scoring::spec::Convention::Monai,
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
        }
    }
}

/// What one file gave.
struct FileResult {
    name: String,
    target_name: String,
    kinds: (String, String, String),
    classes: usize,
    totals: Totals,
}

fn one(pair: Pair, args: &EvalArgs) -> Result<FileResult, String> {
    let classes = pair.geometry.classes;
    let spec = Spec::new(&args.loss, classes).map_err(|e| format!("{}: {e}", pair.name))?;
    if matches!(pair.targets, TargetData::Dense(_)) && args.input.ignore_index.is_some() {
        return Err(format!(
            "{}: --ignore-index applies to label maps; these targets are dense",
            pair.target_name
        ));
    }
    let totals = evaluate::evaluate(
        &pair,
        &spec,
        args.input.from_logits,
        args.input.ignore_index,
    )?;
    if let Some(dir) = &args.overlay {
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
        name: pair.name,
        target_name: pair.target_name,
        kinds: (pair.prediction_kind, pair.target_kind, pair.layout_note),
        classes,
        totals,
    })
}

/// Runs `loss-tools eval`.
pub fn run(args: &EvalArgs) -> Result<(), Failure> {
    let text = report(args)?;
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}

/// The whole report as text, or the first error (in file order).
fn report(args: &EvalArgs) -> Result<String, String> {
    let jobs = input::jobs(&args.input)?;
    if let Some(dir) = &args.overlay {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    let files = input::each_pair(&jobs, &args.input, |pair| one(pair, args))?;
    let classes = files.first().map_or(0, |f| f.classes);
    if let Some(f) = files.iter().find(|f| f.classes != classes) {
        return Err(format!(
            "{}: {} classes, but {} has {classes}",
            f.name,
            f.classes,
            files.first().map_or("", |f| f.name.as_str())
        ));
    }
    let spec = Spec::new(&args.loss, classes)?;
    let names = input::class_names(&args.input, classes)?;
    let mut total = Totals::default();
    for f in &files {
        total.merge(&f.totals);
    }
    let (rows, overall) = evaluate::summarise(&total, &spec, &names);
    let per_file: Vec<(String, OverallRow)> = if files.len() > 1 {
        files
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    evaluate::summarise(&f.totals, &spec, &names).1,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(match args.format {
        Format::Table => table(args, &spec, &files, &rows, &overall, &per_file),
        Format::Json => to_json(args, &spec, &files, &rows, &overall, &per_file),
        Format::Csv => to_csv(&rows, &overall, &per_file)?,
    })
}

fn decision_text(spec: &Spec, from_logits: bool) -> String {
    match spec.threshold {
        None => "argmax over classes".into(),
        Some(t) if from_logits => format!("sigmoid(score) >= {t} per class"),
        Some(t) => format!("probability >= {t} per class"),
    }
}

fn table(
    args: &EvalArgs,
    spec: &Spec,
    files: &[FileResult],
    rows: &[ClassRow],
    overall: &OverallRow,
    per_file: &[(String, OverallRow)],
) -> String {
    let mut out = String::new();
    let scores = if args.input.from_logits {
        "logits"
    } else {
        "probabilities"
    };
    let mut head: Vec<(&str, String)> = Vec::new();
    if let [f] = files {
        head.push((
            "predictions",
            format!("{} ({}, {scores})", f.name, f.kinds.0),
        ));
        head.push(("targets", format!("{} ({})", f.target_name, f.kinds.1)));
        head.push(("layout", f.kinds.2.clone()));
    } else {
        head.push((
            "inputs",
            format!("{} prediction/target pairs ({scores})", files.len()),
        ));
        if let Some(f) = files.first() {
            head.push(("layout", format!("{} (first file)", f.kinds.2)));
        }
    }
    head.push((
        "convention",
        format!("{:?}", spec.convention).to_lowercase(),
    ));
    head.push(("focal", spec.focal_text()));
    head.push(("overlap", spec.overlap_text()));
    head.push(("decision", decision_text(spec, args.input.from_logits)));
    if let Some(i) = args.input.ignore_index {
        head.push(("ignored", format!("label {i}")));
    }
    for (k, v) in head {
        out.push_str(&format!("{k:<13}{v}\n"));
    }
    out.push('\n');

    let mut t = Table::new(&[
        "class",
        "support",
        "predicted",
        "focal",
        "overlap loss",
        "dice",
        "IoU",
        "precision",
        "recall",
    ]);
    for r in rows {
        t.row(vec![
            r.class.clone(),
            r.support.to_string(),
            r.predicted.to_string(),
            num(Some(r.focal), 6),
            num(Some(r.overlap_loss), 6),
            num(r.dice, 4),
            num(r.iou, 4),
            num(r.precision, 4),
            num(r.recall, 4),
        ]);
    }
    t.row(vec![
        "overall".into(),
        overall.pixels.to_string(),
        String::new(),
        num(Some(overall.focal), 6),
        num(overall.overlap_loss, 6),
        num(overall.dice, 4),
        num(overall.iou, 4),
        num(overall.precision, 4),
        num(overall.recall, 4),
    ]);
    out.push_str(&t.render());
    out.push_str(&format!(
        "\noverall: focal and overlap are the losses above; dice, IoU, precision and recall are \
         macro averages over {} classes{}.\n",
        if spec.include_background {
            "all"
        } else {
            "the foreground"
        },
        overall
            .accuracy
            .map(|a| format!("; pixel accuracy {}", num(Some(a), 4)))
            .unwrap_or_default()
    ));
    if !per_file.is_empty() {
        let mut t = Table::new(&[
            "file",
            "pixels",
            "focal",
            "overlap loss",
            "dice",
            "IoU",
            "precision",
            "recall",
        ]);
        for (name, o) in per_file {
            t.row(vec![
                name.clone(),
                o.pixels.to_string(),
                num(Some(o.focal), 6),
                num(o.overlap_loss, 6),
                num(o.dice, 4),
                num(o.iou, 4),
                num(o.precision, 4),
                num(o.recall, 4),
            ]);
        }
        out.push_str("\nper file:\n");
        out.push_str(&t.render());
    }
    out
}

fn row_json(r: &ClassRow) -> serde_json::Value {
    json!({
        "class": r.class,
        "support": r.support,
        "predicted": r.predicted,
        "focal": round(r.focal),
        "overlap_loss": round(r.overlap_loss),
        "dice": r.dice.and_then(round),
        "iou": r.iou.and_then(round),
        "precision": r.precision.and_then(round),
        "recall": r.recall.and_then(round),
    })
}

fn overall_json(o: &OverallRow) -> serde_json::Value {
    json!({
        "pixels": o.pixels,
        "focal": round(o.focal),
        "overlap_loss": o.overlap_loss.and_then(round),
        "dice": o.dice.and_then(round),
        "iou": o.iou.and_then(round),
        "precision": o.precision.and_then(round),
        "recall": o.recall.and_then(round),
        "accuracy": o.accuracy.and_then(round),
    })
}

fn to_json(
    args: &EvalArgs,
    spec: &Spec,
    files: &[FileResult],
    rows: &[ClassRow],
    overall: &OverallRow,
    per_file: &[(String, OverallRow)],
) -> String {
    let doc = json!({
        "inputs": files.iter().map(|f| json!({
            "predictions": f.name,
            "predictions_kind": f.kinds.0,
            "targets": f.target_name,
            "targets_kind": f.kinds.1,
            "layout": f.kinds.2,
        })).collect::<Vec<_>>(),
        "settings": {
            "convention": spec.convention,
            "from_logits": args.input.from_logits,
            "focal": spec.focal_text(),
            "overlap": spec.overlap_text(),
            "decision": decision_text(spec, args.input.from_logits),
            "ignore_index": args.input.ignore_index,
        },
        "classes": rows.iter().map(row_json).collect::<Vec<_>>(),
        "overall": overall_json(overall),
        "files": per_file.iter().map(|(n, o)| {
            let mut v = overall_json(o);
            v["file"] = json!(n);
            v
        }).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn to_csv(
    rows: &[ClassRow],
    overall: &OverallRow,
    per_file: &[(String, OverallRow)],
) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    w.write_record([
        "scope",
        "class",
        "support",
        "predicted",
        "focal",
        "overlap_loss",
        "dice",
        "iou",
        "precision",
        "recall",
    ])
    .map_err(e)?;
    for r in rows {
        w.write_record([
            "all".into(),
            r.class.clone(),
            r.support.to_string(),
            r.predicted.to_string(),
            num(Some(r.focal), 6),
            num(Some(r.overlap_loss), 6),
            num(r.dice, 6),
            num(r.iou, 6),
            num(r.precision, 6),
            num(r.recall, 6),
        ])
        .map_err(e)?;
    }
    let mut overall_row = |scope: &str, o: &OverallRow| {
        w.write_record([
            scope.to_string(),
            "overall".into(),
            o.pixels.to_string(),
            String::new(),
            num(Some(o.focal), 6),
            num(o.overlap_loss, 6),
            num(o.dice, 6),
            num(o.iou, 6),
            num(o.precision, 6),
            num(o.recall, 6),
        ])
    };
    overall_row("all", overall).map_err(e)?;
    for (name, o) in per_file {
        overall_row(name, o).map_err(e)?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
