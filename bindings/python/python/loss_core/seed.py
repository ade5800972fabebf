"""``seed`` losses through loss-core, shaped like the framework's own (generated from the
mapping of ``loss-tools batch``; see ``loss_core._frameworks``)."""

from ._frameworks import populate

__all__ = populate(globals(), "seed")
