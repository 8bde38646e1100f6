"""How a rule fits its GP at a check: the fallbacks, the refit schedule, the encoded rows.

Why here and not in the rule: these are facts about fitting a posterior to
completed trials (which fitter to try next after a failure, when the
hyperparameters are optimised again, which configs' rows can be reused), the
same for any rule that fits one; the rule keeps only its caches (plain dicts,
so that it pickles).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..evidence import Evidence
from ._choice import cached_fitter
from ._sklearn_gp import SklearnGP

__all__ = [
    "RETRY_JITTERS",
    "encode_configs",
    "encode_reusing",
    "fit_attempts",
    "refit_key",
    "refit_point",
]

# Noise floors (standardised units) of the retries after a failed GP fit.
RETRY_JITTERS = (1e-4, 1e-2)


def fit_attempts(
    fitters: dict[str, Any], botorch: bool, scheduler: Any, seed: int
) -> list[tuple[Any, float]]:
    """``(fitter, jitter)`` in the order tried: primary, primary with more jitter, sklearn.

    ``fitters`` is the rule's cache of fitters (one per kind, built once per rule).
    """
    primary = cached_fitter(fitters, botorch, scheduler, seed)
    attempts = [(primary, 0.0), (primary, RETRY_JITTERS[0])]
    if primary.name != SklearnGP.name:
        attempts.append((cached_fitter(fitters, False, scheduler, seed), RETRY_JITTERS[0]))
    attempts.append((cached_fitter(fitters, False, scheduler, seed), RETRY_JITTERS[1]))
    return attempts


def refit_point(n: int, first: int, growth: float) -> int:
    """The count at or below ``n`` where GP hyperparameters were last optimised.

    The schedule is fixed by counts alone: ``first``, then each point ``growth``
    times the previous (rounded up, at least one more), so that a check's
    hyperparameters depend on the completed trials, never on which checks ran.
    Below ``first`` every count is its own point.
    """
    if n <= first:
        return n
    point = first
    while True:
        following = max(point + 1, math.ceil(point * growth - 1e-9))
        if following > n:
            return point
        point = following


def refit_key(fitter: Any, evidence: Evidence, usable: np.ndarray, point: int) -> tuple:
    """Identity of a refit: the fitter, and the shortest prefix holding ``point`` usable trials."""
    length = int(np.flatnonzero(usable)[point - 1]) + 1 if point > 0 else 0
    return getattr(fitter, "name", "?"), length, evidence.head(length).key()


@dataclass
class EncodedRows:
    """Encoded rows of the configs seen at earlier checks (see :func:`encode_reusing`).

    ``by_key`` maps a config's canonical ``repr`` to its row; ``by_id`` maps the
    id of a config object already keyed to that object and its row, so a config
    met again as the same object (every earlier trial, at every check: the
    evidence keeps its config dicts) costs a dict lookup instead of a ``repr``
    (15 ms of a 166 ms check at 1000 trials). The object is kept with its row so
    that its id cannot be reused by another config while the entry lives.
    """

    by_key: dict[str, np.ndarray] = field(default_factory=dict)
    by_id: dict[int, tuple[Any, np.ndarray]] = field(default_factory=dict)

    def clear(self) -> None:
        self.by_key.clear()
        self.by_id.clear()

    def known(self, config: Any) -> np.ndarray | None:
        entry = self.by_id.get(id(config))
        return entry[1] if entry is not None and entry[0] is config else None


def _config_key(config: Any) -> str | None:
    if not isinstance(config, Mapping):
        return None
    return repr(sorted(config.items(), key=lambda kv: str(kv[0])))


def encode_reusing(
    encoder: Any, configs: Sequence[Mapping[str, Any]], cache: EncodedRows
) -> np.ndarray:
    """:func:`encode_configs`, reusing the rows of configs seen at earlier checks.

    Syne Tune encodes one config at a time in Python (a third of a check at
    100 trials); the domain is fixed when it comes from a config space or the
    searcher, so a config's row never changes (an inferred domain depends on
    all configs: its caller must not reuse rows). Configs are matched by
    object first, then by their canonical ``repr``; the cache is cleared when
    the encoder's width changes. The evidence's config dicts are its own copies
    (see :class:`~syne_autoterm.evidence.EvidenceCollector`), never mutated.
    """
    known = [cache.known(c) for c in configs]
    keys = {i: _config_key(configs[i]) for i, row in enumerate(known) if row is None}
    missing = [i for i, k in keys.items() if k not in cache.by_key]  # None is never cached
    fresh = (
        dict(zip(missing, encode_configs(encoder, [configs[i] for i in missing])))
        if missing
        else {}
    )
    rows: list[np.ndarray] = [
        row if row is not None else fresh[i] if i in fresh else cache.by_key[keys[i] or ""]
        for i, row in enumerate(known)
    ]
    if len({row.size for row in rows}) > 1:  # another encoder than the cached rows'
        cache.clear()
        return encode_configs(encoder, configs)
    for i, key in keys.items():
        if key is not None and np.all(np.isfinite(rows[i])):
            row = cache.by_key.setdefault(key, rows[i])
            cache.by_id[id(configs[i])] = (configs[i], row)
    return np.array(rows, dtype=float)


def encode_configs(encoder: Any, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Encoded configs; a row that cannot be encoded is all-NaN."""
    try:
        features = np.asarray(encoder.encode(list(configs)), dtype=float)
        if features.ndim == 2 and len(features) == len(configs):
            return features
    except Exception:
        pass
    rows = []
    width = None
    for config in configs:
        try:
            row = np.asarray(encoder.encode([config]), dtype=float).reshape(-1)
            width = row.size
        except Exception:
            row = None
        rows.append(row)
    width = width if width is not None else max(1, int(getattr(encoder, "n_features", 1)))
    return np.array(
        [r if r is not None and r.size == width else np.full(width, np.nan) for r in rows],
        dtype=float,
    ).reshape(len(configs), width)
