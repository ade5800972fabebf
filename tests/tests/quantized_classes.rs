//! Quantized multi-class scores (`push_codes`) against their stated semantics:
//! - per class, or where a reader needs the scores themselves: the bits of `push` on the
//!   dequantized scores;
//! - per tensor with only shift-invariant readers that take a softmax: the bits of `push` on
//!   `scale · (q_c - q_max)`, the pixel's codes relative to its highest code;
//! - against the f64 oracle on the dequantized values: softmax focal at least as accurate as
//!   the f32 path (printed by `cargo test -p loss-tests --test quantized_classes -- --nocapture`);
//! - bad input: a named error, the accumulator unchanged.

use loss_core::dice::OverlapStats;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassStatsAccumulator,
    ConfusionAccumulator, Decision, Layout, OneVsRestFocal, SegmentationAccumulator, SoftmaxFocal,
    Targets,
};
use loss_core::quantized::{ClassQuantization, Quantization};
use loss_core::{Error, Operand, Predictions};
use loss_tests::oracle::multiclass as o;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const CAP: usize = 6;

/// A quantized frame: `i8` codes, their per-class quantizations, labels or dense targets.
#[derive(Debug, Clone)]
struct Frame {
    classes: usize,
    layout: Layout,
    codes: Vec<i8>,
    params: Vec<Quantization>,
    labels: Vec<u8>,
    ignore: Option<i32>,
    dense: Option<Vec<f32>>,
}

impl Frame {
    fn pixels(&self) -> usize {
        self.codes.len() / self.classes
    }

    fn index(&self, s: usize, c: usize) -> usize {
        match self.layout {
            Layout::ChannelsFirst => c * self.pixels() + s,
            Layout::ChannelsLast => s * self.classes + c,
        }
    }

    fn targets(&self) -> Targets<'_> {
        match (&self.dense, self.ignore) {
            (Some(d), _) => Targets::dense(d),
            (None, Some(i)) => Targets::labels(&self.labels).with_ignore_index(i),
            (None, None) => Targets::labels(&self.labels),
        }
    }

    /// Per tensor: the first class's quantization for every class.
    fn quantization(&self, per_tensor: bool) -> ClassQuantization<'_, i8> {
        if per_tensor {
            ClassQuantization::per_tensor(self.params[0]).unwrap()
        } else {
            ClassQuantization::per_class(&self.params[..self.classes]).unwrap()
        }
    }

    /// The dequantized scores, as a firmware would compute them first.
    fn dequantized(&self, per_tensor: bool) -> Vec<f32> {
        let mut x = vec![0.0; self.codes.len()];
        for s in 0..self.pixels() {
            for c in 0..self.classes {
                let q = self.params[if per_tensor { 0 } else { c }];
                x[self.index(s, c)] = q.dequantize(self.codes[self.index(s, c)]);
            }
        }
        x
    }

    /// `scale · (q_c - q_max)` per pixel (per tensor).
    fn shifted(&self) -> Vec<f32> {
        let scale = self.params[0].scale();
        let mut x = vec![0.0; self.codes.len()];
        for s in 0..self.pixels() {
            let top = (0..self.classes)
                .map(|c| i32::from(self.codes[self.index(s, c)]))
                .max()
                .unwrap();
            for c in 0..self.classes {
                let d = top - i32::from(self.codes[self.index(s, c)]);
                x[self.index(s, c)] = scale * (-d) as f32;
            }
        }
        x
    }
}

fn frame() -> impl Strategy<Value = Frame> {
    let scales = prop_oneof![
        Just(0.0625f32),
        Just(0.1),
        Just(0.37),
        Just(1.9),
        0.001f32..4.0,
        Just(1e37), // 255 · scale overflows: no softmax table
    ];
    (1..=CAP, 1..40usize, any::<bool>(), 0..4u8).prop_flat_map(
        move |(classes, pixels, last, kind)| {
            let layout = if last {
                Layout::ChannelsLast
            } else {
                Layout::ChannelsFirst
            };
            let n = classes * pixels;
            (
                proptest::collection::vec(any::<i8>(), n),
                proptest::collection::vec((scales.clone(), -128..=127i32), CAP),
                proptest::collection::vec(0..=classes as u8, pixels),
                proptest::collection::vec(0.0f32..=1.0, n),
            )
                .prop_map(move |(codes, params, labels, soft)| {
                    let params = params
                        .into_iter()
                        .map(|(s, z)| Quantization::new(s, z).unwrap())
                        .collect();
                    // Label `classes` is ignored (kind 1) or clamped to a class.
                    let (labels, ignore) = match kind {
                        1 => (labels, Some(classes as i32)),
                        _ => (
                            labels.iter().map(|&l| l.min(classes as u8 - 1)).collect(),
                            None,
                        ),
                    };
                    let dense = (kind == 3).then_some(soft);
                    Frame {
                        classes,
                        layout,
                        codes,
                        params,
                        labels,
                        ignore,
                        dense,
                    }
                })
        },
    )
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn stats_bits(v: &[OverlapStats]) -> Vec<[u32; 3]> {
    v.iter()
        .map(|s| {
            [
                s.intersection.to_bits(),
                s.prediction_sum.to_bits(),
                s.target_sum.to_bits(),
            ]
        })
        .collect()
}

fn loss_sums<L: ClassLoss>(
    loss: L,
    f: &Frame,
    per_tensor: bool,
    scores: &[f32],
) -> (Vec<u32>, Vec<u32>) {
    let q = f.quantization(per_tensor);
    let mut codes = ClassLossAccumulator::<L, CAP>::new(loss, f.classes).unwrap();
    codes
        .push_codes(f.layout, &f.codes, &q, f.targets())
        .unwrap();
    let mut floats = ClassLossAccumulator::<L, CAP>::new(loss, f.classes).unwrap();
    floats.push(f.layout, scores, f.targets()).unwrap();
    let (mut a, mut b) = ([0.0; CAP], [0.0; CAP]);
    codes.class_sums(&mut a).unwrap();
    floats.class_sums(&mut b).unwrap();
    assert_eq!(codes.pixels(), floats.pixels());
    (bits(&a[..f.classes]), bits(&b[..f.classes]))
}

fn class_stats(
    overlap: ClassOverlap,
    f: &Frame,
    per_tensor: bool,
    scores: &[f32],
) -> (Vec<[u32; 3]>, Vec<[u32; 3]>) {
    let q = f.quantization(per_tensor);
    let mut codes = ClassStatsAccumulator::<CAP>::new(overlap, f.classes).unwrap();
    codes
        .push_codes(f.layout, &f.codes, &q, f.targets())
        .unwrap();
    let mut floats = ClassStatsAccumulator::<CAP>::new(overlap, f.classes).unwrap();
    floats.push(f.layout, scores, f.targets()).unwrap();
    let (mut a, mut b) = (
        [OverlapStats::default(); CAP],
        [OverlapStats::default(); CAP],
    );
    codes.stats(&mut a).unwrap();
    floats.stats(&mut b).unwrap();
    (stats_bits(&a[..f.classes]), stats_bits(&b[..f.classes]))
}

fn table(f: &Frame, per_tensor: bool) -> bool {
    per_tensor && (f.params[0].scale() * 255.0).is_finite()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn softmax_focal_reads_codes_relative_to_the_highest(f in frame(), per_tensor: bool, gamma in prop_oneof![Just(0.0f32), Just(2.0), Just(0.5)]) {
        let loss = SoftmaxFocal::new(ClassAlpha::Background(0.25), gamma, None).unwrap();
        let scores = if table(&f, per_tensor) { f.shifted() } else { f.dequantized(per_tensor) };
        let (a, b) = loss_sums(loss, &f, per_tensor, &scores);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn one_vs_rest_reads_the_dequantized_scores(f in frame(), per_tensor: bool) {
        let loss = OneVsRestFocal::new(ClassAlpha::Uniform(0.25), 2.0, None).unwrap();
        let (a, b) = loss_sums(loss, &f, per_tensor, &f.dequantized(per_tensor));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn statistics_follow_their_activation(f in frame(), per_tensor: bool, act in 0..3u8) {
        let activation = [Activation::Softmax, Activation::Sigmoid, Activation::Tanh][usize::from(act)];
        let overlap = ClassOverlap { activation, ..ClassOverlap::default() };
        let shift = activation == Activation::Softmax && table(&f, per_tensor);
        let scores = if shift { f.shifted() } else { f.dequantized(per_tensor) };
        let (a, b) = class_stats(overlap, &f, per_tensor, &scores);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn confusion_counts_decide_on_the_dequantized_scores(f in frame(), per_tensor: bool, threshold: bool) {
        let decision = if threshold { Decision::Threshold(0.0) } else { Decision::Argmax };
        let q = f.quantization(per_tensor);
        let mut codes = ConfusionAccumulator::<CAP>::new(decision, f.classes).unwrap();
        codes.push_codes(f.layout, &f.codes, &q, f.targets()).unwrap();
        let mut floats = ConfusionAccumulator::<CAP>::new(decision, f.classes).unwrap();
        floats.push(f.layout, &f.dequantized(per_tensor), f.targets()).unwrap();
        prop_assert_eq!(codes.counts(), floats.counts());
    }

    #[test]
    fn one_pass_equals_its_readers(f in frame(), per_tensor: bool, threshold: bool) {
        let loss = SoftmaxFocal::new(ClassAlpha::None, 2.0, None).unwrap();
        let overlap = ClassOverlap { activation: Activation::Softmax, ..ClassOverlap::default() };
        let decision = if threshold { Decision::Threshold(0.0) } else { Decision::Argmax };
        let q = f.quantization(per_tensor);
        let mut codes = SegmentationAccumulator::<_, CAP>::new(Some(loss), overlap, decision, f.classes).unwrap();
        codes.push_codes(f.layout, &f.codes, &q, f.targets()).unwrap();
        let shift = !threshold && table(&f, per_tensor);
        let scores = if shift { f.shifted() } else { f.dequantized(per_tensor) };
        let mut floats = SegmentationAccumulator::<_, CAP>::new(Some(loss), overlap, decision, f.classes).unwrap();
        floats.push(f.layout, &scores, f.targets()).unwrap();
        let (mut a, mut b) = ([0.0; CAP], [0.0; CAP]);
        codes.class_sums(&mut a).unwrap();
        floats.class_sums(&mut b).unwrap();
        prop_assert_eq!(bits(&a), bits(&b));
        let (mut a, mut b) = ([OverlapStats::default(); CAP], [OverlapStats::default(); CAP]);
        codes.stats(&mut a).unwrap();
        floats.stats(&mut b).unwrap();
        prop_assert_eq!(stats_bits(&a), stats_bits(&b));
        prop_assert_eq!(codes.counts(), floats.counts());
    }

    #[test]
    fn chunks_give_the_bits_of_one_push(f in frame(), split in 0..40usize) {
        prop_assume!(f.layout == Layout::ChannelsLast && f.dense.is_none());
        let loss = SoftmaxFocal::new(ClassAlpha::None, 2.0, None).unwrap();
        let q = f.quantization(true);
        let mut whole = ClassLossAccumulator::<_, CAP>::new(loss, f.classes).unwrap();
        whole.push_codes(f.layout, &f.codes, &q, f.targets()).unwrap();
        let k = split.min(f.pixels());
        let labels = |r: core::ops::Range<usize>| match f.ignore {
            Some(i) => Targets::labels(&f.labels[r]).with_ignore_index(i),
            None => Targets::labels(&f.labels[r]),
        };
        let mut parts = ClassLossAccumulator::<_, CAP>::new(loss, f.classes).unwrap();
        parts.push_codes(f.layout, &f.codes[..k * f.classes], &q, labels(0..k)).unwrap();
        parts.push_codes(f.layout, &f.codes[k * f.classes..], &q, labels(k..f.pixels())).unwrap();
        let (mut a, mut b) = ([0.0; CAP], [0.0; CAP]);
        whole.class_sums(&mut a).unwrap();
        parts.class_sums(&mut b).unwrap();
        prop_assert_eq!(bits(&a), bits(&b));
    }
}

#[test]
fn bad_quantization_is_a_named_error_and_changes_nothing() {
    let q = Quantization::new(0.1, 0).unwrap();
    assert_eq!(
        ClassQuantization::<u8>::per_tensor(Quantization::new(0.1, -1).unwrap()).err(),
        Some(Error::InvalidParameter("zero_point"))
    );
    assert_eq!(
        ClassQuantization::<i8>::per_class(&[]).err(),
        Some(Error::InvalidParameter("quantization"))
    );
    let two = [q, q];
    let per_class = ClassQuantization::<i8>::per_class(&two).unwrap();
    let loss = SoftmaxFocal::cross_entropy();
    let mut acc = ClassLossAccumulator::<_, 4>::new(loss, 3).unwrap();
    let before = acc;
    let labels: [u8; 1] = [0];
    let err = acc.push_codes(
        Layout::ChannelsLast,
        &[1i8, 2, 3],
        &per_class,
        Targets::labels(&labels),
    );
    assert_eq!(
        err,
        Err(Error::QuantizationCount {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(acc, before);
    // Probabilities: a code outside [0, 1] is named by its index.
    let p =
        ClassQuantization::<u8>::per_tensor(Quantization::new(1.0 / 256.0, 0).unwrap()).unwrap();
    let loss = loss.with_predictions(Predictions::Probabilities);
    let mut acc = ClassLossAccumulator::<_, 4>::new(loss, 3).unwrap();
    assert!(
        acc.push_codes(
            Layout::ChannelsLast,
            &[10u8, 20, 255],
            &p,
            Targets::labels(&labels)
        )
        .is_ok()
    );
    let shifted =
        ClassQuantization::<u8>::per_tensor(Quantization::new(1.0 / 128.0, 0).unwrap()).unwrap();
    let before = acc;
    let err = acc.push_codes(
        Layout::ChannelsLast,
        &[10u8, 200, 20],
        &shifted,
        Targets::labels(&labels),
    );
    assert_eq!(
        err,
        Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index: 1
        })
    );
    assert_eq!(acc, before);
    // A label out of range, and codes that are not whole pixels.
    let bad: [u8; 1] = [3];
    let err = acc.push_codes(
        Layout::ChannelsLast,
        &[1u8, 2, 3],
        &p,
        Targets::labels(&bad),
    );
    assert_eq!(err, Err(Error::LabelOutOfRange { index: 0, label: 3 }));
    assert!(matches!(
        acc.push_codes(
            Layout::ChannelsLast,
            &[1u8, 2],
            &p,
            Targets::labels(&labels)
        ),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(acc, before);
}

/// Softmax focal on codes against the f64 oracle on the codes' real values, beside the f32
/// path on the codes dequantized in f32 first: never less accurate (worst relative error per
/// class sum over the cases).
#[test]
fn softmax_focal_on_codes_is_at_least_as_accurate_as_the_f32_path() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut worst_codes, mut worst_f32) = (0.0f64, 0.0f64);
    for _ in 0..400 {
        let f = frame().new_tree(&mut runner).unwrap().current();
        if !table(&f, true) || f.dense.is_some() {
            continue;
        }
        let loss = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None).unwrap();
        let x = f.dequantized(true);
        let (a, b) = loss_sums(loss, &f, true, &x);
        // The codes' real values, `scale · (q - zero_point)`, exact in f64.
        let scale = f64::from(f.params[0].scale());
        let zero = f.params[0].zero_point();
        let mut exact = vec![0.0f64; f.classes];
        for s in 0..f.pixels() {
            let label = usize::from(f.labels[s]);
            if Some(label as i32) == f.ignore {
                continue;
            }
            let pixel = o::Pixel {
                sample: 0,
                position: s,
                scores: (0..f.classes)
                    .map(|c| scale * f64::from(i32::from(f.codes[f.index(s, c)]) - zero))
                    .collect(),
                targets: (0..f.classes)
                    .map(|c| f64::from(u8::from(c == label)))
                    .collect(),
                label: Some(label),
            };
            for (c, t) in o::softmax_focal_terms(&pixel, 2.0, ClassAlpha::Background(0.25), None)
                .into_iter()
                .enumerate()
            {
                exact[c] += t;
            }
        }
        for c in 0..f.classes {
            let err = |bits: u32| {
                let v = f64::from(f32::from_bits(bits));
                (v - exact[c]).abs() / exact[c].abs()
            };
            // Sums below f32's normal range are not compared relatively.
            if exact[c] < 1e-30 {
                continue;
            }
            worst_codes = worst_codes.max(err(a[c]));
            worst_f32 = worst_f32.max(err(b[c]));
        }
    }
    println!(
        "softmax focal class sums, worst relative error: codes {worst_codes:.2e}, f32 path {worst_f32:.2e}"
    );
    assert!(
        worst_codes <= worst_f32,
        "codes {worst_codes:e} vs f32 path {worst_f32:e}"
    );
}
