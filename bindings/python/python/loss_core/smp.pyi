"""Type stubs of ``loss_core.smp``: ``loss_core.segmentation_models_pytorch`` by its usual name."""

from .segmentation_models_pytorch import *  # noqa: F401,F403
from .segmentation_models_pytorch import __all__ as __all__
