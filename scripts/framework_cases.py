"""The parameter grid of the golden vectors: which calls are made, on which inputs.

Every function has its own `numpy.random.Generator` seeded from the CRC-32 of its name, so
adding a case to one function leaves every other file unchanged. Inputs are float32: logits and
probabilities on a grid of 1/256 (exact in f32 and short in JSON) unless a case says `raw` (any
f32 value, written exactly), class indices as int64. Shapes stay small (batch 1-2, classes 1-4,
spatial 2x2 .. 4x4) so the data stays small; layout is the framework's own: channel-first
(B, C, H, W) for the PyTorch libraries, channel-last (B, H, W, C) for Keras.

A case's `tag` says what it exercises and goes into the vector's id.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

F32 = np.float32
GRID = 256.0
# Logits at which stable and naive formulas part ways: saturation of f32 sigmoid (~17, ~88.7),
# exp overflow (88.72), and far beyond.
EXTREME = [-1e4, -100.0, -88.75, -50.0, -20.0, -17.0, -10.0, 0.0, 10.0, 17.0, 20.0, 50.0, 88.75, 100.0, 1e4]


@dataclass
class Case:
    tag: str
    params: dict[str, Any]
    inputs: dict[str, np.ndarray]
    expect_error: bool = False


@dataclass
class Gen:
    """Input generators on one deterministic stream."""

    rng: np.random.Generator
    cases: list[Case] = field(default_factory=list)

    def add(self, tag, params, inputs, expect_error=False):
        self.cases.append(Case(tag, dict(params), dict(inputs), expect_error))

    def logits(self, shape, scale=3.0):
        return (np.round(self.rng.normal(0.0, scale, shape) * GRID) / GRID).astype(F32)

    def raw(self, shape, scale=3.0):
        return self.rng.normal(0.0, scale, shape).astype(F32)

    def extreme(self, shape):
        return self.rng.choice(np.array(EXTREME, dtype=F32), size=shape)

    def nonfinite(self, shape):
        x = self.logits(shape).reshape(-1)
        x[: 3] = [np.inf, -np.inf, np.nan]
        self.rng.shuffle(x)
        return x.reshape(shape)

    def probs(self, shape, lo=0, hi=256):
        return (self.rng.integers(lo, hi + 1, shape) / GRID).astype(F32)

    def hard(self, shape, p=0.4):
        return (self.rng.random(shape) < p).astype(F32)

    def soft(self, shape):
        return (self.rng.integers(0, 17, shape) / 16.0).astype(F32)

    def labels(self, shape, c):
        return self.rng.integers(0, c, shape).astype(np.int64)


def onehot_cf(labels: np.ndarray, c: int) -> np.ndarray:
    """(B, *S) int labels -> (B, C, *S) float32 one-hot, channel-first."""
    return np.moveaxis(np.eye(c, dtype=F32)[labels], -1, 1).copy()


def onehot_cl(labels: np.ndarray, c: int) -> np.ndarray:
    return np.eye(c, dtype=F32)[labels]


def rng_for(name: str) -> Gen:
    return Gen(np.random.default_rng(zlib.crc32(name.encode())))


# --------------------------------------------------------------------------------------------
# torchvision


def torchvision_sigmoid_focal(g: Gen):
    s = (2, 1, 3, 3)
    reds = itertools.cycle(["none", "mean", "sum"])
    for alpha, gamma in itertools.product([None, -1.0, 0.0, 0.58, 1.0, 0.75], [None, 0.0, 0.5, 1.0, 3.5]):
        p = {k: v for k, v in (("alpha", alpha), ("gamma", gamma)) if v is not None}
        p["reduction"] = next(reds)
        g.add(f"alpha={alpha},gamma={gamma}", p, {"inputs": g.logits(s), "targets": g.hard(s)})
    for r in ["none", "mean", "sum"]:
        g.add("default-params", {"reduction": r} if r != "none" else {}, {"inputs": g.logits((1, 3, 4, 4)), "targets": g.hard((1, 3, 4, 4))})
        g.add("soft-targets", {"reduction": r}, {"inputs": g.logits(s), "targets": g.soft(s)})
        g.add("extreme-logits", {"reduction": r}, {"inputs": g.extreme((2, 1, 4, 4)), "targets": g.hard((2, 1, 4, 4))})
    g.add("extreme-logits,alpha=-1,gamma=0", {"alpha": -1.0, "gamma": 0.0}, {"inputs": g.extreme((1, 1, 4, 4)), "targets": g.hard((1, 1, 4, 4))})
    g.add("extreme-logits,gamma=0.5", {"gamma": 0.5}, {"inputs": g.extreme((1, 1, 4, 4)), "targets": g.hard((1, 1, 4, 4))})
    g.add("non-finite-logits", {}, {"inputs": g.nonfinite((1, 1, 3, 3)), "targets": g.hard((1, 1, 3, 3))})
    g.add("raw-f32", {"reduction": "none"}, {"inputs": g.raw((2, 2, 2, 2)), "targets": g.hard((2, 2, 2, 2))})
    g.add("raw-f32", {"reduction": "mean", "alpha": 0.3, "gamma": 1.5}, {"inputs": g.raw((2, 2, 3, 3)), "targets": g.hard((2, 2, 3, 3))})
    g.add("empty-mask", {"reduction": "mean"}, {"inputs": g.logits(s), "targets": np.zeros(s, F32)})
    g.add("full-mask", {"reduction": "sum"}, {"inputs": g.logits(s), "targets": np.ones(s, F32)})
    g.add("1d", {"reduction": "mean"}, {"inputs": g.logits((7,)), "targets": g.hard((7,))})
    g.add("error:alpha>1", {"alpha": 1.5}, {"inputs": g.logits(s), "targets": g.hard(s)}, True)
    g.add("error:alpha<0", {"alpha": -0.5}, {"inputs": g.logits(s), "targets": g.hard(s)}, True)
    g.add("error:reduction", {"reduction": "batchwise_mean"}, {"inputs": g.logits(s), "targets": g.hard(s)}, True)
    g.add("error:shape", {}, {"inputs": g.logits((1, 2, 2, 2)), "targets": g.hard((1, 1, 2, 2))}, True)


# --------------------------------------------------------------------------------------------
# MONAI


def monai_focal(g: Gen):
    s = (2, 3, 3, 3)
    reds = itertools.cycle(["mean", "sum", "none"])
    for gamma, alpha in itertools.product([None, 0.0, 0.5, 1.0, 3.0], [None, 0.25, 0.8]):
        p = {k: v for k, v in (("gamma", gamma), ("alpha", alpha)) if v is not None}
        p["reduction"] = next(reds)
        g.add(f"sigmoid,gamma={gamma},alpha={alpha}", p, {"input": g.logits(s), "target": g.hard(s)})
    for red in ["mean", "sum", "none"]:
        lab = g.labels((2, 1, 3, 3), 3).astype(F32)
        g.add("to_onehot_y", {"to_onehot_y": True, "reduction": red}, {"input": g.logits(s), "target": lab})
        g.add("no-background", {"to_onehot_y": True, "include_background": False, "reduction": red},
              {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
        g.add("softmax", {"use_softmax": True, "to_onehot_y": True, "reduction": red},
              {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
        g.add("softmax,alpha", {"use_softmax": True, "to_onehot_y": True, "alpha": 0.25, "reduction": red},
              {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("to_onehot_y,int64-target", {"to_onehot_y": True}, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3)})
    g.add("softmax,no-background,alpha-dropped", {"use_softmax": True, "to_onehot_y": True, "include_background": False, "alpha": 0.25},
          {"input": g.logits((1, 4, 3, 3)), "target": g.labels((1, 1, 3, 3), 4).astype(F32)})
    g.add("softmax,no-background,alpha-list", {"use_softmax": True, "to_onehot_y": True, "include_background": False, "alpha": [0.5, 0.25, 0.125], "reduction": "none"},
          {"input": g.logits((1, 4, 2, 2)), "target": g.labels((1, 1, 2, 2), 4).astype(F32)})
    g.add("softmax,alpha-list", {"use_softmax": True, "to_onehot_y": True, "alpha": [0.1, 0.3, 0.6]},
          {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("sigmoid,alpha-list", {"to_onehot_y": True, "alpha": [0.1, 0.3, 0.6], "reduction": "none"},
          {"input": g.logits((1, 3, 2, 2)), "target": g.labels((1, 1, 2, 2), 3).astype(F32)})
    g.add("weight-scalar", {"weight": 0.5, "to_onehot_y": True}, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("weight-list", {"weight": [0.5, 0.1, 2.0], "to_onehot_y": True, "reduction": "sum"}, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("weight-list,no-background", {"weight": [0.25, 2.0], "to_onehot_y": True, "include_background": False, "reduction": "none"},
          {"input": g.logits((1, 3, 2, 2)), "target": g.labels((1, 1, 2, 2), 3).astype(F32)})
    g.add("soft-targets", {"reduction": "none"}, {"input": g.logits((1, 2, 3, 3)), "target": g.soft((1, 2, 3, 3))})
    g.add("soft-targets,alpha", {"alpha": 0.25}, {"input": g.logits((1, 2, 3, 3)), "target": g.soft((1, 2, 3, 3))})
    g.add("extreme-logits", {"reduction": "none"}, {"input": g.extreme((1, 2, 4, 4)), "target": g.hard((1, 2, 4, 4))})
    g.add("extreme-logits,softmax", {"use_softmax": True, "reduction": "none"},
          {"input": g.extreme((1, 3, 2, 2)), "target": onehot_cf(g.labels((1, 2, 2), 3), 3)})
    g.add("single-channel", {"to_onehot_y": True, "include_background": False}, {"input": g.logits((2, 1, 3, 3)), "target": g.hard((2, 1, 3, 3))})
    g.add("3d", {"reduction": "mean"}, {"input": g.logits((1, 2, 2, 2, 2)), "target": g.hard((1, 2, 2, 2, 2))})
    g.add("raw-f32", {"alpha": 0.25, "reduction": "none"}, {"input": g.raw((1, 2, 2, 2)), "target": g.hard((1, 2, 2, 2))})
    g.add("empty-mask", {}, {"input": g.logits(s), "target": np.zeros(s, F32)})
    g.add("non-finite-logits", {"reduction": "none"}, {"input": g.nonfinite((1, 1, 3, 3)), "target": g.hard((1, 1, 3, 3))})
    for red in ["mean", "sum", "none"]:
        lab = g.labels((1, 1, 3, 3), 3).astype(F32)
        lab.reshape(-1)[[1, 5]] = 255
        g.add("ignore_index=255", {"to_onehot_y": True, "ignore_index": 255, "reduction": red}, {"input": g.logits((1, 3, 3, 3)), "target": lab})
    lab = g.labels((1, 1, 3, 3), 3).astype(F32)
    g.add("ignore_index=class", {"to_onehot_y": True, "ignore_index": 1}, {"input": g.logits((1, 3, 3, 3)), "target": lab})
    g.add("error:weight<0", {"weight": [1.0, -1.0, 1.0]}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:weight-length", {"weight": [1.0, 2.0]}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("weight-scalar,one-channel", {"weight": 2.5, "reduction": "none"}, {"input": g.logits((1, 1, 2, 2)), "target": g.hard((1, 1, 2, 2))})
    g.add("error:weight-list,one-channel-left", {"weight": [2.0], "to_onehot_y": True, "include_background": False},
          {"input": g.logits((1, 2, 2, 2)), "target": g.labels((1, 1, 2, 2), 2).astype(F32)}, True)
    g.add("error:alpha-length", {"alpha": [0.2, 0.8]}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:reduction", {"reduction": "median"}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:shape", {}, {"input": g.logits((1, 3, 2, 2)), "target": g.hard((1, 2, 2, 2))}, True)


def _monai_overlap_common(g: Gen, extra: list[dict[str, Any]]):
    """Shared grid of MONAI's dice-family losses; `extra` adds the loss's own parameters."""
    s = (2, 3, 3, 3)
    acts = [({}, "probs"), ({"sigmoid": True}, "logits"), ({"softmax": True}, "logits")]
    reds = itertools.cycle(["mean", "sum", "none"])
    for (act, kind), batch, incl in itertools.product(acts, [False, True], [True, False]):
        p = dict(act, batch=batch, include_background=incl, to_onehot_y=True, reduction=next(reds))
        x = g.probs(s) if kind == "probs" else g.logits(s)
        g.add(f"{'+'.join(act) or 'probs'},batch={batch},bg={incl}", p, {"input": x, "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    for e in extra:
        g.add(",".join(f"{k}={v}" for k, v in e.items()), dict(e, sigmoid=True), {"input": g.logits(s), "target": g.hard(s)})
    g.add("smooth=0", {"smooth_nr": 0.0, "smooth_dr": 0.0}, {"input": g.probs(s), "target": g.hard(s)})
    g.add("smooth=1", {"smooth_nr": 1.0, "smooth_dr": 1.0, "sigmoid": True}, {"input": g.logits(s), "target": g.hard(s)})
    g.add("smooth-nr-only", {"smooth_nr": 0.5, "smooth_dr": 1e-5, "reduction": "none"}, {"input": g.probs(s), "target": g.hard(s)})
    z = np.zeros((1, 2, 2, 2), F32)
    one = np.ones((1, 2, 2, 2), F32)
    g.add("empty-target,empty-pred", {"reduction": "none"}, {"input": z, "target": z})
    g.add("empty-target,full-pred", {"reduction": "none"}, {"input": one, "target": z})
    g.add("empty-target,empty-pred,smooth_nr=0", {"smooth_nr": 0.0, "reduction": "none"}, {"input": z, "target": z})
    g.add("empty-class", {"to_onehot_y": True, "softmax": True, "reduction": "none"},
          {"input": g.logits((1, 3, 2, 2)), "target": np.zeros((1, 1, 2, 2), F32)})
    g.add("soft-targets", {"reduction": "none"}, {"input": g.probs((1, 2, 3, 3)), "target": g.soft((1, 2, 3, 3))})
    g.add("extreme-logits", {"sigmoid": True, "reduction": "none"}, {"input": g.extreme((1, 2, 4, 4)), "target": g.hard((1, 2, 4, 4))})
    g.add("extreme-logits,softmax", {"softmax": True, "to_onehot_y": True, "reduction": "none"},
          {"input": g.extreme((1, 3, 4, 4)), "target": g.labels((1, 1, 4, 4), 3).astype(F32)})
    g.add("single-channel", {"softmax": True, "to_onehot_y": True, "include_background": False},
          {"input": g.probs((2, 1, 3, 3)), "target": g.hard((2, 1, 3, 3))})
    g.add("3d", {"sigmoid": True}, {"input": g.logits((1, 2, 2, 2, 2)), "target": g.hard((1, 2, 2, 2, 2))})
    g.add("raw-f32", {"sigmoid": True, "reduction": "none"}, {"input": g.raw((2, 2, 3, 3)), "target": g.hard((2, 2, 3, 3))})
    g.add("non-finite-logits", {"sigmoid": True, "reduction": "none"}, {"input": g.nonfinite((1, 2, 2, 2)), "target": g.hard((1, 2, 2, 2))})
    g.add("error:sigmoid+softmax", {"sigmoid": True, "softmax": True}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:reduction", {"reduction": "median"}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:shape", {}, {"input": g.probs((1, 3, 2, 2)), "target": g.hard((1, 2, 2, 2))}, True)


def monai_dice(g: Gen):
    extra = [{"squared_pred": True}, {"jaccard": True}, {"squared_pred": True, "jaccard": True},
             {"squared_pred": True, "batch": True, "reduction": "none"}, {"jaccard": True, "batch": True, "reduction": "sum"}]
    _monai_overlap_common(g, extra)
    s = (2, 3, 3, 3)
    g.add("weight-list", {"weight": [0.5, 1.0, 2.0], "softmax": True, "to_onehot_y": True}, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("weight-scalar", {"weight": 0.25, "sigmoid": True, "reduction": "none"}, {"input": g.logits(s), "target": g.hard(s)})
    g.add("weight-list,no-background", {"weight": [2.0, 0.5], "softmax": True, "to_onehot_y": True, "include_background": False, "reduction": "sum"},
          {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    lab = g.labels((1, 1, 3, 3), 3).astype(F32)
    lab.reshape(-1)[[0, 4]] = 255
    g.add("ignore_index=255", {"softmax": True, "to_onehot_y": True, "ignore_index": 255, "reduction": "none"}, {"input": g.logits((1, 3, 3, 3)), "target": lab})
    g.add("ignore_index=class", {"softmax": True, "to_onehot_y": True, "ignore_index": 0}, {"input": g.logits((1, 3, 3, 3)), "target": g.labels((1, 1, 3, 3), 3).astype(F32)})
    g.add("error:weight<0", {"weight": [1.0, -0.5, 1.0]}, {"input": g.probs(s), "target": g.hard(s)}, True)
    g.add("error:weight-length", {"weight": [1.0, 2.0]}, {"input": g.probs(s), "target": g.hard(s)}, True)
    # one channel left: MONAI skips `weight` (its length and sign checks too)
    g.add("weight-list,one-channel", {"weight": [3.0], "sigmoid": True, "reduction": "none"}, {"input": g.logits((2, 1, 3, 3)), "target": g.hard((2, 1, 3, 3))})
    g.add("weight-scalar,one-channel-left", {"weight": 0.25, "softmax": True, "to_onehot_y": True, "include_background": False},
          {"input": g.logits((2, 2, 3, 3)), "target": g.labels((2, 1, 3, 3), 2).astype(F32)})
    g.add("weight-list,one-channel-left", {"weight": [4.0], "softmax": True, "to_onehot_y": True, "include_background": False, "reduction": "sum"},
          {"input": g.logits((2, 2, 3, 3)), "target": g.labels((2, 1, 3, 3), 2).astype(F32)})
    g.add("weight-wrong-length,one-channel", {"weight": [1.0, 2.0, -1.0]}, {"input": g.probs((1, 1, 3, 3)), "target": g.hard((1, 1, 3, 3))})
    _monai_tanh(g)


def _monai_tanh(g: Gen, batch_none: bool = True):
    """`other_act=tanh`: scores in [-1, 1], sums that can be negative (MONAI divides by them),
    and `soft_label=True` (MONAI's L1 form with |p|)."""
    s = (2, 2, 3, 3)
    neg = (g.logits(s) - 2.0).astype(F32)  # mostly negative scores: negative sums
    g.add("tanh,negative-sums", {"other_act": "tanh", "reduction": "none"}, {"input": neg, "target": g.hard(s)})
    g.add("tanh,negative-sums,soft_label", {"other_act": "tanh", "soft_label": True, "reduction": "none"}, {"input": neg.copy(), "target": g.hard(s)})
    g.add("tanh,soft_label,soft-targets", {"other_act": "tanh", "soft_label": True}, {"input": g.logits(s), "target": g.soft(s)})
    g.add("tanh,to_onehot_y,batch", {"other_act": "tanh", "to_onehot_y": True, "batch": True, "reduction": "none" if batch_none else "sum"},
          {"input": g.logits((2, 3, 3, 3)), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("soft_label,soft-targets", {"soft_label": True, "reduction": "none"}, {"input": g.probs(s), "target": g.soft(s)})
    g.add("soft_label,sigmoid,batch", {"soft_label": True, "sigmoid": True, "batch": True}, {"input": g.logits(s), "target": g.soft(s)})


def monai_gdl(g: Gen):
    extra = [{"w_type": "simple"}, {"w_type": "uniform"}, {"w_type": "square", "batch": True},
             {"w_type": "simple", "batch": True, "reduction": "none"}, {"w_type": "uniform", "reduction": "none"}]
    _monai_overlap_common(g, extra)
    # one class absent in one sample: its infinite weight becomes that sample's largest weight
    lab = np.array([[[[0, 0, 2], [0, 2, 2], [0, 0, 0]]], [[[1, 1, 1], [0, 0, 1], [2, 2, 0]]]], dtype=np.int64).astype(F32)
    for w in ["square", "simple"]:
        for batch in [False, True]:
            g.add(f"absent-class,w_type={w},batch={batch}", {"softmax": True, "to_onehot_y": True, "w_type": w, "batch": batch, "reduction": "none"},
                  {"input": g.logits((2, 3, 3, 3)), "target": lab})
    g.add("all-classes-absent", {"to_onehot_y": True, "include_background": False, "smooth_nr": 1e-8, "smooth_dr": 1e-8},
          {"input": g.probs((2, 3, 2, 2)), "target": np.zeros((2, 1, 2, 2), F32)})
    g.add("error:w_type", {"w_type": "cubic"}, {"input": g.probs((1, 2, 2, 2)), "target": g.hard((1, 2, 2, 2))}, True)
    _monai_tanh(g)
    g.add("batch,none,3d", {"batch": True, "reduction": "none"}, {"input": g.probs((2, 2, 2, 2, 2)), "target": g.hard((2, 2, 2, 2, 2))})
    g.add("batch,none,1d", {"batch": True, "reduction": "none", "sigmoid": True}, {"input": g.logits((2, 3, 4)), "target": g.hard((2, 3, 4))})


def monai_tversky(g: Gen):
    extra = [{"alpha": 0.3, "beta": 0.7}, {"alpha": 0.7, "beta": 0.3}, {"alpha": 1.0, "beta": 1.0},
             {"alpha": 0.0, "beta": 1.0, "reduction": "none"}, {"alpha": 0.5, "beta": 0.5, "batch": True, "reduction": "none"},
             {"alpha": 2.0, "beta": 0.25, "reduction": "sum"}]
    _monai_overlap_common(g, extra)
    lab = g.labels((1, 1, 3, 3), 3).astype(F32)
    lab.reshape(-1)[[2, 3]] = 255
    g.add("ignore_index=255", {"softmax": True, "to_onehot_y": True, "ignore_index": 255, "alpha": 0.3, "beta": 0.7, "reduction": "none"},
          {"input": g.logits((1, 3, 3, 3)), "target": lab})
    _monai_tanh(g)
    g.add("none,3d", {"sigmoid": True, "reduction": "none"}, {"input": g.logits((2, 2, 2, 2, 2)), "target": g.hard((2, 2, 2, 2, 2))})
    g.add("none,batch,no-background", {"softmax": True, "to_onehot_y": True, "batch": True, "include_background": False, "reduction": "none"},
          {"input": g.logits((2, 3, 3, 3)), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})


def monai_dice_focal(g: Gen):
    s = (2, 3, 3, 3)
    reds = itertools.cycle(["mean", "sum", "none"])
    for act, incl in itertools.product([{}, {"sigmoid": True}, {"softmax": True}], [True, False]):
        p = dict(act, include_background=incl, to_onehot_y=True, reduction=next(reds))
        g.add(f"{'+'.join(act) or 'no-act'},bg={incl}", p, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    for extra in [{"gamma": 0.0}, {"gamma": 1.0, "alpha": 0.25}, {"alpha": 0.75, "lambda_dice": 0.5, "lambda_focal": 2.0},
                  {"lambda_dice": 0.0}, {"lambda_focal": 0.0}, {"squared_pred": True}, {"jaccard": True, "batch": True},
                  {"smooth_nr": 0.0, "smooth_dr": 1e-6}, {"weight": [0.5, 1.0, 2.0]}, {"weight": 0.5, "reduction": "none"}]:
        tag = ",".join(f"{k}={v}" for k, v in extra.items())
        g.add(tag, dict(extra, sigmoid=True), {"input": g.logits(s), "target": g.hard(s)})
    g.add("empty-mask", {"sigmoid": True}, {"input": g.logits(s), "target": np.zeros(s, F32)})
    g.add("extreme-logits", {"sigmoid": True, "reduction": "none"}, {"input": g.extreme((1, 2, 3, 3)), "target": g.hard((1, 2, 3, 3))})
    g.add("raw-f32", {"sigmoid": True}, {"input": g.raw((1, 2, 3, 3)), "target": g.hard((1, 2, 3, 3))})
    g.add("error:lambda<0", {"lambda_dice": -1.0}, {"input": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:target-channels", {}, {"input": g.logits((1, 3, 2, 2)), "target": g.hard((1, 2, 2, 2))}, True)
    # one channel left: the dice part skips `weight`, the focal part still applies a scalar
    g.add("weight-scalar,one-channel-left", {"weight": 3.0, "sigmoid": True, "to_onehot_y": True, "include_background": False},
          {"input": g.logits((2, 2, 3, 3)), "target": g.labels((2, 1, 3, 3), 2).astype(F32)})
    g.add("weight-scalar,one-channel", {"weight": 0.5, "sigmoid": True, "reduction": "none"}, {"input": g.logits((1, 1, 3, 3)), "target": g.hard((1, 1, 3, 3))})
    g.add("error:weight-list,one-channel-left", {"weight": [2.0], "sigmoid": True, "to_onehot_y": True, "include_background": False},
          {"input": g.logits((1, 2, 2, 2)), "target": g.labels((1, 1, 2, 2), 2).astype(F32)}, True)
    g.add("tanh", {"other_act": "tanh", "reduction": "none"}, {"input": (g.logits((1, 2, 3, 3)) - 2.0).astype(F32), "target": g.hard((1, 2, 3, 3))})
    g.add("error:soft_label", {"soft_label": True, "sigmoid": True}, {"input": g.logits((1, 2, 2, 2)), "target": g.hard((1, 2, 2, 2))}, True)


def monai_dice_ce(g: Gen):
    s = (2, 3, 3, 3)
    for act, red in itertools.product([{}, {"sigmoid": True}, {"softmax": True}], ["mean", "sum"]):
        x = g.probs(s) if not act else g.logits(s)
        g.add(f"{'+'.join(act) or 'probs'},{red}", dict(act, to_onehot_y=True, reduction=red), {"input": x, "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("lambdas", {"softmax": True, "to_onehot_y": True, "lambda_dice": 0.5, "lambda_ce": 2.0}, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("no-background,batch,jaccard", {"softmax": True, "to_onehot_y": True, "include_background": False, "batch": True, "jaccard": True},
          {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("one-channel,bce", {"sigmoid": True}, {"input": g.logits((2, 1, 3, 3)), "target": g.hard((2, 1, 3, 3))})
    g.add("one-channel,bce,sum", {"sigmoid": True, "reduction": "sum", "squared_pred": True}, {"input": g.logits((2, 1, 2, 2)), "target": g.hard((2, 1, 2, 2))})
    g.add("tanh", {"other_act": "tanh", "to_onehot_y": True}, {"input": (g.logits(s) - 2.0).astype(F32), "target": g.labels((2, 1, 3, 3), 3).astype(F32)})
    g.add("error:reduction-none", {"reduction": "none", "to_onehot_y": True, "softmax": True}, {"input": g.logits(s), "target": g.labels((2, 1, 3, 3), 3).astype(F32)}, True)
    g.add("error:soft_label", {"soft_label": True, "softmax": True}, {"input": g.logits(s), "target": onehot_cf(g.labels((2, 3, 3), 3), 3)}, True)


# --------------------------------------------------------------------------------------------
# segmentation_models_pytorch


def _smp_overlap(g: Gen, extra: list[dict[str, Any]]):
    # these losses have no reduction parameter: they always return a scalar
    # binary: y_true (N, 1, H, W) or (N, H, W)
    for smooth, log_loss, from_logits in itertools.product([0.0, 1.0], [False, True], [True, False]):
        x = g.logits((2, 1, 3, 3)) if from_logits else g.probs((2, 1, 3, 3))
        g.add(f"binary,smooth={smooth},log_loss={log_loss},from_logits={from_logits}",
              {"mode": "binary", "smooth": smooth, "log_loss": log_loss, "from_logits": from_logits},
              {"y_pred": x, "y_true": g.hard((2, 1, 3, 3))})
    g.add("binary,target-NHW", {"mode": "binary"}, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": g.hard((2, 3, 3))})
    # multiclass: y_true int64 (N, H, W)
    for smooth, from_logits in itertools.product([0.0, 0.5], [True, False]):
        x = g.logits((2, 4, 3, 3)) if from_logits else g.probs((2, 4, 3, 3))
        g.add(f"multiclass,smooth={smooth},from_logits={from_logits}", {"mode": "multiclass", "smooth": smooth, "from_logits": from_logits},
              {"y_pred": x, "y_true": g.labels((2, 3, 3), 4)})
    g.add("multiclass,absent-class", {"mode": "multiclass"}, {"y_pred": g.logits((1, 4, 2, 2)), "y_true": np.array([[[0, 1], [1, 0]]], dtype=np.int64)})
    g.add("multiclass,classes", {"mode": "multiclass", "classes": [1, 2]}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.labels((2, 3, 3), 3)})
    g.add("multiclass,class_weights", {"mode": "multiclass", "class_weights": [0.25, 1.0, 2.0]}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.labels((2, 3, 3), 3)})
    g.add("multiclass,classes+class_weights", {"mode": "multiclass", "classes": [0, 2], "class_weights": [0.5, 1.0, 1.5]},
          {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.labels((2, 3, 3), 3)})
    lab = g.labels((2, 3, 3), 3)
    lab.reshape(-1)[[0, 7, 11]] = 255
    g.add("multiclass,ignore_index=255", {"mode": "multiclass", "ignore_index": 255}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": lab})
    # multilabel
    g.add("multilabel", {"mode": "multilabel"}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.hard((2, 3, 3, 3))})
    g.add("multilabel,log_loss,smooth", {"mode": "multilabel", "log_loss": True, "smooth": 1.0}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.hard((2, 3, 3, 3))})
    y = g.hard((2, 3, 3, 3))
    y[:, 1] = 0.0
    g.add("multilabel,empty-class-with-fp", {"mode": "multilabel"}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": y})
    yi = g.hard((1, 2, 3, 3))
    yi.reshape(-1)[[1, 4, 9]] = -1.0
    g.add("multilabel,ignore_index=-1", {"mode": "multilabel", "ignore_index": -1}, {"y_pred": g.logits((1, 2, 3, 3)), "y_true": yi})
    yb = g.hard((1, 1, 4, 4))
    yb.reshape(-1)[[0, 5]] = -1.0
    g.add("binary,ignore_index=-1", {"mode": "binary", "ignore_index": -1}, {"y_pred": g.logits((1, 1, 4, 4)), "y_true": yb})
    for e in extra:
        g.add(",".join(f"{k}={v}" for k, v in e.items()), dict(e, mode="multilabel"), {"y_pred": g.logits((2, 2, 3, 3)), "y_true": g.hard((2, 2, 3, 3))})
    # empty masks: SMP zeroes classes without target pixels (even with false positives)
    g.add("binary,empty-target,full-pred", {"mode": "binary", "from_logits": False}, {"y_pred": np.ones((1, 1, 2, 2), F32), "y_true": np.zeros((1, 1, 2, 2), F32)})
    g.add("binary,empty-target,empty-pred", {"mode": "binary", "from_logits": False}, {"y_pred": np.zeros((1, 1, 2, 2), F32), "y_true": np.zeros((1, 1, 2, 2), F32)})
    g.add("binary,eps=1,from_logits=False", {"mode": "binary", "from_logits": False, "eps": 1.0}, {"y_pred": g.probs((1, 1, 3, 3), 0, 32), "y_true": g.hard((1, 1, 3, 3), 0.2)})
    g.add("extreme-logits", {"mode": "multilabel"}, {"y_pred": g.extreme((1, 2, 4, 4)), "y_true": g.hard((1, 2, 4, 4))})
    g.add("extreme-logits,multiclass", {"mode": "multiclass"}, {"y_pred": g.extreme((1, 3, 4, 4)), "y_true": g.labels((1, 4, 4), 3)})
    g.add("raw-f32", {"mode": "multilabel"}, {"y_pred": g.raw((2, 2, 3, 3)), "y_true": g.hard((2, 2, 3, 3))})
    g.add("error:class_weights-binary", {"mode": "binary", "class_weights": [1.0]}, {"y_pred": g.logits((1, 1, 2, 2)), "y_true": g.hard((1, 1, 2, 2))}, True)
    g.add("error:classes-binary", {"mode": "binary", "classes": [0]}, {"y_pred": g.logits((1, 1, 2, 2)), "y_true": g.hard((1, 1, 2, 2))}, True)
    g.add("error:mode", {"mode": "multiclas"}, {"y_pred": g.logits((1, 2, 2, 2)), "y_true": g.labels((1, 2, 2), 2)}, True)
    g.add("error:multiclass-float-target", {"mode": "multiclass"}, {"y_pred": g.logits((1, 2, 2, 2)), "y_true": g.hard((1, 2, 2))}, True)


def smp_dice(g: Gen):
    _smp_overlap(g, [{"eps": 1e-3}, {"smooth": 2.0, "log_loss": True}])


def smp_jaccard(g: Gen):
    _smp_overlap(g, [{"eps": 1e-3}, {"smooth": 2.0, "log_loss": True}])


def smp_tversky(g: Gen):
    _smp_overlap(g, [{"alpha": 0.3, "beta": 0.7}, {"alpha": 0.7, "beta": 0.3, "gamma": 2.0},
                     {"alpha": 1.0, "beta": 1.0, "gamma": 0.75}, {"gamma": 1.5, "smooth": 1.0}])
    g.add("multiclass,alpha,beta,gamma", {"mode": "multiclass", "alpha": 0.2, "beta": 0.8, "gamma": 1.33},
          {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.labels((2, 3, 3), 3)})


def smp_focal(g: Gen):
    reds = itertools.cycle(["mean", "sum", "none"])
    for alpha, gamma in itertools.product([None, 0.25, 0.9], [None, 0.0, 1.0, 2.5]):
        p = {"mode": "binary", "reduction": next(reds)}
        p.update({k: v for k, v in (("alpha", alpha), ("gamma", gamma)) if v is not None})
        g.add(f"binary,alpha={alpha},gamma={gamma}", p, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": g.hard((2, 1, 3, 3))})
    for red in ["mean", "sum", "none"]:
        g.add("multiclass", {"mode": "multiclass", "reduction": red}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.labels((2, 3, 3), 3)})
        g.add("multilabel", {"mode": "multilabel", "reduction": red, "alpha": 0.25}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.hard((2, 3, 3, 3))})
    g.add("batchwise_mean", {"mode": "binary", "reduction": "batchwise_mean"}, {"y_pred": g.logits((2, 1, 2, 2)), "y_true": g.hard((2, 1, 2, 2))})
    g.add("normalized", {"mode": "binary", "normalized": True}, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": g.hard((2, 1, 3, 3))})
    g.add("normalized,multiclass,sum", {"mode": "multiclass", "normalized": True, "reduction": "sum"}, {"y_pred": g.logits((1, 3, 3, 3)), "y_true": g.labels((1, 3, 3), 3)})
    g.add("reduced_threshold", {"mode": "binary", "reduced_threshold": 0.5, "reduction": "sum"}, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": g.hard((2, 1, 3, 3))})
    g.add("reduced_threshold,none", {"mode": "binary", "reduced_threshold": 0.25, "reduction": "none", "gamma": 3.0}, {"y_pred": g.logits((1, 1, 4, 4)), "y_true": g.hard((1, 1, 4, 4))})
    g.add("from_logits=False", {"mode": "binary", "from_logits": False}, {"y_pred": g.probs((2, 1, 3, 3)), "y_true": g.hard((2, 1, 3, 3))})
    g.add("from_logits=False,multiclass", {"mode": "multiclass", "from_logits": False}, {"y_pred": g.probs((1, 3, 3, 3)), "y_true": g.labels((1, 3, 3), 3)})
    g.add("from_logits=False,eps", {"mode": "multilabel", "from_logits": False, "eps": 1e-3, "reduction": "none"}, {"y_pred": g.probs((1, 2, 2, 2)), "y_true": g.hard((1, 2, 2, 2))})
    g.add("class_weights", {"mode": "multiclass", "class_weights": [0.5, 1.0, 4.0]}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": g.labels((2, 3, 3), 3)})
    yb = g.hard((2, 1, 3, 3))
    yb.reshape(-1)[[0, 3, 8]] = -1.0
    g.add("binary,ignore_index=-1", {"mode": "binary", "ignore_index": -1}, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": yb})
    g.add("binary,ignore_index=-1,none", {"mode": "binary", "ignore_index": -1, "reduction": "none"}, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": yb.copy()})
    lab = g.labels((2, 3, 3), 3)
    lab.reshape(-1)[[1, 2, 13]] = 255
    g.add("multiclass,ignore_index=255", {"mode": "multiclass", "ignore_index": 255}, {"y_pred": g.logits((2, 3, 3, 3)), "y_true": lab})
    g.add("soft-targets", {"mode": "binary", "reduction": "none"}, {"y_pred": g.logits((1, 1, 3, 3)), "y_true": g.soft((1, 1, 3, 3))})
    g.add("empty-mask", {"mode": "binary", "alpha": 0.25}, {"y_pred": g.logits((2, 1, 3, 3)), "y_true": np.zeros((2, 1, 3, 3), F32)})
    g.add("extreme-logits", {"mode": "binary", "reduction": "none", "alpha": 0.25}, {"y_pred": g.extreme((1, 1, 4, 4)), "y_true": g.hard((1, 1, 4, 4))})
    g.add("raw-f32", {"mode": "multilabel"}, {"y_pred": g.raw((2, 2, 3, 3)), "y_true": g.hard((2, 2, 3, 3))})
    yi = g.hard((1, 2, 2, 2))
    yi.reshape(-1)[0] = -1.0
    g.add("error:multilabel-ignore_index", {"mode": "multilabel", "ignore_index": -1}, {"y_pred": g.logits((1, 2, 2, 2)), "y_true": yi}, True)
    g.add("error:class_weights-binary", {"mode": "binary", "class_weights": [1.0]}, {"y_pred": g.logits((1, 1, 2, 2)), "y_true": g.hard((1, 1, 2, 2))}, True)
    g.add("error:mode", {"mode": "softmax"}, {"y_pred": g.logits((1, 2, 2, 2)), "y_true": g.hard((1, 2, 2, 2))}, True)
    for mode in ["multiclass", "multilabel"]:
        y = g.labels((2, 3, 2), 3) if mode == "multiclass" else g.hard((2, 3, 3, 2))
        g.add(f"{mode},batchwise_mean", {"mode": mode, "reduction": "batchwise_mean"}, {"y_pred": g.logits((2, 3, 3, 2)), "y_true": y})
    lab = g.labels((2, 2, 3), 3)
    lab.reshape(-1)[[0, 5]] = 255
    g.add("multiclass,batchwise_mean,ignore_index", {"mode": "multiclass", "reduction": "batchwise_mean", "ignore_index": 255}, {"y_pred": g.logits((2, 3, 2, 3)), "y_true": lab})
    g.add("multilabel,batchwise_mean,normalized", {"mode": "multilabel", "reduction": "batchwise_mean", "normalized": True}, {"y_pred": g.logits((3, 2, 2, 2)), "y_true": g.hard((3, 2, 2, 2))})
    g.add("multiclass,none,3d", {"mode": "multiclass", "reduction": "none"}, {"y_pred": g.logits((2, 3, 2, 2, 2)), "y_true": g.labels((2, 2, 2, 2), 3)})
    pe = np.array([[[[0.0, 1.0], [1e-7, 1.0 - 2**-24]]]], F32)
    g.add("from_logits=False,eps-default,probs-0-and-1", {"mode": "binary", "from_logits": False, "reduction": "none"}, {"y_pred": pe, "y_true": np.array([[[[1.0, 0.0], [1.0, 0.0]]]], F32)})
    g.add("binary,none,3d-flat", {"mode": "binary", "reduction": "none"}, {"y_pred": g.logits((2, 1, 2, 3)), "y_true": g.hard((2, 1, 2, 3))})
    g.add("error:class_weights,none", {"mode": "multiclass", "reduction": "none", "class_weights": [1.0, 2.0, 0.5]}, {"y_pred": g.logits((1, 3, 2, 2)), "y_true": g.labels((1, 2, 2), 3)}, True)


def smp_soft_bce(g: Gen):
    s = (2, 2, 3, 3)
    for red, smooth in itertools.product(["mean", "sum", "none"], [None, 0.1]):
        p = {"reduction": red}
        if smooth is not None:
            p["smooth_factor"] = smooth
        g.add(f"reduction={red},smooth_factor={smooth}", p, {"y_pred": g.logits(s), "y_true": g.hard(s)})
    y = g.hard(s)
    y.reshape(-1)[[0, 4, 9]] = -100.0
    g.add("ignore_index-default", {"reduction": "none"}, {"y_pred": g.logits(s), "y_true": y})
    y = g.hard(s)
    y.reshape(-1)[[1, 2]] = -1.0
    g.add("ignore_index=-1,mean", {"ignore_index": -1}, {"y_pred": g.logits(s), "y_true": y})
    g.add("soft-targets", {"smooth_factor": 0.2, "reduction": "none"}, {"y_pred": g.logits((1, 1, 2, 3)), "y_true": g.soft((1, 1, 2, 3))})
    g.add("extreme-logits", {"reduction": "none"}, {"y_pred": g.extreme((1, 1, 4, 4)), "y_true": g.hard((1, 1, 4, 4))})


# --------------------------------------------------------------------------------------------
# kornia


def kornia_binary_focal(g: Gen):
    s = (2, 2, 3, 3)
    reds = itertools.cycle(["none", "mean", "sum"])
    for alpha, gamma in itertools.product(["default", None, 0.5, 0.9], [None, 0.0, 1.0, 3.5]):
        p = {"reduction": next(reds)}
        if alpha != "default":
            p["alpha"] = alpha
        if gamma is not None:
            p["gamma"] = gamma
        g.add(f"alpha={alpha},gamma={gamma}", p, {"pred": g.logits(s), "target": g.hard(s)})
    g.add("pos_weight", {"pos_weight": [2.0, 0.5], "reduction": "none"}, {"pred": g.logits((1, 2, 2, 2)), "target": g.hard((1, 2, 2, 2))})
    g.add("weight", {"weight": [0.25, 4.0], "reduction": "mean"}, {"pred": g.logits(s), "target": g.hard(s)})
    g.add("pos_weight+weight", {"pos_weight": [3.0, 1.0], "weight": [1.0, 0.5], "reduction": "sum"}, {"pred": g.logits(s), "target": g.hard(s)})
    t = g.hard((1, 2, 3, 3))
    t.reshape(-1)[[2, 7, 11]] = -100.0
    g.add("ignore_index-default", {"reduction": "none"}, {"pred": g.logits((1, 2, 3, 3)), "target": t})
    g.add("ignore_index-default,mean", {"reduction": "mean"}, {"pred": g.logits((1, 2, 3, 3)), "target": t.copy()})
    t2 = g.hard((1, 2, 3, 3))
    t2.reshape(-1)[[0, 5]] = 255.0
    g.add("ignore_index=255", {"ignore_index": 255, "reduction": "none"}, {"pred": g.logits((1, 2, 3, 3)), "target": t2})
    g.add("ignore_index=None", {"ignore_index": None, "reduction": "mean"}, {"pred": g.logits(s), "target": g.hard(s)})
    g.add("soft-targets", {"reduction": "none"}, {"pred": g.logits((1, 1, 3, 3)), "target": g.soft((1, 1, 3, 3))})
    g.add("extreme-logits", {"reduction": "none"}, {"pred": g.extreme((1, 2, 4, 4)), "target": g.hard((1, 2, 4, 4))})
    g.add("non-finite-logits", {"reduction": "none"}, {"pred": g.nonfinite((1, 1, 3, 3)), "target": g.hard((1, 1, 3, 3))})
    g.add("empty-mask", {"reduction": "mean"}, {"pred": g.logits(s), "target": np.zeros(s, F32)})
    g.add("raw-f32", {"reduction": "none", "alpha": 0.3}, {"pred": g.raw((1, 2, 2, 2)), "target": g.hard((1, 2, 2, 2))})
    g.add("error:shape", {}, {"pred": g.logits((1, 2, 2, 2)), "target": g.hard((1, 1, 2, 2))}, True)
    g.add("error:pos_weight-length", {"pos_weight": [1.0, 2.0, 3.0]}, {"pred": g.logits(s), "target": g.hard(s)}, True)
    g.add("error:reduction", {"reduction": "median"}, {"pred": g.logits(s), "target": g.hard(s)}, True)


def kornia_focal(g: Gen):
    s = (2, 3, 3, 3)
    reds = itertools.cycle(["none", "mean", "sum"])
    for alpha, gamma in itertools.product([None, 0.25, 0.5, 1.0], [None, 0.0, 0.5, 2.0, 3.5]):
        p = {"alpha": alpha, "reduction": next(reds)}
        if gamma is not None:
            p["gamma"] = gamma
        g.add(f"alpha={alpha},gamma={gamma}", p, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)})
    for red in ["none", "mean", "sum"]:
        g.add("weight", {"alpha": 0.25, "weight": [0.5, 1.0, 2.0], "reduction": red}, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)})
        lab = g.labels((2, 3, 3), 3)
        lab.reshape(-1)[[0, 4, 9]] = -100
        g.add("ignore_index-default", {"alpha": 0.25, "reduction": red}, {"pred": g.logits(s), "target": lab})
    lab = g.labels((1, 3, 3), 4)
    lab.reshape(-1)[[1, 2]] = 255
    g.add("ignore_index=255", {"alpha": 0.5, "ignore_index": 255, "reduction": "mean"}, {"pred": g.logits((1, 4, 3, 3)), "target": lab})
    g.add("two-classes", {"alpha": 0.25, "reduction": "none"}, {"pred": g.logits((2, 2, 2, 2)), "target": g.labels((2, 2, 2), 2)})
    g.add("1d-spatial", {"alpha": 0.25, "reduction": "mean"}, {"pred": g.logits((2, 3, 5)), "target": g.labels((2, 5), 3)})
    g.add("extreme-logits", {"alpha": 0.25, "reduction": "none"}, {"pred": g.extreme((1, 3, 3, 3)), "target": g.labels((1, 3, 3), 3)})
    g.add("extreme-logits,mean", {"alpha": 0.25, "reduction": "mean"}, {"pred": g.extreme((1, 3, 3, 3)), "target": g.labels((1, 3, 3), 3)})
    g.add("raw-f32", {"alpha": 0.25, "reduction": "mean"}, {"pred": g.raw((2, 3, 2, 2)), "target": g.labels((2, 2, 2), 3)})
    g.add("error:alpha-missing", {}, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)}, True)
    g.add("error:label-out-of-range", {"alpha": 0.25, "reduction": "mean"}, {"pred": g.logits((1, 3, 2, 2)), "target": np.array([[[0, 1], [3, 2]]], dtype=np.int64)}, True)
    g.add("error:float-target", {"alpha": 0.25, "reduction": "mean"}, {"pred": g.logits((1, 3, 2, 2)), "target": g.hard((1, 2, 2))}, True)
    g.add("error:shape", {"alpha": 0.25}, {"pred": g.logits((1, 3, 2, 2)), "target": g.labels((1, 3, 2), 3)}, True)
    g.add("error:weight-length", {"alpha": 0.25, "weight": [1.0, 2.0]}, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)}, True)


def kornia_dice(g: Gen):
    s = (2, 3, 3, 3)
    for average, eps in itertools.product(["micro", "macro"], [None, 1e-6, 0.5]):
        p = {"average": average} if average != "micro" else {}
        if eps is not None:
            p["eps"] = eps
        g.add(f"average={average},eps={eps}", p, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)})
    for average in ["micro", "macro"]:
        g.add(f"{average},weight", {"average": average, "weight": [0.5, 1.0, 2.0]}, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)})
        g.add(f"{average},absent-class", {"average": average}, {"pred": g.logits((1, 3, 2, 2)), "target": np.array([[[0, 0], [2, 0]]], dtype=np.int64)})
        lab = g.labels((2, 3, 3), 3)
        lab.reshape(-1)[[0, 1, 10]] = -100
        g.add(f"{average},ignore_index-default", {"average": average}, {"pred": g.logits(s), "target": lab})
        lab = g.labels((1, 3, 3), 3)
        lab.reshape(-1)[[3, 4]] = 255
        g.add(f"{average},ignore_index=255", {"average": average, "ignore_index": 255}, {"pred": g.logits((1, 3, 3, 3)), "target": lab})
        g.add(f"{average},all-ignored", {"average": average}, {"pred": g.logits((1, 2, 2, 2)), "target": np.full((1, 2, 2), -100, dtype=np.int64)})
        g.add(f"{average},extreme-logits", {"average": average}, {"pred": g.extreme((1, 3, 3, 3)), "target": g.labels((1, 3, 3), 3)})
        g.add(f"{average},raw-f32", {"average": average}, {"pred": g.raw((2, 2, 3, 3)), "target": g.labels((2, 3, 3), 2)})
    g.add("macro,weight-zero-on-present", {"average": "macro", "weight": [0.0, 1.0, 1.0]}, {"pred": g.logits((1, 3, 2, 2)), "target": np.zeros((1, 2, 2), dtype=np.int64)})
    g.add("error:average", {"average": "weighted"}, {"pred": g.logits(s), "target": g.labels((2, 3, 3), 3)}, True)
    g.add("error:pred-3d", {}, {"pred": g.logits((2, 3, 4)), "target": g.labels((2, 4), 3)}, True)
    g.add("error:shape", {}, {"pred": g.logits((1, 3, 2, 2)), "target": g.labels((1, 2, 3), 3)}, True)


# --------------------------------------------------------------------------------------------
# Keras 3 (channel-last)


def keras_bfce(g: Gen):
    s = (2, 3, 3, 1)
    reds = itertools.cycle([None, "sum", "none", "mean"])
    for bal, from_logits, gamma in itertools.product([False, True], [False, True], [None, 0.0, 1.0, 3.0]):
        p = {"apply_class_balancing": bal, "from_logits": from_logits}
        if gamma is not None:
            p["gamma"] = gamma
        r = next(reds)
        if r is not None:
            p["reduction"] = r
        x = g.logits(s) if from_logits else g.probs(s, 1, 255)
        g.add(f"balancing={bal},from_logits={from_logits},gamma={gamma}", p, {"y_true": g.hard(s), "y_pred": x})
    for alpha in [0.0, 0.75, 1.0]:
        g.add(f"alpha={alpha}", {"apply_class_balancing": True, "alpha": alpha, "from_logits": True}, {"y_true": g.hard(s), "y_pred": g.logits(s)})
    for ls in [0.1, 0.5]:
        g.add(f"label_smoothing={ls}", {"label_smoothing": ls, "from_logits": True, "reduction": "none"}, {"y_true": g.hard((2, 4)), "y_pred": g.logits((2, 4))})
    g.add("axis=1", {"axis": 1, "reduction": "none"}, {"y_true": g.hard((2, 3, 2)), "y_pred": g.probs((2, 3, 2), 1, 255)})
    g.add("2d-input", {}, {"y_true": g.hard((4, 5)), "y_pred": g.probs((4, 5), 1, 255)})
    g.add("probs-0-and-1", {"reduction": "none"}, {"y_true": np.array([[0, 1, 0, 1]], F32), "y_pred": np.array([[0, 0, 1, 1]], F32)})
    g.add("extreme-logits", {"from_logits": True, "apply_class_balancing": True, "reduction": "none"}, {"y_true": g.hard((2, 8)), "y_pred": g.extreme((2, 8))})
    g.add("soft-targets", {"from_logits": True, "reduction": "none"}, {"y_true": g.soft((2, 4)), "y_pred": g.logits((2, 4))})
    g.add("empty-mask", {"from_logits": True}, {"y_true": np.zeros(s, F32), "y_pred": g.logits(s)})
    g.add("raw-f32", {"from_logits": True, "reduction": "none"}, {"y_true": g.hard((2, 3)), "y_pred": g.raw((2, 3))})
    g.add("non-finite-logits", {"from_logits": True, "reduction": "none"}, {"y_true": g.hard((3, 3)), "y_pred": g.nonfinite((3, 3))})
    g.add("reduction=null", {"reduction": None, "from_logits": True}, {"y_true": g.hard((2, 3)), "y_pred": g.logits((2, 3))})
    g.add("error:reduction", {"reduction": "median"}, {"y_true": g.hard((2, 3)), "y_pred": g.logits((2, 3))}, True)
    g.add("error:shape", {}, {"y_true": g.hard((2, 3)), "y_pred": g.probs((2, 4))}, True)


def keras_cfce(g: Gen):
    s = (2, 2, 2, 3)
    reds = itertools.cycle([None, "sum", "none", "mean"])
    for alpha, gamma, from_logits in itertools.product([None, 0.5, [0.25, 0.5, 1.0]], [None, 0.0, 1.5], [False, True]):
        p = {"from_logits": from_logits}
        if alpha is not None:
            p["alpha"] = alpha
        if gamma is not None:
            p["gamma"] = gamma
        r = next(reds)
        if r is not None:
            p["reduction"] = r
        x = g.logits(s) if from_logits else g.probs(s, 1, 255)
        g.add(f"alpha={alpha},gamma={gamma},from_logits={from_logits}", p, {"y_true": onehot_cl(g.labels(s[:-1], 3), 3), "y_pred": x})
    for ls in [0.1, 0.3]:
        g.add(f"label_smoothing={ls}", {"label_smoothing": ls, "reduction": "none"}, {"y_true": onehot_cl(g.labels((3,), 4), 4), "y_pred": g.probs((3, 4), 1, 255)})
    g.add("unnormalised-probs", {"reduction": "none"}, {"y_true": onehot_cl(g.labels((3,), 3), 3), "y_pred": g.probs((3, 3), 1, 256)})
    g.add("probs-0-and-1", {"reduction": "none"}, {"y_true": np.array([[1, 0, 0], [0, 1, 0]], F32), "y_pred": np.array([[1, 0, 0], [1, 0, 0]], F32)})
    g.add("axis=1", {"axis": 1, "reduction": "none"}, {"y_true": np.moveaxis(onehot_cl(g.labels((2, 2), 3), 3), -1, 1).copy(), "y_pred": g.probs((2, 3, 2), 1, 255)})
    g.add("soft-targets", {"reduction": "none", "from_logits": True}, {"y_true": np.array([[0.5, 0.25, 0.25], [0.0, 0.875, 0.125]], F32), "y_pred": g.logits((2, 3))})
    g.add("extreme-logits", {"from_logits": True, "reduction": "none"}, {"y_true": onehot_cl(g.labels((4,), 3), 3), "y_pred": g.extreme((4, 3))})
    g.add("raw-f32", {"from_logits": True}, {"y_true": onehot_cl(g.labels((2, 2), 3), 3), "y_pred": g.raw((2, 2, 3))})
    g.add("error:alpha-length", {"alpha": [0.5, 0.5]}, {"y_true": onehot_cl(g.labels((2,), 3), 3), "y_pred": g.probs((2, 3), 1, 255)}, True)
    g.add("error:reduction", {"reduction": "median"}, {"y_true": onehot_cl(g.labels((2,), 3), 3), "y_pred": g.probs((2, 3), 1, 255)}, True)


def keras_dice(g: Gen, tversky: bool):
    s = (2, 3, 3, 2)
    reds = itertools.cycle([None, "none", "sum", "mean"])
    params = [{}] if not tversky else [{}, {"alpha": 0.3, "beta": 0.7}, {"alpha": 0.7, "beta": 0.3}, {"alpha": 1.0, "beta": 0.0}]
    for extra, axis in itertools.product(params, [None, [1, 2, 3], [1, 2], [3], -1]):
        p = dict(extra)
        if axis is not None:
            p["axis"] = axis
        r = next(reds)
        if r is not None:
            p["reduction"] = r
        tag = ",".join([f"{k}={v}" for k, v in extra.items()] + [f"axis={axis}"])
        g.add(tag, p, {"y_true": g.hard(s), "y_pred": g.probs(s)})
    z = np.zeros((2, 2, 2, 1), F32)
    g.add("empty-target,empty-pred", {}, {"y_true": z, "y_pred": z})
    g.add("empty-target,empty-pred,per-sample", {"axis": [1, 2, 3], "reduction": "none"}, {"y_true": z, "y_pred": z})
    g.add("empty-target,full-pred", {}, {"y_true": z, "y_pred": np.ones_like(z)})
    g.add("soft-targets", {"axis": [1, 2, 3], "reduction": "none"}, {"y_true": g.soft(s), "y_pred": g.probs(s)})
    g.add("2d-input", {"axis": 1}, {"y_true": g.hard((3, 5)), "y_pred": g.probs((3, 5))})
    g.add("raw-probs", {"axis": [1, 2, 3], "reduction": "none"}, {"y_true": g.hard(s), "y_pred": g.rng.random(s).astype(F32)})
    g.add("error:reduction", {"reduction": "median"}, {"y_true": g.hard(s), "y_pred": g.probs(s)}, True)


def keras_tversky(g: Gen):
    keras_dice(g, True)
    # one hit, one false positive, two misses: tells which of alpha / beta weights what
    yt, yp = np.array([[1, 1, 1, 0]], F32), np.array([[1, 0, 0, 1]], F32)
    g.add("which-weights-misses,alpha=1,beta=0", {"alpha": 1.0, "beta": 0.0}, {"y_true": yt, "y_pred": yp})
    g.add("which-weights-misses,alpha=0,beta=1", {"alpha": 0.0, "beta": 1.0}, {"y_true": yt.copy(), "y_pred": yp.copy()})


# --------------------------------------------------------------------------------------------
# the seed article


def seed_focal_class(g: Gen):
    s = (2, 1, 3, 3)
    sampl = itertools.cycle(["mean", "sum", "none"])
    for alpha, gamma, logits in itertools.product([None, 0.5, 0.9], [None, 0.0, 1.0, 3.0], [False, True]):
        p = {"sampling": next(sampl)}
        if alpha is not None:
            p["alpha"] = alpha
        if gamma is not None:
            p["gamma"] = gamma
        if logits:
            p["logits"] = True
        x = g.logits(s) if logits else g.probs(s)
        g.add(f"alpha={alpha},gamma={gamma},logits={logits}", p, {"y_pred": x, "y_true": g.hard(s)})
    g.add("clamp", {"clamp_min": 0.05, "clamp_max": 0.95, "sampling": "none"}, {"y_pred": g.probs(s), "y_true": g.hard(s)})
    g.add("clamp-off", {"clamp_min": 0.0, "clamp_max": 1.0, "sampling": "none"}, {"y_pred": g.probs(s, 1, 255), "y_true": g.hard(s)})
    g.add("probs-0-and-1", {"sampling": "none"}, {"y_pred": np.array([[0, 1, 0, 1]], F32), "y_true": np.array([[0, 0, 1, 1]], F32)})
    g.add("soft-targets", {"sampling": "none"}, {"y_pred": g.probs((1, 6)), "y_true": g.soft((1, 6))})
    g.add("extreme-logits", {"logits": True, "sampling": "none"}, {"y_pred": g.extreme((1, 1, 4, 4)), "y_true": g.hard((1, 1, 4, 4))})
    g.add("empty-mask", {}, {"y_pred": g.probs(s), "y_true": np.zeros(s, F32)})
    g.add("raw-f32", {"logits": True}, {"y_pred": g.raw((2, 2, 2, 2)), "y_true": g.hard((2, 2, 2, 2))})
    # the article's worked example: 10 hard positives (p_t = 0.05) among easy negatives (p_t = 0.95)
    y = np.zeros((1, 1000), F32)
    y[0, :10] = 1.0
    x = np.full((1, 1000), 0.05, F32)
    g.add("article-example,10-pos,990-neg", {"sampling": "sum"}, {"y_pred": x, "y_true": y})
    g.add("error:sampling", {"sampling": "median"}, {"y_pred": g.probs(s), "y_true": g.hard(s)}, True)


def seed_dice_class(g: Gen):
    for smooth, shape in itertools.product([None, 0.0, 1e-5, 2.0], [(1, 1, 4, 4), (2, 3, 3, 3)]):
        p = {} if smooth is None else {"smooth": smooth}
        g.add(f"smooth={smooth}", p, {"input": g.probs(shape), "target": g.hard(shape)})
    z = np.zeros((2, 1, 2, 2), F32)
    g.add("empty-masks", {}, {"input": z, "target": z})
    g.add("perfect", {}, {"input": np.ones_like(z), "target": np.ones_like(z)})
    g.add("empty-target,full-pred", {}, {"input": np.ones_like(z), "target": z})
    g.add("soft-targets", {}, {"input": g.probs((2, 1, 3, 3)), "target": g.soft((2, 1, 3, 3))})
    g.add("empty-masks,smooth=0", {"smooth": 0.0}, {"input": z, "target": z})
    g.add("raw-probs", {}, {"input": g.rng.random((2, 2, 3, 3)).astype(F32), "target": g.hard((2, 2, 3, 3))})
    g.add("error:shape", {}, {"input": g.probs((2, 1, 2, 2)), "target": g.hard((2, 1, 2, 3))}, True)


def seed_dice_fn(g: Gen):
    for smooth, shape in itertools.product([None, 0.0, 1e-5, 2.0], [(1, 4, 4, 1), (2, 3, 3, 3)]):
        p = {} if smooth is None else {"smooth": smooth}
        g.add(f"smooth={smooth}", p, {"y_true": g.hard(shape), "y_pred": g.probs(shape)})
    z = np.zeros((2, 2, 2, 1), F32)
    g.add("empty-masks", {}, {"y_true": z, "y_pred": z})
    g.add("empty-masks,smooth=0", {"smooth": 0.0}, {"y_true": z, "y_pred": z})
    g.add("empty-target,full-pred", {}, {"y_true": z, "y_pred": np.ones_like(z)})
    g.add("soft-targets", {}, {"y_true": g.soft((2, 3, 3, 1)), "y_pred": g.probs((2, 3, 3, 1))})
    g.add("raw-probs", {}, {"y_true": g.hard((2, 3, 3, 2)), "y_pred": g.rng.random((2, 3, 3, 2)).astype(F32)})


def seed_focal_fn(g: Gen):
    s = (2, 3, 3, 1)
    for alpha, gamma in itertools.product([None, 0.0, 0.5, 1.0], [None, 0.0, 1.0, 3.0]):
        p = {k: v for k, v in (("alpha", alpha), ("gamma", gamma)) if v is not None}
        g.add(f"alpha={alpha},gamma={gamma}", p, {"y_true": g.hard(s), "y_pred": g.probs(s)})
    g.add("probs-0-and-1", {}, {"y_true": np.array([[0, 0, 1, 1]], F32), "y_pred": np.array([[0, 1, 0, 1]], F32)})
    g.add("soft-targets", {}, {"y_true": g.soft((1, 6)), "y_pred": g.probs((1, 6))})
    g.add("empty-mask", {}, {"y_true": np.zeros(s, F32), "y_pred": g.probs(s)})
    g.add("raw-probs", {}, {"y_true": g.hard((2, 3, 3, 2)), "y_pred": g.rng.random((2, 3, 3, 2)).astype(F32)})


GRIDS = {
    "torchvision.ops.sigmoid_focal_loss": torchvision_sigmoid_focal,
    "monai.losses.FocalLoss": monai_focal,
    "monai.losses.DiceLoss": monai_dice,
    "monai.losses.GeneralizedDiceLoss": monai_gdl,
    "monai.losses.TverskyLoss": monai_tversky,
    "monai.losses.DiceFocalLoss": monai_dice_focal,
    "monai.losses.DiceCELoss": monai_dice_ce,
    "segmentation_models_pytorch.losses.DiceLoss": smp_dice,
    "segmentation_models_pytorch.losses.JaccardLoss": smp_jaccard,
    "segmentation_models_pytorch.losses.TverskyLoss": smp_tversky,
    "segmentation_models_pytorch.losses.FocalLoss": smp_focal,
    "segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss": smp_soft_bce,
    "kornia.losses.binary_focal_loss_with_logits": kornia_binary_focal,
    "kornia.losses.focal_loss": kornia_focal,
    "kornia.losses.dice_loss": kornia_dice,
    "keras.losses.BinaryFocalCrossentropy": keras_bfce,
    "keras.losses.CategoricalFocalCrossentropy": keras_cfce,
    "keras.losses.Dice": lambda g: keras_dice(g, False),
    "keras.losses.Tversky": keras_tversky,
    "seed.FocalLoss": seed_focal_class,
    "seed.DiceLoss": seed_dice_class,
    "seed.dice_loss": seed_dice_fn,
    "seed.focal_loss": seed_focal_fn,
}


def all_cases() -> dict[str, list[Case]]:
    out = {}
    for name, build in GRIDS.items():
        g = rng_for(name)
        build(g)
        out[name] = g.cases
    return out
