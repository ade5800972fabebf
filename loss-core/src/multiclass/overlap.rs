//! Per-class soft overlap statistics and their reductions. Documented in the [module docs](super#dice-family).

use super::codes::{Readers, checked_codes, walk_codes};
use super::pixel::Pixel;
use super::shape::{Layout, Shape, check_classes, checked_chunk, validate};
use super::targets::Targets;
use super::walk::walk_pixels;
use crate::Error;
use crate::activation::sigmoid;
use crate::dice::{OverlapLoss, OverlapStats};
use crate::elementwise::{Predictions, check_buffer};
use crate::quantized::{ClassQuantization, Code};
use crate::sum::{DetSum, Reduction};

/// How scores become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// The scores are probabilities in `[0, 1]` (MONAI's default).
    #[default]
    None,
    /// `sigmoid` per class (MONAI `sigmoid=True`, smp binary / multilabel).
    Sigmoid,
    /// `softmax` over the classes (MONAI `softmax=True`, smp multiclass, kornia).
    Softmax,
    /// `tanh` per class: values in `[-1, 1]`, not probabilities (MONAI `other_act=torch.tanh`,
    /// used by MONAI's own tests).
    Tanh,
}

/// How the soft intersection `tp_c` is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Intersection {
    /// `Σ p t` (MONAI's default, Milletari et al.).
    #[default]
    Product,
    /// `Σ min(p, t) = (Σ p + Σ t - Σ |p - t|) / 2`: MONAI `soft_label=True` and smp ≥ 0.4.
    /// Equal to `Product` for hard targets; with soft targets it makes `p == t` a perfect
    /// score.
    Min,
}

/// How per-class statistics are gathered: activation and squared sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClassOverlap {
    /// Applied to the scores on the fly.
    pub activation: Activation,
    /// `Σ p²` and `Σ t²` instead of `Σ p` and `Σ t` (MONAI `squared_pred`).
    pub squared: bool,
    /// How `tp_c` is formed.
    pub intersection: Intersection,
}

impl ClassOverlap {
    /// Statistics of each sample and class, `out[n * C + c]`; each equals a
    /// [`ClassStatsAccumulator`] fed that sample. `CAP` is the class capacity.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::OutOfRange`], [`Error::LabelOutOfRange`],
    /// [`Error::TooManyClasses`], [`Error::BufferTooSmall`]; on error `out` is untouched.
    pub fn class_stats<const CAP: usize>(
        &self,
        shape: &Shape,
        scores: &[f32],
        targets: Targets<'_>,
        out: &mut [OverlapStats],
    ) -> Result<(), Error> {
        let classes = shape.classes();
        let mut acc = ClassStatsAccumulator::<CAP>::new(*self, classes)?;
        validate(shape, scores, &targets, self.predictions())?;
        if out.len() < shape.batch() * classes {
            return Err(Error::BufferTooSmall {
                needed: shape.batch() * classes,
                capacity: out.len(),
            });
        }
        for (n, row) in out.chunks_mut(classes).take(shape.batch()).enumerate() {
            acc.reset();
            acc.accumulate(shape, n, scores, &targets);
            acc.stats(row)?;
        }
        Ok(())
    }

    /// Statistics of each class pooled over the whole batch (samples in order), `out[c]`.
    ///
    /// # Errors
    /// As [`ClassOverlap::class_stats`].
    pub fn pooled_class_stats<const CAP: usize>(
        &self,
        shape: &Shape,
        scores: &[f32],
        targets: Targets<'_>,
        out: &mut [OverlapStats],
    ) -> Result<(), Error> {
        let mut acc = ClassStatsAccumulator::<CAP>::new(*self, shape.classes())?;
        validate(shape, scores, &targets, self.predictions())?;
        if out.len() < shape.classes() {
            return Err(Error::BufferTooSmall {
                needed: shape.classes(),
                capacity: out.len(),
            });
        }
        for n in 0..shape.batch() {
            acc.accumulate(shape, n, scores, &targets);
        }
        acc.stats(out)
    }

    /// The space of the softmax the statistics read, if any.
    pub(crate) fn softmax(&self) -> Option<Predictions> {
        (self.activation == Activation::Softmax).then_some(Predictions::Logits)
    }

    pub(crate) const fn predictions(&self) -> Predictions {
        match self.activation {
            Activation::None => Predictions::Probabilities,
            Activation::Sigmoid | Activation::Softmax | Activation::Tanh => Predictions::Logits,
        }
    }
}

/// Streams per-class [`OverlapStats`] over pixels arriving in chunks (whole pixels of one
/// sample, as for [`super::ClassLossAccumulator`]); bit-identical to one push of the whole
/// sample for every split and either layout. `CAP` is the class capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassStatsAccumulator<const CAP: usize> {
    overlap: ClassOverlap,
    classes: usize,
    sums: [DetSum<3>; CAP],
}

impl<const CAP: usize> ClassStatsAccumulator<CAP> {
    /// An empty accumulator for `classes <= CAP` classes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"classes"`, zero) or [`Error::TooManyClasses`].
    pub const fn new(overlap: ClassOverlap, classes: usize) -> Result<Self, Error> {
        if let Err(e) = check_classes(classes, CAP) {
            return Err(e);
        }
        Ok(Self {
            overlap,
            classes,
            sums: [DetSum::new(); CAP],
        })
    }

    /// Adds a chunk of whole pixels. An empty chunk changes nothing.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::OutOfRange`], [`Error::LabelOutOfRange`]; the
    /// accumulator is then unchanged.
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
            self.overlap.predictions(),
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
        let (overlap, sums) = (self.overlap, &mut self.sums);
        let space = overlap.predictions();
        let Some(shape) =
            checked_codes(self.classes, layout, codes, quantization, &targets, space)?
        else {
            return Ok(());
        };
        let softmax = overlap.activation == Activation::Softmax;
        let readers = Readers {
            softmax,
            log_softmax: false,
            shift_invariant: softmax,
        };
        walk_codes::<C, CAP>(&shape, codes, quantization, &targets, readers, |pixel| {
            add_pixel(overlap, pixel, sums);
        });
        Ok(())
    }

    fn accumulate(&mut self, shape: &Shape, n: usize, scores: &[f32], targets: &Targets<'_>) {
        let (overlap, sums) = (self.overlap, &mut self.sums);
        walk_pixels(shape, n, scores, targets, overlap.softmax(), |pixel| {
            add_pixel(overlap, pixel, sums);
        });
    }

    /// Pixels accumulated (ignored pixels excluded).
    pub fn pixels(&self) -> u64 {
        self.sums.first().map_or(0, DetSum::count)
    }

    /// The statistics of each class, written to `out[..classes]`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn stats(&self, out: &mut [OverlapStats]) -> Result<(), Error> {
        if out.len() < self.classes {
            return Err(Error::BufferTooSmall {
                needed: self.classes,
                capacity: out.len(),
            });
        }
        for (o, sum) in out.iter_mut().zip(&self.sums).take(self.classes) {
            let [intersection, prediction_sum, target_sum] = sum.value();
            *o = OverlapStats {
                intersection,
                prediction_sum,
                target_sum,
                count: sum.count(),
            };
        }
        Ok(())
    }

    /// Forgets every pixel.
    pub fn reset(&mut self) {
        self.sums = [DetSum::new(); CAP];
    }
}

/// One pixel's overlap statistics, added to each class's sums (shared with
/// [`super::SegmentationAccumulator`], which must give the same bits).
#[inline(always)]
pub(crate) fn add_pixel<const CAP: usize>(
    overlap: ClassOverlap,
    pixel: &Pixel<'_>,
    sums: &mut [DetSum<3>; CAP],
) {
    let mut slot = None;
    let lsm = (overlap.activation == Activation::Softmax)
        .then(|| pixel.log_softmax(Predictions::Logits, &mut slot));
    for (c, sum) in sums.iter_mut().enumerate().take(pixel.classes()) {
        let x = pixel.score(c);
        let p = match (overlap.activation, lsm) {
            (Activation::Softmax, Some(lsm)) => pixel.probability(lsm, c),
            (Activation::Sigmoid, _) => sigmoid(x),
            (Activation::Tanh, _) => libm::tanhf(x),
            _ => x,
        };
        let t = pixel.target(c);
        let tp = match overlap.intersection {
            Intersection::Product => p * t,
            // `min` would drop a NaN; keep it.
            Intersection::Min => {
                if p.is_nan() || p < t {
                    p
                } else {
                    t
                }
            }
        };
        sum.add(if overlap.squared {
            [tp, p * p, t * t]
        } else {
            [tp, p, t]
        });
    }
}

/// What a class with an empty target contributes (see the [module docs](super#dice-family)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EmptyClass {
    /// Whatever the formula and its smoothing give (MONAI, Keras, kornia).
    #[default]
    Formula,
    /// Loss 0, still counted in the mean (smp's mask).
    Zero,
    /// Left out of the mean and the sum; NaN in per-class output (torchmetrics).
    Skip,
}

/// How class weights apply (see the [module docs](super#dice-family)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Weighting {
    /// `loss_c · w_c`, then the plain mean (MONAI).
    #[default]
    Multiply,
    /// `Σ w_c loss_c / Σ w_c` (smp, kornia macro); with [`Reduction::Sum`], `Σ w_c loss_c`.
    Normalize,
}

/// How per-(sample, class) losses become one number (see the [module docs](super#dice-family)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClassReduction<'w> {
    /// Whether class 0 counts; as in MONAI it always counts when there is one class.
    pub include_background: bool,
    /// One weight per class (indexed by class, background included), or none.
    pub weights: Option<&'w [f32]>,
    /// How the weights apply.
    pub weighting: Weighting,
    /// What an empty-target class contributes.
    pub empty: EmptyClass,
    /// Mean or sum over the kept (sample, class) entries.
    pub reduction: Reduction,
}

impl Default for ClassReduction<'_> {
    fn default() -> Self {
        Self::monai()
    }
}

impl ClassReduction<'_> {
    /// MONAI's defaults: background included, no weights, empty classes by formula, mean.
    pub const fn monai() -> Self {
        Self {
            include_background: true,
            weights: None,
            weighting: Weighting::Multiply,
            empty: EmptyClass::Formula,
            reduction: Reduction::Mean,
        }
    }

    fn check(&self, stats: &[OverlapStats], classes: usize) -> Result<(), Error> {
        if classes == 0 {
            return Err(Error::InvalidParameter("classes"));
        }
        if stats.is_empty() {
            return Err(Error::EmptyInput);
        }
        if !stats.len().is_multiple_of(classes) {
            return Err(Error::SampleCountMismatch {
                len: stats.len(),
                samples: stats.len() / classes,
            });
        }
        match self.weights {
            Some(w) if w.len() != classes => Err(Error::WeightCount {
                expected: classes,
                found: w.len(),
            }),
            Some(w) if !w.iter().all(|v| v.is_finite() && *v >= 0.0) => {
                Err(Error::InvalidParameter("weights"))
            }
            _ => Ok(()),
        }
    }

    fn first_class(&self, classes: usize) -> usize {
        usize::from(!self.include_background && classes > 1)
    }

    /// The loss of a kept entry, before weighting; `None` when skipped as empty.
    fn entry(&self, loss: &OverlapLoss, s: &OverlapStats) -> Option<f32> {
        match self.empty {
            _ if s.target_sum != 0.0 => Some(loss.loss_from(s)),
            EmptyClass::Formula => Some(loss.loss_from(s)),
            EmptyClass::Zero => Some(0.0),
            EmptyClass::Skip => None,
        }
    }

    /// The per-(sample, kept class) losses (`reduction="none"`), weighted with `Multiply`
    /// weights (MONAI), NaN for skipped entries, written to `out`; returns how many.
    ///
    /// # Errors
    /// [`Error::EmptyInput`], [`Error::SampleCountMismatch`] (`stats` not whole samples),
    /// [`Error::WeightCount`], [`Error::InvalidParameter`] (`"weights"`),
    /// [`Error::BufferTooSmall`].
    pub fn losses(
        &self,
        loss: &OverlapLoss,
        stats: &[OverlapStats],
        classes: usize,
        out: &mut [f32],
    ) -> Result<usize, Error> {
        self.check(stats, classes)?;
        let first = self.first_class(classes);
        let kept = classes - first;
        let needed = stats.len() / classes * kept;
        check_buffer(needed, out)?;
        let values = stats
            .chunks_exact(classes)
            .flat_map(|sample| sample.iter().enumerate().skip(first));
        for (o, (c, s)) in out.iter_mut().zip(values) {
            let w = match self.weighting {
                Weighting::Multiply => self.weights.and_then(|w| w.get(c)).copied().unwrap_or(1.0),
                Weighting::Normalize => 1.0,
            };
            *o = self.entry(loss, s).map_or(f32::NAN, |l| l * w);
        }
        Ok(needed)
    }

    /// The reduced loss over every sample and kept class.
    ///
    /// # Errors
    /// As [`ClassReduction::losses`] (without the buffer); [`Error::EmptyInput`] also when
    /// every entry was skipped.
    pub fn reduce(
        &self,
        loss: &OverlapLoss,
        stats: &[OverlapStats],
        classes: usize,
    ) -> Result<f32, Error> {
        self.check(stats, classes)?;
        let first = self.first_class(classes);
        // [Σ w·loss, Σ w] in the crate's deterministic order.
        let mut sum = DetSum::<2>::new();
        for sample in stats.chunks_exact(classes) {
            for (c, s) in sample.iter().enumerate().skip(first) {
                let w = self.weights.and_then(|w| w.get(c)).copied().unwrap_or(1.0);
                if let Some(l) = self.entry(loss, s) {
                    sum.add([l * w, w]);
                }
            }
        }
        if sum.count() == 0 {
            return Err(Error::EmptyInput);
        }
        let [weighted, weight_sum] = sum.value();
        Ok(match (self.weighting, self.reduction) {
            (_, Reduction::Sum) => weighted,
            (Weighting::Multiply, Reduction::Mean) => weighted / sum.count() as f32,
            (Weighting::Normalize, Reduction::Mean) => weighted / weight_sum,
        })
    }
}

/// Class weights of the generalized dice loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WeightType {
    /// `1 / T_c²` (MONAI's default).
    #[default]
    Square,
    /// `1 / T_c`.
    Simple,
    /// 1.
    Uniform,
}

/// Generalized dice loss (see the [module docs](super#dice-family)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GeneralizedDice {
    weight_type: WeightType,
    smooth_nr: f32,
    smooth_dr: f32,
    include_background: bool,
}

impl GeneralizedDice {
    /// MONAI's `GeneralizedDiceLoss` defaults: `Square`, `smooth_nr = smooth_dr = 1e-5`.
    pub const fn monai() -> Self {
        Self {
            weight_type: WeightType::Square,
            smooth_nr: 1e-5,
            smooth_dr: 1e-5,
            include_background: true,
        }
    }

    /// Any weight type and smoothing.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"smooth_nr"` or `"smooth_dr"` (negative or not
    /// finite).
    pub fn new(weight_type: WeightType, smooth_nr: f32, smooth_dr: f32) -> Result<Self, Error> {
        if !(smooth_nr.is_finite() && smooth_nr >= 0.0) {
            return Err(Error::InvalidParameter("smooth_nr"));
        }
        if !(smooth_dr.is_finite() && smooth_dr >= 0.0) {
            return Err(Error::InvalidParameter("smooth_dr"));
        }
        Ok(Self {
            weight_type,
            smooth_nr,
            smooth_dr,
            include_background: true,
        })
    }

    /// The same loss with class 0 (the background) left out unless `include_background`
    /// (MONAI's `include_background`, `true` by default).
    #[must_use]
    pub const fn with_include_background(mut self, include_background: bool) -> Self {
        self.include_background = include_background;
        self
    }

    /// Whether class 0 counts.
    pub const fn include_background(&self) -> bool {
        self.include_background
    }

    /// The class weights.
    pub const fn weight_type(&self) -> WeightType {
        self.weight_type
    }

    /// `(smooth_nr, smooth_dr)`.
    pub const fn smoothing(&self) -> (f32, f32) {
        (self.smooth_nr, self.smooth_dr)
    }

    fn raw_weight(&self, target_sum: f32) -> f32 {
        match self.weight_type {
            WeightType::Square => 1.0 / (target_sum * target_sum),
            WeightType::Simple => 1.0 / target_sum,
            WeightType::Uniform => 1.0,
        }
    }

    /// The loss of one sample (or of pooled statistics) from its classes' statistics, in
    /// class order (class 0 left out unless [`GeneralizedDice::include_background`]).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no classes (left).
    pub fn loss(&self, classes: &[OverlapStats]) -> Result<f32, Error> {
        let classes = classes
            .get(usize::from(!self.include_background)..)
            .unwrap_or(&[]);
        if classes.is_empty() {
            return Err(Error::EmptyInput);
        }
        let max_finite = classes
            .iter()
            .map(|s| self.raw_weight(s.target_sum))
            .filter(|w| w.is_finite())
            .fold(0.0f32, f32::max);
        let mut numerator = 0.0f32;
        let mut denominator = 0.0f32;
        for s in classes {
            let w = self.raw_weight(s.target_sum);
            let w = if w.is_infinite() { max_finite } else { w };
            numerator += s.intersection * w;
            denominator += (s.prediction_sum + s.target_sum) * w;
        }
        Ok(1.0 - (2.0 * numerator + self.smooth_nr) / (denominator + self.smooth_dr))
    }
}
