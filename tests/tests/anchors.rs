//! Published values: the binary cases of `tests/data/anchor-cases.json` (literal expectations
//! from the frameworks' own tests, each checked within its upstream tolerance), the torchvision
//! reference values and the frameworks' published comparison values.

use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::{Predictions, Reduction};
use serde_json::Value;

const CASES: &str = include_str!("../data/anchor-cases.json");

/// Cases this binary API does not express, with the reason. Everything else must be checked.
const SKIPPED: [(u64, &str); 15] = [
    (
        2,
        "MONAI soft_label=True (L1-norm intersection) is not an option of OverlapLoss",
    ),
    (
        4,
        "include_background=False with one-hot index targets: covered by the multi-class tests",
    ),
    (6, "softmax dice: covered by the multi-class tests"),
    (
        9,
        "other_act=tanh gives predictions outside [0, 1]: covered by the multi-class tests",
    ),
    (
        10,
        "other_act=tanh gives predictions outside [0, 1]: covered by the multi-class tests",
    ),
    (11, "generalized dice: covered by the multi-class tests"),
    (12, "generalized dice: covered by the multi-class tests"),
    (
        13,
        "generalized dice with softmax: covered by the multi-class tests",
    ),
    (
        18,
        "per-class focal weights: covered by the multi-class tests",
    ),
    (19, "softmax focal: covered by the multi-class tests"),
    (
        20,
        "DiceCE with softmax cross-entropy: covered by the multi-class tests",
    ),
    (24, "categorical focal: covered by the multi-class tests"),
    (
        28,
        "kornia softmax dice with ignore_index: covered by the multi-class tests",
    ),
    (
        29,
        "SMP masks classes with an empty target to loss 0: no such policy in OverlapLoss",
    ),
    (
        30,
        "SMP ignore_index keeps ignored elements in the mean's denominator: not in the API",
    ),
];

fn cases() -> Vec<Value> {
    let v: Value = serde_json::from_str(CASES).expect("anchor-cases.json parses");
    v["cases"].as_array().expect("cases array").clone()
}

fn case(id: u64) -> Value {
    cases()
        .into_iter()
        .find(|c| c["id"].as_u64() == Some(id))
        .unwrap_or_else(|| panic!("case {id} missing"))
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().expect("number") as f32],
        other => panic!("not numeric: {other}"),
    }
}

fn f(v: &Value) -> f32 {
    v.as_f64().expect("number") as f32
}

/// `|got - want| <= atol + rtol |want|` (numpy's `assert_allclose` rule).
fn assert_close(id: u64, got: f32, want: f64, rtol: f64, atol: f64) {
    let err = (f64::from(got) - want).abs();
    let bound = atol + rtol * want.abs();
    println!("case {id:>2}: got {got:.8} expected {want:.8} |diff| {err:.2e} (bound {bound:.2e})");
    assert!(
        err <= bound,
        "case {id}: {got} vs {want}, |diff| {err:e} > {bound:e}"
    );
}

/// One-hot of MONAI index targets for `classes` channels, laid out channel after channel:
/// `(B, 1, N)` labels → `(B, C, N)`.
fn one_hot(labels: &[f32], batch: usize, classes: usize) -> Vec<f32> {
    let n = labels.len() / batch;
    let mut out = Vec::with_capacity(batch * classes * n);
    for b in labels.chunks(n) {
        for c in 0..classes {
            out.extend(b.iter().map(|&l| if l == c as f32 { 1.0 } else { 0.0 }));
        }
    }
    out
}

#[test]
fn every_case_is_checked_or_skipped_by_id() {
    let checked = [1u64, 3, 5, 7, 8, 14, 15, 16, 17, 21, 22, 23, 25, 26, 27];
    for c in cases() {
        let id = c["id"].as_u64().expect("id");
        let skipped = SKIPPED.iter().any(|&(s, _)| s == id);
        assert!(
            checked.contains(&id) != skipped,
            "case {id} must be either checked or skipped with a reason"
        );
    }
}

#[test]
fn monai_dice_family_one_channel() {
    let s = |c: &Value, k: &str| f(&c["params"][k]);
    // 1: DiceLoss(sigmoid=True, smooth 1e-6) on one (1, 1, 2, 2) sample.
    let c = case(1);
    let l = OverlapLoss::dice()
        .with_smoothing(s(&c, "smooth_nr"), s(&c, "smooth_dr"))
        .expect("valid")
        .with_predictions(Predictions::Logits);
    let got = l
        .loss(
            &floats(&c["inputs"]["input"]),
            &floats(&c["inputs"]["target"]),
        )
        .expect("valid");
    assert_close(1, got, 0.307576, 1e-5, 0.0);
    // 3: probabilities, two samples, per-sample dice then mean.
    let c = case(3);
    let l = OverlapLoss::dice()
        .with_smoothing(s(&c, "smooth_nr"), s(&c, "smooth_dr"))
        .expect("valid");
    let mut per = [0.0; 2];
    l.loss_per_sample(
        &floats(&c["inputs"]["input"]),
        &floats(&c["inputs"]["target"]),
        2,
        &mut per,
    )
    .expect("valid");
    let got = Reduction::Mean.reduce(&per).expect("valid");
    assert_close(3, got, 0.307773, 1e-5, 0.0);
    // 7: squared_pred, 8: jaccard, both sigmoid with MONAI's default smoothing.
    let (x, t) = (
        floats(&case(7)["inputs"]["input"]),
        floats(&case(7)["inputs"]["target"]),
    );
    let sq = OverlapLoss::dice()
        .with_squared(true)
        .expect("valid")
        .with_predictions(Predictions::Logits);
    assert_close(7, sq.loss(&x, &t).expect("valid"), 0.178337, 1e-5, 0.0);
    let jac = OverlapLoss::jaccard().with_predictions(Predictions::Logits);
    let c = case(8);
    let (x, t) = (
        floats(&c["inputs"]["input"]),
        floats(&c["inputs"]["target"]),
    );
    assert_close(8, jac.loss(&x, &t).expect("valid"), 0.470451, 1e-5, 0.0);
    // 14: Tversky alpha 0.3 (FP), beta 0.7 (FN), smooth 1e-6, rtol 1e-4.
    let c = case(14);
    let l = OverlapLoss::tversky(s(&c, "alpha"), s(&c, "beta"))
        .and_then(|l| l.with_smoothing(s(&c, "smooth_nr"), s(&c, "smooth_dr")))
        .expect("valid")
        .with_predictions(Predictions::Logits);
    let (x, t) = (
        floats(&c["inputs"]["input"]),
        floats(&c["inputs"]["target"]),
    );
    assert_close(14, l.loss(&x, &t).expect("valid"), 0.3589, 1e-4, 0.0);
}

/// 5: sigmoid dice per (batch, channel) with one-hot targets, `reduction="none"`: each
/// (b, c) pair is a one-channel dice, so `loss_per_sample` over the (B, C, N) layout gives the
/// four values. The one-hot is the test's; the loss is loss-core's.
#[test]
fn monai_dice_per_channel_sigmoid() {
    let c = case(5);
    let x = floats(&c["inputs"]["input"]);
    let t = one_hot(&floats(&c["inputs"]["target"]), 2, 2);
    let l = OverlapLoss::dice()
        .with_smoothing(1e-4, 1e-4)
        .expect("valid")
        .with_predictions(Predictions::Logits);
    let mut out = [0.0; 4];
    l.loss_per_sample(&x, &t, 4, &mut out).expect("valid");
    for (got, want) in out.iter().zip(floats(&c["expected"])) {
        assert_close(5, *got, want.into(), 1e-5, 0.0);
    }
}

/// 15-17: MONAI's sigmoid `FocalLoss` with one-hot targets is elementwise one-vs-rest binary
/// focal over all B·C·H·W elements (mean), MONAI soft-target form (targets are hard here).
#[test]
fn monai_sigmoid_focal_one_vs_rest() {
    let c = case(15);
    let x = floats(&c["inputs"]["input"]);
    let t = one_hot(&floats(&c["inputs"]["target"]), 1, 3);
    let fl = |alpha| {
        SigmoidFocal::new(alpha, 2.0)
            .expect("valid")
            .with_soft_targets(SoftTargets::Monai)
    };
    let got = fl(None).loss(&x, &t).expect("valid");
    assert_close(15, got, 0.34959, 1e-4, 1e-4);
    // 16: include_background=False drops channel 0 (the first 4 elements).
    let got = fl(None).loss(&x[4..], &t[4..]).expect("valid");
    assert_close(16, got, 0.36498, 1e-4, 1e-4);
    let got = fl(Some(0.8)).loss(&x, &t).expect("valid");
    assert_close(17, got, 0.08423, 1e-4, 1e-4);
}

#[test]
fn keras_binary_focal_crossentropy() {
    // 21: probabilities, gamma 2, no balancing; `assertAlmostEqual(places=3)`.
    let c = case(21);
    let (p, t) = (
        floats(&c["inputs"]["y_pred"]),
        floats(&c["inputs"]["y_true"]),
    );
    let got = BinaryFocal::keras(None, 2.0)
        .expect("valid")
        .loss(&p, &t)
        .expect("valid");
    assert_close(21, got, 0.268, 0.0, 5e-4);
    // 22: logits, gamma 3. Keras clips sigmoid(x) to [1e-7, 1 - 1e-7] in the cross-entropy;
    // with |x| <= 4.5 the clip is inactive, so the stable logit form is the same loss.
    let c = case(22);
    let (x, t) = (
        floats(&c["inputs"]["y_pred"]),
        floats(&c["inputs"]["y_true"]),
    );
    let got = SigmoidFocal::new(None, 3.0)
        .expect("valid")
        .loss(&x, &t)
        .expect("valid");
    assert_close(22, got, 0.799, 0.0, 5e-4);
    // 23: docstring, class balancing alpha 0.25, printed to two decimals. The clip changes the
    // x = -18.6 and x = -12.8 negatives' CE, but their focal factor p^2 < 1e-10 hides it.
    let c = case(23);
    let (x, t) = (
        floats(&c["inputs"]["y_pred"]),
        floats(&c["inputs"]["y_true"]),
    );
    let got = SigmoidFocal::torchvision().loss(&x, &t).expect("valid");
    assert_close(23, got, 0.51, 0.0, 5e-3);
}

#[test]
fn keras_dice() {
    // 25: axis=None, one global dice, `1 - 2I / (Σt + Σp + 1e-7)`.
    let c = case(25);
    let (p, t) = (
        floats(&c["inputs"]["y_pred"]),
        floats(&c["inputs"]["y_true"]),
    );
    let l = OverlapLoss::dice()
        .with_smoothing(0.0, 1e-7)
        .expect("valid");
    assert_close(25, l.loss(&p, &t).expect("valid"), 0.77777773, 1e-6, 1e-6);
    // 26: per sample over axes (1, 2, 3).
    let c = case(26);
    let (p, t) = (
        floats(&c["inputs"]["y_pred"]),
        floats(&c["inputs"]["y_true"]),
    );
    let mut out = [0.0; 2];
    l.loss_per_sample(&p, &t, 2, &mut out).expect("valid");
    for (got, want) in out.iter().zip(floats(&c["expected"])) {
        assert_close(26, *got, want.into(), 1e-6, 1e-6);
    }
}

/// 27: kornia `binary_focal_loss_with_logits` at |x| = 100 is finite and 0 (kornia#2115).
/// kornia's float32 `assert_close` default: rtol 1.3e-6, atol 1e-5.
#[test]
fn kornia_binary_focal_stability() {
    let c = case(27);
    let (x, t) = (floats(&c["inputs"]["pred"]), floats(&c["inputs"]["target"]));
    let mut out = [f32::NAN; 2];
    SigmoidFocal::torchvision()
        .with_soft_targets(SoftTargets::Kornia)
        .loss_elementwise(&x, &t, &mut out)
        .expect("valid");
    for (got, want) in out.iter().zip(floats(&c["expected"])) {
        assert_close(27, *got, want.into(), 1.3e-6, 1e-5);
    }
}

/// Values printed to a fixed number of decimals match within half a unit of the last one plus
/// the f32 rule (1e-6 relative).
fn assert_printed(what: &str, got: f32, want: f64, decimals: i32) {
    let bound = 0.5 * 10f64.powi(-decimals) + 1e-6 * want.abs();
    let err = (f64::from(got) - want).abs();
    assert!(
        err <= bound,
        "{what}: {got} vs {want} (|diff| {err:e} > {bound:e})"
    );
}

/// torchvision's reference values: logits [-2, -0.5, 0, 0.5, 2, 4], targets [0, 1, 1, 0, 1, 0], torchvision
/// alpha 0.25 gamma 2: none / mean / sum, and alpha off gamma 0 = BCE.
#[test]
fn torchvision_reference_values() {
    let x = [-2.0, -0.5, 0.0, 0.5, 2.0, 4.0];
    let t = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
    let fl = SigmoidFocal::torchvision();
    let mut none = [0.0; 6];
    fl.loss_elementwise(&x, &t, &mut none).expect("valid");
    let want = [
        0.0013527, 0.0943529, 0.0433217, 0.2830587, 0.0004509, 2.9061804,
    ];
    for (got, want) in none.iter().zip(want) {
        assert_printed("none", *got, want, 7);
    }
    let mean = fl.loss(&x, &t).expect("valid");
    assert_printed("mean", mean, 0.5547862152, 10);
    let sum = fl
        .with_reduction(Reduction::Sum)
        .loss(&x, &t)
        .expect("valid");
    assert_printed("sum", sum, 3.3287172909, 10);
    let bce = SigmoidFocal::new(None, 0.0)
        .expect("valid")
        .loss(&x, &t)
        .expect("valid");
    assert_printed("bce", bce, 1.1522178498, 10);
}

/// soft targets (gamma 2, no alpha) in the three forms, large logits
/// (alpha 0.25, gamma 2), and empty masks for MONAI dice and Tversky.
#[test]
fn semantics_comparison_tables() {
    let forms = [
        SoftTargets::Torchvision,
        SoftTargets::Monai,
        SoftTargets::Kornia,
    ];
    for (x, t, want) in [
        (2.0f32, 0.3f32, [0.649738, 0.726917, 1.155596]),
        (-1.0, 0.7, [0.355620, 0.363180, 0.498105]),
        (0.5, 0.5, [0.181019, 0.181019, 0.222493]),
    ] {
        for (form, w) in forms.into_iter().zip(want) {
            let fl = SigmoidFocal::new(None, 2.0)
                .expect("valid")
                .with_soft_targets(form);
            let got = fl
                .with_reduction(Reduction::Sum)
                .loss(&[x], &[t])
                .expect("valid");
            assert_printed(&format!("{form:?} x={x} t={t}"), got, w, 6);
        }
    }
    // Large logits: torchvision, MONAI (1.3e-131 is 0 in f32) and kornia columns.
    for (x, t, want) in [
        (100.0f32, 1.0f32, 0.0),
        (-100.0, 1.0, 25.0),
        (20.0, 0.0, 15.0),
        (0.0, 1.0, 0.0433217),
    ] {
        for form in forms {
            let got = SigmoidFocal::torchvision()
                .with_soft_targets(form)
                .with_reduction(Reduction::Sum)
                .loss(&[x], &[t])
                .expect("valid");
            assert_printed(&format!("{form:?} x={x} t={t}"), got, want, 7);
        }
    }
    // Empty masks, 2x2, probabilities: MONAI Dice (1e-5/1e-5) and Tversky.
    let zero = [0.0f32; 4];
    let one = [1.0f32; 4];
    let dice = OverlapLoss::dice();
    let tversky = OverlapLoss::tversky(0.5, 0.5).expect("valid");
    assert_eq!(dice.loss(&zero, &zero), Ok(0.0));
    assert_eq!(tversky.loss(&zero, &zero), Ok(0.0));
    assert_printed(
        "dice, target 0, pred 1",
        dice.loss(&one, &zero).expect("valid"),
        0.9999975,
        7,
    );
    assert_printed(
        "tversky, target 0, pred 1",
        tversky.loss(&one, &zero).expect("valid"),
        0.999995,
        6,
    );
}
