"""The compare table written out: a CSV, and a figure of trials saved vs incumbent change.

Why its own module: the figure is the only part of ``compare`` that needs
matplotlib (imported when writing), and its layout (shared markers for
settings that land on one point) is independent of how the table is built.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

__all__ = ["write_compare_outputs"]


def write_compare_outputs(
    df: pd.DataFrame, out_dir: str | Path, name: str = "compare"
) -> dict[str, Path]:
    """Write ``<name>.csv`` and ``<name>.png`` (trials saved vs incumbent change per rule)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{name}.csv"
    df.to_csv(csv_path, index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_test = "test_rel_change" in df.columns
    fig, axes = plt.subplots(
        1, 2 if has_test else 1, figsize=(12 if has_test else 6.5, 5), squeeze=False
    )
    panels = [("metric_rel_change", "validation metric")] + (
        [("test_rel_change", "test metric")] if has_test else []
    )
    labels = df["setting"] if "setting" in df else df["rule"]
    for ax, (col, label) in zip(axes[0], panels):
        # settings that land on the same point share one marker and one stacked label
        points: dict[tuple, list[str]] = {}
        for (_, r), text in zip(df.iterrows(), labels):
            y = r.get(col)
            if y is None or (isinstance(y, float) and math.isnan(y)):
                continue
            key = (round(float(r["trials_saved_frac"]), 4), round(float(y), 4), bool(r["stopped"]))
            points.setdefault(key, []).append(str(text))
        for (x, y, stopped), texts in points.items():
            ax.scatter(x, y, marker="o" if stopped else "x", s=40)
            ax.annotate(
                "\n".join(texts),
                (x, y),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
                va="bottom",
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("share of trials saved")
        ax.set_ylabel(f"relative change of the incumbent's {label}\n(negative: worse when stopped)")
        ax.grid(alpha=0.3)
    n = int(df["n_trials"].iloc[0]) if len(df) else 0
    fig.suptitle(f"When each rule would have stopped ({n} completed trials; x: never fired)")
    fig.tight_layout()
    png_path = out / f"{name}.png"
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return {"csv": csv_path, "png": png_path}
