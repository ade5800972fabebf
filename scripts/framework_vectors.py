#!/usr/bin/env python3
"""Golden vectors from the real frameworks, for `loss-tools batch` parity tests.

Runs torchvision, MONAI, segmentation_models_pytorch, kornia, Keras 3 (torch backend) and the
seed article's snippets on a deterministic parameter grid and writes one JSON Lines file per
function under `tests/data/frameworks/`, plus `versions.json`. Each line is a `loss-tools batch`
request with the framework's answer attached:

    {"id", "function", "params", "inputs": {name: {"shape", "data", ["dtype": "int64"]}},
     "expected": {"shape", "data"}, ["expected_f64": {"shape", "data"}],
     ["expected_grad": {name: {"shape", "data"}}, ["expected_grad_f64": ...]]}
    or, where the framework raises, {..., "expected_error": "<ExceptionType>: <message>"}

`expected` is the framework's float32 output; `expected_f64` the same call on float64 tensors,
recorded only where the framework really computes in float64 (see `docs/framework-vectors.md`
for the exceptions). `expected_grad` is the framework's float32 autograd gradient of the output's
sum with respect to the prediction (the functions of `GRAD_INPUTS`), `expected_grad_f64` the
same in float64. Inputs are float32 values written exactly (every value round-trips through
f32 and f64 alike); non-finite numbers are the strings "NaN", "Infinity", "-Infinity".

Rust tests read the committed files; Python is needed only to regenerate them:

    python scripts/framework_vectors.py                 # regenerate tests/data/frameworks/
    python scripts/framework_vectors.py --check         # regenerate in memory, diff with the files
    python scripts/framework_vectors.py --check-anchors # the 30 upstream anchor cases

The frameworks come from `scripts/requirements.txt` in a virtual environment outside the repo;
`KERAS_BACKEND` is forced to `torch`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402
import torch  # noqa: E402

import framework_cases  # noqa: E402
import seed_losses  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "tests" / "data" / "frameworks"
DEFAULT_ANCHORS = REPO / "tests" / "data" / "anchor-cases.json"

# The parity tolerance (docs/framework-vectors.md): |a - b| <= 1e-5 |b| + 1e-6.
RTOL, ATOL = 1e-5, 1e-6


# --------------------------------------------------------------------------------------------
# JSON encoding


def encode_number(x: float) -> float | str:
    """A float as JSON: finite values exactly (repr round-trips), the rest as strings."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return float(x)


def decode_number(x: float | int | str) -> float:
    if isinstance(x, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[x]
    return float(x)


def encode_tensor(a: np.ndarray) -> dict[str, Any]:
    """An input tensor: int64 stays integer, anything else must already be float32."""
    if a.dtype == np.int64:
        return {"shape": list(a.shape), "data": [int(v) for v in a.reshape(-1)], "dtype": "int64"}
    if a.dtype != np.float32:
        raise TypeError(f"inputs must be float32 or int64, got {a.dtype}")
    return {"shape": list(a.shape), "data": [encode_number(float(v)) for v in a.reshape(-1)]}


def decode_tensor(t: dict[str, Any]) -> np.ndarray:
    if t.get("dtype") == "int64":
        return np.array(t["data"], dtype=np.int64).reshape(t["shape"])
    data = [decode_number(v) for v in t["data"]]
    return np.array(data, dtype=np.float32).reshape(t["shape"])


def encode_output(a: np.ndarray) -> dict[str, Any]:
    return {"shape": list(a.shape), "data": [encode_number(float(v)) for v in a.reshape(-1)]}


# --------------------------------------------------------------------------------------------
# Calling the frameworks

# A runner takes (params, inputs as numpy arrays in argument order, torch float dtype) and
# returns the framework's output as a numpy array of that dtype, or raises what it raises.
Runner = Callable[[dict[str, Any], dict[str, np.ndarray], torch.dtype], np.ndarray]


def to_torch(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    if a.dtype == np.int64:
        return torch.from_numpy(a.copy())
    return torch.from_numpy(a.astype(np.float64)).to(dtype)


def torch_out(t: torch.Tensor, dtype: torch.dtype) -> np.ndarray:
    """The output must come back in the requested dtype, else the run is not what it claims."""
    if t.dtype != dtype:
        raise Precision(f"framework returned {t.dtype} for {dtype} inputs")
    return t.detach().cpu().numpy()


class Precision(Exception):
    """The framework did not compute in the requested precision (not a framework error)."""


def _tensor_params(params: dict[str, Any], names: tuple[str, ...], dtype: torch.dtype):
    """Parameters that the framework takes as tensors (kornia's weights) from JSON lists."""
    out = dict(params)
    for n in names:
        if out.get(n) is not None:
            out[n] = torch.tensor(out[n], dtype=dtype)
    return out


def torch_args(inputs: dict[str, np.ndarray], dtype: torch.dtype, grad: str | None) -> list[torch.Tensor]:
    """The input tensors in argument order; the one named `grad` requires its gradient."""
    args = []
    for name, a in inputs.items():
        t = to_torch(a, dtype)
        if name == grad:
            t.requires_grad_(True)
        args.append(t)
    return args


def with_grad(out: torch.Tensor, args: list[torch.Tensor], inputs: dict[str, np.ndarray], grad: str | None, dtype):
    """The output, or with `grad` the autograd gradient of its sum with respect to that input."""
    if grad is None:
        return torch_out(out, dtype)
    x = args[list(inputs).index(grad)]
    if out.numel() > 0:
        out.sum().backward()
    g = x.grad if x.grad is not None else torch.zeros_like(x)
    return torch_out(g, dtype)


def run_torch_function(fn: Callable, tensor_params: tuple[str, ...] = ()) -> Runner:
    def run(params, inputs, dtype, grad=None):
        args = torch_args(inputs, dtype, grad)
        out = fn(*args, **_tensor_params(params, tensor_params, dtype))
        return with_grad(out, args, inputs, grad, dtype)

    return run


def run_torch_module(cls: Callable) -> Runner:
    def run(params, inputs, dtype, grad=None):
        # MONAI's `other_act` is a callable; requests name it ("tanh", as MONAI's tests use).
        if params.get("other_act") == "tanh":
            params = dict(params, other_act=torch.tanh)
        module = cls(**params)
        args = torch_args(inputs, dtype, grad)
        return with_grad(module(*args), args, inputs, grad, dtype)

    return run


def run_keras(cls_name: str) -> Runner:
    """A Keras 3 loss class on the torch backend, channel-last as Keras takes it."""

    def run(params, inputs, dtype, grad=None):
        import keras

        kp = {k: tuple(v) if k == "axis" and isinstance(v, list) else v for k, v in params.items()}
        kdtype = "float64" if dtype == torch.float64 else "float32"
        loss = getattr(keras.losses, cls_name)(**kp, dtype=kdtype)
        args = torch_args(inputs, dtype, grad)
        return with_grad(loss(*args), args, inputs, grad, dtype)

    return run


@contextlib.contextmanager
def keras_x64():
    """Keras with 64-bit types kept 64-bit, for the float64 runs.

    Keras 3 promotes dtypes like JAX *without* `jax_enable_x64`: `dtypes.result_type` maps every
    64-bit result to 32-bit (`BIT64_TO_BIT32_DTYPE`). On the torch backend `ops.mean` computes
    in `result_type(x.dtype, "float32")` and `ops.divide_no_nan` in `result_type(..., float)`,
    so a float64 loss is silently averaged in float32 (and cast back to float64). Emptying that
    map gives JAX's x64 rule, under which the whole loss is computed in float64.
    """
    from keras.src.backend.common import dtypes

    saved = dict(dtypes.BIT64_TO_BIT32_DTYPE)
    dtypes.BIT64_TO_BIT32_DTYPE.clear()
    try:
        yield
    finally:
        dtypes.BIT64_TO_BIT32_DTYPE.update(saved)


def runners() -> dict[str, Runner]:
    import kornia
    import monai.losses
    import segmentation_models_pytorch as smp
    import torchvision

    return {
        "torchvision.ops.sigmoid_focal_loss": run_torch_function(torchvision.ops.sigmoid_focal_loss),
        "monai.losses.FocalLoss": run_torch_module(monai.losses.FocalLoss),
        "monai.losses.DiceLoss": run_torch_module(monai.losses.DiceLoss),
        "monai.losses.GeneralizedDiceLoss": run_torch_module(monai.losses.GeneralizedDiceLoss),
        "monai.losses.TverskyLoss": run_torch_module(monai.losses.TverskyLoss),
        "monai.losses.DiceFocalLoss": run_torch_module(monai.losses.DiceFocalLoss),
        "monai.losses.DiceCELoss": run_torch_module(monai.losses.DiceCELoss),
        "segmentation_models_pytorch.losses.DiceLoss": run_torch_module(smp.losses.DiceLoss),
        "segmentation_models_pytorch.losses.JaccardLoss": run_torch_module(smp.losses.JaccardLoss),
        "segmentation_models_pytorch.losses.TverskyLoss": run_torch_module(smp.losses.TverskyLoss),
        "segmentation_models_pytorch.losses.FocalLoss": run_torch_module(smp.losses.FocalLoss),
        "segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss": run_torch_module(smp.losses.SoftBCEWithLogitsLoss),
        "kornia.losses.binary_focal_loss_with_logits": run_torch_function(
            kornia.losses.binary_focal_loss_with_logits, ("pos_weight", "weight")
        ),
        "kornia.losses.focal_loss": run_torch_function(kornia.losses.focal_loss, ("weight",)),
        "kornia.losses.dice_loss": run_torch_function(kornia.losses.dice_loss, ("weight",)),
        "keras.losses.BinaryFocalCrossentropy": run_keras("BinaryFocalCrossentropy"),
        "keras.losses.CategoricalFocalCrossentropy": run_keras("CategoricalFocalCrossentropy"),
        "keras.losses.Dice": run_keras("Dice"),
        "keras.losses.Tversky": run_keras("Tversky"),
        "seed.FocalLoss": run_torch_module(seed_losses.FocalLoss),
        "seed.DiceLoss": run_torch_module(seed_losses.DiceLoss),
        "seed.dice_loss": run_torch_function(seed_losses.dice_loss),
        "seed.focal_loss": run_torch_function(seed_losses.focal_loss),
    }


# Functions whose float64 call is not a float64 computation, so `expected_f64` is left out.
NO_F64 = {
    # FocalLoss.forward does `input = input.float()` (MONAI 1.6): always float32.
    "monai.losses.FocalLoss": "FocalLoss.forward casts input and target to float32",
    # Its dice half runs in float64 but its focal half is MONAI's FocalLoss (float32).
    "monai.losses.DiceFocalLoss": "its focal term is monai FocalLoss, which casts to float32",
}


# Functions whose vectors carry the framework's autograd gradient with respect to the
# prediction (`expected_grad`, keyed by the argument's name): the gradient of the output's sum,
# in the prediction's shape, as `loss-tools batch` answers `"grad": true`.
GRAD_INPUTS = {
    "torchvision.ops.sigmoid_focal_loss": "inputs",
    "kornia.losses.binary_focal_loss_with_logits": "pred",
    "keras.losses.BinaryFocalCrossentropy": "y_pred",
    "keras.losses.Dice": "y_pred",
    "seed.FocalLoss": "y_pred",
    "seed.DiceLoss": "input",
    "seed.dice_loss": "y_pred",
    "seed.focal_loss": "y_pred",
}


def error_text(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def call(runner: Runner, params, inputs, dtype, grad: str | None = None) -> tuple[np.ndarray | None, str | None]:
    x64 = keras_x64() if dtype == torch.float64 else contextlib.nullcontext()
    with warnings.catch_warnings(), x64:
        warnings.simplefilter("ignore")
        try:
            if grad is not None:
                return runner(params, inputs, dtype, grad), None
            return runner(params, inputs, dtype), None
        except Precision:
            raise
        except Exception as e:  # the framework's own error is the expected answer
            return None, error_text(e)


# --------------------------------------------------------------------------------------------
# Generation


def close(a: float, b: float) -> bool:
    """The parity tolerance with `b` as the truth; NaN matches NaN, infinities match exactly."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= RTOL * abs(b) + ATOL


def build_records(functions: list[str] | None = None) -> tuple[dict[str, list[dict]], list[str]]:
    """All vectors, per function, plus notes on f32 results that miss their f64 value."""
    torch.set_num_threads(1)  # reduction order must not depend on the thread count
    torch.use_deterministic_algorithms(True)
    run = runners()
    grids = framework_cases.all_cases()
    notes: list[str] = []
    out: dict[str, list[dict]] = {}
    for name, cases in grids.items():
        if functions and name not in functions:
            continue
        runner = run[name]
        recs = []
        for i, case in enumerate(cases):
            rec = {
                "id": f"{name}/{i:03d}/{case.tag}",
                "function": name,
                "params": case.params,
                "inputs": {k: encode_tensor(v) for k, v in case.inputs.items()},
            }
            y32, err32 = call(runner, case.params, case.inputs, torch.float32)
            y64, err64 = (None, None)
            if name not in NO_F64:
                y64, err64 = call(runner, case.params, case.inputs, torch.float64)
            if err32 is not None:
                if name not in NO_F64 and err64 is None:
                    notes.append(f"{rec['id']}: float32 raises but float64 does not: {err32}")
                rec["expected_error"] = err32
            else:
                assert y32 is not None
                rec["expected"] = encode_output(y32)
                if y64 is not None:
                    rec["expected_f64"] = encode_output(y64)
                    if y64.shape != y32.shape:
                        notes.append(f"{rec['id']}: shapes differ: f32 {y32.shape}, f64 {y64.shape}")
                    else:
                        bad = [
                            (float(a), float(b))
                            for a, b in zip(y32.reshape(-1), y64.reshape(-1))
                            if not close(float(a), float(b))
                        ]
                        if bad:
                            a, b = bad[0]
                            rel = abs(a - b) / abs(b) if b not in (0.0,) and math.isfinite(b) else math.inf
                            notes.append(
                                f"{rec['id']}: f32 misses f64 at {len(bad)}/{y32.size} elements, "
                                f"e.g. f32 {a!r} vs f64 {b!r} (rel {rel:.3g})"
                            )
                elif err64 is not None:
                    notes.append(f"{rec['id']}: float64 raises but float32 does not: {err64}")
            grad = GRAD_INPUTS.get(name)
            if grad is not None and "expected" in rec:
                # A separate call: the forward values above stay those of a plain call.
                g32, gerr = call(runner, case.params, case.inputs, torch.float32, grad)
                if gerr is not None:
                    raise SystemExit(f"{rec['id']}: the gradient raises: {gerr}")
                rec["expected_grad"] = {grad: encode_output(g32)}
                if "expected_f64" in rec:
                    g64, gerr = call(runner, case.params, case.inputs, torch.float64, grad)
                    if gerr is None:
                        rec["expected_grad_f64"] = {grad: encode_output(g64)}
            if case.expect_error and "expected_error" not in rec:
                raise SystemExit(f"{rec['id']}: expected the framework to raise, it returned a value")
            recs.append(rec)
        out[name] = recs
    return out, notes


def versions() -> dict[str, Any]:
    from importlib.metadata import version

    pkgs = ["torch", "torchvision", "monai", "segmentation-models-pytorch", "kornia", "keras", "numpy"]
    import keras

    return {
        "generator": "scripts/framework_vectors.py",
        "python": platform.python_version(),
        "packages": {p: version(p) for p in pkgs},
        "keras_backend": keras.backend.backend(),
        "torch_threads": 1,
        "tolerance": {"rtol": RTOL, "atol": ATOL, "rule": "|a - b| <= rtol |b| + atol"},
        "no_f64": NO_F64,
    }


def validate(records: dict[str, list[dict]]) -> None:
    """What the Rust side relies on: unique ids, data lengths matching shapes, float inputs
    that are exact f32 values, integer data only where the dtype says int64, one outcome each."""
    ids = set()
    for name, recs in records.items():
        for r in recs:
            rid = r["id"]
            if rid in ids or r["function"] != name:
                raise AssertionError(f"{rid}: duplicate id or wrong function")
            ids.add(rid)
            if ("expected_error" in r) == ("expected" in r):
                raise AssertionError(f"{rid}: needs exactly one of expected / expected_error")
            tensors = list(r["inputs"].values()) + [r[k] for k in ("expected", "expected_f64") if k in r]
            for k in ("expected_grad", "expected_grad_f64"):
                for arg, t in r.get(k, {}).items():
                    if list(t["shape"]) != list(r["inputs"][arg]["shape"]):
                        raise AssertionError(f"{rid}: {k} has shape {t['shape']}, input `{arg}` {r['inputs'][arg]['shape']}")
                    tensors.append(t)
            for t in tensors:
                if len(t["data"]) != math.prod(t["shape"]):
                    raise AssertionError(f"{rid}: {len(t['data'])} values for shape {t['shape']}")
            for t in r["inputs"].values():
                is_int = t.get("dtype") == "int64"
                for v in t["data"]:
                    if is_int != isinstance(v, int) or isinstance(v, bool):
                        raise AssertionError(f"{rid}: {v!r} does not match dtype {t.get('dtype', 'float32')}")
                    if not is_int and not isinstance(v, str) and float(np.float32(v)) != v:
                        raise AssertionError(f"{rid}: input {v!r} is not a float32 value")


def render(records: dict[str, list[dict]]) -> dict[str, str]:
    files = {}
    for name, recs in records.items():
        lines = [json.dumps(r, allow_nan=False, separators=(",", ":")) for r in recs]
        files[f"{name}.jsonl"] = "\n".join(lines) + "\n"
    return files


def write_all(records: dict[str, list[dict]], notes: list[str]) -> None:
    files = render(records)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    counts = {}
    for fname, text in files.items():
        (OUT_DIR / fname).write_text(text)
        recs = records[fname[: -len(".jsonl")]]
        counts[fname] = {
            "vectors": len(recs),
            "errors": sum("expected_error" in r for r in recs),
            "with_f64": sum("expected_f64" in r for r in recs),
            "with_grad": sum("expected_grad" in r for r in recs),
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
    meta = versions()
    meta["files"] = counts
    meta["f32_vs_f64_notes"] = notes
    (OUT_DIR / "versions.json").write_text(json.dumps(meta, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# Anchor cases

ANCHOR_INT_INPUTS = {
    # (function, input name) pairs whose integer data the framework needs as int64.
    ("kornia.losses.DiceLoss", "target_BHW"),
    ("monai.losses.FocalLoss", "target"),
    ("monai.losses.GeneralizedDiceLoss", "target"),
}


def anchor_tolerance(text: str, expected: Any) -> tuple[float, float]:
    """(rtol, atol) from the anchor's tolerance note, as the upstream test applies it."""
    rtol = re.search(r"rtol=([0-9.e-]+)", text)
    atol = re.search(r"atol=([0-9.e-]+)", text)
    if "rtol=atol=" in text:
        v = float(re.search(r"rtol=atol=([0-9.e-]+)", text).group(1))
        return v, v
    if m := re.search(r"places=(\d+)", text):
        return 0.0, 0.5 * 10 ** -int(m.group(1))
    if m := re.search(r"abs=([0-9.e-]+)", text):
        return 1e-6, float(m.group(1))  # pytest.approx: rel 1e-6 as well
    if "doctest" in text:
        decimals = len(repr(float(expected)).split(".")[1])
        return 0.0, 0.5 * 10**-decimals
    if "assert_close" in text:
        return 1.3e-6, 1e-5  # torch.testing.assert_close defaults for float32
    return (float(rtol.group(1)) if rtol else 0.0), (float(atol.group(1)) if atol else 0.0)


def run_anchor(case: dict, dtype: torch.dtype) -> np.ndarray:
    import keras
    import kornia
    import monai.losses
    import segmentation_models_pytorch as smp

    name = case["loss"]
    params = dict(case["params"])
    if params.get("other_act") == "tanh":
        params["other_act"] = torch.tanh
    args = []
    for key, value in case["inputs"].items():
        a = np.array(value)
        if (name, key) in ANCHOR_INT_INPUTS:
            args.append(torch.from_numpy(a.astype(np.int64)))
        else:
            args.append(torch.from_numpy(a.astype(np.float64)).to(dtype))
    module, _, cls = name.rpartition(".")
    if module == "keras.losses":
        kp = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        kdt = "float64" if dtype == torch.float64 else "float32"
        out = getattr(keras.losses, cls)(**kp, dtype=kdt)(*args)
    else:
        lib = {"monai.losses": monai.losses, "kornia.losses": kornia.losses,
               "segmentation_models_pytorch.losses": smp.losses}[module]
        obj = getattr(lib, cls)
        out = obj(**params)(*args) if isinstance(obj, type) else obj(*args, **params)
    return out.detach().cpu().numpy()


def check_anchors(path: Path) -> int:
    torch.set_num_threads(1)
    cases = json.loads(path.read_text())["cases"]
    failed = 0
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got_full = run_anchor(case, torch.float32)
                with keras_x64():
                    got64 = run_anchor(case, torch.float64).reshape(-1)
            except Exception as e:
                print(f"FAIL  #{case['id']:>2} {case['loss']}: raises {error_text(e)}")
                failed += 1
                continue
        exp_full = np.array(case["expected"], dtype=np.float64)
        got, exp = got_full.reshape(-1), exp_full.reshape(-1)
        rtol, atol = anchor_tolerance(case["tolerance"], case["expected"])
        ok = got_full.shape == exp_full.shape and bool(np.all(np.abs(got - exp) <= atol + rtol * np.abs(exp)))
        ref = np.array(case["recomputed_f64"], dtype=np.float64).reshape(-1)
        dev64 = float(np.max(np.abs(got64 - ref))) if got64.shape == ref.shape else math.inf
        status = "ok  " if ok else "FAIL"
        failed += not ok
        print(
            f"{status}  #{case['id']:>2} {case['loss']}: f32 {np.array2string(got, precision=7)}"
            f" expected {case['expected']} ({case['tolerance']});"
            f" f64 vs recomputed_f64 max |diff| {dev64:.2e}"
        )
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate in memory and compare with the committed files")
    ap.add_argument("--check-anchors", nargs="?", const=DEFAULT_ANCHORS, type=Path, metavar="JSON",
                    help="run the upstream anchor cases (default: tests/data/anchor-cases.json)")
    ap.add_argument("--only", action="append", metavar="FUNCTION", help="limit to these functions (repeatable); with it nothing is written")
    args = ap.parse_args()
    if args.check_anchors:
        return check_anchors(args.check_anchors)
    records, notes = build_records(args.only)
    validate(records)
    if args.check:
        stale = [f for f, text in render(records).items() if not (OUT_DIR / f).exists() or (OUT_DIR / f).read_text() != text]
        for f in stale:
            print(f"differs: tests/data/frameworks/{f}")
        print(f"{len(records) - len(stale)} passed, {len(stale)} failed")
        return 1 if stale else 0
    if args.only:
        print("--only: nothing written (a partial run would leave versions.json inconsistent)")
    else:
        write_all(records, notes)
    total = sum(len(r) for r in records.values())
    for name, recs in records.items():
        print(f"{len(recs):4d}  {name}")
    print(f"{total:4d}  vectors in total")
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    # Frameworks print sets in their error messages; fixed string hashing fixes their order.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    sys.exit(main())
