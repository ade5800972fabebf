//! `--overlay DIR`: one PNG per image showing where the model is right and wrong.
//!
//! All classes (default): green = a foreground class found (true positive), red = foreground
//! predicted on background (false positive), blue = foreground missed, predicted background
//! (false negative), orange = foreground given the wrong foreground class (a false positive for
//! one class and a false negative for another), dark grey = background right, black = ignored.
//! With `--overlay-class K` the same colours refer to class `K` alone: green TP, red FP, blue
//! FN, dark grey TN. Decisions are argmax (a threshold for one binary channel). Small images are
//! scaled up by whole pixels to at least 256 pixels a side so they can be looked at.

use std::path::Path;

use crate::input::{Pair, TargetData};
use crate::io::atomic::write_atomically;
use crate::io::png;

const TP: [u8; 3] = [0, 200, 80];
const FP: [u8; 3] = [230, 40, 40];
const FN: [u8; 3] = [40, 120, 255];
const CONFUSED: [u8; 3] = [255, 160, 0];
const TN: [u8; 3] = [48, 48, 48];
const IGNORED: [u8; 3] = [0, 0, 0];

/// Writes the overlays of one pair into `dir`; returns the files written.
pub fn write(
    pair: &Pair,
    dir: &Path,
    class: Option<usize>,
    threshold: f32,
    from_logits: bool,
    ignore: Option<i32>,
) -> Result<Vec<String>, String> {
    let g = pair.geometry;
    if let Some(k) = class
        && k >= g.classes.max(2)
    {
        return Err(format!(
            "--overlay-class {k}: the data has {} classes",
            g.classes.max(2)
        ));
    }
    let cut = if from_logits {
        libm::logf(threshold / (1.0 - threshold))
    } else {
        threshold
    };
    let scale = (256 / g.height.max(g.width)).max(1);
    let (w, h) = (g.width * scale, g.height * scale);
    let mut written = Vec::new();
    for n in 0..g.batch {
        let mut rgb = vec![0u8; 3 * w * h];
        for s in 0..g.spatial() {
            let predicted = predicted_class(pair, n, s, cut);
            let truth = true_class(pair, n, s, ignore);
            let (y, x) = (s / g.width, s % g.width);
            paint(&mut rgb, w, scale, (y, x), colour(truth, predicted, class));
        }
        let path = dir.join(file_name(pair, n, class));
        let bytes = png::write_rgb(w as u32, h as u32, &rgb)?;
        write_atomically(&path, &bytes)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// The class decided at pixel `s` of sample `n`: argmax, or for one binary channel the score
/// against `cut`.
fn predicted_class(pair: &Pair, n: usize, s: usize, cut: f32) -> usize {
    let g = pair.geometry;
    let score = |c: usize| {
        pair.scores
            .get(g.index(n, c, s))
            .copied()
            .unwrap_or(f32::NAN)
    };
    if g.classes == 1 {
        usize::from(score(0) >= cut)
    } else {
        let mut best = (0, f32::NEG_INFINITY);
        for c in 0..g.classes {
            if score(c) > best.1 {
                best = (c, score(c));
            }
        }
        best.0
    }
}

/// The true class at pixel `s` of sample `n` (the largest dense target), or none if ignored.
fn true_class(pair: &Pair, n: usize, s: usize, ignore: Option<i32>) -> Option<usize> {
    let g = pair.geometry;
    match &pair.targets {
        TargetData::Labels(l) => match l.get(n * g.spatial() + s) {
            Some(&v) if Some(v) == ignore => None,
            Some(&v) => Some(v as usize),
            None => None,
        },
        TargetData::Dense(d) => {
            let t = |c: usize| d.get(g.index(n, c, s)).copied().unwrap_or(0.0);
            Some(if g.classes == 1 {
                usize::from(t(0) >= 0.5)
            } else {
                (1..g.classes).fold(0, |b, c| if t(c) > t(b) { c } else { b })
            })
        }
    }
}

/// The colour of a pixel, for all classes or for class `class` alone.
fn colour(truth: Option<usize>, predicted: usize, class: Option<usize>) -> [u8; 3] {
    match (truth, class) {
        (None, _) => IGNORED,
        (Some(t), Some(k)) => match (predicted == k, t == k) {
            (true, true) => TP,
            (true, false) => FP,
            (false, true) => FN,
            (false, false) => TN,
        },
        (Some(t), None) => match (predicted, t) {
            (0, 0) => TN,
            (p, t) if p == t => TP,
            (_, 0) => FP,
            (0, _) => FN,
            _ => CONFUSED,
        },
    }
}

/// Fills the `scale × scale` block of pixel `(y, x)` of an RGB image `w` pixels wide.
fn paint(rgb: &mut [u8], w: usize, scale: usize, (y, x): (usize, usize), colour: [u8; 3]) {
    for dy in 0..scale {
        for dx in 0..scale {
            let o = 3 * ((y * scale + dy) * w + x * scale + dx);
            if let Some(px) = rgb.get_mut(o..o + 3) {
                px.copy_from_slice(&colour);
            }
        }
    }
}

/// `STEM[_N][_classK].png`: the sample's index when the file holds several.
fn file_name(pair: &Pair, n: usize, class: Option<usize>) -> String {
    let mut name = pair.stem.clone();
    if pair.geometry.batch > 1 {
        name.push_str(&format!("_{n}"));
    }
    if let Some(k) = class {
        name.push_str(&format!("_class{k}"));
    }
    name.push_str(".png");
    name
}
