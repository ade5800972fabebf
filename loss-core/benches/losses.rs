//! Throughput of the binary losses over 4 M elements (f32, their loss and gradient, and int8
//! through the code counts)
//! and of [`loss_core::lanes`] against `libm` (`cargo bench -p loss-core`); criterion
//! reports elements per second, i.e. ns/element = 1e9 / throughput. Under `cargo test` each
//! benchmark runs once as a smoke test.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use loss_core::Mask;
use loss_core::Predictions;
use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::quantized::{CodeCounts, Quantization, QuantizedFocal};

const N: usize = 4 << 20;

/// Deterministic inputs without a random-number crate: a 32-bit LCG.
fn data() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut s = 0x2545_f491u32;
    let mut next = || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 8) as f32 / (1u32 << 24) as f32
    };
    let mut logits = Vec::with_capacity(N);
    let mut probabilities = Vec::with_capacity(N);
    let mut targets = Vec::with_capacity(N);
    for _ in 0..N {
        let u = next();
        logits.push(20.0 * u - 10.0);
        probabilities.push(u);
        targets.push(if next() < 0.1 { 1.0 } else { 0.0 });
    }
    (logits, probabilities, targets)
}

fn losses(c: &mut Criterion) {
    let (x, p, t) = data();
    let mut g = c.benchmark_group("4M elements");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    let focal = |gamma| SigmoidFocal::new(Some(0.25), gamma).expect("valid");
    for (name, fl) in [
        ("sigmoid focal gamma 2", focal(2.0)),
        ("sigmoid focal gamma 0.5", focal(0.5)),
    ] {
        g.bench_function(name, |b| b.iter(|| fl.loss(black_box(&x), black_box(&t))));
    }
    // Label smoothing 0.1 (targets 0.05 / 0.95): the double-word soft-target paths.
    let smooth: Vec<f32> = t.iter().map(|&v| 0.9 * v + 0.05).collect();
    for (name, fl) in [
        ("sigmoid focal gamma 2 soft (torchvision)", focal(2.0)),
        (
            "sigmoid focal gamma 2 soft (monai)",
            focal(2.0).with_soft_targets(SoftTargets::Monai),
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| fl.loss(black_box(&x), black_box(&smooth)))
        });
    }
    let bf = BinaryFocal::seed();
    g.bench_function("binary focal (probabilities) gamma 2", |b| {
        b.iter(|| bf.loss(black_box(&p), black_box(&t)))
    });
    let dice = OverlapLoss::dice();
    g.bench_function("dice probabilities", |b| {
        b.iter(|| dice.loss(black_box(&p), black_box(&t)))
    });
    let dice_logits = dice.with_predictions(Predictions::Logits);
    g.bench_function("dice logits", |b| {
        b.iter(|| dice_logits.loss(black_box(&x), black_box(&t)))
    });
    // Loss and gradient in one call (the gradient into a caller buffer), beside the loss
    // alone above: the focal losses' one pass, the dice family's two.
    let mut grad = vec![0.0f32; N];
    for (name, fl) in [
        ("sigmoid focal gamma 2 + grad", focal(2.0)),
        ("sigmoid focal gamma 0.5 + grad", focal(0.5)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| fl.loss_and_grad(black_box(&x), black_box(&t), &mut grad))
        });
    }
    g.bench_function("binary focal (probabilities) gamma 2 + grad", |b| {
        b.iter(|| bf.loss_and_grad(black_box(&p), black_box(&t), &mut grad))
    });
    g.bench_function("dice probabilities + grad", |b| {
        b.iter(|| dice.loss_and_grad(black_box(&p), black_box(&t), &mut grad))
    });
    g.bench_function("dice logits + grad", |b| {
        b.iter(|| dice_logits.loss_and_grad(black_box(&x), black_box(&t), &mut grad))
    });
    // int8 logits (scale 10/127) and a byte mask: count the codes, then the focal loss from
    // the per-code table, which is built once, outside the timed part.
    let quantization = Quantization::new(10.0 / 127.0, 0).expect("valid");
    let codes: Vec<i8> = x.iter().map(|&v| (v * 12.7).round() as i8).collect();
    let mask: Vec<u8> = t.iter().map(|&v| u8::from(v == 1.0)).collect();
    let table = QuantizedFocal::<i8>::new(&focal(2.0), quantization).expect("valid");
    let count = || {
        let mut counts = CodeCounts::<i8>::new();
        counts
            .push(black_box(&codes), Mask::bytes(black_box(&mask)))
            .map(|()| counts)
    };
    g.bench_function("int8 code counts (byte mask)", |b| b.iter(count));
    g.bench_function("int8 sigmoid focal gamma 2 (counts + table)", |b| {
        b.iter(|| table.loss(&count()?))
    });
    g.finish();
}

/// `lanes` against `libm` one value at a time, on 4096 values of each function's typical
/// arguments (log-softmax shifts, probabilities, sums of probabilities).
fn lanes(c: &mut Criterion) {
    const M: usize = 4096;
    let mut g = c.benchmark_group("4096 values");
    g.throughput(Throughput::Elements(M as u64));
    let spread = |lo: f32, hi: f32| -> Vec<f32> {
        (0..M)
            .map(|i| lo + (hi - lo) * i as f32 / M as f32)
            .collect()
    };
    /// A function's name, its `lanes` form, its `libm` form and typical arguments.
    type Case = (&'static str, fn(&mut [f32]), fn(f32) -> f32, Vec<f32>);
    let functions: [Case; 3] = [
        (
            "expf",
            loss_core::lanes::exp,
            libm::expf,
            spread(-20.0, 0.0),
        ),
        ("logf", loss_core::lanes::ln, libm::logf, spread(1e-6, 1.0)),
        (
            "log1pf",
            loss_core::lanes::ln_1p,
            libm::log1pf,
            spread(0.0, 8.0),
        ),
    ];
    for (name, slice, scalar, input) in functions {
        let mut buffer = input.clone();
        g.bench_function(format!("{name} lanes"), |b| {
            b.iter(|| {
                buffer.copy_from_slice(&input);
                slice(black_box(&mut buffer));
            })
        });
        g.bench_function(format!("{name} libm"), |b| {
            b.iter(|| {
                buffer.copy_from_slice(&input);
                buffer.iter_mut().for_each(|v| *v = scalar(*v));
                black_box(&mut buffer);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, losses, lanes);
criterion_main!(benches);
