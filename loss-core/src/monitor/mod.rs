//! Edge model monitoring: per-frame signals of a deployed segmentation model, watched with
//! fixed windows, a baseline, thresholds with hysteresis and debounce, and a CUSUM change
//! detector; no heap, no panics, `O(C)` state per frame and a few hundred bytes per signal.
//!
//! ```
//! use loss_core::monitor::{Event, Level, Monitor, Signal, SignalConfig};
//! // Confidence (mean max-probability), baseline supplied by the host.
//! let mut monitor = Monitor::<1, 32>::new([
//!     SignalConfig::new(Signal::Confidence).with_baseline(0.92, 0.01),
//! ])?;
//! let mut alarms = 0;
//! for frame in 0..100 {
//!     let confidence = if frame < 50 { 0.92 } else { 0.70 }; // the model degrades at 50
//!     monitor.observe(&[Some(confidence)], |e| {
//!         if let Event::Transition { to: Level::Alarm, frame, .. } = e {
//!             assert_eq!(frame, 52); // debounce: 3 frames at or above the alarm level
//!             alarms += 1;
//!         }
//!     });
//! }
//! assert_eq!((alarms, monitor.level()), (1, Level::Alarm));
//! # Ok::<(), loss_core::Error>(())
//! ```
//!
//! # Signals per frame
//! | signal | needs | computed by | catches |
//! |---|---|---|---|
//! | focal loss | labels | [`LabelledSignals`] ([`ClassLossAccumulator`](crate::multiclass::ClassLossAccumulator)) | any loss of accuracy, weighted towards hard pixels |
//! | dice, IoU per class | labels | [`LabelledSignals`] ([`ConfusionAccumulator`](crate::multiclass::ConfusionAccumulator)) | a class that is lost or over-segmented |
//! | mean entropy | — | [`FrameSignals`] | inputs unlike the training data: the model hesitates |
//! | mean max-probability (confidence) | — | [`FrameSignals`] | the same, from the winning class only |
//! | predicted area per class | — | [`FrameSignals`] | a class that vanishes or floods the frame (blocked lens, new scene) |
//! | temporal consistency (dice, IoU) | the previous mask | [`FrameSignals`] | flicker: masks that jump between consecutive frames |
//!
//! Labelled signals need calibration frames (stored in flash) or labels that arrive later;
//! the label-free ones need only the model output and are the usual choice in the field.
//! [`FrameSignals`] makes one streaming pass over the output, chunk by chunk, with `O(CAP)`
//! state: f32 scores ([`FrameSignals::push`]) or an int8 / uint8 model's codes as they are
//! ([`FrameSignals::push_codes`], the bits of `push` on the scores the codes stand for, with
//! no dequantized frame and, for softmax logits quantized per tensor, no `expf` per score). Per pixel, with `p` the class probabilities (softmax of `C >= 2` logits, or a
//! sigmoid for one binary channel):
//!
//! ```text
//! entropy     = -Σ_c p_c ln p_c / ln C                 (0: certain, 1: uniform)
//! confidence  = max_c p_c
//! class       = argmax_c p_c                          (first maximum; binary: p >= 0.5)
//! ```
//!
//! averaged over the frame, plus the fraction of pixels of each class. Temporal consistency
//! compares this frame's mask `A` with the previous one `B`: `dice_c = 2 |A_c ∩ B_c| /
//! (|A_c| + |B_c|)` and `IoU_c = |A_c ∩ B_c| / |A_c ∪ B_c|`, averaged over the foreground
//! classes (1..) present in either mask. **The previous mask is a caller-provided buffer** of
//! one byte per pixel ([`FrameSignals::with_previous_mask`]): `O(C)` state cannot remember a
//! frame. A non-finite score makes the frame's entropy and confidence NaN, which the monitor
//! reports as a fault.
//!
//! # The monitor
//! [`Monitor<S, N>`](Monitor) watches `S` signals, each in a [`Track<N>`](Track):
//! - a [`Window<N>`](Window) (a ring of `N` slots) of the last `N` finite values,
//!   with mean, min, max and quantiles, and an EWMA `e += alpha (x - e)`, for telemetry;
//! - a [`Baseline`] (mean and standard deviation) supplied by the host (`loss-tools
//!   monitor-baseline` prints one from validation outputs, as Rust code and JSON) or learned
//!   from the first `K` frames (Welford's algorithm, sample standard deviation, floored at
//!   [`SignalConfig::min_std`]);
//! - thresholds in standard deviations: with `z = (x - mean) / std` oriented so that positive
//!   is worse ([`Direction`]), a frame points to `Alarm` when `z >= alarm`, `Warn` when
//!   `z >= warn`; a level already held is kept down to its threshold minus `hysteresis`;
//! - a change detector, Page's CUSUM (Page 1954, "Continuous inspection schemes",
//!   Biometrika 41) on `z`: `g⁺ = max(0, g⁺ + z - k)`, `g⁻ = max(0, g⁻ - z - k)`, each capped
//!   at `2h`; `g > h` on the worse side points to `Alarm`. It catches drifts too small for the
//!   thresholds: a shift of `d` standard deviations (`d > k`) is found after about
//!   `h / (d - k)` frames;
//! - debounce: the state ([`Level`]) rises to a level after `debounce` consecutive frames
//!   pointing at or above it, and falls after `debounce` consecutive frames pointing below.
//!
//! Each change of state is an [`Event::Transition`] naming the signal, the levels, the cause,
//! the value and the baseline mean. A NaN or infinite value is an [`Event::Fault`] and points
//! to `Alarm` (so a model that keeps producing NaN raises the alarm after `debounce` frames);
//! it never enters the window, the EWMA, the baseline or the CUSUM. A value of `None` means
//! "not measured this frame" (e.g. consistency on the first frame) and changes nothing.
//!
//! # Memory
//! The monitor state for `S` signals is `S × size_of::<Track<N>>() + 8` bytes, where a track
//! is the window (`4 N` bytes plus the ring's index and flag), its configuration (48 bytes) and
//! 48 bytes of EWMA, baseline, learner, CUSUM and state. For 4 signals and `N = 32`,
//! `size_of::<Monitor<4, 32>>()` is **936 bytes** on 32-bit targets (Cortex-M, RISC-V 32)
//! and **968 bytes** on 64-bit hosts (the ring's index is a `usize`). A compile-time assertion
//! keeps it within 1 KiB on every target, `tests/monitor.rs` pins the host figure and the
//! monitoring firmware logs the device's. The per-frame accumulators live on the stack only
//! while a frame streams.
//!
//! # Determinism and panics
//! Everything is f32 arithmetic in a fixed order (counts in integers, ratios of counts in f64
//! rounded once), so a host replay of the same values gives the same events, bit for bit, as
//! the device. No operation panics: no indexing, no unwrap, no division by a count that can be
//! zero.
//!
//! # Optional features
//! - `embedded-hal`: `AlarmPin` drives an embedded-hal 1.0 `OutputPin` (an LED, or an
//!   interrupt line to a host processor) from the state, and returns the pin's error.
//! - `defmt`: `defmt::Format` on [`Event`], [`Level`], [`Signal`], [`Baseline`],
//!   [`SignalConfig`], [`LabelFree`], [`Labelled`] and [`Summary`].

mod signals;
mod track;
mod window;

#[cfg(feature = "embedded-hal")]
mod pin;

#[cfg(feature = "embedded-hal")]
pub use pin::{AlarmPin, Polarity};
pub use signals::{FrameSignals, LabelFree, Labelled, LabelledSignals};
pub use track::{Baseline, Direction, SignalConfig, Statistic, Track};
pub use window::Window;

use crate::Error;

/// The state of a signal or of the whole monitor, ordered `Ok < Warn < Alarm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Level {
    /// Within the baseline's range (or still learning it).
    #[default]
    Ok,
    /// Beyond the warning threshold.
    Warn,
    /// Beyond the alarm threshold, drifting (CUSUM), or faulty (NaN / infinite).
    Alarm,
}

/// What a monitored value is; reported in every [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Signal {
    /// Focal (or another class) loss against labels.
    Loss,
    /// Dice of a class against labels.
    Dice(u8),
    /// IoU of a class against labels.
    Iou(u8),
    /// Mean normalised prediction entropy.
    Entropy,
    /// Mean max-probability.
    Confidence,
    /// Fraction of pixels predicted as a class.
    Area(u8),
    /// Dice between consecutive predicted masks.
    Consistency,
    /// IoU between consecutive predicted masks.
    ConsistencyIou,
    /// Anything else the application measures.
    Other(u8),
}

impl Signal {
    /// Which way the signal goes when the model gets worse: up for loss and entropy, down
    /// for dice, IoU, confidence and consistency, either way for area and `Other`.
    pub const fn worse(self) -> Direction {
        match self {
            Self::Loss | Self::Entropy => Direction::Up,
            Self::Dice(_)
            | Self::Iou(_)
            | Self::Confidence
            | Self::Consistency
            | Self::ConsistencyIou => Direction::Down,
            Self::Area(_) | Self::Other(_) => Direction::Both,
        }
    }
}

/// Why a signal changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Cause {
    /// The value (or its EWMA) crossed a threshold.
    Threshold,
    /// The CUSUM change detector found a persistent shift.
    Drift,
    /// NaN or infinite values.
    Fault,
    /// Back below a level (with hysteresis and debounce).
    Recovery,
}

/// Something the monitor reports from [`Monitor::observe`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// A signal changed state.
    Transition {
        /// Frame index (0 for the first observed frame).
        frame: u32,
        /// The signal.
        signal: Signal,
        /// The state before.
        from: Level,
        /// The state now.
        to: Level,
        /// Why.
        cause: Cause,
        /// The value of this frame.
        value: f32,
        /// The baseline mean (NaN while it is being learned).
        baseline: f32,
    },
    /// A value was NaN or infinite.
    Fault {
        /// Frame index.
        frame: u32,
        /// The signal.
        signal: Signal,
        /// The value.
        value: f32,
    },
    /// A signal finished learning its baseline.
    BaselineLearned {
        /// Frame index.
        frame: u32,
        /// The signal.
        signal: Signal,
        /// What was learned (std floored).
        baseline: Baseline,
    },
}

/// A signal's telemetry: state, window statistics, EWMA and CUSUM ([`Monitor::summary`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Summary {
    /// The signal.
    pub signal: Signal,
    /// Its state.
    pub level: Level,
    /// Values in the window.
    pub count: u16,
    /// Window mean, minimum, median and maximum (NaN when empty).
    pub mean: f32,
    /// Window minimum.
    pub min: f32,
    /// Window median.
    pub median: f32,
    /// Window maximum.
    pub max: f32,
    /// EWMA (NaN before the first value).
    pub ewma: f32,
    /// CUSUM statistic on the worse side.
    pub cusum: f32,
}

/// `S` monitored signals with windows of `N` values (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor<const S: usize, const N: usize> {
    tracks: [Track<N>; S],
    frame: u32,
    level: Level,
}

const _: () = assert!(
    core::mem::size_of::<Monitor<4, 32>>() <= 1024,
    "the monitor for 4 signals and N = 32 must fit in 1 KiB"
);

impl<const S: usize, const N: usize> Monitor<S, N> {
    /// A monitor for `S` signals, in the order their values will be given to
    /// [`Monitor::observe`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] from [`SignalConfig::validate`], for the first invalid one.
    pub fn new(configs: [SignalConfig; S]) -> Result<Self, Error> {
        const { assert!(N > 0, "a window holds at least one value") };
        for c in &configs {
            c.validate()?;
        }
        Ok(Self {
            tracks: configs.map(Track::new),
            frame: 0,
            level: Level::Ok,
        })
    }

    /// Takes one frame's values, one per signal in configuration order (`None`: not measured
    /// this frame), reports events through `on_event` in signal order, and returns the
    /// monitor's state: the highest state of any signal.
    pub fn observe(&mut self, values: &[Option<f32>; S], mut on_event: impl FnMut(Event)) -> Level {
        let frame = self.frame;
        let mut level = Level::Ok;
        for (track, &value) in self.tracks.iter_mut().zip(values) {
            track.observe(frame, value, &mut on_event);
            level = level.max(track.level());
        }
        self.frame = self.frame.saturating_add(1);
        self.level = level;
        level
    }

    /// The monitor's state after the last frame.
    pub const fn level(&self) -> Level {
        self.level
    }

    /// Frames observed.
    pub const fn frames(&self) -> u32 {
        self.frame
    }

    /// The signals' tracks, in configuration order.
    pub const fn tracks(&self) -> &[Track<N>; S] {
        &self.tracks
    }

    /// Telemetry of signal `i` (`None` past the last signal).
    pub fn summary(&self, i: usize) -> Option<Summary> {
        let t = self.tracks.get(i)?;
        let w = t.window();
        let or_nan = |v: Option<f32>| v.unwrap_or(f32::NAN);
        Some(Summary {
            signal: t.config().signal,
            level: t.level(),
            count: u16::try_from(w.len()).unwrap_or(u16::MAX),
            mean: or_nan(w.mean()),
            min: or_nan(w.min()),
            median: or_nan(w.quantile(0.5)),
            max: or_nan(w.max()),
            ewma: or_nan(t.ewma()),
            cusum: t.cusum(),
        })
    }
}
