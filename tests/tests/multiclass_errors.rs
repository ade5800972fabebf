//! Bad input to `loss_core::multiclass`: each misuse returns its own documented `Error` (with the
//! right payload), leaves outputs and accumulators untouched, and nothing panics, including on
//! random garbage thrown at every entry point.

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, ConfusionCounts, Decision, EmptyClass,
    GeneralizedDice, Intersection, Layout, Metric, OneVsRestFocal, Shape, SoftmaxFocal, Targets,
    Undefined, WeightType, Weighting, macro_average,
};
use loss_core::{Error, Operand, Reduction};
use proptest::prelude::*;

const CAP: usize = 4;
const CF: Layout = Layout::ChannelsFirst;
const CL: Layout = Layout::ChannelsLast;

fn shape(n: usize, c: usize, s: usize, layout: Layout) -> Shape {
    Shape::new(n, c, s, layout).expect("valid shape")
}

fn softmax() -> SoftmaxFocal<'static> {
    SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None).expect("valid")
}

fn ovr() -> OneVsRestFocal<'static> {
    OneVsRestFocal::new(ClassAlpha::Uniform(0.25), 2.0, None).expect("valid")
}

fn overlap(activation: Activation) -> ClassOverlap {
    ClassOverlap {
        activation,
        squared: false,
        intersection: Intersection::Product,
    }
}

/// Runs every batch entry point on `(shape, scores, targets)` with ample buffers and returns the
/// errors, which must all be equal (the same check fails first everywhere).
fn batch_errors(shape: &Shape, scores: &[f32], targets: Targets<'_>) -> Vec<Result<(), Error>> {
    let n = shape.batch() * shape.classes() * shape.spatial() + 8;
    let mut out = vec![0.0f32; n];
    let mut stats = vec![OverlapStats::default(); n];
    vec![
        softmax().loss_elementwise(shape, scores, targets, &mut out),
        ovr().loss_elementwise(shape, scores, targets, &mut out),
        softmax().class_sums::<CAP>(shape, scores, targets, &mut out),
        ovr().class_sums::<CAP>(shape, scores, targets, &mut out),
        overlap(Activation::Softmax).class_stats::<CAP>(shape, scores, targets, &mut stats),
        overlap(Activation::Sigmoid).pooled_class_stats::<CAP>(shape, scores, targets, &mut stats),
    ]
}

/// Every accumulator's `push` of one chunk; the accumulators must be unchanged after an error.
fn push_errors(
    classes: usize,
    layout: Layout,
    scores: &[f32],
    targets: Targets<'_>,
) -> Vec<Result<(), Error>> {
    let mut a = ClassLossAccumulator::<_, CAP>::new(softmax(), classes).expect("acc");
    let mut b = ClassLossAccumulator::<_, CAP>::new(ovr(), classes).expect("acc");
    let mut c = ClassStatsAccumulator::<CAP>::new(overlap(Activation::Tanh), classes).expect("acc");
    let mut d = ConfusionAccumulator::<CAP>::new(Decision::Argmax, classes).expect("acc");
    // Some state first, so "unchanged" is not just "empty".
    let warm = vec![0.5f32; classes * 2];
    let labels = [0u8, 0];
    a.push(layout, &warm, Targets::labels(&labels))
        .expect("warm");
    b.push(layout, &warm, Targets::labels(&labels))
        .expect("warm");
    c.push(layout, &warm, Targets::labels(&labels))
        .expect("warm");
    d.push(layout, &warm, Targets::labels(&labels))
        .expect("warm");
    let before = (a, b, c, d);
    let results = vec![
        a.push(layout, scores, targets),
        b.push(layout, scores, targets),
        c.push(layout, scores, targets),
        d.push(layout, scores, targets),
    ];
    if results.iter().all(Result::is_err) {
        assert_eq!((a, b, c, d), before, "a failed push changed an accumulator");
    }
    results
}

fn assert_all(results: &[Result<(), Error>], want: Error) {
    for (i, r) in results.iter().enumerate() {
        assert_eq!(*r, Err(want), "entry point {i}");
    }
}

#[test]
fn shape_errors() {
    assert_eq!(
        Shape::new(1, 0, 4, CF),
        Err(Error::InvalidParameter("classes"))
    );
    assert_eq!(Shape::new(0, 2, 4, CF), Err(Error::EmptyInput));
    assert_eq!(Shape::new(2, 2, 0, CL), Err(Error::EmptyInput));
    assert_eq!(
        Shape::new(usize::MAX, 2, 2, CL),
        Err(Error::InvalidParameter("shape"))
    );
    assert_eq!(
        Shape::new(2, usize::MAX / 2 + 1, 1, CF),
        Err(Error::InvalidParameter("shape"))
    );
}

#[test]
fn shape_mismatch_names_the_operand_and_sizes() {
    let s = shape(2, 3, 4, CF);
    let labels = [0u8; 8];
    let dense = [0.0f32; 24];
    assert_all(
        &batch_errors(&s, &[0.0; 23], Targets::labels(&labels)),
        Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: 24,
            found: 23,
        },
    );
    assert_all(
        &batch_errors(&s, &[0.0; 24], Targets::labels(&labels[..7])),
        Error::ShapeMismatch {
            operand: Operand::Targets,
            expected: 8,
            found: 7,
        },
    );
    assert_all(
        &batch_errors(&s, &[0.0; 24], Targets::dense(&dense[..8])),
        Error::ShapeMismatch {
            operand: Operand::Targets,
            expected: 24,
            found: 8,
        },
    );
    // Streaming chunks: scores must be whole pixels, targets must match the pixel count.
    assert_all(
        &push_errors(3, CL, &[0.0; 7], Targets::labels(&labels[..2])),
        Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: 9,
            found: 7,
        },
    );
    assert_all(
        &push_errors(3, CF, &[0.0; 6], Targets::labels(&labels[..3])),
        Error::ShapeMismatch {
            operand: Operand::Targets,
            expected: 2,
            found: 3,
        },
    );
    assert_all(
        &push_errors(3, CF, &[0.0; 6], Targets::dense(&dense[..5])),
        Error::ShapeMismatch {
            operand: Operand::Targets,
            expected: 6,
            found: 5,
        },
    );
}

#[test]
fn zero_classes() {
    let zero = Error::InvalidParameter("classes");
    assert_eq!(
        ClassLossAccumulator::<_, CAP>::new(softmax(), 0).err(),
        Some(zero)
    );
    assert_eq!(
        ClassLossAccumulator::<_, CAP>::new(ovr(), 0).err(),
        Some(zero)
    );
    assert_eq!(
        ClassStatsAccumulator::<CAP>::new(ClassOverlap::default(), 0).err(),
        Some(zero)
    );
    assert_eq!(
        ConfusionAccumulator::<CAP>::new(Decision::Argmax, 0).err(),
        Some(zero)
    );
    let stats = [OverlapStats::default(); 2];
    let red = ClassReduction::monai();
    assert_eq!(red.reduce(&OverlapLoss::dice(), &stats, 0), Err(zero));
    assert_eq!(
        red.losses(&OverlapLoss::dice(), &stats, 0, &mut [0.0; 4]),
        Err(zero)
    );
}

#[test]
fn bad_label_reports_first_pixel_and_value() {
    let s = shape(2, 3, 4, CF);
    let scores = [0.0f32; 24];
    // Pixel 5 is sample 1, position 1: the index is into the whole label map.
    let mut u8s = [0u8; 8];
    u8s[5] = 3;
    u8s[7] = 200;
    assert_all(
        &batch_errors(&s, &scores, Targets::labels(&u8s)),
        Error::LabelOutOfRange { index: 5, label: 3 },
    );
    let mut u16s = [1u16; 8];
    u16s[6] = 300;
    assert_all(
        &batch_errors(&s, &scores, Targets::labels(&u16s)),
        Error::LabelOutOfRange {
            index: 6,
            label: 300,
        },
    );
    let mut i32s = [2i32; 8];
    i32s[0] = -1;
    assert_all(
        &batch_errors(&s, &scores, Targets::labels(&i32s)),
        Error::LabelOutOfRange {
            index: 0,
            label: -1,
        },
    );
    // The same values are fine when they are the ignore_index; other bad values still fail.
    u8s[7] = 3;
    for r in batch_errors(&s, &scores, Targets::labels(&u8s).with_ignore_index(3)) {
        assert_eq!(r, Ok(()));
    }
    i32s[0] = -100;
    for r in batch_errors(&s, &scores, Targets::labels(&i32s).with_ignore_index(-100)) {
        assert_eq!(r, Ok(()));
    }
    i32s[3] = i32::MIN;
    assert_all(
        &batch_errors(&s, &scores, Targets::labels(&i32s).with_ignore_index(-100)),
        Error::LabelOutOfRange {
            index: 3,
            label: i32::MIN,
        },
    );
    // In a streamed chunk the index is within the chunk.
    let chunk = [0u8, 1, 9];
    assert_all(
        &push_errors(2, CL, &[0.0; 6], Targets::labels(&chunk)),
        Error::LabelOutOfRange { index: 2, label: 9 },
    );
}

#[test]
fn too_small_buffers() {
    let s = shape(2, 3, 4, CL);
    let scores = [0.0f32; 24];
    let labels = [0u8, 1, 2, 0, 1, 2, 0, 1];
    let t = Targets::labels(&labels);
    let small = |needed, capacity| Err(Error::BufferTooSmall { needed, capacity });
    // On error the buffer is untouched.
    let mut out = [7.0f32; 23];
    assert_eq!(
        softmax().loss_elementwise(&s, &scores, t, &mut out),
        small(24, 23)
    );
    assert_eq!(
        ovr().loss_elementwise(&s, &scores, t, &mut out),
        small(24, 23)
    );
    assert!(out.iter().all(|&v| v == 7.0));
    let mut out = [7.0f32; 5];
    assert_eq!(
        softmax().class_sums::<CAP>(&s, &scores, t, &mut out),
        small(6, 5)
    );
    assert_eq!(
        ovr().class_sums::<CAP>(&s, &scores, t, &mut out),
        small(6, 5)
    );
    assert!(out.iter().all(|&v| v == 7.0));
    let sentinel = OverlapStats {
        count: 99,
        ..OverlapStats::default()
    };
    let mut stats = [sentinel; 5];
    let o = overlap(Activation::Softmax);
    assert_eq!(
        o.class_stats::<CAP>(&s, &scores, t, &mut stats),
        small(6, 5)
    );
    assert_eq!(
        o.pooled_class_stats::<CAP>(&s, &scores, t, &mut stats[..2]),
        small(3, 2)
    );
    assert!(stats.iter().all(|v| *v == sentinel));

    let mut acc = ClassLossAccumulator::<_, CAP>::new(softmax(), 3).expect("acc");
    acc.push(CL, &scores[..12], Targets::labels(&labels[..4]))
        .expect("push");
    assert_eq!(acc.class_sums(&mut [0.0; 2]), small(3, 2));
    let mut sacc = ClassStatsAccumulator::<CAP>::new(o, 3).expect("acc");
    sacc.push(CL, &scores[..12], Targets::labels(&labels[..4]))
        .expect("push");
    assert_eq!(sacc.stats(&mut [OverlapStats::default(); 2]), small(3, 2));

    let all = [OverlapStats {
        target_sum: 1.0,
        ..OverlapStats::default()
    }; 6];
    let red = ClassReduction {
        include_background: false,
        ..ClassReduction::monai()
    };
    // 2 samples × 2 kept classes.
    assert_eq!(
        red.losses(&OverlapLoss::dice(), &all, 3, &mut [0.0; 3]),
        Err(Error::BufferTooSmall {
            needed: 4,
            capacity: 3
        })
    );
    assert_eq!(
        red.losses(&OverlapLoss::dice(), &all, 3, &mut [0.0; 4]),
        Ok(4)
    );
}

#[test]
fn weights_of_the_wrong_length_or_sign() {
    let s = shape(1, 3, 2, CF);
    let scores = [0.0f32; 6];
    let labels = [0u8, 2];
    let t = Targets::labels(&labels);
    let two = [1.0f32, 1.0];
    let count = Error::WeightCount {
        expected: 3,
        found: 2,
    };
    let losses: [&dyn Fn() -> Vec<Result<(), Error>>; 4] = [
        &|| {
            let l = SoftmaxFocal::new(ClassAlpha::None, 2.0, Some(&two)).expect("valid");
            let mut out = [0.0; 6];
            vec![
                l.loss_elementwise(&s, &scores, t, &mut out),
                l.class_sums::<CAP>(&s, &scores, t, &mut out),
                ClassLossAccumulator::<_, CAP>::new(l, 3).map(|_| ()),
            ]
        },
        &|| {
            let l = SoftmaxFocal::new(ClassAlpha::PerClass(&two), 2.0, None).expect("valid");
            let mut out = [0.0; 6];
            vec![
                l.loss_elementwise(&s, &scores, t, &mut out),
                l.class_sums::<CAP>(&s, &scores, t, &mut out),
                ClassLossAccumulator::<_, CAP>::new(l, 3).map(|_| ()),
            ]
        },
        &|| {
            let l = OneVsRestFocal::new(ClassAlpha::None, 2.0, Some(&two)).expect("valid");
            let mut out = [0.0; 6];
            vec![
                l.loss_elementwise(&s, &scores, t, &mut out),
                l.class_sums::<CAP>(&s, &scores, t, &mut out),
                ClassLossAccumulator::<_, CAP>::new(l, 3).map(|_| ()),
            ]
        },
        &|| {
            let l = OneVsRestFocal::new(ClassAlpha::PerClass(&two), 2.0, None).expect("valid");
            let mut out = [0.0; 6];
            vec![
                l.loss_elementwise(&s, &scores, t, &mut out),
                l.class_sums::<CAP>(&s, &scores, t, &mut out),
                ClassLossAccumulator::<_, CAP>::new(l, 3).map(|_| ()),
            ]
        },
    ];
    for f in losses {
        assert_all(&f(), count);
    }
    let stats = [OverlapStats {
        target_sum: 1.0,
        ..OverlapStats::default()
    }; 3];
    let red = ClassReduction {
        weights: Some(&two),
        ..ClassReduction::monai()
    };
    assert_eq!(red.reduce(&OverlapLoss::dice(), &stats, 3), Err(count));
    assert_eq!(
        red.losses(&OverlapLoss::dice(), &stats, 3, &mut [0.0; 3]),
        Err(count)
    );

    // Negative or non-finite weights and alphas are rejected when the loss is built.
    for bad in [-1.0f32, f32::NAN, f32::INFINITY] {
        let w = [1.0, bad, 1.0];
        assert_eq!(
            SoftmaxFocal::new(ClassAlpha::None, 2.0, Some(&w)),
            Err(Error::InvalidParameter("weights"))
        );
        assert_eq!(
            OneVsRestFocal::new(ClassAlpha::None, 2.0, Some(&w)).err(),
            Some(Error::InvalidParameter("weights"))
        );
        assert_eq!(
            SoftmaxFocal::new(ClassAlpha::PerClass(&w), 2.0, None),
            Err(Error::InvalidParameter("alpha"))
        );
        assert_eq!(
            OneVsRestFocal::new(ClassAlpha::PerClass(&w), 2.0, None).err(),
            Some(Error::InvalidParameter("alpha"))
        );
        let red = ClassReduction {
            weights: Some(&w),
            ..ClassReduction::monai()
        };
        assert_eq!(
            red.reduce(&OverlapLoss::dice(), &stats, 3),
            Err(Error::InvalidParameter("weights"))
        );
        assert_eq!(
            SoftmaxFocal::new(ClassAlpha::None, bad, None),
            Err(Error::InvalidParameter("gamma"))
        );
        assert_eq!(
            GeneralizedDice::new(WeightType::Square, bad, 1.0),
            Err(Error::InvalidParameter("smooth_nr"))
        );
        assert_eq!(
            GeneralizedDice::new(WeightType::Square, 1.0, bad),
            Err(Error::InvalidParameter("smooth_dr"))
        );
    }
    for bad in [-0.5f32, 1.5, f32::NAN] {
        assert_eq!(
            SoftmaxFocal::new(ClassAlpha::Background(bad), 2.0, None),
            Err(Error::InvalidParameter("alpha"))
        );
        assert_eq!(
            OneVsRestFocal::new(ClassAlpha::Uniform(bad), 2.0, None).err(),
            Some(Error::InvalidParameter("alpha"))
        );
    }
    // One-vs-rest alphas are probabilities; Background has no meaning without a softmax.
    assert_eq!(
        OneVsRestFocal::new(ClassAlpha::PerClass(&[0.5, 1.5, 0.5]), 2.0, None).err(),
        Some(Error::InvalidParameter("alpha"))
    );
    assert_eq!(
        OneVsRestFocal::new(ClassAlpha::Background(0.25), 2.0, None).err(),
        Some(Error::InvalidParameter("alpha"))
    );
}

#[test]
fn too_many_classes_for_the_capacity() {
    let s = shape(1, 5, 2, CL);
    let scores = [0.0f32; 10];
    let labels = [4u8, 0];
    let t = Targets::labels(&labels);
    let want = Error::TooManyClasses {
        classes: 5,
        capacity: CAP,
    };
    let mut out = [0.0f32; 10];
    let mut stats = [OverlapStats::default(); 10];
    let o = ClassOverlap::default();
    let results = [
        ClassLossAccumulator::<_, CAP>::new(softmax(), 5).map(|_| ()),
        ClassLossAccumulator::<_, CAP>::new(ovr(), 5).map(|_| ()),
        ClassStatsAccumulator::<CAP>::new(o, 5).map(|_| ()),
        ConfusionAccumulator::<CAP>::new(Decision::Argmax, 5).map(|_| ()),
        softmax().class_sums::<CAP>(&s, &scores, t, &mut out),
        ovr().class_sums::<CAP>(&s, &scores, t, &mut out),
        overlap(Activation::Sigmoid).class_stats::<CAP>(&s, &scores, t, &mut stats),
        overlap(Activation::Sigmoid).pooled_class_stats::<CAP>(&s, &scores, t, &mut stats),
    ];
    assert_all(&results, want);
    // The elementwise output needs no per-class state, so any class count works.
    assert_eq!(softmax().loss_elementwise(&s, &scores, t, &mut out), Ok(()));
}

#[test]
fn ignore_index_with_dense_targets() {
    let s = shape(1, 2, 3, CF);
    let dense = [1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0];
    let t = Targets::dense(&dense).with_ignore_index(255);
    assert_all(
        &batch_errors(&s, &[0.0; 6], t),
        Error::InvalidParameter("ignore_index"),
    );
    assert_all(
        &push_errors(2, CF, &[0.0; 6], t),
        Error::InvalidParameter("ignore_index"),
    );
}

#[test]
fn values_outside_their_domain() {
    let s = shape(1, 2, 3, CL);
    let dense = [1.0f32, 0.0, 1.5, 0.0, 1.0, -0.0];
    assert_all(
        &batch_errors(&s, &[0.0; 6], Targets::dense(&dense)),
        Error::OutOfRange {
            operand: Operand::Targets,
            index: 2,
        },
    );
    // Probabilities (no activation) must be in [0, 1]; logits may be anything.
    let labels = [0u8, 1, 1];
    let probs = [0.5f32, 0.5, 0.5, -0.25, 0.5, 0.5];
    let mut stats = [OverlapStats::default(); 2];
    let o = overlap(Activation::None);
    let want = Err(Error::OutOfRange {
        operand: Operand::Predictions,
        index: 3,
    });
    assert_eq!(
        o.class_stats::<CAP>(&s, &probs, Targets::labels(&labels), &mut stats),
        want
    );
    let mut acc = ClassStatsAccumulator::<CAP>::new(o, 2).expect("acc");
    assert_eq!(acc.push(CL, &probs, Targets::labels(&labels)), want);
    assert_eq!(
        overlap(Activation::Tanh).class_stats::<CAP>(
            &s,
            &probs,
            Targets::labels(&labels),
            &mut stats
        ),
        Ok(())
    );
    // NaN is not out of range: it propagates.
    let nan = [f32::NAN; 6];
    assert_eq!(
        o.class_stats::<CAP>(&s, &nan, Targets::labels(&labels), &mut stats),
        Ok(())
    );
    assert!(stats[0].intersection.is_nan());
}

#[test]
fn empty_and_degenerate_reductions() {
    let dice = OverlapLoss::dice();
    let red = ClassReduction::monai();
    assert_eq!(red.reduce(&dice, &[], 2), Err(Error::EmptyInput));
    let stats = [OverlapStats::default(); 5];
    assert_eq!(
        red.reduce(&dice, &stats, 2),
        Err(Error::SampleCountMismatch { len: 5, samples: 2 })
    );
    // Every class empty and skipped: nothing left to average.
    let skip = ClassReduction {
        empty: EmptyClass::Skip,
        ..ClassReduction::monai()
    };
    assert_eq!(skip.reduce(&dice, &stats[..4], 2), Err(Error::EmptyInput));
    assert_eq!(GeneralizedDice::monai().loss(&[]), Err(Error::EmptyInput));
    let acc = ClassLossAccumulator::<_, CAP>::new(softmax(), 2).expect("acc");
    assert_eq!(acc.mean_per_element(), Err(Error::EmptyInput));
    assert_eq!(acc.mean_per_pixel(), Err(Error::EmptyInput));
    assert_eq!(acc.total(), 0.0);
    assert_eq!(
        ConfusionAccumulator::<CAP>::new(Decision::Threshold(f32::NAN), 2).err(),
        Some(Error::InvalidParameter("threshold"))
    );
    assert_eq!(
        macro_average(&[], Metric::Dice, true, Undefined::Skip),
        None
    );
    let one = [ConfusionCounts::default()];
    assert_eq!(
        macro_average(&one, Metric::Dice, false, Undefined::Value(1.0)),
        None
    );
    assert_eq!(ConfusionCounts::default().metric(Metric::Recall), None);
}

/// The errors above are distinct variants (or distinct payloads of one), with distinct texts.
#[test]
fn errors_are_distinct() {
    let all = [
        Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: 24,
            found: 23,
        },
        Error::ShapeMismatch {
            operand: Operand::Targets,
            expected: 8,
            found: 7,
        },
        Error::InvalidParameter("classes"),
        Error::LabelOutOfRange { index: 5, label: 3 },
        Error::BufferTooSmall {
            needed: 24,
            capacity: 23,
        },
        Error::WeightCount {
            expected: 3,
            found: 2,
        },
        Error::InvalidParameter("weights"),
        Error::InvalidParameter("alpha"),
        Error::TooManyClasses {
            classes: 5,
            capacity: 4,
        },
        Error::InvalidParameter("ignore_index"),
        Error::OutOfRange {
            operand: Operand::Targets,
            index: 2,
        },
        Error::EmptyInput,
        Error::SampleCountMismatch { len: 5, samples: 2 },
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
            assert_ne!(a.to_string(), b.to_string());
        }
    }
    assert_eq!(
        Error::LabelOutOfRange { index: 5, label: 3 }.to_string(),
        "label 3 at pixel 5 is not a valid class"
    );
}

// ---------------------------------------------------------------------------------------------
// Garbage: random lengths, labels, parameters and buffers at every entry point. The property is
// that every call returns (Ok or Err); a panic fails the test.

fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -2.0f32..2.0,
        1 => prop::sample::select(vec![
            0.0f32, -0.0, 1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX,
            f32::MIN_POSITIVE, -1e30, 1e-45,
        ]),
        1 => any::<f32>(),
    ]
}

fn any_label() -> impl Strategy<Value = i32> {
    prop_oneof![4 => 0i32..6, 1 => any::<i32>(), 1 => Just(-100), 1 => Just(255)]
}

#[derive(Debug, Clone)]
struct Garbage {
    dims: (usize, usize, usize),
    layout: Layout,
    scores: Vec<f32>,
    dense: Vec<f32>,
    labels: Vec<i32>,
    ignore: Option<i32>,
    out_len: usize,
    weights: Option<Vec<f32>>,
    alpha: Vec<f32>,
    gamma: f32,
    threshold: f32,
    stats: Vec<OverlapStats>,
    classes: usize,
    counts: Vec<(u64, u64, u64, u64)>,
    which: u8,
}

fn garbage() -> impl Strategy<Value = Garbage> {
    let vecs = (
        prop::collection::vec(any_f32(), 0..40),
        prop::collection::vec(any_f32(), 0..40),
        prop::collection::vec(any_label(), 0..20),
        prop::option::of(any_label()),
        0usize..40,
        prop::option::of(prop::collection::vec(any_f32(), 0..7)),
        prop::collection::vec(any_f32(), 0..7),
    );
    let params = (
        any_f32(),
        any_f32(),
        prop::collection::vec(
            (any_f32(), any_f32(), any_f32(), any::<u64>()).prop_map(|(a, b, c, n)| OverlapStats {
                intersection: a,
                prediction_sum: b,
                target_sum: c,
                count: n,
            }),
            0..12,
        ),
        0usize..7,
        prop::collection::vec(
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
            0..6,
        ),
        any::<u8>(),
    );
    (
        (0usize..4, 0usize..7, 0usize..6),
        any::<bool>(),
        vecs,
        params,
    )
        .prop_map(|(dims, cf, v, p)| Garbage {
            dims,
            layout: if cf { CF } else { CL },
            scores: v.0,
            dense: v.1,
            labels: v.2,
            ignore: v.3,
            out_len: v.4,
            weights: v.5,
            alpha: v.6,
            gamma: p.0,
            threshold: p.1,
            stats: p.2,
            classes: p.3,
            counts: p.4,
            which: p.5,
        })
}

/// Calls `f` with each kind of targets built from the garbage.
fn with_targets(g: &Garbage, mut f: impl FnMut(Targets<'_>)) {
    let u8s: Vec<u8> = g.labels.iter().map(|&l| l as u8).collect();
    let u16s: Vec<u16> = g.labels.iter().map(|&l| l as u16).collect();
    fn with_ignore(t: Targets<'_>, ignore: Option<i32>) -> Targets<'_> {
        match ignore {
            Some(i) => t.with_ignore_index(i),
            None => t,
        }
    }
    let ignore = |t| with_ignore(t, g.ignore);
    f(ignore(Targets::dense(&g.dense)));
    f(Targets::dense(&g.dense));
    f(ignore(Targets::labels(&u8s)));
    f(ignore(Targets::labels(&u16s)));
    f(ignore(Targets::labels(&g.labels)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(g in garbage()) {
        let (n, c, s) = g.dims;
        let _ = Shape::new(n, c, s, g.layout);
        let shape = Shape::new(n.max(1), c.max(1), s.max(1), g.layout).expect("valid");
        // Half the time the lengths fit the shape, so that the garbage values (NaN, inf, huge
        // labels, any parameters) reach the kernels and not only the length checks.
        let mut g = g;
        if g.which & 128 != 0 {
            g.scores.resize(shape.elements(), 0.25);
            g.dense.resize(shape.elements(), 1.0);
            g.labels.resize(shape.pixels(), 0);
            g.classes = shape.classes();
            g.out_len = g.out_len.max(shape.elements());
        }
        let weights = g.weights.as_deref();
        let alpha = match g.which % 5 {
            0 => ClassAlpha::None,
            1 => ClassAlpha::Background(g.alpha.first().copied().unwrap_or(g.gamma)),
            2 => ClassAlpha::Uniform(g.alpha.first().copied().unwrap_or(g.gamma)),
            _ => ClassAlpha::PerClass(&g.alpha),
        };
        let mut out = vec![0.0f32; g.out_len];
        let mut stats = vec![OverlapStats::default(); g.out_len];
        let activation = [Activation::None, Activation::Sigmoid, Activation::Softmax, Activation::Tanh][usize::from(g.which % 4)];
        let o = ClassOverlap { activation, squared: g.which & 4 != 0, intersection: if g.which & 8 != 0 { Intersection::Min } else { Intersection::Product } };
        let decision = if g.which & 16 != 0 { Decision::Argmax } else { Decision::Threshold(g.threshold) };
        let sm = SoftmaxFocal::new(alpha, g.gamma, weights);
        let ov = OneVsRestFocal::new(alpha, g.gamma, weights);
        with_targets(&g, |t| {
            if let Ok(l) = sm {
                let _ = l.loss_elementwise(&shape, &g.scores, t, &mut out);
                let _ = l.class_sums::<CAP>(&shape, &g.scores, t, &mut out);
                if let Ok(mut acc) = ClassLossAccumulator::<_, CAP>::new(l, g.classes) {
                    let _ = acc.push(g.layout, &g.scores, t);
                    let _ = acc.class_sums(&mut out);
                    let _ = (acc.total(), acc.mean_per_element(), acc.mean_per_pixel());
                }
            }
            if let Ok(l) = ov {
                let _ = l.loss_elementwise(&shape, &g.scores, t, &mut out);
                let _ = l.class_sums::<CAP>(&shape, &g.scores, t, &mut out);
                if let Ok(mut acc) = ClassLossAccumulator::<_, CAP>::new(l, g.classes) {
                    let _ = acc.push(g.layout, &g.scores, t);
                    let _ = acc.class_sums(&mut out);
                    let _ = (acc.total(), acc.mean_per_element(), acc.mean_per_pixel());
                }
            }
            let _ = o.class_stats::<CAP>(&shape, &g.scores, t, &mut stats);
            let _ = o.pooled_class_stats::<CAP>(&shape, &g.scores, t, &mut stats);
            if let Ok(mut acc) = ClassStatsAccumulator::<CAP>::new(o, g.classes) {
                let _ = acc.push(g.layout, &g.scores, t);
                let _ = acc.stats(&mut stats);
            }
            if let Ok(mut acc) = ConfusionAccumulator::<CAP>::new(decision, g.classes) {
                let _ = acc.push(g.layout, &g.scores, t);
                for k in acc.counts() {
                    let _ = (k.metric(Metric::Dice), k.support());
                }
            }
        });
        let loss = [OverlapLoss::dice(), OverlapLoss::jaccard(), OverlapLoss::tversky(0.3, 0.7).expect("valid")][usize::from(g.which % 3)];
        for empty in [EmptyClass::Formula, EmptyClass::Zero, EmptyClass::Skip] {
            for weighting in [Weighting::Multiply, Weighting::Normalize] {
                let red = ClassReduction {
                    include_background: g.which & 32 != 0,
                    weights,
                    weighting,
                    empty,
                    reduction: if g.which & 64 != 0 { Reduction::Sum } else { Reduction::Mean },
                };
                let _ = red.reduce(&loss, &g.stats, g.classes);
                let _ = red.losses(&loss, &g.stats, g.classes, &mut out);
            }
        }
        for wt in [WeightType::Square, WeightType::Simple, WeightType::Uniform] {
            if let Ok(gdl) = GeneralizedDice::new(wt, g.gamma.abs(), g.threshold.abs()) {
                let _ = gdl.loss(&g.stats);
            }
        }
        let counts: Vec<ConfusionCounts> = g.counts.iter().map(|&(a, b, c, d)| ConfusionCounts {
            true_positives: a, false_positives: b, false_negatives: c, true_negatives: d,
        }).collect();
        for m in [Metric::Dice, Metric::Iou, Metric::Precision, Metric::Recall, Metric::F1, Metric::Specificity] {
            for k in &counts {
                let _ = (k.metric(m), k.support());
            }
            let _ = macro_average(&counts, m, g.classes % 2 == 0, Undefined::Value(g.threshold));
            let _ = macro_average(&counts, m, true, Undefined::Skip);
        }
    }
}
