//! loss-core's binary losses on arbitrary parameters, predictions and targets (any f32 bits,
//! or hard 0/1 masks): a value or an `Error`, never a panic. Invariants checked on the way:
//! an accumulator that returns `Err` is unchanged; with finite, moderate inputs (probabilities
//! inside `(0, 1)`) and valid parameters a loss is finite; a NaN prediction makes the loss
//! NaN (it propagates).
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal, SoftTargets};
use loss_core::{Predictions, Reduction};

#[derive(Debug, Arbitrary)]
struct Input {
    alpha: Option<f32>,
    gamma: f32,
    clamp: (f32, f32),
    smoothing: (f32, f32),
    tversky: (f32, f32),
    floor: f32,
    kind: u8,
    soft: u8,
    sum: bool,
    squared: bool,
    logits: bool,
    hard: bool,
    samples: u8,
    split: u8,
    out_len: u8,
    predictions: Vec<f32>,
    targets: Vec<f32>,
}

/// Finite values of moderate size, for which a loss must be finite.
fn moderate(v: &[f32], lo: f32, hi: f32) -> bool {
    v.iter().all(|x| (lo..=hi).contains(x))
}

/// Runs every path of an element loss (inherent methods, so a macro).
macro_rules! element_paths {
    ($loss:expr, $input:expr, $x:expr, $t:expr, $valid:expr) => {{
        let (loss, input, x, t) = ($loss, $input, $x, $t);
        let r = loss.loss(x, t);
        if let Ok(v) = r {
            if $valid {
                assert!(v.is_finite(), "{v} from valid input");
            }
            if x.iter().any(|p| p.is_nan()) {
                assert!(v.is_nan(), "{v}: NaN did not propagate");
            }
        }
        let mut out = vec![0.0f32; usize::from(input.out_len)];
        let _ = loss.loss_elementwise(x, t, &mut out);
        let _ = loss.loss_per_sample(x, t, usize::from(input.samples), &mut out);
        let mut acc = loss.accumulator();
        let k = usize::from(input.split).min(x.len()).min(t.len());
        for (a, b) in [(&x[..k], &t[..k]), (&x[k..], &t[k..]), (x, &t[..k])] {
            let before = format!("{acc:?}");
            if acc.push(a, b).is_err() {
                assert_eq!(
                    format!("{acc:?}"),
                    before,
                    "a failed push changed the accumulator"
                );
            }
        }
        let _ = (acc.count(), acc.finish());
        acc.reset();
        assert!(acc.finish().is_err());
    }};
}

fuzz_target!(|input: Input| {
    let x = &input.predictions[..];
    let hard: Vec<f32>;
    let t = if input.hard {
        hard = input
            .targets
            .iter()
            .map(|v| f32::from(u8::from(v.is_sign_negative())))
            .collect();
        &hard[..]
    } else {
        &input.targets[..]
    };
    let reduction = if input.sum {
        Reduction::Sum
    } else {
        Reduction::Mean
    };
    let soft = match input.soft % 4 {
        0 => SoftTargets::Torchvision,
        1 => SoftTargets::Monai,
        2 => SoftTargets::Kornia,
        _ => SoftTargets::Smp,
    };
    let targets_ok = moderate(t, 0.0, 1.0);
    let params_ok = input.gamma.is_finite() && input.gamma <= 8.0;
    match input.kind % 3 {
        0 => {
            if let Ok(l) = SigmoidFocal::new(input.alpha, input.gamma) {
                let l = l.with_soft_targets(soft).with_reduction(reduction);
                let valid = params_ok && targets_ok && moderate(x, -1e3, 1e3);
                element_paths!(l, &input, x, t, valid);
            }
        }
        1 => {
            let made = BinaryFocal::new(input.alpha, input.gamma, input.clamp.0, input.clamp.1)
                .and_then(|l| l.with_soft_targets(soft));
            if let Ok(l) = made {
                let l = l.with_reduction(reduction);
                // A probability of exactly 0 or 1 against the other target is an infinite
                // loss when the clamp allows it (clamp 0..1): the formula's value, not a bug.
                let valid = params_ok && targets_ok && moderate(x, 1e-6, 1.0 - 1e-6);
                element_paths!(l, &input, x, t, valid);
            }
        }
        _ => {
            let base = match input.soft % 3 {
                0 => Ok(OverlapLoss::dice()),
                1 => Ok(OverlapLoss::jaccard()),
                _ => OverlapLoss::tversky(input.tversky.0, input.tversky.1),
            };
            let Ok(l) = base
                .and_then(|l| l.with_smoothing(input.smoothing.0, input.smoothing.1))
                .and_then(|l| l.with_squared(input.squared))
                .and_then(|l| l.with_denominator_floor(input.floor))
            else {
                return;
            };
            let l = l.with_predictions(if input.logits {
                Predictions::Logits
            } else {
                Predictions::Probabilities
            });
            if let Ok(v) = l.loss(x, t)
                && x.iter().chain(t).any(|p| p.is_nan())
            {
                assert!(v.is_nan(), "{v}: NaN did not propagate");
            }
            if let Ok(s) = l.stats(x, t) {
                let _ = (l.score(&s), l.loss_from(&s));
            }
            let mut out = vec![0.0f32; usize::from(input.out_len)];
            let _ = l.loss_per_sample(x, t, usize::from(input.samples), &mut out);
            let mut acc = l.accumulator();
            let k = usize::from(input.split).min(x.len()).min(t.len());
            for (a, b) in [(&x[..k], &t[..k]), (&x[k..], &t[k..]), (x, &t[..k])] {
                let before = format!("{acc:?}");
                if acc.push(a, b).is_err() {
                    assert_eq!(
                        format!("{acc:?}"),
                        before,
                        "a failed push changed the accumulator"
                    );
                }
            }
            let _ = (acc.count(), acc.stats(), acc.finish());
        }
    }
});
