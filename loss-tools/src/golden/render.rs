//! The generated file: every value as a Rust literal that parses back to the same bits.

use std::fmt::Write as _;

use loss_core::multiclass::{ClassAlpha, ClassOverlap, Decision};
use loss_core::{Predictions, Reduction};

use super::{CaseSpec, Evaluated, InputSet, max_scratch};
use golden::{BAD_CHUNK, ClassScales, MultiLoss, Op, OverlapBase, QuantLoss, Spec};

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
        Spec::Quantized {
            loss,
            scale,
            zero_point,
            code,
            mask,
        } => format!(
            "Spec::Quantized {{ loss: {}, scale: {}, zero_point: {zero_point}, code: CodeKind::{code:?}, mask: MaskKind::{mask:?} }}",
            quant_lit(loss),
            lit(scale)
        ),
        Spec::MultiCodes {
            loss,
            batch,
            classes,
            spatial,
            layout,
            labels,
            ignore,
            code,
            scales,
        } => format!(
            "Spec::MultiCodes {{ loss: {}, batch: {batch}, classes: {classes}, spatial: {spatial}, \
             layout: Layout::{layout:?}, labels: LabelKind::{labels:?}, ignore: {ignore:?}, \
             code: CodeKind::{code:?}, scales: {} }}",
            multi_lit(&loss),
            scales_lit(scales)
        ),
        Spec::Reduce => "Spec::Reduce".into(),
        Spec::DetSum3 => "Spec::DetSum3".into(),
        Spec::FirstNonFinite => "Spec::FirstNonFinite".into(),
    }
}

fn scales_lit(scales: ClassScales) -> String {
    match scales {
        ClassScales::Tensor { scale, zero_point } => format!(
            "ClassScales::Tensor {{ scale: {}, zero_point: {zero_point} }}",
            lit(scale)
        ),
        ClassScales::Class(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|&(scale, zero_point)| format!("({}, {zero_point})", lit(scale)))
                .collect();
            format!("ClassScales::Class(&[{}])", pairs.join(", "))
        }
    }
}

fn quant_lit(loss: QuantLoss) -> String {
    match loss {
        QuantLoss::Focal { alpha, gamma } => format!(
            "QuantLoss::Focal {{ alpha: {}, gamma: {} }}",
            opt_lit(alpha),
            lit(gamma)
        ),
        QuantLoss::Seed => "QuantLoss::Seed".into(),
        QuantLoss::Overlap {
            base,
            squared,
            predictions,
        } => format!(
            "QuantLoss::Overlap {{ base: {}, squared: {squared}, predictions: {} }}",
            base_lit(base),
            pred_lit(predictions)
        ),
        QuantLoss::Confusion { threshold } => {
            format!("QuantLoss::Confusion {{ threshold: {} }}", lit(threshold))
        }
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
        Op::Grad {
            reduction,
            capacity,
        } => format!(
            "Op::Grad {{ reduction: {}, capacity: {capacity} }}",
            red_lit(reduction)
        ),
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
        Error::GradientLength { expected, found } => {
            format!("Error::GradientLength {{ expected: {expected}, found: {found} }}")
        }
        Error::CodeOutOfRange { code } => format!("Error::CodeOutOfRange {{ code: {code} }}"),
        Error::CountOverflow => "Error::CountOverflow".into(),
        Error::QuantizationCount { expected, found } => {
            format!("Error::QuantizationCount {{ expected: {expected}, found: {found} }}")
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

use crate::{
    BAD_CHUNK, Case, ClassScales, CodeKind, Expected, LabelKind, MaskKind, MultiLoss, Op,
    OverlapBase, QuantLoss, Spec,
};
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
    write_cases(&mut src, sets, evaluated);
    src
}

/// Each distinct configuration once, as a `static` the cases point to (one copy in flash),
/// then the cases.
fn write_cases(src: &mut String, sets: &[InputSet], evaluated: &[Evaluated]) {
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
        let _ = writeln!(src, "static S{i}: Spec = {spec};");
    }
    src.push_str("\n/// Every golden case.\npub static CASES: [Case; CASE_COUNT] = [\n");
    for (e, spec_id) in evaluated.iter().zip(spec_ids) {
        let set = &sets[e.case.input];
        let upper = set.name.to_uppercase();
        let _ = writeln!(
            src,
            "    Case {{ name: name!({:?}), spec: &S{spec_id}, op: {}, \
             predictions: &{upper}_P, targets: &{upper}_T, expected: {} }},",
            e.case.name,
            op_lit(&e.case.op),
            expected_lit(&e.result),
        );
    }
    src.push_str("];\n");
}

/// The expected output words (short outputs on one line, long ones in rows of eight), or the
/// expected error.
fn expected_lit(result: &Result<Vec<u32>, loss_core::Error>) -> String {
    match result {
        Ok(words) => {
            let mut s = String::from("Expected::Bits(&[");
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
    }
}
