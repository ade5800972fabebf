//! On-device fine-tuning (`docs/training.md`): the sensor changes, the monitor raises its
//! alarm, SGD on focal + dice from `loss-core` adapts the linear head on two labelled frames,
//! and the monitor returns to `Ok`; the trained weights' hash must equal the host's.
#![no_std]
#![no_main]

use fw_common::cost::{bench_start, bench_stop};
use fw_common::finetune::{self, Head, LABELLED, LEARNING_RATE, TRAIN_AT};

// The defmt global logger: frames go to the host over semihosting (decode with defmt-print).
use defmt_semihosting as _;

board::defmt_panic_handler!();

#[board::entry]
fn main() -> ! {
    defmt::info!(
        "{=str}: fine-tuning example, {=usize}x{=usize} frame, {=usize} features, {=usize} classes",
        board::NAME,
        finetune::WIDTH,
        finetune::HEIGHT,
        finetune::FEATURES,
        finetune::CLASSES
    );
    // The run under stack painting: its peak stack, callees included, is the RAM it needs
    // beyond the static data.
    let (tally, stack) = board::stack_usage(run);
    defmt::println!("fine-tuning: peak stack {=usize} B", stack);
    let (passed, failed) = (tally >> 16, tally & 0xffff);
    defmt::println!("fine-tuning: {=u32} passed, {=u32} failed", passed, failed);
    board::exit(i32::from(failed != 0))
}

/// The example and its checks; returns `passed << 16 | failed`.
fn run() -> u32 {
    let mut head = Head::pretrained();
    let outcome = finetune::run(
        |r| {
            defmt::println!(
                "step {=u32}: loss {=f32} (focal {=f32}, dice {=f32})",
                r.step,
                r.loss,
                r.focal,
                r.dice
            );
        },
        |frame, e| defmt::info!("frame {=u32}: {}", frame, e),
        &mut head,
    );
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            defmt::error!("fine-tuning: {}", e);
            return 1;
        }
    };
    defmt::info!(
        "loss {=f32} -> {=f32} (must fall by {=f32}x); alarm at frame {}, Ok again at frame {}",
        outcome.initial_loss,
        outcome.final_loss,
        finetune::LOSS_FACTOR,
        outcome.first_alarm,
        outcome.cleared_at
    );
    defmt::info!(
        "weights hash {=u32:#010x} (host {=u32:#010x})",
        outcome.hash,
        finetune::EXPECTED_HASH
    );
    // One more step on a copy, between the instruction-counting markers (`docs/training.md`):
    // the trained head is not changed.
    let mut frames = [0u32; LABELLED];
    for (i, f) in frames.iter_mut().enumerate() {
        *f = TRAIN_AT + i as u32;
    }
    let mut copy = head;
    bench_start();
    let timed = finetune::sgd_step(&mut copy, &frames, LEARNING_RATE);
    bench_stop();
    let (mut passed, mut failed) = (0, 0);
    for (name, ok) in outcome.checks() {
        if ok {
            defmt::info!("ok   {=str}", name);
            passed += 1;
        } else {
            defmt::error!("FAIL {=str}", name);
            failed += 1;
        }
    }
    if timed.is_err() {
        failed += 1;
    }
    (passed << 16) | failed
}
