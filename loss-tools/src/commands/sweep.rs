//! `loss-tools sweep`: what alpha and gamma do, on data.
//!
//! The seed article claims (section 1-2) that raising alpha favours recall over precision,
//! that gamma suppresses the many easy negatives, and that the two knobs pull against each
//! other. For every `(alpha, gamma)` of a grid this computes, with `loss-core`'s binary focal
//! loss applied to each class one-vs-rest (sigmoid of logits, or the probabilities as given):
//!
//! - the **positives' share** of the loss: `Σ FL over target pixels / Σ FL over all pixels`;
//! - the **positives' share of the gradient**: the same with `|dFL/dx|` (`loss-core`'s
//!   `loss_and_grad_elementwise`, `x` the score as given, a logit or a probability), which is
//!   what training follows: gamma moves it to the hard pixels faster than the loss share;
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
//! alpha, one line per gamma: the positives' share of the loss (solid) and of the gradient
//! (dashed), the mean loss (log scale), and weighted precision (solid) and recall (dashed).
//!
//! [`run`] reads the pairs ([`input::each_pair`]), sums each one over the grid
//! ([`Grid::accumulate`]), pools the sums in file order, and turns them into one point per
//! grid point ([`Grid::points`]) for the report ([`SweepReport`]) and the plot.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Failure;
use crate::input::files::refuse_overwriting_inputs;
use crate::input::{self, InputArgs};
use crate::io::atomic::write_atomically;
use crate::output::sweep_report::SweepReport;
use crate::output::{Format, plot};
use crate::scoring::grid::{Acc, Grid};

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

/// Runs `loss-tools sweep`.
pub fn run(a: &SweepArgs) -> Result<(), Failure> {
    check(a)?;
    let grid = Grid {
        alphas: &a.alphas,
        gammas: &a.gammas,
        threshold: a.threshold,
        include_background: a.include_background,
        from_logits: a.input.from_logits,
        ignore_index: a.input.ignore_index,
    };
    let jobs = input::jobs(&a.input)?;
    let plots: Vec<PathBuf> = a
        .plot
        .iter()
        .flat_map(|p| {
            [
                plot::with_extension(p, ".svg"),
                plot::with_extension(p, ".png"),
            ]
        })
        .collect();
    let files: Vec<(&str, &Path)> = a
        .output
        .iter()
        .map(|p| ("--output", p.as_path()))
        .chain(plots.iter().map(|p| ("--plot", p.as_path())))
        .collect();
    refuse_overwriting_inputs(&jobs, &files, &[])?;
    let results = input::each_pair(&jobs, &a.input, |pair| {
        let acc = grid
            .accumulate(&pair)
            .map_err(|e| format!("{}: {e}", pair.name))?;
        Ok((pair.geometry.classes, acc))
    })?;
    let classes = results.first().map_or(0, |r| r.0);
    if results.iter().any(|r| r.0 != classes) {
        return Err(Failure::error("the files have different class counts"));
    }
    let mut acc = Acc::default();
    for (_, r) in &results {
        acc.merge(r);
    }
    let all = input::class_names(&a.input, classes)?;
    let first = usize::from(!a.include_background && classes > 1);
    let names = all.get(first..).unwrap_or(&[]).to_vec();
    let points = grid.points(&acc);
    let (precision, recall) = acc.precision_recall();
    let text = SweepReport {
        from_logits: a.input.from_logits,
        threshold: a.threshold,
        names: &names,
        points: &points,
        pixels: acc.pixels,
        files: results.len(),
        precision,
        recall,
    }
    .render(a.format)?;
    if let Some(prefix) = &a.plot {
        plot::sweep(prefix, &points, &a.gammas)?;
    }
    match &a.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => super::print(&text)?,
    }
    Ok(())
}

/// The grid and the threshold must make sense.
fn check(a: &SweepArgs) -> Result<(), String> {
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
    Ok(())
}
