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
    ../venv/bin/python scripts/bench_frameworks.py [--runs 11]

The Rust side is built as cargo builds it by default (x86-64: SSE2). RUSTFLAGS and
CARGO_TARGET_DIR are passed through, e.g. RUSTFLAGS="-C target-cpu=native" for AVX2 (the same
bits: Rust never fuses a multiply and an add).

It prints the table of docs/performance.md: both sides' times in ns per element (medians of
the thread's CPU time and of the wall time) and the ratios framework / loss-core (above 1:
loss-core is faster), plus both loss values, which must agree (to float32 rounding; the int8
loss is on the quantized logits, so it differs a little).
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


def rust_side(runs: int, data_dir: str) -> dict[str, dict[str, float]]:
    """Runs the example; returns {case: {wall_ns, cpu_ns, ms, min_ms, max_ms, value}}."""
    command = [
        "cargo", "run", "--release", "--quiet", "-p", "loss-core", "--example", "host_speed",
        "--", "--runs", str(runs), "--dump", data_dir,
    ]
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


def framework_side(runs: int, data_dir: str) -> dict[str, dict[str, float]]:
    import numpy as np
    import torch
    import torchvision
    import monai
    from monai.losses import DiceLoss
    from torchvision.ops import sigmoid_focal_loss

    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    shape = (1, 1, SIDE, SIDE)
    x = torch.from_numpy(np.fromfile(Path(data_dir, "logits.f32"), dtype="<f4").reshape(shape))
    t = torch.from_numpy(np.fromfile(Path(data_dir, "targets.f32"), dtype="<f4").reshape(shape))
    assert x.numel() == N and t.numel() == N
    dice = DiceLoss(sigmoid=True)
    cases = {}
    for name, call in [
        ("torchvision.ops.sigmoid_focal_loss", lambda: sigmoid_focal_loss(x, t, reduction="mean")),
        ("monai.losses.DiceLoss(sigmoid=True)", lambda: dice(x, t)),
    ]:
        cases[name] = timed(runs, call)
    cases["versions"] = {  # type: ignore[assignment]
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "monai": monai.__version__, "threads": torch.get_num_threads(),
    }
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs per case (median)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory() as data_dir:
        rust = rust_side(args.runs, data_dir)
        frameworks = framework_side(args.runs, data_dir)
    versions = frameworks.pop("versions")
    load = os.getloadavg()
    print(f"# {N} elements ({SIDE} x {SIDE}), one thread, medians of {args.runs} runs; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.1f} "
          f"{load[1]:.1f} {load[2]:.1f}; "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("# CPU = CPU time of the benchmarking thread (leaves out waiting for a core on a "
          "shared machine); wall = elapsed time")
    rows = [
        ("f32 binary focal, mean", "focal_f32", "torchvision.ops.sigmoid_focal_loss", 2.0),
        ("dice on logits", "dice_logits_f32", "monai.losses.DiceLoss(sigmoid=True)", 1.0),
        ("int8 focal (counts + table), mean", "focal_int8",
         "torchvision.ops.sigmoid_focal_loss", 15.0),
    ]
    print()
    print("| case | loss-core ns/element (CPU / wall) | framework | framework ns/element "
          "(CPU / wall) | ratio CPU | ratio wall | target | loss-core value | framework value |")
    print("|---|---:|---|---:|---:|---:|---|---:|---:|")
    for label, case, framework, target in rows:
        ours, theirs = rust[case], frameworks[framework]
        ratio = {k: theirs[k] / ours[k] for k in ("cpu_ns", "wall_ns")}
        verdict = "met" if min(ratio.values()) >= target else (
            "not met" if max(ratio.values()) < target else "met by one measure only")
        print(f"| {label} | {ours['cpu_ns']:.2f} / {ours['wall_ns']:.2f} | `{framework}` | "
              f"{theirs['cpu_ns']:.2f} / {theirs['wall_ns']:.2f} | **{ratio['cpu_ns']:.2f}x** | "
              f"{ratio['wall_ns']:.2f}x | >= {target:g}x: {verdict} | {ours['value']:.7g} | "
              f"{theirs['value']:.7g} |")
    print()
    print("Every case, ns per element (CPU / wall medians), ms per call (wall: median, min - max):")
    for name, r in list(rust.items()) + list(frameworks.items()):
        print(f"  {name:<38} {r['cpu_ns']:7.3f} / {r['wall_ns']:7.3f}  "
              f"{r['ms']:8.3f} ms ({r['min_ms']:.3f} - {r['max_ms']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
