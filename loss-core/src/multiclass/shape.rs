//! Shapes, layouts and targets of multi-class data, and the pixel walk every multi-class
//! computation shares.

use super::targets::{TargetData, Targets};
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
    pub(super) batch: usize,
    pub(super) classes: usize,
    pub(super) spatial: usize,
    pub(super) layout: Layout,
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
    pub(super) const fn pixel_address(&self, n: usize, s: usize) -> (usize, usize) {
        match self.layout {
            Layout::ChannelsFirst => (n * self.classes * self.spatial + s, self.spatial),
            Layout::ChannelsLast => ((n * self.spatial + s) * self.classes, 1),
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
    validate_targets(shape, targets)
}

/// Checks targets against `shape`: their size, dense values in `[0, 1]`, labels.
pub(crate) fn validate_targets(shape: &Shape, targets: &Targets<'_>) -> Result<(), Error> {
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
    let Some(shape) = chunk_shape(classes, layout, scores.len())? else {
        return Ok(None);
    };
    validate(&shape, scores, targets, predictions)?;
    Ok(Some(shape))
}

/// The shape of a chunk of `len` scores of whole pixels, or `None` for an empty chunk.
pub(crate) fn chunk_shape(
    classes: usize,
    layout: Layout,
    len: usize,
) -> Result<Option<Shape>, Error> {
    if len == 0 {
        return Ok(None);
    }
    // `checked_div`: accumulators never hold zero classes, but a plain `/` would keep a
    // division-by-zero panic path in the firmware (the link-time no-panic proof finds it).
    let Some(pixels) = len.checked_div(classes) else {
        return Err(Error::InvalidParameter("classes"));
    };
    if pixels * classes != len {
        return Err(Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: (pixels + 1) * classes,
            found: len,
        });
    }
    Shape::new(1, classes, pixels, layout).map(Some)
}
