//! Board support for the Cortex-M0 (`thumbv6m-none-eabi`, soft float) on QEMU `microbit`.
#![no_std]

/// The board's name in reports.
pub const NAME: &str = "m0 (Cortex-M0, QEMU microbit)";

include!("../../common/board_cortex_m.rs");
include!("../../common/panic_handlers.rs");
