//! The last `N` values of a signal and their summary statistics.

/// The last `N` finite values of one signal, in a ring of `N` slots, with their mean, minimum,
/// maximum and quantiles. `N` is a const generic, so the window is `4 N` bytes of values plus
/// the ring's index and flag, and never allocates.
///
/// Every statistic is computed on demand from the stored values, in a fixed order (oldest
/// first), so it is the same on every target. A quantile ranks the values by counting
/// (`O(N²)` comparisons, no sorting buffer and no indexing), which for `N = 32` is about a
/// thousand comparisons. The ring is read and written only through `get`, `get_mut` and
/// checked splits, so no operation has a panic path (`heapless::HistoryBuf`, the obvious
/// choice, indexes its slots and keeps bounds checks the optimiser cannot remove).
///
/// # Examples
/// ```
/// use loss_core::monitor::Window;
/// let mut w = Window::<4>::new();
/// for v in [3.0, 1.0, 4.0, 1.0, 5.0] {
///     w.push(v);
/// }
/// // The oldest value (3.0) has left the window.
/// assert_eq!(w.len(), 4);
/// assert_eq!(w.mean(), Some(2.75));
/// assert_eq!((w.min(), w.max()), (Some(1.0), Some(5.0)));
/// assert_eq!(w.quantile(0.5), Some(2.5));
/// assert_eq!(w.iter().collect::<Vec<_>>(), [1.0, 4.0, 1.0, 5.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Window<const N: usize> {
    /// The ring; slots at and past `next` are unused until it is `filled`.
    values: [f32; N],
    /// The slot the next value goes to (always `< N`, or 0 when `N` is 0).
    next: usize,
    /// Whether every slot holds a value (the oldest is then at `next`).
    filled: bool,
}

impl<const N: usize> Default for Window<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Window<N> {
    /// An empty window.
    pub const fn new() -> Self {
        Self {
            values: [0.0; N],
            next: 0,
            filled: false,
        }
    }

    /// Appends a value, dropping the oldest one once `N` are held. The monitor only pushes
    /// finite values; a NaN pushed here makes `mean`, `min` and `max` unreliable.
    pub fn push(&mut self, value: f32) {
        if let Some(slot) = self.values.get_mut(self.next) {
            *slot = value;
            self.next += 1;
        }
        if self.next >= N {
            self.next = 0;
            self.filled = N > 0;
        }
    }

    /// Values held (at most `N`).
    pub const fn len(&self) -> usize {
        if self.filled { N } else { self.next }
    }

    /// Whether no value has been pushed since the window was created or cleared.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every value.
    pub const fn clear(&mut self) {
        self.next = 0;
        self.filled = false;
    }

    /// The most recent value.
    pub fn last(&self) -> Option<f32> {
        let (older, newer) = self.halves();
        newer.last().or(older.last()).copied()
    }

    /// The values, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = f32> + '_ {
        let (older, newer) = self.halves();
        older.iter().chain(newer).copied()
    }

    /// The values in two runs, oldest first: `(older, newer)`.
    fn halves(&self) -> (&[f32], &[f32]) {
        match self.values.split_at_checked(self.next) {
            Some((newer, older)) if self.filled => (older, newer),
            Some((held, _)) => (held, &[]),
            None => (&[], &[]),
        }
    }

    /// The mean, summed oldest first in f32.
    pub fn mean(&self) -> Option<f32> {
        let n = self.len();
        (n > 0).then(|| self.iter().fold(0.0f32, |a, v| a + v) / n as f32)
    }

    /// The smallest value.
    pub fn min(&self) -> Option<f32> {
        self.iter().reduce(|a, v| if v < a { v } else { a })
    }

    /// The largest value.
    pub fn max(&self) -> Option<f32> {
        self.iter().reduce(|a, v| if v > a { v } else { a })
    }

    /// The `q`-quantile, `0 <= q <= 1`, interpolated linearly between the order statistics
    /// at ranks `floor(h)` and `floor(h) + 1` with `h = q (len - 1)` (numpy's default
    /// `linear` method, Hyndman and Fan type 7). `None` for an empty window or `q` outside
    /// `[0, 1]` (NaN included).
    pub fn quantile(&self, q: f32) -> Option<f32> {
        let n = self.len();
        if n == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let h = q * (n - 1) as f32;
        let lower = libm::floorf(h);
        let rank = lower as usize;
        let low = self.order_statistic(rank)?;
        let frac = h - lower;
        if frac == 0.0 {
            return Some(low);
        }
        let high = self.order_statistic(rank + 1).unwrap_or(low);
        Some(low + frac * (high - low))
    }

    /// The value at 0-based `rank` in ascending order: the `x` with
    /// `#{v < x} <= rank < #{v <= x}`.
    fn order_statistic(&self, rank: usize) -> Option<f32> {
        self.iter().find(|&x| {
            let (below, at) = self.iter().fold((0usize, 0usize), |(b, a), v| {
                (b + usize::from(v < x), a + usize::from(v == x))
            });
            below <= rank && rank < below + at
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ring against a plain list of the last `N` values, through several wrap-arounds
    /// and a clear.
    fn ring_matches_a_list<const N: usize>() {
        let mut w = Window::<N>::new();
        let mut list = std::vec::Vec::new();
        for i in 0..(3 * N + 2) {
            if i == 2 * N {
                w.clear();
                list.clear();
                assert!(w.is_empty() && w.last().is_none() && w.iter().next().is_none());
            }
            let v = i as f32;
            w.push(v);
            list.push(v);
            if list.len() > N {
                list.remove(0);
            }
            assert_eq!(
                w.iter().collect::<std::vec::Vec<_>>(),
                list,
                "N = {N}, i = {i}"
            );
            assert_eq!((w.len(), w.last()), (list.len(), list.last().copied()));
        }
    }

    #[test]
    fn ring_keeps_the_last_values_oldest_first() {
        ring_matches_a_list::<1>();
        ring_matches_a_list::<3>();
        ring_matches_a_list::<4>();
        ring_matches_a_list::<32>();
        // A window of no values holds nothing and never fails.
        let mut w = Window::<0>::new();
        w.push(1.0);
        assert_eq!(
            (w.len(), w.last(), w.mean(), w.quantile(0.5)),
            (0, None, None, None)
        );
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile([7, 1, 3, 9, 5], q) for q = 0, 0.1, 0.25, 0.5, 0.9, 1.
        let mut w = Window::<8>::new();
        for v in [7.0, 1.0, 3.0, 9.0, 5.0] {
            w.push(v);
        }
        let got = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0].map(|q| w.quantile(q).unwrap());
        assert_eq!(got, [1.0, 1.8, 3.0, 5.0, 8.2, 9.0]);
        assert_eq!(w.quantile(1.5), None);
        assert_eq!(w.quantile(f32::NAN), None);
        assert_eq!(Window::<8>::new().quantile(0.5), None);
    }

    #[test]
    fn ties_rank_correctly() {
        let mut w = Window::<8>::new();
        for v in [2.0, 2.0, 2.0, 1.0, 3.0] {
            w.push(v);
        }
        assert_eq!(w.quantile(0.0), Some(1.0));
        assert_eq!(w.quantile(0.25), Some(2.0));
        assert_eq!(w.quantile(0.75), Some(2.0));
        assert_eq!(w.quantile(1.0), Some(3.0));
    }
}
