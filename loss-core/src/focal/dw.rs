//! Double-word arithmetic in f32 for the soft-target paths: a value is carried as an unevaluated
//! sum `hi + lo` with `|lo|` about `2^-24 |hi|` or less, so that roundings that a power or an
//! exponential would amplify are not made.
//!
//! The error-free transformations are Knuth's two-sum ([`two_sum`]), Dekker's fast two-sum
//! ([`fast_two_sum`]) and Dekker's two-product with Veltkamp's splitting ([`two_prod`];
//! `4097 = 2^12 + 1` for a 24-bit significand), as in Ogita, Rump and Oishi 2005, "Accurate Sum
//! and Dot Product" (SIAM J. Sci. Comput. 26(6)). They need only IEEE 754 round-to-nearest
//! `+ - *`, which every target has; Rust never contracts `a * b + c` into an FMA, so the results
//! are the same bits everywhere. The splitting overflows above about `2^115`, so products with
//! an operand or result beyond [`SAFE`] skip the error term (one ordinary rounding there).

/// Magnitude up to which [`two_prod`] computes its error term.
pub(super) const SAFE: f32 = 1e30;
/// `ln 2 = LN2_HI + LN2_LO` with `LN2_HI` 15 significant bits, so `k * LN2_HI` is exact for
/// `|k| < 2^9` (the split used by FreeBSD's `expf`).
const LN2_HI: f32 = 6.931_457_5e-1;
const LN2_LO: f32 = 1.428_606_8e-6;

/// `a + b = s + e` exactly (two-sum).
#[inline]
pub(super) fn two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `a + b = s + e` exactly when `a == 0` or `|a| >= |b|` (fast two-sum).
#[inline]
pub(super) fn fast_two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    (s, b - (s - a))
}

#[inline]
fn split(a: f32) -> (f32, f32) {
    let c = 4097.0 * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a b = p + e` exactly (two-product), barring underflow; `e = 0` beyond [`SAFE`].
#[inline]
pub(super) fn two_prod(a: f32, b: f32) -> (f32, f32) {
    let p = a * b;
    if a.abs() < SAFE && b.abs() < SAFE && p.abs() < SAFE {
        let (ah, al) = split(a);
        let (bh, bl) = split(b);
        (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
    } else {
        (p, 0.0)
    }
}

/// A double-word value `hi + lo`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dw {
    pub hi: f32,
    pub lo: f32,
}

impl Dw {
    pub const ONE: Self = Self::exact(1.0);

    pub const fn exact(v: f32) -> Self {
        Self { hi: v, lo: 0.0 }
    }

    /// `1 - v`, exactly.
    #[inline]
    pub fn one_minus(v: f32) -> Self {
        let (hi, lo) = two_sum(1.0, -v);
        Self { hi, lo }
    }

    #[inline]
    pub fn add(self, o: Self) -> Self {
        let (hi, e) = two_sum(self.hi, o.hi);
        Self {
            hi,
            lo: e + (self.lo + o.lo),
        }
    }

    #[inline]
    pub fn mul(self, o: Self) -> Self {
        let (hi, e) = two_prod(self.hi, o.hi);
        Self {
            hi,
            lo: e + (self.hi * o.lo + self.lo * o.hi),
        }
    }

    /// `g (hi + lo)`.
    #[inline]
    pub fn scale(self, g: f32) -> Self {
        let (hi, e) = two_prod(g, self.hi);
        Self {
            hi,
            lo: e + g * self.lo,
        }
    }

    /// `ln(hi + lo)` for `hi > 0`, with an absolute error of about `2^-25`: `hi = 2^k m`,
    /// `m` in `[sqrt(1/2), sqrt(2)]`, so `ln = k ln 2 + log1p(m - 1)` with `m - 1` exact
    /// (Sterbenz), `k ln 2` in two words and `|log1p(m - 1)| <= 0.35` rounded by `log1pf`;
    /// `lo` enters as `log1p(lo / hi)` to second order. The error no longer grows with
    /// `|ln|`, as `logf`'s does (`|ln| 2^-24`). Not positive and finite: `logf(hi)`.
    pub fn ln(self) -> Self {
        let h = self.hi;
        if h.is_nan() || h <= 0.0 || h == f32::INFINITY {
            return Self::exact(libm::logf(h));
        }
        // Subnormals are scaled into the normal range first.
        let (v, k0) = if h < f32::MIN_POSITIVE {
            (h * 16_777_216.0, -24)
        } else {
            (h, 0)
        };
        let bits = v.to_bits();
        // The exponent field of a positive normal float is 1..=254: no overflow.
        let mut k = (bits >> 23) as i32 - 127 + k0;
        let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        if m > core::f32::consts::SQRT_2 {
            m *= 0.5;
            k += 1;
        }
        let kf = k as f32;
        let (s, e) = fast_two_sum(kf * LN2_HI, libm::log1pf(m - 1.0));
        let c = self.lo / h;
        let (hi, lo) = two_sum(s, e + (kf * LN2_LO + (c - 0.5 * c * c)));
        Self { hi, lo }
    }

    /// `exp(hi + lo) = expf(hi) (1 + lo)`: only `expf`'s own rounding remains.
    #[cfg(any(feature = "soft-conventions", feature = "real-gamma"))]
    pub fn exp(self) -> Self {
        let f = libm::expf(self.hi);
        Self {
            hi: f,
            lo: if f > 0.0 && f < SAFE {
                f * self.lo
            } else {
                0.0
            },
        }
    }
}

/// `w f c` for a finite or infinite `c` and `w, f` in `[0, 1]`, rounded once at the end:
/// `(f c) w` with both products' errors and the low words carried to first order.
pub(super) fn product(w: Dw, f: Dw, c: Dw) -> f32 {
    let (p1, e1) = two_prod(f.hi, c.hi);
    let (p2, e2) = two_prod(p1, w.hi);
    if !p2.is_finite() {
        return p2;
    }
    p2 + (e2 + e1 * w.hi + p1 * w.lo + w.hi * (f.lo * c.hi + f.hi * c.lo))
}
