//! [`CodeCounts`]: how often each prediction code meets each hard target.

use core::marker::PhantomData;

use super::{Code, Mask, Quantization};
use crate::Error;
use crate::multiclass::ConfusionCounts;

/// Bins: `(code byte) * 2 + target`, so each code's two counts sit side by side.
const BINS: usize = 512;

/// One histogram of (target, code) counts.
type Histogram = [u32; BINS];

/// Adds `step` to the bin of code byte `code & 0xff` and target `t & 1` of `histogram`.
#[inline(always)]
fn bump(histogram: &mut Histogram, code: u32, t: u32, step: u32) {
    let bin = ((code & 0xff) << 1) | (t & 1);
    if let Some(n) = histogram.get_mut(bin as usize) {
        *n = n.wrapping_add(step);
    }
}

/// Adds `step` (1, or `-1` to undo) to the bin of every pair, the mask read one byte per
/// element, element `j` of each group of four into histogram `j % K`; returns the OR of the
/// mask bytes (as a word). The codes and the mask are read as words.
#[inline(always)]
fn tally_bytes<C: Code, T: Copy, const K: usize>(
    histograms: &mut [Histogram; K],
    codes: &[C],
    mask: &[T],
    byte: impl Fn(T) -> u8,
    step: u32,
) -> u32 {
    let (code_words, code_tail) = codes.as_chunks::<4>();
    let (mask_words, mask_tail) = mask.as_chunks::<4>();
    let mut flags = 0;
    let mut to_bin = |j: usize, bin: u32| {
        if let Some(n) = histograms
            .get_mut(j % K)
            .and_then(|h| h.get_mut(bin as usize))
        {
            *n = n.wrapping_add(step);
        }
    };
    for (c, t) in code_words.iter().zip(mask_words) {
        let c = u32::from_le_bytes(c.map(C::byte));
        let t = u32::from_le_bytes(t.map(&byte));
        flags |= t;
        // The four bins `(code << 1) | t` formed two at a time, each then one extraction:
        // elements 0 and 2 at bits 0 and 16 of `even`, 1 and 3 at bits 7 and 23 of `odd`.
        // (Eight elements per step spill registers on the M4F: more instructions.)
        let even = ((c & 0x00ff_00ff) << 1) | (t & 0x0001_0001);
        let odd = (c & 0xff00_ff00) | ((t & 0x0100_0100) >> 1);
        to_bin(0, even & 0x1ff);
        to_bin(1, (odd >> 7) & 0x1ff);
        to_bin(2, even >> 16);
        to_bin(3, odd >> 23);
    }
    for (&c, &t) in code_tail.iter().zip(mask_tail) {
        let t = u32::from(byte(t));
        flags |= t;
        to_bin(0, (u32::from(c.byte()) << 1) | (t & 1));
    }
    flags
}

/// Counts codes against a bit-packed mask (least significant bit first): eight elements
/// per mask byte, element `j` into histogram `j % K`, the codes read as words.
#[inline(always)]
fn tally_bits<C: Code, const K: usize>(histograms: &mut [Histogram; K], codes: &[C], bytes: &[u8]) {
    let mut to = |j: usize, code: u32, t: u32| {
        if let Some(h) = histograms.get_mut(j % K) {
            bump(h, code, t, 1);
        }
    };
    let (groups, tail) = codes.as_chunks::<8>();
    for (c, &t) in groups.iter().zip(bytes) {
        let t = u32::from(t);
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]].map(C::byte));
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]].map(C::byte));
        to(0, lo, t);
        to(1, lo >> 8, t >> 1);
        to(2, lo >> 16, t >> 2);
        to(3, lo >> 24, t >> 3);
        to(4, hi, t >> 4);
        to(5, hi >> 8, t >> 5);
        to(6, hi >> 16, t >> 6);
        to(7, hi >> 24, t >> 7);
    }
    if let Some(&t) = bytes.get(groups.len()) {
        for (j, &c) in tail.iter().enumerate() {
            to(j, u32::from(c.byte()), u32::from(t) >> j);
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
/// use loss_core::Mask;
/// use loss_core::quantized::CodeCounts;
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
    // Always inlined, each kind of mask in a function of its own: a firmware links only the
    // kinds it passes.
    #[inline(always)]
    pub fn push(&mut self, codes: &[C], targets: Mask<'_>) -> Result<(), Error> {
        match targets {
            Mask::Bytes(t) => self.push_bytes(codes, t),
            Mask::Bools(t) => self.push_bools(codes, t),
            Mask::Bits { bytes, len } => self.push_bits(codes, bytes, len),
        }
    }

    #[inline(never)]
    fn push_bytes(&mut self, codes: &[C], mask: &[u8]) -> Result<(), Error> {
        let added = self.room(codes, Mask::Bytes(mask))?;
        // The mask is checked by OR-ing it into a flag as it is counted; a bad byte (rare)
        // undoes the counts and is then searched for.
        //
        // One histogram on every target. Repeated increments of one bin can wait on store
        // forwarding, but four sub-histograms (element `i` into histogram `i % 4`, added up
        // at the end) measured no faster on the x86-64 host of docs/performance.md with
        // codes and mask read as words: within 5 %, either way, on random codes, runs of 64
        // or 4096 equal codes and one code everywhere.
        let bins = core::array::from_mut(&mut self.bins);
        if tally_bytes(bins, codes, mask, |t| t, 1) & 0xfefe_fefe != 0 {
            tally_bytes(bins, codes, mask, |t| t, 1u32.wrapping_neg());
            return Mask::Bytes(mask).check_values();
        }
        self.total += added;
        Ok(())
    }

    #[inline(never)]
    fn push_bools(&mut self, codes: &[C], mask: &[bool]) -> Result<(), Error> {
        let added = self.room(codes, Mask::Bools(mask))?;
        tally_bytes(
            core::array::from_mut(&mut self.bins),
            codes,
            mask,
            u8::from,
            1,
        );
        self.total += added;
        Ok(())
    }

    #[inline(never)]
    fn push_bits(&mut self, codes: &[C], bytes: &[u8], len: usize) -> Result<(), Error> {
        let added = self.room(codes, Mask::bits(bytes, len))?;
        tally_bits(core::array::from_mut(&mut self.bins), codes, bytes);
        self.total += added;
        Ok(())
    }

    /// The checks of every push: one target per code, and room in the counts.
    fn room(&self, codes: &[C], targets: Mask<'_>) -> Result<u32, Error> {
        targets.check_len(codes.len())?;
        u32::try_from(codes.len())
            .ok()
            .filter(|&n| n <= u32::MAX - self.total)
            .ok_or(Error::CountOverflow)
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
        self.by_code()
            .get(usize::from(code.byte()))
            .map_or(
                0,
                |&[negatives, positives]| if target { positives } else { negatives },
            )
    }

    /// Forgets every count.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// The counts by code byte: `[target 0, target 1]` for each.
    pub(crate) fn by_code(&self) -> &[[u32; 2]; 256] {
        // `[u32; 512]` and `[[u32; 2]; 256]` are the same layout, seen as pairs.
        self.bins
            .as_chunks::<2>()
            .0
            .try_into()
            .unwrap_or(&[[0; 2]; 256])
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
        for (code, &[negatives, positives]) in self.by_code().iter().enumerate() {
            let (negatives, positives) = (u64::from(negatives), u64::from(positives));
            if quantization.of_bin::<C>(code) >= threshold {
                c.true_positives += positives;
                c.false_positives += negatives;
            } else {
                c.false_negatives += positives;
                c.true_negatives += negatives;
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk length well past the lengths of the unit examples.
    const LONG: usize = 8192;
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
            .map(|i| u8::from((i / 500) % 2 == 1 || next().is_multiple_of(9)))
            .collect();
        (codes, mask)
    }

    /// Long chunk, every mask form: the counts of a plain per-element count.
    #[test]
    fn counts_are_the_plain_per_element_counts() {
        for n in [1, 7, LONG - 1, LONG, LONG + 1, LONG + 3, 20_001] {
            let (codes, mask) = frame(n, n as u32);
            let bools: Vec<bool> = mask.iter().map(|&b| b == 1).collect();
            let mut bits = vec![0u8; n.div_ceil(8)];
            for (i, &b) in mask.iter().enumerate() {
                bits[i / 8] |= b << (i % 8);
            }
            let mut want = [0u32; BINS];
            for (&c, &t) in codes.iter().zip(&mask) {
                want[usize::from(c.byte()) * 2 + usize::from(t)] += 1;
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
        let (codes, mut mask) = frame(3 * LONG, 5);
        let mut counts = CodeCounts::<i8>::new();
        counts.push(&codes[..10], Mask::bytes(&mask[..10])).unwrap();
        let before = counts;
        mask[LONG + 17] = 2;
        for n in [LONG + 18, 3 * LONG] {
            assert_eq!(
                counts.push(&codes[..n], Mask::bytes(&mask[..n])),
                Err(Error::OutOfRange {
                    operand: Operand::Targets,
                    index: LONG + 17
                })
            );
            assert_eq!(counts, before);
        }
    }
}
