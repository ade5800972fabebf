//! Losses and metrics on quantized `int8` / `uint8` model outputs against hard masks: count
//! the codes of a frame (tile by tile if need be) into an [`lc_code_counts_i8`] (or `_u8`),
//! then read focal, the dice family and confusion counts from the counts.
//!
//! The loss calls build loss-core's per-code table (256 or 512 terms) on every call, so call
//! them once per frame, not per tile.

use loss_core::ElementLoss;
use loss_core::quantized::{Code, CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};

use crate::binary::{
    binary_focal, lc_binary_focal_config, lc_overlap_config, lc_overlap_stats,
    lc_sigmoid_focal_config, lc_targets, overlap, sigmoid_focal, targets,
};
use crate::ffi::{self, read, slice, slice_mut, state, write};
use crate::multi::lc_confusion_counts;
use crate::status::{Fail, lc_status, run};

/// TensorFlow Lite's affine quantization: a code `q` stands for `scale * (q - zero_point)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_quantization {
    /// `> 0` and finite.
    pub scale: f32,
    /// A code of the tensor's type.
    pub zero_point: i32,
}

/// Checks a quantization as loss-core's `Quantization::new` does (a finite `scale > 0`; the
/// zero point is checked against the code type where it is used).
#[unsafe(no_mangle)]
pub extern "C" fn lc_quantization_check(quantization: lc_quantization) -> lc_status {
    run(|| self::quantization(quantization).map(|_| ()))
}

/// `scale * (code - zero_point)` rounded once, as TFLite's `Dequantize` (and loss-core)
/// computes it.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_dequantize_i8(
    quantization: lc_quantization,
    code: i8,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, self::quantization(quantization)?.dequantize(code)) })
}

/// `scale * (code - zero_point)` for a `uint8_t` code.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_dequantize_u8(
    quantization: lc_quantization,
    code: u8,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, self::quantization(quantization)?.dequantize(code)) })
}

pub(crate) fn quantization(q: lc_quantization) -> Result<Quantization, Fail> {
    Ok(Quantization::new(q.scale, q.zero_point)?)
}

/// Words of storage of the code counts (512 `uint32_t` counts and the total).
pub const LC_CODE_COUNTS_WORDS: usize = 258;

/// The counts of `(code, target)` pairs of `int8` codes. Allocate it anywhere, then call
/// [`lc_code_counts_i8_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_code_counts_i8 {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_CODE_COUNTS_WORDS],
}
state!(lc_code_counts_i8, CodeCounts<i8>, 0x4c43_5131);

/// The counts of `(code, target)` pairs of `uint8` codes. Allocate it anywhere, then call
/// [`lc_code_counts_u8_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_code_counts_u8 {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_CODE_COUNTS_WORDS],
}
state!(lc_code_counts_u8, CodeCounts<u8>, 0x4c43_5132);

/// # Safety
/// The crate's safety contract.
unsafe fn push<S: ffi::State<Inner = CodeCounts<C>>, C: Code>(
    counts: *mut S,
    codes: *const C,
    n: usize,
    mask: *const lc_targets,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let (k, c, m) = unsafe { (ffi::get_mut(counts)?, slice(codes, n)?, targets(mask)?) };
    Ok(k.push(c, m.mask()?)?)
}

/// # Safety
/// The crate's safety contract.
unsafe fn confusion<S: ffi::State<Inner = CodeCounts<C>>, C: Code>(
    counts: *const S,
    q: lc_quantization,
    threshold: f32,
    out: *mut lc_confusion_counts,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let k = unsafe { ffi::get(counts)? }.confusion(quantization(q)?, threshold)?;
    // SAFETY: forwarded contract.
    unsafe { write(out, k.into()) }
}

/// # Safety
/// The crate's safety contract.
unsafe fn focal_loss<S: ffi::State<Inner = CodeCounts<C>>, C: Code, L: ElementLoss>(
    loss: &L,
    q: lc_quantization,
    counts: *const S,
    out: *mut f32,
) -> Result<(), Fail> {
    // Filled in place: `new` would build the 2 KiB table and copy it out (more stack).
    let mut focal = QuantizedFocal::<C>::EMPTY;
    focal.fill(loss, quantization(q)?)?;
    // SAFETY: forwarded contract.
    let v = focal.loss(unsafe { ffi::get(counts)? })?;
    // SAFETY: forwarded contract.
    unsafe { write(out, v) }
}

/// # Safety
/// The crate's safety contract.
unsafe fn focal_elementwise<C: Code, L: ElementLoss>(
    loss: &L,
    q: lc_quantization,
    codes: *const C,
    n: usize,
    mask: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> Result<(), Fail> {
    // Filled in place: `new` would build the 2 KiB table and copy it out (more stack).
    let mut focal = QuantizedFocal::<C>::EMPTY;
    focal.fill(loss, quantization(q)?)?;
    // SAFETY: forwarded contract.
    let (c, m, o) = unsafe { (slice(codes, n)?, targets(mask)?, slice_mut(out, out_len)?) };
    Ok(focal.loss_elementwise(c, m.mask()?, o)?)
}

/// # Safety
/// The crate's safety contract.
unsafe fn overlap_of<S: ffi::State<Inner = CodeCounts<C>>, C: Code>(
    config: *const lc_overlap_config,
    q: lc_quantization,
    counts: *const S,
    loss_out: *mut f32,
    stats_out: *mut lc_overlap_stats,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let loss = overlap(&unsafe { read(config)? })?;
    let mut o = QuantizedOverlap::<C>::EMPTY;
    o.fill(&loss, quantization(q)?)?;
    // SAFETY: forwarded contract.
    let k = unsafe { ffi::get(counts)? };
    if stats_out.is_null() {
        // SAFETY: forwarded contract.
        unsafe { write(loss_out, o.loss(k)?) }
    } else {
        // SAFETY: forwarded contract.
        unsafe { write(stats_out, o.stats(k)?.into()) }
    }
}

/// Empty counts.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_i8_init(counts: *mut lc_code_counts_i8) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { ffi::init(counts, CodeCounts::new()) })
}

/// Counts `n` codes against a hard mask (`LC_TARGETS_BYTES` or `LC_TARGETS_BITS`); on error
/// the counts are unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_i8_push(
    counts: *mut lc_code_counts_i8,
    codes: *const i8,
    n: usize,
    mask: *const lc_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { push(counts, codes, n, mask) })
}

/// Adds another frame's (or tile's) counts; `counts` and `other` must be distinct objects (the
/// same pointer is `LC_INVALID_PARAMETER`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_i8_merge(
    counts: *mut lc_code_counts_i8,
    other: *const lc_code_counts_i8,
) -> lc_status {
    run(|| {
        if core::ptr::eq(counts.cast_const(), other) {
            return Err(Fail(crate::status::LC_INVALID_PARAMETER));
        }
        // SAFETY: the caller's contract; distinct objects (checked above).
        let (k, o) = unsafe { (ffi::get_mut(counts)?, ffi::get(other)?) };
        Ok(k.merge(o)?)
    })
}

/// Elements counted.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_i8_count(
    counts: *const lc_code_counts_i8,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(counts)?.count()) })
}

/// Forgets every count.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_i8_reset(counts: *mut lc_code_counts_i8) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(counts)? }.reset();
        Ok(())
    })
}

/// The confusion counts of "positive when the dequantized prediction is at least
/// `threshold`".
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_i8_confusion(
    counts: *const lc_code_counts_i8,
    quantization: lc_quantization,
    threshold: f32,
    out: *mut lc_confusion_counts,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { confusion(counts, quantization, threshold, out) })
}

/// The sigmoid focal loss (the configuration's reduction) of counted logit codes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_sigmoid_focal_loss_i8(
    config: *const lc_sigmoid_focal_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_i8,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = sigmoid_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_loss(&loss, quantization, counts, out) }
    })
}

/// The probability focal loss of counted probability codes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_binary_focal_loss_i8(
    config: *const lc_binary_focal_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_i8,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = binary_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_loss(&loss, quantization, counts, out) }
    })
}

/// The unreduced sigmoid focal loss of `n` logit codes against a hard mask: the bits of the
/// f32 call on the dequantized values.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_sigmoid_focal_elementwise_i8(
    config: *const lc_sigmoid_focal_config,
    quantization: lc_quantization,
    codes: *const i8,
    n: usize,
    mask: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = sigmoid_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_elementwise(&loss, quantization, codes, n, mask, out, out_len) }
    })
}

/// The unreduced probability focal loss of `n` probability codes against a hard mask.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_binary_focal_elementwise_i8(
    config: *const lc_binary_focal_config,
    quantization: lc_quantization,
    codes: *const i8,
    n: usize,
    mask: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = binary_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_elementwise(&loss, quantization, codes, n, mask, out, out_len) }
    })
}

/// The dice-family loss of counted codes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_overlap_loss_i8(
    config: *const lc_overlap_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_i8,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { overlap_of(config, quantization, counts, out, core::ptr::null_mut()) })
}

/// The overlap statistics of counted codes (correctly rounded).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_overlap_stats_i8(
    config: *const lc_overlap_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_i8,
    out: *mut lc_overlap_stats,
) -> lc_status {
    run(|| {
        if out.is_null() {
            return Err(Fail(crate::status::LC_NULL_POINTER));
        }
        // SAFETY: the caller's contract.
        unsafe { overlap_of(config, quantization, counts, core::ptr::null_mut(), out) }
    })
}

/// Empty counts.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_u8_init(counts: *mut lc_code_counts_u8) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { ffi::init(counts, CodeCounts::new()) })
}

/// Counts `n` codes against a hard mask (`LC_TARGETS_BYTES` or `LC_TARGETS_BITS`); on error
/// the counts are unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_u8_push(
    counts: *mut lc_code_counts_u8,
    codes: *const u8,
    n: usize,
    mask: *const lc_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { push(counts, codes, n, mask) })
}

/// Adds another frame's (or tile's) counts; `counts` and `other` must be distinct objects (the
/// same pointer is `LC_INVALID_PARAMETER`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_u8_merge(
    counts: *mut lc_code_counts_u8,
    other: *const lc_code_counts_u8,
) -> lc_status {
    run(|| {
        if core::ptr::eq(counts.cast_const(), other) {
            return Err(Fail(crate::status::LC_INVALID_PARAMETER));
        }
        // SAFETY: the caller's contract; distinct objects (checked above).
        let (k, o) = unsafe { (ffi::get_mut(counts)?, ffi::get(other)?) };
        Ok(k.merge(o)?)
    })
}

/// Elements counted.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_u8_count(
    counts: *const lc_code_counts_u8,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(counts)?.count()) })
}

/// Forgets every count.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_u8_reset(counts: *mut lc_code_counts_u8) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(counts)? }.reset();
        Ok(())
    })
}

/// The confusion counts of "positive when the dequantized prediction is at least
/// `threshold`".
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_code_counts_u8_confusion(
    counts: *const lc_code_counts_u8,
    quantization: lc_quantization,
    threshold: f32,
    out: *mut lc_confusion_counts,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { confusion(counts, quantization, threshold, out) })
}

/// The sigmoid focal loss (the configuration's reduction) of counted logit codes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_sigmoid_focal_loss_u8(
    config: *const lc_sigmoid_focal_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_u8,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = sigmoid_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_loss(&loss, quantization, counts, out) }
    })
}

/// The probability focal loss of counted probability codes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_binary_focal_loss_u8(
    config: *const lc_binary_focal_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_u8,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = binary_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_loss(&loss, quantization, counts, out) }
    })
}

/// The unreduced sigmoid focal loss of `n` logit codes against a hard mask: the bits of the
/// f32 call on the dequantized values.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_sigmoid_focal_elementwise_u8(
    config: *const lc_sigmoid_focal_config,
    quantization: lc_quantization,
    codes: *const u8,
    n: usize,
    mask: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = sigmoid_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_elementwise(&loss, quantization, codes, n, mask, out, out_len) }
    })
}

/// The unreduced probability focal loss of `n` probability codes against a hard mask.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_binary_focal_elementwise_u8(
    config: *const lc_binary_focal_config,
    quantization: lc_quantization,
    codes: *const u8,
    n: usize,
    mask: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let loss = binary_focal(&unsafe { read(config)? })?;
        // SAFETY: the caller's contract.
        unsafe { focal_elementwise(&loss, quantization, codes, n, mask, out, out_len) }
    })
}

/// The dice-family loss of counted codes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_overlap_loss_u8(
    config: *const lc_overlap_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_u8,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { overlap_of(config, quantization, counts, out, core::ptr::null_mut()) })
}

/// The overlap statistics of counted codes (correctly rounded).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_quantized_overlap_stats_u8(
    config: *const lc_overlap_config,
    quantization: lc_quantization,
    counts: *const lc_code_counts_u8,
    out: *mut lc_overlap_stats,
) -> lc_status {
    run(|| {
        if out.is_null() {
            return Err(Fail(crate::status::LC_NULL_POINTER));
        }
        // SAFETY: the caller's contract.
        unsafe { overlap_of(config, quantization, counts, core::ptr::null_mut(), out) }
    })
}
