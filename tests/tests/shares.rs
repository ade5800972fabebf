//! The loss and gradient shares of `loss-tools explain` and `sweep` (`loss_tools::shares`)
//! against the f64 oracle: `Σ |dL/dx|` over the positives and the negatives from the
//! oracle's analytic derivatives (`loss_tests::oracle::grad`, themselves checked against
//! central differences in `tests/tests/gradient.rs`), within the gradient rule of
//! `docs/numerics.md` carried through the sums and the share.

use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_tests::oracle::grad::{self, Clamped, Slope};
use loss_tests::{GAMMAS, rng};
use loss_tools::shares::{Split, Sums};
use proptest::prelude::RngExt;

/// The per-element gradient rule: `|r - v| <= GRAD_REL max(|v|, scale)` (docs/numerics.md).
const GRAD_REL: f64 = 1e-5;

/// The exact sums of `|dL/dx|` and the bound on each sum's error from the per-element rule.
fn exact(slopes: &[(Slope, bool)]) -> (Sums, Sums) {
    let (mut sums, mut bounds) = (Sums::default(), Sums::default());
    for &(s, positive) in slopes {
        let (sum, bound) = if positive {
            (&mut sums.positives, &mut bounds.positives)
        } else {
            (&mut sums.negatives, &mut bounds.negatives)
        };
        *sum += s.value.abs();
        // ||r| - |v|| <= |r - v|; 1e-30 the absolute floor of subnormal results.
        *bound += GRAD_REL * s.value.abs().max(s.scale) + 1e-30;
    }
    (sums, bounds)
}

/// Checks the sums and the positives' share against the oracle's.
fn check(what: &str, got: &Sums, slopes: &[(Slope, bool)]) -> f64 {
    let (want, bound) = exact(slopes);
    // The f64 summation of up to a few thousand terms adds a relative 1e-12 at most.
    let sum_rounding = |v: f64| 1e-12 * v;
    for (name, g, w, b) in [
        ("positives", got.positives, want.positives, bound.positives),
        ("negatives", got.negatives, want.negatives, bound.negatives),
    ] {
        assert!(
            (g - w).abs() <= b + sum_rounding(w),
            "{what} {name}: {g} vs {w} (bound {b})"
        );
    }
    let (p, n) = (want.positives, want.negatives);
    let share = p / (p + n);
    // d share = (n dP - p dN) / (p + n)^2.
    let share_bound = (n * bound.positives + p * bound.negatives) / (p + n).powi(2) + 1e-12;
    let got_share = got.positives_share().expect("nonzero");
    let e = (got_share - share).abs();
    assert!(
        e <= share_bound,
        "{what} share: {got_share} vs {share} (bound {share_bound})"
    );
    e / share_bound
}

#[test]
fn gradient_sums_and_shares_match_the_oracle() {
    let mut r = rng(41);
    let n = 3000;
    let x: Vec<f32> = (0..n).map(|_| r.random_range(-30.0f32..30.0)).collect();
    let p: Vec<f32> = (0..n).map(|_| r.random_range(1e-6f32..0.999_999)).collect();
    // Mostly hard targets (the groups of explain and sweep), some soft.
    let t: Vec<f32> = (0..n)
        .map(|i| match i % 10 {
            0 => r.random_range(0.0f32..1.0),
            1..=2 => 1.0,
            _ => 0.0,
        })
        .collect();
    let mut worst: f64 = 0.0;
    for alpha in [None, Some(0.25f32), Some(0.75)] {
        for gamma in GAMMAS {
            let a64 = alpha.map(f64::from);
            let g64 = f64::from(gamma);
            let fl = SigmoidFocal::new(alpha, gamma).expect("valid");
            let got = Split::of(&fl, &x, &t).expect("valid");
            let slopes: Vec<(Slope, bool)> = x
                .iter()
                .zip(&t)
                .map(|(&x, &t)| {
                    let s = grad::sigmoid_focal(
                        f64::from(x),
                        f64::from(t),
                        a64,
                        g64,
                        SoftTargets::Torchvision,
                    );
                    (s, t >= 0.5)
                })
                .collect();
            let at = format!("SigmoidFocal alpha {alpha:?} gamma {gamma}");
            worst = worst.max(check(&at, &got.gradient, &slopes));

            let bf = BinaryFocal::new(alpha, gamma, 0.0, 1.0).expect("valid");
            let got = Split::of(&bf, &p, &t).expect("valid");
            let c = Clamped {
                alpha: a64,
                gamma: g64,
                min: 0.0,
                max: 1.0,
                logs_only: false,
                torchvision_form: false,
            };
            let slopes: Vec<(Slope, bool)> = p
                .iter()
                .zip(&t)
                .map(|(&p, &t)| (grad::binary_focal(f64::from(p), f64::from(t), &c), t >= 0.5))
                .collect();
            let at = format!("BinaryFocal alpha {alpha:?} gamma {gamma}");
            worst = worst.max(check(&at, &got.gradient, &slopes));
        }
    }
    println!("worst share error / its bound: {worst:.3}");
}

/// `explain`'s shares in its own way (one element of each kind, times the counts) against
/// the oracle, and the oracle's figures, printed as `explain` prints them, are the ones in
/// its committed snapshot.
#[test]
fn the_seed_examples_gradient_shares() {
    let (negatives, positives) = (100_000.0, 10.0);
    // Every element has foreground probability 0.05 (p_t 0.95 for a negative).
    let p = 0.05f32;
    let x = (f64::from(p) / (1.0 - f64::from(p))).ln();
    let fl = SigmoidFocal::new(Some(0.25), 2.0).expect("valid");
    let ce = SigmoidFocal::new(None, 0.0).expect("valid");
    let elements = ([x as f32; 2], [0.0f32, 1.0]);
    let share_of = |loss: &SigmoidFocal, alpha: Option<f64>, gamma: f64| {
        let got = Split::of(loss, &elements.0, &elements.1)
            .expect("valid")
            .gradient
            .scaled(positives, negatives);
        let slope = |t: f64| grad::sigmoid_focal(x, t, alpha, gamma, SoftTargets::Torchvision);
        let want = Sums {
            positives: slope(1.0).value.abs(),
            negatives: slope(0.0).value.abs(),
        }
        .scaled(positives, negatives);
        let (g, w) = (
            got.positives_share().expect("nonzero"),
            want.positives_share().expect("nonzero"),
        );
        assert!((g - w).abs() <= 1e-5 * w, "{g} vs {w}");
        w
    };
    let fl_share = share_of(&fl, Some(0.25), 2.0);
    let ce_share = share_of(&ce, None, 0.0);
    let snapshot =
        include_str!("../../loss-tools/tests/snapshots/cli__explain_the_seed_example.snap");
    for (row, v) in [
        ("positives' share of the CE gradient", ce_share),
        ("negatives' share of the CE gradient", 1.0 - ce_share),
        ("positives' share of the FL gradient", fl_share),
        ("negatives' share of the FL gradient", 1.0 - fl_share),
        ("positives' gradient share FL / CE", fl_share / ce_share),
    ] {
        // Five significant digits, as explain prints them.
        let digits = (4 - v.abs().log10().floor() as i32).max(0) as usize;
        let printed = format!("{v:.digits$}");
        let line = snapshot
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("{row} missing from the snapshot"));
        let cells: Vec<&str> = line[row.len()..].split_whitespace().collect();
        assert_eq!(cells, [printed.as_str(); 2], "{row}");
    }
}
