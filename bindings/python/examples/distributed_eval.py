"""Evaluate a dataset of prediction/target pairs on a Dask cluster, with the bits of
``loss-tools eval`` on the same files whatever the number of workers or the partitioning.

Each task evaluates a partition of the pairs into an exact ``DatasetState``; the states are
merged pairwise on the cluster (a tree: the merge is exact, so neither its order nor its
grouping changes a bit); the client prints the report.

    python distributed_eval.py PREDICTIONS TARGETS [--workers N | --scheduler ADDRESS]
        [--partitions K] [--shuffle SEED] [--state FILE] -- [eval flags, e.g. --from-logits]

PREDICTIONS and TARGETS are two directories (pairs matched by file stem, as ``eval`` does) or
a text file of ``prediction target`` lines (paths or URLs the workers can read: anything
``fsspec`` opens is fetched to a local temporary file first).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from typing import Sequence

import loss_core
from loss_core.dataset import DatasetState


def _local(path: str, scratch: str) -> str:
    """A local path for ``path``: itself, or a copy of a URL fetched with fsspec."""
    if "://" not in path or path.startswith("file://"):
        return path.removeprefix("file://")
    import fsspec  # only needed for URLs

    local = os.path.join(scratch, f"{len(os.listdir(scratch))}-{os.path.basename(path)}")
    with fsspec.open(path, "rb") as src, open(local, "wb") as dst:
        dst.write(src.read())
    return local


def evaluate_partition(pairs: Sequence[tuple[str, str]], flags: Sequence[str]) -> DatasetState:
    """The merged state of one partition of pairs (runs on a worker)."""
    with tempfile.TemporaryDirectory() as scratch:
        return loss_core.dataset.evaluate(
            ((_local(p, scratch), _local(t, scratch)) for p, t in pairs), flags=flags
        )


def merge(a: DatasetState, b: DatasetState) -> DatasetState:
    return a.merge(b)


def partition(pairs: list, parts: int, seed: int | None) -> list[list]:
    """``pairs`` in ``parts`` partitions: in order, or shuffled and cut at random places."""
    pairs = list(pairs)
    parts = max(1, min(parts, len(pairs)))
    if seed is None:
        cuts = [len(pairs) * i // parts for i in range(1, parts)]
    else:
        rng = random.Random(seed)
        rng.shuffle(pairs)
        cuts = sorted(rng.sample(range(1, len(pairs)), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, len(pairs)]
    return [pairs[a:b] for a, b in zip(bounds, bounds[1:])]


def run(client, pairs: list, flags: Sequence[str], parts: int, seed: int | None = None) -> DatasetState:
    """The dataset's state, evaluated on the cluster behind ``client``."""
    futures = client.map(evaluate_partition, partition(pairs, parts, seed), flags=list(flags), pure=False)
    while len(futures) > 1:
        merged = [client.submit(merge, a, b, pure=False) for a, b in zip(futures[::2], futures[1::2])]
        futures = merged + futures[len(merged) * 2 :]
    return futures[0].result() if futures else DatasetState()


def read_pairs(predictions: str, targets: str | None) -> list[tuple[str, str]]:
    if targets is None:
        with open(predictions) as f:
            return [tuple(line.split()) for line in f if line.strip()]  # type: ignore[misc]
    return loss_core.dataset.pairs(predictions, targets)


def main(argv: list[str]) -> int:
    own, flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("predictions", help="a directory, or a file of `prediction target` lines")
    ap.add_argument("targets", nargs="?", help="a directory (omit with a list file)")
    ap.add_argument("--workers", type=int, default=2, help="local worker processes")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler instead")
    ap.add_argument("--partitions", type=int, help="tasks (default: 4 per worker)")
    ap.add_argument("--shuffle", type=int, help="shuffle the pairs with this seed first")
    ap.add_argument("--state", help="also write the merged state (loss-tools eval --state format)")
    args = ap.parse_args(own)

    from dask.distributed import Client, LocalCluster

    pairs = read_pairs(args.predictions, args.targets)
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None))
    with client:
        workers = len(client.scheduler_info()["workers"])
        start = time.perf_counter()
        state = run(client, pairs, flags, args.partitions or 4 * workers, args.shuffle)
        seconds = time.perf_counter() - start
    if args.state:
        with open(args.state, "w") as f:
            f.write(state.to_json())
    print(json.dumps(loss_core.dataset.report(state, flags=flags), indent=2))
    print(f"{len(pairs)} pairs, {workers} workers, {seconds:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
