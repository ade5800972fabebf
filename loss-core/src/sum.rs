//! Deterministic, chunking-independent summation.
//!
//! Every reduced quantity in this crate goes through [`DetSum`], so its result depends only on
//! the sequence of values, never on the target, the compiler's scheduling or how the data was
//! split into chunks.
//!
//! # Order
//! Value `i` of the stream (counting from the first value ever pushed) is added to lane
//! `i % LANES` of the current block (`LANES = 4`). A block holds `BLOCK = 64` values; when it is full its lanes
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
//! # Speed
//! The lane and the place in the block are derived from the count, so nothing but the lanes
//! changes per value. The bulk paths used by the losses add whole groups of `LANES` values
//! with the lanes in registers and update the count once per call; block folding and the
//! per-quantity updates are written out for each `K` in use, because at `opt-level = "s"` a
//! loop over `k` stays a loop and forces the lanes to memory. These are the same operations in
//! the same order as [`DetSum::add`] one value at a time (unit-tested state by state); the
//! instruction counts are in `docs/embedded.md`.
//!
//! # Non-finite values
//! Infinities and NaN propagate as in a plain sum (`inf + x = inf`, `inf - inf = NaN`); the
//! compensation term is dropped once the total is not finite.

/// Interleaved lanes per block (a power of two).
pub(crate) const LANES: usize = 4;
/// Values per block (a multiple of [`LANES`]).
pub(crate) const BLOCK: usize = 64;

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

/// The lanes of one block: `lanes[l][k]` is the partial sum of quantity `k` in lane `l`.
type Lanes<const K: usize> = [[f32; K]; LANES];

/// `acc[k] += v[k]` for every quantity.
///
/// Written out for the `K` this crate uses: at `opt-level = "s"` LLVM keeps a loop over `k`,
/// which forces the lanes into memory; the slice patterns are decided at compile time.
#[inline(always)]
fn add_into<const K: usize>(acc: &mut [f32; K], v: [f32; K]) {
    match (acc.as_mut_slice(), v.as_slice()) {
        ([a], [x]) => *a += x,
        ([a, b], [x, y]) => {
            *a += x;
            *b += y;
        }
        ([a, b, c], [x, y, z]) => {
            *a += x;
            *b += y;
            *c += z;
        }
        ([a, b, c, d], [x, y, z, w]) => {
            *a += x;
            *b += y;
            *c += z;
            *d += w;
        }
        (acc, v) => {
            for (a, v) in acc.iter_mut().zip(v) {
                *a += v;
            }
        }
    }
}

/// Folds the lanes of every quantity pairwise: `(l0 + l1) + (l2 + l3)`, with constant
/// indices only, so that lanes held in registers stay there.
#[inline(always)]
fn fold<const K: usize>(lanes: &Lanes<K>) -> [f32; K] {
    let [mut ab, b, mut cd, d] = *lanes;
    add_into(&mut ab, b);
    add_into(&mut cd, d);
    add_into(&mut ab, cd);
    ab
}

/// Adds a full block's folded lanes to the totals (written out per `K`, as [`add_into`]).
#[inline]
fn add_block<const K: usize>(totals: &mut [Compensated; K], lanes: &Lanes<K>) {
    let sums = fold(lanes);
    match (totals.as_mut_slice(), sums.as_slice()) {
        ([a], [x]) => a.add(*x),
        ([a, b], [x, y]) => {
            a.add(*x);
            b.add(*y);
        }
        ([a, b, c], [x, y, z]) => {
            a.add(*x);
            b.add(*y);
            c.add(*z);
        }
        (totals, sums) => {
            for (total, s) in totals.iter_mut().zip(sums) {
                total.add(*s);
            }
        }
    }
}

/// Adds whole groups of [`LANES`] values, value `l` of each group to lane `l`, with the lanes
/// in locals (registers) for the whole run; the caller keeps the run inside one block.
#[inline(always)]
fn add_groups<A: Copy, B: Copy, const K: usize>(
    lanes: &mut Lanes<K>,
    a: &[[A; LANES]],
    b: &[[B; LANES]],
    f: &mut impl FnMut(A, B) -> [f32; K],
) {
    let [mut l0, mut l1, mut l2, mut l3] = *lanes;
    for (&[a0, a1, a2, a3], &[b0, b1, b2, b3]) in a.iter().zip(b) {
        add_into(&mut l0, f(a0, b0));
        add_into(&mut l1, f(a1, b1));
        add_into(&mut l2, f(a2, b2));
        add_into(&mut l3, f(a3, b3));
    }
    *lanes = [l0, l1, l2, l3];
}

/// Deterministic running sums of `K` quantities (see the [module docs](self) for the order).
///
/// Fixed size (`K * (4 * 4 + 8) + 8` bytes), no heap, `Copy` so that a caller can keep a
/// snapshot or roll back. The lane and the place in the block are `count % LANES` and
/// `count % BLOCK`, so the state is the partial lanes, the block totals and the count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetSum<const K: usize> {
    /// Partial sums of the current block (all zero at a block boundary).
    lanes: Lanes<K>,
    totals: [Compensated; K],
    count: u64,
}

impl<const K: usize> Default for DetSum<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> DetSum<K> {
    /// Lanes at a block boundary (a constant, so that a fresh copy can live in registers).
    const ZERO_LANES: Lanes<K> = [[0.0; K]; LANES];

    /// An empty sum.
    pub const fn new() -> Self {
        Self {
            lanes: [[0.0; K]; LANES],
            totals: [Compensated::ZERO; K],
            count: 0,
        }
    }

    /// Number of values added so far.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Place of the next value in its block.
    #[inline]
    const fn position(&self) -> usize {
        (self.count % BLOCK as u64) as usize
    }

    /// Adds one value of each quantity.
    #[inline]
    pub fn add(&mut self, values: [f32; K]) {
        // `count % LANES < LANES`: the lookup cannot fail.
        let lane = self.position() % LANES;
        if let Some(lane) = self.lanes.get_mut(lane) {
            add_into(lane, values);
        }
        self.count = self.count.wrapping_add(1);
        if self.position() == 0 {
            self.close_block();
        }
    }

    /// Adds `value` to quantity `k` and 0 to the others: the bits of [`DetSum::add`] with
    /// those values (a lane starts at `+0.0` and so never holds `-0.0`, the one value adding
    /// `+0.0` would change).
    #[inline]
    pub(crate) fn add_at(&mut self, k: usize, value: f32) {
        let lane = self.position() % LANES;
        if let Some(sum) = self.lanes.get_mut(lane).and_then(|lane| lane.get_mut(k)) {
            *sum += value;
        }
        self.count = self.count.wrapping_add(1);
        if self.position() == 0 {
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

    /// Adds `f(a[i], b[i])` for every `i` below the shorter length, in order; the same
    /// operations as [`DetSum::add`] one by one. For a costly `f` (libm calls): `f` has one
    /// call site, so it can be inlined and specialised.
    #[inline]
    pub(crate) fn extend_pairs<A: Copy, B: Copy>(
        &mut self,
        a: &[A],
        b: &[B],
        mut f: impl FnMut(A, B) -> [f32; K],
    ) {
        // The lanes stay in place (a local copy would cost stack, and indexing by position
        // keeps them in memory anyway); the position is a local counter.
        let mut position = self.position();
        for (&x, &y) in a.iter().zip(b) {
            let v = f(x, y);
            if let Some(lane) = self.lanes.get_mut(position % LANES) {
                add_into(lane, v);
            }
            position += 1;
            if position == BLOCK {
                self.close_block();
                position = 0;
            }
        }
        self.count = self.count.wrapping_add(a.len().min(b.len()) as u64);
    }

    /// As [`DetSum::extend_pairs`], for a cheap `f` (a few arithmetic operations): whole
    /// groups of [`LANES`] values go to lanes kept in registers, a whole block starts from
    /// fresh lanes and is folded straight into the totals, the count is updated once, and `f`
    /// is inlined at each of its call sites (four per group loop, plus the singles).
    #[inline]
    pub(crate) fn extend_pairs_unrolled<A: Copy, B: Copy>(
        &mut self,
        a: &[A],
        b: &[B],
        mut f: impl FnMut(A, B) -> [f32; K],
    ) {
        let n = a.len().min(b.len());
        // Singles up to a group boundary.
        let head = ((LANES - self.position() % LANES) % LANES).min(n);
        let (Some((head_a, a)), Some((head_b, b))) = (
            a.get(..n).and_then(|a| a.split_at_checked(head)),
            b.get(..n).and_then(|b| b.split_at_checked(head)),
        ) else {
            return;
        };
        for (&x, &y) in head_a.iter().zip(head_b) {
            self.add(f(x, y));
        }
        // Whole groups: whole blocks with fresh lanes (registers) folded straight into the
        // totals, and runs of a partial block on the stored lanes.
        let ((mut groups_a, tail_a), (mut groups_b, tail_b)) = (a.as_chunks(), b.as_chunks());
        let mut position = self.position();
        self.count = self.count.wrapping_add((groups_a.len() * LANES) as u64);
        while !groups_a.is_empty() {
            let run = ((BLOCK - position) / LANES).min(groups_a.len());
            let (Some((run_a, rest_a)), Some((run_b, rest_b))) = (
                groups_a.split_at_checked(run),
                groups_b.split_at_checked(run),
            ) else {
                break;
            };
            if run == BLOCK / LANES {
                // A whole block (so `position` is 0): fresh lanes, nothing loaded or stored.
                let mut lanes = Self::ZERO_LANES;
                add_groups(&mut lanes, run_a, run_b, &mut f);
                add_block(&mut self.totals, &lanes);
            } else {
                add_groups(&mut self.lanes, run_a, run_b, &mut f);
                position += run * LANES;
                if position == BLOCK {
                    self.close_block();
                    position = 0;
                }
            }
            (groups_a, groups_b) = (rest_a, rest_b);
        }
        // The last values, one by one.
        for (&x, &y) in tail_a.iter().zip(tail_b) {
            self.add(f(x, y));
        }
    }

    /// Adds the full block's sums to the totals and starts a new block.
    fn close_block(&mut self) {
        add_block(&mut self.totals, &self.lanes);
        self.lanes = Self::ZERO_LANES;
    }

    /// The sums of everything added so far.
    pub fn value(&self) -> [f32; K] {
        let mut out = [0.0; K];
        let partial = fold(&self.lanes);
        for ((o, total), s) in out.iter_mut().zip(&self.totals).zip(partial) {
            let mut total = *total;
            // A partial block is folded exactly as a full one would be; an empty one is
            // skipped so that adding `+0.0` cannot turn a `-0.0` total into `+0.0`.
            if self.position() != 0 {
                total.add(s);
            }
            *o = total.value();
        }
        out
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
        sum.extend_pairs_unrolled(values, values, |v, _| [v]);
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

    /// Values that exercise rounding, signed zeros and non-finite propagation.
    fn awkward(n: usize) -> Vec<[f32; 3]> {
        (0..n)
            .map(|i| {
                let v = ((i * 7919) % 1013) as f32 * 1e-3 - 0.3;
                let w = match i % 97 {
                    5 => -0.0,
                    17 => 1e-40,
                    41 => 3e7,
                    _ => v * v,
                };
                [v, w, -v * 1e-5]
            })
            .collect()
    }

    /// `extend_pairs` and `extend_pairs_unrolled` perform exactly the operations of `add`
    /// one by one: same state (lanes, totals, count) after every chunk, for chunk sizes and
    /// starting offsets around the group and block boundaries.
    #[test]
    fn bulk_paths_equal_one_by_one() {
        let values = awkward(1000);
        let idx: Vec<usize> = (0..values.len()).collect();
        for start in [0, 1, 3, 4, 5, 63, 64, 65] {
            for chunk in [1, 2, 3, 4, 5, 7, 15, 16, 60, 63, 64, 65, 129, 1000] {
                let mut one = DetSum::<3>::new();
                let mut rolled = DetSum::<3>::new();
                let mut unrolled = DetSum::<3>::new();
                for v in &values[..start] {
                    one.add(*v);
                    rolled.add(*v);
                    unrolled.add(*v);
                }
                for c in idx[start..].chunks(chunk) {
                    c.iter().for_each(|&i| one.add(values[i]));
                    rolled.extend_pairs(c, c, |i, _| values[i]);
                    unrolled.extend_pairs_unrolled(c, c, |i, _| values[i]);
                    assert_eq!(rolled, one, "start {start} chunk {chunk}");
                    assert_eq!(unrolled, one, "start {start} chunk {chunk}");
                }
                let bits = |s: &DetSum<3>| s.value().map(f32::to_bits);
                assert_eq!(bits(&rolled), bits(&one));
                assert_eq!(bits(&unrolled), bits(&one));
            }
        }
    }

    #[test]
    fn bulk_paths_stop_at_the_shorter_slice() {
        let (a, b) = ([1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0f32; 5]);
        let mut s = DetSum::<1>::new();
        s.extend_pairs_unrolled(&a, &b, |x, y| [x * y]);
        assert_eq!((s.count(), s.value()), (5, [15.0]));
        let mut s = DetSum::<1>::new();
        s.extend_pairs(&b, &a, |x, y| [x * y]);
        assert_eq!((s.count(), s.value()), (5, [15.0]));
    }

    #[test]
    fn negative_zero_survives() {
        let mut s = DetSum::<1>::new();
        s.extend_pairs_unrolled(&[-0.0f32; 8], &[(); 8], |v, ()| [v]);
        // Lanes start at +0 (`+0 + -0 = +0`), as in `add`; only an empty sum keeps -0 out.
        let mut one = DetSum::<1>::new();
        (0..8).for_each(|_| one.add([-0.0]));
        assert_eq!(s.value()[0].to_bits(), one.value()[0].to_bits());
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
