//! The pixel walk every multi-class computation shares.

use super::pixel::{LogSoftmax, Pixel, PixelTarget};
use super::shape::Shape;
use super::targets::{TargetData, Targets};
use crate::elementwise::Predictions;

/// Visits the non-ignored pixels of sample `n` in order. Inputs must have passed [`validate`].
pub(crate) fn for_each_pixel(
    shape: &Shape,
    n: usize,
    scores: &[f32],
    targets: &Targets<'_>,
    mut f: impl FnMut(&Pixel<'_>),
) {
    for s in 0..shape.spatial {
        let (base, stride) = shape.pixel_address(n, s);
        let Some(target) = target_of(shape, n, s, targets) else {
            continue;
        };
        f(&Pixel {
            scores,
            base,
            stride,
            classes: shape.classes,
            target,
            log_softmax: None,
            exps: &[],
        });
    }
}

/// The target of pixel `s` of sample `n`, or `None` for an ignored pixel.
#[inline(always)]
pub(super) fn target_of<'t>(
    shape: &Shape,
    n: usize,
    s: usize,
    targets: &Targets<'t>,
) -> Option<PixelTarget<'t>> {
    match targets.data {
        TargetData::Dense(d) => Some(PixelTarget::Dense(d)),
        _ => match targets.label(n * shape.spatial + s) {
            Some(l) if Some(l) == targets.ignore_index => None,
            Some(l) => Some(PixelTarget::Class(usize::try_from(l).unwrap_or(usize::MAX))),
            None => None,
        },
    }
}

/// Floats of scratch for [`walk_pixels`], measured per target (docs/embedded.md): on vector
/// hosts enough pixels per block for [`crate::lanes`] to pay off; with soft float, where an
/// `expf` costs hundreds of instructions, two 4-class pixels, so that each `e_c` is computed
/// once; with a hardware FPU and no vector unit (the Cortex-M4F) none: recomputing `e_c` costs
/// less than the block bookkeeping there, so each consumer computes what it needs (the same
/// bits).
const SOFTMAX_SCRATCH: usize = if crate::lanes::VECTOR {
    256
} else if cfg!(target_abi = "eabihf") {
    0
} else {
    8
};

/// The walk of every multi-class reader that may need a softmax: as [`for_each_pixel`], and
/// when `softmax` names a space, each pixel handed over with its log-softmax (scores read in
/// that space) and its `e_c` already computed: in blocks of pixels, every `expf` of a block in
/// one [`crate::lanes::exp`] and every `log1pf` in one [`crate::lanes::ln_1p`]. The same bits
/// as the pixel's own [`Pixel::log_softmax`], [`Pixel::probability`] and [`Pixel::complement`]
/// (the lanes are `libm`'s bits, and the sums run in the same order); ignored pixels are
/// computed and skipped. `f` is called from one place, so that it is inlined and the pixel
/// stays in registers. Without scratch it is [`for_each_pixel`].
pub(crate) fn walk_pixels(
    shape: &Shape,
    n: usize,
    scores: &[f32],
    targets: &Targets<'_>,
    softmax: Option<Predictions>,
    mut f: impl FnMut(&Pixel<'_>),
) {
    if SOFTMAX_SCRATCH == 0 {
        return for_each_pixel(shape, n, scores, targets, f);
    }
    let classes = shape.classes;
    if classes == 0 {
        return; // validated shapes have classes; this also rules out `chunks_exact(0)` panics
    }
    // No softmax, or more classes than scratch: blocks of one pixel, each consumer computing
    // what it needs.
    let space = softmax.unwrap_or(Predictions::Logits);
    let cached = softmax.is_some() && classes <= SOFTMAX_SCRATCH;
    let per_block = (SOFTMAX_SCRATCH / classes).max(1);
    let mut exps = [0.0f32; SOFTMAX_SCRATCH];
    let mut maxes = [0.0f32; SOFTMAX_SCRATCH];
    let mut winners = [0usize; SOFTMAX_SCRATCH];
    let mut rests = [0.0f32; SOFTMAX_SCRATCH];
    let mut log_sums = [0.0f32; SOFTMAX_SCRATCH];
    let pixel_at = |s: usize| {
        let (base, stride) = shape.pixel_address(n, s);
        Pixel {
            scores,
            base,
            stride,
            classes,
            target: PixelTarget::Class(0),
            log_softmax: None,
            exps: &[],
        }
    };
    let mut start = 0;
    while start < shape.spatial {
        let len = per_block.min(shape.spatial - start);
        if cached {
            // Checked splits, not `chunks_exact(classes)`: zipping those divides by a run-time
            // `classes` in an out-of-line `Zip::new`, a panic path the optimiser cannot rule
            // out (the C API's link-time proof on the M0 finds it).
            let mut block = exps.get_mut(..len * classes).unwrap_or(&mut []);
            let leads = maxes.iter_mut().zip(&mut winners);
            for (s, (max, winner)) in (start..start + len).zip(leads) {
                let Some((e, more)) = core::mem::take(&mut block).split_at_mut_checked(classes)
                else {
                    break;
                };
                block = more;
                let pixel = pixel_at(s);
                (*max, *winner) = LogSoftmax::max_and_winner(&pixel);
                for (e, x) in e.iter_mut().zip(pixel.scores()) {
                    *e = match space {
                        Predictions::Logits => x - *max,
                        Predictions::Probabilities => x / *max,
                    };
                }
            }
            if space == Predictions::Logits {
                crate::lanes::exp(exps.get_mut(..len * classes).unwrap_or(&mut []));
            }
            let mut block = exps.get(..len * classes).unwrap_or(&[]);
            let sums = rests.iter_mut().zip(&mut log_sums);
            for ((rest, log_sum), &winner) in sums.zip(&winners).take(len) {
                let Some((e, more)) = block.split_at_checked(classes) else {
                    break;
                };
                block = more;
                *rest = 0.0;
                for (c, &e) in e.iter().enumerate() {
                    if c != winner {
                        *rest += e;
                    }
                }
                *log_sum = *rest;
            }
            crate::lanes::ln_1p(log_sums.get_mut(..len).unwrap_or(&mut []));
        }
        for i in 0..len {
            let s = start + i;
            let Some(target) = target_of(shape, n, s, targets) else {
                continue;
            };
            let pixel = Pixel {
                target,
                ..pixel_at(s)
            };
            let lsm;
            let pixel = match (
                cached,
                maxes.get(i),
                winners.get(i),
                rests.get(i),
                log_sums.get(i),
                exps.get(i * classes..(i + 1) * classes),
            ) {
                (true, Some(&max), Some(&winner), Some(&rest), Some(&log_sum), Some(e)) => {
                    lsm = LogSoftmax::from_sum(&pixel, space, max, winner, rest, |_| log_sum);
                    Pixel {
                        log_softmax: Some(&lsm),
                        exps: if lsm.regular() { e } else { &[] },
                        ..pixel
                    }
                }
                _ => pixel,
            };
            f(&pixel);
        }
        start += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiclass::Layout;

    #[test]
    fn blocks_give_each_pixel_its_own_bits() {
        let specials = [
            0.0,
            -0.0,
            30.0,
            -90.0,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut state = 0x2545_f491u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        // Up to 300 classes: past the scratch, where each consumer computes for itself.
        let spaces = [Predictions::Logits, Predictions::Probabilities];
        for (classes, space) in [1, 2, 3, 4, 5, 7, 64, 255, 256, 257, 300]
            .into_iter()
            .flat_map(|c| spaces.map(|s| (c, s)))
        {
            for layout in [Layout::ChannelsFirst, Layout::ChannelsLast] {
                let spatial = 1 + next() as usize % 200;
                let scores: Vec<f32> = (0..2 * classes * spatial)
                    .map(|_| match next() % 16 {
                        r @ 0..=7 if next() % 8 == 0 => specials[r as usize],
                        _ => (next() >> 8) as f32 / 65_536.0 - 128.0,
                    })
                    // Probabilities: [0, 1], with zeros (whole pixels of them too) and ones.
                    .map(|x| match space {
                        Predictions::Logits => x,
                        Predictions::Probabilities if x.is_nan() => x,
                        Predictions::Probabilities if classes < 4 && x < 0.0 => 0.0,
                        Predictions::Probabilities => (x / 128.0).clamp(0.0, 1.0),
                    })
                    .collect();
                let labels: Vec<i32> = (0..2 * spatial)
                    .map(|_| (next() as usize % (classes + 1)) as i32)
                    .collect();
                let targets = Targets::labels(&labels).with_ignore_index(0);
                let shape = Shape::new(2, classes, spatial, layout).unwrap();
                for n in 0..2 {
                    let mut own = Vec::new();
                    for_each_pixel(&shape, n, &scores, &targets, |p| {
                        own.push((p.address(), p.label().unwrap_or(usize::MAX)));
                    });
                    let mut visited = 0;
                    let walk = |cached: &Pixel<'_>| {
                        let ((base, stride), label) = own[visited];
                        let plain = Pixel {
                            scores: &scores,
                            base,
                            stride,
                            classes,
                            target: PixelTarget::Class(label),
                            log_softmax: None,
                            exps: &[],
                        };
                        assert_eq!(cached.log_softmax.is_some(), classes <= SOFTMAX_SCRATCH);
                        assert_eq!(cached.address(), plain.address());
                        assert_eq!(cached.argmax(), plain.argmax());
                        assert_eq!(cached.label(), plain.label());
                        let (mut slot_a, mut slot_b) = (None, None);
                        let a = cached.log_softmax(space, &mut slot_a);
                        let b = plain.log_softmax(space, &mut slot_b);
                        for c in 0..classes {
                            let x = plain.score(c);
                            let pairs = [
                                (a.at(x), b.at(x)),
                                (cached.probability(a, c), plain.probability(b, c)),
                                (cached.complement(a, c), plain.complement(b, c)),
                            ];
                            for (got, want) in pairs {
                                assert_eq!(
                                    got.to_bits(),
                                    want.to_bits(),
                                    "{classes} classes, class {c}"
                                );
                            }
                        }
                        visited += 1;
                    };
                    walk_pixels(&shape, n, &scores, &targets, Some(space), walk);
                    assert_eq!(visited, own.len());
                }
            }
        }
    }
}
