//! The monitoring example: focal, dice and per-class IoU streamed over synthetic frames.
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
    match result {
        Ok(()) => board::exit(0),
        Err(e) => {
            defmt::error!("monitor: {}", e);
            board::exit(1)
        }
    }
}
