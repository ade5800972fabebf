//! f64 reference implementations: the oracle `loss-core` is tested against.
//!
//! Each function is the textbook formula evaluated in f64, with only the care f64 itself needs
//! to be right: `1 - sigmoid(x)` is taken as `sigmoid(-x)` (the subtraction would cancel),
//! `log(1 - p)` as `ln_1p(-p)`, `softplus` in the `max(x, 0) + ln_1p(exp(-|x|))` form, and
//! infinite logits are mapped to the limit of the formula. Nothing is tuned to match f32
//! results. An f32 input converted to f64 is exact, and products of two f32 values are exact in
//! f64, so the oracle's own error (about `1e-15` relative) is far below the tolerances tested.
//!
//! A weighted term whose weight is exactly zero is absent (contributes `0`), even where the
//! term itself is infinite: the loss is `0` for every finite input there, so `0` is also its
//! limit. Example: `alpha = 1` gives negatives weight zero, so `x = +inf, t = 0` has loss `0`.
//!
//! Sources: Lin et al. 2017 (focal loss, <https://arxiv.org/abs/1708.02002>); torchvision
//! `ops/focal_loss.py`, MONAI `losses/focal_loss.py` line 244 and kornia
//! `losses/focal.py` line 277 for the three soft-target forms; MONAI `losses/dice.py`
//! lines 195-196 and `losses/tversky.py` line 155 for the overlap losses; the seed article's
//! `FocalLoss` for the clamped probability form. See `loss_core::focal` and `loss_core::dice`.
//!
//! The multi-class losses and metrics have their oracle in [`multiclass`].

pub mod grad;
pub mod multiclass;

use loss_core::focal::SoftTargets;

/// `1 / (1 + exp(-x))`, with the `exp(x) / (1 + exp(x))` branch for `x < 0` so that tiny
/// results keep their relative accuracy.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `softplus(x) = log(1 + exp(x)) = max(x, 0) + ln_1p(exp(-|x|))`, so that `-log sigmoid(x) =
/// softplus(-x)` and `-log(1 - sigmoid(x)) = softplus(x)`. Exact at `±inf`.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `weight * term`, with a zero weight removing the term even if it is infinite (see the module
/// docs). NaN still propagates.
pub fn weighted(weight: f64, term: f64) -> f64 {
    if weight == 0.0 && term.is_infinite() {
        0.0
    } else {
        weight * term
    }
}

/// Binary cross-entropy with logits, `-t log sigmoid(x) - (1 - t) log(1 - sigmoid(x))
/// = t softplus(-x) + (1 - t) softplus(x)`, which is PyTorch's
/// `max(x, 0) - x t + ln_1p(exp(-|x|))` written without its `inf - inf` at infinite `x`.
pub fn bce_with_logits(x: f64, t: f64) -> f64 {
    weighted(t, softplus(-x)) + weighted(1.0 - t, softplus(x))
}

/// Binary cross-entropy from a probability, `-t ln p - (1 - t) ln(1 - p)` (no clamp; a term
/// with weight zero is absent, so `p = 0, t = 0` gives `0`).
pub fn bce(p: f64, t: f64) -> f64 {
    weighted(t, -p.ln()) + weighted(1.0 - t, -(-p).ln_1p())
}

/// Binary focal loss from a logit, torchvision semantics for hard targets
/// (`alpha_t (1 - p_t)^gamma BCE(x, t)`), with one of the three soft-target forms:
///
/// - `Torchvision`: `alpha_t (p (1 - t) + (1 - p) t)^gamma BCE(x, t)` (torchvision, Keras);
/// - `Monai`: `alpha_t sigmoid(-x (2t - 1))^gamma BCE(x, t)` (MONAI `FocalLoss`);
/// - `Kornia`: `alpha t (1 - p)^gamma (-log p) + (1 - alpha)(1 - t) p^gamma (-log(1 - p))`
///   (kornia `binary_focal_loss_with_logits`);
/// - `Smp`: `alpha_t (1 - exp(-BCE))^gamma BCE(x, t)` (segmentation_models_pytorch),
///
/// with `p = sigmoid(x)`, `alpha_t = alpha t + (1 - alpha)(1 - t)` and `alpha = None` meaning
/// no weighting. `0^0 = 1`.
pub fn sigmoid_focal(x: f64, t: f64, alpha: Option<f64>, gamma: f64, soft: SoftTargets) -> f64 {
    let (a_pos, a_neg) = alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    let alpha_t = a_pos * t + a_neg * (1.0 - t);
    let (p, not_p) = (sigmoid(x), sigmoid(-x));
    match soft {
        SoftTargets::Torchvision => {
            let q = p * (1.0 - t) + not_p * t;
            weighted(alpha_t, q.powf(gamma) * bce_with_logits(x, t))
        }
        SoftTargets::Monai => {
            let z = -x * (2.0 * t - 1.0);
            // `-inf * 0` is NaN; the factor is sigmoid(0) for every x when t = 1/2.
            let q = if 2.0 * t - 1.0 == 0.0 {
                0.5
            } else {
                sigmoid(z)
            };
            // At x = ±inf with q = 0 the factor decays exponentially and BCE grows linearly:
            // the limit is 0.
            weighted(alpha_t, weighted(q.powf(gamma), bce_with_logits(x, t)))
        }
        SoftTargets::Smp => {
            // segmentation_models_pytorch: (1 - exp(-CE))^gamma CE, expm1 for small CE.
            let ce = bce_with_logits(x, t);
            weighted(alpha_t, (-(-ce).exp_m1()).powf(gamma) * ce)
        }
        SoftTargets::Kornia => {
            let pos = not_p.powf(gamma) * softplus(-x);
            let neg = p.powf(gamma) * softplus(x);
            weighted(a_pos * t, pos) + weighted(a_neg * (1.0 - t), neg)
        }
    }
}

/// Binary focal loss from a probability clamped to `[clamp_min, clamp_max]` (the seed article's
/// `FocalLoss`): `alpha t (1 - p)^gamma (-ln p) + (1 - alpha)(1 - t) p^gamma (-ln(1 - p))`,
/// `alpha = None` meaning weight 1 on both terms.
pub fn binary_focal(
    p: f64,
    t: f64,
    alpha: Option<f64>,
    gamma: f64,
    clamp_min: f64,
    clamp_max: f64,
) -> f64 {
    let p = p.clamp(clamp_min, clamp_max);
    let (a_pos, a_neg) = alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    let pos = (1.0 - p).powf(gamma) * -p.ln();
    let neg = p.powf(gamma) * -(-p).ln_1p();
    weighted(a_pos * t, pos) + weighted(a_neg * (1.0 - t), neg)
}

/// The soft overlap sums of one channel, in f64.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OverlapSums {
    /// `tp = Σ p t`.
    pub intersection: f64,
    /// `Σ p`, or `Σ p²` when squared.
    pub prediction_sum: f64,
    /// `Σ t`, or `Σ t²` when squared.
    pub target_sum: f64,
    /// `fp = Σ p (1 - t)` (MONAI's Tversky form; equals `Σ p - tp`).
    pub false_positive: f64,
    /// `fn = Σ (1 - p) t` (equals `Σ t - tp`).
    pub false_negative: f64,
}

/// The overlap sums of `(prediction, target)` pairs (probabilities), summed in f64 in order.
pub fn overlap_sums(pairs: impl IntoIterator<Item = (f64, f64)>, squared: bool) -> OverlapSums {
    let mut s = OverlapSums::default();
    for (p, t) in pairs {
        s.intersection += p * t;
        s.prediction_sum += if squared { p * p } else { p };
        s.target_sum += if squared { t * t } else { t };
        s.false_positive += p * (1.0 - t);
        s.false_negative += (1.0 - p) * t;
    }
    s
}

/// Dice loss, `1 - (2 tp + smooth_nr) / (Σp + Σt + smooth_dr)` (Milletari et al. 2016; MONAI
/// `DiceLoss`).
pub fn dice_loss(s: &OverlapSums, smooth_nr: f64, smooth_dr: f64) -> f64 {
    1.0 - (2.0 * s.intersection + smooth_nr) / (s.prediction_sum + s.target_sum + smooth_dr)
}

/// Jaccard loss in MONAI's form (`DiceLoss(jaccard=True)`, smoothing not halved):
/// `1 - (2 tp + smooth_nr) / (2 (Σp + Σt - tp) + smooth_dr)`.
pub fn jaccard_loss(s: &OverlapSums, smooth_nr: f64, smooth_dr: f64) -> f64 {
    let union = s.prediction_sum + s.target_sum - s.intersection;
    1.0 - (2.0 * s.intersection + smooth_nr) / (2.0 * union + smooth_dr)
}

/// Tversky loss (Salehi et al. 2017; MONAI `TverskyLoss`):
/// `1 - (tp + smooth_nr) / (tp + alpha fp + beta fn + smooth_dr)`, `alpha` weighting false
/// positives and `beta` false negatives.
pub fn tversky_loss(s: &OverlapSums, alpha: f64, beta: f64, smooth_nr: f64, smooth_dr: f64) -> f64 {
    let tp = s.intersection;
    1.0 - (tp + smooth_nr) / (tp + alpha * s.false_positive + beta * s.false_negative + smooth_dr)
}

/// The plain f64 sum, in order. For `n` terms of one sign its relative error is below
/// `n * 2^-53` (about `1.1e-10` for a million terms), far below every tolerance tested.
pub fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().sum()
}

/// The f64 mean, or `None` for no values.
pub fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (total, n) = values
        .into_iter()
        .fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| total / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// torchvision reference values (computed independently in f64).
    #[test]
    fn torchvision_reference_values() {
        let x = [-2.0, -0.5, 0.0, 0.5, 2.0, 4.0];
        let t = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let want = [
            0.0013527, 0.0943529, 0.0433217, 0.2830587, 0.0004509, 2.9061804,
        ];
        for ((&x, &t), &w) in x.iter().zip(&t).zip(&want) {
            let v = sigmoid_focal(x, t, Some(0.25), 2.0, SoftTargets::Torchvision);
            assert!((v - w).abs() < 1e-7, "{x} {t}: {v} vs {w}");
        }
        let bce = mean(x.iter().zip(&t).map(|(&x, &t)| bce_with_logits(x, t)));
        assert!((bce.unwrap_or(f64::NAN) - 1.152_217_849_8).abs() < 1e-9);
    }

    #[test]
    fn limits_and_zero_weights() {
        assert_eq!(bce_with_logits(f64::INFINITY, 1.0), 0.0);
        assert_eq!(bce_with_logits(f64::NEG_INFINITY, 1.0), f64::INFINITY);
        let fl = |x, t, a| sigmoid_focal(x, t, a, 2.0, SoftTargets::Torchvision);
        assert_eq!(fl(f64::INFINITY, 0.0, Some(1.0)), 0.0);
        assert_eq!(fl(f64::NEG_INFINITY, 1.0, Some(0.0)), 0.0);
        assert_eq!(fl(f64::NEG_INFINITY, 1.0, Some(0.25)), f64::INFINITY);
        assert!(fl(f64::NAN, 1.0, Some(0.0)).is_nan());
        assert_eq!(binary_focal(0.0, 0.0, None, 2.0, 0.0, 1.0), 0.0);
        assert_eq!(binary_focal(0.0, 1.0, None, 2.0, 0.0, 1.0), f64::INFINITY);
        assert_eq!(bce(1.0, 1.0), 0.0);
    }

    #[test]
    fn soft_target_table() {
        // the soft-target comparison, gamma 2, no alpha.
        let rows = [
            (2.0, 0.3, [0.649738, 0.726917, 1.155596]),
            (-1.0, 0.7, [0.355620, 0.363180, 0.498105]),
            (0.5, 0.5, [0.181019, 0.181019, 0.222493]),
        ];
        let forms = [
            SoftTargets::Torchvision,
            SoftTargets::Monai,
            SoftTargets::Kornia,
        ];
        for (x, t, want) in rows {
            for (form, w) in forms.into_iter().zip(want) {
                let v = sigmoid_focal(x, t, None, 2.0, form);
                assert!((v - w).abs() < 1e-6, "{form:?} {x} {t}: {v} vs {w}");
            }
        }
    }

    #[test]
    fn overlap_losses() {
        let pairs = [(0.9, 1.0), (0.8, 1.0), (0.1, 0.0), (0.0, 0.0)];
        let s = overlap_sums(pairs, false);
        assert!((dice_loss(&s, 0.0, 0.0) - (1.0 - 3.4 / 3.8)).abs() < 1e-15);
        // Tversky(0.5, 0.5) with smoothing s is dice with smoothing 2s.
        let (d, tv) = (
            dice_loss(&s, 2e-3, 2e-3),
            tversky_loss(&s, 0.5, 0.5, 1e-3, 1e-3),
        );
        assert!((d - tv).abs() < 1e-15);
        assert!((jaccard_loss(&s, 0.0, 0.0) - (1.0 - 1.7 / 2.1)).abs() < 1e-15);
        assert_eq!(mean([]), None);
    }
}
