//! The quantized losses against the f64 oracle evaluated on the dequantized values, side by
//! side with the f32 path on the same values: the quantized result must be at least as
//! accurate (its worst relative error over every case no larger than the f32 path's).
//!
//! `cargo test -p loss-tests --test quantized_oracle -- --nocapture` prints the figures quoted
//! in `docs/numerics.md`.

use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::quantized::{Code, CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::{Mask, Predictions, Reduction};
use loss_tests::oracle;

/// A seeded xorshift stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A frame as a segmentation model emits it: codes clustered around two modes (background and
/// object) with a spread, saturating at the ends, and a mask that mostly agrees.
fn frame<C: Code + TryFrom<i32>>(
    rng: &mut Rng,
    n: usize,
    modes: (i32, i32),
    spread: i32,
) -> (Vec<C>, Vec<u8>) {
    let mut codes = Vec::with_capacity(n);
    let mut mask = Vec::with_capacity(n);
    for _ in 0..n {
        let object = rng.next().is_multiple_of(5);
        let centre = if object { modes.1 } else { modes.0 };
        let noise = (rng.next() % (2 * spread as u64 + 1)) as i32 - spread;
        let code = (centre + noise).clamp(C::MIN, C::MAX);
        codes.push(C::try_from(code).ok().expect("in range"));
        mask.push(u8::from(object != rng.next().is_multiple_of(20)));
    }
    (codes, mask)
}

fn relative(got: f32, exact: f64) -> f64 {
    (f64::from(got) - exact).abs() / exact.abs().max(f64::MIN_POSITIVE)
}

struct Worst {
    quantized: f64,
    f32_path: f64,
}

impl Worst {
    fn add(&mut self, quantized: f32, f32_path: f32, exact: f64) {
        self.quantized = self.quantized.max(relative(quantized, exact));
        self.f32_path = self.f32_path.max(relative(f32_path, exact));
    }
}

#[test]
fn quantized_losses_are_at_least_as_accurate_as_the_f32_path() {
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut focal = Worst {
        quantized: 0.0,
        f32_path: 0.0,
    };
    let mut binary = Worst {
        quantized: 0.0,
        f32_path: 0.0,
    };
    let mut overlap = Worst {
        quantized: 0.0,
        f32_path: 0.0,
    };
    let mut cases = 0;
    for (scale, zero_point) in [(0.0625, -4), (0.1, 10), (0.03, -100), (0.25, 0)] {
        for n in [100, 4096, 65_536] {
            let q = Quantization::new(scale, zero_point).unwrap();
            let (codes, mask) = frame::<i8>(&mut rng, n, (-90, 70), 30);
            let x: Vec<f32> = codes.iter().map(|&c| q.dequantize(c)).collect();
            let t: Vec<f32> = mask.iter().map(|&m| f32::from(m)).collect();
            let mut counts = CodeCounts::<i8>::new();
            counts.push(&codes, Mask::bytes(&mask)).unwrap();
            for (alpha, gamma) in [(Some(0.25), 2.0), (None, 0.5), (Some(0.75), 5.0)] {
                for reduction in [Reduction::Mean, Reduction::Sum] {
                    let loss = SigmoidFocal::new(alpha, gamma)
                        .unwrap()
                        .with_reduction(reduction);
                    let terms = x.iter().zip(&t).map(|(&x, &t)| {
                        oracle::sigmoid_focal(
                            x.into(),
                            t.into(),
                            alpha.map(f64::from),
                            gamma.into(),
                            loss_core::focal::SoftTargets::Torchvision,
                        )
                    });
                    let exact = match reduction {
                        Reduction::Mean => oracle::mean(terms).unwrap(),
                        Reduction::Sum => oracle::sum(terms),
                    };
                    let quantized = QuantizedFocal::new(&loss, q)
                        .unwrap()
                        .loss(&counts)
                        .unwrap();
                    focal.add(quantized, loss.loss(&x, &t).unwrap(), exact);
                }
            }
            for dice in [
                OverlapLoss::dice(),
                OverlapLoss::jaccard(),
                OverlapLoss::tversky(0.3, 0.7).unwrap(),
            ] {
                let dice = dice.with_predictions(Predictions::Logits);
                let sums = oracle::overlap_sums(
                    x.iter()
                        .zip(&t)
                        .map(|(&x, &t)| (oracle::sigmoid(x.into()), t.into())),
                    false,
                );
                let (nr, dr) = dice.smoothing();
                let exact = match dice.overlap() {
                    loss_core::dice::Overlap::Dice => {
                        oracle::dice_loss(&sums, nr.into(), dr.into())
                    }
                    loss_core::dice::Overlap::Jaccard => {
                        oracle::jaccard_loss(&sums, nr.into(), dr.into())
                    }
                    loss_core::dice::Overlap::Tversky { alpha, beta } => {
                        oracle::tversky_loss(&sums, alpha.into(), beta.into(), nr.into(), dr.into())
                    }
                };
                let quantized = QuantizedOverlap::new(&dice, q)
                    .unwrap()
                    .loss(&counts)
                    .unwrap();
                overlap.add(quantized, dice.loss(&x, &t).unwrap(), exact);
            }
            cases += 1;
        }
    }
    // Probabilities from uint8 codes (the usual sigmoid output quantization: scale 1/256).
    for n in [100, 4096, 65_536] {
        let q = Quantization::new(1.0 / 256.0, 0).unwrap();
        let (codes, mask) = frame::<u8>(&mut rng, n, (20, 230), 20);
        let p: Vec<f32> = codes.iter().map(|&c| q.dequantize(c)).collect();
        let t: Vec<f32> = mask.iter().map(|&m| f32::from(m)).collect();
        let mut counts = CodeCounts::<u8>::new();
        counts.push(&codes, Mask::bytes(&mask)).unwrap();
        let loss = BinaryFocal::seed();
        let exact = oracle::mean(p.iter().zip(&t).map(|(&p, &t)| {
            oracle::binary_focal(p.into(), t.into(), Some(0.25), 2.0, 1e-3, 0.999)
        }))
        .unwrap();
        let quantized = QuantizedFocal::new(&loss, q)
            .unwrap()
            .loss(&counts)
            .unwrap();
        binary.add(quantized, loss.loss(&p, &t).unwrap(), exact);
        cases += 1;
    }
    println!("{cases} frames; worst relative error against the f64 oracle (quantized, f32 path):");
    for (name, w) in [
        ("sigmoid focal", &focal),
        ("binary focal", &binary),
        ("dice family", &overlap),
    ] {
        println!("  {name}: {:.2e}, {:.2e}", w.quantized, w.f32_path);
        assert!(
            w.quantized <= w.f32_path.max(2.0 * f64::from(f32::EPSILON)),
            "{name}: quantized {:e} against the f32 path's {:e}",
            w.quantized,
            w.f32_path
        );
    }
}
