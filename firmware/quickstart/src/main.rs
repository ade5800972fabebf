//! loss-core on an nRF51 (16 KiB RAM): a quantized segmentation model's int8 output and a
//! bit-packed mask, evaluated frame by frame with binary focal and dice, and watched by the
//! monitor. The walk-through is `docs/firmware.md`; `cargo xtask qemu` runs this on QEMU's
//! `microbit` and checks its last line.
#![no_std]
#![no_main]

// cortex-m provides the critical section that defmt needs (feature critical-section-single-core).
use cortex_m as _;
use cortex_m_rt::entry;
use defmt_semihosting as _; // the defmt logger: semihosting here, defmt-rtt on a real board
use loss_core::dice::OverlapLoss;
use loss_core::focal::SigmoidFocal;
use loss_core::monitor::{Level, Monitor, Signal, SignalConfig};
use loss_core::multiclass::Metric;
use loss_core::quantized::{CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::{Error, Mask, Predictions};

/// The frame: 64 x 64 pixels, one binary channel.
const SIDE: usize = 64;
const PIXELS: usize = SIDE * SIDE;
/// The model output arrives in tiles of eight rows (as a tiled accelerator or a DMA hands it
/// over).
const TILE: usize = 8 * SIDE;
/// Frames in the run, and the frame from which the model's output drifts off the object.
const FRAMES: u32 = 60;
const DRIFT_FROM: u32 = 40;

/// The output tensor's quantization, as the TFLite model states it (`scale`, `zero_point`).
const OUTPUT: Quantization = match Quantization::new(0.0625, -4) {
    Ok(q) => q,
    Err(_) => panic!("invalid quantization"), // evaluated at compile time
};

#[entry]
fn main() -> ! {
    match run() {
        Ok(failed) => {
            defmt::println!(
                "quickstart: {=u32} passed, {=u32} failed",
                CHECKS - failed,
                failed
            );
            exit(i32::from(failed != 0))
        }
        Err(e) => {
            defmt::error!("quickstart: {}", e);
            exit(1)
        }
    }
}

const CHECKS: u32 = 4;

fn run() -> Result<u32, Error> {
    // Filled once, in place: the loss of every int8 code (2 KiB) and its probability (1 KiB).
    let mut focal = QuantizedFocal::<i8>::EMPTY;
    focal.fill(&SigmoidFocal::torchvision(), OUTPUT)?;
    let mut dice = QuantizedOverlap::<i8>::EMPTY;
    dice.fill(
        &OverlapLoss::dice().with_predictions(Predictions::Logits),
        OUTPUT,
    )?;
    // Four signals, each learning its baseline from the first 16 frames.
    let mut monitor = Monitor::<4, 16>::new([
        SignalConfig::new(Signal::Loss).learning(16),
        SignalConfig::new(Signal::Dice(1)).learning(16),
        SignalConfig::new(Signal::Iou(1)).learning(16),
        SignalConfig::new(Signal::Area(1)).learning(16),
    ])?;
    // The model's output buffer and the frame's mask, as the application holds them.
    let mut output = [0i8; PIXELS];
    let mut mask = [0u8; PIXELS / 8];
    report_memory(&focal, &dice, &monitor, &output, &mask);

    let mut failed = 0;
    let mut alarm_at = None;
    for frame in 0..FRAMES {
        let shift = if frame < DRIFT_FROM { 0 } else { 10 };
        simulate_model(frame, shift, &mut output, &mut mask);

        // One integer pass over the frame, tile by tile; every loss and metric reads the counts.
        let mut counts = CodeCounts::<i8>::new();
        for (tile, bits) in output.chunks(TILE).zip(mask.chunks(TILE / 8)) {
            counts.push(tile, Mask::bits(bits, tile.len()))?;
        }
        let focal_mean = focal.loss(&counts)?;
        let dice_value = dice.loss(&counts)?;
        // Hard metrics: positive where the logit is at least 0 (p >= 0.5).
        let confusion = counts.confusion(OUTPUT, 0.0)?;
        let iou = confusion.metric(Metric::Iou);
        let area = (confusion.true_positives + confusion.false_positives) as f32 / PIXELS as f32;
        let level = monitor.observe(
            &[Some(focal_mean), Some(1.0 - dice_value), iou, Some(area)],
            |_| {},
        );
        if level == Level::Alarm && alarm_at.is_none() {
            alarm_at = Some(frame);
        }
        if frame % 10 == 0 || frame == DRIFT_FROM {
            defmt::println!(
                "frame {=u32}: focal {=f32} dice loss {=f32} IoU {=f32} area {=f32} {}",
                frame,
                focal_mean,
                dice_value,
                iou.unwrap_or(f32::NAN),
                area,
                level
            );
        }
        if frame == 0 {
            // The stack grows down from the top of RAM (memory.x).
            let in_use = 0x2000_4000 - cortex_m::register::msp::read();
            defmt::println!("stack in use in the frame loop: {=u32} B of 16384", in_use);
            failed += check_against_f32(&output, &mask, &mut counts, focal_mean, dice_value)?;
        }
    }
    // The alarm fires after the drift, never before it.
    let alarm_ok = alarm_at.is_some_and(|f| (DRIFT_FROM..DRIFT_FROM + 10).contains(&f));
    defmt::println!(
        "alarm at frame {=?} (drift from {=u32})",
        alarm_at,
        DRIFT_FROM
    );
    failed += u32::from(!alarm_ok);
    Ok(failed)
}

/// The quantized results against the f32 path on the dequantized values, 64 at a time (no
/// dequantized frame is ever held) against the same bit mask, and a bad mask rejected with the
/// counts unchanged: three checks.
#[inline(never)] // its buffers exist only while it runs
fn check_against_f32(
    output: &[i8],
    mask: &[u8],
    counts: &mut CodeCounts<i8>,
    focal_mean: f32,
    dice: f32,
) -> Result<u32, Error> {
    let focal_f32 = SigmoidFocal::torchvision();
    let dice_f32 = OverlapLoss::dice().with_predictions(Predictions::Logits);
    let (mut fa, mut da) = (focal_f32.accumulator(), dice_f32.accumulator());
    let mut x = [0.0f32; 64];
    for (codes, bits) in output.chunks(64).zip(mask.chunks(8)) {
        let x = x.get_mut(..codes.len()).unwrap_or(&mut []);
        for (x, &c) in x.iter_mut().zip(codes) {
            *x = OUTPUT.dequantize(c);
        }
        // The f32 losses take the bit mask as it is (the bits of 0.0 / 1.0 targets).
        fa.push(x, Mask::bits(bits, x.len()))?;
        da.push(x, Mask::bits(bits, x.len()))?;
    }
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * b.abs().max(1e-3);
    let focal_ok = close(focal_mean, fa.finish()?);
    let dice_ok = close(dice, da.finish()?);
    // A mask byte other than 0/1 is an error, and the counts keep what they had.
    let before = (counts.count(), counts.get(1, true), counts.get(1, false));
    let bad = counts.push(&[1, 1], Mask::bytes(&[1, 7]));
    let rejected =
        bad.is_err() && (counts.count(), counts.get(1, true), counts.get(1, false)) == before;
    defmt::println!(
        "frame 0 against the f32 path: focal {=bool}, dice {=bool}; bad mask rejected {=bool}",
        focal_ok,
        dice_ok,
        rejected
    );
    Ok(u32::from(!focal_ok) + u32::from(!dice_ok) + u32::from(!rejected))
}

/// A stand-in for the model: a disc of radius 20 (the object) with confident logits inside,
/// noise, and a disc shifted by `shift` pixels in the prediction (the model drifting off it).
fn simulate_model(
    frame: u32,
    shift: usize,
    output: &mut [i8; PIXELS],
    mask: &mut [u8; PIXELS / 8],
) {
    let mut state = 0x9e37_79b9u32 ^ frame.wrapping_mul(0x85eb_ca6b);
    let inside = |x: usize, y: usize| {
        let (dx, dy) = (x.abs_diff(SIDE / 2), y.abs_diff(SIDE / 2));
        dx * dx + dy * dy <= 20 * 20
    };
    mask.fill(0);
    for (i, code) in output.iter_mut().enumerate() {
        let (x, y) = (i % SIDE, i / SIDE);
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state >> 27) as i32 - 16; // -16..=15
        let logit = if inside(x.saturating_sub(shift), y) {
            60
        } else {
            -70
        };
        *code = (logit + noise).clamp(-128, 127) as i8;
        if inside(x, y)
            && let Some(byte) = mask.get_mut(i / 8)
        {
            *byte |= 1 << (i % 8);
        }
    }
}

/// The RAM each piece takes (everything lives on the stack of `run`; nothing is allocated).
fn report_memory<T, U, V>(focal: &T, dice: &U, monitor: &V, output: &[i8], mask: &[u8]) {
    let sizes = [
        core::mem::size_of_val(output),
        core::mem::size_of_val(mask),
        core::mem::size_of_val(focal),
        core::mem::size_of_val(dice),
        core::mem::size_of::<CodeCounts<i8>>(),
        core::mem::size_of_val(monitor),
    ];
    defmt::println!(
        "RAM: frame {=usize} B, mask {=usize} B, focal table {=usize} B, dice table {=usize} B, counts {=usize} B, monitor (4 signals) {=usize} B: {=usize} B in all",
        sizes[0],
        sizes[1],
        sizes[2],
        sizes[3],
        sizes[4],
        sizes[5],
        sizes.iter().sum::<usize>()
    );
}

/// Ends the QEMU run with `code` (semihosting); on a real board, loop or reset instead.
fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(101)
}
