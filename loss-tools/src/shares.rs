//! Which elements a loss listens to: the sums of the losses and of the gradient magnitudes
//! `|dL/dx|` over the positive and the negative elements, from `loss-core`
//! (`loss_and_grad_elementwise`: the per-element losses with the forward pass's bits and
//! their derivatives with respect to the prediction as given, a logit for [`SigmoidFocal`],
//! a probability for [`BinaryFocal`]).
//!
//! The seed article's argument is about training: gamma shrinks the easy negatives' losses,
//! and with them their pull on the weights, which is the gradient. `explain` and `sweep`
//! print both shares from these sums. An element is positive when its target is at least 0.5
//! (the rule of `sweep`'s confusion counts). Sums are f64 over the f32 values; NaN propagates.
//!
//! [`SigmoidFocal`]: loss_core::focal::SigmoidFocal
//! [`BinaryFocal`]: loss_core::focal::BinaryFocal

use loss_core::ElementLoss;

/// Elements evaluated per call to `loss-core` (bounds the scratch buffers).
const CHUNK: usize = 4096;

/// A quantity summed over the positive and the negative elements.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    /// Over the elements with target >= 0.5.
    pub positives: f64,
    /// Over the others.
    pub negatives: f64,
}

impl Sums {
    /// Both groups.
    pub fn total(&self) -> f64 {
        self.positives + self.negatives
    }

    /// The positives' share of the total (`None` when the total is 0).
    pub fn positives_share(&self) -> Option<f64> {
        let total = self.total();
        (total != 0.0).then(|| self.positives / total)
    }

    /// The negatives' share of the total (`None` when the total is 0).
    pub fn negatives_share(&self) -> Option<f64> {
        let total = self.total();
        (total != 0.0).then(|| self.negatives / total)
    }

    /// Adds another set of sums.
    pub fn add(&mut self, o: &Self) {
        self.positives += o.positives;
        self.negatives += o.negatives;
    }

    /// Each sum times a count (an example's group sizes).
    pub fn scaled(&self, positives: f64, negatives: f64) -> Self {
        Self {
            positives: self.positives * positives,
            negatives: self.negatives * negatives,
        }
    }
}

/// The loss and the gradient magnitude, each split into positives and negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Split {
    /// `Σ loss_i`.
    pub loss: Sums,
    /// `Σ |d loss_i / d x_i|`.
    pub gradient: Sums,
}

impl Split {
    /// The sums of `loss` over `predictions` and `targets` (equal lengths).
    ///
    /// # Errors
    /// `loss-core`'s error for bad input (lengths, targets outside `[0, 1]`), as its text.
    pub fn of<L: ElementLoss>(
        loss: &L,
        predictions: &[f32],
        targets: &[f32],
    ) -> Result<Self, String> {
        Self::of_each(loss, predictions, targets, |_, _, _| {})
    }

    /// [`Split::of`], also handing `each` every element's index, loss and derivative (for
    /// callers that need the per-element values without a second evaluation).
    ///
    /// # Errors
    /// As [`Split::of`].
    pub fn of_each<L: ElementLoss>(
        loss: &L,
        predictions: &[f32],
        targets: &[f32],
        mut each: impl FnMut(usize, f32, f32),
    ) -> Result<Self, String> {
        if predictions.len() != targets.len() {
            return Err(format!(
                "{} predictions but {} targets",
                predictions.len(),
                targets.len()
            ));
        }
        let mut losses = vec![0.0f32; CHUNK.min(predictions.len())];
        let mut grad = losses.clone();
        let mut split = Self::default();
        let chunks = predictions.chunks(CHUNK).zip(targets.chunks(CHUNK));
        for (k, (p, t)) in chunks.enumerate() {
            let (l, g) = (&mut losses[..p.len()], &mut grad[..p.len()]);
            loss.loss_and_grad_elementwise(p, t, l, g)
                .map_err(|e| e.to_string())?;
            for (i, ((&l, &g), &t)) in l.iter().zip(g.iter()).zip(t).enumerate() {
                each(k * CHUNK + i, l, g);
                let (loss, gradient) = if t >= 0.5 {
                    (&mut split.loss.positives, &mut split.gradient.positives)
                } else {
                    (&mut split.loss.negatives, &mut split.gradient.negatives)
                };
                *loss += f64::from(l);
                *gradient += f64::from(g.abs());
            }
        }
        Ok(split)
    }

    /// Adds another split.
    pub fn add(&mut self, o: &Self) {
        self.loss.add(&o.loss);
        self.gradient.add(&o.gradient);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loss_core::focal::{BinaryFocal, SigmoidFocal};

    #[test]
    fn splits_by_target_and_matches_the_forward_pass() {
        let fl = SigmoidFocal::new(Some(0.25), 2.0).unwrap();
        let x = [2.0, -1.0, 0.5, -3.0, 0.0];
        let t = [1.0, 0.0, 0.0, 1.0, 0.4];
        let s = Split::of(&fl, &x, &t).unwrap();
        let mut l = [0.0; 5];
        fl.loss_elementwise(&x, &t, &mut l).unwrap();
        let pos = f64::from(l[0]) + f64::from(l[3]);
        let neg = f64::from(l[1]) + f64::from(l[2]) + f64::from(l[4]);
        assert_eq!(s.loss.positives, pos);
        assert_eq!(s.loss.negatives, neg);
        // The negatives' derivatives are positive, the positives' negative: magnitudes add.
        let mut g = [0.0; 5];
        fl.loss_and_grad_elementwise(&x, &t, &mut l, &mut g)
            .unwrap();
        assert!(g[0] < 0.0 && g[1] > 0.0);
        let gp = f64::from(g[0].abs()) + f64::from(g[3].abs());
        assert_eq!(s.gradient.positives, gp);
        assert!(s.gradient.positives_share().unwrap() > 0.0);
    }

    #[test]
    fn chunks_give_the_same_sums_as_one_call() {
        let bce = BinaryFocal::new(Some(0.25), 2.0, 0.0, 1.0).unwrap();
        let n = 2 * CHUNK + 17;
        let p: Vec<f32> = (0..n).map(|i| (i % 97 + 1) as f32 / 99.0).collect();
        let t: Vec<f32> = (0..n).map(|i| f32::from(u8::from(i % 7 == 0))).collect();
        let s = Split::of(&bce, &p, &t).unwrap();
        let mut one = Split::default();
        for (p, t) in p.iter().zip(&t) {
            one.add(&Split::of(&bce, &[*p], &[*t]).unwrap());
        }
        assert_eq!(s, one);
        // Every element once, in order, with the values `loss-core` gives it.
        let mut seen = Vec::new();
        let again = Split::of_each(&bce, &p, &t, |i, l, g| seen.push((i, l, g))).unwrap();
        assert_eq!(again, s);
        let (mut l, mut g) = (vec![0.0; n], vec![0.0; n]);
        bce.loss_and_grad_elementwise(&p, &t, &mut l, &mut g)
            .unwrap();
        let want: Vec<_> = (0..n).map(|i| (i, l[i], g[i])).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn bad_input_is_an_error() {
        let fl = SigmoidFocal::new(None, 2.0).unwrap();
        assert!(Split::of(&fl, &[0.0, 1.0], &[1.0]).is_err());
        assert!(Split::of(&fl, &[0.0], &[2.0]).is_err());
        assert_eq!(Split::of(&fl, &[], &[]).unwrap(), Split::default());
        assert_eq!(Sums::default().positives_share(), None);
    }
}
