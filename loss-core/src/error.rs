//! The crate-wide error type.

use core::fmt;

/// Which input slice an [`Error`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Operand {
    /// The predictions: logits or probabilities.
    Predictions,
    /// The targets: labels or soft labels in `[0, 1]`.
    Targets,
}

/// Errors returned by loss and metric functions.
///
/// Every fallible function returns `Err` instead of panicking and, for accumulators, leaves the
/// state it had before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// `predictions` and `targets` have different lengths.
    LengthMismatch {
        /// Length of the prediction slice.
        predictions: usize,
        /// Length of the target slice.
        targets: usize,
    },
    /// There is nothing to reduce: the mean (or dice) of zero elements is undefined.
    EmptyInput,
    /// A caller-provided output buffer is too small.
    BufferTooSmall {
        /// Elements the result needs.
        needed: usize,
        /// Elements the buffer holds.
        capacity: usize,
    },
    /// A parameter is outside its valid range; the payload names it, e.g. `"alpha"`.
    InvalidParameter(&'static str),
    /// The input length is not `samples` equal parts (or `samples` is zero).
    SampleCountMismatch {
        /// Length of the input slices.
        len: usize,
        /// Number of samples asked for.
        samples: usize,
    },
    /// A value is outside the domain of its operand: a probability or a target outside `[0, 1]`.
    /// NaN is not reported here; it propagates (see the crate docs).
    OutOfRange {
        /// The slice holding the value.
        operand: Operand,
        /// Index of the first offending element in the slice passed to the call.
        index: usize,
    },
    /// A slice's length does not match the [`Shape`](crate::multiclass::Shape) it was given with.
    ShapeMismatch {
        /// The slice at fault.
        operand: Operand,
        /// Elements the shape implies.
        expected: usize,
        /// Elements the slice holds.
        found: usize,
    },
    /// A label map holds a class index that is neither in `0..classes` nor the `ignore_index`.
    LabelOutOfRange {
        /// Index of the first offending pixel in the label slice passed to the call.
        index: usize,
        /// The label found there.
        label: i32,
    },
    /// More classes than the accumulator's const-generic capacity.
    TooManyClasses {
        /// Classes asked for.
        classes: usize,
        /// Classes the accumulator can hold.
        capacity: usize,
    },
    /// A counted quantized prediction code dequantizes outside `[0, 1]` where probabilities
    /// are expected (see [`quantized`](crate::quantized)); the data may be logits.
    CodeOutOfRange {
        /// The code.
        code: i32,
    },
    /// An accumulator of integer counts would pass `u32::MAX` elements.
    CountOverflow,
    /// A per-class quantization list does not have one entry per class.
    QuantizationCount {
        /// Classes the list must cover.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// A gradient buffer does not have one element per prediction (gradients are written to
    /// exactly the predictions' shape, never to a prefix).
    GradientLength {
        /// Elements the gradient has: one per prediction.
        expected: usize,
        /// Elements the buffer holds.
        found: usize,
    },
    /// A gradient pass was given data that does not match the statistics it was computed
    /// from (the overlap losses' second pass, see [`dice`](crate::dice)).
    StatisticsMismatch {
        /// Elements the statistics were accumulated over (saturated at `usize::MAX`: `usize`
        /// keeps `Error` at 12 bytes on 32-bit targets).
        expected: usize,
        /// Elements the gradient passes have covered, this call included (saturated).
        found: usize,
    },
    /// A per-class weight list does not have one weight per class.
    WeightCount {
        /// Classes the weights must cover.
        expected: usize,
        /// Weights given.
        found: usize,
    },
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Predictions => "predictions",
            Self::Targets => "targets",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch {
                predictions,
                targets,
            } => write!(
                f,
                "predictions have {predictions} elements but targets have {targets}"
            ),
            Self::EmptyInput => f.write_str("input is empty"),
            Self::BufferTooSmall { needed, capacity } => write!(
                f,
                "output buffer holds {capacity} elements but {needed} are needed"
            ),
            Self::InvalidParameter(name) => write!(f, "parameter `{name}` is out of range"),
            Self::SampleCountMismatch { len, samples } => {
                write!(
                    f,
                    "{len} elements cannot be split into {samples} equal samples"
                )
            }
            Self::CodeOutOfRange { code } => write!(
                f,
                "prediction code {code} dequantizes outside [0, 1] (are these logits?)"
            ),
            Self::CountOverflow => f.write_str("more than 4294967295 elements in one accumulator"),
            Self::OutOfRange {
                operand: Operand::Predictions,
                index,
            } => write!(
                f,
                "predictions[{index}] is outside [0, 1]: probabilities were expected (are these logits?)"
            ),
            Self::OutOfRange { operand, index } => {
                write!(f, "{operand}[{index}] is outside [0, 1]")
            }
            Self::ShapeMismatch {
                operand,
                expected,
                found,
            } => write!(
                f,
                "{operand} have {found} elements but the shape needs {expected}"
            ),
            Self::LabelOutOfRange { index, label } => {
                write!(f, "label {label} at pixel {index} is not a valid class")
            }
            Self::TooManyClasses { classes, capacity } => write!(
                f,
                "{classes} classes exceed the accumulator's capacity of {capacity}"
            ),
            Self::QuantizationCount { expected, found } => {
                write!(
                    f,
                    "{found} quantization parameters given for {expected} classes"
                )
            }
            Self::GradientLength { expected, found } => write!(
                f,
                "gradient buffer holds {found} elements but the predictions have {expected}"
            ),
            Self::StatisticsMismatch { expected, found } => write!(
                f,
                "gradient passes cover {found} elements but the statistics hold {expected}"
            ),
            Self::WeightCount { expected, found } => {
                write!(f, "{found} class weights given for {expected} classes")
            }
        }
    }
}

impl core::error::Error for Error {}
