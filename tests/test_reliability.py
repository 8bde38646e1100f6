"""Reliability (issue 5): bad input, faults, restarts, multi-fidelity, tuning without CV.

Property tests (hypothesis) generate bad evidence of many kinds and assert that
no exception escapes ``check``/``__call__`` and that no stop is ever returned
on *broken* evidence. "Broken" is defined per kind below (``BROKEN`` cases):

* the incumbent's fold scores are unusable: a NaN/inf/non-numeric score,
  fewer or more folds than the other trials, a single fold, or no folds;
* the incumbent's statistical error is 0 (constant folds, accuracy 1.0);
* fewer than ``warm_up`` usable (finite, numeric) metric values, in
  particular all of them broken;
* all usable metric values equal;
* every GP fit fails (exceptions, NaN/inf/negative/ill-shaped predictions);
* the incumbent's config cannot be encoded;
* binomial / bootstrap estimators: the incumbent's validation size or
  per-example losses are unusable, or its rate lies outside [0, 1];
* Syne Tune status rows: fewer than ``warm_up`` trials that count
  (``Completed``; multi-fidelity: ``Completed``/``Stopped`` at the max resource);
* issue 19: the set the GP is fitted on (or its top set) has all values equal
  (worse trials with unencodable configs, exact ties); the incumbent's fold
  mean contradicts its metric (a wild fold, percent, shifted or negated
  folds); no config space and the incumbent's config is broken; a rule reused
  for a second job that has fewer than ``warm_up`` completed trials.

Issue 19 also adds: identical calls with unusable metrics run one check (the
cache key is NaN-stable); without a config space, broken non-incumbent
configs give exactly the decision and bound of the evidence without those
trials; a reused rule decides on the new job's trials only.

Other generated cases (bad values in non-incumbent trials, duplicated configs,
partial GP failures, 1e-12..1e12 scales, maximize mode) must not crash, and
the metamorphic ones must give the same decision as their clean/unscaled twin.
Counts are printed at the end of the pytest run ("autoterm reliability: ...").

Deterministic tests: invalid constructor arguments, pickling, kill-and-resume
of a simulated tuning job (decisions and trace continue), ASHA multi-fidelity
(only max-resource results are evidence), the no-CV error estimators.
"""

from __future__ import annotations

import logging
import math
import pickle
import shutil
from collections import Counter
from pathlib import Path

import dill
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from syne_tune.config_space import uniform
from syne_tune.tuner_callback import TunerCallback

from syne_autoterm import (
    AnyOf,
    AutoTermination,
    DomainSearch,
    Evidence,
    EvidenceError,
    PathSampling,
    binomial_error,
    bootstrap_error,
    compare,
    evidence_from_records,
    nadeau_bengio_error,
    regret_bound,
)
from syne_autoterm.evidence import _to_float, audit_folds
from syne_autoterm.posterior import SklearnGP, standardize
from syne_autoterm.regret import PosteriorError
from syne_autoterm.stopping.base import StoppingRule
from syne_autoterm.trace import append_record, read_trace

SPACE = {"x": uniform(0, 1), "y": uniform(0, 1)}
KEYS = ["x", "y"]
WARM = 5
SEARCH = DomainSearch(n_candidates=50, n_starts=2, n_rounds=1, n_samples=8)

NAN, INF = float("nan"), float("inf")
# Everything a training script might put where a number belongs.
BAD_VALUES = [
    NAN,
    INF,
    -INF,
    "abc",
    "",
    None,
    True,
    False,
    [0.1, 0.2],
    {"a": 1},
    complex(1, 2),
    10**400,
    "nan",
    "-inf",
    "1e999",
    np.nan,
    np.float64("inf"),
    object(),
]
BAD = st.sampled_from(BAD_VALUES)

# ----------------------------------------------------------------- counting
STATS: Counter = Counter()
GENERATED: Counter = Counter()
CAUGHT: Counter = Counter()


def generator(max_examples: int):
    """Hypothesis settings of a case generator: deterministic, no example database."""

    def wrap(fn):
        return settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        )(fn)

    return wrap


def run_case(test: str, kind: str, crit: StoppingRule, subject, broken: bool) -> dict | None:
    """Feed ``subject`` (Evidence or a status) to ``crit``; count it; enforce the contract."""
    GENERATED[test] += 1
    STATS["cases"] += 1
    STATS[f"kind:{kind}"] += 1
    try:
        if isinstance(subject, Evidence):
            record = crit.check(subject)
            stop = record["stop"]
        else:
            before = len(crit.history)
            stop = crit(subject)
            record = crit.history[-1] if len(crit.history) > before else None
    except BaseException:
        STATS["crashes"] += 1
        raise
    if record is not None and str(record.get("reason", "")).startswith("check failed"):
        STATS["caught_by_fallback"] += 1  # decide() raised: only the base-class net caught it
        CAUGHT[kind] += 1
    if broken:
        STATS["broken"] += 1
        if stop:
            STATS["stops_on_broken"] += 1
        assert not stop, f"{kind}: stopped on broken evidence: {record}"
    return record


class _SummaryPlugin:
    def pytest_terminal_summary(self, terminalreporter):
        if not STATS["cases"]:
            return
        terminalreporter.write_sep("-", "autoterm reliability")
        terminalreporter.write_line(
            f"autoterm reliability: {STATS['cases']} generated cases, {STATS['crashes']} crashes, "
            f"{STATS['broken']} broken, {STATS['stops_on_broken']} stops on broken evidence; "
            f"clean twins of broken cases that stop: {STATS['clean_stops']} of "
            f"{STATS['clean_checked']}; decide() exceptions caught by the safety net: "
            f"{STATS['caught_by_fallback']} {dict(CAUGHT) or ''}; rescaled bounds equal to "
            f"1e-4: {STATS['scale_bound_same']} of "
            f"{STATS['scale_bound_same'] + STATS['scale_bound_other_optimum']}"
        )
        kinds = sorted((k[5:], v) for k, v in STATS.items() if k.startswith("kind:"))
        terminalreporter.write_line("  per kind: " + ", ".join(f"{k}={v}" for k, v in kinds))


@pytest.fixture(scope="module", autouse=True)
def _reliability_summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("autoterm-reliability-summary"):
        manager.register(_SummaryPlugin(), "autoterm-reliability-summary")
    yield


@pytest.fixture(autouse=True)
def _quiet_rule_logs():
    # thousands of criteria each log their problems once: keep the output readable
    for name in ("syne_autoterm.stopping.base", "syne_autoterm.stopping.online"):
        logging.getLogger(name).setLevel(logging.ERROR)
    yield
    for name in ("syne_autoterm.stopping.base", "syne_autoterm.stopping.online"):
        logging.getLogger(name).setLevel(logging.NOTSET)


# ------------------------------------------------------------------ helpers
def make_crit(**kwargs) -> AutoTermination:
    args = dict(
        metric="error",
        config_space=SPACE,
        posterior="sklearn",
        domain_search=SEARCH,
        warm_up=WARM,
        top_min=WARM,
        seed=0,
    )
    args.update(kwargs)
    crit = AutoTermination(**args)
    crit._fitters["sklearn"] = SklearnGP(n_restarts=0, seed=0)  # one optimiser run per fit
    return crit


class Table:
    """Rows of completed trials (as a training script reports them) + their incumbent."""

    def __init__(self, rows: list[dict], k: int, metric: str = "error", mode: str = "min"):
        self.rows, self.k, self.metric, self.mode = rows, k, metric, mode

    @property
    def incumbent(self) -> int:
        values = np.array([r[self.metric] for r in self.rows], dtype=float)
        return int(np.argmin(values) if self.mode == "min" else np.argmax(values))

    def copy(self) -> Table:
        return Table([dict(r) for r in self.rows], self.k, self.metric, self.mode)

    def evidence(self, **kwargs) -> Evidence:
        args = dict(metric=self.metric, mode=self.mode, config_keys=KEYS)
        args.update(kwargs)
        return evidence_from_records(self.rows, **args)


@st.composite
def tables(draw, min_n: int = WARM, max_n: int = 14, k_range=(3, 8)) -> Table:
    """A converging search: configs concentrated near the optimum, CV folds with noise."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_n, max_n))
    k = draw(st.integers(*k_range))
    noise = draw(st.sampled_from([0.02, 0.05, 0.2]))
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x, y = rng.uniform(0.25, 0.55, size=2)
        f = 0.2 + (x - 0.4) ** 2 + (y - 0.4) ** 2
        folds = f + noise * rng.standard_normal(k)
        row = {"trial_id": i, "x": float(x), "y": float(y), "error": float(folds.mean())}
        row.update({f"cv_fold_{j}": float(v) for j, v in enumerate(folds)})
        rows.append(row)
    return Table(rows, k)


def fold_keys(row: dict) -> list[str]:
    return sorted((k for k in row if k.startswith("cv_fold_")), key=lambda k: int(k[8:]))


def clean_twin(test: str, crit_kwargs: dict, table: Table) -> None:
    """Check the uncorrupted table too: shows the broken cases are not trivially 'continue'."""
    record = make_crit(**crit_kwargs).check(table.evidence())
    STATS["clean_checked"] += 1
    STATS["clean_stops"] += int(record["stop"])


# ============================================================ broken evidence
@generator(120)
@given(table=tables(), data=st.data())
def test_incumbent_with_bad_fold_values_never_stops(table, data):
    clean = table.copy()
    inc = table.rows[table.incumbent]
    keys = fold_keys(inc)
    chosen = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    for key in chosen:
        inc[key] = data.draw(BAD)
    options = data.draw(st.sampled_from([{}, {"relative_tolerance": None}]))
    crit = make_crit(**options)
    run_case("bad-fold-values", "incumbent-bad-fold-value", crit, table.evidence(), True)
    if data.draw(st.booleans()):
        clean_twin("bad-fold-values", options, clean)


@generator(40)
@given(table=tables(), data=st.data())
def test_hand_built_evidence_with_junk_folds_never_stops(table, data):
    """Evidence built by hand (offline replay): fold arrays of objects, lists, None."""
    ev = table.evidence()
    inc = ev.incumbent_index()
    folds = list(ev.folds)
    junk = data.draw(
        st.sampled_from(["object-array", "list-with-junk", "none", "nested", "scalar"])
    )
    if junk == "object-array":
        folds[inc] = np.array([*folds[inc][:-1], data.draw(BAD)], dtype=object)
    elif junk == "list-with-junk":
        folds[inc] = [*folds[inc][:-1].tolist(), data.draw(BAD)]
    elif junk == "none":
        folds[inc] = None
    elif junk == "nested":
        folds[inc] = [folds[inc][:-1].tolist(), [1.0]]  # ragged nesting
    else:
        folds[inc] = float(folds[inc][0])
    bad = Evidence(ev.trial_ids, ev.configs, ev.values, tuple(folds), ev.mode)
    run_case("junk-evidence", f"hand-built-{junk}", make_crit(), bad, True)


@generator(100)
@given(table=tables(), data=st.data())
def test_incumbent_with_missing_or_extra_folds_never_stops(table, data):
    clean = table.copy()
    inc = table.rows[table.incumbent]
    keys = fold_keys(inc)
    how = data.draw(st.sampled_from(["missing", "all-missing", "extra"]))
    if how == "missing":
        for key in data.draw(
            st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys) - 1, unique=True)
        ):
            del inc[key]
    elif how == "all-missing":
        for key in keys:
            del inc[key]
    else:
        for j in range(data.draw(st.integers(1, 3))):
            inc[f"cv_fold_{table.k + j}"] = inc["error"] + 0.01 * (j + 1)
    # an explicit fold list must not rescue it either
    explicit = data.draw(st.booleans())
    kwargs = {"fold_metrics": [f"cv_fold_{j}" for j in range(table.k)]} if explicit else {}
    if explicit and how == "extra":
        kwargs = {}  # extra names are invisible to an explicit list: not broken then
    run_case(
        "fold-count",
        f"incumbent-{how}-folds",
        make_crit(**kwargs),
        table.evidence(fold_metrics=kwargs.get("fold_metrics", "cv_fold_")),
        True,
    )
    if data.draw(st.booleans()):
        clean_twin("fold-count", {}, clean)


@generator(40)
@given(table=tables(k_range=(1, 1)))
def test_single_fold_never_stops(table):
    run_case("single-fold", "single-fold", make_crit(), table.evidence(), True)


@generator(50)
@given(table=tables(), data=st.data())
def test_zero_fold_variance_at_incumbent_never_stops(table, data):
    clean = table.copy()
    inc = table.rows[table.incumbent]
    for key in fold_keys(inc):
        inc[key] = inc["error"]
    scale = data.draw(st.sampled_from([1.0, 1e-12, 1e12]))
    for row in table.rows:
        for key in [table.metric, *fold_keys(row)]:
            row[key] = row[key] * scale
    ddof = data.draw(st.sampled_from([0, 1]))
    run_case("zero-variance", "zero-fold-variance", make_crit(ddof=ddof), table.evidence(), True)
    if data.draw(st.booleans()):
        clean_twin("zero-variance", {"ddof": ddof}, clean)


@generator(60)
@given(table=tables(), data=st.data())
def test_too_few_usable_metrics_never_stops(table, data):
    n = len(table.rows)
    how = data.draw(st.sampled_from(["all", "too-few"]))
    n_bad = n if how == "all" else data.draw(st.integers(n - WARM + 1, n))
    order = data.draw(st.permutations(range(n)))
    for i in order[:n_bad]:
        if data.draw(st.booleans()):
            table.rows[i]["error"] = data.draw(BAD)
        else:
            del table.rows[i]["error"]
    mode = data.draw(st.sampled_from(["min", "max"]))
    threshold = data.draw(st.sampled_from([None, 10.0]))  # even a huge fixed threshold
    crit = make_crit(mode=mode, threshold=threshold)
    run_case("few-usable", f"metric-{how}-broken", crit, table.evidence(mode=mode), True)


@generator(50)
@given(table=tables(), data=st.data())
def test_constant_metric_never_stops(table, data):
    value = data.draw(st.sampled_from([0.0, 0.5, -3.0, 1e-12, 1e12]))
    for row in table.rows:
        shift = value - row["error"]
        row["error"] = value
        for key in fold_keys(row):
            row[key] += shift
    threshold = data.draw(st.sampled_from([None, 1e30]))
    run_case("constant", "constant-metric", make_crit(threshold=threshold), table.evidence(), True)


class FailingFitter:
    """A GP fitter that fails in a different way on every call."""

    name = "failing-gp"
    MODES = (
        "linalg",
        "runtime",
        "nan-mean",
        "nan-std",
        "neg-std",
        "inf-mean",
        "shape",
        "predict-raises",
        "nan-later",
        "inf-std",
    )

    def __init__(self, start: int = 0):
        self.calls = start

    def fit(self, features, objective, noise_var=None, jitter=0.0):
        mode = self.MODES[self.calls % len(self.MODES)]
        self.calls += 1
        if mode == "linalg":
            raise np.linalg.LinAlgError("kernel matrix is not positive definite")
        if mode == "runtime":
            raise RuntimeError("NotPSDError: Matrix not positive definite after adding jitter")
        return _BadPosterior(mode)


class _BadPosterior:
    def __init__(self, mode):
        self.mode, self.calls = mode, 0

    def predict(self, x):
        n = len(np.atleast_2d(x))
        self.calls += 1
        mean, std = np.zeros(n), np.ones(n)
        if self.mode == "nan-mean":
            mean[:] = NAN
        elif self.mode == "nan-std":
            std[-1] = NAN
        elif self.mode == "neg-std":
            std[:] = -1.0
        elif self.mode == "inf-mean":
            mean[0] = -INF
        elif self.mode == "shape":
            return mean[:-1], std
        elif self.mode == "predict-raises":
            raise FloatingPointError("overflow in predict")
        elif self.mode == "nan-later" and self.calls > 1:
            mean[:] = NAN
        elif self.mode == "inf-std":
            std[:] = INF
        return mean, std


@generator(80)
@given(table=tables(), data=st.data())
def test_all_gp_fits_failing_never_stops(table, data):
    posterior = data.draw(st.sampled_from(["sklearn", "botorch"]))
    crit = make_crit(posterior=posterior, threshold=data.draw(st.sampled_from([None, 1e30])))
    start = data.draw(st.integers(0, 9))
    crit._fitters["sklearn"] = FailingFitter(start)
    crit._fitters["botorch-False"] = FailingFitter(start + 3)  # never imports torch
    record = run_case("gp-fail", "all-gp-fits-fail", crit, table.evidence(), True)
    assert "gp-failed" in record.get("problems", [])


@generator(40)
@given(table=tables(), data=st.data())
def test_unencodable_incumbent_config_never_stops(table, data):
    inc = table.rows[table.incumbent]
    how = data.draw(st.sampled_from(["nan", "none", "string", "missing", "list"]))
    key = data.draw(st.sampled_from(KEYS))
    if how == "missing":
        del inc[key]
    else:
        inc[key] = {"nan": NAN, "none": None, "string": "abc", "list": [0.1]}[how]
    run_case("bad-config", f"incumbent-config-{how}", make_crit(), table.evidence(), True)


@st.composite
def accuracy_tables(draw, min_n: int = WARM, max_n: int = 14) -> Table:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x, y = rng.uniform(0.25, 0.55, size=2)
        n_val = int(rng.integers(50, 5000))
        acc = 0.9 - (x - 0.4) ** 2 - (y - 0.4) ** 2
        acc = float(rng.binomial(n_val, acc) / n_val)
        rows.append({"trial_id": i, "x": float(x), "y": float(y), "acc": acc, "n_val": n_val})
    return Table(rows, 0, metric="acc", mode="max")


@generator(70)
@given(table=accuracy_tables(), data=st.data())
def test_binomial_with_bad_validation_size_or_rate_never_stops(table, data):
    inc = table.rows[table.incumbent]
    how = data.draw(st.sampled_from(["size", "missing-size", "rate", "perfect"]))
    if how == "size":
        inc["n_val"] = data.draw(st.sampled_from([0, -3, 10.5, NAN, INF, "abc", None, True, [5]]))
    elif how == "missing-size":
        del inc["n_val"]
    elif how == "rate":
        inc["acc"] = data.draw(st.sampled_from([1.5, 2.0, 101.0]))  # e.g. percent, not a rate
    else:
        inc["acc"] = 1.0  # zero binomial error
    crit = make_crit(metric="acc", mode="max", fold_metrics=None, error_estimator="binomial")
    ev = table.evidence(fold_metrics=None, extra_metrics=["n_val"])
    run_case("binomial", f"binomial-{how}", crit, ev, True)


@st.composite
def loss_tables(draw, min_n: int = WARM, max_n: int = 12) -> Table:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_n, max_n))
    m = draw(st.integers(20, 120))
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x, y = rng.uniform(0.25, 0.55, size=2)
        p = 0.2 + (x - 0.4) ** 2 + (y - 0.4) ** 2
        losses = rng.binomial(1, p, size=m).astype(float)
        rows.append(
            {
                "trial_id": i,
                "x": float(x),
                "y": float(y),
                "error": float(losses.mean()),
                "val_losses": losses.tolist(),
            }
        )
    return Table(rows, m)


@generator(70)
@given(table=loss_tables(), data=st.data())
def test_bootstrap_with_bad_example_losses_never_stops(table, data):
    inc = table.rows[table.incumbent]
    losses = list(inc["val_losses"])
    how = data.draw(
        st.sampled_from(["junk", "short", "single", "missing", "constant", "not-a-list"])
    )
    if how == "junk":
        losses[data.draw(st.integers(0, len(losses) - 1))] = data.draw(BAD)
        inc["val_losses"] = losses
    elif how == "short":
        inc["val_losses"] = losses[: data.draw(st.integers(2, len(losses) - 1))]
    elif how == "single":
        inc["val_losses"] = losses[:1]
    elif how == "missing":
        del inc["val_losses"]
    elif how == "constant":
        inc["val_losses"] = [inc["error"]] * len(losses)
    else:
        inc["val_losses"] = data.draw(BAD)
    crit = make_crit(fold_metrics="val_losses", error_estimator="bootstrap", n_bootstrap=200)
    run_case("bootstrap", f"bootstrap-{how}", crit, table.evidence(fold_metrics="val_losses"), True)


# ------------------------------------------------------ Syne Tune status rows
class FakeStatus:
    """What the rule reads of Syne Tune's ``TuningStatus``."""

    def __init__(self, rows: dict):
        self.trial_rows = rows
        self.wallclock_time = 1.0


STATUSES = ["Completed", "Failed", "InProgress", "Stopped", "Paused", "Stopping", "weird", None]


@generator(60)
@given(table=tables(max_n=16), data=st.data())
def test_status_rows_only_completed_trials_count(table, data):
    statuses = data.draw(
        st.lists(st.sampled_from(STATUSES), min_size=len(table.rows), max_size=len(table.rows))
    )
    rows = {}
    for row, status in zip(table.rows, statuses):
        row = dict(row)
        if status != "Completed":  # a too-good result that must not count
            row["error"] = -5.0
            for key in fold_keys(row):
                row[key] = -5.0 + 10.0 * (int(key[8:]) % 2)
        if data.draw(st.integers(0, 9)) == 0:
            row["junk"] = data.draw(BAD)  # extra columns of any type
        row["status"] = status
        rows[row["trial_id"]] = row
    completed = [t for t, r in rows.items() if r["status"] == "Completed"]
    crit = make_crit()
    run_case("status", "status-rows", crit, FakeStatus(rows), len(completed) < WARM)
    assert crit.evidence.trial_ids == tuple(sorted(completed))


@generator(60)
@given(table=tables(max_n=16), data=st.data())
def test_multi_fidelity_rows_only_max_resource_counts(table, data):
    rows = {}
    for row in table.rows:
        row = dict(row)
        row["status"] = data.draw(st.sampled_from(["Completed", "Stopped", "Failed", "InProgress"]))
        row["epoch"] = data.draw(st.sampled_from([1, 3, 9, 9, 9.0, 27, NAN, None, "9"]))
        rows[row["trial_id"]] = row

    def counts(r):
        try:
            level = float(r["epoch"])
        except (TypeError, ValueError):
            return False
        return r["status"] in ("Completed", "Stopped") and level >= 9

    expected = [t for t, r in rows.items() if counts(r)]
    how = data.draw(st.sampled_from(["given", "inferred"]))
    if how == "given":
        crit = make_crit(resource_attr="epoch", max_resource=9)
    else:
        crit = make_crit(scheduler=_FakeASHA())
    run_case("multi-fidelity", f"mf-rows-{how}", crit, FakeStatus(rows), len(expected) < WARM)
    assert crit.evidence.trial_ids == tuple(sorted(expected))


class _FakeASHA:
    """Looks like Syne Tune's ASHA to the rule: ``time_attr``, ``max_t``, ``config_space``."""

    time_attr = "epoch"
    max_t = 9
    config_space = SPACE


# ======================================================= not broken: no crash
CORRUPTIONS = [
    "bad-metric",
    "missing-metric",
    "bad-fold",
    "missing-fold",
    "extra-fold",
    "duplicate-config",
    "junk-column",
    "no-folds",
]


@generator(100)
@given(table=tables(min_n=WARM + 3), data=st.data())
def test_bad_values_in_other_trials_do_not_crash(table, data):
    inc = table.incumbent
    others = [i for i in range(len(table.rows)) if i != inc]
    chosen = data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
    for i in chosen:
        row = table.rows[i]
        how = data.draw(st.sampled_from(CORRUPTIONS))
        keys = fold_keys(row)
        if how == "bad-metric":
            row["error"] = data.draw(BAD)
        elif how == "missing-metric":
            del row["error"]
        elif how == "bad-fold":
            row[data.draw(st.sampled_from(keys))] = data.draw(BAD)
        elif how == "missing-fold":
            del row[keys[-1]]
        elif how == "extra-fold":
            row[f"cv_fold_{table.k}"] = 0.3
        elif how == "duplicate-config":
            src = table.rows[data.draw(st.sampled_from(range(len(table.rows))))]
            row["x"], row["y"] = src["x"], src["y"]
        elif how == "junk-column":
            row["cv_fold_x"] = data.draw(BAD)
        else:
            for key in keys:
                del row[key]
    gp_noise = data.draw(st.sampled_from(["learned", "folds"]))
    relative_tolerance = data.draw(st.sampled_from([None, 0.02]))
    crit = make_crit(gp_noise=gp_noise, relative_tolerance=relative_tolerance)
    run_case("others-bad", "other-trials-bad", crit, table.evidence(), False)


@generator(40)
@given(table=tables(min_n=WARM + 3), data=st.data())
def test_bad_folds_of_other_trials_do_not_change_the_decision(table, data):
    """With the learned GP noise, only the incumbent's folds enter the decision."""
    ev_clean = table.evidence()
    inc = table.incumbent
    others = [i for i in range(len(table.rows)) if i != inc]
    # corrupt fewer than half the trials, so the majority fold count stays put
    limit = max(1, (len(table.rows) - 1) // 2 - 1)
    for i in data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=limit, unique=True)):
        row = table.rows[i]
        key = data.draw(st.sampled_from(fold_keys(row)))
        if data.draw(st.booleans()):
            row[key] = data.draw(BAD)
        else:
            del row[key]
    a = make_crit().check(ev_clean)
    b = run_case(
        "others-folds", "other-trials-folds-metamorphic", make_crit(), table.evidence(), False
    )
    assert a["stop"] == b["stop"]
    assert a.get("regret_bound") == pytest.approx(b.get("regret_bound"), rel=1e-9)


@generator(30)
@given(table=tables(min_n=WARM + 2), data=st.data())
def test_reported_horizons_do_not_change_the_decision(table, data):
    """``PathSampling(horizons=...)`` adds numbers to the record and nothing else, also on
    evidence with broken trials; the numbers are finite and grow with the horizon."""
    if data.draw(st.booleans()):
        row = table.rows[data.draw(st.sampled_from(range(len(table.rows))))]
        row[data.draw(st.sampled_from(fold_keys(row)))] = data.draw(BAD)
    ev = table.evidence()
    plain = make_crit().check(ev)
    sampling = PathSampling(horizons=(1, 4, 200))
    record = make_crit(path_sampling=sampling).check(ev)
    assert record["stop"] == plain["stop"]
    assert record.get("regret_bound") == plain.get("regret_bound")
    if "improvement_h1" in record:
        values = [record[f"improvement_h{h}"] for h in sampling.horizons]
        assert all(math.isfinite(v) and v >= 0 for v in values)
        assert values == sorted(values)


@generator(40)
@given(table=tables(min_n=WARM + 2), data=st.data())
def test_duplicated_configs_do_not_crash(table, data):
    """Many exact repeats of one config with different scores, fold-variance GP noise."""
    src = table.rows[data.draw(st.integers(0, len(table.rows) - 1))]
    for row in table.rows[: data.draw(st.integers(2, len(table.rows)))]:
        row["x"], row["y"] = src["x"], src["y"]
    if data.draw(st.booleans()):  # zero fold variance: zero known noise on the repeats
        for row in table.rows:
            if row is not table.rows[table.incumbent]:
                for key in fold_keys(row):
                    row[key] = row["error"]
    crit = make_crit(gp_noise=data.draw(st.sampled_from(["learned", "folds"])))
    run_case("duplicates", "duplicated-configs", crit, table.evidence(), False)


@generator(40)
@given(table=tables(), data=st.data())
def test_primary_gp_failure_falls_back_to_sklearn(table, data):
    crit = make_crit(posterior="botorch")
    crit._fitters["botorch-False"] = FailingFitter(data.draw(st.integers(0, 9)))
    record = run_case("fallback", "primary-gp-fails", crit, table.evidence(), False)
    assert record["posterior"] == "sklearn-gp"
    assert "gp-fit-failed:failing-gp" in record["problems"]
    assert math.isfinite(record["regret_bound"])


def _scaled(table: Table, scale: float, negate: bool) -> Table:
    out = table.copy()
    sign = -1.0 if negate else 1.0
    out.mode = "max" if negate else "min"
    for row in out.rows:
        for key in ["error", *fold_keys(row)]:
            row[key] = sign * scale * row[key]
    return out


@generator(50)
@given(table=tables(), exponent=st.integers(-12, 12), negate=st.booleans())
def test_scale_and_direction_do_not_change_the_decision(table, exponent, negate):
    """1e-12 .. 1e12 metrics and maximize mode: same decision, bound scales with the metric.

    The standardised objectives of ``c * y`` and ``y`` agree only up to rounding,
    and where two GP hyperparameter optima have nearly the same likelihood such
    a 1e-16 difference can make L-BFGS settle in the other one. So: the error
    scales exactly; the bounds agree to 1e-4 in at least 90% of the cases (see
    the summary test); whenever they agree, so does the decision.
    """
    scale = 10.0**exponent
    base = make_crit().check(table.evidence())
    other = _scaled(table, scale, negate)
    record = run_case(
        "scale", "scale-and-direction", make_crit(mode=other.mode), other.evidence(), False
    )
    assert record["stat_error"] == pytest.approx(scale * base["stat_error"], rel=1e-9)
    assert record["posterior"] == base["posterior"] == "sklearn-gp"
    assert math.isfinite(record["regret_bound"]) and record["regret_bound"] >= 0
    same = record["regret_bound"] == pytest.approx(
        scale * base["regret_bound"], rel=1e-4, abs=1e-300
    )
    STATS["scale_bound_same" if same else "scale_bound_other_optimum"] += 1
    margin = abs(base["regret_bound"] - base["threshold"]) / base["threshold"]
    if same and margin > 1e-3:
        assert record["stop"] == base["stop"]


# ============================================== issue 19: evidence not to trust
# Each generator below covers one class of issue 19; the deterministic test
# next to it is the outside tester's example, which failed before the fix.
def _status_of(table: Table, statuses: dict | None = None) -> FakeStatus:
    rows = {}
    for row in table.rows:
        row = dict(row)
        row["status"] = (statuses or {}).get(row["trial_id"], "Completed")
        rows[row["trial_id"]] = row
    return FakeStatus(rows)


def test_nan_metric_identical_calls_give_one_check():
    """Class 1: 10 identical calls with a NaN-metric trial ran 10 checks (clean twin: 1)."""
    table = _fixed_table()
    table.rows[3]["error"] = NAN
    crit = make_crit()
    status = _status_of(table)
    crit(status)
    first = len(crit.history)  # the counts up to this one (checks_every_count), once
    for _ in range(9):
        crit(status)
    assert len(crit.history) == first
    assert table.evidence().key() == table.evidence().key()


@generator(60)
@given(table=tables(), data=st.data())
def test_unusable_metrics_keep_the_check_cache(table, data):
    """Class 1: evidence with NaN/missing/string metrics is checked once, however often called."""
    n_bad = data.draw(st.integers(1, len(table.rows)))
    for i in data.draw(st.permutations(range(len(table.rows))))[:n_bad]:
        if data.draw(st.booleans()):
            table.rows[i]["error"] = data.draw(BAD)
        else:
            del table.rows[i]["error"]
    usable = table.evidence().objective
    broken = int(np.isfinite(usable).sum()) < WARM
    crit = make_crit()
    run_case("cache", "unusable-metric-cache", crit, _status_of(table), broken)
    first = len(crit.history)  # the counts up to this one (checks_every_count), once
    for _ in range(data.draw(st.integers(1, 5))):
        crit(_status_of(table))  # a new status object with the same rows: same evidence
    assert len(crit.history) == first


def _without(table: Table, drop: set[int]) -> Table:
    return Table(
        [dict(r) for i, r in enumerate(table.rows) if i not in drop],
        table.k,
        table.metric,
        table.mode,
    )


# no random domain candidates: a check is then a function of the GP's points alone
EXACT_SEARCH = DomainSearch(n_candidates=0, n_starts=0, n_rounds=0)


def test_broken_config_without_a_space_keeps_the_encoding():
    """Class 2: one string in a non-incumbent config turned 'x' into a category for all."""
    table = _fixed_table()
    table.rows[(table.incumbent + 1) % 14]["x"] = "abc"
    table.rows[(table.incumbent + 2) % 14]["y"] = 10**400  # OverflowError at every check
    record = make_crit(config_space=None).check(table.evidence())
    assert record["reason"].startswith(("continue", "stopped")), record
    assert "bad-config" in record["problems"]
    from syne_autoterm.posterior import InferredEncoder

    configs = table.evidence().configs
    encoder = InferredEncoder(configs)
    assert encoder.keys == ["x", "y"] and encoder.n_features == 2
    assert np.isnan(encoder.encode(configs)).any(axis=1).sum() == 2


@generator(80)
@given(table=tables(min_n=WARM + 3), data=st.data())
def test_broken_configs_without_a_space_decide_as_if_absent(table, data):
    """Class 2: without a config space, broken non-incumbent configs change nothing else.

    The decision and the bound equal those on the evidence without these trials
    (an exact comparison: no random domain candidates), and the other trials'
    encoding is the same.
    """
    from syne_autoterm.posterior import InferredEncoder

    inc = table.incumbent
    others = [i for i in range(len(table.rows)) if i != inc]
    chosen = set(data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True)))
    twin = _without(table, chosen)
    for i in chosen:
        key = data.draw(st.sampled_from(KEYS))
        if data.draw(st.integers(0, 4)) == 0:
            del table.rows[i][key]
        else:
            table.rows[i][key] = data.draw(BAD)
    kwargs = {"config_space": None, "domain_search": EXACT_SEARCH}
    record = run_case(
        "no-space-configs", "no-space-broken-config", make_crit(**kwargs), table.evidence(), False
    )
    expected = make_crit(**kwargs).check(twin.evidence())
    assert record["stop"] == expected["stop"]
    assert record.get("regret_bound") == pytest.approx(expected.get("regret_bound"), rel=1e-9)
    kept = [i for i in range(len(table.rows)) if i not in chosen]
    configs = table.evidence().configs
    features = InferredEncoder(configs).encode([configs[i] for i in kept])
    twin_configs = twin.evidence().configs
    assert np.array_equal(features, InferredEncoder(twin_configs).encode(twin_configs))


@generator(40)
@given(table=tables(), data=st.data())
def test_broken_incumbent_config_without_a_space_never_stops(table, data):
    """Class 2: the incumbent's own broken value (10**400 included) still means no stop."""
    inc = table.rows[table.incumbent]
    key = data.draw(st.sampled_from(KEYS))
    if data.draw(st.integers(0, 4)) == 0:
        del inc[key]
    else:
        inc[key] = data.draw(BAD.filter(lambda v: not isinstance(v, str)))
    run_case(
        "no-space-incumbent",
        "no-space-incumbent-config",
        make_crit(config_space=None),
        table.evidence(),
        True,
    )


def test_constant_guard_sees_the_gp_set():
    """Class 3: 14 equal trials + a worse one with an unencodable config stopped (bound 1e-4)."""
    table = _fixed_table()
    base = table.rows[0]
    for row in table.rows:
        for key in ["error", *fold_keys(row)]:
            row[key] = base[key]
    worse = dict(base, trial_id=14, x="abc", error=base["error"] + 0.5)
    for key in fold_keys(worse):
        worse[key] = base[key] + 0.5
    table.rows.append(worse)
    record = make_crit().check(table.evidence())
    assert not record["stop"] and "constant-metric" in record["problems"], record


@generator(60)
@given(table=tables(), data=st.data())
def test_flat_gp_set_never_stops(table, data):
    """Class 3: the set the GP is fitted on (or its top set) has all values equal."""
    how = data.draw(st.sampled_from(["hidden-worse", "tied-top"]))
    rows = table.rows
    order = np.argsort([r["error"] for r in rows])
    if how == "hidden-worse":
        flat = list(range(len(rows)))
    else:
        from syne_autoterm.regret import top_n_count

        flat = [int(i) for i in order[: top_n_count(len(rows), 0.5, WARM)]]
    value = rows[int(order[0])]["error"]
    for i in flat:
        shift = value - rows[i]["error"]
        rows[i]["error"] = value
        for key in fold_keys(rows[i]):
            rows[i][key] += shift
    if how == "hidden-worse":  # worse trials the GP never sees
        for j in range(data.draw(st.integers(1, 3))):
            worse = dict(rows[0], trial_id=len(rows), error=value + 0.1 * (j + 1))
            for key in fold_keys(worse):
                worse[key] += 0.1 * (j + 1)
            worse[data.draw(st.sampled_from(KEYS))] = data.draw(
                st.sampled_from(["abc", NAN, None, [0.1], 10**400])
            )
            rows.append(worse)
    run_case("flat-gp-set", f"flat-{how}", make_crit(), table.evidence(), True)


def test_folds_contradicting_the_metric_are_not_trusted():
    """Class 4: one fold of 1e3, or folds in percent: stopped in 20 of 20 seeds."""
    from syne_autoterm.evidence import fold_metric_mismatch

    for seed in range(20):
        for how in ("wild", "percent"):
            table = _fixed_table(seed=seed)
            inc = table.rows[table.incumbent]
            keys = fold_keys(inc)
            if how == "wild":
                inc[keys[0]] = 1e3
            else:
                for key in keys:
                    inc[key] *= 100.0
            record = make_crit(error_scale=1e6).check(table.evidence())
            assert not record["stop"], (seed, how, record)
            assert "incumbent-folds-metric-mismatch" in record["problems"]
    assert fold_metric_mismatch(0.2, np.array([0.19, 0.21, 0.2])) is None
    assert fold_metric_mismatch(0.2, np.array([19.0, 21.0, 20.0])) is not None


@generator(80)
@given(table=tables(), data=st.data())
def test_folds_contradicting_the_incumbent_metric_never_stop(table, data):
    """Class 4: the incumbent's fold mean and its metric disagree."""
    clean = table.copy()
    inc = table.rows[table.incumbent]
    keys = fold_keys(inc)
    how = data.draw(st.sampled_from(["wild-fold", "percent", "shifted", "negated"]))
    scale = data.draw(st.sampled_from([1.0, 1e-6, 1e6]))
    for row in table.rows:
        for key in ["error", *fold_keys(row)]:
            row[key] *= scale
    if how == "wild-fold":
        inc[data.draw(st.sampled_from(keys))] = inc["error"] + 1e3 * scale
    elif how == "percent":
        for key in keys:
            inc[key] *= 100.0
    elif how == "shifted":
        for key in keys:
            inc[key] += inc["error"] * data.draw(st.sampled_from([0.5, 2.0, 10.0]))
    else:
        for key in keys:
            inc[key] = -inc[key]
    crit = make_crit(error_scale=data.draw(st.sampled_from([1.0, 1e3])))
    run_case("fold-mismatch", f"incumbent-folds-{how}", crit, table.evidence(), True)
    if data.draw(st.booleans()):
        clean_twin("fold-mismatch", {}, clean)


@generator(40)
@given(table=tables(min_n=WARM + 2), data=st.data())
def test_folds_contradicting_other_metrics_do_not_crash(table, data):
    """Class 4: other trials' contradicting folds only leave the error estimate."""
    inc = table.incumbent
    others = [i for i in range(len(table.rows)) if i != inc]
    for i in data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True)):
        for key in fold_keys(table.rows[i]):
            table.rows[i][key] *= 100.0
    crit = make_crit(gp_noise=data.draw(st.sampled_from(["learned", "folds"])))
    record = run_case("other-fold-mismatch", "other-folds-mismatch", crit, table.evidence(), False)
    assert "folds-metric-mismatch" in record.get("problems", [])


class _FakeTuner:
    def __init__(self, name: str):
        self.name, self.scheduler = name, None


def test_one_rule_two_jobs():
    """Class 5: job B stopped at once (2 trials), or job A's trials decided for job B."""
    a, b = _fixed_table(seed=1), _fixed_table(seed=2)
    crit = make_crit()
    crit(_status_of(a))
    crit.stopped = True  # as if job A had stopped
    assert crit(_status_of(_without(b, set(range(2, 14))))) is False  # warm_up 5, 2 trials
    assert crit.evidence.trial_ids == (0, 1) and len(crit.history) == 1
    crit(_status_of(b))  # trial ids 0..13 again: B's values, not A's
    assert list(crit.evidence.values) == [r["error"] for r in b.rows]
    seen = len(crit.history)
    assert seen > 1
    crit.on_tuning_start(_FakeTuner("job-b"))
    crit.on_tuning_start(_FakeTuner("job-b"))  # the same tuner (a resume): no reset
    assert len(crit.history) == seen
    crit.on_tuning_start(_FakeTuner("job-c"))
    assert crit.history == [] and crit.evidence is None and not crit.stopped


@generator(60)
@given(a=tables(), b=tables(min_n=1, max_n=16), data=st.data())
def test_reused_rule_starts_afresh_for_a_new_job(a, b, data):
    """Class 5: a rule reused for a second job decides on that job's trials only."""
    crit = make_crit()
    crit(_status_of(a))
    crit.stopped = data.draw(st.booleans()) or crit.stopped
    how = data.draw(st.sampled_from(["restart", "running", "new-tuner"]))
    # a restart whose status shows every trial of A unchanged is, to any rule, A going on
    assume(how != "restart" or not _continues(a, b))
    if how == "running":  # B's first trials run under A's ids, not completed yet
        running = {
            r["trial_id"]: "InProgress" for r in b.rows[: data.draw(st.integers(1, len(b.rows)))]
        }
        status = _status_of(b, running)
    else:
        running = {}
        status = _status_of(b)
    if how == "new-tuner":
        crit.on_tuning_start(_FakeTuner("job-a"))
        crit.on_tuning_start(_FakeTuner("job-b"))
    completed = [r for r in b.rows if r["trial_id"] not in running]
    broken = len(completed) < WARM
    run_case("two-jobs", f"second-job-{how}", crit, status, broken)
    assert crit.evidence.trial_ids == tuple(r["trial_id"] for r in completed)
    expected = to_floats([r["error"] for r in completed])
    assert np.array_equal(np.asarray(crit.evidence.values, dtype=float), expected, equal_nan=True)


def _continues(a: Table, b: Table) -> bool:
    """Whether B's rows hold every trial of A with the same metric value (a longer job A)."""
    later = {r["trial_id"]: _to_float(r.get("error")) for r in b.rows}
    return all(
        r["trial_id"] in later and _same(later[r["trial_id"]], _to_float(r.get("error")))
        for r in a.rows
    )


def _same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def to_floats(values) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=float)


def test_resumed_rule_is_not_a_new_job():
    """Class 5: a pickled and reloaded rule with the same status keeps its history."""
    table = _fixed_table()
    crit = make_crit(error_scale=1e-6)  # keeps checking: a stopped rule makes no new record
    crit(_status_of(_without(table, {12, 13})))
    again = pickle.loads(pickle.dumps(crit))
    again(_status_of(table))
    assert again.history[: len(crit.history)] == crit.history
    assert [r["n_completed"] for r in again.history[len(crit.history) :]] == [13, 14]
    assert again.run_id == crit.run_id


# ================================================== constructor arguments
@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "maximize"},
        {"mode": None},
        {"warm_up": 0},
        {"warm_up": 2.5},
        {"warm_up": INF},
        {"warm_up": None},
        {"warm_up": "20"},
        {"warm_up": True},
        {"error_scale": -1.0},
        {"error_scale": 0},
        {"error_scale": NAN},
        {"error_scale": INF},
        {"error_scale": "1"},
        {"threshold": NAN},
        {"threshold": 0.0},
        {"threshold": -1e-3},
        {"threshold": INF},
        {"top_ratio": 0.0},
        {"top_ratio": 1.5},
        {"top_ratio": NAN},
        {"top_ratio": "half"},
        {"top_min": 1},
        {"top_min": 2.5},
        {"top_min": None},
        {"posterior": "gpy"},
        {"gp_noise": "fixed"},
        {"ddof": 2},
        {"ddof": True},
        {"delta": 1.0},
        {"delta": 0.0},
        {"delta": NAN},
        {"delta": "0.1"},
        {"beta_scale": 0.0},
        {"beta_scale": NAN},
        {"beta_scale": INF},
        {"fold_metrics": None},
        {"fold_metrics": []},
        {"fold_metrics": ""},
        {"fold_metrics": 5},
        {"fold_metrics": ["a", "a"]},
        {"fold_metrics": {"a": 1}},
        {"metric": ""},
        {"metric": None},
        {"metric": 3},
        {"test_train_ratio": -0.1},
        {"test_train_ratio": NAN},
        {"test_train_ratio": "1/9"},
        {"seed": -1},
        {"seed": "a"},
        {"seed": 1.5},
        {"error_estimator": "jackknife"},
        {"n_val_metric": ""},
        {"n_val_metric": None},
        {"n_bootstrap": 1},
        {"n_bootstrap": 100.5},
        {"error_estimator": "bootstrap", "fold_metrics": None},
        {"gp_noise": "folds", "fold_metrics": None, "threshold": 0.1},
        {"resource_attr": ""},
        {"resource_attr": 3},
        {"max_resource": 0},
        {"max_resource": NAN},
        {"max_resource": "9"},
        {"config_space": [1, 2]},
        {"domain_search": {"n_candidates": 5}},
        {"trace_path": 5},
        # issue 19: arguments that were accepted but could never work
        {"seed": 2**32},
        {"seed": 2**40},
        {"fold_metrics": ["cv_fold_0"]},
        {"fold_metrics": ["cv_fold_0"], "gp_noise": "folds", "threshold": 0.1},
        {"config_space": {}},
        {"config_space": {"a": 1, "b": "x"}},
        {"delta": 1e-320},
        {"delta": 5e-324},
    ],
)
def test_invalid_arguments_raise_value_error_at_construction(kwargs):
    args = {"metric": "error", **kwargs}
    with pytest.raises(ValueError):
        AutoTermination(**args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_estimator": "binomial", "fold_metrics": None},
        {"threshold": 1e-3, "fold_metrics": None},
        {"error_estimator": "bootstrap", "fold_metrics": "val_losses", "n_bootstrap": 200},
        {"warm_up": 20.0, "top_min": np.int64(5), "seed": np.int32(3), "error_scale": 2},
        {"resource_attr": "epoch", "max_resource": 27},
    ],
)
def test_valid_argument_combinations_construct(kwargs):
    AutoTermination(metric="error", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"radius": INF},
        {"n_candidates": -1},
        {"n_candidates": 2.5},
        {"n_candidates": "50"},
        {"n_candidates": None},
        {"radius": "0.1"},
        {"radius": None},
        {"radius": NAN},
        {"n_starts": True},
        {"n_rounds": 1.0},
        {"n_samples": [8]},
    ],
)
def test_invalid_domain_search_raises(kwargs):
    """ValueError (never TypeError) for every argument that is not a usable number."""
    with pytest.raises(ValueError):
        DomainSearch(**kwargs)


def test_largest_seed_and_tiny_delta_still_check():
    """seed = 2**32 - 1 and the smallest delta allowed: every check fits, no failure."""
    from syne_autoterm.regret import MIN_DELTA, beta_schedule

    assert math.isfinite(beta_schedule(100, 10**6, MIN_DELTA))
    ev = _fixed_table().evidence()
    for kwargs in ({"seed": 2**32 - 1}, {"delta": MIN_DELTA}):
        record = make_crit(**kwargs).check(ev)
        assert math.isfinite(record["regret_bound"]), record
        assert not record.get("problems"), record
    assert DomainSearch(n_candidates=np.int64(7)).n_candidates == 7


# ======================================================= deterministic faults
def _fixed_table(n: int = 14, k: int = 5, seed: int = 3, noise: float = 0.05) -> Table:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x, y = rng.uniform(0.25, 0.55, size=2)
        folds = 0.2 + (x - 0.4) ** 2 + (y - 0.4) ** 2 + noise * rng.standard_normal(k)
        row = {"trial_id": i, "x": float(x), "y": float(y), "error": float(folds.mean())}
        row.update({f"cv_fold_{j}": float(v) for j, v in enumerate(folds)})
        rows.append(row)
    return Table(rows, k)


def test_each_problem_kind_is_logged_once_with_what_was_done(caplog):
    table = _fixed_table()
    best = table.incumbent
    inc = table.rows[best]
    for key in fold_keys(inc)[2:]:
        del inc[key]
    table.rows[best - 1]["error"] = "n/a"
    crit = AutoTermination(
        "error",
        config_space=SPACE,
        posterior="sklearn",
        warm_up=WARM,
        top_min=WARM,
        domain_search=SEARCH,
    )
    ev = table.evidence()
    assert best >= WARM + 1  # the incumbent is among the trials of every check below
    with caplog.at_level(logging.WARNING, logger="syne_autoterm.stopping.base"):
        for n in range(best + 1, len(ev) + 1):
            record = crit.check(ev.head(n))
    tid = ev.trial_ids[best]
    messages = [r.getMessage() for r in caplog.records]
    folds = [m for m in messages if "folds: excluded from the error estimate" in m]
    assert folds == [
        (
            f"incumbent trial {tid} reported 2 of 5 folds: excluded from the error estimate; "
            "not stopping while it is the incumbent"
        )
    ]
    assert sum("non-finite, non-numeric or missing 'error'" in m for m in messages) == 1
    assert record["stop"] is False and "incumbent-folds-count" in record["problems"]


def test_nan_posterior_gives_no_bound_instead_of_zero():
    class NanLcb:
        def predict(self, x):
            n = len(np.atleast_2d(x))
            return np.full(n, NAN), np.ones(n)

    with pytest.raises(PosteriorError):
        regret_bound(
            NanLcb(),
            np.zeros((2, 1)),
            1.0,
            lambda n, r: r.uniform(size=(n, 1)),
            lambda x: np.clip(x, 0, 1),
            SEARCH,
        )
    with pytest.raises(ValueError):
        regret_bound(
            NanLcb(),
            np.zeros((2, 1)),
            NAN,
            lambda n, r: r.uniform(size=(n, 1)),
            lambda x: np.clip(x, 0, 1),
            SEARCH,
        )


def test_overflowing_fold_scores_are_no_error_estimate():
    with pytest.raises(EvidenceError):
        nadeau_bengio_error(np.array([1e300, -1e300, 1e300]))
    table = _fixed_table()
    inc = table.rows[table.incumbent]
    inc[fold_keys(inc)[0]], inc[fold_keys(inc)[1]] = 1e308, -1e308
    record = make_crit().check(table.evidence())
    assert record["stop"] is False and "incumbent-error" in record["problems"]


def test_standardize_and_sklearn_gp_at_extreme_scales():
    x = np.random.RandomState(0).uniform(size=(12, 2))
    f = np.sin(3 * x[:, 0]) + x[:, 1] ** 2
    preds = {}
    for scale in (1e-12, 1.0, 1e12):
        y, _, _ = standardize(scale * f)
        assert np.allclose(y, standardize(f)[0])
        post = SklearnGP(n_restarts=0).fit(x, scale * f)
        m, s = post.predict(x[:3] + 0.05)
        preds[scale] = (m / scale, s / scale)
    for scale in (1e-12, 1e12):
        assert np.allclose(preds[scale][0], preds[1.0][0], rtol=1e-5, atol=1e-9)
        assert np.allclose(preds[scale][1], preds[1.0][1], rtol=1e-4, atol=1e-9)


def test_botorch_path_at_extreme_scales():
    pytest.importorskip("botorch")
    table = _fixed_table(n=12)
    records = {}
    for scale in (1e-12, 1.0, 1e12):
        scaled = _scaled(table, scale, negate=scale > 1)
        crit = AutoTermination(
            "error",
            mode=scaled.mode,
            config_space=SPACE,
            posterior="botorch",
            warm_up=WARM,
            top_min=WARM,
            domain_search=SEARCH,
        )
        records[scale] = crit.check(scaled.evidence())
    base = records[1.0]
    assert base["posterior"] == "botorch-gp"
    for scale in (1e-12, 1e12):
        r = records[scale]
        assert r["posterior"] == "botorch-gp" and "problems" not in r
        assert r["stop"] == base["stop"]
        assert r["stat_error"] == pytest.approx(scale * base["stat_error"], rel=1e-9)
        assert r["regret_bound"] == pytest.approx(scale * base["regret_bound"], rel=1e-3)


def test_collector_survives_unreadable_rows():
    rows = {i: {**r, "status": "Completed"} for i, r in enumerate(_fixed_table().rows)}
    rows["seven"] = {"status": "Completed", "error": 0.1}
    rows[99] = "not a row"
    rows[100] = {"status": "Completed", "error": 10**400, "x": 0.4, "y": 0.4}
    crit = make_crit()
    assert crit(FakeStatus(rows)) in (True, False)
    assert 99 not in crit.evidence.trial_ids and 100 in crit.evidence.trial_ids
    assert math.isnan(crit.evidence.values[list(crit.evidence.trial_ids).index(100)])
    assert "check failed" not in crit.history[-1]["reason"]


def test_fold_audit_majority_and_explicit_count():
    audit = audit_folds([[1, 2, 3], [1, 2, 3], [1, 2], [1, 2, 3, 4], [1, NAN, 3], [], [5]])
    assert audit.expected == 3
    assert audit.kinds == (
        None,
        None,
        "folds-count",
        "folds-count",
        "folds-nonfinite",
        "folds-missing",
        "folds-count",
    )
    assert audit_folds([[1.0], [2.0]]).kinds == ("folds-too-few", "folds-too-few")
    assert audit_folds([[1, 2], [1, 2, 3]], expected=2).kinds == (None, "folds-count")
    # ties go to the larger count: the complete report
    assert audit_folds([[1, 2], [1, 2, 3]]).expected == 3


# ====================================================== no cross-validation
def _loss_rows(n=12, m=80, seed=0, as_prefix=False):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x, y = rng.uniform(0.25, 0.55, size=2)
        losses = rng.binomial(1, 0.2 + (x - 0.4) ** 2 + (y - 0.4) ** 2, size=m).astype(float)
        row = {"trial_id": i, "x": float(x), "y": float(y), "error": float(losses.mean())}
        if as_prefix:
            row.update({f"val_loss_{j}": v for j, v in enumerate(losses)})
        else:
            row["val_losses"] = losses.tolist()
        rows.append(row)
    return rows


@pytest.mark.parametrize("as_prefix", [False, True])
def test_bootstrap_error_from_per_example_losses(as_prefix):
    prefix = "val_loss_" if as_prefix else "val_losses"
    rows = _loss_rows(as_prefix=as_prefix)
    ev = evidence_from_records(rows, "error", fold_metrics=prefix, config_keys=KEYS)
    crit = make_crit(fold_metrics=prefix, error_estimator="bootstrap")
    record = crit.check(ev)
    inc = ev.incumbent_index()
    losses = np.asarray(ev.folds[inc])
    assert losses.size == 80
    assert record["stat_error"] == pytest.approx(bootstrap_error(losses, 1000, seed=0), rel=1e-12)
    closed = losses.std(ddof=1) / math.sqrt(losses.size)
    assert record["stat_error"] == pytest.approx(closed, rel=0.15)
    assert "problems" not in record


def test_binomial_error_online_with_validation_size():
    rng = np.random.default_rng(1)
    rows = {}
    for i in range(10):
        x, y = rng.uniform(0.25, 0.55, size=2)
        rows[i] = {
            "trial_id": i,
            "status": "Completed",
            "x": float(x),
            "y": float(y),
            "acc": float(0.9 - (x - 0.4) ** 2 - (y - 0.4) ** 2),
            "n_val": 400 + 10 * i,
        }
    crit = make_crit(
        metric="acc", mode="max", fold_metrics=None, error_estimator="binomial", error_scale=1e-9
    )  # never stops: the last record is of all the rows
    crit(FakeStatus(rows))
    record = crit.history[-1]
    best = max(rows.values(), key=lambda r: r["acc"])
    assert record["incumbent_trial_id"] == best["trial_id"]
    assert record["stat_error"] == pytest.approx(binomial_error(best["acc"], best["n_val"]))
    assert record["stat_error"] == pytest.approx(
        math.sqrt(best["acc"] * (1 - best["acc"]) / best["n_val"])
    )
    assert "regret_bound" in record


def test_fixed_threshold_needs_no_scores():
    table = _fixed_table()
    for row in table.rows:
        for key in fold_keys(row):
            del row[key]
    record = make_crit(fold_metrics=None, threshold=1e6).check(table.evidence(fold_metrics=None))
    assert record["stop"] is True and record["stat_error"] is None


# ================================================================ pickling
def _globals_in_pickle(blob: bytes) -> set[str]:
    import pickletools

    names, strings = set(), []
    for op, arg, _ in pickletools.genops(blob):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            names.add(f"{strings[-2]}.{strings[-1]}")
        elif op.name == "GLOBAL":
            names.add(str(arg).replace(" ", "."))
    return names


@pytest.mark.parametrize("posterior", ["sklearn", "botorch"])
def test_criterion_pickles_without_fitted_models(posterior, tmp_path):
    if posterior == "botorch":
        pytest.importorskip("botorch")
    table = _fixed_table(n=16)
    ev = table.evidence()
    crit = AutoTermination(
        "error",
        config_space=SPACE,
        posterior=posterior,
        warm_up=WARM,
        top_min=WARM,
        domain_search=SEARCH,
        trace_path=tmp_path / "t.jsonl",
    )
    for n in (6, 10):
        crit.check(ev.head(n))
    blob = pickle.dumps(crit)
    modules = {name.split(".")[0] for name in _globals_in_pickle(blob)}
    assert not modules & {"torch", "gpytorch", "botorch", "linear_operator"}, modules
    clones = [pickle.loads(blob), dill.loads(dill.dumps(crit))]
    for clone in clones:
        assert clone.session == crit.session + 1 and clone.run_id == crit.run_id
        assert clone.history == crit.history
    a = crit.check(ev.head(16))  # the clones refit the dropped hyperparameter cache alike
    for clone in clones:
        b = clone.check(ev.head(16))
        assert (a["stop"], a["check"]) == (b["stop"], b["check"])
        assert a["regret_bound"] == pytest.approx(b["regret_bound"], rel=1e-9)
    # three rule objects of one run appended check 2: sessions 1 (clones) replace session 0
    assert [r["check"] for r in read_trace(tmp_path / "t.jsonl")] == [0, 1, 2, 2]


def test_read_trace_keeps_the_resumed_run_and_skips_garbage(tmp_path):
    path = tmp_path / "trace.jsonl"
    for check in range(5):
        append_record(path, {"run_id": "r1", "session": 0, "check": check, "n_completed": check})
    append_record(path, {"run_id": "other", "session": 0, "check": 0, "n_completed": 7})
    with open(path, "a") as fh:
        fh.write('{"run_id": "r1", "sess\n[1, 2]\n')
    for check in range(3, 7):
        append_record(path, {"run_id": "r1", "session": 1, "check": check, "n_completed": check})
    records = read_trace(path)
    r1 = [(r["check"], r["session"]) for r in records if r["run_id"] == "r1"]
    assert r1 == [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1), (6, 1)]
    assert [r["run_id"] for r in records].count("other") == 1
    assert len(read_trace(path, resolve_resumes=False)) == 10


# ======================================================== simulated restarts
SIM_SPACE = {"x": uniform(-2, 2), "y": uniform(-2, 2)}
SIM_BUDGET = 36


def _sim_folds(config, rng):
    f = (config["x"] - 0.3) ** 2 + 0.5 * (config["y"] + 0.4) ** 2
    return f + 0.1 * rng.standard_normal(5)


def _converging_points(n: int, seed: int = 0) -> list[dict]:
    """A fixed search path that closes in on the optimum, as BO would (and is resumable)."""
    rng = np.random.RandomState(seed)
    out = []
    for i in range(n):
        width = 2.0 / (1 + i / 5)
        out.append(
            {
                "x": float(np.clip(0.3 + width * rng.randn(), -2, 2)),
                "y": float(np.clip(-0.4 + width * rng.randn(), -2, 2)),
            }
        )
    return out


class Interrupted(Exception):
    pass


class Killer(TunerCallback):
    """Tuner callback that interrupts the run once ``after`` trials completed.

    ``hard``: first keep the last ``tuner.dill`` that the Tuner wrote, which is
    all a SIGKILL leaves behind (the Tuner then still saves in its ``finally``).
    """

    def __init__(self, after: int, hard: bool, snapshot_dir: Path):
        self.after, self.hard, self.snapshot_dir = after, hard, snapshot_dir
        self.armed, self.tuner = True, None

    def on_tuning_start(self, tuner):
        self.tuner = tuner

    def on_loop_start(self):
        if self.armed and self.tuner.tuning_status.num_trials_completed >= self.after:
            self.armed = False
            if self.hard:
                shutil.copy(self.tuner.tuner_path / "tuner.dill", self.snapshot_dir / "tuner.dill")
            raise Interrupted()


def _sim_tuner(simulated_tuner, name: str, trace: Path, killer: Killer | None = None):
    from syne_tune import StoppingCriterion
    from syne_tune.optimizer.baselines import RandomSearch

    from syne_autoterm.simulation import FoldFunctionBlackbox

    scheduler = RandomSearch(
        SIM_SPACE,
        metrics=["error"],
        do_minimize=True,
        random_seed=0,
        points_to_evaluate=_converging_points(SIM_BUDGET + 5),
    )
    crit = AutoTermination(
        "error",
        scheduler=scheduler,
        warm_up=8,
        top_min=8,
        posterior="sklearn",
        seed=0,
        domain_search=DomainSearch(n_candidates=200, n_starts=2, n_rounds=2, n_samples=16),
        trace_path=trace,
        # so that the reference run stops within its budget (the error alone: with the
        # cap, a metric whose optimum is 0 tolerates only the floor; this checks
        # resumption, not the tolerance)
        error_scale=1.0,
        relative_tolerance=None,
    )
    callbacks = [crit] + ([killer] if killer is not None else [])
    tuner = simulated_tuner(
        FoldFunctionBlackbox(SIM_SPACE, _sim_folds, 5),
        scheduler,
        AnyOf(crit, StoppingCriterion(max_num_trials_completed=SIM_BUDGET - 1)),
        callbacks,
        save_tuner=True,
        results_update_interval=-1,  # dill-save after every loop with new results
        tuner_name=name,
        suffix_tuner_name=False,
    )
    return tuner, crit


def _decisions(history):
    return [
        (
            r["n_completed"],
            r["stop"],
            r.get("incumbent_trial_id"),
            r.get("stat_error"),
            r.get("regret_bound"),
        )
        for r in history
    ]


def _resume(tuner, crit_cls=AutoTermination):
    from syne_tune import StoppingCriterion

    for callback in tuner.callbacks:
        if isinstance(callback, Killer):
            callback.armed = False
    crit = crit_cls.find_in(tuner)
    assert crit is not None
    if tuner.stop_criterion is None:  # SimulatorCallback.on_tuning_end cleared it
        budget = StoppingCriterion(max_num_trials_completed=SIM_BUDGET - 1)
        tuner.stop_criterion = AnyOf(crit, budget)
    tuner.run()
    return crit


@pytest.fixture
def synetune_folder(synetune_folder):
    """The shared fresh $SYNETUNE_FOLDER, with Syne Tune's own logging quiet."""
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    yield synetune_folder
    logging.getLogger("syne_tune").setLevel(logging.NOTSET)


@pytest.mark.slow
def test_kill_and_resume_reproduces_the_uninterrupted_decisions(
    synetune_folder, tmp_path, simulated_tuner
):
    from syne_tune import Tuner

    tmp = tmp_path
    tuner_a, crit_a = _sim_tuner(simulated_tuner, "autoterm-uninterrupted", tmp / "a.jsonl")
    tuner_a.run()
    assert crit_a.stopped and crit_a.history[-1]["stop"], "the reference run should stop"
    kill_at = crit_a.history[-1]["n_completed"] - 5
    assert kill_at > 8

    tuner_b, crit_b = _sim_tuner(
        simulated_tuner, "autoterm-killed", tmp / "b.jsonl", Killer(kill_at, True, tmp)
    )
    with pytest.raises(Interrupted):
        tuner_b.run()
    before = len(crit_b.history)
    loaded = Tuner.load(str(tmp))  # from the snapshot a SIGKILL leaves behind
    snapshot = len(AutoTermination.find_in(loaded).history)
    assert snapshot < before  # the snapshot predates the last check(s)
    resumed = _resume(loaded)
    assert resumed.run_id == crit_b.run_id and resumed.session == 1

    assert _decisions(resumed.history) == _decisions(crit_a.history)
    assert [r["check"] for r in resumed.history] == list(range(len(crit_a.history)))
    # the trace was appended to: re-made checks are in the file twice, read once
    raw = read_trace(tmp / "b.jsonl", resolve_resumes=False)
    trace = read_trace(tmp / "b.jsonl")
    assert len(raw) == len(trace) + (before - snapshot)
    assert [r["check"] for r in trace] == list(range(len(crit_a.history)))
    assert [(r["n_completed"], r["stop"]) for r in trace] == [
        (r["n_completed"], r["stop"]) for r in crit_a.history
    ]
    assert {r["session"] for r in trace} == {0, 1}


@pytest.mark.slow
def test_interrupt_and_load_experiment_continues_the_same_rule(
    synetune_folder, tmp_path, simulated_tuner
):
    from syne_tune.experiments import load_experiment

    tmp = tmp_path
    tuner, crit = _sim_tuner(
        simulated_tuner, "autoterm-interrupted", tmp / "c.jsonl", Killer(12, False, tmp)
    )
    with pytest.raises(Interrupted):
        tuner.run()
    checks_before = len(crit.history)
    experiment = load_experiment("autoterm-interrupted", load_tuner=True)
    assert experiment.tuner is not None
    resumed = _resume(experiment.tuner)
    assert resumed.history[:checks_before] == crit.history
    assert [r["check"] for r in resumed.history] == list(range(len(resumed.history)))
    assert {r["session"] for r in resumed.history[checks_before:]} == {1}
    raw = read_trace(tmp / "c.jsonl", resolve_resumes=False)
    assert len(raw) == len(resumed.history) == len(read_trace(tmp / "c.jsonl"))
    assert [r["n_completed"] for r in raw] == [r["n_completed"] for r in resumed.history]
    # Syne Tune's resume forgets the trial that was running at the interruption: it stays
    # "InProgress" and never becomes evidence
    rows = experiment.tuner.tuning_status.trial_rows
    lost = [t for t, r in rows.items() if r["status"] == "InProgress"]
    assert not set(lost) & set(resumed.evidence.trial_ids)
    # every decision equals an offline replay of the same evidence
    replay = AutoTermination(
        "error",
        config_space=SIM_SPACE,
        warm_up=8,
        top_min=8,
        posterior="sklearn",
        seed=0,
        domain_search=DomainSearch(n_candidates=200, n_starts=2, n_rounds=2, n_samples=16),
        error_scale=1.0,
        relative_tolerance=None,  # as _sim_tuner's rule
    )
    final = resumed.evidence
    for record in resumed.history:
        again = replay.check(final.head(record["n_completed"]))
        assert (again["stop"], again.get("regret_bound")) == (
            record["stop"],
            record.get("regret_bound"),
        )


# ========================================================= multi-fidelity
LEVELS = [1, 3, 9]


class _MultiFidelityFolds:
    """Blackbox with epochs 1, 3, 9: CV folds improve with the epoch."""

    def __new__(cls, k: int = 5):
        from syne_tune.blackbox_repository.blackbox import Blackbox

        class MultiFidelityFolds(Blackbox):
            def __init__(self):
                names = [f"cv_fold_{i}" for i in range(k)] + ["error", "elapsed_time"]
                super().__init__(dict(SIM_SPACE), {"epoch": LEVELS}, names)

            @property
            def fidelity_values(self):
                return np.array(LEVELS)

            def _objective_function(self, configuration, fidelity=None, seed=None):
                x, y = configuration["x"], configuration["y"]
                rng = np.random.default_rng(int(1e6 * (x + 3)) * 7919 + int(1e6 * (y + 3)))
                rows = []
                for level in LEVELS:
                    f = (x - 0.3) ** 2 + 0.5 * (y + 0.4) ** 2 + 1.0 / level
                    folds = f + 0.1 * rng.standard_normal(k)
                    rows.append([*folds, folds.mean(), 10.0 * level])
                return np.array(rows)

        return MultiFidelityFolds()


@pytest.mark.slow
def test_asha_only_max_resource_results_are_evidence(synetune_folder, simulated_tuner):
    from syne_tune.optimizer.baselines import ASHA

    scheduler = ASHA(SIM_SPACE, metric="error", time_attr="epoch", max_t=9, random_seed=0)
    crit = AutoTermination(
        "error",
        scheduler=scheduler,
        warm_up=5,
        top_min=5,
        posterior="sklearn",
        domain_search=SEARCH,
    )
    assert crit.resource_settings() == ("epoch", 9.0)  # inferred from ASHA
    tuner = simulated_tuner(
        _MultiFidelityFolds(),
        scheduler,
        AnyOf(crit, lambda s: s.num_trials_finished >= 60),
        [crit],
        n_workers=2,
        results_update_interval=10.0,  # Syne Tune's default
        tuner_name="autoterm-asha",
        suffix_tuner_name=False,
    )
    tuner.run()
    rows = tuner.tuning_status.trial_rows
    at_max = {
        t
        for t, r in rows.items()
        if r.get("epoch") == 9 and r["status"] in ("Completed", "Stopped")
    }
    below = {t for t, r in rows.items() if r.get("epoch") in (1, 3)}
    assert below, "ASHA should have stopped some trials at a lower rung"
    assert set(crit.evidence.trial_ids) == at_max
    assert all(rows[t]["epoch"] == 9 for t in crit.evidence.trial_ids)
    # evidence values are the max-resource results, not a lower rung's
    for tid, value in zip(crit.evidence.trial_ids, crit.evidence.values):
        assert value == rows[tid]["error"]
    assert crit.history and all(r["n_completed"] <= len(at_max) for r in crit.history)


def test_stopped_at_max_resource_counts_but_completed_below_is_logged(caplog):
    table = _fixed_table(n=8)
    rows = {}
    for i, row in enumerate(table.rows):
        status, epoch = [("Stopped", 9), ("Completed", 9), ("Stopped", 3), ("Completed", 3)][i % 4]
        rows[i] = {**row, "status": status, "epoch": epoch}
    crit = make_crit(resource_attr="epoch", max_resource=9)
    with caplog.at_level(logging.WARNING, logger="syne_autoterm.stopping.base"):
        crit(FakeStatus(rows))
    assert crit.evidence.trial_ids == (0, 1, 4, 5)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("completed at epoch=3 < max_resource 9" in m for m in messages) == 1


# =========================================================== summary of cases
def test_zz_generated_case_summary():
    """At least 1000 generated cases when every generator ran; none crashed or stopped broken."""
    assert STATS["crashes"] == 0
    assert STATS["stops_on_broken"] == 0
    assert STATS["caught_by_fallback"] == 0, CAUGHT  # every case met an explicit policy
    scaled = STATS["scale_bound_same"] + STATS["scale_bound_other_optimum"]
    assert STATS["scale_bound_same"] >= 0.9 * scaled, STATS
    if set(CASE_NAMES) <= set(GENERATED):  # the whole file ran, not a -k selection
        assert STATS["cases"] >= 1000, STATS
        # the broken cases are not trivially "continue": their clean twins often stop
        assert STATS["clean_stops"] >= 0.2 * STATS["clean_checked"], STATS


CASE_NAMES = [
    "bad-fold-values",
    "junk-evidence",
    "fold-count",
    "single-fold",
    "zero-variance",
    "few-usable",
    "constant",
    "gp-fail",
    "bad-config",
    "binomial",
    "bootstrap",
    "status",
    "multi-fidelity",
    "others-bad",
    "others-folds",
    "duplicates",
    "fallback",
    "scale",
    # issue 19
    "cache",
    "no-space-configs",
    "no-space-incumbent",
    "flat-gp-set",
    "fold-mismatch",
    "other-fold-mismatch",
    "two-jobs",
]


# ============================ a decision depends on the evidence, not on when checks ran
def _bounds_by_count(history) -> dict[int, float]:
    return {
        r["n_completed"]: r.get("regret_bound")
        for r in history
        if r.get("regret_bound") is not None
    }


def test_checks_that_skip_counts_give_the_replays_decisions():
    """Trials completing together (2+ workers) made online checks skip counts; each GP fit
    is warm-started from the previous check's, so the bound at n, and the stop, depended on
    which counts had been checked (issue 16: online stopped at 28, compare said 26). The
    rule now checks the skipped counts too: every bound equals the replay's, and so does
    the stop."""
    table = _fixed_table(n=26, seed=5)
    replayed = make_crit(error_scale=1e-9, patience=None)
    compare.replay(replayed, table.evidence())
    online = make_crit(error_scale=1e-9, patience=None)
    for n in (3, 7, 8, 12, 13, 19, 26):  # counts completed by the time of each status
        online(_status_of(Table(table.rows[:n], table.k)))
    want, got = _bounds_by_count(replayed.history), _bounds_by_count(online.history)
    # before: the bound at the 6 counts checked online was 3.8 to 5.9 times the replay's
    assert all(math.isclose(got[n], want[n], rel_tol=1e-9) for n in got)
    assert sorted(got) == sorted(want) == list(range(WARM, 27))
    assert [r["n_completed"] for r in online.history if r.get("catch_up")] == [
        5,
        6,
        9,
        10,
        11,
        14,
        15,
        16,
        17,
        18,
        20,
        21,
        22,
        23,
        24,
        25,
    ]


def test_a_skipped_count_that_stops_stops_online_at_that_count():
    table = _fixed_table(n=20, seed=5)
    replayed = make_crit(error_scale=1e3, patience=None)
    stop = compare.replay(replayed, table.evidence()).n_stop
    online = make_crit(error_scale=1e3, patience=None)
    assert online(_status_of(Table(table.rows[: stop + 4], table.k)))
    assert online.history[-1]["n_completed"] == stop and online.history[-1]["catch_up"]


def test_evidence_that_is_not_an_extension_is_not_caught_up():
    """Evidence whose first trials are not the ones last checked (the collector freezes
    completed trials, so only a changed collector could do this) has no skipped counts to
    replay: one check, on what it shows."""
    table = _fixed_table(n=20, seed=5)
    online = make_crit(error_scale=1e-9, patience=None)
    online(_status_of(Table(table.rows[:10], table.k)))
    assert list(online._skipped_counts(table.evidence())) == list(range(11, 20))
    changed = table.copy()
    changed.rows[2]["error"] += 0.5
    assert list(online._skipped_counts(changed.evidence())) == []
    assert list(make_crit()._skipped_counts(table.evidence())) == list(range(WARM, 20))


def test_any_of_survives_a_dill_save_and_the_rule_is_found_in_it():
    """The CLI's AnyOf had ``.rule``/``.budget`` while ``find_in`` looked for ``.rules``: a
    loaded CLI tuner's rule was found only by accident of the callbacks. One public AnyOf."""
    from syne_tune import StoppingCriterion

    crit = make_crit(error_scale=1e-9)
    budget = StoppingCriterion(max_num_trials_completed=3)
    stop = AnyOf(crit, budget)
    loaded = dill.loads(dill.dumps(stop))
    assert isinstance(
        StoppingRule.find_in(type("T", (), {"stop_criterion": loaded})()), AutoTermination
    )
    table = _fixed_table(n=8)
    status = _status_of(table)
    status.num_trials_completed = 8  # what StoppingCriterion reads
    assert stop(status) and stop.fired_by is budget and crit.history  # the rule was asked first
    with pytest.raises(ValueError):
        AnyOf()
    with pytest.raises(ValueError):
        AnyOf(crit, 3)
