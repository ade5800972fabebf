//! Links only binary focal + dice on int8 logits and a bit-packed (hard) mask, with the link-time no-panic proof (it links only if no panic
//! path survives in the code it runs). Also measured by `cargo xtask size`; exits 0 (no defmt,
//! no formatting).
#![no_std]
#![no_main]

board::no_panic_proof!();

static mut CHECKSUM: u32 = 0;

#[board::entry]
fn main() -> ! {
    let h = fw_common::api::int8_hard();
    // SAFETY: single-threaded; a volatile store keeps the result (and so the calls) alive.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(CHECKSUM), h) };
    board::exit(0)
}
