//! loss-core's monitor on arbitrary configurations and value streams (any f32 bits, `None`),
//! and the label-free frame signals on arbitrary scores and previous masks: a value or an
//! `Error`, never a panic. A failed push leaves the frame unchanged; the window holds the last
//! finite values, oldest first.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use loss_core::Predictions;
use loss_core::monitor::{
    Direction, FrameSignals, Monitor, Signal, SignalConfig, Statistic, Window,
};
use loss_core::multiclass::Layout;

#[derive(Debug, Arbitrary)]
struct Config {
    signal: u8,
    baseline: Option<(f32, f32)>,
    learn: u16,
    direction: u8,
    thresholds: (f32, f32),
    hysteresis: (f32, u8),
    cusum: (f32, f32),
    ewma: f32,
    ewma_statistic: bool,
    min_std: f32,
}

#[derive(Debug, Arbitrary)]
struct Input {
    configs: [Config; 3],
    frames: Vec<[Option<f32>; 3]>,
    quantile: f32,
    channels: u8,
    probabilities: bool,
    channels_last: bool,
    holds_previous: bool,
    mask: Vec<u8>,
    chunks: Vec<Vec<f32>>,
}

fn config(c: &Config) -> SignalConfig {
    let signal = match c.signal % 9 {
        0 => Signal::Loss,
        1 => Signal::Dice(c.signal),
        2 => Signal::Iou(c.signal),
        3 => Signal::Entropy,
        4 => Signal::Confidence,
        5 => Signal::Area(c.signal),
        6 => Signal::Consistency,
        7 => Signal::ConsistencyIou,
        _ => Signal::Other(c.signal),
    };
    let s = match c.baseline {
        Some((mean, std)) => SignalConfig::new(signal).with_baseline(mean, std),
        None => SignalConfig::new(signal).learning(c.learn),
    };
    let direction = [Direction::Up, Direction::Down, Direction::Both][usize::from(c.direction % 3)];
    s.with_direction(direction)
        .with_thresholds(c.thresholds.0, c.thresholds.1)
        .with_hysteresis(c.hysteresis.0, c.hysteresis.1)
        .with_cusum(c.cusum.0, c.cusum.1)
        .with_ewma(c.ewma)
        .with_statistic(if c.ewma_statistic {
            Statistic::Ewma
        } else {
            Statistic::Value
        })
        .with_min_std(c.min_std)
}

fuzz_target!(|input: Input| {
    if let Ok(mut monitor) = Monitor::<3, 8>::new(input.configs.each_ref().map(config)) {
        let mut finite: [Vec<f32>; 3] = Default::default();
        for values in &input.frames {
            let level = monitor.observe(values, |_| {});
            assert_eq!(level, monitor.level());
            for (kept, v) in finite.iter_mut().zip(values) {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    kept.push(v);
                }
            }
        }
        for (i, kept) in finite.iter().enumerate() {
            let s = monitor.summary(i).expect("a signal's summary");
            let track = &monitor.tracks()[i];
            let window: Vec<f32> = track.window().iter().collect();
            assert_eq!(window, kept[kept.len().saturating_sub(8)..]);
            assert_eq!(track.window().last(), kept.last().copied());
            let _ = (
                track.window().quantile(input.quantile),
                s.median,
                track.cusum(),
            );
        }
        assert!(monitor.summary(3).is_none());
    }
    let mut w = Window::<5>::new();
    for v in input.frames.iter().flatten().flatten() {
        w.push(*v);
    }
    let _ = (
        w.mean(),
        w.min(),
        w.max(),
        w.quantile(input.quantile),
        w.len(),
    );

    let predictions = if input.probabilities {
        Predictions::Probabilities
    } else {
        Predictions::Logits
    };
    let layout = if input.channels_last {
        Layout::ChannelsLast
    } else {
        Layout::ChannelsFirst
    };
    let Ok(frame) = FrameSignals::<4>::new(predictions, usize::from(input.channels)) else {
        return;
    };
    let mut mask = input.mask.clone();
    let mut frame = if mask.is_empty() {
        frame
    } else {
        match frame.with_previous_mask(&mut mask, input.holds_previous) {
            Ok(f) => f,
            Err(_) => return,
        }
    };
    for chunk in &input.chunks {
        let before = format!("{frame:?}");
        if frame.push(layout, chunk).is_err() {
            assert_eq!(
                format!("{frame:?}"),
                before,
                "a failed push changed the frame"
            );
        }
    }
    if let Ok(s) = frame.finish() {
        let _ = (s.area(0), s.consistency, s.agreement);
    }
});
