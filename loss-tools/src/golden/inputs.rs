//! The input sets: fixed edge values and a fixed xorshift sequence, in a fixed order.

use super::InputSet;

/// Deterministic xorshift32 values.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// Uniform in `[0, 1)` with 24 random bits.
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 24) as f32
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    fn bit(&mut self) -> f32 {
        if self.next() & 0x100 != 0 { 1.0 } else { 0.0 }
    }
}

/// Logits that stress the stable forms: saturating, overflowing `exp`, infinite, signed zero,
/// tiny, around the `exp(-|x|)` underflow (`|x| ~ 88..104`).
const EXTREME_LOGITS: [f32; 18] = [
    1e4,
    -1e4,
    88.0,
    -88.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    17.0,
    -17.0,
    1e-30,
    -1e-30,
    30.0,
    -30.0,
    103.0,
    -103.0,
    f32::MAX,
    f32::MIN,
];

/// Probabilities at and around 0, 1 and the clamp bounds used below.
const EDGE_PROBS: [f32; 14] = [
    0.0,
    1.0,
    1e-3,
    0.999,
    5e-4,
    0.9995,
    1e-45,
    1e-7,
    0.999_999_9,
    0.999_999_94,
    0.5,
    1e-38,
    0.001_000_1,
    0.998_999_9,
];

/// Soft targets paired with the edge values, including exact 0 / 1 mixed in and 0.5 (MONAI's
/// `2t - 1 = 0`).
const SOFT_TARGETS: [f32; 8] = [0.5, 0.3, 0.7, 1e-3, 0.999, 0.0, 1.0, 0.1];

/// The input sets, in a fixed order.
pub fn input_sets() -> Vec<InputSet> {
    let mut rng = Rng(0x5EED_F0CA);
    let mut sets = Vec::new();
    logit_sets(&mut rng, &mut sets);
    probability_sets(&mut rng, &mut sets);
    mask_sets(&mut rng, &mut sets);
    batch_sets(&mut rng, &mut sets);
    reduction_and_non_finite_sets(&mut rng, &mut sets);
    bad_input_sets(&mut sets);
    multiclass_sets(&mut rng, &mut sets);
    quantized_sets(&mut rng, &mut sets);
    multiclass_code_sets(&mut rng, &mut sets);
    sets
}

/// Quantized multi-class scores (as their values) in the main multi-class shape, with a `u8`
/// label map holding a few ignored pixels (255): `i8` codes at scale 1/16 and zero point -4
/// channels-last (`mcq_i8`) and channels-first (`mcq_i8_nchw`), and the same codes plus 128
/// as `u8` (`mcq_u8`: with zero points plus 128 the same real scores). Pixel 0 spans every
/// code (`q_max - q = 255`, the table's last entry), pixel 1 has equal codes, pixel 2 two
/// equal highest codes (the first wins).
fn multiclass_code_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    let mut labels = mc_labels(rng);
    let scores = mc_scores(rng, &labels);
    let mut codes: Vec<f32> = scores
        .iter()
        .map(|&x| ((x * 16.0).round() - 4.0).clamp(-128.0, 127.0))
        .collect();
    codes[..MC_CLASSES * 3].copy_from_slice(&[
        127.0, -128.0, 0.0, -4.0, 7.0, 7.0, 7.0, 7.0, 20.0, 50.0, -9.0, 50.0,
    ]);
    for i in [4, 19, 33] {
        labels[i] = 255.0;
    }
    sets.push(InputSet {
        name: "mcq_i8",
        predictions: codes.clone(),
        targets: labels.clone(),
    });
    sets.push(InputSet {
        name: "mcq_i8_nchw",
        predictions: to_nchw(&codes),
        targets: labels.clone(),
    });
    sets.push(InputSet {
        name: "mcq_u8",
        predictions: codes.iter().map(|&q| q + 128.0).collect(),
        targets: labels,
    });
}

/// Quantized codes (as their values) with hard masks: every `i8` code once in a shuffled
/// order, `u8` probability codes, and a mask with a bad byte.
fn quantized_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    // Every code once: the most distinct per-code terms in the least flash.
    let mut codes: Vec<f32> = (-128..128).map(|c| c as f32).collect();
    for i in (1..codes.len()).rev() {
        codes.swap(i, rng.next() as usize % (i + 1));
    }
    // Mostly the sign of the code, with label noise.
    let mask: Vec<f32> = codes
        .iter()
        .map(|&c| f32::from(u8::from((c > 0.0) != rng.next().is_multiple_of(8))))
        .collect();
    // Its first 40 elements, for the elementwise output (the device's buffers are small).
    sets.push(InputSet {
        name: "q_i8_small",
        predictions: codes[..40].to_vec(),
        targets: mask[..40].to_vec(),
    });
    sets.push(InputSet {
        name: "q_i8",
        predictions: codes,
        targets: mask,
    });
    let codes: Vec<f32> = (0..200).map(|_| (rng.next() % 256) as f32).collect();
    let mask = codes
        .iter()
        .map(|&c| f32::from(u8::from(c > 100.0)))
        .collect();
    sets.push(InputSet {
        name: "q_u8",
        predictions: codes,
        targets: mask,
    });
    sets.push(InputSet {
        name: "q_bad_mask",
        predictions: vec![-3.0, 5.0, 127.0, -128.0, 0.0, 9.0, 1.0, 2.0],
        targets: vec![0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 1.0, 0.0],
    });
}

/// Logits: the extremes with both labels, hard targets, soft targets.
fn logit_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    // Every extreme logit with both labels: per-element limits (the reduced values are `+inf`).
    let (p, t) = with_both_labels(EXTREME_LOGITS);
    sets.push(InputSet {
        name: "logits_extreme",
        predictions: p,
        targets: t,
    });
    // Hard targets on logits: the finite extremes with both labels, then random logits.
    let (mut p, mut t) = with_both_labels(EXTREME_LOGITS.into_iter().filter(|x| x.abs() <= 1e4));
    fill(&mut p, &mut t, 160, || (rng.range(-10.0, 10.0), rng.bit()));
    sets.push(InputSet {
        name: "logits_hard",
        predictions: p,
        targets: t,
    });
    // Soft targets on logits.
    let (mut p, mut t) = with_soft_targets(&EXTREME_LOGITS, 3);
    fill(&mut p, &mut t, 96, || (rng.range(-12.0, 12.0), rng.unit()));
    sets.push(InputSet {
        name: "logits_soft",
        predictions: p,
        targets: t,
    });
}

/// Probabilities: the edges with both labels, with hard and with soft targets.
fn probability_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    // Probabilities with hard targets: edges with both labels, then random.
    let (mut p, mut t) = with_both_labels(EDGE_PROBS);
    fill(&mut p, &mut t, 96, || (rng.unit(), rng.bit()));
    sets.push(InputSet {
        name: "probs_hard",
        predictions: p,
        targets: t,
    });
    // Probabilities with soft targets.
    let (mut p, mut t) = with_soft_targets(&EDGE_PROBS, 5);
    fill(&mut p, &mut t, 96, || (rng.unit(), rng.unit()));
    sets.push(InputSet {
        name: "probs_soft",
        predictions: p,
        targets: t,
    });
}

/// Each value twice, with the targets 0 and 1.
fn with_both_labels(values: impl IntoIterator<Item = f32>) -> (Vec<f32>, Vec<f32>) {
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for x in values {
        p.extend([x, x]);
        t.extend([0.0, 1.0]);
    }
    (p, t)
}

/// Each value twice, with the soft targets `i` and `i + offset` of [`SOFT_TARGETS`] (cyclic).
fn with_soft_targets(values: &[f32], offset: usize) -> (Vec<f32>, Vec<f32>) {
    let soft = SOFT_TARGETS;
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for (i, &x) in values.iter().enumerate() {
        p.extend([x, x]);
        t.extend([soft[i % soft.len()], soft[(i + offset) % soft.len()]]);
    }
    (p, t)
}

/// Appends `(prediction, target)` pairs from `next` until there are `len` predictions.
fn fill(p: &mut Vec<f32>, t: &mut Vec<f32>, len: usize, mut next: impl FnMut() -> (f32, f32)) {
    while p.len() < len {
        let (x, y) = next();
        p.push(x);
        t.push(y);
    }
}

/// Empty, all-zero and full masks.
fn mask_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    // Empty mask: nothing to find, small predictions (probabilities).
    sets.push(InputSet {
        name: "empty_mask",
        predictions: (0..96).map(|_| rng.range(0.0, 0.2)).collect(),
        targets: vec![0.0; 96],
    });
    // Empty mask and empty prediction: the dice 0/0 case.
    sets.push(InputSet {
        name: "all_zero",
        predictions: vec![0.0; 70],
        targets: vec![0.0; 70],
    });
    // Empty mask, confident logits (including -inf).
    let mut p: Vec<f32> = (0..66).map(|_| rng.range(-20.0, -5.0)).collect();
    p[3] = f32::NEG_INFINITY;
    p[40] = -1e4;
    sets.push(InputSet {
        name: "empty_mask_logits",
        predictions: p,
        targets: vec![0.0; 66],
    });
    // Full mask, confident probabilities.
    sets.push(InputSet {
        name: "full_mask",
        predictions: (0..80).map(|_| rng.range(0.8, 1.0)).collect(),
        targets: vec![1.0; 80],
    });
}

/// A batch of 4 samples, as probabilities and as logits (for the per-sample paths).
fn batch_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    // A batch of 4 samples of 48 probabilities: a blob, an empty mask, a full mask, noise.
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for s in 0..4 {
        for i in 0..48 {
            let target = match s {
                0 => f32::from(u8::from((12..30).contains(&i))),
                1 => 0.0,
                2 => 1.0,
                _ => rng.bit(),
            };
            let noise = rng.range(0.0, 0.3);
            p.push(if target == 1.0 { 1.0 - noise } else { noise });
            t.push(target);
        }
    }
    sets.push(InputSet {
        name: "batch4",
        predictions: p,
        targets: t,
    });
    // The same batch as logits (with one saturated value per sample).
    let (mut p, t) = (
        Vec::new(),
        sets.last().map(|s| s.targets.clone()).unwrap_or_default(),
    );
    for (i, &target) in t.iter().enumerate() {
        let x = rng.range(0.5, 8.0);
        p.push(match (i % 48 == 7, target == 1.0) {
            (true, true) => f32::INFINITY,
            (true, false) => -1e4,
            (false, true) => x,
            (false, false) => -x,
        });
    }
    sets.push(InputSet {
        name: "batch4_logits",
        predictions: p,
        targets: t,
    });
}

/// Values for the plain reductions, and infinities and NaN.
fn reduction_and_non_finite_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    // Values for the plain reductions: magnitudes from 1e-30 to 1e30, both signs, cancellation.
    let mut p = Vec::new();
    for i in 0..300 {
        let mag = 10f32.powi((i % 61) - 30);
        let sign = if rng.bit() == 1.0 { -1.0 } else { 1.0 };
        p.push(sign * mag * rng.range(1.0, 10.0));
    }
    p[100] = 16_777_216.0;
    p[101] = 1.0;
    p[102] = -16_777_216.0;
    let t = (0..300).map(|_| rng.unit()).collect();
    sets.push(InputSet {
        name: "reduce_values",
        predictions: p,
        targets: t,
    });
    // Infinities and NaN: propagation.
    sets.push(InputSet {
        name: "non_finite",
        predictions: vec![0.5, f32::INFINITY, 0.25, 2.0, f32::NAN, 1.0, -3.0, 0.0],
        targets: vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.0, 1.0],
    });
    sets.push(InputSet {
        name: "opposite_inf",
        predictions: vec![1.0, f32::INFINITY, 2.0, f32::NEG_INFINITY, 3.0],
        targets: vec![0.0, 1.0, 0.0, 1.0, 0.0],
    });
    sets.push(InputSet {
        name: "nan_target",
        predictions: vec![0.5, -1.0, 2.0, 0.25],
        targets: vec![1.0, f32::NAN, 0.0, 1.0],
    });
}

/// Bad input: errors, never panics.
fn bad_input_sets(sets: &mut Vec<InputSet>) {
    sets.push(InputSet {
        name: "bad_target_high",
        predictions: vec![0.5, 0.25, 0.75, 0.5],
        targets: vec![1.0, 0.0, 1.5, 0.0],
    });
    sets.push(InputSet {
        name: "bad_target_negative",
        predictions: vec![0.5, 0.25, 0.75],
        targets: vec![-0.25, 0.0, 1.0],
    });
    sets.push(InputSet {
        name: "bad_prob",
        predictions: vec![0.5, 1.000_000_1, -0.0, 0.3],
        targets: vec![1.0, 1.0, 0.0, 0.0],
    });
    sets.push(InputSet {
        name: "bad_prob_negative",
        predictions: vec![0.5, -1e-45],
        targets: vec![1.0, 0.0],
    });
    sets.push(InputSet {
        name: "mismatch",
        predictions: vec![0.5, 0.25, 0.75],
        targets: vec![1.0, 0.0],
    });
    sets.push(InputSet {
        name: "empty",
        predictions: vec![],
        targets: vec![],
    });
}

/// Samples of the main multi-class sets (2 samples of 24 pixels, 4 classes).
pub const MC_BATCH: usize = 2;
/// Classes of the main multi-class sets.
pub const MC_CLASSES: usize = 4;
/// Pixels per sample of the main multi-class sets.
pub const MC_SPATIAL: usize = 24;

/// Multi-class inputs. Scores are channels-last (`mc_*`) and the same values transposed to
/// channels-first (`mc_nchw_*`), so the two layouts are checked to give the same bits.
fn multiclass_sets(rng: &mut Rng, sets: &mut Vec<InputSet>) {
    let labels = mc_labels(rng);
    let scores = mc_scores(rng, &labels);
    let dense = one_hot_with_soft_rows(&labels);
    let mut ignore = labels.clone();
    for i in [2, 17, 30] {
        ignore[i] = 255.0;
    }
    let probs = softmax_rows(&scores);
    sets.push(InputSet {
        name: "mc_labels",
        predictions: scores.clone(),
        targets: labels.clone(),
    });
    sets.push(InputSet {
        name: "mc_labels_ignore",
        predictions: scores.clone(),
        targets: ignore,
    });
    sets.push(InputSet {
        name: "mc_dense",
        predictions: scores.clone(),
        targets: dense.clone(),
    });
    sets.push(InputSet {
        name: "mc_nchw_dense",
        predictions: to_nchw(&scores),
        targets: to_nchw(&dense),
    });
    sets.push(InputSet {
        name: "mc_nchw_labels",
        predictions: to_nchw(&scores),
        targets: labels.clone(),
    });
    sets.push(InputSet {
        name: "mc_probs",
        predictions: probs,
        targets: labels.clone(),
    });
    multiclass_edge_sets(labels, scores, sets);
}

/// Labels: every class present, class 3 rare (a few ignored pixels, 255, are set in
/// `mc_labels_ignore`).
fn mc_labels(rng: &mut Rng) -> Vec<f32> {
    (0..MC_BATCH * MC_SPATIAL)
        .map(|i| {
            if i % 11 == 5 {
                3.0
            } else {
                f32::from((rng.next() % 3) as u8)
            }
        })
        .collect()
}

/// Channels-last scores that mostly favour the label, with extreme scores in a few pixels.
fn mc_scores(rng: &mut Rng, labels: &[f32]) -> Vec<f32> {
    let mut scores = Vec::with_capacity(labels.len() * MC_CLASSES);
    for (i, &label) in labels.iter().enumerate() {
        for c in 0..MC_CLASSES {
            let mut x = rng.range(-4.0, 4.0);
            if c as f32 == label && i % 3 != 0 {
                x += 3.0;
            }
            scores.push(x);
        }
    }
    // Extreme scores in a few pixels: saturated softmax and sigmoid.
    for (i, v) in [(0, 1e4), (5, -1e4), (9, 88.0), (14, -88.0), (22, 30.0)] {
        scores[i] = v;
    }
    scores
}

/// Channels-last dense targets: one-hot, with soft rows every 7th pixel.
fn one_hot_with_soft_rows(labels: &[f32]) -> Vec<f32> {
    labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| {
            (0..MC_CLASSES).map(move |c| {
                if i % 7 == 3 {
                    if c as f32 == l { 0.7 } else { 0.1 }
                } else if c as f32 == l {
                    1.0
                } else {
                    0.0
                }
            })
        })
        .collect()
}

/// Channels-last values transposed to channels-first.
fn to_nchw(v: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for n in 0..MC_BATCH {
        for s in 0..MC_SPATIAL {
            for c in 0..MC_CLASSES {
                out[(n * MC_CLASSES + c) * MC_SPATIAL + s] =
                    v[(n * MC_SPATIAL + s) * MC_CLASSES + c];
            }
        }
    }
    out
}

/// The softmax of each pixel's scores (computed in f64), as probabilities.
fn softmax_rows(scores: &[f32]) -> Vec<f32> {
    scores
        .chunks(MC_CLASSES)
        .flat_map(|px| {
            let m = px.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let e: Vec<f32> = px.iter().map(|&v| ((v - m) as f64).exp() as f32).collect();
            let z: f32 = e.iter().sum();
            e.into_iter().map(move |v| v / z)
        })
        .collect()
}

/// An absent class and a label out of range.
fn multiclass_edge_sets(labels: Vec<f32>, scores: Vec<f32>, sets: &mut Vec<InputSet>) {
    // Class 2 absent from the targets and never predicted (the empty-class conventions).
    let absent: Vec<f32> = labels
        .iter()
        .map(|&l| if l == 2.0 { 0.0 } else { l })
        .collect();
    let mut absent_scores = scores.clone();
    for px in absent_scores.chunks_mut(MC_CLASSES) {
        px[2] = -20.0;
    }
    sets.push(InputSet {
        name: "mc_absent",
        predictions: absent_scores,
        targets: absent,
    });
    // A label outside 0..C (and not the ignore index).
    let mut bad = labels;
    bad[13] = 7.0;
    sets.push(InputSet {
        name: "mc_bad_label",
        predictions: scores,
        targets: bad,
    });
}
