//! The evaluator of the quantized cases ([`Spec::Quantized`](crate::Spec::Quantized)): codes
//! and masks are rebuilt from the case's f32 slices into fixed buffers, then run through
//! `loss_core::quantized` as `op` says.

use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::quantized::{
    Code, CodeCounts, Mask, Quantization, QuantizedFocal, QuantizedOverlap,
};
use loss_core::{Error, Reduction};

use crate::eval::{Words, build_overlap, chunk_plan};
use crate::{CodeKind, MAX_CODES, MaskKind, Op, QuantLoss, REJECTED};

/// A case's codes and mask in the types `loss-core` takes.
struct QuantData {
    len: usize,
    i8s: [i8; MAX_CODES],
    u8s: [u8; MAX_CODES],
    bytes: [u8; MAX_CODES],
    bools: [bool; MAX_CODES],
    bits: [u8; MAX_CODES / 8],
}

impl QuantData {
    fn new(predictions: &[f32], targets: &[f32]) -> Self {
        let mut d = Self {
            len: predictions.len().min(targets.len()).min(MAX_CODES),
            i8s: [0; MAX_CODES],
            u8s: [0; MAX_CODES],
            bytes: [0; MAX_CODES],
            bools: [false; MAX_CODES],
            bits: [0; MAX_CODES / 8],
        };
        let pairs = predictions.iter().zip(targets).take(MAX_CODES).enumerate();
        for (i, (&code, &t)) in pairs {
            // The codes are small integers, exact in f32; `as` wraps them to their type.
            d.i8s[i] = code as i32 as i8;
            d.u8s[i] = code as i32 as u8;
            d.bytes[i] = t as u8;
            d.bools[i] = t != 0.0;
            d.bits[i / 8] |= (t as u8 & 1) << (i % 8);
        }
        d
    }

    /// The mask of elements `start..start + len` (a bit mask must start on a whole byte).
    fn mask(&self, kind: MaskKind, start: usize, len: usize) -> Mask<'_> {
        let end = start.saturating_add(len).min(self.len);
        let start = start.min(end);
        match kind {
            MaskKind::Bytes => Mask::bytes(self.bytes.get(start..end).unwrap_or(&[])),
            MaskKind::Bools => Mask::bools(self.bools.get(start..end).unwrap_or(&[])),
            MaskKind::Bits => Mask::bits(
                self.bits.get(start / 8..end.div_ceil(8)).unwrap_or(&[]),
                end - start,
            ),
        }
    }
}

/// Runs one quantized case.
#[expect(
    clippy::too_many_arguments,
    reason = "the fields of Spec::Quantized and the evaluator's arguments, passed through"
)]
pub(crate) fn run_quantized(
    loss: QuantLoss,
    scale: f32,
    zero_point: i32,
    code: CodeKind,
    mask: MaskKind,
    op: &Op,
    predictions: &[f32],
    targets: &[f32],
    scratch: &mut [f32],
    out: &mut Words<'_>,
) -> Result<(), Error> {
    let q = Quantization::new(scale, zero_point)?;
    let data = QuantData::new(predictions, targets);
    let run = Run {
        loss,
        q,
        mask,
        data: &data,
    };
    match code {
        CodeKind::I8 => run.go(data.i8s.get(..data.len).unwrap_or(&[]), op, scratch, out),
        CodeKind::U8 => run.go(data.u8s.get(..data.len).unwrap_or(&[]), op, scratch, out),
    }
}

/// One case's settings.
struct Run<'a> {
    loss: QuantLoss,
    q: Quantization,
    mask: MaskKind,
    data: &'a QuantData,
}

/// The quantized losses a case builds.
#[expect(
    clippy::large_enum_variant,
    reason = "built once per case on the stack; no heap to box into"
)]
enum Built<C> {
    Focal(QuantizedFocal<C>),
    Overlap(QuantizedOverlap<C>),
    Confusion(f32),
}

impl Run<'_> {
    fn build<C: Code>(&self, reduction: Reduction) -> Result<Built<C>, Error> {
        Ok(match self.loss {
            QuantLoss::Focal { alpha, gamma } => {
                let loss = SigmoidFocal::new(alpha, gamma)?.with_reduction(reduction);
                Built::Focal(QuantizedFocal::new(&loss, self.q)?)
            }
            QuantLoss::Seed => Built::Focal(QuantizedFocal::new(
                &BinaryFocal::seed().with_reduction(reduction),
                self.q,
            )?),
            QuantLoss::Overlap {
                base,
                squared,
                predictions,
            } => Built::Overlap(QuantizedOverlap::new(
                &build_overlap(base, None, squared, predictions)?,
                self.q,
            )?),
            QuantLoss::Confusion { threshold } => Built::Confusion(threshold),
        })
    }

    /// Everything a built loss reports on `counts`.
    fn report<C: Code>(
        &self,
        built: &Built<C>,
        counts: &CodeCounts<C>,
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        match built {
            Built::Focal(focal) => out.float(focal.loss(counts)?),
            Built::Overlap(overlap) => {
                let s = overlap.stats(counts)?;
                out.float(s.intersection);
                out.float(s.prediction_sum);
                out.float(s.target_sum);
                out.word(s.count as u32);
                out.float(overlap.loss(counts)?);
            }
            Built::Confusion(threshold) => {
                let k = counts.confusion(self.q, *threshold)?;
                for n in [
                    k.true_positives,
                    k.false_positives,
                    k.false_negatives,
                    k.true_negatives,
                ] {
                    out.word(n as u32);
                }
            }
        }
        Ok(())
    }

    fn go<C: Code>(
        &self,
        codes: &[C],
        op: &Op,
        scratch: &mut [f32],
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        match *op {
            Op::Loss(reduction) => {
                let built = self.build::<C>(reduction)?;
                let mut counts = CodeCounts::new();
                counts.push(codes, self.data.mask(self.mask, 0, codes.len()))?;
                self.report(&built, &counts, out)?;
            }
            Op::Elementwise { capacity } => {
                let Built::Focal(focal) = self.build::<C>(Reduction::Mean)? else {
                    return Err(Error::InvalidParameter("op"));
                };
                let buf = scratch.get_mut(..capacity).unwrap_or(&mut []);
                focal.loss_elementwise(codes, self.data.mask(self.mask, 0, codes.len()), buf)?;
                for &v in buf.iter().take(codes.len()) {
                    out.float(v);
                }
            }
            Op::Stream { chunks, reduction } => {
                let built = self.build::<C>(reduction)?;
                let mut counts = CodeCounts::new();
                for (start, len) in chunk_plan(chunks, codes.len()) {
                    if len == usize::MAX {
                        // One code against an empty mask: rejected, the counts unchanged.
                        let before = counts;
                        let one = codes.get(start..start + 1).unwrap_or(&[]);
                        let bad = counts.push(one, self.data.mask(self.mask, start, 0));
                        out.word(if bad.is_err() && counts == before {
                            REJECTED
                        } else {
                            0
                        });
                        continue;
                    }
                    let chunk = codes.get(start..start + len).unwrap_or(&[]);
                    counts.push(chunk, self.data.mask(self.mask, start, len))?;
                    if counts.count() > 0 {
                        self.report(&built, &counts, out)?;
                    }
                }
                out.word(counts.count() as u32);
            }
            _ => return Err(Error::InvalidParameter("op")),
        }
        Ok(())
    }
}
