//! Links only the monitor on four signals, with the link-time no-panic proof: this binary only
//! links if no panic path survives in the code it runs. Also the firmware measured by `cargo
//! xtask size`; exits 0 (no defmt, no formatting).
#![no_std]
#![no_main]

board::no_panic_proof!();

fw_common::api_main!(fw_common::api::monitor);
