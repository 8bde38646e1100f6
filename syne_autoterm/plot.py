"""The picture a user looks at after a job: why it stopped, and what stopping cost.

Top panel: the regret bound and the (scaled) statistical error of the
incumbent against completed trials; the stop is where the first falls below the
second. Bottom panel: the incumbent's validation and test error, so the user
sees whether going on would have bought anything. The warm-up (no decision
possible) is shaded, and a job ended by its budget rather than the rule is
marked as such. matplotlib is imported here only, lazily, with the
non-interactive Agg backend (no display on servers).

From Python: ``rule.plot(path)`` (:meth:`~syne_autoterm.stopping.base.StoppingRule.plot`)
draws this figure for a rule after ``tuner.run()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def plot_decisions(
    history: Sequence[dict],
    out_path: str | Path,
    incumbent_curve: Mapping[str, Sequence[float]] | None = None,
    title: str = "",
    metric: str = "error",
    warm_up: int | None = None,
    budget_stop: int | None = None,
) -> Path:
    """Write the two-panel PNG.

    ``incumbent_curve``: ``{"n": [...], "validation": [...], "test": [...]}``,
    the incumbent after each completed trial (test optional); when None, the
    incumbent values the checks recorded are drawn. ``warm_up``: shade the
    trials before it. ``budget_stop``: the completed trials at which a budget
    (not the rule) ended the job.
    """
    if not incumbent_curve:
        from .explain import incumbent_curve_from_history

        incumbent_curve = incumbent_curve_from_history(history)
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
            ax.plot(
                n,
                [np.nan if t is None else t for t in thresholds],
                "s-",
                ms=3,
                label="statistical error (threshold)",
            )
        positive = [v for r in checked for v in (r["regret_bound"], r.get("threshold")) if v]
        if positive and min(positive) > 0:
            ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no check past the warm-up", ha="center", transform=ax.transAxes)
    stops = [r for r in history if r.get("stop")]
    for a in axes:
        top = a is axes[0]
        if warm_up:
            a.axvspan(
                0,
                warm_up,
                color="0.85",
                alpha=0.5,
                lw=0,
                label=f"warm-up ({warm_up} trials)" if top else None,
            )
        if stops:
            a.axvline(
                stops[0]["n_completed"],
                color="red",
                ls="--",
                lw=1,
                label=f"stop at {stops[0]['n_completed']} trials" if top else None,
            )
        elif budget_stop is not None:
            a.axvline(
                budget_stop,
                color="0.3",
                ls=":",
                lw=1.5,
                label=f"budget ended the job at {budget_stop} trials" if top else None,
            )
    ax.set_ylabel("remaining gain vs error")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title)

    ax = axes[1]
    if incumbent_curve and len(incumbent_curve.get("n", [])):
        ax.step(
            incumbent_curve["n"],
            incumbent_curve["validation"],
            where="post",
            label=f"incumbent validation {metric}",
        )
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
