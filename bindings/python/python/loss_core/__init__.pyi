"""Type stubs of ``loss_core``: ``batch``, the framework modules and the device-side API."""

from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union, final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import dataset as dataset
from . import keras as keras
from . import kornia as kornia
from . import monai as monai
from . import seed as seed
from . import segmentation_models_pytorch as segmentation_models_pytorch
from . import smp as smp
from . import torchvision as torchvision

_Reduction = Literal["mean", "sum"]
_SoftTargets = Literal["torchvision", "monai", "kornia", "smp"]
_Predictions = Literal["logits", "probabilities"]
_LayoutName = Literal["channels_first", "channels_last", "nchw", "nhwc"]
_CodeDtype = Literal["int8", "uint8"]
_Level = Literal["ok", "warn", "alarm"]

__all__ = [
    "BinaryFocal",
    "CodeCounts",
    "DatasetState",
    "FrameSignals",
    "LossAccumulator",
    "Monitor",
    "OverlapAccumulator",
    "OverlapLoss",
    "QuantizedFocalLoss",
    "QuantizedOverlapLoss",
    "SegmentationAccumulator",
    "SigmoidFocal",
    "batch",
    "dataset",
    "keras",
    "kornia",
    "monai",
    "seed",
    "segmentation_models_pytorch",
    "smp",
    "torchvision",
]

def batch(request: Dict[str, Any]) -> Dict[str, Any]:
    """One ``loss-tools batch`` request; ``{"id", "loss": {"shape", "data"}}`` or
    ``{"id", "error"}``."""

@final
class LossAccumulator:
    def push(self, predictions: ArrayLike, targets: ArrayLike) -> None: ...
    def finish(self) -> float: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class SigmoidFocal:
    def __new__(
        cls,
        alpha: Optional[float] = ...,  # 0.25
        gamma: float = 2.0,
        reduction: _Reduction = "mean",
        soft_targets: _SoftTargets = "torchvision",
    ) -> Any: ...
    def loss(self, predictions: ArrayLike, targets: ArrayLike) -> float: ...
    def loss_elementwise(self, predictions: ArrayLike, targets: ArrayLike) -> NDArray[np.float32]: ...
    def loss_per_sample(
        self, predictions: ArrayLike, targets: ArrayLike, samples: int
    ) -> NDArray[np.float32]: ...
    def accumulator(self) -> LossAccumulator: ...

@final
class BinaryFocal:
    def __new__(
        cls,
        alpha: Optional[float] = None,
        gamma: float = 2.0,
        clamp_min: float = 0.0,
        clamp_max: float = 1.0,
        reduction: _Reduction = "mean",
        soft_targets: _SoftTargets = "kornia",
    ) -> Any: ...
    @staticmethod
    def seed() -> "BinaryFocal": ...
    @staticmethod
    def keras(alpha: Optional[float] = None, gamma: float = 2.0) -> "BinaryFocal": ...
    def loss(self, predictions: ArrayLike, targets: ArrayLike) -> float: ...
    def loss_elementwise(self, predictions: ArrayLike, targets: ArrayLike) -> NDArray[np.float32]: ...
    def loss_per_sample(
        self, predictions: ArrayLike, targets: ArrayLike, samples: int
    ) -> NDArray[np.float32]: ...
    def accumulator(self) -> LossAccumulator: ...

@final
class OverlapAccumulator:
    def push(self, predictions: ArrayLike, targets: ArrayLike) -> None: ...
    def stats(self) -> Dict[str, Union[float, int]]: ...
    def finish(self) -> float: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class OverlapLoss:
    def __new__(
        cls,
        kind: Literal["dice", "jaccard", "tversky"] = "dice",
        alpha: float = 0.5,
        beta: float = 0.5,
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        squared: bool = False,
        predictions: _Predictions = "probabilities",
    ) -> Any: ...
    def loss(self, predictions: ArrayLike, targets: ArrayLike) -> float: ...
    def stats(self, predictions: ArrayLike, targets: ArrayLike) -> Dict[str, Union[float, int]]: ...
    def loss_per_sample(
        self, predictions: ArrayLike, targets: ArrayLike, samples: int
    ) -> NDArray[np.float32]: ...
    def accumulator(self) -> OverlapAccumulator: ...

@final
class SegmentationAccumulator:
    def __new__(
        cls,
        classes: int,
        loss: Optional[Literal["softmax_focal", "one_vs_rest_focal"]] = ...,  # "softmax_focal"
        gamma: float = 2.0,
        alpha: Optional[float] = None,
        alpha_spread: Literal["background", "uniform"] = "background",
        predictions: _Predictions = "logits",
        activation: Literal["softmax", "sigmoid", "tanh", "none"] = "softmax",
        squared: bool = False,
        decision: Optional[float] = None,
    ) -> Any: ...
    def push(
        self,
        scores: ArrayLike,
        targets: ArrayLike,
        layout: _LayoutName = "channels_first",
        ignore_index: Optional[int] = None,
    ) -> None: ...
    def push_codes(
        self,
        codes: NDArray[Union[np.int8, np.uint8]],
        targets: ArrayLike,
        scale: Union[float, Sequence[float]],
        zero_point: Union[int, Sequence[int]],
        layout: _LayoutName = "channels_first",
        ignore_index: Optional[int] = None,
    ) -> None: ...
    @property
    def pixels(self) -> int: ...
    @property
    def classes(self) -> int: ...
    def class_sums(self) -> NDArray[np.float32]: ...
    def loss_total(self) -> float: ...
    def loss_mean_per_element(self) -> float: ...
    def loss_mean_per_pixel(self) -> float: ...
    def stats(self) -> NDArray[np.float32]: ...
    def counts(self) -> NDArray[np.uint64]: ...
    def metrics(self) -> Dict[str, NDArray[np.float32]]: ...
    def reset(self) -> None: ...

@final
class CodeCounts:
    def __new__(cls, dtype: _CodeDtype = "int8") -> Any: ...
    def push(self, codes: NDArray[Union[np.int8, np.uint8]], targets: NDArray[Union[np.bool_, np.uint8]]) -> None: ...
    def merge(self, other: "CodeCounts") -> None: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class DatasetState:
    def __new__(cls) -> Any: ...
    def merge(self, other: "DatasetState") -> "DatasetState": ...
    def __add__(self, other: "DatasetState", /) -> "DatasetState": ...
    def __radd__(self, other: "DatasetState", /) -> "DatasetState": ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    @property
    def pixels(self) -> int: ...
    @property
    def classes(self) -> int: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> "DatasetState": ...
    def report_json(self, flags: List[str] = ...) -> str: ...
    def __reduce__(self) -> Tuple[Any, Tuple[str]]: ...

@final
class QuantizedFocalLoss:
    def __new__(
        cls,
        loss: Union[SigmoidFocal, BinaryFocal],
        scale: float,
        zero_point: int,
        dtype: _CodeDtype = "int8",
    ) -> Any: ...
    def loss(self, counts: CodeCounts) -> float: ...

@final
class QuantizedOverlapLoss:
    def __new__(cls, loss: OverlapLoss, scale: float, zero_point: int, dtype: _CodeDtype = "int8") -> Any: ...
    def stats(self, counts: CodeCounts) -> Dict[str, Union[float, int]]: ...
    def loss(self, counts: CodeCounts) -> float: ...

@final
class Monitor:
    def __new__(cls, signals: List[Dict[str, Any]], window: Literal[16, 32, 64, 128] = 32) -> Any: ...
    def observe(self, values: Sequence[Optional[float]]) -> Tuple[_Level, List[Dict[str, Any]]]: ...
    def replay(
        self, values: ArrayLike, measured: Optional[ArrayLike] = None
    ) -> Tuple[NDArray[np.uint8], List[Dict[str, Any]]]: ...
    @property
    def level(self) -> _Level: ...
    @property
    def frames(self) -> int: ...
    def summary(self, i: int) -> Dict[str, Any]: ...

@final
class FrameSignals:
    def __new__(
        cls, channels: int, predictions: _Predictions = "logits", consistency: bool = False
    ) -> Any: ...
    def frame(self, scores: ArrayLike, layout: _LayoutName = "channels_first") -> Dict[str, Any]: ...
    def frame_codes(
        self,
        codes: NDArray[Union[np.int8, np.uint8]],
        scale: Union[float, Sequence[float]],
        zero_point: Union[int, Sequence[int]],
        layout: _LayoutName = "channels_first",
    ) -> Dict[str, Any]: ...
