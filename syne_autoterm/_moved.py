"""Module paths that ``tuner.dill`` files name, kept readable across moves.

Why kept: a ``tuner.dill`` saved by an earlier version names its rule's class
by the old module (``syne_autoterm.criterion.AutoTermination``), and ``Tuner.load``
(``--resume``, ``compare``) must still read it. Nothing else should import these
aliases. Classes split out of a module into a private one keep the public path
their pickles have always named (:func:`pickled_as`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

_OLD_TO_NEW = {
    "rule": "base",
    "rules": "baselines",
    "peers": "peers",
    "any_of": "any_of",
    "criterion": "autoterm",
}

_T = TypeVar("_T", bound=type)


def register_old_paths() -> None:
    """Make each old module name an alias of the module that now holds its classes."""
    for old, new in _OLD_TO_NEW.items():
        sys.modules.setdefault(f"syne_autoterm.{old}", sys.modules[f"syne_autoterm.stopping.{new}"])


def pickled_as(module: str) -> Callable[[_T], _T]:
    """Pickle the decorated class under ``module``, which must re-export it.

    Why: pickles name a class by its ``__module__``. A class that moved into a
    private module would otherwise be saved under that private path, and every
    ``tuner.dill`` written from then on would break when the private module is
    next reorganised. Apply it above ``@dataclass``, which resolves its field
    annotations in the class's own module.
    """

    def pin(cls: _T) -> _T:
        cls.__module__ = module
        return cls

    return pin
