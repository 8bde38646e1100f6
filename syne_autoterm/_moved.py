"""The rules' module paths before they moved into :mod:`syne_autoterm.stopping`.

Why kept: a ``tuner.dill`` saved by an earlier version names its rule's class
by the old module (``syne_autoterm.criterion.AutoTermination``), and ``Tuner.load``
(``--resume``, ``compare``) must still read it. Nothing else should import these.
"""

from __future__ import annotations

import sys

_OLD_TO_NEW = {
    "rule": "base",
    "rules": "baselines",
    "peers": "peers",
    "any_of": "any_of",
    "criterion": "autoterm",
}


def register_old_paths() -> None:
    """Make each old module name an alias of the module that now holds its classes."""
    for old, new in _OLD_TO_NEW.items():
        sys.modules.setdefault(f"syne_autoterm.{old}", sys.modules[f"syne_autoterm.stopping.{new}"])
