"""Type stubs of the extension module ``loss_core._native`` (the classes are ``loss_core``'s)."""

from typing import Any, Dict, List

from numpy.typing import ArrayLike

from . import (
    BinaryFocal as BinaryFocal,
    CodeCounts as CodeCounts,
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
    "QuantizedFocalLoss",
    "QuantizedOverlapLoss",
    "Monitor",
    "FrameSignals",
]

def evaluate(function: str, params: Dict[str, Any], inputs: Dict[str, Any]) -> Any: ...
def check(function: str, params: Dict[str, Any]) -> None: ...
def signatures() -> List[Dict[str, Any]]: ...
def input_address(values: ArrayLike) -> int: ...
