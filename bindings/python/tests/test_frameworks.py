"""The framework-shaped entry points (``loss_core.torchvision.sigmoid_focal_loss``,
``loss_core.monai.DiceLoss(...)(...)``, ...): every framework vector through them gives the
bits of ``loss_core.batch``, and they take arguments the way the frameworks do."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import loss_core
from loss_core import _native
from conftest import as_array, check_against_framework, vectors

VECTORS = vectors()
SIGNATURES = {s["function"]: s for s in _native.signatures()}


def entry_point(function: str):
    prefix, _, name = function.partition(".")
    module = importlib.import_module(f"loss_core.{prefix}")
    return getattr(module, function.rsplit(".", 1)[1])


def call(function: str, params: dict, inputs: dict):
    """Calls the entry point the way a user of the framework would: a class is constructed with
    the parameters and called with the tensors, a function gets both as keywords."""
    f = entry_point(function)
    if isinstance(f, type):
        return f(**params)(**inputs)
    return f(**inputs, **params)


def test_entry_points_cover_the_mapping():
    assert len(SIGNATURES) == 23 + 7
    for function, sig in SIGNATURES.items():
        f = entry_point(function)
        assert f.__doc__ and function in f.__doc__
        name = function.rsplit(".", 1)[1]
        assert isinstance(f, type) == name[0].isupper(), function
    assert loss_core.smp.DiceLoss is loss_core.segmentation_models_pytorch.DiceLoss


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["id"])
def test_vector_through_the_framework_shaped_entry_point(v):
    inputs = {k: as_array(t) for k, t in v["inputs"].items()}
    try:
        got = call(v["function"], v.get("params") or {}, inputs)
        ok, error = True, ""
    except ValueError as e:
        got, ok, error = None, False, str(e)
    shape = list(np.shape(got)) if ok else None
    check_against_framework(v, ok, shape, np.ravel(got) if ok else None, error)
    response = loss_core.batch(v)
    if ok:
        assert isinstance(got, float) == (shape == [])
        assert np.asarray(got, dtype=np.float32).tobytes() == response["loss"]["data"].tobytes()
        if shape:
            assert got.dtype == np.float32
    else:
        assert error == response["error"]


def test_positional_arguments_follow_each_framework():
    logits = np.array([[3.0, -2.0], [0.5, -4.0]], np.float32)
    mask = np.array([[1, 0], [1, 0]], np.float32)
    probs = 1 / (1 + np.exp(-logits))
    tv = loss_core.torchvision.sigmoid_focal_loss
    assert tv(logits, mask, reduction="mean") == tv(inputs=logits, targets=mask, reduction="mean")
    # Keras: y_true first.
    dice = loss_core.keras.Dice()
    assert dice(mask, probs) == dice(y_true=mask, y_pred=probs)
    assert loss_core.keras.dice(mask, probs) == dice(mask, probs)
    # smp: mode is the constructor's first argument.
    smp = loss_core.smp.DiceLoss("binary", from_logits=True)
    assert smp(logits[None], mask[None]) == loss_core.smp.DiceLoss(mode="binary")(
        y_pred=logits[None], y_true=mask[None]
    )
    # kornia: alpha after the tensors.
    scores = np.random.default_rng(0).normal(size=(1, 3, 2, 2)).astype(np.float32)
    labels = np.array([[[0, 1], [2, 1]]], np.int64)
    assert loss_core.kornia.focal_loss(scores, labels, 0.5, reduction="mean") == (
        loss_core.kornia.FocalLoss(alpha=0.5, reduction="mean")(scores, labels)
    )
    with pytest.raises(TypeError):
        tv(logits, mask, logits)
    with pytest.raises(TypeError):
        tv(logits, inputs=logits)


def test_classes_check_their_parameters_when_constructed():
    with pytest.raises(ValueError, match="unsupported parameter `smoth_nr` for monai.losses.DiceLoss"):
        loss_core.monai.DiceLoss(smoth_nr=1e-5)
    with pytest.raises(ValueError, match="parameter `mode`"):
        loss_core.smp.DiceLoss()
    with pytest.raises(ValueError, match="only one of sigmoid=True, softmax=True"):
        loss_core.monai.DiceLoss(sigmoid=True, softmax=True)
    loss = loss_core.monai.DiceLoss(sigmoid=True, smooth_nr=np.float32(1e-5))
    assert "sigmoid=True" in repr(loss)


def test_numpy_parameters_and_lists_are_plain():
    scores = np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32)
    labels = np.random.default_rng(2).integers(0, 3, size=(2, 1, 4))
    a = loss_core.monai.DiceLoss(softmax=True, to_onehot_y=True, weight=np.array([1.0, 2.0, 3.0]))
    b = loss_core.monai.DiceLoss(softmax=True, to_onehot_y=True, weight=(1.0, 2.0, 3.0))
    assert a(scores, labels) == b(scores, labels)


def test_results_have_the_frameworks_shapes():
    x = np.zeros((2, 1, 3, 3), np.float32)
    t = np.ones((2, 1, 3, 3), np.float32)
    none = loss_core.monai.DiceLoss(sigmoid=True, reduction="none")(x, t)
    assert none.shape == (2, 1, 1, 1) and none.dtype == np.float32
    assert isinstance(loss_core.monai.DiceLoss(sigmoid=True)(x, t), float)
    elementwise = loss_core.torchvision.sigmoid_focal_loss(x, t)
    assert elementwise.shape == x.shape


def test_the_committed_stubs_are_generated_from_the_mapping():
    import pathlib

    from loss_core import _frameworks

    import ast

    source = pathlib.Path(__file__).resolve().parents[1] / "python" / "loss_core"
    for stub in source.glob("*.pyi"):
        ast.parse(stub.read_text(), filename=str(stub))
    for prefix in _frameworks.MODULES:
        assert (source / f"{prefix}.pyi").read_text() == _frameworks.stub(prefix), (
            f"{prefix}.pyi is stale: run loss_core._frameworks.write_stubs"
        )


def test_runtime_signatures_match_the_stubs():
    import inspect

    sig = inspect.signature(loss_core.kornia.focal_loss)
    assert list(sig.parameters)[:3] == ["pred", "target", "alpha"]
    init = inspect.signature(loss_core.smp.DiceLoss.__init__)
    assert list(init.parameters)[:2] == ["self", "mode"]


def test_stubs_match_the_runtime(tmp_path):
    import subprocess
    import sys

    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "loss_core"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
