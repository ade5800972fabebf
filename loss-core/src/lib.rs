//! Focal, dice and related segmentation losses for microcontrollers.
//!
//! `loss-core` evaluates the losses that segmentation models are trained with, on the device
//! that runs the model: `no_std`, no heap, no panics, f32 slices in, results in fixed or
//! caller-provided buffers, and **the same bits on every target** (Cortex-M0 soft float,
//! Cortex-M4F, RISC-V, the host), so a host-side snapshot proves what the device computes.
//!
//! ```
//! use loss_core::{dice::OverlapLoss, focal::SigmoidFocal};
//! let logits = [3.0, -2.0, 0.5, -4.0];
//! let mask = [1.0, 0.0, 1.0, 0.0];
//!
//! // torchvision.ops.sigmoid_focal_loss(logits, mask, reduction="mean")
//! let focal = SigmoidFocal::torchvision().loss(&logits, &mask)?;
//! // monai.losses.DiceLoss(sigmoid=True) on one channel
//! let dice = OverlapLoss::dice()
//!     .with_predictions(loss_core::Predictions::Logits)
//!     .loss(&logits, &mask)?;
//! assert!(focal > 0.0 && dice > 0.0 && dice < 1.0);
//! # Ok::<(), loss_core::Error>(())
//! ```
//!
//! # What is here
//! - [`focal`]: binary focal loss from logits ([`focal::SigmoidFocal`], torchvision semantics,
//!   four soft-target conventions) and from clamped probabilities ([`focal::BinaryFocal`], the
//!   seed article's class and Keras's).
//! - [`dice`]: dice, Jaccard and Tversky on one channel ([`dice::OverlapLoss`]) with MONAI's
//!   `smooth_nr` / `smooth_dr`, squared denominators, logits or probabilities, and the seed
//!   article's two dice variants as presets.
//! - Reductions: [`Reduction::Mean`] / [`Reduction::Sum`], chosen with the loss
//!   (`with_reduction`), `none` through `loss_elementwise`, per-sample results through
//!   `loss_per_sample`.
//! - [`gradient`]: the derivatives of the binary losses with respect to the predictions
//!   (`loss_and_grad` and its elementwise and per-sample forms), into caller buffers, with the
//!   forward call's loss in the same pass.
//! - Streaming: [`LossAccumulator`] and [`dice::OverlapAccumulator`] take data in chunks of
//!   any size and give results bit-identical to the one-shot calls.
//! - Targets ([`BinaryTargets`]): every binary entry point takes `f32` targets or a hard
//!   [`Mask`] of bytes, `bool`s or bits (packed, least significant bit first), with the bits of
//!   the `f32` targets `0.0` / `1.0`; a firmware that passes only masks links no soft-target
//!   code.
//! - [`multiclass`]: softmax and one-vs-rest focal, per-class dice family, generalized dice and
//!   confusion metrics on NCHW or NHWC data with dense or label-map targets, streaming with
//!   `O(C)` state.
//! - [`quantized`]: the binary losses and metrics on `i8` / `u8` model outputs (TFLite's
//!   scale and zero point) with the same [`Mask`]s: one integer pass that counts codes, then
//!   per-code terms computed once.
//! - [`lanes`]: `libm`'s `expf`, `logf` and `log1pf` over slices, vectorised on the host, with
//!   libm's bits.
//! - [`monitor`]: edge model monitoring: per-frame signals with and without labels, windows,
//!   baselines, drift detection and an alarm state (optionally driving a GPIO).
//!
//! # Conventions
//! - **Summation order** is fixed and documented in [`sum`]: four interleaved lanes in blocks
//!   of 64, folded pairwise, blocks added with Neumaier compensation. It depends only on the
//!   element index, never on the target or the chunking.
//! - **No FMA contraction**; transcendental functions come from [`libm`](https://docs.rs/libm)
//!   (pure Rust, identical on every target). On vector hosts [`lanes`] evaluates libm's `expf`,
//!   `logf` and `log1pf` several values at a time with libm's own operations, bit-identical on
//!   all 2³² inputs (the boards call libm), so no result depends on the target.
//! - **Bad input is an [`Error`]**, never a panic: length mismatch, empty input, too-small
//!   buffers, parameters out of range (checked when the loss is built), targets or probabilities
//!   outside `[0, 1]`.
//! - **NaN propagates** (NaN in, NaN out), like libm; it is not an error. Callers that want to
//!   reject non-finite data use [`first_non_finite`].
//!
//! # Optional features
//! ## `defmt`
//! Implements `defmt::Format` for the public types, for logging on the device.
//! ## `embedded-hal`
//! Adds `monitor::AlarmPin`, which drives an `embedded-hal` 1.0 `OutputPin` from the monitor's
//! alarm state.

#![cfg_attr(not(test), no_std)]
// Kernels must not panic on a microcontroller; misuse is reported as `Error`.
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]
#![warn(
    clippy::use_self,
    clippy::doc_markdown,
    clippy::semicolon_if_nothing_returned
)]

mod activation;
mod elementwise;
mod error;
mod mask;

pub mod dice;
pub mod focal;
pub mod gradient;
pub mod lanes;
pub mod monitor;
pub mod multiclass;
pub mod quantized;
pub mod sum;

pub use activation::sigmoid;
pub use elementwise::{ElementLoss, LossAccumulator, Predictions};
pub use error::{Error, Operand};
pub use mask::{BinaryTargets, Mask};
pub use sum::Reduction;

/// The index of the first NaN or infinite value, for callers that want to reject non-finite
/// data before computing a loss (the losses themselves propagate NaN).
///
/// # Examples
/// ```
/// assert_eq!(loss_core::first_non_finite(&[0.0, 1.0, f32::NAN]), Some(2));
/// assert_eq!(loss_core::first_non_finite(&[0.0, 1.0]), None);
/// ```
pub fn first_non_finite(values: &[f32]) -> Option<usize> {
    // A screen without an early exit (it vectorises), and a search only when it finds one.
    if values.iter().fold(true, |finite, v| finite & v.is_finite()) {
        return None;
    }
    values.iter().position(|v| !v.is_finite())
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
