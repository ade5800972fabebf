//! loss-core's quantized binary path on arbitrary codes, masks (bytes, bools, bits) and
//! quantizations: `CodeCounts`, `QuantizedFocal`, `QuantizedOverlap`. A value or an `Error`,
//! never a panic; a failed push leaves the counts unchanged, and the counts are the tally of
//! every (code, target) pair pushed.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use loss_core::dice::OverlapLoss;
use loss_core::focal::{BinaryFocal, SigmoidFocal};
use loss_core::quantized::{Code, CodeCounts, Quantization, QuantizedFocal, QuantizedOverlap};
use loss_core::{Mask, Predictions, Reduction};

#[derive(Debug, Arbitrary)]
struct Input {
    scale: f32,
    zero_point: i32,
    alpha: Option<f32>,
    gamma: f32,
    threshold: f32,
    signed: bool,
    probabilities: bool,
    sum: bool,
    mask_kind: u8,
    bits_len: u16,
    split: u8,
    out_len: u8,
    codes: Vec<u8>,
    mask: Vec<u8>,
}

/// The target of element `i` under `mask`, if it is a valid 0/1 target.
fn target(mask: &Mask<'_>, i: usize) -> Option<bool> {
    match *mask {
        Mask::Bytes(b) => b.get(i).and_then(|&v| (v <= 1).then_some(v == 1)),
        Mask::Bools(b) => b.get(i).copied(),
        Mask::Bits { bytes, .. } => bytes.get(i / 8).map(|&b| b >> (i % 8) & 1 == 1),
    }
}

fn run<C: Code>(input: &Input, codes: &[C], to: impl Fn(u8) -> C) {
    let bools: Vec<bool> = input.mask.iter().map(|&b| b & 1 == 1).collect();
    let mask = match input.mask_kind % 3 {
        0 => Mask::bytes(&input.mask),
        1 => Mask::bools(&bools),
        _ => Mask::bits(&input.mask, usize::from(input.bits_len)),
    };
    let mut counts = CodeCounts::<C>::new();
    let mut tally = vec![[0u32; 2]; 256];
    // Two pushes: the codes split at `split` with their targets (a bit mask is pushed whole).
    let k = usize::from(input.split).min(codes.len());
    let parts: Vec<(&[C], Mask<'_>)> = match mask {
        Mask::Bytes(b) => {
            let j = k.min(b.len());
            vec![
                (&codes[..k], Mask::bytes(&b[..j])),
                (&codes[k..], Mask::bytes(&b[j..])),
            ]
        }
        Mask::Bools(b) => {
            let j = k.min(b.len());
            vec![
                (&codes[..k], Mask::bools(&b[..j])),
                (&codes[k..], Mask::bools(&b[j..])),
            ]
        }
        m => vec![(codes, m)],
    };
    for (part, sub) in parts {
        let before = counts;
        match counts.push(part, sub) {
            Ok(()) => {
                for (i, &c) in part.iter().enumerate() {
                    let t = target(&sub, i).expect("a pushed target is 0 or 1");
                    tally[usize::from(c.byte())][usize::from(t)] += 1;
                }
            }
            Err(_) => assert_eq!(counts, before, "a failed push changed the counts"),
        }
    }
    for b in 0..=255u8 {
        for t in [false, true] {
            let c = to(b);
            assert_eq!(
                counts.get(c, t),
                tally[usize::from(c.byte())][usize::from(t)]
            );
        }
    }
    let mut merged = counts;
    let before = merged;
    if merged.merge(&counts).is_err() {
        assert_eq!(merged, before);
    }
    let Ok(q) = Quantization::new(input.scale, input.zero_point) else {
        return;
    };
    let _ = counts.confusion(q, input.threshold);
    let reduction = if input.sum {
        Reduction::Sum
    } else {
        Reduction::Mean
    };
    let focal = if input.probabilities {
        BinaryFocal::new(input.alpha, input.gamma, 0.0, 1.0)
            .map(|l| QuantizedFocal::<C>::new(&l.with_reduction(reduction), q))
    } else {
        SigmoidFocal::new(input.alpha, input.gamma)
            .map(|l| QuantizedFocal::<C>::new(&l.with_reduction(reduction), q))
    };
    if let Ok(Ok(f)) = focal {
        let _ = (f.quantization(), f.loss(&counts));
        let mut out = vec![0.0f32; usize::from(input.out_len)];
        let _ = f.loss_elementwise(codes, mask, &mut out);
    }
    let predictions = if input.probabilities {
        Predictions::Probabilities
    } else {
        Predictions::Logits
    };
    for base in [OverlapLoss::dice(), OverlapLoss::jaccard()] {
        if let Ok(o) = QuantizedOverlap::<C>::new(&base.with_predictions(predictions), q) {
            let _ = (o.stats(&counts), o.loss(&counts));
        }
    }
}

fuzz_target!(|input: Input| {
    if input.signed {
        let codes: Vec<i8> = input.codes.iter().map(|&b| b as i8).collect();
        run(&input, &codes, |b| b as i8);
    } else {
        run(&input, &input.codes, |b| b);
    }
});
