//! The numbers of `eval`: per-class focal sums, soft overlap statistics and confusion counts of
//! one prediction/target pair, all computed by `loss-core`, and their combination over files.
//!
//! Everything is pooled: a class's statistics are summed over every pixel of every sample of
//! every file (MONAI `batch=True`, smp's convention), so a directory gives dataset-level
//! numbers. Per-file values come from `loss-core` in f32; they are combined in f64 in file
//! order, so the result does not depend on which thread finished first.

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassOverlap, ClassReduction, ConfusionAccumulator, ConfusionCounts, Decision,
    EmptyClass, Layout, Metric, SegmentationAccumulator, SoftmaxFocal, Targets, Undefined,
    Weighting, macro_average,
};
use loss_core::{ElementLoss, Predictions, Reduction};

use crate::input::{Pair, TargetData};
use crate::scoring::spec::{Convention, Focal, Overlap, Spec};

/// What one class accumulated.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassAcc {
    /// Sum of the class's focal terms.
    pub focal_sum: f64,
    /// `[Σ p t, Σ p, Σ t]`.
    pub stats: [f64; 3],
    /// Hard confusion counts.
    pub counts: ConfusionCounts,
}

/// What a pair (or several, merged) accumulated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    /// Pixels counted (ignored pixels excluded).
    pub pixels: u64,
    /// One entry per class.
    pub classes: Vec<ClassAcc>,
}

impl Totals {
    /// Adds another pair's totals (same class count).
    pub fn merge(&mut self, other: &Self) {
        if self.classes.is_empty() {
            self.classes = vec![ClassAcc::default(); other.classes.len()];
        }
        self.pixels += other.pixels;
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            a.focal_sum += b.focal_sum;
            for (x, y) in a.stats.iter_mut().zip(b.stats) {
                *x += y;
            }
            let (c, d) = (&mut a.counts, b.counts);
            c.true_positives += d.true_positives;
            c.false_positives += d.false_positives;
            c.false_negatives += d.false_negatives;
            c.true_negatives += d.true_negatives;
        }
    }
}

/// Evaluates one pair.
pub fn evaluate(
    pair: &Pair,
    spec: &Spec,
    from_logits: bool,
    ignore: Option<i32>,
) -> Result<Totals, String> {
    let c = pair.geometry.classes;
    let r = match c {
        1 => binary(pair, spec, from_logits, ignore),
        2..=4 => multi::<4>(pair, spec, from_logits, ignore),
        5..=8 => multi::<8>(pair, spec, from_logits, ignore),
        9..=16 => multi::<16>(pair, spec, from_logits, ignore),
        17..=64 => multi::<64>(pair, spec, from_logits, ignore),
        65..=256 => multi::<256>(pair, spec, from_logits, ignore),
        _ => Err(format!("{c} classes: at most 256 are supported")),
    };
    r.map_err(|e| format!("{}: {e}", pair.name))
}

fn core(e: loss_core::Error) -> String {
    e.to_string()
}

/// The sigmoid focal sum of one channel's (score, target) pairs.
fn sigmoid_focal_sum(
    spec: &Spec,
    alpha: Option<f32>,
    from_logits: bool,
    p: &[f32],
    t: &[f32],
) -> Result<f64, String> {
    if p.is_empty() {
        return Ok(0.0);
    }
    let sum = if from_logits {
        let mut fl = SigmoidFocal::new(alpha, spec.gamma).map_err(core)?;
        fl = match spec.convention {
            Convention::Monai => fl.with_soft_targets(SoftTargets::Monai),
            Convention::Kornia | Convention::Seed => fl.with_soft_targets(SoftTargets::Kornia),
            _ => fl,
        };
        fl.loss(p, t, Reduction::Sum).map_err(core)?
    } else {
        let fl = match spec.clamp {
            Some((_, _, true)) => BinaryFocal::keras(alpha, spec.gamma),
            Some((lo, hi, false)) => BinaryFocal::new(alpha, spec.gamma, lo, hi),
            None => BinaryFocal::new(alpha, spec.gamma, 0.0, 1.0),
        }
        .map_err(core)?;
        fl.loss(p, t, Reduction::Sum).map_err(core)?
    };
    Ok(f64::from(sum))
}

fn overlap_loss(spec: &Spec) -> OverlapLoss {
    match spec.overlap {
        Overlap::PerClass(l) | Overlap::Generalized(_, l) => l,
    }
}

fn binary(
    pair: &Pair,
    spec: &Spec,
    from_logits: bool,
    ignore: Option<i32>,
) -> Result<Totals, String> {
    let (p, t): (Vec<f32>, Vec<f32>) = match &pair.targets {
        TargetData::Dense(d) => (pair.scores.clone(), d.clone()),
        TargetData::Labels(l) => pair
            .scores
            .iter()
            .zip(l)
            .filter(|&(_, &l)| Some(l) != ignore)
            .map(|(&p, &l)| (p, if l == 1 { 1.0 } else { 0.0 }))
            .unzip(),
    };
    let Focal::Sigmoid { alpha } = spec.focal else {
        return Err("softmax focal needs at least 2 classes".into());
    };
    let focal_sum = sigmoid_focal_sum(spec, alpha, from_logits, &p, &t)?;
    let kind = if from_logits {
        Predictions::Logits
    } else {
        Predictions::Probabilities
    };
    let stats = if p.is_empty() {
        OverlapStats::default()
    } else {
        overlap_loss(spec)
            .with_predictions(kind)
            .stats(&p, &t)
            .map_err(core)?
    };
    let mut conf = ConfusionAccumulator::<1>::new(decision(spec, from_logits)?, 1).map_err(core)?;
    conf.push(Layout::ChannelsFirst, &p, Targets::dense(&t))
        .map_err(core)?;
    Ok(Totals {
        pixels: p.len() as u64,
        classes: vec![ClassAcc {
            focal_sum,
            stats: [
                f64::from(stats.intersection),
                f64::from(stats.prediction_sum),
                f64::from(stats.target_sum),
            ],
            counts: conf.counts().first().copied().unwrap_or_default(),
        }],
    })
}

fn decision(spec: &Spec, from_logits: bool) -> Result<Decision, String> {
    Ok(match spec.threshold {
        None => Decision::Argmax,
        Some(t) if !from_logits => Decision::Threshold(t),
        // A sigmoid probability threshold is a logit threshold: logit(t).
        Some(t) => Decision::Threshold(libm::logf(t / (1.0 - t))),
    })
}

fn multi<const CAP: usize>(
    pair: &Pair,
    spec: &Spec,
    from_logits: bool,
    ignore: Option<i32>,
) -> Result<Totals, String> {
    let g = pair.geometry;
    let (classes, spatial) = (g.classes, g.spatial());
    let block = classes * spatial;
    let sample_targets = |n: usize| -> Targets<'_> {
        match &pair.targets {
            TargetData::Labels(l) => {
                let t = Targets::labels(l.get(n * spatial..(n + 1) * spatial).unwrap_or(&[]));
                match ignore {
                    Some(i) => t.with_ignore_index(i),
                    None => t,
                }
            }
            TargetData::Dense(d) => {
                Targets::dense(d.get(n * block..(n + 1) * block).unwrap_or(&[]))
            }
        }
    };
    fn sample_scores(s: &[f32], block: usize, n: usize) -> &[f32] {
        s.get(n * block..(n + 1) * block).unwrap_or(&[])
    }
    let softmax = matches!(spec.focal, Focal::Softmax { .. });
    if from_logits && softmax && spec.threshold.is_some() {
        return Err("--threshold with softmax logits: give probabilities, or use argmax".into());
    }
    let mut acc = vec![ClassAcc::default(); classes];
    let activation = match (from_logits, softmax) {
        (false, _) => Activation::None,
        (true, true) => Activation::Softmax,
        (true, false) => Activation::Sigmoid,
    };
    let overlap = ClassOverlap {
        activation,
        ..ClassOverlap::default()
    };
    let decision = decision(spec, from_logits)?;

    // One pass over every pixel: focal terms (softmax focal), overlap statistics and confusion
    // counts, the log-softmax of a pixel computed once for the focal and the statistics.
    // Probabilities: the softmax focal renormalises them (p / Σ p, Keras's categorical focal;
    // Keras also clips the result to [1e-7, 1 - 1e-7]); the statistics and decisions use p.
    let softmax_focal = match spec.focal {
        Focal::Softmax { alpha, .. } => {
            let mut fl = SoftmaxFocal::new(spec.gamma, alpha, None).map_err(core)?;
            if !from_logits {
                fl = fl.with_predictions(Predictions::Probabilities);
                if matches!(spec.clamp, Some((_, _, true))) {
                    fl = fl.with_probability_clip(1e-7, 1.0 - 1e-7).map_err(core)?;
                }
            }
            Some(fl)
        }
        Focal::Sigmoid { .. } => None,
    };
    let mut frame =
        SegmentationAccumulator::<_, CAP>::new(softmax_focal, overlap, decision, classes)
            .map_err(core)?;
    for n in 0..g.batch {
        let s = sample_scores(&pair.scores, block, n);
        frame.push(g.layout, s, sample_targets(n)).map_err(core)?;
    }
    if softmax_focal.is_some() {
        let mut sums = [0.0f32; CAP];
        frame.class_sums(&mut sums).map_err(core)?;
        for (x, s) in acc.iter_mut().zip(sums) {
            x.focal_sum = f64::from(s);
        }
    }

    // One-vs-rest sigmoid focal: one binary focal loss per channel and sample.
    if let Focal::Sigmoid { alpha } = spec.focal {
        let (mut p, mut t) = (Vec::with_capacity(spatial), Vec::with_capacity(spatial));
        for (c, x) in acc.iter_mut().enumerate() {
            for n in 0..g.batch {
                p.clear();
                t.clear();
                for s in 0..spatial {
                    let score = pair.scores.get(g.index(n, c, s)).copied();
                    let target = match &pair.targets {
                        TargetData::Labels(l) => match l.get(n * spatial + s) {
                            Some(&v) if Some(v) == ignore => None,
                            Some(&v) => Some(if v as usize == c { 1.0 } else { 0.0 }),
                            None => None,
                        },
                        TargetData::Dense(d) => d.get(g.index(n, c, s)).copied(),
                    };
                    if let (Some(score), Some(target)) = (score, target) {
                        p.push(score);
                        t.push(target);
                    }
                }
                x.focal_sum += sigmoid_focal_sum(spec, alpha, from_logits, &p, &t)?;
            }
        }
    }

    let mut stats = [OverlapStats::default(); CAP];
    frame.stats(&mut stats).map_err(core)?;
    for ((x, s), k) in acc.iter_mut().zip(stats).zip(frame.counts()) {
        x.stats = [
            f64::from(s.intersection),
            f64::from(s.prediction_sum),
            f64::from(s.target_sum),
        ];
        x.counts = *k;
    }
    Ok(Totals {
        pixels: frame.pixels(),
        classes: acc,
    })
}

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
        intersection: a.stats[0] as f32,
        prediction_sum: a.stats[1] as f32,
        target_sum: a.stats[2] as f32,
        count: 0,
    }
}

/// Per-class rows and the overall row of some totals.
pub fn summarise(t: &Totals, spec: &Spec, names: &[String]) -> (Vec<ClassRow>, OverallRow) {
    let loss = overlap_loss(spec);
    let classes = t.classes.len();
    let m = |k: &ConfusionCounts, metric| k.metric(metric).map(f64::from);
    let rows = t
        .classes
        .iter()
        .enumerate()
        .map(|(c, a)| {
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
                focal: if t.pixels == 0 {
                    f64::NAN
                } else {
                    a.focal_sum / t.pixels as f64
                },
                overlap_loss,
                dice: m(&a.counts, Metric::Dice),
                iou: m(&a.counts, Metric::Iou),
                precision: m(&a.counts, Metric::Precision),
                recall: m(&a.counts, Metric::Recall),
            }
        })
        .collect();
    let first = usize::from(!spec.include_background && classes > 1);
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
        Overlap::Generalized(gd, _) => gd.loss(stats.get(first..).unwrap_or(&[])).ok(),
    }
    .map(f64::from);
    let total: f64 = t.classes.iter().map(|a| a.focal_sum).sum();
    let per = match spec.focal {
        Focal::Softmax {
            per_pixel: true, ..
        } => 1.0,
        _ => classes as f64,
    };
    let counts: Vec<ConfusionCounts> = t.classes.iter().map(|a| a.counts).collect();
    let avg = |metric| macro_average(&counts, metric, first, Undefined::Skip).map(f64::from);
    let accuracy = (spec.threshold.is_none() && t.pixels > 0)
        .then(|| counts.iter().map(|k| k.true_positives).sum::<u64>() as f64 / t.pixels as f64);
    (
        rows,
        OverallRow {
            pixels: t.pixels,
            focal: total / (t.pixels as f64 * per),
            overlap_loss,
            dice: avg(Metric::Dice),
            iou: avg(Metric::Iou),
            precision: avg(Metric::Precision),
            recall: avg(Metric::Recall),
            accuracy,
        },
    )
}
