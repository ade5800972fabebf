"""``loss_core.batch``: the ``loss-tools batch`` contract on dicts, tensors as JSON objects or
as NumPy arrays, checked against the frameworks' vectors and, where the CLI is available
(``LOSS_TOOLS_BIN``), against its responses bit for bit."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

import loss_core
from conftest import as_array, check_against_framework, number, vectors

VECTORS = vectors()


def bits(data) -> bytes:
    return np.asarray(data, dtype=np.float32).tobytes()


def same_bits(a, b) -> bool:
    """Bit for bit, but any NaN equals any NaN: the JSON text "NaN" has no sign or payload."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all()) and bits(a[~nan]) == bits(b[~nan])


def test_every_vector_file_is_read():
    functions = {v["function"] for v in VECTORS}
    assert len(VECTORS) > 700 and len(functions) == 23


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["id"])
def test_vector_through_batch_json_and_numpy(v):
    response = loss_core.batch(v)
    assert response["id"] == v["id"]
    ok = "loss" in response
    loss = response.get("loss", {})
    check_against_framework(v, ok, loss.get("shape"), loss.get("data"), response.get("error", ""))
    # The same request with NumPy arrays: the same bits, or the same error.
    arrays = dict(v, inputs={k: as_array(t) for k, t in v["inputs"].items()})
    again = loss_core.batch(arrays)
    assert again.keys() == response.keys()
    if ok:
        assert again["loss"]["shape"] == loss["shape"]
        assert again["loss"]["data"].dtype == np.float32
        assert bits(again["loss"]["data"]) == bits(loss["data"])
    else:
        assert again["error"] == response["error"]


@pytest.mark.skipif(
    not os.environ.get("LOSS_TOOLS_BIN"),
    reason="LOSS_TOOLS_BIN (a built loss-tools) not set; .ci/run sets it",
)
def test_batch_gives_the_cli_bits():
    lines = [json.dumps(v) for v in VECTORS]
    lines += [
        json.dumps({"id": "bad", "function": "monai.losses.DiceLoss", "params": {"smoth_nr": 1}}),
        json.dumps({"id": 7, "function": "nope"}),
        json.dumps({"id": "f", "function": "seed.dice_loss", "stray": 1}),
    ]
    cli = subprocess.run(
        [os.environ["LOSS_TOOLS_BIN"], "batch"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    responses = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(responses) == len(lines)
    for n, (line, cli_response) in enumerate(zip(lines, responses), start=1):
        ours = loss_core.batch(json.loads(line))
        assert ours["id"] == cli_response["id"]
        if "error" in cli_response:
            assert cli_response["error"] == f"line {n}: {ours['error']}"
            continue
        assert ours["loss"]["shape"] == cli_response["loss"]["shape"]
        expected = np.array([number(x) for x in cli_response["loss"]["data"]], dtype=np.float32)
        assert same_bits(ours["loss"]["data"], expected), ours["id"]


def test_errors_are_responses_like_the_cli():
    assert loss_core.batch([1, 2]) == {"id": None, "error": "a request must be a JSON object"}
    r = loss_core.batch({"id": "x", "function": "monai.losses.DiceLoss", "params": {"smoth_nr": 1}})
    assert r == {"id": "x", "error": "unsupported parameter `smoth_nr` for monai.losses.DiceLoss"}
    r = loss_core.batch({"function": 3})
    assert r["error"] == "`function` (a string) is required" and r["id"] is None
    r = loss_core.batch({"function": "seed.dice_loss", "stray": object()})
    assert r["error"] == "unknown request field `stray`"
    r = loss_core.batch({"function": "seed.dice_loss", "params": [1]})
    assert r["error"] == "`params` must be an object"
    r = loss_core.batch({"function": "seed.dice_loss", "inputs": 3})
    assert r["error"] == "`inputs` must be an object"
    r = loss_core.batch({"id": 1, "function": "seed.dice_loss", "inputs": {"y_true": [1.0]}})
    assert r == {"id": 1, "error": "missing input `y_pred`"}


def test_scalar_and_shaped_results():
    x = np.array([[3.0, -2.0], [0.5, -4.0]], np.float32)
    t = np.array([[1, 0], [1, 0]], np.float32)
    request = {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": x, "targets": t}}
    r = loss_core.batch(request)
    assert r["loss"]["shape"] == [2, 2] and r["loss"]["data"].shape == (4,)
    request["params"] = {"reduction": "mean"}
    r = loss_core.batch(request)
    assert r["loss"]["shape"] == [] and r["loss"]["data"].shape == (1,)
