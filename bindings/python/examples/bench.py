#!/usr/bin/env python3
"""A 4,194,304-element focal and dice call through the Python package, against the Rust
figure of the same kernels and, when installed, torchvision and MONAI, one thread each.

Two data sets, two Rust figures:

- ``host_speed`` (default): the 2048 x 2048 map of ``loss-core/examples/host_speed.rs``
  (``docs/performance.md``); the example times the kernels and writes the data, which this
  script loads and gives to the package (and to torchvision / MONAI).
- ``--criterion``: the data of ``loss-core/benches/losses.rs`` (its generator ported to
  NumPy, the same bits), against criterion's estimate for ``4M elements/sigmoid focal gamma 2``
  and ``4M elements/dice logits`` (``cargo bench``).

The package calls are the device API, ``SigmoidFocal(0.25, 2).loss(x, t)`` and
``OverlapLoss(predictions="logits").loss(x, t)`` on contiguous float32 arrays (read in place),
and the framework-shaped ``loss_core.torchvision.sigmoid_focal_loss`` and
``loss_core.monai.DiceLoss(sigmoid=True)`` (the batch path: its tensors are copied once into
the mapping's own). The two sides alternate in rounds; each prints the thread's CPU time per
element (median of the calls of a round), and the ratio package / Rust (goal: at most 1.2).

    pip install ./bindings/python                  # the package, into the current venv
    pip install torch torchvision monai            # optional, for the side by side
    python bindings/python/examples/bench.py [--rounds 5] [--runs 5] [--criterion]

Run from anywhere; cargo runs at the repository's root. It installs nothing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import loss_core

ROOT = Path(__file__).resolve().parents[3]
SIDE = 2048
N = SIDE * SIDE


def host_speed(runs: int, data_dir: str | None) -> dict[str, dict[str, float]]:
    """The Rust figure on the host_speed map: {case: {cpu_ns, value}}."""
    command = ["cargo", "run", "--release", "--quiet", "-p", "loss-core", "--example",
               "host_speed", "--", "--runs", str(runs)] + (["--dump", data_dir] if data_dir else [])
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    cases = {}
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _wall, cpu, _ms, _lo, _hi, value = line.split("\t")
        cases[name] = {"cpu_ns": float(cpu), "value": float(value)}
    return {"focal": cases["focal_f32"], "dice": cases["dice_logits_f32"]}


def criterion() -> dict[str, dict[str, float]]:
    """criterion's estimates (ns per element) for the two benchmarks."""
    names = {"focal": "sigmoid focal gamma 2", "dice": "dice logits"}
    command = ["cargo", "bench", "--quiet", "-p", "loss-core", "--bench", "losses", "--",
               "--noplot", f"^4M elements/({'|'.join(names.values())})$"]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    units = {"ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
    found = {}
    pattern = r"4M elements/(.+?)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]"
    for name, value, unit in re.findall(pattern, out):
        found[name.strip()] = float(value) * units[unit] / N
    return {case: {"cpu_ns": found[name], "value": float("nan")} for case, name in names.items()}


def criterion_data() -> tuple[np.ndarray, np.ndarray]:
    """The logits and targets of loss-core/benches/losses.rs: its LCG (s = 1664525 s +
    1013904223 mod 2^32), drawn three times per element (logit, probability unused here,
    target), vectorised by jumping the generator a block at a time."""
    a, c, mask = 1_664_525, 1_013_904_223, (1 << 32) - 1
    draws = 2 * N
    block = 1 << 16
    first = np.empty(block, dtype=np.uint64)
    s = 0x2545_F491
    for i in range(block):
        s = (s * a + c) & mask
        first[i] = s
    # s_{k+B} = A s_k + C with A = a^B, C = c (a^{B-1} + ... + 1), mod 2^32.
    big_a, big_c = 1, 0
    for _ in range(block):
        big_a, big_c = (big_a * a) & mask, (big_c * a + c) & mask
    states = np.empty(draws, dtype=np.uint64)
    current = first
    for start in range(0, draws, block):
        states[start:start + block] = current[: min(block, draws - start)]
        current = (current * np.uint64(big_a) + np.uint64(big_c)) & np.uint64(mask)
    u = (states >> np.uint64(8)).astype(np.float32) / np.float32(1 << 24)
    logits = (np.float32(20.0) * u[0::2] - np.float32(10.0)).astype(np.float32)
    targets = (u[1::2] < np.float32(0.1)).astype(np.float32)
    return logits, targets


def timed(runs: int, call) -> dict[str, float]:
    """The median thread CPU time per element of `runs` calls after one untimed call."""
    value = call()
    cpu = []
    for _ in range(runs):
        start = time.thread_time_ns()
        value = call()
        cpu.append(time.thread_time_ns() - start)
    return {"cpu_ns": statistics.median(cpu) / N, "value": float(value)}


def package_calls(x: np.ndarray, t: np.ndarray) -> dict[str, object]:
    focal = loss_core.SigmoidFocal(alpha=0.25, gamma=2.0)
    dice = loss_core.OverlapLoss(predictions="logits")
    x4, t4 = x.reshape(1, 1, SIDE, SIDE), t.reshape(1, 1, SIDE, SIDE)
    monai_dice = loss_core.monai.DiceLoss(sigmoid=True)
    return {
        "focal": lambda: focal.loss(x, t),
        "dice": lambda: dice.loss(x, t),
        "focal (torchvision-shaped)": lambda: loss_core.torchvision.sigmoid_focal_loss(
            x, t, reduction="mean"),
        "dice (monai-shaped)": lambda: monai_dice(x4, t4),
    }


def framework_calls(x: np.ndarray, t: np.ndarray) -> dict[str, object]:
    try:
        import torch
        from monai.losses import DiceLoss
        from torchvision.ops import sigmoid_focal_loss
    except ImportError as e:
        print(f"# torchvision / MONAI not importable ({e}): package and Rust only")
        return {}
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    tx = torch.from_numpy(x.reshape(1, 1, SIDE, SIDE))
    tt = torch.from_numpy(t.reshape(1, 1, SIDE, SIDE))
    dice = DiceLoss(sigmoid=True)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread")
    return {
        "torchvision.ops.sigmoid_focal_loss": lambda: sigmoid_focal_loss(tx, tt, reduction="mean"),
        "monai.losses.DiceLoss(sigmoid=True)": lambda: dice(tx, tt),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--criterion", action="store_true",
                        help="criterion's data and figure instead of host_speed's")
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory() as data_dir:
        if args.criterion:
            x, t = criterion_data()
            rust = lambda first: criterion()  # noqa: E731
        else:
            first = host_speed(args.runs, data_dir)
            x = np.fromfile(Path(data_dir, "logits.f32"), dtype="<f4")
            t = np.fromfile(Path(data_dir, "targets.f32"), dtype="<f4")
            rust = lambda first_round: first if first_round else host_speed(args.runs, None)  # noqa: E731
        ours = package_calls(x, t)
        theirs = framework_calls(x, t)
        for r in range(args.rounds):
            rounds.append((rust(r == 0), {k: timed(args.runs, f) for k, f in ours.items()},
                           {k: timed(args.runs, f) for k, f in theirs.items()}))
    med = statistics.median
    print(f"# {N} elements, {args.rounds} rounds, {args.runs} calls per case and round; "
          f"Rust figure: {'criterion (cargo bench)' if args.criterion else 'host_speed example'}")
    print("| case | Rust ns/element, median (best) | package call | package ns/element, median "
          "(best) | package / Rust, median of rounds | of the best | value |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for case in ("focal", "dice"):
        rust_ns = [r[case]["cpu_ns"] for r, _, _ in rounds]
        for call in [k for k in rounds[0][1] if k.startswith(case)]:
            ns = [p[call]["cpu_ns"] for _, p, _ in rounds]
            ratios = [p[call]["cpu_ns"] / r[case]["cpu_ns"] for r, p, _ in rounds]
            print(f"| {case} | {med(rust_ns):.2f} ({min(rust_ns):.2f}) | `{call}` | "
                  f"{med(ns):.2f} ({min(ns):.2f}) | **{med(ratios):.2f}x** | "
                  f"**{min(ns) / min(rust_ns):.2f}x** | {rounds[0][1][call]['value']:.7g} |")
    for name in rounds[0][2]:
        ns = [f[name]["cpu_ns"] for _, _, f in rounds]
        print(f"| framework | | `{name}` | {med(ns):.2f} ({min(ns):.2f}) | | | "
              f"{rounds[0][2][name]['value']:.7g} |")
    if not args.criterion:
        for case in ("focal", "dice"):
            rust_value = rounds[0][0][case]["value"]
            ours_value = rounds[0][1][case]["value"]
            print(f"# {case}: package {ours_value!r}, Rust {rust_value!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
