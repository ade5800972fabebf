//! loss-core's multi-class API on arbitrary shapes, scores (any f32 bits), codes, label maps
//! and parameters: the one-shot functions, the loss, statistics, confusion and segmentation
//! accumulators with `push` and `push_codes` (per-tensor or per-class `ClassQuantization`).
//! A value or an `Error`, never a panic; a failed push leaves an accumulator unchanged.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use loss_core::Predictions;
use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::SoftTargets;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, Decision, GeneralizedDice, Intersection, Layout,
    OneVsRestFocal, SegmentationAccumulator, Shape, SoftmaxFocal, Targets, WeightType,
};
use loss_core::quantized::{ClassQuantization, Quantization};

const CAP: usize = 6;

#[derive(Debug, Arbitrary)]
struct Input {
    batch: u8,
    classes: u8,
    spatial: u8,
    channels_last: bool,
    loss_kind: u8,
    alpha_kind: u8,
    alpha: f32,
    gamma: f32,
    weights: Option<Vec<f32>>,
    alphas: Vec<f32>,
    probabilities: bool,
    activation: u8,
    squared: bool,
    min_intersection: bool,
    threshold: Option<f32>,
    target_kind: u8,
    ignore_index: Option<i32>,
    quantizations: Vec<(f32, i32)>,
    per_class: bool,
    split: u8,
    out_len: u8,
    scores: Vec<f32>,
    codes: Vec<i8>,
    dense: Vec<f32>,
    labels: Vec<u16>,
}

/// Pushes `a` and `b` with `push`, checking that a failed push changes nothing.
macro_rules! push_unchanged {
    ($acc:expr, $call:expr) => {{
        let before = format!("{:?}", $acc);
        if $call.is_err() {
            assert_eq!(
                format!("{:?}", $acc),
                before,
                "a failed push changed the accumulator"
            );
        }
    }};
}

fn run<L: ClassLoss + core::fmt::Debug>(input: &Input, loss: L, targets: Targets<'_>) {
    let classes = usize::from(input.classes);
    let layout = if input.channels_last {
        Layout::ChannelsLast
    } else {
        Layout::ChannelsFirst
    };
    let mut out = vec![0.0f32; usize::from(input.out_len)];
    if let Ok(shape) = Shape::new(
        usize::from(input.batch),
        classes,
        usize::from(input.spatial),
        layout,
    ) {
        let _ = loss.loss_elementwise(&shape, &input.scores, targets, &mut out);
        let _ = loss.class_sums::<CAP>(&shape, &input.scores, targets, &mut out);
        let overlap = overlap(input);
        let mut stats = vec![OverlapStats::default(); usize::from(input.out_len)];
        let _ = overlap.class_stats::<CAP>(&shape, &input.scores, targets, &mut stats);
        let _ = overlap.pooled_class_stats::<CAP>(&shape, &input.scores, targets, &mut stats);
        for r in [ClassReduction::monai(), ClassReduction::default()] {
            let _ = r.reduce(&OverlapLoss::dice(), &stats, classes);
            let _ = r.losses(&OverlapLoss::dice(), &stats, classes, &mut out);
        }
        for wt in [WeightType::Square, WeightType::Simple, WeightType::Uniform] {
            if let Ok(g) = GeneralizedDice::new(wt, input.alpha, input.gamma) {
                let _ = g.with_include_background(input.squared).loss(&stats);
            }
        }
    }
    let quantizations: Vec<Quantization> = input
        .quantizations
        .iter()
        .filter_map(|&(s, z)| Quantization::new(s, z).ok())
        .collect();
    let q = if input.per_class {
        ClassQuantization::<i8>::per_class(&quantizations)
    } else {
        quantizations.first().copied().map_or(
            Err(loss_core::Error::EmptyInput),
            ClassQuantization::per_tensor,
        )
    };
    let k = usize::from(input.split).min(input.scores.len());
    let j = usize::from(input.split).min(input.codes.len());
    let decision = input
        .threshold
        .map_or(Decision::Argmax, Decision::Threshold);
    if let Ok(mut acc) = ClassLossAccumulator::<L, CAP>::new(loss, classes) {
        for part in [&input.scores[..k], &input.scores[k..]] {
            push_unchanged!(acc, acc.push(layout, part, targets));
        }
        if let Ok(q) = &q {
            push_unchanged!(acc, acc.push_codes(layout, &input.codes[..j], q, targets));
        }
        let _ = (
            acc.pixels(),
            acc.classes(),
            acc.total(),
            acc.class_sums(&mut out),
        );
        let _ = (acc.mean_per_element(), acc.mean_per_pixel());
    }
    if let Ok(mut acc) = ClassStatsAccumulator::<CAP>::new(overlap(input), classes) {
        push_unchanged!(acc, acc.push(layout, &input.scores, targets));
        if let Ok(q) = &q {
            push_unchanged!(acc, acc.push_codes(layout, &input.codes, q, targets));
        }
        let mut stats = vec![OverlapStats::default(); usize::from(input.out_len)];
        let _ = (acc.pixels(), acc.stats(&mut stats));
    }
    if let Ok(mut acc) = ConfusionAccumulator::<CAP>::new(decision, classes) {
        push_unchanged!(acc, acc.push(layout, &input.scores, targets));
        if let Ok(q) = &q {
            push_unchanged!(acc, acc.push_codes(layout, &input.codes, q, targets));
        }
        for c in acc.counts() {
            let _ = (c.metric(loss_core::multiclass::Metric::Dice), c.support());
        }
    }
    if let Ok(mut acc) =
        SegmentationAccumulator::<L, CAP>::new(Some(loss), overlap(input), decision, classes)
    {
        push_unchanged!(acc, acc.push(layout, &input.scores, targets));
        if let Ok(q) = &q {
            push_unchanged!(acc, acc.push_codes(layout, &input.codes, q, targets));
        }
    }
}

fn overlap(input: &Input) -> ClassOverlap {
    ClassOverlap {
        activation: match input.activation % 4 {
            0 => Activation::None,
            1 => Activation::Sigmoid,
            2 => Activation::Softmax,
            _ => Activation::Tanh,
        },
        squared: input.squared,
        intersection: if input.min_intersection {
            Intersection::Min
        } else {
            Intersection::Product
        },
    }
}

fuzz_target!(|input: Input| {
    let alpha = match input.alpha_kind % 5 {
        0 => ClassAlpha::None,
        1 => ClassAlpha::Background(input.alpha),
        2 => ClassAlpha::Uniform(input.alpha),
        3 => ClassAlpha::PerClass(&input.alphas),
        _ => ClassAlpha::Positives(&input.alphas),
    };
    let labels8: Vec<u8> = input.labels.iter().map(|&l| l as u8).collect();
    let labels32: Vec<i32> = input.labels.iter().map(|&l| i32::from(l)).collect();
    let targets = match input.target_kind % 4 {
        0 => Targets::dense(&input.dense),
        1 => Targets::labels(&labels8),
        2 => Targets::labels(&input.labels),
        _ => Targets::labels(&labels32),
    };
    let targets = match input.ignore_index {
        Some(i) => targets.with_ignore_index(i),
        None => targets,
    };
    let weights = input.weights.as_deref();
    let predictions = if input.probabilities {
        Predictions::Probabilities
    } else {
        Predictions::Logits
    };
    if input.loss_kind % 2 == 0 {
        if let Ok(l) = SoftmaxFocal::new(alpha, input.gamma, weights) {
            let l = l.with_predictions(predictions);
            match l.with_probability_clip(input.alpha, 1.0 - input.alpha) {
                Ok(clipped) if input.squared => run(&input, clipped, targets),
                _ => run(&input, l, targets),
            }
        }
    } else if let Ok(l) = OneVsRestFocal::new(alpha, input.gamma, weights) {
        let soft = [
            SoftTargets::Torchvision,
            SoftTargets::Monai,
            SoftTargets::Kornia,
            SoftTargets::Smp,
        ];
        run(
            &input,
            l.with_soft_targets(soft[usize::from(input.activation % 4)]),
            targets,
        );
    }
});
