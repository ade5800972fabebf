//! The golden vectors on the device: every case of the `golden` crate (`golden/src/vectors.rs`),
//! computed here by the same evaluator the host used and compared bit for bit.

use golden::{CASES, Expected, MAX_SCRATCH, MAX_WORDS, check};

/// Number of golden cases compiled in.
pub const CASE_COUNT: usize = golden::CASE_COUNT;

/// Runs every case; logs each mismatch (case name, expected and computed values) and returns
/// `(passed, failed)`.
pub fn run() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut scratch = [0.0f32; MAX_SCRATCH];
    let mut words = [0u32; MAX_WORDS];
    for case in CASES.iter() {
        match check(case, &mut scratch, &mut words) {
            Ok(()) => passed += 1,
            Err(got) => {
                failed += 1;
                match case.expected {
                    Expected::Bits(bits) => {
                        defmt::error!("FAIL {=str}: expected {:#x}", case.name, bits)
                    }
                    Expected::Err(e) => {
                        defmt::error!("FAIL {=str}: expected error {}", case.name, e)
                    }
                }
                match got {
                    Ok(bits) => defmt::error!("     {=str}: got      {:#x}", case.name, bits),
                    Err(e) => defmt::error!("     {=str}: got error {}", case.name, e),
                }
            }
        }
    }
    (passed, failed)
}
