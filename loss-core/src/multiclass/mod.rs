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
//!
//! # Focal losses
//! Multi-class focal losses: softmax focal ([`SoftmaxFocal`]) and one-vs-rest sigmoid focal
//! ([`OneVsRestFocal`]).
//!
//! ## Softmax focal
//! With `log p_c = log_softmax(x)_c` over the class axis (stable, see the private `shape`
//! module) and the weight `w_c = alpha_c · weight_c`:
//!
//! ```text
//! term_c = w_c (1 - p_c)^gamma (-log p_c) t_c           (Lin et al. 2017, eq. 5, per class)
//! ```
//!
//! `p_c` itself is never rounded to 1 and subtracted: with `e_k = exp(x_k - max)`,
//! `1 - p_c = Σ_{k ≠ c} e_k / Σ_k e_k`, which keeps its relative accuracy when `p_c` is close to
//! 1 (see the private `shape` module). `gamma = 0` with no weights is cross-entropy. This is MONAI's
//! `FocalLoss(use_softmax=True)`, kornia's `focal_loss` and (per pixel, summed over classes)
//! Keras's `CategoricalFocalCrossentropy` on logits.
//!
//! ## One-vs-rest sigmoid focal
//! Each class is a binary problem: `term_c = SigmoidFocal(alpha_c, gamma)(x_c, t_c) ·
//! weight_c` (see [`crate::focal`]). This is MONAI's default `FocalLoss` and smp's
//! multilabel focal.
//!
//! ## Alpha per framework ([`ClassAlpha`])
//! | framework | softmax | one-vs-rest |
//! |---|---|---|
//! | MONAI `alpha=a` | `Background(a)`: `[1-a, a, a, …]` | `Uniform(a)` on every class |
//! | kornia `alpha=a` | `Background(a)` | — |
//! | Keras categorical `alpha=a` / list | `Uniform(a)` / `PerClass(list)` (no `1-a` counterpart) | — |
//! | MONAI ≥ 1.6 alpha list | `PerClass(list)` | `Positives(list)`: `alpha_c` on positives, 1 on negatives |
//! | none | `None` | `None` |
//!
//! `weights` multiply on top of alpha (MONAI's and kornia's `weight`).
//!
//! ## Reductions
//! [`ClassLossAccumulator`] keeps one sum per class; the frameworks normalise differently and
//! each has its own method: the sum ([`ClassLossAccumulator::total`]), the mean over every
//! `pixel × class` element (MONAI and kornia `mean`: [`ClassLossAccumulator::mean_per_element`]),
//! and the mean over pixels (Keras, cross-entropy: [`ClassLossAccumulator::mean_per_pixel`]).
//!
//! # Dice family
//! Per-class soft overlap statistics (dice, Jaccard, Tversky, generalized dice) and their
//! reductions.
//!
//! ## Statistics
//! For each class `c` and the probabilities `p_c` (the scores as given, `sigmoid(x_c)`,
//! `softmax(x)_c` or `tanh(x_c)`, computed on the fly and never stored) and targets `t_c`
//! (dense, or 1 for the labelled class): `tp_c = Σ p_c t_c` (or `Σ min(p_c, t_c)`, see
//! [`Intersection`]), `P_c = Σ p_c` (`Σ p_c²` squared), `T_c = Σ t_c` (`Σ t_c²`), as
//! [`OverlapStats`](crate::dice::OverlapStats). Any framework's reduction is composed from these: per
//! sample ([`ClassOverlap::class_stats`]) or pooled over the batch
//! ([`ClassOverlap::pooled_class_stats`], MONAI `batch=True`, smp).
//!
//! ## Scores and reductions
//! A [`crate::dice::OverlapLoss`] turns each class's statistics into a loss; a
//! [`ClassReduction`] chooses the classes (`include_background`), the class weights and how
//! they apply, the empty-class policy and mean or sum.
//!
//! ## Empty classes ([`EmptyClass`]): a class whose target is empty (`T_c = 0`)
//! | framework | behaviour | policy |
//! |---|---|---|
//! | MONAI Dice/Tversky/GDL | whatever the smoothing gives (`1 - s_nr/s_dr` = 0 when nothing is predicted either; ≈ 1 with false positives) | `Formula` |
//! | Keras `Dice` / kornia macro dice | epsilon only in the denominator: loss 1 | `Formula` (with `smooth_nr = 0`) |
//! | smp Dice/Jaccard/Tversky | masked: loss 0 even with false positives, still counted in the mean | `Zero` |
//! | torchmetrics `dice_score` | NaN, left out of the mean (`nanmean`) | `Skip` |
//!
//! ## Class weights ([`Weighting`])
//! `Multiply` is MONAI's `weight`: `loss_c · w_c`, then the plain mean. `Normalize` is smp's
//! `class_weights` and kornia's macro `weight`: `Σ w_c loss_c / Σ w_c`.
//!
//! ## Generalized dice ([`GeneralizedDice`], Sudre et al. 2017, <https://arxiv.org/abs/1707.03237>)
//! `w_c = 1/T_c²` (`Square`), `1/T_c` (`Simple`) or 1 (`Uniform`); an absent class's infinite
//! weight is replaced by the largest finite weight of the sample, as MONAI does (so with every
//! class absent all weights are 0 and the loss is `1 - s_nr/s_dr`); then
//! `1 - (2 Σ_c w_c tp_c + s_nr) / (Σ_c w_c (P_c + T_c) + s_dr)`.
//!
//! # Confusion metrics
//! Hard metrics for monitoring a deployed model: confusion counts per class and the scores
//! derived from them.
//!
//! Predictions become hard decisions by [`Decision::Argmax`] (multi-class: the first class
//! with the highest score; NaN never wins) or [`Decision::Threshold`] (per class, one-vs-rest:
//! `score >= threshold`). Targets are a label map (class `k` is the truth for its pixel) or
//! dense (the truth for class `c` is `t_c >= 0.5`; with `Argmax`, the first class with the
//! highest target). Counts are `u64`: at 10⁹ pixels a second they last 584 years, so they
//! cannot overflow in practice.
//!
//! A score whose denominator is zero (e.g. recall of a class that never occurs) is `None`;
//! [`macro_average`] then applies an explicit [`Undefined`] policy.
//!
//! # One pass over a frame
//! One pass over segmentation output for everything an evaluation reports: the class-loss sums
//! of a [`ClassLoss`], the soft overlap statistics of a [`ClassOverlap`] and the confusion
//! counts of a [`Decision`], from each pixel visited once.
//!
//! ## Why
//! Running [`ClassLossAccumulator`], [`ClassStatsAccumulator`] and [`ConfusionAccumulator`]
//! side by side walks every pixel three times, validates every chunk three times and, with a
//! softmax focal loss and softmax statistics, computes each pixel's softmax twice. The softmax
//! is most of the work: for `C` classes, `C` values `e_c = exp(x_c - max)` and one
//! `log1p(Σ_{c ≠ winner} e_c)`. [`SegmentationAccumulator`] computes them once per pixel and
//! hands them to both, and computes them for blocks of pixels at a time: every `expf` of a
//! block in one call of [`crate::lanes::exp`] and every `log1pf` in one
//! [`crate::lanes::ln_1p`], which vectorise and give `libm`'s bits.
//!
//! ## Same bits as the separate accumulators
//! Per pixel, with `e_c = exp(x_c - max)`, `S = Σ_c e_c` and `log p_c = log_softmax(x)_c` (the
//! private `shape` module's stable forms):
//!
//! ```text
//! loss    term_c = the ClassLoss's term (softmax focal: w_c (1 - p_c)^gamma (-log p_c) t_c,
//!                  1 - p_c as Σ_{k ≠ c} e_k / S); one DetSum<CAP> of the C terms
//! overlap p_c    = e_c / S | sigmoid(x_c) | tanhf(x_c) | x_c;  per class a DetSum<3> of
//!                  [p_c t_c or min(p_c, t_c), p_c or p_c², t_c or t_c²]
//! counts  argmax (first highest score, NaN never wins) or score >= threshold, against the
//!         labelled class / the first highest dense target / t_c >= 0.5
//! ```
//!
//! These are the formulas of the three accumulators, evaluated with the same operations in the
//! same order (the lanes give `libm`'s bits for every input), and every value enters its
//! [`DetSum`](crate::sum::DetSum) at the same index; the softmax is a pure function of the pixel's scores, so
//! computing it once gives the bits each accumulator computes for itself. The results are
//! therefore bit-identical to the three accumulators fed the same chunks (proved by a property
//! test over shapes, layouts, target kinds, `ignore_index`, extreme scores and chunkings).
//!
//! ## Probabilities in
//! With [`SoftmaxFocal::with_predictions`](SoftmaxFocal::with_predictions)
//! (`Probabilities`) and statistics without activation, the same walk serves probabilities:
//! the loss renormalises `p` (`e_c = p_c / p_max`, no exponential) and the statistics and
//! decisions use `p` itself.
//!
//! ## State
//! `O(CAP)`: one `DetSum<CAP>` of class-loss sums, `CAP` `DetSum<3>` of statistics and `CAP`
//! [`ConfusionCounts`], no heap; chunks are whole pixels of one sample, as for the other
//! accumulators, and any split gives the same bits. A walk with a softmax (here and in the
//! separate accumulators) also holds one block of scratch on the stack: 256 floats of
//! `exp(x_c - max)` plus four per-pixel arrays of as many entries (about 5 KiB) on vector hosts,
//! 8 floats (160 B) with soft float, none with a hardware FPU (docs/embedded.md has the
//! measurements behind these sizes).
//!
//! # Quantized scores
//! An int8 / uint8 model hands over codes `q` with TFLite's affine parameters (see
//! [`crate::quantized`]). Every accumulator, and [`SegmentationAccumulator`], takes them by
//! `push_codes(layout, codes, &quantization, targets)` with a
//! [`ClassQuantization`](crate::quantized::ClassQuantization): one [`Quantization`] for the
//! tensor or one per class. No dequantized tensor is ever stored: each pixel's `C` codes become
//! f32 scores in a scratch of `CAP` floats (three such arrays on the stack, with the `e_c`
//! and dense targets) and the pixel goes to the same readers as `push`.
//! What those scores are is the semantics:
//!
//! | quantization and readers | scores | result |
//! |---|---|---|
//! | per tensor; every reader shift-invariant (softmax focal on logits, softmax statistics, argmax) and one takes a softmax | `x_c = scale · (q_c − q_max)`, one rounding, from the table; `e_c = expf(x_c)` from the table | the bits of `push` on those scores |
//! | otherwise (per class, one-vs-rest focal, sigmoid / tanh / no activation, thresholds, probabilities) | `scale_c · (q_c − zero_point_c)`, rounded once (TFLite's `Dequantize`) | the bits of `push` on the dequantized scores |
//!
//! The softmax is invariant under a shift of the logits, and within a pixel `q_c − q_max` is an
//! integer in `−255..=0`, so the first row needs no exponential per score: 256 shifted scores
//! and their `expf` are computed once, when the per-tensor [`ClassQuantization`] is built
//! (2 KiB), and per pixel only `log1pf` of `Σ_{c ≠ winner} e_c` remains (for a softmax loss).
//! It is also more accurate than dequantizing first: `x_c − x_max` of two dequantized scores
//! rounds three times, the table once (measured in `docs/numerics.md`). A scale so large that
//! `255 · scale` overflows has no table (second row). Probabilities (e.g. a quantized softmax
//! output, `scale = 1/256`) must dequantize into `[0, 1]`, else [`Error::OutOfRange`] names the
//! code's index; a per-class list of the wrong length is [`Error::QuantizationCount`].
//!
//! [`Quantization`]: crate::quantized::Quantization
//! [`ClassQuantization`]: crate::quantized::ClassQuantization
//! [`Error::OutOfRange`]: crate::Error::OutOfRange
//! [`Error::QuantizationCount`]: crate::Error::QuantizationCount
//!
//! [`ClassLossAccumulator`]: ClassLossAccumulator
//! [`ClassStatsAccumulator`]: ClassStatsAccumulator
//! [`ConfusionAccumulator`]: ConfusionAccumulator

mod codes;
mod focal;
mod frame;
mod metrics;
mod overlap;
mod pixel;
mod shape;
mod targets;
mod walk;

pub use focal::{ClassAlpha, ClassLoss, ClassLossAccumulator, OneVsRestFocal, SoftmaxFocal};
pub use frame::SegmentationAccumulator;
pub use metrics::{
    ConfusionAccumulator, ConfusionCounts, Decision, Metric, Undefined, macro_average,
};
pub use overlap::{
    Activation, ClassOverlap, ClassReduction, ClassStatsAccumulator, EmptyClass, GeneralizedDice,
    Intersection, WeightType, Weighting,
};
pub use shape::{Layout, Shape};
pub use targets::{Label, Targets};
