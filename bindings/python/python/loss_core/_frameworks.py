"""Framework-shaped entry points, generated from the mappings of ``loss-tools batch``.

Each supported function becomes an attribute of the module named after its framework:
``torchvision.ops.sigmoid_focal_loss`` is ``loss_core.torchvision.sigmoid_focal_loss``,
``monai.losses.DiceLoss`` is ``loss_core.monai.DiceLoss``. A name whose last part starts with
a capital letter is a class (parameters when constructed, tensors when called); the others are
functions (tensors first, then the parameters without a default, then keywords). Parameters
and tensors are those of the framework, with its defaults; everything runs through the same
mapping as ``loss_core.batch``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List

import numpy as np

from . import _native

#: The package module of each framework prefix.
MODULES = {
    "torchvision": "torchvision",
    "monai": "monai",
    "segmentation_models_pytorch": "segmentation_models_pytorch",
    "kornia": "kornia",
    "keras": "keras",
    "seed": "seed",
}


def plain(value: Any) -> Any:
    """A parameter value as plain Python (NumPy scalars and arrays, tuples become JSON-like)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _bind(
    where: str, names: List[str], args: tuple, kwargs: Dict[str, Any]
) -> Dict[str, Any]:
    if len(args) > len(names):
        raise TypeError(
            f"{where} takes {len(names)} positional arguments but {len(args)} were given"
        )
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"{where} got multiple values for argument '{key}'")
        bound[key] = value
    return bound


def _split(sig: Dict[str, Any], bound: Dict[str, Any]):
    """Tensors and parameters of a call: every keyword the mapping does not know as a
    parameter is a tensor (the mapping names an unknown input in its error)."""
    known = set(sig["parameters"])
    params = {k: plain(v) for k, v in bound.items() if k in known}
    tensors = {k: v for k, v in bound.items() if k not in known}
    return params, tensors


class _FrameworkDefault:
    """The default of a keyword in a generated signature: the framework's own (the mapping
    applies it when the keyword is left out)."""

    def __repr__(self) -> str:
        return "<framework default>"


FRAMEWORK_DEFAULT = _FrameworkDefault()


def _signature(names: List[str], keywords: List[str]) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(n, kind) for n in names]
    params += [
        inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=FRAMEWORK_DEFAULT)
        for k in keywords
        if k not in names
    ]
    return inspect.Signature(params)


def _doc(sig: Dict[str, Any], how: str) -> str:
    alias = f" (alias of ``{sig['alias_of']}``)" if sig["alias_of"] else ""
    return (
        f"``{sig['function']}``{alias} through loss-core: {how}\n\n"
        f"Tensors: {', '.join(sig['inputs'])}. Parameters (the framework's names and "
        f"defaults): {', '.join(sig['parameters'])}.\n\n"
        "Returns a float for a scalar loss, else a float32 array of the framework's shape. "
        "Raises ValueError with the message of ``loss_core.batch``."
    )


_GRAD_DOC = (
    "The loss and its gradient with respect to the prediction, as the framework's autograd "
    "gives it (of the sum of the output when it is not a scalar): ``(loss, {name: gradient})`` "
    "with the prediction's argument name and shape. ValueError for a function loss-core has "
    "no gradient of."
)


def make_function(sig: Dict[str, Any]) -> Callable[..., Any]:
    """A framework function: ``f(*tensors, *required, **params)``."""
    function = sig["function"]
    name = function.rsplit(".", 1)[1]
    positional = list(sig["inputs"]) + list(sig["required"])

    def call(*args: Any, **kwargs: Any) -> Any:
        params, tensors = _split(sig, _bind(name, positional, args, kwargs))
        return _native.evaluate(function, params, tensors)

    def loss_and_grad(*args: Any, **kwargs: Any) -> Any:
        params, tensors = _split(sig, _bind(name, positional, args, kwargs))
        return _native.evaluate(function, params, tensors, grad=True)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = _doc(sig, "a function of its tensors and parameters.")
    call.__signature__ = _signature(positional, sig["parameters"])  # type: ignore[attr-defined]
    loss_and_grad.__name__ = "loss_and_grad"
    loss_and_grad.__qualname__ = f"{name}.loss_and_grad"
    loss_and_grad.__doc__ = _GRAD_DOC
    loss_and_grad.__signature__ = call.__signature__  # type: ignore[attr-defined]
    call.loss_and_grad = loss_and_grad  # type: ignore[attr-defined]
    return call


def make_class(sig: Dict[str, Any]) -> type:
    """A framework loss class: parameters at construction, tensors when called."""
    function = sig["function"]
    name = function.rsplit(".", 1)[1]
    required = list(sig["required"])
    inputs = list(sig["inputs"])

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        params = {k: plain(v) for k, v in _bind(name, required, args, kwargs).items()}
        _native.check(function, params)
        self.params = params

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        tensors = _bind(f"{name}.__call__", inputs, args, kwargs)
        return _native.evaluate(function, self.params, tensors)

    def loss_and_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
        tensors = _bind(f"{name}.loss_and_grad", inputs, args, kwargs)
        return _native.evaluate(function, self.params, tensors, grad=True)

    loss_and_grad.__doc__ = _GRAD_DOC

    def __repr__(self: Any) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"loss_core.{function.split('.', 1)[0]}.{name}({args})"

    __init__.__signature__ = _signature(["self"] + required, sig["parameters"])  # type: ignore[attr-defined]
    namespace = {
        "__init__": __init__,
        "__call__": __call__,
        "__repr__": __repr__,
        "forward": __call__,
        "loss_and_grad": loss_and_grad,
        "__doc__": _doc(sig, "construct with its parameters, call with its tensors."),
        "function": function,
    }
    return type(name, (), namespace)


def populate(namespace: Dict[str, Any], prefix: str) -> List[str]:
    """Puts the entry points of the functions whose name starts with ``prefix.`` into a
    module's namespace; returns their names."""
    names = []
    for sig in _native.signatures():
        function = sig["function"]
        if function.split(".", 1)[0] != prefix:
            continue
        name = function.rsplit(".", 1)[1]
        namespace[name] = make_class(sig) if name[:1].isupper() else make_function(sig)
        namespace[name].__module__ = namespace.get("__name__", "loss_core")
        names.append(name)
    return sorted(names)


_RESULT = "Union[float, NDArray[np.float32]]"
_GRAD_RESULT = f"Tuple[{_RESULT}, Dict[str, {_RESULT}]]"


def stub(prefix: str) -> str:
    """The type stub (``.pyi``) of the module of ``prefix``, generated from the mapping."""
    lines = [
        f'"""Type stubs of ``loss_core.{prefix}`` (generated by '
        '``loss_core._frameworks.write_stubs``)."""',
        "",
        "from typing import Any, Dict, Tuple, Union",
        "",
        "import numpy as np",
        "from numpy.typing import ArrayLike, NDArray",
        "",
    ]
    sigs = [s for s in _native.signatures() if s["function"].split(".", 1)[0] == prefix]
    names = sorted(s["function"].rsplit(".", 1)[1] for s in sigs)
    lines.append(f"__all__ = {names!r}")
    for sig in sorted(sigs, key=lambda s: s["function"].rsplit(".", 1)[1]):
        name = sig["function"].rsplit(".", 1)[1]
        required = list(sig["required"])
        keywords = [f"{k}: Any = ..." for k in sig["parameters"] if k not in required]
        tensors = [f"{t}: ArrayLike" for t in sig["inputs"]]
        lines.append("")
        if name[:1].isupper():
            init = ["self"] + [f"{r}: Any" for r in required] + (["*"] + keywords if keywords else [])
            lines += [
                "",
                f"class {name}:",
                f'    """``{sig["function"]}`` through loss-core."""',
                "",
                "    function: str",
                "    params: Dict[str, Any]",
                f"    def __init__({', '.join(init)}) -> None: ...",
                f"    def __call__(self, {', '.join(tensors)}) -> {_RESULT}: ...",
                f"    def forward(self, {', '.join(tensors)}) -> {_RESULT}: ...",
                f"    def loss_and_grad(self, {', '.join(tensors)}) -> {_GRAD_RESULT}: ...",
            ]
        else:
            args = tensors + [f"{r}: Any" for r in required] + (["*"] + keywords if keywords else [])
            lines += [
                f"def {name}({', '.join(args)}) -> {_RESULT}:",
                f'    """``{sig["function"]}`` through loss-core."""',
            ]
    return "\n".join(lines) + "\n"


def write_stubs(directory: str) -> None:
    """Writes the stub of every framework module into ``directory`` (the package's source:
    ``python -c "import loss_core._frameworks as f; f.write_stubs('python/loss_core')"``)."""
    import pathlib

    for prefix in MODULES:
        (pathlib.Path(directory) / f"{prefix}.pyi").write_text(stub(prefix))
