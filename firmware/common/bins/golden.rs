//! On-target test: every golden vector, bit for bit. Prints `N passed, N failed` and exits 0
//! only if nothing failed.
#![no_std]
#![no_main]

// The defmt global logger: frames go to the host over semihosting (decode with defmt-print).
use defmt_semihosting as _;

board::defmt_panic_handler!();

#[board::entry]
fn main() -> ! {
    defmt::info!(
        "{=str}: {=usize} golden cases",
        board::NAME,
        fw_common::golden::CASE_COUNT
    );
    // The run under stack painting: its peak stack, callees included, is the RAM it needs
    // beyond the static data.
    let (tally, stack) = board::stack_usage(|| {
        let (passed, failed) = fw_common::golden::run();
        (passed.min(0xffff) << 16) | failed.min(0xffff)
    });
    let (passed, failed) = (tally >> 16, tally & 0xffff);
    defmt::println!("golden run: peak stack {=usize} B", stack);
    defmt::println!("{=u32} passed, {=u32} failed", passed, failed);
    board::exit(i32::from(failed != 0))
}
