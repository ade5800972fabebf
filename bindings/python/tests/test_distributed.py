"""A dataset evaluated on a local Dask cluster of 1, 2 and 3 workers, its pairs shuffled and
partitioned at random, gives the bits of ``loss-tools eval --state`` on the same files; so do
the in-process pieces (``loss_core.dataset``) in any order and grouping."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

import loss_core
from loss_core.dataset import DatasetState

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "bindings" / "python" / "examples" / "distributed_eval.py"
FLAGS = ["--from-logits", "--ignore-index", "255"]


def loss_tools(*args: str) -> list[str]:
    """A ``loss-tools`` command: the built binary ``.ci/run`` names in ``LOSS_TOOLS_BIN``, or
    ``cargo run`` on this checkout."""
    binary = os.environ.get("LOSS_TOOLS_BIN")
    command = [binary] if binary else ["cargo", "run", "-q", "-p", "loss-tools", "--"]
    return [*command, *args]


def _example():
    spec = importlib.util.spec_from_file_location("distributed_eval", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """14 pairs of 3-class NCHW logits and int64 label maps; logit scales from 1e-3 to 1e12,
    so that a floating-point pooling of the per-file sums would depend on their order."""
    root = tmp_path_factory.mktemp("dataset")
    (root / "pred").mkdir()
    (root / "mask").mkdir()
    rng = np.random.default_rng(20261202)
    for i in range(14):
        h, w = rng.integers(4, 24, size=2)
        labels = rng.integers(0, 3, size=(1, h, w))
        labels[rng.random((1, h, w)) < 0.1] = 255
        scale = [1e-3, 1.0, 4.0, 1e6, 1e12][i % 5]
        logits = (rng.normal(size=(1, 3, h, w)) * scale).astype(np.float32)
        np.save(root / "pred" / f"img{i:02}.npy", logits)
        np.save(root / "mask" / f"img{i:02}.npy", labels.astype(np.int64))
    return root


@pytest.fixture(scope="module")
def cli_state(dataset: Path) -> str:
    """``loss-tools eval pred mask --state`` on the whole directory (built from this checkout)."""
    out = dataset / "whole.json"
    subprocess.run(
        loss_tools("eval", str(dataset / "pred"), str(dataset / "mask"), *FLAGS, "--state", str(out)),
        cwd=REPO, check=True, stdout=subprocess.DEVNULL,
    )
    return out.read_text()


def test_pairs_and_single_process_match_the_cli(dataset: Path, cli_state: str) -> None:
    pairs = loss_core.dataset.pairs(dataset / "pred", dataset / "mask")
    assert [Path(p).name for p, _ in pairs] == [f"img{i:02}.npy" for i in range(14)]
    whole = loss_core.dataset.evaluate(pairs, flags=FLAGS)
    assert whole.to_json() == cli_state
    assert whole == DatasetState.from_json(cli_state)
    # Keyword options are the same flags.
    assert loss_core.dataset.evaluate(pairs, from_logits=True, ignore_index=255) == whole


def test_any_order_and_grouping_gives_the_same_bits(dataset: Path, cli_state: str) -> None:
    pairs = loss_core.dataset.pairs(dataset / "pred", dataset / "mask")
    states = [loss_core.dataset.evaluate_pair(p, t, FLAGS) for p, t in pairs]
    rng = random.Random(7)
    for _ in range(20):
        order = states[:]
        rng.shuffle(order)
        groups, state = [], DatasetState()
        while order:
            k = rng.randint(1, len(order))
            groups.append(sum(order[:k], DatasetState()))
            order = order[k:]
        rng.shuffle(groups)
        for g in groups:
            state = g + state if rng.random() < 0.5 else state + g
        assert state.to_json() == cli_state
    # Across processes: pickled states merge the same way.
    assert pickle.loads(pickle.dumps(states[0])) == states[0]


def test_report_rows_are_the_clis(dataset: Path, cli_state: str) -> None:
    rows = loss_core.dataset.report(DatasetState.from_json(cli_state), FLAGS)
    out = subprocess.run(
        loss_tools("eval", str(dataset / "pred"), str(dataset / "mask"), *FLAGS, "--format", "json"),
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    cli = json.loads(out.stdout)
    # The CLI prints 6 decimals; the rows carry every bit.
    assert [c["class"] for c in rows["classes"]] == [c["class"] for c in cli["classes"]]
    for ours, theirs in zip(rows["classes"], cli["classes"]):
        assert ours["support"] == theirs["support"]
        assert round(ours["focal"], 6) == pytest.approx(theirs["focal"], abs=1e-6)


def test_bad_states_and_files_are_value_errors(dataset: Path) -> None:
    with pytest.raises(ValueError, match="not a dataset state"):
        DatasetState.from_json("{}")
    with pytest.raises(ValueError, match="no-such.npy"):
        loss_core.dataset.evaluate_pair(dataset / "no-such.npy", dataset / "mask" / "img00.npy")
    with pytest.raises(ValueError, match="--gamma"):
        loss_core.dataset.evaluate_pair(
            dataset / "pred" / "img00.npy", dataset / "mask" / "img00.npy", gamma="x"
        )
    one = DatasetState.from_json(
        json.dumps({"format": "loss-tools dataset state 1",
                    "totals": {"pixels": 0, "classes": []}})
    )
    assert one == DatasetState()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_dask_cluster_gives_the_clis_bits(dataset: Path, cli_state: str, workers: int) -> None:
    from dask import distributed
    example = _example()
    pairs = loss_core.dataset.pairs(dataset / "pred", dataset / "mask")
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        for seed, parts in [(None, workers), (workers, 5), (100 + workers, len(pairs))]:
            state = example.run(client, pairs, FLAGS, parts, seed)
            assert state.to_json() == cli_state, (workers, seed, parts)
