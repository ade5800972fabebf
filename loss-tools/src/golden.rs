//! Golden vectors: inputs and the host's exact output bits for every public loss, reduction and
//! streaming path of `loss-core`, written as Rust source (`golden/src/vectors.rs`).
//!
//! The vectors are the generated module of the `golden` crate (`loss-golden`), next to its case
//! types and evaluator. The host test `tests/tests/golden.rs` and the firmware under `firmware/`
//! depend on that crate: the firmware recomputes every case on the device and compares bit for
//! bit (any NaN matches any NaN; see [`golden::same_bits`]). The file is plain `static` tables,
//! so the device needs no parser.
//!
//! Coverage: [`focal::SigmoidFocal`](loss_core::focal::SigmoidFocal) (gammas 0, 0.5, 1, 2, 3,
//! 4, 5; alphas none, 0, 0.25, 0.5, 0.75, 1; the three soft-target conventions),
//! [`focal::BinaryFocal`](loss_core::focal::BinaryFocal) (the same gammas, clamp bounds at 0/1,
//! 1e-3/0.999 and 1e-7/1-1e-7), every [`dice::OverlapLoss`](loss_core::dice::OverlapLoss)
//! preset and option; reductions mean, sum, elementwise (`none`) and per sample; streaming with
//! uneven chunkings across the 64-value block boundary (including empty and rejected chunks);
//! `Reduction::reduce`, `DetSum`, `first_non_finite`; and the error of every kind of bad input.
//! Inputs include logits `±1e4`, `±88`, `±inf`, `±0`, soft targets, empty and full masks, and
//! probabilities at 0, 1 and just inside and outside the clamp bounds.
//!
//! Everything is deterministic: inputs come from a fixed xorshift sequence and the file is
//! rendered byte for byte the same on every run, so a stale file is detected by comparing text.

use std::fmt::Write as _;

use loss_core::multiclass::{
    Activation, ClassAlpha, ClassOverlap, ClassReduction, Decision, EmptyClass, Intersection,
    Layout, WeightType, Weighting,
};
use loss_core::{Predictions, Reduction, focal::SoftTargets};

use golden::{BAD_CHUNK, LabelKind, MultiLoss, Op, OverlapBase, Spec, Words};

/// The generated file's path relative to the workspace root.
pub const VECTORS_PATH: &str = "golden/src/vectors.rs";

/// A named pair of input slices shared by many cases.
#[derive(Debug, Clone)]
pub struct InputSet {
    /// Identifier used in case names and in the generated `static`s.
    pub name: &'static str,
    /// Predictions: logits or probabilities.
    pub predictions: Vec<f32>,
    /// Targets.
    pub targets: Vec<f32>,
}

/// One case before evaluation.
#[derive(Debug, Clone)]
pub struct CaseSpec {
    /// Unique name.
    pub name: String,
    /// What to compute.
    pub spec: Spec,
    /// How to drive it.
    pub op: Op,
    /// Index into the input sets.
    pub input: usize,
}

/// A case with the host's result.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The case.
    pub case: CaseSpec,
    /// Output words, or the error `loss-core` returned.
    pub result: Result<Vec<u32>, loss_core::Error>,
}

/// Deterministic xorshift32 values.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// Uniform in `[0, 1)` with 24 random bits.
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 24) as f32
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    fn bit(&mut self) -> f32 {
        if self.next() & 0x100 != 0 { 1.0 } else { 0.0 }
    }
}

/// Logits that stress the stable forms: saturating, overflowing `exp`, infinite, signed zero,
/// tiny, around the `exp(-|x|)` underflow (`|x| ~ 88..104`).
const EXTREME_LOGITS: [f32; 18] = [
    1e4,
    -1e4,
    88.0,
    -88.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    17.0,
    -17.0,
    1e-30,
    -1e-30,
    30.0,
    -30.0,
    103.0,
    -103.0,
    f32::MAX,
    f32::MIN,
];

/// Probabilities at and around 0, 1 and the clamp bounds used below.
const EDGE_PROBS: [f32; 14] = [
    0.0,
    1.0,
    1e-3,
    0.999,
    5e-4,
    0.9995,
    1e-45,
    1e-7,
    0.999_999_9,
    0.999_999_94,
    0.5,
    1e-38,
    0.001_000_1,
    0.998_999_9,
];

/// The input sets, in a fixed order.
pub fn input_sets() -> Vec<InputSet> {
    let mut rng = Rng(0x5EED_F0CA);
    let mut sets = Vec::new();

    // Every extreme logit with both labels: per-element limits (the reduced values are `+inf`).
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for &x in &EXTREME_LOGITS {
        p.extend([x, x]);
        t.extend([0.0, 1.0]);
    }
    sets.push(InputSet {
        name: "logits_extreme",
        predictions: p,
        targets: t,
    });
    // Hard targets on logits: the finite extremes with both labels, then random logits.
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for &x in EXTREME_LOGITS.iter().filter(|x| x.abs() <= 1e4) {
        p.extend([x, x]);
        t.extend([0.0, 1.0]);
    }
    while p.len() < 160 {
        p.push(rng.range(-10.0, 10.0));
        t.push(rng.bit());
    }
    sets.push(InputSet {
        name: "logits_hard",
        predictions: p,
        targets: t,
    });

    // Soft targets on logits, including exact 0 / 1 mixed in and 0.5 (MONAI's `2t - 1 = 0`).
    let soft = [0.5, 0.3, 0.7, 1e-3, 0.999, 0.0, 1.0, 0.1];
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for (i, &x) in EXTREME_LOGITS.iter().enumerate() {
        p.extend([x, x]);
        t.extend([soft[i % soft.len()], soft[(i + 3) % soft.len()]]);
    }
    while p.len() < 96 {
        p.push(rng.range(-12.0, 12.0));
        t.push(rng.unit());
    }
    sets.push(InputSet {
        name: "logits_soft",
        predictions: p,
        targets: t,
    });

    // Probabilities with hard targets: edges with both labels, then random.
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for &x in &EDGE_PROBS {
        p.extend([x, x]);
        t.extend([0.0, 1.0]);
    }
    while p.len() < 96 {
        p.push(rng.unit());
        t.push(rng.bit());
    }
    sets.push(InputSet {
        name: "probs_hard",
        predictions: p,
        targets: t,
    });

    // Probabilities with soft targets.
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for (i, &x) in EDGE_PROBS.iter().enumerate() {
        p.extend([x, x]);
        t.extend([soft[i % soft.len()], soft[(i + 5) % soft.len()]]);
    }
    while p.len() < 96 {
        p.push(rng.unit());
        t.push(rng.unit());
    }
    sets.push(InputSet {
        name: "probs_soft",
        predictions: p,
        targets: t,
    });

    // Empty mask: nothing to find, small predictions (probabilities).
    sets.push(InputSet {
        name: "empty_mask",
        predictions: (0..96).map(|_| rng.range(0.0, 0.2)).collect(),
        targets: vec![0.0; 96],
    });
    // Empty mask and empty prediction: the dice 0/0 case.
    sets.push(InputSet {
        name: "all_zero",
        predictions: vec![0.0; 70],
        targets: vec![0.0; 70],
    });
    // Empty mask, confident logits (including -inf).
    let mut p: Vec<f32> = (0..66).map(|_| rng.range(-20.0, -5.0)).collect();
    p[3] = f32::NEG_INFINITY;
    p[40] = -1e4;
    sets.push(InputSet {
        name: "empty_mask_logits",
        predictions: p,
        targets: vec![0.0; 66],
    });
    // Full mask, confident probabilities.
    sets.push(InputSet {
        name: "full_mask",
        predictions: (0..80).map(|_| rng.range(0.8, 1.0)).collect(),
        targets: vec![1.0; 80],
    });
    // A batch of 4 samples of 48 probabilities: a blob, an empty mask, a full mask, noise.
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for s in 0..4 {
        for i in 0..48 {
            let target = match s {
                0 => f32::from(u8::from((12..30).contains(&i))),
                1 => 0.0,
                2 => 1.0,
                _ => rng.bit(),
            };
            let noise = rng.range(0.0, 0.3);
            p.push(if target == 1.0 { 1.0 - noise } else { noise });
            t.push(target);
        }
    }
    sets.push(InputSet {
        name: "batch4",
        predictions: p,
        targets: t,
    });
    // The same batch as logits (with one saturated value per sample).
    let (mut p, t) = (
        Vec::new(),
        sets.last().map(|s| s.targets.clone()).unwrap_or_default(),
    );
    for (i, &target) in t.iter().enumerate() {
        let x = rng.range(0.5, 8.0);
        p.push(match (i % 48 == 7, target == 1.0) {
            (true, true) => f32::INFINITY,
            (true, false) => -1e4,
            (false, true) => x,
            (false, false) => -x,
        });
    }
    sets.push(InputSet {
        name: "batch4_logits",
        predictions: p,
        targets: t,
    });
    // Values for the plain reductions: magnitudes from 1e-30 to 1e30, both signs, cancellation.
    let mut p = Vec::new();
    for i in 0..300 {
        let mag = 10f32.powi((i % 61) - 30);
        let sign = if rng.bit() == 1.0 { -1.0 } else { 1.0 };
        p.push(sign * mag * rng.range(1.0, 10.0));
    }
    p[100] = 16_777_216.0;
    p[101] = 1.0;
    p[102] = -16_777_216.0;
    let t = (0..300).map(|_| rng.unit()).collect();
    sets.push(InputSet {
        name: "reduce_values",
        predictions: p,
        targets: t,
    });
    // Infinities and NaN: propagation.
    sets.push(InputSet {
        name: "non_finite",
        predictions: vec![0.5, f32::INFINITY, 0.25, 2.0, f32::NAN, 1.0, -3.0, 0.0],
        targets: vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.0, 1.0],
    });
    sets.push(InputSet {
        name: "opposite_inf",
        predictions: vec![1.0, f32::INFINITY, 2.0, f32::NEG_INFINITY, 3.0],
        targets: vec![0.0, 1.0, 0.0, 1.0, 0.0],
    });
    sets.push(InputSet {
        name: "nan_target",
        predictions: vec![0.5, -1.0, 2.0, 0.25],
        targets: vec![1.0, f32::NAN, 0.0, 1.0],
    });
    // Bad input: errors, never panics.
    sets.push(InputSet {
        name: "bad_target_high",
        predictions: vec![0.5, 0.25, 0.75, 0.5],
        targets: vec![1.0, 0.0, 1.5, 0.0],
    });
    sets.push(InputSet {
        name: "bad_target_negative",
        predictions: vec![0.5, 0.25, 0.75],
        targets: vec![-0.25, 0.0, 1.0],
    });
    sets.push(InputSet {
        name: "bad_prob",
        predictions: vec![0.5, 1.000_000_1, -0.0, 0.3],
        targets: vec![1.0, 1.0, 0.0, 0.0],
    });
    sets.push(InputSet {
        name: "bad_prob_negative",
        predictions: vec![0.5, -1e-45],
        targets: vec![1.0, 0.0],
    });
    sets.push(InputSet {
        name: "mismatch",
        predictions: vec![0.5, 0.25, 0.75],
        targets: vec![1.0, 0.0],
    });
    sets.push(InputSet {
        name: "empty",
        predictions: vec![],
        targets: vec![],
    });
    multiclass_sets(&mut rng, &mut sets);
    sets
}

/// Classes and pixels of the main multi-class sets: 2 samples of 24 pixels, 4 classes.
const MC_BATCH: usize = 2;
const MC_CLASSES: usize = 4;
const MC_SPATIAL: usize = 24;

/// Multi-class inputs. Scores are channels-last (`mc_*`) and the same values transposed to
/// channels-first (`mc_nchw_*`), so the two layouts are checked to give the same bits.
fn multiclass_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    let pixels = MC_BATCH * MC_SPATIAL;
    // Labels: every class present, class 3 rare, a few ignored pixels (255) in `*_ignore`.
    let labels: Vec<f32> = (0..pixels)
        .map(|i| {
            if i % 11 == 5 {
                3.0
            } else {
                f32::from((rng.next() % 3) as u8)
            }
        })
        .collect();
    let mut scores = Vec::with_capacity(pixels * MC_CLASSES);
    for (i, &label) in labels.iter().enumerate() {
        for c in 0..MC_CLASSES {
            let mut x = rng.range(-4.0, 4.0);
            if c as f32 == label && i % 3 != 0 {
                x += 3.0;
            }
            scores.push(x);
        }
    }
    // Extreme scores in a few pixels: saturated softmax and sigmoid.
    for (i, v) in [(0, 1e4), (5, -1e4), (9, 88.0), (14, -88.0), (22, 30.0)] {
        scores[i] = v;
    }
    let dense: Vec<f32> = labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| {
            (0..MC_CLASSES).map(move |c| {
                // One-hot, with soft rows every 7th pixel.
                if i % 7 == 3 {
                    if c as f32 == l { 0.7 } else { 0.1 }
                } else if c as f32 == l {
                    1.0
                } else {
                    0.0
                }
            })
        })
        .collect();
    let to_nchw = |v: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0; v.len()];
        for n in 0..MC_BATCH {
            for s in 0..MC_SPATIAL {
                for c in 0..MC_CLASSES {
                    out[(n * MC_CLASSES + c) * MC_SPATIAL + s] =
                        v[(n * MC_SPATIAL + s) * MC_CLASSES + c];
                }
            }
        }
        out
    };
    let mut ignore = labels.clone();
    for i in [2, 17, 30] {
        ignore[i] = 255.0;
    }
    let probs: Vec<f32> = scores
        .chunks(MC_CLASSES)
        .flat_map(|px| {
            let m = px.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let e: Vec<f32> = px.iter().map(|&v| ((v - m) as f64).exp() as f32).collect();
            let z: f32 = e.iter().sum();
            e.into_iter().map(move |v| v / z)
        })
        .collect();
    sets.push(InputSet {
        name: "mc_labels",
        predictions: scores.clone(),
        targets: labels.clone(),
    });
    sets.push(InputSet {
        name: "mc_labels_ignore",
        predictions: scores.clone(),
        targets: ignore,
    });
    sets.push(InputSet {
        name: "mc_dense",
        predictions: scores.clone(),
        targets: dense.clone(),
    });
    sets.push(InputSet {
        name: "mc_nchw_dense",
        predictions: to_nchw(&scores),
        targets: to_nchw(&dense),
    });
    sets.push(InputSet {
        name: "mc_nchw_labels",
        predictions: to_nchw(&scores),
        targets: labels.clone(),
    });
    sets.push(InputSet {
        name: "mc_probs",
        predictions: probs,
        targets: labels.clone(),
    });
    // Class 2 absent from the targets and never predicted (the empty-class conventions).
    let absent: Vec<f32> = labels
        .iter()
        .map(|&l| if l == 2.0 { 0.0 } else { l })
        .collect();
    let mut absent_scores = scores.clone();
    for px in absent_scores.chunks_mut(MC_CLASSES) {
        px[2] = -20.0;
    }
    sets.push(InputSet {
        name: "mc_absent",
        predictions: absent_scores,
        targets: absent,
    });
    // A label outside 0..C (and not the ignore index).
    let mut bad = labels;
    bad[13] = 7.0;
    sets.push(InputSet {
        name: "mc_bad_label",
        predictions: scores,
        targets: bad,
    });
}

const MEAN: Reduction = Reduction::Mean;
const SUM: Reduction = Reduction::Sum;

/// Uneven chunkings: single values, across the 64-value block boundary, empty and rejected
/// pushes, and one chunk larger than everything.
const CHUNKINGS: [&[u16]; 5] = [
    &[1, 63, 0, 2, 64, 65, 3],
    &[7],
    &[BAD_CHUNK, 5, 0, 100, BAD_CHUNK, 13],
    &[64],
    &[1000],
];

fn red_name(r: Reduction) -> &'static str {
    match r {
        Reduction::Mean => "mean",
        Reduction::Sum => "sum",
    }
}

fn opt(a: Option<f32>) -> String {
    a.map_or_else(|| "none".to_string(), |a| format!("{a}"))
}

/// Every case, in a fixed order.
#[allow(clippy::too_many_lines)]
pub fn case_specs(sets: &[InputSet]) -> Vec<CaseSpec> {
    let idx = |name: &str| {
        sets.iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("no input set {name}"))
    };
    let len = |name: &str| sets[idx(name)].predictions.len();
    let mut cases = Vec::new();
    let mut add = |name: String, spec: Spec, op: Op, input: &str| {
        cases.push(CaseSpec {
            name,
            spec,
            op,
            input: idx(input),
        });
    };
    // Element losses: the full set of paths on one input.
    let element_paths = |add: &mut dyn FnMut(String, Spec, Op, &str),
                         label: &str,
                         spec: Spec,
                         input: &str,
                         n: usize,
                         stream: bool| {
        for r in [MEAN, SUM] {
            add(
                format!("{label}/{input}/{}", red_name(r)),
                spec,
                Op::Loss(r),
                input,
            );
        }
        // `n == 0`: no elementwise case (the alpha factor is one multiplication, covered by
        // the reduced cases; the per-element bits are covered without alpha).
        if n > 0 {
            add(
                format!("{label}/{input}/none"),
                spec,
                Op::Elementwise { capacity: n },
                input,
            );
        }
        if stream {
            for (i, chunks) in CHUNKINGS.iter().enumerate() {
                let r = if i % 2 == 0 { MEAN } else { SUM };
                add(
                    format!("{label}/{input}/stream{i}/{}", red_name(r)),
                    spec,
                    Op::Stream {
                        chunks,
                        reduction: r,
                    },
                    input,
                );
            }
        }
    };

    // SigmoidFocal on hard targets: every gamma with and without alpha, then the alphas.
    let n = len("logits_hard");
    element_paths(
        &mut add,
        "sigmoid_focal/torchvision",
        Spec::SigmoidFocalTorchvision,
        "logits_hard",
        n,
        true,
    );
    for gamma in [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0] {
        for alpha in [None, Some(0.25)] {
            let spec = Spec::SigmoidFocal {
                alpha,
                gamma,
                soft: SoftTargets::Torchvision,
            };
            let label = format!("sigmoid_focal/a={},g={gamma}", opt(alpha));
            // Integer gammas 1, 3, 4 are products like 2: their elementwise bits add little.
            let n = if alpha.is_none() && ![1.0, 3.0, 4.0].contains(&gamma) {
                n
            } else {
                0
            };
            element_paths(&mut add, &label, spec, "logits_hard", n, gamma == 0.5);
            if alpha.is_none() || gamma == 2.0 {
                let n = len("logits_extreme");
                add(
                    format!("{label}/logits_extreme/none"),
                    spec,
                    Op::Elementwise { capacity: n },
                    "logits_extreme",
                );
            }
        }
    }
    for alpha in [0.0, 0.5, 0.75, 1.0] {
        let spec = Spec::SigmoidFocal {
            alpha: Some(alpha),
            gamma: 2.0,
            soft: SoftTargets::Torchvision,
        };
        let label = format!("sigmoid_focal/a={alpha},g=2");
        element_paths(&mut add, &label, spec, "logits_hard", 0, false);
    }
    // Soft targets: the three conventions.
    let n = len("logits_soft");
    for soft in [
        SoftTargets::Torchvision,
        SoftTargets::Monai,
        SoftTargets::Kornia,
        SoftTargets::Smp,
    ] {
        for gamma in [0.0, 0.5, 2.0, 5.0] {
            for alpha in [None, Some(0.25)] {
                let spec = Spec::SigmoidFocal { alpha, gamma, soft };
                let label = format!("sigmoid_focal/{soft:?}/a={},g={gamma}", opt(alpha));
                element_paths(&mut add, &label, spec, "logits_soft", n, false);
            }
        }
    }
    // Focal on empty masks, batches and non-finite input.
    for input in [
        "logits_extreme",
        "empty_mask_logits",
        "non_finite",
        "opposite_inf",
        "nan_target",
    ] {
        element_paths(
            &mut add,
            "sigmoid_focal/torchvision",
            Spec::SigmoidFocalTorchvision,
            input,
            len(input),
            false,
        );
    }
    for r in [MEAN, SUM] {
        add(
            format!(
                "sigmoid_focal/torchvision/batch4_logits/per_sample/{}",
                red_name(r)
            ),
            Spec::SigmoidFocalTorchvision,
            Op::PerSample {
                samples: 4,
                reduction: r,
                capacity: 4,
            },
            "batch4_logits",
        );
    }

    // BinaryFocal: seed preset, gammas, alphas, clamps, hard and soft targets.
    for input in ["probs_hard", "probs_soft"] {
        let n = len(input);
        element_paths(
            &mut add,
            "binary_focal/seed",
            Spec::BinaryFocalSeed,
            input,
            n,
            input == "probs_hard",
        );
        for gamma in [0.0, 0.5, 1.0, 2.0, 3.0, 5.0] {
            for alpha in [None, Some(0.25)] {
                for (lo, hi) in [(0.0, 1.0), (1e-3, 0.999), (1e-7, 0.999_999_9)] {
                    // Keep the product small: all clamps only at gamma 2.
                    if gamma != 2.0 && lo != 1e-3 {
                        continue;
                    }
                    let spec = Spec::BinaryFocal {
                        alpha,
                        gamma,
                        clamp_min: lo,
                        clamp_max: hi,
                    };
                    let label = format!("binary_focal/a={},g={gamma},clamp={lo}..{hi}", opt(alpha));
                    let n = if alpha.is_none() { n } else { 0 };
                    element_paths(&mut add, &label, spec, input, n, false);
                }
            }
        }
    }
    for input in ["empty_mask", "full_mask", "non_finite"] {
        element_paths(
            &mut add,
            "binary_focal/seed",
            Spec::BinaryFocalSeed,
            input,
            len(input),
            false,
        );
    }
    for r in [MEAN, SUM] {
        add(
            format!("binary_focal/seed/batch4/per_sample/{}", red_name(r)),
            Spec::BinaryFocalSeed,
            Op::PerSample {
                samples: 4,
                reduction: r,
                capacity: 4,
            },
            "batch4",
        );
    }

    // The dice family: every base with the options, on every mask shape.
    let bases = [
        ("dice", OverlapBase::Dice),
        ("jaccard", OverlapBase::Jaccard),
        (
            "tversky0.3,0.7",
            OverlapBase::Tversky {
                alpha: 0.3,
                beta: 0.7,
            },
        ),
        (
            "tversky0.5,0.5",
            OverlapBase::Tversky {
                alpha: 0.5,
                beta: 0.5,
            },
        ),
        ("seed_torch", OverlapBase::SeedTorch),
        ("seed_keras", OverlapBase::SeedKeras),
    ];
    for (bname, base) in bases {
        let tversky = matches!(base, OverlapBase::Tversky { .. });
        for squared in [false, true] {
            if squared && tversky {
                continue;
            }
            for smoothing in [None, Some((0.0, 0.0)), Some((1.0, 1.0))] {
                let sname = smoothing.map_or_else(|| "default".into(), |(a, b)| format!("{a},{b}"));
                let label = format!("overlap/{bname}/sq={squared}/smooth={sname}");
                let probs = Spec::Overlap {
                    base,
                    smoothing,
                    squared,
                    predictions: Predictions::Probabilities,
                };
                let logits = Spec::Overlap {
                    base,
                    smoothing,
                    squared,
                    predictions: Predictions::Logits,
                };
                // Smoothing matters most where the overlap is small: fewer inputs for it.
                let (prob_inputs, logit_inputs): (&[&str], &[&str]) = if smoothing.is_none() {
                    (
                        &[
                            "probs_hard",
                            "probs_soft",
                            "empty_mask",
                            "all_zero",
                            "full_mask",
                        ],
                        &["logits_hard", "logits_soft", "empty_mask_logits"],
                    )
                } else {
                    (
                        &["probs_hard", "empty_mask", "all_zero"],
                        &["empty_mask_logits"],
                    )
                };
                for &input in prob_inputs {
                    add(format!("{label}/{input}/stats"), probs, Op::Stats, input);
                }
                for &input in logit_inputs {
                    add(
                        format!("{label}/logits/{input}/stats"),
                        logits,
                        Op::Stats,
                        input,
                    );
                }
                if smoothing.is_none() {
                    add(
                        format!("{label}/probs_hard/loss"),
                        probs,
                        Op::Loss(MEAN),
                        "probs_hard",
                    );
                    add(
                        format!("{label}/logits/logits_hard/loss"),
                        logits,
                        Op::Loss(MEAN),
                        "logits_hard",
                    );
                    for r in [MEAN, SUM] {
                        add(
                            format!("{label}/batch4/per_sample/{}", red_name(r)),
                            probs,
                            Op::PerSample {
                                samples: 4,
                                reduction: r,
                                capacity: 4,
                            },
                            "batch4",
                        );
                    }
                    add(
                        format!("{label}/logits/batch4_logits/per_sample/mean"),
                        logits,
                        Op::PerSample {
                            samples: 4,
                            reduction: MEAN,
                            capacity: 4,
                        },
                        "batch4_logits",
                    );
                }
            }
        }
    }
    let dice = Spec::Overlap {
        base: OverlapBase::Dice,
        smoothing: None,
        squared: false,
        predictions: Predictions::Probabilities,
    };
    let dice_logits = Spec::Overlap {
        base: OverlapBase::Dice,
        smoothing: None,
        squared: false,
        predictions: Predictions::Logits,
    };
    for (i, chunks) in CHUNKINGS.iter().enumerate() {
        add(
            format!("overlap/dice/probs_hard/stream{i}"),
            dice,
            Op::Stream {
                chunks,
                reduction: MEAN,
            },
            "probs_hard",
        );
        add(
            format!("overlap/dice/logits/logits_hard/stream{i}"),
            dice_logits,
            Op::Stream {
                chunks,
                reduction: MEAN,
            },
            "logits_hard",
        );
    }
    for input in ["non_finite", "opposite_inf", "nan_target"] {
        add(
            format!("overlap/dice/logits/{input}/stats"),
            dice_logits,
            Op::Stats,
            input,
        );
    }

    // Reductions, the deterministic sum and first_non_finite.
    for input in ["reduce_values", "non_finite", "opposite_inf", "logits_hard"] {
        for r in [MEAN, SUM] {
            add(
                format!("reduce/{input}/{}", red_name(r)),
                Spec::Reduce,
                Op::Loss(r),
                input,
            );
        }
        add(
            format!("first_non_finite/{input}"),
            Spec::FirstNonFinite,
            Op::Loss(MEAN),
            input,
        );
    }
    add(
        "first_non_finite/empty".into(),
        Spec::FirstNonFinite,
        Op::Loss(MEAN),
        "empty",
    );
    for (i, chunks) in CHUNKINGS.iter().enumerate().take(2) {
        add(
            format!("det_sum3/reduce_values/stream{i}"),
            Spec::DetSum3,
            Op::Stream {
                chunks,
                reduction: SUM,
            },
            "reduce_values",
        );
    }

    // Bad input and bad parameters: each must be an error, on every path.
    let focal = Spec::SigmoidFocalTorchvision;
    let bfocal = Spec::BinaryFocalSeed;
    for input in [
        "bad_target_high",
        "bad_target_negative",
        "mismatch",
        "empty",
    ] {
        element_paths(&mut add, "error/sigmoid_focal", focal, input, 8, true);
        add(format!("error/dice/{input}/stats"), dice, Op::Stats, input);
        add(
            format!("error/dice/{input}/per_sample"),
            dice,
            Op::PerSample {
                samples: 1,
                reduction: MEAN,
                capacity: 1,
            },
            input,
        );
    }
    for input in ["bad_prob", "bad_prob_negative"] {
        element_paths(&mut add, "error/binary_focal", bfocal, input, 8, true);
        add(format!("error/dice/{input}/stats"), dice, Op::Stats, input);
        add(
            format!("error/dice/logits/{input}/stats"),
            dice_logits,
            Op::Stats,
            input,
        );
    }
    add(
        "error/reduce/empty".into(),
        Spec::Reduce,
        Op::Loss(MEAN),
        "empty",
    );
    add(
        "error/sigmoid_focal/probs_hard/buffer_too_small".into(),
        focal,
        Op::Elementwise { capacity: 95 },
        "probs_hard",
    );
    for (samples, capacity) in [(3, 4), (0, 4), (4, 3), (200, 200)] {
        add(
            format!("error/sigmoid_focal/batch4/per_sample/{samples},{capacity}"),
            focal,
            Op::PerSample {
                samples,
                reduction: MEAN,
                capacity,
            },
            "batch4",
        );
        add(
            format!("error/dice/batch4/per_sample/{samples},{capacity}"),
            dice,
            Op::PerSample {
                samples,
                reduction: MEAN,
                capacity,
            },
            "batch4",
        );
    }
    let bad_focal = [
        (Some(1.5), 2.0),
        (Some(-0.1), 2.0),
        (Some(f32::NAN), 2.0),
        (None, -1.0),
        (None, f32::NAN),
        (None, f32::INFINITY),
    ];
    for (i, (alpha, gamma)) in bad_focal.into_iter().enumerate() {
        add(
            format!("error/sigmoid_focal/param{i}"),
            Spec::SigmoidFocal {
                alpha,
                gamma,
                soft: SoftTargets::Monai,
            },
            Op::Loss(MEAN),
            "logits_hard",
        );
        add(
            format!("error/binary_focal/param{i}"),
            Spec::BinaryFocal {
                alpha,
                gamma,
                clamp_min: 1e-3,
                clamp_max: 0.999,
            },
            Op::Loss(MEAN),
            "probs_hard",
        );
    }
    for (i, (lo, hi)) in [
        (0.5, 0.5),
        (0.9, 0.1),
        (-0.1, 0.9),
        (0.1, 1.1),
        (f32::NAN, 0.5),
    ]
    .into_iter()
    .enumerate()
    {
        add(
            format!("error/binary_focal/clamp{i}"),
            Spec::BinaryFocal {
                alpha: None,
                gamma: 2.0,
                clamp_min: lo,
                clamp_max: hi,
            },
            Op::Loss(MEAN),
            "probs_hard",
        );
    }
    let bad_overlap = [
        (
            OverlapBase::Tversky {
                alpha: -1.0,
                beta: 0.5,
            },
            None,
            false,
        ),
        (
            OverlapBase::Tversky {
                alpha: 0.5,
                beta: f32::INFINITY,
            },
            None,
            false,
        ),
        (
            OverlapBase::Tversky {
                alpha: 0.5,
                beta: 0.5,
            },
            None,
            true,
        ),
        (OverlapBase::Dice, Some((-1.0, 1.0)), false),
        (OverlapBase::Jaccard, Some((1.0, f32::NAN)), false),
    ];
    for (i, (base, smoothing, squared)) in bad_overlap.into_iter().enumerate() {
        add(
            format!("error/overlap/param{i}"),
            Spec::Overlap {
                base,
                smoothing,
                squared,
                predictions: Predictions::Probabilities,
            },
            Op::Loss(MEAN),
            "probs_hard",
        );
    }
    binary_keras_cases(&mut cases, &idx, &len);
    multiclass_cases(&mut cases, &idx);
    cases
}

/// Keras-style binary focal (clip in the logs only) and the plain sigmoid.
fn binary_keras_cases(
    cases: &mut Vec<CaseSpec>,
    idx: &dyn Fn(&str) -> usize,
    len: &dyn Fn(&str) -> usize,
) {
    let mut add = |name: String, spec: Spec, op: Op, input: &str| {
        cases.push(CaseSpec {
            name,
            spec,
            op,
            input: idx(input),
        });
    };
    for (input, soft) in [
        ("probs_hard", SoftTargets::Torchvision),
        ("probs_soft", SoftTargets::Torchvision),
        ("probs_soft", SoftTargets::Kornia),
    ] {
        for (alpha, gamma) in [
            (None, 2.0),
            (Some(0.25), 2.0),
            (Some(0.25), 0.5),
            (None, 0.0),
        ] {
            let spec = Spec::BinaryFocalKeras { alpha, gamma, soft };
            let label = format!("binary_focal_keras/{soft:?}/a={},g={gamma}", opt(alpha));
            for r in [MEAN, SUM] {
                add(
                    format!("{label}/{input}/{}", red_name(r)),
                    spec,
                    Op::Loss(r),
                    input,
                );
            }
            if alpha.is_none() {
                add(
                    format!("{label}/{input}/none"),
                    spec,
                    Op::Elementwise {
                        capacity: len(input),
                    },
                    input,
                );
            }
        }
    }
    add(
        "error/binary_focal_keras/soft_monai".into(),
        Spec::BinaryFocalKeras {
            alpha: None,
            gamma: 2.0,
            soft: SoftTargets::Monai,
        },
        Op::Loss(MEAN),
        "probs_hard",
    );
    for input in ["logits_extreme", "logits_hard"] {
        add(
            format!("sigmoid/{input}"),
            Spec::Sigmoid,
            Op::Elementwise { capacity: 0 },
            input,
        );
    }
}

/// The multi-class API: focal (softmax, one-vs-rest), per-class overlap and its class
/// reductions, generalized dice, confusion metrics; dense and label-map targets of every
/// integer type, `ignore_index`, both layouts, streaming, and the multi-class errors.
#[allow(clippy::too_many_lines)]
fn multiclass_cases(cases: &mut Vec<CaseSpec>, idx: &dyn Fn(&str) -> usize) {
    static CLASS_WEIGHTS: [f32; 4] = [0.5, 1.0, 2.0, 1.5];
    static ALPHAS: [f32; 4] = [0.1, 0.3, 0.3, 0.3];
    static BAD_WEIGHTS: [f32; 3] = [1.0, 1.0, 1.0];
    let mut add = |name: String, spec: Spec, op: Op, input: &str| {
        cases.push(CaseSpec {
            name,
            spec,
            op,
            input: idx(input),
        });
    };
    let multi =
        |loss: MultiLoss, layout: Layout, labels: LabelKind, ignore: Option<i32>| Spec::Multi {
            loss,
            batch: MC_BATCH,
            classes: MC_CLASSES,
            spatial: MC_SPATIAL,
            layout,
            labels,
            ignore,
        };
    let nhwc = Layout::ChannelsLast;
    let nchw = Layout::ChannelsFirst;
    let elements = MC_BATCH * MC_CLASSES * MC_SPATIAL;
    let stream = |reduction| Op::Stream {
        chunks: &[1, 5, 0, 17, BAD_CHUNK, 3],
        reduction,
    };

    // Focal losses: every alpha spread, weights, gamma 0 / 0.5 / 2; both layouts and every
    // target representation.
    let softmax = [
        ("ce", 0.0, ClassAlpha::None, None),
        ("g2", 2.0, ClassAlpha::None, None),
        ("g0.5_bg0.25", 0.5, ClassAlpha::Background(0.25), None),
        (
            "g2_uniform0.25_w",
            2.0,
            ClassAlpha::Uniform(0.25),
            Some(&CLASS_WEIGHTS[..]),
        ),
        ("g2_perclass", 2.0, ClassAlpha::PerClass(&ALPHAS[..]), None),
    ];
    for (name, gamma, alpha, weights) in softmax {
        let loss = MultiLoss::Softmax {
            gamma,
            alpha,
            weights,
        };
        let label = format!("softmax_focal/{name}");
        for (input, layout, kind, ignore) in [
            ("mc_labels", nhwc, LabelKind::U8, None),
            ("mc_nchw_labels", nchw, LabelKind::U16, None),
            ("mc_labels_ignore", nhwc, LabelKind::I32, Some(255)),
            ("mc_dense", nhwc, LabelKind::Dense, None),
            ("mc_nchw_dense", nchw, LabelKind::Dense, None),
        ] {
            let spec = multi(loss, layout, kind, ignore);
            add(
                format!("{label}/{input}/{kind:?}/class_sums"),
                spec,
                Op::Loss(MEAN),
                input,
            );
            if (name == "g2" || name == "ce") && (input == "mc_labels" || input == "mc_nchw_dense")
            {
                add(
                    format!("{label}/{input}/{kind:?}/none"),
                    spec,
                    Op::Elementwise { capacity: elements },
                    input,
                );
            }
        }
        add(
            format!("{label}/mc_labels/stream"),
            multi(loss, nhwc, LabelKind::U8, None),
            stream(MEAN),
            "mc_labels",
        );
    }
    // The same loss on probabilities (renormalised by their sum, no exponential).
    for (name, gamma, alpha, weights) in [
        ("g2", 2.0, ClassAlpha::None, None),
        (
            "g0.5_bg0.25_w",
            0.5,
            ClassAlpha::Background(0.25),
            Some(&CLASS_WEIGHTS[..]),
        ),
    ] {
        let loss = MultiLoss::SoftmaxOnProbabilities {
            gamma,
            alpha,
            weights,
        };
        let label = format!("softmax_focal_probabilities/{name}/mc_probs/U8");
        let spec = multi(loss, nhwc, LabelKind::U8, None);
        add(
            format!("{label}/class_sums"),
            spec,
            Op::Loss(MEAN),
            "mc_probs",
        );
        add(
            format!("{label}/none"),
            spec,
            Op::Elementwise { capacity: elements },
            "mc_probs",
        );
        add(format!("{label}/stream"), spec, stream(MEAN), "mc_probs");
    }
    for (name, gamma, alpha, weights, soft) in [
        ("g2", 2.0, ClassAlpha::None, None, SoftTargets::Torchvision),
        (
            "g2_uniform0.25",
            2.0,
            ClassAlpha::Uniform(0.25),
            None,
            SoftTargets::Torchvision,
        ),
        (
            "g0.5_perclass_w",
            0.5,
            ClassAlpha::PerClass(&ALPHAS[..]),
            Some(&CLASS_WEIGHTS[..]),
            SoftTargets::Monai,
        ),
        (
            "g2_kornia",
            2.0,
            ClassAlpha::Uniform(0.25),
            None,
            SoftTargets::Kornia,
        ),
        (
            "g2_positives",
            2.0,
            ClassAlpha::Positives(&ALPHAS[..]),
            None,
            SoftTargets::Torchvision,
        ),
    ] {
        let loss = MultiLoss::OneVsRest {
            gamma,
            alpha,
            weights,
            soft,
        };
        let label = format!("one_vs_rest_focal/{name}");
        for (input, layout, kind, ignore) in [
            ("mc_labels", nhwc, LabelKind::U8, None),
            ("mc_labels_ignore", nhwc, LabelKind::U8, Some(255)),
            ("mc_nchw_dense", nchw, LabelKind::Dense, None),
        ] {
            let spec = multi(loss, layout, kind, ignore);
            add(
                format!("{label}/{input}/{kind:?}/class_sums"),
                spec,
                Op::Loss(MEAN),
                input,
            );
        }
        add(
            format!("{label}/mc_dense/none"),
            multi(loss, nhwc, LabelKind::Dense, None),
            Op::Elementwise { capacity: elements },
            "mc_dense",
        );
        add(
            format!("{label}/mc_labels/stream"),
            multi(loss, nhwc, LabelKind::U8, None),
            stream(SUM),
            "mc_labels",
        );
    }

    // Per-class overlap: activations, squared, min intersection, class reductions.
    let base_reduction = ClassReduction::monai();
    let reductions = [
        ("monai", base_reduction),
        (
            "no_bg_sum",
            ClassReduction {
                include_background: false,
                reduction: Reduction::Sum,
                ..base_reduction
            },
        ),
        (
            "weights_normalize_skip",
            ClassReduction {
                weights: Some(&CLASS_WEIGHTS[..]),
                weighting: Weighting::Normalize,
                empty: EmptyClass::Skip,
                ..base_reduction
            },
        ),
        (
            "empty_zero",
            ClassReduction {
                empty: EmptyClass::Zero,
                weights: Some(&CLASS_WEIGHTS[..]),
                ..base_reduction
            },
        ),
    ];
    let overlaps = [
        (
            "softmax",
            ClassOverlap {
                activation: Activation::Softmax,
                ..ClassOverlap::default()
            },
            "mc_labels",
        ),
        (
            "sigmoid_sq",
            ClassOverlap {
                activation: Activation::Sigmoid,
                squared: true,
                ..ClassOverlap::default()
            },
            "mc_labels",
        ),
        (
            "tanh",
            ClassOverlap {
                activation: Activation::Tanh,
                ..ClassOverlap::default()
            },
            "mc_labels",
        ),
        (
            "probs_min",
            ClassOverlap {
                intersection: Intersection::Min,
                ..ClassOverlap::default()
            },
            "mc_probs",
        ),
    ];
    for (oname, overlap, input) in overlaps {
        for (rname, reduction) in reductions {
            for (bname, base) in [
                ("dice", OverlapBase::Dice),
                ("jaccard", OverlapBase::Jaccard),
            ] {
                if bname == "jaccard" && rname != "monai" {
                    continue;
                }
                let loss = MultiLoss::Overlap {
                    overlap,
                    base,
                    reduction,
                };
                let label = format!("class_overlap/{oname}/{bname}/{rname}");
                let spec = multi(loss, nhwc, LabelKind::U8, None);
                add(
                    format!("{label}/{input}/pooled"),
                    spec,
                    Op::Loss(MEAN),
                    input,
                );
                if rname == "monai" {
                    add(
                        format!("{label}/{input}/per_sample"),
                        spec,
                        Op::Stats,
                        input,
                    );
                }
            }
        }
    }
    for (rname, reduction) in reductions {
        let loss = MultiLoss::Overlap {
            overlap: overlaps[0].1,
            base: OverlapBase::Dice,
            reduction,
        };
        add(
            format!("class_overlap/softmax/dice/{rname}/mc_absent/pooled"),
            multi(loss, nhwc, LabelKind::U8, None),
            Op::Loss(MEAN),
            "mc_absent",
        );
    }
    let softmax_dice = MultiLoss::Overlap {
        overlap: overlaps[0].1,
        base: OverlapBase::Dice,
        reduction: base_reduction,
    };
    for (input, layout, kind, ignore) in [
        ("mc_nchw_labels", nchw, LabelKind::I32, None),
        ("mc_labels_ignore", nhwc, LabelKind::U16, Some(255)),
        ("mc_dense", nhwc, LabelKind::Dense, None),
        ("mc_nchw_dense", nchw, LabelKind::Dense, None),
    ] {
        add(
            format!("class_overlap/softmax/dice/monai/{input}/{kind:?}/pooled"),
            multi(softmax_dice, layout, kind, ignore),
            Op::Loss(MEAN),
            input,
        );
    }
    add(
        "class_overlap/softmax/dice/monai/mc_labels/stream".into(),
        multi(softmax_dice, nhwc, LabelKind::U8, None),
        stream(MEAN),
        "mc_labels",
    );
    for wt in [WeightType::Square, WeightType::Simple, WeightType::Uniform] {
        for (input, activation) in [
            ("mc_labels", Activation::Softmax),
            ("mc_absent", Activation::Softmax),
            ("mc_probs", Activation::None),
        ] {
            let loss = MultiLoss::GeneralizedDice {
                overlap: ClassOverlap {
                    activation,
                    ..ClassOverlap::default()
                },
                weight_type: wt,
            };
            add(
                format!("generalized_dice/{wt:?}/{input}"),
                multi(loss, nhwc, LabelKind::U8, None),
                Op::Loss(MEAN),
                input,
            );
        }
    }
    for (dname, decision, input) in [
        ("argmax", Decision::Argmax, "mc_labels"),
        ("argmax", Decision::Argmax, "mc_absent"),
        ("threshold0", Decision::Threshold(0.0), "mc_labels"),
        ("threshold0.5", Decision::Threshold(0.5), "mc_probs"),
    ] {
        let spec = multi(MultiLoss::Confusion { decision }, nhwc, LabelKind::U8, None);
        add(
            format!("confusion/{dname}/{input}"),
            spec,
            Op::Loss(MEAN),
            input,
        );
    }
    add(
        "confusion/argmax/mc_labels_ignore/stream".into(),
        multi(
            MultiLoss::Confusion {
                decision: Decision::Argmax,
            },
            nhwc,
            LabelKind::I32,
            Some(255),
        ),
        stream(MEAN),
        "mc_labels_ignore",
    );

    // Errors.
    let g2 = MultiLoss::Softmax {
        gamma: 2.0,
        alpha: ClassAlpha::None,
        weights: None,
    };
    add(
        "error/multiclass/label_out_of_range".into(),
        multi(g2, nhwc, LabelKind::U8, None),
        Op::Loss(MEAN),
        "mc_bad_label",
    );
    add(
        "error/multiclass/label_out_of_range/stats".into(),
        multi(softmax_dice, nhwc, LabelKind::I32, None),
        Op::Loss(MEAN),
        "mc_bad_label",
    );
    add(
        "error/multiclass/shape_mismatch".into(),
        multi(g2, nhwc, LabelKind::U8, None),
        Op::Loss(MEAN),
        "logits_hard",
    );
    add(
        "error/multiclass/weight_count".into(),
        multi(
            MultiLoss::Softmax {
                gamma: 2.0,
                alpha: ClassAlpha::None,
                weights: Some(&BAD_WEIGHTS[..]),
            },
            nhwc,
            LabelKind::U8,
            None,
        ),
        Op::Loss(MEAN),
        "mc_labels",
    );
    add(
        "error/multiclass/ovr_background_alpha".into(),
        multi(
            MultiLoss::OneVsRest {
                gamma: 2.0,
                alpha: ClassAlpha::Background(0.25),
                weights: None,
                soft: SoftTargets::Torchvision,
            },
            nhwc,
            LabelKind::U8,
            None,
        ),
        Op::Loss(MEAN),
        "mc_labels",
    );
    add(
        "error/multiclass/too_many_classes".into(),
        Spec::Multi {
            loss: g2,
            batch: 1,
            classes: 12,
            spatial: 16,
            layout: nhwc,
            labels: LabelKind::U8,
            ignore: None,
        },
        Op::Loss(MEAN),
        "logits_hard",
    );
    add(
        "error/multiclass/zero_classes".into(),
        Spec::Multi {
            loss: g2,
            batch: 1,
            classes: 0,
            spatial: 16,
            layout: nhwc,
            labels: LabelKind::U8,
            ignore: None,
        },
        Op::Loss(MEAN),
        "mc_labels",
    );
    add(
        "error/multiclass/nan_threshold".into(),
        multi(
            MultiLoss::Confusion {
                decision: Decision::Threshold(f32::NAN),
            },
            nhwc,
            LabelKind::U8,
            None,
        ),
        Op::Loss(MEAN),
        "mc_labels",
    );
}

/// Evaluates every case on the host.
pub fn evaluate_all(sets: &[InputSet], cases: &[CaseSpec]) -> Vec<Evaluated> {
    let scratch_len = max_scratch(cases);
    cases
        .iter()
        .map(|case| {
            let set = &sets[case.input];
            let mut scratch = vec![0.0f32; scratch_len];
            // Generous: every output is at most a few words per input element.
            let mut words = vec![0u32; 8 * set.predictions.len() + 64];
            let mut out = Words::new(&mut words);
            let result = golden::evaluate(
                &case.spec,
                &case.op,
                &set.predictions,
                &set.targets,
                &mut scratch,
                &mut out,
            );
            let result = result.map(|()| {
                assert!(
                    out.len() <= out.as_slice().len(),
                    "{}: output overflow",
                    case.name
                );
                out.as_slice().to_vec()
            });
            Evaluated {
                case: case.clone(),
                result,
            }
        })
        .collect()
}

fn max_scratch(cases: &[CaseSpec]) -> usize {
    cases
        .iter()
        .map(|c| match c.op {
            Op::Elementwise { capacity } | Op::PerSample { capacity, .. } => capacity,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// A Rust expression for `x` that parses back to the same bits.
fn lit(x: f32) -> String {
    if x.is_nan() {
        if x.to_bits() == f32::NAN.to_bits() {
            "f32::NAN".into()
        } else {
            format!("f32::from_bits({:#010x})", x.to_bits())
        }
    } else if x == f32::INFINITY {
        "f32::INFINITY".into()
    } else if x == f32::NEG_INFINITY {
        "f32::NEG_INFINITY".into()
    } else {
        // `Debug` prints the shortest decimal that round-trips, with a `.0` or exponent.
        format!("{x:?}")
    }
}

fn opt_lit(a: Option<f32>) -> String {
    a.map_or_else(|| "None".into(), |a| format!("Some({})", lit(a)))
}

fn red_lit(r: Reduction) -> &'static str {
    match r {
        Reduction::Mean => "Reduction::Mean",
        Reduction::Sum => "Reduction::Sum",
    }
}

fn pred_lit(p: Predictions) -> &'static str {
    match p {
        Predictions::Logits => "Predictions::Logits",
        Predictions::Probabilities => "Predictions::Probabilities",
    }
}

fn spec_lit(spec: &Spec) -> String {
    match *spec {
        Spec::SigmoidFocal { alpha, gamma, soft } => format!(
            "Spec::SigmoidFocal {{ alpha: {}, gamma: {}, soft: SoftTargets::{soft:?} }}",
            opt_lit(alpha),
            lit(gamma)
        ),
        Spec::SigmoidFocalTorchvision => "Spec::SigmoidFocalTorchvision".into(),
        Spec::BinaryFocal {
            alpha,
            gamma,
            clamp_min,
            clamp_max,
        } => format!(
            "Spec::BinaryFocal {{ alpha: {}, gamma: {}, clamp_min: {}, clamp_max: {} }}",
            opt_lit(alpha),
            lit(gamma),
            lit(clamp_min),
            lit(clamp_max)
        ),
        Spec::BinaryFocalSeed => "Spec::BinaryFocalSeed".into(),
        Spec::Overlap {
            base,
            smoothing,
            squared,
            predictions,
        } => {
            let base = match base {
                OverlapBase::Tversky { alpha, beta } => format!(
                    "OverlapBase::Tversky {{ alpha: {}, beta: {} }}",
                    lit(alpha),
                    lit(beta)
                ),
                other => format!("OverlapBase::{other:?}"),
            };
            let smoothing = smoothing.map_or_else(
                || "None".into(),
                |(a, b)| format!("Some(({}, {}))", lit(a), lit(b)),
            );
            format!(
                "Spec::Overlap {{ base: {base}, smoothing: {smoothing}, squared: {squared}, predictions: {} }}",
                pred_lit(predictions)
            )
        }
        Spec::BinaryFocalKeras { alpha, gamma, soft } => format!(
            "Spec::BinaryFocalKeras {{ alpha: {}, gamma: {}, soft: SoftTargets::{soft:?} }}",
            opt_lit(alpha),
            lit(gamma)
        ),
        Spec::Sigmoid => "Spec::Sigmoid".into(),
        Spec::Multi {
            loss,
            batch,
            classes,
            spatial,
            layout,
            labels,
            ignore,
        } => format!(
            "Spec::Multi {{ loss: {}, batch: {batch}, classes: {classes}, spatial: {spatial}, \
             layout: Layout::{layout:?}, labels: LabelKind::{labels:?}, ignore: {ignore:?} }}",
            multi_lit(&loss)
        ),
        Spec::Reduce => "Spec::Reduce".into(),
        Spec::DetSum3 => "Spec::DetSum3".into(),
        Spec::FirstNonFinite => "Spec::FirstNonFinite".into(),
    }
}

fn floats_lit(v: &[f32]) -> String {
    let items: Vec<String> = v.iter().map(|&x| lit(x)).collect();
    format!("&[{}]", items.join(", "))
}

fn weights_lit(w: Option<&[f32]>) -> String {
    w.map_or_else(|| "None".into(), |w| format!("Some({})", floats_lit(w)))
}

fn alpha_lit(a: &ClassAlpha<'_>) -> String {
    match *a {
        ClassAlpha::None => "ClassAlpha::None".into(),
        ClassAlpha::Background(a) => format!("ClassAlpha::Background({})", lit(a)),
        ClassAlpha::Uniform(a) => format!("ClassAlpha::Uniform({})", lit(a)),
        ClassAlpha::PerClass(list) => format!("ClassAlpha::PerClass({})", floats_lit(list)),
        ClassAlpha::Positives(list) => format!("ClassAlpha::Positives({})", floats_lit(list)),
    }
}

fn class_overlap_lit(o: &ClassOverlap) -> String {
    format!(
        "ClassOverlap {{ activation: Activation::{:?}, squared: {}, intersection: Intersection::{:?} }}",
        o.activation, o.squared, o.intersection
    )
}

fn base_lit(base: OverlapBase) -> String {
    match base {
        OverlapBase::Tversky { alpha, beta } => format!(
            "OverlapBase::Tversky {{ alpha: {}, beta: {} }}",
            lit(alpha),
            lit(beta)
        ),
        other => format!("OverlapBase::{other:?}"),
    }
}

fn multi_lit(loss: &MultiLoss) -> String {
    match *loss {
        MultiLoss::Softmax {
            gamma,
            alpha,
            weights,
        } => format!(
            "MultiLoss::Softmax {{ gamma: {}, alpha: {}, weights: {} }}",
            lit(gamma),
            alpha_lit(&alpha),
            weights_lit(weights)
        ),
        MultiLoss::SoftmaxOnProbabilities {
            gamma,
            alpha,
            weights,
        } => format!(
            "MultiLoss::SoftmaxOnProbabilities {{ gamma: {}, alpha: {}, weights: {} }}",
            lit(gamma),
            alpha_lit(&alpha),
            weights_lit(weights)
        ),
        MultiLoss::OneVsRest {
            gamma,
            alpha,
            weights,
            soft,
        } => format!(
            "MultiLoss::OneVsRest {{ gamma: {}, alpha: {}, weights: {}, soft: SoftTargets::{soft:?} }}",
            lit(gamma),
            alpha_lit(&alpha),
            weights_lit(weights)
        ),
        MultiLoss::Overlap {
            overlap,
            base,
            reduction: r,
        } => format!(
            "MultiLoss::Overlap {{ overlap: {}, base: {}, reduction: ClassReduction {{ \
             include_background: {}, weights: {}, weighting: Weighting::{:?}, \
             empty: EmptyClass::{:?}, reduction: {} }} }}",
            class_overlap_lit(&overlap),
            base_lit(base),
            r.include_background,
            weights_lit(r.weights),
            r.weighting,
            r.empty,
            red_lit(r.reduction)
        ),
        MultiLoss::GeneralizedDice {
            overlap,
            weight_type,
        } => format!(
            "MultiLoss::GeneralizedDice {{ overlap: {}, weight_type: WeightType::{weight_type:?} }}",
            class_overlap_lit(&overlap)
        ),
        MultiLoss::Confusion { decision } => match decision {
            Decision::Argmax => "MultiLoss::Confusion { decision: Decision::Argmax }".into(),
            Decision::Threshold(t) => format!(
                "MultiLoss::Confusion {{ decision: Decision::Threshold({}) }}",
                lit(t)
            ),
        },
    }
}

fn op_lit(op: &Op) -> String {
    match *op {
        Op::Loss(r) => format!("Op::Loss({})", red_lit(r)),
        Op::Elementwise { capacity } => format!("Op::Elementwise {{ capacity: {capacity} }}"),
        Op::PerSample {
            samples,
            reduction,
            capacity,
        } => format!(
            "Op::PerSample {{ samples: {samples}, reduction: {}, capacity: {capacity} }}",
            red_lit(reduction)
        ),
        Op::Stream { chunks, reduction } => {
            let chunks: Vec<String> = chunks
                .iter()
                .map(|&c| {
                    if c == BAD_CHUNK {
                        "BAD_CHUNK".to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            format!(
                "Op::Stream {{ chunks: &[{}], reduction: {} }}",
                chunks.join(", "),
                red_lit(reduction)
            )
        }
        Op::Stats => "Op::Stats".into(),
    }
}

fn error_lit(e: &loss_core::Error) -> String {
    use loss_core::{Error, Operand};
    match *e {
        Error::LengthMismatch {
            predictions,
            targets,
        } => format!("Error::LengthMismatch {{ predictions: {predictions}, targets: {targets} }}"),
        Error::EmptyInput => "Error::EmptyInput".into(),
        Error::BufferTooSmall { needed, capacity } => {
            format!("Error::BufferTooSmall {{ needed: {needed}, capacity: {capacity} }}")
        }
        Error::InvalidParameter(name) => format!("Error::InvalidParameter({name:?})"),
        Error::SampleCountMismatch { len, samples } => {
            format!("Error::SampleCountMismatch {{ len: {len}, samples: {samples} }}")
        }
        Error::OutOfRange { operand, index } => {
            let operand = match operand {
                Operand::Predictions => "Operand::Predictions",
                Operand::Targets => "Operand::Targets",
            };
            format!("Error::OutOfRange {{ operand: {operand}, index: {index} }}")
        }
        Error::ShapeMismatch {
            operand,
            expected,
            found,
        } => format!(
            "Error::ShapeMismatch {{ operand: Operand::{operand:?}, expected: {expected}, found: {found} }}"
        ),
        Error::LabelOutOfRange { index, label } => {
            format!("Error::LabelOutOfRange {{ index: {index}, label: {label} }}")
        }
        Error::TooManyClasses { classes, capacity } => {
            format!("Error::TooManyClasses {{ classes: {classes}, capacity: {capacity} }}")
        }
        Error::WeightCount { expected, found } => {
            format!("Error::WeightCount {{ expected: {expected}, found: {found} }}")
        }
        // `Error` is non-exhaustive; a new variant must be added here before it can be golden.
        _ => panic!("golden: no literal for {e:?}"),
    }
}

fn write_floats(src: &mut String, name: &str, values: &[f32]) {
    let _ = writeln!(src, "static {name}: [f32; {}] = [", values.len());
    for row in values.chunks(8) {
        let row: Vec<String> = row.iter().map(|&v| lit(v)).collect();
        let _ = writeln!(src, "    {},", row.join(", "));
    }
    src.push_str("];\n");
}

/// The file's header: what wrote it, and the names the tables use.
const HEADER: &str = "\
// @generated by `cargo run -p loss-tools -- vectors` from loss-core; do not edit.
// The cases of the `golden` crate (its case types are in `case.rs`, the evaluator in `eval.rs`).
// `tests/tests/golden.rs` fails when this file is stale.

use crate::{BAD_CHUNK, Case, Expected, LabelKind, MultiLoss, Op, OverlapBase, Spec};
use loss_core::{
    Error, Operand, Predictions, Reduction,
    focal::SoftTargets,
    multiclass::{
        Activation, ClassAlpha, ClassOverlap, ClassReduction, Decision, EmptyClass, Intersection,
        Layout, WeightType, Weighting,
    },
};

";

/// Renders the generated file from evaluated cases.
pub fn render_from(sets: &[InputSet], evaluated: &[Evaluated]) -> String {
    let cases: Vec<CaseSpec> = evaluated.iter().map(|e| e.case.clone()).collect();
    let max_words = evaluated
        .iter()
        .map(|e| e.result.as_ref().map_or(0, Vec::len))
        .max()
        .unwrap_or(0);
    let mut src = String::from(HEADER);
    let _ = writeln!(src, "/// Number of cases.");
    let _ = writeln!(src, "pub const CASE_COUNT: usize = {};", evaluated.len());
    let _ = writeln!(
        src,
        "/// Largest output buffer any case hands to `loss-core`."
    );
    let _ = writeln!(
        src,
        "pub const MAX_SCRATCH: usize = {};",
        max_scratch(&cases)
    );
    let _ = writeln!(src, "/// Most output words of any case.");
    let _ = writeln!(src, "pub const MAX_WORDS: usize = {max_words};\n");
    for set in sets {
        let upper = set.name.to_uppercase();
        write_floats(&mut src, &format!("{upper}_P"), &set.predictions);
        write_floats(&mut src, &format!("{upper}_T"), &set.targets);
    }
    // Each distinct configuration once, as a `const` the cases name.
    let mut specs: Vec<String> = Vec::new();
    let spec_ids: Vec<usize> = evaluated
        .iter()
        .map(|e| {
            let lit = spec_lit(&e.case.spec);
            specs.iter().position(|s| *s == lit).unwrap_or_else(|| {
                specs.push(lit);
                specs.len() - 1
            })
        })
        .collect();
    src.push('\n');
    for (i, spec) in specs.iter().enumerate() {
        let _ = writeln!(src, "const S{i}: Spec = {spec};");
    }
    src.push_str("\n/// Every golden case.\npub static CASES: [Case; CASE_COUNT] = [\n");
    for (e, spec_id) in evaluated.iter().zip(spec_ids) {
        let set = &sets[e.case.input];
        let upper = set.name.to_uppercase();
        let expected = match &e.result {
            Ok(words) => {
                let mut s = String::from("Expected::Bits(&[");
                // Short outputs on one line, long ones in rows of eight.
                let short = words.len() <= 6;
                for (i, w) in words.iter().enumerate() {
                    if short {
                        if i > 0 {
                            s.push(' ');
                        }
                    } else if i % 8 == 0 {
                        s.push_str("\n        ");
                    } else {
                        s.push(' ');
                    }
                    let _ = write!(s, "{w:#010x},");
                }
                s.push_str(if short { "])" } else { "\n    ])" });
                s
            }
            Err(err) => format!("Expected::Err({})", error_lit(err)),
        };
        let _ = writeln!(
            src,
            "    Case {{ name: {:?}, spec: S{spec_id}, op: {}, \
             predictions: &{upper}_P, targets: &{upper}_T, expected: {expected} }},",
            e.case.name,
            op_lit(&e.case.op),
        );
    }
    src.push_str("];\n");
    src
}

/// The complete generated file, computed now by this build of `loss-core`.
pub fn render() -> String {
    let sets = input_sets();
    let cases = case_specs(&sets);
    let evaluated = evaluate_all(&sets, &cases);
    render_from(&sets, &evaluated)
}
