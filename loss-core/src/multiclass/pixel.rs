//! One pixel as every multi-class kernel sees it, and its softmax.
//!
//! These types are `pub` only because the sealed [`ClassLoss`](super::ClassLoss) trait's hidden
//! methods take them; this module is private, so no user can name them (not stable API).

use crate::elementwise::Predictions;

/// One pixel's scores and target, as every multi-class kernel sees it.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Pixel<'a> {
    pub(super) scores: &'a [f32],
    pub(super) base: usize,
    pub(super) stride: usize,
    pub(super) classes: usize,
    pub(super) target: PixelTarget<'a>,
    /// The log-softmax, when a caller that needs it for several statistics computed it once
    /// (`frame`); [`Pixel::log_softmax`] then returns it instead of recomputing the same bits.
    pub(super) log_softmax: Option<&'a LogSoftmax>,
    /// `exp(x_c - max)` of every class, computed with the cached log-softmax (else empty, and
    /// each is computed when asked for: the same bits).
    pub(super) exps: &'a [f32],
}

#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub enum PixelTarget<'a> {
    Dense(&'a [f32]),
    Class(usize),
}

impl<'a> Pixel<'a> {
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Index of the pixel's class-0 score, and the distance between its classes.
    pub fn address(&self) -> (usize, usize) {
        (self.base, self.stride)
    }

    /// The scores of the pixel in class order (one bounds check, then a strided walk).
    #[inline]
    pub(super) fn scores(&self) -> impl Iterator<Item = f32> + '_ {
        self.scores
            .get(self.base..)
            .unwrap_or(&[])
            .iter()
            .step_by(self.stride.max(1))
            .take(self.classes)
            .copied()
    }

    /// Score of class `c` (NaN past the last class, which validated callers never ask for).
    #[inline]
    pub fn score(&self, c: usize) -> f32 {
        self.scores
            .get(self.base + c * self.stride)
            .copied()
            .unwrap_or(f32::NAN)
    }

    /// Target of class `c`: the dense value, or 1 for the labelled class and 0 elsewhere.
    #[inline]
    pub fn target(&self, c: usize) -> f32 {
        match self.target {
            PixelTarget::Dense(t) => t
                .get(self.base + c * self.stride)
                .copied()
                .unwrap_or(f32::NAN),
            PixelTarget::Class(k) => {
                if k == c {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// The labelled class, for label-map targets.
    pub fn label(&self) -> Option<usize> {
        match self.target {
            PixelTarget::Dense(_) => None,
            PixelTarget::Class(k) => Some(k),
        }
    }

    /// The log-softmax of the pixel's scores read as `space` (see [`LogSoftmax`]): the cached
    /// one when it was computed for that space, borrowed (a copy of a just-written cache stalls
    /// on store forwarding, every pixel), else one computed into `slot`.
    #[inline]
    pub fn log_softmax<'s>(
        &'s self,
        space: Predictions,
        slot: &'s mut Option<LogSoftmax>,
    ) -> &'s LogSoftmax {
        match self.log_softmax {
            Some(lsm) if lsm.space == space => lsm,
            _ => slot.insert(LogSoftmax::new(self, space)),
        }
    }

    /// `e_c` in the space of `lsm`: cached (when cached for that space), or computed.
    #[inline]
    fn shifted(&self, lsm: &LogSoftmax, c: usize) -> f32 {
        match (&self.log_softmax, self.exps.get(c)) {
            (Some(cached), Some(&e)) if cached.space == lsm.space => e,
            _ => LogSoftmax::shift(lsm.space, lsm.max, self.score(c)),
        }
    }

    /// The softmax probability of class `c`, `e_c / Σ_k e_k` (at the limits, `exp` of the
    /// log-softmax).
    #[inline]
    pub fn probability(&self, lsm: &LogSoftmax, c: usize) -> f32 {
        if lsm.regular() {
            self.shifted(lsm, c) / lsm.sum
        } else {
            libm::expf(lsm.at(self.score(c)))
        }
    }

    /// `1 - p_c` without cancellation: `Σ_{k ≠ c} e_k / Σ_k e_k`, the numerator `rest` for the
    /// winning class and `Σ - e_c >= 1` for the others (at the limits, `-expm1` of the
    /// log-softmax).
    #[inline]
    pub fn complement(&self, lsm: &LogSoftmax, c: usize) -> f32 {
        if lsm.regular() {
            let others = if c == lsm.winner {
                lsm.rest
            } else {
                lsm.sum - self.shifted(lsm, c)
            };
            others / lsm.sum
        } else {
            -libm::expm1f(lsm.at(self.score(c)))
        }
    }

    /// The first class with the highest score; NaN scores never win (the log-softmax's winner,
    /// the same rule, when it is cached).
    pub fn argmax(&self) -> usize {
        if let Some(lsm) = &self.log_softmax {
            return lsm.winner;
        }
        let mut best = 0;
        let mut best_score = f32::NEG_INFINITY;
        for c in 0..self.classes {
            let x = self.score(c);
            if x > best_score {
                best = c;
                best_score = x;
            }
        }
        best
    }
}

/// The softmax of one pixel in a form that keeps every quantity accurate. With `m = x_{k*}` the
/// highest score (`k*` the first class reaching it) and `e_c` the scores relative to it,
///
/// ```text
/// logits         e_c = exp(x_c - m)   log p_c = (x_c - m) - log1p(rest)
/// probabilities  e_c = x_c / m        log p_c = ln(x_c / m) - log1p(rest)   (p_c = x_c / Σ x)
/// ```
///
/// with `rest = Σ_{k ≠ k*} e_k` (so `Σ_k e_k = 1 + rest`): no exponent overflows, and
/// `log1p(rest)` keeps the winner's `-log p` accurate when it is tiny. Probabilities are
/// renormalised by their sum (Keras's categorical losses), which is the softmax of their
/// logarithms. At the limits: the classes at a `+inf` logit share the mass equally, all `-inf`
/// logits or all-zero probabilities give the uniform distribution, and NaN anywhere gives NaN
/// for every class.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct LogSoftmax {
    space: Predictions,
    /// `m`; the limits are marked by `sum` NaN (with `max` NaN for a NaN score).
    max: f32,
    log_sum: f32,
    /// `-ln(count of classes at m)` at the limits (`+inf` ties, or every class at `m`).
    log_share: f32,
    /// `Σ_{k ≠ k*} e_k` and `1 + rest`, the denominators of `p_c` and `1 - p_c`.
    rest: f32,
    sum: f32,
    winner: usize,
}

impl LogSoftmax {
    const NAN: Self = Self {
        space: Predictions::Logits,
        max: f32::NAN,
        log_sum: f32::NAN,
        log_share: f32::NAN,
        rest: f32::NAN,
        sum: f32::NAN,
        winner: 0,
    };

    fn new(p: &Pixel<'_>, space: Predictions) -> Self {
        let (max, winner) = Self::max_and_winner(p);
        let mut rest = 0.0f32;
        if Self::is_regular(space, max) {
            for (c, x) in p.scores().enumerate() {
                if c != winner {
                    rest += Self::shift(space, max, x);
                }
            }
        }
        Self::from_sum(p, space, max, winner, rest, libm::log1pf)
    }

    /// Whether `max` leaves the softmax away from its limits.
    #[inline]
    fn is_regular(space: Predictions, max: f32) -> bool {
        max.is_finite() && (space == Predictions::Logits || max > 0.0)
    }

    /// Away from the limits (where `probability` and `complement` use `e_c`).
    #[inline]
    pub(super) fn regular(&self) -> bool {
        !self.sum.is_nan()
    }

    /// `e_c` of score `x` relative to the highest score `max`: `exp(x - max)` or `x / max`.
    #[inline]
    fn shift(space: Predictions, max: f32, x: f32) -> f32 {
        match space {
            Predictions::Logits => libm::expf(x - max),
            Predictions::Probabilities => x / max,
        }
    }

    /// The maximum score and the first class reaching it; NaN never wins a comparison, so
    /// `max` is the maximum of the other scores.
    #[inline]
    pub(super) fn max_and_winner(p: &Pixel<'_>) -> (f32, usize) {
        let (mut max, mut winner) = (f32::NEG_INFINITY, 0);
        for (c, x) in p.scores().enumerate() {
            if x > max {
                (max, winner) = (x, c);
            }
        }
        (max, winner)
    }

    /// The log-softmax from `max`, `winner` and `rest = Σ_{k ≠ winner} e_k` (in class order;
    /// unused at the limits), `log1p` applied to `rest` by `log_1p` (`libm::log1pf` or an
    /// already computed value).
    #[inline]
    pub(super) fn from_sum(
        p: &Pixel<'_>,
        space: Predictions,
        max: f32,
        winner: usize,
        rest: f32,
        log_1p: impl FnOnce(f32) -> f32,
    ) -> Self {
        if Self::is_regular(space, max) {
            // Every term is in [0, 1]: only a NaN score makes the sum NaN, and then every
            // class is NaN (checked here rather than by a test per score).
            if !rest.is_nan() {
                return Self {
                    space,
                    max,
                    log_sum: log_1p(rest),
                    log_share: 0.0,
                    rest,
                    sum: 1.0 + rest,
                    winner,
                };
            }
        } else if !p.scores().any(f32::is_nan) {
            // An infinite maximum, every logit -inf, or every probability 0.
            let ties = p.scores().filter(|&x| x == max).count();
            return Self {
                space,
                max,
                log_sum: 0.0,
                log_share: -libm::logf(ties as f32),
                winner,
                ..Self::NAN
            };
        }
        Self {
            space,
            winner,
            ..Self::NAN
        }
    }

    /// `log p_c` for score `x` of the same pixel.
    #[inline]
    pub fn at(&self, x: f32) -> f32 {
        if self.regular() {
            match self.space {
                Predictions::Logits => (x - self.max) - self.log_sum,
                Predictions::Probabilities => libm::logf(x / self.max) - self.log_sum,
            }
        } else if self.max.is_nan() {
            f32::NAN
        } else if x == self.max {
            // One of the classes tied at +inf, or every class at m (uniform).
            self.log_share
        } else {
            f32::NEG_INFINITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The previous formulation (NaN test on every score, winner found by comparison), kept as
    /// the reference: the new one must give the same bits for every class.
    fn reference(p: &Pixel<'_>) -> LogSoftmax {
        let mut max = f32::NEG_INFINITY;
        let mut nan = false;
        for c in 0..p.classes {
            let x = p.score(c);
            nan |= x.is_nan();
            if x > max {
                max = x;
            }
        }
        if nan {
            return LogSoftmax::NAN;
        }
        if max.is_infinite() {
            let ties = (0..p.classes).filter(|&c| p.score(c) == max).count();
            return LogSoftmax {
                max,
                log_sum: 0.0,
                log_share: -libm::logf(ties as f32),
                ..LogSoftmax::NAN
            };
        }
        let mut rest = 0.0f32;
        let mut winner = true;
        for c in 0..p.classes {
            let x = p.score(c);
            if winner && x == max {
                winner = false;
                continue;
            }
            rest += libm::expf(x - max);
        }
        LogSoftmax {
            max,
            log_sum: libm::log1pf(rest),
            log_share: 0.0,
            rest,
            sum: 1.0 + rest,
            ..LogSoftmax::NAN
        }
    }

    #[test]
    fn log_softmax_matches_the_reference_bit_for_bit() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -3.5,
            88.0,
            -1e4,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut state = 0x9e37_79b9u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Half special values, half ordinary scores in [-8, 8).
            match specials.get(state as usize % (2 * specials.len())) {
                Some(&s) => s,
                None => (state >> 8) as f32 / 1_048_576.0 - 8.0,
            }
        };
        for classes in 1..=5 {
            for _ in 0..4000 {
                // Channels-first layout of two pixels, so the walk uses a stride.
                let scores: Vec<f32> = (0..2 * classes).map(|_| next()).collect();
                for (base, stride) in [(0, 2), (1, 2)] {
                    let pixel = Pixel {
                        scores: &scores,
                        base,
                        stride,
                        classes,
                        target: PixelTarget::Class(0),
                        log_softmax: None,
                        exps: &[],
                    };
                    let mut slot = None;
                    let (new, old) = (
                        pixel.log_softmax(Predictions::Logits, &mut slot),
                        reference(&pixel),
                    );
                    for c in 0..classes {
                        let x = pixel.score(c);
                        assert_eq!(
                            new.at(x).to_bits(),
                            old.at(x).to_bits(),
                            "{:?} class {c}",
                            &scores
                        );
                    }
                }
            }
        }
    }
}
