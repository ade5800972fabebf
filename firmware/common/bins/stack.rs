//! Worst stack use of each public entry point, by stack painting.
#![no_std]
#![no_main]

// The defmt global logger: frames go to the host over semihosting (decode with defmt-print).
use defmt_semihosting as _;

board::defmt_panic_handler!();

#[board::entry]
fn main() -> ! {
    defmt::info!(
        "{=str}: stack use per entry point (bytes, callees included)",
        board::NAME
    );
    fw_common::entries::setup();
    for &(name, f) in fw_common::entries::ENTRIES {
        let (result, bytes) = board::stack_usage(f);
        defmt::println!(
            "stack {=usize} {=str} (result {=u32:#x})",
            bytes,
            name,
            result
        );
    }
    board::exit(0)
}
