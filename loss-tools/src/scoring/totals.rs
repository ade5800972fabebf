//! The numbers of `eval`: per-class focal sums, soft overlap statistics and confusion counts of
//! one prediction/target pair, all computed by `loss-core`, and their combination over files
//! (the report's rows are made from them in [`super::summary`]).
//!
//! Everything is pooled: a class's statistics are summed over every pixel of every sample of
//! every file (MONAI `batch=True`, smp's convention), so a directory gives dataset-level
//! numbers. Per-file values come from `loss-core` in f32 and are pooled exactly
//! ([`ExactSum`], integer counts), so [`Totals::merge`] is commutative and associative bit for
//! bit: the dataset's numbers do not depend on the order of the files, on which thread
//! finished first, or on how the files were split between processes and merged back.

use loss_core::dice::OverlapStats;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassOverlap, ConfusionAccumulator, ConfusionCounts, Decision, Layout,
    SegmentationAccumulator, SoftmaxFocal, Targets,
};
use loss_core::{Predictions, Reduction};
use serde::{Deserialize, Serialize};

use super::exact::ExactSum;
use super::spec::{Convention, Focal, Spec};
use crate::input::{Pair, TargetData};

/// What one class accumulated.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassAcc {
    /// Sum of the class's focal terms.
    pub focal_sum: ExactSum,
    /// `[Σ p t, Σ p, Σ t]`.
    pub stats: [ExactSum; 3],
    /// Hard confusion counts.
    #[serde(with = "Counts")]
    pub counts: ConfusionCounts,
}

/// [`ConfusionCounts`] as they are written in a serialized [`Totals`].
#[derive(Serialize, Deserialize)]
#[serde(remote = "ConfusionCounts")]
struct Counts {
    true_positives: u64,
    false_positives: u64,
    false_negatives: u64,
    true_negatives: u64,
}

/// What a pair (or several, merged) accumulated: a mergeable state, serializable (serde) so
/// that partial results can travel between processes and be merged anywhere.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Pixels counted (ignored pixels excluded).
    pub pixels: u64,
    /// One entry per class.
    pub classes: Vec<ClassAcc>,
}

impl Totals {
    /// Adds another pair's totals: exact, so the order of merges never changes a bit. Empty
    /// totals (no class yet) take the other's class count.
    ///
    /// # Errors
    /// Totals of different class counts (nothing is changed).
    pub fn merge(&mut self, other: &Self) -> Result<(), String> {
        if self.classes.is_empty() {
            self.classes = vec![ClassAcc::default(); other.classes.len()];
        } else if !other.classes.is_empty() && other.classes.len() != self.classes.len() {
            return Err(format!(
                "totals of {} classes cannot merge with totals of {}",
                other.classes.len(),
                self.classes.len()
            ));
        }
        self.pixels += other.pixels;
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            a.focal_sum.merge(&b.focal_sum);
            for (x, y) in a.stats.iter_mut().zip(&b.stats) {
                x.merge(y);
            }
            let (c, d) = (&mut a.counts, b.counts);
            c.true_positives += d.true_positives;
            c.false_positives += d.false_positives;
            c.false_negatives += d.false_negatives;
            c.true_negatives += d.true_negatives;
        }
        Ok(())
    }
}

/// What `loss-core` computes from one pair; errors name the prediction file.
pub fn of_pair(
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
) -> Result<f32, String> {
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
        fl.with_reduction(Reduction::Sum).loss(p, t).map_err(core)?
    } else {
        let fl = match spec.clamp {
            Some((_, _, true)) => BinaryFocal::keras(alpha, spec.gamma),
            Some((lo, hi, false)) => BinaryFocal::new(alpha, spec.gamma, lo, hi),
            None => BinaryFocal::new(alpha, spec.gamma, 0.0, 1.0),
        }
        .map_err(core)?;
        fl.with_reduction(Reduction::Sum).loss(p, t).map_err(core)?
    };
    Ok(sum)
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
        spec.overlap_loss()
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
            focal_sum: ExactSum::of([focal_sum]),
            stats: exact_stats(&stats),
            counts: conf.counts().first().copied().unwrap_or_default(),
        }],
    })
}

/// One pair's `[Σ p t, Σ p, Σ t]`, ready to pool.
fn exact_stats(s: &OverlapStats) -> [ExactSum; 3] {
    [s.intersection, s.prediction_sum, s.target_sum].map(|v| ExactSum::of([v]))
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
    let softmax = matches!(spec.focal, Focal::Softmax { .. });
    if from_logits && softmax && spec.threshold.is_some() {
        return Err("--threshold with softmax logits: give probabilities, or use argmax".into());
    }
    let mut acc = vec![ClassAcc::default(); pair.geometry.classes];
    let softmax_focal = softmax_focal(spec, from_logits)?;
    let frame = one_pass::<CAP>(pair, spec, softmax_focal, from_logits, ignore)?;
    if softmax_focal.is_some() {
        let mut sums = [0.0f32; CAP];
        frame.class_sums(&mut sums).map_err(core)?;
        for (x, s) in acc.iter_mut().zip(sums) {
            x.focal_sum = ExactSum::of([s]);
        }
    }
    if let Focal::Sigmoid { alpha } = spec.focal {
        add_one_vs_rest_focal(&mut acc, pair, spec, alpha, from_logits, ignore)?;
    }
    let mut stats = [OverlapStats::default(); CAP];
    frame.stats(&mut stats).map_err(core)?;
    for ((x, s), k) in acc.iter_mut().zip(stats).zip(frame.counts()) {
        x.stats = exact_stats(&s);
        x.counts = *k;
    }
    Ok(Totals {
        pixels: frame.pixels(),
        classes: acc,
    })
}

/// One pass over every pixel of a multi-class pair: focal terms (softmax focal, if given),
/// overlap statistics and confusion counts, the log-softmax of a pixel computed once for the
/// focal and the statistics.
fn one_pass<const CAP: usize>(
    pair: &Pair,
    spec: &Spec,
    softmax_focal: Option<SoftmaxFocal<'static>>,
    from_logits: bool,
    ignore: Option<i32>,
) -> Result<SegmentationAccumulator<SoftmaxFocal<'static>, CAP>, String> {
    let g = pair.geometry;
    let block = g.classes * g.spatial();
    let softmax = matches!(spec.focal, Focal::Softmax { .. });
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
    let mut frame =
        SegmentationAccumulator::<_, CAP>::new(softmax_focal, overlap, decision, g.classes)
            .map_err(core)?;
    for n in 0..g.batch {
        let s = pair.scores.get(n * block..(n + 1) * block).unwrap_or(&[]);
        frame
            .push(g.layout, s, sample_targets(pair, ignore, n))
            .map_err(core)?;
    }
    Ok(frame)
}

/// The softmax focal loss the spec asks for, if any. Probabilities: it renormalises them
/// (p / Σ p, Keras's categorical focal; Keras also clips the result to [1e-7, 1 - 1e-7]); the
/// statistics and decisions use p.
fn softmax_focal(spec: &Spec, from_logits: bool) -> Result<Option<SoftmaxFocal<'static>>, String> {
    Ok(match spec.focal {
        Focal::Softmax { alpha, .. } => {
            let mut fl = SoftmaxFocal::new(alpha, spec.gamma, None).map_err(core)?;
            if !from_logits {
                fl = fl.with_predictions(Predictions::Probabilities);
                if matches!(spec.clamp, Some((_, _, true))) {
                    fl = fl.with_probability_clip(1e-7, 1.0 - 1e-7).map_err(core)?;
                }
            }
            Some(fl)
        }
        Focal::Sigmoid { .. } => None,
    })
}

/// The targets of sample `n` of a pair.
fn sample_targets(pair: &Pair, ignore: Option<i32>, n: usize) -> Targets<'_> {
    let spatial = pair.geometry.spatial();
    let block = pair.geometry.classes * spatial;
    match &pair.targets {
        TargetData::Labels(l) => {
            let t = Targets::labels(l.get(n * spatial..(n + 1) * spatial).unwrap_or(&[]));
            match ignore {
                Some(i) => t.with_ignore_index(i),
                None => t,
            }
        }
        TargetData::Dense(d) => Targets::dense(d.get(n * block..(n + 1) * block).unwrap_or(&[])),
    }
}

/// One-vs-rest sigmoid focal: adds one binary focal loss per channel and sample to each class's
/// focal sum.
fn add_one_vs_rest_focal(
    acc: &mut [ClassAcc],
    pair: &Pair,
    spec: &Spec,
    alpha: Option<f32>,
    from_logits: bool,
    ignore: Option<i32>,
) -> Result<(), String> {
    let g = pair.geometry;
    let spatial = g.spatial();
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
            x.focal_sum
                .add(sigmoid_focal_sum(spec, alpha, from_logits, &p, &t)?);
        }
    }
    Ok(())
}
