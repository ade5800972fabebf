//! The monitoring example: a segmentation model's output on a camera frame arrives tile by
//! tile; focal loss, dice loss and per-class IoU are computed on the fly with the streaming
//! accumulators (fixed-size state, no frame buffer) and logged once per frame.
//!
//! The "model" is synthetic: a 64 x 48 frame with three classes (background, a disc, a bar)
//! that move between frames, and logits that are right with a margin except along the object
//! borders, where they are deliberately confused.

use loss_core::Error;
use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::multiclass::{
    Activation, ClassAlpha, ClassLossAccumulator, ClassOverlap, ClassReduction,
    ClassStatsAccumulator, ConfusionAccumulator, Decision, Layout, Metric, SoftmaxFocal, Targets,
};

const W: usize = 64;
const H: usize = 48;
const TILE: usize = 16;
/// Classes: background, disc, bar.
pub const CLASSES: usize = 3;

/// The ground-truth class of pixel `(x, y)` in frame `f`.
fn truth(f: usize, x: usize, y: usize) -> u8 {
    let (cx, cy) = (16 + 8 * f as i32, 24i32);
    let (dx, dy) = (x as i32 - cx, y as i32 - cy);
    if dx * dx + dy * dy <= 100 {
        1
    } else if (40..56).contains(&x) && (8 + 4 * f..16 + 4 * f).contains(&y) {
        2
    } else {
        0
    }
}

/// The model's logits for pixel `(x, y)`: a margin for the true class, confusion on borders.
fn logits(f: usize, x: usize, y: usize, out: &mut [f32]) {
    let label = usize::from(truth(f, x, y));
    let border = x > 0
        && y > 0
        && (truth(f, x - 1, y) != truth(f, x, y) || truth(f, x, y - 1) != truth(f, x, y));
    // Deterministic pseudo-noise in [-0.5, 0.5).
    let h = (x as u32).wrapping_mul(73_856_093)
        ^ (y as u32).wrapping_mul(19_349_663)
        ^ (f as u32).wrapping_mul(83_492_791);
    let noise = (h % 1000) as f32 / 1000.0 - 0.5;
    for (c, o) in out.iter_mut().enumerate() {
        *o = noise * (c as f32 + 1.0) - 1.0;
        if c == label {
            *o += if border { 0.4 } else { 4.0 };
        }
    }
}

/// Per-frame figures.
#[derive(Debug, Clone, Copy, defmt::Format)]
pub struct FrameReport {
    /// Frame index.
    pub frame: usize,
    /// Softmax focal loss (gamma 2, MONAI alpha 0.25), mean over pixel x class elements.
    pub focal: f32,
    /// Dice loss over the classes (softmax, MONAI reduction).
    pub dice: f32,
    /// IoU of each class from argmax decisions (`None` if the class is absent everywhere).
    pub iou: [Option<f32>; CLASSES],
}

/// Streams `frames` frames tile by tile and returns one report per frame through `report`.
///
/// # Errors
/// Whatever `loss-core` reports (nothing, for this well-formed input).
pub fn run(frames: usize, mut report: impl FnMut(&FrameReport)) -> Result<(), Error> {
    let focal = SoftmaxFocal::new(ClassAlpha::Background(0.25), 2.0, None)?;
    let overlap = ClassOverlap {
        activation: Activation::Softmax,
        ..ClassOverlap::default()
    };
    for f in 0..frames {
        let mut focal_acc = ClassLossAccumulator::<_, CLASSES>::new(focal, CLASSES)?;
        let mut stats_acc = ClassStatsAccumulator::<CLASSES>::new(overlap, CLASSES)?;
        let mut confusion = ConfusionAccumulator::<CLASSES>::new(Decision::Argmax, CLASSES)?;
        // One tile of model output: channels-last logits and the label map.
        let mut scores = [0.0f32; TILE * TILE * CLASSES];
        let mut labels = [0u8; TILE * TILE];
        for ty in (0..H).step_by(TILE) {
            for tx in (0..W).step_by(TILE) {
                for (i, (px, label)) in scores
                    .chunks_exact_mut(CLASSES)
                    .zip(labels.iter_mut())
                    .enumerate()
                {
                    let (x, y) = (tx + i % TILE, ty + i / TILE);
                    logits(f, x, y, px);
                    *label = truth(f, x, y);
                }
                let targets = Targets::labels(&labels[..]);
                focal_acc.push(Layout::ChannelsLast, &scores, targets)?;
                stats_acc.push(Layout::ChannelsLast, &scores, targets)?;
                confusion.push(Layout::ChannelsLast, &scores, targets)?;
                defmt::debug!(
                    "frame {} tile ({}, {}): running focal {}",
                    f,
                    tx,
                    ty,
                    focal_acc.mean_per_element()
                );
            }
        }
        let mut stats = [OverlapStats::default(); CLASSES];
        stats_acc.stats(&mut stats)?;
        let mut iou = [None; CLASSES];
        for (o, c) in iou.iter_mut().zip(confusion.counts()) {
            *o = c.metric(Metric::Iou);
        }
        report(&FrameReport {
            frame: f,
            focal: focal_acc.mean_per_element()?,
            dice: ClassReduction::monai().reduce(&OverlapLoss::dice(), &stats, CLASSES)?,
            iou,
        });
    }
    Ok(())
}
