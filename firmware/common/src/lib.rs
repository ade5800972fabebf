//! Board-independent parts of the `loss-core` firmware.
//!
//! Each board crate (`m4`, `m0`, `rv32`) provides the entry point, exit, fault handling and
//! stack painting; the binaries in `common/bins/` combine them with the modules here:
//!
//! - [`golden`]: every golden vector of the `golden` crate recomputed on the device, bit for bit;
//! - [`api`]: bodies that link the whole public API, or only binary focal + dice, for the
//!   size figures and the link-time no-panic proof;
//! - [`entries`]: one call per public entry point, for stack painting;
//! - [`cost`]: kernels between two marker functions for instruction counting, and the
//!   straightforward `libm::powf` / `logf` baseline;
//! - [`monitor`]: the monitoring example (streaming focal, dice and IoU over a synthetic frame);
//! - [`alarm`]: `loss_core::monitor` on a synthetic camera stream that degrades half way, with
//!   an alarm line driven through embedded-hal;
//! - [`finetune`] (the `loss-finetune` crate, re-exported): the on-device fine-tuning example,
//!   whose training loop the host test runs too.
#![no_std]

pub mod alarm;
pub mod api;
pub mod cost;
pub mod data;
pub mod entries;
pub mod golden;
pub mod monitor;

pub use finetune;
