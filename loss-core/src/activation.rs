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
pub(crate) fn positive_part(x: f32) -> f32 {
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

/// Logits per block where the binary kernels evaluate `exp(-|x|)` (and `log1p` of it) for a
/// whole block with [`crate::lanes`], which vectorises on hosts with vector units; 0 on the
/// other targets, where the lanes would call `libm` per value anyway and a block would only
/// cost stack and code: there each element calls `libm` itself ([`Logit::new`], [`sigmoid`]).
/// Both give the same bits (the lanes are `libm`'s bits), so this is a choice of speed only.
pub(crate) const BLOCK: usize = if crate::lanes::VECTOR { 256 } else { 0 };

/// `exp(-|x|)` of every logit into `e` (up to the shorter length): [`Logit::new`]'s `e`, bit
/// for bit, in one [`crate::lanes::exp`].
#[inline]
pub(crate) fn exp_neg_abs(x: &[f32], e: &mut [f32]) {
    let n = x.len().min(e.len());
    let e = e.get_mut(..n).unwrap_or(&mut []);
    for (e, x) in e.iter_mut().zip(x) {
        *e = -x.abs();
    }
    crate::lanes::exp(e);
}

/// [`sigmoid`] of every logit into `p` (up to the shorter length), bit for bit, with the
/// exponentials in one [`crate::lanes::exp`] and the rest branch-free (a select of the
/// numerator, one division).
#[inline]
pub(crate) fn sigmoids(x: &[f32], p: &mut [f32]) {
    exp_neg_abs(x, p);
    for (p, &x) in p.iter_mut().zip(x) {
        let e = *p;
        *p = (if x >= 0.0 { 1.0 } else { e }) / (1.0 + e);
    }
}

/// Calls `f` on consecutive blocks of at most [`BLOCK`] elements of `a` and `b` (up to the
/// shorter length), in order. Only called where `BLOCK > 0`.
#[inline(always)]
pub(crate) fn for_each_block<'a, 'b, A, B>(
    a: &'a [A],
    b: &'b [B],
    mut f: impl FnMut(&'a [A], &'b [B]),
) {
    // `max(1)`: `chunks(0)` would panic; with `BLOCK = 0` this is never reached.
    for (a, b) in a.chunks(BLOCK.max(1)).zip(b.chunks(BLOCK.max(1))) {
        f(a, b);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// Logits that exercise every branch of `expf`, `log1pf` and the sigmoid: signed zeros,
    /// infinities, NaNs (both signs, several payloads), huge, tiny and subnormal values, and
    /// the thresholds where libm changes range.
    pub(crate) const SPECIAL_LOGITS: [f32; 36] = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(0xffc0_0000),
        f32::from_bits(0x7fc0_1234),
        f32::from_bits(0xff80_0001),
        f32::MAX,
        f32::MIN,
        1e30,
        -1e30,
        88.72,
        -88.73,
        103.98,
        -103.97,
        17.0,
        -17.0,
        1.0,
        -1.0,
        0.346_573_6,
        -1.039_720_8,
        f32::EPSILON,
        -f32::EPSILON,
        6.103_515_6e-5,
        -6.103_515_6e-5,
        1e-30,
        -1e-30,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-40,
        -1e-40,
        f32::from_bits(1),
        f32::from_bits(0x8000_0001),
        f32::from_bits(0x007f_ffff),
        0.5,
    ];

    /// `n` logits: the specials scattered among uniform values in `[-24, 24]`, from a
    /// xorshift seed.
    pub(crate) fn logits(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        (0..n)
            .map(|_| {
                let r = next();
                if r % 5 == 0 {
                    SPECIAL_LOGITS[(r >> 8) as usize % SPECIAL_LOGITS.len()]
                } else {
                    (r >> 8) as f32 / (1u32 << 24) as f32 * 48.0 - 24.0
                }
            })
            .collect()
    }

    /// Lengths around the block boundaries, odd ones included.
    pub(crate) const LENGTHS: [usize; 12] = [0, 1, 3, 7, 64, 255, 256, 257, 511, 512, 513, 1001];

    #[test]
    fn block_sigmoids_are_the_scalar_bits() {
        for n in LENGTHS {
            let x = logits(n, 0x9e37_79b9 ^ n as u32);
            let mut p = vec![0.0; n];
            super::sigmoids(&x, &mut p);
            for (&x, &p) in x.iter().zip(&p) {
                assert_eq!(p.to_bits(), super::sigmoid(x).to_bits(), "sigmoid({x:e})");
            }
            let mut e = vec![0.0; n];
            super::exp_neg_abs(&x, &mut e);
            for (&x, &e) in x.iter().zip(&e) {
                assert_eq!(
                    e.to_bits(),
                    super::Logit::new(x).e.to_bits(),
                    "exp(-|{x:e}|)"
                );
            }
        }
    }
}
