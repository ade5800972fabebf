//! Instruction-count kernels (`bins/cost.rs`): each runs between [`bench_start`] and
//! [`bench_stop`], whose addresses the QEMU instruction-counting plugin watches. Per element =
//! (window at `n = N`) − (window at `n = 0`), divided by `N`, so call overhead cancels.
//!
//! The baselines are the seed article's formulas written directly, the way a first port would:
//! `p = 1 / (1 + expf(-x))`, `-alpha_t (1 - p_t)^gamma logf(p_t)` with `libm::powf`, and a
//! plain running sum.

use core::hint::black_box;

use loss_core::Mask;
use loss_core::Predictions;
use loss_core::dice::OverlapLoss;
use loss_core::focal::SigmoidFocal;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, Layout, SoftmaxFocal, Targets,
};
use loss_core::quantized::{
    ClassQuantization, CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap,
};

use crate::data::{C, CODES, LABELS, LOGITS, MASK, MASK_BITS, PROBABILITIES, TARGETS};

/// Start of a measured window (its first instruction is the marker).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_start() {
    // SAFETY: a no-op; the body differs from `bench_stop` so the two are never merged.
    unsafe { core::arch::asm!("nop", options(nomem, nostack)) };
}

/// End of a measured window.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_stop() {
    // SAFETY: a no-op.
    unsafe { core::arch::asm!("nop", "nop", options(nomem, nostack)) };
}

fn bits(r: Result<f32, loss_core::Error>) -> u32 {
    r.map_or(u32::MAX, f32::to_bits)
}

fn focal_gamma2(n: usize) -> u32 {
    let fl = SigmoidFocal::torchvision();
    bits(fl.loss(&LOGITS[..n], &TARGETS[..n]))
}

fn focal_gamma_half(n: usize) -> u32 {
    let fl = SigmoidFocal::new(Some(0.25), black_box(0.5)).unwrap_or(SigmoidFocal::torchvision());
    bits(fl.loss(&LOGITS[..n], &TARGETS[..n]))
}

fn dice(n: usize) -> u32 {
    bits(OverlapLoss::dice().loss(&PROBABILITIES[..n], &TARGETS[..n]))
}

fn dice_logits(n: usize) -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    bits(dice.loss(&LOGITS[..n], &TARGETS[..n]))
}

/// Gradient tile: the gradients are written a tile at a time into a stack buffer (the M0
/// board has 16 KB of RAM; `N` gradients would take all of it), then folded into the checksum.
const TILE: usize = 256;

/// Keeps a tile's gradient alive without reading it (a fold over it would add its own
/// instructions per element to the kernel's): the optimiser must assume `black_box` reads it.
fn fold(h: u32, g: &[f32]) -> u32 {
    h ^ black_box(g).len() as u32
}

/// `loss_and_grad` of a focal loss, a tile at a time (the sum over each tile; the per-element
/// work is the one-shot call's).
fn focal_grad(fl: SigmoidFocal, n: usize) -> u32 {
    let fl = fl.with_reduction(loss_core::Reduction::Sum);
    let mut g = [0.0f32; TILE];
    let mut h = 0;
    for (x, t) in LOGITS[..n].chunks(TILE).zip(TARGETS[..n].chunks(TILE)) {
        let g = &mut g[..x.len()];
        h ^= bits(fl.loss_and_grad(x, t, g));
        h = fold(h, g);
    }
    h
}

fn focal_gamma2_grad(n: usize) -> u32 {
    focal_grad(SigmoidFocal::torchvision(), n)
}

fn focal_gamma_half_grad(n: usize) -> u32 {
    let fl = SigmoidFocal::new(Some(0.25), black_box(0.5)).unwrap_or(SigmoidFocal::torchvision());
    focal_grad(fl, n)
}

/// The dice family's two passes: the statistics of all `n` elements, then the gradient a tile
/// at a time (`OverlapGradient::tile`).
fn dice_grad_of(dice: OverlapLoss, p: &[f32], t: &[f32]) -> u32 {
    let Ok(stats) = dice.stats(p, t) else {
        return u32::MAX;
    };
    let Ok(mut pass) = dice.gradient(&stats) else {
        return u32::MAX;
    };
    let mut g = [0.0f32; TILE];
    let mut h = 0;
    for (p, t) in p.chunks(TILE).zip(t.chunks(TILE)) {
        let g = &mut g[..p.len()];
        h ^= u32::from(pass.tile(p, t, g).is_err());
        h = fold(h, g);
    }
    h ^ bits(pass.finish())
}

/// `loss_and_grad` of the dice family in calls of [`TILE`] elements, each its own channel:
/// the one-shot call's work per element (on logits its first pass keeps `exp(-|x|)` in the
/// gradient buffer), where the data and its gradient fit in RAM.
fn dice_one_shot_of(dice: OverlapLoss, p: &[f32], t: &[f32]) -> u32 {
    let mut g = [0.0f32; TILE];
    let mut h = 0;
    for (p, t) in p.chunks(TILE).zip(t.chunks(TILE)) {
        let g = &mut g[..p.len()];
        h ^= bits(dice.loss_and_grad(p, t, g));
        h = fold(h, g);
    }
    h
}

fn dice_one_shot(n: usize) -> u32 {
    dice_one_shot_of(OverlapLoss::dice(), &PROBABILITIES[..n], &TARGETS[..n])
}

fn dice_logits_one_shot(n: usize) -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    dice_one_shot_of(dice, &LOGITS[..n], &TARGETS[..n])
}

fn dice_grad(n: usize) -> u32 {
    dice_grad_of(OverlapLoss::dice(), &PROBABILITIES[..n], &TARGETS[..n])
}

fn dice_logits_grad(n: usize) -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    dice_grad_of(dice, &LOGITS[..n], &TARGETS[..n])
}

fn softmax_focal_c4(n: usize) -> u32 {
    let fl = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None)
        .unwrap_or(SoftmaxFocal::cross_entropy());
    match ClassLossAccumulator::<_, C>::new(fl, C) {
        Ok(mut acc) => {
            let _ = acc.push(
                Layout::ChannelsLast,
                &LOGITS[..n],
                Targets::labels(&LABELS[..n / C]),
            );
            bits(acc.mean_per_element())
        }
        Err(_) => 0,
    }
}

fn dice_c4(n: usize) -> u32 {
    let overlap = ClassOverlap {
        activation: Activation::Softmax,
        ..ClassOverlap::default()
    };
    let mut stats = [loss_core::dice::OverlapStats::default(); C];
    match ClassStatsAccumulator::<C>::new(overlap, C) {
        Ok(mut acc) => {
            let _ = acc.push(
                Layout::ChannelsLast,
                &LOGITS[..n],
                Targets::labels(&LABELS[..n / C]),
            );
            let _ = acc.stats(&mut stats);
            bits(ClassReduction::monai().reduce(&OverlapLoss::dice(), &stats, C))
        }
        Err(_) => 0,
    }
}

/// Softmax focal (C = 4) on int8 codes of one tensor quantization, as [`softmax_focal_c4`]
/// on floats. The softmax table is built in both windows (`n = 0` and `n = N`), so its cost
/// cancels: it is paid once, not per frame.
fn int8_softmax_focal_c4(n: usize) -> u32 {
    let fl = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None)
        .unwrap_or(SoftmaxFocal::cross_entropy());
    let (Ok(quantization), Ok(mut acc)) = (
        ClassQuantization::<i8>::per_tensor(INT8),
        ClassLossAccumulator::<_, C>::new(fl, C),
    ) else {
        return 0;
    };
    let labels = Targets::labels(&LABELS[..n / C]);
    let _ = acc.push_codes(Layout::ChannelsLast, &CODES[..n], &quantization, labels);
    bits(acc.mean_per_element())
}

/// Dice over C = 4 softmax classes on int8 codes, as [`dice_c4`] on floats.
fn int8_dice_c4(n: usize) -> u32 {
    let overlap = ClassOverlap {
        activation: Activation::Softmax,
        ..ClassOverlap::default()
    };
    let mut stats = [loss_core::dice::OverlapStats::default(); C];
    let (Ok(quantization), Ok(mut acc)) = (
        ClassQuantization::<i8>::per_tensor(INT8),
        ClassStatsAccumulator::<C>::new(overlap, C),
    ) else {
        return 0;
    };
    let labels = Targets::labels(&LABELS[..n / C]);
    let _ = acc.push_codes(Layout::ChannelsLast, &CODES[..n], &quantization, labels);
    let _ = acc.stats(&mut stats);
    bits(ClassReduction::monai().reduce(&OverlapLoss::dice(), &stats, C))
}

/// The int8 kernels' quantization: logits in about `[-6, 6]`, as a model's output layer.
const INT8: Quantization = match Quantization::new(0.046_875, -2) {
    Ok(q) => q,
    Err(_) => panic!("invalid quantization"), // evaluated at compile time
};

/// Counts `n` codes against the byte mask or the bit mask. The per-code tables are built in
/// both windows (`n = 0` and `n = N`), so their cost cancels: it is paid once, not per frame.
fn int8_counts(n: usize, bits: bool) -> CodeCounts<i8> {
    let mut counts = CodeCounts::new();
    let mask = if bits {
        Mask::bits(&MASK_BITS[..n.div_ceil(8)], n)
    } else {
        Mask::bytes(&MASK[..n])
    };
    let _ = counts.push(&CODES[..n], mask);
    counts
}

fn int8_focal(n: usize, bits: bool) -> u32 {
    match QuantizedFocal::<i8>::new(&SigmoidFocal::torchvision(), INT8) {
        Ok(focal) => self::bits(focal.loss(&int8_counts(n, bits))),
        Err(_) => 0,
    }
}

fn int8_focal_bytes(n: usize) -> u32 {
    int8_focal(n, false)
}

fn int8_focal_bits(n: usize) -> u32 {
    int8_focal(n, true)
}

fn int8_dice(n: usize) -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    match QuantizedOverlap::<i8>::new(&dice, INT8) {
        Ok(dice) => bits(dice.loss(&int8_counts(n, false))),
        Err(_) => 0,
    }
}

/// The count without a loss: the per-element part of every int8 row.
fn int8_count_bytes(n: usize) -> u32 {
    int8_counts(n, false).get(black_box(3), true)
}

fn int8_count_bits(n: usize) -> u32 {
    int8_counts(n, true).get(black_box(3), true)
}

/// One count, both losses: what a firmware evaluating a frame does.
fn int8_focal_and_dice_bits(n: usize) -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    match (
        QuantizedFocal::<i8>::new(&SigmoidFocal::torchvision(), INT8),
        QuantizedOverlap::<i8>::new(&dice, INT8),
    ) {
        (Ok(focal), Ok(dice)) => {
            let counts = int8_counts(n, true);
            bits(focal.loss(&counts)) ^ bits(dice.loss(&counts))
        }
        _ => 0,
    }
}

/// The seed's focal loss from logits, written directly with `powf` / `logf`.
fn baseline_focal(n: usize, gamma: f32) -> u32 {
    let alpha = 0.25f32;
    let mut sum = 0.0f32;
    for (&x, &t) in LOGITS[..n].iter().zip(&TARGETS[..n]) {
        let p = 1.0 / (1.0 + libm::expf(-x));
        let (pt, at) = if t == 1.0 {
            (p, alpha)
        } else {
            (1.0 - p, 1.0 - alpha)
        };
        sum += -at * libm::powf(1.0 - pt, gamma) * libm::logf(pt);
    }
    (sum / n.max(1) as f32).to_bits()
}

fn baseline_focal_gamma2(n: usize) -> u32 {
    baseline_focal(n, black_box(2.0))
}

fn baseline_focal_gamma_half(n: usize) -> u32 {
    baseline_focal(n, black_box(0.5))
}

/// Dice written directly: three running sums.
fn baseline_dice(n: usize) -> u32 {
    let (mut i, mut sp, mut st) = (0.0f32, 0.0f32, 0.0f32);
    for (&p, &t) in PROBABILITIES[..n].iter().zip(&TARGETS[..n]) {
        i += p * t;
        sp += p;
        st += t;
    }
    (1.0 - (2.0 * i + 1e-5) / (sp + st + 1e-5)).to_bits()
}

/// Softmax focal over C = 4 classes, written directly (label-map targets).
fn baseline_softmax_focal_c4(n: usize) -> u32 {
    let mut sum = 0.0f32;
    for (px, &label) in LOGITS[..n].chunks_exact(C).zip(&LABELS[..n / C]) {
        let m = px.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let z: f32 = px.iter().map(|&v| libm::expf(v - m)).sum();
        let p = libm::expf(px[usize::from(label)] - m) / z;
        let a = if label == 0 { 0.75 } else { 0.25 };
        sum += -a * libm::powf(1.0 - p, 2.0) * libm::logf(p);
    }
    (sum / n.max(1) as f32).to_bits()
}

/// Dice over C = 4 softmax classes, written directly.
fn baseline_dice_c4(n: usize) -> u32 {
    let mut s = [[0.0f32; 3]; C];
    for (px, &label) in LOGITS[..n].chunks_exact(C).zip(&LABELS[..n / C]) {
        let m = px.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let z: f32 = px.iter().map(|&v| libm::expf(v - m)).sum();
        for (c, acc) in s.iter_mut().enumerate() {
            let p = libm::expf(px[c] - m) / z;
            let t = if usize::from(label) == c { 1.0 } else { 0.0 };
            acc[0] += p * t;
            acc[1] += p;
            acc[2] += t;
        }
    }
    let mut loss = 0.0f32;
    for acc in &s {
        loss += 1.0 - (2.0 * acc[0] + 1e-5) / (acc[1] + acc[2] + 1e-5);
    }
    (loss / C as f32).to_bits()
}

/// A measured kernel: name, and the function of the element count.
pub type Kernel = (&'static str, fn(usize) -> u32);

/// Every kernel, in the order the windows are reported; `baseline: <name>` is the
/// straightforward version of kernel `<name>`.
pub static KERNELS: &[Kernel] = &[
    ("binary focal, logits, gamma 2", focal_gamma2),
    ("binary focal, logits, gamma 0.5", focal_gamma_half),
    ("dice, one channel", dice),
    ("dice, one channel, logits", dice_logits),
    ("binary focal + grad, logits, gamma 2", focal_gamma2_grad),
    (
        "binary focal + grad, logits, gamma 0.5",
        focal_gamma_half_grad,
    ),
    ("dice + grad, one channel (two passes)", dice_grad),
    (
        "dice + grad, one channel, logits (two passes)",
        dice_logits_grad,
    ),
    ("dice + grad, one channel (one shot)", dice_one_shot),
    (
        "dice + grad, one channel, logits (one shot)",
        dice_logits_one_shot,
    ),
    ("softmax focal, C = 4", softmax_focal_c4),
    ("dice, C = 4 (softmax)", dice_c4),
    (
        "int8 binary focal, logits, gamma 2, u8 mask",
        int8_focal_bytes,
    ),
    (
        "int8 binary focal, logits, gamma 2, bit mask",
        int8_focal_bits,
    ),
    ("int8 dice, logits, u8 mask", int8_dice),
    ("int8 count alone, u8 mask", int8_count_bytes),
    ("int8 count alone, bit mask", int8_count_bits),
    (
        "int8 focal + dice, logits, bit mask",
        int8_focal_and_dice_bits,
    ),
    ("int8 softmax focal, C = 4", int8_softmax_focal_c4),
    ("int8 dice, C = 4 (softmax)", int8_dice_c4),
    (
        "baseline: binary focal, logits, gamma 2",
        baseline_focal_gamma2,
    ),
    (
        "baseline: binary focal, logits, gamma 0.5",
        baseline_focal_gamma_half,
    ),
    ("baseline: dice, one channel", baseline_dice),
    ("baseline: softmax focal, C = 4", baseline_softmax_focal_c4),
    ("baseline: dice, C = 4 (softmax)", baseline_dice_c4),
];

/// Runs `kernel` on `n` elements inside a measured window.
#[inline(never)]
pub fn measure(kernel: fn(usize) -> u32, n: usize) -> u32 {
    let kernel = black_box(kernel);
    let n = black_box(n);
    bench_start();
    let r = kernel(n);
    bench_stop();
    black_box(r)
}
