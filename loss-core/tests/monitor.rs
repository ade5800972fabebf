//! The monitor on synthetic streams: no alarm on a long stable stream (false-alarm rate
//! measured), step drifts found within a stated number of frames, hysteresis, debounce,
//! faults, learned baselines, the label-free frame signals, and the alarm pin through
//! `embedded-hal-mock`.

use loss_core::Predictions;
use loss_core::monitor::{
    Cause, Event, FrameSignals, LabelledSignals, Level, Monitor, Signal, SignalConfig, Statistic,
    Track, Window,
};
use loss_core::multiclass::{
    ClassAlpha, ClassLossAccumulator, ConfusionAccumulator, Decision, Layout, Metric, SoftmaxFocal,
    Targets,
};
use loss_core::{Error, Operand};

/// SplitMix64: a deterministic generator, so every run sees the same stream.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn events<const S: usize, const N: usize>(
    m: &mut Monitor<S, N>,
    values: &[Option<f32>; S],
) -> Vec<Event> {
    let mut out = Vec::new();
    m.observe(values, |e| out.push(e));
    out
}

fn transitions(events: &[Event]) -> Vec<(u32, Level, Level, Cause)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Transition {
                frame,
                from,
                to,
                cause,
                ..
            } => Some((frame, from, to, cause)),
            _ => None,
        })
        .collect()
}

/// A signal with baseline 0 ± 1, so values are z-scores.
fn unit(signal: Signal) -> SignalConfig {
    SignalConfig::new(signal).with_baseline(0.0, 1.0)
}

#[test]
fn four_signals_with_32_values_fit_in_one_kib() {
    let size = size_of::<Monitor<4, 32>>();
    // The figures stated in the module docs; 32-bit targets are checked by the firmware.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size, 968);
    #[cfg(target_pointer_width = "32")]
    assert_eq!(size, 936);
    assert!(size <= 1024);
    assert_eq!(size, 4 * size_of::<Track<32>>() + 8);
}

/// Four label-free signals in the default configuration, baselines learned from the first 128
/// frames, over a long stationary stream of independent normal values.
#[test]
fn stable_stream_false_alarm_rate() {
    const FRAMES: u32 = 1_000_000;
    let means = [0.35f64, 0.82, 0.9, 0.12];
    let stds = [0.02f64, 0.015, 0.01, 0.005];
    let mut m = Monitor::<4, 32>::new([
        SignalConfig::new(Signal::Entropy),
        SignalConfig::new(Signal::Confidence),
        SignalConfig::new(Signal::Consistency),
        SignalConfig::new(Signal::Area(1)),
    ])
    .unwrap();
    let mut rng = Rng(7);
    let (mut warns, mut alarms, mut learned) = (0u32, 0u32, 0u32);
    let mut causes = std::collections::BTreeMap::new();
    for _ in 0..FRAMES {
        let values: [Option<f32>; 4] =
            std::array::from_fn(|i| Some((means[i] + stds[i] * rng.normal()) as f32));
        m.observe(&values, |e| match e {
            Event::Transition {
                to: Level::Warn, ..
            } => warns += 1,
            Event::Transition {
                to: Level::Alarm,
                cause,
                ..
            } => {
                alarms += 1;
                *causes.entry(format!("{cause:?}")).or_insert(0) += 1;
            }
            Event::BaselineLearned { .. } => learned += 1,
            _ => {}
        });
    }
    let frames = f64::from(FRAMES) * 4.0;
    println!(
        "stable stream: {FRAMES} frames x 4 signals: {warns} Warn and {alarms} Alarm transitions \
         ({:.2e} and {:.2e} per signal-frame)",
        f64::from(warns) / frames,
        f64::from(alarms) / frames
    );
    println!("alarm causes: {causes:?}");
    assert_eq!(learned, 4);
    // Measured: 0 of each (see docs/monitoring.md).
    assert_eq!((warns, alarms), (0, 0));
}

/// A 2-standard-deviation step in the mean entropy (below the Warn threshold of 3, so mostly
/// the CUSUM sees it) after a learned baseline: found within 30 frames in every one of 200
/// streams, 11 on average (`h / (d - k) = 10` predicted).
#[test]
fn small_step_drift_is_found_by_the_cusum() {
    let (mut delays, mut drift) = (Vec::new(), 0);
    for seed in 0..200 {
        let mut rng = Rng(1000 + seed);
        let mut m = Monitor::<1, 32>::new([SignalConfig::new(Signal::Entropy)]).unwrap();
        let (mean, std) = (0.4f64, 0.02f64);
        let step_at = 400u32;
        let mut found = None;
        for f in 0..500u32 {
            let shift = if f >= step_at { 2.0 * std } else { 0.0 };
            let x = (mean + shift + std * rng.normal()) as f32;
            for e in events(&mut m, &[Some(x)]) {
                if let Event::Transition {
                    frame,
                    to: Level::Alarm,
                    cause,
                    ..
                } = e
                {
                    assert!(frame >= step_at, "seed {seed}: false alarm at {frame}");
                    found.get_or_insert((frame - step_at, cause));
                }
            }
        }
        let (delay, cause) = found.unwrap_or_else(|| panic!("seed {seed}: drift not found"));
        drift += usize::from(cause == Cause::Drift);
        delays.push(delay);
    }
    delays.sort_unstable();
    let mean = delays.iter().sum::<u32>() as f64 / delays.len() as f64;
    println!(
        "2-sigma step: detection delay over 200 streams: mean {mean:.1}, median {}, 95th \
         percentile {}, max {}; {drift} found by the CUSUM",
        delays[100], delays[190], delays[199]
    );
    assert!(delays[199] <= 30, "max delay {}", delays[199]);
    assert!(mean <= 14.0, "mean delay {mean}");
    assert!(drift >= 180, "{drift} of 200 by the CUSUM");
}

/// A large step (6 standard deviations, beyond the Alarm threshold) raises the alarm after
/// exactly `debounce` frames, by threshold.
#[test]
fn large_step_alarms_after_debounce_frames() {
    let mut m =
        Monitor::<1, 32>::new([SignalConfig::new(Signal::Confidence).with_baseline(0.9, 0.01)])
            .unwrap();
    let mut all = Vec::new();
    for f in 0..20 {
        let x = if f < 10 { 0.9 } else { 0.84 };
        all.extend(events(&mut m, &[Some(x)]));
    }
    assert_eq!(
        transitions(&all),
        [(12, Level::Ok, Level::Alarm, Cause::Threshold)]
    );
    let Some(Event::Transition {
        signal,
        value,
        baseline,
        ..
    }) = all.first().copied()
    else {
        panic!("no event")
    };
    assert_eq!((signal, value, baseline), (Signal::Confidence, 0.84, 0.9));
}

#[test]
fn hysteresis_keeps_a_level_until_threshold_minus_hysteresis() {
    // warn 3, alarm 5, hysteresis 1, debounce 1: each frame decides.
    let mut m = Monitor::<1, 8>::new([unit(Signal::Other(0))
        .with_direction(loss_core::monitor::Direction::Up)
        .with_hysteresis(1.0, 1)
        .with_cusum(0.5, 1000.0)])
    .unwrap();
    let steps = [
        (2.9, Level::Ok),
        (3.0, Level::Warn),
        (2.1, Level::Warn), // above 3 - 1
        (2.0, Level::Warn), // at 3 - 1: still held
        (1.9, Level::Ok),
        (2.9, Level::Ok), // not re-entered below 3
        (5.0, Level::Alarm),
        (4.2, Level::Alarm),
        (3.9, Level::Warn), // below 5 - 1, above 3 - 1
        (4.5, Level::Warn), // below 5: no re-entry
        (1.0, Level::Ok),
    ];
    for (i, (x, want)) in steps.into_iter().enumerate() {
        let level = m.observe(&[Some(x)], |_| {});
        assert_eq!(level, want, "step {i}: value {x}");
    }
}

#[test]
fn debounce_ignores_short_excursions() {
    let mut m = Monitor::<1, 8>::new([unit(Signal::Loss)
        .with_hysteresis(1.0, 3)
        .with_cusum(0.5, 1000.0)])
    .unwrap();
    let mut all = Vec::new();
    // Two spikes, a dip, then three spikes; then two normal frames, a spike, three normal.
    let xs = [
        0.0, 9.0, 9.0, 0.0, 9.0, 9.0, 9.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0,
    ];
    for x in xs {
        all.extend(events(&mut m, &[Some(x)]));
    }
    assert_eq!(
        transitions(&all),
        [
            (6, Level::Ok, Level::Alarm, Cause::Threshold),
            (12, Level::Alarm, Level::Ok, Cause::Recovery),
        ]
    );
}

#[test]
fn debounce_steps_through_warn_when_only_warn_is_held() {
    let mut m = Monitor::<1, 8>::new([unit(Signal::Loss)
        .with_hysteresis(0.0, 2)
        .with_cusum(0.5, 1000.0)])
    .unwrap();
    let mut all = Vec::new();
    for x in [4.0, 6.0, 6.0, 4.0, 4.0, 0.0, 0.0] {
        all.extend(events(&mut m, &[Some(x)]));
    }
    assert_eq!(
        transitions(&all),
        [
            (1, Level::Ok, Level::Warn, Cause::Threshold),
            (2, Level::Warn, Level::Alarm, Cause::Threshold),
            (4, Level::Alarm, Level::Warn, Cause::Recovery),
            (6, Level::Warn, Level::Ok, Cause::Recovery),
        ]
    );
}

#[test]
fn nan_and_infinity_are_fault_events_and_raise_the_alarm_when_they_persist() {
    let mut m = Monitor::<2, 8>::new([unit(Signal::Entropy), unit(Signal::Confidence)]).unwrap();
    m.observe(&[Some(0.1), Some(0.2)], |_| {});
    let window_before = m.tracks()[0].window().clone();
    let ewma_before = m.tracks()[0].ewma();
    let e = events(&mut m, &[Some(f32::NAN), Some(0.0)]);
    assert_eq!(e.len(), 1);
    assert!(matches!(
        e[0],
        Event::Fault { frame: 1, signal: Signal::Entropy, value } if value.is_nan()
    ));
    // Nothing non-finite entered the statistics.
    assert_eq!(m.tracks()[0].window(), &window_before);
    assert_eq!(m.tracks()[0].ewma(), ewma_before);
    assert_eq!(m.level(), Level::Ok);
    let e = events(&mut m, &[Some(f32::INFINITY), Some(0.0)]);
    assert!(matches!(e[0], Event::Fault { value, .. } if value == f32::INFINITY));
    let e = events(&mut m, &[Some(f32::NEG_INFINITY), Some(0.0)]);
    assert_eq!(
        transitions(&e),
        [(3, Level::Ok, Level::Alarm, Cause::Fault)]
    );
    assert_eq!(m.tracks()[0].faults(), 3);
    assert_eq!(m.tracks()[0].window().len(), 1);
    assert_eq!(m.level(), Level::Alarm);
}

#[test]
fn missing_values_change_nothing() {
    let mut m = Monitor::<1, 8>::new([unit(Signal::Consistency)]).unwrap();
    let before = m.clone();
    assert!(events(&mut m, &[None]).is_empty());
    assert_eq!(m.tracks(), before.tracks());
    assert_eq!(m.frames(), 1);
}

#[test]
fn learned_baseline_matches_the_sample_mean_and_std() {
    let mut m = Monitor::<1, 4>::new([SignalConfig::new(Signal::Entropy).learning(5)]).unwrap();
    let xs = [0.30f32, 0.32, 0.31, 0.29, 0.33];
    let mut all = Vec::new();
    for x in xs {
        all.extend(events(&mut m, &[Some(x)]));
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = xs
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let [
        Event::BaselineLearned {
            frame: 4,
            signal: Signal::Entropy,
            baseline,
        },
    ] = all[..]
    else {
        panic!("{all:?}")
    };
    assert!((f64::from(baseline.mean) - mean).abs() < 1e-7);
    assert!((f64::from(baseline.std) - var.sqrt()).abs() < 1e-6);
    assert_eq!(m.tracks()[0].baseline(), Some(baseline));
    // Window holds the last 4 values.
    assert_eq!(m.tracks()[0].window().len(), 4);
}

#[test]
fn constant_learning_stream_uses_the_std_floor() {
    let mut m = Monitor::<1, 4>::new([SignalConfig::new(Signal::Area(1))
        .learning(3)
        .with_min_std(0.01)])
    .unwrap();
    for _ in 0..3 {
        m.observe(&[Some(0.5)], |_| {});
    }
    let b = m.tracks()[0].baseline().unwrap();
    assert_eq!((b.mean, b.std), (0.5, 0.01));
    // 0.52 is 2 floors away: no alarm; 0.6 is 10 away in either direction (Both): alarm.
    for _ in 0..5 {
        assert_eq!(m.observe(&[Some(0.52)], |_| {}), Level::Ok);
    }
    for _ in 0..3 {
        m.observe(&[Some(0.4)], |_| {});
    }
    assert_eq!(m.level(), Level::Alarm);
}

#[test]
fn ewma_statistic_smooths_single_frames() {
    // alpha 0.5: the EWMA's spread is sqrt(1/3) of the values'. One frame at z = 4 moves the
    // EWMA by 2, a scaled 3.46: Warn with debounce 1; the raw statistic would also say Warn.
    let cfg = unit(Signal::Loss)
        .with_ewma(0.5)
        .with_statistic(Statistic::Ewma)
        .with_hysteresis(0.0, 1)
        .with_cusum(0.5, 1000.0);
    let mut m = Monitor::<1, 4>::new([cfg]).unwrap();
    m.observe(&[Some(0.0)], |_| {});
    assert_eq!(m.observe(&[Some(4.0)], |_| {}), Level::Warn);
    assert_eq!(m.tracks()[0].ewma(), Some(2.0));
    assert_eq!(m.observe(&[Some(0.0)], |_| {}), Level::Ok); // EWMA 1: z 1.73
}

#[test]
fn invalid_configurations_are_errors_naming_the_field() {
    let base = SignalConfig::new(Signal::Entropy);
    let cases = [
        (base.with_thresholds(3.0, 2.0), "alarm"),
        (base.with_thresholds(f32::NAN, 5.0), "warn"),
        (base.with_thresholds(-1.0, 5.0), "warn"),
        (base.with_hysteresis(-0.5, 3), "hysteresis"),
        (base.with_hysteresis(1.0, 0), "debounce"),
        (base.with_cusum(-1.0, 10.0), "cusum_k"),
        (base.with_cusum(0.5, 0.0), "cusum_h"),
        (base.with_ewma(0.0), "ewma_alpha"),
        (base.with_ewma(1.5), "ewma_alpha"),
        (base.with_ewma(f32::NAN), "ewma_alpha"),
        (base.with_min_std(0.0), "min_std"),
        (base.learning(1), "learn_frames"),
        (base.with_baseline(f32::NAN, 1.0), "baseline"),
        (base.with_baseline(0.0, -1.0), "baseline"),
        (base.with_baseline(0.0, f32::INFINITY), "baseline"),
    ];
    for (cfg, name) in cases {
        assert_eq!(
            Monitor::<2, 4>::new([SignalConfig::new(Signal::Loss), cfg]).err(),
            Some(Error::InvalidParameter(name)),
            "{cfg:?}"
        );
    }
    // A supplied baseline needs no learning frames.
    assert!(Monitor::<1, 4>::new([base.learning(0).with_baseline(0.0, 1.0)]).is_ok());
}

#[test]
fn summary_reports_window_statistics() {
    let mut m = Monitor::<1, 4>::new([unit(Signal::Entropy)]).unwrap();
    for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
        m.observe(&[Some(x)], |_| {});
    }
    let s = m.summary(0).unwrap();
    assert_eq!(
        (s.count, s.mean, s.min, s.median, s.max),
        (4, 3.5, 2.0, 3.5, 5.0)
    );
    assert_eq!(s.signal, Signal::Entropy);
    assert!(m.summary(1).is_none());
    let w: &Window<4> = m.tracks()[0].window();
    assert_eq!(w.iter().collect::<Vec<_>>(), [2.0, 3.0, 4.0, 5.0]);
}

// ---- Label-free frame signals --------------------------------------------------------------

/// A synthetic camera frame: `W × H` pixels, 3 classes (background, a disc that moves, a bar),
/// channels-last logits with a margin `margin` for the true class plus deterministic noise.
fn camera_frame(f: u32, margin: f32, out: &mut [f32]) {
    const W: i32 = 24;
    for (i, px) in out.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i as i32 % W, i as i32 / W);
        let (cx, cy) = (6 + (f as i32 % 12), 8);
        let class = if (x - cx).pow(2) + (y - cy).pow(2) <= 16 {
            1
        } else if (16..20).contains(&x) {
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

#[test]
fn uniform_and_certain_pixels_bound_entropy_and_confidence() {
    let mut s = FrameSignals::<4>::new(Predictions::Logits, 4).unwrap();
    s.push(Layout::ChannelsLast, &[0.5; 8]).unwrap();
    let u = s.finish().unwrap();
    assert!((u.entropy - 1.0).abs() < 1e-6, "{}", u.entropy);
    assert_eq!(u.confidence, 0.25);
    assert_eq!(u.area, [1.0, 0.0, 0.0, 0.0]); // ties: the first class
    let mut s = FrameSignals::<4>::new(Predictions::Logits, 3).unwrap();
    s.push(Layout::ChannelsLast, &[0.0, 100.0, 0.0]).unwrap();
    let c = s.finish().unwrap();
    // exp(-100) survives as a subnormal: the entropy is tiny but not 0.
    assert!(c.entropy > 0.0 && c.entropy < 1e-40, "{}", c.entropy);
    assert_eq!(c.confidence, 1.0);
    assert_eq!(c.area(1), Some(1.0));
    assert_eq!(c.area(3), None);
}

#[test]
fn entropy_matches_an_f64_reference() {
    let mut rng = Rng(3);
    let scores: Vec<f32> = (0..3 * 500).map(|_| (4.0 * rng.normal()) as f32).collect();
    let mut s = FrameSignals::<3>::new(Predictions::Logits, 3).unwrap();
    s.push(Layout::ChannelsLast, &scores).unwrap();
    let got = s.finish().unwrap();
    let (mut h, mut conf) = (0.0f64, 0.0f64);
    for px in scores.chunks_exact(3) {
        let m = px
            .iter()
            .fold(f64::NEG_INFINITY, |a, &v| a.max(f64::from(v)));
        let z: f64 = px.iter().map(|&v| (f64::from(v) - m).exp()).sum();
        let p: Vec<f64> = px.iter().map(|&v| (f64::from(v) - m).exp() / z).collect();
        h -= p
            .iter()
            .map(|&q| if q > 0.0 { q * q.ln() } else { 0.0 })
            .sum::<f64>();
        conf += p.iter().fold(0.0f64, |a, &v| a.max(v));
    }
    let n = 500.0;
    let want_h = h / n / 3f64.ln();
    assert!((f64::from(got.entropy) - want_h).abs() < 1e-5 * want_h.max(1e-3));
    assert!((f64::from(got.confidence) - conf / n).abs() < 1e-6);
}

#[test]
fn chunking_and_layout_do_not_change_bits() {
    let mut rng = Rng(11);
    let pixels = 300;
    let last: Vec<f32> = (0..3 * pixels)
        .map(|_| (3.0 * rng.normal()) as f32)
        .collect();
    let mut whole = FrameSignals::<3>::new(Predictions::Logits, 3).unwrap();
    whole.push(Layout::ChannelsLast, &last).unwrap();
    let whole = whole.finish().unwrap();
    for chunk in [1, 7, 64, 299] {
        let mut s = FrameSignals::<3>::new(Predictions::Logits, 3).unwrap();
        for part in last.chunks(3 * chunk) {
            s.push(Layout::ChannelsLast, part).unwrap();
            // The same chunk channels-first: C planes of k scores.
            let k = part.len() / 3;
            let planes: Vec<f32> = (0..3)
                .flat_map(|c| (0..k).map(move |i| part[i * 3 + c]))
                .collect();
            let mut t = FrameSignals::<3>::new(Predictions::Logits, 3).unwrap();
            t.push(Layout::ChannelsFirst, &planes).unwrap();
            let mut u = FrameSignals::<3>::new(Predictions::Logits, 3).unwrap();
            u.push(Layout::ChannelsLast, part).unwrap();
            assert_eq!(t.finish().unwrap(), u.finish().unwrap());
        }
        assert_eq!(s.finish().unwrap(), whole, "chunk {chunk}");
    }
}

#[test]
fn binary_logits_and_probabilities_agree() {
    let logits = [-3.0f32, -0.5, 0.0, 0.5, 2.0, 8.0];
    let probs = logits.map(loss_core::sigmoid);
    let mut a = FrameSignals::<2>::new(Predictions::Logits, 1).unwrap();
    a.push(Layout::ChannelsLast, &logits).unwrap();
    let mut b = FrameSignals::<2>::new(Predictions::Probabilities, 1).unwrap();
    b.push(Layout::ChannelsLast, &probs).unwrap();
    let (a, b) = (a.finish().unwrap(), b.finish().unwrap());
    assert_eq!(a.classes, 2);
    assert_eq!(a.area, [2.0 / 6.0, 4.0 / 6.0]);
    assert_eq!(a.area, b.area);
    assert!((a.entropy - b.entropy).abs() < 1e-6);
    assert!((a.confidence - b.confidence).abs() < 1e-6);
}

#[test]
fn temporal_consistency_counts_the_changed_pixels() {
    // 8 pixels, 3 classes; one-hot logits from class lists.
    let frame = |classes: [usize; 8]| -> Vec<f32> {
        classes
            .iter()
            .flat_map(|&k| (0..3).map(move |c| if c == k { 5.0 } else { 0.0 }))
            .collect()
    };
    let a = frame([0, 0, 1, 1, 1, 2, 2, 0]);
    let b = frame([0, 1, 1, 1, 0, 2, 0, 0]);
    let mut mask = [0u8; 8];
    let run = |mask: &mut [u8], scores: &[f32], previous: bool| {
        let mut s = FrameSignals::<3>::new(Predictions::Logits, 3)
            .unwrap()
            .with_previous_mask(mask, previous)
            .unwrap();
        // Tiles of 3, 3 and 2 pixels.
        for part in scores.chunks(9) {
            s.push(Layout::ChannelsLast, part).unwrap();
        }
        s.finish().unwrap()
    };
    let first = run(&mut mask, &a, false);
    assert_eq!((first.consistency, first.agreement), (None, None));
    assert_eq!(mask, [0, 0, 1, 1, 1, 2, 2, 0]);
    let second = run(&mut mask, &b, true);
    // Class 1: A {2,3,4}, B {1,2,3}: dice 2*2/6, IoU 2/4. Class 2: A {5,6}, B {5}: dice 2/3,
    // IoU 1/2. Agreement: pixels 0,2,3,5,7 = 5/8.
    let dice = ((4.0 / 6.0 + 2.0 / 3.0) / 2.0) as f32;
    assert_eq!(second.consistency, Some(dice));
    assert_eq!(second.consistency_iou, Some(0.5));
    assert_eq!(second.agreement, Some(0.625));
    assert_eq!(mask, [0, 1, 1, 1, 0, 2, 0, 0]);
    // Only background in both frames: perfectly consistent.
    let empty = frame([0; 8]);
    run(&mut mask, &empty, true);
    assert_eq!(run(&mut mask, &empty, true).consistency, Some(1.0));
}

#[test]
fn frame_signal_errors_leave_the_frame_unchanged() {
    let mut mask = [0u8; 4];
    let mut s = FrameSignals::<3>::new(Predictions::Probabilities, 3)
        .unwrap()
        .with_previous_mask(&mut mask, false)
        .unwrap();
    assert_eq!(
        s.push(Layout::ChannelsLast, &[0.2; 4]),
        Err(Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: 6,
            found: 4
        })
    );
    assert_eq!(
        s.push(Layout::ChannelsLast, &[0.2, 0.3, 1.5]),
        Err(Error::OutOfRange {
            operand: Operand::Predictions,
            index: 2
        })
    );
    assert_eq!(s.finish(), Err(Error::EmptyInput));
    s.push(Layout::ChannelsLast, &[0.2, 0.3, 0.5, 0.6, 0.2, 0.2])
        .unwrap();
    assert_eq!(
        s.push(Layout::ChannelsLast, &[0.1; 9]),
        Err(Error::BufferTooSmall {
            needed: 5,
            capacity: 4
        })
    );
    // Two of four mask pixels covered.
    assert_eq!(
        s.finish(),
        Err(Error::ShapeMismatch {
            operand: Operand::Predictions,
            expected: 4,
            found: 2
        })
    );
    assert_eq!(
        FrameSignals::<3>::new(Predictions::Logits, 4).err(),
        Some(Error::TooManyClasses {
            classes: 4,
            capacity: 3
        })
    );
    assert_eq!(
        FrameSignals::<1>::new(Predictions::Logits, 1).err(),
        Some(Error::TooManyClasses {
            classes: 2,
            capacity: 1
        })
    );
    assert_eq!(
        FrameSignals::<3>::new(Predictions::Logits, 0).err(),
        Some(Error::InvalidParameter("classes"))
    );
    let mut none: [u8; 0] = [];
    assert_eq!(
        FrameSignals::<3>::new(Predictions::Logits, 3)
            .unwrap()
            .with_previous_mask(&mut none, false)
            .err()
            .map(|_| ()),
        Some(())
    );
}

#[test]
fn non_finite_scores_make_nan_signals_and_a_fault() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for channels in [1, 3] {
            let mut scores = vec![0.5f32; channels * 4];
            scores[channels] = bad;
            let mut s = FrameSignals::<3>::new(Predictions::Logits, channels).unwrap();
            s.push(Layout::ChannelsLast, &scores).unwrap();
            let f = s.finish().unwrap();
            assert!(
                f.entropy.is_nan() && f.confidence.is_nan(),
                "{bad} {channels}"
            );
            let mut m = Monitor::<1, 4>::new([unit(Signal::Entropy)]).unwrap();
            let e = events(&mut m, &[Some(f.entropy)]);
            assert!(matches!(e[..], [Event::Fault { .. }]));
        }
    }
}

#[test]
fn labelled_signals_equal_the_separate_accumulators() {
    let mut rng = Rng(5);
    let scores: Vec<f32> = (0..3 * 200).map(|_| (2.0 * rng.normal()) as f32).collect();
    let labels: Vec<u8> = (0..200).map(|_| (rng.next_u64() % 3) as u8).collect();
    let focal = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None).unwrap();
    let mut both = LabelledSignals::<_, 3>::new(focal, Decision::Argmax, 3).unwrap();
    let mut loss = ClassLossAccumulator::<_, 3>::new(focal, 3).unwrap();
    let mut confusion = ConfusionAccumulator::<3>::new(Decision::Argmax, 3).unwrap();
    for (s, l) in scores.chunks(3 * 50).zip(labels.chunks(50)) {
        both.push(Layout::ChannelsLast, s, Targets::labels(l))
            .unwrap();
        loss.push(Layout::ChannelsLast, s, Targets::labels(l))
            .unwrap();
        confusion
            .push(Layout::ChannelsLast, s, Targets::labels(l))
            .unwrap();
    }
    let got = both.finish().unwrap();
    assert_eq!(
        got.loss.to_bits(),
        loss.mean_per_element().unwrap().to_bits()
    );
    for c in 0..3 {
        assert_eq!(got.dice[c], confusion.counts()[c].metric(Metric::Dice));
        assert_eq!(got.iou[c], confusion.counts()[c].metric(Metric::Iou));
    }
    // A bad label: neither accumulator moves.
    let before = both;
    let bad: [u8; 1] = [7];
    assert!(
        both.push(Layout::ChannelsLast, &[0.0; 3], Targets::labels(&bad))
            .is_err()
    );
    assert_eq!(both, before);
}

/// The whole label-free pipeline on a synthetic camera stream whose model output degrades at
/// frame 200 (the true-class margin drops from 6 to 1.5), after the baselines were learned
/// from the first 128 frames: the alarm is raised within `debounce` frames, never before.
#[test]
fn degrading_camera_stream_raises_the_alarm() {
    const PIXELS: usize = 24 * 16;
    let mut monitor = Monitor::<4, 32>::new([
        SignalConfig::new(Signal::Entropy),
        SignalConfig::new(Signal::Confidence),
        SignalConfig::new(Signal::Consistency),
        SignalConfig::new(Signal::Area(1)),
    ])
    .unwrap();
    let mut mask = [0u8; PIXELS];
    let mut scores = [0.0f32; PIXELS * 3];
    let mut first_alarm = None;
    for f in 0..260u32 {
        camera_frame(f, if f < 200 { 6.0 } else { 1.5 }, &mut scores);
        let mut s = FrameSignals::<3>::new(Predictions::Logits, 3)
            .unwrap()
            .with_previous_mask(&mut mask, f > 0)
            .unwrap();
        for tile in scores.chunks(3 * 64) {
            s.push(Layout::ChannelsLast, tile).unwrap();
        }
        let fs = s.finish().unwrap();
        let values = [
            Some(fs.entropy),
            Some(fs.confidence),
            fs.consistency,
            fs.area(1),
        ];
        let level = monitor.observe(&values, |e| {
            if let Event::Transition {
                frame,
                to: Level::Alarm,
                ..
            } = e
            {
                first_alarm.get_or_insert(frame);
            }
        });
        assert!(f >= 200 || level == Level::Ok, "frame {f}: {level:?}");
    }
    let at = first_alarm.expect("no alarm");
    println!("degradation at frame 200: alarm at frame {at}");
    assert_eq!(at, 202);
}

// ---- The alarm pin ---------------------------------------------------------------------------

#[cfg(feature = "embedded-hal")]
mod pin {
    use super::*;
    use embedded_hal_mock::eh1::MockError;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction};
    use loss_core::monitor::{AlarmPin, Polarity};
    use std::io::ErrorKind;

    /// Drives the pin from a monitor through a spike (debounced away), an alarm and a
    /// recovery: the pin sees exactly low, high, low.
    #[test]
    fn pin_follows_the_alarm_with_one_edge_per_transition() {
        let expectations = [
            Transaction::set(State::Low),
            Transaction::set(State::High),
            Transaction::set(State::Low),
        ];
        let mut pin = AlarmPin::new(Mock::new(&expectations), Level::Alarm, Polarity::ActiveHigh);
        let mut m = Monitor::<1, 8>::new([unit(Signal::Loss).with_cusum(0.5, 1000.0)]).unwrap();
        let xs = [
            0.0, 9.0, 0.0, 4.0, 4.0, 4.0, 9.0, 9.0, 9.0, 9.0, 0.0, 0.0, 0.0, 0.0,
        ];
        let mut writes = Vec::new();
        for (f, x) in xs.into_iter().enumerate() {
            let level = m.observe(&[Some(x)], |_| {});
            if pin.update(level).unwrap() {
                writes.push((f, level));
            }
        }
        assert_eq!(writes, [(0, Level::Ok), (8, Level::Alarm), (12, Level::Ok)]);
        pin.into_inner().done();
    }

    #[test]
    fn active_low_and_warn_trigger() {
        let expectations = [
            Transaction::set(State::High),
            Transaction::set(State::Low),
            Transaction::set(State::High),
        ];
        let mut pin = AlarmPin::new(Mock::new(&expectations), Level::Warn, Polarity::ActiveLow);
        for level in [Level::Ok, Level::Ok, Level::Warn, Level::Alarm, Level::Ok] {
            pin.update(level).unwrap();
        }
        pin.into_inner().done();
    }

    #[test]
    fn pin_errors_are_returned_and_the_write_retried() {
        let err = MockError::Io(ErrorKind::NotConnected);
        let expectations = [
            Transaction::set(State::Low),
            Transaction::set(State::High).with_error(err.clone()),
            Transaction::set(State::High),
        ];
        let mut pin = AlarmPin::new(Mock::new(&expectations), Level::Alarm, Polarity::ActiveHigh);
        assert_eq!(pin.update(Level::Ok), Ok(true));
        assert_eq!(pin.update(Level::Alarm), Err(err));
        assert_eq!(pin.is_active(), Some(false));
        assert_eq!(pin.update(Level::Alarm), Ok(true));
        assert_eq!(pin.is_active(), Some(true));
        assert_eq!(pin.update(Level::Alarm), Ok(false));
        pin.into_inner().done();
    }
}
