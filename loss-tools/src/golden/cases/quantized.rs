//! The quantized cases: `loss_core::quantized` on int8 / uint8 codes with byte, `bool` and
//! bit masks.

use loss_core::Predictions;

use super::{CHUNKINGS, Cases, MEAN, SUM, opt, red_name};
use golden::{BAD_CHUNK, CodeKind, MaskKind, Op, OverlapBase, QuantLoss, Spec};

/// A quantized case's spec: `i8` logits at scale 1/16 and zero point -4 unless said otherwise.
const fn quantized(loss: QuantLoss, mask: MaskKind) -> Spec {
    Spec::Quantized {
        loss,
        scale: 0.0625,
        zero_point: -4,
        code: CodeKind::I8,
        mask,
    }
}

/// Tilings for the quantized streams: whole bytes of a bit mask, empty and rejected pushes.
const BIT_CHUNKINGS: [&[u16]; 2] = [&[8, 0, 64, BAD_CHUNK, 16, 1000], &[40]];

/// `loss_core::quantized`: focal (logits and probabilities), the dice family and confusion
/// counts on int8 / uint8 codes with byte, `bool` and bit masks; one-shot, elementwise and
/// tiled; and their errors.
pub(super) fn quantized_cases(cases: &mut Cases<'_>) {
    for (alpha, gamma) in [
        (Some(0.25), 2.0),
        (None, 0.5),
        (Some(1.0), 0.0),
        (Some(0.75), 5.0),
    ] {
        let focal = QuantLoss::Focal { alpha, gamma };
        for r in [MEAN, SUM] {
            cases.add(
                format!("quantized/focal/a{}/g{gamma}/{}", opt(alpha), red_name(r)),
                quantized(focal, MaskKind::Bytes),
                Op::Loss(r),
                "q_i8",
            );
        }
    }
    // The other masks count the same pairs.
    for mask in [MaskKind::Bools, MaskKind::Bits] {
        let focal = QuantLoss::Focal {
            alpha: Some(0.25),
            gamma: 2.0,
        };
        cases.add(
            format!("quantized/focal/{mask:?}"),
            quantized(focal, mask),
            Op::Loss(MEAN),
            "q_i8",
        );
    }
    let focal = QuantLoss::Focal {
        alpha: Some(0.25),
        gamma: 2.0,
    };
    cases.add(
        "quantized/focal/elementwise".into(),
        quantized(focal, MaskKind::Bits),
        Op::Elementwise {
            capacity: cases.len("q_i8_small"),
        },
        "q_i8_small",
    );
    for (k, chunks) in BIT_CHUNKINGS.into_iter().enumerate() {
        cases.add(
            format!("quantized/focal/stream/bits/{k}"),
            quantized(focal, MaskKind::Bits),
            Op::Stream {
                chunks,
                reduction: MEAN,
            },
            "q_i8",
        );
    }
    cases.add(
        "quantized/focal/stream/bytes".into(),
        quantized(focal, MaskKind::Bytes),
        Op::Stream {
            chunks: CHUNKINGS[2],
            reduction: SUM,
        },
        "q_i8",
    );
    // Probabilities: the usual uint8 sigmoid output (scale 1/256, zero point 0).
    let u8_probabilities = |loss| Spec::Quantized {
        loss,
        scale: 1.0 / 256.0,
        zero_point: 0,
        code: CodeKind::U8,
        mask: MaskKind::Bytes,
    };
    cases.add(
        "quantized/seed/u8".into(),
        u8_probabilities(QuantLoss::Seed),
        Op::Loss(MEAN),
        "q_u8",
    );
    let dice_probabilities = QuantLoss::Overlap {
        base: OverlapBase::Dice,
        squared: false,
        predictions: Predictions::Probabilities,
    };
    cases.add(
        "quantized/dice/u8".into(),
        u8_probabilities(dice_probabilities),
        Op::Loss(MEAN),
        "q_u8",
    );
    for (label, base, squared) in [
        ("dice", OverlapBase::Dice, false),
        ("dice/squared", OverlapBase::Dice, true),
        ("jaccard", OverlapBase::Jaccard, false),
        (
            "tversky",
            OverlapBase::Tversky {
                alpha: 0.3,
                beta: 0.7,
            },
            false,
        ),
    ] {
        let overlap = QuantLoss::Overlap {
            base,
            squared,
            predictions: Predictions::Logits,
        };
        cases.add(
            format!("quantized/{label}/logits"),
            quantized(overlap, MaskKind::Bits),
            Op::Loss(MEAN),
            "q_i8",
        );
    }
    cases.add(
        "quantized/dice/stream/bits".into(),
        quantized(
            QuantLoss::Overlap {
                base: OverlapBase::Dice,
                squared: false,
                predictions: Predictions::Logits,
            },
            MaskKind::Bits,
        ),
        Op::Stream {
            chunks: BIT_CHUNKINGS[0],
            reduction: MEAN,
        },
        "q_i8",
    );
    for threshold in [0.0, 0.5, -100.0] {
        cases.add(
            format!("quantized/confusion/{threshold}"),
            quantized(QuantLoss::Confusion { threshold }, MaskKind::Bytes),
            Op::Loss(MEAN),
            "q_i8",
        );
    }
    quantized_error_cases(cases);
}

/// The quantized path's errors: a mask byte other than 0/1, a zero point outside the code
/// type, a scale that is not positive, probability codes outside `[0, 1]`.
fn quantized_error_cases(cases: &mut Cases<'_>) {
    let focal = QuantLoss::Focal {
        alpha: Some(0.25),
        gamma: 2.0,
    };
    cases.add(
        "quantized/error/mask_byte".into(),
        quantized(focal, MaskKind::Bytes),
        Op::Loss(MEAN),
        "q_bad_mask",
    );
    cases.add(
        "quantized/error/mask_byte/stream".into(),
        quantized(focal, MaskKind::Bytes),
        Op::Stream {
            chunks: CHUNKINGS[1],
            reduction: MEAN,
        },
        "q_bad_mask",
    );
    for (label, scale, zero_point) in [("zero_point", 0.0625, 128), ("scale", -1.0, 0)] {
        cases.add(
            format!("quantized/error/{label}"),
            Spec::Quantized {
                loss: focal,
                scale,
                zero_point,
                code: CodeKind::I8,
                mask: MaskKind::Bytes,
            },
            Op::Loss(MEAN),
            "q_bad_mask",
        );
    }
    // int8 codes read as probabilities at scale 1/128: the negative codes are outside [0, 1].
    for (label, loss) in [
        ("seed", QuantLoss::Seed),
        (
            "dice",
            QuantLoss::Overlap {
                base: OverlapBase::Dice,
                squared: false,
                predictions: Predictions::Probabilities,
            },
        ),
    ] {
        cases.add(
            format!("quantized/error/probabilities/{label}"),
            Spec::Quantized {
                loss,
                scale: 1.0 / 128.0,
                zero_point: 0,
                code: CodeKind::I8,
                mask: MaskKind::Bits,
            },
            Op::Loss(MEAN),
            "q_i8",
        );
    }
}
