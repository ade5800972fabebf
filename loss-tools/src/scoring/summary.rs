//! The rows of the `eval` report, from pooled [`Totals`]: each class's mean focal term, soft
//! overlap loss and hard metrics, and the overall numbers (the losses reduced over the classes,
//! macro-averaged metrics, pixel accuracy).

use loss_core::Reduction;
use loss_core::dice::OverlapStats;
use loss_core::multiclass::{
    ClassReduction, ConfusionCounts, EmptyClass, Metric, Undefined, Weighting, macro_average,
};

use super::exact::ExactSum;
use super::spec::{Focal, Overlap, Spec};
use super::totals::{ClassAcc, Totals};

/// One row of the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassRow {
    /// Class name.
    pub class: String,
    /// Pixels of this class in the targets.
    pub support: u64,
    /// Pixels predicted as this class.
    pub predicted: u64,
    /// Mean focal term of this class per pixel.
    pub focal: f64,
    /// The soft overlap loss of this class (NaN when skipped).
    pub overlap_loss: f64,
    /// Hard dice (F1).
    pub dice: Option<f64>,
    /// Hard IoU.
    pub iou: Option<f64>,
    /// Hard precision.
    pub precision: Option<f64>,
    /// Hard recall.
    pub recall: Option<f64>,
}

/// The overall numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverallRow {
    /// Pixels evaluated.
    pub pixels: u64,
    /// The focal loss.
    pub focal: f64,
    /// The overlap loss (reduced over classes; generalized dice when chosen).
    pub overlap_loss: Option<f64>,
    /// Macro-averaged hard dice.
    pub dice: Option<f64>,
    /// Macro-averaged IoU.
    pub iou: Option<f64>,
    /// Macro-averaged precision.
    pub precision: Option<f64>,
    /// Macro-averaged recall.
    pub recall: Option<f64>,
    /// Share of pixels whose decision is right (argmax only).
    pub accuracy: Option<f64>,
}

fn f32_stats(a: &ClassAcc) -> OverlapStats {
    OverlapStats {
        intersection: a.stats[0].value() as f32,
        prediction_sum: a.stats[1].value() as f32,
        target_sum: a.stats[2].value() as f32,
        count: 0,
    }
}

/// Per-class rows and the overall row of some totals.
pub fn summarise(t: &Totals, spec: &Spec, names: &[String]) -> (Vec<ClassRow>, OverallRow) {
    let rows = t
        .classes
        .iter()
        .enumerate()
        .map(|(c, a)| class_row(c, a, t.pixels, spec, names))
        .collect();
    (rows, overall_row(t, spec))
}

/// The row of class `c`, which accumulated `a` over `pixels` pixels.
fn class_row(c: usize, a: &ClassAcc, pixels: u64, spec: &Spec, names: &[String]) -> ClassRow {
    let m = |k: &ConfusionCounts, metric| k.metric(metric).map(f64::from);
    let loss = spec.overlap_loss();
    let s = f32_stats(a);
    let overlap_loss = match spec.empty {
        _ if s.target_sum != 0.0 => f64::from(loss.loss_from(&s)),
        EmptyClass::Formula => f64::from(loss.loss_from(&s)),
        EmptyClass::Zero => 0.0,
        EmptyClass::Skip => f64::NAN,
    };
    ClassRow {
        class: names
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("class {c}")),
        support: a.counts.support(),
        predicted: a.counts.true_positives + a.counts.false_positives,
        focal: if pixels == 0 {
            f64::NAN
        } else {
            a.focal_sum.value() / pixels as f64
        },
        overlap_loss,
        dice: m(&a.counts, Metric::Dice),
        iou: m(&a.counts, Metric::Iou),
        precision: m(&a.counts, Metric::Precision),
        recall: m(&a.counts, Metric::Recall),
    }
}

/// The overall row: the losses reduced over the classes, the metrics macro-averaged.
fn overall_row(t: &Totals, spec: &Spec) -> OverallRow {
    let classes = t.classes.len();
    // A single class is its own average: the background is left out only among several.
    let include_background = spec.include_background || classes <= 1;
    let stats: Vec<OverlapStats> = t.classes.iter().map(f32_stats).collect();
    let overlap_loss = match spec.overlap {
        Overlap::PerClass(l) => ClassReduction {
            include_background: spec.include_background,
            weights: None,
            weighting: Weighting::Multiply,
            empty: spec.empty,
            reduction: Reduction::Mean,
        }
        .reduce(&l, &stats, classes)
        .ok(),
        Overlap::Generalized(gd, _) => gd
            .with_include_background(include_background)
            .loss(&stats)
            .ok(),
    }
    .map(f64::from);
    let mut total = ExactSum::ZERO;
    for a in &t.classes {
        total.merge(&a.focal_sum);
    }
    let per = match spec.focal {
        Focal::Softmax {
            per_pixel: true, ..
        } => 1.0,
        _ => classes as f64,
    };
    let counts: Vec<ConfusionCounts> = t.classes.iter().map(|a| a.counts).collect();
    let avg =
        |metric| macro_average(&counts, metric, include_background, Undefined::Skip).map(f64::from);
    let accuracy = (spec.threshold.is_none() && t.pixels > 0)
        .then(|| counts.iter().map(|k| k.true_positives).sum::<u64>() as f64 / t.pixels as f64);
    OverallRow {
        pixels: t.pixels,
        focal: total.value() / (t.pixels as f64 * per),
        overlap_loss,
        dice: avg(Metric::Dice),
        iou: avg(Metric::Iou),
        precision: avg(Metric::Precision),
        recall: avg(Metric::Recall),
        accuracy,
    }
}
