//! The quantized multi-class cases: `push_codes` of the multi-class accumulators on `i8` and
//! `u8` codes, quantized per tensor (the softmax table's path for a softmax reader) and per
//! class; softmax and one-vs-rest focal, softmax statistics with a class reduction, confusion
//! counts; a label map with `ignore_index`, both layouts; and the errors of the path.
//!
//! Twins that must agree (checked by `tests/tests/golden.rs`): the same loss on `mcq_i8`
//! channels-last and channels-first and on `mcq_u8` (the same real scores), and every stream
//! with its one-shot case.

use loss_core::multiclass::{
    Activation, ClassAlpha, ClassOverlap, ClassReduction, Decision, EmptyClass, Layout, Weighting,
};

use super::super::inputs::{MC_BATCH, MC_CLASSES, MC_SPATIAL};
use super::{Cases, MEAN};
use golden::{BAD_CHUNK, ClassScales, CodeKind, LabelKind, MultiLoss, Op, OverlapBase, Spec};

static CLASS_WEIGHTS: [f32; 4] = [0.5, 1.0, 2.0, 1.5];
static ALPHAS: [f32; 4] = [0.1, 0.3, 0.3, 0.3];

/// Per-class quantizations of `i8` codes, and the same for `u8` codes plus 128.
static I8_CLASSES: [(f32, i32); 4] = [(0.0625, -4), (0.05, 0), (0.08, 10), (0.031_25, -20)];
static U8_CLASSES: [(f32, i32); 4] = [(0.0625, 124), (0.05, 128), (0.08, 138), (0.031_25, 108)];
/// One quantization short.
static SHORT_CLASSES: [(f32, i32); 3] = [(0.0625, -4), (0.05, 0), (0.08, 10)];

const I8_TENSOR: ClassScales = ClassScales::Tensor {
    scale: 0.0625,
    zero_point: -4,
};
const U8_TENSOR: ClassScales = ClassScales::Tensor {
    scale: 0.0625,
    zero_point: 124,
};

const NHWC: Layout = Layout::ChannelsLast;
const NCHW: Layout = Layout::ChannelsFirst;

/// `loss` on codes of the main multi-class shape, `u8` labels with 255 ignored.
fn codes(loss: MultiLoss, layout: Layout, code: CodeKind, scales: ClassScales) -> Spec {
    Spec::MultiCodes {
        loss,
        batch: MC_BATCH,
        classes: MC_CLASSES,
        spatial: MC_SPATIAL,
        layout,
        labels: LabelKind::U8,
        ignore: Some(255),
        code,
        scales,
    }
}

/// The multi-class chunking: single pixels, an empty and a rejected push.
const STREAM: Op = Op::Stream {
    chunks: &[1, 5, 0, 17, BAD_CHUNK, 3],
    reduction: MEAN,
};

/// The input set of a code type and layout.
fn input(code: CodeKind, layout: Layout) -> &'static str {
    match (code, layout) {
        (CodeKind::U8, _) => "mcq_u8",
        (CodeKind::I8, Layout::ChannelsLast) => "mcq_i8",
        (CodeKind::I8, Layout::ChannelsFirst) => "mcq_i8_nchw",
    }
}

/// Every quantized multi-class case, in a fixed order.
pub(super) fn multiclass_code_cases(cases: &mut Cases<'_>) {
    let g2 = MultiLoss::Softmax {
        gamma: 2.0,
        alpha: ClassAlpha::None,
        weights: None,
    };
    let weighted = MultiLoss::Softmax {
        gamma: 0.5,
        alpha: ClassAlpha::Background(0.25),
        weights: Some(&CLASS_WEIGHTS[..]),
    };
    let ovr_uniform = MultiLoss::OneVsRest {
        gamma: 2.0,
        alpha: ClassAlpha::Uniform(0.25),
        weights: None,
        soft: loss_core::focal::SoftTargets::Torchvision,
    };
    let ovr_per_class = MultiLoss::OneVsRest {
        gamma: 0.5,
        alpha: ClassAlpha::PerClass(&ALPHAS[..]),
        weights: Some(&CLASS_WEIGHTS[..]),
        soft: loss_core::focal::SoftTargets::Monai,
    };
    let softmax = ClassOverlap {
        activation: Activation::Softmax,
        ..ClassOverlap::default()
    };
    let dice = |reduction| MultiLoss::Overlap {
        overlap: softmax,
        base: OverlapBase::Dice,
        reduction,
    };
    let skip = ClassReduction {
        weights: Some(&CLASS_WEIGHTS[..]),
        weighting: Weighting::Normalize,
        empty: EmptyClass::Skip,
        ..ClassReduction::monai()
    };
    let argmax = MultiLoss::Confusion {
        decision: Decision::Argmax,
    };
    let threshold = MultiLoss::Confusion {
        decision: Decision::Threshold(0.0),
    };
    let (i8, u8) = (CodeKind::I8, CodeKind::U8);
    let i8_class = ClassScales::Class(&I8_CLASSES);
    let u8_class = ClassScales::Class(&U8_CLASSES);
    let load = Op::Loss(MEAN);
    for (name, loss, layout, code, scales, op) in [
        ("softmax_focal/g2/tensor", g2, NHWC, i8, I8_TENSOR, load),
        ("softmax_focal/g2/tensor", g2, NCHW, i8, I8_TENSOR, load),
        ("softmax_focal/g2/tensor", g2, NHWC, u8, U8_TENSOR, load),
        ("softmax_focal/g2/tensor", g2, NHWC, i8, I8_TENSOR, STREAM),
        (
            "softmax_focal/g0.5_bg0.25_w/tensor",
            weighted,
            NHWC,
            i8,
            I8_TENSOR,
            load,
        ),
        ("softmax_focal/g2/class", g2, NHWC, u8, u8_class, load),
        ("softmax_focal/g2/class", g2, NHWC, u8, u8_class, STREAM),
        (
            "one_vs_rest/g2_uniform0.25/tensor",
            ovr_uniform,
            NHWC,
            i8,
            I8_TENSOR,
            load,
        ),
        (
            "one_vs_rest/g0.5_perclass_w/class",
            ovr_per_class,
            NCHW,
            i8,
            i8_class,
            load,
        ),
        (
            "softmax_dice/monai/tensor",
            dice(ClassReduction::monai()),
            NHWC,
            i8,
            I8_TENSOR,
            load,
        ),
        (
            "softmax_dice/monai/tensor",
            dice(ClassReduction::monai()),
            NHWC,
            i8,
            I8_TENSOR,
            STREAM,
        ),
        (
            "softmax_dice/weights_normalize_skip/tensor",
            dice(skip),
            NHWC,
            u8,
            U8_TENSOR,
            load,
        ),
        (
            "softmax_dice/monai/class",
            dice(ClassReduction::monai()),
            NCHW,
            i8,
            i8_class,
            load,
        ),
        ("confusion/argmax/tensor", argmax, NHWC, i8, I8_TENSOR, load),
        ("confusion/argmax/class", argmax, NHWC, u8, u8_class, load),
        ("confusion/argmax/class", argmax, NHWC, u8, u8_class, STREAM),
        (
            "confusion/threshold0/tensor",
            threshold,
            NCHW,
            i8,
            I8_TENSOR,
            load,
        ),
        // `255 · scale` overflows: no table, the softmax reads the dequantized (huge) scores.
        (
            "softmax_focal/g2/tensor_no_table",
            g2,
            NHWC,
            i8,
            ClassScales::Tensor {
                scale: 1e37,
                zero_point: 0,
            },
            load,
        ),
    ] {
        let op_name = if op == load { "loss" } else { "stream" };
        let code_name = if code == i8 { "i8" } else { "u8" };
        let layout_name = if layout == NHWC { "nhwc" } else { "nchw" };
        cases.add(
            format!("codes/{name}/{code_name}/{layout_name}/{op_name}"),
            codes(loss, layout, code, scales),
            op,
            input(code, layout),
        );
    }
    code_error_cases(cases, g2);
}

/// The errors of the path: a per-class list one short, a label that is neither a class nor
/// ignored, probability codes outside `[0, 1]`, a zero point outside the code type.
fn code_error_cases(cases: &mut Cases<'_>, g2: MultiLoss) {
    cases.add(
        "error/codes/quantization_count".into(),
        codes(g2, NHWC, CodeKind::I8, ClassScales::Class(&SHORT_CLASSES)),
        Op::Loss(MEAN),
        "mcq_i8",
    );
    // Without `ignore_index` the ignored pixels' 255 is a label out of range.
    cases.add(
        "error/codes/label_out_of_range".into(),
        Spec::MultiCodes {
            loss: g2,
            batch: MC_BATCH,
            classes: MC_CLASSES,
            spatial: MC_SPATIAL,
            layout: NHWC,
            labels: LabelKind::U8,
            ignore: None,
            code: CodeKind::I8,
            scales: I8_TENSOR,
        },
        Op::Loss(MEAN),
        "mcq_i8",
    );
    // int8 codes read as probabilities at scale 1/128: the negative codes are outside [0, 1].
    cases.add(
        "error/codes/probabilities".into(),
        codes(
            MultiLoss::SoftmaxOnProbabilities {
                gamma: 2.0,
                alpha: ClassAlpha::None,
                weights: None,
            },
            NHWC,
            CodeKind::I8,
            ClassScales::Tensor {
                scale: 1.0 / 128.0,
                zero_point: 0,
            },
        ),
        Op::Loss(MEAN),
        "mcq_i8",
    );
    cases.add(
        "error/codes/zero_point".into(),
        codes(g2, NHWC, CodeKind::U8, I8_TENSOR),
        Op::Loss(MEAN),
        "mcq_u8",
    );
}
