"""The picture a user looks at after a job: why it stopped, and what stopping cost.

Top panel: the regret bound and the (scaled) statistical error of the
incumbent against completed trials; the stop is where the first falls below the
second. Bottom panel: the incumbent's validation and test error, so the user
sees whether going on would have bought anything. matplotlib is imported here
only, lazily, with the non-interactive Agg backend (no display on servers).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_decisions(
    history: Sequence[dict],
    out_path: str | Path,
    incumbent_curve: dict[str, Sequence[float]] | None = None,
    title: str = "",
    metric: str = "error",
) -> Path:
    """Write the two-panel PNG.

    ``incumbent_curve``: ``{"n": [...], "validation": [...], "test": [...]}``,
    the incumbent after each completed trial (test optional).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checked = [r for r in history if r.get("regret_bound") is not None]
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    ax = axes[0]
    if checked:
        n = [r["n_completed"] for r in checked]
        ax.plot(n, [r["regret_bound"] for r in checked], "o-", ms=3, label="regret bound")
        thresholds = [r.get("threshold") for r in checked]
        if any(t is not None for t in thresholds):
            ax.plot(n, [np.nan if t is None else t for t in thresholds], "s-", ms=3,
                    label="statistical error (threshold)")
        positive = [v for r in checked for v in (r["regret_bound"], r.get("threshold")) if v]
        if positive and min(positive) > 0:
            ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no check past the warm-up", ha="center", transform=ax.transAxes)
    stops = [r for r in history if r.get("stop")]
    for a in axes:
        if stops:
            a.axvline(stops[0]["n_completed"], color="red", ls="--", lw=1,
                      label=f"stop at {stops[0]['n_completed']} trials" if a is axes[0] else None)
    ax.set_ylabel("remaining gain vs error")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title)

    ax = axes[1]
    if incumbent_curve and len(incumbent_curve.get("n", [])):
        ax.step(incumbent_curve["n"], incumbent_curve["validation"], where="post",
                label=f"incumbent validation {metric}")
        test = incumbent_curve.get("test")
        if test is not None and np.isfinite(np.asarray(test, dtype=float)).any():
            ax.step(incumbent_curve["n"], test, where="post", label=f"incumbent test {metric}")
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("completed trials")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path
