"""Type stubs of the extension module ``loss_core._native`` (the classes are ``loss_core``'s)."""

from typing import Any, Dict, List, Tuple

from numpy.typing import ArrayLike

from . import (
    BinaryFocal as BinaryFocal,
    CodeCounts as CodeCounts,
    DatasetState as DatasetState,
    FrameSignals as FrameSignals,
    LossAccumulator as LossAccumulator,
    Monitor as Monitor,
    OverlapAccumulator as OverlapAccumulator,
    OverlapLoss as OverlapLoss,
    QuantizedFocalLoss as QuantizedFocalLoss,
    QuantizedOverlapLoss as QuantizedOverlapLoss,
    SegmentationAccumulator as SegmentationAccumulator,
    SigmoidFocal as SigmoidFocal,
    batch as batch,
)

__all__ = [
    "batch",
    "evaluate",
    "check",
    "signatures",
    "input_address",
    "SigmoidFocal",
    "BinaryFocal",
    "LossAccumulator",
    "OverlapLoss",
    "OverlapAccumulator",
    "SegmentationAccumulator",
    "CodeCounts",
    "DatasetState",
    "_dataset_pairs",
    "_evaluate_pair",
    "QuantizedFocalLoss",
    "QuantizedOverlapLoss",
    "Monitor",
    "FrameSignals",
]

def evaluate(function: str, params: Dict[str, Any], inputs: Dict[str, Any], grad: bool = ...) -> Any: ...
def check(function: str, params: Dict[str, Any]) -> None: ...
def signatures() -> List[Dict[str, Any]]: ...
def input_address(values: ArrayLike) -> int: ...
def _dataset_pairs(predictions: str, targets: str) -> List[Tuple[str, str]]: ...
def _evaluate_pair(predictions: str, targets: str, flags: List[str] = ...) -> DatasetState: ...
