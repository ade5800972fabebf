//! The multi-class accumulator: loss sums, soft statistics and confusion counts per class.

use super::*;

enum Segmentation {
    Softmax(Box<CoreSegmentation<SoftmaxFocal<'static>, CLASSES>>),
    OneVsRest(Box<CoreSegmentation<OneVsRestFocal<'static>, CLASSES>>),
}

/// Label maps as `loss-core` reads them: `uint8`, `uint16`, `int32` in place, other integer
/// dtypes converted to `int32` once (a label outside `int32` is an error).
enum Labels<'py> {
    U8(PyReadonlyArrayDyn<'py, u8>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    I32(PyReadonlyArrayDyn<'py, i32>),
    Dense(PyReadonlyArrayDyn<'py, f32>),
}

fn labels<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Labels<'py>> {
    if obj.cast::<PyArrayDyn<u8>>().is_ok() {
        return Ok(Labels::U8(contiguous(obj, "targets")?));
    }
    if obj.cast::<PyArrayDyn<u16>>().is_ok() {
        return Ok(Labels::U16(contiguous(obj, "targets")?));
    }
    match kind(obj) {
        Some(b'i' | b'u') => {
            if obj.cast::<PyArrayDyn<i32>>().is_err() {
                let wide = contiguous::<i64>(obj, "targets")?;
                if let Some((i, v)) = slice(&wide)?
                    .iter()
                    .enumerate()
                    .find(|(_, v)| i32::try_from(**v).is_err())
                {
                    return Err(err(Error::LabelOutOfRange {
                        index: i,
                        label: i32::try_from(*v).unwrap_or(i32::MAX),
                    }));
                }
            }
            Ok(Labels::I32(contiguous(obj, "targets")?))
        }
        _ => Ok(Labels::Dense(contiguous(obj, "targets")?)),
    }
}

macro_rules! with_labels {
    ($labels:expr, $ignore:expr, |$t:ident| $body:expr) => {{
        let ignore: Option<i32> = $ignore;
        fn add(t: Targets<'_>, ignore: Option<i32>) -> Targets<'_> {
            match ignore {
                Some(i) => t.with_ignore_index(i),
                None => t,
            }
        }
        match &$labels {
            Labels::U8(a) => {
                let $t = add(Targets::labels(slice(a)?), ignore);
                $body
            }
            Labels::U16(a) => {
                let $t = add(Targets::labels(slice(a)?), ignore);
                $body
            }
            Labels::I32(a) => {
                let $t = add(Targets::labels(slice(a)?), ignore);
                $body
            }
            Labels::Dense(a) => {
                let $t = add(Targets::dense(slice(a)?), ignore);
                $body
            }
        }
    }};
}

/// Per-class loss sums, soft overlap statistics and confusion counts of a multi-class
/// segmentation, streamed in chunks of whole pixels of one sample
/// (`loss_core::multiclass::SegmentationAccumulator`, up to 64 classes).
#[pyclass(module = "loss_core")]
pub struct SegmentationAccumulator {
    inner: Segmentation,
}

#[pymethods]
impl SegmentationAccumulator {
    /// `loss`: `"softmax_focal"`, `"one_vs_rest_focal"` or `None`; `alpha` a scalar
    /// (`alpha_spread`: `"background"` gives `[1 - a, a, …]`, `"uniform"` `a` everywhere);
    /// `activation` of the overlap statistics: `"softmax"`, `"sigmoid"`, `"tanh"` or `"none"`;
    /// `decision`: `"argmax"` or a threshold.
    #[new]
    #[pyo3(
        signature = (classes, loss=Some("softmax_focal"), gamma=2.0, alpha=None, alpha_spread="background", predictions="logits", activation="softmax", squared=false, decision=None),
        text_signature = "(classes, loss='softmax_focal', gamma=2.0, alpha=None, alpha_spread='background', predictions='logits', activation='softmax', squared=False, decision=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        classes: usize,
        loss: Option<&str>,
        gamma: f32,
        alpha: Option<f32>,
        alpha_spread: &str,
        predictions: &str,
        activation: &str,
        squared: bool,
        decision: Option<f32>,
    ) -> PyResult<Self> {
        let alpha = match (alpha, alpha_spread) {
            (None, _) => ClassAlpha::None,
            (Some(a), "background") => ClassAlpha::Background(a),
            (Some(a), "uniform") => ClassAlpha::Uniform(a),
            (_, other) => {
                return Err(value_error(format!(
                    "alpha_spread `{other}` is not \"background\" or \"uniform\""
                )));
            }
        };
        let overlap = ClassOverlap {
            activation: match activation {
                "softmax" => Activation::Softmax,
                "sigmoid" => Activation::Sigmoid,
                "tanh" => Activation::Tanh,
                "none" => Activation::None,
                other => {
                    return Err(value_error(format!(
                        "activation `{other}` is not \"softmax\", \"sigmoid\", \"tanh\" or \"none\""
                    )));
                }
            },
            squared,
            ..ClassOverlap::default()
        };
        let decision = decision.map_or(Decision::Argmax, Decision::Threshold);
        let predictions = self::predictions(predictions)?;
        let inner = match loss {
            Some("softmax_focal") | None => {
                let focal = match loss {
                    Some(_) => Some(
                        SoftmaxFocal::new(alpha, gamma, None)
                            .map_err(err)?
                            .with_predictions(predictions),
                    ),
                    None => None,
                };
                Segmentation::Softmax(Box::new(
                    CoreSegmentation::new(focal, overlap, decision, classes).map_err(err)?,
                ))
            }
            Some("one_vs_rest_focal") => {
                let focal = OneVsRestFocal::new(alpha, gamma, None).map_err(err)?;
                Segmentation::OneVsRest(Box::new(
                    CoreSegmentation::new(Some(focal), overlap, decision, classes).map_err(err)?,
                ))
            }
            Some(other) => {
                return Err(value_error(format!(
                    "loss `{other}` is not \"softmax_focal\", \"one_vs_rest_focal\" or None"
                )));
            }
        };
        Ok(Self { inner })
    }

    /// Adds whole pixels of one sample: `scores` (`C` planes, or `C` scores per pixel with
    /// `layout="channels_last"`) and `targets` (a label map, or dense like the scores).
    #[pyo3(signature = (scores, targets, layout="channels_first", ignore_index=None))]
    fn push(
        &mut self,
        py: Python<'_>,
        scores: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
        layout: &str,
        ignore_index: Option<i32>,
    ) -> PyResult<()> {
        let layout = self::layout(layout)?;
        let s = contiguous::<f32>(scores, "scores")?;
        let s = slice(&s)?;
        let l = labels(targets)?;
        let inner = &mut self.inner;
        with_labels!(l, ignore_index, |t| py
            .detach(|| match inner {
                Segmentation::Softmax(a) => a.push(layout, s, t),
                Segmentation::OneVsRest(a) => a.push(layout, s, t),
            })
            .map_err(err))
    }

    /// Adds whole pixels of quantized scores: `int8` or `uint8` codes with a scale and zero
    /// point (scalars for the tensor, or one per class).
    #[pyo3(signature = (codes, targets, scale, zero_point, layout="channels_first", ignore_index=None))]
    #[allow(clippy::too_many_arguments)]
    fn push_codes(
        &mut self,
        py: Python<'_>,
        codes: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
        scale: &Bound<'_, PyAny>,
        zero_point: &Bound<'_, PyAny>,
        layout: &str,
        ignore_index: Option<i32>,
    ) -> PyResult<()> {
        let layout = self::layout(layout)?;
        let q = quantizations(scale, zero_point)?;
        let l = labels(targets)?;
        let inner = &mut self.inner;
        match kind(codes) {
            Some(b'i') if codes.cast::<PyArrayDyn<i8>>().is_ok() => {
                let c = contiguous::<i8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<i8>(&q)?;
                with_labels!(l, ignore_index, |t| py
                    .detach(|| match inner {
                        Segmentation::Softmax(a) => a.push_codes(layout, c, &q, t),
                        Segmentation::OneVsRest(a) => a.push_codes(layout, c, &q, t),
                    })
                    .map_err(err))
            }
            Some(b'u') if is_u8(codes) => {
                let c = contiguous::<u8>(codes, "codes")?;
                let c = slice(&c)?;
                let q = class_quantization::<u8>(&q)?;
                with_labels!(l, ignore_index, |t| py
                    .detach(|| match inner {
                        Segmentation::Softmax(a) => a.push_codes(layout, c, &q, t),
                        Segmentation::OneVsRest(a) => a.push_codes(layout, c, &q, t),
                    })
                    .map_err(err))
            }
            _ => Err(value_error("codes must be an int8 or uint8 array")),
        }
    }

    /// Pixels accumulated (ignored pixels excluded).
    #[getter]
    fn pixels(&self) -> u64 {
        match &self.inner {
            Segmentation::Softmax(a) => a.pixels(),
            Segmentation::OneVsRest(a) => a.pixels(),
        }
    }

    /// The loss summed per class.
    fn class_sums<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let mut out = vec![0.0f32; self.classes()];
        match &self.inner {
            Segmentation::Softmax(a) => a.class_sums(&mut out),
            Segmentation::OneVsRest(a) => a.class_sums(&mut out),
        }
        .map_err(err)?;
        Ok(vector(py, out))
    }

    /// The loss summed over classes and pixels.
    fn loss_total(&self) -> PyResult<f32> {
        match &self.inner {
            Segmentation::Softmax(a) => a.loss_total(),
            Segmentation::OneVsRest(a) => a.loss_total(),
        }
        .map_err(err)
    }

    /// The mean over every `pixel × class` term (MONAI, kornia `mean`).
    fn loss_mean_per_element(&self) -> PyResult<f32> {
        match &self.inner {
            Segmentation::Softmax(a) => a.loss_mean_per_element(),
            Segmentation::OneVsRest(a) => a.loss_mean_per_element(),
        }
        .map_err(err)
    }

    /// The mean over pixels (Keras, cross-entropy).
    fn loss_mean_per_pixel(&self) -> PyResult<f32> {
        match &self.inner {
            Segmentation::Softmax(a) => a.loss_mean_per_pixel(),
            Segmentation::OneVsRest(a) => a.loss_mean_per_pixel(),
        }
        .map_err(err)
    }

    /// Per-class soft statistics, a `(C, 3)` float32 array: intersection, prediction sum,
    /// target sum.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let classes = self.classes();
        let mut out = vec![OverlapStats::default(); classes];
        match &self.inner {
            Segmentation::Softmax(a) => a.stats(&mut out),
            Segmentation::OneVsRest(a) => a.stats(&mut out),
        }
        .map_err(err)?;
        let flat: Vec<f32> = out
            .iter()
            .flat_map(|s| [s.intersection, s.prediction_sum, s.target_sum])
            .collect();
        Ok(vector(py, flat).reshape([classes, 3])?.into_any())
    }

    /// Per-class confusion counts, a `(C, 4)` uint64 array: true positives, false
    /// positives, false negatives, true negatives.
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let counts = match &self.inner {
            Segmentation::Softmax(a) => a.counts(),
            Segmentation::OneVsRest(a) => a.counts(),
        };
        let flat: Vec<u64> = counts
            .iter()
            .flat_map(|c| {
                [
                    c.true_positives,
                    c.false_positives,
                    c.false_negatives,
                    c.true_negatives,
                ]
            })
            .collect();
        Ok(PyArray1::from_vec(py, flat)
            .reshape([counts.len(), 4])?
            .into_any())
    }

    /// Per-class metrics of the confusion counts, float32 arrays of `C` values (NaN where the
    /// denominator is zero): `dice`, `iou`, `precision`, `recall`, `specificity`.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use loss_core::multiclass::Metric;
        let counts = match &self.inner {
            Segmentation::Softmax(a) => a.counts(),
            Segmentation::OneVsRest(a) => a.counts(),
        };
        let d = PyDict::new(py);
        for (name, metric) in [
            ("dice", Metric::Dice),
            ("iou", Metric::Iou),
            ("precision", Metric::Precision),
            ("recall", Metric::Recall),
            ("specificity", Metric::Specificity),
        ] {
            let values = counts
                .iter()
                .map(|c| c.metric(metric).unwrap_or(f32::NAN))
                .collect();
            d.set_item(name, vector(py, values))?;
        }
        Ok(d)
    }

    /// Classes.
    #[getter]
    fn classes(&self) -> usize {
        match &self.inner {
            Segmentation::Softmax(a) => a.classes(),
            Segmentation::OneVsRest(a) => a.classes(),
        }
    }

    /// Forgets everything pushed.
    fn reset(&mut self) {
        match &mut self.inner {
            Segmentation::Softmax(a) => a.reset(),
            Segmentation::OneVsRest(a) => a.reset(),
        }
    }
}
