//! `libm`'s `expf`, `logf` and `log1pf` over slices, bit-identical to `libm` and
//! written so that the compiler can evaluate several values at once.
//!
//! # Why
//! A softmax over `C` classes needs `C` exponentials and a `log1p` per pixel, which is most of
//! the work of the multi-class kernels; the binary kernels on logits need `exp(-|x|)` (and, for
//! focal, its `log1p`) per element, and on vector hosts evaluate them for blocks of 256. `libm` evaluates one value at a time, with branches on
//! the argument's range. The functions here are the same algorithms (FreeBSD's `e_expf.c`,
//! `e_logf.c`, `s_log1pf.c`, as `libm` 0.2 ports them): the same IEEE-754 operations on the same values in
//! the same order, with every branch replaced by computing both sides and selecting one. A
//! branch-free loop vectorises (4 lanes with SSE2 on x86-64, NEON on `AArch64`), and the result is
//! **bit-identical to `libm` for every input**, NaN payloads included.
//!
//! # Proof
//! Every `f32` (all 2³² bit patterns) gives `libm`'s bits:
//! `cargo test --release -p loss-core --lib lanes -- --ignored` (about 95 s for the three
//! functions, one core). The default test run checks 2²⁰ patterns spread over the whole range and the
//! special values.
//!
//! # On the device
//! Without vector units the branch-free form only does more work, so on other architectures
//! these functions call `libm` per value: the same bits by the proof above, and no extra cost.

/// Whether this target evaluates the branch-free forms (several values at a time), rather
/// than `libm` one value at a time (targets without vector units).
pub(crate) const VECTOR: bool = cfg!(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64"
));

/// Applies `simd` (branch-free, same bits as `scalar`) where [`VECTOR`], else `scalar`.
#[inline(always)]
fn map(values: &mut [f32], simd: impl Fn(f32) -> f32, scalar: fn(f32) -> f32) {
    if VECTOR {
        values.iter_mut().for_each(|v| *v = simd(*v));
    } else {
        values.iter_mut().for_each(|v| *v = scalar(*v));
    }
}

/// `libm::expf` of every value, in place.
pub fn exp(values: &mut [f32]) {
    map(values, expf, libm::expf);
}

/// `libm::logf` of every value, in place.
pub fn ln(values: &mut [f32]) {
    map(values, logf, libm::logf);
}

/// `libm::log1pf` of every value, in place.
pub fn ln_1p(values: &mut [f32]) {
    map(values, log1pf, libm::log1pf);
}

#[inline(always)]
const fn pick(condition: bool, then: f32, otherwise: f32) -> f32 {
    if condition { then } else { otherwise }
}

/// `2^n` for `-126 <= n <= 127` (other `n` give garbage that callers select away).
#[inline(always)]
fn two_to(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(0x7f) as u32).wrapping_shl(23))
}

/// `1.5 · 2^23`: adding it to `|v| < 2^22` rounds `v` to an integer, held in the low bits.
const MAGIC: f32 = 12_582_912.0;

/// `(v as i32) as f32` (truncation) for `|v| < 2^22`, without the saturating float-to-int
/// conversion, which does not vectorise: rounding by [`MAGIC`] gives the nearest integer,
/// stepped towards zero when it overshoots. Other `v` give garbage that callers select away.
#[inline(always)]
fn truncate(v: f32) -> f32 {
    let nearest = (v + MAGIC) - MAGIC;
    let abs = |a: f32| f32::from_bits(a.to_bits() & 0x7fff_ffff);
    let toward_zero = pick(v < 0.0, nearest + 1.0, nearest - 1.0);
    pick(abs(nearest) > abs(v), toward_zero, nearest)
}

/// The integer value of `t`, an integer-valued float with `|t| < 2^22`, from the bits of
/// `t + MAGIC` (no float-to-int conversion).
#[inline(always)]
fn integer(t: f32) -> i32 {
    ((t + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32)
}

// libm's constants, by their bits.
const EXP_LN2_HI: f32 = f32::from_bits(0x3f31_7200);
const EXP_LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
const LOG_LN2_HI: f32 = f32::from_bits(0x3f31_7180);
const LOG_LN2_LO: f32 = f32::from_bits(0x3717_f7d1);

/// `libm::expf` (FreeBSD `e_expf.c`) without branches.
#[inline(always)]
fn expf(x: f32) -> f32 {
    const P1: f32 = f32::from_bits(0x3e2a_aa8f);
    const P2: f32 = f32::from_bits(0xbb35_5215);
    let abs = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let half = f32::from_bits(x.to_bits() & 0x8000_0000 | 0x3f00_0000); // ±0.5, sign of x
    // Argument reduction: x = k ln2 + r, |r| <= 0.5 ln2; k = ±1 for |x| <= 1.5 ln2, 0 for
    // |x| <= 0.5 ln2 (where `x - 0 * LN2_HI - 0` is `x` itself).
    let far = truncate(INV_LN2 * x + half);
    let kf = if abs > f32::from_bits(0x3f85_1592) {
        far
    } else if abs > f32::from_bits(0x3eb1_7218) {
        half + half
    } else {
        0.0
    };
    let hi = x - kf * EXP_LN2_HI;
    let lo = kf * EXP_LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * P2);
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // scalbnf(y, k) = y 2^k, rounded once: y 2^(k/2) is exact (normal) for every k reached, so
    // the second factor rounds the exact product, as libm's one or two factors do.
    let k = integer(kf);
    let k1 = k >> 1;
    let scaled = y * two_to(k1) * two_to(k - k1);
    if x.is_nan() {
        x
    } else if x >= f32::from_bits(0x42b1_7218) {
        f32::INFINITY // x >= 88.72: libm's x * 2^127 overflows
    } else if x <= -f32::from_bits(0x42cf_f1b5) {
        0.0 // x <= -103.97: underflow
    } else if abs <= f32::from_bits(0x3900_0000) {
        1.0 + x // |x| <= 2^-14
    } else {
        scaled
    }
}

/// libm's NaN for an argument outside the domain: `(x - x) / 0`, which keeps the payload of a
/// NaN `x` (the same operations give the same NaN bits).
#[inline(always)]
#[allow(clippy::eq_op)]
fn invalid(x: f32) -> f32 {
    (x - x) / 0.0
}

/// The common tail of `logf` and `log1pf`: `log(1 + f) + k ln2` for `1 + f` in
/// `[sqrt(2)/2, sqrt(2)]`, with `c` the correction of `log1pf` (0 for `logf`).
#[inline(always)]
fn log_tail(f: f32, k: i32, correction: Option<f32>) -> f32 {
    const LG1: f32 = f32::from_bits(0x3f2a_aaaa);
    const LG2: f32 = f32::from_bits(0x3ecc_ce13);
    const LG3: f32 = f32::from_bits(0x3e91_e9ee);
    const LG4: f32 = f32::from_bits(0x3e78_9e26);
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * LG4);
    let t2 = z * (LG1 + w * LG3);
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let dk = k as f32;
    // libm's two formulas differ only in `+ c`, which is not added for `logf` (`+ 0.0` would
    // turn a -0.0 into +0.0).
    let low = match correction {
        Some(c) => dk * LOG_LN2_LO + c,
        None => dk * LOG_LN2_LO,
    };
    s * (hfsq + r) + low - hfsq + f + dk * LOG_LN2_HI
}

/// `libm::logf` (FreeBSD `e_logf.c`) without branches.
#[inline(always)]
fn logf(x: f32) -> f32 {
    let ix = x.to_bits();
    // Subnormals are scaled into the normal range first.
    let subnormal = ix < 0x0080_0000;
    let scaled = pick(subnormal, x * f32::from_bits(0x4c00_0000), x);
    let iy = scaled.to_bits().wrapping_add(0x3f80_0000 - 0x3f35_04f3);
    let k = ((iy >> 23) as i32 - 0x7f) - if subnormal { 25 } else { 0 };
    let f = f32::from_bits((iy & 0x007f_ffff) + 0x3f35_04f3) - 1.0;
    let general = log_tail(f, k, None);
    if ix << 1 == 0 {
        -1.0 / (x * x) // ±0: -inf
    } else if ix >> 31 != 0 {
        invalid(x) // negative (and negative NaN)
    } else if ix >= 0x7f80_0000 {
        x // +inf, NaN
    } else if ix == 0x3f80_0000 {
        0.0
    } else {
        general
    }
}

/// `libm::log1pf` (FreeBSD `s_log1pf.c`) without branches.
#[inline(always)]
fn log1pf(x: f32) -> f32 {
    let ix = x.to_bits();
    let small_or_negative = ix < 0x3ed4_13d0 || ix >> 31 != 0; // 1 + x < sqrt(2)+
    // 1 + x in [sqrt(2)/2, sqrt(2)]: log1p(x) directly (k = 0, no correction).
    let direct = small_or_negative && ix <= 0xbe95_f619;
    // Otherwise 1 + x = 2^k u, with c correcting the rounding of 1 + x.
    let u = 1.0 + x;
    let iu = u.to_bits().wrapping_add(0x3f80_0000 - 0x3f35_04f3);
    let k_u = (iu >> 23) as i32 - 0x7f;
    let c_u = if k_u < 25 {
        pick(k_u >= 2, 1.0 - (u - x), x - (u - 1.0)) / u
    } else {
        0.0
    };
    let f_u = f32::from_bits((iu & 0x007f_ffff) + 0x3f35_04f3) - 1.0;
    // libm's two paths are one formula on different inputs (the direct one is
    // `log_tail(x, 0, Some(0.0))`): selecting the inputs evaluates the polynomial and its
    // division once instead of twice.
    let (f, k, c) = if direct { (x, 0, 0.0) } else { (f_u, k_u, c_u) };
    let general = log_tail(f, k, Some(c));
    if small_or_negative && ix >= 0xbf80_0000 {
        // x <= -1 (and negative NaN): log1p(-1) = -inf, NaN below.
        if x == -1.0 { x / 0.0 } else { invalid(x) }
    } else if (small_or_negative && ix << 1 < 0x3380_0000 << 1)
        || (!small_or_negative && ix >= 0x7f80_0000)
    {
        x // |x| < 2^-24; +inf, NaN
    } else {
        general
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pair = (fn(&mut [f32]), fn(f32) -> f32, &'static str);
    const FUNCTIONS: [Pair; 3] = [
        (exp, libm::expf, "expf"),
        (ln, libm::logf, "logf"),
        (ln_1p, libm::log1pf, "log1pf"),
    ];

    /// Checks `bits` (in blocks, through the slice functions) against libm; returns the
    /// number of mismatches after printing the first few.
    fn check(bits: impl Iterator<Item = u32>) -> usize {
        let mut mismatches = 0;
        let mut block = [0.0f32; 1024];
        let mut inputs = [0u32; 1024];
        let mut bits = bits.peekable();
        while bits.peek().is_some() {
            let mut n = 0;
            for (slot, b) in inputs.iter_mut().zip(&mut bits) {
                *slot = b;
                n += 1;
            }
            for (f, scalar, name) in FUNCTIONS {
                for (v, b) in block.iter_mut().zip(&inputs[..n]) {
                    *v = f32::from_bits(*b);
                }
                f(&mut block[..n]);
                for (v, b) in block.iter().zip(&inputs[..n]) {
                    let want = scalar(f32::from_bits(*b)).to_bits();
                    if v.to_bits() != want {
                        if mismatches < 10 {
                            eprintln!(
                                "{name}({b:#010x}) = {:#010x}, libm {want:#010x}",
                                v.to_bits()
                            );
                        }
                        mismatches += 1;
                    }
                }
            }
        }
        mismatches
    }

    #[test]
    fn libm_bits_on_special_values_and_a_sample_of_every_range() {
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::EPSILON,
            88.72,
            88.73,
            -87.33,
            -103.97,
            -103.98,
            1e-10,
            -1e-10,
            0.3465736,
            -0.3465736,
            1.0397208,
            -1.0397208,
            18.714973,
            -18.714973,
            0.41421357,
            -0.29289323,
            -0.99999994,
        ]
        .map(f32::to_bits);
        let nans = [
            0x7fc0_0000u32,
            0xffc0_0000,
            0x7f80_0001,
            0xff80_0001,
            0x7fff_ffff,
        ];
        let stride = 4093u32; // prime: every exponent, sign and mantissa pattern is visited
        let sample = (0..=u32::MAX / stride).map(|i| i * stride);
        let neighbours = specials
            .into_iter()
            .flat_map(|b| [b.wrapping_sub(1), b, b.wrapping_add(1)]);
        assert_eq!(check(neighbours.chain(nans).chain(sample)), 0);
    }

    #[test]
    #[ignore = "every f32: about a minute per function in release (see the module docs)"]
    fn libm_bits_on_every_f32() {
        assert_eq!(check(0..=u32::MAX), 0);
    }
}
