//! Per-frame signals: label-free ones from the model output alone ([`FrameSignals`]) and
//! labelled ones from the loss and confusion accumulators ([`LabelledSignals`]).

use crate::multiclass::{
    ClassLoss, ClassLossAccumulator, ConfusionAccumulator, Decision, Layout, Metric, Targets,
};
use crate::quantized::{ClassQuantization, Code, read_pixel};
use crate::sum::DetSum;
use crate::{Error, Operand, Predictions};

/// Streams one frame of model output (whole pixels, in chunks of any size) and gives its
/// label-free signals ([`LabelFree`]) in one pass with `O(CAP)` state.
///
/// The scores are `C` channels per pixel in a [`Layout`], chunked as for the multi-class
/// accumulators (channels-last: `k × C` values; channels-first: `C` planes of `k`):
/// - `C >= 2`: softmax logits ([`Predictions::Logits`]) or class probabilities
///   ([`Predictions::Probabilities`]); the predicted class is the first argmax.
/// - `C == 1`: one binary channel, a logit or a foreground probability; the mask has two
///   classes, background (`p < 0.5`) and foreground, so `CAP` must be at least 2.
///
/// Temporal consistency needs the previous frame's mask, which this type does not store: the
/// caller lends a buffer of one `u8` per pixel ([`FrameSignals::with_previous_mask`]); each
/// pixel's previous class is read and replaced by its current class as the frame streams, in
/// stream order (tiles need not be raster order, only the same order every frame).
///
/// # Examples
/// ```
/// use loss_core::Predictions;
/// use loss_core::monitor::FrameSignals;
/// use loss_core::multiclass::Layout;
/// let mut mask = [0u8; 4]; // the previous frame's classes, one byte per pixel
/// // Frame 1: no previous mask yet.
/// let frame1 = [4.0, 0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0]; // 4 pixels x 2 classes
/// let mut s = FrameSignals::<2>::new(Predictions::Logits, 2)?.with_previous_mask(&mut mask, false)?;
/// s.push(Layout::ChannelsLast, &frame1)?;
/// let first = s.finish()?;
/// assert_eq!(first.consistency, None);
/// assert_eq!(first.area(1), Some(0.5));
/// // Frame 2: the same mask, so perfectly consistent.
/// let mut s = FrameSignals::<2>::new(Predictions::Logits, 2)?.with_previous_mask(&mut mask, true)?;
/// s.push(Layout::ChannelsLast, &frame1)?;
/// assert_eq!(s.finish()?.consistency, Some(1.0));
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug)]
pub struct FrameSignals<'m, const CAP: usize> {
    predictions: Predictions,
    channels: usize,
    classes: usize,
    /// `[normalised entropy, max probability]` per pixel.
    sums: DetSum<2>,
    area: [u32; CAP],
    previous: Option<Previous<'m, CAP>>,
}

#[derive(Debug)]
struct Previous<'m, const CAP: usize> {
    mask: &'m mut [u8],
    compare: bool,
    cursor: usize,
    /// Pixels of class `c` in the previous mask.
    area: [u32; CAP],
    /// Pixels of class `c` in both masks.
    both: [u32; CAP],
}

/// The label-free signals of one frame (see the [module docs](super)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LabelFree<const CAP: usize> {
    /// Pixels in the frame.
    pub pixels: u64,
    /// Classes of the mask (2 for a binary channel).
    pub classes: usize,
    /// Mean prediction entropy, normalised by `ln(classes)` to `[0, 1]`.
    pub entropy: f32,
    /// Mean probability of the predicted class (confidence), in `[1/classes, 1]`.
    pub confidence: f32,
    /// Fraction of pixels predicted as each class, `0` past `classes`.
    pub area: [f32; CAP],
    /// Temporal consistency: mean dice, over the foreground classes (1..) present in either
    /// mask, between this frame's mask and the previous one; `1` when neither holds any
    /// foreground; `None` without a previous mask.
    pub consistency: Option<f32>,
    /// The same with IoU instead of dice.
    pub consistency_iou: Option<f32>,
    /// Fraction of pixels whose class did not change; `None` without a previous mask.
    pub agreement: Option<f32>,
}

impl<const CAP: usize> LabelFree<CAP> {
    /// The area fraction of class `c`, `None` past the mask's classes.
    pub fn area(&self, c: usize) -> Option<f32> {
        if c < self.classes {
            self.area.get(c).copied()
        } else {
            None
        }
    }
}

impl<'m, const CAP: usize> FrameSignals<'m, CAP> {
    /// An empty frame of `channels` channels (1: binary).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"classes"`) for zero channels;
    /// [`Error::TooManyClasses`] if the mask's classes (2 for one channel) exceed `CAP`.
    pub fn new(predictions: Predictions, channels: usize) -> Result<Self, Error> {
        if channels == 0 {
            return Err(Error::InvalidParameter("classes"));
        }
        let classes = channels.max(2);
        if classes > CAP {
            return Err(Error::TooManyClasses {
                classes,
                capacity: CAP,
            });
        }
        Ok(Self {
            predictions,
            channels,
            classes,
            sums: DetSum::new(),
            area: [0; CAP],
            previous: None,
        })
    }

    /// Tracks temporal consistency through `mask`, one byte per pixel of the frame, holding
    /// the previous frame's classes when `holds_previous` is true (false for the first
    /// frame, or after the mask was lost). The frame's classes are written into it.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`"classes"`) when the classes do not fit in a `u8`;
    /// [`Error::EmptyInput`] for an empty mask.
    pub fn with_previous_mask(
        mut self,
        mask: &'m mut [u8],
        holds_previous: bool,
    ) -> Result<Self, Error> {
        if self.classes > usize::from(u8::MAX) + 1 {
            return Err(Error::InvalidParameter("classes"));
        }
        if mask.is_empty() {
            return Err(Error::EmptyInput);
        }
        self.previous = Some(Previous {
            mask,
            compare: holds_previous,
            cursor: 0,
            area: [0; CAP],
            both: [0; CAP],
        });
        Ok(self)
    }

    /// Adds a chunk of whole pixels (see the type docs). An empty chunk changes nothing.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] (not whole pixels), [`Error::OutOfRange`] (a probability
    /// outside `[0, 1]`), [`Error::BufferTooSmall`] (more pixels than the previous mask
    /// holds); the frame is then unchanged.
    pub fn push(&mut self, layout: Layout, scores: &[f32]) -> Result<(), Error> {
        if scores.is_empty() {
            return Ok(());
        }
        let c = self.channels;
        let pixels = self.whole_pixels(scores.len())?;
        if self.predictions == Predictions::Probabilities
            && let Some(index) = scores.iter().position(|v| *v < 0.0 || *v > 1.0)
        {
            return Err(Error::OutOfRange {
                operand: Operand::Predictions,
                index,
            });
        }
        self.check_previous(pixels)?;
        let stride = stride(layout, pixels);
        for i in 0..pixels {
            let base = base(layout, i, c);
            let channel = |k: usize| scores.get(base + k * stride).copied().unwrap_or(f32::NAN);
            let signals = self.pixel(channel);
            self.record(signals);
        }
        Ok(())
    }

    /// Adds a chunk of quantized scores, whole pixels as for [`Self::push`] (`codes` in the
    /// same layout), quantized per tensor or per channel. An empty chunk changes nothing.
    ///
    /// The signals are the bits of [`Self::push`] on the scores each pixel's codes stand for,
    /// as the multi-class accumulators read them (see the
    /// [`multiclass` docs](crate::multiclass#quantized-scores)): with a per-tensor
    /// quantization, softmax logits and `C >= 2`, the shifted scores
    /// `scale · (q_c − q_max)` of the quantization's table (entropy, confidence and the class
    /// do not change under a shift of the logits), with their `expf` read from the table, so a
    /// pixel needs no exponential; otherwise the dequantized scores `scale_c · (q_c − zero_point_c)`.
    /// No dequantized frame is held: one pixel's scores at a time, in a scratch of `CAP` floats.
    ///
    /// # Errors
    /// As [`Self::push`] ([`Error::OutOfRange`] for a code that dequantizes outside `[0, 1]`
    /// when the scores are probabilities), and [`Error::QuantizationCount`] for a per-channel
    /// list whose length is not the channel count; the frame is then unchanged.
    pub fn push_codes<C: Code>(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
    ) -> Result<(), Error> {
        let c = self.channels;
        quantization.check_classes(c)?;
        if codes.is_empty() {
            return Ok(());
        }
        let pixels = self.whole_pixels(codes.len())?;
        let stride = stride(layout, pixels);
        if self.predictions == Predictions::Probabilities {
            quantization.check_probabilities(codes, layout, c)?;
        }
        self.check_previous(pixels)?;
        let table = quantization
            .table()
            .filter(|_| c >= 2 && self.predictions == Predictions::Logits);
        let mut scores = [0.0f32; CAP];
        let mut exps = [0.0f32; CAP];
        let mut q = [0i32; CAP];
        let q = q.get_mut(..c).unwrap_or(&mut []);
        for i in 0..pixels {
            let base = base(layout, i, c);
            let code = |k: usize| codes.get(base + k * stride).copied();
            let signals = if let Some(table) = table {
                let (top, _) = read_pixel(codes, base, stride, q);
                for ((x, e), &q) in scores.iter_mut().zip(&mut exps).zip(q.iter()) {
                    (*x, *e) = table.at(top - q);
                }
                // `x_k - max` is `x_k` itself (the winner's is +0, whose `expf` is 1): the
                // table's `expf(x_k)` is the softmax's `expf(x_k - max)`.
                let score = |k: usize| scores.get(k).copied().unwrap_or(f32::NAN);
                softmax_with(c, score, |k, _| exps.get(k).copied().unwrap_or(f32::NAN))
            } else {
                for (k, x) in scores.iter_mut().enumerate().take(c) {
                    *x = code(k).map_or(f32::NAN, |q| quantization.value(k, q));
                }
                self.pixel(|k| scores.get(k).copied().unwrap_or(f32::NAN))
            };
            self.record(signals);
        }
        Ok(())
    }

    /// The pixels of a chunk of `len` values, or [`Error::ShapeMismatch`] if they are not
    /// whole pixels.
    fn whole_pixels(&self, len: usize) -> Result<usize, Error> {
        let c = self.channels;
        // `new` rejects zero channels; `checked_div` keeps the division free of a panic path.
        let Some(pixels) = len.checked_div(c) else {
            return Err(Error::InvalidParameter("classes"));
        };
        if pixels * c != len {
            return Err(Error::ShapeMismatch {
                operand: Operand::Predictions,
                expected: (pixels + 1) * c,
                found: len,
            });
        }
        Ok(pixels)
    }

    /// [`Error::BufferTooSmall`] if the previous mask has no room for `pixels` more.
    fn check_previous(&self, pixels: usize) -> Result<(), Error> {
        if let Some(prev) = &self.previous {
            let needed = prev.cursor + pixels;
            if needed > prev.mask.len() {
                return Err(Error::BufferTooSmall {
                    needed,
                    capacity: prev.mask.len(),
                });
            }
        }
        Ok(())
    }

    /// Adds one pixel's `(entropy, confidence, class)`.
    fn record(&mut self, (entropy, confidence, class): (f32, f32, usize)) {
        self.sums.add([entropy, confidence]);
        if let Some(a) = self.area.get_mut(class) {
            *a = a.saturating_add(1);
        }
        if let Some(prev) = &mut self.previous {
            prev.record(class);
        }
    }

    /// `(entropy / ln classes, max probability, argmax)` of one pixel; NaN signals when a
    /// score is not finite (the monitor reports them as a fault).
    fn pixel(&self, channel: impl Fn(usize) -> f32) -> (f32, f32, usize) {
        match (self.channels, self.predictions) {
            (1, Predictions::Logits) => binary_logit(channel(0)),
            (1, Predictions::Probabilities) => binary_probability(channel(0)),
            (c, Predictions::Logits) => softmax(c, channel),
            (c, Predictions::Probabilities) => probabilities(c, channel),
        }
    }

    /// The frame's signals.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] before any pixel; [`Error::ShapeMismatch`] if a previous mask
    /// was lent and the frame did not cover all of it.
    pub fn finish(&self) -> Result<LabelFree<CAP>, Error> {
        let pixels = self.sums.count();
        if pixels == 0 {
            return Err(Error::EmptyInput);
        }
        let n = pixels as f32;
        let [entropy, confidence] = self.sums.value();
        let mut area = [0.0f32; CAP];
        for (a, &count) in area.iter_mut().zip(&self.area) {
            *a = (f64::from(count) / pixels as f64) as f32;
        }
        let mut out = LabelFree {
            pixels,
            classes: self.classes,
            entropy: entropy / n,
            confidence: confidence / n,
            area,
            consistency: None,
            consistency_iou: None,
            agreement: None,
        };
        if let Some(prev) = &self.previous {
            if prev.cursor != prev.mask.len() {
                return Err(Error::ShapeMismatch {
                    operand: Operand::Predictions,
                    expected: prev.mask.len(),
                    found: prev.cursor,
                });
            }
            if prev.compare {
                let (dice, iou, agree) = prev.consistency(&self.area, self.classes, pixels);
                out.consistency = Some(dice);
                out.consistency_iou = Some(iou);
                out.agreement = Some(agree);
            }
        }
        Ok(out)
    }
}

impl<const CAP: usize> Previous<'_, CAP> {
    fn record(&mut self, class: usize) {
        if let Some(slot) = self.mask.get_mut(self.cursor) {
            if self.compare {
                let before = usize::from(*slot);
                // A byte that is not a class (a mask never written) matches nothing.
                if let Some(a) = self.area.get_mut(before) {
                    *a = a.saturating_add(1);
                }
                if before == class
                    && let Some(b) = self.both.get_mut(class)
                {
                    *b = b.saturating_add(1);
                }
            }
            *slot = u8::try_from(class).unwrap_or(u8::MAX);
        }
        self.cursor += 1;
    }

    /// `(macro dice, macro IoU, pixel agreement)`, computed in f64 from the exact counts and
    /// rounded once, so they are the same on every target.
    fn consistency(&self, current: &[u32; CAP], classes: usize, pixels: u64) -> (f32, f32, f32) {
        let (mut dice, mut iou, mut kept, mut agree) = (0.0f64, 0.0f64, 0u32, 0u64);
        for (c, ((&now, &before), &both)) in current
            .iter()
            .zip(&self.area)
            .zip(&self.both)
            .enumerate()
            .take(classes)
        {
            agree += u64::from(both);
            if c == 0 || now + before == 0 {
                continue;
            }
            let (now, before, both) = (f64::from(now), f64::from(before), f64::from(both));
            dice += 2.0 * both / (now + before);
            iou += both / (now + before - both);
            kept += 1;
        }
        let agreement = (agree as f64 / pixels as f64) as f32;
        if kept == 0 {
            return (1.0, 1.0, agreement);
        }
        let k = f64::from(kept);
        ((dice / k) as f32, (iou / k) as f32, agreement)
    }
}

/// A NaN result for a pixel with a non-finite score.
const FAULT: (f32, f32, usize) = (f32::NAN, f32::NAN, 0);

/// The distance between two channels of a pixel in a chunk of `pixels` pixels.
const fn stride(layout: Layout, pixels: usize) -> usize {
    match layout {
        Layout::ChannelsLast => 1,
        Layout::ChannelsFirst => pixels,
    }
}

/// The index of pixel `i`'s first channel in a chunk.
const fn base(layout: Layout, i: usize, channels: usize) -> usize {
    match layout {
        Layout::ChannelsLast => i * channels,
        Layout::ChannelsFirst => i,
    }
}

/// Binary logit `x`: `e = exp(-|x|)`, `H = log1p(e) + |x| e / (1 + e)` nats, confidence
/// `1 / (1 + e)`.
fn binary_logit(x: f32) -> (f32, f32, usize) {
    if !x.is_finite() {
        return FAULT;
    }
    let a = x.abs();
    let e = libm::expf(-a);
    let h = libm::log1pf(e) + a * e / (1.0 + e);
    (
        h / core::f32::consts::LN_2,
        1.0 / (1.0 + e),
        usize::from(x >= 0.0),
    )
}

/// `-p ln p`, with `0 ln 0 = 0`.
fn plogp(p: f32) -> f32 {
    if p > 0.0 { -p * libm::logf(p) } else { 0.0 }
}

fn binary_probability(p: f32) -> (f32, f32, usize) {
    if !p.is_finite() {
        return FAULT;
    }
    let q = 1.0 - p;
    let h = plogp(p) + plogp(q);
    let fg = p >= 0.5;
    (
        h / core::f32::consts::LN_2,
        if fg { p } else { q },
        usize::from(fg),
    )
}

/// Softmax of `c` logits: with `m = max x`, `s = Σ exp(x - m)` and `t = Σ exp(x - m)(x - m)`,
/// `H = ln s - t / s` and the winner's probability is `1 / s`.
fn softmax(c: usize, x: impl Fn(usize) -> f32) -> (f32, f32, usize) {
    softmax_with(c, x, |_, d| libm::expf(d))
}

/// [`softmax`] with `exp(k, x_k - m)` giving each `exp(x_k - m)` (computed, or read from a
/// table that holds the same bits).
fn softmax_with(
    c: usize,
    x: impl Fn(usize) -> f32,
    exp: impl Fn(usize, f32) -> f32,
) -> (f32, f32, usize) {
    let (mut best, mut m) = (0, f32::NEG_INFINITY);
    for k in 0..c {
        let v = x(k);
        if !v.is_finite() {
            return FAULT;
        }
        if v > m {
            (best, m) = (k, v);
        }
    }
    let (mut s, mut t) = (0.0f32, 0.0f32);
    for k in 0..c {
        let d = x(k) - m;
        let e = exp(k, d);
        s += e;
        if e > 0.0 {
            t += e * d;
        }
    }
    let h = libm::logf(s) - t / s;
    // Rounding can leave a tiny negative entropy for a near-certain pixel.
    let h = if h < 0.0 { 0.0 } else { h };
    (h / libm::logf(c as f32), 1.0 / s, best)
}

fn probabilities(c: usize, p: impl Fn(usize) -> f32) -> (f32, f32, usize) {
    let (mut best, mut m, mut h) = (0, f32::NEG_INFINITY, 0.0f32);
    for k in 0..c {
        let v = p(k);
        if !v.is_finite() {
            return FAULT;
        }
        if v > m {
            (best, m) = (k, v);
        }
        h += plogp(v);
    }
    (h / libm::logf(c as f32), m, best)
}

/// The labelled signals of one frame ([`LabelledSignals::finish`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Labelled<const CAP: usize> {
    /// The loss, mean over every pixel × class element (MONAI's `mean`).
    pub loss: f32,
    /// Hard dice (F1) of each class; `None` when the class is neither predicted nor true.
    pub dice: [Option<f32>; CAP],
    /// Hard IoU of each class; `None` likewise.
    pub iou: [Option<f32>; CAP],
}

/// Streams a frame with labels (calibration frames, or labels that arrive later) into a
/// [`ClassLossAccumulator`] (focal loss) and a [`ConfusionAccumulator`] (dice and IoU per
/// class) at once; every chunk goes to both or, on error, to neither.
///
/// # Examples
/// ```
/// use loss_core::monitor::LabelledSignals;
/// use loss_core::multiclass::{ClassAlpha, Decision, Layout, SoftmaxFocal, Targets};
/// let focal = SoftmaxFocal::new(ClassAlpha::None, 2.0, None)?;
/// let mut s = LabelledSignals::<_, 2>::new(focal, Decision::Argmax, 2)?;
/// let labels: [u8; 2] = [0, 1];
/// s.push(Layout::ChannelsLast, &[3.0, 0.0, 0.0, 3.0], Targets::labels(&labels))?;
/// let l = s.finish()?;
/// assert_eq!(l.dice, [Some(1.0), Some(1.0)]);
/// assert!(l.loss > 0.0 && l.loss < 1e-3);
/// # Ok::<(), loss_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledSignals<L, const CAP: usize> {
    loss: ClassLossAccumulator<L, CAP>,
    confusion: ConfusionAccumulator<CAP>,
}

impl<L: ClassLoss, const CAP: usize> LabelledSignals<L, CAP> {
    /// An empty frame of `classes` classes.
    ///
    /// # Errors
    /// As [`ClassLossAccumulator::new`] and [`ConfusionAccumulator::new`].
    pub fn new(loss: L, decision: Decision, classes: usize) -> Result<Self, Error> {
        Ok(Self {
            loss: ClassLossAccumulator::new(loss, classes)?,
            confusion: ConfusionAccumulator::new(decision, classes)?,
        })
    }

    /// Adds a chunk of whole pixels with their targets.
    ///
    /// # Errors
    /// As [`ClassLossAccumulator::push`]; the frame is then unchanged.
    pub fn push(
        &mut self,
        layout: Layout,
        scores: &[f32],
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        let mut loss = self.loss;
        loss.push(layout, scores, targets)?;
        self.confusion.push(layout, scores, targets)?;
        self.loss = loss;
        Ok(())
    }

    /// Adds a chunk of quantized scores, whole pixels with their targets as for
    /// [`Self::push`]: [`ClassLossAccumulator::push_codes`] and
    /// [`ConfusionAccumulator::push_codes`], so the loss is the bits of `push` on the scores
    /// the loss reads (the softmax table's shifted scores for a softmax loss on logits
    /// quantized per tensor, else the dequantized scores; see the
    /// [`multiclass` docs](crate::multiclass#quantized-scores)) and the decisions those of the
    /// dequantized scores (argmax decides as on the shifted scores: with a per-tensor
    /// quantization both are increasing in the code).
    ///
    /// # Errors
    /// As [`ClassLossAccumulator::push_codes`]; the frame is then unchanged.
    pub fn push_codes<C: Code>(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        let mut loss = self.loss;
        loss.push_codes(layout, codes, quantization, targets)?;
        self.confusion
            .push_codes(layout, codes, quantization, targets)?;
        self.loss = loss;
        Ok(())
    }

    /// The frame's loss and per-class dice and IoU.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] before any pixel.
    pub fn finish(&self) -> Result<Labelled<CAP>, Error> {
        let mut dice = [None; CAP];
        let mut iou = [None; CAP];
        for ((d, i), counts) in dice.iter_mut().zip(&mut iou).zip(self.confusion.counts()) {
            *d = counts.metric(Metric::Dice);
            *i = counts.metric(Metric::Iou);
        }
        Ok(Labelled {
            loss: self.loss.mean_per_element()?,
            dice,
            iou,
        })
    }
}
