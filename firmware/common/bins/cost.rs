//! Instruction counting: each kernel once on 0 and once on N elements between the marker
//! functions; `cargo xtask cost` runs this under the counting plugin and pairs the windows
//! with the `window` lines logged here, in order.
#![no_std]
#![no_main]

use fw_common::cost::{KERNELS, measure};
use fw_common::data::N;

// The defmt global logger: frames go to the host over semihosting (decode with defmt-print).
use defmt_semihosting as _;

board::defmt_panic_handler!();

#[board::entry]
fn main() -> ! {
    for &(name, kernel) in KERNELS {
        for n in [0, N] {
            defmt::println!("window {=usize} {=str}", n, name);
            let r = measure(kernel, n);
            defmt::debug!("result {=u32:#x}", r);
        }
    }
    board::exit(0)
}
