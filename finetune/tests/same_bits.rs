//! The example on the host: the same training loop as the firmware, the same checks, and the
//! trained head's hash, which every board must reproduce bit for bit.

use finetune::{EXPECTED_HASH, Head, Outcome, STEPS, StepReport, run};

fn outcome() -> (Outcome, Vec<StepReport>, Head) {
    let mut steps = Vec::new();
    let mut head = Head::pretrained();
    let outcome = run(
        |r| steps.push(*r),
        |f, e| println!("frame {f}: {e:?}"),
        &mut head,
    )
    .expect("the example's data is well formed");
    (outcome, steps, head)
}

#[test]
fn fine_tuning_passes_every_check_with_the_boards_bits() {
    let (outcome, steps, head) = outcome();
    for s in &steps {
        println!(
            "step {}: loss {} (focal {}, dice {})",
            s.step, s.loss, s.focal, s.dice
        );
    }
    println!("{outcome:?}");
    println!("hash {:#010x}", head.hash());
    assert_eq!(steps.len(), STEPS as usize);
    assert_eq!(outcome.hash, head.hash());
    for (name, ok) in outcome.checks() {
        assert!(ok, "{name}: {outcome:?}");
    }
    assert_eq!(outcome.hash, EXPECTED_HASH);
}
