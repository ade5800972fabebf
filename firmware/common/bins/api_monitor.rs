//! Links only the monitor on four signals, for the size figures of `cargo xtask size`; exits 0
//! (no defmt, no formatting). Not a no-panic proof: the monitor still keeps panic paths (its
//! window statistics), so this binary's panic handler just exits with the panic code.
#![no_std]
#![no_main]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    board::exit(board::EXIT_PANIC)
}

fw_common::api_main!(fw_common::api::monitor);
