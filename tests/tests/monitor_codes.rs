//! The monitor on quantized scores (`push_codes`) against its stated semantics:
//! - [`FrameSignals`]: the bits of `push` on the scores the codes stand for, the softmax
//!   table's shifted scores `scale · (q_c − q_max)` for softmax logits quantized per tensor,
//!   the dequantized scores otherwise; any chunking;
//! - [`LabelledSignals`]: the loss as its accumulator's `push_codes` (shifted scores for a
//!   softmax loss per tensor), the decisions on the dequantized scores;
//! - bad input: a named error, the frame unchanged.

use loss_core::monitor::{FrameSignals, LabelFree, Labelled, LabelledSignals};
use loss_core::multiclass::{
    ClassAlpha, ClassLoss, Decision, Layout, OneVsRestFocal, SoftmaxFocal, Targets,
};
use loss_core::quantized::{ClassQuantization, Quantization};
use loss_core::{Error, Operand, Predictions};
use proptest::prelude::*;

const CAP: usize = 6;

/// A quantized frame of `i8` codes with per-channel quantizations and labels.
#[derive(Debug, Clone)]
struct Frame {
    channels: usize,
    layout: Layout,
    predictions: Predictions,
    per_tensor: bool,
    codes: Vec<i8>,
    params: Vec<Quantization>,
    labels: Vec<u8>,
    /// Pixels per pushed chunk.
    chunk: usize,
}

impl Frame {
    fn pixels(&self) -> usize {
        self.codes.len() / self.channels
    }

    fn index(&self, s: usize, c: usize) -> usize {
        match self.layout {
            Layout::ChannelsFirst => c * self.pixels() + s,
            Layout::ChannelsLast => s * self.channels + c,
        }
    }

    fn quantization(&self) -> ClassQuantization<'_, i8> {
        if self.per_tensor {
            ClassQuantization::per_tensor(self.params[0]).unwrap()
        } else {
            ClassQuantization::per_class(&self.params[..self.channels]).unwrap()
        }
    }

    fn param(&self, c: usize) -> Quantization {
        self.params[if self.per_tensor { 0 } else { c }]
    }

    /// The dequantized scores, as a firmware would compute them first.
    fn dequantized(&self) -> Vec<f32> {
        let mut x = vec![0.0; self.codes.len()];
        for s in 0..self.pixels() {
            for c in 0..self.channels {
                let i = self.index(s, c);
                x[i] = self.param(c).dequantize(self.codes[i]);
            }
        }
        x
    }

    /// `scale · (q_c − q_max)` per pixel (per tensor).
    fn shifted(&self) -> Vec<f32> {
        let scale = self.params[0].scale();
        let mut x = vec![0.0; self.codes.len()];
        for s in 0..self.pixels() {
            let top = (0..self.channels)
                .map(|c| i32::from(self.codes[self.index(s, c)]))
                .max()
                .unwrap();
            for c in 0..self.channels {
                let d = top - i32::from(self.codes[self.index(s, c)]);
                x[self.index(s, c)] = scale * -(d as f32);
            }
        }
        x
    }

    /// Whether a softmax over the codes reads the table: per tensor with a table.
    fn table(&self) -> bool {
        self.per_tensor && (self.params[0].scale() * 255.0).is_finite()
    }

    /// Pixel ranges of the chunks; channels-first chunks must be whole samples.
    fn chunks(&self) -> Vec<(usize, usize)> {
        let n = self.pixels();
        let step = match self.layout {
            Layout::ChannelsLast => self.chunk.max(1),
            Layout::ChannelsFirst => n,
        };
        (0..n)
            .step_by(step)
            .map(|s| (s, (s + step).min(n)))
            .collect()
    }

    /// The values of pixels `a..b` of `v` (codes or scores), laid out as a chunk.
    fn slice<T: Copy>(&self, v: &[T], a: usize, b: usize) -> Vec<T> {
        match self.layout {
            Layout::ChannelsLast => v[a * self.channels..b * self.channels].to_vec(),
            Layout::ChannelsFirst => v.to_vec(),
        }
    }
}

fn frame(max_channels: usize) -> impl Strategy<Value = Frame> {
    let scales = prop_oneof![
        Just(0.0625f32),
        Just(0.1),
        Just(0.37),
        Just(1.9),
        0.001f32..4.0,
        Just(1e37), // 255 · scale overflows: no softmax table
    ];
    (
        1..=max_channels,
        1..40usize,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        1..9usize,
    )
        .prop_flat_map(
            move |(channels, pixels, last, probabilities, per_tensor, chunk)| {
                let layout = if last {
                    Layout::ChannelsLast
                } else {
                    Layout::ChannelsFirst
                };
                let predictions = if probabilities {
                    Predictions::Probabilities
                } else {
                    Predictions::Logits
                };
                (
                    proptest::collection::vec(any::<i8>(), channels * pixels),
                    proptest::collection::vec((scales.clone(), -128..=127i32), CAP),
                    proptest::collection::vec(0..channels.max(2) as u8, pixels),
                )
                    .prop_map(move |(codes, params, labels)| {
                        // Probabilities: `(q + 128) / 256` (or the like) stays in [0, 1].
                        let params = params
                            .into_iter()
                            .map(|(s, z)| {
                                if probabilities {
                                    Quantization::new(1.0 / 256.0, -128).unwrap()
                                } else {
                                    Quantization::new(s, z).unwrap()
                                }
                            })
                            .collect();
                        Frame {
                            channels,
                            layout,
                            predictions,
                            per_tensor,
                            codes,
                            params,
                            labels,
                            chunk,
                        }
                    })
            },
        )
}

fn free_bits(s: &LabelFree<CAP>) -> Vec<u32> {
    let mut v = vec![
        s.pixels as u32,
        s.classes as u32,
        s.entropy.to_bits(),
        s.confidence.to_bits(),
    ];
    v.extend(s.area.iter().map(|a| a.to_bits()));
    for o in [s.consistency, s.consistency_iou, s.agreement] {
        v.push(o.map_or(u32::MAX, f32::to_bits));
    }
    v
}

/// The frame's signals from codes and from `scores`, each with a previous mask of
/// `previous` holding the same classes.
fn both_ways(f: &Frame, scores: &[f32], previous: &[u8]) -> (Vec<u32>, Vec<u32>) {
    let q = f.quantization();
    let (mut mask_a, mut mask_b) = (previous.to_vec(), previous.to_vec());
    let mut a = FrameSignals::<CAP>::new(f.predictions, f.channels)
        .unwrap()
        .with_previous_mask(&mut mask_a, true)
        .unwrap();
    let mut b = FrameSignals::<CAP>::new(f.predictions, f.channels)
        .unwrap()
        .with_previous_mask(&mut mask_b, true)
        .unwrap();
    for (s, e) in f.chunks() {
        a.push_codes(f.layout, &f.slice(&f.codes, s, e), &q)
            .unwrap();
        b.push(f.layout, &f.slice(scores, s, e)).unwrap();
    }
    let (a, b) = (
        free_bits(&a.finish().unwrap()),
        free_bits(&b.finish().unwrap()),
    );
    assert_eq!(mask_a, mask_b);
    (a, b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn frame_signals_on_codes_are_push_on_their_scores(f in frame(CAP)) {
        let softmax = f.channels >= 2 && f.predictions == Predictions::Logits;
        let scores = if softmax && f.table() { f.shifted() } else { f.dequantized() };
        let previous: Vec<u8> = f.labels.clone();
        let (codes, floats) = both_ways(&f, &scores, &previous);
        prop_assert_eq!(codes, floats);
    }

    #[test]
    fn labelled_signals_on_codes(f in frame(CAP)) {
        prop_assume!(f.channels >= 2 && f.predictions == Predictions::Logits);
        let softmax = SoftmaxFocal::new(ClassAlpha::None, 2.0, None).unwrap();
        let ovr = OneVsRestFocal::new(ClassAlpha::Uniform(0.25), 2.0, None).unwrap();
        let shifted = if f.table() { f.shifted() } else { f.dequantized() };
        let dequantized = f.dequantized();
        // The softmax loss reads the shifted scores, argmax decides as on them.
        let (a, b) = labelled(softmax, Decision::Argmax, &f, &shifted, &shifted);
        prop_assert_eq!(a, b);
        // One-vs-rest reads the dequantized scores, thresholds decide on them.
        let (a, b) = labelled(ovr, Decision::Threshold(0.0), &f, &dequantized, &dequantized);
        prop_assert_eq!(a, b);
        // A softmax loss with thresholds: each reader its own scores.
        let (a, b) = labelled(softmax, Decision::Threshold(0.0), &f, &shifted, &dequantized);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn bad_codes_leave_the_frame_unchanged(f in frame(CAP - 1)) {
        let q = f.quantization();
        let mut mask = vec![0u8; f.pixels()];
        let mut s = FrameSignals::<CAP>::new(f.predictions, f.channels)
            .unwrap()
            .with_previous_mask(&mut mask, false)
            .unwrap();
        s.push_codes(f.layout, &f.codes[..f.channels], &q).unwrap();
        let before = format!("{s:?}");
        // A per-channel list one short.
        let short = ClassQuantization::per_class(&f.params[..f.channels + 1]).unwrap();
        prop_assert_eq!(
            s.push_codes(f.layout, &f.codes, &short),
            Err(Error::QuantizationCount { expected: f.channels, found: f.channels + 1 })
        );
        // Not whole pixels.
        if f.channels > 1 && f.pixels() > 1 {
            let r = s.push_codes(f.layout, &f.codes[..f.channels + 1], &q);
            let shape = matches!(r, Err(Error::ShapeMismatch { operand: Operand::Predictions, .. }));
            prop_assert!(shape, "{:?}", r);
        }
        // More pixels than the previous mask holds.
        let r = s.push_codes(f.layout, &f.codes, &q);
        prop_assert!(matches!(r, Err(Error::BufferTooSmall { .. })), "{:?}", r);
        prop_assert_eq!(&before, &format!("{s:?}"));
    }
}

/// `LabelledSignals::push_codes` against `push` with the loss fed `loss_scores` and the
/// decisions fed `decision_scores` (two frames, read from their own halves).
fn labelled<L: ClassLoss + Copy + PartialEq>(
    loss: L,
    decision: Decision,
    f: &Frame,
    loss_scores: &[f32],
    decision_scores: &[f32],
) -> (Vec<u32>, Vec<u32>) {
    let q = f.quantization();
    let mut codes = LabelledSignals::<L, CAP>::new(loss, decision, f.channels).unwrap();
    let mut for_loss = LabelledSignals::<L, CAP>::new(loss, decision, f.channels).unwrap();
    let mut for_decisions = LabelledSignals::<L, CAP>::new(loss, decision, f.channels).unwrap();
    for (s, e) in f.chunks() {
        let (s_px, e_px) = match f.layout {
            Layout::ChannelsLast => (s, e),
            Layout::ChannelsFirst => (0, f.pixels()),
        };
        let targets = Targets::labels(&f.labels[s_px..e_px]);
        codes
            .push_codes(f.layout, &f.slice(&f.codes, s, e), &q, targets)
            .unwrap();
        for_loss
            .push(f.layout, &f.slice(loss_scores, s, e), targets)
            .unwrap();
        for_decisions
            .push(f.layout, &f.slice(decision_scores, s, e), targets)
            .unwrap();
    }
    let bits = |l: &Labelled<CAP>, d: &Labelled<CAP>| {
        let mut v = vec![l.loss.to_bits()];
        for (dice, iou) in d.dice.iter().zip(&d.iou) {
            v.push(dice.map_or(u32::MAX, f32::to_bits));
            v.push(iou.map_or(u32::MAX, f32::to_bits));
        }
        v
    };
    let c = codes.finish().unwrap();
    (
        bits(&c, &c),
        bits(
            &for_loss.finish().unwrap(),
            &for_decisions.finish().unwrap(),
        ),
    )
}

#[test]
fn labelled_bad_codes_leave_the_frame_unchanged() {
    let focal = SoftmaxFocal::new(ClassAlpha::None, 2.0, None).unwrap();
    let q = ClassQuantization::per_tensor(Quantization::new(0.0625, -4).unwrap()).unwrap();
    let mut s = LabelledSignals::<_, 3>::new(focal, Decision::Argmax, 3).unwrap();
    let codes: [i8; 6] = [40, -20, 0, -3, 60, 5];
    s.push_codes(Layout::ChannelsLast, &codes, &q, Targets::labels(&[0u8, 1]))
        .unwrap();
    let before = s;
    // Class 3 of three classes.
    assert_eq!(
        s.push_codes(Layout::ChannelsLast, &codes, &q, Targets::labels(&[0u8, 3])),
        Err(Error::LabelOutOfRange { index: 1, label: 3 })
    );
    let params = [Quantization::new(0.0625, -4).unwrap(); 2];
    let short = ClassQuantization::per_class(&params).unwrap();
    assert_eq!(
        s.push_codes(
            Layout::ChannelsLast,
            &codes,
            &short,
            Targets::labels(&[0u8, 1])
        ),
        Err(Error::QuantizationCount {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(s, before);
    assert_eq!(s.finish().unwrap().dice[0], Some(1.0));
}

#[test]
fn probability_codes_outside_the_unit_interval_are_named() {
    // int8 codes read as probabilities at scale 1/128: the negative codes are outside [0, 1].
    let q = ClassQuantization::per_tensor(Quantization::new(1.0 / 128.0, 0).unwrap()).unwrap();
    let mut s = FrameSignals::<2>::new(Predictions::Probabilities, 2).unwrap();
    let codes: [i8; 4] = [10, 100, 127, -1];
    assert_eq!(
        s.push_codes(Layout::ChannelsLast, &codes, &q),
        Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index: 3
        })
    );
    assert_eq!(s.finish(), Err(Error::EmptyInput));
    // Channels-first: the index is the code's own.
    assert_eq!(
        s.push_codes(Layout::ChannelsFirst, &[10i8, -5, 100, 127], &q),
        Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index: 1
        })
    );
    s.push_codes(Layout::ChannelsFirst, &[10i8, 5, 100, 127], &q)
        .unwrap();
    assert_eq!(s.finish().unwrap().pixels, 2);
}
