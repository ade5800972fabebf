//! Stable sigmoid pieces shared by the losses.
//!
//! Everything is built from `e = exp(-|x|)`, which never overflows, and `l = log1p(e)`:
//!
//! - `softplus(x) = log(1 + exp(x)) = max(x, 0) + l`
//! - `log_sigmoid(x) = -softplus(-x)`
//! - `sigmoid(x) = 1 / (1 + e)` for `x >= 0`, `e / (1 + e)` for `x < 0`
//!
//! (the forms used by PyTorch's `binary_cross_entropy_with_logits` and MONAI's focal loss).
//! At `x = ±inf`, `e = 0` and every piece takes its limit; NaN propagates.

/// `exp(-|x|)` and `log1p(exp(-|x|))` for one logit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logit {
    pub x: f32,
    /// `exp(-|x|)`, in `[0, 1]`.
    pub e: f32,
    /// `log1p(exp(-|x|))`, in `[0, ln 2]`.
    pub l: f32,
}

impl Logit {
    #[inline]
    pub fn new(x: f32) -> Self {
        let e = libm::expf(-x.abs());
        Self {
            x,
            e,
            l: libm::log1pf(e),
        }
    }

    /// `softplus(x) = -log(1 - sigmoid(x))`.
    #[inline]
    pub fn softplus(&self) -> f32 {
        positive_part(self.x) + self.l
    }

    /// `softplus(-x) = -log(sigmoid(x))`.
    #[inline]
    pub fn softplus_neg(&self) -> f32 {
        positive_part(-self.x) + self.l
    }

    /// `sigmoid(x)`.
    #[inline]
    pub fn sigmoid(&self) -> f32 {
        if self.x >= 0.0 {
            1.0 / (1.0 + self.e)
        } else {
            self.e / (1.0 + self.e)
        }
    }

    /// `sigmoid(-x) = 1 - sigmoid(x)`, without the cancellation.
    #[inline]
    pub fn sigmoid_neg(&self) -> f32 {
        if self.x >= 0.0 {
            self.e / (1.0 + self.e)
        } else {
            1.0 / (1.0 + self.e)
        }
    }
}

/// `max(x, 0)` as a select: `f32::max` is a call to `fmaxf` on the Cortex-M4F (no float max
/// instruction). It differs from `fmaxf` only at `x = -0` (`+0` here) and NaN (`0` from
/// `fmaxf`), and neither shows after `+ l`: `l >= 0`, and a NaN `x` makes `l` NaN.
#[inline]
fn positive_part(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// The logistic sigmoid `1 / (1 + exp(-x))`, stable for every input (`exp` of `-|x|` only);
/// the function every logits path of this crate uses.
///
/// # Examples
/// ```
/// assert_eq!(loss_core::sigmoid(0.0), 0.5);
/// assert_eq!(loss_core::sigmoid(f32::INFINITY), 1.0);
/// assert_eq!(loss_core::sigmoid(-1e4), 0.0);
/// ```
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    let e = libm::expf(-x.abs());
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}
