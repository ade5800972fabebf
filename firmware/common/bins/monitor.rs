//! The monitoring example: focal, dice and per-class IoU streamed over synthetic frames, then
//! `loss_core::monitor` raising the alarm on a stream that degrades half way.
#![no_std]
#![no_main]

// The defmt global logger: frames go to the host over semihosting (decode with defmt-print).
use defmt_semihosting as _;

board::defmt_panic_handler!();

#[board::entry]
fn main() -> ! {
    defmt::info!("{=str}: monitoring example", board::NAME);
    let result = fw_common::monitor::run(3, |r| {
        defmt::info!(
            "frame {}: focal {} dice {} IoU background {} disc {} bar {}",
            r.frame,
            r.focal,
            r.dice,
            r.iou[0],
            r.iou[1],
            r.iou[2]
        );
    });
    if let Err(e) = result {
        defmt::error!("monitor: {}", e);
        board::exit(1)
    }
    board::exit(alarm_stream())
}

/// `loss_core::monitor` on a stream that degrades half way: the alarm must fire at
/// `EXPECTED_ALARM_FRAME` and drive the alarm line, with no alarm before the degradation.
/// `cargo xtask qemu` also checks the `alarm at frame` line. Returns the exit code.
fn alarm_stream() -> i32 {
    use fw_common::alarm;
    use loss_core::monitor::{Level, Monitor};
    let size = core::mem::size_of::<Monitor<4, 32>>();
    defmt::info!(
        "monitor state for 4 signals x 32 values: {=usize} bytes",
        size
    );
    defmt::info!(
        "{=u32} frames, model output degrades from frame {=u32}",
        alarm::FRAMES,
        alarm::DEGRADE_AT
    );
    let outcome = match alarm::run() {
        Ok(o) => o,
        Err(e) => {
            defmt::error!("monitor: {}", e);
            return 1;
        }
    };
    defmt::info!("{}", outcome);
    let fired = outcome.first_alarm.unwrap_or(u32::MAX);
    defmt::info!(
        "alarm at frame {=u32} (expected {=u32})",
        fired,
        alarm::EXPECTED_ALARM_FRAME
    );
    // 936 bytes on every 32-bit target (docs of `loss_core::monitor`).
    let ok = size == 936
        && fired == alarm::EXPECTED_ALARM_FRAME
        && outcome.early_alarms == 0
        && outcome.level == Level::Alarm
        && outcome.line_high
        && outcome.line_writes == 2;
    if ok {
        defmt::info!("monitor: PASS");
        0
    } else {
        defmt::error!("monitor: FAIL");
        1
    }
}
