//! f64 derivatives of the binary losses with respect to the prediction: the oracle
//! `loss_core::gradient` is tested against.
//!
//! Each derivative is the textbook chain rule of the matching loss in [`super`] (product rule
//! on `factor * CE`, `d sigmoid / dx = p (1 - p)`, `d CE / dx = p - t`,
//! `d q^gamma / dq = gamma q^(gamma - 1)`), not the factorised forms `loss-core` evaluates, and
//! is itself checked against central finite differences of the loss oracle in f64
//! ([`central_difference`], the test `tests/tests/gradient.rs`). Where a product is `0 * inf`
//! (an infinite logit, or `q = 0` with `gamma < 1`) the limit is taken, as in [`super`].
//!
//! Each function returns the derivative and its *scale*: the sum of the magnitudes of the
//! terms added, the size of the rounding an f32 evaluation of the sum cannot avoid (where the
//! terms cancel, the derivative is small beside them). The accuracy rule of gradients is
//! relative to `max(|derivative|, scale)` (docs/numerics.md).

use loss_core::focal::SoftTargets;

use super::{bce_with_logits, sigmoid, softplus, weighted};

/// A derivative and the sum of the magnitudes of its terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slope {
    /// The derivative.
    pub value: f64,
    /// `Σ |term|` over the terms added (at least `|value|`).
    pub scale: f64,
}

impl Slope {
    fn of(terms: &[f64]) -> Self {
        Self {
            value: terms.iter().sum(),
            scale: terms.iter().map(|t| t.abs()).sum(),
        }
    }
}

/// `a * b`, 0 when `a` is 0 even if `b` is infinite (the limits of the module docs).
fn times(a: f64, b: f64) -> f64 {
    if a == 0.0 { 0.0 } else { a * b }
}

/// `d/dq q^gamma = gamma q^(gamma - 1)`, 0 for `gamma = 0` (PyTorch's `pow` backward).
pub fn pow_derivative(q: f64, gamma: f64) -> f64 {
    if gamma == 0.0 {
        0.0
    } else {
        gamma * q.powf(gamma - 1.0)
    }
}

/// `d/dx` of [`super::sigmoid_focal`].
pub fn sigmoid_focal(x: f64, t: f64, alpha: Option<f64>, gamma: f64, soft: SoftTargets) -> Slope {
    let (a_pos, a_neg) = alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    let alpha_t = a_pos * t + a_neg * (1.0 - t);
    let (p, not_p) = (sigmoid(x), sigmoid(-x));
    let dp = p * not_p;
    let ce = bce_with_logits(x, t);
    // p - 1 = -sigmoid(-x) without the cancellation.
    let dce = if t == 1.0 { -not_p } else { p - t };
    let hard = t == 0.0 || t == 1.0;
    // The hard targets of every form but kornia's (a sum of separate terms) are the
    // torchvision form's.
    let form = if hard && soft != SoftTargets::Kornia {
        SoftTargets::Torchvision
    } else {
        soft
    };
    match form {
        SoftTargets::Torchvision => {
            let q = p * (1.0 - t) + not_p * t;
            let dq = (1.0 - 2.0 * t) * dp;
            let d_factor = alpha_t * times(times(dq, pow_derivative(q, gamma)), ce);
            let f = alpha_t * q.powf(gamma);
            if hard {
                Slope::of(&[d_factor, f * dce])
            } else {
                // `p - t` as two terms: its f32 rounding is relative to them.
                Slope::of(&[d_factor, f * p, -f * t])
            }
        }
        SoftTargets::Monai => {
            let k = 2.0 * t - 1.0;
            let z = if k == 0.0 { 0.0 } else { -x * k };
            let f = sigmoid(z).powf(gamma);
            let df = -k * gamma * f * sigmoid(-z);
            if f == 0.0 {
                return Slope::of(&[0.0]);
            }
            Slope::of(&[alpha_t * times(df, ce), alpha_t * f * p, -alpha_t * f * t])
        }
        SoftTargets::Smp => {
            // d/dx alpha_t q^gamma CE with q = 1 - exp(-CE): both terms carry dCE/dx = p - t,
            // split into `p` and `-t`.
            let q = -(-ce).exp_m1();
            let k =
                alpha_t * (times(times((-ce).exp(), pow_derivative(q, gamma)), ce) + q.powf(gamma));
            Slope::of(&[k * p, -k * t])
        }
        SoftTargets::Kornia => {
            // alpha t (1 - p)^gamma softplus(-x) + (1 - alpha)(1 - t) p^gamma softplus(x).
            let d_pos = [
                times(times(-dp, pow_derivative(not_p, gamma)), softplus(-x)),
                not_p.powf(gamma) * -not_p,
            ];
            let d_neg = [
                times(times(dp, pow_derivative(p, gamma)), softplus(x)),
                p.powf(gamma) * p,
            ];
            let (w_pos, w_neg) = (a_pos * t, a_neg * (1.0 - t));
            Slope::of(&[
                weighted(w_pos, d_pos[0]),
                weighted(w_pos, d_pos[1]),
                weighted(w_neg, d_neg[0]),
                weighted(w_neg, d_neg[1]),
            ])
        }
    }
}

/// How a probability-input focal loss is configured, for [`binary_focal`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clamped {
    /// Positive-class weight (`None`: unweighted).
    pub alpha: Option<f64>,
    /// Focusing exponent.
    pub gamma: f64,
    /// Lower clamp bound.
    pub min: f64,
    /// Upper clamp bound.
    pub max: f64,
    /// Keras: the clamp applies to the logarithms only.
    pub logs_only: bool,
    /// Soft targets in the torchvision form (`q^gamma CE`) rather than separate terms.
    pub torchvision_form: bool,
}

/// The loss of [`super::binary_focal`], generalised to the Keras clip (logarithms only) and
/// the torchvision form of soft targets, for the finite-difference checks of [`binary_focal`].
pub fn binary_focal_loss(p: f64, t: f64, c: &Clamped) -> f64 {
    let clamped = p.clamp(c.min, c.max);
    let pf = if c.logs_only { p } else { clamped };
    let (a_pos, a_neg) = c.alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    if c.torchvision_form && t != 0.0 && t != 1.0 {
        let q = pf * (1.0 - t) + (1.0 - pf) * t;
        let ce = -(t * clamped.ln() + (1.0 - t) * (-clamped).ln_1p());
        return (a_pos * t + a_neg * (1.0 - t)) * q.powf(c.gamma) * ce;
    }
    let pos = (1.0 - pf).powf(c.gamma) * -clamped.ln();
    let neg = pf.powf(c.gamma) * -(-clamped).ln_1p();
    weighted(a_pos * t, pos) + weighted(a_neg * (1.0 - t), neg)
}

/// `d/dp` of [`binary_focal_loss`], with `torch.clamp`'s backward: the derivative passes where
/// `min <= p <= max` (the bounds included) and is 0 outside.
pub fn binary_focal(p: f64, t: f64, c: &Clamped) -> Slope {
    let inside = c.min <= p && p <= c.max;
    let clamped = p.clamp(c.min, c.max);
    let pf = if c.logs_only { p } else { clamped };
    let d_pf = if c.logs_only || inside { 1.0 } else { 0.0 };
    let d_c = if inside { 1.0 } else { 0.0 };
    let (a_pos, a_neg) = c.alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    if c.torchvision_form && t != 0.0 && t != 1.0 {
        let alpha_t = a_pos * t + a_neg * (1.0 - t);
        let q = pf * (1.0 - t) + (1.0 - pf) * t;
        let ce = -(t * clamped.ln() + (1.0 - t) * (-clamped).ln_1p());
        let f = alpha_t * q.powf(c.gamma);
        return Slope::of(&[
            alpha_t * times(d_pf * (1.0 - 2.0 * t), pow_derivative(q, c.gamma)) * ce,
            f * times(d_c, -t / clamped),
            f * times(d_c, (1.0 - t) / (1.0 - clamped)),
        ]);
    }
    // -(1 - pf)^gamma ln c and -pf^gamma ln(1 - c).
    let pos = [
        times(d_pf, pow_derivative(1.0 - pf, c.gamma)) * clamped.ln(),
        times(d_c, (1.0 - pf).powf(c.gamma) * -clamped.recip()),
    ];
    let neg = [
        times(d_pf, pow_derivative(pf, c.gamma)) * -(-clamped).ln_1p(),
        times(d_c, pf.powf(c.gamma) / (1.0 - clamped)),
    ];
    let (w_pos, w_neg) = (a_pos * t, a_neg * (1.0 - t));
    let w = |w: f64, v: f64| if w == 0.0 { 0.0 } else { w * v };
    Slope::of(&[
        w(w_pos, pos[0]),
        w(w_pos, pos[1]),
        w(w_neg, neg[0]),
        w(w_neg, neg[1]),
    ])
}

/// The central difference `(f(x + h) - f(x - h)) / 2h`, and an estimate of its error (the
/// difference between the steps `h` and `h / 2`, plus the rounding of `f` over `h`), for
/// checking an analytic derivative of `f`, smooth on `[x - h, x + h]`.
pub fn central_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> (f64, f64) {
    let d = |h: f64| (f(x + h) - f(x - h)) / (2.0 * h);
    let (d1, d2) = (d(h), d(h / 2.0));
    let rounding = f(x).abs().max(1.0) * 1e-16 / h;
    (d1, (d1 - d2).abs() + rounding)
}

/// An overlap loss as [`overlap_loss`] and [`overlap`] take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// The score.
    pub kind: OverlapKind,
    /// `Σp² + Σt²` denominators.
    pub squared: bool,
    /// Numerator smoothing.
    pub smooth_nr: f64,
    /// Denominator smoothing.
    pub smooth_dr: f64,
    /// The smallest denominator (`clamp_min`), 0 for none.
    pub floor: f64,
    /// Whether the predictions are logits (`sigmoid` first).
    pub logits: bool,
}

/// Which overlap score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OverlapKind {
    /// `(2 tp + s) / (P + T + s)`.
    Dice,
    /// MONAI's `(2 tp + s) / (2 (P + T - tp) + s)`.
    Jaccard,
    /// `(tp + s) / (tp + alpha fp + beta fn + s)` with `fp = Σ p (1 - t)`, `fn = Σ (1 - p) t`.
    Tversky(f64, f64),
}

/// `(N, D)` of the score, `D` before the floor, and each element's `(dN/dp, dD/dp)`.
fn overlap_parts(p: &[f64], t: &[f64], o: &Overlap) -> (f64, f64, Vec<(f64, f64)>) {
    let pairs = p.iter().copied().zip(t.iter().copied());
    let s = super::overlap_sums(pairs, o.squared);
    let dp = |p: f64| if o.squared { 2.0 * p } else { 1.0 };
    match o.kind {
        OverlapKind::Dice => (
            2.0 * s.intersection + o.smooth_nr,
            s.prediction_sum + s.target_sum + o.smooth_dr,
            p.iter().zip(t).map(|(&p, &t)| (2.0 * t, dp(p))).collect(),
        ),
        OverlapKind::Jaccard => (
            2.0 * s.intersection + o.smooth_nr,
            2.0 * (s.prediction_sum + s.target_sum - s.intersection) + o.smooth_dr,
            p.iter()
                .zip(t)
                .map(|(&p, &t)| (2.0 * t, 2.0 * (dp(p) - t)))
                .collect(),
        ),
        OverlapKind::Tversky(alpha, beta) => (
            s.intersection + o.smooth_nr,
            s.intersection + alpha * s.false_positive + beta * s.false_negative + o.smooth_dr,
            // d tp = t, d fp = 1 - t, d fn = -t.
            p.iter()
                .zip(t)
                .map(|(_, &t)| (t, t + alpha * (1.0 - t) - beta * t))
                .collect(),
        ),
    }
}

fn probabilities(x: &[f64], o: &Overlap) -> Vec<f64> {
    if o.logits {
        x.iter().map(|&x| sigmoid(x)).collect()
    } else {
        x.to_vec()
    }
}

/// The overlap loss `1 - N / max(D, floor)` in f64 (the floor only when positive).
pub fn overlap_loss(x: &[f64], t: &[f64], o: &Overlap) -> f64 {
    let (n, d, _) = overlap_parts(&probabilities(x, o), t, o);
    let d = if o.floor > 0.0 { d.max(o.floor) } else { d };
    1.0 - n / d
}

/// `d/dx_i` of [`overlap_loss`] for every element by the quotient rule,
/// `(N dD - D dN) / D²` (times `p (1 - p)` on logits); below the floor `D` is a constant.
/// The scale is `(|N dD| + |D dN|) / D²` (times `p (1 - p)`).
pub fn overlap(x: &[f64], t: &[f64], o: &Overlap) -> Vec<Slope> {
    let p = probabilities(x, o);
    let (n, d, parts) = overlap_parts(&p, t, o);
    let floored = o.floor > 0.0 && d < o.floor;
    let d = if floored { o.floor } else { d };
    parts
        .iter()
        .zip(x)
        .map(|(&(dn, dd), &x)| {
            let dd = if floored { 0.0 } else { dd };
            // p (1 - p) without the cancellation of `1 - p`.
            let chain = if o.logits {
                sigmoid(x) * sigmoid(-x)
            } else {
                1.0
            };
            Slope::of(&[n * dd / (d * d) * chain, -dn / d * chain])
        })
        .collect()
}

/// One pixel's softmax in f64: `(p_c, 1 - p_c, -ln p_c)` for every class, `1 - p_c` as the
/// other classes' share (no cancellation).
fn softmax_parts(scores: &[f64]) -> Vec<(f64, f64, f64)> {
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let winner = scores.iter().position(|&x| x == m).unwrap_or(0);
    let e: Vec<f64> = scores.iter().map(|&x| (x - m).exp()).collect();
    let sum: f64 = e.iter().sum();
    // ln Σ as ln_1p of the others' share: `sum.ln()` of `1 + tiny` keeps only the digits of
    // `tiny` that f64 holds beside 1.
    let rest: f64 = (0..e.len()).filter(|&k| k != winner).map(|k| e[k]).sum();
    let log_sum = rest.ln_1p();
    (0..scores.len())
        .map(|c| {
            let others: f64 = (0..e.len()).filter(|&k| k != c).map(|k| e[k]).sum();
            (e[c] / sum, others / sum, (m - scores[c]) + log_sum)
        })
        .collect()
}

/// The softmax focal loss of one pixel, `Σ_c w_c t_c (1 - p_c)^gamma (-ln p_c)` (`w_c`
/// alpha times weight), for the finite-difference checks of [`softmax_focal`].
pub fn softmax_focal_loss(scores: &[f64], targets: &[f64], gamma: f64, w: &[f64]) -> f64 {
    softmax_parts(scores)
        .iter()
        .zip(targets.iter().zip(w))
        .map(|(&(_, q, l), (&t, &w))| {
            if t == 0.0 {
                0.0
            } else {
                w * t * q.powf(gamma) * l
            }
        })
        .sum()
}

/// `d/dx_j` of [`softmax_focal_loss`] for every class `j`, by the chain rule with the
/// Kronecker delta: `Σ_c t_c w_c (p_j - δ_cj) [(1 - p_c)^gamma + gamma (1 - p_c)^(gamma - 1)
/// p_c (-ln p_c)]` (the bracket's second part 0 where `p_c = 1`).
pub fn softmax_focal(scores: &[f64], targets: &[f64], gamma: f64, w: &[f64]) -> Vec<Slope> {
    let parts = softmax_parts(scores);
    let a: Vec<f64> = parts
        .iter()
        .map(|&(p, q, l)| q.powf(gamma) + times(l, pow_derivative(q, gamma) * p))
        .collect();
    (0..scores.len())
        .map(|j| {
            let terms: Vec<f64> = (0..scores.len())
                .map(|c| {
                    let (t, wc) = (targets[c], w[c]);
                    if t == 0.0 {
                        return 0.0;
                    }
                    // p_j - δ_cj, as -(1 - p_j) for c = j.
                    let d = if c == j { -parts[j].1 } else { parts[j].0 };
                    t * wc * d * a[c]
                })
                .collect();
            Slope::of(&terms)
        })
        .collect()
}
