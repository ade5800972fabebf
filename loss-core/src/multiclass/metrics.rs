//! Confusion counts per class and the metrics derived from them. Documented in the [module docs](super#confusion-metrics).

use super::codes::{Readers, checked_codes, walk_codes};
use super::pixel::Pixel;
use super::shape::{Layout, check_classes, checked_chunk};
use super::targets::Targets;
use super::walk::for_each_pixel;
use crate::Error;
use crate::elementwise::Predictions;
use crate::quantized::{ClassQuantization, Code};

/// Confusion counts of one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfusionCounts {
    /// Predicted and true.
    pub true_positives: u64,
    /// Predicted, not true.
    pub false_positives: u64,
    /// True, not predicted.
    pub false_negatives: u64,
    /// Neither predicted nor true.
    pub true_negatives: u64,
}

/// A score derived from [`ConfusionCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Metric {
    /// `2 tp / (2 tp + fp + fn)` (equal to F1).
    Dice,
    /// `tp / (tp + fp + fn)` (Jaccard).
    Iou,
    /// `tp / (tp + fp)`.
    Precision,
    /// `tp / (tp + fn)` (sensitivity).
    Recall,
    /// `2 precision recall / (precision + recall)`, computed as `2 tp / (2 tp + fp + fn)`.
    F1,
    /// `tn / (tn + fp)`.
    Specificity,
}

impl ConfusionCounts {
    /// The metric, or `None` when its denominator is zero. Computed in f64 from the exact
    /// counts and rounded once to f32, so it is the same on every target.
    pub fn metric(&self, metric: Metric) -> Option<f32> {
        let (tp, fp, fn_, tn) = (
            self.true_positives as f64,
            self.false_positives as f64,
            self.false_negatives as f64,
            self.true_negatives as f64,
        );
        let (num, den) = match metric {
            Metric::Dice | Metric::F1 => (2.0 * tp, 2.0 * tp + fp + fn_),
            Metric::Iou => (tp, tp + fp + fn_),
            Metric::Precision => (tp, tp + fp),
            Metric::Recall => (tp, tp + fn_),
            Metric::Specificity => (tn, tn + fp),
        };
        (den > 0.0).then(|| (num / den) as f32)
    }

    /// Pixels whose truth is this class (`tp + fn`), saturating at `u64::MAX` (reachable only
    /// with counts that were not accumulated, since the fields are public).
    pub const fn support(&self) -> u64 {
        self.true_positives.saturating_add(self.false_negatives)
    }
}

/// What a class whose metric is undefined (0/0) contributes to [`macro_average`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Undefined {
    /// Left out of the average (torchmetrics' NaN and `nanmean`, MONAI `ignore_empty`).
    #[default]
    Skip,
    /// Counted with this value (torchmetrics `zero_division=0.0` or `1.0`).
    Value(f32),
}

/// The unweighted mean of `metric` over the classes, class 0 (the background) left out
/// unless `include_background` (MONAI's name and default: `true`), with the [`Undefined`]
/// policy; `None` if no class is left to average.
pub fn macro_average(
    counts: &[ConfusionCounts],
    metric: Metric,
    include_background: bool,
    undefined: Undefined,
) -> Option<f32> {
    let mut sum = 0.0f64;
    let mut n = 0u32;
    for c in counts.iter().skip(usize::from(!include_background)) {
        let value = match (c.metric(metric), undefined) {
            (Some(v), _) | (None, Undefined::Value(v)) => v,
            (None, Undefined::Skip) => continue,
        };
        sum += f64::from(value);
        n += 1;
    }
    (n > 0).then(|| (sum / f64::from(n)) as f32)
}

/// How scores become hard predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decision {
    /// The class with the highest score.
    Argmax,
    /// Every class whose score is at least this (a probability, or a logit: 0 is p = 0.5).
    Threshold(f32),
}

/// Streams confusion counts per class over pixels arriving in chunks (whole pixels of one
/// sample, as for [`super::ClassLossAccumulator`]). `CAP` is the class capacity. Integer
/// counts: any order and split gives the same result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfusionAccumulator<const CAP: usize> {
    decision: Decision,
    classes: usize,
    counts: [ConfusionCounts; CAP],
}

impl<const CAP: usize> ConfusionAccumulator<CAP> {
    /// Empty counts for `classes <= CAP` classes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"classes"` zero, `"threshold"` NaN),
    /// [`Error::TooManyClasses`].
    pub fn new(decision: Decision, classes: usize) -> Result<Self, Error> {
        check_classes(classes, CAP)?;
        if let Decision::Threshold(t) = decision
            && t.is_nan()
        {
            return Err(Error::InvalidParameter("threshold"));
        }
        Ok(Self {
            decision,
            classes,
            counts: [ConfusionCounts::default(); CAP],
        })
    }

    /// Adds a chunk of whole pixels. An empty chunk changes nothing.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::OutOfRange`] (dense targets),
    /// [`Error::LabelOutOfRange`]; the counts are then unchanged.
    pub fn push(
        &mut self,
        layout: Layout,
        scores: &[f32],
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        let Some(shape) =
            checked_chunk(self.classes, layout, scores, &targets, Predictions::Logits)?
        else {
            return Ok(());
        };
        let (decision, counts) = (self.decision, &mut self.counts);
        for_each_pixel(&shape, 0, scores, &targets, |pixel| {
            count(decision, pixel, counts);
        });
        Ok(())
    }

    /// Adds a chunk of quantized scores, whole pixels as for [`Self::push`] (decided on the
    /// dequantized scores). An empty chunk changes nothing.
    ///
    /// # Errors
    /// As [`Self::push`], plus [`Error::QuantizationCount`]; the counts are then unchanged.
    pub fn push_codes<C: Code>(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        let space = Predictions::Logits;
        let Some(shape) =
            checked_codes(self.classes, layout, codes, quantization, &targets, space)?
        else {
            return Ok(());
        };
        let readers = Readers {
            softmax: false,
            log_softmax: false,
            shift_invariant: false,
        };
        let (decision, counts) = (self.decision, &mut self.counts);
        walk_codes::<C, CAP>(&shape, codes, quantization, &targets, readers, |pixel| {
            count(decision, pixel, counts);
        });
        Ok(())
    }

    /// The counts of each class.
    pub fn counts(&self) -> &[ConfusionCounts] {
        self.counts.get(..self.classes).unwrap_or(&[])
    }

    /// Forgets every pixel.
    pub fn reset(&mut self) {
        self.counts = [ConfusionCounts::default(); CAP];
    }
}

/// One pixel's confusion counts (shared with [`super::SegmentationAccumulator`], which must
/// give the same counts).
#[inline(always)]
pub(super) fn count<const CAP: usize>(
    decision: Decision,
    pixel: &Pixel<'_>,
    counts: &mut [ConfusionCounts; CAP],
) {
    let classes = pixel.classes();
    let truth_class = pixel.label().unwrap_or_else(|| {
        let mut best = 0;
        for c in 1..classes {
            if pixel.target(c) > pixel.target(best) {
                best = c;
            }
        }
        best
    });
    let predicted_class = match decision {
        Decision::Argmax => pixel.argmax(),
        Decision::Threshold(_) => 0,
    };
    for (c, k) in counts.iter_mut().enumerate().take(classes) {
        let (predicted, truth) = match decision {
            Decision::Argmax => (predicted_class == c, truth_class == c),
            Decision::Threshold(t) => (pixel.score(c) >= t, pixel.target(c) >= 0.5),
        };
        let slot = match (predicted, truth) {
            (true, true) => &mut k.true_positives,
            (true, false) => &mut k.false_positives,
            (false, true) => &mut k.false_negatives,
            (false, false) => &mut k.true_negatives,
        };
        *slot += 1;
    }
}
