//! On-device fine-tuning with `loss-core`: a deployed segmentation head drifts, the monitor
//! raises its alarm, a few labelled frames and [`STEPS`] steps of SGD on focal + dice adapt the
//! head, and the monitor returns to `Ok`.
//!
//! The same code runs on the host (`finetune/tests/same_bits.rs`) and on every board
//! (`firmware/common/bins/finetune.rs`): both compare the trained head's [`Head::hash`] with
//! [`EXPECTED_HASH`], so the boards' bits are checked against the host's, not against a copy.
//!
//! # The model
//! - A frozen backbone, reduced to its output: [`FEATURES`] features per pixel of a
//!   [`WIDTH`] x [`HEIGHT`] frame, computed on the fly per pixel by [`features`] (a
//!   deterministic function: the 32 KiB feature map is never stored, so the example fits the
//!   M0's 16 KiB of RAM).
//! - A per-pixel linear head, a 1x1 convolution to [`CLASSES`] logits ([`Head`]: f32 weights
//!   and biases in RAM), the only trained part.
//! - The drift: from [`SHIFT_AT`] the features come from a changed sensor (channels reordered,
//!   attenuated and offset), so the head, fitted to the old features ([`Head::pretrained`]),
//!   hesitates.
//!
//! # The loss and its gradient
//! `loss = focal + dice`: one-vs-rest sigmoid focal loss ([`OneVsRestFocal`], alpha 0.25,
//! gamma 2, the mean over pixel x class terms) plus the mean over classes of a binary dice
//! loss on each class's logits ([`OverlapLoss::dice`] on logits, the statistics over all
//! labelled pixels). `loss-core` has the softmax focal gradient but no per-class (multi-class)
//! overlap gradient yet, so the example uses the one-vs-rest pair, whose gradients are both
//! there: [`OneVsRestFocal::loss_and_grad_elementwise`] and the dice's two
//! passes ([`OverlapLoss::accumulator`], then [`OverlapGradient::tile`]). `loss-core` gives
//! `d loss / d logits`; the head's gradients follow by the chain rule here:
//! `d loss / d W[c][k] = Σ_pixels d loss / d z[c] · feature[k]`, `d loss / d b[c] = Σ d loss / d z[c]`.
//!
//! Each step streams the labelled frames twice, a row ([`WIDTH`] pixels) at a time: the dice
//! statistics, then the gradient. Nothing frame-sized is stored.
//!
//! # Determinism
//! Only f32 additions, multiplications and divisions in a fixed order, integer hashing and
//! `loss-core` (whose bits are the same on every target): the trained weights have the same
//! bits on the host, the M4F, the M0 (soft float) and the RISC-V board.
#![no_std]

use loss_core::dice::{OverlapGradient, OverlapLoss};
use loss_core::monitor::{Event, FrameSignals, Level, Monitor, Signal, SignalConfig};
use loss_core::multiclass::{ClassAlpha, Layout, OneVsRestFocal, Shape, Targets};
use loss_core::{Error, Mask, Predictions};

/// Frame width (pixels); also the tile: one row.
pub const WIDTH: usize = 32;
/// Frame height (pixels).
pub const HEIGHT: usize = 32;
/// Features per pixel (the frozen backbone's channels).
pub const FEATURES: usize = 8;
/// Classes: background, a moving disc, a bar.
pub const CLASSES: usize = 3;

/// Frames whose statistics form the monitor's baseline.
pub const LEARN_FRAMES: u16 = 24;
/// The first frame from the changed sensor.
pub const SHIFT_AT: u32 = 32;
/// The first labelled frame: the alarm has had time to rise (debounce, 3 frames), the device
/// keeps this frame and the next [`LABELLED`] - 1 with their labels, fine-tunes, and resumes.
pub const TRAIN_AT: u32 = SHIFT_AT + 8;
/// Labelled frames of the new sensor used for fine-tuning (frames `TRAIN_AT ..`).
pub const LABELLED: usize = 2;
/// SGD steps.
pub const STEPS: u32 = 20;
/// SGD learning rate.
pub const LEARNING_RATE: f32 = 8.0;
/// Frames streamed through the monitor after fine-tuning.
pub const AFTER: u32 = 24;
/// The loss after fine-tuning must be at most the loss before divided by this.
pub const LOSS_FACTOR: f32 = 10.0;
/// [`Head::hash`] of the head after [`run`]: computed by the host test with this code and
/// checked by the firmware on every board.
pub const EXPECTED_HASH: u32 = 0xd7b8_204e;

/// Class prototypes in feature space: the backbone's mean output for each class.
const PROTOTYPES: [[f32; FEATURES]; CLASSES] = [
    [1.0, -1.0, 0.5, 0.0, -0.5, 0.0, 1.0, 0.0],
    [-1.0, 1.0, 0.0, 1.0, 0.5, -0.5, 0.0, 0.0],
    [0.0, 0.0, -1.0, -1.0, 0.0, 1.0, -0.5, 1.0],
];

/// The changed sensor: feature `k` becomes `GAIN * f[(k + 3) % 8] + OFFSET[k]`.
const GAIN: f32 = 0.5;
const OFFSET: [f32; FEATURES] = [0.25, -0.25, 0.5, 0.0, -0.5, 0.25, 0.0, -0.25];

/// The scale of the pretrained head (its logits' sharpness).
const PRETRAINED_SCALE: f32 = 1.0;

/// The ground-truth class of pixel `(x, y)` in frame `f`: a disc moving right, a bar moving
/// down, background elsewhere.
pub fn truth(f: u32, x: usize, y: usize) -> u8 {
    let (cx, cy) = (6 + (f % 20) as i32, 12i32);
    let (dx, dy) = (x as i32 - cx, y as i32 - cy);
    if dx * dx + dy * dy <= 36 {
        1
    } else if (22..27).contains(&x) && (((f % 16) as usize)..((f % 16) as usize + 14)).contains(&y)
    {
        2
    } else {
        0
    }
}

/// The frozen backbone's features at pixel `(x, y)` of frame `f`: the class prototype plus
/// deterministic noise in `[-0.5, 0.5)` per feature; through the changed sensor if `shifted`.
pub fn features(f: u32, x: usize, y: usize, shifted: bool) -> [f32; FEATURES] {
    let class = usize::from(truth(f, x, y));
    let proto = PROTOTYPES.get(class).copied().unwrap_or([0.0; FEATURES]);
    let mut out = [0.0; FEATURES];
    let seed = (x as u32).wrapping_mul(73_856_093)
        ^ (y as u32).wrapping_mul(19_349_663)
        ^ f.wrapping_mul(83_492_791);
    for (k, (o, p)) in out.iter_mut().zip(proto).enumerate() {
        // xorshift-multiply hash of (pixel, frame, feature).
        let mut h = seed ^ (k as u32).wrapping_mul(0x9e37_79b9);
        h ^= h >> 16;
        h = h.wrapping_mul(0x7feb_352d);
        h ^= h >> 15;
        let noise = (h % 1024) as f32 / 1024.0 - 0.5;
        *o = p + noise;
    }
    if shifted {
        let mut moved = [0.0; FEATURES];
        for (k, (m, offset)) in moved.iter_mut().zip(OFFSET).enumerate() {
            let source = out.get((k + 3) % FEATURES).copied().unwrap_or(0.0);
            *m = GAIN * source + offset;
        }
        moved
    } else {
        out
    }
}

/// The per-pixel linear head: `z[c] = Σ_k weight[c][k] · feature[k] + bias[c]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Weights, one row per class.
    pub weight: [[f32; FEATURES]; CLASSES],
    /// Biases.
    pub bias: [f32; CLASSES],
}

impl Head {
    /// The head as deployed, fitted to the old sensor: the nearest-prototype rule as a linear
    /// layer (`w_c = s · mu_c`, `b_c = -s · |mu_c|² / 2`).
    pub fn pretrained() -> Self {
        let mut head = Self {
            weight: [[0.0; FEATURES]; CLASSES],
            bias: [0.0; CLASSES],
        };
        for ((w, b), proto) in head.weight.iter_mut().zip(&mut head.bias).zip(PROTOTYPES) {
            let mut norm = 0.0;
            for (wk, p) in w.iter_mut().zip(proto) {
                *wk = PRETRAINED_SCALE * p;
                norm += p * p;
            }
            *b = -PRETRAINED_SCALE * norm / 2.0;
        }
        head
    }

    /// The logits of one pixel into `out` (its `CLASSES` scores).
    pub fn logits(&self, feature: &[f32; FEATURES], out: &mut [f32]) {
        for ((o, w), b) in out.iter_mut().zip(&self.weight).zip(self.bias) {
            let mut z = b;
            for (wk, fk) in w.iter().zip(feature) {
                z += wk * fk;
            }
            *o = z;
        }
    }

    /// FNV-1a over the bits of the weights, then the biases: equal hashes, equal heads (for
    /// the cross-board check).
    pub fn hash(&self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for v in self.weight.iter().flatten().chain(&self.bias) {
            for byte in v.to_bits().to_le_bytes() {
                h ^= u32::from(byte);
                h = h.wrapping_mul(0x0100_0193);
            }
        }
        h
    }
}

/// One row of a frame: features, logits (channels-last) and labels.
struct Row {
    features: [[f32; FEATURES]; WIDTH],
    logits: [f32; WIDTH * CLASSES],
    labels: [u8; WIDTH],
}

impl Row {
    fn new() -> Self {
        Self {
            features: [[0.0; FEATURES]; WIDTH],
            logits: [0.0; WIDTH * CLASSES],
            labels: [0; WIDTH],
        }
    }

    /// Fills the row `y` of frame `f` through `head`.
    fn fill(&mut self, head: &Head, f: u32, y: usize, shifted: bool) {
        for (x, ((feature, z), label)) in self
            .features
            .iter_mut()
            .zip(self.logits.chunks_exact_mut(CLASSES))
            .zip(&mut self.labels)
            .enumerate()
        {
            *feature = features(f, x, y, shifted);
            head.logits(feature, z);
            *label = truth(f, x, y);
        }
    }

    /// Class `c`'s logits (one per pixel) and its binary mask.
    fn channel(&self, c: usize, logits: &mut [f32; WIDTH], mask: &mut [u8; WIDTH]) {
        for ((o, m), (z, label)) in logits
            .iter_mut()
            .zip(mask.iter_mut())
            .zip(self.logits.chunks_exact(CLASSES).zip(&self.labels))
        {
            *o = z.get(c).copied().unwrap_or(0.0);
            *m = u8::from(usize::from(*label) == c);
        }
    }
}

/// The loss of one step, before its update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Step index (0-based).
    pub step: u32,
    /// `focal + dice`.
    pub loss: f32,
    /// One-vs-rest focal loss, mean over the pixel x class terms.
    pub focal: f32,
    /// Binary dice loss on logits, mean over the classes.
    pub dice: f32,
}

/// The losses used for training.
fn losses() -> Result<(OneVsRestFocal<'static>, OverlapLoss), Error> {
    Ok((
        OneVsRestFocal::new(ClassAlpha::Uniform(0.25), 2.0, None)?,
        OverlapLoss::dice().with_predictions(Predictions::Logits),
    ))
}

/// The loss of `head` on the labelled `frames` (new sensor) and its gradient with respect to
/// the head's weights and biases, into `grad` (overwritten).
///
/// # Errors
/// Whatever `loss-core` reports (nothing, for this well-formed data); [`Error::EmptyInput`]
/// for no frame.
pub fn loss_and_grad(head: &Head, frames: &[u32], grad: &mut Head) -> Result<StepReport, Error> {
    let (focal, dice) = losses()?;
    let shape = Shape::new(1, CLASSES, WIDTH, Layout::ChannelsLast)?;
    let mut row = Row::new();
    let mut channel = [0.0f32; WIDTH];
    let mut mask = [0u8; WIDTH];
    // Pass 1: each class's dice statistics over every labelled pixel.
    let mut stats = [dice.accumulator(); CLASSES];
    for &f in frames {
        for y in 0..HEIGHT {
            row.fill(head, f, y, true);
            for (c, acc) in stats.iter_mut().enumerate() {
                row.channel(c, &mut channel, &mut mask);
                acc.push(&channel, Mask::bytes(&mask))?;
            }
        }
    }
    let mut passes: [Option<OverlapGradient>; CLASSES] = [None; CLASSES];
    for (pass, acc) in passes.iter_mut().zip(&stats) {
        *pass = Some(dice.gradient(&acc.stats()?)?);
    }
    // Pass 2: d loss / d logits from loss-core, then the chain rule to the head.
    let terms = frames.len() * HEIGHT * WIDTH * CLASSES;
    let per_term = 1.0 / terms as f32;
    let per_class = 1.0 / CLASSES as f32;
    *grad = Head {
        weight: [[0.0; FEATURES]; CLASSES],
        bias: [0.0; CLASSES],
    };
    let mut focal_sum = 0.0f32;
    let mut term_losses = [0.0f32; WIDTH * CLASSES];
    let mut dz = [0.0f32; WIDTH * CLASSES];
    let mut dice_grad = [0.0f32; WIDTH];
    for &f in frames {
        for y in 0..HEIGHT {
            row.fill(head, f, y, true);
            focal.loss_and_grad_elementwise(
                &shape,
                &row.logits,
                Targets::labels(&row.labels[..]),
                &mut term_losses,
                &mut dz,
            )?;
            for (l, g) in term_losses.iter().zip(dz.iter_mut()) {
                focal_sum += l;
                *g *= per_term;
            }
            for (c, pass) in passes.iter_mut().enumerate() {
                let Some(pass) = pass else { continue };
                row.channel(c, &mut channel, &mut mask);
                pass.tile(&channel, Mask::bytes(&mask), &mut dice_grad)?;
                for (g, d) in dz.iter_mut().skip(c).step_by(CLASSES).zip(dice_grad) {
                    *g += d * per_class;
                }
            }
            for (feature, g) in row.features.iter().zip(dz.chunks_exact(CLASSES)) {
                for ((gw, gb), gz) in grad.weight.iter_mut().zip(&mut grad.bias).zip(g) {
                    for (w, fk) in gw.iter_mut().zip(feature) {
                        *w += gz * fk;
                    }
                    *gb += gz;
                }
            }
        }
    }
    let mut dice_sum = 0.0f32;
    for pass in passes.iter().flatten() {
        dice_sum += pass.finish()?;
    }
    let focal = focal_sum * per_term;
    let dice = dice_sum * per_class;
    Ok(StepReport {
        step: 0,
        loss: focal + dice,
        focal,
        dice,
    })
}

/// One SGD step on the labelled `frames`: returns the loss before the update.
///
/// # Errors
/// As [`loss_and_grad`].
pub fn sgd_step(head: &mut Head, frames: &[u32], learning_rate: f32) -> Result<StepReport, Error> {
    let mut grad = *head;
    let report = loss_and_grad(head, frames, &mut grad)?;
    for (w, g) in head.weight.iter_mut().zip(&grad.weight) {
        for (wk, gk) in w.iter_mut().zip(g) {
            *wk -= learning_rate * gk;
        }
    }
    for (b, g) in head.bias.iter_mut().zip(&grad.bias) {
        *b -= learning_rate * g;
    }
    Ok(report)
}

/// The monitor's signals: label-free, the head's mean entropy and confidence.
pub const SIGNALS: [SignalConfig; 2] = [
    SignalConfig::new(Signal::Entropy)
        .learning(LEARN_FRAMES)
        .with_min_std(MIN_STD),
    SignalConfig::new(Signal::Confidence)
        .learning(LEARN_FRAMES)
        .with_min_std(MIN_STD),
];

/// The floor of the baselines' standard deviation: frame-to-frame variation a real camera
/// has (the synthetic frames vary less), so that a head as good as the deployed one reads `Ok`.
const MIN_STD: f32 = 0.02;

/// The monitor of the example (2 signals, windows of 16 frames).
pub type FrameMonitor = Monitor<2, 16>;

/// Streams frame `f` through `head` into the monitor; returns its level.
fn observe(
    monitor: &mut FrameMonitor,
    head: &Head,
    f: u32,
    on_event: &mut impl FnMut(u32, &Event),
) -> Result<Level, Error> {
    let mut frame = FrameSignals::<CLASSES>::new(Predictions::Logits, CLASSES)?;
    let mut row = Row::new();
    for y in 0..HEIGHT {
        row.fill(head, f, y, f >= SHIFT_AT);
        frame.push(Layout::ChannelsLast, &row.logits)?;
    }
    let s = frame.finish()?;
    Ok(
        monitor.observe(&[Some(s.entropy), Some(s.confidence)], |e| {
            on_event(f, &e);
        }),
    )
}

/// What the example did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The first frame at `Alarm`.
    pub first_alarm: Option<u32>,
    /// Frames at `Alarm` before the shift (must be 0).
    pub early_alarms: u32,
    /// The monitor's level when fine-tuning starts.
    pub level_before: Level,
    /// The loss at the first step (before any update).
    pub initial_loss: f32,
    /// The loss of the trained head on the same frames.
    pub final_loss: f32,
    /// The first frame after fine-tuning at which the monitor is back to `Ok`.
    pub cleared_at: Option<u32>,
    /// The monitor's level at the end.
    pub level_after: Level,
    /// [`Head::hash`] of the trained head.
    pub hash: u32,
}

impl Outcome {
    /// The checks, each with its name: the alarm was raised by the shift (and not before),
    /// the loss fell by [`LOSS_FACTOR`], the monitor is back to `Ok`, and the weights' hash is
    /// [`EXPECTED_HASH`].
    pub fn checks(&self) -> [(&'static str, bool); 4] {
        [
            (
                "alarm raised after the shift, none before",
                self.level_before == Level::Alarm
                    && self.early_alarms == 0
                    && self.first_alarm.is_some_and(|f| f >= SHIFT_AT),
            ),
            (
                "loss decreased by the stated factor",
                self.final_loss * LOSS_FACTOR <= self.initial_loss,
            ),
            (
                "monitor back to Ok",
                self.level_after == Level::Ok && self.cleared_at.is_some(),
            ),
            ("weights' bits equal the host's", self.hash == EXPECTED_HASH),
        ]
    }
}

/// The whole example: stream `TRAIN_AT + LABELLED` frames through the pretrained head and the
/// monitor (the sensor changes at [`SHIFT_AT`]), fine-tune on the last [`LABELLED`] for
/// [`STEPS`] steps (`on_step` after each), then stream [`AFTER`] more frames. `on_event`
/// receives the monitor's events with their frame; `trained` the head at the end.
///
/// # Errors
/// Whatever `loss-core` reports (nothing, for this well-formed data).
pub fn run(
    mut on_step: impl FnMut(&StepReport),
    mut on_event: impl FnMut(u32, &Event),
    trained: &mut Head,
) -> Result<Outcome, Error> {
    let mut monitor = FrameMonitor::new(SIGNALS)?;
    let mut head = Head::pretrained();
    let mut first_alarm = None;
    let mut early_alarms = 0;
    // The labelled frames arrive (and are watched) like the others, through the old head.
    for f in 0..TRAIN_AT + LABELLED as u32 {
        if observe(&mut monitor, &head, f, &mut on_event)? == Level::Alarm {
            first_alarm.get_or_insert(f);
            if f < SHIFT_AT {
                early_alarms += 1;
            }
        }
    }
    let level_before = monitor.level();
    let mut frames = [0u32; LABELLED];
    for (i, f) in frames.iter_mut().enumerate() {
        *f = TRAIN_AT + i as u32;
    }
    let mut initial_loss = f32::NAN;
    for step in 0..STEPS {
        let mut report = sgd_step(&mut head, &frames, LEARNING_RATE)?;
        report.step = step;
        if step == 0 {
            initial_loss = report.loss;
        }
        on_step(&report);
    }
    let mut scratch = head;
    let final_loss = loss_and_grad(&head, &frames, &mut scratch)?.loss;
    let mut cleared_at = None;
    let resume = TRAIN_AT + LABELLED as u32;
    for f in resume..resume + AFTER {
        let level = observe(&mut monitor, &head, f, &mut on_event)?;
        if level == Level::Ok {
            cleared_at.get_or_insert(f);
        }
    }
    *trained = head;
    Ok(Outcome {
        first_alarm,
        early_alarms,
        level_before,
        initial_loss,
        final_loss,
        cleared_at,
        level_after: monitor.level(),
        hash: head.hash(),
    })
}
