//! Board support for the Cortex-M4F (`thumbv7em-none-eabihf`) on QEMU `mps2-an386`.
#![no_std]

/// The board's name in reports.
pub const NAME: &str = "m4 (Cortex-M4F, QEMU mps2-an386)";

include!("../../common/board_cortex_m.rs");
include!("../../common/panic_handlers.rs");
