"""Shared helpers: the framework vectors of the repository (tests/data/frameworks/*.jsonl)."""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any, Dict, List

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "data" / "frameworks"

#: Where the project deliberately differs from the framework (docs/conventions.md), as in
#: tests/tests/framework_vectors.rs.
DEVIATIONS = {
    "torchvision.ops.sigmoid_focal_loss/041/non-finite-logits": "limit",
    "monai.losses.FocalLoss/043/non-finite-logits": "limit",
    "keras.losses.BinaryFocalCrossentropy/028/non-finite-logits": "nan",
    "monai.losses.DiceFocalLoss/000/no-act,bg=True": "range",
    "monai.losses.DiceFocalLoss/001/no-act,bg=False": "range",
}


def vectors() -> List[Dict[str, Any]]:
    """Every vector line, parsed."""
    files = sorted(VECTORS.glob("*.jsonl"))
    assert len(files) >= 21, f"expected a file per function in {VECTORS}"
    out = []
    for f in files:
        for line in f.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def number(x: Any) -> float:
    if isinstance(x, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[x]
    return float(x)


def expected_values(v: Dict[str, Any]) -> np.ndarray:
    return np.array([number(x) for x in v["data"]], dtype=np.float64)


def as_array(tensor: Any) -> np.ndarray:
    """A JSON tensor of the batch format as the NumPy array a user would pass."""
    if not isinstance(tensor, dict):
        return np.asarray(tensor, dtype=np.float32)
    dtype = tensor.get("dtype", "float32")
    data = np.array([number(x) for x in _flat(tensor["data"])], dtype=np.float64)
    if dtype in ("int64", "int32", "uint8", "int16", "uint16"):
        array = data.astype(np.int64)
    else:
        array = data.astype(np.float32)
    shape = tensor.get("shape")
    return array.reshape(shape) if shape is not None else array


def _flat(data: Any) -> List[Any]:
    if isinstance(data, list):
        return [y for x in data for y in _flat(x)]
    return [data]


def close(got: np.ndarray, expected: np.ndarray) -> bool:
    """|a - b| <= 1e-5 |b| + 1e-6, NaN equal to NaN (the Rust suite's rule)."""
    got = np.asarray(got, dtype=np.float64).ravel()
    if got.shape != expected.shape:
        return False
    both_nan = np.isnan(got) & np.isnan(expected)
    with np.errstate(invalid="ignore"):
        ok = (got == expected) | (np.abs(got - expected) <= 1e-5 * np.abs(expected) + 1e-6)
    return bool(np.all(ok | both_nan))


def check_against_framework(v: Dict[str, Any], ok: bool, shape: Any, data: Any, error: str) -> None:
    """Asserts that one answer reproduces the framework's vector (or its documented
    deviation)."""
    vid = v["id"]
    deviation = DEVIATIONS.get(vid)
    if deviation == "range":
        assert not ok and "outside [0, 1]" in error, vid
        return
    if deviation == "nan":
        assert ok and np.isnan(np.asarray(data)).any(), vid
        return
    if deviation == "limit":
        expected = expected_values(v["expected"])
        got = np.asarray(data, dtype=np.float64).ravel()
        finite = ~np.isnan(expected)
        assert ok and close(got[finite], expected[finite]), vid
        # Where the framework computes NaN, at least one limit is a number here.
        assert (~np.isnan(got[~finite])).any(), vid
        return
    if "expected_error" in v:
        assert not ok, f"{vid}: accepted, but the framework raised {v['expected_error']}"
        return
    assert ok, f"{vid}: {error}"
    assert list(shape) == v["expected"]["shape"], f"{vid}: shape {shape}"
    if "expected_f64" in v and close(data, expected_values(v["expected_f64"])):
        return
    assert close(data, expected_values(v["expected"])), f"{vid}: got {data}"
