//! The evaluator: runs one [`Case`](crate::Case) through the public API of `loss-core` and
//! collects its output words.

use loss_core::{
    ElementLoss, Error, Predictions, Reduction,
    dice::{OverlapLoss, OverlapStats},
    focal::{BinaryFocal, SigmoidFocal},
    multiclass::{
        ClassLoss, ClassLossAccumulator, ClassReduction, ClassStatsAccumulator,
        ConfusionAccumulator, ConfusionCounts, Decision, GeneralizedDice, Metric, OneVsRestFocal,
        Shape, SoftmaxFocal, Targets, Undefined, macro_average,
    },
    sum::DetSum,
};

use crate::{
    BAD_CHUNK, Case, Expected, GRAD_SHOWN, LabelKind, MAX_CLASS_GRAD, MAX_PIXELS, MULTI_CAP,
    MultiLoss, Op, OverlapBase, REJECTED, Spec, grad_hash,
};

/// Collects output words; never panics (words past the end are counted, not stored, so a
/// too-small buffer shows up as a length mismatch).
pub struct Words<'a> {
    buf: &'a mut [u32],
    len: usize,
}

impl<'a> Words<'a> {
    /// An empty collector writing into `buf`.
    pub fn new(buf: &'a mut [u32]) -> Self {
        Self { buf, len: 0 }
    }

    pub(crate) fn word(&mut self, w: u32) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = w;
        }
        self.len = self.len.saturating_add(1);
    }

    pub(crate) fn float(&mut self, v: f32) {
        self.word(v.to_bits());
    }

    /// Words pushed so far (may exceed the buffer).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stored words.
    pub fn as_slice(&self) -> &[u32] {
        self.buf.get(..self.len).unwrap_or(self.buf)
    }
}

/// Whether two output words agree: equal bits, or both NaN when read as `f32`. (Counts and
/// indices never look like NaN: they are far below `0x7f80_0000`.)
pub fn same_bits(a: u32, b: u32) -> bool {
    a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
}

/// Whether a computed result matches the expectation (see [`same_bits`]).
pub fn matches(expected: &Expected, got: &Result<&[u32], Error>) -> bool {
    match (expected, got) {
        (Expected::Bits(e), Ok(g)) => {
            e.len() == g.len() && e.iter().zip(g.iter()).all(|(&a, &b)| same_bits(a, b))
        }
        (Expected::Err(e), Err(g)) => e == g,
        _ => false,
    }
}

pub(crate) fn build_overlap(
    base: OverlapBase,
    smoothing: Option<(f32, f32)>,
    squared: bool,
    predictions: Predictions,
) -> Result<OverlapLoss, Error> {
    let loss = match base {
        OverlapBase::Dice => OverlapLoss::dice(),
        OverlapBase::Jaccard => OverlapLoss::jaccard(),
        OverlapBase::Tversky { alpha, beta } => OverlapLoss::tversky(alpha, beta)?,
        OverlapBase::SeedTorch => OverlapLoss::seed_torch_dice(),
        OverlapBase::SeedKeras => OverlapLoss::seed_keras_dice(),
    };
    let loss = match smoothing {
        Some((nr, dr)) => loss.with_smoothing(nr, dr)?,
        None => loss,
    };
    Ok(loss.with_squared(squared)?.with_predictions(predictions))
}

/// Yields `(start, len)` of successive chunks, cycling through `chunks`; [`BAD_CHUNK`] entries
/// come out as `len == usize::MAX` and consume no data. Stops when the data is used up (after
/// at most `n + chunks.len()` steps, so an all-zero pattern terminates).
pub(crate) fn chunk_plan(chunks: &'static [u16], n: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut start = 0usize;
    let mut steps = 0usize;
    let limit = n.saturating_add(chunks.len()).saturating_mul(2);
    chunks.iter().cycle().map_while(move |&c| {
        steps += 1;
        if start >= n && steps > chunks.len() || steps > limit {
            return None;
        }
        if c == BAD_CHUNK {
            return Some((start, usize::MAX));
        }
        let len = usize::from(c).min(n - start.min(n));
        let s = start;
        start += len;
        Some((s, len))
    })
}

fn stream_element<L: ElementLoss + PartialEq>(
    loss: L,
    chunks: &'static [u16],
    reduction: Reduction,
    predictions: &[f32],
    targets: &[f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    let mut acc = loss.with_reduction(reduction).accumulator();
    for (start, len) in chunk_plan(chunks, predictions.len()) {
        if len == usize::MAX {
            let before = acc;
            let bad = acc.push(
                predictions.get(start..start + 1).unwrap_or(&[]),
                targets.get(start..start).unwrap_or(&[]),
            );
            out.word(if bad.is_err() && acc == before {
                REJECTED
            } else {
                0
            });
            continue;
        }
        let range = start..start + len;
        acc.push(
            predictions.get(range.clone()).unwrap_or(&[]),
            targets.get(range).unwrap_or(&[]),
        )?;
        if acc.count() > 0 {
            out.float(acc.finish()?);
        }
    }
    out.word(acc.count() as u32);
    Ok(())
}

/// An [`Op::Grad`] case's gradient words: the first [`GRAD_SHOWN`] values, then the hash of
/// all of them.
fn grad_words(out: &mut Words<'_>, grad: &[f32]) {
    for &v in grad.iter().take(GRAD_SHOWN) {
        out.float(v);
    }
    out.word(grad_hash(grad));
}

/// [`Op::Grad`] of an element loss, in a frame of its own: inlined into [`run_element`] it
/// would deepen every case's frame (the boards' stack).
#[inline(never)]
fn element_grad<L: ElementLoss>(
    loss: L,
    predictions: &[f32],
    targets: &[f32],
    grad: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    out.float(loss.loss_and_grad(predictions, targets, grad)?);
    grad_words(out, grad);
    Ok(())
}

/// [`Op::Grad`] of an overlap loss, in a frame of its own (see [`element_grad`]).
#[inline(never)]
fn overlap_grad(
    loss: &OverlapLoss,
    predictions: &[f32],
    targets: &[f32],
    grad: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    out.float(loss.loss_and_grad(predictions, targets, grad)?);
    grad_words(out, grad);
    Ok(())
}

fn run_element<L: ElementLoss + PartialEq>(
    loss: L,
    op: &Op,
    predictions: &[f32],
    targets: &[f32],
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    match *op {
        Op::Loss(r) => out.float(loss.with_reduction(r).loss(predictions, targets)?),
        Op::Elementwise { capacity } => {
            let buf = scratch.get_mut(..capacity).unwrap_or(&mut []);
            loss.loss_elementwise(predictions, targets, buf)?;
            for &v in buf.iter().take(predictions.len()) {
                out.float(v);
            }
        }
        Op::PerSample {
            samples,
            reduction,
            capacity,
        } => {
            let buf = scratch.get_mut(..capacity).unwrap_or(&mut []);
            loss.with_reduction(reduction)
                .loss_per_sample(predictions, targets, samples, buf)?;
            for &v in buf.iter().take(samples) {
                out.float(v);
            }
        }
        Op::Stream { chunks, reduction } => {
            stream_element(loss, chunks, reduction, predictions, targets, out)?;
        }
        Op::Grad {
            reduction,
            capacity,
        } => element_grad(
            loss.with_reduction(reduction),
            predictions,
            targets,
            scratch.get_mut(..capacity).unwrap_or(&mut []),
            out,
        )?,
        // Element losses have no statistics; the generator never emits this.
        Op::Stats => return Err(Error::InvalidParameter("op")),
    }
    Ok(())
}

fn run_overlap(
    loss: OverlapLoss,
    op: &Op,
    predictions: &[f32],
    targets: &[f32],
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    let stats = |out: &mut Words<'_>, s: &loss_core::dice::OverlapStats| {
        out.float(s.intersection);
        out.float(s.prediction_sum);
        out.float(s.target_sum);
        out.word(s.count as u32);
        out.float(loss.score(s));
        out.float(loss.loss_from(s));
    };
    match *op {
        Op::Loss(_) => out.float(loss.loss(predictions, targets)?),
        Op::Stats => stats(out, &loss.stats(predictions, targets)?),
        Op::PerSample {
            samples,
            reduction,
            capacity,
        } => {
            let buf = scratch.get_mut(..capacity).unwrap_or(&mut []);
            loss.loss_per_sample(predictions, targets, samples, buf)?;
            let per_sample = buf.get(..samples).unwrap_or(&[]);
            for &v in per_sample {
                out.float(v);
            }
            out.float(reduction.reduce(per_sample)?);
        }
        Op::Stream { chunks, .. } => {
            let mut acc = loss.accumulator();
            for (start, len) in chunk_plan(chunks, predictions.len()) {
                if len == usize::MAX {
                    let before = acc;
                    let bad = acc.push(
                        predictions.get(start..start + 1).unwrap_or(&[]),
                        targets.get(start..start).unwrap_or(&[]),
                    );
                    out.word(if bad.is_err() && acc == before {
                        REJECTED
                    } else {
                        0
                    });
                    continue;
                }
                let range = start..start + len;
                acc.push(
                    predictions.get(range.clone()).unwrap_or(&[]),
                    targets.get(range).unwrap_or(&[]),
                )?;
                if acc.count() > 0 {
                    out.float(acc.finish()?);
                }
            }
            stats(out, &acc.stats()?);
        }
        Op::Grad { capacity, .. } => overlap_grad(
            &loss,
            predictions,
            targets,
            scratch.get_mut(..capacity).unwrap_or(&mut []),
            out,
        )?,
        // The dice family has no elementwise form; the generator never emits this.
        Op::Elementwise { .. } => return Err(Error::InvalidParameter("op")),
    }
    Ok(())
}

fn run_tools(
    spec: &Spec,
    op: &Op,
    predictions: &[f32],
    targets: &[f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    match (spec, *op) {
        (Spec::Reduce, Op::Loss(r)) => out.float(r.reduce(predictions)?),
        (Spec::FirstNonFinite, _) => {
            out.word(loss_core::first_non_finite(predictions).map_or(u32::MAX, |i| i as u32));
        }
        (Spec::DetSum3, Op::Stream { chunks, .. }) => {
            let mut sum = DetSum::<3>::new();
            for (start, len) in chunk_plan(chunks, predictions.len()) {
                if len == usize::MAX {
                    continue;
                }
                let range = start..start + len;
                let p = predictions.get(range.clone()).unwrap_or(&[]);
                let t = targets.get(range).unwrap_or(&[]);
                sum.extend(p.iter().zip(t).map(|(&p, &t)| [p, t, p - t]));
                for v in sum.value() {
                    out.float(v);
                }
            }
            out.word(sum.count() as u32);
        }
        _ => return Err(Error::InvalidParameter("op")),
    }
    Ok(())
}

/// Runs one case: builds the loss through the public API and drives it as `op` says.
/// `scratch` must hold the largest `capacity` of any case ([`MAX_SCRATCH`](crate::MAX_SCRATCH)).
///
/// # Errors
/// Whatever `loss-core` returned.
pub fn evaluate(
    spec: &Spec,
    op: &Op,
    predictions: &[f32],
    targets: &[f32],
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    match *spec {
        Spec::SigmoidFocal { alpha, gamma, soft } => {
            let loss = SigmoidFocal::new(alpha, gamma)?.with_soft_targets(soft);
            run_element(loss, op, predictions, targets, scratch, out)
        }
        Spec::SigmoidFocalTorchvision => run_element(
            SigmoidFocal::torchvision(),
            op,
            predictions,
            targets,
            scratch,
            out,
        ),
        Spec::BinaryFocal {
            alpha,
            gamma,
            clamp_min,
            clamp_max,
        } => {
            let loss = BinaryFocal::new(alpha, gamma, clamp_min, clamp_max)?;
            run_element(loss, op, predictions, targets, scratch, out)
        }
        Spec::BinaryFocalSeed => {
            run_element(BinaryFocal::seed(), op, predictions, targets, scratch, out)
        }
        Spec::Overlap {
            base,
            smoothing,
            squared,
            predictions: kind,
        } => {
            let loss = build_overlap(base, smoothing, squared, kind)?;
            run_overlap(loss, op, predictions, targets, scratch, out)
        }
        Spec::BinaryFocalKeras { alpha, gamma, soft } => {
            let loss = BinaryFocal::keras(alpha, gamma)?.with_soft_targets(soft)?;
            run_element(loss, op, predictions, targets, scratch, out)
        }
        Spec::Sigmoid => {
            for &x in predictions {
                out.float(loss_core::sigmoid(x));
            }
            Ok(())
        }
        Spec::Multi {
            loss,
            batch,
            classes,
            spatial,
            layout,
            labels,
            ignore,
        } => {
            let shape = Shape::new(batch, classes, spatial, layout)?;
            let data = MultiData::new(labels, ignore, targets, classes);
            run_multi(&loss, &shape, op, predictions, &data, scratch, out)
        }
        Spec::Quantized {
            loss,
            scale,
            zero_point,
            code,
            mask,
        } => crate::quantized::run_quantized(
            loss,
            scale,
            zero_point,
            code,
            mask,
            op,
            predictions,
            targets,
            scratch,
            out,
        ),
        Spec::MultiCodes { .. } => {
            crate::codes::run_codes(spec, op, predictions, targets, scratch, out)
        }
        Spec::Reduce | Spec::DetSum3 | Spec::FirstNonFinite => {
            run_tools(spec, op, predictions, targets, out)
        }
    }
}

/// Targets of a multi-class case, with label maps converted to their integer type.
pub(crate) struct MultiData<'a> {
    kind: LabelKind,
    ignore: Option<i32>,
    dense: &'a [f32],
    classes: usize,
    len: usize,
    u8s: [u8; MAX_PIXELS],
    u16s: [u16; MAX_PIXELS],
    i32s: [i32; MAX_PIXELS],
}

impl<'a> MultiData<'a> {
    pub(crate) fn new(
        kind: LabelKind,
        ignore: Option<i32>,
        targets: &'a [f32],
        classes: usize,
    ) -> Self {
        let mut d = Self {
            kind,
            ignore,
            dense: targets,
            classes,
            len: targets.len().min(MAX_PIXELS),
            u8s: [0; MAX_PIXELS],
            u16s: [0; MAX_PIXELS],
            i32s: [0; MAX_PIXELS],
        };
        for (i, &t) in targets.iter().enumerate().take(MAX_PIXELS) {
            match kind {
                LabelKind::Dense => {}
                LabelKind::U8 => d.u8s[i] = t as u8,
                LabelKind::U16 => d.u16s[i] = t as u16,
                LabelKind::I32 => d.i32s[i] = t as i32,
            }
        }
        d
    }

    /// The targets of pixels `start..start + len` (all of them for `len == usize::MAX`).
    pub(crate) fn targets(&self, start: usize, len: usize) -> Targets<'_> {
        let t = match self.kind {
            LabelKind::Dense => {
                let (s, e) = (
                    start.saturating_mul(self.classes),
                    start.saturating_add(len).saturating_mul(self.classes),
                );
                Targets::dense(self.dense.get(s..e.min(self.dense.len())).unwrap_or(&[]))
            }
            LabelKind::U8 => Targets::labels(pixels(&self.u8s, self.len, start, len)),
            LabelKind::U16 => Targets::labels(pixels(&self.u16s, self.len, start, len)),
            LabelKind::I32 => Targets::labels(pixels(&self.i32s, self.len, start, len)),
        };
        match self.ignore {
            Some(i) => t.with_ignore_index(i),
            None => t,
        }
    }
}

/// Labels `start..start + len` of the first `count` in `all` (clamped, never out of bounds).
fn pixels<T>(all: &[T], count: usize, start: usize, len: usize) -> &[T] {
    let end = start.saturating_add(len).min(count).min(all.len());
    all.get(start.min(end)..end).unwrap_or(&[])
}

pub(crate) fn overlap_loss(base: OverlapBase) -> Result<OverlapLoss, Error> {
    build_overlap(base, None, false, Predictions::Probabilities)
}

pub(crate) fn stats_words(out: &mut Words<'_>, stats: &[OverlapStats]) {
    for s in stats {
        out.float(s.intersection);
        out.float(s.prediction_sum);
        out.float(s.target_sum);
        out.word(s.count as u32);
    }
}

pub(crate) fn reduced_words(
    out: &mut Words<'_>,
    reduction: &ClassReduction<'_>,
    loss: &OverlapLoss,
    stats: &[OverlapStats],
    classes: usize,
    scratch: &mut [f32],
) -> Result<(), Error> {
    out.float(reduction.reduce(loss, stats, classes)?);
    let n = reduction.losses(loss, stats, classes, scratch)?;
    for &v in scratch.iter().take(n) {
        out.float(v);
    }
    Ok(())
}

fn focal_multi<L: ClassLoss>(
    loss: L,
    shape: &Shape,
    op: &Op,
    scores: &[f32],
    data: &MultiData<'_>,
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    match *op {
        Op::Loss(_) => {
            let n = shape.batch() * shape.classes();
            let buf = scratch.get_mut(..n).unwrap_or(&mut []);
            loss.class_sums::<MULTI_CAP>(shape, scores, data.targets(0, usize::MAX), buf)?;
            for &v in buf.iter() {
                out.float(v);
            }
        }
        Op::Elementwise { capacity } => {
            let buf = scratch.get_mut(..capacity).unwrap_or(&mut []);
            loss.loss_elementwise(shape, scores, data.targets(0, usize::MAX), buf)?;
            for &v in buf.iter().take(shape.elements()) {
                out.float(v);
            }
        }
        Op::Stream { chunks, .. } => {
            let c = shape.classes();
            let mut acc = ClassLossAccumulator::<L, MULTI_CAP>::new(loss, c)?;
            for (start, len) in chunk_plan(chunks, shape.pixels()) {
                if len == usize::MAX {
                    continue;
                }
                let s = scores.get(start * c..(start + len) * c).unwrap_or(&[]);
                acc.push(shape.layout(), s, data.targets(start, len))?;
                if acc.pixels() > 0 {
                    out.float(acc.mean_per_element()?);
                }
            }
            out.float(acc.total());
            out.float(acc.mean_per_pixel()?);
            out.word(acc.pixels() as u32);
            let buf = scratch.get_mut(..c).unwrap_or(&mut []);
            acc.class_sums(buf)?;
            for &v in buf.iter() {
                out.float(v);
            }
        }
        _ => return Err(Error::InvalidParameter("op")),
    }
    Ok(())
}

/// A multi-class [`Op::Grad`]: the losses into `scratch`, the gradient into a buffer of
/// [`MAX_CLASS_GRAD`] values in this frame (not on every case's path: the boards' stack).
/// Output: the losses' hash, then the gradient's words.
#[inline(never)]
fn class_grad(
    op: &Op,
    scratch: &mut [f32],
    out: &mut Words<'_>,
    f: impl FnOnce(&mut [f32], &mut [f32]) -> Result<(), Error>,
) -> Result<(), Error> {
    let Op::Grad { capacity, .. } = *op else {
        return Err(Error::InvalidParameter("op"));
    };
    let mut grad = [0.0f32; MAX_CLASS_GRAD];
    let losses = scratch.get_mut(..capacity).unwrap_or(&mut []);
    let grad = grad.get_mut(..capacity).unwrap_or(&mut []);
    f(losses, grad)?;
    out.word(grad_hash(losses));
    grad_words(out, grad);
    Ok(())
}

fn run_multi(
    loss: &MultiLoss,
    shape: &Shape,
    op: &Op,
    scores: &[f32],
    data: &MultiData<'_>,
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    let c = shape.classes();
    let mut stats = [OverlapStats::default(); 2 * MULTI_CAP];
    match *loss {
        MultiLoss::Softmax {
            gamma,
            alpha,
            weights,
        } if matches!(op, Op::Grad { .. }) => {
            let loss = SoftmaxFocal::new(alpha, gamma, weights)?;
            class_grad(op, scratch, out, |losses, grad| {
                loss.loss_and_grad_elementwise(
                    shape,
                    scores,
                    data.targets(0, usize::MAX),
                    losses,
                    grad,
                )
            })
        }
        MultiLoss::OneVsRest {
            gamma,
            alpha,
            weights,
            soft,
        } if matches!(op, Op::Grad { .. }) => {
            let loss = OneVsRestFocal::new(alpha, gamma, weights)?.with_soft_targets(soft);
            class_grad(op, scratch, out, |losses, grad| {
                loss.loss_and_grad_elementwise(
                    shape,
                    scores,
                    data.targets(0, usize::MAX),
                    losses,
                    grad,
                )
            })
        }
        MultiLoss::Softmax {
            gamma,
            alpha,
            weights,
        } => focal_multi(
            SoftmaxFocal::new(alpha, gamma, weights)?,
            shape,
            op,
            scores,
            data,
            scratch,
            out,
        ),
        MultiLoss::SoftmaxOnProbabilities {
            gamma,
            alpha,
            weights,
        } => focal_multi(
            SoftmaxFocal::new(alpha, gamma, weights)?.with_predictions(Predictions::Probabilities),
            shape,
            op,
            scores,
            data,
            scratch,
            out,
        ),
        MultiLoss::OneVsRest {
            gamma,
            alpha,
            weights,
            soft,
        } => focal_multi(
            OneVsRestFocal::new(alpha, gamma, weights)?.with_soft_targets(soft),
            shape,
            op,
            scores,
            data,
            scratch,
            out,
        ),
        MultiLoss::Overlap {
            overlap,
            base,
            reduction,
        } => {
            let loss = overlap_loss(base)?;
            match *op {
                Op::Loss(_) => {
                    let targets = data.targets(0, usize::MAX);
                    overlap.pooled_class_stats::<MULTI_CAP>(shape, scores, targets, &mut stats)?;
                    let stats = stats.get(..c).unwrap_or(&[]);
                    stats_words(out, stats);
                    reduced_words(out, &reduction, &loss, stats, c, scratch)?;
                }
                Op::Stats => {
                    let targets = data.targets(0, usize::MAX);
                    overlap.class_stats::<MULTI_CAP>(shape, scores, targets, &mut stats)?;
                    let stats = stats.get(..shape.batch() * c).unwrap_or(&[]);
                    stats_words(out, stats);
                    // Per-sample statistics reduced over samples and classes (MONAI's default).
                    reduced_words(out, &reduction, &loss, stats, c, scratch)?;
                }
                Op::Stream { chunks, .. } => {
                    let mut acc = ClassStatsAccumulator::<MULTI_CAP>::new(overlap, c)?;
                    for (start, len) in chunk_plan(chunks, shape.pixels()) {
                        if len == usize::MAX {
                            continue;
                        }
                        let s = scores.get(start * c..(start + len) * c).unwrap_or(&[]);
                        acc.push(shape.layout(), s, data.targets(start, len))?;
                        out.word(acc.pixels() as u32);
                    }
                    acc.stats(&mut stats)?;
                    let stats = stats.get(..c).unwrap_or(&[]);
                    stats_words(out, stats);
                    reduced_words(out, &reduction, &loss, stats, c, scratch)?;
                }
                _ => return Err(Error::InvalidParameter("op")),
            }
            Ok(())
        }
        MultiLoss::GeneralizedDice {
            overlap,
            weight_type,
        } => {
            let g = GeneralizedDice::new(weight_type, 1e-5, 1e-5)?;
            let targets = data.targets(0, usize::MAX);
            overlap.pooled_class_stats::<MULTI_CAP>(shape, scores, targets, &mut stats)?;
            out.float(g.loss(stats.get(..c).unwrap_or(&[]))?);
            Ok(())
        }
        MultiLoss::Confusion { decision } => {
            confusion_multi(decision, shape, op, scores, data, out)
        }
    }
}

/// The metrics a confusion case reports, per class and macro-averaged.
const METRICS: [Metric; 5] = [
    Metric::Dice,
    Metric::Iou,
    Metric::Precision,
    Metric::Recall,
    Metric::Specificity,
];

/// Confusion counts and the metrics of every class, then their macro averages.
fn confusion_multi(
    decision: Decision,
    shape: &Shape,
    op: &Op,
    scores: &[f32],
    data: &MultiData<'_>,
    out: &mut Words<'_>,
) -> Result<(), Error> {
    let c = shape.classes();
    let mut acc = ConfusionAccumulator::<MULTI_CAP>::new(decision, c)?;
    let chunks: &'static [u16] = match *op {
        Op::Stream { chunks, .. } => chunks,
        _ => &[u16::MAX - 1],
    };
    for (start, len) in chunk_plan(chunks, shape.pixels()) {
        if len == usize::MAX {
            continue;
        }
        let s = scores.get(start * c..(start + len) * c).unwrap_or(&[]);
        acc.push(shape.layout(), s, data.targets(start, len))?;
    }
    confusion_words(out, acc.counts());
    Ok(())
}

/// Each class's counts and metrics, then their macro averages.
pub(crate) fn confusion_words(out: &mut Words<'_>, counts: &[ConfusionCounts]) {
    // `None` (undefined metric) is written as the bits of -inf, which no metric takes.
    let nan = f32::NEG_INFINITY.to_bits();
    for k in counts {
        out.word(k.true_positives as u32);
        out.word(k.false_positives as u32);
        out.word(k.false_negatives as u32);
        out.word(k.true_negatives as u32);
        out.word(k.support() as u32);
        for m in METRICS {
            out.word(k.metric(m).map_or(nan, f32::to_bits));
        }
    }
    for m in METRICS {
        for (include_background, undefined) in
            [(true, Undefined::Skip), (false, Undefined::Value(0.0))]
        {
            let v = macro_average(counts, m, include_background, undefined);
            out.word(v.map_or(nan, f32::to_bits));
        }
    }
}

/// Runs `case` and compares with its expectation; `Ok(())` on a match, else the computed
/// result (words or error) for the caller to report.
///
/// # Errors
/// The mismatching result.
pub fn check<'w>(
    case: &Case,
    scratch: &mut [f32],
    words: &'w mut [u32],
) -> Result<(), Result<&'w [u32], Error>> {
    let mut out = Words::new(words);
    let result = evaluate(
        case.spec,
        &case.op,
        case.predictions,
        case.targets,
        scratch,
        &mut out,
    );
    let Words { buf, len } = out;
    let overflow = len > buf.len();
    let buf: &'w [u32] = buf;
    let got = match result {
        Ok(()) => Ok(buf.get(..len).unwrap_or(buf)),
        Err(e) => Err(e),
    };
    if !overflow && matches(&case.expected, &got) {
        Ok(())
    } else {
        Err(got)
    }
}
