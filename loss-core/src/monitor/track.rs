//! One monitored signal: its configuration, baseline, window, EWMA, CUSUM and state machine.

use super::{Cause, Event, Level, Signal, Window};
use crate::Error;

/// Which way a signal goes when the model gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Higher is worse (loss, entropy).
    Up,
    /// Lower is worse (dice, IoU, confidence, consistency).
    Down,
    /// Any change is suspect (predicted area).
    Both,
}

/// What the thresholds are applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Statistic {
    /// Each frame's value.
    Value,
    /// The EWMA, scored against its own stationary spread `std · sqrt(alpha / (2 - alpha))`
    /// so that the same thresholds in standard deviations apply.
    Ewma,
}

/// A signal's normal behaviour: mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Baseline {
    /// Mean.
    pub mean: f32,
    /// Standard deviation (the monitor floors it at [`SignalConfig::min_std`]).
    pub std: f32,
}

/// How one signal is watched. Build it with [`SignalConfig::new`] (the defaults below) and the
/// `with_*` methods, all `const` so a configuration printed by `loss-tools monitor-baseline`
/// can be a `const` in firmware. [`Monitor::new`](super::Monitor::new) validates it.
///
/// Thresholds are in standard deviations of the baseline (`z = (x - mean) / std`, oriented so
/// that positive is worse; `|z|` for [`Direction::Both`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SignalConfig {
    /// What the signal is (reported in events).
    pub signal: Signal,
    /// Which way is worse. Default: [`Signal::worse`].
    pub direction: Direction,
    /// A baseline supplied by the host, or `None` to learn it on the device.
    pub baseline: Option<Baseline>,
    /// Frames the baseline is learned from when none is supplied (>= 2). Default 128: with
    /// fewer, the estimation error of the mean and std alone causes false alarms (see
    /// `docs/monitoring.md`).
    pub learn_frames: u16,
    /// Floor of the baseline's standard deviation, in the signal's units (> 0): a signal that
    /// was constant while learning is otherwise infinitely sensitive. Default `1e-3`.
    pub min_std: f32,
    /// Entering `Warn` (z). Default 3.
    pub warn: f32,
    /// Entering `Alarm` (z, at least `warn`). Default 5.
    pub alarm: f32,
    /// A level is left only below its threshold minus this (z, >= 0). Default 1.
    pub hysteresis: f32,
    /// Consecutive frames a level must be reached (or left) before the state changes (>= 1).
    /// Default 3.
    pub debounce: u8,
    /// CUSUM reference value `k` (z, >= 0): drifts smaller than `k` are tolerated; `k` is half
    /// the shift it is tuned to find fastest. Default 1 (shifts of 2 standard deviations).
    pub cusum_k: f32,
    /// CUSUM decision interval `h` (z, > 0): the statistic above it means `Alarm`. Default 10.
    pub cusum_h: f32,
    /// EWMA weight of the newest value, `0 < alpha <= 1`. Default 0.1.
    pub ewma_alpha: f32,
    /// What the thresholds test. Default [`Statistic::Value`].
    pub statistic: Statistic,
}

impl SignalConfig {
    /// The defaults listed on the fields, for `signal`.
    pub const fn new(signal: Signal) -> Self {
        Self {
            signal,
            direction: signal.worse(),
            baseline: None,
            learn_frames: 128,
            min_std: 1e-3,
            warn: 3.0,
            alarm: 5.0,
            hysteresis: 1.0,
            debounce: 3,
            cusum_k: 1.0,
            cusum_h: 10.0,
            ewma_alpha: 0.1,
            statistic: Statistic::Value,
        }
    }

    /// A supplied baseline (no learning).
    #[must_use]
    pub const fn with_baseline(mut self, mean: f32, std: f32) -> Self {
        self.baseline = Some(Baseline { mean, std });
        self
    }

    /// Learn the baseline from the first `frames` frames.
    #[must_use]
    pub const fn learning(mut self, frames: u16) -> Self {
        self.baseline = None;
        self.learn_frames = frames;
        self
    }

    /// Another direction.
    #[must_use]
    pub const fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// `Warn` and `Alarm` thresholds (z).
    #[must_use]
    pub const fn with_thresholds(mut self, warn: f32, alarm: f32) -> Self {
        self.warn = warn;
        self.alarm = alarm;
        self
    }

    /// Hysteresis (z) and debounce (frames).
    #[must_use]
    pub const fn with_hysteresis(mut self, hysteresis: f32, debounce: u8) -> Self {
        self.hysteresis = hysteresis;
        self.debounce = debounce;
        self
    }

    /// CUSUM reference value and decision interval (z).
    #[must_use]
    pub const fn with_cusum(mut self, k: f32, h: f32) -> Self {
        self.cusum_k = k;
        self.cusum_h = h;
        self
    }

    /// EWMA weight.
    #[must_use]
    pub const fn with_ewma(mut self, alpha: f32) -> Self {
        self.ewma_alpha = alpha;
        self
    }

    /// Apply the thresholds to another statistic.
    #[must_use]
    pub const fn with_statistic(mut self, statistic: Statistic) -> Self {
        self.statistic = statistic;
        self
    }

    /// Floor of the baseline's standard deviation.
    #[must_use]
    pub const fn with_min_std(mut self, min_std: f32) -> Self {
        self.min_std = min_std;
        self
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field (`"baseline"` for a non-finite mean or a
    /// negative or non-finite std).
    pub fn validate(&self) -> Result<(), Error> {
        let finite_at_least = |v: f32, min: f32| v.is_finite() && v >= min;
        if let Some(b) = self.baseline
            && !(b.mean.is_finite() && finite_at_least(b.std, 0.0))
        {
            return Err(Error::InvalidParameter("baseline"));
        }
        let checks = [
            (
                self.baseline.is_some() || self.learn_frames >= 2,
                "learn_frames",
            ),
            (
                finite_at_least(self.min_std, 0.0) && self.min_std > 0.0,
                "min_std",
            ),
            (finite_at_least(self.warn, 0.0), "warn"),
            (finite_at_least(self.alarm, self.warn), "alarm"),
            (finite_at_least(self.hysteresis, 0.0), "hysteresis"),
            (self.debounce >= 1, "debounce"),
            (finite_at_least(self.cusum_k, 0.0), "cusum_k"),
            (
                finite_at_least(self.cusum_h, 0.0) && self.cusum_h > 0.0,
                "cusum_h",
            ),
            (
                self.ewma_alpha > 0.0 && self.ewma_alpha <= 1.0,
                "ewma_alpha",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, name)) => Err(Error::InvalidParameter(name)),
            None => Ok(()),
        }
    }
}

/// Welford's running mean and sum of squared deviations, for the learned baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Learner {
    n: u16,
    mean: f32,
    m2: f32,
}

/// Consecutive frames at or above `Warn` / `Alarm`, and below them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Streaks {
    at_warn: u8,
    at_alarm: u8,
    below_warn: u8,
    below_alarm: u8,
}

impl Streaks {
    fn count(&mut self, candidate: Level) {
        let step = |s: &mut u8, hit: bool| *s = if hit { s.saturating_add(1) } else { 0 };
        step(&mut self.at_warn, candidate >= Level::Warn);
        step(&mut self.at_alarm, candidate >= Level::Alarm);
        step(&mut self.below_warn, candidate < Level::Warn);
        step(&mut self.below_alarm, candidate < Level::Alarm);
    }

    /// The state after this frame: up to the highest level held for `d` frames, else down to
    /// the lowest level left for `d` frames, else unchanged.
    fn next(&self, now: Level, d: u8) -> Level {
        if now < Level::Alarm && self.at_alarm >= d {
            Level::Alarm
        } else if now < Level::Warn && self.at_warn >= d {
            Level::Warn
        } else if now > Level::Ok && self.below_warn >= d {
            Level::Ok
        } else if now > Level::Warn && self.below_alarm >= d {
            Level::Warn
        } else {
            now
        }
    }
}

/// The state of one monitored signal (see the [module docs](super)).
#[derive(Debug, Clone, PartialEq)]
pub struct Track<const N: usize> {
    config: SignalConfig,
    window: Window<N>,
    ewma: f32,
    learner: Learner,
    baseline: Option<Baseline>,
    cusum_up: f32,
    cusum_down: f32,
    level: Level,
    streaks: Streaks,
    faults: u32,
}

impl<const N: usize> Track<N> {
    /// A track for a configuration that passed [`SignalConfig::validate`].
    pub(super) fn new(config: SignalConfig) -> Self {
        Self {
            config,
            window: Window::new(),
            ewma: 0.0,
            learner: Learner {
                n: 0,
                mean: 0.0,
                m2: 0.0,
            },
            baseline: config.baseline.map(|b| Baseline {
                mean: b.mean,
                std: floor(b.std, config.min_std),
            }),
            cusum_up: 0.0,
            cusum_down: 0.0,
            level: Level::Ok,
            streaks: Streaks::default(),
            faults: 0,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &SignalConfig {
        &self.config
    }

    /// The last `N` finite values.
    pub const fn window(&self) -> &Window<N> {
        &self.window
    }

    /// The EWMA of the finite values (`None` before the first).
    pub fn ewma(&self) -> Option<f32> {
        (!self.window.is_empty()).then_some(self.ewma)
    }

    /// The baseline in use (std floored), `None` while it is being learned.
    pub const fn baseline(&self) -> Option<Baseline> {
        self.baseline
    }

    /// The CUSUM statistic on the worse side (z; the larger side for `Both`).
    pub fn cusum(&self) -> f32 {
        match self.config.direction {
            Direction::Up => self.cusum_up,
            Direction::Down => self.cusum_down,
            Direction::Both => self.cusum_up.max(self.cusum_down),
        }
    }

    /// The signal's state.
    pub const fn level(&self) -> Level {
        self.level
    }

    /// Non-finite values seen (saturating).
    pub const fn faults(&self) -> u32 {
        self.faults
    }

    /// Takes one frame's value (`None`: not measured this frame, nothing changes) and reports
    /// what happened through `emit`.
    pub(super) fn observe(&mut self, frame: u32, value: Option<f32>, emit: &mut impl FnMut(Event)) {
        let Some(x) = value else { return };
        let signal = self.config.signal;
        let candidate = if x.is_finite() {
            self.take(frame, x, emit)
        } else {
            self.faults = self.faults.saturating_add(1);
            emit(Event::Fault {
                frame,
                signal,
                value: x,
            });
            Some((Level::Alarm, Cause::Fault))
        };
        let Some((candidate, cause)) = candidate else {
            return;
        };
        self.streaks.count(candidate);
        let next = self.streaks.next(self.level, self.config.debounce);
        if next != self.level {
            let from = self.level;
            self.level = next;
            emit(Event::Transition {
                frame,
                signal,
                from,
                to: next,
                cause: if next > from { cause } else { Cause::Recovery },
                value: x,
                baseline: self.baseline.map_or(f32::NAN, |b| b.mean),
            });
        }
    }

    /// Updates the window, EWMA, baseline and CUSUM with a finite value; returns the level the
    /// frame points to and why, or `None` while the baseline is being learned.
    fn take(&mut self, frame: u32, x: f32, emit: &mut impl FnMut(Event)) -> Option<(Level, Cause)> {
        let c = self.config;
        // The window only ever holds finite values, so an empty one means "no value yet".
        self.ewma = if self.window.is_empty() {
            x
        } else {
            self.ewma + c.ewma_alpha * (x - self.ewma)
        };
        self.window.push(x);
        let Some(b) = self.baseline else {
            self.learn(frame, x, emit);
            return None;
        };
        let orient = |z: f32| match c.direction {
            Direction::Up => z,
            Direction::Down => -z,
            Direction::Both => z.abs(),
        };
        let z = (x - b.mean) / b.std;
        // Page's two-sided CUSUM on z, each side capped at 2h so that it falls back below h
        // within about h / k normal frames once a drift ends.
        let cap = 2.0 * c.cusum_h;
        self.cusum_up = clamp(self.cusum_up + z - c.cusum_k, cap);
        self.cusum_down = clamp(self.cusum_down - z - c.cusum_k, cap);
        let score = orient(match c.statistic {
            Statistic::Value => z,
            Statistic::Ewma => {
                let spread = libm::sqrtf(c.ewma_alpha / (2.0 - c.ewma_alpha));
                (self.ewma - b.mean) / (b.std * spread)
            }
        });
        // A level already held is kept down to its threshold minus the hysteresis.
        let threshold = |level: Level, at: f32| {
            if self.level >= level {
                at - c.hysteresis
            } else {
                at
            }
        };
        let level = if score >= threshold(Level::Alarm, c.alarm) {
            Level::Alarm
        } else if score >= threshold(Level::Warn, c.warn) {
            Level::Warn
        } else {
            Level::Ok
        };
        if self.cusum() > c.cusum_h && level < Level::Alarm {
            Some((Level::Alarm, Cause::Drift))
        } else {
            Some((level, Cause::Threshold))
        }
    }

    fn learn(&mut self, frame: u32, x: f32, emit: &mut impl FnMut(Event)) {
        let l = &mut self.learner;
        l.n = l.n.saturating_add(1);
        let delta = x - l.mean;
        l.mean += delta / f32::from(l.n);
        l.m2 += delta * (x - l.mean);
        if l.n >= self.config.learn_frames {
            let std = libm::sqrtf(l.m2 / f32::from(l.n - 1));
            let baseline = Baseline {
                mean: l.mean,
                std: floor(std, self.config.min_std),
            };
            self.baseline = Some(baseline);
            emit(Event::BaselineLearned {
                frame,
                signal: self.config.signal,
                baseline,
            });
        }
    }
}

fn floor(std: f32, min: f32) -> f32 {
    if std > min { std } else { min }
}

/// `v` clamped to `[0, cap]`.
fn clamp(v: f32, cap: f32) -> f32 {
    if v > cap {
        cap
    } else if v > 0.0 {
        v
    } else {
        0.0
    }
}
