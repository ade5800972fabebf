//! The golden vectors on the device: every case of the `golden` crate (`golden/src/vectors.rs`),
//! computed here by the same evaluator the host used and compared bit for bit.
//!
//! A failure is logged with the case's index in `golden::CASES` and its name; built with
//! `--cfg golden_nameless` (the M0, whose flash has no room for the names) with the index only, which
//! names the case on any other board or on the host (`golden::CASES[index].name`).

use golden::{CASES, Case, Expected, MAX_SCRATCH, MAX_WORDS, check};

/// Number of golden cases compiled in.
pub const CASE_COUNT: usize = golden::CASE_COUNT;

#[cfg(not(golden_nameless))]
fn name(case: &Case) -> &'static str {
    case.name
}

#[cfg(golden_nameless)]
fn name(_: &Case) -> &'static str {
    "(see golden::CASES)"
}

/// Runs every case; logs each mismatch (case index and name, expected and computed values)
/// and returns `(passed, failed)`.
pub fn run() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut scratch = [0.0f32; MAX_SCRATCH];
    let mut words = [0u32; MAX_WORDS];
    for (index, case) in CASES.iter().enumerate() {
        match check(case, &mut scratch, &mut words) {
            Ok(()) => passed += 1,
            Err(got) => {
                failed += 1;
                let name = name(case);
                match case.expected {
                    Expected::Bits(bits) => {
                        defmt::error!("FAIL {=usize} {=str}: expected {:#x}", index, name, bits)
                    }
                    Expected::Err(e) => {
                        defmt::error!("FAIL {=usize} {=str}: expected error {}", index, name, e)
                    }
                }
                match got {
                    Ok(bits) => defmt::error!("     {=usize}: got      {:#x}", index, bits),
                    Err(e) => defmt::error!("     {=usize}: got error {}", index, e),
                }
            }
        }
    }
    (passed, failed)
}
