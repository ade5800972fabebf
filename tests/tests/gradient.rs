//! Gradients of the focal losses (`loss_core::gradient`) against the f64 oracle's analytic
//! derivatives (`loss_tests::oracle::grad`), which are checked here against central finite
//! differences in f64; the reductions, the mask targets and the errors.
//!
//! `cargo test -p loss-tests --test gradient -- --nocapture` prints the worst errors recorded
//! in `docs/numerics.md`.

use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::{Error, Mask, Predictions, Reduction};
use loss_tests::oracle::{self, grad};
use loss_tests::{ALPHAS, GAMMAS, TARGETS, logit_sweep, probability_sweep, rng};
use proptest::prelude::*;

const FORMS: [SoftTargets; 4] = [
    SoftTargets::Torchvision,
    SoftTargets::Monai,
    SoftTargets::Kornia,
    SoftTargets::Smp,
];

/// The gradient rule: `|r - v| <= GRAD_REL max(|v|, scale)`, `scale` the sum of the
/// magnitudes of the derivative's terms (docs/numerics.md); infinities exact.
const GRAD_REL: f64 = 1e-5;

/// Absolute errors up to this pass (the losses' rule below `1e-30`).
const TINY: f64 = 1e-30;

/// The worst error seen against the gradient rule, and the failures.
#[derive(Default)]
struct Worst {
    error: f64,
    at: String,
    count: u64,
    failures: Vec<String>,
}

impl Worst {
    fn check(&mut self, r: f32, exact: grad::Slope, at: impl FnOnce() -> String) {
        self.count += 1;
        // Beyond f32's range the right answer is the infinity it rounds to.
        let v = if exact.value.abs() > f64::from(f32::MAX) {
            exact.value.signum() * f64::INFINITY
        } else {
            exact.value
        };
        if !v.is_finite() {
            if f64::from(r) != v {
                self.failures
                    .push(format!("{}: got {r:e}, exact {v:e}", at()));
            }
            return;
        }
        let scale = v.abs().max(exact.scale);
        let d = (f64::from(r) - v).abs();
        // Below TINY the rule is absolute, as for the losses (subnormal f32 results).
        let e = if d <= TINY {
            0.0
        } else if scale == 0.0 {
            f64::INFINITY
        } else {
            d / scale
        };
        let fails = e.is_nan() || e > GRAD_REL;
        if fails || e > self.error {
            let at = at();
            if fails && self.failures.len() < 40 {
                self.failures.push(format!(
                    "{at}: got {r:e}, exact {v:e} (scale {:e}, error {e:e})",
                    exact.scale
                ));
            }
            if e > self.error {
                self.error = e;
                self.at = at;
            }
        }
    }

    fn assert_ok(&self, name: &str) {
        println!(
            "{name}: {} values, worst {:.3e} at {}",
            self.count, self.error, self.at
        );
        assert!(
            self.failures.is_empty(),
            "{name}: outside the rule:\n{}",
            self.failures.join("\n")
        );
    }
}

/// Interior points where the losses are smooth (away from the clamp bounds and from 0 and 1).
fn smooth_logits() -> Vec<f64> {
    (-60..=60).map(|k| f64::from(k) * 0.31 + 0.013).collect()
}

#[test]
fn oracle_matches_central_differences_sigmoid_focal() {
    let mut worst = 0.0f64;
    for form in FORMS {
        for gamma in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0] {
            for alpha in [None, Some(0.25), Some(1.0)] {
                for &t in &[0.0, 1.0, 0.5, 0.3, 0.9, 1e-3] {
                    for x in smooth_logits() {
                        let f = |x| oracle::sigmoid_focal(x, t, alpha, gamma, form);
                        let (fd, err) = grad::central_difference(f, x, 1e-5 * x.abs().max(1.0));
                        let a = grad::sigmoid_focal(x, t, alpha, gamma, form);
                        let scale = a.value.abs().max(a.scale).max(1e-300);
                        let e = (a.value - fd).abs();
                        assert!(
                            e <= 1e-6 * scale + 4.0 * err,
                            "{form:?} x={x} t={t} gamma={gamma} alpha={alpha:?}: analytic {} fd {fd} (err {err:e})",
                            a.value
                        );
                        worst = worst.max(e / scale);
                    }
                }
            }
        }
    }
    println!("sigmoid focal: oracle vs central differences, worst relative {worst:.2e}");
}

/// Every clamp configuration the losses are built with, as the oracle describes it.
fn clamps() -> Vec<(BinaryFocal, grad::Clamped)> {
    let mut out = Vec::new();
    for gamma in GAMMAS {
        for alpha in ALPHAS {
            let a64 = alpha.map(f64::from);
            for (lo, hi) in [(1e-3f32, 0.999f32), (0.0, 1.0), (1e-7, 1.0 - 1e-7)] {
                out.push((
                    BinaryFocal::new(alpha, gamma, lo, hi).expect("valid"),
                    grad::Clamped {
                        alpha: a64,
                        gamma: gamma.into(),
                        min: lo.into(),
                        max: hi.into(),
                        logs_only: false,
                        torchvision_form: false,
                    },
                ));
            }
            out.push((
                BinaryFocal::keras(alpha, gamma).expect("valid"),
                grad::Clamped {
                    alpha: a64,
                    gamma: gamma.into(),
                    min: 1e-7f32.into(),
                    max: (1.0f32 - 1e-7).into(),
                    logs_only: true,
                    torchvision_form: true,
                },
            ));
        }
    }
    out
}

#[test]
fn oracle_matches_central_differences_binary_focal() {
    let mut worst = 0.0f64;
    for (_, c) in clamps() {
        for &t in &[0.0, 1.0, 0.5, 0.3, 0.9] {
            // Interior points, and points outside the clamp (a constant: derivative 0).
            for p in (1..100)
                .map(|k| f64::from(k) / 100.0 + 1.3e-3)
                .chain([1e-4, 0.9995])
            {
                if (p - c.min).abs() < 1e-4 || (p - c.max).abs() < 1e-4 || p >= 1.0 {
                    continue;
                }
                let h = 1e-4 * p.min(1.0 - p);
                let (fd, err) =
                    grad::central_difference(|p| grad::binary_focal_loss(p, t, &c), p, h);
                let a = grad::binary_focal(p, t, &c);
                let scale = a.value.abs().max(a.scale).max(1e-300);
                let e = (a.value - fd).abs();
                assert!(
                    e <= 1e-6 * scale + 4.0 * err,
                    "{c:?} p={p} t={t}: analytic {} fd {fd} (err {err:e})",
                    a.value
                );
                worst = worst.max(e / scale);
            }
        }
    }
    println!("binary focal: oracle vs central differences, worst relative {worst:.2e}");
}

fn pairs(predictions: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut p = Vec::new();
    let mut t = Vec::new();
    for &x in predictions {
        for &y in &TARGETS {
            p.push(x);
            t.push(y);
        }
    }
    (p, t)
}

#[test]
fn sigmoid_focal_gradient_sweep() {
    let (xs, ts) = pairs(&logit_sweep());
    let (mut losses, mut g) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
    let mut forward = vec![0.0; xs.len()];
    let (mut hard, mut soft) = (Worst::default(), Worst::default());
    for form in FORMS {
        for gamma in GAMMAS {
            for alpha in ALPHAS {
                let fl = SigmoidFocal::new(alpha, gamma)
                    .expect("valid")
                    .with_soft_targets(form);
                fl.loss_and_grad_elementwise(&xs, &ts, &mut losses, &mut g)
                    .expect("valid");
                fl.loss_elementwise(&xs, &ts, &mut forward).expect("valid");
                let a64 = alpha.map(f64::from);
                for i in 0..xs.len() {
                    let (x, t) = (xs[i], ts[i]);
                    assert_eq!(losses[i].to_bits(), forward[i].to_bits(), "x={x:e} t={t}");
                    let exact = grad::sigmoid_focal(x.into(), t.into(), a64, gamma.into(), form);
                    let worst = if t == 0.0 || t == 1.0 {
                        &mut hard
                    } else {
                        &mut soft
                    };
                    worst.check(g[i], exact, || {
                        format!("{form:?} x={x:e} t={t:e} gamma={gamma} alpha={alpha:?}")
                    });
                }
            }
        }
    }
    hard.assert_ok("SigmoidFocal gradient, hard targets");
    soft.assert_ok("SigmoidFocal gradient, soft targets");
}

#[test]
fn binary_focal_gradient_sweep() {
    let bounds = [1e-3f32, 0.999, 1e-7, 1.0 - 1e-7];
    let (ps, ts) = pairs(&probability_sweep(&bounds));
    let (mut losses, mut g) = (vec![0.0; ps.len()], vec![0.0; ps.len()]);
    let mut forward = vec![0.0; ps.len()];
    let (mut hard, mut soft) = (Worst::default(), Worst::default());
    for (fl, c) in clamps() {
        fl.loss_and_grad_elementwise(&ps, &ts, &mut losses, &mut g)
            .expect("valid");
        fl.loss_elementwise(&ps, &ts, &mut forward).expect("valid");
        for i in 0..ps.len() {
            let (p, t) = (ps[i], ts[i]);
            assert_eq!(losses[i].to_bits(), forward[i].to_bits(), "p={p:e} t={t}");
            let exact = grad::binary_focal(p.into(), t.into(), &c);
            if exact.value.is_nan() {
                // 0 * inf in the textbook chain rule (p = 0 or 1 with the clamp disabled):
                // no exact value to compare with.
                continue;
            }
            let worst = if t == 0.0 || t == 1.0 {
                &mut hard
            } else {
                &mut soft
            };
            worst.check(g[i], exact, || format!("{c:?} p={p:e} t={t:e}"));
        }
    }
    hard.assert_ok("BinaryFocal gradient, hard targets");
    soft.assert_ok("BinaryFocal gradient, soft targets");
}

/// Reductions: the loss has the forward call's bits, the gradient is the elementwise one
/// divided by the element count (mean) or not (sum); per sample by the sample's length.
#[test]
fn reductions_scale_the_elementwise_gradient() {
    let mut r = rng(7);
    let n = 1000;
    let x: Vec<f32> = (0..n).map(|_| r.random_range(-12.0f32..12.0)).collect();
    let t: Vec<f32> = (0..n)
        .map(|i| match i % 7 {
            0 => 0.3,
            1 | 2 => 1.0,
            _ => 0.0,
        })
        .collect();
    let p: Vec<f32> = x.iter().map(|&x| loss_core::sigmoid(x)).collect();
    let (mut each, mut g_each) = (vec![0.0; n], vec![0.0; n]);
    let mut g = vec![0.0; n];
    let mut per = [0.0; 4];
    macro_rules! check {
        ($fl:expr, $pred:expr) => {{
            let pred: &[f32] = $pred;
            $fl.loss_and_grad_elementwise(pred, &t, &mut each, &mut g_each)
                .unwrap();
            for reduction in [Reduction::Mean, Reduction::Sum] {
                let fl = $fl.with_reduction(reduction);
                let value = fl.loss_and_grad(pred, &t, &mut g).unwrap();
                assert_eq!(value.to_bits(), fl.loss(pred, &t).unwrap().to_bits());
                let div = if reduction == Reduction::Mean {
                    n as f32
                } else {
                    1.0
                };
                for (a, b) in g.iter().zip(&g_each) {
                    assert_eq!(a.to_bits(), (b / div).to_bits());
                }
                fl.loss_and_grad_per_sample(pred, &t, 4, &mut per, &mut g)
                    .unwrap();
                let mut want = [0.0; 4];
                fl.loss_per_sample(pred, &t, 4, &mut want).unwrap();
                assert_eq!(per.map(f32::to_bits), want.map(f32::to_bits));
                let div = if reduction == Reduction::Mean {
                    (n / 4) as f32
                } else {
                    1.0
                };
                for (a, b) in g.iter().zip(&g_each) {
                    assert_eq!(a.to_bits(), (b / div).to_bits());
                }
            }
        }};
    }
    for form in FORMS {
        check!(SigmoidFocal::torchvision().with_soft_targets(form), &x);
    }
    check!(BinaryFocal::seed(), &p);
    check!(BinaryFocal::keras(Some(0.25), 2.0).unwrap(), &p);
}

/// Hard masks give the bits of the f32 targets 0.0 / 1.0.
#[test]
fn masks_give_the_f32_targets_bits() {
    let x = [3.0, -2.0, 0.5, -4.0, 0.0, 17.0, -88.0, 1e-3, 2.5, -0.7, 9.0];
    let bytes = [1u8, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0];
    let t: Vec<f32> = bytes.iter().map(|&b| f32::from(b)).collect();
    let bools: Vec<bool> = bytes.iter().map(|&b| b == 1).collect();
    let packed = [
        bytes[..8]
            .iter()
            .enumerate()
            .fold(0u8, |a, (i, &b)| a | (b << i)),
        bytes[8..]
            .iter()
            .enumerate()
            .fold(0u8, |a, (i, &b)| a | (b << i)),
    ];
    let fl = SigmoidFocal::new(Some(0.4), 1.5).unwrap();
    let mut want = [0.0; 11];
    let value = fl.loss_and_grad(&x, &t, &mut want).unwrap();
    for mask in [
        Mask::bytes(&bytes),
        Mask::bools(&bools),
        Mask::bits(&packed, 11),
    ] {
        let mut g = [0.0; 11];
        assert_eq!(fl.loss_and_grad(&x, mask, &mut g).unwrap(), value);
        assert_eq!(g.map(f32::to_bits), want.map(f32::to_bits));
    }
}

#[test]
fn bad_input_is_a_named_error_and_touches_nothing() {
    let fl = SigmoidFocal::torchvision();
    let (x, t) = ([0.5f32, -1.0, 2.0], [1.0f32, 0.0, 1.0]);
    for len in [0, 2, 4] {
        let mut g = vec![7.0; len];
        assert_eq!(
            fl.loss_and_grad(&x, &t, &mut g),
            Err(Error::GradientLength {
                expected: 3,
                found: len
            })
        );
        assert!(g.iter().all(|&v| v == 7.0));
        let mut losses = [7.0; 3];
        assert_eq!(
            fl.loss_and_grad_elementwise(&x, &t, &mut losses, &mut g),
            Err(Error::GradientLength {
                expected: 3,
                found: len
            })
        );
        assert_eq!(losses, [7.0; 3]);
    }
    let mut g = [7.0; 3];
    assert_eq!(
        fl.loss_and_grad(&x, &t[..2], &mut g),
        Err(Error::LengthMismatch {
            predictions: 3,
            targets: 2
        })
    );
    assert_eq!(fl.loss_and_grad(&[], &[], &mut []), Err(Error::EmptyInput));
    let mut per = [7.0; 2];
    assert_eq!(
        fl.loss_and_grad_per_sample(&x, &t, 2, &mut per, &mut g),
        Err(Error::SampleCountMismatch { len: 3, samples: 2 })
    );
    assert_eq!(
        BinaryFocal::seed().loss_and_grad(&[0.5, 1.5, 0.2], &t, &mut g),
        Err(Error::OutOfRange {
            operand: loss_core::Operand::Predictions,
            index: 1
        })
    );
    assert_eq!(g, [7.0; 3]);
    // NaN propagates into the loss and its own derivative only.
    let v = fl.loss_and_grad(&[f32::NAN, 1.0, 2.0], &t, &mut g).unwrap();
    assert!(v.is_nan() && g[0].is_nan() && g[1].is_finite() && g[2].is_finite());
    let v = BinaryFocal::seed()
        .loss_and_grad(&[0.5, f32::NAN, 0.2], &t, &mut g)
        .unwrap();
    assert!(v.is_nan() && g[1].is_nan() && g[0].is_finite());
}

/// `torch.clamp`'s backward: 0 outside the clamp, passed through at the bounds.
#[test]
fn clamp_gates_the_gradient_as_torch_clamp() {
    let fl = BinaryFocal::seed().with_reduction(Reduction::Sum);
    let mut g = [0.0; 6];
    let p = [0.0, 5e-4, 1e-3, 0.999, 0.9995, 1.0];
    fl.loss_and_grad(&p, &[1.0; 6], &mut g).unwrap();
    assert_eq!([g[0], g[1], g[4], g[5]], [0.0; 4]);
    assert!(g[2] < -100.0 && g[3] < 0.0, "{g:?}");
    // Keras clips the logarithms only: the focal factor's derivative passes at p = 1.
    let keras = BinaryFocal::keras(None, 2.0).unwrap();
    keras.loss_and_grad(&[1.0], &[0.0], &mut g[..1]).unwrap();
    assert!(g[0] > 30.0, "{}", g[0]);
}

proptest! {
    /// For hard targets the focal loss from logits decreases towards the label: the gradient
    /// has the sign of `p - t`, and `|grad| <= weight (1 + gamma / e)`.
    #[test]
    fn hard_gradients_point_away_from_the_label(
        x in -60.0f32..60.0,
        positive: bool,
        gamma in 0.0f32..6.0,
        alpha in 0.0f32..=1.0,
    ) {
        let fl = SigmoidFocal::new(Some(alpha), gamma).unwrap().with_reduction(Reduction::Sum);
        let t = [if positive { 1.0 } else { 0.0 }];
        let mut g = [0.0];
        fl.loss_and_grad(&[x], &t, &mut g).unwrap();
        let w = if positive { alpha } else { 1.0 - alpha };
        let sign_ok = if positive { g[0] <= 0.0 } else { g[0] >= 0.0 };
        prop_assert!(sign_ok, "x={} g={}", x, g[0]);
        prop_assert!(g[0].abs() <= w * (1.0 + gamma / core::f32::consts::E) * 1.000_001);
    }

    /// The gradient predicts the loss's change: a first-order step in f64 around random
    /// points, every soft-target form.
    #[test]
    fn gradient_predicts_the_change(
        x in -8.0f32..8.0,
        t in 0.0f32..=1.0,
        gamma in 0.0f32..4.0,
        form in 0usize..4,
    ) {
        let form = FORMS[form];
        let fl = SigmoidFocal::new(Some(0.25), gamma).unwrap()
            .with_soft_targets(form).with_reduction(Reduction::Sum);
        let mut g = [0.0];
        fl.loss_and_grad(&[x], &[t], &mut g).unwrap();
        let (fd, err) = grad::central_difference(
            |x| oracle::sigmoid_focal(x, t.into(), Some(0.25), gamma.into(), form),
            x.into(),
            1e-5 * f64::from(x.abs()).max(1.0),
        );
        let exact = grad::sigmoid_focal(x.into(), t.into(), Some(0.25), gamma.into(), form);
        let scale = exact.value.abs().max(exact.scale);
        prop_assert!((f64::from(g[0]) - fd).abs() <= GRAD_REL * scale + 4.0 * err,
            "x={x} t={t} gamma={gamma} {form:?}: {} vs {fd}", g[0]);
    }
}

/// Every overlap configuration: dice, Jaccard, Tversky (0.3/0.7), squared where it exists,
/// MONAI, Keras-like and seed smoothing, smp's floor, logits and probabilities.
fn overlaps() -> Vec<(OverlapLoss, grad::Overlap)> {
    let mut out = Vec::new();
    let kinds = [
        (OverlapLoss::dice(), grad::OverlapKind::Dice),
        (OverlapLoss::jaccard(), grad::OverlapKind::Jaccard),
        (
            OverlapLoss::tversky(0.3, 0.7).unwrap(),
            grad::OverlapKind::Tversky(0.3f32.into(), 0.7f32.into()),
        ),
    ];
    for (base, kind) in kinds {
        for squared in [false, true] {
            let Ok(base) = base.with_squared(squared) else {
                continue;
            };
            for (nr, dr, floor) in [
                (1e-5f32, 1e-5f32, 0.0f32),
                (0.0, 1e-7, 0.0),
                (2.0, 1.0, 0.0),
                (0.0, 0.0, 1e-7),
            ] {
                for logits in [false, true] {
                    let loss = base
                        .with_smoothing(nr, dr)
                        .unwrap()
                        .with_denominator_floor(floor)
                        .unwrap()
                        .with_predictions(if logits {
                            Predictions::Logits
                        } else {
                            Predictions::Probabilities
                        });
                    out.push((
                        loss,
                        grad::Overlap {
                            kind,
                            squared,
                            smooth_nr: nr.into(),
                            smooth_dr: dr.into(),
                            floor: floor.into(),
                            logits,
                        },
                    ));
                }
            }
        }
    }
    out
}

/// A random set of `n` predictions (logits or probabilities) and targets: hard, soft, some
/// empty masks, extreme logits.
fn overlap_set(
    r: &mut proptest::test_runner::TestRng,
    n: usize,
    logits: bool,
) -> (Vec<f32>, Vec<f32>) {
    let empty = r.random_range(0..6) == 0;
    let t = (0..n)
        .map(|_| match r.random_range(0..8) {
            _ if empty => 0.0,
            0 => r.random::<f32>(),
            1..=3 => 1.0,
            _ => 0.0,
        })
        .collect();
    let x = (0..n)
        .map(|_| {
            if logits {
                match r.random_range(0..20) {
                    0 => [30.0, -30.0, 88.0, -104.0, 1e4][r.random_range(0..5)],
                    _ => r.random_range(-12.0f32..12.0),
                }
            } else {
                match r.random_range(0..10) {
                    0 => [0.0, 1.0][r.random_range(0..2)],
                    _ => r.random::<f32>(),
                }
            }
        })
        .collect();
    (x, t)
}

#[test]
fn oracle_matches_central_differences_overlap() {
    let mut r = rng(11);
    let mut worst = 0.0f64;
    for (_, o) in overlaps() {
        for _ in 0..20 {
            let (x, t) = overlap_set(&mut r, 8, o.logits);
            let x: Vec<f64> = x
                .iter()
                .map(|&v| {
                    f64::from(v.clamp(-15.0, 15.0).clamp(
                        if o.logits { -15.0 } else { 0.01 },
                        if o.logits { 15.0 } else { 0.99 },
                    ))
                })
                .collect();
            let t: Vec<f64> = t.iter().map(|&v| f64::from(v)).collect();
            let slopes = grad::overlap(&x, &t, &o);
            for i in 0..x.len() {
                let f = |v: f64| {
                    let mut y = x.clone();
                    y[i] = v;
                    grad::overlap_loss(&y, &t, &o)
                };
                let h = if o.logits {
                    1e-5
                } else {
                    1e-4 * x[i].min(1.0 - x[i])
                };
                let (fd, err) = grad::central_difference(f, x[i], h);
                let a = slopes[i];
                let scale = a.value.abs().max(a.scale).max(1e-300);
                let e = (a.value - fd).abs();
                // Near the floor the loss has a kink: skip where the step crosses it.
                if o.floor > 0.0 {
                    continue;
                }
                assert!(
                    e <= 1e-6 * scale + 4.0 * err,
                    "{o:?} i={i}: analytic {} fd {fd} (err {err:e})",
                    a.value
                );
                // The worst figure where the difference resolves the derivative (tiny
                // derivatives are below the difference's rounding).
                if err < 1e-7 * scale {
                    worst = worst.max(e / scale);
                }
            }
        }
    }
    println!("overlap: oracle vs central differences, worst relative {worst:.2e}");
}

#[test]
fn overlap_gradient_sweep() {
    let mut r = rng(12);
    let mut worst = Worst::default();
    for (loss, o) in overlaps() {
        for n in [1, 2, 7, 64, 300] {
            for _ in 0..6 {
                let (x, t) = overlap_set(&mut r, n, o.logits);
                let mut g = vec![0.0; n];
                let value = loss.loss_and_grad(&x, &t, &mut g).unwrap();
                let forward = loss.loss(&x, &t).unwrap();
                assert!(value.to_bits() == forward.to_bits() || value.is_nan() && forward.is_nan());
                let x64: Vec<f64> = x.iter().map(|&v| v.into()).collect();
                let t64: Vec<f64> = t.iter().map(|&v| v.into()).collect();
                for (i, s) in grad::overlap(&x64, &t64, &o).into_iter().enumerate() {
                    worst.check(g[i], s, || {
                        format!("{o:?} n={n} i={i} x={:e} t={}", x[i], t[i])
                    });
                }
            }
        }
    }
    worst.assert_ok("OverlapLoss gradient");
}

/// The two-pass streaming API gives the one-shot bits in every tiling, per sample gives each
/// sample's one-shot bits, masks give the f32 targets' bits.
#[test]
fn overlap_tiles_and_samples_give_the_one_shot_bits() {
    let mut r = rng(13);
    for (loss, o) in overlaps() {
        let (x, t) = overlap_set(&mut r, 600, o.logits);
        let t: Vec<f32> = t.iter().map(|&v| v.round()).collect();
        let mut want = vec![0.0; 600];
        let value = loss.loss_and_grad(&x, &t, &mut want).unwrap();
        for tile in [1, 7, 256, 600] {
            let mut acc = loss.accumulator();
            for (x, t) in x.chunks(tile + 3).zip(t.chunks(tile + 3)) {
                acc.push(x, t).unwrap();
            }
            let mut pass = loss.gradient(&acc.stats().unwrap()).unwrap();
            let mut g = vec![0.0; 600];
            for ((x, t), g) in x.chunks(tile).zip(t.chunks(tile)).zip(g.chunks_mut(tile)) {
                pass.tile(x, t, g).unwrap();
            }
            assert_eq!(pass.finish().unwrap().to_bits(), value.to_bits());
            assert_eq!(g, want, "{o:?} tile {tile}");
        }
        let bytes: Vec<u8> = t.iter().map(|&v| v as u8).collect();
        let mut g = vec![0.0; 600];
        assert_eq!(
            loss.loss_and_grad(&x, Mask::bytes(&bytes), &mut g)
                .unwrap()
                .to_bits(),
            value.to_bits()
        );
        assert_eq!(g, want);
        let (mut losses, mut per) = ([0.0; 3], vec![0.0; 600]);
        loss.loss_and_grad_per_sample(&x, &t, 3, &mut losses, &mut per)
            .unwrap();
        for (k, &sample_loss) in losses.iter().enumerate() {
            let s = k * 200..(k + 1) * 200;
            let mut g = vec![0.0; 200];
            let v = loss
                .loss_and_grad(&x[s.clone()], &t[s.clone()], &mut g)
                .unwrap();
            assert_eq!(sample_loss.to_bits(), v.to_bits());
            assert_eq!(&per[s], &g[..]);
        }
    }
}

#[test]
fn overlap_gradient_errors() {
    let loss = OverlapLoss::dice().with_predictions(Predictions::Logits);
    let (x, t) = ([0.5f32, -1.0, 2.0, 0.0], [1.0f32, 0.0, 1.0, 1.0]);
    let stats = loss.stats(&x, &t).unwrap();
    let mut pass = loss.gradient(&stats).unwrap();
    let mut g = [7.0; 4];
    assert_eq!(
        pass.finish(),
        Err(Error::StatisticsMismatch {
            expected: 4,
            found: 0
        })
    );
    pass.tile(&x[..3], &t[..3], &mut g[..3]).unwrap();
    // A tile past the statistics' count is refused and changes nothing.
    let before = pass;
    let mut h = [7.0; 2];
    assert_eq!(
        pass.tile(&x[..2], &t[..2], &mut h),
        Err(Error::StatisticsMismatch {
            expected: 4,
            found: 5
        })
    );
    assert_eq!((pass, h), (before, [7.0; 2]));
    assert_eq!(
        pass.tile(&x[3..], &t[3..], &mut h),
        Err(Error::GradientLength {
            expected: 1,
            found: 2
        })
    );
    pass.tile(&x[3..], &t[3..], &mut g[3..]).unwrap();
    assert_eq!(pass.finish().unwrap(), loss.loss(&x, &t).unwrap());
    assert_eq!(
        loss.gradient(&loss_core::dice::OverlapStats::default()),
        Err(Error::EmptyInput)
    );
    let mut g = [7.0; 3];
    assert_eq!(
        loss.loss_and_grad(&x, &t, &mut g),
        Err(Error::GradientLength {
            expected: 4,
            found: 3
        })
    );
    assert_eq!(g, [7.0; 3]);
    assert_eq!(
        OverlapLoss::dice().loss_and_grad(&[0.5, 1.5], &[1.0, 0.0], &mut [0.0; 2]),
        Err(Error::OutOfRange {
            operand: loss_core::Operand::Predictions,
            index: 1
        })
    );
    let mut losses = [0.0; 3];
    assert_eq!(
        loss.loss_and_grad_per_sample(&x, &t, 3, &mut losses, &mut [0.0; 4]),
        Err(Error::SampleCountMismatch { len: 4, samples: 3 })
    );
}

/// One-vs-rest focal: every term's derivative against the binary oracle times the class
/// weight, in both layouts, dense soft targets and a label map with an ignored label; the
/// losses have the bits of `loss_elementwise`.
#[test]
fn one_vs_rest_gradient() {
    use loss_core::multiclass::{ClassAlpha, ClassLoss, Layout, OneVsRestFocal, Shape, Targets};
    let mut r = rng(21);
    let (batch, classes, spatial) = (2, 3, 40);
    let n = batch * classes * spatial;
    let x: Vec<f32> = (0..n).map(|_| r.random_range(-9.0f32..9.0)).collect();
    let dense: Vec<f32> = (0..n)
        .map(|i| if i % 5 == 0 { 0.3 } else { (i % 2) as f32 })
        .collect();
    let labels: Vec<u8> = (0..batch * spatial)
        .map(|i| [0, 1, 2, 255][i % 4])
        .collect();
    let alphas = [0.25f32, 0.5, 0.75];
    let weights = [1.0f32, 2.0, 0.5];
    let mut worst = Worst::default();
    for layout in [Layout::ChannelsFirst, Layout::ChannelsLast] {
        let shape = Shape::new(batch, classes, spatial, layout).unwrap();
        // (batch, class, pixel) of each flat index.
        let at = |i: usize| match layout {
            Layout::ChannelsFirst => (
                i / (classes * spatial),
                (i / spatial) % classes,
                i % spatial,
            ),
            Layout::ChannelsLast => (
                i / (classes * spatial),
                i % classes,
                (i / classes) % spatial,
            ),
        };
        for form in FORMS {
            for gamma in [0.0f32, 2.0, 0.5] {
                let fl = OneVsRestFocal::new(ClassAlpha::PerClass(&alphas), gamma, Some(&weights))
                    .unwrap()
                    .with_soft_targets(form);
                for labelled in [false, true] {
                    let targets = if labelled {
                        Targets::labels(&labels).with_ignore_index(255)
                    } else {
                        Targets::dense(&dense)
                    };
                    let (mut losses, mut g, mut forward) =
                        (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                    fl.loss_and_grad_elementwise(&shape, &x, targets, &mut losses, &mut g)
                        .unwrap();
                    fl.loss_elementwise(&shape, &x, targets, &mut forward)
                        .unwrap();
                    assert_eq!(losses, forward);
                    for i in 0..n {
                        let (b, c, p) = at(i);
                        let t = if labelled {
                            match labels[b * spatial + p] {
                                255 => {
                                    assert_eq!((g[i], losses[i]), (0.0, 0.0), "ignored");
                                    continue;
                                }
                                l => f64::from(u8::from(usize::from(l) == c)),
                            }
                        } else {
                            f64::from(dense[i])
                        };
                        let mut exact = grad::sigmoid_focal(
                            x[i].into(),
                            t,
                            Some(alphas[c].into()),
                            gamma.into(),
                            form,
                        );
                        let w = f64::from(weights[c]);
                        exact.value *= w;
                        exact.scale *= w;
                        worst.check(g[i], exact, || {
                            format!("{layout:?} {form:?} gamma {gamma} i {i} x {} t {t}", x[i])
                        });
                    }
                }
            }
        }
        let fl = OneVsRestFocal::new(ClassAlpha::Uniform(0.25), 2.0, None).unwrap();
        let mut losses = vec![0.0; n];
        assert_eq!(
            fl.loss_and_grad_elementwise(
                &shape,
                &x,
                Targets::dense(&dense),
                &mut losses,
                &mut vec![0.0; n - 1]
            ),
            Err(Error::GradientLength {
                expected: n,
                found: n - 1
            })
        );
    }
    worst.assert_ok("OneVsRestFocal gradient");
}

/// Softmax focal: the oracle against central differences, then every score's derivative
/// against the oracle, in both layouts, dense soft targets and a label map with an ignored
/// label; the losses have the bits of `loss_elementwise`.
#[test]
fn softmax_focal_gradient() {
    use loss_core::multiclass::{ClassAlpha, ClassLoss, Layout, Shape, SoftmaxFocal, Targets};
    let mut r = rng(31);
    let (batch, classes, spatial) = (2, 4, 30);
    let n = batch * classes * spatial;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            if i % 17 == 0 {
                [30.0, -30.0, 88.0][i % 3]
            } else {
                r.random_range(-8.0f32..8.0)
            }
        })
        .collect();
    // Dense targets: a soft distribution over the classes of each pixel.
    let mut dense = vec![0.0f32; n];
    let labels: Vec<u8> = (0..batch * spatial)
        .map(|i| [0, 1, 2, 3, 255][i % 5])
        .collect();
    let weights = [1.0f32, 2.0, 0.5, 1.5];
    let mut worst = Worst::default();
    let mut fd_worst = 0.0f64;
    for layout in [Layout::ChannelsFirst, Layout::ChannelsLast] {
        let shape = Shape::new(batch, classes, spatial, layout).unwrap();
        let index = |b: usize, c: usize, p: usize| match layout {
            Layout::ChannelsFirst => (b * classes + c) * spatial + p,
            Layout::ChannelsLast => (b * spatial + p) * classes + c,
        };
        for b in 0..batch {
            for p in 0..spatial {
                let k = (b + p) % classes;
                for c in 0..classes {
                    dense[index(b, c, p)] = if c == k { 0.7 } else { 0.1 };
                }
            }
        }
        for gamma in [0.0f32, 0.5, 2.0, 3.0] {
            for alpha in [ClassAlpha::None, ClassAlpha::Background(0.25)] {
                let fl = SoftmaxFocal::new(alpha, gamma, Some(&weights)).unwrap();
                let w: Vec<f64> = (0..classes)
                    .map(|c| {
                        let a = match alpha {
                            ClassAlpha::Background(a) if c == 0 => 1.0 - f64::from(a),
                            ClassAlpha::Background(a) => f64::from(a),
                            _ => 1.0,
                        };
                        a * f64::from(weights[c])
                    })
                    .collect();
                for labelled in [false, true] {
                    let targets = if labelled {
                        Targets::labels(&labels).with_ignore_index(255)
                    } else {
                        Targets::dense(&dense)
                    };
                    let (mut losses, mut g, mut forward) =
                        (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                    fl.loss_and_grad_elementwise(&shape, &x, targets, &mut losses, &mut g)
                        .unwrap();
                    fl.loss_elementwise(&shape, &x, targets, &mut forward)
                        .unwrap();
                    assert_eq!(losses, forward);
                    for b in 0..batch {
                        for p in 0..spatial {
                            let label = labels[b * spatial + p];
                            let s: Vec<f64> =
                                (0..classes).map(|c| x[index(b, c, p)].into()).collect();
                            let t: Vec<f64> = (0..classes)
                                .map(|c| {
                                    if labelled {
                                        f64::from(u8::from(usize::from(label) == c))
                                    } else {
                                        dense[index(b, c, p)].into()
                                    }
                                })
                                .collect();
                            if labelled && label == 255 {
                                for c in 0..classes {
                                    assert_eq!(g[index(b, c, p)], 0.0, "ignored");
                                }
                                continue;
                            }
                            let exact = grad::softmax_focal(&s, &t, gamma.into(), &w);
                            for (c, &slope) in exact.iter().enumerate() {
                                let i = index(b, c, p);
                                worst.check(g[i], slope, || {
                                    format!("{layout:?} gamma {gamma} {alpha:?} pixel {s:?} t {t:?} class {c}")
                                });
                            }
                            // The oracle against central differences, where the scores are
                            // moderate (the difference resolves the derivative).
                            if s.iter().all(|v| v.abs() < 10.0) {
                                for c in 0..classes {
                                    let f = |v: f64| {
                                        let mut y = s.clone();
                                        y[c] = v;
                                        grad::softmax_focal_loss(&y, &t, gamma.into(), &w)
                                    };
                                    let (fd, err) = grad::central_difference(f, s[c], 1e-5);
                                    let a = exact[c];
                                    let scale = a.value.abs().max(a.scale).max(1e-300);
                                    let e = (a.value - fd).abs();
                                    assert!(
                                        e <= 1e-6 * scale + 4.0 * err,
                                        "gamma {gamma} {s:?} {t:?} class {c}: {} vs {fd}",
                                        a.value
                                    );
                                    if err < 1e-7 * scale {
                                        fd_worst = fd_worst.max(e / scale);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let fl = SoftmaxFocal::cross_entropy();
        let mut losses = vec![0.0; n];
        assert_eq!(
            fl.loss_and_grad_elementwise(
                &shape,
                &x,
                Targets::dense(&dense),
                &mut losses,
                &mut vec![0.0; n + 1]
            ),
            Err(Error::GradientLength {
                expected: n,
                found: n + 1
            })
        );
        assert_eq!(
            fl.with_predictions(Predictions::Probabilities)
                .loss_and_grad_elementwise(
                    &shape,
                    &x,
                    Targets::dense(&dense),
                    &mut losses,
                    &mut vec![0.0; n]
                ),
            Err(Error::InvalidParameter("predictions"))
        );
    }
    println!("softmax focal: oracle vs central differences, worst relative {fd_worst:.2e}");
    worst.assert_ok("SoftmaxFocal gradient");
}
