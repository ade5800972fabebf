//! The soft-target paths of [`SigmoidFocal`] (`0 < t < 1`), in double words: see "Soft
//! targets: accuracy" in the [module docs](super).

#[cfg(feature = "soft-conventions")]
use super::Power;
use super::dw::{self, Dw};
use super::{SigmoidFocal, SoftTargets};

impl SigmoidFocal {
    /// Soft target `0 < t < 1`, in double words (see "Soft targets: accuracy" in the
    /// [module docs](super)).
    pub(super) fn soft(&self, x: f32, t: f32) -> f32 {
        // d = 1 + e exactly, and its logarithm log1p(exp(-|x|)) in two words.
        let e = libm::expf(-x.abs());
        let (d_hi, d_lo) = dw::fast_two_sum(1.0, e);
        let d = Dw { hi: d_hi, lo: d_lo };
        let ln_d = d.ln();
        let ce = soft_ce(x, t, ln_d);
        let w = || {
            self.alpha.map_or(Dw::ONE, |a| {
                let (hi, lo) = dw::two_prod(a, t);
                Dw { hi, lo }.add(Dw::one_minus(a).mul(Dw::one_minus(t)))
            })
        };
        match self.soft_targets {
            SoftTargets::Torchvision => {
                // q = p (1 - t) + (1 - p) t = (a + b e) / d, with a the weight of the larger
                // probability; q >= min(t, 1 - t) > 0.
                let (a, b) = if x >= 0.0 {
                    (Dw::one_minus(t), Dw::exact(t))
                } else {
                    (Dw::exact(t), Dw::one_minus(t))
                };
                let n = a.add(b.scale(e));
                let q_hi = n.hi / d.hi;
                // The division's remainder n - q_hi d, exactly (n.hi - p is Sterbenz-exact).
                let (p, pe) = dw::two_prod(q_hi, d.hi);
                let q_lo = (((n.hi - p) - pe) + n.lo - q_hi * d.lo) / d.hi;
                let factor = self.power.of_dw(Dw { hi: q_hi, lo: q_lo });
                dw::product(w(), factor, ce)
            }
            #[cfg(feature = "soft-conventions")]
            SoftTargets::Monai => {
                // z = -x (2t - 1) = z_hi + z_lo: 2t - 1 exactly, then the product exactly.
                let (d_hi, d_lo) = dw::two_sum(2.0 * t, -1.0);
                // `-x * 0` would be NaN for infinite x; the factor is sigmoid(0) for every x.
                let (z_hi, z_lo) = if d_hi == 0.0 {
                    (0.0, 0.0)
                } else if x.abs() < dw::SAFE {
                    let (p, pe) = dw::two_prod(x, d_hi);
                    dw::fast_two_sum(-p, -(pe + x * d_lo))
                } else {
                    // |z| >= 2^-25 SAFE: sigmoid(z) is 0 or 1 to every bit.
                    (-x * d_hi, 0.0)
                };
                let ez = libm::expf(-z_hi.abs());
                let (dz_hi, dz_lo) = dw::fast_two_sum(1.0, ez);
                let dz = Dw {
                    hi: dz_hi,
                    lo: dz_lo,
                };
                let factor = sigmoid_power(&self.power, z_hi, z_lo, ez, dz, || dz.ln());
                // At x = ±inf on the wrong side of 1/2 the factor decays like exp(-gamma |x d|)
                // and CE grows like |x|: the limit is 0, not 0 * inf.
                if factor.hi == 0.0 && ce.hi.is_infinite() {
                    return 0.0;
                }
                dw::product(w(), factor, ce)
            }
            #[cfg(feature = "soft-conventions")]
            SoftTargets::Smp => {
                // 1 - exp(-CE) without cancellation when CE is small; CE's low word enters
                // through the derivative exp(-CE) = 1 - q.
                let q = -libm::expm1f(-ce.hi);
                let factor = self.power.of_dw(Dw {
                    hi: q,
                    lo: ce.lo * (1.0 - q),
                });
                dw::product(w(), factor, ce)
            }
            #[cfg(feature = "soft-conventions")]
            SoftTargets::Kornia => {
                // alpha t sigmoid(-x)^gamma softplus(-x) + (1 - alpha)(1 - t) sigmoid(x)^gamma
                // softplus(x); softplus(±x) = max(±x, 0) + ln d.
                let softplus = |m: f32| {
                    if m <= 0.0 {
                        ln_d
                    } else if m < dw::SAFE {
                        Dw::exact(m).add(ln_d)
                    } else {
                        Dw::exact(m)
                    }
                };
                let (w_pos, w_neg) = match self.alpha {
                    Some(a) => {
                        let (hi, lo) = dw::two_prod(a, t);
                        (Dw { hi, lo }, Dw::one_minus(a).mul(Dw::one_minus(t)))
                    }
                    None => (Dw::exact(t), Dw::one_minus(t)),
                };
                let term = |w: Dw, m: f32| {
                    let sp = softplus(m);
                    // A zero weight removes an infinite term (see `weighted`).
                    if w.hi == 0.0 && sp.hi.is_infinite() {
                        return 0.0;
                    }
                    let factor = sigmoid_power(&self.power, m, 0.0, e, d, || ln_d);
                    dw::product(w, factor, sp)
                };
                term(w_pos, -x) + term(w_neg, x)
            }
            // Not built without `soft-conventions`: every call refuses these conventions first
            // (`ElementLoss::built`, `OneVsRestFocal`'s class check), so this is never reached.
            #[cfg(not(feature = "soft-conventions"))]
            _ => f32::NAN,
        }
    }
}

/// Soft-target cross-entropy `max(x, 0) - x t + log1p(exp(-|x|))` as `|x| c + ln d` with
/// `c = 1 - t` for `x >= 0` and `c = t` for `x < 0` (no cancellation), in two words.
fn soft_ce(x: f32, t: f32, ln_d: Dw) -> Dw {
    let m = x.abs();
    let c = if x >= 0.0 {
        Dw::one_minus(t)
    } else {
        Dw::exact(t)
    };
    if m < dw::SAFE {
        let (p, pe) = dw::two_prod(m, c.hi);
        let (s, se) = dw::two_sum(p, ln_d.hi);
        let (hi, lo) = dw::fast_two_sum(s, se + ((pe + m * c.lo) + ln_d.lo));
        Dw { hi, lo }
    } else {
        // Huge, infinite or NaN: ln d is negligible or NaN already.
        Dw::exact(m * c.hi + ln_d.hi)
    }
}

/// `sigmoid(z)^gamma` in two words for `z = z_hi + z_lo`, given `ez = exp(-|z_hi|)`,
/// `d = 1 + ez` exactly and `ln_d() = ln d`. `z_lo` enters through
/// `d/dz ln sigmoid(z) = sigmoid(-z)`.
///
/// For `z_hi < 0` the power is taken in log space, `exp(gamma (z_hi - ln d))`, for every gamma:
/// `sigmoid(z)` is then about `exp(z)`, and a product of powers would multiply `expf`'s
/// rounding by gamma, where `exp` of the exact `gamma z_hi` rounds once.
#[cfg(feature = "soft-conventions")]
fn sigmoid_power(
    power: &Power,
    z_hi: f32,
    z_lo: f32,
    ez: f32,
    d: Dw,
    ln_d: impl FnOnce() -> Dw,
) -> Dw {
    if power.integer == Some(0) {
        return Dw::ONE;
    }
    if z_hi >= 0.0 {
        let slope = z_lo * (ez / d.hi);
        if power.integer.is_some() {
            // sigmoid(z_hi) = 1 / d = s (1 + r): s = fl(1 / d.hi), r from the exact remainder.
            let s = 1.0 / d.hi;
            let (p, pe) = dw::two_prod(s, d.hi);
            let r = ((1.0 - p) - pe) - s * d.lo + slope;
            power.of_dw(Dw { hi: s, lo: s * r })
        } else {
            let ln_d = ln_d();
            Dw {
                hi: -ln_d.hi,
                lo: slope - ln_d.lo,
            }
            .scale(power.gamma)
            .exp()
        }
    } else {
        let ln_d = ln_d();
        Dw::exact(z_hi)
            .scale(power.gamma)
            .add(
                Dw {
                    hi: -ln_d.hi,
                    lo: z_lo / d.hi - ln_d.lo,
                }
                .scale(power.gamma),
            )
            .exp()
    }
}
