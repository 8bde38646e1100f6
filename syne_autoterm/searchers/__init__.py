"""Searchers of our own: Syne Tune searchers with their defects fixed.

Why a package: the searcher is a torch class, and ``import syne_autoterm`` must
not import torch; the names below are resolved lazily (module ``__getattr__``),
so torch is imported only when one of them is used.

- ``AlignedBoTorchSearcher``: Syne Tune's ``BoTorchSearcher`` with (config, value)
  pairs aligned by trial id, a learned observation noise and its fitted model kept.
- ``aligned_botorch``: the scheduler Syne Tune's ``BOTorch`` returns, with that searcher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .aligned_searcher import AlignedBoTorchSearcher, aligned_botorch

_LAZY = ("AlignedBoTorchSearcher", "aligned_botorch")

__all__ = ["AlignedBoTorchSearcher", "aligned_botorch"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import aligned_searcher

        return getattr(aligned_searcher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
