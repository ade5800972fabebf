#!/usr/bin/env python3
"""Randomized differential run: the real frameworks against `loss-tools batch`.

Draws fresh random calls over every function `loss-tools batch` supports and the parameters it
maps (a new seed each run unless `--seed` is given; the seed is printed so a run can be
repeated), answers each with the installed framework (float32, and float64 where the framework
computes in float64) and with `loss-tools batch`, and compares outcome, shape and values:

- the framework raises: `loss-tools` must answer with an error;
- the framework answers: `loss-tools` must answer with the same shape, every value within
  `|a - b| <= 1e-5 |b| + 1e-6` of the float64 answer or of the float32 one.

It prints a summary by function and failure class (`shape`, `value`, `accepted` = a value where
the framework raises, `rejected` = an error where the framework answers) with one example of
each; `--save FILE` writes every failing call as a `loss-tools batch` request with the
framework's answer attached, in the format of `tests/data/frameworks/`.

    python scripts/framework_diff.py --cases 3000               # fresh seed
    python scripts/framework_diff.py --cases 500 --seed 7 --only monai.losses.TverskyLoss
    python scripts/framework_diff.py --loss-tools target/release/loss-tools

The frameworks come from `scripts/requirements.txt` (a virtual environment outside the
repository). Calls whose inputs the project deliberately treats differently (infinite or NaN
inputs, probabilities outside [0, 1] without an activation: `docs/conventions.md`) are not drawn.
Exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402

import framework_vectors as fv  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
F32 = np.float32

# --------------------------------------------------------------------------------------------
# Random inputs


class R:
    """Random draws on one generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def coin(self, p=0.5) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def int(self, lo, hi) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def unit(self, lo=0.0, hi=1.0) -> float:
        """A float32-exact value on a 1/64 grid in [lo, hi]."""
        return float(F32(round(float(self.rng.uniform(lo, hi)) * 64) / 64))

    def spatial(self, max_dims=3) -> tuple[int, ...]:
        return tuple(self.int(1, 4) for _ in range(self.int(1, max_dims)))

    def logits(self, shape, scale=None):
        scale = scale if scale is not None else self.pick([0.5, 3.0, 3.0, 10.0])
        x = self.rng.normal(0.0, scale, shape).astype(F32)
        if self.coin(0.1):  # a few saturating logits
            x.reshape(-1)[: max(1, x.size // 4)] = self.pick([-30.0, 30.0, 90.0, -90.0])
            self.rng.shuffle(x.reshape(-1))
        return x

    def probs(self, shape):
        p = self.rng.random(shape).astype(F32)
        if self.coin(0.15):
            p.reshape(-1)[: max(1, p.size // 3)] = self.pick([0.0, 1.0])
            self.rng.shuffle(p.reshape(-1))
        return p

    def hard(self, shape):
        q = self.pick([0.0, 0.3, 0.5, 1.0]) if self.coin(0.2) else 0.4
        return (self.rng.random(shape) < q).astype(F32)

    def soft(self, shape):
        return (self.rng.integers(0, 17, shape) / 16.0).astype(F32)

    def target(self, shape, soft_ok=True):
        return self.soft(shape) if soft_ok and self.coin(0.25) else self.hard(shape)

    def labels(self, shape, c, ignore=None, dtype=np.int64):
        lab = self.rng.integers(0, c, shape)
        if ignore is not None and lab.size:
            k = self.int(0, max(1, lab.size // 3))
            lab.reshape(-1)[self.rng.permutation(lab.size)[:k]] = ignore
        return lab.astype(dtype)

    def weights(self, n):
        return [self.unit(0.0, 3.0) for _ in range(n)]


def maybe(r: R, params: dict, key: str, options: list, p=0.5):
    if r.coin(p):
        params[key] = r.pick(options)


def onehot_cf(labels, c):
    return np.moveaxis(np.eye(c, dtype=F32)[labels], -1, 1).copy()


# --------------------------------------------------------------------------------------------
# Calls per function: each returns (params, inputs in argument order)


def torchvision_focal(r: R):
    shape = (r.int(1, 3), r.int(1, 3), *r.spatial(2)) if r.coin(0.9) else (r.int(1, 8),)
    p: dict[str, Any] = {}
    maybe(r, p, "alpha", [-1.0, 0.0, 1.0, r.unit(), r.unit()])
    maybe(r, p, "gamma", [0.0, 0.5, 1.0, 2.0, r.unit(0, 4)])
    maybe(r, p, "reduction", ["none", "mean", "sum"], 0.8)
    return p, {"inputs": r.logits(shape), "targets": r.target(shape)}


def monai_focal(r: R):
    b, c, sp = r.int(1, 3), r.int(1, 4), r.spatial()
    shape = (b, c, *sp)
    p: dict[str, Any] = {}
    maybe(r, p, "include_background", [True, False])
    onehot = r.coin(0.5)
    if onehot:
        p["to_onehot_y"] = True
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    soft = r.coin(0.4)
    if soft:
        p["use_softmax"] = True
    kept = c - 1 if (p.get("include_background") is False and c > 1) else c
    maybe(r, p, "alpha", [r.unit(), [r.unit() for _ in range(kept)], [r.unit() for _ in range(c)]], 0.4)
    maybe(r, p, "weight", [r.unit(0, 3), r.weights(kept), r.weights(c)], 0.3)
    maybe(r, p, "reduction", ["none", "mean", "sum"], 0.8)
    ignore = None
    if onehot and r.coin(0.3) and p.get("include_background", True):
        ignore = r.pick([255, r.int(0, c - 1)])
        p["ignore_index"] = ignore
    if onehot:
        t = r.labels((b, 1, *sp), c, ignore if ignore is not None and ignore >= c else None).astype(F32)
    elif soft and c > 1:
        t = onehot_cf(r.labels((b, *sp), c), c)
    else:
        t = r.target(shape)
    return p, {"input": r.logits(shape), "target": t}


def _monai_overlap(r: R, kind: str):
    b, c, sp = r.int(1, 3), r.int(1, 4), r.spatial()
    shape = (b, c, *sp)
    p: dict[str, Any] = {}
    maybe(r, p, "include_background", [True, False])
    act = r.pick(["none", "none", "sigmoid", "softmax", "tanh"])
    if act == "sigmoid":
        p["sigmoid"] = True
    elif act == "softmax":
        p["softmax"] = True
    elif act == "tanh":
        p["other_act"] = "tanh"
    onehot = r.coin(0.5)
    if onehot:
        p["to_onehot_y"] = True
    maybe(r, p, "batch", [True, False])
    maybe(r, p, "reduction", ["none", "mean", "sum"], 0.8)
    maybe(r, p, "soft_label", [True, False], 0.3)
    if r.coin(0.4):
        p["smooth_nr"] = r.pick([0.0, 1e-5, 1.0, r.unit()])
        p["smooth_dr"] = r.pick([1e-5, 1.0, r.unit(0.01, 1)])
    kept = c - 1 if (p.get("include_background") is False and c > 1) else c
    if kind in ("dice", "dicefocal", "dicece"):
        maybe(r, p, "squared_pred", [True, False], 0.3)
        maybe(r, p, "jaccard", [True, False], 0.3)
    if kind in ("dice", "dicefocal"):
        maybe(r, p, "weight", [r.unit(0, 3), r.weights(kept), r.weights(c), -1.0], 0.35)
    if kind == "tversky":
        maybe(r, p, "alpha", [0.0, 0.3, 0.5, 1.0, r.unit(0, 2)])
        maybe(r, p, "beta", [0.0, 0.7, 0.5, 1.0, r.unit(0, 2)])
    if kind == "gdl":
        maybe(r, p, "w_type", ["square", "simple", "uniform"])
    if kind == "dicefocal":
        maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 3)])
        maybe(r, p, "alpha", [r.unit()], 0.3)
        maybe(r, p, "lambda_dice", [0.0, 0.5, 1.0, 2.0], 0.3)
        maybe(r, p, "lambda_focal", [0.0, 0.5, 1.0, 2.0], 0.3)
    if kind == "dicece":
        maybe(r, p, "lambda_dice", [0.0, 0.5, 1.0, 2.0], 0.3)
        maybe(r, p, "lambda_ce", [0.0, 0.5, 1.0, 2.0], 0.3)
        p["reduction"] = r.pick(["mean", "sum"])
    ignore = None
    if kind in ("dice", "tversky") and onehot and r.coin(0.3):
        ignore = r.pick([255, r.int(0, c - 1)])
        p["ignore_index"] = ignore
    # MONAI takes probabilities without an activation (logits there are a documented deviation).
    # (MONAI ignores softmax with one channel.)
    x = r.probs(shape) if act == "none" or (act == "softmax" and c == 1) else r.logits(shape)
    if onehot:
        lab_ignore = ignore if ignore is not None and ignore >= c else None
        t = r.labels((b, 1, *sp), c, lab_ignore).astype(F32)
        if kind == "dicece" and c > 1:
            t = t.astype(F32)
    else:
        t = r.target(shape, soft_ok=(p.get("soft_label", False) or r.coin(0.3)) and kind != "dicece")
    return p, {"input": x, "target": t}


def _smp_overlap(r: R, kind: str):
    mode = r.pick(["binary", "multiclass", "multilabel"])
    b, sp = r.int(1, 3), r.spatial(2)
    c = 1 if mode == "binary" else r.int(2, 4)
    p: dict[str, Any] = {"mode": mode}
    maybe(r, p, "log_loss", [True, False], 0.3)
    maybe(r, p, "from_logits", [True, False], 0.4)
    maybe(r, p, "smooth", [0.0, 0.5, 1.0], 0.4)
    maybe(r, p, "eps", [1e-7, 1e-3, 0.0], 0.2)
    if kind == "tversky":
        maybe(r, p, "alpha", [0.3, 0.5, 1.0, r.unit()])
        maybe(r, p, "beta", [0.7, 0.5, 1.0, r.unit()])
        maybe(r, p, "gamma", [1.0, 0.75, 1.5, 2.0], 0.4)
    if mode != "binary":
        maybe(r, p, "classes", [sorted(set(r.int(0, c - 1) for _ in range(2)))], 0.2)
        maybe(r, p, "class_weights", [r.weights(c)], 0.2)
    ignore = None
    if r.coin(0.25):
        ignore = r.pick([-1, 255]) if mode == "multiclass" else -1
        p["ignore_index"] = ignore
    x = r.logits((b, c, *sp)) if p.get("from_logits", True) else r.probs((b, c, *sp))
    if mode == "multiclass":
        t = r.labels((b, *sp), c, ignore)
    else:
        tshape = (b, c, *sp) if mode == "multilabel" or r.coin(0.7) else (b, *sp)
        t = r.hard(tshape)
        if ignore is not None:
            t.reshape(-1)[r.rng.permutation(t.size)[: r.int(0, max(1, t.size // 3))]] = ignore
    return p, {"y_pred": x, "y_true": t}


def smp_focal(r: R):
    mode = r.pick(["binary", "multiclass", "multilabel"])
    b, sp = r.int(1, 3), r.spatial(2)
    c = 1 if mode == "binary" else r.int(2, 4)
    p: dict[str, Any] = {"mode": mode}
    maybe(r, p, "alpha", [0.25, r.unit()], 0.4)
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    red = r.pick([None, "mean", "sum", "none", "batchwise_mean"])
    if red is not None:
        p["reduction"] = red
    maybe(r, p, "normalized", [True, False], 0.2)
    maybe(r, p, "reduced_threshold", [0.25, 0.5, 1.0], 0.15)
    maybe(r, p, "from_logits", [True, False], 0.3)
    maybe(r, p, "eps", [1e-7, 1e-3, 1e-6], 0.2)
    ignore = None
    if mode != "multilabel" and r.coin(0.3):
        ignore = r.pick([-1, 255]) if mode == "multiclass" else -1
        p["ignore_index"] = ignore
    per_class = red in (None, "mean", "sum") or (red == "batchwise_mean" and ignore is not None)
    if mode != "binary" and per_class:
        maybe(r, p, "class_weights", [r.weights(c)], 0.2)
    x = r.logits((b, c, *sp)) if p.get("from_logits", True) else r.probs((b, c, *sp))
    if mode == "multiclass":
        t = r.labels((b, *sp), c, ignore)
    else:
        t = r.target((b, c, *sp))
        if ignore is not None:
            t.reshape(-1)[r.rng.permutation(t.size)[: r.int(0, max(1, t.size // 3))]] = ignore
    return p, {"y_pred": x, "y_true": t}


def smp_soft_bce(r: R):
    shape = (r.int(1, 3), r.int(1, 3), *r.spatial(2))
    p: dict[str, Any] = {}
    maybe(r, p, "smooth_factor", [0.1, r.unit(0, 0.5)], 0.4)
    maybe(r, p, "reduction", ["none", "mean", "sum"], 0.8)
    t = r.target(shape)
    if r.coin(0.3):
        p["ignore_index"] = r.pick([-1, -100])
        t.reshape(-1)[r.rng.permutation(t.size)[: r.int(0, max(1, t.size // 3))]] = p["ignore_index"]
    return p, {"y_pred": r.logits(shape), "y_true": t}


def kornia_binary_focal(r: R):
    c = r.int(1, 3)
    shape = (r.int(1, 3), c, *r.spatial(2))
    p: dict[str, Any] = {}
    maybe(r, p, "alpha", [None, 0.25, r.unit()], 0.6)
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    maybe(r, p, "reduction", ["none", "mean", "sum"], 0.8)
    maybe(r, p, "pos_weight", [r.weights(c)], 0.2)
    maybe(r, p, "weight", [r.weights(c)], 0.2)
    return p, {"pred": r.logits(shape), "target": r.target(shape)}


def kornia_focal(r: R):
    b, c, sp = r.int(1, 3), r.int(2, 4), r.spatial(2)
    p: dict[str, Any] = {"alpha": r.pick([0.25, 0.5, r.unit()])}
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    maybe(r, p, "reduction", ["none", "mean", "sum"], 0.8)
    maybe(r, p, "weight", [r.weights(c)], 0.25)
    ignore = -100 if r.coin(0.3) else None
    if ignore is None and r.coin(0.2):
        ignore = 255
        p["ignore_index"] = 255
    return p, {"pred": r.logits((b, c, *sp)), "target": r.labels((b, *sp), c, ignore)}


def kornia_dice(r: R):
    b, c = r.int(1, 3), r.int(2, 4)
    sp = (r.int(1, 4), r.int(1, 4))
    p: dict[str, Any] = {}
    maybe(r, p, "average", ["micro", "macro"], 0.7)
    maybe(r, p, "eps", [1e-8, 1e-6, 0.5], 0.3)
    maybe(r, p, "weight", [r.weights(c)], 0.3)
    ignore = -100 if r.coin(0.3) else None
    if ignore is None and r.coin(0.2):
        ignore = 255
        p["ignore_index"] = 255
    return p, {"pred": r.logits((b, c, *sp)), "target": r.labels((b, *sp), c, ignore)}


def _keras_axis(r: R, ndim: int):
    return r.pick([None, -1, [1], list(range(1, ndim))]) if ndim > 1 else None


def keras_bfce(r: R):
    shape = (r.int(1, 3), *r.spatial(2), r.int(1, 3))
    p: dict[str, Any] = {}
    maybe(r, p, "apply_class_balancing", [True, False])
    maybe(r, p, "alpha", [0.25, r.unit()], 0.4)
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    logits = r.coin(0.5)
    p["from_logits"] = logits
    maybe(r, p, "label_smoothing", [0.1, r.unit(0, 0.5)], 0.2)
    maybe(r, p, "axis", [-1, 1], 0.2)
    maybe(r, p, "reduction", [None, "none", "sum", "mean", "sum_over_batch_size"], 0.7)
    x = r.logits(shape) if logits else np.clip(r.probs(shape), 1 / 256, 255 / 256).astype(F32)
    return p, {"y_true": r.target(shape), "y_pred": x}


def keras_cfce(r: R):
    c = r.int(2, 4)
    shape = (r.int(1, 3), *r.spatial(2), c)
    p: dict[str, Any] = {}
    maybe(r, p, "alpha", [0.25, r.unit(), [r.unit() for _ in range(c)]], 0.5)
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    logits = r.coin(0.5)
    p["from_logits"] = logits
    maybe(r, p, "label_smoothing", [0.1, r.unit(0, 0.5)], 0.2)
    maybe(r, p, "reduction", [None, "none", "sum", "mean", "sum_over_batch_size"], 0.7)
    x = r.logits(shape) if logits else (r.rng.integers(1, 256, shape) / 256).astype(F32)
    t = np.eye(c, dtype=F32)[r.labels(shape[:-1], c)]
    return p, {"y_true": t, "y_pred": x}


def keras_dice(r: R, tversky=False):
    shape = (r.int(1, 3), *r.spatial(2), r.int(1, 3))
    p: dict[str, Any] = {}
    ax = _keras_axis(r, len(shape))
    if ax is not None:
        p["axis"] = ax
    maybe(r, p, "reduction", [None, "none", "sum", "mean", "sum_over_batch_size"], 0.7)
    if tversky:
        maybe(r, p, "alpha", [0.0, 0.3, 0.5, 1.0, r.unit()])
        maybe(r, p, "beta", [0.0, 0.7, 0.5, 1.0, r.unit()])
    return p, {"y_true": r.target(shape), "y_pred": r.probs(shape)}


def seed_focal_class(r: R):
    shape = (r.int(1, 3), r.int(1, 2), *r.spatial(2))
    p: dict[str, Any] = {}
    maybe(r, p, "alpha", [0.25, r.unit()])
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    logits = r.coin(0.4)
    if logits:
        p["logits"] = True
    maybe(r, p, "sampling", ["mean", "sum", "none"], 0.8)
    x = r.logits(shape) if logits else r.probs(shape)
    return p, {"y_pred": x, "y_true": r.hard(shape)}


def seed_dice_class(r: R):
    shape = (r.int(1, 3), r.int(1, 3), *r.spatial(2))
    p: dict[str, Any] = {}
    maybe(r, p, "smooth", [0.0, 1e-5, 1.0, 2.0])
    return p, {"input": r.probs(shape), "target": r.target(shape)}


def seed_dice_fn(r: R):
    shape = (r.int(1, 3), *r.spatial(2), r.int(1, 3))
    p: dict[str, Any] = {}
    maybe(r, p, "smooth", [0.0, 1e-5, 1.0, 2.0])
    return p, {"y_true": r.target(shape), "y_pred": r.probs(shape)}


def seed_focal_fn(r: R):
    shape = (r.int(1, 3), *r.spatial(2), r.int(1, 2))
    p: dict[str, Any] = {}
    maybe(r, p, "alpha", [0.0, 0.25, 1.0, r.unit()])
    maybe(r, p, "gamma", [0.0, 1.0, 2.0, r.unit(0, 4)])
    return p, {"y_true": r.hard(shape), "y_pred": np.clip(r.probs(shape), 1 / 256, 255 / 256).astype(F32)}


GENERATORS: dict[str, Callable[[R], tuple[dict, dict]]] = {
    "torchvision.ops.sigmoid_focal_loss": torchvision_focal,
    "monai.losses.FocalLoss": monai_focal,
    "monai.losses.DiceLoss": lambda r: _monai_overlap(r, "dice"),
    "monai.losses.GeneralizedDiceLoss": lambda r: _monai_overlap(r, "gdl"),
    "monai.losses.TverskyLoss": lambda r: _monai_overlap(r, "tversky"),
    "monai.losses.DiceFocalLoss": lambda r: _monai_overlap(r, "dicefocal"),
    "monai.losses.DiceCELoss": lambda r: _monai_overlap(r, "dicece"),
    "segmentation_models_pytorch.losses.DiceLoss": lambda r: _smp_overlap(r, "dice"),
    "segmentation_models_pytorch.losses.JaccardLoss": lambda r: _smp_overlap(r, "jaccard"),
    "segmentation_models_pytorch.losses.TverskyLoss": lambda r: _smp_overlap(r, "tversky"),
    "segmentation_models_pytorch.losses.FocalLoss": smp_focal,
    "segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss": smp_soft_bce,
    "kornia.losses.binary_focal_loss_with_logits": kornia_binary_focal,
    "kornia.losses.focal_loss": kornia_focal,
    "kornia.losses.dice_loss": kornia_dice,
    "keras.losses.BinaryFocalCrossentropy": keras_bfce,
    "keras.losses.CategoricalFocalCrossentropy": keras_cfce,
    "keras.losses.Dice": keras_dice,
    "keras.losses.Tversky": lambda r: keras_dice(r, True),
    "seed.FocalLoss": seed_focal_class,
    "seed.DiceLoss": seed_dice_class,
    "seed.dice_loss": seed_dice_fn,
    "seed.focal_loss": seed_focal_fn,
}


# --------------------------------------------------------------------------------------------
# Running and comparing


def loss_tools_command(arg: str | None) -> list[str]:
    if arg:
        return [arg]
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    exe = target / "release" / "loss-tools"
    if not exe.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "loss-tools"], cwd=REPO, check=True)
    return [str(exe)]


def run_batch(cmd: list[str], requests: list[dict]) -> list[dict]:
    text = "".join(json.dumps(q, allow_nan=False) + "\n" for q in requests)
    proc = subprocess.run([*cmd, "batch"], input=text, capture_output=True, text=True)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(lines) != len(requests):
        raise SystemExit(f"loss-tools batch answered {len(lines)} of {len(requests)} requests:\n{proc.stderr}")
    return lines


def values(t: dict) -> list[float]:
    return [fv.decode_number(v) for v in t["data"]]


def compare(rec: dict, answer: dict) -> tuple[str, str] | None:
    """None when `loss-tools` agrees with the framework, else (class, detail)."""
    if "expected_error" in rec:
        if "error" in answer:
            return None
        return "accepted", f"framework: {rec['expected_error'][:160]}; loss-tools: shape {answer['loss']['shape']}"
    if "error" in answer:
        return "rejected", answer["error"][:200]
    got = answer["loss"]
    want = rec["expected"]
    if list(got["shape"]) != list(want["shape"]):
        return "shape", f"loss-tools {got['shape']}, framework {want['shape']}"
    g = values(got)
    truths = [values(want)] + ([values(rec["expected_f64"])] if "expected_f64" in rec else [])
    if any(len(g) == len(e) and all(fv.close(a, b) for a, b in zip(g, e)) for e in truths):
        return None
    e = truths[-1]
    bad = [(a, b) for a, b in zip(g, e) if not fv.close(a, b)]
    a, b = bad[0] if bad else (math.nan, math.nan)
    return "value", f"{len(bad)}/{len(e)} values differ, e.g. {a!r} vs {b!r}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=2000, help="random calls in total (default 2000)")
    ap.add_argument("--seed", type=int, help="repeat a run (default: a fresh seed)")
    ap.add_argument("--only", action="append", metavar="FUNCTION", help="limit to these functions (repeatable)")
    ap.add_argument("--loss-tools", help="the loss-tools executable (default: the workspace's release build)")
    ap.add_argument("--save", type=Path, help="write the failing calls here (JSON Lines)")
    args = ap.parse_args()

    seed = args.seed if args.seed is not None else secrets.randbits(32)
    print(f"seed {seed}")
    functions = [f for f in GENERATORS if not args.only or f in args.only]
    if not functions:
        raise SystemExit(f"no such function; supported: {', '.join(GENERATORS)}")
    torch.set_num_threads(1)
    runners = fv.runners()
    r = R(np.random.default_rng(seed))
    records = []
    for i in range(args.cases):
        name = functions[i % len(functions)]
        params, inputs = GENERATORS[name](r)
        rec: dict[str, Any] = {
            "id": f"{name}/diff-{seed}-{i}",
            "function": name,
            "params": params,
            "inputs": {k: fv.encode_tensor(v) for k, v in inputs.items()},
        }
        y32, err = fv.call(runners[name], params, inputs, torch.float32)
        if err is not None:
            rec["expected_error"] = err
        else:
            rec["expected"] = fv.encode_output(y32)
            if name not in fv.NO_F64:
                y64, err64 = fv.call(runners[name], params, inputs, torch.float64)
                if err64 is None:
                    rec["expected_f64"] = fv.encode_output(y64)
        records.append(rec)

    answers = run_batch(loss_tools_command(args.loss_tools), records)
    failures = collections.Counter()
    examples: dict[tuple[str, str], str] = {}
    per_function = collections.Counter(rec["function"] for rec in records)
    failed = []
    for rec, ans in zip(records, answers):
        verdict = compare(rec, ans)
        if verdict is None:
            continue
        key = (rec["function"], verdict[0])
        failures[key] += 1
        examples.setdefault(key, f"{rec['id']} params={json.dumps(rec['params'])}: {verdict[1]}")
        failed.append(rec)

    total_failed = sum(failures.values())
    raised = sum("expected_error" in rec for rec in records)
    print(f"{len(records)} calls ({raised} raised by the framework), {len(functions)} functions, "
          f"{total_failed} mismatches")
    for name in functions:
        classes = {k[1]: n for k, n in failures.items() if k[0] == name}
        summary = ", ".join(f"{c} {n}" for c, n in sorted(classes.items())) or "ok"
        print(f"  {per_function[name]:5d}  {name}: {summary}")
    for key, text in sorted(examples.items()):
        print(f"[{key[1]}] {text}")
    if args.save:
        args.save.write_text("".join(json.dumps(q, allow_nan=False, separators=(",", ":")) + "\n" for q in failed))
        print(f"{len(failed)} failing calls written to {args.save}")
    return 1 if total_failed else 0


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    sys.exit(main())
