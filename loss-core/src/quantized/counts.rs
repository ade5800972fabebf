//! [`CodeCounts`]: how often each prediction code meets each hard target.

use core::marker::PhantomData;

use super::{Code, Mask, Quantization};
use crate::Error;
use crate::multiclass::ConfusionCounts;

/// Bins: 256 codes for target 0, then 256 for target 1.
pub(crate) const BINS: usize = 512;

/// Histograms a long chunk is counted into on vector hosts, element `i` into histogram
/// `i % SPLIT`, then added up (0 elsewhere: one histogram, the counts themselves).
///
/// A histogram increments memory: when neighbouring elements hit the same bin (runs of one
/// code, as in the saturated background of a segmentation map), each increment waits for the
/// store of the previous one. Four histograms make consecutive elements independent. On the
/// 2-core x86-64 VM of `docs/performance.md`, runs of 64 equal codes took 1.27-1.32 ns per
/// element with one histogram and 0.77-0.81 with four; uniformly random codes about 0.7
/// either way. The
/// boards have no such forwarding stall worth the scratch (a Cortex-M load after a store
/// just executes in order), so they count straight into the bins as before.
const SPLIT: usize = if crate::lanes::VECTOR { 4 } else { 0 };

/// The shortest chunk worth splitting: below it, clearing and adding up the `SPLIT`
/// histograms (2 KiB each) costs more than the stalls it saves.
const SPLIT_MIN: usize = 8192;

/// The bin of code bin `code` (its byte) with target `t` (0 or 1).
#[inline(always)]
pub(crate) const fn bin(t: u8, code: usize) -> usize {
    ((t as usize & 1) << 8) | (code & 0xff)
}

/// Counts element `i` of `codes` with target `target(targets[i])` into `split[i % SPLIT]`;
/// returns the OR of the targets. One element per histogram per step, so that neighbours never
/// wait for each other's increment.
#[inline(always)]
fn tally_split<C: Code, T: Copy>(
    split: &mut [[u32; BINS]; SPLIT],
    codes: &[C],
    targets: &[T],
    target: impl Fn(T) -> u8,
) -> u8 {
    let mut flags = 0;
    let ((groups, tail), (target_groups, target_tail)) =
        (codes.as_chunks::<SPLIT>(), targets.as_chunks::<SPLIT>());
    for (group, targets) in groups.iter().zip(target_groups) {
        for ((histogram, &c), &t) in split.iter_mut().zip(group).zip(targets) {
            let t = target(t);
            flags |= t;
            if let Some(n) = histogram.get_mut(bin(t, c.bin())) {
                *n = n.wrapping_add(1);
            }
        }
    }
    for ((histogram, &c), &t) in split.iter_mut().zip(tail).zip(target_tail) {
        let t = target(t);
        flags |= t;
        if let Some(n) = histogram.get_mut(bin(t, c.bin())) {
            *n = n.wrapping_add(1);
        }
    }
    flags
}

/// [`tally_split`] against a bit-packed mask (least significant bit first): the eight
/// elements of a mask byte go to the histograms in turn.
#[inline(always)]
fn tally_split_bits<C: Code>(split: &mut [[u32; BINS]; SPLIT], codes: &[C], bytes: &[u8]) {
    let count = |histogram: &mut [u32; BINS], bits: u8, c: C| {
        if let Some(n) = histogram.get_mut(bin(bits, c.bin())) {
            *n = n.wrapping_add(1);
        }
    };
    for (chunk, &byte) in codes.chunks(8).zip(bytes) {
        let mut bits = byte;
        let (groups, tail) = chunk.as_chunks::<SPLIT>();
        for group in groups {
            for (histogram, &c) in split.iter_mut().zip(group) {
                count(histogram, bits, c);
                bits >>= 1;
            }
        }
        for (histogram, &c) in split.iter_mut().zip(tail) {
            count(histogram, bits, c);
            bits >>= 1;
        }
    }
}

/// Counts of every (target, code) pair seen: the sufficient statistics of every binary loss
/// and metric on quantized predictions with hard targets (see the [module docs](super)).
///
/// 2 KiB of `u32` counts plus the total; `Copy`, no heap. Pushing is integer work only (a load
/// and an increment per element), exact, and independent of order and tiling: any split of the
/// data, in any order, gives the same counts, and [`CodeCounts::merge`] adds two frames' counts.
///
/// # Examples
/// ```
/// use loss_core::quantized::{CodeCounts, Mask};
/// let mut counts = CodeCounts::<u8>::new();
/// counts.push(&[0, 200, 255, 200], Mask::bytes(&[0, 1, 1, 0]))?;
/// assert_eq!(counts.count(), 4);
/// assert_eq!(counts.get(200, true), 1);
/// assert_eq!(counts.get(200, false), 1);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeCounts<C> {
    bins: [u32; BINS],
    total: u32,
    code: PhantomData<C>,
}

impl<C: Code> Default for CodeCounts<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Code> CodeCounts<C> {
    /// No elements counted.
    pub const fn new() -> Self {
        Self {
            bins: [0; BINS],
            total: 0,
            code: PhantomData,
        }
    }

    /// Counts a chunk: one code and one target per element. An empty chunk changes nothing.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] (also for a bit mask with too few bytes),
    /// [`Error::OutOfRange`] for a mask byte other than 0 or 1 (the index is within this
    /// chunk), [`Error::CountOverflow`] past `u32::MAX` elements; the counts are then
    /// unchanged.
    pub fn push(&mut self, codes: &[C], targets: Mask<'_>) -> Result<(), Error> {
        targets.check_len(codes.len())?;
        let added = u32::try_from(codes.len())
            .ok()
            .filter(|&n| n <= u32::MAX - self.total)
            .ok_or(Error::CountOverflow)?;
        if SPLIT > 0 && codes.len() >= SPLIT_MIN {
            self.push_split(codes, targets)?;
            self.total += added;
            return Ok(());
        }
        match targets {
            Mask::Bytes(t) => {
                // The mask is checked by OR-ing it into a flag as it is counted; a bad byte
                // (rare) undoes the counts and is then searched for.
                if self.tally(codes, t.iter().copied(), 1) > 1 {
                    self.tally(codes, t.iter().copied(), 1u32.wrapping_neg());
                    return targets.check_values();
                }
            }
            Mask::Bools(t) => {
                self.tally(codes, t.iter().map(|&b| u8::from(b)), 1);
            }
            Mask::Bits { bytes, .. } => self.tally_bits(codes, bytes),
        }
        self.total += added;
        Ok(())
    }

    /// Adds `step` (1, or `-1` to undo) to the bin of every pair; returns the OR of the targets.
    #[inline(always)]
    fn tally(&mut self, codes: &[C], targets: impl Iterator<Item = u8>, step: u32) -> u8 {
        let mut flags = 0;
        for (&c, t) in codes.iter().zip(targets) {
            flags |= t;
            if let Some(n) = self.bins.get_mut(bin(t, c.bin())) {
                *n = n.wrapping_add(step);
            }
        }
        flags
    }

    /// Counts codes against a bit-packed mask (least significant bit first).
    #[inline(always)]
    fn tally_bits(&mut self, codes: &[C], bytes: &[u8]) {
        for (chunk, &byte) in codes.chunks(8).zip(bytes) {
            let mut bits = byte;
            for &c in chunk {
                if let Some(n) = self.bins.get_mut(bin(bits, c.bin())) {
                    *n = n.wrapping_add(1);
                }
                bits >>= 1;
            }
        }
    }

    /// [`CodeCounts::push`] of a long chunk on vector hosts: counted into [`SPLIT`]
    /// histograms on the stack, element `i` into histogram `i % SPLIT`, which are then added
    /// to the bins (exact integers: the same counts). A bad mask byte leaves the bins
    /// untouched. The length checks have been made.
    fn push_split(&mut self, codes: &[C], targets: Mask<'_>) -> Result<(), Error> {
        let mut split = [[0u32; BINS]; SPLIT];
        let mut flags = 0;
        match targets {
            Mask::Bytes(t) => flags = tally_split(&mut split, codes, t, |t| t),
            Mask::Bools(t) => {
                tally_split(&mut split, codes, t, u8::from);
            }
            Mask::Bits { bytes, .. } => tally_split_bits(&mut split, codes, bytes),
        }
        if flags > 1 {
            return targets.check_values();
        }
        for histogram in &split {
            for (n, m) in self.bins.iter_mut().zip(histogram) {
                *n = n.wrapping_add(*m);
            }
        }
        Ok(())
    }

    /// Adds the counts of `other` (another tile, frame or worker): exact, so the order of
    /// merging never matters.
    ///
    /// # Errors
    /// [`Error::CountOverflow`] past `u32::MAX` elements; `self` is then unchanged.
    pub fn merge(&mut self, other: &Self) -> Result<(), Error> {
        if other.total > u32::MAX - self.total {
            return Err(Error::CountOverflow);
        }
        for (n, m) in self.bins.iter_mut().zip(&other.bins) {
            *n += m;
        }
        self.total += other.total;
        Ok(())
    }

    /// Elements counted.
    pub const fn count(&self) -> u64 {
        self.total as u64
    }

    /// How often `code` met target `target`.
    pub fn get(&self, code: C, target: bool) -> u32 {
        self.bins
            .get(bin(u8::from(target), code.bin()))
            .copied()
            .unwrap_or(0)
    }

    /// Forgets every count.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// The counted bins, as `(target, code bin, count)` with `count > 0`, in bin order.
    pub(crate) fn nonzero(&self) -> impl Iterator<Item = (u8, usize, u32)> + '_ {
        (0..BINS)
            .zip(&self.bins)
            .filter(|&(_, &n)| n > 0)
            .map(|(b, &n)| (u8::from(b >= 256), b & 0xff, n))
    }

    /// The confusion counts of the hard decision "positive when the dequantized prediction is
    /// at least `threshold`" (a probability, or a logit: 0 is p = 0.5), as
    /// [`Decision::Threshold`](crate::multiclass::Decision::Threshold) decides.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `"zero_point"` (not a code of `C`) or `"threshold"`
    /// (NaN).
    pub fn confusion(
        &self,
        quantization: Quantization,
        threshold: f32,
    ) -> Result<ConfusionCounts, Error> {
        quantization.check::<C>()?;
        if threshold.is_nan() {
            return Err(Error::InvalidParameter("threshold"));
        }
        let mut c = ConfusionCounts::default();
        for (t, code, n) in self.nonzero() {
            let predicted = quantization.of_bin::<C>(code) >= threshold;
            let slot = match (predicted, t == 1) {
                (true, true) => &mut c.true_positives,
                (true, false) => &mut c.false_positives,
                (false, true) => &mut c.false_negatives,
                (false, false) => &mut c.true_negatives,
            };
            *slot += u64::from(n);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operand;

    /// Codes with long runs (a saturated background) and noise, and a mask with runs.
    fn frame(n: usize, seed: u32) -> (Vec<i8>, Vec<u8>) {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let codes = (0..n)
            .map(|i| match (i / 300) % 3 {
                0 => -128,
                1 => (next() % 7) as i8,
                _ => next() as u8 as i8,
            })
            .collect();
        let mask = (0..n)
            .map(|i| u8::from((i / 500) % 2 == 1 || next() % 9 == 0))
            .collect();
        (codes, mask)
    }

    /// The split histograms of long chunks (vector hosts) and the plain per-element count give
    /// the same counts, for every mask form and lengths around the split threshold.
    #[test]
    fn split_and_plain_counts_are_identical() {
        for n in [
            1,
            7,
            SPLIT_MIN - 1,
            SPLIT_MIN,
            SPLIT_MIN + 1,
            SPLIT_MIN + 3,
            20_001,
        ] {
            let (codes, mask) = frame(n, n as u32);
            let bools: Vec<bool> = mask.iter().map(|&b| b == 1).collect();
            let mut bits = vec![0u8; n.div_ceil(8)];
            for (i, &b) in mask.iter().enumerate() {
                bits[i / 8] |= b << (i % 8);
            }
            let mut want = [0u32; BINS];
            for (&c, &t) in codes.iter().zip(&mask) {
                want[bin(t, c.bin())] += 1;
            }
            for targets in [
                Mask::bytes(&mask),
                Mask::bools(&bools),
                Mask::bits(&bits, n),
            ] {
                let mut counts = CodeCounts::<i8>::new();
                counts.push(&codes, targets).unwrap();
                assert_eq!(counts.bins, want, "{n} elements, {targets:?}");
                assert_eq!(counts.count(), n as u64);
                // Twice: the second push adds to the first.
                counts.push(&codes, targets).unwrap();
                assert_eq!(counts.bins, want.map(|n| 2 * n));
            }
        }
    }

    #[test]
    fn a_bad_byte_in_a_long_chunk_leaves_the_counts_unchanged() {
        let (codes, mut mask) = frame(3 * SPLIT_MIN, 5);
        let mut counts = CodeCounts::<i8>::new();
        counts.push(&codes[..10], Mask::bytes(&mask[..10])).unwrap();
        let before = counts;
        mask[SPLIT_MIN + 17] = 2;
        assert_eq!(
            counts.push(&codes, Mask::bytes(&mask)),
            Err(Error::OutOfRange {
                operand: Operand::Targets,
                index: SPLIT_MIN + 17
            })
        );
        assert_eq!(counts, before);
    }
}
