//! Synthetic inputs generated at compile time (flash, not RAM: the M0 has 16 KiB of RAM).

/// Elements per measured kernel.
pub const N: usize = 4096;
/// Classes of the multi-class kernels.
pub const C: usize = 4;

const fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// Uniform in `[0, 1)` from 24 bits.
const fn unit(bits: u32) -> f32 {
    (bits >> 8) as f32 / 16_777_216.0
}

const fn logits(seed: u32) -> [f32; N] {
    let mut out = [0.0f32; N];
    let (mut i, mut s) = (0, seed);
    while i < N {
        s = xorshift(s);
        out[i] = 12.0 * unit(s) - 6.0;
        i += 1;
    }
    out
}

const fn probabilities(seed: u32) -> [f32; N] {
    let mut out = [0.0f32; N];
    let (mut i, mut s) = (0, seed);
    while i < N {
        s = xorshift(s);
        out[i] = unit(s);
        i += 1;
    }
    out
}

const fn hard_targets(seed: u32) -> [f32; N] {
    let mut out = [0.0f32; N];
    let (mut i, mut s) = (0, seed);
    while i < N {
        s = xorshift(s);
        out[i] = if s & 0x100 != 0 { 1.0 } else { 0.0 };
        i += 1;
    }
    out
}

const fn labels(seed: u32) -> [u8; N / C] {
    let mut out = [0u8; N / C];
    let (mut i, mut s) = (0, seed);
    while i < N / C {
        s = xorshift(s);
        out[i] = ((s >> 8) % C as u32) as u8;
        i += 1;
    }
    out
}

const fn codes(seed: u32) -> [i8; N] {
    let mut out = [0i8; N];
    let (mut i, mut s) = (0, seed);
    while i < N {
        s = xorshift(s);
        out[i] = (s >> 8) as u8 as i8;
        i += 1;
    }
    out
}

/// The 0/1 bytes of [`TARGETS`].
const fn mask_bytes() -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = TARGETS[i] as u8;
        i += 1;
    }
    out
}

/// [`MASK`] packed eight to a byte, least significant bit first.
const fn mask_bits() -> [u8; N / 8] {
    let mut out = [0u8; N / 8];
    let mut i = 0;
    while i < N {
        out[i / 8] |= MASK[i] << (i % 8);
        i += 1;
    }
    out
}

/// Logits in `[-6, 6)`.
pub static LOGITS: [f32; N] = logits(0x1234_5678);
/// Probabilities in `[0, 1)`.
pub static PROBABILITIES: [f32; N] = probabilities(0x0BAD_F00D);
/// Hard targets, about half positive.
pub static TARGETS: [f32; N] = hard_targets(0x5EED_5EED);
/// A label map of `N / C` pixels for the `C`-class kernels (scores: [`LOGITS`], NHWC).
pub static LABELS: [u8; N / C] = labels(0x0C1A_55E5);
/// Uniform `i8` codes (every code about equally often: the most distinct per-code terms).
pub static CODES: [i8; N] = codes(0x00C0_DE5E);
/// [`TARGETS`] as 0/1 bytes.
pub static MASK: [u8; N] = mask_bytes();
/// [`MASK`] bit-packed.
pub static MASK_BITS: [u8; N / 8] = mask_bits();
