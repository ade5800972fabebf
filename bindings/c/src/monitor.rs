//! The monitor: label-free signals of a frame ([`lc_frame_signals`]) and up to
//! [`LC_MONITOR_MAX_SIGNALS`] signals watched with windows of [`LC_MONITOR_WINDOW`] values,
//! baselines, thresholds and drift detection ([`lc_monitor`]).

use core::ffi::c_void;

use loss_core::monitor::{
    Baseline, Cause, Direction, Event, FrameSignals, LabelFree, Level, Monitor, Signal,
    SignalConfig, Statistic,
};
use loss_core::quantized::Code;

use crate::LC_MAX_CLASSES;
use crate::binary::{lc_predictions, predictions};
use crate::ffi::{self, pick, slice, slice_mut, state, write};
use crate::multi::{lc_class_quantization, lc_layout};
use crate::status::{Fail, LC_BAD_LENGTH, lc_status, run};

/// Signals an [`lc_monitor`] watches at most.
pub const LC_MONITOR_MAX_SIGNALS: usize = 8;
/// Values in each signal's window.
pub const LC_MONITOR_WINDOW: usize = 32;

/// What a monitored value is (`LC_SIGNAL_*`); the per-class kinds take a class index.
pub type lc_signal_kind = u32;
/// Focal (or another class) loss against labels.
pub const LC_SIGNAL_LOSS: lc_signal_kind = 0;
/// Dice of a class against labels.
pub const LC_SIGNAL_DICE: lc_signal_kind = 1;
/// IoU of a class against labels.
pub const LC_SIGNAL_IOU: lc_signal_kind = 2;
/// Mean normalised prediction entropy.
pub const LC_SIGNAL_ENTROPY: lc_signal_kind = 3;
/// Mean max-probability.
pub const LC_SIGNAL_CONFIDENCE: lc_signal_kind = 4;
/// Fraction of pixels predicted as a class.
pub const LC_SIGNAL_AREA: lc_signal_kind = 5;
/// Dice between consecutive predicted masks.
pub const LC_SIGNAL_CONSISTENCY: lc_signal_kind = 6;
/// IoU between consecutive predicted masks.
pub const LC_SIGNAL_CONSISTENCY_IOU: lc_signal_kind = 7;
/// Anything else the application measures.
pub const LC_SIGNAL_OTHER: lc_signal_kind = 8;

/// Which way is worse (`LC_DIRECTION_*`).
pub type lc_direction = u32;
/// Higher is worse.
pub const LC_DIRECTION_UP: lc_direction = 0;
/// Lower is worse.
pub const LC_DIRECTION_DOWN: lc_direction = 1;
/// Any change is suspect.
pub const LC_DIRECTION_BOTH: lc_direction = 2;

/// What the thresholds test (`LC_STATISTIC_*`).
pub type lc_statistic = u32;
/// Each frame's value.
pub const LC_STATISTIC_VALUE: lc_statistic = 0;
/// The EWMA.
pub const LC_STATISTIC_EWMA: lc_statistic = 1;

/// A state (`LC_LEVEL_*`), ordered `OK < WARN < ALARM`.
pub type lc_level = u32;
/// Within the baseline's range.
pub const LC_LEVEL_OK: lc_level = 0;
/// Beyond the warning threshold.
pub const LC_LEVEL_WARN: lc_level = 1;
/// Beyond the alarm threshold, drifting, or faulty.
pub const LC_LEVEL_ALARM: lc_level = 2;

/// Why a signal changed state (`LC_CAUSE_*`).
pub type lc_cause = u32;
/// A threshold was crossed.
pub const LC_CAUSE_THRESHOLD: lc_cause = 0;
/// The CUSUM found a persistent shift.
pub const LC_CAUSE_DRIFT: lc_cause = 1;
/// NaN or infinite values.
pub const LC_CAUSE_FAULT: lc_cause = 2;
/// Back below a level.
pub const LC_CAUSE_RECOVERY: lc_cause = 3;

/// What an [`lc_event`] reports (`LC_EVENT_*`).
pub type lc_event_kind = u32;
/// A signal changed state: `from`, `to`, `cause`, `value`, `baseline_mean`.
pub const LC_EVENT_TRANSITION: lc_event_kind = 0;
/// A value was NaN or infinite: `value`.
pub const LC_EVENT_FAULT: lc_event_kind = 1;
/// A baseline was learned: `baseline_mean`, `baseline_std`.
pub const LC_EVENT_BASELINE_LEARNED: lc_event_kind = 2;

/// One signal's configuration (loss-core's `SignalConfig`); see `docs/monitoring.md`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_signal_config {
    /// What the signal is.
    pub kind: lc_signal_kind,
    /// The class of `LC_SIGNAL_DICE`, `_IOU`, `_AREA`, or the tag of `_OTHER`.
    pub index: u8,
    /// Which way is worse. Default: the kind's.
    pub direction: lc_direction,
    /// Whether `baseline_mean` / `baseline_std` are given (else learned). Default false.
    pub use_baseline: bool,
    /// Baseline mean.
    pub baseline_mean: f32,
    /// Baseline standard deviation.
    pub baseline_std: f32,
    /// Frames the baseline is learned from (>= 2). Default 128.
    pub learn_frames: u16,
    /// Floor of the standard deviation (> 0). Default 1e-3.
    pub min_std: f32,
    /// Entering warn (z). Default 3.
    pub warn: f32,
    /// Entering alarm (z). Default 5.
    pub alarm: f32,
    /// Hysteresis (z). Default 1.
    pub hysteresis: f32,
    /// Frames a level must hold before the state changes (>= 1). Default 3.
    pub debounce: u8,
    /// CUSUM reference value `k` (z). Default 1.
    pub cusum_k: f32,
    /// CUSUM decision interval `h` (z). Default 10.
    pub cusum_h: f32,
    /// EWMA weight of the newest value. Default 0.1.
    pub ewma_alpha: f32,
    /// What the thresholds test. Default `LC_STATISTIC_VALUE`.
    pub statistic: lc_statistic,
}

const SIGNALS: [lc_signal_kind; 9] = [
    LC_SIGNAL_LOSS,
    LC_SIGNAL_DICE,
    LC_SIGNAL_IOU,
    LC_SIGNAL_ENTROPY,
    LC_SIGNAL_CONFIDENCE,
    LC_SIGNAL_AREA,
    LC_SIGNAL_CONSISTENCY,
    LC_SIGNAL_CONSISTENCY_IOU,
    LC_SIGNAL_OTHER,
];

fn signal(kind: lc_signal_kind, index: u8) -> Result<Signal, Fail> {
    Ok(match pick(kind, &SIGNALS)? {
        LC_SIGNAL_LOSS => Signal::Loss,
        LC_SIGNAL_DICE => Signal::Dice(index),
        LC_SIGNAL_IOU => Signal::Iou(index),
        LC_SIGNAL_ENTROPY => Signal::Entropy,
        LC_SIGNAL_CONFIDENCE => Signal::Confidence,
        LC_SIGNAL_AREA => Signal::Area(index),
        LC_SIGNAL_CONSISTENCY => Signal::Consistency,
        LC_SIGNAL_CONSISTENCY_IOU => Signal::ConsistencyIou,
        _ => Signal::Other(index),
    })
}

const fn signal_parts(s: Signal) -> (lc_signal_kind, u8) {
    match s {
        Signal::Loss => (LC_SIGNAL_LOSS, 0),
        Signal::Dice(i) => (LC_SIGNAL_DICE, i),
        Signal::Iou(i) => (LC_SIGNAL_IOU, i),
        Signal::Entropy => (LC_SIGNAL_ENTROPY, 0),
        Signal::Confidence => (LC_SIGNAL_CONFIDENCE, 0),
        Signal::Area(i) => (LC_SIGNAL_AREA, i),
        Signal::Consistency => (LC_SIGNAL_CONSISTENCY, 0),
        Signal::ConsistencyIou => (LC_SIGNAL_CONSISTENCY_IOU, 0),
        Signal::Other(i) => (LC_SIGNAL_OTHER, i),
    }
}

const fn direction_code(d: Direction) -> lc_direction {
    match d {
        Direction::Up => LC_DIRECTION_UP,
        Direction::Down => LC_DIRECTION_DOWN,
        Direction::Both => LC_DIRECTION_BOTH,
    }
}

const fn level_code(l: Level) -> lc_level {
    match l {
        Level::Ok => LC_LEVEL_OK,
        Level::Warn => LC_LEVEL_WARN,
        Level::Alarm => LC_LEVEL_ALARM,
    }
}

/// The defaults of loss-core's `SignalConfig::new` for a signal, written to `*out`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_signal_config_default(
    kind: lc_signal_kind,
    index: u8,
    out: *mut lc_signal_config,
) -> lc_status {
    run(|| {
        let c = SignalConfig::new(signal(kind, index)?);
        let (kind, index) = signal_parts(c.signal);
        let b = c.baseline;
        let config = lc_signal_config {
            kind,
            index,
            direction: direction_code(c.direction),
            use_baseline: b.is_some(),
            baseline_mean: b.map_or(0.0, |b| b.mean),
            baseline_std: b.map_or(0.0, |b| b.std),
            learn_frames: c.learn_frames,
            min_std: c.min_std,
            warn: c.warn,
            alarm: c.alarm,
            hysteresis: c.hysteresis,
            debounce: c.debounce,
            cusum_k: c.cusum_k,
            cusum_h: c.cusum_h,
            ewma_alpha: c.ewma_alpha,
            statistic: match c.statistic {
                Statistic::Value => LC_STATISTIC_VALUE,
                Statistic::Ewma => LC_STATISTIC_EWMA,
            },
        };
        // SAFETY: the caller's contract.
        unsafe { write(out, config) }
    })
}

fn signal_config(c: &lc_signal_config) -> Result<SignalConfig, Fail> {
    Ok(SignalConfig {
        signal: signal(c.kind, c.index)?,
        direction: pick(
            c.direction,
            &[Direction::Up, Direction::Down, Direction::Both],
        )?,
        baseline: c.use_baseline.then_some(Baseline {
            mean: c.baseline_mean,
            std: c.baseline_std,
        }),
        learn_frames: c.learn_frames,
        min_std: c.min_std,
        warn: c.warn,
        alarm: c.alarm,
        hysteresis: c.hysteresis,
        debounce: c.debounce,
        cusum_k: c.cusum_k,
        cusum_h: c.cusum_h,
        ewma_alpha: c.ewma_alpha,
        statistic: pick(c.statistic, &[Statistic::Value, Statistic::Ewma])?,
    })
}

/// Something the monitor reports (loss-core's `Event`, flattened).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_event {
    /// What happened.
    pub kind: lc_event_kind,
    /// Frame index (0 for the first observed frame).
    pub frame: u32,
    /// Which configured signal (its position in the configuration).
    pub signal: usize,
    /// The signal's kind.
    pub signal_kind: lc_signal_kind,
    /// The signal's class or tag.
    pub signal_index: u8,
    /// Transition: the state before.
    pub from: lc_level,
    /// Transition: the state now.
    pub to: lc_level,
    /// Transition: why.
    pub cause: lc_cause,
    /// Transition and fault: the value of this frame.
    pub value: f32,
    /// Transition: the baseline mean (NaN while learning); baseline learned: the mean.
    pub baseline_mean: f32,
    /// Baseline learned: the standard deviation (floored).
    pub baseline_std: f32,
}

impl lc_event {
    fn of(e: Event, signal: usize) -> Self {
        let nan = f32::NAN;
        let blank = |kind, frame, s: Signal| {
            let (signal_kind, signal_index) = signal_parts(s);
            Self {
                kind,
                frame,
                signal,
                signal_kind,
                signal_index,
                from: LC_LEVEL_OK,
                to: LC_LEVEL_OK,
                cause: LC_CAUSE_THRESHOLD,
                value: nan,
                baseline_mean: nan,
                baseline_std: nan,
            }
        };
        match e {
            Event::Transition {
                frame,
                signal,
                from,
                to,
                cause,
                value,
                baseline,
            } => Self {
                from: level_code(from),
                to: level_code(to),
                cause: match cause {
                    Cause::Threshold => LC_CAUSE_THRESHOLD,
                    Cause::Drift => LC_CAUSE_DRIFT,
                    Cause::Fault => LC_CAUSE_FAULT,
                    Cause::Recovery => LC_CAUSE_RECOVERY,
                },
                value,
                baseline_mean: baseline,
                ..blank(LC_EVENT_TRANSITION, frame, signal)
            },
            Event::Fault {
                frame,
                signal,
                value,
            } => Self {
                value,
                ..blank(LC_EVENT_FAULT, frame, signal)
            },
            Event::BaselineLearned {
                frame,
                signal,
                baseline,
            } => Self {
                baseline_mean: baseline.mean,
                baseline_std: baseline.std,
                ..blank(LC_EVENT_BASELINE_LEARNED, frame, signal)
            },
        }
    }
}

/// Called for each event during [`lc_monitor_observe`], with the `user` pointer given there.
pub type lc_event_fn = Option<unsafe extern "C" fn(event: *const lc_event, user: *mut c_void)>;

/// A signal's telemetry (loss-core's `Summary`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_summary {
    /// The signal's kind.
    pub signal_kind: lc_signal_kind,
    /// The signal's class or tag.
    pub signal_index: u8,
    /// Its state.
    pub level: lc_level,
    /// Values in the window.
    pub count: u16,
    /// Window mean (NaN when empty).
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

/// Words of storage of an [`lc_monitor`].
pub const LC_MONITOR_WORDS: usize = 248;

/// Up to [`LC_MONITOR_MAX_SIGNALS`] monitored signals. Allocate it anywhere, then call
/// [`lc_monitor_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_monitor {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_MONITOR_WORDS],
}

/// The monitor and how many of its tracks are configured (the others are never fed).
#[derive(Debug, Clone)]
pub(crate) struct MonitorState {
    monitor: Monitor<LC_MONITOR_MAX_SIGNALS, LC_MONITOR_WINDOW>,
    signals: usize,
}
state!(lc_monitor, MonitorState, 0x4c43_4d31);

/// A monitor of `n` signals (1 to [`LC_MONITOR_MAX_SIGNALS`]), in the order their values
/// will be given to [`lc_monitor_observe`].
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_monitor_init(
    monitor: *mut lc_monitor,
    configs: *const lc_signal_config,
    n: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let given = unsafe { slice(configs, n)? };
        if given.is_empty() || given.len() > LC_MONITOR_MAX_SIGNALS {
            return Err(Fail(LC_BAD_LENGTH));
        }
        let mut all = [SignalConfig::new(Signal::Other(u8::MAX)); LC_MONITOR_MAX_SIGNALS];
        for (a, c) in all.iter_mut().zip(given) {
            *a = signal_config(c)?;
        }
        let state = MonitorState {
            monitor: Monitor::new(all)?,
            signals: given.len(),
        };
        // SAFETY: as above.
        unsafe { ffi::init(monitor, state) }
    })
}

/// Takes one frame's values, one per configured signal (`n` must be the signal count);
/// `measured[i] == false` means "not measured this frame" (`measured` may be NULL: all
/// measured). Events go to `on_event` (may be NULL) in signal order; `*level` receives the
/// monitor's state (may be NULL).
///
/// # Safety
/// The crate's safety contract; `on_event` must be safe to call with `user` and must not call
/// `lc_monitor_*` on this monitor (it is being updated).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_monitor_observe(
    monitor: *mut lc_monitor,
    values: *const f32,
    measured: *const bool,
    n: usize,
    on_event: lc_event_fn,
    user: *mut c_void,
    level: *mut lc_level,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (m, v) = unsafe { (ffi::get_mut(monitor)?, slice(values, n)?) };
        let measured = if measured.is_null() {
            None // all measured
        } else {
            // SAFETY: the caller's contract.
            Some(unsafe { slice(measured, n)? })
        };
        if v.len() != m.signals {
            return Err(Fail(LC_BAD_LENGTH));
        }
        let mut frame = [None; LC_MONITOR_MAX_SIGNALS];
        for (i, (f, &x)) in frame.iter_mut().zip(v).enumerate() {
            let on = measured.and_then(|m| m.get(i).copied()).unwrap_or(true);
            *f = on.then_some(x);
        }
        // Events come in track order: the track of an event is the first one at or after the
        // previous event's whose signal it names.
        let kinds = m.monitor.tracks().each_ref().map(|t| t.config().signal);
        let mut cursor = 0;
        let l = m.monitor.observe(&frame, |e| {
            let signal = match e {
                Event::Transition { signal, .. }
                | Event::Fault { signal, .. }
                | Event::BaselineLearned { signal, .. } => signal,
            };
            cursor += kinds
                .get(cursor..)
                .and_then(|k| k.iter().position(|&s| s == signal))
                .unwrap_or(0);
            if let Some(f) = on_event {
                let event = lc_event::of(e, cursor);
                // SAFETY: the caller vouches for the callback and its `user` pointer.
                unsafe { f(&event, user) };
            }
        });
        if !level.is_null() {
            // SAFETY: the caller's contract.
            unsafe { write(level, level_code(l))? };
        }
        Ok(())
    })
}

/// The monitor's state after the last frame.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_monitor_level(
    monitor: *const lc_monitor,
    out: *mut lc_level,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, level_code(ffi::get(monitor)?.monitor.level())) })
}

/// Frames observed.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_monitor_frames(monitor: *const lc_monitor, out: *mut u32) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(monitor)?.monitor.frames()) })
}

/// Telemetry of configured signal `i`.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_monitor_summary(
    monitor: *const lc_monitor,
    i: usize,
    out: *mut lc_summary,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let m = unsafe { ffi::get(monitor)? };
        let s = (i < m.signals)
            .then(|| m.monitor.summary(i))
            .flatten()
            .ok_or(Fail(LC_BAD_LENGTH))?;
        let (signal_kind, signal_index) = signal_parts(s.signal);
        let summary = lc_summary {
            signal_kind,
            signal_index,
            level: level_code(s.level),
            count: s.count,
            mean: s.mean,
            min: s.min,
            median: s.median,
            max: s.max,
            ewma: s.ewma,
            cusum: s.cusum,
        };
        // SAFETY: as above.
        unsafe { write(out, summary) }
    })
}

// ----------------------------------------------------------------------------------------------
// Label-free frame signals

/// The label-free signals of one frame (loss-core's `LabelFree`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lc_label_free {
    /// Pixels in the frame.
    pub pixels: u64,
    /// Classes of the mask (2 for a binary channel).
    pub classes: usize,
    /// Mean prediction entropy, normalised to `[0, 1]`.
    pub entropy: f32,
    /// Mean probability of the predicted class.
    pub confidence: f32,
    /// Fraction of pixels predicted as each class (0 past `classes`).
    pub area: [f32; LC_MAX_CLASSES],
    /// Whether the three consistency fields are set (a previous mask was compared).
    pub has_previous: bool,
    /// Mean foreground dice between this frame's mask and the previous one.
    pub consistency: f32,
    /// The same with IoU.
    pub consistency_iou: f32,
    /// Fraction of pixels whose class did not change.
    pub agreement: f32,
}

impl From<LabelFree<LC_MAX_CLASSES>> for lc_label_free {
    fn from(l: LabelFree<LC_MAX_CLASSES>) -> Self {
        let nan = f32::NAN;
        Self {
            pixels: l.pixels,
            classes: l.classes,
            entropy: l.entropy,
            confidence: l.confidence,
            area: l.area,
            has_previous: l.consistency.is_some(),
            consistency: l.consistency.unwrap_or(nan),
            consistency_iou: l.consistency_iou.unwrap_or(nan),
            agreement: l.agreement.unwrap_or(nan),
        }
    }
}

/// Words of storage of an [`lc_frame_signals`].
pub const LC_FRAME_SIGNALS_WORDS: usize = 40;

/// Streams one frame's label-free signals (entropy, confidence, area, temporal consistency).
/// Allocate it anywhere, then call [`lc_frame_signals_init`] for each frame. Do not copy an
/// initialised one: it holds the previous mask.
#[repr(C)]
#[derive(Debug)]
pub struct lc_frame_signals {
    magic: u32,
    reserved: u32,
    storage: [u64; LC_FRAME_SIGNALS_WORDS],
}
state!(
    lc_frame_signals,
    FrameSignals<'static, LC_MAX_CLASSES>,
    0x4c43_4d32
);

/// An empty frame of `channels` channels (1: binary). With `previous_mask` (one byte per
/// pixel, NULL for none) the frame tracks temporal consistency: the mask holds the previous
/// frame's classes when `holds_previous`, receives this frame's, and must stay valid until
/// [`lc_frame_signals_finish`].
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_frame_signals_init(
    signals: *mut lc_frame_signals,
    predictions: lc_predictions,
    channels: usize,
    previous_mask: *mut u8,
    mask_len: usize,
    holds_previous: bool,
) -> lc_status {
    run(|| {
        let s = FrameSignals::new(self::predictions(predictions)?, channels)?;
        let s = if previous_mask.is_null() {
            s
        } else {
            // SAFETY: `mask_len` writable bytes that outlive the frame (the contract).
            let mask = unsafe { slice_mut(previous_mask, mask_len)? };
            s.with_previous_mask(mask, holds_previous)?
        };
        // SAFETY: the caller's contract.
        unsafe { ffi::init(signals, s) }
    })
}

/// Adds whole pixels of scores; on error the frame is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_frame_signals_push(
    signals: *mut lc_frame_signals,
    layout: lc_layout,
    scores: *const f32,
    n: usize,
) -> lc_status {
    run(|| {
        // SAFETY: the caller's contract.
        let (s, p) = unsafe { (ffi::get_mut(signals)?, slice(scores, n)?) };
        Ok(s.push(crate::multi::layout(layout)?, p)?)
    })
}

/// # Safety
/// The crate's safety contract.
unsafe fn frame_push_codes<C: Code>(
    signals: *mut lc_frame_signals,
    layout: lc_layout,
    codes: *const C,
    n: usize,
    quantization: *const lc_class_quantization,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let (s, c) = unsafe { (ffi::get_mut(signals)?, slice(codes, n)?) };
    let l = crate::multi::layout(layout)?;
    // SAFETY: forwarded contract.
    unsafe { crate::multi::with_quantization(quantization, |q| Ok(s.push_codes(l, c, q)?)) }
}

/// Adds whole pixels of `int8` codes; on error the frame is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_frame_signals_push_codes_i8(
    signals: *mut lc_frame_signals,
    layout: lc_layout,
    codes: *const i8,
    n: usize,
    quantization: *const lc_class_quantization,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { frame_push_codes(signals, layout, codes, n, quantization) })
}

/// Adds whole pixels of `uint8` codes; on error the frame is unchanged.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_frame_signals_push_codes_u8(
    signals: *mut lc_frame_signals,
    layout: lc_layout,
    codes: *const u8,
    n: usize,
    quantization: *const lc_class_quantization,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { frame_push_codes(signals, layout, codes, n, quantization) })
}

/// The frame's signals.
///
/// # Safety
/// The crate's safety contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lc_frame_signals_finish(
    signals: *const lc_frame_signals,
    out: *mut lc_label_free,
) -> lc_status {
    // SAFETY: the caller's contract.
    run(|| unsafe { write(out, ffi::get(signals)?.finish()?.into()) })
}
