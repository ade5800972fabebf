"""Dataset evaluation with the bits of ``loss-tools eval``, in pieces that merge exactly.

A dataset's numbers are pooled from per-pair states whose sums are exact (integers in units of
``2**-149``), so merging them is commutative and associative bit for bit: the result does not
depend on the order of the files or on how they were split between processes or machines.

- ``pairs(predictions, targets)``: the prediction/target file pairs ``eval`` reads (two
  directories matched by file stem, or two files), in its order.
- ``evaluate_pair(prediction, target, **options)``: one pair's ``DatasetState``.
- ``evaluate(pairs, **options)``: the merged state of some pairs, in this process.
- ``DatasetState``: ``a.merge(b)`` (or ``a + b``), ``to_json()`` / ``DatasetState.from_json``
  (the format of ``loss-tools eval --state``), picklable.
- ``report(state, **options)``: ``{"classes": [...], "overall": {...}}``, the rows of
  ``loss-tools eval --format json`` at full precision.

Options are ``eval``'s flags, as a list (``flags=["--from-logits"]``) or as keywords: ``from_logits=True``, ``ignore_index=255``,
``loss="dice"``, ``convention="smp"``, ``alpha``, ``gamma``, ``beta``, ``smooth_nr``,
``smooth_dr``, ``threshold``, ``exclude_background=True``, ``layout="nhwc"``,
``class_names=[...]``, ``allow_nonfinite=True``, ``scale=[...]``, ``zero_point=[...]``,
``shape=[...]``. Give the same options to every call of one evaluation.
"""

from __future__ import annotations

import json
from functools import reduce
from os import PathLike, fspath
from typing import Any, Iterable, Sequence, Union

from ._native import DatasetState, _dataset_pairs, _evaluate_pair

__all__ = ["DatasetState", "evaluate", "evaluate_pair", "pairs", "report", "to_flags"]

Path = Union[str, PathLike]


def to_flags(flags: Sequence[str] = (), **options: Any) -> list[str]:
    """``flags`` followed by ``eval``'s command-line flags for keyword ``options`` (``None``
    and ``False`` are left out): ``to_flags(from_logits=True, ignore_index=255)`` is
    ``["--from-logits", "--ignore-index", "255"]``."""
    out = list(flags)
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            out += [flag, ",".join(str(v) for v in value)]
        else:
            out += [flag, str(value)]
    return out


def pairs(predictions: Path, targets: Path) -> list[tuple[str, str]]:
    """The (prediction, target) file pairs ``loss-tools eval PREDICTIONS TARGETS`` reads."""
    return [(fspath(p), fspath(t)) for p, t in _dataset_pairs(fspath(predictions), fspath(targets))]


def evaluate_pair(
    prediction: Path, target: Path, flags: Sequence[str] = (), **options: Any
) -> DatasetState:
    """The exact state of one prediction file and its target file (``ValueError`` naming the
    file at fault)."""
    return _evaluate_pair(fspath(prediction), fspath(target), to_flags(flags, **options))


def evaluate(
    pairs: Iterable[Sequence[Path]], flags: Sequence[str] = (), **options: Any
) -> DatasetState:
    """The merged state of ``pairs`` (each ``(prediction, target)``), in this process."""
    flags = to_flags(flags, **options)
    return reduce(
        DatasetState.merge,
        (evaluate_pair(p, t, flags) for p, t in pairs),
        DatasetState(),
    )


def report(state: DatasetState, flags: Sequence[str] = (), **options: Any) -> dict:
    """The report's rows for ``state``: per class and overall, every number at full precision."""
    return json.loads(state.report_json(to_flags(flags, **options)))
