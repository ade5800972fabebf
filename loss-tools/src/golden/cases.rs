//! The cases, one function per family, called in a fixed order (the order of the generated
//! file).

mod codes;
mod multiclass;
mod quantized;

use loss_core::{Predictions, Reduction, focal::SoftTargets};

use super::{CaseSpec, InputSet};
use golden::{BAD_CHUNK, Op, OverlapBase, Spec};

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

/// Plain dice on probabilities.
const DICE: Spec = Spec::Overlap {
    base: OverlapBase::Dice,
    smoothing: None,
    squared: false,
    predictions: Predictions::Probabilities,
};

/// Plain dice on logits.
const DICE_LOGITS: Spec = Spec::Overlap {
    base: OverlapBase::Dice,
    smoothing: None,
    squared: false,
    predictions: Predictions::Logits,
};

fn red_name(r: Reduction) -> &'static str {
    match r {
        Reduction::Mean => "mean",
        Reduction::Sum => "sum",
    }
}

fn opt(a: Option<f32>) -> String {
    a.map_or_else(|| "none".to_string(), |a| format!("{a}"))
}

/// The cases collected so far; input sets are named by their name.
struct Cases<'a> {
    sets: &'a [InputSet],
    cases: Vec<CaseSpec>,
}

impl Cases<'_> {
    /// The index of the input set `name`.
    fn idx(&self, name: &str) -> usize {
        self.sets
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("no input set {name}"))
    }

    /// The number of predictions of the input set `name`.
    fn len(&self, name: &str) -> usize {
        self.sets[self.idx(name)].predictions.len()
    }

    fn add(&mut self, name: String, spec: Spec, op: Op, input: &str) {
        let input = self.idx(input);
        self.cases.push(CaseSpec {
            name,
            spec,
            op,
            input,
        });
    }

    /// Element losses: the full set of paths on one input (elementwise into `n` values unless
    /// `n == 0`; the chunkings if `stream`).
    fn element_paths(&mut self, label: &str, spec: Spec, input: &str, n: usize, stream: bool) {
        for r in [MEAN, SUM] {
            self.add(
                format!("{label}/{input}/{}", red_name(r)),
                spec,
                Op::Loss(r),
                input,
            );
        }
        // `n == 0`: no elementwise case (the alpha factor is one multiplication, covered by
        // the reduced cases; the per-element bits are covered without alpha).
        if n > 0 {
            self.add(
                format!("{label}/{input}/none"),
                spec,
                Op::Elementwise { capacity: n },
                input,
            );
            // The loss and its gradient (the mean: the sum's gradient is the same derivatives
            // undivided).
            self.add(
                format!("{label}/{input}/grad"),
                spec,
                Op::Grad {
                    reduction: MEAN,
                    capacity: n,
                },
                input,
            );
        }
        if stream {
            for (i, chunks) in CHUNKINGS.iter().enumerate() {
                let r = if i % 2 == 0 { MEAN } else { SUM };
                self.add(
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
    }
}

/// Every case, in a fixed order.
pub fn case_specs(sets: &[InputSet]) -> Vec<CaseSpec> {
    let mut cases = Cases {
        sets,
        cases: Vec::new(),
    };
    sigmoid_focal_hard_cases(&mut cases);
    sigmoid_focal_soft_cases(&mut cases);
    sigmoid_focal_edge_cases(&mut cases);
    binary_focal_cases(&mut cases);
    binary_focal_edge_cases(&mut cases);
    overlap_cases(&mut cases);
    overlap_stream_cases(&mut cases);
    tool_cases(&mut cases);
    error_input_cases(&mut cases);
    error_buffer_cases(&mut cases);
    error_focal_parameter_cases(&mut cases);
    error_overlap_parameter_cases(&mut cases);
    binary_keras_cases(&mut cases);
    sigmoid_cases(&mut cases);
    multiclass::multiclass_cases(&mut cases);
    quantized::quantized_cases(&mut cases);
    codes::multiclass_code_cases(&mut cases);
    cases.cases
}

/// `SigmoidFocal` on hard targets: every gamma with and without alpha, then the alphas.
fn sigmoid_focal_hard_cases(cases: &mut Cases<'_>) {
    let n = cases.len("logits_hard");
    cases.element_paths(
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
            cases.element_paths(&label, spec, "logits_hard", n, gamma == 0.5);
            if alpha.is_none() || gamma == 2.0 {
                let n = cases.len("logits_extreme");
                cases.add(
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
        cases.element_paths(&label, spec, "logits_hard", 0, false);
    }
}

/// `SigmoidFocal` on soft targets: the soft-target conventions.
fn sigmoid_focal_soft_cases(cases: &mut Cases<'_>) {
    let n = cases.len("logits_soft");
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
                cases.element_paths(&label, spec, "logits_soft", n, false);
            }
        }
    }
}

/// `SigmoidFocal` on empty masks, batches and non-finite input.
fn sigmoid_focal_edge_cases(cases: &mut Cases<'_>) {
    for input in [
        "logits_extreme",
        "empty_mask_logits",
        "non_finite",
        "opposite_inf",
        "nan_target",
    ] {
        cases.element_paths(
            "sigmoid_focal/torchvision",
            Spec::SigmoidFocalTorchvision,
            input,
            cases.len(input),
            false,
        );
    }
    for r in [MEAN, SUM] {
        cases.add(
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
}

/// `BinaryFocal`: seed preset, gammas, alphas, clamps, hard and soft targets.
fn binary_focal_cases(cases: &mut Cases<'_>) {
    for input in ["probs_hard", "probs_soft"] {
        let n = cases.len(input);
        cases.element_paths(
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
                    cases.element_paths(&label, spec, input, n, false);
                }
            }
        }
    }
}

/// `BinaryFocal` (seed preset) on empty and full masks, non-finite input and a batch.
fn binary_focal_edge_cases(cases: &mut Cases<'_>) {
    for input in ["empty_mask", "full_mask", "non_finite"] {
        cases.element_paths(
            "binary_focal/seed",
            Spec::BinaryFocalSeed,
            input,
            cases.len(input),
            false,
        );
    }
    for r in [MEAN, SUM] {
        cases.add(
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
}

/// The dice-family bases, with their names in the cases.
const OVERLAP_BASES: [(&str, OverlapBase); 6] = [
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

/// The dice family: every base with the options, on every mask shape.
fn overlap_cases(cases: &mut Cases<'_>) {
    for (bname, base) in OVERLAP_BASES {
        let tversky = matches!(base, OverlapBase::Tversky { .. });
        for squared in [false, true] {
            if squared && tversky {
                continue;
            }
            for smoothing in [None, Some((0.0, 0.0)), Some((1.0, 1.0))] {
                let sname = smoothing.map_or_else(|| "default".into(), |(a, b)| format!("{a},{b}"));
                let label = format!("overlap/{bname}/sq={squared}/smooth={sname}");
                overlap_option_cases(cases, &label, base, smoothing, squared);
            }
        }
    }
}

/// One dice-family configuration on probabilities and on logits: statistics on the mask
/// shapes, and (without smoothing) the loss and the per-sample paths.
fn overlap_option_cases(
    cases: &mut Cases<'_>,
    label: &str,
    base: OverlapBase,
    smoothing: Option<(f32, f32)>,
    squared: bool,
) {
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
        cases.add(format!("{label}/{input}/stats"), probs, Op::Stats, input);
        let n = cases.len(input);
        cases.add(
            format!("{label}/{input}/grad"),
            probs,
            Op::Grad {
                reduction: MEAN,
                capacity: n,
            },
            input,
        );
    }
    for &input in logit_inputs {
        cases.add(
            format!("{label}/logits/{input}/stats"),
            logits,
            Op::Stats,
            input,
        );
        let n = cases.len(input);
        cases.add(
            format!("{label}/logits/{input}/grad"),
            logits,
            Op::Grad {
                reduction: MEAN,
                capacity: n,
            },
            input,
        );
    }
    if smoothing.is_none() {
        cases.add(
            format!("{label}/probs_hard/loss"),
            probs,
            Op::Loss(MEAN),
            "probs_hard",
        );
        cases.add(
            format!("{label}/logits/logits_hard/loss"),
            logits,
            Op::Loss(MEAN),
            "logits_hard",
        );
        for r in [MEAN, SUM] {
            cases.add(
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
        cases.add(
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

/// Dice streaming with every chunking, and dice on non-finite logits.
fn overlap_stream_cases(cases: &mut Cases<'_>) {
    for (i, chunks) in CHUNKINGS.iter().enumerate() {
        cases.add(
            format!("overlap/dice/probs_hard/stream{i}"),
            DICE,
            Op::Stream {
                chunks,
                reduction: MEAN,
            },
            "probs_hard",
        );
        cases.add(
            format!("overlap/dice/logits/logits_hard/stream{i}"),
            DICE_LOGITS,
            Op::Stream {
                chunks,
                reduction: MEAN,
            },
            "logits_hard",
        );
    }
    for input in ["non_finite", "opposite_inf", "nan_target"] {
        cases.add(
            format!("overlap/dice/logits/{input}/stats"),
            DICE_LOGITS,
            Op::Stats,
            input,
        );
    }
}

/// Reductions, the deterministic sum and `first_non_finite`.
fn tool_cases(cases: &mut Cases<'_>) {
    for input in ["reduce_values", "non_finite", "opposite_inf", "logits_hard"] {
        for r in [MEAN, SUM] {
            cases.add(
                format!("reduce/{input}/{}", red_name(r)),
                Spec::Reduce,
                Op::Loss(r),
                input,
            );
        }
        cases.add(
            format!("first_non_finite/{input}"),
            Spec::FirstNonFinite,
            Op::Loss(MEAN),
            input,
        );
    }
    cases.add(
        "first_non_finite/empty".into(),
        Spec::FirstNonFinite,
        Op::Loss(MEAN),
        "empty",
    );
    for (i, chunks) in CHUNKINGS.iter().enumerate().take(2) {
        cases.add(
            format!("det_sum3/reduce_values/stream{i}"),
            Spec::DetSum3,
            Op::Stream {
                chunks,
                reduction: SUM,
            },
            "reduce_values",
        );
    }
}

/// Bad input: each must be an error, on every path.
fn error_input_cases(cases: &mut Cases<'_>) {
    for input in [
        "bad_target_high",
        "bad_target_negative",
        "mismatch",
        "empty",
    ] {
        cases.element_paths(
            "error/sigmoid_focal",
            Spec::SigmoidFocalTorchvision,
            input,
            8,
            true,
        );
        cases.add(format!("error/dice/{input}/stats"), DICE, Op::Stats, input);
        cases.add(
            format!("error/dice/{input}/per_sample"),
            DICE,
            Op::PerSample {
                samples: 1,
                reduction: MEAN,
                capacity: 1,
            },
            input,
        );
    }
    for input in ["bad_prob", "bad_prob_negative"] {
        cases.element_paths("error/binary_focal", Spec::BinaryFocalSeed, input, 8, true);
        cases.add(format!("error/dice/{input}/stats"), DICE, Op::Stats, input);
        cases.add(
            format!("error/dice/logits/{input}/stats"),
            DICE_LOGITS,
            Op::Stats,
            input,
        );
    }
    cases.add(
        "error/reduce/empty".into(),
        Spec::Reduce,
        Op::Loss(MEAN),
        "empty",
    );
    // A gradient buffer one short: `Error::GradientLength`, for both families.
    let n = cases.len("logits_hard");
    cases.add(
        "error/sigmoid_focal/logits_hard/grad_length".into(),
        Spec::SigmoidFocalTorchvision,
        Op::Grad {
            reduction: MEAN,
            capacity: n - 1,
        },
        "logits_hard",
    );
    let n = cases.len("probs_hard");
    cases.add(
        "error/dice/probs_hard/grad_length".into(),
        DICE,
        Op::Grad {
            reduction: MEAN,
            capacity: n - 1,
        },
        "probs_hard",
    );
}

/// Output buffers too small, and sample counts that do not divide the input.
fn error_buffer_cases(cases: &mut Cases<'_>) {
    cases.add(
        "error/sigmoid_focal/probs_hard/buffer_too_small".into(),
        Spec::SigmoidFocalTorchvision,
        Op::Elementwise { capacity: 95 },
        "probs_hard",
    );
    for (samples, capacity) in [(3, 4), (0, 4), (4, 3), (200, 200)] {
        cases.add(
            format!("error/sigmoid_focal/batch4/per_sample/{samples},{capacity}"),
            Spec::SigmoidFocalTorchvision,
            Op::PerSample {
                samples,
                reduction: MEAN,
                capacity,
            },
            "batch4",
        );
        cases.add(
            format!("error/dice/batch4/per_sample/{samples},{capacity}"),
            DICE,
            Op::PerSample {
                samples,
                reduction: MEAN,
                capacity,
            },
            "batch4",
        );
    }
}

/// Bad focal parameters: alpha, gamma and the clamp bounds.
fn error_focal_parameter_cases(cases: &mut Cases<'_>) {
    let bad_focal = [
        (Some(1.5), 2.0),
        (Some(-0.1), 2.0),
        (Some(f32::NAN), 2.0),
        (None, -1.0),
        (None, f32::NAN),
        (None, f32::INFINITY),
    ];
    for (i, (alpha, gamma)) in bad_focal.into_iter().enumerate() {
        cases.add(
            format!("error/sigmoid_focal/param{i}"),
            Spec::SigmoidFocal {
                alpha,
                gamma,
                soft: SoftTargets::Monai,
            },
            Op::Loss(MEAN),
            "logits_hard",
        );
        cases.add(
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
        cases.add(
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
}

/// Bad dice-family parameters: Tversky weights, squared Tversky, smoothing.
fn error_overlap_parameter_cases(cases: &mut Cases<'_>) {
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
        cases.add(
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
}

/// Keras-style binary focal (clip in the logs only), and its rejected soft-target convention.
fn binary_keras_cases(cases: &mut Cases<'_>) {
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
            let n = if alpha.is_none() { cases.len(input) } else { 0 };
            cases.element_paths(&label, spec, input, n, false);
        }
    }
    cases.add(
        "error/binary_focal_keras/soft_monai".into(),
        Spec::BinaryFocalKeras {
            alpha: None,
            gamma: 2.0,
            soft: SoftTargets::Monai,
        },
        Op::Loss(MEAN),
        "probs_hard",
    );
}

/// The plain sigmoid.
fn sigmoid_cases(cases: &mut Cases<'_>) {
    for input in ["logits_extreme", "logits_hard"] {
        cases.add(
            format!("sigmoid/{input}"),
            Spec::Sigmoid,
            Op::Elementwise { capacity: 0 },
            input,
        );
    }
}
