"""The paper's bound (our port) swept densely over error_scale, from its logged checks.

``paper_replay`` and ``suite_compare`` log every check of the paper's bound
(``autoterm_checks*.csv.gz``: ``regret_bound`` and ``stat_error`` after ``n``
trials) while replaying it at ``error_scale`` 1 (the paper's decay 0.21). The
rule stops iff ``regret_bound < error_scale x stat_error``, so its stop at any
``error_scale >= 1`` is read off those checks without refitting a GP; smaller
scales would need checks past the scale-1 stop, which were not logged, so they
are not produced. Method names are ``autoterm_<decay>`` (decay = 0.21 x
error_scale), the paper bound's family in ``frontier``.

    python -m benchmarks.sweep_checks \\
        benchmarks/results/paper_replay/autoterm_checks_seeds0-9.csv.gz \\
        --runs benchmarks/paper_runs --out benchmarks/results/frontier/paper/per_run_paper_bound.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from benchmarks import paper_replay as pr
from benchmarks._common import parse_name
from syne_autoterm.stopping.settings import stops_on_record

# error_scale >= 1: 1 .. 32 with ratio 2**0.25 (decays 0.21 .. 6.72)
SCALES = tuple(float(f"{2.0 ** (e / 4):.4g}") for e in range(0, 21))
VARIANT = "autoterm"


def stops_from_checks(checks: pd.DataFrame, last: int) -> dict[float, tuple[int, bool]]:
    """Per error_scale: the first checked ``n`` at which the paper's rule stops (else ``last``),
    by the rule's own decision on each check (no patience, no fixed threshold)."""
    records = checks.sort_values("n").to_dict("records")
    out = {}
    for s in SCALES:
        hit = next((int(r["n"]) for r in records if stops_on_record(r, s)), None)
        out[s] = (hit, True) if hit is not None else (last, False)
    return out


def runs_with_checks(
    checks: pd.DataFrame, runs_dir: Path | Sequence[Path]
) -> Iterator[tuple[pr.Run, pd.DataFrame]]:
    """Each run of ``runs_dir`` that has logged checks, with its checks (sorted by ``n``)."""
    for path in pr.run_files(runs_dir):
        dataset, model = parse_name(path)
        mine = checks[(checks.dataset == dataset) & (checks.model == model)]
        if mine.empty:
            continue
        for run in pr.load_runs(path, sorted(int(s) for s in mine.seed.unique())):
            yield run, mine[mine.seed == run.seed].sort_values("n")


def per_run_rows(checks: pd.DataFrame, runs_dir: Path, variant: str = VARIANT) -> pd.DataFrame:
    rows = []
    for run, mine in runs_with_checks(checks[checks.variant == variant], runs_dir):
        for s, (n_stop, fired) in stops_from_checks(mine, pr.last_check(run)).items():
            rows.append(pr._row(run, f"autoterm_{0.21 * s:.4g}", n_stop, fired, ()))
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.sweep_checks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("checks", type=Path, nargs="+", help="autoterm_checks*.csv.gz files")
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="folders of runs")
    ap.add_argument("--out", type=Path, required=True, help="per-run CSV to write")
    args = ap.parse_args(argv)
    checks = pd.concat([pd.read_csv(c) for c in args.checks], ignore_index=True)
    per_run = pd.concat([per_run_rows(checks, r) for r in args.runs], ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    per_run.to_csv(args.out, index=False)
    summary = pr.summarize(per_run)
    summary.to_csv(
        args.out.with_name(args.out.name.replace("per_run", "summary")),
        index=False,
        float_format="%.5g",
    )
    print(f"{len(per_run)} rows ({per_run.method.nunique()} settings) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
