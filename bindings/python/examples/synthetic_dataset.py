"""Write a synthetic segmentation dataset for the scale-out measurements (docs/scale.md):
``N`` pairs of ``1 x C x S x S`` float32 logits (``.npy``) and ``1 x S x S`` uint8 label maps.

    python synthetic_dataset.py OUT N [--classes C] [--size S] [--seed SEED]

The logits favour the true class, so the numbers look like a trained model's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("n", type=int)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    (args.out / "pred").mkdir(parents=True, exist_ok=True)
    (args.out / "mask").mkdir(parents=True, exist_ok=True)
    c, s = args.classes, args.size
    for i in range(args.n):
        labels = rng.integers(0, c, size=(1, s, s), dtype=np.uint8)
        logits = rng.normal(size=(1, c, s, s)).astype(np.float32)
        np.put_along_axis(logits, labels[:, None].astype(np.int64), 2.0, axis=1)
        np.save(args.out / "pred" / f"{i:06}.npy", logits)
        np.save(args.out / "mask" / f"{i:06}.npy", labels)


if __name__ == "__main__":
    main()
