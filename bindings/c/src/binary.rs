//! Binary losses: focal from logits and from probabilities, the dice family, their
//! accumulators, and the small tools (sigmoid, reduction, non-finite search).

use loss_core::dice::{OverlapAccumulator, OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::{LossAccumulator, Mask, Predictions, Reduction};

use crate::ffi::{self, out_ok, pick, read, slice, slice_mut, state, write};
use crate::status::{Fail, LC_BAD_TARGETS, LC_UNSUPPORTED, lc_status, run};

/// How values are reduced (`LC_REDUCTION_*`).
pub type lc_reduction = u32;
/// The mean (PyTorch's and MONAI's default).
pub const LC_REDUCTION_MEAN: lc_reduction = 0;
/// The plain sum.
pub const LC_REDUCTION_SUM: lc_reduction = 1;

/// How a focal loss treats soft targets (`LC_SOFT_TARGETS_*`, see loss-core's `focal` docs).
pub type lc_soft_targets = u32;
/// `(1 - p_t)^gamma`: torchvision, fvcore, Keras.
pub const LC_SOFT_TARGETS_TORCHVISION: lc_soft_targets = 0;
/// `sigmoid(-x (2t - 1))^gamma`: MONAI `FocalLoss`.
pub const LC_SOFT_TARGETS_MONAI: lc_soft_targets = 1;
/// Separate positive and negative terms: kornia, the seed article.
pub const LC_SOFT_TARGETS_KORNIA: lc_soft_targets = 2;
/// `(1 - exp(-CE))^gamma`: segmentation_models_pytorch.
pub const LC_SOFT_TARGETS_SMP: lc_soft_targets = 3;

/// What the predictions hold (`LC_PREDICTIONS_*`).
pub type lc_predictions = u32;
/// Raw scores; the sigmoid (or softmax) is applied on the fly.
pub const LC_PREDICTIONS_LOGITS: lc_predictions = 0;
/// Probabilities in `[0, 1]`.
pub const LC_PREDICTIONS_PROBABILITIES: lc_predictions = 1;

/// The kind of binary targets (`LC_TARGETS_*`).
pub type lc_target_kind = u32;
/// `len` floats in `[0, 1]` (soft targets allowed).
pub const LC_TARGETS_F32: lc_target_kind = 0;
/// `len` bytes, each 0 or 1 (another byte is `LC_OUT_OF_RANGE`).
pub const LC_TARGETS_BYTES: lc_target_kind = 1;
/// `len` bits packed least significant bit first in `(len + 7) / 8` bytes.
pub const LC_TARGETS_BITS: lc_target_kind = 2;

/// The targets of a binary loss: soft `f32` targets or a hard mask.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_targets {
    /// `LC_TARGETS_F32`, `LC_TARGETS_BYTES` or `LC_TARGETS_BITS`.
    pub kind: lc_target_kind,
    /// The floats or bytes.
    pub data: *const core::ffi::c_void,
    /// Elements (floats, bytes or bits).
    pub len: usize,
}

/// Binary targets as loss-core takes them.
pub(crate) enum Bin<'a> {
    #[cfg_attr(not(feature = "f32-targets"), allow(dead_code))]
    F32(&'a [f32]),
    Mask(Mask<'a>),
}

impl<'a> Bin<'a> {
    /// The hard mask, or [`LC_BAD_TARGETS`] for `f32` targets.
    pub(crate) fn mask(self) -> Result<Mask<'a>, Fail> {
        match self {
            Self::Mask(m) => Ok(m),
            Self::F32(_) => Err(Fail(LC_BAD_TARGETS)),
        }
    }
}

/// Reads an [`lc_targets`].
///
/// # Safety
/// The crate's safety contract for `t` and the memory it describes.
pub(crate) unsafe fn targets<'a>(t: *const lc_targets) -> Result<Bin<'a>, Fail> {
    // SAFETY: forwarded contract.
    let t = unsafe { read(t)? };
    let data = t.data;
    Ok(match pick(t.kind, &[0u8, 1, 2])? {
        // SAFETY: `len` floats at `data` (the contract).
        0 => Bin::F32(unsafe { slice(data.cast::<f32>(), t.len)? }),
        // SAFETY: `len` bytes at `data`.
        1 => Bin::Mask(Mask::bytes(unsafe { slice(data.cast::<u8>(), t.len)? })),
        // SAFETY: `ceil(len / 8)` bytes at `data`.
        _ => Bin::Mask(Mask::bits(
            unsafe { slice(data.cast::<u8>(), t.len.div_ceil(8))? },
            t.len,
        )),
    })
}

/// Calls a loss-core method that takes any binary targets with the targets at hand; a kind
/// whose feature is off is `LC_BAD_TARGETS` (and its copy of the kernels is not built).
macro_rules! with_targets {
    ($t:expr, |$x:ident| $body:expr) => {
        match $t {
            #[cfg(feature = "f32-targets")]
            Bin::F32($x) => $body,
            #[cfg(feature = "mask-targets")]
            Bin::Mask($x) => $body,
            #[allow(unreachable_patterns)]
            _ => return Err(Fail(LC_BAD_TARGETS)),
        }
    };
}

pub(crate) fn reduction(v: lc_reduction) -> Result<Reduction, Fail> {
    pick(v, &[Reduction::Mean, Reduction::Sum])
}

pub(crate) fn soft_targets(v: lc_soft_targets) -> Result<SoftTargets, Fail> {
    pick(
        v,
        &[
            SoftTargets::Torchvision,
            SoftTargets::Monai,
            SoftTargets::Kornia,
            SoftTargets::Smp,
        ],
    )
}

/// The soft-target convention of a focal loss from logits (sigmoid or one-vs-rest): without the
/// feature `soft-conventions` only torchvision's is built, and the others are
/// [`LC_UNSUPPORTED`] (an unknown value stays `LC_BAD_ENUM`).
pub(crate) fn logit_soft_targets(v: lc_soft_targets) -> Result<SoftTargets, Fail> {
    let s = soft_targets(v)?;
    if cfg!(feature = "soft-conventions") || s == SoftTargets::Torchvision {
        Ok(s)
    } else {
        Err(Fail(LC_UNSUPPORTED))
    }
}

/// A focal gamma as the build supports it: without the feature `real-gamma` a finite gamma
/// that is not an integer in `0..=255` is [`LC_UNSUPPORTED`] (a negative or non-finite one
/// stays `LC_INVALID_PARAMETER`, as in the full build).
pub(crate) fn gamma(g: f32) -> Result<f32, Fail> {
    let integer = (0.0..=255.0).contains(&g) && f32::from(g as u8) == g;
    if cfg!(feature = "real-gamma") || integer || !(g.is_finite() && g >= 0.0) {
        Ok(g)
    } else {
        Err(Fail(LC_UNSUPPORTED))
    }
}

pub(crate) fn predictions(v: lc_predictions) -> Result<Predictions, Fail> {
    pick(v, &[Predictions::Logits, Predictions::Probabilities])
}

// ----------------------------------------------------------------------------------------------
// Focal loss from logits

/// Binary focal loss from logits (loss-core's `SigmoidFocal`, torchvision semantics).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_sigmoid_focal_config {
    /// Whether `alpha` weights the classes (false: no weighting, torchvision's `alpha=-1`).
    pub use_alpha: bool,
    /// Positive-class weight in `[0, 1]`. Default 0.25.
    pub alpha: f32,
    /// Focusing exponent `>= 0`. Default 2.
    pub gamma: f32,
    /// Soft-target convention. Default `LC_SOFT_TARGETS_TORCHVISION`.
    pub soft_targets: lc_soft_targets,
    /// Reduction of `*_loss`, per-sample results and accumulators. Default `LC_REDUCTION_MEAN`.
    pub reduction: lc_reduction,
}

/// torchvision's `sigmoid_focal_loss` defaults: alpha 0.25, gamma 2, mean.
#[unsafe(no_mangle)]
pub extern "C" fn lc_sigmoid_focal_default() -> lc_sigmoid_focal_config {
    lc_sigmoid_focal_config {
        use_alpha: true,
        alpha: 0.25,
        gamma: 2.0,
        soft_targets: LC_SOFT_TARGETS_TORCHVISION,
        reduction: LC_REDUCTION_MEAN,
    }
}

pub(crate) fn sigmoid_focal(c: &lc_sigmoid_focal_config) -> Result<SigmoidFocal, Fail> {
    let alpha = c.use_alpha.then_some(c.alpha);
    Ok(SigmoidFocal::new(alpha, gamma(c.gamma)?)?
        .with_soft_targets(logit_soft_targets(c.soft_targets)?)
        .with_reduction(reduction(c.reduction)?))
}

/// Reads a focal configuration pointer.
///
/// # Safety
/// The crate's safety contract.
unsafe fn sigmoid_cfg(c: *const lc_sigmoid_focal_config) -> Result<SigmoidFocal, Fail> {
    // SAFETY: forwarded contract.
    sigmoid_focal(&unsafe { read(c)? })
}

/// The reduced loss of `n` logits against `targets`, written to `*out`.
///
/// # Safety
/// The crate's safety contract (see the crate docs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_loss(
    config: *const lc_sigmoid_focal_config,
    logits: *const f32,
    n: usize,
    targets: *const lc_targets,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract covers every pointer.
        let (loss, p, t) = unsafe {
            (
                sigmoid_cfg(config)?,
                slice(logits, n)?,
                self::targets(targets)?,
            )
        };
        let v = with_targets!(t, |t| loss.loss(p, t))?;
        // SAFETY: as above.
        unsafe { write(out, v) }
    })
}

/// The unreduced loss, one value per element, written to `out[0..n]` (`out_len >= n`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_elementwise(
    config: *const lc_sigmoid_focal_config,
    logits: *const f32,
    n: usize,
    targets: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract covers every pointer.
        let (loss, p, t, o) = unsafe {
            (
                sigmoid_cfg(config)?,
                slice(logits, n)?,
                self::targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_targets!(t, |t| loss.loss_elementwise(p, t, o))?)
    })
}

/// The loss of each of `samples` equal parts of the input (reduced with the configuration's
/// reduction), written to `out[0..samples]`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_per_sample(
    config: *const lc_sigmoid_focal_config,
    logits: *const f32,
    n: usize,
    targets: *const lc_targets,
    samples: usize,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract covers every pointer.
        let (loss, p, t, o) = unsafe {
            (
                sigmoid_cfg(config)?,
                slice(logits, n)?,
                self::targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_targets!(t, |t| loss.loss_per_sample(p, t, samples, o))?)
    })
}

// ----------------------------------------------------------------------------------------------
// Focal loss from probabilities

/// Which probability focal loss an [`lc_binary_focal_config`] builds (`LC_BINARY_FOCAL_*`).
pub type lc_binary_focal_kind = u32;
/// Probabilities clamped to `[clamp_min, clamp_max]` everywhere (the seed article's class).
pub const LC_BINARY_FOCAL_CLAMPED: lc_binary_focal_kind = 0;
/// Keras 3 `BinaryFocalCrossentropy`: the clamp `[1e-7, 1 - 1e-7]` on the logarithms only
/// (`clamp_min` and `clamp_max` are not read).
pub const LC_BINARY_FOCAL_KERAS: lc_binary_focal_kind = 1;

/// Binary focal loss from probabilities (loss-core's `BinaryFocal`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_binary_focal_config {
    /// `LC_BINARY_FOCAL_CLAMPED` (default) or `LC_BINARY_FOCAL_KERAS`.
    pub kind: lc_binary_focal_kind,
    /// Whether `alpha` weights the classes. Default true.
    pub use_alpha: bool,
    /// Positive-class weight in `[0, 1]`. Default 0.25.
    pub alpha: f32,
    /// Focusing exponent `>= 0`. Default 2.
    pub gamma: f32,
    /// Lower clamp bound (clamped kind). Default 1e-3.
    pub clamp_min: f32,
    /// Upper clamp bound (clamped kind), `0 <= clamp_min < clamp_max <= 1`. Default 0.999.
    pub clamp_max: f32,
    /// `LC_SOFT_TARGETS_KORNIA` (separate terms, the default) or `LC_SOFT_TARGETS_TORCHVISION`
    /// (Keras uses the latter).
    pub soft_targets: lc_soft_targets,
    /// Reduction. Default `LC_REDUCTION_MEAN`.
    pub reduction: lc_reduction,
}

/// The seed article's `FocalLoss`: alpha 0.25, gamma 2, clamp `[1e-3, 0.999]`, mean.
#[unsafe(no_mangle)]
pub extern "C" fn lc_binary_focal_default() -> lc_binary_focal_config {
    lc_binary_focal_config {
        kind: LC_BINARY_FOCAL_CLAMPED,
        use_alpha: true,
        alpha: 0.25,
        gamma: 2.0,
        clamp_min: 1e-3,
        clamp_max: 0.999,
        soft_targets: LC_SOFT_TARGETS_KORNIA,
        reduction: LC_REDUCTION_MEAN,
    }
}

pub(crate) fn binary_focal(c: &lc_binary_focal_config) -> Result<BinaryFocal, Fail> {
    let alpha = c.use_alpha.then_some(c.alpha);
    let loss = match pick(c.kind, &[false, true])? {
        false => BinaryFocal::new(alpha, gamma(c.gamma)?, c.clamp_min, c.clamp_max)?,
        true => BinaryFocal::keras(alpha, gamma(c.gamma)?)?,
    };
    Ok(loss
        .with_soft_targets(soft_targets(c.soft_targets)?)?
        .with_reduction(reduction(c.reduction)?))
}

/// Reads a focal configuration pointer.
///
/// # Safety
/// The crate's safety contract.
unsafe fn binary_cfg(c: *const lc_binary_focal_config) -> Result<BinaryFocal, Fail> {
    // SAFETY: forwarded contract.
    binary_focal(&unsafe { read(c)? })
}

/// The reduced loss of `n` probabilities against `targets`, written to `*out`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_loss(
    config: *const lc_binary_focal_config,
    probabilities: *const f32,
    n: usize,
    targets: *const lc_targets,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract covers every pointer.
        let (loss, p, t) = unsafe {
            (
                binary_cfg(config)?,
                slice(probabilities, n)?,
                self::targets(targets)?,
            )
        };
        let v = with_targets!(t, |t| loss.loss(p, t))?;
        // SAFETY: as above.
        unsafe { write(out, v) }
    })
}

/// The unreduced loss, written to `out[0..n]`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_elementwise(
    config: *const lc_binary_focal_config,
    probabilities: *const f32,
    n: usize,
    targets: *const lc_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract covers every pointer.
        let (loss, p, t, o) = unsafe {
            (
                binary_cfg(config)?,
                slice(probabilities, n)?,
                self::targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_targets!(t, |t| loss.loss_elementwise(p, t, o))?)
    })
}

/// The loss of each of `samples` equal parts, written to `out[0..samples]`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_per_sample(
    config: *const lc_binary_focal_config,
    probabilities: *const f32,
    n: usize,
    targets: *const lc_targets,
    samples: usize,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract covers every pointer.
        let (loss, p, t, o) = unsafe {
            (
                binary_cfg(config)?,
                slice(probabilities, n)?,
                self::targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_targets!(t, |t| loss.loss_per_sample(p, t, samples, o))?)
    })
}

// ----------------------------------------------------------------------------------------------
// Focal accumulators

/// Words of storage of a focal accumulator.
pub const LC_FOCAL_ACCUMULATOR_WORDS: usize = 10;

/// A streaming sigmoid focal loss (chunks of any size, the one-shot call's bits). Allocate it
/// anywhere, then call [`lc_sigmoid_focal_accumulator_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_sigmoid_focal_accumulator {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_FOCAL_ACCUMULATOR_WORDS],
}
state!(
    lc_sigmoid_focal_accumulator,
    LossAccumulator<SigmoidFocal>,
    0x4c43_4631
);

/// A streaming probability focal loss. Allocate it anywhere, then call
/// [`lc_binary_focal_accumulator_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_binary_focal_accumulator {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_FOCAL_ACCUMULATOR_WORDS],
}
state!(
    lc_binary_focal_accumulator,
    LossAccumulator<BinaryFocal>,
    0x4c43_4632
);

/// An empty accumulator of the configured loss.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_accumulator_init(
    acc: *mut lc_sigmoid_focal_accumulator,
    config: *const lc_sigmoid_focal_config,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { ffi::init(acc, sigmoid_cfg(config)?.accumulator()) })
}

/// Adds a chunk; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_accumulator_push(
    acc: *mut lc_sigmoid_focal_accumulator,
    logits: *const f32,
    n: usize,
    targets: *const lc_targets,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, p, t) = unsafe {
            (
                ffi::get_mut(acc)?,
                slice(logits, n)?,
                self::targets(targets)?,
            )
        };
        Ok(with_targets!(t, |t| a.push(p, t))?)
    })
}

/// The reduced loss of everything pushed so far (`LC_EMPTY_INPUT` before any element).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_accumulator_finish(
    acc: *const lc_sigmoid_focal_accumulator,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.finish()?) })
}

/// Elements pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_accumulator_count(
    acc: *const lc_sigmoid_focal_accumulator,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.count()) })
}

/// Empties the accumulator, keeping its loss.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid_focal_accumulator_reset(
    acc: *mut lc_sigmoid_focal_accumulator,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(acc)? }.reset();
        Ok(())
    })
}

/// An empty accumulator of the configured loss.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_accumulator_init(
    acc: *mut lc_binary_focal_accumulator,
    config: *const lc_binary_focal_config,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { ffi::init(acc, binary_cfg(config)?.accumulator()) })
}

/// Adds a chunk; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_accumulator_push(
    acc: *mut lc_binary_focal_accumulator,
    probabilities: *const f32,
    n: usize,
    targets: *const lc_targets,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, p, t) = unsafe {
            (
                ffi::get_mut(acc)?,
                slice(probabilities, n)?,
                self::targets(targets)?,
            )
        };
        Ok(with_targets!(t, |t| a.push(p, t))?)
    })
}

/// The reduced loss of everything pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_accumulator_finish(
    acc: *const lc_binary_focal_accumulator,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.finish()?) })
}

/// Elements pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_accumulator_count(
    acc: *const lc_binary_focal_accumulator,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.count()) })
}

/// Empties the accumulator, keeping its loss.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_binary_focal_accumulator_reset(
    acc: *mut lc_binary_focal_accumulator,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(acc)? }.reset();
        Ok(())
    })
}

// ----------------------------------------------------------------------------------------------
// Dice family

/// Which dice-family score an [`lc_overlap_config`] builds (`LC_OVERLAP_*`).
pub type lc_overlap_kind = u32;
/// Dice (MONAI `DiceLoss` defaults).
pub const LC_OVERLAP_DICE: lc_overlap_kind = 0;
/// Jaccard (IoU).
pub const LC_OVERLAP_JACCARD: lc_overlap_kind = 1;
/// Tversky with `tversky_alpha` (false positives) and `tversky_beta` (false negatives).
pub const LC_OVERLAP_TVERSKY: lc_overlap_kind = 2;
/// The seed article's PyTorch `DiceLoss` (its own smoothing).
pub const LC_OVERLAP_SEED_TORCH_DICE: lc_overlap_kind = 3;
/// The seed article's Keras `dice_loss` (its own smoothing).
pub const LC_OVERLAP_SEED_KERAS_DICE: lc_overlap_kind = 4;

/// A dice-family loss on one channel (loss-core's `OverlapLoss`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_overlap_config {
    /// The score. Default `LC_OVERLAP_DICE`.
    pub kind: lc_overlap_kind,
    /// Tversky's weight of false positives (Tversky only). Default 0.5.
    pub tversky_alpha: f32,
    /// Tversky's weight of false negatives (Tversky only). Default 0.5.
    pub tversky_beta: f32,
    /// Whether `smooth_nr` / `smooth_dr` replace the kind's own smoothing. Default false
    /// (MONAI's `1e-5` for dice, Jaccard and Tversky).
    pub set_smoothing: bool,
    /// Numerator smoothing (with `set_smoothing`).
    pub smooth_nr: f32,
    /// Denominator smoothing (with `set_smoothing`).
    pub smooth_dr: f32,
    /// `Σ p²` and `Σ t²` in the denominator (MONAI `squared_pred`). Default false.
    pub squared: bool,
    /// Logits (sigmoid on the fly) or probabilities. Default `LC_PREDICTIONS_PROBABILITIES`.
    pub predictions: lc_predictions,
}

/// MONAI's `DiceLoss` defaults: dice, probabilities, `smooth_nr = smooth_dr = 1e-5`.
#[unsafe(no_mangle)]
pub extern "C" fn lc_overlap_default() -> lc_overlap_config {
    lc_overlap_config {
        kind: LC_OVERLAP_DICE,
        tversky_alpha: 0.5,
        tversky_beta: 0.5,
        set_smoothing: false,
        smooth_nr: 1e-5,
        smooth_dr: 1e-5,
        squared: false,
        predictions: LC_PREDICTIONS_PROBABILITIES,
    }
}

pub(crate) fn overlap(c: &lc_overlap_config) -> Result<OverlapLoss, Fail> {
    let loss = match pick(c.kind, &[0u8, 1, 2, 3, 4])? {
        0 => OverlapLoss::dice(),
        1 => OverlapLoss::jaccard(),
        #[cfg(feature = "overlap-variants")]
        2 => OverlapLoss::tversky(c.tversky_alpha, c.tversky_beta)?,
        #[cfg(feature = "overlap-variants")]
        3 => OverlapLoss::seed_torch_dice(),
        #[cfg(feature = "overlap-variants")]
        _ => OverlapLoss::seed_keras_dice(),
        // Tversky and the seed kinds without `overlap-variants`.
        #[cfg(not(feature = "overlap-variants"))]
        _ => return Err(Fail(LC_UNSUPPORTED)),
    };
    let loss = match c.set_smoothing {
        #[cfg(feature = "overlap-variants")]
        true => loss.with_smoothing(c.smooth_nr, c.smooth_dr)?,
        #[cfg(not(feature = "overlap-variants"))]
        true => return Err(Fail(LC_UNSUPPORTED)),
        false => loss,
    };
    Ok(loss
        .with_squared(c.squared)?
        .with_predictions(predictions(c.predictions)?))
}

/// Reads a dice-family configuration pointer.
///
/// # Safety
/// The crate's safety contract.
pub(crate) unsafe fn overlap_cfg(c: *const lc_overlap_config) -> Result<OverlapLoss, Fail> {
    // SAFETY: forwarded contract.
    overlap(&unsafe { read(c)? })
}

/// Soft overlap statistics of one channel (loss-core's `OverlapStats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct lc_overlap_stats {
    /// `Σ p t`.
    pub intersection: f32,
    /// `Σ p` (or `Σ p²`).
    pub prediction_sum: f32,
    /// `Σ t` (or `Σ t²`).
    pub target_sum: f32,
    /// Elements.
    pub count: u64,
}

impl From<OverlapStats> for lc_overlap_stats {
    fn from(s: OverlapStats) -> Self {
        Self {
            intersection: s.intersection,
            prediction_sum: s.prediction_sum,
            target_sum: s.target_sum,
            count: s.count,
        }
    }
}

impl From<lc_overlap_stats> for OverlapStats {
    fn from(s: lc_overlap_stats) -> Self {
        Self {
            intersection: s.intersection,
            prediction_sum: s.prediction_sum,
            target_sum: s.target_sum,
            count: s.count,
        }
    }
}

/// The dice-family loss of `n` predictions against `targets`, written to `*out`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_loss(
    config: *const lc_overlap_config,
    predictions: *const f32,
    n: usize,
    targets: *const lc_targets,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (loss, p, t) = unsafe {
            (
                overlap_cfg(config)?,
                slice(predictions, n)?,
                self::targets(targets)?,
            )
        };
        let v = with_targets!(t, |t| loss.loss(p, t))?;
        // SAFETY: as above.
        unsafe { write(out, v) }
    })
}

/// The overlap statistics of `n` predictions against `targets`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_stats_of(
    config: *const lc_overlap_config,
    predictions: *const f32,
    n: usize,
    targets: *const lc_targets,
    out: *mut lc_overlap_stats,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (loss, p, t) = unsafe {
            (
                overlap_cfg(config)?,
                slice(predictions, n)?,
                self::targets(targets)?,
            )
        };
        let s = with_targets!(t, |t| loss.stats(p, t))?;
        // SAFETY: as above.
        unsafe { write(out, s.into()) }
    })
}

/// The score (dice, Jaccard or Tversky index) of statistics.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_score(
    config: *const lc_overlap_config,
    stats: *const lc_overlap_stats,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (loss, s) = unsafe { (overlap_cfg(config)?, read(stats)?) };
        // SAFETY: as above.
        unsafe { write(out, loss.score(&s.into())) }
    })
}

/// The loss (`1 - score`, with the kind's form) of statistics.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_loss_from(
    config: *const lc_overlap_config,
    stats: *const lc_overlap_stats,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (loss, s) = unsafe { (overlap_cfg(config)?, read(stats)?) };
        // SAFETY: as above.
        unsafe { write(out, loss.loss_from(&s.into())) }
    })
}

/// The loss of each of `samples` equal parts, written to `out[0..samples]`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_per_sample(
    config: *const lc_overlap_config,
    predictions: *const f32,
    n: usize,
    targets: *const lc_targets,
    samples: usize,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (loss, p, t, o) = unsafe {
            (
                overlap_cfg(config)?,
                slice(predictions, n)?,
                self::targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_targets!(t, |t| loss.loss_per_sample(p, t, samples, o))?)
    })
}

/// Words of storage of an [`lc_overlap_accumulator`].
pub const LC_OVERLAP_ACCUMULATOR_WORDS: usize = 16;

/// A streaming dice-family loss. Allocate it anywhere, then call
/// [`lc_overlap_accumulator_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_overlap_accumulator {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_OVERLAP_ACCUMULATOR_WORDS],
}
state!(lc_overlap_accumulator, OverlapAccumulator, 0x4c43_4f31);

/// An empty accumulator of the configured loss.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_accumulator_init(
    acc: *mut lc_overlap_accumulator,
    config: *const lc_overlap_config,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { ffi::init(acc, overlap_cfg(config)?.accumulator()) })
}

/// Adds a chunk; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_accumulator_push(
    acc: *mut lc_overlap_accumulator,
    predictions: *const f32,
    n: usize,
    targets: *const lc_targets,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, p, t) = unsafe {
            (
                ffi::get_mut(acc)?,
                slice(predictions, n)?,
                self::targets(targets)?,
            )
        };
        Ok(with_targets!(t, |t| a.push(p, t))?)
    })
}

/// The loss of everything pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_accumulator_finish(
    acc: *const lc_overlap_accumulator,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.finish()?) })
}

/// The statistics of everything pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_accumulator_stats(
    acc: *const lc_overlap_accumulator,
    out: *mut lc_overlap_stats,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.stats()?.into()) })
}

/// Elements pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_accumulator_count(
    acc: *const lc_overlap_accumulator,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.count()) })
}

/// Empties the accumulator, keeping its loss.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_overlap_accumulator_reset(
    acc: *mut lc_overlap_accumulator,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(acc)? }.reset();
        Ok(())
    })
}

// ----------------------------------------------------------------------------------------------
// Tools

/// `sigmoid(x)` with loss-core's bits.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_sigmoid(x: f32, out: *mut f32) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, loss_core::sigmoid(x)) })
}

/// `n` values reduced in loss-core's deterministic order.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_reduce(
    reduction: lc_reduction,
    values: *const f32,
    n: usize,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let v = self::reduction(reduction)?.reduce(unsafe { slice(values, n)? })?;
        // SAFETY: as above.
        unsafe { write(out, v) }
    })
}

/// The index of the first NaN or infinite value: `*found` tells whether there is one, and
/// `*index` is its index (`n` when there is none).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_first_non_finite(
    values: *const f32,
    n: usize,
    found: *mut bool,
    index: *mut usize,
) -> lc_status {
    run(|| {
        out_ok(index)?;
        // SAFETY: the caller's contract.
        let v = loss_core::first_non_finite(unsafe { slice(values, n)? });
        // SAFETY: as above.
        unsafe {
            write(found, v.is_some())?;
            write(index, v.unwrap_or(n))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::LC_OK;

    /// Each kind of targets works, or is `LC_BAD_TARGETS` when its feature is off.
    #[test]
    fn a_kind_of_targets_works_exactly_when_its_feature_is_on() {
        let config = lc_sigmoid_focal_default();
        let (p, t, bytes) = ([1.0f32, -1.0], [1.0f32, 0.0], [1u8, 0]);
        let f32s = lc_targets {
            kind: LC_TARGETS_F32,
            data: t.as_ptr().cast(),
            len: 2,
        };
        let mask = lc_targets {
            kind: LC_TARGETS_BYTES,
            data: bytes.as_ptr().cast(),
            len: 2,
        };
        let (mut a, mut b) = (0.0f32, 1.0f32);
        // SAFETY: every pointer points to live data of the stated length.
        let (sa, sb) = unsafe {
            (
                lc_sigmoid_focal_loss(&config, p.as_ptr(), 2, &f32s, &mut a),
                lc_sigmoid_focal_loss(&config, p.as_ptr(), 2, &mask, &mut b),
            )
        };
        let expect = |on: bool| if on { LC_OK } else { LC_BAD_TARGETS };
        assert_eq!(sa, expect(cfg!(feature = "f32-targets")));
        assert_eq!(sb, expect(cfg!(feature = "mask-targets")));
        if sa == LC_OK && sb == LC_OK {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "a mask gives the f32 targets' bits"
            );
        }
    }

    /// What a feature of the lean profile leaves out is `LC_UNSUPPORTED` without it, never a
    /// number; with it (the default) the call gives loss-core's bits. (On f32 targets.)
    #[cfg(feature = "f32-targets")]
    #[test]
    fn a_left_out_part_is_unsupported_and_otherwise_exact() {
        use loss_core::dice::OverlapLoss;
        use loss_core::focal::{BinaryFocal, SigmoidFocal};

        use crate::multi::{
            LC_CLASS_LOSS_ONE_VS_REST, LC_CLASS_TARGETS_DENSE, LC_LAYOUT_CHANNELS_FIRST,
            lc_class_loss_default, lc_class_loss_sums, lc_class_targets, lc_shape,
        };
        use crate::status::LC_UNSUPPORTED;

        let (x, t) = ([1.5f32, -0.25, 3.0, -2.0], [0.3f32, 1.0, 0.0, 0.75]);
        let p = x.map(loss_core::sigmoid);
        let targets = lc_targets {
            kind: LC_TARGETS_F32,
            data: t.as_ptr().cast(),
            len: 4,
        };
        let check =
            |feature: bool, status: lc_status, got: f32, expect: Result<f32, loss_core::Error>| {
                if feature {
                    assert_eq!(status, LC_OK);
                    assert_eq!(
                        Ok(got.to_bits()),
                        expect.map(f32::to_bits),
                        "loss-core bits"
                    );
                } else {
                    assert_eq!(status, LC_UNSUPPORTED);
                    assert!(got.is_nan(), "the out-pointer is not written");
                }
            };
        let conventions = cfg!(feature = "soft-conventions");
        let real = cfg!(feature = "real-gamma");
        let variants = cfg!(feature = "overlap-variants");

        for (v, s) in [
            (LC_SOFT_TARGETS_MONAI, SoftTargets::Monai),
            (LC_SOFT_TARGETS_KORNIA, SoftTargets::Kornia),
            (LC_SOFT_TARGETS_SMP, SoftTargets::Smp),
        ] {
            let mut c = lc_sigmoid_focal_default();
            c.soft_targets = v;
            let mut out = f32::NAN;
            // SAFETY: live data of the stated lengths.
            let st = unsafe { lc_sigmoid_focal_loss(&c, x.as_ptr(), 4, &targets, &mut out) };
            let rust = SigmoidFocal::torchvision()
                .with_soft_targets(s)
                .loss(&x, &t[..]);
            check(conventions, st, out, rust);
        }
        // The default convention and integer gammas are always there.
        let mut c = lc_sigmoid_focal_default();
        c.gamma = 3.0;
        let mut out = f32::NAN;
        // SAFETY: as above.
        let st = unsafe { lc_sigmoid_focal_loss(&c, x.as_ptr(), 4, &targets, &mut out) };
        check(
            true,
            st,
            out,
            SigmoidFocal::new(Some(0.25), 3.0).unwrap().loss(&x, &t[..]),
        );

        let mut c = lc_sigmoid_focal_default();
        c.gamma = 1.5;
        let mut out = f32::NAN;
        // SAFETY: as above.
        let st = unsafe { lc_sigmoid_focal_loss(&c, x.as_ptr(), 4, &targets, &mut out) };
        check(
            real,
            st,
            out,
            SigmoidFocal::new(Some(0.25), 1.5).unwrap().loss(&x, &t[..]),
        );
        let mut b = lc_binary_focal_default();
        b.gamma = 0.5;
        let mut out = f32::NAN;
        // SAFETY: as above.
        let st = unsafe { lc_binary_focal_loss(&b, p.as_ptr(), 4, &targets, &mut out) };
        let rust = BinaryFocal::new(Some(0.25), 0.5, 1e-3, 0.999)
            .unwrap()
            .loss(&p, &t[..]);
        check(real, st, out, rust);
        // A negative gamma is a bad parameter in every build.
        b.gamma = -1.5;
        // SAFETY: as above.
        let st = unsafe { lc_binary_focal_loss(&b, p.as_ptr(), 4, &targets, &mut out) };
        assert_eq!(st, crate::status::LC_INVALID_PARAMETER);

        let mut o = lc_overlap_default();
        o.kind = LC_OVERLAP_TVERSKY;
        o.tversky_alpha = 0.3;
        o.tversky_beta = 0.7;
        let mut out = f32::NAN;
        // SAFETY: as above.
        let st = unsafe { lc_overlap_loss(&o, p.as_ptr(), 4, &targets, &mut out) };
        let rust = OverlapLoss::tversky(0.3, 0.7).map(|l| l.loss(&p, &t[..]));
        check(variants, st, out, rust.unwrap());
        let mut o = lc_overlap_default();
        o.set_smoothing = true;
        o.smooth_nr = 0.0;
        o.smooth_dr = 1.0;
        let mut out = f32::NAN;
        // SAFETY: as above.
        let st = unsafe { lc_overlap_loss(&o, p.as_ptr(), 4, &targets, &mut out) };
        let rust = OverlapLoss::dice()
            .with_smoothing(0.0, 1.0)
            .map(|l| l.loss(&p, &t[..]));
        check(variants, st, out, rust.unwrap());
        for kind in [LC_OVERLAP_SEED_TORCH_DICE, LC_OVERLAP_SEED_KERAS_DICE] {
            let mut o = lc_overlap_default();
            o.kind = kind;
            let mut out = f32::NAN;
            // SAFETY: as above.
            let st = unsafe { lc_overlap_loss(&o, p.as_ptr(), 4, &targets, &mut out) };
            assert_eq!(st, if variants { LC_OK } else { LC_UNSUPPORTED });
        }

        // One-vs-rest focal takes the conventions of the focal loss from logits.
        let mut c = lc_class_loss_default();
        c.kind = LC_CLASS_LOSS_ONE_VS_REST;
        c.soft_targets = LC_SOFT_TARGETS_MONAI;
        let shape = lc_shape {
            batch: 1,
            classes: 2,
            spatial: 2,
            layout: LC_LAYOUT_CHANNELS_FIRST,
        };
        let dense = lc_class_targets {
            kind: LC_CLASS_TARGETS_DENSE,
            data: t.as_ptr().cast(),
            len: 4,
            use_ignore_index: false,
            ignore_index: 0,
        };
        let mut sums = [f32::NAN; 2];
        // SAFETY: as above.
        let st =
            unsafe { lc_class_loss_sums(&c, &shape, x.as_ptr(), 4, &dense, sums.as_mut_ptr(), 2) };
        assert_eq!(st, if conventions { LC_OK } else { LC_UNSUPPORTED });
        c.soft_targets = LC_SOFT_TARGETS_TORCHVISION;
        c.gamma = 2.5;
        // SAFETY: as above.
        let st =
            unsafe { lc_class_loss_sums(&c, &shape, x.as_ptr(), 4, &dense, sums.as_mut_ptr(), 2) };
        assert_eq!(st, if real { LC_OK } else { LC_UNSUPPORTED });
    }
}
