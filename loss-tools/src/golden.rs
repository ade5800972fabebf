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

mod cases;
mod inputs;
mod render;

use golden::{Op, Spec, Words, evaluate};

pub use cases::case_specs;
pub use inputs::input_sets;
pub use render::render_from;

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
            let result = evaluate(
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
            Op::Elementwise { capacity }
            | Op::PerSample { capacity, .. }
            | Op::Grad { capacity, .. } => capacity,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// The complete generated file, computed now by this build of `loss-core`.
pub fn render() -> String {
    let sets = input_sets();
    let cases = case_specs(&sets);
    let evaluated = evaluate_all(&sets, &cases);
    render_from(&sets, &evaluated)
}
