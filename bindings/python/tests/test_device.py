"""The device-side API: the same bits as the framework mappings (which run the same
``loss-core`` kernels), streaming in any chunking equal to one shot, masks equal to float
targets, f64 references, quantized inputs and the monitor."""

from __future__ import annotations

import numpy as np
import pytest

import loss_core
from loss_core import _native

RNG = np.random.default_rng(7)


def bits(x) -> bytes:
    return np.asarray(x, dtype=np.float32).tobytes()


def sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def test_sigmoid_focal_is_torchvision_and_an_f64_reference():
    x = RNG.normal(scale=3, size=4096).astype(np.float32)
    t = (RNG.random(4096) < 0.3).astype(np.float32)
    f = loss_core.SigmoidFocal(alpha=0.25, gamma=2.0)
    assert bits(f.loss(x, t)) == bits(loss_core.torchvision.sigmoid_focal_loss(x, t, reduction="mean"))
    assert bits(f.loss_elementwise(x, t)) == bits(loss_core.torchvision.sigmoid_focal_loss(x, t))
    p = sigmoid64(x)
    ce = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    pt = p * t + (1 - p) * (1 - t)
    ref = ((0.25 * t + 0.75 * (1 - t)) * (1 - pt) ** 2 * ce).mean()
    assert abs(f.loss(x, t) - ref) <= 1e-6 * ref


def test_masks_and_float_targets_give_the_same_bits():
    x = RNG.normal(size=1000).astype(np.float32)
    m = RNG.random(1000) < 0.5
    for loss in (loss_core.SigmoidFocal(), loss_core.OverlapLoss(predictions="logits")):
        f32 = loss.loss(x, m.astype(np.float32))
        assert bits(loss.loss(x, m)) == bits(f32)
        assert bits(loss.loss(x, m.astype(np.uint8))) == bits(f32)


@pytest.mark.parametrize("chunks", [1, 3, 64, 1000])
def test_accumulators_give_the_one_shot_bits(chunks):
    x = RNG.normal(size=4099).astype(np.float32)
    t = (RNG.random(4099) < 0.2).astype(np.float32)
    cuts = np.sort(RNG.choice(np.arange(1, 4099), size=chunks - 1, replace=False)) if chunks > 1 else []
    for loss in (loss_core.SigmoidFocal(), loss_core.BinaryFocal.seed(), loss_core.OverlapLoss(kind="tversky", alpha=0.3, beta=0.7, predictions="logits")):
        data = x if not isinstance(loss, loss_core.BinaryFocal) else sigmoid64(x).astype(np.float32)
        acc = loss.accumulator()
        for xs, ts in zip(np.split(data, cuts), np.split(t, cuts)):
            acc.push(xs, ts)
        assert acc.count == 4099
        assert bits(acc.finish()) == bits(loss.loss(data, t))
        acc.reset()
        assert acc.count == 0


def test_overlap_loss_is_monai_dice_on_one_channel():
    x = RNG.normal(size=(1, 1, 64)).astype(np.float32)
    t = (RNG.random((1, 1, 64)) < 0.4).astype(np.float32)
    d = loss_core.OverlapLoss(kind="dice", predictions="logits")
    assert bits(d.loss(x, t)) == bits(loss_core.monai.DiceLoss(sigmoid=True)(x, t))
    s = d.stats(x, t)
    p = sigmoid64(x).ravel()
    assert s["count"] == 64 and abs(s["intersection"] - (p * t.ravel()).sum()) < 1e-5
    per = d.loss_per_sample(np.tile(x, (1, 1, 2)), np.tile(t, (1, 1, 2)), 2)
    assert per.shape == (2,) and bits(per[0]) == bits(per[1]) == bits(d.loss(x, t))


def test_binary_focal_presets_are_the_seed_and_keras_mappings():
    p = RNG.random(256).astype(np.float32)
    t = (RNG.random(256) < 0.5).astype(np.float32)
    keras = loss_core.BinaryFocal.keras(alpha=None, gamma=2.0)
    assert bits(keras.loss(p, t)) == bits(loss_core.keras.BinaryFocalCrossentropy(reduction="sum_over_batch_size")(t[None], p[None]))
    with pytest.raises(ValueError, match="alpha"):
        loss_core.BinaryFocal(alpha=2.0)


def test_segmentation_accumulator_is_kornia_focal_and_counts_pixels():
    scores = RNG.normal(size=(1, 4, 8, 8)).astype(np.float32)
    labels = RNG.integers(0, 4, size=(1, 8, 8))
    acc = loss_core.SegmentationAccumulator(4, gamma=2.0, alpha=0.25)
    acc.push(scores.reshape(4, 64), labels.reshape(64))
    kornia = loss_core.kornia.focal_loss(scores, labels, 0.25, gamma=2.0, reduction="mean")
    assert bits(acc.loss_mean_per_element()) == bits(kornia)
    assert acc.pixels == 64 and acc.classes == 4
    counts = acc.counts()
    assert counts.shape == (4, 4) and counts.dtype == np.uint64
    assert (counts.sum(axis=1) == 64).all()
    predicted = scores.reshape(4, 64).argmax(axis=0)
    assert counts[:, 0].sum() == (predicted == labels.reshape(64)).sum()
    # Channels-last, in two chunks of whole pixels: the same bits.
    last = loss_core.SegmentationAccumulator(4, gamma=2.0, alpha=0.25)
    nhwc = scores.reshape(4, 64).T.copy()
    last.push(nhwc[:10], labels.reshape(64)[:10].astype(np.uint8), layout="channels_last")
    last.push(nhwc[10:], labels.reshape(64)[10:].astype(np.int32), layout="channels_last")
    assert bits(last.class_sums()) == bits(acc.class_sums())
    assert bits(last.stats()) == bits(acc.stats())


def test_segmentation_ignore_index_and_bad_labels():
    scores = RNG.normal(size=(3, 10)).astype(np.float32)
    labels = np.array([0, 1, 2, 255, 1, 0, 255, 2, 2, 1])
    acc = loss_core.SegmentationAccumulator(3)
    acc.push(scores, labels, ignore_index=255)
    assert acc.pixels == 8
    with pytest.raises(ValueError, match="label 255 at pixel 3 is not a valid class"):
        loss_core.SegmentationAccumulator(3).push(scores, labels)
    with pytest.raises(ValueError, match="is not a valid class"):
        loss_core.SegmentationAccumulator(3).push(scores, labels.astype(np.int64) + 2**40)


def test_quantized_codes_merge_in_any_order_and_track_the_float_loss():
    codes = RNG.integers(-128, 128, size=5000).astype(np.int8)
    mask = RNG.random(5000) < 0.3
    focal = loss_core.SigmoidFocal()
    q = loss_core.QuantizedFocalLoss(focal, scale=0.05, zero_point=-3)
    whole = loss_core.CodeCounts("int8")
    whole.push(codes, mask)
    parts = [loss_core.CodeCounts("int8") for _ in range(4)]
    for part, c, m in zip(parts, np.array_split(codes, 4), np.array_split(mask, 4)):
        part.push(c, m)
    for order in ([0, 1, 2, 3], [3, 1, 0, 2]):
        total = loss_core.CodeCounts("int8")
        for i in order:
            total.merge(parts[i])
        assert total.count == 5000 and bits(q.loss(total)) == bits(q.loss(whole))
    dequantized = ((codes.astype(np.float32) + 3) * np.float32(0.05)).astype(np.float32)
    assert abs(q.loss(whole) - focal.loss(dequantized, mask)) <= 1e-6 * focal.loss(dequantized, mask)
    d = loss_core.OverlapLoss(predictions="logits")
    qd = loss_core.QuantizedOverlapLoss(d, 0.05, -3)
    assert abs(qd.loss(whole) - d.loss(dequantized, mask)) < 1e-6
    assert qd.stats(whole)["count"] == 5000
    whole.merge(whole)
    assert whole.count == 10000
    with pytest.raises(ValueError, match="codes must be a int8 array"):
        whole.push(codes.astype(np.uint8), mask)
    with pytest.raises(ValueError, match="bool or uint8 mask"):
        whole.push(codes, mask.astype(np.float32))
    with pytest.raises(ValueError, match="another dtype"):
        q.loss(loss_core.CodeCounts("uint8"))
    with pytest.raises(ValueError, match="cannot merge"):
        whole.merge(loss_core.CodeCounts("uint8"))


def test_segmentation_codes_equal_their_dequantized_scores_under_argmax():
    codes = RNG.integers(0, 256, size=(3, 50)).astype(np.uint8)
    labels = RNG.integers(0, 3, size=50).astype(np.uint8)
    a = loss_core.SegmentationAccumulator(3, loss=None)
    a.push_codes(codes, labels, scale=0.1, zero_point=128)
    b = loss_core.SegmentationAccumulator(3, loss=None)
    b.push((codes.astype(np.float32) - 128) * np.float32(0.1), labels)
    assert (a.counts() == b.counts()).all()
    with pytest.raises(ValueError, match="int8 or uint8"):
        a.push_codes(codes.astype(np.int16), labels, scale=0.1, zero_point=0)


def test_monitor_learns_a_baseline_and_alarms_after_the_debounce():
    m = loss_core.Monitor([{"signal": "entropy", "learn_frames": 16}, {"signal": "dice:1", "baseline": (0.9, 0.01)}])
    events = []
    for i in range(16):
        level, e = m.observe([0.5 + 0.01 * (i % 4), 0.9])
        events += e
        assert level == "ok"
    assert [e["event"] for e in events] == ["baseline_learned"]
    assert events[0]["frame"] == 15 and events[0]["signal"] == "entropy"
    levels = [m.observe([0.5, None]) for _ in range(3)]
    assert [lv for lv, _ in levels] == ["ok"] * 3
    # A 6-std step alarms after exactly the debounce (3 frames).
    step = [m.observe([0.5, 0.84]) for _ in range(3)]
    assert [lv for lv, _ in step] == ["ok", "ok", "alarm"]
    (event,) = step[2][1]
    assert event["event"] == "transition" and event["to"] == "alarm" and event["signal"] == "dice:1"
    assert m.level == "alarm" and m.frames == 22
    summary = m.summary(1)
    assert summary["level"] == "alarm" and summary["count"] == 19
    fault = m.observe([float("nan"), 0.84])[1]
    assert fault[0]["event"] == "fault"


def test_monitor_configuration_errors():
    with pytest.raises(ValueError, match="signal `nope`"):
        loss_core.Monitor([{"signal": "nope"}])
    with pytest.raises(ValueError, match="unknown signal configuration key `warm`"):
        loss_core.Monitor([{"signal": "loss", "warm": 3}])
    with pytest.raises(ValueError, match="window 7"):
        loss_core.Monitor([{"signal": "loss"}], window=7)
    with pytest.raises(ValueError):
        loss_core.Monitor([{"signal": "loss", "warn": 6, "alarm": 5}])
    with pytest.raises(ValueError, match="1 values for 2 signals"):
        loss_core.Monitor([{"signal": "loss"}, {"signal": "entropy"}]).observe([1.0])


def test_contiguous_float32_is_read_in_place_and_anything_else_converted():
    x = np.arange(1000, dtype=np.float32)
    assert _native.input_address(x) == x.ctypes.data
    view = x[100:]
    assert _native.input_address(view) == view.ctypes.data
    readonly = x.copy()
    readonly.flags.writeable = False
    assert _native.input_address(readonly) == readonly.ctypes.data
    for other in (x.astype(np.float64), x[::2], np.asfortranarray(x.reshape(10, 100)), list(range(10))):
        other_address = other.ctypes.data if isinstance(other, np.ndarray) else None
        assert _native.input_address(other) != other_address


def test_the_gil_is_released_while_a_kernel_runs():
    import threading
    import time

    x = RNG.normal(size=1 << 23).astype(np.float32)
    t = (RNG.random(1 << 23) < 0.5).astype(np.float32)
    f = loss_core.SigmoidFocal()
    for _attempt in range(5):
        window = {}
        stamps = []

        def work():
            window["start"] = time.perf_counter()
            f.loss(x, t)
            window["end"] = time.perf_counter()

        worker = threading.Thread(target=work)
        worker.start()
        while worker.is_alive():
            stamps.append(time.perf_counter())
        worker.join()
        start, end = window["start"], window["end"]
        middle = [s for s in stamps if start + 0.3 * (end - start) < s < start + 0.7 * (end - start)]
        if middle:
            return
    pytest.fail("the main thread never ran while the kernels did")


def test_segmentation_metrics_from_the_counts():
    scores = np.array([[2.0, 0.0, 0.0, 1.0], [0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    labels = np.array([0, 1, 0, 0], np.uint8)
    acc = loss_core.SegmentationAccumulator(3)
    acc.push(scores, labels)
    m = acc.metrics()
    # Class 0: predicted at pixels 0 and 3, true at 0, 2, 3: tp 2, fp 0, fn 1.
    assert m["dice"][0] == np.float32(4 / 5) and m["recall"][0] == np.float32(2 / 3)
    assert m["precision"][1] == np.float32(1 / 2)
    assert np.isnan(m["dice"][2]) and m["specificity"][2] == 1.0


def test_replay_is_observe_frame_by_frame():
    rng = np.random.default_rng(11)
    frames = 400
    values = np.stack(
        [rng.normal(0.5, 0.01, frames), rng.normal(0.9, 0.01, frames), rng.normal(0.2, 0.05, frames)],
        axis=1,
    ).astype(np.float32)
    values[250:, 1] -= 0.05  # a drift in dice
    values[300, 0] = np.nan  # a fault
    measured = rng.random((frames, 3)) > 0.1
    config = [{"signal": "entropy", "learn_frames": 32}, {"signal": "dice:1", "learn_frames": 32}, {"signal": "area:2"}]
    one = loss_core.Monitor(config)
    levels, events = [], []
    for row, m in zip(values, measured):
        level, e = one.observe([float(v) if given else None for v, given in zip(row, m)])
        levels.append({"ok": 0, "warn": 1, "alarm": 2}[level])
        events += e
    many = loss_core.Monitor(config)
    codes, replayed = many.replay(values, measured)
    assert codes.dtype == np.uint8 and codes.tolist() == levels
    # repr: a fault event carries a NaN, which equals nothing.
    assert repr(replayed) == repr(events) and any(e["event"] == "transition" for e in events)
    assert many.frames == one.frames == frames and many.level == one.level
    assert [many.summary(i) == one.summary(i) for i in range(3)] == [True] * 3
    with pytest.raises(ValueError, match="expected \\(frames, 3\\)"):
        many.replay(values[:, :2])
    with pytest.raises(ValueError, match="measured has"):
        many.replay(values, measured[:10])


def test_frame_signals_against_an_f64_reference_and_consistency():
    rng = np.random.default_rng(12)
    scores = rng.normal(size=(3, 40)).astype(np.float32)
    signals = loss_core.FrameSignals(3, consistency=True)
    first = signals.frame(scores)
    z = scores.astype(np.float64)
    p = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
    entropy = (-(p * np.log(p)).sum(axis=0) / np.log(3)).mean()
    assert abs(first["entropy"] - entropy) < 1e-6 and abs(first["confidence"] - p.max(axis=0).mean()) < 1e-6
    assert np.allclose(first["area"], np.bincount(p.argmax(axis=0), minlength=3) / 40)
    assert first["pixels"] == 40 and first["consistency"] is None
    again = signals.frame(scores)
    assert again["consistency"] == 1.0 and again["agreement"] == 1.0
    shifted = signals.frame(np.roll(scores, 7, axis=1))
    assert shifted["agreement"] < 1.0
    # Channels-last and codes.
    last = loss_core.FrameSignals(3).frame(scores.T.copy(), layout="channels_last")
    assert last["entropy"] == first["entropy"] and last["consistency"] is None
    codes = rng.integers(-128, 128, size=(3, 40)).astype(np.int8)
    from_codes = loss_core.FrameSignals(3).frame_codes(codes, 0.1, 0)
    dequantized = loss_core.FrameSignals(3).frame(codes.astype(np.float32) * np.float32(0.1))
    assert abs(from_codes["entropy"] - dequantized["entropy"]) < 1e-6
    assert (from_codes["area"] == dequantized["area"]).all()
    with pytest.raises(ValueError):
        loss_core.FrameSignals(0)
    with pytest.raises(ValueError):
        signals.frame(np.zeros(7, np.float32))
