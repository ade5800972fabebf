//! `loss-tools monitor-baseline`: baselines and thresholds for `loss_core::monitor` from a
//! directory of validation outputs, printed as Rust code (a `const` array of `SignalConfig`
//! for the firmware) and JSON.
//!
//! Each `.npy` file holds model outputs (`HW`, `CHW`/`HWC` or `NCHW`/`NHWC`); files are read in
//! name order and each sample is one frame, so consecutive files should be consecutive frames
//! of a camera stream for the temporal-consistency baseline to mean anything. The signals are
//! computed by `loss_core::monitor::FrameSignals`, the code the device runs.
//!
//! # Thresholds
//! With `z` the signal's deviation from the validation mean in standard deviations, oriented
//! so that positive is worse:
//! - `warn = max(3, 1.25 max z)`, `alarm = max(5, warn + 2)`: no validation frame comes within
//!   25 % of the warning threshold;
//! - the CUSUM (`k = 1`) is run over the validation frames in order and
//!   `h = max(10, 1.5 max g)`: correlated validation streams get a proportionally higher
//!   decision interval.
//!
//! The validation frames are then replayed through the monitor with the printed
//! configuration and the number of state changes is reported (0 unless the set itself drifts).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use loss_core::Predictions;
use loss_core::monitor::{Direction, FrameSignals, LabelFree, Monitor, Signal, SignalConfig};
use serde_json::json;

use super::Failure;
use crate::input::files::list_dir;
use crate::input::{LayoutArg, geometry};
use crate::io::npy::Data;
use crate::io::{self, Raw, Source, shape_text};

/// Class capacity of the frame accumulator (masks hold one byte per pixel).
const CAP: usize = 256;
/// CUSUM reference value used for calibration and printed.
const CUSUM_K: f64 = 1.0;

/// `loss-tools monitor-baseline` arguments.
#[derive(Debug, Clone, Args)]
pub struct MonitorBaselineArgs {
    /// A directory of validation outputs (`.npy`), one or more frames per file, in name order.
    pub dir: PathBuf,
    /// The outputs are logits (softmax, or sigmoid for one channel), not probabilities.
    #[arg(long)]
    pub from_logits: bool,
    /// Memory layout of the outputs; `auto` guesses from the shape.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub layout: LayoutArg,
    /// Signals, comma separated: `entropy`, `confidence`, `consistency`, `consistency-iou`,
    /// `area:<class>`. Default: entropy, confidence, consistency and the area of every
    /// foreground class.
    #[arg(long, value_delimiter = ',')]
    pub signals: Option<Vec<String>>,
    /// Floor of every baseline standard deviation (the monitor's `min_std`).
    #[arg(long, default_value_t = 1e-3)]
    pub min_std: f32,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Rust code, then JSON.
    Both,
    /// Rust code only.
    Rust,
    /// JSON only.
    Json,
}

/// One calibrated signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrated {
    /// The signal.
    pub signal: Signal,
    /// Its name on the command line.
    pub name: String,
    /// The configuration to print.
    pub config: SignalConfig,
    /// The validation values (frames where it was measured).
    pub values: Vec<f32>,
    /// Largest oriented z of the validation values.
    pub max_z: f64,
    /// Largest CUSUM statistic over the validation values.
    pub max_cusum: f64,
    /// State changes when the validation values are replayed through the monitor.
    pub replay_transitions: usize,
}

/// The whole calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Frames read.
    pub frames: usize,
    /// Mask classes (2 for one binary channel).
    pub classes: usize,
    /// `64x64`, `NCHW`, ... for the header.
    pub description: String,
    /// One per signal.
    pub signals: Vec<Calibrated>,
}

/// Runs the command.
pub fn run(args: &MonitorBaselineArgs) -> Result<(), Failure> {
    let c = calibrate(args)?;
    let mut text = String::new();
    if args.format != Format::Json {
        text.push_str(&rust_code(&c));
    }
    if args.format == Format::Both {
        text.push('\n');
    }
    if args.format != Format::Rust {
        text.push_str(&format!("{:#}\n", to_json(&c)));
    }
    super::print(&text)
}

fn parse_signal(name: &str, classes: usize) -> Result<Signal, String> {
    match name {
        "entropy" => Ok(Signal::Entropy),
        "confidence" => Ok(Signal::Confidence),
        "consistency" => Ok(Signal::Consistency),
        "consistency-iou" => Ok(Signal::ConsistencyIou),
        _ => {
            let class = name
                .strip_prefix("area:")
                .and_then(|c| c.parse::<usize>().ok())
                .ok_or_else(|| {
                    format!(
                        "unknown signal `{name}`: expected entropy, confidence, consistency, \
                         consistency-iou or area:<class>"
                    )
                })?;
            if class >= classes {
                return Err(format!(
                    "area:{class}: the outputs have {classes} classes (0..{classes})"
                ));
            }
            u8::try_from(class)
                .map(Signal::Area)
                .map_err(|_| format!("area:{class}: class index above 255"))
        }
    }
}

fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let files = list_dir(dir)?;
    if files.is_empty() {
        return Err(format!("{}: no files", crate::io::path_text(dir)));
    }
    Ok(files)
}

/// Reads every frame and computes the baselines, thresholds and replay.
///
/// # Errors
/// A message naming the file at fault, or the argument.
pub fn calibrate(args: &MonitorBaselineArgs) -> Result<Calibration, String> {
    if !(args.min_std.is_finite() && args.min_std > 0.0) {
        return Err("--min-std must be positive".into());
    }
    let Frames {
        frames,
        channels,
        description,
    } = read_frames(args)?;
    let classes = channels.max(2);
    let names = args.signals.clone().unwrap_or_else(|| {
        let mut v: Vec<String> = ["entropy", "confidence", "consistency"]
            .map(String::from)
            .to_vec();
        v.extend((1..classes).map(|c| format!("area:{c}")));
        v
    });
    let mut signals = Vec::new();
    for name in names {
        let signal = parse_signal(&name, classes)?;
        let values = validation_values(&frames, signal, &name)?;
        signals.push(calibrate_signal(signal, name, values, args.min_std));
    }
    Ok(Calibration {
        frames: frames.len(),
        classes,
        description,
        signals,
    })
}

/// The validation frames' signals, in file and sample order.
struct Frames {
    /// One per frame.
    frames: Vec<LabelFree<CAP>>,
    /// Channels of the model outputs.
    channels: usize,
    /// `64x64 frames, NCHW ...`, for the header.
    description: String,
}

/// Computes the signals of every frame of every file, each frame against the previous one.
fn read_frames(args: &MonitorBaselineArgs) -> Result<Frames, String> {
    let predictions = if args.from_logits {
        Predictions::Logits
    } else {
        Predictions::Probabilities
    };
    let mut frames = Vec::new();
    let mut first: Option<(usize, usize, String)> = None;
    let mut mask = Vec::new();
    for path in files(&args.dir)? {
        let name = crate::io::path_text(&path);
        let loaded =
            io::load(&Source::File(path), Raw::No, None).map_err(|e| format!("{name}: {e}"))?;
        let Data::Float(scores) = loaded.data else {
            return Err(format!("{name}: model outputs must be floating point"));
        };
        let (g, note) = geometry(&loaded.shape, args.layout).map_err(|e| format!("{name}: {e}"))?;
        if let Some(i) = loss_core::first_non_finite(&scores) {
            return Err(format!(
                "{name}: {} at index {i} ({}): model outputs must be finite",
                scores.get(i).copied().unwrap_or(f32::NAN),
                g.position(i)
            ));
        }
        let frame_len = g.classes * g.spatial();
        match &first {
            None => {
                first = Some((
                    g.classes,
                    g.spatial(),
                    format!("{}x{} frames, {note}", g.height, g.width),
                ));
                mask = vec![0u8; g.spatial()];
            }
            Some((c, s, _)) if (*c, *s) != (g.classes, g.spatial()) => {
                return Err(format!(
                    "{name}: shape {} differs from the first file's {c} classes x {s} pixels",
                    shape_text(&loaded.shape)
                ));
            }
            Some(_) => {}
        }
        for (n, sample) in scores.chunks_exact(frame_len).enumerate() {
            let mut s = FrameSignals::<CAP>::new(predictions, g.classes)
                .and_then(|s| s.with_previous_mask(&mut mask, !frames.is_empty()))
                .map_err(|e| format!("{name}: {e}"))?;
            s.push(g.layout, sample)
                .and_then(|()| s.finish())
                .map(|f| frames.push(f))
                .map_err(|e| {
                    let hint = if matches!(e, loss_core::Error::OutOfRange { .. }) {
                        " (pass --from-logits for logits)"
                    } else {
                        ""
                    };
                    format!("{name}: sample {n}: {e}{hint}")
                })?;
        }
    }
    let Some((channels, _, description)) = first else {
        return Err("no frames".into());
    };
    Ok(Frames {
        frames,
        channels,
        description,
    })
}

/// The values of `signal` over the validation frames (where it was measured): at least two, all
/// finite.
fn validation_values(
    frames: &[LabelFree<CAP>],
    signal: Signal,
    name: &str,
) -> Result<Vec<f32>, String> {
    let values: Vec<f32> = frames
        .iter()
        .filter_map(|f| match signal {
            Signal::Entropy => Some(f.entropy),
            Signal::Confidence => Some(f.confidence),
            Signal::Consistency => f.consistency,
            Signal::ConsistencyIou => f.consistency_iou,
            Signal::Area(c) => f.area(usize::from(c)),
            _ => None,
        })
        .collect();
    if values.len() < 2 {
        return Err(format!(
            "{name}: {} value(s) in the validation set; at least 2 are needed",
            values.len()
        ));
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(format!(
            "{name}: the validation set gives {v}: non-finite model outputs"
        ));
    }
    Ok(values)
}

fn calibrate_signal(signal: Signal, name: String, values: Vec<f32>, min_std: f32) -> Calibrated {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let std = var.sqrt().max(f64::from(min_std));
    let direction = signal.worse();
    let orient = |z: f64| match direction {
        Direction::Up => z,
        Direction::Down => -z,
        Direction::Both => z.abs(),
    };
    let (mut max_z, mut up, mut down, mut max_g) = (f64::NEG_INFINITY, 0.0f64, 0.0f64, 0.0f64);
    for &v in &values {
        let z = (f64::from(v) - mean) / std;
        max_z = max_z.max(orient(z));
        up = (up + z - CUSUM_K).max(0.0);
        down = (down - z - CUSUM_K).max(0.0);
        let g = match direction {
            Direction::Up => up,
            Direction::Down => down,
            Direction::Both => up.max(down),
        };
        max_g = max_g.max(g);
    }
    let warn = 3.0f64.max(1.25 * max_z);
    let alarm = 5.0f64.max(warn + 2.0);
    let h = 10.0f64.max(1.5 * max_g);
    let config = SignalConfig::new(signal)
        .with_baseline(mean as f32, std as f32)
        .with_thresholds(warn as f32, alarm as f32)
        .with_cusum(CUSUM_K as f32, h as f32)
        .with_min_std(min_std);
    let replay_transitions = replay(config, &values);
    Calibrated {
        signal,
        name,
        config,
        values,
        max_z,
        max_cusum: max_g,
        replay_transitions,
    }
}

/// State changes when `values` go through a monitor configured with `config`.
fn replay(config: SignalConfig, values: &[f32]) -> usize {
    let Ok(mut m) = Monitor::<1, 32>::new([config]) else {
        return usize::MAX;
    };
    let mut transitions = 0;
    for &v in values {
        m.observe(&[Some(v)], |e| {
            if matches!(e, loss_core::monitor::Event::Transition { .. }) {
                transitions += 1;
            }
        });
    }
    transitions
}

fn signal_code(s: Signal) -> String {
    match s {
        Signal::Area(c) => format!("Signal::Area({c})"),
        Signal::Dice(c) => format!("Signal::Dice({c})"),
        Signal::Iou(c) => format!("Signal::Iou({c})"),
        Signal::Other(c) => format!("Signal::Other({c})"),
        other => format!("Signal::{other:?}"),
    }
}

fn quantile(sorted: &[f32], q: f64) -> f32 {
    let h = q * (sorted.len() - 1) as f64;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    let a = f64::from(sorted[lo]);
    let b = f64::from(sorted[(lo + 1).min(sorted.len() - 1)]);
    (a + frac * (b - a)) as f32
}

fn sorted(values: &[f32]) -> Vec<f32> {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    v
}

/// The Rust code: a `const` array of `SignalConfig`, one per signal, for `Monitor::new`.
/// Floats are printed in Rust's shortest round-trip form, so they parse to the same bits.
pub fn rust_code(c: &Calibration) -> String {
    let mut out = format!(
        "// Generated by `loss-tools monitor-baseline` from {} validation frames ({}, {} classes).\n\
         // warn = max(3, 1.25 max z), alarm = max(5, warn + 2), CUSUM k = 1 and h = max(10, 1.5 max g)\n\
         // over the validation frames; replaying them through the monitor gives {} state changes.\n\
         use loss_core::monitor::{{Signal, SignalConfig}};\n\n\
         /// Monitored signals, in the order their values are passed to `Monitor::observe`.\n\
         pub const SIGNALS: [SignalConfig; {}] = [\n",
        c.frames,
        c.description,
        c.classes,
        c.signals
            .iter()
            .map(|s| s.replay_transitions)
            .sum::<usize>(),
        c.signals.len()
    );
    for s in &c.signals {
        let v = sorted(&s.values);
        let cfg = &s.config;
        let b = cfg.baseline.unwrap_or(loss_core::monitor::Baseline {
            mean: f32::NAN,
            std: f32::NAN,
        });
        out.push_str(&format!(
            "    // {}: {} values, min {:?}, median {:?}, max {:?}; max z {:.2}, max CUSUM {:.2}\n\
             \x20   SignalConfig::new({})\n\
             \x20       .with_baseline({:?}, {:?})\n\
             \x20       .with_thresholds({:?}, {:?})\n\
             \x20       .with_cusum({:?}, {:?})\n\
             \x20       .with_min_std({:?}),\n",
            s.name,
            v.len(),
            v[0],
            quantile(&v, 0.5),
            v[v.len() - 1],
            s.max_z,
            s.max_cusum,
            signal_code(s.signal),
            b.mean,
            b.std,
            cfg.warn,
            cfg.alarm,
            cfg.cusum_k,
            cfg.cusum_h,
            cfg.min_std,
        ));
    }
    out.push_str("];\n");
    out
}

/// The same as JSON, with the validation statistics.
pub fn to_json(c: &Calibration) -> serde_json::Value {
    let signals: Vec<_> = c
        .signals
        .iter()
        .map(|s| {
            let v = sorted(&s.values);
            let cfg = &s.config;
            let b = cfg
                .baseline
                .map_or((f32::NAN, f32::NAN), |b| (b.mean, b.std));
            json!({
                "signal": s.name,
                "rust": signal_code(s.signal),
                "direction": format!("{:?}", cfg.direction).to_lowercase(),
                "baseline": { "mean": b.0, "std": b.1 },
                "min_std": cfg.min_std,
                "warn": cfg.warn,
                "alarm": cfg.alarm,
                "hysteresis": cfg.hysteresis,
                "debounce": cfg.debounce,
                "cusum": { "k": cfg.cusum_k, "h": cfg.cusum_h },
                "validation": {
                    "values": v.len(),
                    "min": v[0],
                    "p01": quantile(&v, 0.01),
                    "p50": quantile(&v, 0.5),
                    "p99": quantile(&v, 0.99),
                    "max": v[v.len() - 1],
                    "max_z": s.max_z,
                    "max_cusum": s.max_cusum,
                    "replay_transitions": s.replay_transitions,
                },
            })
        })
        .collect();
    json!({
        "frames": c.frames,
        "classes": c.classes,
        "description": c.description,
        "signals": signals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use loss_core::monitor::{Event, Level};
    use npyz::WriterBuilder;

    fn write_npy(path: &Path, shape: &[u64], values: &[f32]) {
        let mut f = std::fs::File::create(path).unwrap();
        let mut w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut f)
            .begin_nd()
            .unwrap();
        w.extend(values.iter().copied()).unwrap();
        w.finish().unwrap();
    }

    /// Frame `f` of a 2-class (NCHW logits) stream: a square that moves one pixel per frame;
    /// the true class gets `margin` plus a little deterministic noise.
    fn frame(f: u32, margin: f32) -> Vec<f32> {
        let (w, h) = (16usize, 12usize);
        let mut out = vec![0.0f32; 2 * w * h];
        for i in 0..w * h {
            let (x, y) = (i % w, i / w);
            let x0 = 2 + (f as usize % 8);
            let class = usize::from((x0..x0 + 5).contains(&x) && (3..8).contains(&y));
            let noise = ((i as u32).wrapping_mul(2_654_435_761) ^ f.wrapping_mul(97)) % 997;
            let noise = noise as f32 / 997.0 - 0.5;
            out[class * w * h + i] = margin + noise;
        }
        out
    }

    fn args(dir: &Path) -> MonitorBaselineArgs {
        MonitorBaselineArgs {
            dir: dir.to_path_buf(),
            from_logits: true,
            layout: LayoutArg::Nchw,
            signals: None,
            min_std: 1e-3,
            format: Format::Both,
        }
    }

    #[test]
    fn baselines_match_the_frame_signals_and_detect_a_degraded_model() {
        let dir = tempfile::tempdir().unwrap();
        // 40 files of 2 frames each (N = 2), name order = frame order.
        for k in 0..40u32 {
            let mut v = frame(2 * k, 4.0);
            v.extend(frame(2 * k + 1, 4.0));
            write_npy(
                &dir.path().join(format!("f{k:03}.npy")),
                &[2, 2, 12, 16],
                &v,
            );
        }
        let c = calibrate(&args(dir.path())).unwrap();
        assert_eq!((c.frames, c.classes), (80, 2));
        let names: Vec<_> = c.signals.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["entropy", "confidence", "consistency", "area:1"]);
        // Entropy: the baseline is the mean and std of what FrameSignals gives per frame.
        let entropy: Vec<f64> = (0..80)
            .map(|f| {
                let mut s = FrameSignals::<2>::new(Predictions::Logits, 2).unwrap();
                s.push(loss_core::multiclass::Layout::ChannelsFirst, &frame(f, 4.0))
                    .unwrap();
                f64::from(s.finish().unwrap().entropy)
            })
            .collect();
        let mean = entropy.iter().sum::<f64>() / 80.0;
        let std = (entropy.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 79.0).sqrt();
        let b = c.signals[0].config.baseline.unwrap();
        assert_eq!(b.mean, mean as f32);
        assert_eq!(b.std, std.max(1e-3) as f32);
        // Consistency has one value fewer (no previous frame for the first).
        assert_eq!(c.signals[2].values.len(), 79);
        // The validation set itself raises nothing, and thresholds respect the rule.
        for s in &c.signals {
            assert_eq!(s.replay_transitions, 0, "{}", s.name);
            assert!(s.config.warn >= 3.0 && s.config.warn as f64 >= 1.25 * s.max_z - 1e-6);
            assert!(s.config.alarm >= s.config.warn + 2.0 - 1e-6);
            assert!(s.config.cusum_h as f64 >= 1.5 * s.max_cusum - 1e-6);
        }
        // A degraded model (margin 1) against these baselines: the entropy alarm fires.
        let mut m = Monitor::<1, 32>::new([c.signals[0].config]).unwrap();
        let mut alarm = None;
        for f in 0..10 {
            let mut s = FrameSignals::<2>::new(Predictions::Logits, 2).unwrap();
            s.push(loss_core::multiclass::Layout::ChannelsFirst, &frame(f, 1.0))
                .unwrap();
            let e = s.finish().unwrap().entropy;
            m.observe(&[Some(e)], |ev| {
                if let Event::Transition {
                    frame,
                    to: Level::Alarm,
                    ..
                } = ev
                {
                    alarm.get_or_insert(frame);
                }
            });
        }
        assert_eq!(alarm, Some(2));
    }

    #[test]
    fn rust_code_and_json_carry_the_same_bits() {
        let dir = tempfile::tempdir().unwrap();
        for k in 0..12u32 {
            write_npy(
                &dir.path().join(format!("{k:02}.npy")),
                &[2, 12, 16],
                &frame(k, 3.0),
            );
        }
        let mut a = args(dir.path());
        a.signals = Some(vec!["confidence".into(), "area:1".into()]);
        let c = calibrate(&a).unwrap();
        let code = rust_code(&c);
        assert!(code.contains("pub const SIGNALS: [SignalConfig; 2] = ["));
        assert!(code.contains("SignalConfig::new(Signal::Confidence)"));
        assert!(code.contains("SignalConfig::new(Signal::Area(1))"));
        let json = to_json(&c);
        for (s, j) in c.signals.iter().zip(json["signals"].as_array().unwrap()) {
            let b = s.config.baseline.unwrap();
            // The printed literal parses back to the same f32.
            let literal = format!(".with_baseline({:?}, {:?})", b.mean, b.std);
            assert!(code.contains(&literal), "{literal}");
            let parsed: f32 = format!("{:?}", b.mean).parse().unwrap();
            assert_eq!(parsed.to_bits(), b.mean.to_bits());
            assert_eq!(j["baseline"]["mean"].as_f64().unwrap() as f32, b.mean);
            assert_eq!(j["cusum"]["h"].as_f64().unwrap() as f32, s.config.cusum_h);
            assert_eq!(j["rust"], signal_code(s.signal));
        }
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let err = |a: &MonitorBaselineArgs| calibrate(a).unwrap_err();
        assert!(err(&args(dir.path())).contains("no files"));
        write_npy(&dir.path().join("a.npy"), &[2, 12, 16], &frame(0, 3.0));
        let mut a = args(dir.path());
        a.from_logits = false;
        assert!(err(&a).contains("--from-logits"), "{}", err(&a));
        let mut a = args(dir.path());
        a.signals = Some(vec!["area:2".into()]);
        assert!(err(&a).contains("2 classes"));
        a.signals = Some(vec!["loudness".into()]);
        assert!(err(&a).contains("unknown signal"));
        a.signals = Some(vec!["consistency".into()]);
        assert!(err(&a).contains("at least 2"), "{}", err(&a));
        write_npy(&dir.path().join("b.npy"), &[3, 12, 16], &[0.0; 3 * 12 * 16]);
        assert!(err(&args(dir.path())).contains("differs from the first"));
        let mut a = args(dir.path());
        a.min_std = 0.0;
        assert!(err(&a).contains("--min-std"));
    }
}
