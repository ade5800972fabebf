#!/usr/bin/env python3
"""Host speed of loss-core against torchvision and MONAI on the same 4,194,304 elements.

One thread on both sides. The Rust side is `loss-core/examples/host_speed.rs`, run with
`cargo run --release`; it generates a fixed-seed 2048 x 2048 map, times its cases (median of
several runs) and writes the data it used, which this script loads and gives to the frameworks:

    f32 binary focal   SigmoidFocal::torchvision(), mean
                       vs torchvision.ops.sigmoid_focal_loss(x, t, reduction="mean")
    dice on logits     OverlapLoss::dice().with_predictions(Predictions::Logits)
                       vs monai.losses.DiceLoss(sigmoid=True) on (1, 1, 2048, 2048) tensors
    int8 focal         CodeCounts::<i8>::push (byte mask) + QuantizedFocal::<i8>::loss (mean),
                       the per-code table built once outside the timed part,
                       vs torchvision.ops.sigmoid_focal_loss on the f32 logits

It installs nothing. The frameworks come from PyPI's default index, in a virtual environment
outside the repository (the wheels are large):

    python3 -m venv ../venv && ../venv/bin/pip install torch torchvision monai
    ../venv/bin/python scripts/bench_frameworks.py [--rounds 5] [--runs 5]

The Rust side is built as cargo builds it by default (x86-64: SSE2). RUSTFLAGS and
CARGO_TARGET_DIR are passed through, e.g. RUSTFLAGS="-C target-cpu=native" for AVX2 (the same
bits: Rust never fuses a multiply and an add).

The two sides alternate in rounds (loss-core, then the frameworks), so that each ratio
compares times taken seconds apart. It prints the table of docs/performance.md: both sides'
ns per element (the thread's CPU time: medians over the rounds, and the best round) and the
ratio framework / loss-core (above 1: loss-core is faster): its median and range over the
rounds, and the ratio of the best rounds; plus both loss values, which must agree (to float32
rounding; the int8 loss is on the quantized logits, so it differs a little); then every case
per round, CPU and wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDE = 2048
N = SIDE * SIDE


def rust_side(runs: int, data_dir: str | None) -> dict[str, dict[str, float]]:
    """Runs the example (writing its data to `data_dir` if given); returns
    {case: {wall_ns, cpu_ns, ms, min_ms, max_ms, value}}."""
    command = [
        "cargo", "run", "--release", "--quiet", "-p", "loss-core", "--example", "host_speed",
        "--", "--runs", str(runs),
    ] + (["--dump", data_dir] if data_dir else [])
    print("$", " ".join(command), file=sys.stderr)
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    cases = {}
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, wall_ns, cpu_ns, ms, lo, hi, value = line.split("\t")
        cases[name] = {
            "wall_ns": float(wall_ns), "cpu_ns": float(cpu_ns), "ms": float(ms),
            "min_ms": float(lo), "max_ms": float(hi), "value": float(value),
        }
    return cases


def timed(runs: int, call) -> dict[str, float]:
    """Medians of `runs` timed calls after one untimed call: wall and thread CPU time."""
    value = call()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        value = call()
        cpu.append(time.thread_time_ns() - start_cpu)
        wall.append(time.perf_counter_ns() - start)
    return {
        "wall_ns": statistics.median(wall) / N, "cpu_ns": statistics.median(cpu) / N,
        "ms": statistics.median(wall) * 1e-6, "min_ms": min(wall) * 1e-6,
        "max_ms": max(wall) * 1e-6, "value": float(value),
    }


class Frameworks:
    """torchvision and MONAI on the example's data, one thread."""

    def __init__(self, data_dir: str) -> None:
        import numpy as np
        import torch
        import torchvision
        import monai
        from monai.losses import DiceLoss
        from torchvision.ops import sigmoid_focal_loss

        torch.set_num_threads(1)
        torch.set_grad_enabled(False)
        shape = (1, 1, SIDE, SIDE)
        x = np.fromfile(Path(data_dir, "logits.f32"), dtype="<f4").reshape(shape)
        t = np.fromfile(Path(data_dir, "targets.f32"), dtype="<f4").reshape(shape)
        x, t = torch.from_numpy(x), torch.from_numpy(t)
        assert x.numel() == N and t.numel() == N
        dice = DiceLoss(sigmoid=True)
        self.calls = {
            "torchvision.ops.sigmoid_focal_loss": lambda: sigmoid_focal_loss(
                x, t, reduction="mean"),
            "monai.losses.DiceLoss(sigmoid=True)": lambda: dice(x, t),
        }
        self.versions = {
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "monai": monai.__version__, "threads": torch.get_num_threads(),
        }

    def run(self, runs: int) -> dict[str, dict[str, float]]:
        return {name: timed(runs, call) for name, call in self.calls.items()}


ROWS = [
    ("f32 binary focal, mean", "focal_f32", "torchvision.ops.sigmoid_focal_loss", 2.0),
    ("dice on logits", "dice_logits_f32", "monai.losses.DiceLoss(sigmoid=True)", 1.0),
    ("int8 focal (counts + table), mean", "focal_int8", "torchvision.ops.sigmoid_focal_loss",
     15.0),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds, each timing loss-core then the frameworks (default 5)")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed calls per case in a round (median; default 5)")
    args = parser.parse_args()
    if args.runs < 1 or args.rounds < 1:
        parser.error("--runs and --rounds must be at least 1")
    # The two sides alternate, so that each ratio compares times taken a few seconds apart:
    # on a shared machine the speed available to one thread drifts over minutes.
    rounds = []
    with tempfile.TemporaryDirectory() as data_dir:
        rust = rust_side(args.runs, data_dir)
        frameworks = Frameworks(data_dir)
        for r in range(args.rounds):
            if r > 0:
                rust = rust_side(args.runs, None)
            rounds.append((rust, frameworks.run(args.runs)))
    load = os.getloadavg()
    print(f"# {N} elements ({SIDE} x {SIDE}), one thread; {args.rounds} rounds of loss-core then "
          f"the frameworks, {args.runs} timed calls per case and round; {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          + ", ".join(f"{k} {v}" for k, v in frameworks.versions.items()))
    print("# ns/element: the thread's CPU time, each round's median; 'median' over the rounds, "
          "'best' the fastest round (the least disturbed by the other work on the machine)")
    print("# ratio: framework / loss-core; per round (median and range over the rounds), and of "
          "the best rounds")
    print()
    print("| case | loss-core ns/element, median (best) | framework | framework ns/element, "
          "median (best) | ratio, median (range) | ratio of the best | target | loss-core value "
          "| framework value |")
    print("|---|---:|---|---:|---:|---:|---|---:|---:|")
    med = statistics.median
    for label, case, framework, target in ROWS:
        ratios = [theirs[framework]["cpu_ns"] / ours[case]["cpu_ns"] for ours, theirs in rounds]
        ours = [r[case]["cpu_ns"] for r, _ in rounds]
        theirs = [f[framework]["cpu_ns"] for _, f in rounds]
        ratio, best = med(ratios), min(theirs) / min(ours)
        verdict = ", ".join(f"{what} {'met' if x >= target else 'not met'}"
                            for what, x in [("median", ratio), ("best", best)])
        print(f"| {label} | {med(ours):.2f} ({min(ours):.2f}) | `{framework}` | "
              f"{med(theirs):.2f} ({min(theirs):.2f}) | **{ratio:.2f}x** ({min(ratios):.2f} - "
              f"{max(ratios):.2f}) | **{best:.2f}x** | >= {target:g}x: {verdict} | "
              f"{rounds[0][0][case]['value']:.7g} | {rounds[0][1][framework]['value']:.7g} |")
    print()
    print("Every case, ns per element, per round: CPU time / wall time (medians)")
    names = list(rounds[0][0]) + list(rounds[0][1])
    for name in names:
        cells = [(r[name] if name in r else f[name]) for r, f in rounds]
        print(f"  {name:<38} " + "  ".join(f"{c['cpu_ns']:6.2f} / {c['wall_ns']:6.2f}"
                                            for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
