//! Targets of multi-class data: dense tensors or label maps.

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
pub(super) enum TargetData<'a> {
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
    pub(super) data: TargetData<'a>,
    pub(super) ignore_index: Option<i32>,
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
    pub(super) fn label(&self, pixel: usize) -> Option<i32> {
        match self.data {
            TargetData::Dense(_) => None,
            TargetData::U8(l) => l.get(pixel).map(|&v| i32::from(v)),
            TargetData::U16(l) => l.get(pixel).map(|&v| i32::from(v)),
            TargetData::I32(l) => l.get(pixel).copied(),
        }
    }

    pub(super) const fn is_dense(&self) -> bool {
        matches!(self.data, TargetData::Dense(_))
    }

    /// Whether these are label-map targets.
    pub const fn is_label_map(&self) -> bool {
        !self.is_dense()
    }

    pub(super) fn len(&self) -> usize {
        match self.data {
            TargetData::Dense(d) => d.len(),
            TargetData::U8(l) => l.len(),
            TargetData::U16(l) => l.len(),
            TargetData::I32(l) => l.len(),
        }
    }
}
