"""The stored run a user means by the name they gave ``tune --name``.

Why: Syne Tune stores a run as ``<name>-<timestamp>`` (``name_from_base``, the
name cut to fit 63 characters), and the ``tune`` summary prints that folder, but
the name a user remembers and types into ``explain``, ``compare``, ``stop`` or
``tune --resume`` is the one they chose. Without this, ``explain t1`` after
``tune --name t1`` said "experiment 't1' has no results".
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Syne Tune's suffix: "-" + "%Y-%m-%d-%H-%M-%S-%f" without its last three digits
_STAMP = re.compile(r"-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}$")


@dataclass(frozen=True)
class ResolvedName:
    """The folder name of a run, and how many runs the typed name matched."""

    name: str
    matches: int = 1
    typed: str | None = None  # the prefix the user typed, when it was not the folder name

    @property
    def note(self) -> str | None:
        """One line saying which run a prefix was taken to mean (None for an exact name)."""
        if self.typed is None:
            return None
        others = f", the newest of {self.matches}" if self.matches > 1 else ""
        return f"run {self.typed!r} is {self.name}{others}"


def _stored_base(typed: str) -> str:
    """The prefix Syne Tune keeps of ``typed`` in a folder name (it may cut it)."""
    from syne_tune.util import name_from_base

    return _STAMP.sub("", name_from_base(typed))


def resolve_run_name(typed: str, root: Path | None = None) -> ResolvedName:
    """``typed`` as given when it names a folder under ``root`` (Syne Tune's folder by
    default) or an existing path; otherwise the newest ``<typed>-<timestamp>`` folder;
    otherwise ``typed`` unchanged, so that the caller reports it missing (or looks for
    it elsewhere, as a remote run's S3 mirror)."""
    from syne_tune.util import experiment_path

    path = Path(typed)
    if path.exists() and path.is_dir():
        return ResolvedName(path.name)
    base_dir = Path(root) if root is not None else experiment_path()
    if (base_dir / typed).is_dir() or "/" in typed or not typed:
        return ResolvedName(typed)
    base = _stored_base(typed)
    try:
        runs = [p.name for p in base_dir.iterdir() if p.is_dir()]
    except OSError:
        return ResolvedName(typed)
    matches = sorted(n for n in runs if _STAMP.search(n) and _STAMP.sub("", n) == base)
    if not matches:
        return ResolvedName(typed)
    # the timestamp sorts chronologically: the last is the newest
    return ResolvedName(matches[-1], matches=len(matches), typed=typed)


def run_name_as_meant(typed: str) -> str:
    """The folder name :func:`resolve_run_name` finds, saying on stderr which run a typed
    prefix was taken to mean (every command that takes a run name reports it alike)."""
    resolved = resolve_run_name(typed)
    if resolved.note:
        print(resolved.note, file=sys.stderr)
    return resolved.name
