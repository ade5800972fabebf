//! Shapes, layouts and targets of multi-class data, and the pixel walk every multi-class
//! computation shares.

use crate::elementwise::{Predictions, first_outside};
use crate::{Error, Operand};

/// Where the class axis sits in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layout {
    /// `N × C × spatial` (PyTorch NCHW): each class is a plane.
    ChannelsFirst,
    /// `N × spatial × C` (Keras, TFLite NHWC): the C scores of a pixel are adjacent.
    ChannelsLast,
}

/// A batch of `batch` samples, `classes` channels and `spatial` pixels per sample (`H × W`, or
/// `D × H × W`, flattened), in a [`Layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Shape {
    batch: usize,
    classes: usize,
    spatial: usize,
    layout: Layout,
}

impl Shape {
    /// A validated shape.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"classes"` for zero classes or `"shape"` if the
    /// element count overflows `usize`; [`Error::EmptyInput`] for zero samples or pixels.
    pub fn new(
        batch: usize,
        classes: usize,
        spatial: usize,
        layout: Layout,
    ) -> Result<Self, Error> {
        if classes == 0 {
            return Err(Error::InvalidParameter("classes"));
        }
        if batch == 0 || spatial == 0 {
            return Err(Error::EmptyInput);
        }
        batch
            .checked_mul(classes)
            .and_then(|n| n.checked_mul(spatial))
            .ok_or(Error::InvalidParameter("shape"))?;
        Ok(Self {
            batch,
            classes,
            spatial,
            layout,
        })
    }

    /// Samples `N`.
    pub const fn batch(&self) -> usize {
        self.batch
    }

    /// Classes `C`.
    pub const fn classes(&self) -> usize {
        self.classes
    }

    /// Pixels per sample.
    pub const fn spatial(&self) -> usize {
        self.spatial
    }

    /// The memory layout.
    pub const fn layout(&self) -> Layout {
        self.layout
    }

    /// Elements of a score tensor, `N × C × spatial`.
    pub const fn elements(&self) -> usize {
        self.batch * self.classes * self.spatial
    }

    /// Pixels of the whole batch, `N × spatial` (the length of a label map).
    pub const fn pixels(&self) -> usize {
        self.batch * self.spatial
    }

    /// Offset of pixel `s` of sample `n`, and the distance between its classes.
    const fn pixel_address(&self, n: usize, s: usize) -> (usize, usize) {
        match self.layout {
            Layout::ChannelsFirst => (n * self.classes * self.spatial + s, self.spatial),
            Layout::ChannelsLast => ((n * self.spatial + s) * self.classes, 1),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Integer types a label map may hold: `u8`, `u16`, `i32`.
pub trait Label: sealed::Sealed + Copy {
    #[doc(hidden)]
    fn targets(labels: &[Self]) -> Targets<'_>;
}

macro_rules! label {
    ($t:ty, $variant:ident) => {
        impl sealed::Sealed for $t {}
        impl Label for $t {
            fn targets(labels: &[Self]) -> Targets<'_> {
                Targets {
                    data: TargetData::$variant(labels),
                    ignore_index: None,
                }
            }
        }
    };
}
label!(u8, U8);
label!(u16, U16);
label!(i32, I32);

#[derive(Debug, Clone, Copy, PartialEq)]
enum TargetData<'a> {
    Dense(&'a [f32]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    I32(&'a [i32]),
}

/// The targets of a multi-class computation: a dense tensor (one-hot or soft, the shape and
/// layout of the scores) or a label map of class indices (`N × spatial`).
///
/// With [`Targets::with_ignore_index`], label-map pixels holding that value vanish from every
/// sum: they are skipped before any statistic sees them, so the result is bit-identical to
/// removing those pixels from the input (and they do not count in any mean). This is
/// kornia's and smp's convention for the statistics; PyTorch's cross-entropy mean also divides
/// by the non-ignored pixels only.
///
/// # Examples
/// ```
/// use loss_core::multiclass::Targets;
/// let mask: [u8; 4] = [0, 2, 255, 1];
/// let targets = Targets::labels(&mask).with_ignore_index(255);
/// let onehot = [1.0, 0.0, 0.0, 1.0];
/// let dense = Targets::dense(&onehot);
/// # let _ = (targets, dense);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets<'a> {
    data: TargetData<'a>,
    ignore_index: Option<i32>,
}

impl<'a> Targets<'a> {
    /// Dense targets in `[0, 1]`, laid out like the scores.
    pub const fn dense(values: &'a [f32]) -> Self {
        Self {
            data: TargetData::Dense(values),
            ignore_index: None,
        }
    }

    /// A label map of class indices, one per pixel.
    pub fn labels<L: Label>(labels: &'a [L]) -> Self {
        L::targets(labels)
    }

    /// Pixels labelled `ignore_index` are left out of every computation (label maps only).
    #[must_use]
    pub const fn with_ignore_index(mut self, ignore_index: i32) -> Self {
        self.ignore_index = Some(ignore_index);
        self
    }

    #[inline]
    fn label(&self, pixel: usize) -> Option<i32> {
        match self.data {
            TargetData::Dense(_) => None,
            TargetData::U8(l) => l.get(pixel).map(|&v| i32::from(v)),
            TargetData::U16(l) => l.get(pixel).map(|&v| i32::from(v)),
            TargetData::I32(l) => l.get(pixel).copied(),
        }
    }

    const fn is_dense(&self) -> bool {
        matches!(self.data, TargetData::Dense(_))
    }

    /// Whether these are label-map targets.
    pub const fn is_label_map(&self) -> bool {
        !self.is_dense()
    }

    fn len(&self) -> usize {
        match self.data {
            TargetData::Dense(d) => d.len(),
            TargetData::U8(l) => l.len(),
            TargetData::U16(l) => l.len(),
            TargetData::I32(l) => l.len(),
        }
    }
}

/// One pixel's scores and target, as every multi-class kernel sees it.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Pixel<'a> {
    scores: &'a [f32],
    base: usize,
    stride: usize,
    classes: usize,
    target: PixelTarget<'a>,
    /// The log-softmax, when a caller that needs it for several statistics computed it once
    /// (`frame`); [`Pixel::log_softmax`] then returns it instead of recomputing the same bits.
    log_softmax: Option<&'a LogSoftmax>,
    /// `exp(x_c - max)` of every class, computed with the cached log-softmax (else empty, and
    /// each is computed when asked for: the same bits).
    exps: &'a [f32],
}

#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub enum PixelTarget<'a> {
    Dense(&'a [f32]),
    Class(usize),
}

impl<'a> Pixel<'a> {
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Index of the pixel's class-0 score, and the distance between its classes.
    pub fn address(&self) -> (usize, usize) {
        (self.base, self.stride)
    }

    /// The scores of the pixel in class order (one bounds check, then a strided walk).
    #[inline]
    fn scores(&self) -> impl Iterator<Item = f32> + '_ {
        self.scores
            .get(self.base..)
            .unwrap_or(&[])
            .iter()
            .step_by(self.stride.max(1))
            .take(self.classes)
            .copied()
    }

    /// Score of class `c` (NaN past the last class, which validated callers never ask for).
    #[inline]
    pub fn score(&self, c: usize) -> f32 {
        self.scores
            .get(self.base + c * self.stride)
            .copied()
            .unwrap_or(f32::NAN)
    }

    /// Target of class `c`: the dense value, or 1 for the labelled class and 0 elsewhere.
    #[inline]
    pub fn target(&self, c: usize) -> f32 {
        match self.target {
            PixelTarget::Dense(t) => t
                .get(self.base + c * self.stride)
                .copied()
                .unwrap_or(f32::NAN),
            PixelTarget::Class(k) => {
                if k == c {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// The labelled class, for label-map targets.
    pub fn label(&self) -> Option<usize> {
        match self.target {
            PixelTarget::Dense(_) => None,
            PixelTarget::Class(k) => Some(k),
        }
    }

    /// The log-softmax of the pixel's scores read as `space` (see [`LogSoftmax`]): the cached
    /// one when it was computed for that space, borrowed (a copy of a just-written cache stalls
    /// on store forwarding, every pixel), else one computed into `slot`.
    #[inline]
    pub fn log_softmax<'s>(
        &'s self,
        space: Predictions,
        slot: &'s mut Option<LogSoftmax>,
    ) -> &'s LogSoftmax {
        match self.log_softmax {
            Some(lsm) if lsm.space == space => lsm,
            _ => slot.insert(LogSoftmax::new(self, space)),
        }
    }

    /// `e_c` in the space of `lsm`: cached (when cached for that space), or computed.
    #[inline]
    fn shifted(&self, lsm: &LogSoftmax, c: usize) -> f32 {
        match (&self.log_softmax, self.exps.get(c)) {
            (Some(cached), Some(&e)) if cached.space == lsm.space => e,
            _ => LogSoftmax::shift(lsm.space, lsm.max, self.score(c)),
        }
    }

    /// The softmax probability of class `c`, `e_c / Σ_k e_k` (at the limits, `exp` of the
    /// log-softmax).
    #[inline]
    pub fn probability(&self, lsm: &LogSoftmax, c: usize) -> f32 {
        if lsm.regular() {
            self.shifted(lsm, c) / lsm.sum
        } else {
            libm::expf(lsm.at(self.score(c)))
        }
    }

    /// `1 - p_c` without cancellation: `Σ_{k ≠ c} e_k / Σ_k e_k`, the numerator `rest` for the
    /// winning class and `Σ - e_c >= 1` for the others (at the limits, `-expm1` of the
    /// log-softmax).
    #[inline]
    pub fn complement(&self, lsm: &LogSoftmax, c: usize) -> f32 {
        if lsm.regular() {
            let others = if c == lsm.winner {
                lsm.rest
            } else {
                lsm.sum - self.shifted(lsm, c)
            };
            others / lsm.sum
        } else {
            -libm::expm1f(lsm.at(self.score(c)))
        }
    }

    /// The first class with the highest score; NaN scores never win (the log-softmax's winner,
    /// the same rule, when it is cached).
    pub fn argmax(&self) -> usize {
        if let Some(lsm) = &self.log_softmax {
            return lsm.winner;
        }
        let mut best = 0;
        let mut best_score = f32::NEG_INFINITY;
        for c in 0..self.classes {
            let x = self.score(c);
            if x > best_score {
                best = c;
                best_score = x;
            }
        }
        best
    }
}

/// The softmax of one pixel in a form that keeps every quantity accurate. With `m = x_{k*}` the
/// highest score (`k*` the first class reaching it) and `e_c` the scores relative to it,
///
/// ```text
/// logits         e_c = exp(x_c - m)   log p_c = (x_c - m) - log1p(rest)
/// probabilities  e_c = x_c / m        log p_c = ln(x_c / m) - log1p(rest)   (p_c = x_c / Σ x)
/// ```
///
/// with `rest = Σ_{k ≠ k*} e_k` (so `Σ_k e_k = 1 + rest`): no exponent overflows, and
/// `log1p(rest)` keeps the winner's `-log p` accurate when it is tiny. Probabilities are
/// renormalised by their sum (Keras's categorical losses), which is the softmax of their
/// logarithms. At the limits: the classes at a `+inf` logit share the mass equally, all `-inf`
/// logits or all-zero probabilities give the uniform distribution, and NaN anywhere gives NaN
/// for every class.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct LogSoftmax {
    space: Predictions,
    /// `m`; the limits are marked by `sum` NaN (with `max` NaN for a NaN score).
    max: f32,
    log_sum: f32,
    /// `-ln(count of classes at m)` at the limits (`+inf` ties, or every class at `m`).
    log_share: f32,
    /// `Σ_{k ≠ k*} e_k` and `1 + rest`, the denominators of `p_c` and `1 - p_c`.
    rest: f32,
    sum: f32,
    winner: usize,
}

impl LogSoftmax {
    const NAN: Self = Self {
        space: Predictions::Logits,
        max: f32::NAN,
        log_sum: f32::NAN,
        log_share: f32::NAN,
        rest: f32::NAN,
        sum: f32::NAN,
        winner: 0,
    };

    fn new(p: &Pixel<'_>, space: Predictions) -> Self {
        let (max, winner) = Self::max_and_winner(p);
        let mut rest = 0.0f32;
        if Self::is_regular(space, max) {
            for (c, x) in p.scores().enumerate() {
                if c != winner {
                    rest += Self::shift(space, max, x);
                }
            }
        }
        Self::from_sum(p, space, max, winner, rest, libm::log1pf)
    }

    /// Whether `max` leaves the softmax away from its limits.
    #[inline]
    fn is_regular(space: Predictions, max: f32) -> bool {
        max.is_finite() && (space == Predictions::Logits || max > 0.0)
    }

    /// Away from the limits (where `probability` and `complement` use `e_c`).
    #[inline]
    fn regular(&self) -> bool {
        !self.sum.is_nan()
    }

    /// `e_c` of score `x` relative to the highest score `max`: `exp(x - max)` or `x / max`.
    #[inline]
    fn shift(space: Predictions, max: f32, x: f32) -> f32 {
        match space {
            Predictions::Logits => libm::expf(x - max),
            Predictions::Probabilities => x / max,
        }
    }

    /// The maximum score and the first class reaching it; NaN never wins a comparison, so
    /// `max` is the maximum of the other scores.
    #[inline]
    fn max_and_winner(p: &Pixel<'_>) -> (f32, usize) {
        let (mut max, mut winner) = (f32::NEG_INFINITY, 0);
        for (c, x) in p.scores().enumerate() {
            if x > max {
                (max, winner) = (x, c);
            }
        }
        (max, winner)
    }

    /// The log-softmax from `max`, `winner` and `rest = Σ_{k ≠ winner} e_k` (in class order;
    /// unused at the limits), `log1p` applied to `rest` by `log_1p` (`libm::log1pf` or an
    /// already computed value).
    #[inline]
    fn from_sum(
        p: &Pixel<'_>,
        space: Predictions,
        max: f32,
        winner: usize,
        rest: f32,
        log_1p: impl FnOnce(f32) -> f32,
    ) -> Self {
        if Self::is_regular(space, max) {
            // Every term is in [0, 1]: only a NaN score makes the sum NaN, and then every
            // class is NaN (checked here rather than by a test per score).
            if !rest.is_nan() {
                return Self {
                    space,
                    max,
                    log_sum: log_1p(rest),
                    log_share: 0.0,
                    rest,
                    sum: 1.0 + rest,
                    winner,
                };
            }
        } else if !p.scores().any(f32::is_nan) {
            // An infinite maximum, every logit -inf, or every probability 0.
            let ties = p.scores().filter(|&x| x == max).count();
            return Self {
                space,
                max,
                log_sum: 0.0,
                log_share: -libm::logf(ties as f32),
                winner,
                ..Self::NAN
            };
        }
        Self {
            space,
            winner,
            ..Self::NAN
        }
    }

    /// `log p_c` for score `x` of the same pixel.
    #[inline]
    pub fn at(&self, x: f32) -> f32 {
        if self.regular() {
            match self.space {
                Predictions::Logits => (x - self.max) - self.log_sum,
                Predictions::Probabilities => libm::logf(x / self.max) - self.log_sum,
            }
        } else if self.max.is_nan() {
            f32::NAN
        } else if x == self.max {
            // One of the classes tied at +inf, or every class at m (uniform).
            self.log_share
        } else {
            f32::NEG_INFINITY
        }
    }
}

/// Checks a score tensor and its targets against `shape`.
pub(crate) fn validate(
    shape: &Shape,
    scores: &[f32],
    targets: &Targets<'_>,
    predictions: Predictions,
) -> Result<(), Error> {
    if scores.len() != shape.elements() {
        return Err(Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: shape.elements(),
            found: scores.len(),
        });
    }
    if predictions == Predictions::Probabilities
        && let Some(index) = first_outside(scores)
    {
        return Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index,
        });
    }
    let expected = if targets.is_dense() {
        shape.elements()
    } else {
        shape.pixels()
    };
    if targets.len() != expected {
        return Err(Error::ShapeMismatch {
            operand: Operand::Targets,
            expected,
            found: targets.len(),
        });
    }
    match targets.data {
        TargetData::Dense(d) => {
            if targets.ignore_index.is_some() {
                return Err(Error::InvalidParameter("ignore_index"));
            }
            if let Some(index) = first_outside(d) {
                return Err(Error::OutOfRange {
                    operand: Operand::Targets,
                    index,
                });
            }
        }
        // One match on the label type, then a tight loop over the typed slice.
        TargetData::U8(l) => check_labels(l.iter().map(|&v| i32::from(v)), shape, targets)?,
        TargetData::U16(l) => check_labels(l.iter().map(|&v| i32::from(v)), shape, targets)?,
        TargetData::I32(l) => check_labels(l.iter().copied(), shape, targets)?,
    }
    Ok(())
}

/// [`Error::LabelOutOfRange`] for the first label that is neither a class nor `ignore_index`.
fn check_labels(
    labels: impl Iterator<Item = i32>,
    shape: &Shape,
    targets: &Targets<'_>,
) -> Result<(), Error> {
    let bad = |&(_, label): &(usize, i32)| {
        let valid = usize::try_from(label).is_ok_and(|l| l < shape.classes);
        !valid && Some(label) != targets.ignore_index
    };
    match labels.enumerate().find(bad) {
        Some((index, label)) => Err(Error::LabelOutOfRange { index, label }),
        None => Ok(()),
    }
}

/// Visits the non-ignored pixels of sample `n` in order. Inputs must have passed [`validate`].
pub(crate) fn for_each_pixel(
    shape: &Shape,
    n: usize,
    scores: &[f32],
    targets: &Targets<'_>,
    mut f: impl FnMut(&Pixel<'_>),
) {
    for s in 0..shape.spatial {
        let (base, stride) = shape.pixel_address(n, s);
        let target = match targets.data {
            TargetData::Dense(d) => PixelTarget::Dense(d),
            _ => match targets.label(n * shape.spatial + s) {
                Some(l) if Some(l) == targets.ignore_index => continue,
                Some(l) => PixelTarget::Class(usize::try_from(l).unwrap_or(usize::MAX)),
                None => continue,
            },
        };
        f(&Pixel {
            scores,
            base,
            stride,
            classes: shape.classes,
            target,
            log_softmax: None,
            exps: &[],
        });
    }
}

/// Floats of scratch for [`walk_pixels`], measured per target
/// (docs/embedded.md): on vector hosts enough pixels per block for [`crate::lanes`] to pay off;
/// with soft float, where an `expf` costs hundreds of instructions, two 4-class pixels, so that
/// each `e_c` is computed once.
#[cfg(not(all(
    target_abi = "eabihf",
    not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"))
)))]
const SOFTMAX_SCRATCH: usize = if crate::lanes::VECTOR { 256 } else { 8 };

/// With a hardware FPU and no vector unit (the Cortex-M4F), recomputing `e_c` costs less than
/// the block bookkeeping (docs/embedded.md), so the walk keeps no block there: each consumer
/// computes what it needs, the same bits.
#[cfg(all(
    target_abi = "eabihf",
    not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"))
))]
pub(crate) fn walk_pixels(
    shape: &Shape,
    n: usize,
    scores: &[f32],
    targets: &Targets<'_>,
    _softmax: Option<Predictions>,
    f: impl FnMut(&Pixel<'_>),
) {
    for_each_pixel(shape, n, scores, targets, f);
}

/// The walk of every multi-class reader that may need a softmax: as [`for_each_pixel`], and
/// when `softmax` names a space, each pixel handed over with its log-softmax (scores read in
/// that space) and its `e_c` already computed: in blocks of pixels, every `expf` of a block in
/// one [`crate::lanes::exp`] and every `log1pf` in one [`crate::lanes::ln_1p`]. The same bits
/// as the pixel's own [`Pixel::log_softmax`], [`Pixel::probability`] and [`Pixel::complement`]
/// (the lanes are `libm`'s bits, and the sums run in the same order); ignored pixels are
/// computed and skipped. `f` is called from one place, so that it is inlined and the pixel
/// stays in registers.
#[cfg(not(all(
    target_abi = "eabihf",
    not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"))
)))]
pub(crate) fn walk_pixels(
    shape: &Shape,
    n: usize,
    scores: &[f32],
    targets: &Targets<'_>,
    softmax: Option<Predictions>,
    mut f: impl FnMut(&Pixel<'_>),
) {
    let classes = shape.classes;
    if classes == 0 {
        return; // validated shapes have classes; this also rules out `chunks_exact(0)` panics
    }
    // No softmax, or more classes than scratch: blocks of one pixel, each consumer computing
    // what it needs.
    let space = softmax.unwrap_or(Predictions::Logits);
    let cached = softmax.is_some() && classes <= SOFTMAX_SCRATCH;
    let per_block = (SOFTMAX_SCRATCH / classes).max(1);
    let mut exps = [0.0f32; SOFTMAX_SCRATCH];
    let mut maxes = [0.0f32; SOFTMAX_SCRATCH];
    let mut winners = [0usize; SOFTMAX_SCRATCH];
    let mut rests = [0.0f32; SOFTMAX_SCRATCH];
    let mut log_sums = [0.0f32; SOFTMAX_SCRATCH];
    let pixel_at = |s: usize| {
        let (base, stride) = shape.pixel_address(n, s);
        Pixel {
            scores,
            base,
            stride,
            classes,
            target: PixelTarget::Class(0),
            log_softmax: None,
            exps: &[],
        }
    };
    let mut start = 0;
    while start < shape.spatial {
        let len = per_block.min(shape.spatial - start);
        if cached {
            let block = exps.chunks_exact_mut(classes).take(len);
            let leads = maxes.iter_mut().zip(&mut winners);
            for (s, (e, (max, winner))) in (start..).zip(block.zip(leads)) {
                let pixel = pixel_at(s);
                (*max, *winner) = LogSoftmax::max_and_winner(&pixel);
                for (e, x) in e.iter_mut().zip(pixel.scores()) {
                    *e = match space {
                        Predictions::Logits => x - *max,
                        Predictions::Probabilities => x / *max,
                    };
                }
            }
            if space == Predictions::Logits {
                crate::lanes::exp(exps.get_mut(..len * classes).unwrap_or(&mut []));
            }
            let block = exps.chunks_exact(classes).zip(&winners).take(len);
            for ((rest, log_sum), (e, &winner)) in rests.iter_mut().zip(&mut log_sums).zip(block) {
                *rest = 0.0;
                for (c, &e) in e.iter().enumerate() {
                    if c != winner {
                        *rest += e;
                    }
                }
                *log_sum = *rest;
            }
            crate::lanes::ln_1p(log_sums.get_mut(..len).unwrap_or(&mut []));
        }
        for i in 0..len {
            let s = start + i;
            let target = match targets.data {
                TargetData::Dense(d) => PixelTarget::Dense(d),
                _ => match targets.label(n * shape.spatial + s) {
                    Some(l) if Some(l) == targets.ignore_index => continue,
                    Some(l) => PixelTarget::Class(usize::try_from(l).unwrap_or(usize::MAX)),
                    None => continue,
                },
            };
            let pixel = Pixel {
                target,
                ..pixel_at(s)
            };
            let lsm;
            let pixel = match (
                cached,
                maxes.get(i),
                winners.get(i),
                rests.get(i),
                log_sums.get(i),
                exps.get(i * classes..(i + 1) * classes),
            ) {
                (true, Some(&max), Some(&winner), Some(&rest), Some(&log_sum), Some(e)) => {
                    lsm = LogSoftmax::from_sum(&pixel, space, max, winner, rest, |_| log_sum);
                    Pixel {
                        log_softmax: Some(&lsm),
                        exps: if lsm.regular() { e } else { &[] },
                        ..pixel
                    }
                }
                _ => pixel,
            };
            f(&pixel);
        }
        start += len;
    }
}

/// The class-count checks every accumulator makes: at least one class, at most `capacity`.
pub(crate) const fn check_classes(classes: usize, capacity: usize) -> Result<(), Error> {
    if classes == 0 {
        return Err(Error::InvalidParameter("classes"));
    }
    if classes > capacity {
        return Err(Error::TooManyClasses { classes, capacity });
    }
    Ok(())
}

/// A streamed chunk of whole pixels of one sample, checked like a batch of one: its shape,
/// or `None` for an empty chunk (which changes nothing).
pub(crate) fn checked_chunk(
    classes: usize,
    layout: Layout,
    scores: &[f32],
    targets: &Targets<'_>,
    predictions: Predictions,
) -> Result<Option<Shape>, Error> {
    if scores.is_empty() {
        return Ok(None);
    }
    // `checked_div`: accumulators never hold zero classes, but a plain `/` would keep a
    // division-by-zero panic path in the firmware (the link-time no-panic proof finds it).
    let Some(pixels) = scores.len().checked_div(classes) else {
        return Err(Error::InvalidParameter("classes"));
    };
    if pixels * classes != scores.len() {
        return Err(Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: (pixels + 1) * classes,
            found: scores.len(),
        });
    }
    let shape = Shape::new(1, classes, pixels, layout)?;
    validate(&shape, scores, targets, predictions)?;
    Ok(Some(shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The previous formulation (NaN test on every score, winner found by comparison), kept as
    /// the reference: the new one must give the same bits for every class.
    fn reference(p: &Pixel<'_>) -> LogSoftmax {
        let mut max = f32::NEG_INFINITY;
        let mut nan = false;
        for c in 0..p.classes {
            let x = p.score(c);
            nan |= x.is_nan();
            if x > max {
                max = x;
            }
        }
        if nan {
            return LogSoftmax::NAN;
        }
        if max.is_infinite() {
            let ties = (0..p.classes).filter(|&c| p.score(c) == max).count();
            return LogSoftmax {
                max,
                log_sum: 0.0,
                log_share: -libm::logf(ties as f32),
                ..LogSoftmax::NAN
            };
        }
        let mut rest = 0.0f32;
        let mut winner = true;
        for c in 0..p.classes {
            let x = p.score(c);
            if winner && x == max {
                winner = false;
                continue;
            }
            rest += libm::expf(x - max);
        }
        LogSoftmax {
            max,
            log_sum: libm::log1pf(rest),
            log_share: 0.0,
            rest,
            sum: 1.0 + rest,
            ..LogSoftmax::NAN
        }
    }

    #[test]
    fn log_softmax_matches_the_reference_bit_for_bit() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -3.5,
            88.0,
            -1e4,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut state = 0x9e37_79b9u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Half special values, half ordinary scores in [-8, 8).
            match specials.get(state as usize % (2 * specials.len())) {
                Some(&s) => s,
                None => (state >> 8) as f32 / 1_048_576.0 - 8.0,
            }
        };
        for classes in 1..=5 {
            for _ in 0..4000 {
                // Channels-first layout of two pixels, so the walk uses a stride.
                let scores: Vec<f32> = (0..2 * classes).map(|_| next()).collect();
                for (base, stride) in [(0, 2), (1, 2)] {
                    let pixel = Pixel {
                        scores: &scores,
                        base,
                        stride,
                        classes,
                        target: PixelTarget::Class(0),
                        log_softmax: None,
                        exps: &[],
                    };
                    let mut slot = None;
                    let (new, old) = (
                        pixel.log_softmax(Predictions::Logits, &mut slot),
                        reference(&pixel),
                    );
                    for c in 0..classes {
                        let x = pixel.score(c);
                        assert_eq!(
                            new.at(x).to_bits(),
                            old.at(x).to_bits(),
                            "{:?} class {c}",
                            &scores
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn blocks_give_each_pixel_its_own_bits() {
        let specials = [
            0.0,
            -0.0,
            30.0,
            -90.0,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut state = 0x2545_f491u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        // Up to 300 classes: past the scratch, where each consumer computes for itself.
        let spaces = [Predictions::Logits, Predictions::Probabilities];
        for (classes, space) in [1, 2, 3, 4, 5, 7, 64, 255, 256, 257, 300]
            .into_iter()
            .flat_map(|c| spaces.map(|s| (c, s)))
        {
            for layout in [Layout::ChannelsFirst, Layout::ChannelsLast] {
                let spatial = 1 + next() as usize % 200;
                let scores: Vec<f32> = (0..2 * classes * spatial)
                    .map(|_| match next() % 16 {
                        r @ 0..=7 if next() % 8 == 0 => specials[r as usize],
                        _ => (next() >> 8) as f32 / 65_536.0 - 128.0,
                    })
                    // Probabilities: [0, 1], with zeros (whole pixels of them too) and ones.
                    .map(|x| match space {
                        Predictions::Logits => x,
                        Predictions::Probabilities if x.is_nan() => x,
                        Predictions::Probabilities if classes < 4 && x < 0.0 => 0.0,
                        Predictions::Probabilities => (x / 128.0).clamp(0.0, 1.0),
                    })
                    .collect();
                let labels: Vec<i32> = (0..2 * spatial)
                    .map(|_| (next() as usize % (classes + 1)) as i32)
                    .collect();
                let targets = Targets::labels(&labels).with_ignore_index(0);
                let shape = Shape::new(2, classes, spatial, layout).unwrap();
                for n in 0..2 {
                    let mut own = Vec::new();
                    for_each_pixel(&shape, n, &scores, &targets, |p| {
                        own.push((p.address(), p.label().unwrap_or(usize::MAX)));
                    });
                    let mut visited = 0;
                    let walk = |cached: &Pixel<'_>| {
                        let ((base, stride), label) = own[visited];
                        let plain = Pixel {
                            scores: &scores,
                            base,
                            stride,
                            classes,
                            target: PixelTarget::Class(label),
                            log_softmax: None,
                            exps: &[],
                        };
                        assert_eq!(cached.log_softmax.is_some(), classes <= SOFTMAX_SCRATCH);
                        assert_eq!(cached.address(), plain.address());
                        assert_eq!(cached.argmax(), plain.argmax());
                        assert_eq!(cached.label(), plain.label());
                        let (mut slot_a, mut slot_b) = (None, None);
                        let a = cached.log_softmax(space, &mut slot_a);
                        let b = plain.log_softmax(space, &mut slot_b);
                        for c in 0..classes {
                            let x = plain.score(c);
                            let pairs = [
                                (a.at(x), b.at(x)),
                                (cached.probability(a, c), plain.probability(b, c)),
                                (cached.complement(a, c), plain.complement(b, c)),
                            ];
                            for (got, want) in pairs {
                                assert_eq!(
                                    got.to_bits(),
                                    want.to_bits(),
                                    "{classes} classes, class {c}"
                                );
                            }
                        }
                        visited += 1;
                    };
                    walk_pixels(&shape, n, &scores, &targets, Some(space), walk);
                    assert_eq!(visited, own.len());
                }
            }
        }
    }
}
