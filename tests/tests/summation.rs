//! The summation order's accuracy: a plain sequential f32 sum against loss-core's [`DetSum`]
//! (four lanes per 64-value block, blocks Neumaier-compensated) on 10^6 values, both against
//! the f64 sum of the same f32 values. `--nocapture` prints the figures in docs/numerics.md.

use loss_core::Reduction;
use loss_core::sum::DetSum;
use loss_tests::{REL, rel_error, rng};
use proptest::prelude::RngExt;

fn compare(name: &str, values: &[f32]) -> (f64, f64) {
    let exact: f64 = values.iter().map(|&v| f64::from(v)).sum();
    let plain: f32 = values.iter().fold(0.0, |s, &v| s + v);
    let mut det = DetSum::<1>::new();
    det.extend(values.iter().map(|&v| [v]));
    let [d] = det.value();
    assert_eq!(
        Reduction::Sum.reduce(values).map(f32::to_bits),
        Ok(d.to_bits())
    );
    let (ep, ed) = (rel_error(plain, exact), rel_error(d, exact));
    println!("{name:<34} exact {exact:.6e}  plain f32 rel err {ep:.2e}  DetSum rel err {ed:.2e}");
    (ep, ed)
}

#[test]
fn detsum_against_plain_f32_sum() {
    const N: usize = 1_000_000;
    let mut r = rng(7);
    let (plain, det) = compare("10^6 x 0.1", &vec![0.1f32; N]);
    assert!(det <= REL && plain > 1e-3);
    let uniform: Vec<f32> = (0..N).map(|_| r.random::<f32>()).collect();
    let (_, det) = compare("10^6 uniform [0, 1)", &uniform);
    assert!(det <= REL);
    // Loss-like values: many tiny terms and a few large ones (log-uniform over 1e-8 ..= 10).
    let skewed: Vec<f32> = (0..N)
        .map(|_| 10f32.powf(r.random_range(-8.0f32..1.0)))
        .collect();
    let (_, det) = compare("10^6 log-uniform [1e-8, 10]", &skewed);
    assert!(det <= REL);
    // Mixed signs (not a loss, but DetSum is public): cancellation makes relative error
    // meaningless near zero, so only report it.
    let signed: Vec<f32> = (0..N)
        .map(|_| r.random_range(-1.0f32..1.0) + 0.01)
        .collect();
    compare("10^6 uniform [-0.99, 1.01)", &signed);
}
