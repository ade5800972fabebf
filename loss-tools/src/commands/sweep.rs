//! `loss-tools sweep`: what alpha and gamma do, on data.
//!
//! The seed article claims (section 1-2) that raising alpha favours recall over precision,
//! that gamma suppresses the many easy negatives, and that the two knobs pull against each
//! other. For every `(alpha, gamma)` of a grid this computes, with `loss-core`'s binary focal
//! loss applied to each class one-vs-rest (sigmoid of logits, or the probabilities as given):
//!
//! - the **positives' share** of the loss: `Σ FL over target pixels / Σ FL over all pixels`;
//! - the **mean loss** (over pixels × classes) and the mean loss of each class (over pixels);
//! - **weighted precision and recall** at `--threshold`: each pixel counts with the weight the
//!   loss gives it, `w = FL / CE = alpha_t (1 - p_t)^gamma` (both from `loss-core`;
//!   `w = alpha_t` where `CE = 0` and gamma is 0, else 0), so
//!   `precision_w = Σ_TP w / (Σ_TP w + Σ_FP w)` and `recall_w = Σ_TP w / (Σ_TP w + Σ_FN w)`.
//!   They show which mistakes the loss attends to: alpha moves weight between positives and
//!   negatives (precision_w), gamma moves it to the hard pixels (both drop as gamma grows).
//!   The plain precision and recall at the threshold are printed for reference.
//!
//! Classes: every foreground class (class 0 is background unless `--include-background`,
//! or with one channel). Files are processed in parallel and combined in file order.
//! The plot (`--plot PREFIX`: `PREFIX.svg` and `PREFIX.png`, plotters) has three panels against
//! alpha, one line per gamma: the positives' share, the mean loss (log scale), and weighted
//! precision (solid) and recall (dashed).

use std::path::PathBuf;

use clap::Args;
use loss_core::ElementLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use serde_json::json;

use super::Failure;
use crate::input::{self, InputArgs, Pair, TargetData};
use crate::io::atomic::write_atomically;
use crate::output::table::{Table, num, round};
use crate::output::{Format, plot};

/// Options of `loss-tools sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The alpha grid, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.1,0.25,0.5,0.75,0.9,1"
    )]
    alphas: Vec<f32>,
    /// The gamma grid, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,5")]
    gammas: Vec<f32>,
    /// Probability at which a pixel counts as predicted positive.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Count class 0 as a class too (by default it is the background and left out).
    #[arg(long)]
    include_background: bool,
    /// Write the plot to `PREFIX.svg` and `PREFIX.png`.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Output format of the table.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the table to this file (atomically) instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Sums of one grid point for one class.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Cell {
    pos: f64,
    neg: f64,
    tp: f64,
    fp: f64,
    fn_: f64,
}

/// Everything a pair contributes: `cells[grid point][class]`, pixels, plain counts.
#[derive(Debug, Clone, Default, PartialEq)]
struct Acc {
    cells: Vec<Vec<Cell>>,
    pixels: u64,
    counts: [u64; 3],
}

impl Acc {
    fn merge(&mut self, o: &Self) {
        if self.cells.is_empty() {
            self.cells.clone_from(&o.cells);
        } else {
            for (a, b) in self.cells.iter_mut().zip(&o.cells) {
                for (x, y) in a.iter_mut().zip(b) {
                    x.pos += y.pos;
                    x.neg += y.neg;
                    x.tp += y.tp;
                    x.fp += y.fp;
                    x.fn_ += y.fn_;
                }
            }
        }
        self.pixels += o.pixels;
        for (a, b) in self.counts.iter_mut().zip(o.counts) {
            *a += b;
        }
    }
}

/// A per-element focal loss and its cross-entropy, from logits or probabilities.
#[derive(Clone, Copy)]
enum Kernel {
    Logits(SigmoidFocal, SigmoidFocal),
    Probabilities(BinaryFocal, BinaryFocal),
}

impl Kernel {
    fn new(alpha: f32, gamma: f32, logits: bool) -> Result<Self, String> {
        let e = |e: loss_core::Error| e.to_string();
        Ok(if logits {
            Self::Logits(
                SigmoidFocal::new(Some(alpha), gamma).map_err(e)?,
                SigmoidFocal::new(None, 0.0).map_err(e)?,
            )
        } else {
            Self::Probabilities(
                BinaryFocal::new(Some(alpha), gamma, 0.0, 1.0).map_err(e)?,
                BinaryFocal::new(None, 0.0, 0.0, 1.0).map_err(e)?,
            )
        })
    }

    /// `(FL, CE)` of one element.
    fn eval(&self, p: f32, t: f32) -> (f32, f32) {
        match self {
            Self::Logits(f, c) => (f.element(p, t), c.element(p, t)),
            Self::Probabilities(f, c) => (f.element(p, t), c.element(p, t)),
        }
    }
}

fn accumulate(pair: &Pair, a: &SweepArgs) -> Result<Acc, String> {
    let g = pair.geometry;
    let logits = a.input.from_logits;
    let first = usize::from(!a.include_background && g.classes > 1);
    let classes: Vec<usize> = (first..g.classes).collect();
    let cut = if logits {
        libm::logf(a.threshold / (1.0 - a.threshold))
    } else {
        a.threshold
    };
    let spatial = g.spatial();
    // The (score, target) elements of each class, once.
    let mut elements: Vec<Vec<(f32, f32)>> = vec![Vec::new(); classes.len()];
    let mut pixels = 0u64;
    for n in 0..g.batch {
        for s in 0..spatial {
            let label = match &pair.targets {
                TargetData::Labels(l) => match l.get(n * spatial + s) {
                    Some(&v) if Some(v) == a.input.ignore_index => continue,
                    v => v.copied(),
                },
                TargetData::Dense(_) => None,
            };
            pixels += 1;
            for (k, &c) in classes.iter().enumerate() {
                let i = g.index(n, c, s);
                let p = pair.scores.get(i).copied().unwrap_or(f32::NAN);
                let t = match (&pair.targets, label) {
                    (TargetData::Dense(d), _) => d.get(i).copied().unwrap_or(0.0),
                    (_, Some(l)) if g.classes == 1 => f32::from(u8::from(l == 1)),
                    (_, Some(l)) => f32::from(u8::from(l as usize == c)),
                    _ => 0.0,
                };
                if let Some(e) = elements.get_mut(k) {
                    e.push((p, t));
                }
            }
        }
    }
    let mut counts = [0u64; 3];
    for e in &elements {
        for &(p, t) in e {
            match (p >= cut, t >= 0.5) {
                (true, true) => counts[0] += 1,
                (true, false) => counts[1] += 1,
                (false, true) => counts[2] += 1,
                _ => {}
            }
        }
    }
    let mut cells = Vec::new();
    for &gamma in &a.gammas {
        for &alpha in &a.alphas {
            let kernel = Kernel::new(alpha, gamma, logits)?;
            let row = elements
                .iter()
                .map(|e| {
                    let mut cell = Cell::default();
                    for &(p, t) in e {
                        let (fl, ce) = kernel.eval(p, t);
                        let positive = t >= 0.5;
                        let alpha_t = if positive { alpha } else { 1.0 - alpha };
                        let w = if ce > 0.0 {
                            f64::from(fl) / f64::from(ce)
                        } else if gamma == 0.0 {
                            f64::from(alpha_t)
                        } else {
                            0.0
                        };
                        if positive {
                            cell.pos += f64::from(fl);
                        } else {
                            cell.neg += f64::from(fl);
                        }
                        match (p >= cut, positive) {
                            (true, true) => cell.tp += w,
                            (true, false) => cell.fp += w,
                            (false, true) => cell.fn_ += w,
                            _ => {}
                        }
                    }
                    cell
                })
                .collect();
            cells.push(row);
        }
    }
    Ok(Acc {
        cells,
        pixels,
        counts,
    })
}

/// One grid point's results.
struct Point {
    alpha: f32,
    gamma: f32,
    share: Option<f64>,
    mean: f64,
    per_class: Vec<f64>,
    precision: Option<f64>,
    recall: Option<f64>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn points(acc: &Acc, a: &SweepArgs) -> Vec<Point> {
    let grid = a
        .gammas
        .iter()
        .flat_map(|&g| a.alphas.iter().map(move |&al| (al, g)));
    grid.zip(&acc.cells)
        .map(|((alpha, gamma), row)| {
            let px = acc.pixels as f64;
            let pos: f64 = row.iter().map(|c| c.pos).sum();
            let neg: f64 = row.iter().map(|c| c.neg).sum();
            let (tp, fp, fn_) = row.iter().fold((0.0, 0.0, 0.0), |s, c| {
                (s.0 + c.tp, s.1 + c.fp, s.2 + c.fn_)
            });
            Point {
                alpha,
                gamma,
                share: ratio(pos, pos + neg),
                mean: (pos + neg) / (px * row.len() as f64),
                per_class: row.iter().map(|c| (c.pos + c.neg) / px).collect(),
                precision: ratio(tp, tp + fp),
                recall: ratio(tp, tp + fn_),
            }
        })
        .collect()
}

fn render(
    a: &SweepArgs,
    names: &[String],
    pts: &[Point],
    acc: &Acc,
    n_files: usize,
) -> Result<String, String> {
    let [tp, fp, fn_] = acc.counts.map(|v| v as f64);
    match a.format {
        Format::Table => {
            let mut out = format!(
                "Focal loss (one-vs-rest, {}) over {} pixels of {} file(s), classes: {}.\n\
                 Unweighted at threshold {}: precision {}, recall {}.\n\
                 share = positives' share of the loss; loss = mean over pixels x classes; \
                 per class: mean over pixels; wP / wR = precision / recall weighted by alpha_t (1 - p_t)^gamma.\n\n",
                if a.input.from_logits {
                    "sigmoid of logits"
                } else {
                    "probabilities"
                },
                acc.pixels,
                n_files,
                names.join(", "),
                a.threshold,
                num(ratio(tp, tp + fp), 4),
                num(ratio(tp, tp + fn_), 4),
            );
            let mut head = vec![
                "alpha".to_string(),
                "gamma".into(),
                "share".into(),
                "loss".into(),
            ];
            head.extend(names.iter().cloned());
            head.extend(["wP".into(), "wR".into()]);
            let refs: Vec<&str> = head.iter().map(String::as_str).collect();
            let mut t = Table::new(&refs);
            for p in pts {
                let mut r = vec![
                    format!("{}", p.alpha),
                    format!("{}", p.gamma),
                    num(p.share, 4),
                    num(Some(p.mean), 6),
                ];
                r.extend(p.per_class.iter().map(|&v| num(Some(v), 6)));
                r.extend([num(p.precision, 4), num(p.recall, 4)]);
                t.row(r);
            }
            out.push_str(&t.render());
            Ok(out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let e = |e: csv::Error| e.to_string();
            let mut head = vec![
                "alpha".to_string(),
                "gamma".into(),
                "share".into(),
                "loss".into(),
            ];
            head.extend(names.iter().map(|n| format!("loss_{n}")));
            head.extend(["weighted_precision".into(), "weighted_recall".into()]);
            w.write_record(&head).map_err(e)?;
            for p in pts {
                let mut r = vec![
                    p.alpha.to_string(),
                    p.gamma.to_string(),
                    num(p.share, 6),
                    num(Some(p.mean), 6),
                ];
                r.extend(p.per_class.iter().map(|&v| num(Some(v), 6)));
                r.extend([num(p.precision, 6), num(p.recall, 6)]);
                w.write_record(&r).map_err(e)?;
            }
            let bytes = w.into_inner().map_err(|e| e.to_string())?;
            String::from_utf8(bytes).map_err(|e| e.to_string())
        }
        Format::Json => {
            let doc = json!({
                "pixels": acc.pixels,
                "files": n_files,
                "classes": names,
                "threshold": a.threshold,
                "precision": ratio(tp, tp + fp).and_then(round),
                "recall": ratio(tp, tp + fn_).and_then(round),
                "grid": pts.iter().map(|p| json!({
                    "alpha": p.alpha,
                    "gamma": p.gamma,
                    "share": p.share.and_then(round),
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
}

fn sweep(a: &SweepArgs) -> Result<(), String> {
    for &x in &a.alphas {
        if !(0.0..=1.0).contains(&x) {
            return Err(format!("--alphas: {x} is not in [0, 1]"));
        }
    }
    for &x in &a.gammas {
        if !(x.is_finite() && x >= 0.0) {
            return Err(format!("--gammas: {x} must be finite and >= 0"));
        }
    }
    if a.alphas.is_empty() || a.gammas.is_empty() {
        return Err("empty --alphas or --gammas".into());
    }
    if !(a.threshold > 0.0 && a.threshold < 1.0) {
        return Err(format!("--threshold {}: must be in (0, 1)", a.threshold));
    }
    let jobs = input::jobs(&a.input)?;
    let results = input::each_pair(&jobs, &a.input, |pair| {
        let acc = accumulate(&pair, a).map_err(|e| format!("{}: {e}", pair.name))?;
        Ok((pair.geometry.classes, acc))
    })?;
    let classes = results.first().map_or(0, |r| r.0);
    if results.iter().any(|r| r.0 != classes) {
        return Err("the files have different class counts".into());
    }
    let mut acc = Acc::default();
    for (_, r) in &results {
        acc.merge(r);
    }
    let all = input::class_names(&a.input, classes)?;
    let first = usize::from(!a.include_background && classes > 1);
    let names = all.get(first..).unwrap_or(&[]).to_vec();
    let pts = points(&acc, a);
    let text = render(a, &names, &pts, &acc, results.len())?;
    if let Some(prefix) = &a.plot {
        plot::sweep(prefix, &pts_for_plot(&pts), &a.gammas)?;
    }
    match &a.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}

fn pts_for_plot(pts: &[Point]) -> Vec<plot::SweepPoint> {
    pts.iter()
        .map(|p| plot::SweepPoint {
            alpha: f64::from(p.alpha),
            gamma: p.gamma,
            share: p.share,
            loss: p.mean,
            precision: p.precision,
            recall: p.recall,
        })
        .collect()
}

/// Runs `loss-tools sweep`.
pub fn run(args: &SweepArgs) -> Result<(), Failure> {
    Ok(sweep(args)?)
}
