//! The focal losses' derivatives with respect to the prediction (see [`crate::gradient`]).

use super::{BinaryFocal, Power, SigmoidFocal, SoftTargets, weighted};
use crate::activation::Logit;

impl Power {
    /// `d/dq q^gamma = gamma q^(gamma - 1)`, given `q` in `[0, 1]` and a way to get `log q`
    /// (only called for real gamma): 0 for `gamma = 0` (PyTorch's `pow` backward), products
    /// for integer gamma, `gamma exp((gamma - 1) log q)` otherwise (`+inf` at `q = 0` for
    /// `gamma < 1`, as autograd gives it).
    #[inline]
    pub(crate) fn derivative(&self, q: f32, log_q: impl FnOnce() -> f32) -> f32 {
        match self.integer {
            Some(0) => 0.0,
            Some(1) => 1.0,
            Some(n) => {
                let lower = Self {
                    gamma: self.gamma - 1.0,
                    integer: Some(n - 1),
                };
                self.gamma * lower.of(q, log_q)
            }
            None => self.gamma * libm::expf((self.gamma - 1.0) * log_q()),
        }
    }
}

impl SigmoidFocal {
    /// The unweighted focal term of a hard target and its derivative with respect to the
    /// logit: `u^gamma CE` and `∓ u^gamma (gamma p_t CE + u)` with `u = 1 - p_t`
    /// (the loss has the bits of [`SigmoidFocal::hard`]).
    #[inline(always)]
    pub(super) fn hard_grad(&self, s: &Logit, positive: bool) -> (f32, f32) {
        // u = 1 - p_t, p_t, CE = -ln p_t and ln u, as `hard` takes them.
        let (u, p_t, ce) = if positive {
            (s.sigmoid_neg(), s.sigmoid(), s.softplus_neg())
        } else {
            (s.sigmoid(), s.sigmoid_neg(), s.softplus())
        };
        let factor = self.power.of(u, || {
            -(if positive {
                s.softplus()
            } else {
                s.softplus_neg()
            })
        });
        // p_t CE -> 0 where p_t = 0 and CE = inf (an infinite logit on the wrong side).
        let pce = if p_t == 0.0 { 0.0 } else { p_t * ce };
        let slope = factor * (self.power.gamma * pce + u);
        (factor * ce, if positive { -slope } else { slope })
    }

    /// The loss of a soft target (the bits of `soft`) and its derivative, in f32: one call
    /// after the other, so that their frames are not nested (the boards' stack).
    fn soft_grad(&self, x: f32, t: f32) -> (f32, f32) {
        (self.soft(x, t), self.soft_slope(x, t))
    }

    /// The derivative of a soft target's loss, in f32.
    #[inline(never)]
    fn soft_slope(&self, x: f32, t: f32) -> f32 {
        let s = Logit::new(x);
        let (p, not_p) = (s.sigmoid(), s.sigmoid_neg());
        // CE = max(x, 0) - x t + ln(1 + e), without cancellation; dCE/dx = p - t.
        let ce = if x >= 0.0 {
            x * (1.0 - t) + s.l
        } else {
            -x * t + s.l
        };
        let dce = p - t;
        let alpha_t = self.alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
        match self.soft_targets {
            SoftTargets::Torchvision => {
                let q = p * (1.0 - t) + not_p * t;
                let factor = self.power.of(q, || libm::logf(q));
                // dq/dx = (1 - 2t) p (1 - p), 0 at infinite x (where CE is infinite).
                let dq = (1.0 - 2.0 * t) * (p * not_p);
                let term = if dq == 0.0 {
                    0.0
                } else {
                    self.power.derivative(q, || libm::logf(q)) * dq * ce
                };
                alpha_t * (term + factor * dce)
            }
            SoftTargets::Monai => {
                // factor = sigmoid(z)^gamma, z = -x (2t - 1); d factor/dx = -(2t - 1) gamma
                // factor sigmoid(-z).
                let k = 2.0 * t - 1.0;
                let z = if k == 0.0 { 0.0 } else { -x * k };
                let sz = Logit::new(z);
                let factor = self.power.of(sz.sigmoid(), || -sz.softplus_neg());
                if factor == 0.0 {
                    // The factor decays exponentially where CE grows linearly: the limit is 0.
                    0.0
                } else {
                    let term = -k * self.power.gamma * factor * sz.sigmoid_neg();
                    alpha_t * (weighted(term, ce) + factor * dce)
                }
            }
            SoftTargets::Smp => {
                // q = 1 - exp(-CE), dq/dx = (1 - q) dCE/dx.
                let q = -libm::expm1f(-ce);
                let factor = self.power.of(q, || libm::logf(q));
                // gamma q^(gamma - 1) (1 - q) CE = gamma factor (1 - q) CE / q, CE / q -> 1.
                let ratio = if q > 0.0 && ce.is_finite() {
                    ce / q
                } else {
                    1.0
                };
                alpha_t * dce * (factor + self.power.gamma * factor * (1.0 - q) * ratio)
            }
            SoftTargets::Kornia => {
                let (w_pos, w_neg) = self
                    .alpha
                    .map_or((t, 1.0 - t), |a| (a * t, (1.0 - a) * (1.0 - t)));
                let (_, pos) = self.hard_grad(&s, true);
                let (_, neg) = self.hard_grad(&s, false);
                w_pos * pos + w_neg * neg
            }
        }
    }

    /// [`crate::ElementLoss::elements_grad`]: on vector hosts `exp(-|x|)` and its `log1p` a
    /// block at a time through [`crate::lanes`] (libm's bits, so each element's [`Logit`] is
    /// [`Logit::new`]'s), the rest element by element; elsewhere element by element.
    pub(super) fn block_grad(&self, x: &[f32], t: &[f32], losses: &mut [f32], grad: &mut [f32]) {
        let pairs = losses.iter_mut().zip(grad.iter_mut()).zip(x.iter().zip(t));
        if crate::activation::BLOCK == 0 {
            for ((o, g), (&x, &t)) in pairs {
                (*o, *g) = self.element_grad_of(x, t);
            }
            return;
        }
        let (mut e, mut l) = (
            [0.0f32; crate::activation::BLOCK],
            [0.0f32; crate::activation::BLOCK],
        );
        let size = crate::activation::BLOCK.max(1);
        for ((x, t), (losses, grad)) in x
            .chunks(size)
            .zip(t.chunks(size))
            .zip(losses.chunks_mut(size).zip(grad.chunks_mut(size)))
        {
            let n = x.len();
            let (Some(e), Some(l)) = (e.get_mut(..n), l.get_mut(..n)) else {
                return;
            };
            crate::activation::exp_neg_abs(x, e);
            l.copy_from_slice(e);
            crate::lanes::ln_1p(l);
            for (((o, g), (&x, &t)), (&e, &l)) in losses
                .iter_mut()
                .zip(grad.iter_mut())
                .zip(x.iter().zip(t))
                .zip(e.iter().zip(&*l))
            {
                (*o, *g) = if t == 1.0 || t == 0.0 {
                    self.hard_element_grad_from(&Logit { x, e, l }, t == 1.0)
                } else {
                    self.soft_grad(x, t)
                };
            }
        }
    }

    /// [`crate::ElementLoss::element_grad`].
    #[inline]
    pub(super) fn element_grad_of(&self, x: f32, t: f32) -> (f32, f32) {
        if t == 1.0 {
            self.hard_element_grad_of(x, true)
        } else if t == 0.0 {
            self.hard_element_grad_of(x, false)
        } else {
            self.soft_grad(x, t)
        }
    }

    /// [`crate::ElementLoss::hard_element_grad`]: the loss has the bits of `hard_element`.
    #[inline(always)]
    pub(super) fn hard_element_grad_of(&self, x: f32, positive: bool) -> (f32, f32) {
        self.hard_element_grad_from(&Logit::new(x), positive)
    }

    /// [`SigmoidFocal::hard_element_grad_of`] from the logit's pieces.
    #[inline(always)]
    fn hard_element_grad_from(&self, s: &Logit, positive: bool) -> (f32, f32) {
        let weight = if positive {
            self.alpha.unwrap_or(1.0)
        } else {
            self.alpha.map_or(1.0, |a| 1.0 - a)
        };
        let (value, slope) = self.hard_grad(s, positive);
        // The slope is finite (|slope| <= 1 + gamma / e): a zero weight gives 0 without a rule.
        (weighted(weight, value), weight * slope)
    }
}

impl BinaryFocal {
    /// The loss (the bits of `element`) and its derivative with respect to the probability.
    #[inline(always)]
    pub(super) fn element_grad_of(&self, p: f32, t: f32) -> (f32, f32) {
        let value = crate::ElementLoss::element(self, p, t);
        (value, self.slope(p, t))
    }

    /// The loss of a hard target (the bits of `hard_element`) and its derivative.
    #[inline(always)]
    pub(super) fn hard_element_grad_of(&self, p: f32, positive: bool) -> (f32, f32) {
        let value = crate::ElementLoss::hard_element(self, p, positive);
        (value, self.slope(p, if positive { 1.0 } else { 0.0 }))
    }

    /// `d loss / d p`. The clamp passes the derivative where `clamp_min <= p <= clamp_max`
    /// and gives 0 outside (`torch.clamp`'s backward, the bounds included); with the Keras
    /// clip only the logarithms' derivative is gated. Not inlined: its frame is not nested in
    /// the loss's (the boards' stack).
    #[inline(never)]
    fn slope(&self, p: f32, t: f32) -> f32 {
        if p.is_nan() || t.is_nan() {
            return p + t;
        }
        let (clamped, pf) = self.clamped(p);
        let inside = p >= self.clamp_min && p <= self.clamp_max;
        // d clamped / dp and d pf / dp, as selects (a `where`, not a product with inf).
        let factor_passes = inside || self.clamp_logs_only;
        let (a_pos, a_neg) = self.weights();
        // `w / c` and `w / (1 - c)` for the logarithms' derivatives, 0 outside the clamp: the
        // weight first, so that a small weight keeps a tiny `c` from overflowing `1 / c`.
        let over_c = |w: f32| if inside { w / clamped } else { 0.0 };
        let over_not_c = |w: f32| if inside { w / (1.0 - clamped) } else { 0.0 };
        if t != 0.0 && t != 1.0 && self.soft_targets == SoftTargets::Torchvision {
            // alpha_t q^gamma CE, q = pf (1 - t) + (1 - pf) t.
            let q = pf * (1.0 - t) + (1.0 - pf) * t;
            let ce = -(t * libm::logf(clamped) + (1.0 - t) * libm::log1pf(-clamped));
            let alpha_t = self.alpha.map_or(1.0, |a| a * t + (1.0 - a) * (1.0 - t));
            let factor = alpha_t * self.power.of(q, || libm::logf(q));
            let d_factor = if factor_passes {
                self.power.derivative(q, || libm::logf(q)) * (1.0 - 2.0 * t)
            } else {
                0.0
            };
            return alpha_t * (d_factor * ce)
                + (over_not_c(factor * (1.0 - t)) - over_c(factor * t));
        }
        // Separate terms: -(1 - pf)^gamma ln c (weight a_pos t), -pf^gamma ln(1 - c).
        let positive = |w: f32| {
            let u = 1.0 - pf;
            let log_u = || libm::log1pf(-pf);
            let d_factor = if factor_passes {
                self.power.derivative(u, log_u)
            } else {
                0.0
            };
            // d/dp = gamma u^(gamma - 1) ln c - u^gamma / c.
            let d = if d_factor == 0.0 {
                0.0
            } else {
                w * d_factor * libm::logf(clamped)
            };
            d - over_c(w * self.power.of(u, log_u))
        };
        let negative = |w: f32| {
            let d_factor = if factor_passes {
                self.power.derivative(pf, || libm::logf(pf))
            } else {
                0.0
            };
            // d/dp = -gamma pf^(gamma - 1) ln(1 - c) + pf^gamma / (1 - c).
            let d = if d_factor == 0.0 {
                0.0
            } else {
                -(w * d_factor * libm::log1pf(-clamped))
            };
            d + over_not_c(w * self.power.of(pf, || libm::logf(pf)))
        };
        let (w_pos, w_neg) = (a_pos * t, a_neg * (1.0 - t));
        let pos = if w_pos == 0.0 { 0.0 } else { positive(w_pos) };
        let neg = if w_neg == 0.0 { 0.0 } else { negative(w_neg) };
        pos + neg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::tests::{LENGTHS, SPECIAL_LOGITS, logits};
    use crate::elementwise::{ElementLoss, Internal};

    /// The blocks of `elements_grad` give each element the bits of `element_grad` (NaN: any
    /// NaN), for every gamma branch, alpha and soft-target form, hard and soft targets.
    #[test]
    fn block_gradients_are_the_element_bits() {
        let mut losses = vec![SigmoidFocal::torchvision()];
        for gamma in [0.0, 1.0, 2.0, 5.0, 0.5, 2.5] {
            for alpha in [None, Some(0.25), Some(1.0)] {
                losses.push(SigmoidFocal::new(alpha, gamma).unwrap());
            }
        }
        for soft in [SoftTargets::Monai, SoftTargets::Kornia, SoftTargets::Smp] {
            losses.push(SigmoidFocal::torchvision().with_soft_targets(soft));
        }
        let bits = |v: f32| if v.is_nan() { 0x7fc0_0000 } else { v.to_bits() };
        for fl in losses {
            let mut inputs = vec![SPECIAL_LOGITS.to_vec()];
            inputs.extend(LENGTHS.iter().map(|&n| logits(n, 0x2545_f491 ^ n as u32)));
            for x in inputs {
                let t: Vec<f32> = (0..x.len())
                    .map(|i| [0.0, 1.0, 0.3, 1.0, 0.0, 0.9][i % 6])
                    .collect();
                let (mut l, mut g) = (vec![0.0; x.len()], vec![0.0; x.len()]);
                fl.elements_grad(&x, &t, &mut l, &mut g, Internal(()));
                for i in 0..x.len() {
                    let (wl, wg) = fl.element_grad(x[i], t[i]);
                    assert_eq!(
                        (bits(l[i]), bits(g[i])),
                        (bits(wl), bits(wg)),
                        "{fl:?} x {:e} t {}",
                        x[i],
                        t[i]
                    );
                }
            }
        }
    }
}
