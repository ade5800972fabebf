//! Expected values for the C checks the golden cases do not reach (the monitor and the frame
//! signals), computed here with loss-core and written as C data.

use std::fmt::Write as _;

use loss_core::Predictions;
use loss_core::monitor::{
    Cause, Event, FrameSignals, LabelFree, Level, Monitor, Signal, SignalConfig,
};
use loss_core::multiclass::Layout;
use loss_core::quantized::{ClassQuantization, Quantization};

use super::float;

/// Frames of the monitor scenario.
const FRAMES: usize = 100;

/// The monitor scenario's values: confidence (baseline given) collapses at frame 50; entropy
/// (baseline learned over 16 frames) is not measured on frames 5 to 8, is NaN on frame 70 and
/// rises from frame 80.
fn monitor_values() -> (Vec<f32>, Vec<f32>, Vec<bool>) {
    let conf = (0..FRAMES)
        .map(|f| {
            if f < 50 {
                0.92 + ((f * 7) % 5) as f32 * 0.002
            } else {
                0.70
            }
        })
        .collect();
    let ent = (0..FRAMES)
        .map(|f| match f {
            70 => f32::NAN,
            f if f >= 80 => 0.6,
            f => 0.2 + ((f * 3) % 7) as f32 * 0.01,
        })
        .collect();
    let measured = (0..FRAMES).map(|f| !(5..=8).contains(&f)).collect();
    (conf, ent, measured)
}

fn level(l: Level) -> u32 {
    match l {
        Level::Ok => 0,
        Level::Warn => 1,
        Level::Alarm => 2,
    }
}

fn floats(name: &str, v: &[f32]) -> String {
    let body: Vec<String> = v.iter().map(|&x| float(x)).collect();
    format!(
        "const float {name}[{}] = {{ {} }};\n",
        v.len(),
        body.join(", ")
    )
}

fn bits(v: f32) -> String {
    format!("0x{:x}u", v.to_bits())
}

fn label_free(name: &str, l: &LabelFree<16>) -> String {
    let area: Vec<String> = l.area.iter().map(|&a| bits(a)).collect();
    let nan = f32::NAN;
    format!(
        "const glabel_free {name} = {{ {}, {}, {}, {}, {{ {} }}, {}, {}, {}, {} }};\n",
        l.pixels,
        l.classes,
        bits(l.entropy),
        bits(l.confidence),
        area.join(", "),
        l.consistency.is_some(),
        bits(l.consistency.unwrap_or(nan)),
        bits(l.consistency_iou.unwrap_or(nan)),
        bits(l.agreement.unwrap_or(nan)),
    )
}

/// The C data of the extra checks.
pub fn render() -> String {
    let mut s = String::from("\n/* ---- the extra checks (golden_extra.c) ---- */\n");
    let (conf, ent, measured) = monitor_values();
    s.push_str(&floats("g_mon_conf", &conf));
    s.push_str(&floats("g_mon_ent", &ent));
    let m: Vec<&str> = measured
        .iter()
        .map(|&b| if b { "true" } else { "false" })
        .collect();
    let _ = writeln!(
        s,
        "const bool g_mon_measured[{FRAMES}] = {{ {} }};",
        m.join(", ")
    );

    let configs = [
        SignalConfig::new(Signal::Confidence).with_baseline(0.92, 0.01),
        SignalConfig::new(Signal::Entropy).learning(16),
    ];
    let mut monitor = Monitor::<2, 32>::new(configs).expect("valid configurations");
    let mut events = Vec::new();
    for f in 0..FRAMES {
        let values = [Some(conf[f]), measured[f].then_some(ent[f])];
        monitor.observe(&values, |e| events.push(e));
    }
    let _ = writeln!(s, "const gmon_event g_mon_events[] = {{");
    for e in &events {
        let index = |sig: Signal| u32::from(sig != Signal::Confidence);
        let nan = f32::NAN;
        let (kind, frame, signal, from, to, cause, value, mean, std) = match *e {
            Event::Transition {
                frame,
                signal,
                from,
                to,
                cause,
                value,
                baseline,
            } => {
                let cause = match cause {
                    Cause::Threshold => 0,
                    Cause::Drift => 1,
                    Cause::Fault => 2,
                    Cause::Recovery => 3,
                };
                (
                    0,
                    frame,
                    index(signal),
                    level(from),
                    level(to),
                    cause,
                    value,
                    baseline,
                    nan,
                )
            }
            Event::Fault {
                frame,
                signal,
                value,
            } => (1, frame, index(signal), 0, 0, 0, value, nan, nan),
            Event::BaselineLearned {
                frame,
                signal,
                baseline,
            } => (
                2,
                frame,
                index(signal),
                0,
                0,
                0,
                nan,
                baseline.mean,
                baseline.std,
            ),
        };
        let _ = writeln!(
            s,
            "    {{ {kind}, {frame}, {signal}, {from}, {to}, {cause}, {}, {}, {} }},",
            bits(value),
            bits(mean),
            bits(std)
        );
    }
    let _ = writeln!(s, "}};\nconst size_t g_mon_event_count = {};", events.len());
    let _ = writeln!(s, "const uint32_t g_mon_summary[2][9] = {{");
    for i in 0..2 {
        let m = monitor.summary(i).expect("a configured signal");
        let _ = writeln!(
            s,
            "    {{ {}, {}, {}, {}, {}, {}, {}, {}, {} }},",
            level(m.level),
            m.count,
            bits(m.mean),
            bits(m.min),
            bits(m.median),
            bits(m.max),
            bits(m.ewma),
            bits(m.cusum),
            u32::from(i == 1)
        );
    }
    let _ = writeln!(
        s,
        "}};\nconst uint32_t g_mon_level = {};\nconst uint32_t g_mon_frames = {};",
        level(monitor.level()),
        monitor.frames()
    );

    // Frame signals: 32 pixels of 4 classes (channels last) from the golden logits, in tiles of
    // 8 pixels, against a previous mask; then the same shape as int8 codes.
    let scores: Vec<f32> = golden::CASES
        .iter()
        .find(|c| c.predictions.len() >= 128 && c.predictions.iter().all(|v| v.is_finite()))
        .expect("a case with 128 finite values")
        .predictions[..128]
        .to_vec();
    s.push_str(&floats("g_fs_scores", &scores));
    let previous: Vec<u8> = (0..32u8).map(|i| (i * 5 + 1) % 4).collect();
    let p: Vec<String> = previous.iter().map(u8::to_string).collect();
    let _ = writeln!(
        s,
        "const uint8_t g_fs_previous[32] = {{ {} }};",
        p.join(", ")
    );
    let mut mask = previous.clone();
    let lf = {
        let mut fs = FrameSignals::<16>::new(Predictions::Logits, 4)
            .and_then(|f| f.with_previous_mask(&mut mask, true))
            .expect("frame signals");
        for tile in scores.chunks(32) {
            fs.push(Layout::ChannelsLast, tile).expect("push");
        }
        fs.finish().expect("finish")
    };
    s.push_str(&label_free("g_fs_expected", &lf));
    let m: Vec<String> = mask.iter().map(u8::to_string).collect();
    let _ = writeln!(
        s,
        "const uint8_t g_fs_mask_after[32] = {{ {} }};",
        m.join(", ")
    );

    let codes: Vec<i8> = (0..128i32)
        .map(|i| ((i * 37 + 11) % 256 - 128) as i8)
        .collect();
    let c: Vec<String> = codes.iter().map(i8::to_string).collect();
    let _ = writeln!(s, "const int8_t g_fs_codes[128] = {{ {} }};", c.join(", "));
    let q = Quantization::new(0.0625, -3).expect("quantization");
    let cq = ClassQuantization::<i8>::per_tensor(q).expect("per tensor");
    let mut fs = FrameSignals::<16>::new(Predictions::Logits, 4).expect("frame signals");
    fs.push_codes(Layout::ChannelsLast, &codes, &cq)
        .expect("push codes");
    s.push_str(&label_free(
        "g_fs_codes_expected",
        &fs.finish().expect("finish"),
    ));
    s
}
