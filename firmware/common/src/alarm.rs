//! The edge monitor on a synthetic camera stream: a segmentation model whose output degrades
//! half way through, watched by `loss_core::monitor` with label-free signals only (mean
//! entropy, confidence, temporal consistency and the disc's predicted area), baselines learned
//! on the device from the first 128 frames, and an alarm line driven through embedded-hal.
//!
//! Every value is computed with the same f32 operations on every board, so the alarm fires at
//! the same frame everywhere ([`EXPECTED_ALARM_FRAME`]); the binary checks it and `cargo xtask
//! qemu` checks the binary's log.

use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};
use loss_core::monitor::{
    AlarmPin, Event, FrameSignals, Level, Monitor, Polarity, Signal, SignalConfig,
};
use loss_core::multiclass::Layout;
use loss_core::{Error, Predictions};

/// Frame width and height (pixels).
const W: usize = 32;
const H: usize = 24;
const PIXELS: usize = W * H;
/// Classes: background, a moving disc, a bar.
const CLASSES: usize = 3;
/// Pixels per streamed chunk (two rows): the model's output arrives in pieces.
const CHUNK: usize = 2 * W;
/// Frames in the stream.
pub const FRAMES: u32 = 300;
/// The first frame of degraded output (half way).
pub const DEGRADE_AT: u32 = FRAMES / 2;
/// The frame at which the alarm must fire: three frames (the debounce) after the
/// degradation, found by the entropy and confidence thresholds at once (the degraded model
/// still segments correctly, so area and consistency do not move).
pub const EXPECTED_ALARM_FRAME: u32 = DEGRADE_AT + 2;

/// The four signals, in the order their values are passed to the monitor.
pub const SIGNALS: [SignalConfig; 4] = [
    SignalConfig::new(Signal::Entropy),
    SignalConfig::new(Signal::Confidence),
    SignalConfig::new(Signal::Consistency),
    SignalConfig::new(Signal::Area(1)),
];

/// A "GPIO" that logs its edges with defmt: the emulated boards have no pin a test can watch,
/// so the log is the pin. On a real board, pass the HAL's `OutputPin` instead.
#[derive(Debug, Default)]
pub struct LogPin {
    high: bool,
    edges: u32,
}

impl LogPin {
    /// Whether the line is high.
    pub const fn is_high(&self) -> bool {
        self.high
    }

    /// Writes so far.
    pub const fn writes(&self) -> u32 {
        self.edges
    }
}

impl ErrorType for LogPin {
    type Error = Infallible;
}

impl OutputPin for LogPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        defmt::info!("gpio: alarm line low");
        self.high = false;
        self.edges += 1;
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        defmt::info!("gpio: alarm line high");
        self.high = true;
        self.edges += 1;
        Ok(())
    }
}

/// The model's logits for one chunk of frame `f`, channels-last: the true class gets
/// `margin` over the others, plus deterministic noise in `[-0.5, 0.5)` per score. Healthy
/// output has a margin of 6; the degraded model's is 1.5.
fn logits(f: u32, first_pixel: usize, margin: f32, out: &mut [f32]) {
    let (cx, cy) = (6 + (f % 20) as i32, 12i32);
    for (k, px) in out.chunks_exact_mut(CLASSES).enumerate() {
        let i = first_pixel + k;
        let (x, y) = ((i % W) as i32, (i / W) as i32);
        let class = if (x - cx).pow(2) + (y - cy).pow(2) <= 25 {
            1
        } else if (24..28).contains(&x) {
            2
        } else {
            0
        };
        let h = (i as u32).wrapping_mul(2_654_435_761) ^ f.wrapping_mul(40_503);
        for (c, o) in px.iter_mut().enumerate() {
            let noise = ((h >> (8 * c)) % 1000) as f32 / 1000.0 - 0.5;
            *o = noise + if c == class { margin } else { 0.0 };
        }
    }
}

/// What the stream did.
#[derive(Debug, Clone, Copy, defmt::Format)]
pub struct Outcome {
    /// The first frame whose state became `Alarm`.
    pub first_alarm: Option<u32>,
    /// Frames at `Alarm` before the degradation (must be 0).
    pub early_alarms: u32,
    /// The monitor's state at the end.
    pub level: Level,
    /// Whether the alarm line is high at the end.
    pub line_high: bool,
    /// Writes to the alarm line (one per change of the alarm state, plus the first).
    pub line_writes: u32,
}

/// Streams [`FRAMES`] frames through the monitor and the alarm pin, logging every event.
///
/// # Errors
/// Whatever `loss-core` reports (nothing, for this well-formed stream).
pub fn run() -> Result<Outcome, Error> {
    let mut monitor = Monitor::<4, 32>::new(SIGNALS)?;
    let mut pin = AlarmPin::new(LogPin::default(), Level::Alarm, Polarity::ActiveHigh);
    // The previous frame's mask for temporal consistency: one byte per pixel, lent to the
    // frame accumulator (the monitor itself keeps no frame).
    let mut mask = [0u8; PIXELS];
    let mut chunk = [0.0f32; CHUNK * CLASSES];
    let mut outcome = Outcome {
        first_alarm: None,
        early_alarms: 0,
        level: Level::Ok,
        line_high: false,
        line_writes: 0,
    };
    for f in 0..FRAMES {
        let margin = if f < DEGRADE_AT { 6.0 } else { 1.5 };
        let mut frame = FrameSignals::<CLASSES>::new(Predictions::Logits, CLASSES)?
            .with_previous_mask(&mut mask, f > 0)?;
        for first in (0..PIXELS).step_by(CHUNK) {
            logits(f, first, margin, &mut chunk);
            frame.push(Layout::ChannelsLast, &chunk)?;
        }
        let s = frame.finish()?;
        let values = [
            Some(s.entropy),
            Some(s.confidence),
            s.consistency,
            s.area(1),
        ];
        let level = monitor.observe(&values, |e| log_event(&e));
        if level == Level::Alarm {
            outcome.first_alarm.get_or_insert(f);
            if f < DEGRADE_AT {
                outcome.early_alarms += 1;
            }
        }
        // The pin's error type is `Infallible`; a real pin's error would be handled here.
        if let Ok(true) = pin.update(level) {
            defmt::info!("frame {}: alarm line driven for {}", f, level);
        }
        if f % 50 == 49 {
            for i in 0..4 {
                if let Some(t) = monitor.summary(i) {
                    defmt::info!("frame {}: {}", f, t);
                }
            }
        }
    }
    outcome.level = monitor.level();
    let pin = pin.into_inner();
    outcome.line_high = pin.is_high();
    outcome.line_writes = pin.writes();
    Ok(outcome)
}

fn log_event(e: &Event) {
    match e {
        Event::Transition { .. } => defmt::warn!("monitor: {}", e),
        Event::Fault { .. } => defmt::error!("monitor: {}", e),
        Event::BaselineLearned { .. } => defmt::info!("monitor: {}", e),
    }
}
