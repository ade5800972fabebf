//! Every binary loss-core function against the f64 oracle (`loss_tests::oracle`), with the
//! accuracy rule of docs/numerics.md (see `loss_tests`): elementwise over sweeps of extreme and
//! ordinary inputs, and reduced over 10^6 random elements.
//!
//! `cargo test -p loss-tests --test oracle -- --nocapture` prints the worst errors recorded in
//! `docs/numerics.md`.

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::{ElementLoss, Predictions, Reduction};
use loss_tests::oracle;
use loss_tests::{
    ALPHAS, GAMMAS, REL, TARGETS, Worst, logit_sweep, probability_sweep, rel_error, rng,
};
use proptest::prelude::RngExt;

const FORMS: [SoftTargets; 3] = [
    SoftTargets::Torchvision,
    SoftTargets::Monai,
    SoftTargets::Kornia,
];

fn pairs(predictions: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut p = Vec::with_capacity(predictions.len() * TARGETS.len());
    let mut t = Vec::with_capacity(p.capacity());
    for &x in predictions {
        for &y in &TARGETS {
            p.push(x);
            t.push(y);
        }
    }
    (p, t)
}

/// `(form, gamma)` pairs whose soft-target values exceeded the bound (up to 1.9e-6) before the
/// soft paths carried the rounding of MONAI's exponent argument `-x (2t - 1)` and of
/// torchvision's `p (1 - t) + (1 - p) t` in double words (docs/numerics.md).
const KNOWN_SOFT_EXCESS: [(SoftTargets, f32); 5] = [
    (SoftTargets::Monai, 1.0),
    (SoftTargets::Monai, 1.5),
    (SoftTargets::Monai, 3.0),
    (SoftTargets::Monai, 5.0),
    (SoftTargets::Torchvision, 5.0),
];

/// Sweeps `SigmoidFocal::loss_elementwise` over every form, gamma and alpha; `keep` selects
/// which `(form, gamma, target)` triples are checked.
fn sigmoid_focal_sweep(keep: impl Fn(SoftTargets, f32, f32) -> bool) -> (Worst, usize) {
    let (xs, ts) = pairs(&logit_sweep());
    let mut out = vec![0.0; xs.len()];
    let mut worst = Worst::default();
    let mut checked = 0;
    for form in FORMS {
        for gamma in GAMMAS {
            for alpha in ALPHAS {
                let fl = SigmoidFocal::new(alpha, gamma)
                    .expect("valid parameters")
                    .with_soft_targets(form);
                fl.loss_elementwise(&xs, &ts, &mut out)
                    .expect("valid input");
                let a64 = alpha.map(f64::from);
                for ((&x, &t), &r) in xs.iter().zip(&ts).zip(&out) {
                    if !keep(form, gamma, t) {
                        continue;
                    }
                    checked += 1;
                    let exact = oracle::sigmoid_focal(x.into(), t.into(), a64, gamma.into(), form);
                    worst.check(r, exact, || {
                        format!("{form:?} x={x:e} t={t:e} gamma={gamma} alpha={alpha:?}")
                    });
                }
            }
        }
    }
    (worst, checked)
}

fn known_excess(form: SoftTargets, gamma: f32, t: f32) -> bool {
    t != 0.0 && t != 1.0 && KNOWN_SOFT_EXCESS.contains(&(form, gamma))
}

#[test]
fn sigmoid_focal_elementwise_sweep() {
    let (worst, n) = sigmoid_focal_sweep(|form, gamma, t| !known_excess(form, gamma, t));
    println!("SigmoidFocal elementwise (all but KNOWN_SOFT_EXCESS), {n} values:\n{worst}");
    worst.assert_ok("SigmoidFocal");
}

/// The soft-target cases listed in `KNOWN_SOFT_EXCESS`, against the same rule.
#[test]
fn sigmoid_focal_soft_target_known_excess() {
    let (worst, n) = sigmoid_focal_sweep(known_excess);
    println!("SigmoidFocal elementwise, KNOWN_SOFT_EXCESS only, {n} values:\n{worst}");
    worst.assert_ok("SigmoidFocal soft targets (known excess)");
}

#[test]
fn binary_focal_elementwise_sweep() {
    let clamps = [(1e-3f32, 0.999f32), (0.0, 1.0), (1e-7, 1.0 - 1e-7)];
    let bounds: Vec<f32> = clamps.iter().flat_map(|&(a, b)| [a, b]).collect();
    let (ps, ts) = pairs(&probability_sweep(&bounds));
    let mut out = vec![0.0; ps.len()];
    let mut worst = Worst::default();
    for (lo, hi) in clamps {
        for gamma in GAMMAS {
            for alpha in ALPHAS {
                let fl = BinaryFocal::new(alpha, gamma, lo, hi).expect("valid parameters");
                fl.loss_elementwise(&ps, &ts, &mut out)
                    .expect("valid input");
                let a64 = alpha.map(f64::from);
                for ((&p, &t), &r) in ps.iter().zip(&ts).zip(&out) {
                    let exact = oracle::binary_focal(
                        p.into(),
                        t.into(),
                        a64,
                        gamma.into(),
                        lo.into(),
                        hi.into(),
                    );
                    worst.check(r, exact, || {
                        format!(
                            "clamp=[{lo:e},{hi:e}] p={p:e} t={t:e} gamma={gamma} alpha={alpha:?}"
                        )
                    });
                }
            }
        }
    }
    println!(
        "BinaryFocal elementwise, {} values:\n{worst}",
        ps.len() * 96
    );
    worst.assert_ok("BinaryFocal");
}

/// `oracle::bce_with_logits` and `oracle::bce` are the gamma = 0, unweighted focal losses.
#[test]
fn bce_is_focal_with_gamma_zero() {
    let xs = logit_sweep();
    let mut worst = Worst::default();
    let ce = SigmoidFocal::new(None, 0.0).expect("valid");
    for &x in &xs {
        for &t in &TARGETS {
            let r = ce
                .with_reduction(Reduction::Sum)
                .loss(&[x], &[t])
                .expect("valid");
            worst.check(r, oracle::bce_with_logits(x.into(), t.into()), || {
                format!("x={x:e} t={t:e}")
            });
        }
    }
    let ce = BinaryFocal::new(None, 0.0, 0.0, 1.0).expect("valid");
    for p in probability_sweep(&[]) {
        for &t in &TARGETS {
            let r = ce
                .with_reduction(Reduction::Sum)
                .loss(&[p], &[t])
                .expect("valid");
            worst.check(r, oracle::bce(p.into(), t.into()), || {
                format!("p={p:e} t={t:e}")
            });
        }
    }
    println!("BCE through focal(gamma = 0):\n{worst}");
    worst.assert_ok("BCE");
}

const N: usize = 1_000_000;

/// Random logits: mostly `[-15, 15]`, 1 % from the extremes (`±30`, `±88`, `±1e4`).
fn random_logits(seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..N)
        .map(|_| {
            if r.random_range(0..100) == 0 {
                [30.0, -30.0, 88.0, -88.0, 1e4, -1e4][r.random_range(0..6)]
            } else {
                r.random_range(-15.0..15.0)
            }
        })
        .collect()
}

/// Random targets: hard with probability 0.8 (positives 10 %), else soft.
fn random_targets(seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..N)
        .map(|_| match r.random_range(0..10) {
            0 => 1.0,
            1 => r.random::<f32>(),
            _ => 0.0,
        })
        .collect()
}

fn random_probabilities(seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..N)
        .map(|_| match r.random_range(0..50) {
            0 => 0.0,
            1 => 1.0,
            _ => r.random::<f32>(),
        })
        .collect()
}

/// Checks `Mean`, `Sum` and 8 per-sample means of `loss` against the oracle's f64 sums of the
/// exact elementwise values; returns the worst relative error.
fn check_reductions<L: ElementLoss>(
    name: &str,
    loss: L,
    p: &[f32],
    t: &[f32],
    exact: impl Fn(f32, f32) -> f64,
) -> f64 {
    let values: Vec<f64> = p.iter().zip(t).map(|(&p, &t)| exact(p, t)).collect();
    let sum = oracle::sum(values.iter().copied());
    let mean = oracle::mean(values.iter().copied()).expect("not empty");
    let got_sum = loss
        .with_reduction(Reduction::Sum)
        .loss(p, t)
        .expect("valid");
    let got_mean = loss.loss(p, t).expect("valid");
    let mut per = [0.0f32; 8];
    loss.loss_per_sample(p, t, 8, &mut per).expect("valid");
    let mut worst = rel_error(got_sum, sum).max(rel_error(got_mean, mean));
    for (chunk, &got) in values.chunks(N / 8).zip(&per) {
        let m = oracle::mean(chunk.iter().copied()).expect("not empty");
        worst = worst.max(rel_error(got, m));
    }
    println!(
        "{name:<44} sum {got_sum:.7e} vs {sum:.7e}  rel err sum {:.2e} mean {:.2e}  worst incl. per-sample {worst:.2e}",
        rel_error(got_sum, sum),
        rel_error(got_mean, mean)
    );
    assert!(worst <= REL, "{name}: relative error {worst:e} > {REL:e}");
    worst
}

#[test]
fn focal_reductions_over_a_million_elements() {
    let (x, t) = (random_logits(1), random_targets(2));
    let p = random_probabilities(3);
    let mut worst: f64 = 0.0;
    for (alpha, gamma, form) in [
        (Some(0.25), 2.0, SoftTargets::Torchvision),
        (None, 0.5, SoftTargets::Torchvision),
        (None, 0.0, SoftTargets::Torchvision),
        (Some(0.25), 5.0, SoftTargets::Monai),
        (Some(0.75), 1.5, SoftTargets::Kornia),
    ] {
        let fl = SigmoidFocal::new(alpha, gamma)
            .expect("valid")
            .with_soft_targets(form);
        let a64 = alpha.map(f64::from);
        worst = worst.max(check_reductions(
            &format!("SigmoidFocal {form:?} a={alpha:?} g={gamma}"),
            fl,
            &x,
            &t,
            |x, t| oracle::sigmoid_focal(x.into(), t.into(), a64, gamma.into(), form),
        ));
    }
    for (alpha, gamma, lo, hi) in [
        (Some(0.25), 2.0, 1e-3f32, 0.999f32),
        (None, 0.5, 1e-7, 1.0 - 1e-7),
        (Some(0.5), 3.0, 1e-7, 1.0 - 1e-7),
    ] {
        let fl = BinaryFocal::new(alpha, gamma, lo, hi).expect("valid");
        let a64 = alpha.map(f64::from);
        worst = worst.max(check_reductions(
            &format!("BinaryFocal [{lo:e},{hi:e}] a={alpha:?} g={gamma}"),
            fl,
            &p,
            &t,
            |p, t| {
                oracle::binary_focal(p.into(), t.into(), a64, gamma.into(), lo.into(), hi.into())
            },
        ));
    }
    println!("focal reductions over 10^6 elements: worst relative error {worst:.3e}");
}

/// The oracle's overlap sums and loss for an [`OverlapLoss`] configuration.
struct OverlapCase {
    name: &'static str,
    loss: OverlapLoss,
    exact: fn(&oracle::OverlapSums) -> f64,
}

fn overlap_cases(predictions: Predictions) -> Vec<OverlapCase> {
    let with = |l: OverlapLoss| l.with_predictions(predictions);
    vec![
        OverlapCase {
            name: "dice (MONAI defaults)",
            loss: with(OverlapLoss::dice()),
            exact: |s| oracle::dice_loss(s, f64::from(1e-5f32), f64::from(1e-5f32)),
        },
        OverlapCase {
            name: "dice squared",
            loss: with(OverlapLoss::dice().with_squared(true).expect("valid")),
            exact: |s| oracle::dice_loss(s, f64::from(1e-5f32), f64::from(1e-5f32)),
        },
        OverlapCase {
            name: "dice smooth 0 / 1e-7 (Keras)",
            loss: with(
                OverlapLoss::dice()
                    .with_smoothing(0.0, 1e-7)
                    .expect("valid"),
            ),
            exact: |s| oracle::dice_loss(s, 0.0, f64::from(1e-7f32)),
        },
        OverlapCase {
            name: "seed torch dice (2, 1)",
            loss: with(OverlapLoss::seed_torch_dice()),
            exact: |s| oracle::dice_loss(s, 2.0, 1.0),
        },
        OverlapCase {
            name: "jaccard",
            loss: with(OverlapLoss::jaccard()),
            exact: |s| oracle::jaccard_loss(s, f64::from(1e-5f32), f64::from(1e-5f32)),
        },
        OverlapCase {
            name: "jaccard squared",
            loss: with(OverlapLoss::jaccard().with_squared(true).expect("valid")),
            exact: |s| oracle::jaccard_loss(s, f64::from(1e-5f32), f64::from(1e-5f32)),
        },
        OverlapCase {
            name: "tversky 0.3 / 0.7",
            loss: with(OverlapLoss::tversky(0.3, 0.7).expect("valid")),
            exact: |s| {
                oracle::tversky_loss(
                    s,
                    f64::from(0.3f32),
                    f64::from(0.7f32),
                    f64::from(1e-5f32),
                    f64::from(1e-5f32),
                )
            },
        },
        OverlapCase {
            name: "tversky 0.5 / 0.5, smooth 1",
            loss: with(
                OverlapLoss::tversky(0.5, 0.5)
                    .and_then(|l| l.with_smoothing(1.0, 1.0))
                    .expect("valid"),
            ),
            exact: |s| oracle::tversky_loss(s, 0.5, 0.5, 1.0, 1.0),
        },
    ]
}

fn exact_probability(p: f32, kind: Predictions) -> f64 {
    match kind {
        Predictions::Probabilities => p.into(),
        Predictions::Logits => oracle::sigmoid(p.into()),
    }
}

fn stats_error(s: &OverlapStats, e: &oracle::OverlapSums) -> f64 {
    rel_error(s.intersection, e.intersection)
        .max(rel_error(s.prediction_sum, e.prediction_sum))
        .max(rel_error(s.target_sum, e.target_sum))
}

/// The 10^6-element rule for the dice family: the statistics (sums) and the loss within `1e-6`
/// relative of the oracle, probabilities and logits, hard and soft targets.
#[test]
fn overlap_losses_over_a_million_elements() {
    let t = random_targets(12);
    let mut worst_stats: f64 = 0.0;
    let mut worst_loss: f64 = 0.0;
    for kind in [Predictions::Probabilities, Predictions::Logits] {
        let p = match kind {
            Predictions::Probabilities => random_probabilities(13),
            Predictions::Logits => random_logits(14),
        };
        let exact_p: Vec<f64> = p.iter().map(|&v| exact_probability(v, kind)).collect();
        for case in overlap_cases(kind) {
            let squared = case.loss.squared();
            let sums = oracle::overlap_sums(
                exact_p.iter().zip(&t).map(|(&p, &t)| (p, f64::from(t))),
                squared,
            );
            let stats = case.loss.stats(&p, &t).expect("valid");
            let loss = case.loss.loss(&p, &t).expect("valid");
            let (es, el) = (
                stats_error(&stats, &sums),
                rel_error(loss, (case.exact)(&sums)),
            );
            println!(
                "{kind:?} {:<30} loss {loss:.7} exact {:.7}  rel err stats {es:.2e} loss {el:.2e}",
                case.name,
                (case.exact)(&sums)
            );
            assert!(es <= REL && el <= REL, "{kind:?} {}", case.name);
            worst_stats = worst_stats.max(es);
            worst_loss = worst_loss.max(el);
        }
    }
    println!(
        "dice family over 10^6 elements: worst relative error stats {worst_stats:.3e}, loss {worst_loss:.3e}"
    );
}

/// Small sets (8 elements) drawn from the sweeps, including `±inf`, `±1e4`, `±88` logits and
/// probabilities 0 and 1. The sums must be within `1e-6` relative of the oracle's; the loss,
/// `1 - score`, within `1e-6` relative of the score: `1 - score` turns the score's rounding into
/// an absolute error, which is the accuracy the statistics carry (docs/numerics.md).
#[test]
fn overlap_losses_small_sweep() {
    let logits = logit_sweep();
    let probabilities = probability_sweep(&[]);
    let mut r = rng(21);
    let (mut worst_stats, mut worst_loss, mut worst_loss_rel): (f64, f64, f64) = (0.0, 0.0, 0.0);
    let mut checked = 0;
    for kind in [Predictions::Probabilities, Predictions::Logits] {
        let pool = match kind {
            Predictions::Probabilities => &probabilities,
            Predictions::Logits => &logits,
        };
        for _ in 0..2000 {
            let p: Vec<f32> = (0..8)
                .map(|_| pool[r.random_range(0..pool.len())])
                .collect();
            let t: Vec<f32> = (0..8)
                .map(|_| TARGETS[r.random_range(0..TARGETS.len())])
                .collect();
            for case in overlap_cases(kind) {
                let sums = oracle::overlap_sums(
                    p.iter()
                        .zip(&t)
                        .map(|(&p, &t)| (exact_probability(p, kind), f64::from(t))),
                    case.loss.squared(),
                );
                let stats = case.loss.stats(&p, &t).expect("valid");
                let loss = case.loss.loss(&p, &t).expect("valid");
                let exact = (case.exact)(&sums);
                let es = stats_error(&stats, &sums);
                let score = 1.0 - exact;
                let el = (f64::from(loss) - exact).abs() / score.abs().max(exact.abs());
                assert!(
                    es <= REL && el <= REL,
                    "{kind:?} {} p={p:?} t={t:?}: loss {loss:e} exact {exact:e} (stats {es:e}, loss {el:e})",
                    case.name
                );
                worst_stats = worst_stats.max(es);
                worst_loss = worst_loss.max(el);
                if exact.abs() >= 1e-6 {
                    worst_loss_rel = worst_loss_rel.max(rel_error(loss, exact));
                }
                checked += 1;
            }
        }
    }
    println!(
        "dice family, {checked} small sets: worst rel err stats {worst_stats:.3e}, loss rel. to max(score, loss) {worst_loss:.3e}, loss rel. to loss (loss >= 1e-6) {worst_loss_rel:.3e}"
    );
}
