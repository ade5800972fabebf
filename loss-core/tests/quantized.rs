//! Quantized predictions and compact masks against the f32 path on the dequantized values.

use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::multiclass::{ConfusionAccumulator, Decision, Layout, Targets};
use loss_core::quantized::{Code, CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::{Error, Mask, Operand, Predictions, Reduction};

/// A seeded xorshift stream.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// Codes skewed towards a few values (as a trained model's output is), and a mask that
/// mostly agrees with them.
fn frame(rng: &mut Rng, n: usize) -> (Vec<i8>, Vec<u8>) {
    let codes: Vec<i8> = (0..n)
        .map(|_| match rng.next() % 4 {
            0 => -128,
            1 => 127,
            _ => (rng.next() % 256) as u8 as i8,
        })
        .collect();
    let mask = codes
        .iter()
        .map(|&c| u8::from((c > 0) != rng.next().is_multiple_of(10)))
        .collect();
    (codes, mask)
}

fn pack(mask: &[u8]) -> Vec<u8> {
    mask.chunks(8)
        .map(|c| c.iter().enumerate().fold(0u8, |b, (j, &t)| b | (t << j)))
        .collect()
}

fn dequantized<C: Code>(q: Quantization, codes: &[C]) -> Vec<f32> {
    codes.iter().map(|&c| q.dequantize(c)).collect()
}

fn floats(mask: &[u8]) -> Vec<f32> {
    mask.iter().map(|&t| f32::from(t)).collect()
}

#[test]
fn dequantize_is_tflite_affine_rounded_once() {
    let q = Quantization::new(0.1, -3).unwrap();
    assert_eq!(q.dequantize(7i8), 0.1f32 * 10.0);
    assert_eq!(q.dequantize(-128i8), 0.1f32 * -125.0);
    let u = Quantization::new(1.0 / 255.0, 0).unwrap();
    assert_eq!(u.dequantize(255u8), 1.0);
}

#[test]
fn elementwise_terms_are_the_f32_bits_of_the_dequantized_values() {
    let mut rng = Rng(0x1234_5678);
    let (codes, mask) = frame(&mut rng, 3000);
    let q = Quantization::new(0.0625, 5).unwrap();
    let x = dequantized(q, &codes);
    let t = floats(&mask);
    for loss in [
        SigmoidFocal::torchvision(),
        SigmoidFocal::new(None, 0.5).unwrap(),
        SigmoidFocal::new(Some(1.0), 3.0).unwrap(),
    ] {
        let quantized = QuantizedFocal::<i8>::new(&loss, q).unwrap();
        let mut want = vec![0.0; x.len()];
        loss.loss_elementwise(&x, &t, &mut want).unwrap();
        let packed = pack(&mask);
        let bools: Vec<bool> = mask.iter().map(|&m| m == 1).collect();
        for targets in [
            Mask::bytes(&mask),
            Mask::bits(&packed, mask.len()),
            Mask::bools(&bools),
        ] {
            let mut got = vec![0.0; x.len()];
            quantized
                .loss_elementwise(&codes, targets, &mut got)
                .unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.to_bits(), w.to_bits());
            }
        }
    }
}

/// The quantized sum weights each distinct term once: it differs from the f32 path only by the
/// summation, well within the f32 path's own accuracy.
#[test]
fn losses_agree_with_the_f32_path() {
    let mut rng = Rng(0x9e37_79b9);
    for n in [1, 7, 64, 1000, 4096] {
        let (codes, mask) = frame(&mut rng, n);
        let q = Quantization::new(0.05, -10).unwrap();
        let x = dequantized(q, &codes);
        let t = floats(&mask);
        let counts = {
            let mut c = CodeCounts::<i8>::new();
            c.push(&codes, Mask::bytes(&mask)).unwrap();
            c
        };
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let focal = SigmoidFocal::torchvision().with_reduction(reduction);
            let want = focal.loss(&x, &t).unwrap();
            let got = QuantizedFocal::new(&focal, q)
                .unwrap()
                .loss(&counts)
                .unwrap();
            assert!((got - want).abs() <= 2e-6 * want.abs(), "{n}: {got} {want}");
        }
        for dice in [
            OverlapLoss::dice(),
            OverlapLoss::jaccard(),
            OverlapLoss::tversky(0.3, 0.7).unwrap(),
            OverlapLoss::dice().with_squared(true).unwrap(),
        ] {
            let dice = dice.with_predictions(Predictions::Logits);
            let want = dice.stats(&x, &t).unwrap();
            let got = QuantizedOverlap::new(&dice, q)
                .unwrap()
                .stats(&counts)
                .unwrap();
            assert_eq!(got.count, want.count);
            assert_eq!(got.target_sum, want.target_sum);
            for (g, w) in [
                (got.intersection, want.intersection),
                (got.prediction_sum, want.prediction_sum),
            ] {
                assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{n}: {g} {w}");
            }
        }
    }
}

#[test]
fn probabilities_from_u8_codes() {
    let mut rng = Rng(42);
    let codes: Vec<u8> = (0..2000).map(|_| rng.next() as u8).collect();
    let mask: Vec<u8> = codes.iter().map(|&c| u8::from(c > 128)).collect();
    let q = Quantization::new(1.0 / 256.0, 0).unwrap();
    let p = dequantized(q, &codes);
    let t = floats(&mask);
    let mut counts = CodeCounts::<u8>::new();
    counts.push(&codes, Mask::bytes(&mask)).unwrap();
    let seed = BinaryFocal::seed();
    let want = seed.loss(&p, &t).unwrap();
    let got = QuantizedFocal::new(&seed, q)
        .unwrap()
        .loss(&counts)
        .unwrap();
    assert!((got - want).abs() <= 2e-6 * want, "{got} {want}");
    let dice = OverlapLoss::dice();
    let want = dice.loss(&p, &t).unwrap();
    let got = QuantizedOverlap::new(&dice, q)
        .unwrap()
        .loss(&counts)
        .unwrap();
    assert!((got - want).abs() <= 1e-6, "{got} {want}");
}

#[test]
fn counts_do_not_depend_on_order_or_tiling() {
    let mut rng = Rng(7);
    let (codes, mask) = frame(&mut rng, 1000);
    let mut whole = CodeCounts::<i8>::new();
    whole.push(&codes, Mask::bytes(&mask)).unwrap();
    // Tiles of 136 elements (17 mask bytes) against a bit-packed mask, pushed last tile first.
    let packed = pack(&mask);
    let mut tiles = CodeCounts::<i8>::new();
    for (c, m) in codes.chunks(136).zip(packed.chunks(17)).rev() {
        tiles.push(c, Mask::bits(m, c.len())).unwrap();
    }
    assert_eq!(tiles, whole);
    // Two halves merged either way round.
    let (mut a, mut b) = (CodeCounts::<i8>::new(), CodeCounts::<i8>::new());
    a.push(&codes[..333], Mask::bytes(&mask[..333])).unwrap();
    b.push(&codes[333..], Mask::bytes(&mask[333..])).unwrap();
    let mut ab = a;
    ab.merge(&b).unwrap();
    b.merge(&a).unwrap();
    assert_eq!(ab, whole);
    assert_eq!(b, whole);
}

#[test]
fn confusion_matches_the_threshold_decision() {
    let mut rng = Rng(99);
    let (codes, mask) = frame(&mut rng, 777);
    let q = Quantization::new(0.2, 3).unwrap();
    let x = dequantized(q, &codes);
    let mut counts = CodeCounts::<i8>::new();
    counts.push(&codes, Mask::bytes(&mask)).unwrap();
    for threshold in [0.0, 0.6, -1.0] {
        // One class, scores as a threshold decision sees them.
        let mut acc = ConfusionAccumulator::<1>::new(Decision::Threshold(threshold), 1).unwrap();
        let t = floats(&mask);
        acc.push(Layout::ChannelsLast, &x, Targets::dense(&t))
            .unwrap();
        assert_eq!(counts.confusion(q, threshold).unwrap(), acc.counts()[0]);
    }
}

#[test]
fn bad_input_is_an_error_and_leaves_the_counts_unchanged() {
    assert_eq!(
        Quantization::new(0.0, 0),
        Err(Error::InvalidParameter("scale"))
    );
    assert_eq!(
        Quantization::new(-1.0, 0),
        Err(Error::InvalidParameter("scale"))
    );
    assert_eq!(
        Quantization::new(f32::NAN, 0),
        Err(Error::InvalidParameter("scale"))
    );
    assert_eq!(
        Quantization::new(f32::INFINITY, 0),
        Err(Error::InvalidParameter("scale"))
    );
    let q = Quantization::new(0.1, 200).unwrap();
    let focal = SigmoidFocal::torchvision();
    assert_eq!(
        QuantizedFocal::<i8>::new(&focal, q),
        Err(Error::InvalidParameter("zero_point"))
    );
    assert!(QuantizedFocal::<u8>::new(&focal, q).is_ok());
    assert_eq!(
        QuantizedOverlap::<u8>::new(&OverlapLoss::dice(), Quantization::new(0.1, -1).unwrap()),
        Err(Error::InvalidParameter("zero_point"))
    );

    let mut counts = CodeCounts::<i8>::new();
    counts.push(&[1, 2, 3], Mask::bytes(&[0, 1, 0])).unwrap();
    let before = counts;
    assert_eq!(
        counts.push(&[1, 2, 3], Mask::bytes(&[0, 1, 2])),
        Err(Error::OutOfRange {
            operand: Operand::Targets,
            index: 2
        })
    );
    assert_eq!(
        counts.push(&[1, 2, 3], Mask::bytes(&[0, 1])),
        Err(Error::LengthMismatch {
            predictions: 3,
            targets: 2
        })
    );
    // Ten bits need two bytes.
    assert_eq!(
        counts.push(&[0; 10], Mask::bits(&[0xff], 10)),
        Err(Error::LengthMismatch {
            predictions: 10,
            targets: 8
        })
    );
    assert_eq!(counts, before);
    counts.push(&[], Mask::bytes(&[])).unwrap();
    assert_eq!(counts, before);

    // Probabilities: a counted code outside [0, 1] (the data may be logits).
    let q = Quantization::new(1.0 / 128.0, 0).unwrap();
    let focal = QuantizedFocal::<i8>::new(&BinaryFocal::seed(), q).unwrap();
    let dice = QuantizedOverlap::<i8>::new(&OverlapLoss::dice(), q).unwrap();
    let mut counts = CodeCounts::<i8>::new();
    counts.push(&[10, -5, 20], Mask::bytes(&[1, 0, 0])).unwrap();
    assert_eq!(focal.loss(&counts), Err(Error::CodeOutOfRange { code: -5 }));
    assert_eq!(dice.loss(&counts), Err(Error::CodeOutOfRange { code: -5 }));
    let mut out = [0.0; 3];
    assert_eq!(
        focal.loss_elementwise(&[10, -5, 20], Mask::bytes(&[1, 0, 0]), &mut out),
        Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index: 1
        })
    );
    assert_eq!(out, [0.0; 3]);
    let empty = CodeCounts::<i8>::new();
    assert_eq!(focal.loss(&empty), Err(Error::EmptyInput));
    assert_eq!(dice.loss(&empty), Err(Error::EmptyInput));
}

#[test]
fn a_probability_out_of_range_says_the_data_may_be_logits() {
    let e = OverlapLoss::dice()
        .loss(&[0.5, 3.0], &[1.0, 0.0])
        .unwrap_err();
    assert_eq!(
        e,
        Error::OutOfRange {
            operand: Operand::Predictions,
            index: 1
        }
    );
    assert!(e.to_string().contains("logits"), "{e}");
    let q = Error::CodeOutOfRange { code: -5 };
    assert!(q.to_string().contains("logits"), "{q}");
}

#[test]
fn tables_filled_in_place_equal_the_constructed_ones() {
    let mut rng = Rng(0x5eed_0003);
    let (codes, mask) = frame(&mut rng, 300);
    let mut counts = CodeCounts::<i8>::new();
    counts.push(&codes, Mask::bytes(&mask)).unwrap();
    let q = Quantization::new(0.07, -3).unwrap();
    let focal = SigmoidFocal::new(Some(0.3), 1.5).unwrap();
    let dice = OverlapLoss::tversky(0.3, 0.7)
        .unwrap()
        .with_predictions(Predictions::Logits);

    // An empty table is an error to read, never a loss of 0.
    let mut f = QuantizedFocal::<i8>::EMPTY;
    let mut d = QuantizedOverlap::<i8>::EMPTY;
    let table = Error::InvalidParameter("table");
    assert_eq!(f.loss(&counts), Err(table));
    assert_eq!(
        f.loss_elementwise(&codes, Mask::bytes(&mask), &mut [0.0; 300]),
        Err(table)
    );
    assert_eq!(d.loss(&counts), Err(table));
    assert_eq!(f.quantization(), None);

    // A bad zero point leaves the table as it was.
    let u8_only = Quantization::new(0.07, 200).unwrap();
    assert!(f.fill(&focal, u8_only).is_err());
    assert!(d.fill(&dice, u8_only).is_err());
    assert_eq!(f, QuantizedFocal::EMPTY);
    assert_eq!(d, QuantizedOverlap::EMPTY);

    f.fill(&focal, q).unwrap();
    d.fill(&dice, q).unwrap();
    assert_eq!(f, QuantizedFocal::new(&focal, q).unwrap());
    assert_eq!(d, QuantizedOverlap::new(&dice, q).unwrap());
    assert_eq!(f.quantization(), Some(q));
    assert!(f.loss(&counts).unwrap().is_finite());
}
