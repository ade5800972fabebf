//! `loss_core::multiclass` (and `BinaryFocal::keras`) against the f64 oracle
//! (`loss_tests::oracle::multiclass`) over seeded random batches: N 1-4, C 1-8, 1-4096 pixels
//! (log-uniform), both layouts, dense (one-hot or soft) and `u8` / `u16` / `i32` label targets
//! with and without `ignore_index`, logits with extremes (±1e4, ±88, ±30, ±17, ±inf), gamma in
//! {0, 0.5, 1, 2, 5}.
//!
//! # Tolerances
//! - Elementwise values: the accuracy rule (relative 1e-6 where the exact value is >= 1e-6,
//!   relative 2e-5 in `[1e-30, 1e-6)`, absolute 1e-30 below; infinities and NaN exact).
//! - Sums (per-class sums, statistics, accumulator totals and means): the summation itself
//!   within `1e-6 · Σ|term|` of the f64 sum of `loss-core`'s own f32 terms (equal to 1e-6
//!   relative for non-negative terms; the `Σ|term|` scale keeps the bound meaningful for `tanh`
//!   statistics, whose terms cancel), and end to end against the oracle within that plus each
//!   term's elementwise allowance.
//! - Overlap losses (`1 - score`, reduced over classes): within `1e-6 · S` where `S` is the same
//!   reduction applied to `|loss| + |score|` instead of `loss` (so about 1e-6 absolute on a loss
//!   in `[0, 1]`): `1 - score` cancels, so a relative bound on the loss alone would measure the
//!   rounding of `score`, not an error of the crate.
//! - Confusion counts exactly; metrics as the f64 value rounded once.
//!
//! Each test prints its worst errors (`cargo test --test multiclass_oracle -- --nocapture`);
//! `docs/` records them.

use std::collections::BTreeMap;

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, Decision, EmptyClass, GeneralizedDice,
    Intersection, Layout, Metric, OneVsRestFocal, Shape, SoftmaxFocal, Targets, Undefined,
    WeightType, Weighting, macro_average,
};
use loss_core::{ElementLoss, Predictions, Reduction};
use loss_tests::oracle::multiclass as o;
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

/// Random batches per test.
const CASES: u64 = 40;
/// Class capacity of the accumulators.
const CAP: usize = 8;
const GAMMAS: [f32; 5] = [0.0, 0.5, 1.0, 2.0, 5.0];

fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(b"multicls");
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

// ---------------------------------------------------------------------------------------------
// Tolerances and worst-error bookkeeping

/// The elementwise accuracy rule: `(error in the tier's terms, within bounds)`.
fn elementwise_error(got: f32, exact: f64) -> (f64, bool) {
    let r = f64::from(got);
    if !exact.is_finite() {
        let same = if exact.is_nan() {
            r.is_nan()
        } else {
            r == exact
        };
        return (if same { 0.0 } else { f64::INFINITY }, same);
    }
    let a = exact.abs();
    let d = (r - exact).abs();
    if a >= 1e-6 {
        (d / a, d / a <= 1e-6)
    } else if a >= 1e-30 {
        (d / a, d / a <= 2e-5)
    } else {
        (d, d <= 1e-30)
    }
}

/// The name of the elementwise rule's tier for `exact`, to report each tier's worst error.
fn tier(exact: f64) -> &'static str {
    let a = exact.abs();
    if !a.is_finite() {
        " [exact non-finite]"
    } else if a >= 1e-6 {
        " [rel, exact >= 1e-6]"
    } else if a >= 1e-30 {
        " [rel, exact in [1e-30, 1e-6)]"
    } else {
        " [abs, exact < 1e-30]"
    }
}

/// The largest error the elementwise rule allows at `exact`.
fn elementwise_allowance(exact: f64) -> f64 {
    let a = exact.abs();
    if a >= 1e-6 {
        1e-6 * a
    } else if a >= 1e-30 {
        2e-5 * a
    } else {
        1e-30
    }
}

/// Checks `got` against `exact` with `|error| <= bound`, where both are finite; non-finite
/// exact values must match exactly. Returns `(error / scale, ok)`.
fn bounded(got: f32, exact: f64, scale: f64, bound: f64) -> (f64, bool) {
    let r = f64::from(got);
    if !exact.is_finite() {
        let same = if exact.is_nan() {
            r.is_nan()
        } else {
            r == exact
        };
        return (if same { 0.0 } else { f64::INFINITY }, same);
    }
    let d = (r - exact).abs();
    // Reported relative to the scale; a scale below 1e-30 is held to its absolute bound only.
    let rel = if d == 0.0 || scale < 1e-30 {
        0.0
    } else {
        d / scale
    };
    (rel, d <= bound)
}

#[derive(Default)]
struct Worst {
    /// Per quantity: worst error, where, count.
    worst: BTreeMap<String, (f64, String, u64)>,
    failures: Vec<String>,
}

impl Worst {
    fn record(&mut self, what: &str, (error, ok): (f64, bool), at: impl FnOnce() -> String) {
        let entry = self
            .worst
            .entry(what.to_owned())
            .or_insert((0.0, String::new(), 0));
        entry.2 += 1;
        if ok && error <= entry.0 {
            return;
        }
        let at = at();
        if error > entry.0 {
            entry.0 = error;
            entry.1.clone_from(&at);
        }
        if !ok && self.failures.len() < 40 {
            self.failures.push(format!("{what}: {at}"));
        }
    }

    fn finish(&self, name: &str) {
        eprintln!("{name}: worst errors");
        for (what, (e, at, n)) in &self.worst {
            eprintln!("  {what:<40} n = {n:>8}  worst = {e:.3e}  at {at}");
        }
        assert!(
            self.failures.is_empty(),
            "{name}: {} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Random batches

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    OneHot,
    Soft,
    U8,
    U16,
    I32,
}

struct Case {
    seed: u64,
    dims: o::Dims,
    shape: Shape,
    /// Logits with extremes.
    logits: Vec<f32>,
    /// Probabilities in `[0, 1]` (for `Activation::None`).
    probs: Vec<f32>,
    kind: Kind,
    labels: Vec<i32>,
    labels_u8: Vec<u8>,
    labels_u16: Vec<u16>,
    dense: Vec<f32>,
    ignore: Option<i32>,
}

impl Case {
    fn new(seed: u64) -> Self {
        let mut r = rng(seed);
        // Case 0 is the largest batch the issue asks for.
        let (batch, classes, spatial) = if seed == 0 {
            (4, 8, 4096)
        } else {
            let spatial = (r.random_range(0.0..(4097f64).ln())).exp() as usize;
            (
                r.random_range(1..=4),
                r.random_range(1..=8),
                spatial.clamp(1, 4096),
            )
        };
        let layout = if r.random_bool(0.5) {
            Layout::ChannelsFirst
        } else {
            Layout::ChannelsLast
        };
        let dims = o::Dims {
            batch,
            classes,
            spatial,
            layout,
        };
        let shape = Shape::new(batch, classes, spatial, layout).expect("valid shape");
        let kind = [Kind::OneHot, Kind::Soft, Kind::U8, Kind::U16, Kind::I32][r.random_range(0..5)];
        let spread = [4.0, 12.0, 40.0][r.random_range(0..3)];
        let extreme_rate = [0.0, 0.02, 0.2][r.random_range(0..3)];
        let allow_inf = r.random_bool(0.3);
        let mut extremes = vec![1e4, -1e4, 88.0, -88.0, 30.0, -30.0, 17.0, -17.0];
        if allow_inf {
            extremes.extend([f32::INFINITY, f32::NEG_INFINITY]);
        }
        let n = dims.elements();
        let logits = (0..n)
            .map(|_| {
                if r.random_bool(extreme_rate) {
                    extremes[r.random_range(0..extremes.len())]
                } else {
                    r.random_range(-spread..spread)
                }
            })
            .collect();
        let probs = (0..n)
            .map(|_| match r.random_range(0..10) {
                0 => 0.0,
                1 => 1.0,
                _ => r.random_range(0.0f32..=1.0),
            })
            .collect();
        // Labels drawn from a random subset of the classes, so some classes are absent.
        let present: Vec<i32> = (0..classes as i32).filter(|_| r.random_bool(0.7)).collect();
        let present = if present.is_empty() { vec![0] } else { present };
        let ignore = match kind {
            Kind::OneHot | Kind::Soft => None,
            Kind::U8 => [None, Some(255), Some(0)][r.random_range(0..3)],
            Kind::U16 => [None, Some(65535), Some(1)][r.random_range(0..3)],
            Kind::I32 => [None, Some(-100), Some(2)][r.random_range(0..3)],
        };
        let ignore_rate = if ignore.is_some() { 0.2 } else { 0.0 };
        let labels: Vec<i32> = (0..batch * spatial)
            .map(|_| match ignore {
                Some(i) if r.random_bool(ignore_rate) => i,
                _ => present[r.random_range(0..present.len())],
            })
            .collect();
        let mut dense = vec![0.0f32; n];
        for nn in 0..batch {
            for s in 0..spatial {
                for c in 0..classes {
                    dense[dims.index(nn, s, c)] = match kind {
                        Kind::Soft => match r.random_range(0..8) {
                            0 => 0.0,
                            1 => 1.0,
                            _ => r.random_range(0.0f32..=1.0),
                        },
                        _ => f32::from(u8::from(labels[nn * spatial + s] == c as i32)),
                    };
                }
            }
        }
        Self {
            seed,
            dims,
            shape,
            logits,
            probs,
            kind,
            labels_u8: labels.iter().map(|&l| l as u8).collect(),
            labels_u16: labels.iter().map(|&l| l as u16).collect(),
            labels,
            dense,
            ignore,
        }
    }

    fn targets(&self) -> Targets<'_> {
        let t = match self.kind {
            Kind::OneHot | Kind::Soft => return Targets::dense(&self.dense),
            Kind::U8 => Targets::labels(&self.labels_u8),
            Kind::U16 => Targets::labels(&self.labels_u16),
            Kind::I32 => Targets::labels(&self.labels),
        };
        match self.ignore {
            Some(i) => t.with_ignore_index(i),
            None => t,
        }
    }

    fn truth(&self) -> o::Truth<'_> {
        match self.kind {
            Kind::OneHot | Kind::Soft => o::Truth::Dense(&self.dense),
            _ => o::Truth::Labels {
                labels: &self.labels,
                ignore_index: self.ignore,
            },
        }
    }

    fn describe(&self) -> String {
        format!(
            "seed {} N={} C={} S={} {:?} {:?} ignore={:?}",
            self.seed,
            self.dims.batch,
            self.dims.classes,
            self.dims.spatial,
            self.dims.layout,
            self.kind,
            self.ignore
        )
    }

    /// One sample's scores and targets, as a chunk an accumulator takes.
    fn sample<'a>(&'a self, scores: &'a [f32], n: usize) -> (&'a [f32], Targets<'a>) {
        let len = self.dims.classes * self.dims.spatial;
        let px = n * self.dims.spatial..(n + 1) * self.dims.spatial;
        let s = &scores[n * len..(n + 1) * len];
        let t = match self.kind {
            Kind::OneHot | Kind::Soft => {
                return (s, Targets::dense(&self.dense[n * len..(n + 1) * len]));
            }
            Kind::U8 => Targets::labels(&self.labels_u8[px]),
            Kind::U16 => Targets::labels(&self.labels_u16[px]),
            Kind::I32 => Targets::labels(&self.labels[px]),
        };
        (s, self.ignore.map_or(t, |i| t.with_ignore_index(i)))
    }
}

fn random_weights(r: &mut TestRng, classes: usize) -> Vec<f32> {
    (0..classes)
        .map(|_| match r.random_range(0..6) {
            0 => 0.0,
            1 => 1.0,
            _ => r.random_range(0.05f32..3.0),
        })
        .collect()
}

fn random_alpha_value(r: &mut TestRng) -> f32 {
    [0.0, 0.25, 0.5, 1.0, r.random_range(0.0f32..=1.0)][r.random_range(0..5)]
}

// ---------------------------------------------------------------------------------------------
// Focal losses

/// Checks one class loss: elementwise, per-class sums, and the per-sample and pooled
/// accumulators with their three reductions.
/// Checks `loss` on `scores` against the oracle's `terms` of `pixels` (the same pixels as the
/// oracle sees them: logits, or the logarithms of probabilities).
#[allow(clippy::too_many_arguments)]
fn check_class_loss<L: ClassLoss>(
    w: &mut Worst,
    name: &'static [&'static str; 4],
    case: &Case,
    loss: L,
    scores: &[f32],
    pixels: &[o::Pixel],
    terms: impl Fn(&o::Pixel) -> Vec<f64>,
    ctx: &str,
) {
    let (dims, shape) = (&case.dims, &case.shape);
    let at = |i: usize| format!("{} {ctx} element {i}", case.describe());

    // Elementwise.
    let exact = o::elementwise(dims, pixels, &terms);
    let mut got = vec![f32::NAN; dims.elements()];
    loss.loss_elementwise(shape, scores, case.targets(), &mut got)
        .expect("elementwise");
    for (i, (&g, &e)) in got.iter().zip(&exact).enumerate() {
        w.record(
            &format!("{}{}", name[0], tier(e)),
            elementwise_error(g, e),
            || format!("{}: got {g:e} exact {e:e}", at(i)),
        );
    }

    // Per-(sample, class) sums: summation and end to end.
    let exact_sums = o::class_sums(dims, pixels, &terms);
    let mut own = vec![o::Sum::default(); dims.batch * dims.classes];
    let mut allowance = vec![0.0f64; dims.batch * dims.classes];
    for p in pixels {
        for c in 0..dims.classes {
            let i = dims.index(p.sample, p.position, c);
            let k = p.sample * dims.classes + c;
            own[k].add(f64::from(got[i]));
            allowance[k] += elementwise_allowance(exact[i]);
        }
    }
    let mut sums = vec![f32::NAN; dims.batch * dims.classes];
    loss.class_sums::<CAP>(shape, scores, case.targets(), &mut sums)
        .expect("class_sums");
    for (k, &g) in sums.iter().enumerate() {
        let o = own[k];
        w.record(
            name[1],
            bounded(g, o.value, o.scale, 1e-6 * o.scale),
            || {
                format!(
                    "{} {ctx} sum {k}: got {g:e} own {:e}",
                    case.describe(),
                    o.value
                )
            },
        );
        let e = exact_sums[k];
        let bound = 1e-6 * e.scale + allowance[k];
        w.record(name[2], bounded(g, e.value, e.scale, bound), || {
            format!(
                "{} {ctx} sum {k}: got {g:e} exact {:e}",
                case.describe(),
                e.value
            )
        });
    }

    // Accumulators: per sample (bit-identical to class_sums) and pooled over the batch.
    let mut pooled = ClassLossAccumulator::<L, CAP>::new(loss, dims.classes).expect("new");
    let mut row = [0.0f32; CAP];
    for n in 0..dims.batch {
        let mut acc = ClassLossAccumulator::<L, CAP>::new(loss, dims.classes).expect("new");
        let (s, t) = case.sample(scores, n);
        acc.push(case.shape.layout(), s, t).expect("push");
        pooled.push(case.shape.layout(), s, t).expect("push");
        acc.class_sums(&mut row).expect("row");
        for c in 0..dims.classes {
            assert_eq!(
                row[c].to_bits(),
                sums[n * dims.classes + c].to_bits(),
                "{} {ctx}: accumulator and class_sums differ",
                case.describe()
            );
        }
    }
    let total = o::Sum {
        value: exact_sums.iter().map(|s| s.value).sum(),
        scale: exact_sums.iter().map(|s| s.scale).sum(),
    };
    let allowed: f64 = allowance.iter().sum();
    let count = pixels.len();
    assert_eq!(pooled.pixels(), count as u64, "{}", case.describe());
    let checks = [
        (pooled.total(), 1.0),
        (
            pooled.mean_per_element().unwrap_or(f32::NAN),
            (count * dims.classes) as f64,
        ),
        (pooled.mean_per_pixel().unwrap_or(f32::NAN), count as f64),
    ];
    if count == 0 {
        assert_eq!(pooled.mean_per_pixel(), Err(loss_core::Error::EmptyInput));
        return;
    }
    for (g, div) in checks {
        let (v, s) = (total.value / div, total.scale / div);
        let bound = 1e-6 * s + allowed / div;
        w.record(name[3], bounded(g, v, s, bound), || {
            format!(
                "{} {ctx} total/{div}: got {g:e} exact {v:e}",
                case.describe()
            )
        });
    }
}

#[test]
fn softmax_focal_matches_oracle() {
    let mut w = Worst::default();
    for seed in 0..CASES {
        let case = Case::new(seed);
        let mut r = rng(seed + 1000);
        let classes = case.dims.classes;
        let gamma = GAMMAS[r.random_range(0..GAMMAS.len())];
        let list: Vec<f32> = (0..classes).map(|_| random_alpha_value(&mut r)).collect();
        let alpha = match r.random_range(0..4) {
            0 => ClassAlpha::None,
            1 => ClassAlpha::Background(random_alpha_value(&mut r)),
            2 => ClassAlpha::Uniform(random_alpha_value(&mut r)),
            _ => ClassAlpha::PerClass(&list),
        };
        let weights = random_weights(&mut r, classes);
        let weights = r.random_bool(0.5).then_some(weights.as_slice());
        // Keras's clip of the probabilities (`CategoricalFocalCrossentropy`) in some cases.
        let clip = r.random_bool(0.3).then_some((1e-7f32, 1.0 - 1e-7f32));
        let mut loss = SoftmaxFocal::new(alpha, gamma, weights).expect("valid");
        if let Some((lo, hi)) = clip {
            loss = loss.with_probability_clip(lo, hi).expect("clip");
        }
        // Probabilities in some cases: the oracle renormalises them as the softmax of their
        // logarithms (f64), loss-core as `p / p_max` (no exponential).
        let probabilities = r.random_bool(0.3);
        let (scores, pixels) = if probabilities {
            loss = loss.with_predictions(Predictions::Probabilities);
            let mut pixels = o::pixels(&case.dims, &case.probs, case.truth());
            for p in &mut pixels {
                p.scores.iter_mut().for_each(|v| *v = v.ln());
            }
            (&case.probs, pixels)
        } else {
            (
                &case.logits,
                o::pixels(&case.dims, &case.logits, case.truth()),
            )
        };
        let ctx = format!(
            "gamma {gamma} {alpha:?} weights {weights:?} clip {clip:?} probabilities {probabilities}"
        );
        check_class_loss(
            &mut w,
            if probabilities {
                &[
                    "softmax focal on probabilities elementwise",
                    "softmax focal on probabilities class sums (summation)",
                    "softmax focal on probabilities class sums (end to end)",
                    "softmax focal on probabilities total and means",
                ]
            } else {
                &[
                    "softmax focal elementwise",
                    "softmax focal class sums (summation)",
                    "softmax focal class sums (end to end)",
                    "softmax focal total and means",
                ]
            },
            &case,
            loss,
            scores,
            &pixels,
            |p| o::softmax_focal_terms_clipped(p, f64::from(gamma), alpha, weights, clip),
            &ctx,
        );
    }
    w.finish("softmax focal");
}

#[test]
fn one_vs_rest_focal_matches_oracle() {
    let mut w = Worst::default();
    for seed in 0..CASES {
        let case = Case::new(seed);
        let mut r = rng(seed + 2000);
        let classes = case.dims.classes;
        let gamma = GAMMAS[r.random_range(0..GAMMAS.len())];
        let list: Vec<f32> = (0..classes).map(|_| random_alpha_value(&mut r)).collect();
        let alpha = match r.random_range(0..4) {
            0 => ClassAlpha::None,
            1 => ClassAlpha::Uniform(random_alpha_value(&mut r)),
            2 => ClassAlpha::PerClass(&list),
            _ => ClassAlpha::Positives(&list),
        };
        let weights = random_weights(&mut r, classes);
        let weights = r.random_bool(0.5).then_some(weights.as_slice());
        let soft = [
            SoftTargets::Torchvision,
            SoftTargets::Monai,
            SoftTargets::Kornia,
            SoftTargets::Smp,
        ][r.random_range(0..4)];
        let loss = OneVsRestFocal::new(alpha, gamma, weights)
            .expect("valid")
            .with_soft_targets(soft);
        let ctx = format!("gamma {gamma} {alpha:?} weights {weights:?} {soft:?}");
        check_class_loss(
            &mut w,
            &[
                "one-vs-rest elementwise",
                "one-vs-rest class sums (summation)",
                "one-vs-rest class sums (end to end)",
                "one-vs-rest total and means",
            ],
            &case,
            loss,
            &case.logits,
            &o::pixels(&case.dims, &case.logits, case.truth()),
            |p| o::one_vs_rest_terms(p, f64::from(gamma), alpha, weights, soft),
            &ctx,
        );
    }
    w.finish("one-vs-rest focal");
}

/// Cross-entropy (gamma 0, no weights) against the oracle's independent `ln Σ exp` form, and
/// its mean over the non-ignored pixels (PyTorch's `cross_entropy(ignore_index=...)`).
#[test]
fn softmax_focal_gamma_zero_is_cross_entropy() {
    let mut w = Worst::default();
    for seed in 0..CASES {
        let case = Case::new(seed);
        if matches!(case.kind, Kind::OneHot | Kind::Soft) {
            continue;
        }
        let finite: Vec<f32> = case
            .logits
            .iter()
            .map(|&x| if x.is_finite() { x } else { x.signum() * 1e4 })
            .collect();
        let pixels = o::pixels(&case.dims, &finite, case.truth());
        let mut acc =
            ClassLossAccumulator::<_, CAP>::new(SoftmaxFocal::cross_entropy(), case.dims.classes)
                .expect("new");
        let mut out = vec![0.0f32; case.dims.elements()];
        SoftmaxFocal::new(ClassAlpha::None, 0.0, None)
            .expect("valid")
            .loss_elementwise(&case.shape, &finite, case.targets(), &mut out)
            .expect("elementwise");
        let mut exact = o::Sum::default();
        for p in &pixels {
            let k = p.label.expect("label");
            let ce = o::cross_entropy(&p.scores, k);
            exact.add(ce);
            let g = out[case.dims.index(p.sample, p.position, k)];
            w.record(
                &format!("cross-entropy elementwise{}", tier(ce)),
                elementwise_error(g, ce),
                || format!("{}: got {g:e} exact {ce:e}", case.describe()),
            );
        }
        for n in 0..case.dims.batch {
            let (s, t) = case.sample(&finite, n);
            acc.push(case.shape.layout(), s, t).expect("push");
        }
        if pixels.is_empty() {
            continue;
        }
        let mean = exact.value / pixels.len() as f64;
        let g = acc.mean_per_pixel().expect("mean");
        // The elementwise allowance is at most 1e-6 relative for these (mostly normal) values.
        w.record(
            "cross-entropy mean",
            bounded(g, mean, mean, 2e-6 * mean),
            || format!("{}: got {g:e} exact {mean:e}", case.describe()),
        );
    }
    w.finish("cross-entropy");
}

// ---------------------------------------------------------------------------------------------
// Overlap statistics and losses

/// The oracle statistics of loss-core's own f32 statistics (to check the formulas alone).
fn from_stats(s: &OverlapStats) -> o::ClassStats {
    let sum = |v: f32| o::Sum {
        value: f64::from(v),
        scale: f64::from(v).abs(),
    };
    o::ClassStats {
        intersection: sum(s.intersection),
        prediction_sum: sum(s.prediction_sum),
        target_sum: sum(s.target_sum),
        count: s.count,
    }
}

/// `|loss| + |score|` per entry, in place of the loss: the scale of a reduced overlap loss.
fn magnitude_stats(loss: &OverlapLoss, s: &o::ClassStats) -> f64 {
    let l = o::overlap_loss(loss, s);
    l.abs() + (1.0 - l).abs()
}

/// The error the elementwise rule allows a probability `p` (or a term of the same relative
/// accuracy) of magnitude `v`: relative for `|p| >= 1e-30`, else absolute.
fn term_allowance(p: f64, v: f64) -> f64 {
    let a = p.abs();
    if a >= 1e-6 {
        1e-6 * v.abs()
    } else if a >= 1e-30 {
        2e-5 * v.abs()
    } else {
        1e-30
    }
}

/// Per (sample, class), the summed allowance of the terms of `[tp, P, T]`: each probability
/// has the elementwise rule's accuracy, a square doubles its relative error, a product with
/// an exact target keeps it, and a squared target is rounded once.
fn stats_allowance(dims: &o::Dims, pixels: &[o::Pixel], overlap: &ClassOverlap) -> Vec<[f64; 3]> {
    let mut out = vec![[0.0; 3]; dims.batch * dims.classes];
    let k = if overlap.squared { 2.0 } else { 1.0 };
    for px in pixels {
        let p = o::activate(&px.scores, overlap.activation);
        for (c, (&p, &t)) in p.iter().zip(&px.targets).enumerate() {
            let tp = match overlap.intersection {
                Intersection::Product => p * t,
                Intersection::Min => p.min(t),
            };
            let a = &mut out[px.sample * dims.classes + c];
            a[0] += term_allowance(p, tp);
            a[1] += k * term_allowance(p, if overlap.squared { p * p } else { p });
            a[2] += if overlap.squared {
                t * t * f64::from(f32::EPSILON) / 2.0
            } else {
                0.0
            };
        }
    }
    out
}

fn check_stats(
    w: &mut Worst,
    what: &'static str,
    case: &Case,
    got: &[OverlapStats],
    exact: &[o::ClassStats],
    allowance: &[[f64; 3]],
    ctx: &str,
) {
    for (k, ((g, e), allow)) in got.iter().zip(exact).zip(allowance).enumerate() {
        assert_eq!(g.count, e.count, "{} {ctx}", case.describe());
        for (j, (gv, ev)) in [
            (g.intersection, e.intersection),
            (g.prediction_sum, e.prediction_sum),
            (g.target_sum, e.target_sum),
        ]
        .into_iter()
        .enumerate()
        {
            let bound = 1e-6 * ev.scale + allow[j];
            let what = format!("{what}{}", tier(ev.scale));
            w.record(&what, bounded(gv, ev.value, ev.scale, bound), || {
                format!(
                    "{} {ctx} stats {k}.{j}: got {gv:e} exact {:e} scale {:e}",
                    case.describe(),
                    ev.value,
                    ev.scale
                )
            });
        }
    }
}

#[test]
fn overlap_statistics_and_losses_match_oracle() {
    let mut w = Worst::default();
    for seed in 0..CASES {
        let case = Case::new(seed);
        let mut r = rng(seed + 3000);
        let (dims, classes) = (&case.dims, case.dims.classes);
        let activation = [
            Activation::None,
            Activation::Sigmoid,
            Activation::Softmax,
            Activation::Tanh,
        ][r.random_range(0..4)];
        let overlap = ClassOverlap {
            activation,
            squared: r.random_bool(0.3),
            intersection: if r.random_bool(0.3) {
                Intersection::Min
            } else {
                Intersection::Product
            },
        };
        let scores = if activation == Activation::None {
            &case.probs
        } else {
            &case.logits
        };
        let ctx = format!("{overlap:?}");
        let pixels = o::pixels(dims, scores, case.truth());
        let exact = o::class_stats(
            dims,
            &pixels,
            activation,
            overlap.squared,
            overlap.intersection,
        );
        let mut got = vec![OverlapStats::default(); dims.batch * classes];
        overlap
            .class_stats::<CAP>(&case.shape, scores, case.targets(), &mut got)
            .expect("class_stats");
        let allowance = stats_allowance(dims, &pixels, &overlap);
        check_stats(
            &mut w,
            "overlap class stats",
            &case,
            &got,
            &exact,
            &allowance,
            &ctx,
        );
        let mut pooled_allowance = vec![[0.0; 3]; classes];
        for (i, a) in allowance.iter().enumerate() {
            for j in 0..3 {
                pooled_allowance[i % classes][j] += a[j];
            }
        }
        let exact_pooled = o::pooled(&exact, classes);
        let mut pooled = vec![OverlapStats::default(); classes];
        overlap
            .pooled_class_stats::<CAP>(&case.shape, scores, case.targets(), &mut pooled)
            .expect("pooled");
        check_stats(
            &mut w,
            "overlap pooled stats",
            &case,
            &pooled,
            &exact_pooled,
            &pooled_allowance,
            &ctx,
        );
        // The streaming accumulator fed sample by sample gives the pooled statistics.
        let mut acc = ClassStatsAccumulator::<CAP>::new(overlap, classes).expect("new");
        for n in 0..dims.batch {
            let (s, t) = case.sample(scores, n);
            acc.push(case.shape.layout(), s, t).expect("push");
        }
        let mut streamed = vec![OverlapStats::default(); classes];
        acc.stats(&mut streamed).expect("stats");
        assert_eq!(streamed, pooled, "{} {ctx}", case.describe());

        // Reductions of the per-sample statistics, and generalized dice.
        let (s_nr, s_dr) = [(1e-5, 1e-5), (0.0, 1e-5), (1.0, 1.0)][r.random_range(0..3)];
        let base = match r.random_range(0..3) {
            0 => OverlapLoss::dice(),
            1 => OverlapLoss::jaccard(),
            _ => OverlapLoss::tversky(r.random_range(0.0f32..1.0), r.random_range(0.0f32..1.0))
                .expect("tversky"),
        };
        let loss = base.with_smoothing(s_nr, s_dr).expect("smoothing");
        let weights = random_weights(&mut r, classes);
        let red = ClassReduction {
            include_background: r.random_bool(0.5),
            weights: r.random_bool(0.5).then_some(weights.as_slice()),
            weighting: if r.random_bool(0.5) {
                Weighting::Multiply
            } else {
                Weighting::Normalize
            },
            empty: [EmptyClass::Formula, EmptyClass::Zero, EmptyClass::Skip][r.random_range(0..3)],
            reduction: if r.random_bool(0.7) {
                Reduction::Mean
            } else {
                Reduction::Sum
            },
        };
        let ctx = format!("{ctx} {loss:?} {red:?}");
        let own: Vec<o::ClassStats> = got.iter().map(from_stats).collect();
        for pooled_batch in [false, true] {
            let (g, e): (&[OverlapStats], &[o::ClassStats]) = if pooled_batch {
                (&pooled, &exact_pooled)
            } else {
                (&got, &exact)
            };
            check_class_reduction(
                &mut w,
                &case,
                &red,
                &loss,
                g,
                &g.iter().map(from_stats).collect::<Vec<_>>(),
                e,
                &ctx,
            );
        }

        let weight_type =
            [WeightType::Square, WeightType::Simple, WeightType::Uniform][r.random_range(0..3)];
        let first = usize::from(r.random_bool(0.5) && classes > 1);
        let gdl = GeneralizedDice::new(weight_type, s_nr, s_dr)
            .expect("gdl")
            .with_include_background(first == 0);
        if activation != Activation::Tanh {
            for n in 0..dims.batch {
                let g = gdl.loss(&got[n * classes..(n + 1) * classes]).expect("gdl");
                let row = n * classes + first..(n + 1) * classes;
                let (s_nr, s_dr) = (f64::from(s_nr), f64::from(s_dr));
                let formula = o::generalized_dice(weight_type, s_nr, s_dr, &own[row.clone()]);
                let e = o::generalized_dice(weight_type, s_nr, s_dr, &exact[row]);
                let scale = e.abs() + (1.0 - e).abs();
                w.record(
                    "generalized dice (formula)",
                    bounded(g, formula, scale, 1e-6 * scale),
                    || {
                        format!(
                            "{} {ctx} {weight_type:?} sample {n}: got {g:e} formula {formula:e}",
                            case.describe()
                        )
                    },
                );
                w.record(
                    "generalized dice (end to end)",
                    bounded(g, e, scale, 1e-6 * scale),
                    || {
                        format!(
                            "{} {ctx} {weight_type:?} sample {n}: got {g:e} exact {e:e}",
                            case.describe()
                        )
                    },
                );
            }
        }
    }
    w.finish("overlap");
}

/// Checks `ClassReduction::reduce` and `losses` on loss-core's statistics `got` against the
/// oracle on the same statistics (`own`, formula only) and on the exact statistics (end to end,
/// not for `tanh`, whose scores can make a denominator cancel).
#[allow(clippy::too_many_arguments)]
fn check_class_reduction(
    w: &mut Worst,
    case: &Case,
    red: &ClassReduction<'_>,
    loss: &OverlapLoss,
    got: &[OverlapStats],
    own: &[o::ClassStats],
    exact: &[o::ClassStats],
    ctx: &str,
) {
    let classes = case.dims.classes;
    // The scale: the same reduction of |loss| + |score| (weights and skips as for the loss).
    let scale_of = |stats: &[o::ClassStats]| {
        let mags: Vec<f64> = stats.iter().map(|s| magnitude_stats(loss, s)).collect();
        let first = usize::from(!red.include_background && classes > 1);
        let (mut total, mut weight_sum, mut n) = (0.0, 0.0, 0u64);
        for (i, m) in mags.iter().enumerate() {
            let c = i % classes;
            if c < first || (red.empty == EmptyClass::Skip && stats[i].target_sum.value == 0.0) {
                continue;
            }
            let wgt = red.weights.map_or(1.0, |w| f64::from(w[c]));
            total += m * wgt;
            weight_sum += wgt;
            n += 1;
        }
        match (red.weighting, red.reduction) {
            (_, Reduction::Sum) => total,
            (Weighting::Multiply, Reduction::Mean) => total / n.max(1) as f64,
            (Weighting::Normalize, Reduction::Mean) => total / weight_sum,
        }
    };
    // `tanh` scores make `P + T` cancel: the ratio has no bounded condition number, so tanh
    // is checked at the statistics only.
    if case_has_tanh(ctx) {
        return;
    }
    let g = red.reduce(loss, got, classes);
    let formula = o::class_reduce(red, loss, own, classes);
    let at =
        |what: &str, v: Option<f64>| format!("{} {ctx}: got {g:?}, {what} {v:?}", case.describe());
    match (g, formula) {
        (Ok(g), Some(f)) => {
            let scale = scale_of(own);
            w.record(
                "class reduction (formula)",
                bounded(g, f, scale, 1e-6 * scale),
                || at("formula", formula),
            );
        }
        (Err(loss_core::Error::EmptyInput), None) => {}
        _ => panic!("{}", at("formula", formula)),
    }
    let e = o::class_reduce(red, loss, exact, classes);
    match (g, e) {
        (Ok(g), Some(ev)) => {
            let scale = scale_of(exact);
            if scale.is_finite() {
                w.record(
                    "class reduction (end to end)",
                    bounded(g, ev, scale, 1e-6 * scale),
                    || at("exact", e),
                );
            }
        }
        // An entry with T = 0 in f32 but not in f64 (or the reverse) cannot happen: targets
        // are exact and T sums them exactly (or both are zero).
        (Err(loss_core::Error::EmptyInput), None) => {}
        _ => panic!("{}", at("exact", e)),
    }
    // reduction="none": per entry against the formula on the same statistics.
    let mut out = vec![0.0f32; got.len()];
    let n = red.losses(loss, got, classes, &mut out).expect("losses");
    let want = o::class_losses(red, loss, own, classes);
    assert_eq!(n, want.len());
    for (i, (&g, want)) in out.iter().zip(&want).enumerate() {
        match want {
            None => assert!(
                g.is_nan(),
                "{} {ctx}: skipped entry {i} is {g}",
                case.describe()
            ),
            Some(v) => {
                let scale = v.abs() + 1.0;
                w.record(
                    "class losses (none, formula)",
                    bounded(g, *v, scale, 1e-6 * scale),
                    || {
                        format!(
                            "{} {ctx} entry {i}: got {g:e} formula {v:e}",
                            case.describe()
                        )
                    },
                );
            }
        }
    }
}

fn case_has_tanh(ctx: &str) -> bool {
    ctx.contains("Tanh")
}

// ---------------------------------------------------------------------------------------------
// Confusion metrics

#[test]
fn confusion_counts_and_metrics_match_oracle() {
    let mut w = Worst::default();
    for seed in 0..CASES {
        let case = Case::new(seed);
        let mut r = rng(seed + 4000);
        let classes = case.dims.classes;
        let decision = if r.random_bool(0.5) {
            Decision::Argmax
        } else {
            Decision::Threshold(r.random_range(-2.0f32..2.0))
        };
        let pixels = o::pixels(&case.dims, &case.logits, case.truth());
        let exact = o::confusion(&pixels, classes, decision);
        let mut acc = ConfusionAccumulator::<CAP>::new(decision, classes).expect("new");
        for n in 0..case.dims.batch {
            let (s, t) = case.sample(&case.logits, n);
            acc.push(case.shape.layout(), s, t).expect("push");
        }
        assert_eq!(
            acc.counts(),
            exact.as_slice(),
            "{} {decision:?}",
            case.describe()
        );
        let metrics = [
            Metric::Dice,
            Metric::Iou,
            Metric::Precision,
            Metric::Recall,
            Metric::F1,
            Metric::Specificity,
        ];
        for m in metrics {
            for k in acc.counts() {
                assert_eq!(k.metric(m), o::metric(k, m).map(|v| v as f32));
            }
            for undefined in [
                Undefined::Skip,
                Undefined::Value(0.0),
                Undefined::Value(1.0),
            ] {
                for include_background in [true, false] {
                    let g = macro_average(acc.counts(), m, include_background, undefined);
                    let first = usize::from(!include_background);
                    let e = o::macro_average(&exact, m, first, undefined);
                    match (g, e) {
                        (Some(g), Some(e)) => {
                            w.record(
                                "macro average",
                                bounded(g, e, e.max(1e-300), 1e-6 * e),
                                || format!("{} {m:?}: got {g:e} exact {e:e}", case.describe()),
                            );
                        }
                        (None, None) => {}
                        _ => panic!("{} {m:?} {undefined:?}: {g:?} vs {e:?}", case.describe()),
                    }
                }
            }
        }
    }
    w.finish("confusion");
}

// ---------------------------------------------------------------------------------------------
// Keras binary focal on probabilities

#[test]
fn keras_binary_focal_matches_oracle() {
    let mut w = Worst::default();
    let mut probs: Vec<f32> = vec![
        0.0,
        1.0,
        1e-7,
        1.0 - 1e-7,
        1e-8,
        5e-8,
        1.0 - 5e-8,
        1e-30,
        f32::MIN_POSITIVE,
        0.5,
        0.999,
        1e-3,
    ];
    for k in 1..=300 {
        let d = 10f64.powf(-f64::from(k) / 40.0);
        probs.extend([d as f32, (1.0 - d) as f32]);
    }
    let targets = [0.0, 1.0, 0.05, 0.3, 0.5, 0.9, 0.975];
    for &gamma in &GAMMAS {
        for alpha in [None, Some(0.25), Some(0.0), Some(1.0)] {
            let fl = BinaryFocal::keras(alpha, gamma).expect("valid");
            for &p in &probs {
                for &t in &targets {
                    let got = fl.element(p, t);
                    let exact = o::keras_binary_focal(
                        f64::from(p),
                        f64::from(t),
                        alpha.map(f64::from),
                        f64::from(gamma),
                    );
                    w.record(&format!("keras binary focal elementwise{}", tier(exact)), elementwise_error(got, exact), || {
                        format!("p {p:e} t {t} alpha {alpha:?} gamma {gamma}: got {got:e} exact {exact:e}")
                    });
                }
            }
            // The mean over the sweep, through the crate's reduction.
            let (ps, ts): (Vec<f32>, Vec<f32>) = probs
                .iter()
                .flat_map(|&p| targets.iter().map(move |&t| (p, t)))
                .unzip();
            let got = fl.loss(&ps, &ts).expect("mean");
            let exact: Vec<f64> = ps
                .iter()
                .zip(&ts)
                .map(|(&p, &t)| {
                    o::keras_binary_focal(
                        f64::from(p),
                        f64::from(t),
                        alpha.map(f64::from),
                        f64::from(gamma),
                    )
                })
                .collect();
            let mean = exact.iter().sum::<f64>() / exact.len() as f64;
            let allowed: f64 =
                exact.iter().map(|&e| elementwise_allowance(e)).sum::<f64>() / exact.len() as f64;
            w.record(
                "keras binary focal mean",
                bounded(got, mean, mean, 1e-6 * mean + allowed),
                || format!("alpha {alpha:?} gamma {gamma}: got {got:e} exact {mean:e}"),
            );
        }
    }
    w.finish("keras binary focal");
}

/// The winning class's `-log p` keeps its relative accuracy at any margin: it is
/// `log1p(Σ exp(x_k - m))` over the other classes, not `log` of a sum that rounds to 1 (which
/// gave 0 at margin 17 and 1e-4 relative errors at margin 9).
#[test]
fn winning_class_cross_entropy_keeps_relative_accuracy() {
    for margin in [1.0f32, 5.0, 9.0, 17.0, 30.0, 60.0, 87.0] {
        for classes in [2usize, 3, 8] {
            let mut scores = vec![0.0f32; classes];
            scores[1] = margin;
            let labels = [1u8];
            let shape = Shape::new(1, classes, 1, Layout::ChannelsLast).expect("shape");
            let mut out = vec![0.0f32; classes];
            SoftmaxFocal::cross_entropy()
                .loss_elementwise(&shape, &scores, Targets::labels(&labels), &mut out)
                .expect("elementwise");
            let x: Vec<f64> = scores.iter().map(|&v| f64::from(v)).collect();
            let exact = o::cross_entropy(&x, 1);
            let (error, ok) = elementwise_error(out[1], exact);
            assert!(
                ok,
                "margin {margin}, C {classes}: {} vs {exact:e} ({error:e})",
                out[1]
            );
            assert!(
                out[1] > 0.0,
                "margin {margin}: the loss must not round to 0"
            );
        }
    }
}
