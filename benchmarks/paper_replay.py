"""Replay stopping rules on the paper's own GP-BO runs (Makarova et al., AutoML Conf 2022).

Every rule is a :class:`syne_autoterm.stopping.StoppingRule` checked on the first
``n`` evaluations of each stored run, ``n = 20 .. 199`` as the authors did; it
stops at the first ``n`` where it fires, else at 199. Then
``RTC = (199 - n_stop) / 199`` and ``RYC = (test_final - test_stop) /
max(test_final, test_stop)`` with the incumbent (lowest ``value`` among the
first ``n``) tested. Nothing here re-implements a rule: the same objects run
inside a Syne Tune ``Tuner``.

    python -m benchmarks.paper_replay --out benchmarks/results/paper_replay
    python -m benchmarks.paper_replay --out ... --methods heavy --seeds 0 1 2 --workers 2

``--methods`` takes method names, group names (``logged``, ``autoterm``,
``autoterm_foldnoise``, ``autoterm_botorch``, ``synetune_0.01``, ...,
``optuna_terminator``, ``optuna_emmr``), shell patterns (``conv_*``), or the
shorthands ``cheap`` (default: rules on logged values and the trajectory),
``heavy`` (ours and the peers) and ``all``. Per-run results are cached under
``OUT/cache/<group>/`` so an interrupted run resumes; ``--summary-only``
rebuilds the tables and the figure from the cache.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import sweeps
from benchmarks._common import (
    MODEL_NAMES,
    N_FOLDS,
    PAPER_RUNS,
    markdown_rows,
    parse_name,
    standard_error,
    write_csv,
)
from syne_autoterm import AutoTermination, Evidence, compare, error_scale_from_decay
from syne_autoterm.stopping import StoppingRule, make_rule
from syne_autoterm.stopping.arguments import finite_or_none
from syne_autoterm.stopping.outcome import rtc, ryc

DEFAULT_RUNS = PAPER_RUNS
FIRST_CHECK = 20  # the authors' IGNORE_ITER: first check after 20 evaluations
FINAL_N = 199  # their last check (and the reference "final" incumbent)
VALUE_DIGITS = 12  # significant digits kept of `value` (see load_run)

# The authors' search spaces (src/constant.py): (low, high, log, integer). Log-scaled
# hyperparameters are stored as natural logs and modelled as continuous in log space,
# as the authors' `to_internal_space` did; RF max_depth stays an integer.
PAPER_SPACES: dict[str, dict[str, tuple[float, float, bool, bool]]] = {
    "XGB": {
        "n_estimators": (2, 512, True, True),
        "learning_rate": (1e-6, 1.0, True, False),
        "gamma": (1e-6, 64.0, True, False),
        "min_child_weight": (1e-6, 32.0, True, False),
        "max_depth": (2, 32, True, True),
        "subsample": (0.5, 1.0, False, False),
        "colsample_bytree": (0.3, 1.0, False, False),
        "reg_lambda": (1e-6, 2.0, True, False),
        "reg_alpha": (1e-6, 2.0, True, False),
    },
    "RF": {
        "n_estimators": (1, 64, True, True),
        "min_samples_split": (0.01, 0.5, True, False),
        "max_depth": (1, 5, False, True),
    },
}

DECAYS = (0.21, 0.5, 1.0)
CONV_KS = (10, 30, 50, 70, 90)
EI_THRESHOLDS = (1e-8, 1e-12, 1e-16, 1e-20)  # the authors' names; see README
PI_THRESHOLDS = (1e-4, 1e-8, 1e-12, 1e-15)
PLATEAUS = ((0.001, 10, 0), (0.0001, 20, 0), (1e-05, 30, 0))
SYNETUNE_THRESHOLDS = (0.01, 0.001)
# Our criterion in the replay. Default posterior: the scikit-learn GP (what AutoTermination
# uses without a BOTorch searcher): 10-30x faster per check here than the BoTorch GP and
# about as faithful to the authors' bound (README: pooled Pearson 0.95 vs 0.99).
# These are the paper's bound (bound="ucb_lcb"); the default (probabilistic) bound is
# replayed by ``--methods frontier`` (sweeps.py).
# The paper's rule has no patience: without ``patience=None`` these rows took the
# default's (120 trials without improvement) and stopped runs the paper's bound never
# stopped (aa-openml405 XGB seed 0: at 140 at every decay, against 199).
# Nor a relative tolerance (explicit, should the default ever get one).
_PAPER_RULE = {"bound": "ucb_lcb", "patience": None, "relative_tolerance": None}
AUTOTERM_VARIANTS = {
    "autoterm": {"posterior": "sklearn", "gp_noise": "learned", **_PAPER_RULE},
    "autoterm_foldnoise": {"posterior": "sklearn", "gp_noise": "folds", **_PAPER_RULE},
    "autoterm_botorch": {"posterior": "botorch", "gp_noise": "learned", **_PAPER_RULE},
}
HEAVY_DEFAULT = (
    "autoterm",
    "optuna_terminator",
    "optuna_emmr",
    "autoterm_foldnoise",
    "synetune_0.01",
    "autoterm_botorch",
)


def _mlp_space() -> dict[str, tuple[float, float, bool, bool]]:
    """Our MLP space (syne_autoterm.workloads.spaces), for runs on our own tables."""
    from syne_tune.config_space import is_log_space

    from syne_autoterm.workloads.spaces import search_space

    return {
        k: (float(d.lower), float(d.upper), bool(is_log_space(d)), d.value_type is int)
        for k, d in search_space("mlp").items()
        if hasattr(d, "sample")
    }


PAPER_SPACES["MLP"] = _mlp_space()


def paper_config_space(model: str) -> dict:
    """Syne Tune config space over the stored ``hp_*`` values (log values for log HPs)."""
    from syne_tune.config_space import randint, uniform

    space = {}
    for name, (lo, hi, log, integer) in PAPER_SPACES[model].items():
        if log:
            space[name] = uniform(math.log(lo), math.log(hi))
        elif integer:
            space[name] = randint(int(lo), int(hi))
        else:
            space[name] = uniform(lo, hi)
    return space


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class Run:
    dataset: str
    model: str
    seed: int
    metric: str
    evidence: Evidence
    #: the space the rules model: the paper's (log HPs continuous in log space) for the
    #: authors' runs, the tuner's own for runs of suite_compare (``space`` column "native")
    config_space: dict

    @property
    def key(self) -> str:
        return f"{self.dataset}__{self.model}__s{self.seed}"


def run_files(runs_dir: str | Path | Sequence[str | Path]) -> list[Path]:
    """The run files of one folder, or of several, or files named one by one (a task found
    twice is taken from the first)."""
    dirs = [runs_dir] if isinstance(runs_dir, (str, Path)) else list(runs_dir)
    files, seen = [], set()
    for d in dirs:
        for f in [Path(d)] if Path(d).is_file() else sorted(Path(d).glob("*__*.csv.gz")):
            if f.name not in seen:
                files.append(f)
                seen.add(f.name)
    if not files:
        raise FileNotFoundError(f"no <dataset>__<model>.csv.gz files in {runs_dir}")
    return files


def _round_sig(values: np.ndarray, digits: int) -> np.ndarray:
    return np.array(
        [float(f"{v:.{digits}g}") if math.isfinite(v) else v for v in values], dtype=float
    )


NATIVE = "native"  # value of the ``space`` column in runs of suite_compare


def is_native(df: pd.DataFrame) -> bool:
    """Whether runs come from suite_compare and are modelled in the tuner's own space."""
    return "space" in df and bool((df["space"] == NATIVE).all())


def native_space(model: str) -> dict:
    """The tuner's search space of one of our models (``RF``/``XGB``/``MLP``)."""
    from syne_autoterm.workloads.spaces import search_space

    return search_space(MODEL_NAMES[model])


def _native_configs(df: pd.DataFrame, space: dict) -> tuple[dict, ...]:
    """Stored ``hp_*`` (natural logs of log-scaled HPs) back to the values the tuner saw."""
    from syne_tune.config_space import is_log_space

    names = [k for k, d in space.items() if hasattr(d, "sample")]
    out = []
    for r in df[[f"hp_{k}" for k in names]].to_dict("records"):
        config = {}
        for k in names:
            v = float(r[f"hp_{k}"])
            v = math.exp(v) if is_log_space(space[k]) else v
            config[k] = int(round(v)) if space[k].value_type is int else v
        out.append(config)
    return tuple(out)


def run_evidence(df: pd.DataFrame, model: str, config_space: dict | None = None) -> Evidence:
    """Evidence of one run (rows of one seed in evaluation order).

    ``value`` is rounded to 12 significant digits: a few runs hold the same
    validation error twice with a 1e-17 difference from float summation
    order, which the authors' files saw as a tie (it decides the incumbent and
    Conv_k's counting). Extras: ``test_value``, ``evaluation_time``,
    ``paper_regret_bound``/``paper_incumbent_std`` (the authors' numbers after
    ``n = row + 1`` evaluations) and ``ei``/``pi`` shifted by one row: the
    extra at trial ``j`` is what the authors' BO logged for the point it
    suggested after trial ``j`` completed (their EI/PI baseline at check ``n``
    reads the logged value of evaluation ``n``).
    """
    df = df.sort_values("step").reset_index(drop=True)
    names = list(PAPER_SPACES[model])
    configs = (
        _native_configs(df, config_space)
        if config_space is not None
        else tuple(
            {
                k: (
                    int(round(r[f"hp_{k}"]))
                    if not PAPER_SPACES[model][k][2] and PAPER_SPACES[model][k][3]
                    else float(r[f"hp_{k}"])
                )
                for k in names
            }
            for r in df[[f"hp_{k}" for k in names]].to_dict("records")
        )
    )
    folds_arr = df[[f"fold_{i}" for i in range(N_FOLDS)]].to_numpy(dtype=float)

    def shifted(col: str) -> np.ndarray:
        v = df[col].to_numpy(dtype=float)
        return np.append(v[1:], np.nan)

    return Evidence(
        trial_ids=tuple(int(s) for s in df["step"]),
        configs=configs,
        values=_round_sig(df["value"].to_numpy(dtype=float), VALUE_DIGITS),
        folds=tuple(folds_arr),
        mode="min",
        extras={
            "test_value": df["test_value"].to_numpy(dtype=float),
            "evaluation_time": df["evaluation_time"].to_numpy(dtype=float),
            "paper_regret_bound": df["paper_regret_bound"].to_numpy(dtype=float),
            "paper_incumbent_std": df["paper_incumbent_std"].to_numpy(dtype=float),
            "ei": shifted("ei"),
            "pi": shifted("pi"),
        },
    )


@lru_cache(maxsize=64)
def _read_table(path: str) -> pd.DataFrame:
    return pd.read_csv(path)


def load_runs(path: str | Path, seeds: Iterable[int] | None = None) -> list[Run]:
    dataset, model = parse_name(path)
    df = _read_table(str(path))
    wanted = None if seeds is None else {int(s) for s in seeds}
    runs = []
    for seed, part in df.groupby("seed"):
        if wanted is not None and int(seed) not in wanted:
            continue
        native = is_native(part)
        space = native_space(model) if native else paper_config_space(model)
        evidence = run_evidence(part, model, space if native else None)
        runs.append(Run(dataset, model, int(seed), str(part["metric"].iloc[0]), evidence, space))
    return runs


# ------------------------------------------------------------------ outcome
def outcome(evidence: Evidence, n_stop: int, final_n: int = FINAL_N) -> dict:
    """RTC/RYC (and the validation change, time saved) of stopping after ``n_stop`` evaluations."""
    inc_stop = evidence.head(n_stop).incumbent_index()
    inc_final = evidence.head(final_n).incumbent_index()
    test = evidence.extras["test_value"]
    val = evidence.values
    out = {
        "n_stop": int(n_stop),
        "rtc": rtc(n_stop, final_n),
        "ryc": ryc(float(test[inc_final]), float(test[inc_stop])),
        "rel_val": ryc(float(val[inc_final]), float(val[inc_stop])),
        "test_stop": float(test[inc_stop]),
        "test_final": float(test[inc_final]),
    }
    if "evaluation_time" in evidence.extras:
        t = np.nan_to_num(evidence.extras["evaluation_time"])
        total = float(t[:final_n].sum())
        out["time_saved"] = (total - float(t[:n_stop].sum())) / total if total > 0 else float("nan")
    return out


def replay(
    rule: StoppingRule,
    evidence: Evidence,
    first: int = FIRST_CHECK,
    last: int = FINAL_N,
) -> tuple[int, bool, list[dict]]:
    """Check ``rule`` on ``evidence.head(n)`` for ``n = first .. last``; stop at the first firing.

    Returns ``(n_stop, fired, history records)``; ``n_stop = last`` when it never fired.
    (:func:`syne_autoterm.compare.replay`, with the paper's check range.)
    """
    res = compare.replay(rule, evidence, first, last)
    return res.n_stop, res.fired, list(res.history)


# ------------------------------------------------------------------ methods
@dataclass(frozen=True)
class Method:
    name: str
    group: str
    family: str
    make: Callable[[dict], StoppingRule] | None = None  # config space -> rule (None: group-level)
    # the authors' method in paper_results.csv that this one reproduces (authors_*, conv_*,
    # ei_*, pi_*) or is compared with (autoterm_* vs Ours_<decay>)
    paper_name: str | None = None
    setting: str = ""


def _fmt(t: float) -> str:
    return f"{t}"  # python repr, as the authors named EI_1e-08, PI_0.0001


def build_methods() -> list[Method]:
    m: list[Method] = []
    for d in DECAYS:
        m.append(
            Method(
                f"authors_{d}",
                "logged",
                "authors",
                lambda space, d=d: make_rule("authors", d),
                f"Ours_{d}",
                f"decay={d}, frozen threshold",
            )
        )
    for k in CONV_KS:
        m.append(
            Method(
                f"conv_{k}",
                "logged",
                "conv",
                lambda space, k=k: make_rule("conv", k),
                f"Conv_{k}",
                f"k={k}",
            )
        )
    for t in EI_THRESHOLDS:
        m.append(
            Method(
                f"ei_{_fmt(t)}",
                "logged",
                "ei",
                lambda space, t=t: make_rule("ei", t, use_logged=True),
                f"EI_{_fmt(t)}",
                f"logged EI < {t:g}",
            )
        )
    for t in PI_THRESHOLDS:
        m.append(
            Method(
                f"pi_{_fmt(t)}",
                "logged",
                "pi",
                lambda space, t=t: make_rule("pi", t, use_logged=True),
                f"PI_{_fmt(t)}",
                f"logged PI < {t:g}",
            )
        )
    for std, num, pat in PLATEAUS:
        m.append(
            Method(
                f"plateau_{std:g}_{num}_{pat}",
                "logged",
                "plateau",
                lambda space, a=(std, num, pat): make_rule(
                    "plateau", a[0], num_trials=a[1], patience=a[2], warm_up=FIRST_CHECK
                ),
                None,
                f"std={std:g}, num_trials={num}, patience={pat}",
            )
        )
    std, num, pat = PLATEAUS[0]
    m.append(
        Method(
            f"synetune_plateau_{std:g}_{num}_{pat}",
            "logged",
            "synetune_plateau",
            lambda space, a=(std, num, pat): make_rule(
                "synetune_plateau", a[0], num_trials=a[1], patience=a[2], warm_up=FIRST_CHECK
            ),
            None,
            "Syne Tune PlateauStopper (the real one)",
        )
    )
    for variant, kw in AUTOTERM_VARIANTS.items():
        suffix = variant[len("autoterm") :]
        for d in DECAYS:
            m.append(
                Method(
                    f"autoterm_{d}{suffix}",
                    variant,
                    variant,
                    None,
                    f"Ours_{d}",
                    f"error_scale={error_scale_from_decay(d):.3g} ({kw['posterior']}, "
                    f"gp_noise={kw['gp_noise']})",
                )
            )
    for t in SYNETUNE_THRESHOLDS:
        m.append(
            Method(
                f"synetune_{t:g}",
                f"synetune_{t:g}",
                "synetune_atc",
                lambda space, t=t: make_rule(
                    "synetune_atc", t, config_space=space, warm_up=FIRST_CHECK
                ),
                None,
                f"Syne Tune AutomaticTerminationCriterion threshold={t:g}",
            )
        )
    m.append(
        Method(
            "optuna_terminator",
            "optuna_terminator",
            "optuna_terminator",
            lambda space: make_rule(
                "optuna_terminator", fold_metrics="fold_", config_space=space, warm_up=FIRST_CHECK
            ),
            None,
            "RegretBoundEvaluator + CrossValidationErrorEvaluator",
        )
    )
    m.append(
        Method(
            "optuna_emmr",
            "optuna_emmr",
            "optuna_emmr",
            lambda space: make_rule("optuna_emmr", config_space=space, warm_up=FIRST_CHECK),
            None,
            "EMMREvaluator + MedianErrorEvaluator",
        )
    )
    return m


METHODS = {m.name: m for m in build_methods()}
GROUPS: dict[str, list[str]] = {}
for _m in METHODS.values():
    GROUPS.setdefault(_m.group, []).append(_m.name)

# ``--methods frontier``: every cheap family swept densely and the oracles (group
# frontier_cheap), and ours with its knob swept (group frontier_ours); see sweeps.py.
# Their method names may repeat those of the groups above (conv_10 ...), so they live
# in their own registry and are only ever collected together.
FRONTIER_GROUPS: dict[str, list[str]] = {
    "frontier_cheap": sweeps.method_names(),
    "frontier_ours": sweeps.ours_method_names(),
    # not part of ``frontier``: candidates that need a GP fit of their own
    **{group: sweeps.gp_candidate_method_names(group) for group in sweeps.GP_CANDIDATES},
    **{group: sweeps.traced_method_names(group) for group in sweeps.TRACED_CANDIDATES},
}


def select_methods(specs: Sequence[str]) -> list[str]:
    """Method names for ``--methods`` entries (names, groups, patterns, cheap/heavy/all)."""
    out: list[str] = []
    for spec in specs:
        if spec == "frontier":
            names = [n for g in ("frontier_cheap", "frontier_ours") for n in FRONTIER_GROUPS[g]]
        elif spec in FRONTIER_GROUPS:
            names = FRONTIER_GROUPS[spec]
        elif spec == "all":
            names = list(METHODS)
        elif spec == "cheap":
            names = GROUPS["logged"]
        elif spec == "heavy":
            names = [n for g in HEAVY_DEFAULT for n in GROUPS[g]]
        elif spec in GROUPS:
            names = GROUPS[spec]
        else:
            names = [n for n in METHODS if fnmatch.fnmatch(n, spec)]
            if not names:
                raise SystemExit(
                    f"unknown method/group {spec!r}; known groups: {', '.join(GROUPS)}"
                )
        out.extend(n for n in names if n not in out)
    return out


# ------------------------------------------------------------------ one task
def last_check(run: Run) -> int:
    """The authors' last check, 199 of 200 evaluations; shorter runs end one earlier too."""
    return min(FINAL_N, len(run.evidence) - 1)


def _row(run: Run, method: str, n_stop: int, fired: bool, history: Sequence[dict]) -> dict:
    secs = [float(r.get("seconds", 0.0)) for r in history]
    row = {
        "dataset": run.dataset,
        "model": run.model,
        "seed": run.seed,
        "metric": run.metric,
        "method": method,
        "fired": bool(fired),
        "checks": len(history),
        "ms_per_check": 1000 * float(np.mean(secs)) if secs else float("nan"),
    }
    row.update(outcome(run.evidence, n_stop, last_check(run)))
    return row


def evaluate_group(run: Run, group: str, methods: Sequence[str]) -> dict:
    """Results of one cache unit: every method of ``group`` on ``run``."""
    rows, trace = [], []
    if group in FRONTIER_GROUPS:
        last = last_check(run)
        if group == "frontier_cheap":
            results = sweeps.run_cheap(run.evidence, FIRST_CHECK, last)
        elif group in sweeps.GP_CANDIDATES:
            results = sweeps.run_gp_candidate(
                group, run.evidence, run.config_space, FIRST_CHECK, last
            )
        else:  # ours or a traced candidate: the checks only; rows come from them (_ours_rows)
            options = (
                sweeps.TRACED_CANDIDATES[group][1] if group in sweeps.TRACED_CANDIDATES else {}
            )
            results, trace = (
                {},
                sweeps.run_ours(run.evidence, run.config_space, FIRST_CHECK, last, **options),
            )
        for name, (n_stop, fired, history) in results.items():
            rows.append(_row(run, name, n_stop, fired, history))
    elif group in AUTOTERM_VARIANTS:
        kw = AUTOTERM_VARIANTS[group]
        scales = {d: error_scale_from_decay(d) for d in DECAYS}
        # one rule object; every error scale's stop is read off its history (see
        # syne_autoterm.compare.replay_scales: the bound does not depend on the scale)
        rule = AutoTermination(
            "value",
            "min",
            "fold_",
            config_space=run.config_space,
            warm_up=FIRST_CHECK,
            seed=0,
            **kw,
        )
        by_scale = compare.replay_scales(
            rule, run.evidence, list(scales.values()), FIRST_CHECK, last_check(run)
        )
        history = rule.history
        suffix = group[len("autoterm") :]
        for d, s in scales.items():
            res = by_scale[s]
            rows.append(_row(run, f"autoterm_{d}{suffix}", res.n_stop, res.fired, res.history))
        bound = run.evidence.extras["paper_regret_bound"]
        trace = [
            {
                "n": r["n_completed"],
                "regret_bound": r.get("regret_bound"),
                "stat_error": r.get("stat_error"),
                "paper_regret_bound": float(bound[r["n_completed"] - 1]),
                "seconds": r["seconds"],
            }
            for r in history
        ]
    else:
        for name in methods:
            rule = METHODS[name].make(run.config_space)
            n_stop, fired, history = replay(rule, run.evidence, last=last_check(run))
            rows.append(_row(run, name, n_stop, fired, history))
    return {"rows": rows, "trace": trace}


def _cache_path(out: Path, group: str, path: Path, seed: int) -> Path:
    dataset, model = parse_name(path)
    return out / "cache" / group / f"{dataset}__{model}__s{seed}.json"


def _signature(group: str, path: str | Path) -> list[str]:
    """What a cached result depends on: the group's methods (for ``frontier_ours``, the
    traced fields instead: its settings are read off the trace) and, for runs of
    suite_compare, that they were modelled in the tuner's own space (so a result
    from the paper's space, or from an older file without the marker, is redone)."""
    native = is_native(_read_table(str(path)))
    space = ["space=native"] if native else []
    if group == "frontier_ours" or group in sweeps.TRACED_CANDIDATES:
        return space + ["trace=" + ",".join(sweeps.trace_fields(group))]
    names = FRONTIER_GROUPS[group] if group in FRONTIER_GROUPS else GROUPS[group]
    return sorted(names) + space


def _same_signature(group: str, cached: list[str], wanted: list[str]) -> bool:
    """A ``frontier_ours`` cache written when its signature still listed the method
    names (before 2026-12-01) holds the same trace: only the non-name entries count."""
    if group == "frontier_ours":
        cached = [x for x in cached if x.startswith(("space=", "trace="))]
    return cached == wanted


def _ours_rows(
    path: Path, seed: int, trace: list[dict], group: str = "frontier_ours"
) -> list[dict]:
    """The rows of ours and its candidates (or of a traced candidate group) on one run,
    read off its cached trace."""
    (run,) = load_runs(path, [seed])
    last = last_check(run)
    if group in sweeps.TRACED_CANDIDATES:
        results = sweeps.traced_from_trace(group, trace, last)
    else:
        results = sweeps.ours_from_trace(trace, last, run.evidence.best_so_far())
    return [
        _row(run, name, n_stop, fired, history)
        for name, (n_stop, fired, history) in results.items()
    ]


def _task(args: tuple[str, str, int, str]) -> tuple[str, str, int, float]:
    group, path, seed, out = args
    t0 = time.perf_counter()
    (run,) = load_runs(path, [seed])
    result = evaluate_group(
        run, group, FRONTIER_GROUPS[group] if group in FRONTIER_GROUPS else GROUPS[group]
    )
    result["signature"] = _signature(group, path)
    result["seconds"] = time.perf_counter() - t0
    target = _cache_path(Path(out), group, Path(path), seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=float))
    tmp.replace(target)
    return group, path, seed, result["seconds"]


def seed_traces(runs_dir: Path | Sequence[Path], out: Path, checks_csv: Path) -> int:
    """Write the ``frontier_ours`` cache units that are missing from a committed checks file
    (``autoterm_checks.csv.gz``, which holds every traced field at 6 significant digits).

    Why: ours' settings and the candidates read off its trace cost no GP fit, but the
    trace does (about 30 minutes for the 280 runs on 2 cores), and the cache is not
    committed. With this a changed reading of the trace (a new default, a new candidate)
    is recomputed from committed files in minutes. Rounding to 6 digits can flip a
    decision whose ratio is within 1e-5 of a grid value; the committed rows of the
    current rule were reproduced exactly on both run sets (README of the frontier).
    Returns the number of units written."""
    written = 0
    for f, seed, trace in committed_traces(runs_dir, checks_csv):
        if _cached(out, "frontier_ours", f, seed, rows=False) is not None:
            continue
        unit = {"rows": [], "trace": trace, "signature": _signature("frontier_ours", f)}
        target = _cache_path(Path(out), "frontier_ours", f, seed)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(unit, default=float))
        written += 1
    return written


def committed_traces(
    runs_dir: Path | Sequence[Path], checks_csv: Path
) -> Iterator[tuple[Path, int, list[dict]]]:
    """``(run file, seed, trace)`` of every run of ``runs_dir`` in a committed checks file:
    ours' trace (:func:`sweeps.run_ours`) as the replay caches it, rebuilt from the file's
    ``frontier_ours`` rows (6 significant digits; missing numbers as None)."""
    checks = pd.read_csv(checks_csv)
    checks = checks[checks.variant == "frontier_ours"]
    fields = sweeps.trace_fields("frontier_ours")
    for f in run_files(runs_dir):
        dataset, model = parse_name(f)
        mine = checks[(checks.dataset == dataset) & (checks.model == model)]
        for seed, g in mine.groupby("seed"):
            trace = [
                {"n": int(r["n"]), **{k: finite_or_none(r[k]) for k in fields}}
                for r in g.sort_values("n").to_dict("records")
            ]
            yield Path(f), int(seed), trace


def _cached(out: Path, group: str, path: Path, seed: int, rows: bool = True) -> dict | None:
    """The cached result of one unit, or None when missing or stale; ``rows=False`` only
    says whether it is there (without reading ours' rows off the trace)."""
    p = _cache_path(out, group, path, seed)
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not _same_signature(group, data.get("signature") or [], _signature(group, path)):
        return None
    if rows and (group == "frontier_ours" or group in sweeps.TRACED_CANDIDATES):
        data["rows"] = _ours_rows(Path(path), seed, data.get("trace", []), group)
    return data


def run_tasks(
    runs_dir: Path,
    out: Path,
    groups: Sequence[str],
    seeds: Sequence[int] | None,
    workers: int = 1,
    progress: bool = True,
) -> None:
    files = run_files(runs_dir)
    seeds_of = {}
    for f in files:
        available = sorted(int(s) for s in _read_table(str(f))["seed"].unique())
        seeds_of[f] = [s for s in available if seeds is None or s in set(seeds)]
    # seed-major, then group: after each seed every method covers every task
    todo = []
    all_seeds = sorted({s for v in seeds_of.values() for s in v})
    for s in all_seeds:
        for g in groups:
            for f in files:
                if s in seeds_of[f] and _cached(out, g, f, s, rows=False) is None:
                    todo.append((g, str(f), s, str(out)))
    if not todo:
        return
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="replay", disable=not progress, smoothing=0.05)
    if workers <= 1:
        for t in todo:
            g, p, s, secs = _task(t)
            bar.set_postfix_str(f"{g} {Path(p).name[:-7]} s{s} {secs:.0f}s")
            bar.update()
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_task, t) for t in todo]
            for fut in as_completed(futures):
                g, p, s, secs = fut.result()
                bar.set_postfix_str(f"{g} {Path(p).name[:-7]} s{s} {secs:.0f}s")
                bar.update()
    bar.close()


def collect(
    runs_dir: Path,
    out: Path,
    methods: Sequence[str],
    seeds: Sequence[int] | None,
    groups: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-run rows (and autoterm per-check traces) for ``methods`` found in the cache
    (of ``groups``; by default the groups of :data:`METHODS` that hold them)."""
    rows, traces = [], []
    groups = sorted(groups) if groups else sorted({METHODS[m].group for m in methods})
    for f in run_files(runs_dir):
        dataset, model = parse_name(f)
        for s in sorted(int(x) for x in _read_table(str(f))["seed"].unique()):
            if seeds is not None and s not in set(seeds):
                continue
            for g in groups:
                data = _cached(out, g, f, s)
                if data is None:
                    continue
                rows.extend(r for r in data["rows"] if r["method"] in methods)
                for t in data.get("trace", []):
                    traces.append(
                        {"dataset": dataset, "model": model, "seed": s, "variant": g, **t}
                    )
    return pd.DataFrame(rows), pd.DataFrame(traces)


# ------------------------------------------------------------------ summary
def authors_results(runs_dir: Path | Sequence[Path]) -> pd.DataFrame:
    first = runs_dir if isinstance(runs_dir, (str, Path)) else runs_dir[0]
    p = Path(first) / "paper_results.csv"
    if not p.exists():
        return pd.DataFrame(
            columns=["algo", "dataset", "seed", "method", "stop_iter", "rel_iter", "rel_test"]
        )
    return pd.read_csv(p)


def summarize(per_run: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (method, model) plus model 'all': means, medians, standard errors.

    With ``paper`` (the authors' per-run results), methods that have an
    authors' counterpart get ``paper_rtc``/``paper_ryc`` over the same runs and
    ``stop_match`` (share of runs with the authors' stop iteration).
    """
    if per_run.empty:
        return pd.DataFrame()
    frames = [per_run, per_run.assign(model="all")]
    df = pd.concat(frames, ignore_index=True)
    out = []
    for (method, model), g in df.groupby(["method", "model"], sort=False):
        row = {
            "method": method,
            "model": model,
            "rtc": g.rtc.mean(),
            "ryc": g.ryc.mean(),
            "stop_rate": g.fired.mean(),
            "n_runs": len(g),
            "median_rtc": g.rtc.median(),
            "median_ryc": g.ryc.median(),
            "se_rtc": standard_error(g.rtc),
            "se_ryc": standard_error(g.ryc),
            "share_ryc_below_-0.01": float((g.ryc < -0.01).mean()),
            "rel_val": g.rel_val.mean(),
            "time_saved": g.time_saved.mean() if "time_saved" in g else np.nan,
            "ms_per_check": g.ms_per_check.mean(),
        }
        m = METHODS.get(method)
        if paper is not None and m is not None and m.paper_name is not None and not paper.empty:
            p = paper[paper.method == m.paper_name].rename(columns={"algo": "model"})
            merged = g.merge(p, on=["dataset", "model", "seed"], how="inner")
            if len(merged):
                row["paper_rtc"] = merged.rel_iter.mean()
                row["paper_ryc"] = merged.rel_test.mean()
                row["stop_match"] = float((merged.n_stop == merged.stop_iter).mean())
        row["setting"] = m.setting if m is not None else ""
        out.append(row)
    res = pd.DataFrame(out)
    order = {n: i for i, n in enumerate(METHODS)}
    res["_o"] = res.method.map(order)
    res["_m"] = res.model.map({"RF": 0, "XGB": 1, "MLP": 2, "all": 3})
    return res.sort_values(["_o", "_m"]).drop(columns=["_o", "_m"]).reset_index(drop=True)


FAMILY_STYLE = {
    "authors": ("tab:gray", "s"),
    "conv": ("tab:blue", "o"),
    "ei": ("tab:orange", "^"),
    "pi": ("tab:red", "v"),
    "plateau": ("tab:cyan", "D"),
    "synetune_plateau": ("tab:cyan", "x"),
    "autoterm": ("tab:green", "*"),
    "autoterm_foldnoise": ("darkgreen", "P"),
    "autoterm_botorch": ("olive", "h"),
    "synetune_atc": ("tab:purple", "p"),
    "optuna_terminator": ("tab:brown", "X"),
    "optuna_emmr": ("tab:pink", "d"),
}


def plot_pareto(
    summary: pd.DataFrame,
    paper: pd.DataFrame | None,
    path: Path,
    per_run: pd.DataFrame | None = None,
) -> None:
    """RTC vs RYC per model: one point per rule setting; the authors' published points marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in ("RF", "XGB", "MLP") if m in set(summary.model)]
    fig, axes = plt.subplots(1, len(models), figsize=(7 * len(models), 5.5), squeeze=False)
    for ax, model in zip(axes[0], models):
        s = summary[summary.model == model]
        seen = set()
        for _, r in s.iterrows():
            fam = METHODS[r.method].family if r.method in METHODS else "other"
            color, marker = FAMILY_STYLE.get(fam, ("k", "."))
            ax.errorbar(
                r.rtc,
                r.ryc,
                xerr=r.se_rtc,
                yerr=r.se_ryc,
                fmt=marker,
                color=color,
                ms=9 if marker == "*" else 6,
                alpha=0.85,
                elinewidth=0.6,
                label=None if fam in seen else fam,
            )
            seen.add(fam)
            ax.annotate(
                r.method.split("_", 1)[-1],
                (r.rtc, r.ryc),
                fontsize=6,
                xytext=(3, 2),
                textcoords="offset points",
            )
        if paper is not None and not paper.empty and per_run is not None and not per_run.empty:
            runs = per_run[per_run.model == model][["dataset", "seed"]].drop_duplicates()
            p = paper[paper.algo == model].merge(runs, on=["dataset", "seed"])
            means = p.groupby("method")[["rel_iter", "rel_test"]].mean()
            ax.scatter(
                means.rel_iter,
                means.rel_test,
                s=90,
                facecolors="none",
                edgecolors="k",
                linewidths=1.0,
                label="authors' published (same runs)",
                zorder=5,
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("RTC (share of the 199 evaluations saved)  ->  better")
        ax.set_ylabel("RYC (relative test error change)  ->  0 is no loss")
        ax.set_title(f"{model}: {int(s.n_runs.max()) if len(s) else 0} runs")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def bound_agreement(traces: pd.DataFrame) -> pd.DataFrame:
    """Our recomputed bound vs the authors' logged one, per variant and model, pooled over
    the checks made (Pearson on values and on logs, median ratio) and ms per check."""
    rows = []
    t = traces.dropna(subset=["regret_bound", "paper_regret_bound"])
    t = t[(t.regret_bound > 0) & (t.paper_regret_bound > 0)].assign(
        task=lambda d: d.dataset + d.model
    )
    for (variant, model), g in pd.concat([t, t.assign(model="all")]).groupby(["variant", "model"]):
        if len(g) < 3:
            continue
        rows.append(
            {
                "variant": variant,
                "model": model,
                "runs": g.groupby(["task", "seed"]).ngroups,
                "checks": len(g),
                "pearson": np.corrcoef(g.regret_bound, g.paper_regret_bound)[0, 1],
                "pearson_log": np.corrcoef(np.log(g.regret_bound), np.log(g.paper_regret_bound))[
                    0, 1
                ],
                "median_ratio": float(np.median(g.regret_bound / g.paper_regret_bound)),
                "median_ms_per_check": 1000 * float(np.median(g.seconds)),
            }
        )
    return pd.DataFrame(rows)


def markdown_table(summary: pd.DataFrame) -> str:
    """RF / XGB side by side: mean RTC and RYC (with the authors' number on the same runs
    where there is one), medians, standard errors, share of runs losing > 1%, stop rate."""

    def cell(r, col, ref):
        v = f"{r[col]:.3f}"
        if ref in r and isinstance(r[ref], float) and not math.isnan(r[ref]):
            v += f" ({r[ref]:.3f})"
        return v

    header = [
        "method",
        "model",
        "runs",
        "RTC (authors)",
        "RYC (authors)",
        "median RTC",
        "median RYC",
        "se RTC",
        "se RYC",
        "RYC < -0.01",
        "stopped",
        "stop = authors'",
    ]
    rows = []
    for _, r in summary[summary.model != "all"].iterrows():
        match = r.get("stop_match")
        match = f"{match:.2f}" if isinstance(match, float) and not math.isnan(match) else ""
        rows.append(
            [
                r.method,
                r.model,
                int(r.n_runs),
                cell(r, "rtc", "paper_rtc"),
                cell(r, "ryc", "paper_ryc"),
                f"{r.median_rtc:.3f}",
                f"{r.median_ryc:.4f}",
                f"{r.se_rtc:.3f}",
                f"{r.se_ryc:.4f}",
                f"{r['share_ryc_below_-0.01']:.2f}",
                f"{r.stop_rate:.2f}",
                match,
            ]
        )
    return "\n".join(markdown_rows(header, rows)) + "\n"


def write_outputs(
    runs_dir: Path,
    out: Path,
    methods: Sequence[str],
    seeds: Sequence[int] | None,
    tag: str = "",
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    per_run, traces = collect(runs_dir, out, methods, seeds, groups)
    if per_run.empty:
        print("no cached results for these methods yet")
        return pd.DataFrame()
    paper = authors_results(runs_dir)
    summary = summarize(per_run, paper)
    sfx = f"_{tag}" if tag else ""
    per_run.to_csv(out / f"per_run{sfx}.csv", index=False)
    summary.to_csv(out / f"summary{sfx}.csv", index=False, float_format="%.5g")
    if not traces.empty:
        write_csv(traces, out / f"autoterm_checks{sfx}.csv.gz", atomic=False, float_format="%.6g")
        if "paper_regret_bound" in traces:
            bound_agreement(traces).to_csv(
                out / f"bound_agreement{sfx}.csv", index=False, float_format="%.4g"
            )
    if summary.method.nunique() <= 60:  # a dense sweep is read as frontiers (frontier.py)
        plot_pareto(summary, paper, out / f"pareto{sfx}.png", per_run)
    (out / f"summary{sfx}.md").write_text(markdown_table(summary))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.paper_replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--runs",
        type=Path,
        nargs="+",
        default=[DEFAULT_RUNS],
        help="folder(s) of <dataset>__<model>.csv.gz",
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--seeds", type=int, nargs="*", default=None, help="seeds to replay (default all)"
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--methods", nargs="*", default=["cheap"])
    ap.add_argument("--tag", default="", help="suffix of the output files (summary_<tag>.csv ...)")
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument(
        "--traces-from",
        type=Path,
        default=None,
        help="an autoterm_checks.csv.gz whose frontier_ours checks fill the missing trace cache",
    )
    args = ap.parse_args(argv)
    methods = select_methods(args.methods)
    frontier = [
        g
        for g in FRONTIER_GROUPS
        if g in args.methods
        or ("frontier" in args.methods and g in ("frontier_cheap", "frontier_ours"))
    ]
    if frontier:
        groups = frontier
    else:
        groups = list(dict.fromkeys(METHODS[m].group for m in methods))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.traces_from is not None:
        seeded = seed_traces(args.runs, args.out, args.traces_from)
        print(f"{seeded} traces from {args.traces_from}")
    if not args.summary_only:
        run_tasks(args.runs, args.out, groups, args.seeds, args.workers, not args.no_progress)
    summary = write_outputs(
        args.runs, args.out, methods, args.seeds, args.tag, groups if frontier else None
    )
    if not summary.empty:
        cols = [
            "method",
            "model",
            "rtc",
            "ryc",
            "stop_rate",
            "n_runs",
            "median_rtc",
            "se_rtc",
            "share_ryc_below_-0.01",
        ] + [c for c in ("paper_rtc", "paper_ryc", "stop_match") if c in summary]
        with pd.option_context("display.width", 200, "display.max_rows", 500):
            print(summary[summary.model != "all"][cols].to_string(index=False, float_format="%.4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
