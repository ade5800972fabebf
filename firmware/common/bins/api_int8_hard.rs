//! Links only binary focal + dice on int8 logits and a bit-packed (hard) mask, with the link-time no-panic proof (it links only if no panic
//! path survives in the code it runs). Also measured by `cargo xtask size`; exits 0 (no defmt,
//! no formatting).
#![no_std]
#![no_main]

board::no_panic_proof!();

fw_common::api_main!(fw_common::api::int8_hard);
