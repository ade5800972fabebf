//! Quantized class scores: each pixel's codes become f32 scores on the fly, in a scratch of
//! `CAP` floats, and the pixel is handed to the f32 readers. Documented in the
//! [module docs](super#quantized-scores).

use super::focal::ClassLoss;
use super::pixel::{LogSoftmax, Pixel, PixelTarget};
use super::shape::{Layout, Shape, chunk_shape, validate_targets};
use super::targets::Targets;
use super::walk::target_of;
use crate::quantized::{ClassQuantization, Code, SoftmaxTable, read_pixel};
use crate::sum::DetSum;
use crate::{Error, Predictions};

/// What the readers of a walk need from each pixel's codes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Readers {
    /// A reader takes the softmax of the logits.
    pub(super) softmax: bool,
    /// A reader takes the log-softmax (a softmax loss), not only probabilities and the winner.
    pub(super) log_softmax: bool,
    /// Every reader gives the same result for the pixel's logits shifted by a constant
    /// (softmax on logits, argmax), so they may read `scale · (q_c - q_max)`.
    pub(super) shift_invariant: bool,
}

/// A streamed chunk of codes of whole pixels of one sample, checked like
/// [`checked_chunk`](super::shape::checked_chunk): its shape, or `None` for an empty chunk.
/// Probabilities: every code must dequantize into `[0, 1]`.
pub(super) fn checked_codes<C: Code>(
    classes: usize,
    layout: Layout,
    codes: &[C],
    quantization: &ClassQuantization<'_, C>,
    targets: &Targets<'_>,
    predictions: Predictions,
) -> Result<Option<Shape>, Error> {
    quantization.check_classes(classes)?;
    let Some(shape) = chunk_shape(classes, layout, codes.len())? else {
        return Ok(None);
    };
    if predictions == Predictions::Probabilities {
        quantization.check_probabilities(codes, layout, classes)?;
    }
    validate_targets(&shape, targets)?;
    Ok(Some(shape))
}

/// Visits the non-ignored pixels of a checked chunk in order, each with its scores in a
/// scratch of `CAP` floats (dense targets too), so the pixel's address is `(0, 1)`.
///
/// The scores are the dequantized codes, or, when the quantization has a softmax table and
/// every reader is shift-invariant and one takes the softmax, `x_c = scale · (q_c - q_max)`
/// from the table with the log-softmax and `e_c = expf(x_c)` filled in from it: the bits the
/// readers would compute from those scores themselves, without an `expf`.
pub(super) fn walk_codes<C: Code, const CAP: usize>(
    shape: &Shape,
    codes: &[C],
    quantization: &ClassQuantization<'_, C>,
    targets: &Targets<'_>,
    readers: Readers,
    mut f: impl FnMut(&Pixel<'_>),
) {
    let classes = shape.classes.min(CAP);
    let table = quantization
        .table()
        .filter(|_| readers.softmax && readers.shift_invariant);
    let mut scores = [0.0f32; CAP];
    let mut exps = [0.0f32; CAP];
    let mut dense = [0.0f32; CAP];
    let mut q = [0i32; CAP];
    for s in 0..shape.spatial {
        let (base, stride) = shape.pixel_address(0, s);
        let Some(target) = target_of(shape, 0, s, targets) else {
            continue;
        };
        let code = |c: usize| codes.get(base + c * stride).copied();
        let target = match target {
            PixelTarget::Dense(d) => {
                for (c, t) in dense.iter_mut().enumerate().take(classes) {
                    *t = d.get(base + c * stride).copied().unwrap_or(f32::NAN);
                }
                PixelTarget::Dense(&dense)
            }
            class @ PixelTarget::Class(_) => class,
        };
        let pixel = |scores| Pixel {
            scores,
            base: 0,
            stride: 1,
            classes,
            target,
            log_softmax: None,
            exps: &[],
        };
        let Some(table) = table else {
            for (c, x) in scores.iter_mut().enumerate().take(classes) {
                *x = code(c).map_or(f32::NAN, |q| quantization.value(c, q));
            }
            f(&pixel(&scores));
            continue;
        };
        let (top, winner, rest) = relative(codes, base, stride, table, &mut q[..classes]);
        for ((x, e), &q) in scores.iter_mut().zip(&mut exps).zip(&q[..classes]) {
            (*x, *e) = table.at(top - q);
        }
        let plain = pixel(&scores);
        let log_1p = |rest| {
            if readers.log_softmax {
                libm::log1pf(rest)
            } else {
                f32::NAN // no reader takes a logarithm
            }
        };
        let lsm = LogSoftmax::from_sum(&plain, Predictions::Logits, 0.0, winner, rest, log_1p);
        f(&Pixel {
            log_softmax: Some(&lsm),
            exps: exps.get(..classes).unwrap_or(&[]),
            ..plain
        });
    }
}

/// A softmax loss on logits over label-map pixels, from the softmax table: per pixel only the
/// labelled class has a term, and it needs only `x_k`, `e_k`, `rest` and `log1pf(rest)`. The
/// bits of [`walk_codes`] feeding [`ClassLoss::terms`](super::ClassLoss) (the same operations
/// of [`LogSoftmax`] and `Pixel::complement`, and the other classes' zero terms change no
/// sum), without building the pixel. `None` when it does not apply (dense targets, or no
/// table): then the caller walks.
pub(super) fn softmax_label_sums<C: Code, L: ClassLoss, const CAP: usize>(
    shape: &Shape,
    codes: &[C],
    quantization: &ClassQuantization<'_, C>,
    targets: &Targets<'_>,
    loss: &L,
    sums: &mut DetSum<CAP>,
) -> Option<()> {
    let table = quantization.table()?;
    if !targets.is_label_map() || loss.softmax() != Some(Predictions::Logits) {
        return None;
    }
    let classes = shape.classes.min(CAP);
    let mut weights = [0.0f32; CAP];
    for (c, w) in weights.iter_mut().enumerate() {
        *w = loss.softmax_weight(c);
    }
    let mut q = [0i32; CAP];
    for s in 0..shape.spatial {
        let Some(PixelTarget::Class(k)) = target_of(shape, 0, s, targets) else {
            continue;
        };
        let (base, stride) = shape.pixel_address(0, s);
        let (top, winner, rest) = relative(codes, base, stride, table, &mut q[..classes]);
        let Some(&qk) = q.get(k) else {
            continue; // labels were checked: never taken
        };
        // `LogSoftmax::from_sum` with `max = 0.0`, then `at` and `Pixel::complement`.
        let (x, e) = table.at(top - qk);
        let (log_sum, sum) = (libm::log1pf(rest), 1.0 + rest);
        let log_p = (x - 0.0) - log_sum;
        let complement = || if k == winner { rest } else { sum - e } / sum;
        let w = weights.get(k).copied().unwrap_or(f32::NAN);
        sums.add_at(k, loss.softmax_term(w, log_p, complement));
    }
    Some(())
}

/// Reads a pixel's codes into `q` ([`read_pixel`]), and returns the highest code, the first
/// class holding it and `rest = Σ_{c ≠ winner} e_c` in class order: the log-softmax's inputs.
#[inline(always)]
fn relative<C: Code>(
    codes: &[C],
    base: usize,
    stride: usize,
    table: &SoftmaxTable,
    q: &mut [i32],
) -> (i32, usize, f32) {
    let (top, winner) = read_pixel(codes, base, stride, q);
    let mut rest = 0.0f32;
    for (c, &q) in q.iter().enumerate() {
        if c != winner {
            rest += table.at(top - q).1;
        }
    }
    (top, winner, rest)
}
