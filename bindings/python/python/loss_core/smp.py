"""``segmentation_models_pytorch`` by its usual short name."""

from .segmentation_models_pytorch import *  # noqa: F401,F403
from .segmentation_models_pytorch import __all__  # noqa: F401
