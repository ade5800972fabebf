"""Focal, dice and their family with the bits of the device (loss-core).

- ``batch(request)``: one ``loss-tools batch`` request as a dict, its response as a dict.
- Framework-shaped entry points: ``loss_core.torchvision``, ``loss_core.monai``,
  ``loss_core.segmentation_models_pytorch`` (``loss_core.smp``), ``loss_core.kornia``,
  ``loss_core.keras``, ``loss_core.seed``.
- The device-side API: ``SigmoidFocal``, ``BinaryFocal``, ``OverlapLoss`` and their
  accumulators, ``SegmentationAccumulator`` (multi-class), ``CodeCounts`` with
  ``QuantizedFocalLoss`` / ``QuantizedOverlapLoss`` (int8 / uint8 outputs), ``FrameSignals``
  and ``Monitor``.
- Dataset evaluation with the bits of ``loss-tools eval``: ``loss_core.dataset`` (one pair's
  exact ``DatasetState``, merged in any order and grouping, on one machine or a cluster).

NumPy arrays are read in place when they are C-contiguous with the kernel's dtype (float32
scores, int8/uint8 codes, bool/uint8 masks); anything else is converted once.
"""

from . import _native
from ._native import (
    BinaryFocal,
    CodeCounts,
    DatasetState,
    FrameSignals,
    LossAccumulator,
    Monitor,
    OverlapAccumulator,
    OverlapLoss,
    QuantizedFocalLoss,
    QuantizedOverlapLoss,
    SegmentationAccumulator,
    SigmoidFocal,
    batch,
)
from . import dataset, keras, kornia, monai, seed, segmentation_models_pytorch, smp, torchvision

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
