//! Bodies that link the public `loss-core` API, for the size figures and the link-time
//! no-panic proof (`bins/api_full.rs`, `bins/api_min.rs`, ...). Inputs pass through
//! `core::hint::black_box`, so the optimiser can neither fold the calls nor drop their error
//! paths; results are folded into a checksum the binary stores.

use core::hint::black_box;

/// The `main` of an `api-*` binary: runs `$body` (a function of this module returning a
/// checksum) and keeps its result alive with a volatile store, then exits 0.
#[macro_export]
macro_rules! api_main {
    ($body:path) => {
        static mut CHECKSUM: u32 = 0;

        #[board::entry]
        fn main() -> ! {
            let h = $body();
            // SAFETY: single-threaded; a volatile store keeps the result (and so the calls)
            // alive.
            unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(CHECKSUM), h) };
            board::exit(0)
        }
    };
}

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::monitor::{
    Direction, FrameSignals, LabelledSignals, Monitor, Signal, SignalConfig, Statistic,
};
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, Decision, GeneralizedDice, Layout, Metric,
    OneVsRestFocal, Shape, SoftmaxFocal, Targets, Undefined, WeightType, macro_average,
};
use loss_core::quantized::{CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::sum::DetSum;
use loss_core::{Error, Mask, Predictions, Reduction};

static X: [f32; 16] = [
    -3.0, 2.5, 0.1, -0.7, 8.0, -8.0, 1.5, -1.5, 0.0, 4.0, -4.0, 2.0, -2.0, 0.5, -0.5, 3.0,
];
static P: [f32; 16] = [
    0.9, 0.1, 0.5, 0.3, 0.99, 0.01, 0.7, 0.2, 0.5, 0.95, 0.05, 0.8, 0.15, 0.6, 0.4, 0.85,
];
static T: [f32; 16] = [
    1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0,
];
static LABELS: [u8; 4] = [0, 3, 1, 2];

/// Folds a result into a checksum word.
fn word(r: Result<f32, Error>) -> u32 {
    match r {
        Ok(v) => v.to_bits(),
        Err(_) => 0xE000_0000,
    }
}

fn unit(r: Result<(), Error>) -> u32 {
    u32::from(r.is_err())
}

/// Every path of a binary focal loss (the methods are inherent, so this is a macro).
macro_rules! element_paths {
    ($loss:expr, $x:expr, $t:expr, $out:expr) => {{
        let (loss, x, t, out) = ($loss, $x, $t, $out);
        let sum = loss.with_reduction(Reduction::Sum);
        let mut h = word(loss.loss(x, t)) ^ word(sum.loss(x, t));
        h ^= unit(loss.loss_elementwise(x, t, out));
        h ^= unit(loss.loss_per_sample(x, t, 2, out));
        let mut acc = loss.accumulator();
        h ^= unit(acc.push(x.get(..5).unwrap_or(x), t.get(..5).unwrap_or(t)));
        h ^= unit(acc.push(x.get(5..).unwrap_or(x), t.get(5..).unwrap_or(t)));
        h ^= acc.count() as u32 ^ word(acc.finish());
        acc.reset();
        // The gradients: one pass, elementwise and per sample.
        let mut g = [0.0f32; 16];
        h ^= word(loss.loss_and_grad(x, t, &mut g));
        h ^= unit(loss.loss_and_grad_elementwise(x, t, out, &mut g));
        h ^= unit(loss.loss_and_grad_per_sample(x, t, 2, out, &mut g));
        h ^= g.iter().fold(0, |h, v| h ^ v.to_bits());
        h ^ word(sum.accumulator().finish())
    }};
}

fn overlap_paths(loss: &OverlapLoss, x: &[f32], t: &[f32], out: &mut [f32]) -> u32 {
    let mut h = word(loss.loss(x, t));
    if let Ok(s) = loss.stats(x, t) {
        h ^= loss.score(&s).to_bits() ^ loss.loss_from(&s).to_bits();
    }
    h ^= unit(loss.loss_per_sample(x, t, 4, out));
    let mut acc = loss.accumulator();
    h ^= unit(acc.push(x, t)) ^ acc.count() as u32 ^ word(acc.finish());
    // The gradients: one shot, per sample, and the two-pass tiles.
    let mut g = [0.0f32; 16];
    h ^= word(loss.loss_and_grad(x, t, &mut g));
    h ^= unit(loss.loss_and_grad_per_sample(x, t, 4, out, &mut g));
    if let Ok(mut pass) = acc.stats().and_then(|s| loss.gradient(&s)) {
        let (a, b) = g.split_at_mut(8);
        h ^= unit(pass.tile(x.get(..8).unwrap_or(x), t.get(..8).unwrap_or(t), a));
        h ^= unit(pass.tile(x.get(8..).unwrap_or(x), t.get(8..).unwrap_or(t), b));
        h ^= word(pass.finish()) ^ pass.loss().to_bits() ^ pass.covered() as u32;
    }
    h ^= g.iter().fold(0, |h, v| h ^ v.to_bits());
    acc.reset();
    h ^ word(acc.stats().map(|s| s.intersection))
}

/// Binary focal from logits and dice: what a small monitoring firmware needs.
pub fn min() -> u32 {
    let (x, t) = (black_box(&X[..]), black_box(&T[..]));
    let focal = SigmoidFocal::torchvision().loss(x, t);
    let dice = OverlapLoss::dice()
        .with_predictions(Predictions::Logits)
        .loss(x, t);
    word(focal) ^ word(dice)
}

static BITS: [u8; 2] = [0b1011_0101, 0b0110_1001];

/// [`min`] against a bit-packed (hard) mask instead of f32 targets: the f32 path of a small
/// monitoring firmware whose masks are bits. It links no soft-target code.
pub fn hard() -> u32 {
    let (x, bits) = (black_box(&X[..]), black_box(&BITS[..]));
    let mask = Mask::bits(bits, x.len());
    let focal = SigmoidFocal::torchvision().loss(x, mask);
    let dice = OverlapLoss::dice()
        .with_predictions(Predictions::Logits)
        .loss(x, mask);
    word(focal) ^ word(dice)
}

/// Binary focal from logits and dice, streamed: the accumulators of [`min`].
pub fn streaming() -> u32 {
    let (x, t) = (black_box(&X[..]), black_box(&T[..]));
    let mut focal = SigmoidFocal::torchvision().accumulator();
    let mut dice = OverlapLoss::dice()
        .with_predictions(Predictions::Logits)
        .accumulator();
    let mut h = 0;
    for (x, t) in x.chunks(4).zip(t.chunks(4)) {
        h ^= unit(focal.push(x, t)) ^ unit(dice.push(x, t));
    }
    h ^ word(focal.finish()) ^ word(dice.finish())
}

/// [`min`] and [`streaming`] in one firmware.
pub fn both() -> u32 {
    min() ^ streaming()
}

static CODES: [i8; 16] = [
    -128, 127, 3, -40, 90, -7, 0, 64, -64, 12, 33, -99, 100, -1, 1, 55,
];

/// Binary focal from int8 logits and dice against a bit-packed (hard) mask: the quantized
/// path of a small monitoring firmware.
pub fn int8_hard() -> u32 {
    let q = Quantization::new(black_box(0.0625), black_box(-3));
    let (codes, bits) = (black_box(&CODES[..]), black_box(&BITS[..]));
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    let (Ok(q), Ok(len)) = (q, black_box(Ok::<usize, Error>(16))) else {
        return 0;
    };
    // The tables filled in place, as a firmware short of RAM does (`new` would build and
    // copy them).
    let mut focal = QuantizedFocal::<i8>::EMPTY;
    let mut overlap = QuantizedOverlap::<i8>::EMPTY;
    let mut counts = CodeCounts::<i8>::new();
    let h = unit(focal.fill(&SigmoidFocal::torchvision(), q))
        ^ unit(overlap.fill(&dice, q))
        ^ unit(counts.push(codes, Mask::bits(bits, len)));
    h ^ word(focal.loss(&counts)) ^ word(overlap.loss(&counts))
}

/// The monitor on four signals (values from anywhere: here, inputs it cannot see through), with
/// its telemetry: what a firmware that gets its signals elsewhere links.
pub fn monitor() -> u32 {
    let configs = [
        SignalConfig::new(Signal::Loss).learning(8),
        SignalConfig::new(Signal::Dice(1))
            .learning(8)
            .with_statistic(Statistic::Ewma),
        SignalConfig::new(Signal::Iou(1)).with_baseline(black_box(0.5), black_box(0.1)),
        SignalConfig::new(Signal::Area(1))
            .learning(8)
            .with_direction(Direction::Both)
            .with_thresholds(2.0, 4.0)
            .with_hysteresis(0.5, 2)
            .with_cusum(0.5, 5.0)
            .with_ewma(0.2)
            .with_min_std(1e-4),
    ];
    let Ok(mut monitor) = Monitor::<4, 16>::new(black_box(configs)) else {
        return 1;
    };
    let mut h = 0;
    for (i, &x) in black_box(&X[..]).iter().enumerate() {
        let level = monitor.observe(&[Some(x), Some(x * 0.5), None, Some(x)], |_| h ^= 1);
        h ^= (level as u32) << (i % 8);
    }
    h ^= monitor.level() as u32 ^ monitor.frames();
    for i in 0..5 {
        if let Some(s) = monitor.summary(black_box(i)) {
            h ^= u32::from(s.count) ^ s.mean.to_bits() ^ s.median.to_bits() ^ s.cusum.to_bits();
            h ^= s.min.to_bits() ^ s.max.to_bits() ^ s.ewma.to_bits();
        }
    }
    for t in monitor.tracks() {
        let w = t.window();
        h ^= w.len() as u32 ^ u32::from(w.is_empty()) ^ t.faults() ^ t.level() as u32;
        h ^= w.last().map_or(0, f32::to_bits) ^ w.quantile(black_box(0.9)).map_or(0, f32::to_bits);
        h ^= t.ewma().map_or(0, f32::to_bits) ^ t.baseline().map_or(0, |b| b.std.to_bits());
        h ^= t.cusum().to_bits() ^ t.config().signal.worse() as u32;
    }
    h
}

/// The monitor's per-frame signals: label-free ones (every kind of output, with the previous
/// mask) and labelled ones, on 4 pixels x 4 classes.
pub fn monitor_signals() -> u32 {
    let (x, p) = (black_box(&X[..]), black_box(&P[..]));
    let mut h = 0u32;
    let mut mask = [0u8; 16];
    for (predictions, channels, scores) in [
        (Predictions::Logits, 4, x),
        (Predictions::Probabilities, 4, p),
        (Predictions::Logits, 1, x),
        (Predictions::Probabilities, 1, p),
    ] {
        let pixels = black_box(16usize).checked_div(channels).unwrap_or(0);
        for (layout, holds) in [(Layout::ChannelsLast, false), (Layout::ChannelsFirst, true)] {
            let Ok(frame) = FrameSignals::<4>::new(predictions, black_box(channels)) else {
                h ^= 1;
                continue;
            };
            let Ok(mut frame) =
                frame.with_previous_mask(mask.get_mut(..pixels).unwrap_or(&mut []), holds)
            else {
                h ^= 2;
                continue;
            };
            h ^= unit(frame.push(layout, scores));
            if let Ok(s) = frame.finish() {
                h ^= s.pixels as u32 ^ s.classes as u32 ^ s.entropy.to_bits();
                h ^= s.confidence.to_bits() ^ s.area(black_box(1)).map_or(0, f32::to_bits);
                h ^= s.consistency.map_or(0, f32::to_bits) ^ s.agreement.map_or(0, f32::to_bits);
                h ^= s.consistency_iou.map_or(0, f32::to_bits);
            }
        }
    }
    let focal = SoftmaxFocal::new(ClassAlpha::None, black_box(2.0), None)
        .unwrap_or(SoftmaxFocal::cross_entropy());
    if let Ok(mut s) = LabelledSignals::<_, 4>::new(focal, Decision::Argmax, black_box(4)) {
        h ^= unit(s.push(Layout::ChannelsLast, x, label_map()));
        if let Ok(l) = s.finish() {
            h ^= l.loss.to_bits();
            for (d, i) in l.dice.iter().zip(&l.iou) {
                h ^= d.map_or(0, f32::to_bits) ^ i.map_or(0, f32::to_bits);
            }
        }
    }
    h
}

/// Every public entry point of `loss-core` (the `Display` impls excepted: `core::fmt` is not
/// what a firmware logs with).
pub fn full() -> u32 {
    let (x, p, t) = (black_box(&X[..]), black_box(&P[..]), black_box(&T[..]));
    let gamma = black_box(2.0f32);
    let mut out = [0.0f32; 16];
    let mut h = binary_focal(x, p, t, gamma, &mut out);
    h ^= dice_family(x, p, t, &mut out);
    h ^= masks(x, p, &mut out);
    h ^= sums(x, p, t);
    // Multi-class: 4 pixels x 4 classes, channels-last, dense and label-map targets.
    if let Ok(shape) = Shape::new(1, 4, 4, Layout::ChannelsLast) {
        h ^= (shape.batch() + shape.classes() + shape.spatial() + shape.elements() + shape.pixels())
            as u32;
        h ^= class_losses(&shape, x, t, gamma, &mut out);
        let mut stats = [OverlapStats::default(); 4];
        h ^= class_overlap(&shape, x, p, t, &mut stats);
        h ^= class_reductions(&stats, &mut out);
        h ^= confusion(x);
    }
    h ^ monitor() ^ monitor_signals()
}

/// Binary focal, every constructor and option.
fn binary_focal(x: &[f32], p: &[f32], t: &[f32], gamma: f32, out: &mut [f32]) -> u32 {
    let mut h = 0u32;
    let mut focals = [SigmoidFocal::torchvision(); 4];
    for (i, soft) in [
        SoftTargets::Torchvision,
        SoftTargets::Monai,
        SoftTargets::Kornia,
    ]
    .into_iter()
    .enumerate()
    {
        if let (Some(f), Ok(l)) = (focals.get_mut(i + 1), SigmoidFocal::new(Some(0.25), gamma)) {
            *f = l.with_soft_targets(soft);
        }
    }
    for f in &focals {
        h ^= element_paths!(f, x, t, &mut *out);
        h ^= f.gamma().to_bits() ^ f.alpha().map_or(0, f32::to_bits);
        h ^= f.soft_targets() as u32;
    }
    for b in [
        BinaryFocal::seed(),
        BinaryFocal::new(None, gamma, 0.0, 1.0).unwrap_or(BinaryFocal::seed()),
    ] {
        h ^= element_paths!(b, p, t, &mut *out);
        h ^= b.gamma().to_bits() ^ b.clamp().0.to_bits() ^ b.alpha().map_or(0, f32::to_bits);
    }
    h
}

static BYTES: [u8; 16] = [1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0];
static BOOLS: [bool; 16] = [
    true, false, true, false, true, true, false, true, true, false, false, true, false, true, true,
    false,
];

/// Every binary entry point with each kind of hard mask.
fn masks(x: &[f32], p: &[f32], out: &mut [f32]) -> u32 {
    let (bytes, bools, bits) = (
        black_box(&BYTES[..]),
        black_box(&BOOLS[..]),
        black_box(&BITS[..]),
    );
    let mut h = 0u32;
    for mask in [
        Mask::bytes(bytes),
        Mask::bools(bools),
        Mask::bits(bits, x.len()),
    ] {
        let focal = SigmoidFocal::torchvision();
        h ^= word(focal.loss(x, mask)) ^ unit(focal.loss_elementwise(x, mask, out));
        h ^= unit(focal.loss_per_sample(x, mask, 2, out));
        let mut acc = focal.accumulator();
        h ^= unit(acc.push(x, mask)) ^ word(acc.finish());
        let seed = BinaryFocal::seed();
        h ^= word(seed.loss(p, mask)) ^ unit(seed.loss_elementwise(p, mask, out));
        h ^= unit(seed.loss_per_sample(p, mask, 4, out));
        let mut acc = seed.accumulator();
        h ^= unit(acc.push(p, mask)) ^ word(acc.finish());
        for dice in [
            OverlapLoss::dice(),
            OverlapLoss::dice().with_predictions(Predictions::Logits),
        ] {
            let pr = if dice.predictions() == Predictions::Logits {
                x
            } else {
                p
            };
            h ^= word(dice.loss(pr, mask)) ^ word(dice.stats(pr, mask).map(|s| s.target_sum));
            h ^= unit(dice.loss_per_sample(pr, mask, 4, out));
            let mut acc = dice.accumulator();
            h ^= unit(acc.push(pr, mask)) ^ word(acc.finish());
        }
    }
    h
}

/// The dice family: every preset, squared, smoothed, on probabilities and on logits.
fn dice_family(x: &[f32], p: &[f32], t: &[f32], out: &mut [f32]) -> u32 {
    let mut h = 0u32;
    let tversky = OverlapLoss::tversky(black_box(0.3), 0.7).unwrap_or(OverlapLoss::dice());
    for base in [
        OverlapLoss::dice(),
        OverlapLoss::jaccard(),
        tversky,
        OverlapLoss::seed_torch_dice(),
        OverlapLoss::seed_keras_dice(),
    ] {
        let squared = base.with_squared(true).unwrap_or(base);
        let smooth = base.with_smoothing(black_box(1.0), 1.0).unwrap_or(base);
        for l in [base, squared, smooth] {
            h ^= overlap_paths(&l, p, t, out);
            h ^= overlap_paths(&l.with_predictions(Predictions::Logits), x, t, out);
            h ^= l.smoothing().0.to_bits() ^ u32::from(l.squared());
            h ^= l.predictions() as u32
                ^ matches!(l.overlap(), loss_core::dice::Overlap::Dice) as u32;
        }
    }
    h
}

/// Reductions, the deterministic sum, non-finite scan.
fn sums(x: &[f32], p: &[f32], t: &[f32]) -> u32 {
    let mut h = word(Reduction::Mean.reduce(x)) ^ word(Reduction::Sum.reduce(p));
    let mut sum = DetSum::<3>::new();
    sum.extend(x.iter().zip(t).map(|(&a, &b)| [a, b, a * b]));
    sum.add([1.0, 2.0, 3.0]);
    h ^= sum.value()[0].to_bits() ^ sum.count() as u32;
    h ^ loss_core::first_non_finite(x).map_or(0, |i| i as u32)
}

/// The label map of the multi-class calls (`u8`, 255 ignored).
fn label_map() -> Targets<'static> {
    Targets::labels(black_box(&LABELS[..])).with_ignore_index(255)
}

/// Softmax and one-vs-rest focal with every kind of target, and the class-loss accumulator.
fn class_losses(shape: &Shape, x: &[f32], t: &[f32], gamma: f32, out: &mut [f32]) -> u32 {
    let map = label_map();
    let wide: [u16; 4] = [0, 1, 2, 3];
    let int: [i32; 4] = [3, 2, 1, 0];
    let mut h = u32::from(map.is_label_map());
    let softmax = SoftmaxFocal::new(ClassAlpha::Background(0.25), gamma, None)
        .unwrap_or(SoftmaxFocal::cross_entropy());
    let weights = [1.0f32, 2.0, 1.0, 0.5];
    let ovr = OneVsRestFocal::new(ClassAlpha::Uniform(0.25), gamma, Some(&weights))
        .map(|l| l.with_soft_targets(SoftTargets::Monai));
    for targets in [
        Targets::dense(t),
        map,
        Targets::labels(black_box(&wide[..])),
        Targets::labels(black_box(&int[..])),
    ] {
        h ^= unit(softmax.loss_elementwise(shape, x, targets, out));
        h ^= unit(softmax.class_sums::<4>(shape, x, targets, out));
        let mut g = [0.0f32; 16];
        h ^= unit(softmax.loss_and_grad_elementwise(shape, x, targets, out, &mut g));
        h ^= g.iter().fold(0, |h, v| h ^ v.to_bits());
        if let Ok(ovr) = ovr {
            h ^= unit(ovr.loss_elementwise(shape, x, targets, out));
            h ^= unit(ovr.class_sums::<4>(shape, x, targets, out));
            let mut g = [0.0f32; 16];
            h ^= unit(ovr.loss_and_grad_elementwise(shape, x, targets, out, &mut g));
            h ^= g.iter().fold(0, |h, v| h ^ v.to_bits());
        }
    }
    if let Ok(mut acc) = ClassLossAccumulator::<_, 4>::new(softmax, 4) {
        h ^= unit(acc.push(Layout::ChannelsLast, x, map));
        h ^= acc.pixels() as u32 ^ acc.classes() as u32 ^ acc.total().to_bits();
        h ^= word(acc.mean_per_element()) ^ word(acc.mean_per_pixel());
        h ^= unit(acc.class_sums(out));
        acc.reset();
    }
    h
}

/// Per-class overlap statistics with every activation, one-shot, pooled and streaming; leaves
/// the last statistics in `stats`.
fn class_overlap(
    shape: &Shape,
    x: &[f32],
    p: &[f32],
    t: &[f32],
    stats: &mut [OverlapStats; 4],
) -> u32 {
    let (map, dense) = (label_map(), Targets::dense(t));
    let mut h = 0u32;
    for activation in [
        Activation::None,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Tanh,
    ] {
        let overlap = ClassOverlap {
            activation,
            ..ClassOverlap::default()
        };
        let scores = if activation == Activation::None { p } else { x };
        h ^= unit(overlap.class_stats::<4>(shape, scores, map, stats));
        h ^= unit(overlap.pooled_class_stats::<4>(shape, scores, dense, stats));
        if let Ok(mut acc) = ClassStatsAccumulator::<4>::new(overlap, 4) {
            h ^= unit(acc.push(Layout::ChannelsLast, scores, map)) ^ acc.pixels() as u32;
            h ^= unit(acc.stats(stats));
            acc.reset();
        }
    }
    h
}

/// Class reductions and generalized dice (every weight type) of per-class statistics.
fn class_reductions(stats: &[OverlapStats; 4], out: &mut [f32]) -> u32 {
    let mut h = 0u32;
    let dice = OverlapLoss::dice();
    for reduction in [ClassReduction::monai(), ClassReduction::default()] {
        h ^= word(reduction.reduce(&dice, stats, 4));
        h ^= reduction
            .losses(&dice, stats, 4, out)
            .map_or(0, |n| n as u32);
    }
    for wt in [WeightType::Square, WeightType::Simple, WeightType::Uniform] {
        let g = GeneralizedDice::new(wt, 1e-5, 1e-5).unwrap_or(GeneralizedDice::monai());
        h ^= word(g.loss(stats));
    }
    h
}

/// Confusion counts (argmax and threshold) and every hard metric.
fn confusion(x: &[f32]) -> u32 {
    let mut h = 0u32;
    for decision in [Decision::Argmax, Decision::Threshold(0.0)] {
        if let Ok(mut acc) = ConfusionAccumulator::<4>::new(decision, 4) {
            h ^= unit(acc.push(Layout::ChannelsLast, x, label_map()));
            let counts = acc.counts();
            for m in [
                Metric::Dice,
                Metric::Iou,
                Metric::Precision,
                Metric::Recall,
                Metric::Specificity,
            ] {
                h ^= macro_average(counts, m, true, Undefined::Skip).map_or(0, f32::to_bits);
                h ^= counts
                    .first()
                    .and_then(|c| c.metric(m))
                    .map_or(0, f32::to_bits);
            }
            h ^= counts.first().map_or(0, |c| c.support() as u32);
            acc.reset();
        }
    }
    h
}
