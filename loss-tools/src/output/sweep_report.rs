//! The `sweep` report: what the sweep covered, then one row per grid point, as a table, JSON or
//! CSV.

use serde_json::json;

use super::Format;
use super::table::{Table, num, round};
use crate::scoring::grid::Point;

/// Everything the report shows.
#[derive(Debug)]
pub struct SweepReport<'a> {
    /// The scores are logits.
    pub from_logits: bool,
    /// Probability at which a pixel counts as predicted positive.
    pub threshold: f32,
    /// The classes swept.
    pub names: &'a [String],
    /// One per grid point.
    pub points: &'a [Point],
    /// Pixels counted.
    pub pixels: u64,
    /// Files read.
    pub files: usize,
    /// Plain precision at the threshold.
    pub precision: Option<f64>,
    /// Plain recall at the threshold.
    pub recall: Option<f64>,
}

impl SweepReport<'_> {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> Result<String, String> {
        match format {
            Format::Table => Ok(self.table()),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
        }
    }

    fn table(&self) -> String {
        let mut out = format!(
            "Focal loss (one-vs-rest, {}) over {} pixels of {} file(s), classes: {}.\n\
             Unweighted at threshold {}: precision {}, recall {}.\n\
             share / gshare = positives' share of the loss / of the gradient (sum of |dFL/dx|, x the score); loss = mean over pixels x classes; \
             per class: mean over pixels; wP / wR = precision / recall weighted by alpha_t (1 - p_t)^gamma.\n\n",
            if self.from_logits {
                "sigmoid of logits"
            } else {
                "probabilities"
            },
            self.pixels,
            self.files,
            self.names.join(", "),
            self.threshold,
            num(self.precision, 4),
            num(self.recall, 4),
        );
        let head = header(self.names.iter().cloned(), ["wP", "wR"]);
        let refs: Vec<&str> = head.iter().map(String::as_str).collect();
        let mut t = Table::new(&refs);
        for p in self.points {
            t.row(point_cells(p, 4));
        }
        out.push_str(&t.render());
        out
    }

    fn csv(&self) -> Result<String, String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let e = |e: csv::Error| e.to_string();
        let head = header(
            self.names.iter().map(|n| format!("loss_{n}")),
            ["weighted_precision", "weighted_recall"],
        );
        w.write_record(&head).map_err(e)?;
        for p in self.points {
            w.write_record(point_cells(p, 6)).map_err(e)?;
        }
        let bytes = w.into_inner().map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|e| e.to_string())
    }

    fn json(&self) -> Result<String, String> {
        let doc = json!({
            "pixels": self.pixels,
            "files": self.files,
            "classes": self.names,
            "threshold": self.threshold,
            "precision": self.precision.and_then(round),
            "recall": self.recall.and_then(round),
            "grid": self.points.iter().map(|p| json!({
                "alpha": p.alpha,
                "gamma": p.gamma,
                "share": p.share.and_then(round),
                "gradient_share": p.grad_share.and_then(round),
                "loss": round(p.mean),
                "loss_per_class": p.per_class.iter().map(|&v| round(v)).collect::<Vec<_>>(),
                "weighted_precision": p.precision.and_then(round),
                "weighted_recall": p.recall.and_then(round),
            })).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        s.push('\n');
        Ok(s)
    }
}

/// The column names: the grid point, the losses (one per class), then the weighted metrics.
fn header(class_columns: impl Iterator<Item = String>, weighted: [&str; 2]) -> Vec<String> {
    let mut head = vec![
        "alpha".to_string(),
        "gamma".into(),
        "share".into(),
        "gshare".into(),
        "loss".into(),
    ];
    head.extend(class_columns);
    head.extend(weighted.map(String::from));
    head
}

/// One grid point: the losses to 6 decimals, the share and the weighted metrics to `digits`.
fn point_cells(p: &Point, digits: usize) -> Vec<String> {
    let mut r = vec![
        p.alpha.to_string(),
        p.gamma.to_string(),
        num(p.share, digits),
        num(p.grad_share, digits),
        num(Some(p.mean), 6),
    ];
    r.extend(p.per_class.iter().map(|&v| num(Some(v), 6)));
    r.extend([num(p.precision, digits), num(p.recall, digits)]);
    r
}
