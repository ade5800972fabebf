"""Bad and hostile inputs: every one is a Python exception (``ValueError`` with the
``loss-core`` or mapping message, ``TypeError`` for a wrong Python type), never a crash."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import loss_core


def test_loss_core_errors_are_value_errors_with_their_message():
    f = loss_core.SigmoidFocal()
    x = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="^predictions have 4 elements but targets have 3$"):
        f.loss(x, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="empty"):
        f.loss(np.zeros(0, np.float32), np.zeros(0, np.float32))
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        f.loss(x, np.full(4, 2.0, np.float32))
    with pytest.raises(ValueError, match="gamma"):
        loss_core.SigmoidFocal(gamma=-1.0)
    with pytest.raises(ValueError, match="reduction `none`"):
        loss_core.SigmoidFocal(reduction="none")
    with pytest.raises(ValueError):
        f.loss_per_sample(x, x, 3)
    with pytest.raises(ValueError):
        f.loss_per_sample(x, x, 0)
    with pytest.raises(ValueError, match=r"^targets\[2\] is outside \[0, 1\]$"):
        f.loss(x, np.array([0, 1, 2, 1], np.uint8))


def test_nan_propagates():
    f = loss_core.SigmoidFocal()
    assert np.isnan(f.loss(np.array([np.nan, 0.0], np.float32), np.array([1.0, 0.0], np.float32)))


def test_batch_never_raises_on_hostile_requests():
    hostile = [
        None,
        "text",
        {"function": None},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": "abc", "targets": [1]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": [[1, 2], [3]], "targets": [1]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": np.array([1 + 2j]), "targets": [1]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": np.array(["a"]), "targets": [1]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": object(), "targets": [1]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {"inputs": {"shape": [2**62, 4], "data": []}, "targets": [1]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "inputs": {3: [1.0]}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "params": {"alpha": object()}},
        {"function": "torchvision.ops.sigmoid_focal_loss", "params": {"alpha": float("nan")}},
        {"function": "monai.losses.DiceLoss", "params": {"to_onehot_y": True}, "inputs": {"input": np.zeros((1, 3, 2), np.float32), "target": np.full((1, 1, 2), 2**40)}},
        {"function": "monai.losses.DiceLoss", "inputs": {"input": np.zeros((0, 3), np.float32), "target": np.zeros((0, 3), np.float32)}},
        {"function": "kornia.losses.focal_loss", "params": {"alpha": 0.5}, "inputs": {"pred": np.zeros((1, 3, 2), np.float32), "target": np.array([[7, -9]])}},
        {(1, 2): 3},
    ]
    for request in hostile:
        response = loss_core.batch(request)
        assert set(response) == {"id", "error"}, request
        assert isinstance(response["error"], str) and "\n" not in response["error"]


def test_random_inputs_into_every_method_raise_only_value_or_type_errors():
    rng = np.random.default_rng(3)
    arrays = [
        np.zeros(0, np.float32),
        np.zeros((3, 0), np.float32),
        np.float32(1.0),
        np.array(1.5),
        rng.normal(size=7).astype(np.float32),
        rng.normal(size=(2, 3, 4)),
        rng.integers(-5, 300, size=12),
        rng.integers(0, 2, size=12).astype(np.uint8),
        rng.random(12) < 0.5,
        np.full(12, np.nan, np.float32),
        np.full(12, np.inf, np.float32),
        rng.normal(size=24).astype(np.float32)[::2],
        np.array(["x"] * 12),
        np.zeros(12, np.complex64),
        [0.5] * 12,
        None,
        "abc",
    ]
    losses = [
        loss_core.SigmoidFocal(),
        loss_core.BinaryFocal.seed(),
        loss_core.OverlapLoss(),
        loss_core.OverlapLoss(kind="jaccard", predictions="logits"),
    ]
    calls = 0
    for loss, (a, b) in itertools.product(losses, itertools.product(arrays, repeat=2)):
        for method in (loss.loss, loss.loss_elementwise if hasattr(loss, "loss_elementwise") else loss.stats):
            calls += 1
            try:
                method(a, b)
            except (ValueError, TypeError):
                pass
        acc = loss.accumulator()
        try:
            acc.push(a, b)
        except (ValueError, TypeError):
            pass
    seg = loss_core.SegmentationAccumulator(3)
    counts = loss_core.CodeCounts("uint8")
    frames = loss_core.FrameSignals(3, consistency=True)
    for a in arrays:
        for call in (lambda: frames.frame(a), lambda: frames.frame_codes(a, 0.1, 0, layout="channels_last")):
            calls += 1
            try:
                call()
            except (ValueError, TypeError):
                pass
    for a, b in itertools.product(arrays, repeat=2):
        for call in (
            lambda: seg.push(a, b),
            lambda: seg.push(a, b, layout="channels_last", ignore_index=0),
            lambda: seg.push_codes(a, b, 0.1, 0),
            lambda: counts.push(a, b),
        ):
            calls += 1
            try:
                call()
            except (ValueError, TypeError):
                pass
    assert calls > 2000


def test_hostile_framework_calls():
    x = np.zeros((1, 2, 3), np.float32)
    with pytest.raises(ValueError, match="unknown input `bogus`"):
        loss_core.torchvision.sigmoid_focal_loss(x, x, bogus=x)
    with pytest.raises(ValueError, match="has shape"):
        loss_core.monai.DiceLoss()(x, np.zeros((1, 2, 4), np.float32))
    with pytest.raises(ValueError):
        loss_core.monai.DiceLoss()("a", "b")


def test_only_numbers_are_converted():
    f = loss_core.SigmoidFocal()
    x = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match="predictions: unsupported dtype `complex64`"):
        f.loss(np.zeros(2, np.complex64), x)
    with pytest.raises(ValueError, match="unsupported dtype `<U1`"):
        f.loss(np.array(["a", "b"]), x)
    with pytest.raises(ValueError, match="unsupported dtype `object`"):
        f.loss([object(), 1], x)
    # Lists, float64 and int arrays are converted once.
    assert f.loss([0.0, 1.0], [0, 1]) == f.loss(np.array([0.0, 1.0], np.float32), x + [0, 1])


def test_sample_counts_are_checked_before_anything_is_allocated():
    f = loss_core.SigmoidFocal()
    x = np.zeros(6, np.float32)
    for samples in (0, 4, 2**40, 2**62):
        with pytest.raises(ValueError, match="samples"):
            f.loss_per_sample(x, x, samples)
        with pytest.raises(ValueError, match="samples"):
            loss_core.OverlapLoss().loss_per_sample(x, x, samples)
    with pytest.raises(OverflowError):
        f.loss_per_sample(x, x, 2**70)
    with pytest.raises(OverflowError):
        f.loss_per_sample(x, x, -1)


def test_one_accumulator_from_many_threads():
    import threading

    x = np.random.default_rng(5).normal(size=1 << 20).astype(np.float32)
    t = (x > 0).astype(np.float32)
    acc = loss_core.SigmoidFocal().accumulator()
    outcomes = []

    def push():
        for _ in range(5):
            try:
                acc.push(x, t)
                outcomes.append("ok")
            except RuntimeError:
                outcomes.append("busy")

    threads = [threading.Thread(target=push) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(outcomes) == 20
    assert acc.count == outcomes.count("ok") * (1 << 20)
