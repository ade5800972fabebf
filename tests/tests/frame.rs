//! `SegmentationAccumulator` (one pass, one log-softmax per pixel) against the three
//! accumulators it replaces, run separately over the same chunks: every result must have the
//! same bits (NaN included: the same operations give the same NaN).
//!
//! Random class counts, layouts, target kinds (dense soft targets, `u8` / `u16` / `i32` label
//! maps with and without `ignore_index`), losses (softmax focal with every alpha spread and a
//! probability clip, one-vs-rest focal with every soft-target convention, no loss), overlap
//! settings (every activation, squared, min intersection), decisions, separate focal scores,
//! and streams of chunks of random sizes (empty ones included) with extreme logits (±1e4, ±88,
//! ±inf, NaN).

use loss_core::dice::OverlapStats;
use loss_core::focal::SoftTargets;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLossAccumulator, ClassOverlap, ClassStatsAccumulator,
    ConfusionAccumulator, Decision, Intersection, Layout, OneVsRestFocal, SegmentationAccumulator,
    SoftmaxFocal, Targets,
};
use loss_core::{Error, Operand, Predictions};
use proptest::prelude::*;

const CAP: usize = 6;

/// Per-class alphas and weights: one list long enough for every class count.
const ALPHAS: [f32; CAP] = [0.1, 0.25, 0.5, 0.75, 0.9, 1.0];

#[derive(Debug, Clone, Copy)]
enum LabelKind {
    Dense,
    U8,
    U16,
    I32,
}

#[derive(Debug, Clone, Copy)]
enum LossKind {
    None,
    Softmax { gamma: f32, alpha: u8, clip: bool },
    OneVsRest { gamma: f32, alpha: u8, soft: u8 },
}

/// One chunk of `k` pixels, in the case's layout: logits, probabilities, soft targets (all
/// `k × C` values) and labels (`k`).
#[derive(Debug, Clone)]
struct Chunk {
    logits: Vec<f32>,
    probs: Vec<f32>,
    soft: Vec<f32>,
    labels: Vec<i32>,
}

#[derive(Debug, Clone)]
struct Case {
    classes: usize,
    layout: Layout,
    labels: LabelKind,
    ignore: bool,
    loss: LossKind,
    activation: Activation,
    squared: bool,
    min: bool,
    threshold: Option<f32>,
    /// A softmax focal loss on probabilities (`with_predictions`); every reader then sees
    /// probabilities.
    probabilities: bool,
    chunks: Vec<Chunk>,
}

fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        10 => -20.0f32..20.0,
        2 => prop::sample::select(vec![
            1e4f32,
            -1e4,
            88.0,
            -88.0,
            104.0,
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]),
        1 => Just(f32::NAN),
    ]
}

fn unit() -> impl Strategy<Value = f32> {
    prop_oneof![6 => 0.0f32..=1.0, 1 => Just(0.0f32), 1 => Just(1.0f32)]
}

/// The value that marks an ignored pixel, per label type.
fn ignore_value(kind: LabelKind) -> i32 {
    match kind {
        LabelKind::U16 => 1000,
        LabelKind::I32 => -1,
        LabelKind::Dense | LabelKind::U8 => 255,
    }
}

fn chunk(classes: usize, ignored: Option<i32>) -> impl Strategy<Value = Chunk> {
    // Up to 60 pixels: several softmax blocks (256 scratch floats) from 5 classes on.
    (0usize..=60).prop_flat_map(move |k| {
        let n = k * classes;
        let label = match ignored {
            Some(i) => prop_oneof![6 => 0..classes as i32, 1 => Just(i)].boxed(),
            None => (0..classes as i32).boxed(),
        };
        (
            prop::collection::vec(logit(), n),
            prop::collection::vec(unit(), n),
            prop::collection::vec(unit(), n),
            prop::collection::vec(label, k),
        )
            .prop_map(|(logits, probs, soft, labels)| Chunk {
                logits,
                probs,
                soft,
                labels,
            })
    })
}

fn gamma() -> impl Strategy<Value = f32> {
    prop::sample::select(vec![0.0f32, 0.5, 1.0, 2.0, 3.7])
}

fn loss_kind() -> impl Strategy<Value = LossKind> {
    prop_oneof![
        1 => Just(LossKind::None),
        3 => (gamma(), 0u8..4, any::<bool>())
            .prop_map(|(gamma, alpha, clip)| LossKind::Softmax { gamma, alpha, clip }),
        2 => (gamma(), 0u8..4, 0u8..4)
            .prop_map(|(gamma, alpha, soft)| LossKind::OneVsRest { gamma, alpha, soft }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let labels = prop::sample::select(vec![
        LabelKind::Dense,
        LabelKind::U8,
        LabelKind::U16,
        LabelKind::I32,
    ]);
    (1usize..=CAP, labels, any::<bool>()).prop_flat_map(|(classes, labels, ignore)| {
        let ignore = ignore && !matches!(labels, LabelKind::Dense);
        let ignored = ignore.then(|| ignore_value(labels));
        let activation = prop::sample::select(vec![
            Activation::None,
            Activation::Sigmoid,
            Activation::Softmax,
            Activation::Tanh,
        ]);
        let layout = prop::sample::select(vec![Layout::ChannelsFirst, Layout::ChannelsLast]);
        let threshold = prop_oneof![3 => Just(None), 1 => (-2.0f32..2.0).prop_map(Some)];
        (
            layout,
            loss_kind(),
            activation,
            (any::<bool>(), any::<bool>(), any::<bool>()),
            threshold,
            prop::collection::vec(chunk(classes, ignored), 1..6),
        )
            .prop_map(
                move |(
                    layout,
                    loss,
                    activation,
                    (squared, min, probabilities),
                    threshold,
                    chunks,
                )| {
                    Case {
                        classes,
                        layout,
                        labels,
                        ignore,
                        loss,
                        activation,
                        squared,
                        min,
                        threshold,
                        probabilities,
                        chunks,
                    }
                },
            )
    })
}

/// The label map of a chunk as the case's integer type.
enum Labels {
    Dense,
    U8(Vec<u8>),
    U16(Vec<u16>),
    I32(Vec<i32>),
}

impl Case {
    fn overlap(&self) -> ClassOverlap {
        ClassOverlap {
            activation: self.activation,
            squared: self.squared,
            intersection: if self.min {
                Intersection::Min
            } else {
                Intersection::Product
            },
        }
    }

    fn decision(&self) -> Decision {
        self.threshold.map_or(Decision::Argmax, Decision::Threshold)
    }

    fn alphas(&self) -> &'static [f32] {
        &ALPHAS[..self.classes]
    }

    fn softmax(&self, gamma: f32, alpha: u8, clip: bool) -> SoftmaxFocal<'static> {
        let alpha = match alpha {
            0 => ClassAlpha::None,
            1 => ClassAlpha::Background(0.25),
            2 => ClassAlpha::Uniform(0.25),
            _ => ClassAlpha::PerClass(self.alphas()),
        };
        let mut fl = SoftmaxFocal::new(alpha, gamma, Some(self.alphas())).unwrap();
        if self.probabilities {
            fl = fl.with_predictions(Predictions::Probabilities);
        }
        if clip {
            fl.with_probability_clip(1e-7, 1.0 - 1e-7).unwrap()
        } else {
            fl
        }
    }

    fn one_vs_rest(&self, gamma: f32, alpha: u8, soft: u8) -> OneVsRestFocal<'static> {
        let alpha = match alpha {
            0 => ClassAlpha::None,
            1 => ClassAlpha::Uniform(0.25),
            2 => ClassAlpha::PerClass(self.alphas()),
            _ => ClassAlpha::Positives(self.alphas()),
        };
        let soft = match soft {
            0 => SoftTargets::Torchvision,
            1 => SoftTargets::Monai,
            2 => SoftTargets::Kornia,
            _ => SoftTargets::Smp,
        };
        OneVsRestFocal::new(alpha, gamma, None)
            .unwrap()
            .with_soft_targets(soft)
    }

    /// The scores every reader sees (probabilities without an activation or with a loss on
    /// probabilities).
    fn scores<'c>(&self, chunk: &'c Chunk) -> &'c [f32] {
        if self.activation == Activation::None || self.probabilities {
            &chunk.probs
        } else {
            &chunk.logits
        }
    }

    fn labels(&self, chunk: &Chunk) -> Labels {
        let l = &chunk.labels;
        match self.labels {
            LabelKind::Dense => Labels::Dense,
            LabelKind::U8 => Labels::U8(l.iter().map(|&v| v as u8).collect()),
            LabelKind::U16 => Labels::U16(l.iter().map(|&v| v as u16).collect()),
            LabelKind::I32 => Labels::I32(l.clone()),
        }
    }

    fn targets<'c>(&self, chunk: &'c Chunk, labels: &'c Labels) -> Targets<'c> {
        let t = match labels {
            Labels::Dense => return Targets::dense(&chunk.soft),
            Labels::U8(l) => Targets::labels(l),
            Labels::U16(l) => Targets::labels(l),
            Labels::I32(l) => Targets::labels(l),
        };
        if self.ignore {
            t.with_ignore_index(ignore_value(self.labels))
        } else {
            t
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn stat_bits(s: &[OverlapStats]) -> Vec<(u32, u32, u32, u64)> {
    s.iter()
        .map(|s| {
            (
                s.intersection.to_bits(),
                s.prediction_sum.to_bits(),
                s.target_sum.to_bits(),
                s.count,
            )
        })
        .collect()
}

fn result_bits<T>(r: Result<f32, T>) -> Option<u32> {
    r.ok().map(f32::to_bits)
}

/// Runs the case through `SegmentationAccumulator` and the three separate accumulators with
/// loss `loss`, and compares every result.
fn check<L: loss_core::multiclass::ClassLoss>(case: &Case, loss: Option<L>) {
    let (c, layout) = (case.classes, case.layout);
    let mut frame =
        SegmentationAccumulator::<L, CAP>::new(loss, case.overlap(), case.decision(), c).unwrap();
    let mut focal = loss.map(|l| ClassLossAccumulator::<L, CAP>::new(l, c).unwrap());
    let mut stats = ClassStatsAccumulator::<CAP>::new(case.overlap(), c).unwrap();
    let mut conf = ConfusionAccumulator::<CAP>::new(case.decision(), c).unwrap();
    for chunk in &case.chunks {
        let labels = case.labels(chunk);
        let targets = case.targets(chunk, &labels);
        let scores = case.scores(chunk);
        frame.push(layout, scores, targets).unwrap();
        if let Some(f) = &mut focal {
            f.push(layout, scores, targets).unwrap();
        }
        stats.push(layout, scores, targets).unwrap();
        conf.push(layout, scores, targets).unwrap();
    }
    assert_eq!(frame.pixels(), stats.pixels());
    assert_eq!(frame.classes(), c);
    let mut a = [OverlapStats::default(); CAP];
    let mut b = [OverlapStats::default(); CAP];
    frame.stats(&mut a).unwrap();
    stats.stats(&mut b).unwrap();
    assert_eq!(stat_bits(&a[..c]), stat_bits(&b[..c]), "statistics");
    assert_eq!(frame.counts(), conf.counts(), "confusion counts");
    match &focal {
        Some(f) => {
            assert_eq!(frame.pixels(), f.pixels());
            let (mut x, mut y) = ([0.0f32; CAP], [0.0f32; CAP]);
            frame.class_sums(&mut x).unwrap();
            f.class_sums(&mut y).unwrap();
            assert_eq!(bits(&x[..c]), bits(&y[..c]), "class sums");
            assert_eq!(frame.loss_total().unwrap().to_bits(), f.total().to_bits());
            assert_eq!(
                result_bits(frame.loss_mean_per_element()),
                result_bits(f.mean_per_element())
            );
            assert_eq!(
                result_bits(frame.loss_mean_per_pixel()),
                result_bits(f.mean_per_pixel())
            );
        }
        None => {
            assert_eq!(frame.loss_total(), Err(Error::InvalidParameter("loss")));
            assert_eq!(
                frame.class_sums(&mut [0.0; CAP]),
                Err(Error::InvalidParameter("loss"))
            );
        }
    }
}

/// Re-lays out a chunk's values for the case's layout (generated channels-last).
fn relayout(values: &[f32], classes: usize, layout: Layout) -> Vec<f32> {
    match layout {
        Layout::ChannelsLast => values.to_vec(),
        Layout::ChannelsFirst => {
            let k = values.len() / classes;
            (0..classes)
                .flat_map(|c| (0..k).map(move |s| values[s * classes + c]))
                .collect()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn one_pass_equals_the_three_accumulators(case in case()) {
        // Chunks are generated pixel by pixel (channels-last); channels-first chunks are the
        // same pixels as planes.
        let mut case = case;
        let (c, layout) = (case.classes, case.layout);
        for ch in &mut case.chunks {
            for v in [&mut ch.logits, &mut ch.probs, &mut ch.soft] {
                *v = relayout(v, c, layout);
            }
        }
        match case.loss {
            LossKind::None => check::<SoftmaxFocal<'static>>(&case, None),
            LossKind::Softmax { gamma, alpha, clip } => {
                check(&case, Some(case.softmax(gamma, alpha, clip)));
            }
            LossKind::OneVsRest { gamma, alpha, soft } => {
                check(&case, Some(case.one_vs_rest(gamma, alpha, soft)));
            }
        }
    }
}

fn monai_softmax() -> (SoftmaxFocal<'static>, ClassOverlap) {
    let fl = SoftmaxFocal::new(ClassAlpha::None, 2.0, None).unwrap();
    let overlap = ClassOverlap {
        activation: Activation::Softmax,
        ..ClassOverlap::default()
    };
    (fl, overlap)
}

#[test]
fn construction_errors_match_the_separate_accumulators() {
    let (fl, overlap) = monai_softmax();
    type Acc = SegmentationAccumulator<SoftmaxFocal<'static>, 4>;
    assert_eq!(
        Acc::new(Some(fl), overlap, Decision::Argmax, 0).err(),
        Some(Error::InvalidParameter("classes"))
    );
    assert_eq!(
        Acc::new(Some(fl), overlap, Decision::Argmax, 5).err(),
        Some(Error::TooManyClasses {
            classes: 5,
            capacity: 4
        })
    );
    assert_eq!(
        Acc::new(None, overlap, Decision::Threshold(f32::NAN), 3).err(),
        Some(Error::InvalidParameter("threshold"))
    );
    let weighted = SoftmaxFocal::new(ClassAlpha::PerClass(&[0.5, 0.5]), 2.0, None).unwrap();
    assert_eq!(
        Acc::new(Some(weighted), overlap, Decision::Argmax, 3).err(),
        Some(Error::WeightCount {
            expected: 3,
            found: 2
        })
    );
}

#[test]
fn bad_chunks_are_errors_and_change_nothing() {
    let (fl, overlap) = monai_softmax();
    let mut acc =
        SegmentationAccumulator::<_, 4>::new(Some(fl), overlap, Decision::Argmax, 3).unwrap();
    let scores = [1.0f32, 2.0, 3.0, -1.0, 0.5, 0.0];
    acc.push(Layout::ChannelsLast, &scores, Targets::labels(&[0u8, 2]))
        .unwrap();
    let before = acc;
    // Not whole pixels, a label outside the classes, targets of the wrong size.
    assert!(matches!(
        acc.push(
            Layout::ChannelsLast,
            &scores[..5],
            Targets::labels(&[0u8, 2])
        ),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(
        acc.push(Layout::ChannelsFirst, &scores, Targets::labels(&[0u8, 3])),
        Err(Error::LabelOutOfRange { index: 1, label: 3 })
    );
    assert!(matches!(
        acc.push(Layout::ChannelsLast, &scores, Targets::labels(&[0u8])),
        Err(Error::ShapeMismatch { .. })
    ));
    // Scores outside [0, 1] for a loss on probabilities, though the statistics take logits.
    let mut on_probs = SegmentationAccumulator::<_, 4>::new(
        Some(fl.with_predictions(Predictions::Probabilities)),
        overlap,
        Decision::Argmax,
        3,
    )
    .unwrap();
    let on_probs_before = on_probs;
    assert_eq!(
        on_probs.push(Layout::ChannelsLast, &scores, Targets::labels(&[0u8, 2])),
        Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index: 1
        })
    );
    assert_eq!(on_probs, on_probs_before);
    // Probabilities outside [0, 1] when the statistics take the scores as probabilities.
    let mut probs = SegmentationAccumulator::<_, 4>::new(
        Some(fl),
        ClassOverlap::default(),
        Decision::Argmax,
        3,
    )
    .unwrap();
    let probs_before = probs;
    assert!(matches!(
        probs.push(Layout::ChannelsLast, &scores, Targets::labels(&[0u8, 2])),
        Err(Error::OutOfRange { .. })
    ));
    assert_eq!(probs, probs_before);
    assert_eq!(acc, before);
    // Empty chunks are no-ops; reset forgets everything.
    acc.push(Layout::ChannelsLast, &[], Targets::labels::<u8>(&[]))
        .unwrap();
    assert_eq!(acc, before);
    assert_eq!(acc.pixels(), 2);
    acc.reset();
    assert_eq!(acc.pixels(), 0);
    assert_eq!(acc.loss_mean_per_element(), Err(Error::EmptyInput));
    assert!(acc.counts().iter().all(|k| k.support() == 0));
}

#[test]
fn small_buffers_are_errors() {
    let (fl, overlap) = monai_softmax();
    let acc = SegmentationAccumulator::<_, 4>::new(Some(fl), overlap, Decision::Argmax, 3).unwrap();
    assert!(matches!(
        acc.class_sums(&mut [0.0; 2]),
        Err(Error::BufferTooSmall { .. })
    ));
    assert!(matches!(
        acc.stats(&mut [OverlapStats::default(); 2]),
        Err(Error::BufferTooSmall { .. })
    ));
}
