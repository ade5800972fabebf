//! The focal factor `q^gamma`.

use super::dw::Dw;
use crate::Error;

/// `q^gamma` for `q` in `[0, 1]`: products (square and multiply) for integer gamma up to 255,
/// else `exp(gamma * log q)`.
///
/// Products keep the relative error near `gamma` times that of `q`; going through `exp` adds
/// the rounding of `gamma * log q`, about `|gamma log q| * 2^-24` relative, which exceeds
/// `1e-6` for gamma = 5 (measured in `docs/numerics.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Power {
    pub(super) gamma: f32,
    pub(super) integer: Option<u8>,
}

impl Power {
    pub(crate) const ZERO: Self = Self {
        gamma: 0.0,
        integer: Some(0),
    };

    pub(crate) const fn new(gamma: f32) -> Result<Self, Error> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::InvalidParameter("gamma"));
        }
        // `as u8` truncates in [0, 255]: equal back only for an integer.
        let integer = if gamma <= 255.0 && (gamma as u8) as f32 == gamma {
            Some(gamma as u8)
        } else if cfg!(feature = "real-gamma") {
            None
        } else {
            // The real-gamma paths are not built (the `real-gamma` feature is off).
            return Err(Error::InvalidParameter("gamma"));
        };
        Ok(Self { gamma, integer })
    }

    /// `q^gamma`, given `q` and a way to get `log q` accurately (only called for real gamma).
    #[inline]
    pub(crate) fn of(&self, q: f32, log_q: impl FnOnce() -> f32) -> f32 {
        match self.integer {
            Some(0) => 1.0,
            Some(1) => q,
            Some(2) => q * q,
            Some(3) => q * q * q,
            Some(4) => {
                let q2 = q * q;
                q2 * q2
            }
            Some(n) => square_and_multiply(q, n),
            #[cfg(feature = "real-gamma")]
            None => libm::expf(self.gamma * log_q()),
            // Never constructed without `real-gamma` (`Power::new` refuses it).
            #[cfg(not(feature = "real-gamma"))]
            None => {
                let _ = log_q;
                f32::NAN
            }
        }
    }

    /// [`Power::of`] of every value of `q`, in place, bit for bit: each integer gamma's
    /// sequence of products in a loop of its own (so that it vectorises), and for real gamma
    /// `log_q` writes `log q` over `q` (`q` itself is not needed), then every `expf` in one
    /// [`crate::lanes::exp`].
    #[inline(always)]
    pub(crate) fn of_each(&self, q: &mut [f32], log_q: impl FnOnce(&mut [f32])) {
        #[inline(always)]
        fn each(q: &mut [f32], f: impl Fn(f32) -> f32) {
            q.iter_mut().for_each(|q| *q = f(*q));
        }
        match self.integer {
            Some(0) => q.fill(1.0),
            Some(1) => {}
            Some(2) => each(q, |q| q * q),
            Some(3) => each(q, |q| q * q * q),
            Some(4) => each(q, |q| {
                let q2 = q * q;
                q2 * q2
            }),
            Some(n) => each(q, |q| square_and_multiply(q, n)),
            #[cfg(not(feature = "real-gamma"))]
            None => {
                let _ = log_q;
                q.fill(f32::NAN);
            }
            #[cfg(feature = "real-gamma")]
            None => {
                log_q(q);
                // `gamma * log q` (IEEE multiplication commutes, bit for bit).
                q.iter_mut().for_each(|v| *v *= self.gamma);
                crate::lanes::exp(q);
            }
        }
    }

    /// `q^gamma` for a double-word `q` in `(0, 1]` (the soft-target paths): square and multiply
    /// in double words for integer gamma (the same sequence as [`Power::of`]), else
    /// `exp(gamma ln q)` with `ln q` in two words ([`Dw::ln`]).
    pub(super) fn of_dw(&self, q: Dw) -> Dw {
        match self.integer {
            Some(0) => Dw::ONE,
            Some(mut n) => {
                let (mut result, mut base) = (None::<Dw>, q);
                loop {
                    if n & 1 == 1 {
                        result = Some(result.map_or(base, |r| r.mul(base)));
                    }
                    n >>= 1;
                    if n == 0 {
                        break;
                    }
                    base = base.mul(base);
                }
                result.unwrap_or(Dw::ONE)
            }
            #[cfg(feature = "real-gamma")]
            None => q.ln().scale(self.gamma).exp(),
            #[cfg(not(feature = "real-gamma"))]
            None => Dw::exact(f32::NAN),
        }
    }
}

/// `q^n` by square and multiply, from the lowest bit: a fixed sequence for each `n`.
#[inline]
fn square_and_multiply(q: f32, n: u8) -> f32 {
    let (mut result, mut base, mut n) = (1.0, q, n);
    while n > 0 {
        if n & 1 == 1 {
            result *= base;
        }
        base *= base;
        n >>= 1;
    }
    result
}
