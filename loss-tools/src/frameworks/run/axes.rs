//! Reductions over axes, as Keras does them.

/// For a row-major tensor of `shape`, the shape that remains after reducing `axes` and, for
/// each remaining index in order, the flat indices of its elements in order.
pub(super) fn groups(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let out_shape: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
    let mut out = vec![Vec::new(); out_shape.iter().product::<usize>().max(1)];
    let len: usize = shape.iter().product();
    for flat in 0..len {
        let (mut rest, mut group, mut stride) = (flat, 0, 1);
        let mut coords = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            coords[d] = rest % shape[d];
            rest /= shape[d];
        }
        for &d in kept.iter().rev() {
            group += coords[d] * stride;
            stride *= shape[d];
        }
        out[group].push(flat);
    }
    (out_shape, out)
}

/// Normalises Keras axes (negative from the end) against a rank.
pub(super) fn normalise_axes(axes: &[i64], ndim: usize) -> Result<Vec<usize>, String> {
    axes.iter()
        .map(|&a| {
            let d = if a < 0 { a + ndim as i64 } else { a };
            usize::try_from(d)
                .ok()
                .filter(|&d| d < ndim)
                .ok_or_else(|| {
                    format!("parameter `axis`: {a} is out of range for {ndim} dimensions")
                })
        })
        .collect()
}
