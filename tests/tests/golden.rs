//! The committed golden vectors (`golden/src/vectors.rs`) are current and hold on the host.
//!
//! The firmware under `firmware/` depends on the same `golden` crate and checks every case on
//! the device; this test makes sure what it checks against is what this `loss-core` computes.

use golden::{CASES, Expected, MAX_SCRATCH, MAX_WORDS};

#[test]
fn committed_vectors_are_current() {
    let committed = include_str!("../../golden/src/vectors.rs");
    let fresh = loss_tools::golden::render();
    assert!(
        committed == fresh,
        "golden/src/vectors.rs is stale (loss-core or the generator changed): \
         run `cargo run -p loss-tools -- vectors` and commit the result"
    );
}

#[test]
fn every_case_matches_on_the_host() {
    let mut failed = Vec::new();
    for case in &CASES {
        let mut scratch = [0.0f32; MAX_SCRATCH];
        let mut words = [0u32; MAX_WORDS];
        if let Err(got) = golden::check(case, &mut scratch, &mut words) {
            failed.push(format!(
                "{}: expected {:x?}, got {:x?}",
                case.name, case.expected, got
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} mismatches:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn case_names_are_unique() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len());
}

#[test]
fn a_changed_bit_is_caught() {
    // The comparison itself must be able to fail: flip one bit of one expected value.
    let case = CASES
        .iter()
        .find(|c| matches!(c.expected, Expected::Bits(b) if !b.is_empty()))
        .expect("a case with output");
    let Expected::Bits(bits) = case.expected else {
        unreachable!()
    };
    let mut flipped = bits.to_vec();
    flipped[0] ^= 1;
    let flipped: &'static [u32] = Box::leak(flipped.into_boxed_slice());
    let tampered = golden::Case {
        expected: Expected::Bits(flipped),
        ..*case
    };
    let mut scratch = [0.0f32; MAX_SCRATCH];
    let mut words = [0u32; MAX_WORDS];
    assert!(golden::check(&tampered, &mut scratch, &mut words).is_err());
    // NaN matches NaN whatever its sign and payload; nothing else is loose.
    assert!(golden::same_bits(0x7fc0_0000, 0xffc0_0000));
    assert!(!golden::same_bits(0x0000_0000, 0x8000_0000));
    assert!(!golden::same_bits(0x7f80_0000, 0x7fc0_0000));
}

#[test]
fn streaming_matches_one_shot() {
    // The last running value of each stream equals the one-shot loss on the same data.
    use golden::{Op, Spec};
    let mut compared = 0;
    for case in &CASES {
        let (Op::Stream { reduction, .. }, Expected::Bits(bits)) = (case.op, case.expected) else {
            continue;
        };
        // Multi-class streams report other figures than the one-shot class sums.
        if matches!(case.spec, Spec::DetSum3 | Spec::Multi { .. }) {
            continue;
        }
        let Some(one_shot) = CASES.iter().find(|c| {
            c.spec == case.spec
                && c.op == Op::Loss(reduction)
                && core::ptr::eq(c.predictions, case.predictions)
        }) else {
            continue;
        };
        let Expected::Bits(expected) = one_shot.expected else {
            continue;
        };
        // Quantized streams end with [the one-shot report, count], quantized multi-class
        // streams with the one-shot report: compare all of it.
        let codes = matches!(case.spec, Spec::MultiCodes { .. });
        if codes || matches!(case.spec, Spec::Quantized { .. }) {
            let end = bits.len() - usize::from(!codes);
            let report = &bits[end - expected.len()..end];
            assert!(
                report
                    .iter()
                    .zip(expected)
                    .all(|(&a, &b)| golden::same_bits(a, b)),
                "{} vs {}",
                case.name,
                one_shot.name
            );
            compared += 1;
            continue;
        }
        let is_overlap = matches!(case.spec, Spec::Overlap { .. });
        // Element losses end with [last value, count]; the dice family with
        // [last value, tp, P, T, count, score, loss].
        let last = if is_overlap {
            bits.len() - 7
        } else {
            bits.len() - 2
        };
        assert!(
            golden::same_bits(bits[last], expected[0]),
            "{} vs {}",
            case.name,
            one_shot.name
        );
        compared += 1;
    }
    assert!(
        compared >= 10,
        "only {compared} streams had a one-shot twin"
    );
}

#[test]
fn code_cases_agree_across_layouts_and_code_types() {
    // The same quantized multi-class loss on `i8` codes channels-last, channels-first, and on
    // `u8` codes plus 128 with zero points plus 128 (the same real scores): the same bits.
    let words = |name: &str| {
        let case = CASES
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        match case.expected {
            Expected::Bits(bits) => bits,
            Expected::Err(e) => panic!("{name}: {e:?}"),
        }
    };
    let mut compared = 0;
    for case in CASES.iter().filter(|c| c.name.starts_with("codes/")) {
        let Some(stem) = case.name.strip_suffix("/i8/nhwc/loss") else {
            continue;
        };
        for twin in ["/i8/nchw/loss", "/u8/nhwc/loss"] {
            let name = format!("{stem}{twin}");
            if CASES.iter().any(|c| c.name == name) {
                assert_eq!(words(case.name), words(&name), "{} vs {name}", case.name);
                compared += 1;
            }
        }
    }
    assert!(compared >= 2, "only {compared} twins");
}
