//! Property tests of the binary losses: identities between losses, bounds, bit-identical
//! streaming and per-sample results, hard masks with the bits of `f32` targets, and the
//! documented error for every kind of bad input.

use loss_core::dice::OverlapLoss;
use loss_core::dice::OverlapStats;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::{ElementLoss, Error, Mask, Operand, Predictions, Reduction};
use loss_tests::measure;
use loss_tests::oracle;
use proptest::prelude::*;

const FORMS: [SoftTargets; 3] = [
    SoftTargets::Torchvision,
    SoftTargets::Monai,
    SoftTargets::Kornia,
];

/// Logits: ordinary values, extremes and infinities.
fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -20.0f32..20.0,
        1 => prop::sample::select(vec![
            0.0, 30.0, -30.0, 88.0, -88.0, 1e4, -1e4, f32::INFINITY, f32::NEG_INFINITY,
        ]),
        1 => -200.0f32..200.0,
    ]
}

/// Probabilities and targets in `[0, 1]`, with the ends over-represented.
fn unit() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.0f32..=1.0,
        1 => prop::sample::select(vec![0.0, 1.0, 1e-3, 0.999, 1e-7, 0.5]),
    ]
}

fn hard() -> impl Strategy<Value = f32> {
    prop::sample::select(vec![0.0f32, 1.0])
}

fn target() -> impl Strategy<Value = f32> {
    prop_oneof![2 => hard(), 1 => unit()]
}

fn gamma() -> impl Strategy<Value = f32> {
    prop_oneof![
        prop::sample::select(vec![0.0f32, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]),
        0.0f32..6.0,
    ]
}

fn alpha() -> impl Strategy<Value = Option<f32>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![0.0f32, 0.25, 1.0]).prop_map(Some),
        (0.0f32..=1.0).prop_map(Some),
    ]
}

fn form() -> impl Strategy<Value = SoftTargets> {
    prop::sample::select(FORMS.to_vec())
}

/// A loss-core value against the oracle with the issue-2 rule.
fn close(actual: f32, exact: f64) -> bool {
    measure(actual, exact).2
}

/// Splits `0..len` at random points: the chunk boundaries of a streaming run.
fn chunking(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = cuts.iter().map(|&c| c % (len + 1)).collect();
    c.push(0);
    c.push(len);
    c.sort_unstable();
    c
}

/// Every overlap loss configuration: three scores, squared or not (Tversky has no squared
/// form), logits or probabilities, two smoothings.
fn overlap_configs() -> Vec<OverlapLoss> {
    let mut v = Vec::new();
    for base in [
        OverlapLoss::dice(),
        OverlapLoss::jaccard(),
        OverlapLoss::tversky(0.3, 0.7).expect("valid"),
        OverlapLoss::seed_torch_dice(),
    ] {
        for squared in [false, true] {
            let Ok(l) = base.with_squared(squared) else {
                continue;
            };
            for kind in [Predictions::Probabilities, Predictions::Logits] {
                v.push(l.with_predictions(kind));
                v.push(
                    l.with_predictions(kind)
                        .with_smoothing(0.5, 1.0)
                        .expect("valid"),
                );
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// gamma = 0 without alpha is binary cross-entropy: loss-core's focal against the oracle's
    /// BCE, within the elementwise rule.
    #[test]
    fn gamma_zero_is_bce(x in logit(), p in unit(), t in target(), form in form()) {
        let fl = SigmoidFocal::new(None, 0.0).expect("valid").with_soft_targets(form);
        let v = fl.with_reduction(Reduction::Sum).loss(&[x], &[t]).expect("valid");
        prop_assert!(close(v, oracle::bce_with_logits(x.into(), t.into())), "{v} at x={x} t={t}");
        let fl = BinaryFocal::new(None, 0.0, 0.0, 1.0).expect("valid");
        let v = fl.with_reduction(Reduction::Sum).loss(&[p], &[t]).expect("valid");
        prop_assert!(close(v, oracle::bce(p.into(), t.into())), "{v} at p={p} t={t}");
    }

    /// Focal <= BCE elementwise without alpha: bit-level against loss-core's gamma = 0 path
    /// (the factor is at most 1 and rounding is monotone) and against the oracle's BCE.
    #[test]
    fn focal_at_most_bce(
        x in prop::collection::vec(logit(), 1..16),
        t in prop::collection::vec(target(), 16),
        g in gamma(),
        form in form(),
    ) {
        let t = &t[..x.len()];
        let fl = SigmoidFocal::new(None, g).expect("valid").with_soft_targets(form);
        let ce = SigmoidFocal::new(None, 0.0).expect("valid").with_soft_targets(form);
        let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        fl.loss_elementwise(&x, t, &mut a).expect("valid");
        ce.loss_elementwise(&x, t, &mut b).expect("valid");
        for ((&f, &c), (&xi, &ti)) in a.iter().zip(&b).zip(x.iter().zip(t)) {
            prop_assert!(f <= c, "focal {f} > bce {c} at x={xi} t={ti} gamma={g}");
            let exact = oracle::bce_with_logits(xi.into(), ti.into());
            // Within the elementwise rule (relative 1e-6, absolute 1e-30 for subnormal results).
            prop_assert!(f64::from(f) <= exact * (1.0 + 1e-6) + 1e-30, "focal {f} > oracle bce {exact}");
        }
    }

    /// Tversky(0.5, 0.5) with smoothing s is dice with smooth_nr = smooth_dr = 2s:
    /// (tp + s) / (tp + fp/2 + fn/2 + s) = (2 tp + 2s) / (P + T + 2s).
    #[test]
    fn dice_is_tversky_half_half(
        p in prop::collection::vec(unit(), 1..64),
        t in prop::collection::vec(target(), 64),
        s in prop_oneof![Just(0.0f32), Just(1e-5), 0.0f32..2.0],
        logits in any::<bool>(),
    ) {
        let t = &t[..p.len()];
        let kind = if logits { Predictions::Logits } else { Predictions::Probabilities };
        let tversky = OverlapLoss::tversky(0.5, 0.5)
            .and_then(|l| l.with_smoothing(s, s))
            .expect("valid")
            .with_predictions(kind);
        let dice = OverlapLoss::dice()
            .with_smoothing(2.0 * s, 2.0 * s)
            .expect("valid")
            .with_predictions(kind);
        let (a, b) = (dice.loss(&p, t).expect("valid"), tversky.loss(&p, t).expect("valid"));
        if a.is_nan() || b.is_nan() {
            // 0 / 0: no smoothing and nothing predicted or labelled; both must agree.
            prop_assert!(a.is_nan() && b.is_nan());
        } else {
            // Both are 1 - score with score in [0, 1], from the same f32 sums: a few ulp of 1.
            prop_assert!((a - b).abs() <= 1e-6, "dice {a} vs tversky {b}");
        }
    }

    /// The usual dice form (smooth_nr = smooth_dr > 0) and Jaccard give a loss in [0, 1].
    #[test]
    fn dice_loss_in_unit_interval(
        p in prop::collection::vec(unit(), 1..64),
        t in prop::collection::vec(target(), 64),
        s in prop_oneof![Just(1e-5f32), Just(1.0), 1e-6f32..2.0],
        logits in any::<bool>(),
        squared in any::<bool>(),
    ) {
        let t = &t[..p.len()];
        let kind = if logits { Predictions::Logits } else { Predictions::Probabilities };
        for base in [OverlapLoss::dice(), OverlapLoss::jaccard()] {
            let l = base
                .with_smoothing(s, s)
                .and_then(|l| l.with_squared(squared))
                .expect("valid")
                .with_predictions(kind);
            let v = l.loss(&p, t).expect("valid");
            prop_assert!((0.0..=1.0).contains(&v), "{v} for {l:?}");
        }
    }

    /// A perfect hard prediction gives exactly 0 with equal smoothing (2 tp = P + T exactly),
    /// and the seed's literal dice gives its documented offset -1 / (2 tp + 1).
    #[test]
    fn perfect_prediction_is_zero(t in prop::collection::vec(hard(), 1..200), s in 0.0f32..2.0) {
        for base in [OverlapLoss::dice(), OverlapLoss::jaccard(), OverlapLoss::tversky(0.3, 0.7).expect("valid")] {
            let l = base.with_smoothing(s, s).expect("valid");
            let v = l.loss(&t, &t).expect("valid");
            if t.contains(&1.0) || s > 0.0 {
                prop_assert_eq!(v, 0.0, "{:?}", l);
            }
        }
        let tp: f32 = t.iter().sum();
        let seed = OverlapLoss::seed_torch_dice().loss(&t, &t).expect("valid");
        prop_assert_eq!(seed, 1.0 - (2.0 * tp + 2.0) / (2.0 * tp + 1.0));
        // The same through logits: +inf / -inf give exactly 1 / 0.
        let x: Vec<f32> = t.iter().map(|&v| if v == 1.0 { f32::INFINITY } else { f32::NEG_INFINITY }).collect();
        let v = OverlapLoss::dice().with_predictions(Predictions::Logits).loss(&x, &t).expect("valid");
        prop_assert_eq!(v, 0.0);
    }

    /// Streaming in random chunks gives the one-shot bits, for both focal losses and every
    /// overlap configuration; per-sample results equal one-shot calls on each sample.
    #[test]
    fn streaming_and_per_sample_are_bit_identical(
        x in prop::collection::vec(logit(), 1..400),
        p in prop::collection::vec(unit(), 400),
        t in prop::collection::vec(target(), 400),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        g in gamma(),
        a in alpha(),
        form in form(),
        samples in 1usize..5,
    ) {
        let n = x.len();
        let (p, t) = (&p[..n], &t[..n]);
        let bounds = chunking(n, &cuts);
        let sf = SigmoidFocal::new(a, g).expect("valid").with_soft_targets(form);
        let bf = BinaryFocal::new(a, g, 1e-3, 0.999).expect("valid");

        fn check_element<L: ElementLoss>(l: L, pr: &[f32], t: &[f32], bounds: &[usize], samples: usize) -> Result<(), TestCaseError> {
            for r in [Reduction::Mean, Reduction::Sum] {
                let l = l.with_reduction(r);
                let mut acc = l.accumulator();
                for w in bounds.windows(2) {
                    acc.push(&pr[w[0]..w[1]], &t[w[0]..w[1]]).expect("valid");
                }
                let one = l.loss(pr, t).expect("valid");
                let streamed = acc.finish().expect("valid");
                prop_assert_eq!(one.to_bits(), streamed.to_bits(), "{:?}", r);
            }
            let len = pr.len() / samples * samples;
            if len > 0 {
                let mut out = [0.0f32; 4];
                l.loss_per_sample(&pr[..len], &t[..len], samples, &mut out).expect("valid");
                let m = len / samples;
                for (i, &o) in out[..samples].iter().enumerate() {
                    let one = l.loss(&pr[i * m..(i + 1) * m], &t[i * m..(i + 1) * m]).expect("valid");
                    prop_assert_eq!(one.to_bits(), o.to_bits());
                }
            }
            Ok(())
        }
        check_element(sf, &x, t, &bounds, samples)?;
        check_element(bf, p, t, &bounds, samples)?;

        for l in overlap_configs() {
            let pr = if l.predictions() == Predictions::Logits { &x[..] } else { p };
            let mut acc = l.accumulator();
            for w in bounds.windows(2) {
                acc.push(&pr[w[0]..w[1]], &t[w[0]..w[1]]).expect("valid");
            }
            prop_assert_eq!(acc.stats().expect("valid"), l.stats(pr, t).expect("valid"));
            prop_assert_eq!(acc.finish().expect("valid").to_bits(), l.loss(pr, t).expect("valid").to_bits());
            let len = n / samples * samples;
            if len > 0 {
                let mut out = [0.0f32; 4];
                l.loss_per_sample(&pr[..len], &t[..len], samples, &mut out).expect("valid");
                let m = len / samples;
                for (i, &o) in out[..samples].iter().enumerate() {
                    let one = l.loss(&pr[i * m..(i + 1) * m], &t[i * m..(i + 1) * m]).expect("valid");
                    prop_assert_eq!(one.to_bits(), o.to_bits());
                }
            }
        }
    }

    /// Any bit pattern as input: never a panic, and the documented error, with the index of the
    /// first offending element, when a target or probability is outside [0, 1].
    #[test]
    fn bad_input_is_the_documented_error(
        pred in prop::collection::vec(prop_oneof![3 => any::<f32>(), 1 => unit()], 0..40),
        t in prop::collection::vec(prop_oneof![1 => any::<f32>(), 3 => unit()], 0..40),
        out_len in 0usize..40,
        samples in 0usize..6,
    ) {
        let outside = |v: &f32| *v < 0.0 || *v > 1.0;
        let first_t = t.iter().position(outside);
        let first_p = pred.iter().position(outside);
        let expected = |probabilities: bool| -> Option<Error> {
            if pred.len() != t.len() {
                Some(Error::LengthMismatch { predictions: pred.len(), targets: t.len() })
            } else if let (true, Some(index)) = (probabilities, first_p) {
                Some(Error::OutOfRange { operand: Operand::Predictions, index })
            } else if let Some(index) = first_t {
                Some(Error::OutOfRange { operand: Operand::Targets, index })
            } else if pred.is_empty() {
                Some(Error::EmptyInput)
            } else {
                None
            }
        };
        let mut out = vec![0.0f32; out_len];
        let sf = SigmoidFocal::torchvision();
        let bf = BinaryFocal::seed();
        for (probabilities, r) in [
            (false, sf.loss(&pred, &t)),
            (true, bf.with_reduction(Reduction::Sum).loss(&pred, &t)),
            (false, OverlapLoss::dice().with_predictions(Predictions::Logits).loss(&pred, &t)),
            (true, OverlapLoss::jaccard().loss(&pred, &t)),
        ] {
            match expected(probabilities) {
                Some(e) => prop_assert_eq!(r, Err(e)),
                None => prop_assert!(r.is_ok()),
            }
        }
        // Elementwise: the input errors first, then the buffer.
        let before = out.clone();
        let r = sf.loss_elementwise(&pred, &t, &mut out);
        match expected(false) {
            Some(e) => prop_assert_eq!(r, Err(e)),
            None if out_len < pred.len() => prop_assert_eq!(r, Err(Error::BufferTooSmall { needed: pred.len(), capacity: out_len })),
            None => prop_assert!(r.is_ok()),
        }
        if r.is_err() {
            prop_assert_eq!(before.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), out.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
        // Per sample: samples must divide the length, the buffer must hold `samples` values.
        let r = bf.loss_per_sample(&pred, &t, samples, &mut out);
        let r2 = OverlapLoss::dice().loss_per_sample(&pred, &t, samples, &mut out);
        let want = match expected(true) {
            Some(Error::EmptyInput) | None => {
                if pred.is_empty() {
                    Some(Error::EmptyInput)
                } else if samples == 0 || pred.len() % samples != 0 {
                    Some(Error::SampleCountMismatch { len: pred.len(), samples })
                } else if out_len < samples {
                    Some(Error::BufferTooSmall { needed: samples, capacity: out_len })
                } else {
                    None
                }
            }
            e => e,
        };
        for r in [r, r2] {
            match want {
                Some(e) => prop_assert_eq!(r, Err(e)),
                None => prop_assert!(r.is_ok()),
            }
        }
        // A failed push leaves an accumulator unchanged.
        let mut acc = sf.accumulator();
        acc.push(&[0.5], &[1.0]).expect("valid");
        let snapshot = acc;
        if acc.push(&pred, &t).is_err() {
            prop_assert_eq!(acc, snapshot);
        }
    }

    /// Parameters are checked when the loss is built.
    #[test]
    fn invalid_parameters_are_rejected(v in any::<f32>()) {
        let alpha_ok = (0.0..=1.0).contains(&v);
        let nonneg = v.is_finite() && v >= 0.0;
        prop_assert_eq!(SigmoidFocal::new(Some(v), 2.0).is_ok(), alpha_ok);
        prop_assert_eq!(SigmoidFocal::new(Some(v), 2.0).err(), (!alpha_ok).then_some(Error::InvalidParameter("alpha")));
        prop_assert_eq!(SigmoidFocal::new(None, v).err(), (!nonneg).then_some(Error::InvalidParameter("gamma")));
        prop_assert_eq!(BinaryFocal::new(None, v, 0.0, 1.0).err(), (!nonneg).then_some(Error::InvalidParameter("gamma")));
        let clamp_ok = (0.0..1.0).contains(&v);
        prop_assert_eq!(BinaryFocal::new(None, 2.0, v, 1.0).err(), (!clamp_ok).then_some(Error::InvalidParameter("clamp")));
        prop_assert_eq!(OverlapLoss::tversky(v, 0.5).err(), (!nonneg).then_some(Error::InvalidParameter("alpha")));
        prop_assert_eq!(OverlapLoss::tversky(0.5, v).err(), (!nonneg).then_some(Error::InvalidParameter("beta")));
        prop_assert_eq!(OverlapLoss::dice().with_smoothing(v, 1.0).err(), (!nonneg).then_some(Error::InvalidParameter("smooth_nr")));
        prop_assert_eq!(OverlapLoss::dice().with_smoothing(1.0, v).err(), (!nonneg).then_some(Error::InvalidParameter("smooth_dr")));
    }
}

#[test]
fn tversky_has_no_squared_form() {
    let l = OverlapLoss::tversky(0.5, 0.5).expect("valid");
    assert_eq!(
        l.with_squared(true).err(),
        Some(Error::InvalidParameter("squared"))
    );
    assert!(l.with_squared(false).is_ok());
}

#[test]
fn empty_accumulators_are_errors() {
    assert_eq!(
        SigmoidFocal::torchvision().accumulator().finish(),
        Err(Error::EmptyInput)
    );
    assert_eq!(
        OverlapLoss::dice().accumulator().finish(),
        Err(Error::EmptyInput)
    );
    assert_eq!(Reduction::Sum.reduce(&[]), Err(Error::EmptyInput));
}

#[test]
fn nan_propagates() {
    let nan = f32::NAN;
    for (p, t) in [(nan, 1.0), (nan, 0.0), (0.5, nan), (nan, 0.3)] {
        let sf = SigmoidFocal::torchvision().loss(&[p], &[t]);
        let bf = BinaryFocal::seed().loss(&[p], &[t]);
        let dice = OverlapLoss::dice().loss(&[p], &[t]);
        for r in [sf, bf, dice] {
            assert!(r.is_ok_and(f32::is_nan), "{p} {t}: {r:?}");
        }
    }
}

proptest! {
    /// The screen of `first_non_finite` finds what a plain search finds, wherever the
    /// first non-finite value sits and whatever its bits.
    #[test]
    fn first_non_finite_is_the_first(
        len in 0usize..1200,
        bad in prop::collection::vec((0usize..1200, any::<u32>()), 0..4),
    ) {
        let mut values: Vec<f32> = (0..len).map(|i| i as f32 - 600.0).collect();
        for (at, bits) in bad {
            if let Some(v) = values.get_mut(at) {
                // Exponent all ones: inf or NaN of either sign, any payload.
                *v = f32::from_bits(bits | 0x7f80_0000);
            }
        }
        let want = values.iter().position(|v| !v.is_finite());
        prop_assert_eq!(loss_core::first_non_finite(&values), want);
    }
}

/// `mask` packed eight to a byte, least significant bit first; the unused bits of the last
/// byte are set, so that a reader that looks past `len` gets them wrong.
fn pack(mask: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; mask.len().div_ceil(8)];
    for (i, &m) in mask.iter().enumerate() {
        bytes[i / 8] |= m << (i % 8);
    }
    if let Some(last) = bytes.last_mut()
        && !mask.len().is_multiple_of(8)
    {
        *last |= 0xff << (mask.len() % 8);
    }
    bytes
}

/// The three kinds of mask over the same 0/1 values (`bools` and `bits` are the storage).
fn masks<'a>(bytes: &'a [u8], bools: &'a [bool], bits: &'a [u8]) -> [Mask<'a>; 3] {
    [
        Mask::bytes(bytes),
        Mask::bools(bools),
        Mask::bits(bits, bytes.len()),
    ]
}

/// The bits of a result, every NaN as one (the golden vectors' rule), errors as themselves.
fn bits_of(r: Result<f32, Error>) -> Result<u32, Error> {
    r.map(|v| {
        if v.is_nan() {
            f32::NAN.to_bits()
        } else {
            v.to_bits()
        }
    })
}

fn stats_bits(r: Result<OverlapStats, Error>) -> Result<[u32; 3], Error> {
    r.map(|s| [s.intersection, s.prediction_sum, s.target_sum].map(f32::to_bits))
}

/// Every entry point of an element loss with each kind of mask gives the bits of the same call
/// with `f32` targets `0.0` / `1.0`: `loss`, `loss_elementwise`, `loss_per_sample` (samples
/// that start inside a byte of a bit mask), and the accumulator pushed in chunks whose kind of
/// targets changes from chunk to chunk.
fn check_element_masks<L: ElementLoss>(
    l: L,
    pr: &[f32],
    m: &[u8],
    bounds: &[usize],
    samples: usize,
) -> Result<(), TestCaseError> {
    let t: Vec<f32> = m.iter().map(|&v| f32::from(v)).collect();
    let bools: Vec<bool> = m.iter().map(|&v| v == 1).collect();
    let bits = pack(m);
    let n = pr.len();
    for r in [Reduction::Mean, Reduction::Sum] {
        let l = l.with_reduction(r);
        let want = bits_of(l.loss(pr, &t));
        for mask in masks(m, &bools, &bits) {
            prop_assert_eq!(bits_of(l.loss(pr, mask)), want, "{:?} {:?}", r, mask);
        }
        let mut acc = l.accumulator();
        for (k, w) in bounds.windows(2).enumerate() {
            let (p, c) = (&pr[w[0]..w[1]], &m[w[0]..w[1]]);
            let (cb, cp): (Vec<bool>, Vec<u8>) = (c.iter().map(|&v| v == 1).collect(), pack(c));
            match k % 4 {
                0 => acc.push(p, Mask::bits(&cp, c.len())),
                1 => acc.push(p, Mask::bytes(c)),
                2 => acc.push(p, &t[w[0]..w[1]]),
                _ => acc.push(p, Mask::bools(&cb)),
            }
            .expect("valid");
        }
        if n > 0 {
            prop_assert_eq!(bits_of(acc.finish()), want);
        }
    }
    if n > 0 {
        let mut want = vec![0.0f32; n];
        l.loss_elementwise(pr, &t, &mut want).expect("valid");
        for mask in masks(m, &bools, &bits) {
            let mut got = vec![f32::NAN; n];
            l.loss_elementwise(pr, mask, &mut got).expect("valid");
            let b = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(b(&got), b(&want), "{:?}", mask);
        }
    }
    let len = n / samples * samples;
    if len > 0 {
        let (pr, m) = (&pr[..len], &m[..len]);
        let (bools, bits) = (&bools[..len], pack(m));
        let mut want = [0.0f32; 4];
        l.loss_per_sample(pr, &t[..len], samples, &mut want)
            .expect("valid");
        for mask in masks(m, bools, &bits) {
            let mut got = [f32::NAN; 4];
            l.loss_per_sample(pr, mask, samples, &mut got)
                .expect("valid");
            prop_assert_eq!(
                &got.map(f32::to_bits)[..samples],
                &want.map(f32::to_bits)[..samples],
                "{:?}",
                mask
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A hard mask (bytes, `bool`s, bits) gives exactly the bits of the same call with the
    /// `f32` targets 0 / 1, for every binary entry point: both focal losses (every gamma and
    /// alpha, every soft-target form, which hard targets never reach) and every overlap
    /// configuration.
    #[test]
    fn hard_masks_give_the_bits_of_f32_targets(
        x in prop::collection::vec(logit(), 0..400),
        p in prop::collection::vec(unit(), 400),
        m in prop::collection::vec(0u8..=1, 400),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        g in gamma(),
        a in alpha(),
        form in form(),
        samples in 1usize..5,
    ) {
        let n = x.len();
        let (p, m) = (&p[..n], &m[..n]);
        let bounds = chunking(n, &cuts);
        let sf = SigmoidFocal::new(a, g).expect("valid").with_soft_targets(form);
        check_element_masks(sf, &x, m, &bounds, samples)?;
        check_element_masks(BinaryFocal::new(a, g, 1e-3, 0.999).expect("valid"), p, m, &bounds, samples)?;
        check_element_masks(BinaryFocal::keras(a, g).expect("valid"), p, m, &bounds, samples)?;

        let t: Vec<f32> = m.iter().map(|&v| f32::from(v)).collect();
        let bools: Vec<bool> = m.iter().map(|&v| v == 1).collect();
        let bits = pack(m);
        for l in overlap_configs() {
            let pr = if l.predictions() == Predictions::Logits { &x[..] } else { p };
            let want = stats_bits(l.stats(pr, &t));
            let want_loss = bits_of(l.loss(pr, &t));
            for mask in masks(m, &bools, &bits) {
                prop_assert_eq!(stats_bits(l.stats(pr, mask)), want, "{:?} {:?}", l, mask);
                prop_assert_eq!(bits_of(l.loss(pr, mask)), want_loss);
            }
            let mut acc = l.accumulator();
            for (k, w) in bounds.windows(2).enumerate() {
                let (pc, c) = (&pr[w[0]..w[1]], &m[w[0]..w[1]]);
                let (cb, cp): (Vec<bool>, Vec<u8>) = (c.iter().map(|&v| v == 1).collect(), pack(c));
                match k % 4 {
                    0 => acc.push(pc, Mask::bools(&cb)),
                    1 => acc.push(pc, &t[w[0]..w[1]]),
                    2 => acc.push(pc, Mask::bits(&cp, c.len())),
                    _ => acc.push(pc, Mask::bytes(c)),
                }
                .expect("valid");
            }
            prop_assert_eq!(stats_bits(acc.stats()), want);
            let len = n / samples * samples;
            if len > 0 {
                let (pr, m) = (&pr[..len], &m[..len]);
                let (bools, bits) = (&bools[..len], pack(m));
                let mut want = [0.0f32; 4];
                l.loss_per_sample(pr, &t[..len], samples, &mut want).expect("valid");
                for mask in masks(m, bools, &bits) {
                    let mut got = [f32::NAN; 4];
                    l.loss_per_sample(pr, mask, samples, &mut got).expect("valid");
                    prop_assert_eq!(&got.map(f32::to_bits)[..samples], &want.map(f32::to_bits)[..samples], "{:?}", mask);
                }
            }
        }
    }

    /// Bad masks: a length mismatch, a bit mask with too few bytes, a probability outside
    /// `[0, 1]`, a byte other than 0 or 1 (in that order of precedence) are the documented
    /// errors at every entry point; `out` and the accumulators are then unchanged.
    #[test]
    fn bad_masks_are_the_documented_error(
        pred in prop::collection::vec(prop_oneof![4 => unit(), 1 => any::<f32>()], 0..40),
        m in prop::collection::vec(prop_oneof![8 => 0u8..=1, 1 => any::<u8>()], 0..40),
        short in 0usize..3,
        samples in 1usize..3,
    ) {
        let (np, nm) = (pred.len(), m.len());
        let first_bad_byte = m.iter().position(|&b| b > 1);
        let first_bad_p = pred.iter().position(|v| *v < 0.0 || *v > 1.0);
        let expected = |probabilities: bool, bytes: bool| -> Option<Error> {
            if np != nm {
                Some(Error::LengthMismatch { predictions: np, targets: nm })
            } else if let (true, Some(index)) = (probabilities, first_bad_p) {
                Some(Error::OutOfRange { operand: Operand::Predictions, index })
            } else if let (true, Some(index)) = (bytes, first_bad_byte) {
                Some(Error::OutOfRange { operand: Operand::Targets, index })
            } else if np == 0 {
                Some(Error::EmptyInput)
            } else {
                None
            }
        };
        let bools: Vec<bool> = m.iter().map(|&b| b & 1 == 1).collect();
        let full = pack(&m.iter().map(|&b| b & 1).collect::<Vec<_>>());
        // A bit mask `short` bytes too short (when it has bytes to lose) fails on its length.
        let cut = full.len().saturating_sub(short);
        let bits_error = (cut < full.len()).then_some(Error::LengthMismatch { predictions: nm, targets: cut * 8 });
        let sf = SigmoidFocal::torchvision();
        let bf = BinaryFocal::seed();
        let dice = OverlapLoss::dice();
        for (mask, bytes, early) in [
            (Mask::bytes(&m), true, None),
            (Mask::bools(&bools), false, None),
            (Mask::bits(&full[..cut], nm), false, bits_error),
        ] {
            for (probabilities, r) in [
                (false, sf.loss(&pred, mask)),
                (true, bf.loss(&pred, mask)),
                (false, dice.with_predictions(Predictions::Logits).loss(&pred, mask)),
                (true, dice.loss(&pred, mask)),
            ] {
                match early.or(expected(probabilities, bytes)) {
                    Some(e) => prop_assert_eq!(r, Err(e), "{:?}", mask),
                    None => prop_assert!(r.is_ok()),
                }
            }
            let want = early.or(expected(true, bytes));
            let mut out = [7.0f32; 40];
            let r = bf.loss_elementwise(&pred, mask, &mut out);
            prop_assert_eq!(r.err(), want);
            if r.is_err() {
                prop_assert!(out.iter().all(|&v| v == 7.0));
            }
            let per_sample_ok = want.is_none() && np % samples == 0;
            let r = bf.loss_per_sample(&pred, mask, samples, &mut out);
            prop_assert_eq!(r.is_ok(), per_sample_ok);
            let r2 = dice.loss_per_sample(&pred, mask, samples, &mut out);
            prop_assert_eq!(r2.is_ok(), per_sample_ok);
            if want.is_some() {
                prop_assert_eq!(r.err(), want);
                prop_assert_eq!(r2.err(), want);
            }
            // A rejected push leaves the accumulators as they were.
            let mut focal = bf.accumulator();
            let mut overlap = dice.accumulator();
            focal.push(&[0.25], Mask::bytes(&[1])).expect("valid");
            overlap.push(&[0.25], Mask::bytes(&[1])).expect("valid");
            let (f0, o0) = (focal, overlap);
            let (rf, ro) = (focal.push(&pred, mask), overlap.push(&pred, mask));
            let want = want.filter(|e| *e != Error::EmptyInput);
            prop_assert_eq!(rf.err(), want);
            prop_assert_eq!(ro.err(), want);
            if want.is_some() {
                prop_assert_eq!(focal, f0);
                prop_assert_eq!(overlap, o0);
            }
        }
    }
}
