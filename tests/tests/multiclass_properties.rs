//! Property tests of `loss_core::multiclass`: the identities the issue asks for, bit for bit
//! where the crate promises bits.
//!
//! - channels-first and channels-last data (the same pixels transposed) give identical bits in
//!   every batch function and accumulator;
//! - label maps (`u8`, `u16`, `i32`) and the equivalent one-hot tensors give identical bits;
//! - softmax focal with gamma 0 and no weights is cross-entropy (bit-identical to
//!   `SoftmaxFocal::cross_entropy`, and within the accuracy rule of the oracle's `ln Σ exp` form);
//! - `ignore_index` is bit-identical to removing those pixels;
//! - streaming in chunks of whole pixels (any split, either layout per chunk) is bit-identical
//!   to one push;
//! - `class_sums` / `class_stats` are the per-sample accumulators, `pooled_class_stats` one
//!   accumulator over the batch.
//!
//! Logits include ±1e4, ±88 and ±inf, so NaN can appear (e.g. `inf - inf` in `tanh` dice);
//! "identical bits" treats any NaN as equal to any NaN, as the golden vectors do.

use loss_core::dice::OverlapStats;
use loss_core::focal::SoftTargets;
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLoss, ClassLossAccumulator, ClassOverlap, ClassStatsAccumulator,
    ConfusionAccumulator, Decision, Intersection, Layout, OneVsRestFocal, Shape, SoftmaxFocal,
    Targets,
};
use loss_tests::oracle::multiclass as o;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng};

const CAP: usize = 6;
const IGNORE: u8 = 255;
const LAYOUTS: [Layout; 2] = [Layout::ChannelsFirst, Layout::ChannelsLast];

// ---------------------------------------------------------------------------------------------
// Data

/// A batch in channels-first order; labels of `IGNORE` are ignored pixels.
#[derive(Debug, Clone)]
struct Batch {
    n: usize,
    c: usize,
    s: usize,
    /// Logits, `N × C × S`.
    scores: Vec<f32>,
    /// Probabilities in `[0, 1]`, `N × C × S`.
    probs: Vec<f32>,
    /// Soft targets in `[0, 1]`, `N × C × S`.
    soft: Vec<f32>,
    /// Labels, `N × S`.
    labels: Vec<u8>,
    /// Parameter seed.
    seed: u64,
}

fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -20.0f32..20.0,
        1 => prop::sample::select(vec![
            1e4f32,
            -1e4,
            88.0,
            -88.0,
            0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]),
    ]
}

fn unit() -> impl Strategy<Value = f32> {
    prop_oneof![6 => 0.0f32..=1.0, 1 => Just(0.0f32), 1 => Just(1.0f32)]
}

/// Batches of 1-3 samples, 1-6 classes, 1-48 pixels; `ignore` allows ignored labels.
fn batch(ignore: bool) -> impl Strategy<Value = Batch> {
    (1usize..=3, 1usize..=CAP, 1usize..=48).prop_flat_map(move |(n, c, s)| {
        let len = n * c * s;
        let ignored = if ignore { 1u32 } else { 0 };
        let label = prop_oneof![8 => 0..c as u8, ignored => Just(IGNORE)];
        (
            prop::collection::vec(logit(), len),
            prop::collection::vec(unit(), len),
            prop::collection::vec(unit(), len),
            prop::collection::vec(label, n * s),
            any::<u64>(),
        )
            .prop_map(move |(scores, probs, soft, labels, seed)| Batch {
                n,
                c,
                s,
                scores,
                probs,
                soft,
                labels,
                seed,
            })
    })
}

impl Batch {
    fn shape(&self, layout: Layout) -> Shape {
        Shape::new(self.n, self.c, self.s, layout).expect("shape")
    }

    /// The given pixels of sample `n` of a channels-first tensor, laid out as `layout` (the
    /// chunk an accumulator takes).
    fn gather(&self, data: &[f32], n: usize, pixels: &[usize], layout: Layout) -> Vec<f32> {
        let at = |c: usize, s: usize| data[(n * self.c + c) * self.s + s];
        match layout {
            Layout::ChannelsFirst => (0..self.c)
                .flat_map(|c| pixels.iter().map(move |&s| at(c, s)))
                .collect(),
            Layout::ChannelsLast => pixels
                .iter()
                .flat_map(|&s| (0..self.c).map(move |c| at(c, s)))
                .collect(),
        }
    }

    /// A whole channels-first tensor in `layout`.
    fn relayout(&self, data: &[f32], layout: Layout) -> Vec<f32> {
        let all: Vec<usize> = (0..self.s).collect();
        (0..self.n)
            .flat_map(|n| self.gather(data, n, &all, layout))
            .collect()
    }

    /// A whole tensor in `layout` back in channels-first order.
    fn to_channels_first(&self, data: &[f32], layout: Layout) -> Vec<f32> {
        match layout {
            Layout::ChannelsFirst => data.to_vec(),
            Layout::ChannelsLast => {
                let mut cf = vec![0.0; data.len()];
                for n in 0..self.n {
                    for s in 0..self.s {
                        for c in 0..self.c {
                            cf[(n * self.c + c) * self.s + s] = data[(n * self.s + s) * self.c + c];
                        }
                    }
                }
                cf
            }
        }
    }

    /// The one-hot tensor of the labels, channels-first (ignored pixels all zero).
    fn onehot(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.n * self.c * self.s];
        for n in 0..self.n {
            for s in 0..self.s {
                let l = usize::from(self.labels[n * self.s + s]);
                if l < self.c {
                    out[(n * self.c + l) * self.s + s] = 1.0;
                }
            }
        }
        out
    }

    fn sample_labels(&self, n: usize) -> &[u8] {
        &self.labels[n * self.s..(n + 1) * self.s]
    }

    /// The non-ignored pixels of sample `n`.
    fn kept(&self, n: usize) -> Vec<usize> {
        (0..self.s)
            .filter(|&s| self.labels[n * self.s + s] != IGNORE)
            .collect()
    }
}

/// Random loss and statistic parameters from the batch's seed.
struct Params {
    gamma: f32,
    alpha: Vec<f32>,
    alpha_kind: u8,
    weights: Option<Vec<f32>>,
    soft: SoftTargets,
    overlap: ClassOverlap,
    decision: Decision,
}

impl Params {
    fn new(b: &Batch) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&b.seed.to_le_bytes());
        let mut r = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let gamma = [0.0f32, 0.5, 1.0, 2.0, 5.0][r.random_range(0..5)];
        let alpha = (0..b.c).map(|_| r.random_range(0.0f32..=1.0)).collect();
        let weights: Vec<f32> = (0..b.c).map(|_| r.random_range(0.0f32..3.0)).collect();
        Self {
            gamma,
            alpha,
            alpha_kind: r.random_range(0..3),
            weights: r.random_bool(0.5).then_some(weights),
            soft: [
                SoftTargets::Torchvision,
                SoftTargets::Monai,
                SoftTargets::Kornia,
            ][r.random_range(0..3)],
            overlap: ClassOverlap {
                activation: [
                    Activation::Sigmoid,
                    Activation::Softmax,
                    Activation::Tanh,
                    Activation::None,
                ][r.random_range(0..4)],
                squared: r.random_bool(0.5),
                intersection: if r.random_bool(0.5) {
                    Intersection::Min
                } else {
                    Intersection::Product
                },
            },
            decision: if r.random_bool(0.5) {
                Decision::Argmax
            } else {
                Decision::Threshold(r.random_range(-1.0f32..1.0))
            },
        }
    }

    fn alpha(&self) -> ClassAlpha<'_> {
        match self.alpha_kind {
            0 => ClassAlpha::None,
            1 => ClassAlpha::Uniform(self.alpha[0]),
            _ => ClassAlpha::PerClass(&self.alpha),
        }
    }

    fn softmax(&self) -> SoftmaxFocal<'_> {
        let alpha = match self.alpha() {
            ClassAlpha::Uniform(a) => ClassAlpha::Background(a),
            a => a,
        };
        SoftmaxFocal::new(alpha, self.gamma, self.weights.as_deref()).expect("softmax focal")
    }

    fn one_vs_rest(&self) -> OneVsRestFocal<'_> {
        OneVsRestFocal::new(self.alpha(), self.gamma, self.weights.as_deref())
            .expect("one-vs-rest")
            .with_soft_targets(self.soft)
    }

    /// The scores the overlap statistics take: probabilities without an activation.
    fn overlap_scores<'a>(&self, b: &'a Batch) -> &'a [f32] {
        if self.overlap.activation == Activation::None {
            &b.probs
        } else {
            &b.scores
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bit comparison

fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same(a: &[f32], b: &[f32], what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len(), "{}: lengths", what);
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        prop_assert!(same_bits(x, y), "{}[{}]: {:e} vs {:e}", what, i, x, y);
    }
    Ok(())
}

fn stats_bits(s: &[OverlapStats]) -> Vec<f32> {
    s.iter()
        .flat_map(|s| {
            [
                s.intersection,
                s.prediction_sum,
                s.target_sum,
                s.count as f32,
            ]
        })
        .collect()
}

/// Everything a class-loss accumulator reports, as f32 values to compare bit for bit.
fn loss_summary<L: ClassLoss>(acc: &ClassLossAccumulator<L, CAP>) -> Vec<f32> {
    let mut v = vec![0.0; acc.classes()];
    acc.class_sums(&mut v).expect("sums");
    v.extend([
        acc.total(),
        acc.mean_per_element().unwrap_or(-1.0),
        acc.mean_per_pixel().unwrap_or(-1.0),
        acc.pixels() as f32,
    ]);
    v
}

fn stats_summary(acc: &ClassStatsAccumulator<CAP>, classes: usize) -> Vec<f32> {
    let mut v = vec![OverlapStats::default(); classes];
    acc.stats(&mut v).expect("stats");
    stats_bits(&v)
}

// ---------------------------------------------------------------------------------------------
// Everything the crate computes from one batch in one layout, with one kind of targets.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    U8,
    U16,
    I32,
    /// The one-hot tensor of the labels (no ignored pixels).
    OneHot,
    /// The soft targets.
    Soft,
}

/// Per-target-kind storage for one layout.
struct Prepared {
    layout: Layout,
    u8s: Vec<u8>,
    u16s: Vec<u16>,
    i32s: Vec<i32>,
    onehot: Vec<f32>,
    soft: Vec<f32>,
    ignore: bool,
}

impl Prepared {
    fn new(b: &Batch, layout: Layout, ignore: bool) -> Self {
        Self {
            layout,
            u8s: b.labels.clone(),
            u16s: b.labels.iter().map(|&l| u16::from(l)).collect(),
            i32s: b.labels.iter().map(|&l| i32::from(l)).collect(),
            onehot: b.relayout(&b.onehot(), layout),
            soft: b.relayout(&b.soft, layout),
            ignore,
        }
    }

    fn targets(&self, kind: Kind) -> Targets<'_> {
        let t = match kind {
            Kind::U8 => Targets::labels(&self.u8s),
            Kind::U16 => Targets::labels(&self.u16s),
            Kind::I32 => Targets::labels(&self.i32s),
            Kind::OneHot => return Targets::dense(&self.onehot),
            Kind::Soft => return Targets::dense(&self.soft),
        };
        if self.ignore {
            t.with_ignore_index(i32::from(IGNORE))
        } else {
            t
        }
    }

    /// Sample `n` of the targets (the layout's own slice).
    fn sample(&self, b: &Batch, kind: Kind, n: usize) -> Targets<'_> {
        let (px, el) = (n * b.s..(n + 1) * b.s, n * b.c * b.s..(n + 1) * b.c * b.s);
        let t = match kind {
            Kind::U8 => Targets::labels(&self.u8s[px]),
            Kind::U16 => Targets::labels(&self.u16s[px]),
            Kind::I32 => Targets::labels(&self.i32s[px]),
            Kind::OneHot => return Targets::dense(&self.onehot[el]),
            Kind::Soft => return Targets::dense(&self.soft[el]),
        };
        if self.ignore {
            t.with_ignore_index(i32::from(IGNORE))
        } else {
            t
        }
    }
}

/// Everything the crate computes from one batch: every batch function and accumulator (one
/// push per sample), elementwise output in channels-first order.
#[derive(Debug, Default)]
struct All {
    softmax_elementwise: Vec<f32>,
    softmax_sums: Vec<f32>,
    /// Per sample: [`loss_summary`] of an accumulator.
    softmax_acc: Vec<f32>,
    ovr_elementwise: Vec<f32>,
    ovr_sums: Vec<f32>,
    ovr_acc: Vec<f32>,
    stats: Vec<f32>,
    pooled: Vec<f32>,
    stats_acc: Vec<f32>,
    confusion: Vec<f32>,
}

impl All {
    fn sections(&self) -> [(&'static str, &[f32]); 10] {
        [
            ("softmax elementwise", &self.softmax_elementwise),
            ("softmax class_sums", &self.softmax_sums),
            ("softmax accumulator", &self.softmax_acc),
            ("one-vs-rest elementwise", &self.ovr_elementwise),
            ("one-vs-rest class_sums", &self.ovr_sums),
            ("one-vs-rest accumulator", &self.ovr_acc),
            ("class_stats", &self.stats),
            ("pooled_class_stats", &self.pooled),
            ("stats accumulator", &self.stats_acc),
            ("confusion", &self.confusion),
        ]
    }

    fn assert_same(&self, other: &Self, what: &str) -> Result<(), TestCaseError> {
        for ((name, a), (_, b)) in self.sections().into_iter().zip(other.sections()) {
            assert_same(a, b, &format!("{what}: {name}"))?;
        }
        Ok(())
    }
}

fn counts_bits(acc: &ConfusionAccumulator<CAP>) -> Vec<f32> {
    acc.counts()
        .iter()
        .flat_map(|k| {
            [
                k.true_positives,
                k.false_positives,
                k.false_negatives,
                k.true_negatives,
            ]
            .map(|v| v as f32)
        })
        .collect()
}

/// Elementwise output, per-(sample, class) sums and per-sample accumulator summaries of a
/// class loss.
#[allow(clippy::too_many_arguments)]
fn class_loss<L: ClassLoss>(
    b: &Batch,
    loss: L,
    shape: &Shape,
    scores: &[f32],
    targets: Targets<'_>,
    prep: &Prepared,
    kind: Kind,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut el = vec![0.0; b.n * b.c * b.s];
    loss.loss_elementwise(shape, scores, targets, &mut el)
        .expect("elementwise");
    let mut sums = vec![0.0; b.n * b.c];
    loss.class_sums::<CAP>(shape, scores, targets, &mut sums)
        .expect("class sums");
    let len = b.c * b.s;
    let mut acc_out = Vec::new();
    for n in 0..b.n {
        let mut acc = ClassLossAccumulator::<L, CAP>::new(loss, b.c).expect("acc");
        acc.push(
            prep.layout,
            &scores[n * len..(n + 1) * len],
            prep.sample(b, kind, n),
        )
        .expect("push");
        acc_out.extend(loss_summary(&acc));
    }
    (b.to_channels_first(&el, prep.layout), sums, acc_out)
}

fn everything(b: &Batch, p: &Params, prep: &Prepared, kind: Kind) -> All {
    let layout = prep.layout;
    let shape = b.shape(layout);
    let scores = b.relayout(&b.scores, layout);
    let overlap_scores = b.relayout(p.overlap_scores(b), layout);
    let targets = prep.targets(kind);
    let mut all = All::default();
    (all.softmax_elementwise, all.softmax_sums, all.softmax_acc) =
        class_loss(b, p.softmax(), &shape, &scores, targets, prep, kind);
    (all.ovr_elementwise, all.ovr_sums, all.ovr_acc) =
        class_loss(b, p.one_vs_rest(), &shape, &scores, targets, prep, kind);

    let mut stats = vec![OverlapStats::default(); b.n * b.c];
    p.overlap
        .class_stats::<CAP>(&shape, &overlap_scores, targets, &mut stats)
        .expect("stats");
    all.stats = stats_bits(&stats);
    let mut pooled = vec![OverlapStats::default(); b.c];
    p.overlap
        .pooled_class_stats::<CAP>(&shape, &overlap_scores, targets, &mut pooled)
        .expect("pooled");
    all.pooled = stats_bits(&pooled);
    let mut stats_acc = ClassStatsAccumulator::<CAP>::new(p.overlap, b.c).expect("acc");
    let mut confusion = ConfusionAccumulator::<CAP>::new(p.decision, b.c).expect("acc");
    let len = b.c * b.s;
    for n in 0..b.n {
        let t = prep.sample(b, kind, n);
        stats_acc
            .push(layout, &overlap_scores[n * len..(n + 1) * len], t)
            .expect("push");
        confusion
            .push(layout, &scores[n * len..(n + 1) * len], t)
            .expect("push");
    }
    all.stats_acc = stats_summary(&stats_acc, b.c);
    all.confusion = counts_bits(&confusion);
    all
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Channels-first and channels-last data give identical bits everywhere, for every kind
    /// of targets (label maps with ignored pixels, one-hot, soft).
    #[test]
    fn layouts_give_identical_bits(b in batch(true)) {
        let p = Params::new(&b);
        let cf = Prepared::new(&b, Layout::ChannelsFirst, true);
        let cl = Prepared::new(&b, Layout::ChannelsLast, true);
        for kind in [Kind::U8, Kind::U16, Kind::I32, Kind::OneHot, Kind::Soft] {
            everything(&b, &p, &cf, kind).assert_same(&everything(&b, &p, &cl, kind), &format!("{kind:?}"))?;
        }
    }

    /// `u8`, `u16` and `i32` label maps and the one-hot tensor give identical bits.
    #[test]
    fn label_maps_and_one_hot_agree(b in batch(false), layout in prop::sample::select(LAYOUTS.to_vec())) {
        let p = Params::new(&b);
        let prep = Prepared::new(&b, layout, false);
        let onehot = everything(&b, &p, &prep, Kind::OneHot);
        for kind in [Kind::U8, Kind::U16, Kind::I32] {
            everything(&b, &p, &prep, kind).assert_same(&onehot, &format!("{kind:?} vs one-hot"))?;
        }
    }

    /// Softmax focal with gamma 0 and no alpha is cross-entropy, bit for bit, whatever the
    /// neutral alpha and weights; and it is the oracle's `ln Σ exp` within the accuracy rule.
    #[test]
    fn gamma_zero_is_cross_entropy(b in batch(true), layout in prop::sample::select(LAYOUTS.to_vec())) {
        let shape = b.shape(layout);
        let scores = b.relayout(&b.scores, layout);
        let targets = Targets::labels(&b.labels).with_ignore_index(i32::from(IGNORE));
        let ones = vec![1.0f32; b.c];
        let ce = SoftmaxFocal::cross_entropy();
        let mut want = vec![0.0; scores.len()];
        ce.loss_elementwise(&shape, &scores, targets, &mut want).expect("ce");
        // Background(0) weighs class 0 by 1 - 0 = 1 (and the others by 0): equal on class 0.
        for (loss, only_background) in [
            (SoftmaxFocal::new(ClassAlpha::None, 0.0, None).expect("loss"), false),
            (SoftmaxFocal::new(ClassAlpha::Uniform(1.0), 0.0, Some(&ones)).expect("loss"), false),
            (SoftmaxFocal::new(ClassAlpha::Background(0.0), 0.0, None).expect("loss"), true),
        ] {
            let mut got = vec![0.0; scores.len()];
            loss.loss_elementwise(&shape, &scores, targets, &mut got).expect("loss");
            let got = b.to_channels_first(&got, layout);
            let want = b.to_channels_first(&want, layout);
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                let class = i / b.s % b.c;
                if !only_background || class == 0 {
                    prop_assert!(same_bits(g, w), "{:?} [{}]: {:e} vs {:e}", loss, i, g, w);
                }
            }
        }
        let dims = o::Dims { batch: b.n, classes: b.c, spatial: b.s, layout };
        let labels: Vec<i32> = b.labels.iter().map(|&l| i32::from(l)).collect();
        let truth = o::Truth::Labels { labels: &labels, ignore_index: Some(i32::from(IGNORE)) };
        for px in o::pixels(&dims, &scores, truth) {
            if px.scores.iter().any(|v| v.is_infinite()) {
                continue;
            }
            let k = px.label.expect("label");
            let exact = o::cross_entropy(&px.scores, k);
            let got = f64::from(want[dims.index(px.sample, px.position, k)]);
            let tol = if exact >= 1e-6 { 1e-6 * exact } else if exact >= 1e-30 { 2e-5 * exact } else { 1e-30 };
            prop_assert!((got - exact).abs() <= tol, "pixel {:?}: {} vs {}", px, got, exact);
        }
    }

    /// `ignore_index` is bit-identical to removing the ignored pixels: accumulators, batch
    /// functions (per sample, pooled) and the elementwise output (ignored entries 0).
    #[test]
    fn ignore_index_is_removal(b in batch(true), layout in prop::sample::select(LAYOUTS.to_vec())) {
        let p = Params::new(&b);
        let prep = Prepared::new(&b, layout, true);
        let got = everything(&b, &p, &prep, Kind::U8);
        // The same computations on the compacted samples, one push each.
        let mut want = All::default();
        let mut pooled = ClassStatsAccumulator::<CAP>::new(p.overlap, b.c).expect("acc");
        let mut confusion = ConfusionAccumulator::<CAP>::new(p.decision, b.c).expect("acc");
        let mut softmax_el = vec![0.0; b.n * b.c * b.s];
        let mut ovr_el = vec![0.0; b.n * b.c * b.s];
        for n in 0..b.n {
            let kept = b.kept(n);
            let labels: Vec<u8> = kept.iter().map(|&s| b.sample_labels(n)[s]).collect();
            let x = b.gather(&b.scores, n, &kept, layout);
            let px = b.gather(p.overlap_scores(&b), n, &kept, layout);
            let t = Targets::labels(&labels);
            let mut a = ClassLossAccumulator::<_, CAP>::new(p.softmax(), b.c).expect("acc");
            a.push(layout, &x, t).expect("push");
            let summary = loss_summary(&a);
            want.softmax_sums.extend(&summary[..b.c]);
            want.softmax_acc.extend(summary);
            let mut a = ClassLossAccumulator::<_, CAP>::new(p.one_vs_rest(), b.c).expect("acc");
            a.push(layout, &x, t).expect("push");
            let summary = loss_summary(&a);
            want.ovr_sums.extend(&summary[..b.c]);
            want.ovr_acc.extend(summary);
            let mut a = ClassStatsAccumulator::<CAP>::new(p.overlap, b.c).expect("acc");
            a.push(layout, &px, t).expect("push");
            want.stats.extend(stats_summary(&a, b.c));
            pooled.push(layout, &px, t).expect("push");
            confusion.push(layout, &x, t).expect("push");
            // Elementwise: the compacted sample's terms at the kept pixels, 0 elsewhere.
            if kept.is_empty() {
                continue;
            }
            let small = Shape::new(1, b.c, kept.len(), layout).expect("shape");
            let mut e = vec![0.0; x.len()];
            let mut f = vec![0.0; x.len()];
            p.softmax().loss_elementwise(&small, &x, t, &mut e).expect("elementwise");
            p.one_vs_rest().loss_elementwise(&small, &x, t, &mut f).expect("elementwise");
            for (j, &s) in kept.iter().enumerate() {
                for c in 0..b.c {
                    let k = match layout {
                        Layout::ChannelsFirst => c * kept.len() + j,
                        Layout::ChannelsLast => j * b.c + c,
                    };
                    softmax_el[(n * b.c + c) * b.s + s] = e[k];
                    ovr_el[(n * b.c + c) * b.s + s] = f[k];
                }
            }
        }
        want.softmax_elementwise = softmax_el;
        want.ovr_elementwise = ovr_el;
        want.pooled = stats_summary(&pooled, b.c);
        want.stats_acc = want.pooled.clone();
        want.confusion = counts_bits(&confusion);
        got.assert_same(&want, "ignore_index vs removal")?;
    }

    /// Streaming whole pixels in chunks (random split, random layout per chunk) is bit-identical
    /// to one push of each sample, for every accumulator.
    #[test]
    fn streaming_equals_one_shot(
        b in batch(true),
        cuts in prop::collection::vec(any::<u16>(), 0..8),
        layouts in prop::collection::vec(prop::sample::select(LAYOUTS.to_vec()), 9),
    ) {
        let p = Params::new(&b);
        fn labels_t(l: &[u8]) -> Targets<'_> {
            Targets::labels(l).with_ignore_index(i32::from(IGNORE))
        }
        let mut one = (
            ClassLossAccumulator::<_, CAP>::new(p.softmax(), b.c).expect("acc"),
            ClassLossAccumulator::<_, CAP>::new(p.one_vs_rest(), b.c).expect("acc"),
            ClassStatsAccumulator::<CAP>::new(p.overlap, b.c).expect("acc"),
            ConfusionAccumulator::<CAP>::new(p.decision, b.c).expect("acc"),
        );
        let mut chunked = one;
        let mut dense_one = one;
        let mut dense_chunked = one;
        let mut bounds: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (b.s + 1)).collect();
        bounds.extend([0, b.s]);
        bounds.sort_unstable();
        bounds.dedup();
        let all: Vec<usize> = (0..b.s).collect();
        for n in 0..b.n {
            let x = b.gather(&b.scores, n, &all, Layout::ChannelsLast);
            let px = b.gather(p.overlap_scores(&b), n, &all, Layout::ChannelsLast);
            let soft = b.gather(&b.soft, n, &all, Layout::ChannelsLast);
            let t = labels_t(b.sample_labels(n));
            one.0.push(Layout::ChannelsLast, &x, t).expect("push");
            one.1.push(Layout::ChannelsLast, &x, t).expect("push");
            one.2.push(Layout::ChannelsLast, &px, t).expect("push");
            one.3.push(Layout::ChannelsLast, &x, t).expect("push");
            let d = Targets::dense(&soft);
            dense_one.0.push(Layout::ChannelsLast, &x, d).expect("push");
            dense_one.1.push(Layout::ChannelsLast, &x, d).expect("push");
            dense_one.2.push(Layout::ChannelsLast, &px, d).expect("push");
            dense_one.3.push(Layout::ChannelsLast, &x, d).expect("push");
            for (w, pair) in bounds.windows(2).enumerate() {
                let layout = layouts[w % layouts.len()];
                let range: Vec<usize> = (pair[0]..pair[1]).collect();
                let x = b.gather(&b.scores, n, &range, layout);
                let px = b.gather(p.overlap_scores(&b), n, &range, layout);
                let soft = b.gather(&b.soft, n, &range, layout);
                let labels = &b.sample_labels(n)[pair[0]..pair[1]];
                let t = labels_t(labels);
                chunked.0.push(layout, &x, t).expect("push");
                chunked.1.push(layout, &x, t).expect("push");
                chunked.2.push(layout, &px, t).expect("push");
                chunked.3.push(layout, &x, t).expect("push");
                let d = Targets::dense(&soft);
                dense_chunked.0.push(layout, &x, d).expect("push");
                dense_chunked.1.push(layout, &x, d).expect("push");
                dense_chunked.2.push(layout, &px, d).expect("push");
                dense_chunked.3.push(layout, &x, d).expect("push");
            }
            // An empty chunk changes nothing.
            chunked.0.push(Layout::ChannelsFirst, &[], labels_t(&[])).expect("empty");
            chunked.2.push(Layout::ChannelsLast, &[], labels_t(&[])).expect("empty");
        }
        for (whole, parts, what) in [(&one, &chunked, "labels"), (&dense_one, &dense_chunked, "dense")] {
            assert_same(&loss_summary(&parts.0), &loss_summary(&whole.0), &format!("softmax {what}"))?;
            assert_same(&loss_summary(&parts.1), &loss_summary(&whole.1), &format!("one-vs-rest {what}"))?;
            assert_same(&stats_summary(&parts.2, b.c), &stats_summary(&whole.2, b.c), &format!("stats {what}"))?;
            prop_assert_eq!(parts.3.counts(), whole.3.counts(), "confusion {}", what);
        }
    }

    /// `class_sums` and `class_stats` are per-sample accumulators; `pooled_class_stats` is one
    /// accumulator over the samples in order.
    #[test]
    fn batch_functions_are_per_sample_accumulators(
        b in batch(true),
        layout in prop::sample::select(LAYOUTS.to_vec()),
    ) {
        let p = Params::new(&b);
        let shape = b.shape(layout);
        let scores = b.relayout(&b.scores, layout);
        let overlap_scores = b.relayout(p.overlap_scores(&b), layout);
        let prep = Prepared::new(&b, layout, true);
        let len = b.c * b.s;
        for kind in [Kind::I32, Kind::Soft] {
            let targets = prep.targets(kind);
            let mut sums = vec![0.0; b.n * b.c];
            p.softmax().class_sums::<CAP>(&shape, &scores, targets, &mut sums).expect("sums");
            let mut ovr = vec![0.0; b.n * b.c];
            p.one_vs_rest().class_sums::<CAP>(&shape, &scores, targets, &mut ovr).expect("sums");
            let mut stats = vec![OverlapStats::default(); b.n * b.c];
            p.overlap.class_stats::<CAP>(&shape, &overlap_scores, targets, &mut stats).expect("stats");
            let mut pooled = vec![OverlapStats::default(); b.c];
            p.overlap.pooled_class_stats::<CAP>(&shape, &overlap_scores, targets, &mut pooled).expect("pooled");
            let mut all = ClassStatsAccumulator::<CAP>::new(p.overlap, b.c).expect("acc");
            for n in 0..b.n {
                let t = prep.sample(&b, kind, n);
                let x = &scores[n * len..(n + 1) * len];
                let px = &overlap_scores[n * len..(n + 1) * len];
                let row = n * b.c..(n + 1) * b.c;
                let mut a = ClassLossAccumulator::<_, CAP>::new(p.softmax(), b.c).expect("acc");
                a.push(layout, x, t).expect("push");
                assert_same(&sums[row.clone()], &loss_summary(&a)[..b.c], "softmax class_sums")?;
                let mut a = ClassLossAccumulator::<_, CAP>::new(p.one_vs_rest(), b.c).expect("acc");
                a.push(layout, x, t).expect("push");
                assert_same(&ovr[row.clone()], &loss_summary(&a)[..b.c], "one-vs-rest class_sums")?;
                let mut a = ClassStatsAccumulator::<CAP>::new(p.overlap, b.c).expect("acc");
                a.push(layout, px, t).expect("push");
                assert_same(&stats_bits(&stats[row]), &stats_summary(&a, b.c), "class_stats")?;
                all.push(layout, px, t).expect("push");
            }
            assert_same(&stats_bits(&pooled), &stats_summary(&all, b.c), "pooled_class_stats")?;
        }
    }
}
