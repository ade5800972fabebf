//! Links only binary focal (from logits) and dice on f32 predictions against a bit-packed
//! (hard) mask, with the link-time no-panic proof (it links only if no panic path survives in
//! the code it runs). Also measured by `cargo xtask size`, beside `api-min` (the same calls
//! with f32 targets); exits 0 (no defmt, no formatting).
#![no_std]
#![no_main]

board::no_panic_proof!();

fw_common::api_main!(fw_common::api::hard);
