//! The case types: what a golden case computes ([`Spec`]), how it drives it ([`Op`]), its inputs
//! and what the host computed ([`Expected`]).

use loss_core::{
    Error, Predictions, Reduction,
    focal::SoftTargets,
    multiclass::{ClassAlpha, ClassOverlap, ClassReduction, Decision, Layout, WeightType},
};

/// Class capacity of the multi-class accumulators in the golden cases.
pub const MULTI_CAP: usize = 8;
/// Most pixels of a multi-class case (label maps are converted into buffers this long).
pub const MAX_PIXELS: usize = 128;

/// Which dice-family loss an [`Spec::Overlap`] case builds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OverlapBase {
    /// `OverlapLoss::dice()`.
    Dice,
    /// `OverlapLoss::jaccard()`.
    Jaccard,
    /// `OverlapLoss::tversky(alpha, beta)`.
    Tversky {
        /// Weight of false positives.
        alpha: f32,
        /// Weight of false negatives.
        beta: f32,
    },
    /// `OverlapLoss::seed_torch_dice()`.
    SeedTorch,
    /// `OverlapLoss::seed_keras_dice()`.
    SeedKeras,
}

/// What a case computes: a loss configuration built through the public constructors, or one of
/// the crate's free-standing tools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spec {
    /// `SigmoidFocal::new(alpha, gamma)?.with_soft_targets(soft)`.
    SigmoidFocal {
        /// Positive-class weight.
        alpha: Option<f32>,
        /// Focusing exponent.
        gamma: f32,
        /// Soft-target convention.
        soft: SoftTargets,
    },
    /// `SigmoidFocal::torchvision()`.
    SigmoidFocalTorchvision,
    /// `BinaryFocal::new(alpha, gamma, clamp_min, clamp_max)?`.
    BinaryFocal {
        /// Positive-class weight.
        alpha: Option<f32>,
        /// Focusing exponent.
        gamma: f32,
        /// Lower clamp bound.
        clamp_min: f32,
        /// Upper clamp bound.
        clamp_max: f32,
    },
    /// `BinaryFocal::seed()`.
    BinaryFocalSeed,
    /// `BinaryFocal::keras(alpha, gamma)?.with_soft_targets(soft)?`.
    BinaryFocalKeras {
        /// Positive-class weight.
        alpha: Option<f32>,
        /// Focusing exponent.
        gamma: f32,
        /// Soft-target convention.
        soft: SoftTargets,
    },
    /// `loss_core::sigmoid` of each prediction (only with [`Op::Elementwise`]).
    Sigmoid,
    /// A multi-class loss or metric on `N x C x spatial` scores.
    Multi {
        /// What is computed.
        loss: MultiLoss,
        /// Samples.
        batch: usize,
        /// Classes.
        classes: usize,
        /// Pixels per sample.
        spatial: usize,
        /// Memory layout of the scores (and of dense targets).
        layout: Layout,
        /// How the targets slice is read: dense values, or a label map of this integer type
        /// (the labels are stored as exact small integers in the `f32` targets).
        labels: LabelKind,
        /// `Targets::with_ignore_index`.
        ignore: Option<i32>,
    },
    /// A dice-family loss, then `with_smoothing`, `with_squared`, `with_predictions`.
    Overlap {
        /// The base constructor.
        base: OverlapBase,
        /// `Some((smooth_nr, smooth_dr))` calls `with_smoothing`.
        smoothing: Option<(f32, f32)>,
        /// `with_squared(squared)`.
        squared: bool,
        /// `with_predictions(predictions)`.
        predictions: Predictions,
    },
    /// A binary loss or metric on quantized codes (the predictions hold the codes' values)
    /// against a hard mask (the targets hold 0 or 1, or a bad byte).
    Quantized {
        /// What is computed.
        loss: QuantLoss,
        /// The quantization's scale.
        scale: f32,
        /// The quantization's zero point.
        zero_point: i32,
        /// `i8` or `u8` codes.
        code: CodeKind,
        /// How the mask is passed.
        mask: MaskKind,
    },
    /// A multi-class loss or metric on quantized class scores (`push_codes`): the predictions
    /// hold the codes' values (small integers, exact in `f32`), the targets as for
    /// [`Spec::Multi`].
    MultiCodes {
        /// What is computed: focal (softmax, on probabilities, one-vs-rest), per-class
        /// statistics with a class reduction, or confusion counts.
        loss: MultiLoss,
        /// Samples.
        batch: usize,
        /// Classes.
        classes: usize,
        /// Pixels per sample.
        spatial: usize,
        /// Memory layout of the codes.
        layout: Layout,
        /// How the targets slice is read.
        labels: LabelKind,
        /// `Targets::with_ignore_index`.
        ignore: Option<i32>,
        /// `i8` or `u8` codes.
        code: CodeKind,
        /// The quantization of the class scores.
        scales: ClassScales,
    },
    /// `Reduction::reduce` over the predictions (targets unused).
    Reduce,
    /// `DetSum::<3>` over `[p, t, p - t]`.
    DetSum3,
    /// `first_non_finite` of the predictions.
    FirstNonFinite,
}

/// How the targets of a multi-class case are passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// `Targets::dense`.
    Dense,
    /// `Targets::labels::<u8>`.
    U8,
    /// `Targets::labels::<u16>`.
    U16,
    /// `Targets::labels::<i32>`.
    I32,
}

/// The multi-class computations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MultiLoss {
    /// `SoftmaxFocal::new(gamma, alpha, weights)`.
    Softmax {
        /// Focusing exponent.
        gamma: f32,
        /// Alpha spread.
        alpha: ClassAlpha<'static>,
        /// Per-class weights.
        weights: Option<&'static [f32]>,
    },
    /// `SoftmaxFocal::new(gamma, alpha, weights)?.with_predictions(Probabilities)`.
    SoftmaxOnProbabilities {
        /// Focusing exponent.
        gamma: f32,
        /// Alpha spread.
        alpha: ClassAlpha<'static>,
        /// Per-class weights.
        weights: Option<&'static [f32]>,
    },
    /// `OneVsRestFocal::new(gamma, alpha, weights)?.with_soft_targets(soft)`.
    OneVsRest {
        /// Focusing exponent.
        gamma: f32,
        /// Alpha spread.
        alpha: ClassAlpha<'static>,
        /// Per-class weights.
        weights: Option<&'static [f32]>,
        /// Soft-target convention.
        soft: SoftTargets,
    },
    /// Per-class overlap statistics, then a dice-family loss reduced over classes.
    Overlap {
        /// Statistics options.
        overlap: ClassOverlap,
        /// The per-class loss.
        base: OverlapBase,
        /// The class reduction (weights borrowed for `'static`).
        reduction: ClassReduction<'static>,
    },
    /// Generalized dice on pooled statistics.
    GeneralizedDice {
        /// Statistics options.
        overlap: ClassOverlap,
        /// Class weights.
        weight_type: WeightType,
    },
    /// Confusion counts and metrics.
    Confusion {
        /// How a pixel's predicted classes are decided.
        decision: Decision,
    },
}

/// How a case drives its [`Spec`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// One-shot loss with a reduction (dice-family losses have no reduction: always `Mean`).
    /// Output: the value (for `FirstNonFinite`: the index, or `u32::MAX` for none).
    Loss(Reduction),
    /// `loss_elementwise` into a buffer of `capacity` values. Output: the `n` values.
    Elementwise {
        /// Output buffer length handed to the call.
        capacity: usize,
    },
    /// `loss_per_sample` into a buffer of `capacity` values. Output: one value per sample,
    /// then (dice family) `reduction.reduce` of them.
    PerSample {
        /// Number of samples.
        samples: usize,
        /// Reduction within a sample (element losses) or over samples (dice family).
        reduction: Reduction,
        /// Output buffer length handed to the call.
        capacity: usize,
    },
    /// Streaming: chunk lengths are taken cyclically from `chunks` until the data is used up;
    /// [`BAD_CHUNK`] pushes a length mismatch that must be rejected without changing the state.
    /// Output: the running result after every push that left data in the accumulator, then
    /// the count (and for dice-family losses the final statistics).
    Stream {
        /// Chunk lengths, used cyclically.
        chunks: &'static [u16],
        /// Reduction of the running value.
        reduction: Reduction,
    },
    /// Dice family: `stats`, then `score` and `loss_from`. Output: `[tp, P, T, count, score,
    /// loss]`.
    Stats,
    /// `loss_and_grad` with a reduction (dice-family losses have none), the gradient into a
    /// buffer of `capacity` values; for the softmax and one-vs-rest focal losses
    /// `loss_and_grad_elementwise` (the losses to the scratch buffer, the gradient to one of
    /// [`MAX_CLASS_GRAD`] values), whose output starts with the losses' hash instead of a
    /// loss. Output: the loss, the first [`GRAD_SHOWN`] gradient values,
    /// then [`grad_hash`](crate::grad_hash) of all of them (a word per value would not fit
    /// the Cortex-M0 board's flash; the hash still changes with any bit of any value).
    Grad {
        /// Reduction of the loss (and scale of the gradient).
        reduction: Reduction,
        /// Gradient buffer length handed to the call (`n`, or a wrong length).
        capacity: usize,
    },
}

/// Scores a multi-class [`Op::Grad`] case may have (its gradient buffer lives in a frame of
/// its own; the losses go to the scratch buffer).
pub const MAX_CLASS_GRAD: usize = 192;

/// Gradient values an [`Op::Grad`] case shows word for word before the hash of all of them.
pub const GRAD_SHOWN: usize = 4;

/// FNV-1a (32 bits) over the bits of `values`, each NaN read as the one canonical quiet NaN
/// (the golden rule: a NaN's sign and payload may differ between targets).
pub fn grad_hash(values: &[f32]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for &v in values {
        let bits = if v.is_nan() { 0x7fc0_0000 } else { v.to_bits() };
        for byte in bits.to_le_bytes() {
            h = (h ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// A chunk "length" that makes [`Op::Stream`] push mismatched slices, which must be rejected.
pub const BAD_CHUNK: u16 = u16::MAX;
/// Output word recorded when a [`BAD_CHUNK`] push was rejected and left the state unchanged.
pub const REJECTED: u32 = 0x0BAD_C0DE;

/// What the host computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expected {
    /// The output words (`f32::to_bits`, or counts and indices).
    Bits(&'static [u32]),
    /// The call returned this error.
    Err(Error),
}

/// A case's name: its text, or with `--cfg golden_nameless` nothing (the case is then known by
/// its index in [`CASES`](crate::CASES), which names it on a build with names).
#[cfg(not(golden_nameless))]
pub type Name = &'static str;

/// A case's name: with `--cfg golden_nameless` nothing, so no name takes flash; the case is
/// known by its index in [`CASES`](crate::CASES), which names it on a build with names.
#[cfg(golden_nameless)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name;

/// One golden vector.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Unique, human-readable name (see [`Name`]).
    pub name: Name,
    /// What to compute (shared by the cases of one configuration: one copy in flash).
    pub spec: &'static Spec,
    /// How to drive it.
    pub op: Op,
    /// Predictions (logits or probabilities).
    pub predictions: &'static [f32],
    /// Targets.
    pub targets: &'static [f32],
    /// The host's result.
    pub expected: Expected,
}

/// Most elements of a quantized case.
pub const MAX_CODES: usize = 256;

/// What a [`Spec::Quantized`] case computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuantLoss {
    /// `QuantizedFocal` of `SigmoidFocal::new(alpha, gamma)`.
    Focal {
        /// Positive-class weight.
        alpha: Option<f32>,
        /// Focusing exponent.
        gamma: f32,
    },
    /// `QuantizedFocal` of `BinaryFocal::seed()` (probabilities).
    Seed,
    /// `QuantizedOverlap` of a dice-family loss.
    Overlap {
        /// The score.
        base: OverlapBase,
        /// Squared denominators.
        squared: bool,
        /// Logits or probabilities.
        predictions: Predictions,
    },
    /// `CodeCounts::confusion` at a threshold.
    Confusion {
        /// Positive from this dequantized value on.
        threshold: f32,
    },
}

/// The code type of a quantized case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// `i8`.
    I8,
    /// `u8`.
    U8,
}

/// The quantization of a [`Spec::MultiCodes`] case's class scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClassScales {
    /// `ClassQuantization::per_tensor` (with its softmax table).
    Tensor {
        /// The scale.
        scale: f32,
        /// The zero point.
        zero_point: i32,
    },
    /// `ClassQuantization::per_class`: `(scale, zero_point)` per class (at most
    /// [`MULTI_CAP`]).
    Class(&'static [(f32, i32)]),
}

/// How a quantized case passes its mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// `Mask::bytes`.
    Bytes,
    /// `Mask::bools`.
    Bools,
    /// `Mask::bits`, least significant bit first.
    Bits,
}
