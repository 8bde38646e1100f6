"""Baseline rules and peers on hand-made trajectories; the paper replay on real runs."""

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from syne_tune.config_space import choice, loguniform, randint, uniform

from syne_autoterm import AutoTermination, DomainSearch, Evidence, error_scale_from_decay
from syne_autoterm.compare import replay, replay_scales
from syne_autoterm.stopping.baselines import (
    AuthorsRule,
    Convergence,
    ExpectedImprovementRule,
    Plateau,
    ProbabilityOfImprovementRule,
)
from syne_autoterm.stopping.outcome import rtc, ryc

ROOT = Path(__file__).resolve().parents[1]


def _load_paper_replay():
    """The benchmark's replay module (imported on use: only the replay tests need it)."""
    from benchmarks import paper_replay

    return paper_replay


def make_evidence(values, configs=None, folds=None, mode="min", **extras):
    n = len(values)
    configs = configs if configs is not None else [{"x": i / max(1, n)} for i in range(n)]
    folds = folds if folds is not None else [np.array([]) for _ in range(n)]
    return Evidence(
        trial_ids=tuple(range(n)),
        configs=tuple(configs),
        values=np.asarray(values, float),
        folds=tuple(np.asarray(f, float) for f in folds),
        mode=mode,
        extras={k: np.asarray(v, float) for k, v in extras.items()},
    )


# ------------------------------------------------------------------ RTC / RYC
def test_rtc_ryc_by_hand():
    assert rtc(20, 199) == pytest.approx(179 / 199)
    assert rtc(199, 199) == 0.0
    assert ryc(0.10, 0.12) == pytest.approx(-0.02 / 0.12)  # stopped incumbent tests worse
    assert ryc(0.20, 0.10) == pytest.approx(0.5)
    assert ryc(0.0, 0.0) == 0.0


def test_outcome_on_a_hand_made_run():
    pr = _load_paper_replay()
    values = [5, 4, 4.5, 3, 6, 2, 7] + [8] * 193  # incumbents: trial 5 (value 2) from n = 6
    test = [0.5, 0.4, 0.9, 0.3, 0.9, 0.25, 0.9] + [0.9] * 193
    ev = make_evidence(values, test_value=test, evaluation_time=np.ones(200))
    out = pr.outcome(ev, 4)  # incumbent after 4: trial 3 (test 0.3); final: trial 5 (0.25)
    assert out["rtc"] == pytest.approx(195 / 199)
    assert out["ryc"] == pytest.approx((0.25 - 0.3) / 0.3)
    assert out["rel_val"] == pytest.approx((2 - 3) / 3)
    assert out["time_saved"] == pytest.approx(195 / 199)
    assert pr.outcome(ev, 199)["ryc"] == 0.0


# ------------------------------------------------------------------ Conv_k
def authors_conv_stop(values, k, first=20, last=199):
    """The authors' get_stop_info_conv loop (src/stop_methods.py), as the reference."""
    best, count, it = np.inf, 0, last
    for it in range(first, last + 1):
        val = min(values[:it])
        if val < best:
            best, count = val, 0
        else:
            count += 1
        if count == k:
            break
    return it


@pytest.mark.parametrize(
    "values, k, expected",
    [
        ([1.0] * 5 + [0.5] + [1.0] * 194, 10, 30),  # best before warm-up: 20 + k
        ([1.0 - 0.01 * i for i in range(25)] + [2.0] * 175, 10, 35),  # last improvement at n = 25
        (
            [1.0 - 0.01 * i for i in range(25)] + [2.0, 2.0, 0.76] + [2.0] * 172,
            10,
            35,
        ),  # a tie does not reset
        ([1.0 - 0.001 * i for i in range(200)], 30, 199),  # always improving: never fires
    ],
)
def test_convergence_matches_the_authors_counting(values, k, expected):
    ev = make_evidence(values)
    res = replay(Convergence(k), ev, 20, 199)
    assert res.n_stop == expected == authors_conv_stop(values, k)
    assert res.fired == (expected < 199 or values[-1] != min(values))


def test_convergence_on_random_trajectories_matches_the_authors():
    rng = np.random.default_rng(0)
    for _ in range(20):
        values = list(np.round(rng.gamma(2.0, size=200), 2))  # rounding makes ties
        for k in (10, 30, 50):
            assert replay(
                Convergence(k), make_evidence(values), 20, 199
            ).n_stop == authors_conv_stop(values, k)


def test_convergence_handles_max_mode_and_skipped_checks():
    values = [0.5] * 3 + [0.9] + [0.1] * 40  # max mode: best at trial 4
    rule = Convergence(10, warm_up=20, mode="max")
    assert rule.check(make_evidence(values[:29], mode="max"))["stop"] is False
    assert rule.check(make_evidence(values[:35], mode="max"))["stop"] is True  # 35 - 20 >= 10


# ------------------------------------------------------------------ Plateau
def test_plateau_by_hand():
    values = [1.0 - 0.1 * i for i in range(8)] + [0.3] * 20  # running best flat from trial 8
    ev = make_evidence(values)
    # last 5 running bests at n = 10: [.5 .4 .3 .3 .3] (std 0.08); n = 11: [.4 .3 .3 .3 .3]
    # (std 0.04); n = 12: flat
    assert replay(Plateau(0.01, 5, 0), ev).n_stop == 12
    assert replay(Plateau(0.01, 5, 1), ev).n_stop == 12  # patience 0 and 1 alike, as in Syne Tune
    assert replay(Plateau(0.01, 5, 3), ev).n_stop == 14
    assert replay(Plateau(0.05, 5, 0), ev).n_stop == 11
    assert replay(Plateau(0.1, 5, 0), ev).n_stop == 10


def test_plateau_equals_syne_tunes_plateau_stopper():
    from syne_autoterm.stopping.peers import SyneTunePlateau

    rng = np.random.default_rng(1)
    for trial in range(4):
        values = list(rng.normal(1.0, 0.3, size=60) * np.linspace(1.0, 0.8, 60))
        ev = make_evidence(values)
        for std, num, pat in ((0.01, 5, 0), (0.02, 10, 2), (0.001, 3, 4)):
            ours, theirs = (
                Plateau(std, num, pat, warm_up=5),
                SyneTunePlateau(std, num, pat, warm_up=5),
            )
            a = [ours.check(ev.head(n))["stop"] for n in range(5, 61)]
            b = [theirs.check(ev.head(n))["stop"] for n in range(5, 61)]
            assert a == b
            # the same decision when the evidence does not grow one by one
            fresh = SyneTunePlateau(std, num, pat, warm_up=5)
            assert fresh.check(ev.head(40))["stop"] == a[40 - 5]


# ------------------------------------------------------------------ AuthorsRule
def test_authors_rule_freezes_the_threshold_at_warm_up():
    n = 60
    std = np.full(n, 10.0)
    std[19] = 1.0  # the incumbent std after 20 evaluations
    bound = np.full(n, 5.0)
    bound[39:] = 0.2  # below the frozen threshold from n = 40
    ev = make_evidence(np.linspace(1, 0, n), paper_regret_bound=bound, paper_incumbent_std=std)
    res = replay(AuthorsRule(0.21), ev, 20, n)
    assert res.n_stop == 40 and res.fired  # a recomputed threshold (10) would have stopped at 20
    assert res.history[-1]["threshold"] == pytest.approx(1.0)
    assert replay(AuthorsRule(1.0), ev, 20, n).history[-1]["threshold"] == pytest.approx(1.0 / 0.21)
    assert replay(AuthorsRule(0.21), make_evidence(np.ones(30)), 20, 30).fired is False  # no extras


# ------------------------------------------------------------------ EI / PI
def test_logged_ei_pi_use_the_value_at_the_last_trial():
    ei = np.full(50, 1e-3)
    ei[33] = 1e-9
    pi = np.full(50, 0.5)
    pi[41] = 1e-6
    ev = make_evidence(np.ones(50), ei=ei, pi=pi)
    assert replay(ExpectedImprovementRule(1e-8), ev, 20, 50).n_stop == 34
    assert replay(ProbabilityOfImprovementRule(1e-4), ev, 20, 50).n_stop == 42
    with pytest.raises(ValueError):
        ExpectedImprovementRule(0.0)


def test_computed_ei_small_when_the_optimum_is_sampled_densely():
    space = {"x": uniform(0.0, 1.0)}

    def f(x):
        return (x - 0.5) ** 2

    dense = np.linspace(0.0, 1.0, 25)
    one_sided = np.linspace(0.75, 1.0, 25)
    search = DomainSearch(n_candidates=200, n_starts=2, n_rounds=2, n_samples=16)
    values = {}
    for name, xs in (("dense", dense), ("one_sided", one_sided)):
        ev = make_evidence(f(xs), configs=[{"x": float(x)} for x in xs])
        for cls in (ExpectedImprovementRule, ProbabilityOfImprovementRule):
            rule = cls(1e-3, config_space=space, posterior="sklearn", domain_search=search)
            rec = rule.check(ev)
            assert rec["source"] == "computed"
            values[name, cls.name] = rec[cls.name]
    assert values["dense", "ei"] < 1e-3 < values["one_sided", "ei"]
    assert values["dense", "pi"] < 0.05 < values["one_sided", "pi"]


# ------------------------------------------------------------------ AutoTermination scales
def test_replay_scales_equals_separate_rule_objects():
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.uniform(0, 1, 10), 0.3 + 0.05 * rng.standard_normal(30)]).clip(0, 1)
    folds = [(x - 0.3) ** 2 + 0.15 * rng.standard_normal(10) for x in xs]
    ev = make_evidence(
        [f.mean() for f in folds], configs=[{"x": float(x)} for x in xs], folds=folds
    )
    kw = {
        "config_space": {"x": uniform(0, 1)},
        "warm_up": 10,
        "top_min": 10,
        "posterior": "sklearn",
        "domain_search": DomainSearch(n_candidates=200, n_starts=0),
    }
    scales = [error_scale_from_decay(d) for d in (0.21, 0.5, 1.0)]
    shared = replay_scales(AutoTermination("loss", fold_metrics="f", **kw), ev, scales)
    for s in scales:
        alone = replay(AutoTermination("loss", fold_metrics="f", error_scale=s, **kw), ev)
        assert (alone.n_stop, alone.fired) == (shared[s].n_stop, shared[s].fired)
    assert any(r.fired for r in shared.values())


# ------------------------------------------------------------------ peers (smoke)
def test_peers_decide_on_the_same_evidence():
    from syne_autoterm.stopping.peers import (
        OptunaEMMR,
        OptunaTerminator,
        SyneTuneATC,
        optuna_distributions,
    )

    space = {
        "x": uniform(-2, 2),
        "lr": loguniform(1e-4, 1e-1),
        "d": randint(1, 5),
        "c": choice(["a", "b"]),
    }
    dists = optuna_distributions(space)
    assert dists["lr"].log and not dists["x"].log and dists["d"].step == 1
    rng = np.random.default_rng(0)
    configs = [
        {
            "x": float(rng.uniform(-2, 2)),
            "lr": float(10 ** rng.uniform(-4, -1)),
            "d": int(rng.integers(1, 6)),
            "c": str(rng.choice(["a", "b"])),
        }
        for _ in range(24)
    ]
    folds = [c["x"] ** 2 + 0.5 * rng.standard_normal(5) for c in configs]
    ev = make_evidence([f.mean() for f in folds], configs=configs, folds=folds)
    for rule in (
        OptunaTerminator(config_space=space, warm_up=20),
        OptunaEMMR(config_space=space, warm_up=20),
        SyneTuneATC(0.01, config_space=space, warm_up=20),
    ):
        assert rule.check(ev.head(10))["reason"].startswith("warm-up")
        rec = rule.check(ev.head(22))
        rec2 = rule.check(ev)  # the Optuna study is extended, not rebuilt
        assert "check failed" not in rec["reason"] and "check failed" not in rec2["reason"]
    assert rec2["threshold"] == 0.01
    term = OptunaTerminator(config_space=space, warm_up=20)
    rec = term.check(ev)
    assert rec["regret_bound"] > 0 and rec["threshold"] > 0
    assert rec["stop"] == (rec["regret_bound"] < rec["threshold"])
    assert len(term.study(ev).trials) == len(ev)
    # rules are pickled with the Tuner: caches (the study, fitted GPs) are dropped and rebuilt
    import pickle

    again = pickle.loads(pickle.dumps(term))
    assert again._study is None and again.check(ev)["stop"] == rec["stop"]


def test_a_peer_pickled_before_the_split_still_loads():
    """A ``tuner.dill`` saved when the peers lived in ``stopping/peers.py`` names their
    classes by that module (or by the older ``syne_autoterm.peers``): both still load."""

    from syne_autoterm.stopping import peers_optuna, peers_synetune

    space = {"x": uniform(0, 1)}
    rules = (
        peers_synetune.SyneTuneATC(0.02, config_space=space),
        peers_synetune.SyneTunePlateau(std=0.01),
        peers_optuna.OptunaTerminator(config_space=space),
        peers_optuna.OptunaEMMR(config_space=space),
    )
    for old in ("syne_autoterm.stopping.peers", "syne_autoterm.peers"):
        for rule in rules:
            _loads_as_pickled_under(old, rule)


def test_a_baseline_pickled_before_the_split_still_loads():
    """A ``tuner.dill`` saved when the baselines lived in ``stopping/baselines.py`` names
    their classes by that module (or by the older ``syne_autoterm.rules``): both still load."""

    from syne_autoterm.stopping import authors, convergence, improvement, plateau

    space = {"x": uniform(0, 1)}
    rules = (
        convergence.Convergence(5),
        plateau.Plateau(std=0.01),
        authors.AuthorsRule(0.5),
        improvement.ExpectedImprovementRule(0.01, config_space=space),
        improvement.ProbabilityOfImprovementRule(0.05, config_space=space),
    )
    for old in ("syne_autoterm.stopping.baselines", "syne_autoterm.rules"):
        for rule in rules:
            assert type(rule).__module__ != "syne_autoterm.stopping.baselines"  # it did move
            _loads_as_pickled_under(old, rule)


def _loads_as_pickled_under(old: str, rule) -> None:
    """Pickle ``rule`` as if its class still lived in module ``old``, then load it."""
    import pickle

    import dill

    cls = type(rule)
    new = cls.__module__
    cls.__module__ = old  # as the class was named when the file was written
    try:  # by reference, as dill wrote it then (dill's own lookup misses the alias)
        data = pickle.dumps(rule)
    finally:
        cls.__module__ = new
    assert old.encode() in data and new.encode() not in data
    loaded = dill.loads(data)
    assert type(loaded) is cls and loaded.warm_up == rule.warm_up


def test_baselines_need_a_metric_only_online():
    rule = Convergence(5)
    status = type("S", (), {"trial_rows": {}, "trial_metric_statistics": {}})()
    assert rule(status) is False  # logged and ignored, never raises into the tuner
    assert Convergence(5, metric="loss")(status) is False


# ------------------------------------------------------------------ the paper replay
@pytest.mark.parametrize("name, seed", [("aa-openml308__RF", 0), ("nyc-openml14__XGB", 9)])
def test_replay_reproduces_the_authors_stops(name, seed):
    pr = _load_paper_replay()
    (run,) = pr.load_runs(pr.DEFAULT_RUNS / f"{name}.csv.gz", [seed])
    paper = pr.authors_results(pr.DEFAULT_RUNS)
    paper = paper[(paper.dataset == run.dataset) & (paper.algo == run.model) & (paper.seed == seed)]
    methods = [m for m in pr.GROUPS["logged"] if pr.METHODS[m].paper_name in set(paper.method)]
    assert len(methods) == 14
    result = pr.evaluate_group(
        run, "logged", methods + ["plateau_0.001_10_0", "synetune_plateau_0.001_10_0"]
    )
    rows = pd.DataFrame(result["rows"]).set_index("method")
    for m in methods:
        ref = paper[paper.method == pr.METHODS[m].paper_name].iloc[0]
        assert rows.loc[m, "n_stop"] == ref.stop_iter, m
        assert rows.loc[m, "rtc"] == pytest.approx(ref.rel_iter, abs=1e-12), m
        assert rows.loc[m, "ryc"] == pytest.approx(ref.rel_test, abs=1e-9), m
    assert math.isclose(
        rows.loc["synetune_plateau_0.001_10_0", "n_stop"], rows.loc["plateau_0.001_10_0", "n_stop"]
    )


def test_replay_evidence_encodes_the_paper_space():
    pr = _load_paper_replay()
    (run,) = pr.load_runs(pr.DEFAULT_RUNS / "aa-openml308__RF.csv.gz", [0])
    from syne_autoterm.posterior import ConfigEncoder

    enc = ConfigEncoder(config_space=pr.paper_config_space("RF"))
    x = enc.encode(list(run.evidence.configs))
    assert x.shape == (200, 3) and x.min() >= 0 and x.max() <= 1
    # the stored natural logs map linearly onto [0, 1]
    raw = np.array([c["min_samples_split"] for c in run.evidence.configs])
    lo, hi = math.log(0.01), math.log(0.5)
    col = enc.keys.index("min_samples_split")
    assert np.allclose(x[:, col], (raw - lo) / (hi - lo))
    assert np.isnan(run.evidence.extras["ei"][-1])  # shifted: nothing suggested after the last


def test_replay_outputs_are_byte_identical_on_a_rerun(tmp_path):
    """A regenerated summary must not show up in git as a change: the gzip header
    carries no timestamp (a plain ``compression="gzip"`` fails this)."""
    pr = _load_paper_replay()
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "aa-openml558__RF.csv.gz").symlink_to(pr.DEFAULT_RUNS / "aa-openml558__RF.csv.gz")
    args = [
        "--runs",
        str(runs),
        "--out",
        str(tmp_path / "out"),
        "--methods",
        "autoterm",
        "--seeds",
        "0",
        "--no-progress",
    ]
    assert pr.main(args) == 0
    checks = tmp_path / "out" / "autoterm_checks.csv.gz"
    first = checks.read_bytes()
    time.sleep(1.1)  # gzip stores whole seconds
    assert pr.main([*args, "--summary-only"]) == 0
    assert checks.read_bytes() == first
    assert len(pd.read_csv(checks)) > 0


def test_ryc_is_one_definition_with_a_sign_that_holds_for_negated_metrics():
    """rules.ryc divided by max(final, stop) and compare by max(|final|, |stop|): for a
    maximised metric in minimisation form (accuracy 0.9 at the end, 0.8 at the stop) the
    first said +0.125, a gain. One definition now: the stop lost 0.1 / 0.9."""
    from syne_autoterm import compare
    from syne_autoterm.stopping.outcome import ryc

    assert ryc(-0.9, -0.8) == pytest.approx(-0.1 / 0.9)
    assert ryc(0.2, 0.25) == pytest.approx(-0.2) and ryc(0.0, 0.0) == 0.0
    assert not hasattr(compare, "_relative_loss")


# ------------------------------------------------------------------ the stopping package
def test_one_registry_names_the_rules_of_the_cli_compare_and_the_benchmarks():
    """Every name maps to one class and the keyword its setting goes to; the CLI's
    ``--stopping-rule`` choices and compare's defaults are built from it."""
    from syne_autoterm import cli
    from syne_autoterm.stopping.registry import CLI_RULES, FAMILIES, default_rules, make_rule

    assert cli.RULES == (*CLI_RULES, "none")
    conv = make_rule("conv", 7, metric="loss")
    assert isinstance(conv, Convergence) and conv.k == 7
    assert make_rule("conv").k == FAMILIES["conv"].default
    assert (
        make_rule("autoterm", 2.0, metric="loss", config_space={"x": uniform(0, 1)}).error_scale
        == 2.0
    )
    with pytest.raises(ValueError, match="unknown stopping rule"):
        make_rule("nope")
    rules = default_rules("loss", config_space={"x": uniform(0, 1)})
    assert {type(r) for r in rules.values()} <= {f.rule_class for f in FAMILIES.values()}
    assert rules["autoterm_0.5"].error_scale == pytest.approx(error_scale_from_decay(0.5))


def test_settings_are_one_frozen_value_and_every_keyword_still_works():
    from dataclasses import FrozenInstanceError

    from syne_autoterm import AutoTerminationSettings

    space = {"x": uniform(0, 1)}
    rule = AutoTermination(
        "loss",
        config_space=space,
        error_scale=2,
        patience=None,
        bound="ucb_lcb",
        top_ratio=0.4,
        refit_growth=1.0,
        seed=3,
    )
    assert rule.settings == AutoTerminationSettings(
        error_scale=2.0, patience=None, bound="ucb_lcb", top_ratio=0.4, refit_growth=1.0, seed=3
    )
    assert (rule.error_scale, rule.patience, rule.seed) == (2.0, None, 3)
    with pytest.raises(FrozenInstanceError):
        rule.settings.error_scale = 1.0
    rule.error_scale = 4  # compare's replay_scales sets it: a validated copy
    assert rule.settings.error_scale == 4.0 and rule.settings.bound == "ucb_lcb"
    with pytest.raises(ValueError, match="error_scale"):
        rule.error_scale = math.inf
    with pytest.raises(TypeError):
        AutoTermination("loss", config_space=space, no_such_option=1)


def test_a_rule_pickled_before_the_move_still_loads():
    """A ``tuner.dill`` of an earlier version names ``syne_autoterm.criterion`` and holds
    the settings as attributes of their own (``cv_error`` for ddof/test_train_ratio)."""
    import importlib

    from syne_autoterm.error import CVError
    from syne_autoterm.stopping.autoterm import AutoTermination as Moved

    assert importlib.import_module("syne_autoterm.criterion").AutoTermination is Moved
    assert importlib.import_module("syne_autoterm.rules").Convergence is Convergence
    rule = AutoTermination("loss", config_space={"x": uniform(0, 1)}, ddof=0, error_scale=2.0)
    old = {k: v for k, v in rule.__getstate__().items() if k != "settings"}
    old.update(error_scale=2.0, cv_error=CVError(None, 0), gp_noise="folds", seed=5)
    loaded = AutoTermination.__new__(AutoTermination)
    loaded.__setstate__(old)
    assert (loaded.error_scale, loaded.ddof, loaded.gp_noise, loaded.seed) == (2.0, 0, "folds", 5)
    assert (loaded.bound, loaded.patience) == ("ucb_lcb", None)  # as rules of that time computed
    assert loaded.session == rule.session + 1
