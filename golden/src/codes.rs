//! The evaluator of the quantized multi-class cases ([`Spec::MultiCodes`]): the codes are
//! rebuilt from the case's f32 slice into a fixed buffer of their type, the quantization is
//! built through the public constructors, and one accumulator takes the codes by `push_codes`
//! as `op` says.
//!
//! Output words: for [`Op::Stream`] a progress report after every push (the focal losses: the
//! running `mean_per_element`; the statistics: the pixels so far; confusion: nothing) and
//! [`REJECTED`] for every rejected push, then for every op the final report (the focal losses:
//! total, `mean_per_pixel`, pixels and the class sums; the statistics: per class
//! `[tp, P, T, count]`, then the class reduction and the per-class losses; confusion: the
//! counts and metrics of every class and their macro averages). [`Op::Loss`] pushes one sample
//! at a time, so a stream ends on the words of its one-shot twin.

use loss_core::dice::{OverlapLoss, OverlapStats};
use loss_core::multiclass::{
    ClassLoss, ClassLossAccumulator, ClassReduction, ClassStatsAccumulator, ConfusionAccumulator,
    Layout, OneVsRestFocal, Shape, SoftmaxFocal, Targets,
};
use loss_core::quantized::{ClassQuantization, Code, Quantization};
use loss_core::{Error, Predictions};

use crate::eval::{
    MultiData, Words, chunk_plan, confusion_words, overlap_loss, reduced_words, stats_words,
};
use crate::{ClassScales, CodeKind, MAX_CODES, MULTI_CAP, MultiLoss, Op, REJECTED, Spec};

/// A code type, read from a case's `f32` value (a small integer, exact in `f32`; `as` wraps it
/// to the type).
trait FromValue: Code + Default {
    fn from_value(v: f32) -> Self;
}

impl FromValue for i8 {
    fn from_value(v: f32) -> Self {
        v as i32 as Self
    }
}

impl FromValue for u8 {
    fn from_value(v: f32) -> Self {
        v as i32 as Self
    }
}

/// Runs one quantized multi-class case (in a frame of its own: the codes, the targets and the
/// quantization's 2 KiB softmax table exist only while it runs; the M0 has 16 KiB of RAM).
#[inline(never)]
pub(crate) fn run_codes(
    spec: &Spec,
    op: &Op,
    predictions: &[f32],
    targets: &[f32],
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    let Spec::MultiCodes {
        loss,
        batch,
        classes,
        spatial,
        layout,
        labels,
        ignore,
        code,
        scales,
    } = *spec
    else {
        return Err(Error::InvalidParameter("spec"));
    };
    let case = Case {
        loss,
        shape: Shape::new(batch, classes, spatial, layout)?,
        data: &MultiData::new(labels, ignore, targets, classes),
        scales,
        op,
    };
    match code {
        CodeKind::I8 => case.run::<i8>(predictions, scratch, out),
        CodeKind::U8 => case.run::<u8>(predictions, scratch, out),
    }
}

/// One case's settings.
struct Case<'a> {
    loss: MultiLoss,
    shape: Shape,
    data: &'a MultiData<'a>,
    scales: ClassScales,
    op: &'a Op,
}

impl Case<'_> {
    /// Builds the codes, the quantization and the case's accumulator, and drives it.
    #[inline(never)]
    fn run<C: FromValue>(
        &self,
        predictions: &[f32],
        scratch: &mut [f32],
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        let mut codes = [C::default(); MAX_CODES];
        for (q, &v) in codes.iter_mut().zip(predictions) {
            *q = C::from_value(v);
        }
        let codes = codes.get(..predictions.len()).unwrap_or(&codes);
        let one = Quantization::new(1.0, 0)?;
        let mut list = [one; MULTI_CAP];
        let quantization = match self.scales {
            ClassScales::Tensor { scale, zero_point } => {
                ClassQuantization::per_tensor(Quantization::new(scale, zero_point)?)?
            }
            ClassScales::Class(pairs) => {
                if pairs.len() > MULTI_CAP {
                    return Err(Error::InvalidParameter("quantization"));
                }
                for (q, &(scale, zero_point)) in list.iter_mut().zip(pairs) {
                    *q = Quantization::new(scale, zero_point)?;
                }
                ClassQuantization::per_class(list.get(..pairs.len()).unwrap_or(&[]))?
            }
        };
        let c = self.shape.classes();
        let run = Run {
            case: self,
            codes,
            quantization: &quantization,
        };
        match self.loss {
            MultiLoss::Softmax {
                gamma,
                alpha,
                weights,
            } => run.drive(
                ClassLossAccumulator::<_, MULTI_CAP>::new(
                    SoftmaxFocal::new(alpha, gamma, weights)?,
                    c,
                )?,
                scratch,
                out,
            ),
            MultiLoss::SoftmaxOnProbabilities {
                gamma,
                alpha,
                weights,
            } => run.drive(
                ClassLossAccumulator::<_, MULTI_CAP>::new(
                    SoftmaxFocal::new(alpha, gamma, weights)?
                        .with_predictions(Predictions::Probabilities),
                    c,
                )?,
                scratch,
                out,
            ),
            MultiLoss::OneVsRest {
                gamma,
                alpha,
                weights,
                soft,
            } => run.drive(
                ClassLossAccumulator::<_, MULTI_CAP>::new(
                    OneVsRestFocal::new(alpha, gamma, weights)?.with_soft_targets(soft),
                    c,
                )?,
                scratch,
                out,
            ),
            MultiLoss::Overlap {
                overlap,
                base,
                reduction,
            } => run.drive(
                Stats {
                    acc: ClassStatsAccumulator::new(overlap, c)?,
                    classes: c,
                    loss: overlap_loss(base)?,
                    reduction,
                },
                scratch,
                out,
            ),
            MultiLoss::Confusion { decision } => {
                run.drive(ConfusionAccumulator::new(decision, c)?, scratch, out)
            }
            // Generalized dice reads the statistics of `Overlap`; no case needs it on codes.
            MultiLoss::GeneralizedDice { .. } => Err(Error::InvalidParameter("op")),
        }
    }
}

/// A case with its codes and quantization.
struct Run<'a, 'q, C> {
    case: &'a Case<'a>,
    codes: &'a [C],
    quantization: &'a ClassQuantization<'q, C>,
}

impl<C: Code> Run<'_, '_, C> {
    /// Pushes the codes as the case's op says, then reports.
    #[inline(never)]
    fn drive<A: Accumulator<C>>(
        &self,
        mut acc: A,
        scratch: &mut [f32],
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        let shape = &self.case.shape;
        let (c, spatial, layout) = (shape.classes(), shape.spatial(), shape.layout());
        let data = self.case.data;
        match *self.case.op {
            // One sample at a time (a channels-first chunk is whole planes of one sample).
            Op::Loss(_) => {
                for n in 0..shape.batch() {
                    let codes = self.codes.get(n * c * spatial..(n + 1) * c * spatial);
                    let targets = data.targets(n * spatial, spatial);
                    acc.push(layout, codes.unwrap_or(&[]), self.quantization, targets)?;
                }
            }
            // Chunks of pixels across samples: channels-last only.
            Op::Stream { chunks, .. } if layout == Layout::ChannelsLast => {
                for (start, len) in chunk_plan(chunks, shape.pixels()) {
                    if len == usize::MAX {
                        // One code of a pixel of `c`: not whole pixels, rejected unchanged.
                        let before = acc;
                        let one = self.codes.get(start * c..start * c + 1).unwrap_or(&[]);
                        let bad = acc.push(layout, one, self.quantization, data.targets(start, 1));
                        out.word(if bad.is_err() && acc == before {
                            REJECTED
                        } else {
                            0
                        });
                        continue;
                    }
                    let codes = self.codes.get(start * c..(start + len) * c);
                    let targets = data.targets(start, len);
                    acc.push(layout, codes.unwrap_or(&[]), self.quantization, targets)?;
                    acc.progress(out)?;
                }
            }
            _ => return Err(Error::InvalidParameter("op")),
        }
        acc.report(out, scratch)
    }
}

/// What a codes case drives: one of the multi-class accumulators.
trait Accumulator<C: Code>: Copy + PartialEq {
    fn push(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error>;
    /// The words after each push of a stream.
    fn progress(&self, out: &mut Words<'_>) -> Result<(), Error>;
    /// The final words.
    fn report(&self, out: &mut Words<'_>, scratch: &mut [f32]) -> Result<(), Error>;
}

impl<C: Code, L: ClassLoss + Copy + PartialEq> Accumulator<C>
    for ClassLossAccumulator<L, MULTI_CAP>
{
    fn push(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        self.push_codes(layout, codes, quantization, targets)
    }

    fn progress(&self, out: &mut Words<'_>) -> Result<(), Error> {
        if self.pixels() > 0 {
            out.float(self.mean_per_element()?);
        }
        Ok(())
    }

    fn report(&self, out: &mut Words<'_>, scratch: &mut [f32]) -> Result<(), Error> {
        out.float(self.total());
        out.float(self.mean_per_pixel()?);
        out.word(self.pixels() as u32);
        let buf = scratch.get_mut(..self.classes()).unwrap_or(&mut []);
        self.class_sums(buf)?;
        for &v in buf.iter() {
            out.float(v);
        }
        Ok(())
    }
}

/// Per-class statistics with the loss and class reduction that read them.
#[derive(Clone, Copy, PartialEq)]
struct Stats {
    acc: ClassStatsAccumulator<MULTI_CAP>,
    classes: usize,
    loss: OverlapLoss,
    reduction: ClassReduction<'static>,
}

impl<C: Code> Accumulator<C> for Stats {
    fn push(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        self.acc.push_codes(layout, codes, quantization, targets)
    }

    fn progress(&self, out: &mut Words<'_>) -> Result<(), Error> {
        out.word(self.acc.pixels() as u32);
        Ok(())
    }

    fn report(&self, out: &mut Words<'_>, scratch: &mut [f32]) -> Result<(), Error> {
        let mut stats = [OverlapStats::default(); MULTI_CAP];
        self.acc.stats(&mut stats)?;
        let c = self.classes;
        let stats = stats.get(..c).unwrap_or(&[]);
        stats_words(out, stats);
        reduced_words(out, &self.reduction, &self.loss, stats, c, scratch)
    }
}

impl<C: Code> Accumulator<C> for ConfusionAccumulator<MULTI_CAP> {
    fn push(
        &mut self,
        layout: Layout,
        codes: &[C],
        quantization: &ClassQuantization<'_, C>,
        targets: Targets<'_>,
    ) -> Result<(), Error> {
        self.push_codes(layout, codes, quantization, targets)
    }

    fn progress(&self, _: &mut Words<'_>) -> Result<(), Error> {
        Ok(())
    }

    fn report(&self, out: &mut Words<'_>, _: &mut [f32]) -> Result<(), Error> {
        confusion_words(out, self.counts());
        Ok(())
    }
}
