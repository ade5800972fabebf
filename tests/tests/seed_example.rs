//! The seed article's worked example (its section 3): 100,000 easy negatives with `p_t = 0.95`
//! and 10 hard positives with `p_t = 0.05`, alpha 0.25, gamma 2.
//!
//! The example is stated in probabilities, so it runs through [`BinaryFocal::seed`], the
//! article's own class: its clamp `[1e-3, 0.999]` does not bind at 0.05 / 0.95. `p_t = 0.95`
//! for a negative means a predicted positive probability of 0.05, so every element has
//! `p = 0.05`. [`SigmoidFocal`] with the logit `ln(0.05 / 0.95)` must agree (a cross-check of
//! the logit path). The shares do not depend on the log base; the article's totals use log10.

use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::{ElementLoss, Reduction};

const NEGATIVES: usize = 100_000;
const POSITIVES: usize = 10;

/// Sums of the positives', the negatives' and all elements' losses.
fn sums<L: ElementLoss>(loss: L, prediction: f32) -> (f64, f64, f64) {
    let p = vec![prediction; NEGATIVES + POSITIVES];
    let mut t = vec![0.0f32; NEGATIVES];
    t.extend([1.0; POSITIVES]);
    let sum = |p: &[f32], t: &[f32]| {
        f64::from(
            loss.with_reduction(Reduction::Sum)
                .loss(p, t)
                .expect("valid"),
        )
    };
    (
        sum(&p[NEGATIVES..], &t[NEGATIVES..]),
        sum(&p[..NEGATIVES], &t[..NEGATIVES]),
        sum(&p, &t),
    )
}

fn assert_printed(what: &str, got: f64, want: f64, decimals: i32) {
    let bound = 0.5 * 10f64.powi(-decimals);
    println!("{what}: {got:.7} (article, exact: {want})");
    assert!((got - want).abs() <= bound, "{what}: {got} vs {want}");
}

#[test]
fn seed_worked_example() {
    let focal = BinaryFocal::seed();
    let ce = BinaryFocal::new(None, 0.0, 1e-3, 0.999).expect("valid");
    let (fl_pos, fl_neg, fl_total) = sums(focal, 0.05);
    let (ce_pos, _, ce_total) = sums(ce, 0.05);
    // The one-shot total is the deterministic sum of all elements, not pos + neg.
    assert!(((fl_pos + fl_neg) - fl_total).abs() <= 1e-6 * fl_total);
    assert_printed("positives' share of FL", fl_pos / fl_total, 0.41273, 5);
    assert_printed("positives' share of CE", ce_pos / ce_total, 0.005806, 6);
    assert_printed(
        "FL total, log10",
        fl_total / std::f64::consts::LN_10,
        7.11227,
        5,
    );
    assert_printed("FL total, ln", fl_total, 16.3766, 4);

    // The same through logits: x = ln(0.05 / 0.95) for every element.
    let x = (0.05f64 / 0.95).ln() as f32;
    let (pos, _, total) = sums(SigmoidFocal::torchvision(), x);
    assert_printed("logits: positives' share of FL", pos / total, 0.41273, 5);
    assert_printed(
        "logits: FL total, log10",
        total / std::f64::consts::LN_10,
        7.11227,
        5,
    );
}
