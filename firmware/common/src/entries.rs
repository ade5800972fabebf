//! One call per public entry point, for stack painting (`bins/stack.rs`): each runs on 256
//! elements (or 64 pixels x 4 classes) of the synthetic data and returns a checksum word. The
//! binary entry points also run with the same targets as a hard mask (bytes, bits).

use core::hint::black_box;

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, Decision, GeneralizedDice, Layout, OneVsRestFocal,
    Shape, SoftmaxFocal, Targets,
};
use loss_core::quantized::{CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::{Mask, Predictions, Reduction};

use crate::data::{C, CODES, LABELS, LOGITS, MASK, MASK_BITS, PROBABILITIES, TARGETS};

const LEN: usize = 256;

fn x() -> &'static [f32] {
    black_box(&LOGITS[..LEN])
}
fn p() -> &'static [f32] {
    black_box(&PROBABILITIES[..LEN])
}
fn t() -> &'static [f32] {
    black_box(&TARGETS[..LEN])
}
/// [`t`] as 0/1 bytes.
fn bytes() -> Mask<'static> {
    Mask::bytes(black_box(&MASK[..LEN]))
}
/// [`t`] bit-packed.
fn packed() -> Mask<'static> {
    Mask::bits(black_box(&MASK_BITS[..LEN / 8]), LEN)
}
fn bits(r: Result<f32, loss_core::Error>) -> u32 {
    r.map_or(u32::MAX, f32::to_bits)
}
fn ok(r: Result<(), loss_core::Error>) -> u32 {
    u32::from(r.is_ok())
}
/// Output buffer outside the stack, so that stack figures are those of the call alone.
fn out_buffer() -> &'static mut [f32; LEN] {
    static mut OUT: [f32; LEN] = [0.0; LEN];
    // SAFETY: single-threaded firmware, and each entry point takes the buffer once and drops
    // it before returning, so no two `&mut` to it are ever alive together.
    unsafe { &mut *core::ptr::addr_of_mut!(OUT) }
}
fn shape() -> Option<Shape> {
    Shape::new(1, C, LEN / C, Layout::ChannelsLast).ok()
}
fn labels() -> Targets<'static> {
    Targets::labels(black_box(&LABELS[..LEN / C]))
}

fn sigmoid_focal_mean() -> u32 {
    bits(SigmoidFocal::torchvision().loss(x(), t()))
}
fn sigmoid_focal_gamma_half() -> u32 {
    let l = SigmoidFocal::new(Some(0.25), 0.5).unwrap_or(SigmoidFocal::torchvision());
    bits(l.loss(x(), t()))
}
fn sigmoid_focal_kornia_soft() -> u32 {
    let l = SigmoidFocal::torchvision().with_soft_targets(SoftTargets::Kornia);
    bits(l.with_reduction(Reduction::Sum).loss(x(), p()))
}
fn sigmoid_focal_elementwise() -> u32 {
    ok(SigmoidFocal::torchvision().loss_elementwise(x(), t(), out_buffer()))
}
fn sigmoid_focal_per_sample() -> u32 {
    ok(SigmoidFocal::torchvision().loss_per_sample(x(), t(), 4, out_buffer()))
}
fn sigmoid_focal_stream() -> u32 {
    let mut acc = SigmoidFocal::torchvision().accumulator();
    let _ = acc.push(&x()[..100], &t()[..100]);
    let _ = acc.push(&x()[100..], &t()[100..]);
    bits(acc.finish())
}
fn binary_focal_mean() -> u32 {
    bits(BinaryFocal::seed().loss(p(), t()))
}
fn binary_focal_gamma_half() -> u32 {
    let l = BinaryFocal::new(Some(0.25), 0.5, 1e-3, 0.999).unwrap_or(BinaryFocal::seed());
    bits(l.loss(p(), t()))
}
fn dice_loss() -> u32 {
    bits(OverlapLoss::dice().loss(p(), t()))
}
fn dice_logits() -> u32 {
    bits(
        OverlapLoss::dice()
            .with_predictions(Predictions::Logits)
            .loss(x(), t()),
    )
}
fn tversky_loss() -> u32 {
    let l = OverlapLoss::tversky(0.3, 0.7).unwrap_or(OverlapLoss::dice());
    bits(l.loss(p(), t()))
}
fn dice_per_sample() -> u32 {
    ok(OverlapLoss::dice().loss_per_sample(p(), t(), 4, out_buffer()))
}
fn dice_stream() -> u32 {
    let mut acc = OverlapLoss::dice().accumulator();
    let _ = acc.push(&p()[..100], &t()[..100]);
    let _ = acc.push(&p()[100..], &t()[100..]);
    bits(acc.finish())
}
fn reduce() -> u32 {
    bits(Reduction::Mean.reduce(x()))
}
fn softmax_focal_stream() -> u32 {
    let l = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None)
        .unwrap_or(SoftmaxFocal::cross_entropy());
    match ClassLossAccumulator::<_, C>::new(l, C) {
        Ok(mut acc) => {
            let _ = acc.push(Layout::ChannelsLast, x(), labels());
            bits(acc.mean_per_element())
        }
        Err(_) => 0,
    }
}
fn softmax_focal_elementwise() -> u32 {
    let Some(shape) = shape() else { return 0 };
    let l = SoftmaxFocal::cross_entropy();
    ok(l.loss_elementwise(&shape, x(), labels(), out_buffer()))
}
fn one_vs_rest_focal_class_sums() -> u32 {
    let Some(shape) = shape() else { return 0 };
    match OneVsRestFocal::new(ClassAlpha::Uniform(0.25), 2.0, None) {
        Ok(l) => ok(l.class_sums::<C>(&shape, x(), labels(), out_buffer())),
        Err(_) => 0,
    }
}
fn class_dice_softmax() -> u32 {
    let Some(shape) = shape() else { return 0 };
    let overlap = ClassOverlap {
        activation: Activation::Softmax,
        ..ClassOverlap::default()
    };
    let mut stats = [OverlapStats::default(); C];
    let _ = overlap.class_stats::<C>(&shape, x(), labels(), &mut stats);
    bits(ClassReduction::monai().reduce(&OverlapLoss::dice(), &stats, C))
}
fn class_stats_stream() -> u32 {
    let overlap = ClassOverlap {
        activation: Activation::Sigmoid,
        ..ClassOverlap::default()
    };
    let mut stats = [OverlapStats::default(); C];
    match ClassStatsAccumulator::<C>::new(overlap, C) {
        Ok(mut acc) => {
            let _ = acc.push(Layout::ChannelsLast, x(), labels());
            ok(acc.stats(&mut stats))
        }
        Err(_) => 0,
    }
}
fn generalized_dice() -> u32 {
    let Some(shape) = shape() else { return 0 };
    let overlap = ClassOverlap::default();
    let mut stats = [OverlapStats::default(); C];
    let _ = overlap.pooled_class_stats::<C>(&shape, p(), labels(), &mut stats);
    bits(GeneralizedDice::monai().loss(&stats))
}
fn confusion_argmax() -> u32 {
    match ConfusionAccumulator::<C>::new(Decision::Argmax, C) {
        Ok(mut acc) => {
            let _ = acc.push(Layout::ChannelsLast, x(), labels());
            acc.counts().first().map_or(0, |c| c.true_positives as u32)
        }
        Err(_) => 0,
    }
}

/// The quantized path's state, outside the stack as the output buffers are: the counts (2 KiB)
/// and the tables (2 KiB and 1 KiB), filled in place by [`setup`] before the probe (and again
/// by the `fill` entries, the same tables). The constructors' own entries keep their returned
/// value in their frame, so it is in their figures.
struct Quantized {
    counts: CodeCounts<i8>,
    focal: QuantizedFocal<i8>,
    dice: QuantizedOverlap<i8>,
}
fn quantized() -> &'static mut Quantized {
    static mut STATE: Quantized = Quantized {
        counts: CodeCounts::new(),
        focal: QuantizedFocal::EMPTY,
        dice: QuantizedOverlap::EMPTY,
    };
    // SAFETY: single-threaded firmware, and each entry point takes the state once and drops
    // it before returning, so no two `&mut` to it are ever alive together.
    unsafe { &mut *core::ptr::addr_of_mut!(STATE) }
}
/// Builds the quantized tables that the `loss` entry points read (before any is probed).
pub fn setup() {
    int8_focal_fill();
    int8_dice_fill();
}
/// [`MASK`] as `bool`s.
static BOOLS: [bool; LEN] = {
    let mut out = [false; LEN];
    let mut i = 0;
    while i < LEN {
        out[i] = MASK[i] == 1;
        i += 1;
    }
    out
};
fn codes() -> &'static [i8] {
    black_box(&CODES[..LEN])
}
/// The cost kernels' quantization (`cost::INT8`).
const INT8: Quantization = match Quantization::new(0.046_875, -2) {
    Ok(q) => q,
    Err(_) => panic!("invalid quantization"), // evaluated at compile time
};
fn int8() -> Quantization {
    black_box(INT8)
}
fn int8_push_bytes() -> u32 {
    let mask = Mask::bytes(black_box(&MASK[..LEN]));
    ok(quantized().counts.push(codes(), mask))
}
fn int8_push_bools() -> u32 {
    let mask = Mask::bools(black_box(&BOOLS[..]));
    ok(quantized().counts.push(codes(), mask))
}
fn int8_push_bits() -> u32 {
    let mask = Mask::bits(black_box(&MASK_BITS[..LEN / 8]), LEN);
    ok(quantized().counts.push(codes(), mask))
}
fn int8_focal_new() -> u32 {
    // The returned value (2 KiB) stays in this frame.
    let focal = QuantizedFocal::<i8>::new(&SigmoidFocal::torchvision(), int8());
    u32::from(black_box(&focal).is_ok())
}
fn int8_focal_fill() -> u32 {
    ok(quantized().focal.fill(&SigmoidFocal::torchvision(), int8()))
}
fn int8_focal_loss() -> u32 {
    let q = quantized();
    bits(q.focal.loss(&q.counts))
}
fn int8_dice_new() -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    let dice = QuantizedOverlap::<i8>::new(&dice, int8());
    u32::from(black_box(&dice).is_ok())
}
fn int8_dice_fill() -> u32 {
    let dice = OverlapLoss::dice().with_predictions(Predictions::Logits);
    ok(quantized().dice.fill(&dice, int8()))
}
fn int8_dice_loss() -> u32 {
    let q = quantized();
    bits(q.dice.loss(&q.counts))
}
fn int8_confusion() -> u32 {
    let q = quantized();
    q.counts
        .confusion(int8(), black_box(0.0))
        .map_or(0, |c| c.true_positives as u32)
}
fn sigmoid_focal_bits() -> u32 {
    bits(SigmoidFocal::torchvision().loss(x(), packed()))
}
fn sigmoid_focal_bytes() -> u32 {
    bits(SigmoidFocal::torchvision().loss(x(), bytes()))
}
fn sigmoid_focal_elementwise_bits() -> u32 {
    ok(SigmoidFocal::torchvision().loss_elementwise(x(), packed(), out_buffer()))
}
fn sigmoid_focal_per_sample_bits() -> u32 {
    ok(SigmoidFocal::torchvision().loss_per_sample(x(), packed(), 4, out_buffer()))
}
fn sigmoid_focal_stream_bits() -> u32 {
    let mut acc = SigmoidFocal::torchvision().accumulator();
    let _ = acc.push(&x()[..96], Mask::bits(black_box(&MASK_BITS[..12]), 96));
    let _ = acc.push(
        &x()[96..],
        Mask::bits(black_box(&MASK_BITS[12..LEN / 8]), LEN - 96),
    );
    bits(acc.finish())
}
fn binary_focal_bits() -> u32 {
    bits(BinaryFocal::seed().loss(p(), packed()))
}
fn dice_bits() -> u32 {
    bits(OverlapLoss::dice().loss(p(), packed()))
}
fn dice_bytes() -> u32 {
    bits(OverlapLoss::dice().loss(p(), bytes()))
}
fn dice_logits_bits() -> u32 {
    bits(
        OverlapLoss::dice()
            .with_predictions(Predictions::Logits)
            .loss(x(), packed()),
    )
}
fn dice_per_sample_bits() -> u32 {
    ok(OverlapLoss::dice().loss_per_sample(p(), packed(), 4, out_buffer()))
}
fn dice_stream_bits() -> u32 {
    let mut acc = OverlapLoss::dice().accumulator();
    let _ = acc.push(&p()[..96], Mask::bits(black_box(&MASK_BITS[..12]), 96));
    let _ = acc.push(
        &p()[96..],
        Mask::bits(black_box(&MASK_BITS[12..LEN / 8]), LEN - 96),
    );
    bits(acc.finish())
}

/// An entry point: its name and a call of it.
pub type Entry = (&'static str, fn() -> u32);

/// The entry points, by name.
pub static ENTRIES: &[Entry] = &[
    ("SigmoidFocal::loss (gamma 2, mean)", sigmoid_focal_mean),
    ("SigmoidFocal::loss (gamma 0.5)", sigmoid_focal_gamma_half),
    (
        "SigmoidFocal::loss (kornia, soft)",
        sigmoid_focal_kornia_soft,
    ),
    ("SigmoidFocal::loss_elementwise", sigmoid_focal_elementwise),
    ("SigmoidFocal::loss_per_sample", sigmoid_focal_per_sample),
    ("LossAccumulator push + finish", sigmoid_focal_stream),
    ("BinaryFocal::loss (seed)", binary_focal_mean),
    ("BinaryFocal::loss (gamma 0.5)", binary_focal_gamma_half),
    ("OverlapLoss::loss (dice)", dice_loss),
    ("OverlapLoss::loss (dice, logits)", dice_logits),
    ("OverlapLoss::loss (tversky)", tversky_loss),
    ("OverlapLoss::loss_per_sample", dice_per_sample),
    ("OverlapAccumulator push + finish", dice_stream),
    ("SigmoidFocal::loss (bit mask)", sigmoid_focal_bits),
    ("SigmoidFocal::loss (u8 mask)", sigmoid_focal_bytes),
    (
        "SigmoidFocal::loss_elementwise (bit mask)",
        sigmoid_focal_elementwise_bits,
    ),
    (
        "SigmoidFocal::loss_per_sample (bit mask)",
        sigmoid_focal_per_sample_bits,
    ),
    (
        "LossAccumulator push + finish (bit mask)",
        sigmoid_focal_stream_bits,
    ),
    ("BinaryFocal::loss (seed, bit mask)", binary_focal_bits),
    ("OverlapLoss::loss (dice, bit mask)", dice_bits),
    ("OverlapLoss::loss (dice, u8 mask)", dice_bytes),
    (
        "OverlapLoss::loss (dice, logits, bit mask)",
        dice_logits_bits,
    ),
    (
        "OverlapLoss::loss_per_sample (bit mask)",
        dice_per_sample_bits,
    ),
    (
        "OverlapAccumulator push + finish (bit mask)",
        dice_stream_bits,
    ),
    ("Reduction::reduce", reduce),
    (
        "ClassLossAccumulator<SoftmaxFocal, 4>",
        softmax_focal_stream,
    ),
    ("SoftmaxFocal::loss_elementwise", softmax_focal_elementwise),
    ("OneVsRestFocal::class_sums", one_vs_rest_focal_class_sums),
    ("ClassOverlap::class_stats + reduce", class_dice_softmax),
    ("ClassStatsAccumulator<4> push + stats", class_stats_stream),
    ("GeneralizedDice::loss", generalized_dice),
    ("ConfusionAccumulator<4> (argmax)", confusion_argmax),
    ("CodeCounts::push (u8 mask)", int8_push_bytes),
    ("CodeCounts::push (bool mask)", int8_push_bools),
    ("CodeCounts::push (bit mask)", int8_push_bits),
    ("QuantizedFocal::new (int8, 2 KiB table)", int8_focal_new),
    ("QuantizedFocal::fill (in place)", int8_focal_fill),
    ("QuantizedFocal::loss", int8_focal_loss),
    ("QuantizedOverlap::new (int8, 1 KiB table)", int8_dice_new),
    ("QuantizedOverlap::fill (in place)", int8_dice_fill),
    ("QuantizedOverlap::loss (dice)", int8_dice_loss),
    ("CodeCounts::confusion", int8_confusion),
];
