//! The sweep plot, drawn with `plotters` twice: to SVG (text left to the viewer's fonts) and
//! to an RGB bitmap encoded as PNG. Bitmap text is rasterised by `ab_glyph` from DejaVu Sans,
//! which the `dejavu` crate compiles into the binary, so the PNG renders the same on a
//! headless machine without system fonts.

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::io::atomic::write_atomically;
use crate::io::png;
use crate::scoring::grid::Point;

const SIZE: (u32, u32) = (1500, 480);
const FONT: &str = "sans-serif";

fn register_font() -> Result<(), String> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "cannot load the DejaVu Sans font".to_string());
    });
    result
}

fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    C[i % C.len()]
}

type Err = Box<dyn std::error::Error>;

/// The three panels under one title.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pts: &[Point],
    gammas: &[f32],
) -> Result<(), Err>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(
        "Focal loss on the data: what alpha and gamma do",
        (FONT, 22).into_font(),
    )?;
    let panels = root.split_evenly((1, 3));
    let (amin, amax) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(alpha(p)), b.max(alpha(p)))
        });
    let span = if amax > amin {
        amin..amax
    } else {
        amin - 0.5..amax + 0.5
    };
    let sweep = Sweep { pts, gammas, span };
    sweep.share_panel(&panels[0])?;
    sweep.loss_panel(&panels[1])?;
    sweep.precision_recall_panel(&panels[2])?;
    root.present()?;
    Ok(())
}

/// A point's alpha, the x of every panel.
fn alpha(p: &Point) -> f64 {
    f64::from(p.alpha)
}

/// What every panel shows: the points, one line per gamma, against alpha over `span`.
struct Sweep<'a> {
    pts: &'a [Point],
    gammas: &'a [f32],
    span: Range<f64>,
}

impl Sweep<'_> {
    /// The points of one gamma.
    fn series(&self, g: f32) -> impl Iterator<Item = &Point> + Clone {
        self.pts.iter().filter(move |p| p.gamma == g)
    }

    /// A panel with alpha across and `0..1` up.
    fn unit_panel<'b, DB: DrawingBackend>(
        &self,
        area: &'b DrawingArea<DB, Shift>,
        caption: &str,
    ) -> Result<ChartContext<'b, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, Err>
    where
        DB::ErrorType: 'static,
    {
        let mut c = ChartBuilder::on(area)
            .caption(caption, (FONT, 17))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(self.span.clone(), 0.0..1.0)?;
        c.configure_mesh()
            .x_desc("alpha")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        Ok(c)
    }

    /// Panel 1: the positives' share of the loss (solid) and of the gradient (dashed), with
    /// the legend of the gammas.
    fn share_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), Err>
    where
        DB::ErrorType: 'static,
    {
        let mut c = self.unit_panel(area, "positives' share: loss (solid) / gradient (dashed)")?;
        for (i, &g) in self.gammas.iter().enumerate() {
            let col = colour(i);
            c.draw_series(LineSeries::new(
                self.series(g)
                    .filter_map(|p| p.share.map(|s| (alpha(p), s))),
                col.stroke_width(2),
            ))?
            .label(format!("gamma {g}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
            c.draw_series(
                self.series(g)
                    .filter_map(|p| p.share.map(|s| Circle::new((alpha(p), s), 3, col.filled()))),
            )?;
            c.draw_series(DashedLineSeries::new(
                self.series(g)
                    .filter_map(|p| p.grad_share.map(|s| (alpha(p), s))),
                6,
                4,
                col.stroke_width(2),
            ))?;
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    }

    /// Panel 2: the mean loss, log scale.
    fn loss_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), Err>
    where
        DB::ErrorType: 'static,
    {
        let positive: Vec<f64> = self
            .pts
            .iter()
            .map(|p| p.mean)
            .filter(|v| *v > 0.0 && v.is_finite())
            .collect();
        let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = positive.iter().copied().fold(0.0, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo / 1.5, hi * 1.5)
        } else {
            (1e-6, 1.0)
        };
        let mut c = ChartBuilder::on(area)
            .caption("mean focal loss (log scale)", (FONT, 17))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(self.span.clone(), (lo..hi).log_scale())?;
        c.configure_mesh()
            .x_desc("alpha")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for (i, &g) in self.gammas.iter().enumerate() {
            let col = colour(i);
            let line = || {
                self.series(g)
                    .filter(|p| p.mean > 0.0 && p.mean.is_finite())
            };
            c.draw_series(LineSeries::new(
                line().map(|p| (alpha(p), p.mean)),
                col.stroke_width(2),
            ))?;
            c.draw_series(line().map(|p| Circle::new((alpha(p), p.mean), 3, col.filled())))?;
        }
        Ok(())
    }

    /// Panel 3: weighted precision (solid) and recall (dashed).
    fn precision_recall_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), Err>
    where
        DB::ErrorType: 'static,
    {
        let mut c = self.unit_panel(area, "weighted precision (solid) / recall (dashed)")?;
        for (i, &g) in self.gammas.iter().enumerate() {
            let col = colour(i);
            c.draw_series(LineSeries::new(
                self.series(g)
                    .filter_map(|p| p.precision.map(|v| (alpha(p), v))),
                col.stroke_width(2),
            ))?;
            c.draw_series(DashedLineSeries::new(
                self.series(g)
                    .filter_map(|p| p.recall.map(|v| (alpha(p), v))),
                6,
                4,
                col.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}

/// `PREFIX` with `ext` appended (`PREFIX.svg`).
pub fn with_extension(prefix: &Path, ext: &str) -> std::path::PathBuf {
    let mut p = prefix.as_os_str().to_owned();
    p.push(ext);
    std::path::PathBuf::from(p)
}

/// Writes `PREFIX.svg` and `PREFIX.png`.
pub fn sweep(prefix: &Path, pts: &[Point], gammas: &[f32]) -> Result<(), String> {
    register_font()?;
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", crate::io::path_text(dir)))?;
    }
    let with_ext = |ext: &str| with_extension(prefix, ext);
    let fail = |e: Err| format!("plot: {e}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, pts, gammas).map_err(fail)?;
    }
    let mut rgb = vec![0u8; 3 * SIZE.0 as usize * SIZE.1 as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, pts, gammas).map_err(fail)?;
    }
    let png = png::write_rgb(SIZE.0, SIZE.1, &rgb)?;
    write_atomically(&with_ext(".svg"), svg.as_bytes())?;
    write_atomically(&with_ext(".png"), &png)?;
    Ok(())
}
