// Board support shared by the Cortex-M firmware crates (`m4`, `m0`): entry point, exit codes,
// fault handling, panic handlers and stack painting. `include!`d by their `src/lib.rs`.

use core::arch::asm;

pub use cortex_m_rt::entry;
use cortex_m_rt::{ExceptionFrame, exception};
// The critical-section implementation that defmt-semihosting needs.
use cortex_m as _;

/// Exit code after a panic.
pub const EXIT_PANIC: i32 = 101;
/// Exit code after a HardFault.
pub const EXIT_FAULT: i32 = 102;

/// Ends the QEMU run with `code` as its exit status.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

// Without this handler a fault loops forever; here it ends the run with a distinct code. It
// logs nothing, so firmware without defmt stays without defmt.
#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    exit(EXIT_FAULT)
}

unsafe extern "C" {
    // Provided by cortex-m-rt's link.x: the lowest address the stack may reach.
    static _stack_end: u32;
}

/// Stack painting pattern.
const PAINT: u32 = 0xDEAD_BEEF;
/// How far below the current stack pointer painting reaches (bounded by the stack's end): all
/// of the M0's 16 KiB, so the golden run's peak is measured whole.
const WINDOW: usize = 16 * 1024;

/// Calls `f` and returns its result and the bytes of stack it used (callees included): the
/// stack below the current pointer is painted, `f` runs, and the deepest overwritten word is
/// found. Deterministic on QEMU; on hardware run it with interrupts off.
#[inline(never)]
pub fn stack_usage(f: fn() -> u32) -> (u32, usize) {
    let end = core::ptr::addr_of!(_stack_end) as usize;
    let sp: usize;
    // SAFETY: reads the stack pointer only.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let lo = end.max(sp.saturating_sub(WINDOW)) & !3;
    // Paint from `lo` up to the *current* SP in inline asm: no stack frame of its own, so it
    // cannot overwrite a live return address (valid Thumb-1, so it runs on the M0 too).
    // SAFETY: writes only the unused stack below SP.
    unsafe {
        asm!(
            "1:",
            "mov r2, sp",
            "cmp r0, r2",
            "bhs 2f",
            "str r1, [r0]",
            "adds r0, #4",
            "b 1b",
            "2:",
            inout("r0") lo => _,
            in("r1") PAINT,
            out("r2") _,
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
