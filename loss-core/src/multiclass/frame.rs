//! One pass over segmentation output for every statistic of an evaluation. Documented in the [module docs](super#one-pass-over-a-frame).

use super::codes::{Readers, checked_codes, walk_codes};
use super::focal::ClassLoss;
use super::metrics::{ConfusionCounts, Decision, count};
use super::overlap::{Activation, ClassOverlap, add_pixel};
use super::pixel::Pixel;
use super::shape::{Layout, check_classes, checked_chunk};
use super::targets::Targets;
use super::walk::walk_pixels;
use crate::dice::OverlapStats;
use crate::elementwise::check_buffer;
use crate::quantized::{ClassQuantization, Code};
use crate::sum::DetSum;
use crate::{Error, Predictions};

/// Class-loss sums, per-class overlap statistics and confusion counts of pixels arriving in
/// chunks, each pixel visited once and its log-softmax computed once (see the
/// [module docs](super#one-pass-over-a-frame)). `CAP` is the class capacity.
///
/// # Examples
/// ```
/// use loss_core::multiclass::{
///     Activation, ClassAlpha, ClassOverlap, Decision, Layout, SegmentationAccumulator,
///     SoftmaxFocal, Targets,
/// };
/// // MONAI FocalLoss(use_softmax=True, gamma=2) and DiceLoss(softmax=True), and argmax
/// // confusion counts, over 2 pixels of 3 classes (NHWC).
/// let focal = SoftmaxFocal::new(ClassAlpha::None, 2.0, None)?;
/// let overlap = ClassOverlap { activation: Activation::Softmax, ..ClassOverlap::default() };
/// let mut acc = SegmentationAccumulator::<_, 4>::new(Some(focal), overlap, Decision::Argmax, 3)?;
/// let scores = [2.0, 0.5, -1.0, /* pixel 2 */ 0.0, 0.1, 3.0];
/// let labels: [u8; 2] = [0, 2];
/// acc.push(Layout::ChannelsLast, &scores, Targets::labels(&labels))?;
/// assert!(acc.loss_mean_per_element()? > 0.0);
/// assert_eq!(acc.counts()[2].true_positives, 1);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentationAccumulator<L, const CAP: usize> {
    loss: Option<L>,
    overlap: ClassOverlap,
    decision: Decision,
    classes: usize,
    loss_sums: DetSum<CAP>,
    stats: [DetSum<3>; CAP],
    counts: [ConfusionCounts; CAP],
}

impl<L: ClassLoss, const CAP: usize> SegmentationAccumulator<L, CAP> {
    /// An empty accumulator for `classes <= CAP` classes. `loss` may be `None` when only the
    /// statistics and counts are wanted (the loss methods then report
    /// [`Error::InvalidParameter`] naming `"loss"`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"classes"` zero, `"threshold"` NaN),
    /// [`Error::TooManyClasses`], [`Error::WeightCount`] (the loss's weights or alphas).
    pub fn new(
        loss: Option<L>,
        overlap: ClassOverlap,
        decision: Decision,
        classes: usize,
    ) -> Result<Self, Error> {
        // The checks of the three accumulators (without building them: at a large `CAP` they
        // would be tens of kilobytes of stack).
        check_classes(classes, CAP)?;
        if let Some(loss) = &loss {
            loss.check_classes(classes)?;
        }
        if let Decision::Threshold(t) = decision
            && t.is_nan()
        {
            return Err(Error::InvalidParameter("threshold"));
        }
        Ok(Self {
            loss,
            overlap,
            decision,
            classes,
            loss_sums: DetSum::new(),
            stats: [DetSum::new(); CAP],
            counts: [ConfusionCounts::default(); CAP],
        })
    }

    /// Adds a chunk of whole pixels of one sample (channels-last: `k × C` scores;
    /// channels-first: `C` planes of `k` scores). The loss, the statistics and the decisions
    /// all see `scores`. An empty chunk changes nothing.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] (scores not whole pixels, targets of another size),
    /// [`Error::OutOfRange`] (targets, or scores when the statistics or the loss take them as
    /// probabilities), [`Error::LabelOutOfRange`]; the accumulator is then unchanged.
    pub fn push(
        &mut self,
        layout: Layout,
        scores: &[f32],
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        // The strictest of the three accumulators' checks; targets are checked once.
        let checked = self.checked_space();
        let Some(shape) = checked_chunk(self.classes, layout, scores, &targets, checked)? else {
            return Ok(());
        };
        let Self {
            loss,
            overlap,
            decision,
            loss_sums,
            stats,
            counts,
            ..
        } = self;
        let context = (loss.as_ref(), *overlap, *decision);
        let mut sums = (loss_sums, stats, counts);
        // The softmax of a pixel is computed once, in blocks, for its readers: the statistics
        // (softmax activation, on logits) or else a softmax loss (in its own space; when the
        // two differ, the loss computes its own).
        let softmax = overlap
            .softmax()
            .or_else(|| loss.as_ref().and_then(ClassLoss::softmax));
        walk_pixels(&shape, 0, scores, &targets, softmax, |p| {
            visit_pixel(context, &mut sums, p);
        });
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
        let space = self.checked_space();
        let Some(shape) =
            checked_codes(self.classes, layout, codes, quantization, &targets, space)?
        else {
            return Ok(());
        };
        let loss_softmax = self.loss.as_ref().map(ClassLoss::softmax);
        let overlap_softmax = self.overlap.activation == Activation::Softmax;
        // Shifted scores only when every reader is shift-invariant: the statistics with a
        // softmax activation, a softmax loss on logits (or none), argmax decisions.
        let shift_invariant = overlap_softmax
            && matches!(loss_softmax, None | Some(Some(Predictions::Logits)))
            && self.decision == Decision::Argmax;
        let readers = Readers {
            softmax: overlap_softmax || loss_softmax == Some(Some(Predictions::Logits)),
            log_softmax: loss_softmax.is_some(),
            shift_invariant,
        };
        let context = (self.loss.as_ref(), self.overlap, self.decision);
        let mut sums = (&mut self.loss_sums, &mut self.stats, &mut self.counts);
        walk_codes::<C, CAP>(&shape, codes, quantization, &targets, readers, |p| {
            visit_pixel(context, &mut sums, p);
        });
        Ok(())
    }

    /// The space the chunk's scores are checked in: the strictest of the three readers'.
    fn checked_space(&self) -> Predictions {
        if self.loss.as_ref().map(ClassLoss::predictions) == Some(Predictions::Probabilities) {
            Predictions::Probabilities
        } else {
            self.overlap.predictions()
        }
    }

    /// Pixels accumulated (ignored pixels excluded).
    pub fn pixels(&self) -> u64 {
        self.stats.first().map_or(0, DetSum::count)
    }

    /// Classes.
    pub const fn classes(&self) -> usize {
        self.classes
    }

    fn loss_sums(&self) -> Result<[f32; CAP], Error> {
        match self.loss {
            Some(_) => Ok(self.loss_sums.value()),
            None => Err(Error::InvalidParameter("loss")),
        }
    }

    /// The per-class loss sums, written to `out[..classes]`: the bits of
    /// [`ClassLossAccumulator::class_sums`](super::ClassLossAccumulator::class_sums).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::InvalidParameter`] (`"loss"`) without a loss.
    pub fn class_sums(&self, out: &mut [f32]) -> Result<(), Error> {
        let sums = self.loss_sums()?;
        check_buffer(self.classes, out)?;
        for (o, v) in out.iter_mut().zip(sums).take(self.classes) {
            *o = v;
        }
        Ok(())
    }

    /// The loss summed over every pixel and class, the class sums added in class order (as
    /// [`ClassLossAccumulator::total`](super::ClassLossAccumulator::total)).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"loss"`) without a loss.
    pub fn loss_total(&self) -> Result<f32, Error> {
        Ok(self
            .loss_sums()?
            .iter()
            .take(self.classes)
            .fold(0.0, |a, v| a + v))
    }

    /// `total / (pixels × classes)`, MONAI's and kornia's `mean` (as
    /// [`ClassLossAccumulator::mean_per_element`](super::ClassLossAccumulator::mean_per_element)).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] before any pixel; [`Error::InvalidParameter`] (`"loss"`).
    pub fn loss_mean_per_element(&self) -> Result<f32, Error> {
        self.loss_mean_over(self.pixels() as f32 * self.classes as f32)
    }

    /// `total / pixels`, the per-pixel mean of Keras and cross-entropy (as
    /// [`ClassLossAccumulator::mean_per_pixel`](super::ClassLossAccumulator::mean_per_pixel)).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] before any pixel; [`Error::InvalidParameter`] (`"loss"`).
    pub fn loss_mean_per_pixel(&self) -> Result<f32, Error> {
        self.loss_mean_over(self.pixels() as f32)
    }

    fn loss_mean_over(&self, n: f32) -> Result<f32, Error> {
        let total = self.loss_total()?;
        if self.pixels() == 0 {
            return Err(Error::EmptyInput);
        }
        Ok(total / n)
    }

    /// The overlap statistics of each class, written to `out[..classes]` (as
    /// [`ClassStatsAccumulator::stats`](super::ClassStatsAccumulator::stats)).
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
        for (o, sum) in out.iter_mut().zip(&self.stats).take(self.classes) {
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

    /// The confusion counts of each class (as
    /// [`ConfusionAccumulator::counts`](super::ConfusionAccumulator::counts)).
    pub fn counts(&self) -> &[ConfusionCounts] {
        self.counts.get(..self.classes).unwrap_or(&[])
    }

    /// Forgets every pixel, keeping the loss, statistics, decision and class count.
    pub fn reset(&mut self) {
        self.loss_sums = DetSum::new();
        self.stats = [DetSum::new(); CAP];
        self.counts = [ConfusionCounts::default(); CAP];
    }
}

/// The sums a pixel adds to: class-loss sums, statistics, confusion counts.
type Sums<'s, const CAP: usize> = (
    &'s mut DetSum<CAP>,
    &'s mut [DetSum<3>; CAP],
    &'s mut [ConfusionCounts; CAP],
);

/// One pixel's loss terms, statistics and counts.
#[inline(always)]
fn visit_pixel<L: ClassLoss, const CAP: usize>(
    (loss, overlap, decision): (Option<&L>, ClassOverlap, Decision),
    (loss_sums, stats, counts): &mut Sums<'_, CAP>,
    pixel: &Pixel<'_>,
) {
    if let Some(loss) = loss {
        let mut terms = [0.0f32; CAP];
        loss.terms(pixel, &mut terms);
        loss_sums.add(terms);
    }
    add_pixel(overlap, pixel, stats);
    count(decision, pixel, counts);
}
