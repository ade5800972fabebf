//! Multi-class losses, per-class statistics, confusion counts and metrics, and their
//! accumulators (class capacity [`LC_MAX_CLASSES`]).

use loss_core::dice::OverlapStats;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, ConfusionCounts, Decision, EmptyClass,
    GeneralizedDice, Intersection, Layout, Metric, OneVsRestFocal, Shape, SoftmaxFocal, Targets,
    Undefined, WeightType, Weighting, macro_average,
};
use loss_core::quantized::{ClassQuantization, Code, Quantization};

use crate::LC_MAX_CLASSES;
use crate::binary::{
    LC_PREDICTIONS_LOGITS, LC_REDUCTION_MEAN, LC_SOFT_TARGETS_TORCHVISION, gamma,
    lc_overlap_config, lc_overlap_stats, lc_predictions, lc_reduction, lc_soft_targets,
    logit_soft_targets, overlap_cfg, predictions, reduction,
};
use crate::ffi::{self, out_ok, pick, read, slice, slice_mut, state, write};
use crate::quant::{lc_quantization, quantization};
use crate::status::{Fail, LC_BAD_LENGTH, LC_QUANTIZATION_COUNT, lc_status, run};

/// Where the class axis sits (`LC_LAYOUT_*`).
pub type lc_layout = u32;
/// `N × C × spatial` (PyTorch NCHW).
pub const LC_LAYOUT_CHANNELS_FIRST: lc_layout = 0;
/// `N × spatial × C` (TFLite, Keras NHWC): a pixel's scores are adjacent.
pub const LC_LAYOUT_CHANNELS_LAST: lc_layout = 1;

/// A batch of `batch` samples, `classes` channels and `spatial` pixels per sample.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_shape {
    /// Samples.
    pub batch: usize,
    /// Classes (channels).
    pub classes: usize,
    /// Pixels per sample.
    pub spatial: usize,
    /// Memory layout.
    pub layout: lc_layout,
}

/// How multi-class targets are stored (`LC_CLASS_TARGETS_*`).
pub type lc_class_target_kind = u32;
/// Dense `f32` targets in the scores' shape and layout.
pub const LC_CLASS_TARGETS_DENSE: lc_class_target_kind = 0;
/// A label map, one `uint8_t` class index per pixel.
pub const LC_CLASS_TARGETS_U8: lc_class_target_kind = 1;
/// A label map, one `uint16_t` per pixel.
pub const LC_CLASS_TARGETS_U16: lc_class_target_kind = 2;
/// A label map, one `int32_t` per pixel.
pub const LC_CLASS_TARGETS_I32: lc_class_target_kind = 3;

/// The targets of a multi-class call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_targets {
    /// How `data` is stored.
    pub kind: lc_class_target_kind,
    /// The values or labels.
    pub data: *const core::ffi::c_void,
    /// Elements at `data` (values, or labels: one per pixel).
    pub len: usize,
    /// Whether pixels labelled `ignore_index` are left out (label maps only).
    pub use_ignore_index: bool,
    /// The label to ignore.
    pub ignore_index: i32,
}

/// Multi-class targets read from C, whole or by range.
#[derive(Clone, Copy)]
struct ClassData<'a> {
    values: Values<'a>,
    ignore: Option<i32>,
}

#[derive(Clone, Copy)]
enum Values<'a> {
    Dense(&'a [f32]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    I32(&'a [i32]),
}

impl<'a> ClassData<'a> {
    /// Elements `start..start + len` of the data (values, or labels) as loss-core's targets.
    fn range(&self, start: usize, len: usize) -> Result<Targets<'a>, Fail> {
        let r = start..start.checked_add(len).ok_or(Fail(LC_BAD_LENGTH))?;
        let bad = Fail(LC_BAD_LENGTH);
        let t = match self.values {
            Values::Dense(v) => Targets::dense(v.get(r).ok_or(bad)?),
            Values::U8(v) => Targets::labels(v.get(r).ok_or(bad)?),
            Values::U16(v) => Targets::labels(v.get(r).ok_or(bad)?),
            Values::I32(v) => Targets::labels(v.get(r).ok_or(bad)?),
        };
        Ok(match self.ignore {
            Some(i) => t.with_ignore_index(i),
            None => t,
        })
    }

    /// All of the data.
    fn all(&self) -> Targets<'a> {
        let t = match self.values {
            Values::Dense(v) => Targets::dense(v),
            Values::U8(v) => Targets::labels(v),
            Values::U16(v) => Targets::labels(v),
            Values::I32(v) => Targets::labels(v),
        };
        match self.ignore {
            Some(i) => t.with_ignore_index(i),
            None => t,
        }
    }

    /// Whether the data is a label map (one entry per pixel).
    fn is_label_map(&self) -> bool {
        !matches!(self.values, Values::Dense(_))
    }
}

/// Reads an [`lc_class_targets`].
///
/// # Safety
/// The crate's safety contract.
unsafe fn class_data<'a>(t: *const lc_class_targets) -> Result<ClassData<'a>, Fail> {
    // SAFETY: forwarded contract.
    let t = unsafe { read(t)? };
    let (d, n) = (t.data, t.len);
    // SAFETY: `len` elements of the kind's type at `data` (the contract).
    let values = unsafe {
        match pick(t.kind, &[0u8, 1, 2, 3])? {
            0 => Values::Dense(slice(d.cast::<f32>(), n)?),
            1 => Values::U8(slice(d.cast::<u8>(), n)?),
            2 => Values::U16(slice(d.cast::<u16>(), n)?),
            _ => Values::I32(slice(d.cast::<i32>(), n)?),
        }
    };
    Ok(ClassData {
        values,
        ignore: t.use_ignore_index.then_some(t.ignore_index),
    })
}

/// Reads an [`lc_class_targets`] as loss-core's targets.
///
/// # Safety
/// The crate's safety contract.
unsafe fn class_targets<'a>(t: *const lc_class_targets) -> Result<Targets<'a>, Fail> {
    // SAFETY: forwarded contract.
    Ok(unsafe { class_data(t)? }.all())
}

pub(crate) fn layout(v: lc_layout) -> Result<Layout, Fail> {
    pick(v, &[Layout::ChannelsFirst, Layout::ChannelsLast])
}

/// Reads an [`lc_shape`].
///
/// # Safety
/// The crate's safety contract.
unsafe fn shape(s: *const lc_shape) -> Result<Shape, Fail> {
    // SAFETY: forwarded contract.
    let s = unsafe { read(s)? };
    Ok(Shape::new(
        s.batch,
        s.classes,
        s.spatial,
        layout(s.layout)?,
    )?)
}

/// Checks a shape (loss-core's `Shape::new`) and writes its element count (`batch × classes ×
/// spatial`), the length its scores must have.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_shape_elements(shape: *const lc_shape, out: *mut usize) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, self::shape(shape)?.elements()) })
}

// ----------------------------------------------------------------------------------------------
// Focal losses

/// Which multi-class focal loss (`LC_CLASS_LOSS_*`).
pub type lc_class_loss_kind = u32;
/// Softmax focal over the class axis (MONAI `use_softmax=True`, kornia, Keras categorical);
/// with gamma 0 and no alpha, cross-entropy.
pub const LC_CLASS_LOSS_SOFTMAX: lc_class_loss_kind = 0;
/// One-vs-rest sigmoid focal per class (MONAI's default `FocalLoss`).
pub const LC_CLASS_LOSS_ONE_VS_REST: lc_class_loss_kind = 1;

/// How alpha is spread over the classes (`LC_CLASS_ALPHA_*`).
pub type lc_class_alpha_kind = u32;
/// No alpha weighting.
pub const LC_CLASS_ALPHA_NONE: lc_class_alpha_kind = 0;
/// `[1 - a, a, a, …]`: class 0 is background (softmax only).
pub const LC_CLASS_ALPHA_BACKGROUND: lc_class_alpha_kind = 1;
/// The same `a` for every class.
pub const LC_CLASS_ALPHA_UNIFORM: lc_class_alpha_kind = 2;
/// One alpha per class from `alpha_list`.
pub const LC_CLASS_ALPHA_PER_CLASS: lc_class_alpha_kind = 3;
/// One alpha per class on positives only (one-vs-rest only, MONAI ≥ 1.6).
pub const LC_CLASS_ALPHA_POSITIVES: lc_class_alpha_kind = 4;

/// A multi-class focal loss (loss-core's `SoftmaxFocal` or `OneVsRestFocal`). The lists it
/// points to must outlive an accumulator built from it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_loss_config {
    /// `LC_CLASS_LOSS_SOFTMAX` (default) or `LC_CLASS_LOSS_ONE_VS_REST`.
    pub kind: lc_class_loss_kind,
    /// Softmax only: logits (default) or probabilities (renormalised).
    pub predictions: lc_predictions,
    /// Focusing exponent `>= 0`. Default 2.
    pub gamma: f32,
    /// How alpha is spread. Default `LC_CLASS_ALPHA_NONE`.
    pub alpha_kind: lc_class_alpha_kind,
    /// `a` of `LC_CLASS_ALPHA_BACKGROUND` and `LC_CLASS_ALPHA_UNIFORM`.
    pub alpha: f32,
    /// The per-class alphas (`LC_CLASS_ALPHA_PER_CLASS`, `LC_CLASS_ALPHA_POSITIVES`).
    pub alpha_list: *const f32,
    /// Entries of `alpha_list`.
    pub alpha_len: usize,
    /// Per-class weights, or NULL for none (default).
    pub weights: *const f32,
    /// Entries of `weights`.
    pub weights_len: usize,
    /// One-vs-rest only: the soft-target convention. Default `LC_SOFT_TARGETS_TORCHVISION`.
    pub soft_targets: lc_soft_targets,
    /// Softmax only: clip each probability to `[clip_min, clip_max]` (Keras). Default false.
    pub use_clip: bool,
    /// Lower clip bound.
    pub clip_min: f32,
    /// Upper clip bound.
    pub clip_max: f32,
}

/// Softmax focal loss on logits, gamma 2, no alpha, no weights (MONAI
/// `FocalLoss(use_softmax=True)`).
#[unsafe(no_mangle)]
pub extern "C" fn lc_class_loss_default() -> lc_class_loss_config {
    lc_class_loss_config {
        kind: LC_CLASS_LOSS_SOFTMAX,
        predictions: LC_PREDICTIONS_LOGITS,
        gamma: 2.0,
        alpha_kind: LC_CLASS_ALPHA_NONE,
        alpha: 0.25,
        alpha_list: core::ptr::null(),
        alpha_len: 0,
        weights: core::ptr::null(),
        weights_len: 0,
        soft_targets: LC_SOFT_TARGETS_TORCHVISION,
        use_clip: false,
        clip_min: 1e-7,
        clip_max: 1.0 - 1e-7,
    }
}

/// A multi-class focal loss of either kind.
#[derive(Debug, Clone, Copy)]
enum AnyLoss {
    Softmax(SoftmaxFocal<'static>),
    OneVsRest(OneVsRestFocal<'static>),
}

/// Calls a generic `ClassLoss` method on either kind.
macro_rules! with_loss {
    ($l:expr, |$x:ident| $body:expr) => {
        match $l {
            AnyLoss::Softmax($x) => $body,
            AnyLoss::OneVsRest($x) => $body,
        }
    };
}

/// Builds the loss of a configuration. The lists are borrowed for `'static`: the caller keeps
/// them alive while the loss is used (the safety contract).
///
/// # Safety
/// The crate's safety contract.
unsafe fn class_loss(c: *const lc_class_loss_config) -> Result<AnyLoss, Fail> {
    // SAFETY: forwarded contract.
    let c = unsafe { read(c)? };
    // SAFETY: the lists hold their lengths' elements and outlive the loss (the contract).
    let (list, weights) = unsafe {
        (
            slice(c.alpha_list, c.alpha_len)?,
            slice(c.weights, c.weights_len)?,
        )
    };
    let weights = (!c.weights.is_null()).then_some(weights);
    let alpha = match pick(c.alpha_kind, &[0u8, 1, 2, 3, 4])? {
        0 => ClassAlpha::None,
        1 => ClassAlpha::Background(c.alpha),
        2 => ClassAlpha::Uniform(c.alpha),
        3 => ClassAlpha::PerClass(list),
        _ => ClassAlpha::Positives(list),
    };
    Ok(match pick(c.kind, &[false, true])? {
        false => {
            let loss = SoftmaxFocal::new(alpha, gamma(c.gamma)?, weights)?
                .with_predictions(predictions(c.predictions)?);
            AnyLoss::Softmax(if c.use_clip {
                loss.with_probability_clip(c.clip_min, c.clip_max)?
            } else {
                loss
            })
        }
        true => AnyLoss::OneVsRest(
            OneVsRestFocal::new(alpha, gamma(c.gamma)?, weights)?
                .with_soft_targets(logit_soft_targets(c.soft_targets)?),
        ),
    })
}

/// Per-(sample, class) loss sums, `out[n * classes + c]` (`out_len >= batch * classes`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_sums(
    config: *const lc_class_loss_config,
    shape: *const lc_shape,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (s, loss, p, t, o) = unsafe {
            (
                self::shape(shape)?,
                class_loss(config)?,
                slice(scores, n)?,
                class_targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_loss!(loss, |l| l.class_sums::<LC_MAX_CLASSES>(&s, p, t, o))?)
    })
}

/// The unreduced loss, one term per score at the score's index (`out_len >= n`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_elementwise(
    config: *const lc_class_loss_config,
    shape: *const lc_shape,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (s, loss, p, t, o) = unsafe {
            (
                self::shape(shape)?,
                class_loss(config)?,
                slice(scores, n)?,
                class_targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        Ok(with_loss!(loss, |l| l.loss_elementwise(&s, p, t, o))?)
    })
}

/// Words of storage of an [`lc_class_loss_accumulator`].
pub const LC_CLASS_LOSS_ACCUMULATOR_WORDS: usize = 64;

/// A streaming multi-class focal loss over whole pixels of one sample. Allocate it anywhere,
/// then call [`lc_class_loss_accumulator_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_loss_accumulator {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_CLASS_LOSS_ACCUMULATOR_WORDS],
}

/// Either kind's accumulator.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClassLossAcc {
    Softmax(ClassLossAccumulator<SoftmaxFocal<'static>, LC_MAX_CLASSES>),
    OneVsRest(ClassLossAccumulator<OneVsRestFocal<'static>, LC_MAX_CLASSES>),
}
state!(lc_class_loss_accumulator, ClassLossAcc, 0x4c43_4331);

/// Calls a method on either kind's accumulator.
macro_rules! with_acc {
    ($a:expr, |$x:ident| $body:expr) => {
        match $a {
            ClassLossAcc::Softmax($x) => $body,
            ClassLossAcc::OneVsRest($x) => $body,
        }
    };
}

/// An empty accumulator of `classes` classes (at most [`LC_MAX_CLASSES`]). The
/// configuration's lists must outlive the accumulator.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_init(
    acc: *mut lc_class_loss_accumulator,
    config: *const lc_class_loss_config,
    classes: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let a = match unsafe { class_loss(config)? } {
            AnyLoss::Softmax(l) => ClassLossAcc::Softmax(ClassLossAccumulator::new(l, classes)?),
            AnyLoss::OneVsRest(l) => {
                ClassLossAcc::OneVsRest(ClassLossAccumulator::new(l, classes)?)
            }
        };
        // SAFETY: as above.
        unsafe { ffi::init(acc, a) }
    })
}

/// Adds whole pixels; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_push(
    acc: *mut lc_class_loss_accumulator,
    layout: lc_layout,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, p, t) = unsafe {
            (
                ffi::get_mut(acc)?,
                slice(scores, n)?,
                class_targets(targets)?,
            )
        };
        let l = self::layout(layout)?;
        Ok(with_acc!(a, |a| a.push(l, p, t))?)
    })
}

/// The quantization of multi-class scores: per tensor, or one per class.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_quantization {
    /// Whether `list` (one per class) is used instead of `tensor`.
    pub per_class: bool,
    /// The per-tensor quantization.
    pub tensor: lc_quantization,
    /// One quantization per class (with `per_class`).
    pub list: *const lc_quantization,
    /// Entries of `list` (at most [`LC_MAX_CLASSES`]).
    pub len: usize,
}

/// Builds loss-core's `ClassQuantization` and calls `f` with it.
///
/// # Safety
/// The crate's safety contract.
pub(crate) unsafe fn with_quantization<C: Code, R>(
    q: *const lc_class_quantization,
    f: impl FnOnce(&ClassQuantization<'_, C>) -> Result<R, Fail>,
) -> Result<R, Fail> {
    // SAFETY: forwarded contract.
    let q = unsafe { read(q)? };
    if !q.per_class {
        return f(&ClassQuantization::per_tensor(quantization(q.tensor)?)?);
    }
    if q.len > LC_MAX_CLASSES {
        return Err(Fail(LC_QUANTIZATION_COUNT));
    }
    // SAFETY: `len` entries at `list` (the contract).
    let list = unsafe { slice(q.list, q.len)? };
    let mut built = [Quantization::new(1.0, 0)?; LC_MAX_CLASSES];
    for (b, &l) in built.iter_mut().zip(list) {
        *b = quantization(l)?;
    }
    let built = built.get(..list.len()).ok_or(Fail(LC_BAD_LENGTH))?;
    f(&ClassQuantization::per_class(built)?)
}

/// Adds whole pixels of `int8` codes; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_push_codes_i8(
    acc: *mut lc_class_loss_accumulator,
    layout: lc_layout,
    codes: *const i8,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { class_loss_push_codes(acc, layout, codes, n, quantization, targets) })
}

/// Adds whole pixels of `uint8` codes; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_push_codes_u8(
    acc: *mut lc_class_loss_accumulator,
    layout: lc_layout,
    codes: *const u8,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { class_loss_push_codes(acc, layout, codes, n, quantization, targets) })
}

/// # Safety
/// The crate's safety contract.
unsafe fn class_loss_push_codes<C: Code>(
    acc: *mut lc_class_loss_accumulator,
    layout: lc_layout,
    codes: *const C,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let (a, c, t) = unsafe {
        (
            ffi::get_mut(acc)?,
            slice(codes, n)?,
            class_targets(targets)?,
        )
    };
    let l = self::layout(layout)?;
    // SAFETY: forwarded contract.
    unsafe {
        with_quantization(quantization, |q| {
            Ok(with_acc!(a, |a| a.push_codes(l, c, q, t))?)
        })
    }
}

/// The sum of every term so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_total(
    acc: *const lc_class_loss_accumulator,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, with_acc!(ffi::get(acc)?, |a| a.total())) })
}

/// The mean over every pixel × class element (MONAI's `mean`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_mean_per_element(
    acc: *const lc_class_loss_accumulator,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, with_acc!(ffi::get(acc)?, |a| a.mean_per_element())?) })
}

/// The mean over pixels (cross-entropy's `mean`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_mean_per_pixel(
    acc: *const lc_class_loss_accumulator,
    out: *mut f32,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, with_acc!(ffi::get(acc)?, |a| a.mean_per_pixel())?) })
}

/// Pixels pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_pixels(
    acc: *const lc_class_loss_accumulator,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, with_acc!(ffi::get(acc)?, |a| a.pixels())) })
}

/// The per-class sums, written to `out[0..classes]`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_class_sums(
    acc: *const lc_class_loss_accumulator,
    out: *mut f32,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, o) = unsafe { (ffi::get(acc)?, slice_mut(out, out_len)?) };
        Ok(with_acc!(a, |a| a.class_sums(o))?)
    })
}

/// Empties the accumulator, keeping its loss and classes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_loss_accumulator_reset(
    acc: *mut lc_class_loss_accumulator,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        with_acc!(unsafe { ffi::get_mut(acc)? }, |a| a.reset());
        Ok(())
    })
}

// ----------------------------------------------------------------------------------------------
// Per-class statistics and the dice family

/// How scores become probabilities (`LC_ACTIVATION_*`).
pub type lc_activation = u32;
/// The scores are probabilities (MONAI's default).
pub const LC_ACTIVATION_NONE: lc_activation = 0;
/// `sigmoid` per class.
pub const LC_ACTIVATION_SIGMOID: lc_activation = 1;
/// `softmax` over the classes.
pub const LC_ACTIVATION_SOFTMAX: lc_activation = 2;
/// `tanh` per class.
pub const LC_ACTIVATION_TANH: lc_activation = 3;

/// How the soft intersection is formed (`LC_INTERSECTION_*`).
pub type lc_intersection = u32;
/// `Σ p t` (MONAI's default).
pub const LC_INTERSECTION_PRODUCT: lc_intersection = 0;
/// `Σ min(p, t)` (MONAI `soft_label=True`, smp ≥ 0.4).
pub const LC_INTERSECTION_MIN: lc_intersection = 1;

/// How per-class statistics are gathered (loss-core's `ClassOverlap`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_overlap {
    /// Applied on the fly. Default `LC_ACTIVATION_NONE`.
    pub activation: lc_activation,
    /// Squared sums. Default false.
    pub squared: bool,
    /// Intersection form. Default `LC_INTERSECTION_PRODUCT`.
    pub intersection: lc_intersection,
}

/// MONAI's defaults: probabilities, plain sums, product intersection.
#[unsafe(no_mangle)]
pub extern "C" fn lc_class_overlap_default() -> lc_class_overlap {
    lc_class_overlap {
        activation: LC_ACTIVATION_NONE,
        squared: false,
        intersection: LC_INTERSECTION_PRODUCT,
    }
}

/// # Safety
/// The crate's safety contract.
unsafe fn class_overlap(o: *const lc_class_overlap) -> Result<ClassOverlap, Fail> {
    // SAFETY: forwarded contract.
    let o = unsafe { read(o)? };
    Ok(ClassOverlap {
        activation: pick(
            o.activation,
            &[
                Activation::None,
                Activation::Sigmoid,
                Activation::Softmax,
                Activation::Tanh,
            ],
        )?,
        squared: o.squared,
        intersection: pick(o.intersection, &[Intersection::Product, Intersection::Min])?,
    })
}

/// Writes statistics computed into a local buffer to the caller's buffer.
fn copy_stats(from: &[OverlapStats], to: &mut [lc_overlap_stats]) {
    for (t, f) in to.iter_mut().zip(from) {
        *t = (*f).into();
    }
}

/// Statistics of each sample and class, `out[n * classes + c]` (`out_len >= batch *
/// classes`), each the bits of loss-core's `ClassOverlap::class_stats`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats(
    overlap: *const lc_class_overlap,
    shape: *const lc_shape,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
    out: *mut lc_overlap_stats,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (ov, s, p, t, o) = unsafe {
            (
                class_overlap(overlap)?,
                self::shape(shape)?,
                slice(scores, n)?,
                class_data(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        // The whole call is checked first (loss-core's checks, in its order), so that nothing
        // is written on error.
        let mut buf = [OverlapStats::default(); LC_MAX_CLASSES];
        ov.pooled_class_stats::<LC_MAX_CLASSES>(&s, p, t.all(), &mut buf)?;
        let c = s.classes();
        let needed = s.batch().saturating_mul(c);
        if o.len() < needed {
            let capacity = o.len();
            return Err(loss_core::Error::BufferTooSmall { needed, capacity }.into());
        }
        // Then a sample at a time: an accumulator fed one sample, as `class_stats` computes.
        let per_sample = c.saturating_mul(s.spatial());
        let per_targets = if t.is_label_map() {
            s.spatial()
        } else {
            per_sample
        };
        let mut acc = ClassStatsAccumulator::<LC_MAX_CLASSES>::new(ov, c)?;
        for (k, row) in o.chunks_mut(c).take(s.batch()).enumerate() {
            let scores = p
                .get(k * per_sample..(k + 1) * per_sample)
                .ok_or(Fail(LC_BAD_LENGTH))?;
            acc.reset();
            acc.push(s.layout(), scores, t.range(k * per_targets, per_targets)?)?;
            acc.stats(&mut buf)?;
            copy_stats(&buf, row);
        }
        Ok(())
    })
}

/// Statistics of each class pooled over the whole batch, `out[c]` (`out_len >= classes`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_pooled_class_stats(
    overlap: *const lc_class_overlap,
    shape: *const lc_shape,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
    out: *mut lc_overlap_stats,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (ov, s, p, t, o) = unsafe {
            (
                class_overlap(overlap)?,
                self::shape(shape)?,
                slice(scores, n)?,
                class_targets(targets)?,
                slice_mut(out, out_len)?,
            )
        };
        if o.len() < s.classes() {
            return Err(loss_core::Error::BufferTooSmall {
                needed: s.classes(),
                capacity: o.len(),
            }
            .into());
        }
        let mut buf = [OverlapStats::default(); LC_MAX_CLASSES];
        ov.pooled_class_stats::<LC_MAX_CLASSES>(&s, p, t, &mut buf)?;
        copy_stats(buf.get(..s.classes()).unwrap_or(&buf), o);
        Ok(())
    })
}

/// What a class with an empty target contributes (`LC_EMPTY_CLASS_*`).
pub type lc_empty_class = u32;
/// Whatever the formula gives (MONAI, Keras, kornia).
pub const LC_EMPTY_CLASS_FORMULA: lc_empty_class = 0;
/// Loss 0, still counted (smp).
pub const LC_EMPTY_CLASS_ZERO: lc_empty_class = 1;
/// Left out; NaN in per-class output (torchmetrics).
pub const LC_EMPTY_CLASS_SKIP: lc_empty_class = 2;

/// How class weights apply (`LC_WEIGHTING_*`).
pub type lc_weighting = u32;
/// `loss_c · w_c`, then the plain mean (MONAI).
pub const LC_WEIGHTING_MULTIPLY: lc_weighting = 0;
/// `Σ w_c loss_c / Σ w_c` (smp, kornia).
pub const LC_WEIGHTING_NORMALIZE: lc_weighting = 1;

/// How per-(sample, class) dice-family losses become one number (loss-core's
/// `ClassReduction`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_reduction {
    /// Whether class 0 counts. Default true.
    pub include_background: bool,
    /// One weight per class, or NULL for none (default).
    pub weights: *const f32,
    /// Entries of `weights`.
    pub weights_len: usize,
    /// How weights apply. Default `LC_WEIGHTING_MULTIPLY`.
    pub weighting: lc_weighting,
    /// Empty-target classes. Default `LC_EMPTY_CLASS_FORMULA`.
    pub empty: lc_empty_class,
    /// Mean or sum. Default `LC_REDUCTION_MEAN`.
    pub reduction: lc_reduction,
}

/// MONAI's defaults: background included, no weights, empty classes by formula, mean.
#[unsafe(no_mangle)]
pub extern "C" fn lc_class_reduction_default() -> lc_class_reduction {
    lc_class_reduction {
        include_background: true,
        weights: core::ptr::null(),
        weights_len: 0,
        weighting: LC_WEIGHTING_MULTIPLY,
        empty: LC_EMPTY_CLASS_FORMULA,
        reduction: LC_REDUCTION_MEAN,
    }
}

/// # Safety
/// The crate's safety contract.
unsafe fn class_reduction<'a>(r: *const lc_class_reduction) -> Result<ClassReduction<'a>, Fail> {
    // SAFETY: forwarded contract.
    let r = unsafe { read(r)? };
    // SAFETY: `weights_len` weights at `weights`.
    let weights = unsafe { slice(r.weights, r.weights_len)? };
    Ok(ClassReduction {
        include_background: r.include_background,
        weights: (!r.weights.is_null()).then_some(weights),
        weighting: pick(r.weighting, &[Weighting::Multiply, Weighting::Normalize])?,
        empty: pick(
            r.empty,
            &[EmptyClass::Formula, EmptyClass::Zero, EmptyClass::Skip],
        )?,
        reduction: reduction(r.reduction)?,
    })
}

/// Copies C statistics into a local buffer of loss-core's type, a sample of at most
/// [`LC_MAX_CLASSES`] entries at a time, and calls `f` with each run.
fn stats_in<R>(
    from: &[lc_overlap_stats],
    f: impl FnOnce(&[OverlapStats]) -> Result<R, Fail>,
) -> Result<R, Fail> {
    let mut buf = [OverlapStats::default(); 4 * LC_MAX_CLASSES];
    if from.len() > buf.len() {
        return Err(Fail(LC_BAD_LENGTH));
    }
    for (b, s) in buf.iter_mut().zip(from) {
        *b = (*s).into();
    }
    f(buf.get(..from.len()).ok_or(Fail(LC_BAD_LENGTH))?)
}

/// The dice-family loss (the configuration's score, its smoothing) of `n_stats` statistics
/// (whole samples of `classes`; at most `4 * LC_MAX_CLASSES` entries) reduced over samples and
/// kept classes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_reduce(
    reduction: *const lc_class_reduction,
    loss: *const lc_overlap_config,
    stats: *const lc_overlap_stats,
    n_stats: usize,
    classes: usize,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (r, l, s) = unsafe {
            (
                class_reduction(reduction)?,
                overlap_cfg(loss)?,
                slice(stats, n_stats)?,
            )
        };
        let v = stats_in(s, |s| Ok(r.reduce(&l, s, classes)?))?;
        // SAFETY: as above.
        unsafe { write(out, v) }
    })
}

/// The per-(sample, kept class) losses (`reduction="none"`), written to `out`, their number to
/// `*written`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_losses(
    reduction: *const lc_class_reduction,
    loss: *const lc_overlap_config,
    stats: *const lc_overlap_stats,
    n_stats: usize,
    classes: usize,
    out: *mut f32,
    out_len: usize,
    written: *mut usize,
) -> lc_status {
    run(|| {
        out_ok(written)?;
        // SAFETY: the caller's contract.
        let (r, l, s, o) = unsafe {
            (
                class_reduction(reduction)?,
                overlap_cfg(loss)?,
                slice(stats, n_stats)?,
                slice_mut(out, out_len)?,
            )
        };
        let k = stats_in(s, |s| Ok(r.losses(&l, s, classes, o)?))?;
        // SAFETY: as above.
        unsafe { write(written, k) }
    })
}

/// Class weights of the generalized dice loss (`LC_WEIGHT_TYPE_*`).
pub type lc_weight_type = u32;
/// `1 / T_c²` (MONAI's default).
pub const LC_WEIGHT_TYPE_SQUARE: lc_weight_type = 0;
/// `1 / T_c`.
pub const LC_WEIGHT_TYPE_SIMPLE: lc_weight_type = 1;
/// 1.
pub const LC_WEIGHT_TYPE_UNIFORM: lc_weight_type = 2;

/// The generalized dice loss (loss-core's `GeneralizedDice`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_generalized_dice_config {
    /// Class weights. Default `LC_WEIGHT_TYPE_SQUARE`.
    pub weight_type: lc_weight_type,
    /// Numerator smoothing. Default 1e-5.
    pub smooth_nr: f32,
    /// Denominator smoothing. Default 1e-5.
    pub smooth_dr: f32,
    /// Whether class 0 counts. Default true.
    pub include_background: bool,
}

/// MONAI's `GeneralizedDiceLoss` defaults.
#[unsafe(no_mangle)]
pub extern "C" fn lc_generalized_dice_default() -> lc_generalized_dice_config {
    lc_generalized_dice_config {
        weight_type: LC_WEIGHT_TYPE_SQUARE,
        smooth_nr: 1e-5,
        smooth_dr: 1e-5,
        include_background: true,
    }
}

/// The generalized dice loss of pooled per-class statistics (`classes` entries, at most
/// `4 * LC_MAX_CLASSES`).
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_generalized_dice_loss(
    config: *const lc_generalized_dice_config,
    stats: *const lc_overlap_stats,
    classes: usize,
    out: *mut f32,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (c, s) = unsafe { (read(config)?, slice(stats, classes)?) };
        let weight_type = pick(
            c.weight_type,
            &[WeightType::Square, WeightType::Simple, WeightType::Uniform],
        )?;
        let g = GeneralizedDice::new(weight_type, c.smooth_nr, c.smooth_dr)?
            .with_include_background(c.include_background);
        let v = stats_in(s, |s| Ok(g.loss(s)?))?;
        // SAFETY: as above.
        unsafe { write(out, v) }
    })
}

/// Words of storage of an [`lc_class_stats_accumulator`].
pub const LC_CLASS_STATS_ACCUMULATOR_WORDS: usize = 168;

/// Streams per-class overlap statistics over whole pixels of one sample. Allocate it
/// anywhere, then call [`lc_class_stats_accumulator_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_class_stats_accumulator {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_CLASS_STATS_ACCUMULATOR_WORDS],
}

/// The accumulator and its class count (which loss-core's type does not report).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatsAcc {
    acc: ClassStatsAccumulator<LC_MAX_CLASSES>,
    classes: usize,
}
state!(lc_class_stats_accumulator, StatsAcc, 0x4c43_5331);

/// An empty accumulator of `classes` classes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_init(
    acc: *mut lc_class_stats_accumulator,
    overlap: *const lc_class_overlap,
    classes: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let a = ClassStatsAccumulator::new(unsafe { class_overlap(overlap)? }, classes)?;
        // SAFETY: as above.
        unsafe { ffi::init(acc, StatsAcc { acc: a, classes }) }
    })
}

/// Adds whole pixels; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_push(
    acc: *mut lc_class_stats_accumulator,
    layout: lc_layout,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, p, t) = unsafe {
            (
                ffi::get_mut(acc)?,
                slice(scores, n)?,
                class_targets(targets)?,
            )
        };
        Ok(a.acc.push(self::layout(layout)?, p, t)?)
    })
}

/// Adds whole pixels of `int8` codes; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_push_codes_i8(
    acc: *mut lc_class_stats_accumulator,
    layout: lc_layout,
    codes: *const i8,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { stats_push_codes(acc, layout, codes, n, quantization, targets) })
}

/// Adds whole pixels of `uint8` codes; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_push_codes_u8(
    acc: *mut lc_class_stats_accumulator,
    layout: lc_layout,
    codes: *const u8,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { stats_push_codes(acc, layout, codes, n, quantization, targets) })
}

/// # Safety
/// The crate's safety contract.
unsafe fn stats_push_codes<C: Code>(
    acc: *mut lc_class_stats_accumulator,
    layout: lc_layout,
    codes: *const C,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let (a, c, t) = unsafe {
        (
            ffi::get_mut(acc)?,
            slice(codes, n)?,
            class_targets(targets)?,
        )
    };
    let l = self::layout(layout)?;
    // SAFETY: forwarded contract.
    unsafe { with_quantization(quantization, |q| Ok(a.acc.push_codes(l, c, q, t)?)) }
}

/// Pixels pushed so far.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_pixels(
    acc: *const lc_class_stats_accumulator,
    out: *mut u64,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(acc)?.acc.pixels()) })
}

/// The statistics of each class, written to `out[0..classes]`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_stats(
    acc: *const lc_class_stats_accumulator,
    out: *mut lc_overlap_stats,
    out_len: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, o) = unsafe { (ffi::get(acc)?, slice_mut(out, out_len)?) };
        let needed = a.classes;
        if o.len() < needed {
            let capacity = o.len();
            return Err(loss_core::Error::BufferTooSmall { needed, capacity }.into());
        }
        let mut buf = [OverlapStats::default(); LC_MAX_CLASSES];
        a.acc.stats(&mut buf)?;
        copy_stats(buf.get(..needed).unwrap_or(&[]), o);
        Ok(())
    })
}

/// Empties the accumulator.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_class_stats_accumulator_reset(
    acc: *mut lc_class_stats_accumulator,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(acc)? }.acc.reset();
        Ok(())
    })
}

// ----------------------------------------------------------------------------------------------
// Confusion counts and metrics

/// Confusion counts of one class (loss-core's `ConfusionCounts`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lc_confusion_counts {
    /// True positives.
    pub true_positives: u64,
    /// False positives.
    pub false_positives: u64,
    /// False negatives.
    pub false_negatives: u64,
    /// True negatives.
    pub true_negatives: u64,
}

impl From<ConfusionCounts> for lc_confusion_counts {
    fn from(c: ConfusionCounts) -> Self {
        Self {
            true_positives: c.true_positives,
            false_positives: c.false_positives,
            false_negatives: c.false_negatives,
            true_negatives: c.true_negatives,
        }
    }
}

impl From<lc_confusion_counts> for ConfusionCounts {
    fn from(c: lc_confusion_counts) -> Self {
        Self {
            true_positives: c.true_positives,
            false_positives: c.false_positives,
            false_negatives: c.false_negatives,
            true_negatives: c.true_negatives,
        }
    }
}

/// How scores become hard predictions (`LC_DECISION_*`).
pub type lc_decision_kind = u32;
/// The class with the highest score.
pub const LC_DECISION_ARGMAX: lc_decision_kind = 0;
/// Every class whose score is at least `threshold`.
pub const LC_DECISION_THRESHOLD: lc_decision_kind = 1;

/// A hard decision rule (loss-core's `Decision`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_decision {
    /// Argmax (default) or threshold.
    pub kind: lc_decision_kind,
    /// The threshold (a probability, or a logit: 0 is p = 0.5). Default 0.5.
    pub threshold: f32,
}

/// Argmax.
#[unsafe(no_mangle)]
pub extern "C" fn lc_decision_default() -> lc_decision {
    lc_decision {
        kind: LC_DECISION_ARGMAX,
        threshold: 0.5,
    }
}

/// A metric of confusion counts (`LC_METRIC_*`).
pub type lc_metric = u32;
/// `2 tp / (2 tp + fp + fn)`.
pub const LC_METRIC_DICE: lc_metric = 0;
/// `tp / (tp + fp + fn)`.
pub const LC_METRIC_IOU: lc_metric = 1;
/// `tp / (tp + fp)`.
pub const LC_METRIC_PRECISION: lc_metric = 2;
/// `tp / (tp + fn)`.
pub const LC_METRIC_RECALL: lc_metric = 3;
/// F1, equal to dice.
pub const LC_METRIC_F1: lc_metric = 4;
/// `tn / (tn + fp)`.
pub const LC_METRIC_SPECIFICITY: lc_metric = 5;

fn metric(v: lc_metric) -> Result<Metric, Fail> {
    pick(
        v,
        &[
            Metric::Dice,
            Metric::Iou,
            Metric::Precision,
            Metric::Recall,
            Metric::F1,
            Metric::Specificity,
        ],
    )
}

/// The metric of one class's counts: `*defined` is false (and `*out` NaN) when its
/// denominator is zero.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_metric(
    counts: *const lc_confusion_counts,
    metric: lc_metric,
    out: *mut f32,
    defined: *mut bool,
) -> lc_status {
    run(|| {
        out_ok(defined)?;
        // SAFETY: the caller's contract.
        let c: ConfusionCounts = unsafe { read(counts)? }.into();
        let v = c.metric(self::metric(metric)?);
        // SAFETY: as above.
        unsafe {
            write(out, v.unwrap_or(f32::NAN))?;
            write(defined, v.is_some())
        }
    })
}

/// The unweighted mean of a metric over `n` classes (class 0 left out unless
/// `include_background`); classes whose metric is undefined are skipped, or count as
/// `undefined_value` when `use_undefined_value`. `*defined` is false when no class is left.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_macro_average(
    counts: *const lc_confusion_counts,
    n: usize,
    metric: lc_metric,
    include_background: bool,
    use_undefined_value: bool,
    undefined_value: f32,
    out: *mut f32,
    defined: *mut bool,
) -> lc_status {
    run(|| {
        out_ok(defined)?;
        // SAFETY: the caller's contract.
        let c = unsafe { slice(counts, n)? };
        let mut buf = [ConfusionCounts::default(); LC_MAX_CLASSES];
        if c.len() > buf.len() {
            return Err(Fail(LC_BAD_LENGTH));
        }
        for (b, k) in buf.iter_mut().zip(c) {
            *b = (*k).into();
        }
        let undefined = if use_undefined_value {
            Undefined::Value(undefined_value)
        } else {
            Undefined::Skip
        };
        let counts = buf.get(..c.len()).ok_or(Fail(LC_BAD_LENGTH))?;
        let v = macro_average(counts, self::metric(metric)?, include_background, undefined);
        // SAFETY: as above.
        unsafe {
            write(out, v.unwrap_or(f32::NAN))?;
            write(defined, v.is_some())
        }
    })
}

/// Words of storage of an [`lc_confusion_accumulator`].
pub const LC_CONFUSION_ACCUMULATOR_WORDS: usize = 68;

/// Streams confusion counts per class. Allocate it anywhere, then call
/// [`lc_confusion_accumulator_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_confusion_accumulator {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_CONFUSION_ACCUMULATOR_WORDS],
}
state!(
    lc_confusion_accumulator,
    ConfusionAccumulator<LC_MAX_CLASSES>,
    0x4c43_4b31
);

/// # Safety
/// The crate's safety contract.
unsafe fn decision(d: *const lc_decision) -> Result<Decision, Fail> {
    // SAFETY: forwarded contract.
    let d = unsafe { read(d)? };
    Ok(match pick(d.kind, &[false, true])? {
        false => Decision::Argmax,
        true => Decision::Threshold(d.threshold),
    })
}

/// Empty counts of `classes` classes.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_accumulator_init(
    acc: *mut lc_confusion_accumulator,
    decision: *const lc_decision,
    classes: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let a = ConfusionAccumulator::new(unsafe { self::decision(decision)? }, classes)?;
        // SAFETY: as above.
        unsafe { ffi::init(acc, a) }
    })
}

/// Adds whole pixels; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_accumulator_push(
    acc: *mut lc_confusion_accumulator,
    layout: lc_layout,
    scores: *const f32,
    n: usize,
    targets: *const lc_class_targets,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (a, p, t) = unsafe {
            (
                ffi::get_mut(acc)?,
                slice(scores, n)?,
                class_targets(targets)?,
            )
        };
        Ok(a.push(self::layout(layout)?, p, t)?)
    })
}

/// Adds whole pixels of `int8` codes; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_accumulator_push_codes_i8(
    acc: *mut lc_confusion_accumulator,
    layout: lc_layout,
    codes: *const i8,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { confusion_push_codes(acc, layout, codes, n, quantization, targets) })
}

/// Adds whole pixels of `uint8` codes; on error the state is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_accumulator_push_codes_u8(
    acc: *mut lc_confusion_accumulator,
    layout: lc_layout,
    codes: *const u8,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { confusion_push_codes(acc, layout, codes, n, quantization, targets) })
}

/// # Safety
/// The crate's safety contract.
unsafe fn confusion_push_codes<C: Code>(
    acc: *mut lc_confusion_accumulator,
    layout: lc_layout,
    codes: *const C,
    n: usize,
    quantization: *const lc_class_quantization,
    targets: *const lc_class_targets,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let (a, c, t) = unsafe {
        (
            ffi::get_mut(acc)?,
            slice(codes, n)?,
            class_targets(targets)?,
        )
    };
    let l = self::layout(layout)?;
    // SAFETY: forwarded contract.
    unsafe { with_quantization(quantization, |q| Ok(a.push_codes(l, c, q, t)?)) }
}

/// The counts of each class, written to `out[0..classes]`; `*classes` receives the class
/// count.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_accumulator_counts(
    acc: *const lc_confusion_accumulator,
    out: *mut lc_confusion_counts,
    out_len: usize,
    classes: *mut usize,
) -> lc_status {
    run(|| {
        out_ok(classes)?;
        // SAFETY: the caller's contract.
        let (a, o) = unsafe { (ffi::get(acc)?, slice_mut(out, out_len)?) };
        let counts = a.counts();
        if o.len() < counts.len() {
            let (needed, capacity) = (counts.len(), o.len());
            return Err(loss_core::Error::BufferTooSmall { needed, capacity }.into());
        }
        for (o, c) in o.iter_mut().zip(counts) {
            *o = (*c).into();
        }
        // SAFETY: as above.
        unsafe { write(classes, counts.len()) }
    })
}

/// Zeroes the counts.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_confusion_accumulator_reset(
    acc: *mut lc_confusion_accumulator,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        unsafe { ffi::get_mut(acc)? }.reset();
        Ok(())
    })
}
