//! The monitor: per-frame label-free signals and the device's state machine.

use super::*;

fn signal(name: &str) -> PyResult<Signal> {
    let bad = || {
        value_error(format!(
            "signal `{name}` is not loss, entropy, confidence, consistency, consistency_iou, \
             or dice:N, iou:N, area:N, other:N (N a class or index below 256)"
        ))
    };
    Ok(match name {
        "loss" => Signal::Loss,
        "entropy" => Signal::Entropy,
        "confidence" => Signal::Confidence,
        "consistency" => Signal::Consistency,
        "consistency_iou" => Signal::ConsistencyIou,
        other => {
            let (kind, index) = other.split_once(':').ok_or_else(bad)?;
            let index: u8 = index.parse().map_err(|_| bad())?;
            match kind {
                "dice" => Signal::Dice(index),
                "iou" => Signal::Iou(index),
                "area" => Signal::Area(index),
                "other" => Signal::Other(index),
                _ => return Err(bad()),
            }
        }
    })
}

fn signal_name(s: Signal) -> String {
    match s {
        Signal::Loss => "loss".into(),
        Signal::Entropy => "entropy".into(),
        Signal::Confidence => "confidence".into(),
        Signal::Consistency => "consistency".into(),
        Signal::ConsistencyIou => "consistency_iou".into(),
        Signal::Dice(i) => format!("dice:{i}"),
        Signal::Iou(i) => format!("iou:{i}"),
        Signal::Area(i) => format!("area:{i}"),
        Signal::Other(i) => format!("other:{i}"),
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Alarm => "alarm",
    }
}

fn cause_name(c: Cause) -> &'static str {
    match c {
        Cause::Threshold => "threshold",
        Cause::Drift => "drift",
        Cause::Fault => "fault",
        Cause::Recovery => "recovery",
    }
}

/// One signal's configuration from a dict: `signal` (required) and any of `baseline` (mean,
/// std), `learn_frames`, `min_std`, `warn`, `alarm`, `hysteresis`, `debounce`, `cusum_k`,
/// `cusum_h`, `ewma_alpha`, `statistic` ("value" / "ewma"), `direction` ("up" / "down" /
/// "both"); unknown keys are errors.
fn signal_config(d: &Bound<'_, PyDict>) -> PyResult<SignalConfig> {
    let name: String = d
        .get_item("signal")?
        .ok_or_else(|| value_error("a signal configuration needs `signal`"))?
        .extract()?;
    let mut c = SignalConfig::new(signal(&name)?);
    for (key, value) in d.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "signal" => {}
            "baseline" => {
                if !value.is_none() {
                    let (mean, std): (f32, f32) = value.extract()?;
                    c.baseline = Some(Baseline { mean, std });
                }
            }
            "learn_frames" => c.learn_frames = value.extract()?,
            "min_std" => c.min_std = value.extract()?,
            "warn" => c.warn = value.extract()?,
            "alarm" => c.alarm = value.extract()?,
            "hysteresis" => c.hysteresis = value.extract()?,
            "debounce" => c.debounce = value.extract()?,
            "cusum_k" => c.cusum_k = value.extract()?,
            "cusum_h" => c.cusum_h = value.extract()?,
            "ewma_alpha" => c.ewma_alpha = value.extract()?,
            "statistic" => {
                c.statistic = match value.extract::<String>()?.as_str() {
                    "value" => Statistic::Value,
                    "ewma" => Statistic::Ewma,
                    other => {
                        return Err(value_error(format!(
                            "statistic `{other}` is not \"value\" or \"ewma\""
                        )));
                    }
                }
            }
            "direction" => {
                c.direction = match value.extract::<String>()?.as_str() {
                    "up" => Direction::Up,
                    "down" => Direction::Down,
                    "both" => Direction::Both,
                    other => {
                        return Err(value_error(format!(
                            "direction `{other}` is not \"up\", \"down\" or \"both\""
                        )));
                    }
                }
            }
            other => {
                return Err(value_error(format!(
                    "unknown signal configuration key `{other}`"
                )));
            }
        }
    }
    c.validate().map_err(err)?;
    Ok(c)
}

fn event_dict<'py>(py: Python<'py>, e: &Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match *e {
        Event::Transition {
            frame,
            signal,
            from,
            to,
            cause,
            value,
            baseline,
        } => {
            d.set_item("event", "transition")?;
            d.set_item("frame", frame)?;
            d.set_item("signal", signal_name(signal))?;
            d.set_item("from", level_name(from))?;
            d.set_item("to", level_name(to))?;
            d.set_item("cause", cause_name(cause))?;
            d.set_item("value", value)?;
            d.set_item("baseline", baseline)?;
        }
        Event::Fault {
            frame,
            signal,
            value,
        } => {
            d.set_item("event", "fault")?;
            d.set_item("frame", frame)?;
            d.set_item("signal", signal_name(signal))?;
            d.set_item("value", value)?;
        }
        Event::BaselineLearned {
            frame,
            signal,
            baseline,
        } => {
            d.set_item("event", "baseline_learned")?;
            d.set_item("frame", frame)?;
            d.set_item("signal", signal_name(signal))?;
            d.set_item("mean", baseline.mean)?;
            d.set_item("std", baseline.std)?;
        }
    }
    Ok(d)
}

/// The tracks of a `Monitor<S, N>`: each signal is watched on its own (the device's monitor
/// runs its tracks one after the other on the same frame index and takes the highest level),
/// so `S` one-signal monitors in configuration order give its events and levels exactly.
enum Tracks {
    W16(Vec<CoreMonitor<1, 16>>),
    W32(Vec<CoreMonitor<1, 32>>),
    W64(Vec<CoreMonitor<1, 64>>),
    W128(Vec<CoreMonitor<1, 128>>),
}

macro_rules! each_track {
    ($tracks:expr, |$v:ident| $body:expr) => {
        match $tracks {
            Tracks::W16($v) => $body,
            Tracks::W32($v) => $body,
            Tracks::W64($v) => $body,
            Tracks::W128($v) => $body,
        }
    };
}

/// The edge monitor (`loss_core::monitor::Monitor`): replays per-frame signal values, as
/// recorded from a device, through the device's state machine.
#[pyclass(module = "loss_core")]
pub struct Monitor {
    tracks: Tracks,
    level: Level,
    frames: u32,
}

#[pymethods]
impl Monitor {
    /// `signals`: one dict per signal (see `docs/python.md`); `window`: the device's `N`
    /// (16, 32, 64 or 128).
    #[new]
    #[pyo3(signature = (signals, window=32))]
    fn new(signals: &Bound<'_, PyList>, window: usize) -> PyResult<Self> {
        let configs = signals
            .iter()
            .map(|s| signal_config(s.cast::<PyDict>()?))
            .collect::<PyResult<Vec<_>>>()?;
        macro_rules! make {
            () => {
                configs
                    .iter()
                    .map(|c| CoreMonitor::new([*c]).map_err(err))
                    .collect::<PyResult<Vec<_>>>()?
            };
        }
        let tracks = match window {
            16 => Tracks::W16(make!()),
            32 => Tracks::W32(make!()),
            64 => Tracks::W64(make!()),
            128 => Tracks::W128(make!()),
            other => {
                return Err(value_error(format!(
                    "window {other} is not 16, 32, 64 or 128"
                )));
            }
        };
        Ok(Self {
            tracks,
            level: Level::Ok,
            frames: 0,
        })
    }

    /// One frame: a value per signal (`None`: not measured); returns the monitor's level
    /// (`"ok"`, `"warn"`, `"alarm"`) and the events, in signal order.
    fn observe<'py>(
        &mut self,
        py: Python<'py>,
        values: Vec<Option<f32>>,
    ) -> PyResult<(&'static str, Bound<'py, PyList>)> {
        let events = PyList::empty(py);
        let mut found = Vec::new();
        let level = each_track!(&mut self.tracks, |tracks| {
            if values.len() != tracks.len() {
                return Err(value_error(format!(
                    "{} values for {} signals",
                    values.len(),
                    tracks.len()
                )));
            }
            let mut level = Level::Ok;
            for (m, v) in tracks.iter_mut().zip(&values) {
                level = level.max(m.observe(&[*v], |e| found.push(e)));
            }
            level
        });
        for e in &found {
            events.append(event_dict(py, e)?)?;
        }
        self.level = level;
        self.frames = self.frames.saturating_add(1);
        Ok((level_name(level), events))
    }

    /// Many frames at once, as recorded from a device: `values` is `(frames, signals)`
    /// (float32 read in place, anything else converted once), `measured` an optional bool
    /// array of the same shape (`False`: not measured that frame). Returns the level after
    /// each frame as uint8 codes (0 ok, 1 warn, 2 alarm) and the events, in order; the same
    /// as `observe` frame by frame. The GIL is released while the frames run.
    #[pyo3(signature = (values, measured=None))]
    fn replay<'py>(
        &mut self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        measured: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyArray1<u8>>, Bound<'py, PyList>)> {
        let v = contiguous::<f32>(values, "values")?;
        let signals = each_track!(&self.tracks, |tracks| tracks.len());
        let shape = v.shape().to_vec();
        if shape.len() != 2 || shape[1] != signals {
            return Err(value_error(format!(
                "values has shape {shape:?}, expected (frames, {signals})"
            )));
        }
        let m = measured
            .map(|m| contiguous::<bool>(m, "measured"))
            .transpose()?;
        let m = m.as_ref().map(slice).transpose()?;
        let v = slice(&v)?;
        if let Some(m) = m
            && m.len() != v.len()
        {
            return Err(value_error(format!(
                "measured has {} values, values {}",
                m.len(),
                v.len()
            )));
        }
        let tracks = &mut self.tracks;
        let (levels, found) = py.detach(|| {
            let mut levels = Vec::new();
            let mut found = Vec::new();
            let mut level = Level::Ok;
            if signals > 0 {
                for (f, row) in v.chunks(signals).enumerate() {
                    level = each_track!(&mut *tracks, |tracks| {
                        let mut level = Level::Ok;
                        for (s, (track, &x)) in tracks.iter_mut().zip(row).enumerate() {
                            let given = m.is_none_or(|m| m.get(f * signals + s) == Some(&true));
                            let value = given.then_some(x);
                            level = level.max(track.observe(&[value], |e| found.push(e)));
                        }
                        level
                    });
                    levels.push(match level {
                        Level::Ok => 0u8,
                        Level::Warn => 1,
                        Level::Alarm => 2,
                    });
                }
            }
            (levels, (found, level))
        });
        let (found, last) = found;
        let events = PyList::empty(py);
        for e in &found {
            events.append(event_dict(py, e)?)?;
        }
        if !levels.is_empty() {
            self.level = last;
        }
        let frames = u32::try_from(levels.len()).unwrap_or(u32::MAX);
        self.frames = self.frames.saturating_add(frames);
        Ok((PyArray1::from_vec(py, levels), events))
    }

    /// The level after the last frame.
    #[getter]
    fn level(&self) -> &'static str {
        level_name(self.level)
    }

    /// Frames observed.
    #[getter]
    fn frames(&self) -> u32 {
        self.frames
    }

    /// Telemetry of signal `i`: level, window count, mean, min, median, max, EWMA, CUSUM.
    fn summary<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyDict>> {
        let s = each_track!(&self.tracks, |tracks| tracks
            .get(i)
            .and_then(|m| m.summary(0)))
        .ok_or_else(|| value_error(format!("no signal {i}")))?;
        let d = PyDict::new(py);
        d.set_item("signal", signal_name(s.signal))?;
        d.set_item("level", level_name(s.level))?;
        d.set_item("count", s.count)?;
        d.set_item("mean", s.mean)?;
        d.set_item("min", s.min)?;
        d.set_item("median", s.median)?;
        d.set_item("max", s.max)?;
        d.set_item("ewma", s.ewma)?;
        d.set_item("cusum", s.cusum)?;
        Ok(d)
    }
}

/// The label-free signals of each frame of a model's output (`loss_core::monitor::
/// FrameSignals`): entropy, confidence, area per class and, with `consistency=True`, the
/// temporal consistency against the previous frame (the previous mask is kept here, one byte
/// per pixel, as the device keeps it in a buffer it lends). The values to feed a `Monitor`.
#[pyclass(module = "loss_core")]
pub struct FrameSignals {
    predictions: Predictions,
    channels: usize,
    consistency: bool,
    mask: Vec<u8>,
    holds_previous: bool,
}

impl FrameSignals {
    /// Runs one frame: `push` adds its pixels to a fresh `loss-core` frame.
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        len: usize,
        push: impl FnOnce(&mut CoreFrameSignals<'_, CLASSES>) -> Result<(), Error> + Send,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (predictions, channels, consistency) =
            (self.predictions, self.channels, self.consistency);
        let pixels = len.checked_div(channels).unwrap_or(0);
        if consistency && self.mask.len() != pixels {
            // A frame of another size: no previous mask to compare with.
            self.mask = vec![0; pixels];
            self.holds_previous = false;
        }
        let (mask, holds) = (&mut self.mask, self.holds_previous);
        let signals = py.detach(|| {
            let mut frame = CoreFrameSignals::<CLASSES>::new(predictions, channels)?;
            if consistency {
                frame = frame.with_previous_mask(mask, holds)?;
            }
            push(&mut frame)?;
            frame.finish()
        });
        // After an error the mask may hold part of this frame: nothing to compare with.
        self.holds_previous = consistency && signals.is_ok();
        let signals = signals.map_err(err)?;
        let d = PyDict::new(py);
        d.set_item("pixels", signals.pixels)?;
        d.set_item("classes", signals.classes)?;
        d.set_item("entropy", signals.entropy)?;
        d.set_item("confidence", signals.confidence)?;
        let area: Vec<f32> = (0..signals.classes)
            .filter_map(|c| signals.area(c))
            .collect();
        d.set_item("area", vector(py, area))?;
        d.set_item("consistency", signals.consistency)?;
        d.set_item("consistency_iou", signals.consistency_iou)?;
        d.set_item("agreement", signals.agreement)?;
        Ok(d)
    }
}

#[pymethods]
impl FrameSignals {
    /// `channels` of the model's output (1: a binary channel), `predictions` `"logits"` or
    /// `"probabilities"`.
    #[new]
    #[pyo3(signature = (channels, predictions="logits", consistency=false))]
    fn new(channels: usize, predictions: &str, consistency: bool) -> PyResult<Self> {
        let predictions = self::predictions(predictions)?;
        CoreFrameSignals::<CLASSES>::new(predictions, channels).map_err(err)?;
        Ok(Self {
            predictions,
            channels,
            consistency,
            mask: Vec::new(),
            holds_previous: false,
        })
    }

    /// The signals of one whole frame of scores: a dict with `pixels`, `classes`, `entropy`,
    /// `confidence`, `area` (per class), `consistency`, `consistency_iou`, `agreement` (None
    /// without `consistency=True` or on the first frame's comparison).
    #[pyo3(signature = (scores, layout="channels_first"))]
    fn frame<'py>(
        &mut self,
        py: Python<'py>,
        scores: &Bound<'py, PyAny>,
        layout: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let layout = self::layout(layout)?;
        let s = contiguous::<f32>(scores, "scores")?;
        let s = slice(&s)?;
        self.run(py, s.len(), |f| f.push(layout, s))
    }

    /// The same for a frame of `int8` / `uint8` codes with a scale and zero point (scalars,
    /// or one per channel).
    #[pyo3(signature = (codes, scale, zero_point, layout="channels_first"))]
    fn frame_codes<'py>(
        &mut self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        scale: &Bound<'py, PyAny>,
        zero_point: &Bound<'py, PyAny>,
        layout: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let layout = self::layout(layout)?;
        let q = quantizations(scale, zero_point)?;
        match kind(codes) {
            Some(b'i') if codes.cast::<PyArrayDyn<i8>>().is_ok() => {
                let c = contiguous::<i8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<i8>(&q)?;
                self.run(py, c.len(), |f| f.push_codes(layout, c, &q))
            }
            Some(b'u') if is_u8(codes) => {
                let c = contiguous::<u8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<u8>(&q)?;
                self.run(py, c.len(), |f| f.push_codes(layout, c, &q))
            }
            _ => Err(value_error("codes must be an int8 or uint8 array")),
        }
    }
}
