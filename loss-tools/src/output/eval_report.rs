//! The `eval` report: the settings, one row per class, the overall row and, for several files,
//! one row per file, as a table, JSON or CSV.

use serde_json::json;

use super::Format;
use super::table::{Table, num, round};
use crate::scoring::spec::Spec;
use crate::scoring::summary::{ClassRow, OverallRow};

/// What the report says about one prediction/target pair.
#[derive(Debug, Clone)]
pub struct PairInfo {
    /// The prediction file's name.
    pub predictions: String,
    /// What the prediction file is, e.g. `.npy <f2 1x4x64x64`.
    pub predictions_kind: String,
    /// The target file's name.
    pub targets: String,
    /// What the target file is, e.g. `8-bit palette PNG 64x64`.
    pub targets_kind: String,
    /// How the layout was decided.
    pub layout: String,
}

/// Everything the report shows.
#[derive(Debug)]
pub struct EvalReport<'a> {
    /// The loss settings.
    pub spec: &'a Spec,
    /// Whether the scores are logits.
    pub from_logits: bool,
    /// The label left out of every statistic, if any.
    pub ignore_index: Option<i32>,
    /// The pairs evaluated, in file order.
    pub pairs: Vec<&'a PairInfo>,
    /// One row per class, pooled over the files.
    pub rows: &'a [ClassRow],
    /// The overall row, pooled over the files.
    pub overall: &'a OverallRow,
    /// The overall row of each file (empty for one file).
    pub per_file: &'a [(String, OverallRow)],
}

impl EvalReport<'_> {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> Result<String, String> {
        Ok(match format {
            Format::Table => self.table(),
            Format::Json => self.json(),
            Format::Csv => self.csv()?,
        })
    }

    fn table(&self) -> String {
        let mut out = self.settings();
        out.push('\n');
        out.push_str(&self.class_table());
        out.push_str(&self.overall_note());
        if !self.per_file.is_empty() {
            out.push_str("\nper file:\n");
            out.push_str(&self.per_file_table());
        }
        out
    }

    /// The table's head: inputs and settings, one `name  value` line each.
    fn settings(&self) -> String {
        let scores = if self.from_logits {
            "logits"
        } else {
            "probabilities"
        };
        let mut head: Vec<(&str, String)> = Vec::new();
        if let [f] = self.pairs.as_slice() {
            head.push((
                "predictions",
                format!("{} ({}, {scores})", f.predictions, f.predictions_kind),
            ));
            head.push(("targets", format!("{} ({})", f.targets, f.targets_kind)));
            head.push(("layout", f.layout.clone()));
        } else {
            head.push((
                "inputs",
                format!("{} prediction/target pairs ({scores})", self.pairs.len()),
            ));
            if let Some(f) = self.pairs.first() {
                head.push(("layout", format!("{} (first file)", f.layout)));
            }
        }
        head.push((
            "convention",
            format!("{:?}", self.spec.convention).to_lowercase(),
        ));
        head.push(("focal", self.spec.focal_text()));
        head.push(("overlap", self.spec.overlap_text()));
        head.push(("decision", self.decision_text()));
        if let Some(i) = self.ignore_index {
            head.push(("ignored", format!("label {i}")));
        }
        let mut out = String::new();
        for (k, v) in head {
            out.push_str(&format!("{k:<13}{v}\n"));
        }
        out
    }

    /// One row per class, then the overall row.
    fn class_table(&self) -> String {
        let mut t =
            Table::new(&[&["class", "support", "predicted"][..], &LOSS_AND_METRICS].concat());
        for r in self.rows {
            let mut row = vec![
                r.class.clone(),
                r.support.to_string(),
                r.predicted.to_string(),
            ];
            row.extend(class_cells(r, 4));
            t.row(row);
        }
        let o = self.overall;
        let mut row = vec!["overall".into(), o.pixels.to_string(), String::new()];
        row.extend(overall_cells(o, 4));
        t.row(row);
        t.render()
    }

    /// What the overall row means.
    fn overall_note(&self) -> String {
        format!(
            "\noverall: focal and overlap are the losses above; dice, IoU, precision and recall \
             are macro averages over {} classes{}.\n",
            if self.spec.include_background {
                "all"
            } else {
                "the foreground"
            },
            self.overall
                .accuracy
                .map(|a| format!("; pixel accuracy {}", num(Some(a), 4)))
                .unwrap_or_default()
        )
    }

    /// One overall row per file.
    fn per_file_table(&self) -> String {
        let mut t = Table::new(&[&["file", "pixels"][..], &LOSS_AND_METRICS].concat());
        for (name, o) in self.per_file {
            let mut row = vec![name.clone(), o.pixels.to_string()];
            row.extend(overall_cells(o, 4));
            t.row(row);
        }
        t.render()
    }

    fn decision_text(&self) -> String {
        match self.spec.threshold {
            None => "argmax over classes".into(),
            Some(t) if self.from_logits => format!("sigmoid(score) >= {t} per class"),
            Some(t) => format!("probability >= {t} per class"),
        }
    }

    fn json(&self) -> String {
        let doc = json!({
            "inputs": self.pairs.iter().map(|f| json!({
                "predictions": f.predictions,
                "predictions_kind": f.predictions_kind,
                "targets": f.targets,
                "targets_kind": f.targets_kind,
                "layout": f.layout,
            })).collect::<Vec<_>>(),
            "settings": {
                "convention": self.spec.convention,
                "from_logits": self.from_logits,
                "focal": self.spec.focal_text(),
                "overlap": self.spec.overlap_text(),
                "decision": self.decision_text(),
                "ignore_index": self.ignore_index,
            },
            "classes": self.rows.iter().map(row_json).collect::<Vec<_>>(),
            "overall": overall_json(self.overall),
            "files": self.per_file.iter().map(|(n, o)| {
                let mut v = overall_json(o);
                v["file"] = json!(n);
                v
            }).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }

    /// One row per class, then the overall row, then one row per file.
    fn csv(&self) -> Result<String, String> {
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
        for r in self.rows {
            let head = [
                "all".into(),
                r.class.clone(),
                r.support.to_string(),
                r.predicted.to_string(),
            ];
            w.write_record(head.into_iter().chain(class_cells(r, 6)))
                .map_err(e)?;
        }
        let mut overall_row = |scope: &str, o: &OverallRow| {
            let head = [
                scope.to_string(),
                "overall".into(),
                o.pixels.to_string(),
                String::new(),
            ];
            w.write_record(head.into_iter().chain(overall_cells(o, 6)))
        };
        overall_row("all", self.overall).map_err(e)?;
        for (name, o) in self.per_file {
            overall_row(name, o).map_err(e)?;
        }
        let bytes = w.into_inner().map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|e| e.to_string())
    }
}

/// The table's columns of [`loss_and_metric_cells`].
const LOSS_AND_METRICS: [&str; 6] = [
    "focal",
    "overlap loss",
    "dice",
    "IoU",
    "precision",
    "recall",
];

/// A row's focal and overlap loss (6 decimals) and its dice, IoU, precision and recall
/// (`digits` decimals), as cells.
fn loss_and_metric_cells(
    focal: f64,
    overlap_loss: Option<f64>,
    metrics: [Option<f64>; 4],
    digits: usize,
) -> [String; 6] {
    let [dice, iou, precision, recall] = metrics.map(|m| num(m, digits));
    [
        num(Some(focal), 6),
        num(overlap_loss, 6),
        dice,
        iou,
        precision,
        recall,
    ]
}

fn class_cells(r: &ClassRow, digits: usize) -> [String; 6] {
    let metrics = [r.dice, r.iou, r.precision, r.recall];
    loss_and_metric_cells(r.focal, Some(r.overlap_loss), metrics, digits)
}

fn overall_cells(o: &OverallRow, digits: usize) -> [String; 6] {
    let metrics = [o.dice, o.iou, o.precision, o.recall];
    loss_and_metric_cells(o.focal, o.overlap_loss, metrics, digits)
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
