//! Deterministic, chunking-independent summation.
//!
//! Every reduced quantity in this crate goes through [`DetSum`], so its result depends only on
//! the sequence of values, never on the target, the compiler's scheduling or how the data was
//! split into chunks.
//!
//! # Order
//! Value `i` of the stream (counting from the first value ever pushed) is added to lane
//! `i % LANES` of the current block. A block holds [`BLOCK`] values; when it is full its lanes
//! are folded pairwise, `(l0 + l1) + (l2 + l3)`, and the block sum is added to a Neumaier
//! (improved Kahan) compensated total. Reading the value folds the partial block the same way
//! and adds it to a copy of the total. Because lane and block membership depend only on the
//! global index, any chunking of the stream performs the same f32 operations in the same order,
//! so streaming and one-shot results are bit-identical by construction.
//!
//! Rust never contracts `a * b + c` into a fused multiply-add, and every operation here is a
//! correctly rounded IEEE-754 binary32 operation on all supported targets (hardware FPU or
//! compiler-builtins soft float), which is what makes the bits portable.
//!
//! # Accuracy
//! A lane sums at most `BLOCK / LANES = 16` values in plain f32, so for non-negative terms a
//! block sum has relative error at most about `16 * 2^-24 = 9.5e-7` (typically far less);
//! the compensated total adds no error that grows with the number of blocks. The measured
//! error over 10^6 values is in `docs/numerics.md`.
//!
//! # Non-finite values
//! Infinities and NaN propagate as in a plain sum (`inf + x = inf`, `inf - inf = NaN`); the
//! compensation term is dropped once the total is not finite.

/// Interleaved lanes per block (a power of two).
pub const LANES: usize = 4;
/// Values per block (a multiple of [`LANES`]).
pub const BLOCK: usize = 64;

/// A Neumaier compensated sum of block sums.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Compensated {
    sum: f32,
    compensation: f32,
}

impl Compensated {
    const ZERO: Self = Self {
        sum: 0.0,
        compensation: 0.0,
    };

    #[inline]
    fn add(&mut self, x: f32) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    fn value(&self) -> f32 {
        if self.sum.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}

/// Folds the lanes of one quantity pairwise: `(l0 + l1) + (l2 + l3)`.
#[inline]
fn fold(lanes: [f32; LANES]) -> f32 {
    let [a, b, c, d] = lanes;
    (a + b) + (c + d)
}

/// Deterministic running sums of `K` quantities (see the [module docs](self) for the order).
///
/// Fixed size (`K * (4 * LANES + 8) + 16` bytes), no heap, `Copy` so that a caller can keep a
/// snapshot or roll back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetSum<const K: usize> {
    /// `lanes[l][k]`: partial sum of quantity `k` in lane `l` of the current block.
    lanes: [[f32; K]; LANES],
    totals: [Compensated; K],
    /// Lane the next value goes to.
    lane: usize,
    /// Values still missing from the current block.
    left_in_block: usize,
    count: u64,
}

impl<const K: usize> Default for DetSum<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> DetSum<K> {
    /// An empty sum.
    pub const fn new() -> Self {
        Self {
            lanes: [[0.0; K]; LANES],
            totals: [Compensated::ZERO; K],
            lane: 0,
            left_in_block: BLOCK,
            count: 0,
        }
    }

    /// Number of values added so far.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Adds one value of each quantity.
    #[inline]
    pub fn add(&mut self, values: [f32; K]) {
        if let Some(lane) = self.lanes.get_mut(self.lane) {
            for (acc, v) in lane.iter_mut().zip(values) {
                *acc += v;
            }
        }
        self.lane = (self.lane + 1) % LANES;
        self.count += 1;
        self.left_in_block -= 1;
        if self.left_in_block == 0 {
            self.close_block();
        }
    }

    /// Adds every item of `values`, in order.
    #[inline]
    pub fn extend(&mut self, values: impl IntoIterator<Item = [f32; K]>) {
        for v in values {
            self.add(v);
        }
    }

    fn close_block(&mut self) {
        let block = self.block_sums();
        for (total, b) in self.totals.iter_mut().zip(block) {
            total.add(b);
        }
        self.lanes = [[0.0; K]; LANES];
        self.left_in_block = BLOCK;
    }

    fn block_sums(&self) -> [f32; K] {
        let mut out = [0.0; K];
        for (k, o) in out.iter_mut().enumerate() {
            let lane = |l: usize| {
                self.lanes
                    .get(l)
                    .and_then(|lane| lane.get(k))
                    .copied()
                    .unwrap_or(0.0)
            };
            *o = fold([lane(0), lane(1), lane(2), lane(3)]);
        }
        out
    }

    /// The sums of everything added so far.
    pub fn value(&self) -> [f32; K] {
        let mut totals = self.totals;
        // A partial block is folded exactly as a full one would be; an empty one is skipped so
        // that adding `+0.0` cannot turn a `-0.0` total into `+0.0`.
        if self.left_in_block != BLOCK {
            for (total, b) in totals.iter_mut().zip(self.block_sums()) {
                total.add(b);
            }
        }
        totals.map(|t| t.value())
    }
}

/// How a stream of values is reduced to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reduction {
    /// The sum divided by the number of values (PyTorch's and MONAI's default).
    #[default]
    Mean,
    /// The plain sum.
    Sum,
}

impl Reduction {
    /// Reduces `values` in the crate's deterministic order (see [`DetSum`]).
    ///
    /// # Errors
    /// [`Error::EmptyInput`](crate::Error::EmptyInput) if `values` is empty.
    ///
    /// # Examples
    /// ```
    /// use loss_core::Reduction;
    /// assert_eq!(Reduction::Mean.reduce(&[1.0, 2.0, 6.0])?, 3.0);
    /// assert_eq!(Reduction::Sum.reduce(&[1.0, 2.0, 6.0])?, 9.0);
    /// # Ok::<(), loss_core::Error>(())
    /// ```
    pub fn reduce(self, values: &[f32]) -> Result<f32, crate::Error> {
        let mut sum = DetSum::<1>::new();
        sum.extend(values.iter().map(|&v| [v]));
        self.finish(&sum)
    }

    /// Reduces a finished running sum of one quantity.
    pub(crate) fn finish(self, sum: &DetSum<1>) -> Result<f32, crate::Error> {
        if sum.count() == 0 {
            return Err(crate::Error::EmptyInput);
        }
        let [total] = sum.value();
        Ok(match self {
            Self::Sum => total,
            // `u64 as f32` rounds to nearest: exact up to 2^24 values.
            Self::Mean => total / sum.count() as f32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_does_not_change_bits() {
        let values: Vec<f32> = (0..5000)
            .map(|i| ((i * 7919) % 1013) as f32 * 1e-3 + 1e-7)
            .collect();
        let mut whole = DetSum::<1>::new();
        whole.extend(values.iter().map(|&v| [v]));
        for chunk in [1, 3, 4, 5, 63, 64, 65, 1000] {
            let mut parts = DetSum::<1>::new();
            for c in values.chunks(chunk) {
                parts.extend(c.iter().map(|&v| [v]));
            }
            assert_eq!(parts.value()[0].to_bits(), whole.value()[0].to_bits());
            assert_eq!(parts, whole);
        }
    }

    #[test]
    fn infinity_propagates_instead_of_nan() {
        let mut s = DetSum::<1>::new();
        s.extend([[1.0], [f32::INFINITY], [2.0]]);
        assert_eq!(s.value()[0], f32::INFINITY);
        for _ in 0..1000 {
            s.add([1.0]);
        }
        assert_eq!(s.value()[0], f32::INFINITY);
    }

    #[test]
    fn empty_reduction_is_error() {
        assert_eq!(Reduction::Mean.reduce(&[]), Err(crate::Error::EmptyInput));
    }

    #[test]
    fn compensation_beats_plain_sum() {
        let mut s = DetSum::<1>::new();
        let mut plain = 0.0f32;
        let n = 1_000_000;
        for _ in 0..n {
            s.add([0.1]);
            plain += 0.1;
        }
        let exact = n as f64 * f64::from(0.1f32);
        let rel = |v: f32| ((f64::from(v) - exact) / exact).abs();
        assert!(rel(s.value()[0]) < 1e-6, "{}", rel(s.value()[0]));
        assert!(rel(plain) > 1e-3);
    }
}
