//! How a prediction tensor is understood: its shape read as `batch × classes × height ×
//! width` in a layout (`--layout`, or guessed from the shape and said so).

use clap::ValueEnum;
use loss_core::multiclass::Layout;

use crate::io::shape_text;

/// The `--layout` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// Guess from the shape.
    Auto,
    /// `N×C×H×W` (or `C×H×W`): PyTorch.
    Nchw,
    /// `N×H×W×C` (or `H×W×C`): Keras, TFLite.
    Nhwc,
    /// `H×W`: one binary channel.
    Hw,
}

/// A prediction tensor understood: `batch × classes × height × width` in a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Samples.
    pub batch: usize,
    /// Channels (1: a binary problem).
    pub classes: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Where the class axis is.
    pub layout: Layout,
}

impl Geometry {
    /// Pixels per sample.
    pub const fn spatial(&self) -> usize {
        self.height * self.width
    }

    /// Index of score `(n, c, s)`.
    pub const fn index(&self, n: usize, c: usize, s: usize) -> usize {
        match self.layout {
            Layout::ChannelsFirst => (n * self.classes + c) * self.spatial() + s,
            Layout::ChannelsLast => (n * self.spatial() + s) * self.classes + c,
        }
    }

    /// The class of a score index.
    pub const fn class_of(&self, i: usize) -> usize {
        match self.layout {
            Layout::ChannelsFirst => i / self.spatial() % self.classes,
            Layout::ChannelsLast => i % self.classes,
        }
    }

    /// `(n, c, y, x)` of a score index, for messages.
    pub fn position(&self, i: usize) -> String {
        let (n, c, s) = match self.layout {
            Layout::ChannelsFirst => (
                i / (self.classes * self.spatial()),
                i / self.spatial() % self.classes,
                i % self.spatial(),
            ),
            Layout::ChannelsLast => (
                i / (self.classes * self.spatial()),
                i % self.classes,
                i / self.classes % self.spatial(),
            ),
        };
        format!(
            "sample {n}, class {c}, row {}, column {}",
            s / self.width,
            s % self.width
        )
    }
}

/// Interprets a prediction shape; the string says how (stated in the report).
pub fn geometry(shape: &[usize], layout: LayoutArg) -> Result<(Geometry, String), String> {
    let dims = shape_text(shape);
    let make = |batch, classes, height, width, layout| Geometry {
        batch,
        classes,
        height,
        width,
        layout,
    };
    let first = Layout::ChannelsFirst;
    let last = Layout::ChannelsLast;
    let g = match (layout, shape) {
        (LayoutArg::Hw | LayoutArg::Auto, &[h, w]) => (make(1, 1, h, w, first), "HW"),
        (LayoutArg::Nchw, &[c, h, w]) => (make(1, c, h, w, first), "CHW"),
        (LayoutArg::Nchw, &[n, c, h, w]) => (make(n, c, h, w, first), "NCHW"),
        (LayoutArg::Nhwc, &[h, w, c]) => (make(1, c, h, w, last), "HWC"),
        (LayoutArg::Nhwc, &[n, h, w, c]) => (make(n, c, h, w, last), "NHWC"),
        (LayoutArg::Auto, &[a, h, b]) => {
            return guessed(
                1,
                [a, h, b],
                ["CHW", "HWC"],
                "the class axis is the smaller end",
                &dims,
            );
        }
        (LayoutArg::Auto, &[n, a, h, b]) => {
            return guessed(
                n,
                [a, h, b],
                ["NCHW", "NHWC"],
                "the class axis is the smaller of dims 1 and 3",
                &dims,
            );
        }
        (LayoutArg::Hw, _) => return Err(format!("--layout hw needs a 2-D array, got {dims}")),
        _ => {
            return Err(format!(
                "predictions of shape {dims}: expected HW, CHW/HWC or NCHW/NHWC"
            ));
        }
    };
    check(g.0).map(|geo| (geo, format!("{} (--layout)", g.1)))
}

/// `--layout auto` on `n` samples of `a × h × b`: the class axis is the smaller of `a` (channels
/// first, `names[0]`) and `b` (channels last, `names[1]`); the note says so and why (`rule`).
fn guessed(
    n: usize,
    [a, h, b]: [usize; 3],
    names: [&str; 2],
    rule: &str,
    dims: &str,
) -> Result<(Geometry, String), String> {
    let (g, name) = if a <= b {
        let g = Geometry {
            batch: n,
            classes: a,
            height: h,
            width: b,
            layout: Layout::ChannelsFirst,
        };
        (g, names[0])
    } else {
        let g = Geometry {
            batch: n,
            classes: b,
            height: a,
            width: h,
            layout: Layout::ChannelsLast,
        };
        (g, names[1])
    };
    let why = if a == b {
        "ambiguous, assumed"
    } else {
        "guessed"
    };
    check(g).map(|g| {
        (
            g,
            format!("{name} ({why} from shape {dims}: {rule}; --layout overrides)"),
        )
    })
}

fn check(g: Geometry) -> Result<Geometry, String> {
    if g.batch == 0 || g.classes == 0 || g.height == 0 || g.width == 0 {
        return Err("predictions are empty".into());
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_layouts_from_the_smaller_axis() {
        let (g, note) = geometry(&[1, 4, 64, 64], LayoutArg::Auto).unwrap();
        assert_eq!((g.classes, g.layout), (4, Layout::ChannelsFirst));
        assert!(note.starts_with("NCHW (guessed"));
        let (g, _) = geometry(&[2, 64, 32, 3], LayoutArg::Auto).unwrap();
        assert_eq!((g.batch, g.classes, g.height, g.width), (2, 3, 64, 32));
        assert_eq!(g.layout, Layout::ChannelsLast);
        let (g, _) = geometry(&[8, 8], LayoutArg::Auto).unwrap();
        assert_eq!(g.classes, 1);
        let (g, note) = geometry(&[3, 5, 3], LayoutArg::Auto).unwrap();
        assert_eq!(g.classes, 3);
        assert!(note.contains("ambiguous"));
        assert!(geometry(&[4], LayoutArg::Auto).is_err());
        assert!(geometry(&[1, 2, 3], LayoutArg::Hw).is_err());
        assert!(geometry(&[0, 2, 3, 3], LayoutArg::Nchw).is_err());
    }

    #[test]
    fn positions_name_sample_class_row_column() {
        let (g, _) = geometry(&[2, 3, 4, 5], LayoutArg::Nchw).unwrap();
        assert_eq!(
            g.position(g.index(1, 2, 7)),
            "sample 1, class 2, row 1, column 2"
        );
        let (g, _) = geometry(&[2, 4, 5, 3], LayoutArg::Nhwc).unwrap();
        assert_eq!(
            g.position(g.index(1, 2, 7)),
            "sample 1, class 2, row 1, column 2"
        );
    }
}
