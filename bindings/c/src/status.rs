//! Status codes: one per `loss_core::Error` variant, and the ABI's own.

use core::ffi::c_char;

use loss_core::Error;

/// The result of every call: [`LC_OK`] or what went wrong.
pub type lc_status = i32;

/// Success; the out-pointers were written.
pub const LC_OK: lc_status = 0;
/// `Error::LengthMismatch`: predictions and targets have different lengths.
pub const LC_LENGTH_MISMATCH: lc_status = 1;
/// `Error::EmptyInput`: nothing to reduce.
pub const LC_EMPTY_INPUT: lc_status = 2;
/// `Error::BufferTooSmall`: an output buffer is too small.
pub const LC_BUFFER_TOO_SMALL: lc_status = 3;
/// `Error::InvalidParameter`: a parameter is out of range.
pub const LC_INVALID_PARAMETER: lc_status = 4;
/// `Error::SampleCountMismatch`: the input is not `samples` equal parts.
pub const LC_SAMPLE_COUNT_MISMATCH: lc_status = 5;
/// `Error::OutOfRange`: a probability or target outside `[0, 1]`, or a mask byte not 0 or 1.
pub const LC_OUT_OF_RANGE: lc_status = 6;
/// `Error::ShapeMismatch`: a slice does not match its shape.
pub const LC_SHAPE_MISMATCH: lc_status = 7;
/// `Error::LabelOutOfRange`: a label is neither a class nor the ignore index.
pub const LC_LABEL_OUT_OF_RANGE: lc_status = 8;
/// `Error::TooManyClasses`: more classes than the state holds ([`crate::LC_MAX_CLASSES`]).
pub const LC_TOO_MANY_CLASSES: lc_status = 9;
/// `Error::CodeOutOfRange`: a quantized probability code dequantizes outside `[0, 1]`.
pub const LC_CODE_OUT_OF_RANGE: lc_status = 10;
/// `Error::CountOverflow`: more than `UINT32_MAX` elements in one count.
pub const LC_COUNT_OVERFLOW: lc_status = 11;
/// `Error::QuantizationCount`: not one quantization per class.
pub const LC_QUANTIZATION_COUNT: lc_status = 12;
/// `Error::WeightCount`: not one weight per class.
pub const LC_WEIGHT_COUNT: lc_status = 13;
/// An error of a newer loss-core that this ABI does not know yet.
pub const LC_UNKNOWN_ERROR: lc_status = 14;
/// A required pointer is NULL.
pub const LC_NULL_POINTER: lc_status = 100;
/// A length is too large for the address space (or inconsistent with its buffer).
pub const LC_BAD_LENGTH: lc_status = 101;
/// A pointer is not aligned for its element type.
pub const LC_MISALIGNED: lc_status = 102;
/// An enum-like field holds a value that has no `LC_*` constant.
pub const LC_BAD_ENUM: lc_status = 103;
/// A state was used before its `lc_*_init` (or with the init of another state type).
pub const LC_NOT_INITIALIZED: lc_status = 104;
/// The targets' kind does not fit the call (e.g. `f32` targets where a hard mask is needed).
pub const LC_BAD_TARGETS: lc_status = 105;
/// The configuration needs a part this build of the library leaves out (the lean profile,
/// docs/c.md): a focal soft-target convention other than torchvision's from logits (feature
/// `soft-conventions`), a non-integer gamma (`real-gamma`), or Tversky, a seed dice kind or
/// custom smoothing (`overlap-variants`).
pub const LC_UNSUPPORTED: lc_status = 106;

/// A failed call's status, so that `?` converts loss-core's errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail(pub(crate) lc_status);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Self(status_of(e))
    }
}

/// The status of a loss-core error (for Rust code that checks C results, like the tests).
pub const fn status_of(e: Error) -> lc_status {
    match e {
        Error::LengthMismatch { .. } => LC_LENGTH_MISMATCH,
        Error::EmptyInput => LC_EMPTY_INPUT,
        Error::BufferTooSmall { .. } => LC_BUFFER_TOO_SMALL,
        Error::InvalidParameter(_) => LC_INVALID_PARAMETER,
        Error::SampleCountMismatch { .. } => LC_SAMPLE_COUNT_MISMATCH,
        Error::OutOfRange { .. } => LC_OUT_OF_RANGE,
        Error::ShapeMismatch { .. } => LC_SHAPE_MISMATCH,
        Error::LabelOutOfRange { .. } => LC_LABEL_OUT_OF_RANGE,
        Error::TooManyClasses { .. } => LC_TOO_MANY_CLASSES,
        Error::CodeOutOfRange { .. } => LC_CODE_OUT_OF_RANGE,
        Error::CountOverflow => LC_COUNT_OVERFLOW,
        Error::QuantizationCount { .. } => LC_QUANTIZATION_COUNT,
        Error::WeightCount { .. } => LC_WEIGHT_COUNT,
        _ => LC_UNKNOWN_ERROR,
    }
}

/// Runs a call body and turns its outcome into a status.
pub(crate) fn run(body: impl FnOnce() -> Result<(), Fail>) -> lc_status {
    match body() {
        Ok(()) => LC_OK,
        Err(Fail(s)) => s,
    }
}

/// A static, NUL-terminated English message for `status` (never NULL; unknown codes get
/// "unknown status").
#[unsafe(no_mangle)]
pub extern "C" fn lc_status_message(status: lc_status) -> *const c_char {
    let message: &'static core::ffi::CStr = match status {
        LC_OK => c"ok",
        LC_LENGTH_MISMATCH => c"predictions and targets have different lengths",
        LC_EMPTY_INPUT => c"input is empty",
        LC_BUFFER_TOO_SMALL => c"output buffer is too small",
        LC_INVALID_PARAMETER => c"a parameter is out of range",
        LC_SAMPLE_COUNT_MISMATCH => c"the input cannot be split into the given number of samples",
        LC_OUT_OF_RANGE => c"a probability or target is outside [0, 1] (are these logits?)",
        LC_SHAPE_MISMATCH => c"a slice does not match its shape",
        LC_LABEL_OUT_OF_RANGE => c"a label is not a valid class",
        LC_TOO_MANY_CLASSES => c"more classes than the state can hold",
        LC_CODE_OUT_OF_RANGE => c"a prediction code dequantizes outside [0, 1] (are these logits?)",
        LC_COUNT_OVERFLOW => c"more than 4294967295 elements in one accumulator",
        LC_QUANTIZATION_COUNT => c"not one quantization per class",
        LC_WEIGHT_COUNT => c"not one weight per class",
        LC_UNKNOWN_ERROR => c"an error this version of the C API does not know",
        LC_NULL_POINTER => c"a required pointer is NULL",
        LC_BAD_LENGTH => c"a length is too large or does not fit its buffer",
        LC_MISALIGNED => c"a pointer is not aligned for its type",
        LC_BAD_ENUM => c"an enum field holds an unknown value",
        LC_NOT_INITIALIZED => c"the state was not initialised by its lc_*_init function",
        LC_BAD_TARGETS => c"these targets cannot be used here (a hard mask is needed)",
        LC_UNSUPPORTED => {
            c"this build leaves out what the configuration needs: enable the Cargo feature soft-conventions (MONAI, kornia, smp soft targets), real-gamma (non-integer gamma) or overlap-variants (Tversky, seed dice, custom smoothing)"
        }
        _ => c"unknown status",
    };
    message.as_ptr()
}
