//! The multi-class API: focal (softmax, one-vs-rest), per-class overlap and its class
//! reductions, generalized dice, confusion metrics; dense and label-map targets of every
//! integer type, `ignore_index`, both layouts, streaming, and the multi-class errors.

use loss_core::Reduction;
use loss_core::focal::SoftTargets;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassOverlap, ClassReduction, Decision, EmptyClass, Intersection,
    Layout, WeightType, Weighting,
};

use super::super::inputs::{MC_BATCH, MC_CLASSES, MC_SPATIAL};
use super::{Cases, MEAN, SUM};
use golden::{BAD_CHUNK, LabelKind, MultiLoss, Op, OverlapBase, Spec};

static CLASS_WEIGHTS: [f32; 4] = [0.5, 1.0, 2.0, 1.5];
static ALPHAS: [f32; 4] = [0.1, 0.3, 0.3, 0.3];
static BAD_WEIGHTS: [f32; 3] = [1.0, 1.0, 1.0];

const NHWC: Layout = Layout::ChannelsLast;
const NCHW: Layout = Layout::ChannelsFirst;
/// Scores of a main multi-class set.
const ELEMENTS: usize = MC_BATCH * MC_CLASSES * MC_SPATIAL;

/// `loss` on the main multi-class shape.
fn multi(loss: MultiLoss, layout: Layout, labels: LabelKind, ignore: Option<i32>) -> Spec {
    Spec::Multi {
        loss,
        batch: MC_BATCH,
        classes: MC_CLASSES,
        spatial: MC_SPATIAL,
        layout,
        labels,
        ignore,
    }
}

/// The multi-class chunking: single pixels, an empty and a rejected push.
fn stream(reduction: Reduction) -> Op {
    Op::Stream {
        chunks: &[1, 5, 0, 17, BAD_CHUNK, 3],
        reduction,
    }
}

/// `loss` streamed over `mc_labels` (`u8` labels, channels-last), reduced with `reduction`.
fn labels_stream(cases: &mut Cases<'_>, name: String, loss: MultiLoss, reduction: Reduction) {
    cases.add(
        name,
        multi(loss, NHWC, LabelKind::U8, None),
        stream(reduction),
        "mc_labels",
    );
}

/// The class reductions, with their names in the cases.
fn class_reductions() -> [(&'static str, ClassReduction<'static>); 4] {
    let base_reduction = ClassReduction::monai();
    [
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
    ]
}

/// The statistics options, with their names in the cases and the input they run on.
fn class_overlaps() -> [(&'static str, ClassOverlap, &'static str); 4] {
    [
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
    ]
}

/// Softmax dice with MONAI's class reduction.
fn softmax_dice() -> MultiLoss {
    MultiLoss::Overlap {
        overlap: class_overlaps()[0].1,
        base: OverlapBase::Dice,
        reduction: ClassReduction::monai(),
    }
}

/// Every multi-class case, in a fixed order.
pub(super) fn multiclass_cases(cases: &mut Cases<'_>) {
    softmax_focal_cases(cases);
    softmax_focal_probability_cases(cases);
    one_vs_rest_focal_cases(cases);
    class_overlap_cases(cases);
    class_overlap_target_cases(cases);
    generalized_dice_cases(cases);
    confusion_cases(cases);
    multiclass_error_cases(cases);
    multiclass_shape_error_cases(cases);
}

/// Softmax focal: every alpha spread, weights, gamma 0 / 0.5 / 2; both layouts and every
/// target representation.
fn softmax_focal_cases(cases: &mut Cases<'_>) {
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
            ("mc_labels", NHWC, LabelKind::U8, None),
            ("mc_nchw_labels", NCHW, LabelKind::U16, None),
            ("mc_labels_ignore", NHWC, LabelKind::I32, Some(255)),
            ("mc_dense", NHWC, LabelKind::Dense, None),
            ("mc_nchw_dense", NCHW, LabelKind::Dense, None),
        ] {
            let spec = multi(loss, layout, kind, ignore);
            cases.add(
                format!("{label}/{input}/{kind:?}/class_sums"),
                spec,
                Op::Loss(MEAN),
                input,
            );
            if (name == "g2" || name == "ce") && (input == "mc_labels" || input == "mc_nchw_dense")
            {
                cases.add(
                    format!("{label}/{input}/{kind:?}/none"),
                    spec,
                    Op::Elementwise { capacity: ELEMENTS },
                    input,
                );
            }
            // The gradient: every configuration on an ignored label and on soft targets.
            if input == "mc_labels_ignore" || input == "mc_nchw_dense" {
                cases.add(
                    format!("{label}/{input}/{kind:?}/grad"),
                    spec,
                    Op::Grad {
                        reduction: MEAN,
                        capacity: ELEMENTS,
                    },
                    input,
                );
            }
        }
        labels_stream(cases, format!("{label}/mc_labels/stream"), loss, MEAN);
    }
}

/// The softmax focal loss on probabilities (renormalised by their sum, no exponential).
fn softmax_focal_probability_cases(cases: &mut Cases<'_>) {
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
        let spec = multi(loss, NHWC, LabelKind::U8, None);
        cases.add(
            format!("{label}/class_sums"),
            spec,
            Op::Loss(MEAN),
            "mc_probs",
        );
        cases.add(
            format!("{label}/none"),
            spec,
            Op::Elementwise { capacity: ELEMENTS },
            "mc_probs",
        );
        cases.add(format!("{label}/stream"), spec, stream(MEAN), "mc_probs");
    }
}

/// One-vs-rest focal: alpha spreads, weights and soft-target conventions.
fn one_vs_rest_focal_cases(cases: &mut Cases<'_>) {
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
            ("mc_labels", NHWC, LabelKind::U8, None),
            ("mc_labels_ignore", NHWC, LabelKind::U8, Some(255)),
            ("mc_nchw_dense", NCHW, LabelKind::Dense, None),
        ] {
            let spec = multi(loss, layout, kind, ignore);
            cases.add(
                format!("{label}/{input}/{kind:?}/class_sums"),
                spec,
                Op::Loss(MEAN),
                input,
            );
            cases.add(
                format!("{label}/{input}/{kind:?}/grad"),
                spec,
                Op::Grad {
                    reduction: MEAN,
                    capacity: ELEMENTS,
                },
                input,
            );
        }
        cases.add(
            format!("{label}/mc_dense/none"),
            multi(loss, NHWC, LabelKind::Dense, None),
            Op::Elementwise { capacity: ELEMENTS },
            "mc_dense",
        );
        labels_stream(cases, format!("{label}/mc_labels/stream"), loss, SUM);
    }
}

/// Per-class overlap: activations, squared, min intersection, class reductions, and the
/// class reductions on an absent class.
fn class_overlap_cases(cases: &mut Cases<'_>) {
    let reductions = class_reductions();
    for (oname, overlap, input) in class_overlaps() {
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
                let spec = multi(loss, NHWC, LabelKind::U8, None);
                cases.add(
                    format!("{label}/{input}/pooled"),
                    spec,
                    Op::Loss(MEAN),
                    input,
                );
                if rname == "monai" {
                    cases.add(
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
            overlap: class_overlaps()[0].1,
            base: OverlapBase::Dice,
            reduction,
        };
        cases.add(
            format!("class_overlap/softmax/dice/{rname}/mc_absent/pooled"),
            multi(loss, NHWC, LabelKind::U8, None),
            Op::Loss(MEAN),
            "mc_absent",
        );
    }
}

/// Softmax dice on every target representation and layout, and streaming.
fn class_overlap_target_cases(cases: &mut Cases<'_>) {
    for (input, layout, kind, ignore) in [
        ("mc_nchw_labels", NCHW, LabelKind::I32, None),
        ("mc_labels_ignore", NHWC, LabelKind::U16, Some(255)),
        ("mc_dense", NHWC, LabelKind::Dense, None),
        ("mc_nchw_dense", NCHW, LabelKind::Dense, None),
    ] {
        cases.add(
            format!("class_overlap/softmax/dice/monai/{input}/{kind:?}/pooled"),
            multi(softmax_dice(), layout, kind, ignore),
            Op::Loss(MEAN),
            input,
        );
    }
    labels_stream(
        cases,
        "class_overlap/softmax/dice/monai/mc_labels/stream".into(),
        softmax_dice(),
        MEAN,
    );
}

/// Generalized dice: every weight type, on logits, an absent class and probabilities.
fn generalized_dice_cases(cases: &mut Cases<'_>) {
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
            cases.add(
                format!("generalized_dice/{wt:?}/{input}"),
                multi(loss, NHWC, LabelKind::U8, None),
                Op::Loss(MEAN),
                input,
            );
        }
    }
}

/// Confusion counts and metrics: argmax and thresholds, and streaming with ignored pixels.
fn confusion_cases(cases: &mut Cases<'_>) {
    for (dname, decision, input) in [
        ("argmax", Decision::Argmax, "mc_labels"),
        ("argmax", Decision::Argmax, "mc_absent"),
        ("threshold0", Decision::Threshold(0.0), "mc_labels"),
        ("threshold0.5", Decision::Threshold(0.5), "mc_probs"),
    ] {
        let spec = multi(MultiLoss::Confusion { decision }, NHWC, LabelKind::U8, None);
        cases.add(
            format!("confusion/{dname}/{input}"),
            spec,
            Op::Loss(MEAN),
            input,
        );
    }
    cases.add(
        "confusion/argmax/mc_labels_ignore/stream".into(),
        multi(
            MultiLoss::Confusion {
                decision: Decision::Argmax,
            },
            NHWC,
            LabelKind::I32,
            Some(255),
        ),
        stream(MEAN),
        "mc_labels_ignore",
    );
}

/// Softmax focal with gamma 2, no alpha, no weights.
const G2: MultiLoss = MultiLoss::Softmax {
    gamma: 2.0,
    alpha: ClassAlpha::None,
    weights: None,
};

/// Multi-class errors: labels out of range, shape mismatch, bad weights and alphas.
fn multiclass_error_cases(cases: &mut Cases<'_>) {
    cases.add(
        "error/multiclass/label_out_of_range".into(),
        multi(G2, NHWC, LabelKind::U8, None),
        Op::Loss(MEAN),
        "mc_bad_label",
    );
    cases.add(
        "error/multiclass/label_out_of_range/stats".into(),
        multi(softmax_dice(), NHWC, LabelKind::I32, None),
        Op::Loss(MEAN),
        "mc_bad_label",
    );
    cases.add(
        "error/multiclass/shape_mismatch".into(),
        multi(G2, NHWC, LabelKind::U8, None),
        Op::Loss(MEAN),
        "logits_hard",
    );
    cases.add(
        "error/multiclass/weight_count".into(),
        multi(
            MultiLoss::Softmax {
                gamma: 2.0,
                alpha: ClassAlpha::None,
                weights: Some(&BAD_WEIGHTS[..]),
            },
            NHWC,
            LabelKind::U8,
            None,
        ),
        Op::Loss(MEAN),
        "mc_labels",
    );
    cases.add(
        "error/multiclass/ovr_background_alpha".into(),
        multi(
            MultiLoss::OneVsRest {
                gamma: 2.0,
                alpha: ClassAlpha::Background(0.25),
                weights: None,
                soft: SoftTargets::Torchvision,
            },
            NHWC,
            LabelKind::U8,
            None,
        ),
        Op::Loss(MEAN),
        "mc_labels",
    );
}

/// Multi-class errors: too many or no classes, a NaN threshold.
fn multiclass_shape_error_cases(cases: &mut Cases<'_>) {
    cases.add(
        "error/multiclass/too_many_classes".into(),
        Spec::Multi {
            loss: G2,
            batch: 1,
            classes: 12,
            spatial: 16,
            layout: NHWC,
            labels: LabelKind::U8,
            ignore: None,
        },
        Op::Loss(MEAN),
        "logits_hard",
    );
    cases.add(
        "error/multiclass/zero_classes".into(),
        Spec::Multi {
            loss: G2,
            batch: 1,
            classes: 0,
            spatial: 16,
            layout: NHWC,
            labels: LabelKind::U8,
            ignore: None,
        },
        Op::Loss(MEAN),
        "mc_labels",
    );
    cases.add(
        "error/multiclass/nan_threshold".into(),
        multi(
            MultiLoss::Confusion {
                decision: Decision::Threshold(f32::NAN),
            },
            NHWC,
            LabelKind::U8,
            None,
        ),
        Op::Loss(MEAN),
        "mc_labels",
    );
}
