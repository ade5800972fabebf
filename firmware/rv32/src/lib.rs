//! Board support for riscv32imac on QEMU `virt`: entry point, exit codes, trap handling,
//! panic handlers and stack painting.
#![no_std]

use core::arch::asm;

// The critical-section implementation that defmt-semihosting needs.
use riscv as _;
pub use riscv_rt::entry;

/// The board's name in reports.
pub const NAME: &str = "rv32 (riscv32imac, QEMU virt)";
/// Exit code after a panic.
pub const EXIT_PANIC: i32 = 101;
/// Exit code after an unexpected trap.
pub const EXIT_FAULT: i32 = 102;

/// Ends the QEMU run with `code` as its exit status.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

/// Any exception (illegal instruction, access fault, ...) ends the run with [`EXIT_FAULT`]
/// instead of riscv-rt's default endless loop.
#[unsafe(export_name = "ExceptionHandler")]
fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
    exit(EXIT_FAULT)
}

unsafe extern "C" {
    // riscv-rt's link.x: the bottom of the stack region.
    static __estack: u32;
}

const PAINT: u32 = 0xDEAD_BEEF;
/// How far below the current stack pointer painting reaches: 16 KiB, as on the Cortex-M boards.
const WINDOW: usize = 16 * 1024;

/// Calls `f` and returns its result and the bytes of stack it used (callees included), by
/// stack painting (see the Cortex-M version).
#[inline(never)]
pub fn stack_usage(f: fn() -> u32) -> (u32, usize) {
    let end = core::ptr::addr_of!(__estack) as usize;
    let sp: usize;
    // SAFETY: reads the stack pointer only.
    unsafe { asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let lo = end.max(sp.saturating_sub(WINDOW)) & !3;
    // SAFETY: writes only the unused stack below SP, from asm without a frame of its own.
    unsafe {
        asm!(
            "1:",
            "bgeu {p}, sp, 2f",
            "sw {v}, 0({p})",
            "addi {p}, {p}, 4",
            "j 1b",
            "2:",
            p = inout(reg) lo => _,
            v = in(reg) PAINT,
            options(nostack)
        );
    }
    let result = core::hint::black_box(f)();
    let mut p = lo;
    // SAFETY: reads the painted range, which lies within the stack region.
    while p < sp && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (result, sp - p)
}

include!("../../common/panic_handlers.rs");
