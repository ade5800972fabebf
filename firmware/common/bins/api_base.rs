//! The same skeleton as `api-full` / `api-min` without any `loss-core` call: the size
//! baseline that `cargo xtask size` subtracts.
#![no_std]
#![no_main]

board::no_panic_proof!();

static mut CHECKSUM: u32 = 0;

#[board::entry]
fn main() -> ! {
    let h = core::hint::black_box(0x1234_5678u32);
    // SAFETY: single-threaded; a volatile store, as in the other api binaries.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(CHECKSUM), h) };
    board::exit(0)
}
