//! The numbers of `sweep`: for every `(alpha, gamma)` of a grid, `loss-core`'s binary focal
//! loss on each class one-vs-rest (sigmoid of logits, or the probabilities as given), summed
//! over the positives and the negatives, and the loss-weighted confusion sums
//! `Σ w` over TP, FP and FN with `w = FL / CE = alpha_t (1 - p_t)^gamma` (`w = alpha_t` where
//! `CE = 0` and gamma is 0, else 0), and the gradient magnitudes `Σ |dFL/dx|` over the
//! positives and the negatives ([`Split`], `x` the score as given); then, pooled over the
//! files, one [`Point`] per grid point.
//! `commands/sweep.rs` says what the numbers show.

use crate::shares::Split;
use loss_core::ElementLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal};

use crate::input::{Pair, TargetData};

/// The grid and how the data is read.
#[derive(Debug, Clone, Copy)]
pub struct Grid<'a> {
    /// The alphas.
    pub alphas: &'a [f32],
    /// The gammas.
    pub gammas: &'a [f32],
    /// Probability at which a pixel counts as predicted positive.
    pub threshold: f32,
    /// Count class 0 as a class too.
    pub include_background: bool,
    /// The scores are logits.
    pub from_logits: bool,
    /// Label left out of every sum.
    pub ignore_index: Option<i32>,
}

/// Sums of one grid point for one class.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    /// Focal loss and `|dFL/dx|` of the positive and the negative pixels.
    split: Split,
    /// Weight of the true positives.
    tp: f64,
    /// Weight of the false positives.
    fp: f64,
    /// Weight of the false negatives.
    fn_: f64,
}

/// Everything a pair contributes: `cells[grid point][class]`, pixels, plain counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acc {
    cells: Vec<Vec<Cell>>,
    /// Pixels counted (ignored pixels excluded).
    pub pixels: u64,
    /// Plain TP, FP and FN at the threshold, over every class.
    counts: [u64; 3],
}

impl Acc {
    /// Adds another pair's sums (same grid and classes).
    pub fn merge(&mut self, o: &Self) {
        if self.cells.is_empty() {
            self.cells.clone_from(&o.cells);
        } else {
            for (a, b) in self.cells.iter_mut().zip(&o.cells) {
                for (x, y) in a.iter_mut().zip(b) {
                    x.split.add(&y.split);
                    x.tp += y.tp;
                    x.fp += y.fp;
                    x.fn_ += y.fn_;
                }
            }
        }
        self.pixels += o.pixels;
        for (a, b) in self.counts.iter_mut().zip(o.counts) {
            *a += b;
        }
    }
}

/// A per-element focal loss and its cross-entropy, from logits or probabilities.
#[derive(Clone, Copy)]
enum Kernel {
    Logits(SigmoidFocal, SigmoidFocal),
    Probabilities(BinaryFocal, BinaryFocal),
}

impl Kernel {
    fn new(alpha: f32, gamma: f32, logits: bool) -> Result<Self, String> {
        let e = |e: loss_core::Error| e.to_string();
        Ok(if logits {
            Self::Logits(
                SigmoidFocal::new(Some(alpha), gamma).map_err(e)?,
                SigmoidFocal::new(None, 0.0).map_err(e)?,
            )
        } else {
            Self::Probabilities(
                BinaryFocal::new(Some(alpha), gamma, 0.0, 1.0).map_err(e)?,
                BinaryFocal::new(None, 0.0, 0.0, 1.0).map_err(e)?,
            )
        })
    }

    /// The focal loss and gradient sums of a class's elements, handing `each` every
    /// element's score, target, `FL` (from the same `loss-core` call as the sums) and `CE`.
    fn split(
        &self,
        e: &Elements,
        mut each: impl FnMut(f32, f32, f32, f32),
    ) -> Result<Split, String> {
        let (s, t) = (&e.scores, &e.targets);
        let mut with_ce = |i: usize, fl: f32, ce: &dyn Fn(f32, f32) -> f32| {
            if let (Some(&p), Some(&t)) = (s.get(i), t.get(i)) {
                each(p, t, fl, ce(p, t));
            }
        };
        match self {
            Self::Logits(f, c) => Split::of_each(f, s, t, |i, fl, _| {
                with_ce(i, fl, &|p, t| c.element(p, t));
            }),
            Self::Probabilities(f, c) => Split::of_each(f, s, t, |i, fl, _| {
                with_ce(i, fl, &|p, t| c.element(p, t));
            }),
        }
    }
}

/// One class's elements: scores and targets.
#[derive(Debug, Clone, Default)]
struct Elements {
    scores: Vec<f32>,
    targets: Vec<f32>,
}

impl Elements {
    fn iter(&self) -> impl Iterator<Item = (f32, f32)> + '_ {
        self.scores
            .iter()
            .copied()
            .zip(self.targets.iter().copied())
    }
}

/// One grid point's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Alpha.
    pub alpha: f32,
    /// Gamma.
    pub gamma: f32,
    /// The positives' share of the loss.
    pub share: Option<f64>,
    /// The positives' share of the gradient, `Σ |dFL/dx|`.
    pub grad_share: Option<f64>,
    /// The mean loss over pixels × classes.
    pub mean: f64,
    /// Each class's mean loss over pixels.
    pub per_class: Vec<f64>,
    /// Weighted precision.
    pub precision: Option<f64>,
    /// Weighted recall.
    pub recall: Option<f64>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

impl Acc {
    /// The plain (unweighted) precision and recall at the threshold.
    pub fn precision_recall(&self) -> (Option<f64>, Option<f64>) {
        let [tp, fp, fn_] = self.counts.map(|v| v as f64);
        (ratio(tp, tp + fp), ratio(tp, tp + fn_))
    }
}

impl Grid<'_> {
    /// The score at which a pixel counts as predicted positive.
    fn cut(&self) -> f32 {
        if self.from_logits {
            libm::logf(self.threshold / (1.0 - self.threshold))
        } else {
            self.threshold
        }
    }

    /// Everything one pair contributes.
    pub fn accumulate(&self, pair: &Pair) -> Result<Acc, String> {
        let cut = self.cut();
        let (elements, pixels) = self.elements(pair);
        let mut counts = [0u64; 3];
        for e in &elements {
            for (p, t) in e.iter() {
                match (p >= cut, t >= 0.5) {
                    (true, true) => counts[0] += 1,
                    (true, false) => counts[1] += 1,
                    (false, true) => counts[2] += 1,
                    _ => {}
                }
            }
        }
        let mut cells = Vec::new();
        for &gamma in self.gammas {
            for &alpha in self.alphas {
                let kernel = Kernel::new(alpha, gamma, self.from_logits)?;
                let row = elements
                    .iter()
                    .map(|e| cell(kernel, e, alpha, gamma, cut))
                    .collect::<Result<_, _>>()?;
                cells.push(row);
            }
        }
        Ok(Acc {
            cells,
            pixels,
            counts,
        })
    }

    /// The (score, target) elements of each class swept, and the pixels counted.
    fn elements(&self, pair: &Pair) -> (Vec<Elements>, u64) {
        let g = pair.geometry;
        let first = usize::from(!self.include_background && g.classes > 1);
        let classes: Vec<usize> = (first..g.classes).collect();
        let spatial = g.spatial();
        let mut elements = vec![Elements::default(); classes.len()];
        let mut pixels = 0u64;
        for n in 0..g.batch {
            for s in 0..spatial {
                let label = match &pair.targets {
                    TargetData::Labels(l) => match l.get(n * spatial + s) {
                        Some(&v) if Some(v) == self.ignore_index => continue,
                        v => v.copied(),
                    },
                    TargetData::Dense(_) => None,
                };
                pixels += 1;
                for (k, &c) in classes.iter().enumerate() {
                    let i = g.index(n, c, s);
                    let p = pair.scores.get(i).copied().unwrap_or(f32::NAN);
                    let t = match (&pair.targets, label) {
                        (TargetData::Dense(d), _) => d.get(i).copied().unwrap_or(0.0),
                        (_, Some(l)) if g.classes == 1 => f32::from(u8::from(l == 1)),
                        (_, Some(l)) => f32::from(u8::from(l as usize == c)),
                        _ => 0.0,
                    };
                    if let Some(e) = elements.get_mut(k) {
                        e.scores.push(p);
                        e.targets.push(t);
                    }
                }
            }
        }
        (elements, pixels)
    }

    /// One result per grid point (gammas outer, alphas inner) of the pooled sums.
    pub fn points(&self, acc: &Acc) -> Vec<Point> {
        let grid = self
            .gammas
            .iter()
            .flat_map(|&g| self.alphas.iter().map(move |&al| (al, g)));
        grid.zip(&acc.cells)
            .map(|((alpha, gamma), row)| {
                let px = acc.pixels as f64;
                let mut split = Split::default();
                for c in row {
                    split.add(&c.split);
                }
                let (pos, neg) = (split.loss.positives, split.loss.negatives);
                let (tp, fp, fn_) = row.iter().fold((0.0, 0.0, 0.0), |s, c| {
                    (s.0 + c.tp, s.1 + c.fp, s.2 + c.fn_)
                });
                Point {
                    alpha,
                    gamma,
                    share: ratio(pos, pos + neg),
                    grad_share: ratio(split.gradient.positives, split.gradient.total()),
                    mean: (pos + neg) / (px * row.len() as f64),
                    per_class: row.iter().map(|c| c.split.loss.total() / px).collect(),
                    precision: ratio(tp, tp + fp),
                    recall: ratio(tp, tp + fn_),
                }
            })
            .collect()
    }
}

/// The sums of one class's elements at one grid point.
fn cell(
    kernel: Kernel,
    elements: &Elements,
    alpha: f32,
    gamma: f32,
    cut: f32,
) -> Result<Cell, String> {
    let mut cell = Cell::default();
    let split = kernel.split(elements, |p, t, fl, ce| {
        let positive = t >= 0.5;
        let alpha_t = if positive { alpha } else { 1.0 - alpha };
        let w = if ce > 0.0 {
            f64::from(fl) / f64::from(ce)
        } else if gamma == 0.0 {
            f64::from(alpha_t)
        } else {
            0.0
        };
        match (p >= cut, positive) {
            (true, true) => cell.tp += w,
            (true, false) => cell.fp += w,
            (false, true) => cell.fn_ += w,
            _ => {}
        }
    })?;
    cell.split = split;
    Ok(cell)
}
