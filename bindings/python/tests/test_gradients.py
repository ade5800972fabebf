"""Gradients through the package: every framework vector that carries the library's autograd
gradient (``expected_grad``), asked through ``batch`` with ``"grad": True`` and through the
framework-shaped ``loss_and_grad``, under the Rust suite's rule (tests/tests/framework_vectors.rs):
per element ``|a - b| <= 1e-4 max |b|`` against the f64 gradient or the f32 one, NaN where the
framework's autograd gives NaN."""

from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np
import pytest

import loss_core
from conftest import as_array, expected_values, vectors

GRADIENT_VECTORS = [v for v in vectors() if "expected_grad" in v]


def grad_close(got: Any, expected: np.ndarray) -> bool:
    got = np.asarray(got, dtype=np.float64).ravel()
    if got.shape != expected.shape:
        return False
    finite = expected[np.isfinite(expected)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    for g, e in zip(got, expected):
        if math.isnan(e) or math.isnan(g):
            if not (math.isnan(e) and math.isnan(g)):
                return False
        elif not (g == e or abs(g - e) <= 1e-4 * scale):
            return False
    return True


def expected_gradient(v: Dict[str, Any]):
    (name, tensor), = v["expected_grad"].items()
    f64 = v.get("expected_grad_f64", {}).get(name)
    return name, tensor["shape"], expected_values(tensor), f64 and expected_values(f64)


def test_there_are_gradient_vectors():
    functions = {v["function"] for v in GRADIENT_VECTORS}
    assert "torchvision.ops.sigmoid_focal_loss" in functions
    assert len(functions) >= 8 and len(GRADIENT_VECTORS) >= 100


@pytest.mark.parametrize("v", GRADIENT_VECTORS, ids=lambda v: v["id"])
def test_batch_grad_reproduces_the_framework(v: Dict[str, Any]) -> None:
    request = {k: v[k] for k in ("id", "function", "params", "inputs") if k in v}
    response = loss_core.batch({**request, "grad": True})
    assert "error" not in response, response
    name, shape, f32, f64 = expected_gradient(v)
    (got_name, got), = response["grad"].items()
    assert got_name == name and list(got["shape"]) == shape
    assert grad_close(got["data"], f32) or (f64 is not None and grad_close(got["data"], f64))
    # Without "grad" there is none.
    assert "grad" not in loss_core.batch(request)


@pytest.mark.parametrize("v", GRADIENT_VECTORS[::7], ids=lambda v: v["id"])
def test_loss_and_grad_matches_batch(v: Dict[str, Any]) -> None:
    prefix, name = v["function"].split(".", 1)[0], v["function"].rsplit(".", 1)[1]
    target = getattr(getattr(loss_core, prefix), name)
    tensors = {k: as_array(t) for k, t in v["inputs"].items()}
    params = v.get("params", {})
    if isinstance(target, type):
        loss, grad = target(**params).loss_and_grad(**tensors)
    else:
        loss, grad = target.loss_and_grad(**tensors, **params)
    response = loss_core.batch({"function": v["function"], "params": params,
                                "inputs": v["inputs"], "grad": True})
    (gname, g), = response["grad"].items()
    assert list(grad) == [gname]
    np.testing.assert_array_equal(np.asarray(grad[gname]).ravel(), g["data"])
    np.testing.assert_array_equal(np.asarray(loss, dtype=np.float32).ravel(), response["loss"]["data"])


def test_no_gradient_is_a_value_error() -> None:
    x = np.zeros((1, 1, 2), np.float32)
    with pytest.raises(ValueError, match="gradients are not supported"):
        loss_core.monai.DiceLoss(sigmoid=True).loss_and_grad(x, x)
    response = loss_core.batch({"function": "monai.losses.DiceLoss", "grad": True,
                                "inputs": {"input": x, "target": x}})
    assert "gradients are not supported" in response["error"]
