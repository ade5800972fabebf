//! Multi-class focal losses. Documented in the [module docs](super#focal-losses).

use super::codes::{Readers, checked_codes, softmax_label_sums, walk_codes};
use super::pixel::{LogSoftmax, Pixel};
use super::shape::{Layout, Shape, check_classes, checked_chunk, validate};
use super::targets::Targets;
use super::walk::walk_pixels;
use crate::Error;
use crate::elementwise::{Predictions, check_buffer};
use crate::focal::{Power, SigmoidFocal, SoftTargets, check_alpha, weighted};
use crate::quantized::{ClassQuantization, Code};
use crate::sum::DetSum;

/// How alpha is spread over the classes (see the [module docs](super#focal-losses)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClassAlpha<'w> {
    /// No alpha weighting.
    #[default]
    None,
    /// `[1 - a, a, a, …]`: class 0 is background (MONAI softmax, kornia).
    Background(f32),
    /// The same `a` for every class.
    Uniform(f32),
    /// One alpha per class.
    PerClass(&'w [f32]),
    /// One alpha per class on positives (`t = 1`) only; everything else weighs 1 (MONAI ≥ 1.6
    /// one-vs-rest with an alpha list). One-vs-rest only.
    Positives(&'w [f32]),
}

impl ClassAlpha<'_> {
    fn validate(&self) -> Result<(), Error> {
        match *self {
            Self::None => Ok(()),
            Self::Background(a) | Self::Uniform(a) => check_alpha(Some(a)),
            Self::PerClass(list) | Self::Positives(list) => {
                if list.iter().all(|a| a.is_finite() && *a >= 0.0) {
                    Ok(())
                } else {
                    Err(Error::InvalidParameter("alpha"))
                }
            }
        }
    }

    fn check_classes(&self, classes: usize) -> Result<(), Error> {
        match self {
            Self::PerClass(list) | Self::Positives(list) if list.len() != classes => {
                Err(Error::WeightCount {
                    expected: classes,
                    found: list.len(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Alpha of class `c`, `None` when unweighted.
    fn at(&self, c: usize) -> Option<f32> {
        match *self {
            Self::None => None,
            Self::Background(a) => Some(if c == 0 { 1.0 - a } else { a }),
            Self::Uniform(a) => Some(a),
            Self::PerClass(list) => list.get(c).copied(),
            Self::Positives(_) => None,
        }
    }
}

fn validate_weights(weights: Option<&[f32]>) -> Result<(), Error> {
    match weights {
        Some(w) if !w.iter().all(|v| v.is_finite() && *v >= 0.0) => {
            Err(Error::InvalidParameter("weights"))
        }
        _ => Ok(()),
    }
}

fn check_weight_count(weights: Option<&[f32]>, classes: usize) -> Result<(), Error> {
    match weights {
        Some(w) if w.len() != classes => Err(Error::WeightCount {
            expected: classes,
            found: w.len(),
        }),
        _ => Ok(()),
    }
}

fn weight_at(weights: Option<&[f32]>, c: usize) -> f32 {
    weights.and_then(|w| w.get(c)).copied().unwrap_or(1.0)
}

mod sealed {
    pub trait Sealed {}
}

/// A loss made of one term per class and pixel, summed per class.
///
/// Implemented by [`SoftmaxFocal`] and [`OneVsRestFocal`]; sealed.
pub trait ClassLoss: sealed::Sealed + Copy {
    #[doc(hidden)]
    fn check_classes(&self, classes: usize) -> Result<(), Error>;

    /// What the scores are: logits, or probabilities the softmax loss renormalises.
    #[doc(hidden)]
    fn predictions(&self) -> Predictions;

    /// The space of the softmax the terms read, if any (so that walks compute it in blocks).
    #[doc(hidden)]
    fn softmax(&self) -> Option<Predictions>;
    #[doc(hidden)]
    fn terms(&self, pixel: &Pixel<'_>, out: &mut [f32]);

    /// The unreduced loss (`reduction="none"`): one term per score, written to `out` at the
    /// score's own index (same shape and layout). Ignored pixels get 0.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::OutOfRange`], [`Error::LabelOutOfRange`],
    /// [`Error::WeightCount`], [`Error::BufferTooSmall`]; on error `out` is untouched.
    fn loss_elementwise(
        &self,
        shape: &Shape,
        scores: &[f32],
        targets: Targets<'_>,
        out: &mut [f32],
    ) -> Result<(), Error> {
        self.check_classes(shape.classes())?;
        validate(shape, scores, &targets, self.predictions())?;
        check_buffer(shape.elements(), out)?;
        out.iter_mut().take(shape.elements()).for_each(|o| *o = 0.0);
        let mut write = |pixel: &Pixel<'_>| {
            let (base, stride) = pixel.address();
            self.for_each_term(pixel, |c, term| {
                if let Some(o) = out.get_mut(base + c * stride) {
                    *o = term;
                }
            });
        };
        for n in 0..shape.batch() {
            walk_pixels(shape, n, scores, &targets, self.softmax(), &mut write);
        }
        Ok(())
    }

    /// Calls `f(c, term_c)` for every class of the pixel, in class order. The softmax loss
    /// overrides it to compute the pixel's log-softmax once rather than once per class (the
    /// same bits, `C` times less work).
    #[doc(hidden)]
    #[inline]
    fn for_each_term(&self, pixel: &Pixel<'_>, mut f: impl FnMut(usize, f32)) {
        let mut term = [0.0f32; 1];
        for c in 0..pixel.classes() {
            self.term_into(pixel, c, &mut term);
            f(c, term[0]);
        }
    }

    #[doc(hidden)]
    fn term_into(&self, pixel: &Pixel<'_>, c: usize, out: &mut [f32; 1]);

    /// For a loss that reads a softmax on logits: the weight of class `c`, and the term with
    /// target 1 from that weight, `log p_c` and `1 - p_c` (the walk over quantized codes
    /// computes both from its table). Never called for other losses (NaN).
    #[doc(hidden)]
    #[inline]
    fn softmax_weight(&self, c: usize) -> f32 {
        let _ = c;
        f32::NAN
    }

    #[doc(hidden)]
    #[inline]
    fn softmax_term(&self, w: f32, log_p: f32, complement: impl FnOnce() -> f32) -> f32 {
        let _ = (w, log_p, complement);
        f32::NAN
    }

    /// Per-(sample, class) sums, `out[n * C + c]`, each bit-identical to a
    /// [`ClassLossAccumulator`] fed that sample. `CAP` is the class capacity.
    ///
    /// # Errors
    /// As [`ClassLoss::loss_elementwise`], plus [`Error::TooManyClasses`].
    fn class_sums<const CAP: usize>(
        &self,
        shape: &Shape,
        scores: &[f32],
        targets: Targets<'_>,
        out: &mut [f32],
    ) -> Result<(), Error> {
        let classes = shape.classes();
        let mut acc = ClassLossAccumulator::<Self, CAP>::new(*self, classes)?;
        validate(shape, scores, &targets, self.predictions())?;
        check_buffer(shape.batch() * classes, out)?;
        // Row by row with checked splits: `chunks_mut` would keep a panic path for a zero
        // chunk size, which the optimiser cannot rule out.
        let mut rest = out;
        for n in 0..shape.batch() {
            let Some((row, tail)) = rest.split_at_mut_checked(classes) else {
                break;
            };
            acc.reset();
            acc.accumulate(shape, n, scores, &targets);
            acc.class_sums(row)?;
            rest = tail;
        }
        Ok(())
    }
}

/// Softmax focal loss over the class axis (see the [module docs](super#focal-losses)).
///
/// # Examples
/// ```
/// use loss_core::multiclass::{ClassAlpha, ClassLossAccumulator, Layout, SoftmaxFocal, Targets};
/// // MONAI FocalLoss(use_softmax=True, gamma=2, alpha=0.25) on 2 pixels of 3 classes (NHWC).
/// let fl = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None)?;
/// let scores = [2.0, 0.5, -1.0, /* pixel 2 */ 0.0, 0.1, 3.0];
/// let labels: [u8; 2] = [0, 2];
/// let mut acc = ClassLossAccumulator::<_, 4>::new(fl, 3)?;
/// acc.push(Layout::ChannelsLast, &scores, Targets::labels(&labels))?;
/// let monai_mean = acc.mean_per_element()?;
/// assert!(monai_mean > 0.0);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SoftmaxFocal<'w> {
    power: Power,
    alpha: ClassAlpha<'w>,
    weights: Option<&'w [f32]>,
    clip: Option<(f32, f32)>,
    predictions: Predictions,
}

impl<'w> SoftmaxFocal<'w> {
    /// Softmax focal loss with an alpha spread, `gamma >= 0` and optional per-class weights
    /// (alpha before gamma, as in every loss of this crate).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"gamma"`, `"alpha"` (outside `[0, 1]`, or a
    /// negative list entry) or `"weights"` (negative or not finite).
    pub fn new(
        alpha: ClassAlpha<'w>,
        gamma: f32,
        weights: Option<&'w [f32]>,
    ) -> Result<Self, Error> {
        if matches!(alpha, ClassAlpha::Positives(_)) {
            return Err(Error::InvalidParameter("alpha"));
        }
        alpha.validate()?;
        validate_weights(weights)?;
        Ok(Self {
            power: Power::new(gamma)?,
            alpha,
            weights,
            clip: None,
            predictions: Predictions::Logits,
        })
    }

    /// Cross-entropy: `gamma = 0`, no alpha, no weights.
    pub const fn cross_entropy() -> Self {
        Self {
            power: Power::ZERO,
            alpha: ClassAlpha::None,
            weights: None,
            clip: None,
            predictions: Predictions::Logits,
        }
    }

    /// The same loss on probabilities instead of logits: `p_c / Σ_k p_k` replaces the softmax
    /// (Keras's `CategoricalFocalCrossentropy(from_logits=False)`, which is the softmax of
    /// `ln p`), computed as `p_c / p_max` relative to the highest probability, so it costs no
    /// exponential; all-zero probabilities give the uniform distribution. Chunks must then hold
    /// values in `[0, 1]`.
    #[must_use]
    pub const fn with_predictions(mut self, predictions: Predictions) -> Self {
        self.predictions = predictions;
        self
    }

    /// The same loss with each class probability clipped to `[min, max]` before its logarithm
    /// and focal factor (Keras clips to `[1e-7, 1 - 1e-7]`, which bounds the loss).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"clip"` unless `0 <= min < max <= 1`.
    pub fn with_probability_clip(mut self, min: f32, max: f32) -> Result<Self, Error> {
        if !(0.0 <= min && min < max && max <= 1.0) {
            return Err(Error::InvalidParameter("clip"));
        }
        self.clip = Some((min, max));
        Ok(self)
    }

    /// The term of class `c` with target `t`, from `log p_c` and `1 - p_c` (asked for only
    /// when needed).
    #[inline(always)]
    fn term(&self, pixel: &Pixel<'_>, lsm: &LogSoftmax, c: usize, t: f32) -> f32 {
        if t == 0.0 {
            return 0.0;
        }
        let w = self.softmax_weight(c);
        self.softmax_term(w, lsm.at(pixel.score(c)), || pixel.complement(lsm, c)) * t
    }
}

impl SoftmaxFocal<'_> {
    /// `A_c = d/dm [(1 - p)^gamma (-ln p)]` along `m = ln p`: `(1 - p_c)^gamma +
    /// gamma (1 - p_c)^(gamma - 1) p_c (-ln p_c)`, with `q_c = 1 - p_c` and `l_c = -ln p_c`.
    #[inline]
    fn slope_factor(&self, p: f32, q: f32, l: f32) -> f32 {
        let factor = self.power.of(q, || libm::logf(q));
        // `l = 0` where `p = 1`: the second part's limit is 0 even where `q^(gamma - 1)` is
        // infinite (gamma < 1).
        if l == 0.0 {
            factor
        } else {
            factor + self.power.derivative(q, || libm::logf(q)) * (p * l)
        }
    }

    /// The unreduced loss (`reduction="none"`, the bits of [`ClassLoss::loss_elementwise`])
    /// into `losses` and the gradient of the sum of all terms with respect to every score into
    /// `grad`, both in the scores' shape and layout; ignored pixels get 0 in both. With
    /// `S = Σ_c t_c w_c A_c` over the pixel's classes (`w_c` alpha times weight, `A_c` the
    /// focal term's slope along `ln p_c`), `d/dx_j = p_j S_{≠j} - t_j w_j A_j (1 - p_j)`,
    /// where `S_{≠j}` leaves class `j` out (no cancellation near `p_j = 1`). For a mean over
    /// the terms (MONAI `mean`) divide by [`Shape::elements`].
    ///
    /// # Errors
    /// As [`ClassLoss::loss_elementwise`], plus [`Error::GradientLength`] unless
    /// `grad.len() == shape.elements()`, and [`Error::InvalidParameter`] naming
    /// `"predictions"` for probabilities and `"clip"` for a probability clip (their
    /// gradients are not implemented); on error neither buffer is touched.
    pub fn loss_and_grad_elementwise(
        &self,
        shape: &Shape,
        scores: &[f32],
        targets: Targets<'_>,
        losses: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), Error> {
        if self.predictions != Predictions::Logits {
            return Err(Error::InvalidParameter("predictions"));
        }
        if self.clip.is_some() {
            return Err(Error::InvalidParameter("clip"));
        }
        self.check_classes(shape.classes())?;
        validate(shape, scores, &targets, Predictions::Logits)?;
        check_buffer(shape.elements(), losses)?;
        crate::gradient::check_gradient(shape.elements(), grad)?;
        losses
            .iter_mut()
            .take(shape.elements())
            .for_each(|o| *o = 0.0);
        grad.fill(0.0);
        let mut write = |pixel: &Pixel<'_>| {
            let mut slot = None;
            let lsm = pixel.log_softmax(Predictions::Logits, &mut slot);
            let (base, stride) = pixel.address();
            // t_c w_c A_c of class c (0 where t_c = 0).
            let weighted_slope = |c: usize| {
                let t = pixel.target(c);
                if t == 0.0 {
                    return 0.0;
                }
                let p = pixel.probability(lsm, c);
                let q = pixel.complement(lsm, c);
                let l = -lsm.at(pixel.score(c));
                t * weighted(self.softmax_weight(c), self.slope_factor(p, q, l))
            };
            for j in 0..pixel.classes() {
                let mut others = 0.0f32;
                for c in (0..pixel.classes()).filter(|&c| c != j) {
                    others += weighted_slope(c);
                }
                let own = weighted_slope(j);
                let slope = if own == 0.0 {
                    pixel.probability(lsm, j) * others
                } else {
                    pixel.probability(lsm, j) * others - own * pixel.complement(lsm, j)
                };
                let i = base + j * stride;
                if let (Some(o), Some(g)) = (losses.get_mut(i), grad.get_mut(i)) {
                    (*o, *g) = (self.term(pixel, lsm, j, pixel.target(j)), slope);
                }
            }
        };
        for n in 0..shape.batch() {
            walk_pixels(
                shape,
                n,
                scores,
                &targets,
                Some(Predictions::Logits),
                &mut write,
            );
        }
        Ok(())
    }
}

impl sealed::Sealed for SoftmaxFocal<'_> {}

impl ClassLoss for SoftmaxFocal<'_> {
    #[inline(always)]
    fn softmax_weight(&self, c: usize) -> f32 {
        self.alpha.at(c).unwrap_or(1.0) * weight_at(self.weights, c)
    }

    #[inline(always)]
    fn softmax_term(&self, w: f32, log_p: f32, complement: impl FnOnce() -> f32) -> f32 {
        let (log_p, q) = match self.clip {
            None => (log_p, complement()),
            // Clipped in log space, where `log p` is accurate at both ends: `logf(expf(log p))`
            // and `1 - p` would lose the relative accuracy of `-log p` and `1 - p` near p = 1.
            // Inside the bounds the unclipped values are used; NaN falls through and stays NaN.
            Some((min, max)) => {
                let (log_min, log_max) = (libm::logf(min), libm::logf(max));
                if log_p < log_min {
                    (log_min, 1.0 - min)
                } else if log_p > log_max {
                    (log_max, 1.0 - max)
                } else {
                    (log_p, complement())
                }
            }
        };
        weighted(w, self.power.of(q, || libm::logf(q)) * -log_p)
    }

    fn predictions(&self) -> Predictions {
        self.predictions
    }

    fn softmax(&self) -> Option<Predictions> {
        Some(self.predictions)
    }

    fn check_classes(&self, classes: usize) -> Result<(), Error> {
        self.alpha.check_classes(classes)?;
        check_weight_count(self.weights, classes)
    }

    #[inline(always)] // the caller sums `out` right away: kept in registers, not memory
    fn terms(&self, pixel: &Pixel<'_>, out: &mut [f32]) {
        let mut slot = None;
        let lsm = pixel.log_softmax(self.predictions, &mut slot);
        match pixel.label() {
            // Only the labelled class has a non-zero term: one log-softmax, one power. Written
            // by a select per entry, not an indexed store: the caller adds `out` as a vector.
            Some(k) => {
                let term = self.term(pixel, lsm, k, 1.0);
                for (c, o) in out.iter_mut().enumerate() {
                    *o = if c == k { term } else { 0.0 };
                }
            }
            None => {
                for (c, o) in out.iter_mut().enumerate().take(pixel.classes()) {
                    *o = self.term(pixel, lsm, c, pixel.target(c));
                }
            }
        }
    }

    fn term_into(&self, pixel: &Pixel<'_>, c: usize, out: &mut [f32; 1]) {
        let mut slot = None;
        let lsm = pixel.log_softmax(self.predictions, &mut slot);
        out[0] = self.term(pixel, lsm, c, pixel.target(c));
    }

    fn for_each_term(&self, pixel: &Pixel<'_>, mut f: impl FnMut(usize, f32)) {
        let mut slot = None;
        let lsm = pixel.log_softmax(self.predictions, &mut slot);
        for c in 0..pixel.classes() {
            f(c, self.term(pixel, lsm, c, pixel.target(c)));
        }
    }
}

/// One-vs-rest sigmoid focal loss: a binary [`SigmoidFocal`] per class (see the
/// [module docs](super#focal-losses)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OneVsRestFocal<'w> {
    power: Power,
    alpha: ClassAlpha<'w>,
    weights: Option<&'w [f32]>,
    soft_targets: SoftTargets,
}

impl<'w> OneVsRestFocal<'w> {
    /// One-vs-rest focal loss with alpha per class (`Uniform` or `PerClass`, each in `[0, 1]`),
    /// `gamma >= 0` and optional per-class weights.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"gamma"`, `"alpha"` (including `Background`, which
    /// has no meaning without a softmax) or `"weights"`.
    pub fn new(
        alpha: ClassAlpha<'w>,
        gamma: f32,
        weights: Option<&'w [f32]>,
    ) -> Result<Self, Error> {
        match alpha {
            ClassAlpha::Background(_) => return Err(Error::InvalidParameter("alpha")),
            ClassAlpha::PerClass(list) | ClassAlpha::Positives(list) => {
                for &a in list {
                    check_alpha(Some(a))?;
                }
            }
            _ => alpha.validate()?,
        }
        validate_weights(weights)?;
        Ok(Self {
            power: Power::new(gamma)?,
            alpha,
            weights,
            soft_targets: SoftTargets::Torchvision,
        })
    }

    /// The same loss with another soft-target definition (see [`crate::focal`]).
    #[must_use]
    pub const fn with_soft_targets(mut self, soft_targets: SoftTargets) -> Self {
        self.soft_targets = soft_targets;
        self
    }

    #[inline]
    fn term(&self, pixel: &Pixel<'_>, c: usize) -> f32 {
        let binary = SigmoidFocal::from_parts(self.alpha.at(c), self.power, self.soft_targets);
        let t = pixel.target(c);
        let positive_weight = match self.alpha {
            ClassAlpha::Positives(list) if t == 1.0 => list.get(c).copied().unwrap_or(1.0),
            _ => 1.0,
        };
        weighted(
            weight_at(self.weights, c) * positive_weight,
            crate::ElementLoss::element(&binary, pixel.score(c), t),
        )
    }
}

impl OneVsRestFocal<'_> {
    /// Class `c`'s term of the pixel (the bits of the loss's term) and its derivative with
    /// respect to the score (`crate::gradient`): the binary focal loss's, times the class
    /// weight.
    #[inline]
    fn term_grad(&self, pixel: &Pixel<'_>, c: usize) -> (f32, f32) {
        let binary = SigmoidFocal::from_parts(self.alpha.at(c), self.power, self.soft_targets);
        let t = pixel.target(c);
        let positive_weight = match self.alpha {
            ClassAlpha::Positives(list) if t == 1.0 => list.get(c).copied().unwrap_or(1.0),
            _ => 1.0,
        };
        let w = weight_at(self.weights, c) * positive_weight;
        let (value, slope) = crate::ElementLoss::element_grad(&binary, pixel.score(c), t);
        // The slope is finite (`crate::gradient`): a zero weight gives 0.
        (weighted(w, value), w * slope)
    }

    /// The unreduced loss (`reduction="none"`, the bits of [`ClassLoss::loss_elementwise`])
    /// into `losses` and the derivative of each term with respect to its own score into
    /// `grad`, both at the score's index (same shape and layout); ignored pixels get 0 in
    /// both. `grad` is the gradient of the sum of the terms: for a mean over the `B · C ·
    /// spatial` terms (MONAI `mean`) divide it by [`Shape::elements`].
    ///
    /// # Errors
    /// As [`ClassLoss::loss_elementwise`], plus [`Error::GradientLength`] unless
    /// `grad.len() == shape.elements()`; on error neither buffer is touched.
    pub fn loss_and_grad_elementwise(
        &self,
        shape: &Shape,
        scores: &[f32],
        targets: Targets<'_>,
        losses: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), Error> {
        self.check_classes(shape.classes())?;
        validate(shape, scores, &targets, Predictions::Logits)?;
        check_buffer(shape.elements(), losses)?;
        crate::gradient::check_gradient(shape.elements(), grad)?;
        losses
            .iter_mut()
            .take(shape.elements())
            .for_each(|o| *o = 0.0);
        grad.fill(0.0);
        let mut write = |pixel: &Pixel<'_>| {
            let (base, stride) = pixel.address();
            for c in 0..pixel.classes() {
                let (value, slope) = self.term_grad(pixel, c);
                let i = base + c * stride;
                if let (Some(o), Some(g)) = (losses.get_mut(i), grad.get_mut(i)) {
                    (*o, *g) = (value, slope);
                }
            }
        };
        for n in 0..shape.batch() {
            walk_pixels(shape, n, scores, &targets, None, &mut write);
        }
        Ok(())
    }
}

impl sealed::Sealed for OneVsRestFocal<'_> {}

impl ClassLoss for OneVsRestFocal<'_> {
    fn predictions(&self) -> Predictions {
        Predictions::Logits
    }

    fn softmax(&self) -> Option<Predictions> {
        None
    }

    fn check_classes(&self, classes: usize) -> Result<(), Error> {
        crate::focal::soft_targets_built(self.soft_targets)?;
        self.alpha.check_classes(classes)?;
        check_weight_count(self.weights, classes)
    }

    fn terms(&self, pixel: &Pixel<'_>, out: &mut [f32]) {
        for (c, o) in out.iter_mut().enumerate().take(pixel.classes()) {
            *o = self.term(pixel, c);
        }
    }

    fn term_into(&self, pixel: &Pixel<'_>, c: usize, out: &mut [f32; 1]) {
        out[0] = self.term(pixel, c);
    }
}

/// Adds one pixel's terms to the class sums.
#[inline(always)]
pub(super) fn add_terms<L: ClassLoss, const CAP: usize>(
    loss: &L,
    pixel: &Pixel<'_>,
    sums: &mut DetSum<CAP>,
) {
    let mut terms = [0.0f32; CAP];
    loss.terms(pixel, &mut terms);
    sums.add(terms);
}

/// Streams a [`ClassLoss`] over pixels arriving in chunks, keeping one deterministic sum per
/// class. `CAP` is the class capacity (the state is `O(CAP)`, independent of the image size).
///
/// Every chunk holds whole pixels of one sample in a [`Layout`]: channels-last chunks are
/// `k × C` scores, channels-first chunks are `C` planes of `k` scores. For every split the
/// result is bit-identical to one push of the whole sample, in either layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassLossAccumulator<L, const CAP: usize> {
    loss: L,
    classes: usize,
    sums: DetSum<CAP>,
}

impl<L: ClassLoss, const CAP: usize> ClassLossAccumulator<L, CAP> {
    /// An empty accumulator for `classes <= CAP` classes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"classes"`, zero), [`Error::TooManyClasses`],
    /// [`Error::WeightCount`].
    pub fn new(loss: L, classes: usize) -> Result<Self, Error> {
        check_classes(classes, CAP)?;
        loss.check_classes(classes)?;
        Ok(Self {
            loss,
            classes,
            sums: DetSum::new(),
        })
    }

    /// Adds a chunk of whole pixels (see the type docs). An empty chunk changes nothing.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] (scores not a multiple of the class count, or targets of
    /// another size), [`Error::OutOfRange`], [`Error::LabelOutOfRange`]; the accumulator is
    /// then unchanged.
    pub fn push(
        &mut self,
        layout: Layout,
        scores: &[f32],
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        let Some(shape) = checked_chunk(
            self.classes,
            layout,
            scores,
            &targets,
            self.loss.predictions(),
        )?
        else {
            return Ok(());
        };
        self.accumulate(&shape, 0, scores, &targets);
        Ok(())
    }

    /// Adds a chunk of quantized scores, whole pixels as for [`Self::push`]: see the
    /// [module docs](super#quantized-scores). An empty chunk changes nothing.
    ///
    /// # Errors
    /// As [`Self::push`], plus [`Error::QuantizationCount`]; the accumulator is then
    /// unchanged.
    pub fn push_codes<C: Code>(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        let space = self.loss.predictions();
        let Some(shape) =
            checked_codes(self.classes, layout, codes, quantization, &targets, space)?
        else {
            return Ok(());
        };
        let softmax = self.loss.softmax() == Some(Predictions::Logits);
        let readers = Readers {
            softmax,
            log_softmax: softmax,
            shift_invariant: softmax,
        };
        let (loss, sums) = (&self.loss, &mut self.sums);
        if softmax_label_sums(&shape, codes, quantization, &targets, loss, sums).is_none() {
            walk_codes::<C, CAP>(&shape, codes, quantization, &targets, readers, |pixel| {
                add_terms(loss, pixel, sums);
            });
        }
        Ok(())
    }

    fn accumulate(&mut self, shape: &Shape, n: usize, scores: &[f32], targets: &Targets<'_>) {
        let (loss, sums) = (&self.loss, &mut self.sums);
        walk_pixels(shape, n, scores, targets, loss.softmax(), |pixel| {
            add_terms(loss, pixel, sums);
        });
    }

    /// Pixels accumulated (ignored pixels excluded).
    pub const fn pixels(&self) -> u64 {
        self.sums.count()
    }

    /// Classes.
    pub const fn classes(&self) -> usize {
        self.classes
    }

    /// The per-class sums, written to `out[..classes]`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn class_sums(&self, out: &mut [f32]) -> Result<(), Error> {
        check_buffer(self.classes, out)?;
        for (o, v) in out.iter_mut().zip(self.sums.value()).take(self.classes) {
            *o = v;
        }
        Ok(())
    }

    /// The sum over every pixel and class: the per-class sums added in class order.
    pub fn total(&self) -> f32 {
        self.sums
            .value()
            .iter()
            .take(self.classes)
            .fold(0.0, |a, v| a + v)
    }

    /// `total / (pixels × classes)`: MONAI's and kornia's `mean`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] before any pixel.
    pub fn mean_per_element(&self) -> Result<f32, Error> {
        self.mean_over(self.pixels() as f32 * self.classes as f32)
    }

    /// `total / pixels`: the per-pixel mean (Keras, cross-entropy).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] before any pixel.
    pub fn mean_per_pixel(&self) -> Result<f32, Error> {
        self.mean_over(self.pixels() as f32)
    }

    fn mean_over(&self, n: f32) -> Result<f32, Error> {
        if self.pixels() == 0 {
            return Err(Error::EmptyInput);
        }
        Ok(self.total() / n)
    }

    /// Forgets every pixel, keeping the loss and class count.
    pub fn reset(&mut self) {
        self.sums = DetSum::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiclass::Layout;

    /// `class_sums` fills one row of `C` per sample, each the class sums of an accumulator fed
    /// that sample alone, and leaves the rest of a longer buffer alone.
    #[test]
    fn class_sums_fill_one_row_per_sample() {
        let shape = Shape::new(3, 2, 2, Layout::ChannelsLast).unwrap();
        let scores = [
            0.5, -1.0, 2.0, 0.0, -3.0, 1.5, 0.25, 0.75, 4.0, -4.0, 1.0, 1.0,
        ];
        let labels: [u8; 6] = [0, 1, 1, 0, 1, 1];
        let loss = SoftmaxFocal::new(ClassAlpha::None, 2.0, None).unwrap();
        let mut out = [-7.0f32; 8];
        loss.class_sums::<4>(&shape, &scores, Targets::labels(&labels), &mut out)
            .unwrap();
        for n in 0..3 {
            let mut acc = ClassLossAccumulator::<_, 4>::new(loss, 2).unwrap();
            let (s, t) = (&scores[4 * n..4 * n + 4], &labels[2 * n..2 * n + 2]);
            acc.push(Layout::ChannelsLast, s, Targets::labels(t))
                .unwrap();
            let mut row = [0.0f32; 2];
            acc.class_sums(&mut row).unwrap();
            assert_eq!(out[2 * n..2 * n + 2], row, "sample {n}");
        }
        assert_eq!(out[6..], [-7.0, -7.0]);
        // A buffer one value short is refused.
        let mut short = [0.0f32; 5];
        assert_eq!(
            loss.class_sums::<4>(&shape, &scores, Targets::labels(&labels), &mut short),
            Err(Error::BufferTooSmall {
                needed: 6,
                capacity: 5
            })
        );
    }
}
