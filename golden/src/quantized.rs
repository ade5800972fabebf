//! The evaluator of the quantized cases ([`Spec::Quantized`](crate::Spec::Quantized)): codes
//! and masks are rebuilt from the case's f32 slices into fixed buffers, then run through
//! `loss_core::quantized` as `op` says.

use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::quantized::{Code, CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::{ElementLoss, Error, Mask, Reduction};

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

/// Runs one quantized case (in a frame of its own: its buffers exist only while it runs).
#[inline(never)]
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

/// What a case reports on a frame's counts.
type Report<'r, C> = dyn Fn(&CodeCounts<C>, &mut Words<'_>) -> Result<(), Error> + 'r;

/// One case's settings.
struct Run<'a> {
    loss: QuantLoss,
    q: Quantization,
    mask: MaskKind,
    data: &'a QuantData,
}

impl Run<'_> {
    /// Builds the case's loss, then drives it: each loss is built in its own arm and used
    /// there (its table is the largest thing on the stack; the M0 has 16 KiB of RAM).
    // Not inlined, nor are the arms: each keeps its 2 KiB table in a frame of its own, so only
    // one is on the stack at a time (the M0 has 16 KiB of RAM).
    #[inline(never)]
    fn go<C: Code>(
        &self,
        codes: &[C],
        op: &Op,
        scratch: &mut [f32],
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        let reduction = match *op {
            Op::Loss(r) | Op::Stream { reduction: r, .. } => r,
            _ => Reduction::Mean,
        };
        match self.loss {
            QuantLoss::Focal { alpha, gamma } => {
                let loss = SigmoidFocal::new(alpha, gamma)?.with_reduction(reduction);
                self.focal_case(&loss, codes, op, scratch, out)
            }
            QuantLoss::Seed => {
                let loss = BinaryFocal::seed().with_reduction(reduction);
                self.focal_case(&loss, codes, op, scratch, out)
            }
            QuantLoss::Overlap {
                base,
                squared,
                predictions,
            } => self.overlap_case(
                &build_overlap(base, None, squared, predictions)?,
                codes,
                op,
                out,
            ),
            QuantLoss::Confusion { threshold } => self.drive(codes, op, out, &|counts, out| {
                let k = counts.confusion(self.q, threshold)?;
                for n in [
                    k.true_positives,
                    k.false_positives,
                    k.false_negatives,
                    k.true_negatives,
                ] {
                    out.word(n as u32);
                }
                Ok(())
            }),
        }
    }

    #[inline(never)]
    fn focal_case<C: Code, L: ElementLoss>(
        &self,
        loss: &L,
        codes: &[C],
        op: &Op,
        scratch: &mut [f32],
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        let focal = QuantizedFocal::new(loss, self.q)?;
        self.drive_focal(&focal, codes, op, scratch, out)
    }

    #[inline(never)]
    fn overlap_case<C: Code>(
        &self,
        loss: &loss_core::dice::OverlapLoss,
        codes: &[C],
        op: &Op,
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        let overlap = QuantizedOverlap::new(loss, self.q)?;
        self.drive(codes, op, out, &|counts, out| {
            let s = overlap.stats(counts)?;
            out.float(s.intersection);
            out.float(s.prediction_sum);
            out.float(s.target_sum);
            out.word(s.count as u32);
            out.float(overlap.loss(counts)?);
            Ok(())
        })
    }

    fn drive_focal<C: Code>(
        &self,
        focal: &QuantizedFocal<C>,
        codes: &[C],
        op: &Op,
        scratch: &mut [f32],
        out: &mut Words<'_>,
    ) -> Result<(), Error> {
        if let Op::Elementwise { capacity } = *op {
            let buf = scratch.get_mut(..capacity).unwrap_or(&mut []);
            focal.loss_elementwise(codes, self.data.mask(self.mask, 0, codes.len()), buf)?;
            for &v in buf.iter().take(codes.len()) {
                out.float(v);
            }
            return Ok(());
        }
        self.drive(codes, op, out, &|counts, out| {
            out.float(focal.loss(counts)?);
            Ok(())
        })
    }

    /// Counts the codes as `op` says (at once, or tile by tile reporting after each tile) and
    /// reports with `report`.
    #[inline(never)]
    fn drive<C: Code>(
        &self,
        codes: &[C],
        op: &Op,
        out: &mut Words<'_>,
        // `dyn`: one copy of the drive per code type, not one per loss (the M0's flash).
        report: &Report<'_, C>,
    ) -> Result<(), Error> {
        let mut counts = CodeCounts::new();
        match *op {
            Op::Loss(_) => {
                counts.push(codes, self.data.mask(self.mask, 0, codes.len()))?;
                report(&counts, out)
            }
            Op::Stream { chunks, .. } => {
                for (start, len) in chunk_plan(chunks, codes.len()) {
                    if len == usize::MAX {
                        // One code against an empty mask: rejected, its bins and the count
                        // unchanged.
                        let one = codes.get(start..start + 1).unwrap_or(&[]);
                        let seen = |counts: &CodeCounts<C>| {
                            one.first().map_or((counts.count(), 0, 0), |&c| {
                                (counts.count(), counts.get(c, false), counts.get(c, true))
                            })
                        };
                        let before = seen(&counts);
                        let bad = counts.push(one, self.data.mask(self.mask, start, 0));
                        let kept = bad.is_err() && seen(&counts) == before;
                        out.word(if kept { REJECTED } else { 0 });
                        continue;
                    }
                    let chunk = codes.get(start..start + len).unwrap_or(&[]);
                    counts.push(chunk, self.data.mask(self.mask, start, len))?;
                    if counts.count() > 0 {
                        report(&counts, out)?;
                    }
                }
                out.word(counts.count() as u32);
                Ok(())
            }
            _ => Err(Error::InvalidParameter("op")),
        }
    }
}
