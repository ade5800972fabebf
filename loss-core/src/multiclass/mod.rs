//! Multi-class losses and metrics: softmax and one-vs-rest focal, per-class dice family,
//! generalized dice, and confusion-count metrics, on channels-first or channels-last data with
//! dense or label-map targets, without a heap and without materialising one-hot tensors or
//! probabilities.
//!
//! # Data
//! A [`Shape`] (batch `N`, classes `C`, pixels per sample, [`Layout`]) is validated against
//! the slices. [`Targets`] are dense (one-hot or soft, laid out like the scores) or a label map
//! of `u8`, `u16` or `i32` class indices (`N × spatial`) with an optional `ignore_index`; a
//! label that is neither a class nor `ignore_index` is [`Error::LabelOutOfRange`] with its
//! position.
//!
//! # Streaming and determinism
//! Every accumulator ([`ClassLossAccumulator`], [`ClassStatsAccumulator`],
//! [`ConfusionAccumulator`]) takes whole pixels in chunks of any count and keeps `O(CAP)`
//! state, where the const generic `CAP` is the class capacity. Each class's statistics are
//! summed in pixel order by the crate's deterministic summation ([`crate::sum`]), so every
//! split, and channels-first against channels-last data, gives the same bits; the batch
//! functions ([`ClassLoss::class_sums`], [`ClassOverlap::class_stats`]) are the same
//! accumulators run per sample.
//!
//! # Framework conventions
//! See `docs/conventions.md` for which parameters reproduce MONAI, smp, kornia, Keras and
//! torchvision, including the empty-class table of [`EmptyClass`].
//!
//! [`Error::LabelOutOfRange`]: crate::Error::LabelOutOfRange

pub mod focal;
pub mod frame;
pub mod metrics;
pub mod overlap;
pub mod shape;

pub use focal::{ClassAlpha, ClassLoss, ClassLossAccumulator, OneVsRestFocal, SoftmaxFocal};
pub use frame::SegmentationAccumulator;
pub use metrics::{
    ConfusionAccumulator, ConfusionCounts, Decision, Metric, Undefined, macro_average,
};
pub use overlap::{
    Activation, ClassOverlap, ClassReduction, ClassStatsAccumulator, EmptyClass, GeneralizedDice,
    Intersection, WeightType, Weighting,
};
pub use shape::{Label, Layout, Shape, Targets};
