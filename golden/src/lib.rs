//! Golden vectors of `loss-core`: the contract between the host and the devices.
//!
//! A golden case names a loss configuration or tool ([`Spec`]), the way to drive it ([`Op`]),
//! its inputs and the output words the host computed ([`Expected`]). [`CASES`] holds every case
//! (the generated module `vectors.rs`, written by `loss-tools vectors`), and [`check`] runs one
//! case through `loss-core` and compares the result with the host's.
//!
//! Three consumers share this crate:
//! - `loss-tools` computes the expected bits on the host with [`evaluate`] and writes
//!   `golden/src/vectors.rs` (`cargo run -p loss-tools -- vectors`);
//! - the host test `tests/tests/golden.rs` checks that the committed file is current and that
//!   every case holds;
//! - every firmware under `firmware/` recomputes each case on the device.
//!
//! The crate is `no_std`, allocation-free and panic-free, so the device runs exactly the code
//! the host ran.
//!
//! Built with `--cfg golden_nameless` (as `firmware/m0` builds it: a rustflag, not a feature,
//! so `--all-features` builds keep the names), the cases carry no names ([`Name`] is then
//! empty), which saves the M0 about 41 KB of its 256 KiB of flash; a case is then known by its
//! index in [`CASES`], which names it on any other build.
//!
//! Comparison rule: bits must be equal, except that any NaN matches any NaN (see
//! [`same_bits`]). IEEE 754 leaves the sign and payload of a NaN result unspecified, and the
//! targets really differ there (x86 returns a negative default NaN for `inf - inf`, RISC-V
//! always returns the canonical `0x7fc0_0000`); every non-NaN result, including `±0` and
//! `±inf`, must match bit for bit.
#![no_std]

/// A case's name in the generated file: the literal, or nothing with `--cfg golden_nameless`.
#[cfg(not(golden_nameless))]
macro_rules! name {
    ($name:literal) => {
        $name
    };
}

/// A case's name in the generated file: the literal, or nothing with `--cfg golden_nameless`.
#[cfg(golden_nameless)]
macro_rules! name {
    ($name:literal) => {
        $crate::Name
    };
}

mod case;
mod codes;
mod eval;
mod quantized;
// Generated: written by `loss-tools vectors` in its own layout, which the staleness test
// compares byte for byte.
#[rustfmt::skip]
mod vectors;

pub use case::{
    BAD_CHUNK, Case, ClassScales, CodeKind, Expected, GRAD_SHOWN, LabelKind, MAX_CLASS_GRAD,
    MAX_CODES, MAX_PIXELS, MULTI_CAP, MaskKind, MultiLoss, Name, Op, OverlapBase, QuantLoss,
    REJECTED, Spec, grad_hash,
};
pub use eval::{Words, check, evaluate, matches, same_bits};
pub use vectors::{CASE_COUNT, CASES, MAX_SCRATCH, MAX_WORDS};
