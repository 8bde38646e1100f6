"""The frontier harness on hand-made summaries, and the dense sweeps against separate rules."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import frontier, sweeps
from benchmarks import paper_replay as pr
from syne_autoterm import Evidence
from syne_autoterm.compare import replay, replay_knob
from syne_autoterm.stopping.baselines import Convergence, Plateau

ROOT = Path(__file__).resolve().parents[1]


def _summary(rows):
    df = pd.DataFrame(rows, columns=["method", "model", "rtc", "ryc", "share_ryc_below_-0.01"])
    return df.assign(se_rtc=0.01, n_runs=10)


def test_family_of_tells_ours_from_the_paper_bound_and_references():
    f = frontier.family_of
    assert f("autoterm_x2.378") == "ours"
    assert f("autoterm_0.21") == "paper_bound"
    assert f("autoterm_0.5_foldnoise") == "paper_bound_foldnoise"
    assert f("conv_110") == "conv"
    assert f("plateau_0.001_10_0") == "plateau"
    assert f("synetune_plateau_0.001_10_0") == "synetune_plateau"
    assert f("synetune_0.01") == "synetune_atc"
    assert f("cand_prbq0.8_2.5") == "cand_prbq0.8"
    assert f("oracle_val_0.25") == "oracle_val"
    assert frontier.role_of("oracle_test") == "reference"
    assert frontier.role_of("cand_prbmean") == "candidate"
    assert frontier.role_of("conv") == "competitor"


def test_frontier_takes_the_best_rtc_within_each_budget(tmp_path):
    s = _summary(
        [
            ("autoterm_x1", "RF", 0.30, -0.002, 0.05),
            ("autoterm_x2", "RF", 0.50, -0.008, 0.15),
            ("conv_90", "RF", 0.20, -0.004, 0.05),
            ("conv_50", "RF", 0.60, -0.015, 0.30),
            ("oracle_val_1", "RF", 0.90, -0.001, 0.0),
        ]
    )
    path = tmp_path / "summary.csv"
    s.to_csv(path, index=False)
    table = frontier.frontier_table(frontier.load_summaries([path]))
    pick = table.set_index(["family", "budget"])
    assert pick.loc[("ours", 0.0025), "method"] == "autoterm_x1"
    assert pick.loc[("ours", 0.01), "method"] == "autoterm_x2"
    assert pick.loc[("conv", 0.0025), "rtc"] == 0.0  # nothing of conv within 0.0025
    assert pick.loc[("conv", 0.02), "method"] == "conv_50"
    m = frontier.margins(table).set_index("budget")
    # the oracle is a reference: never the best competitor
    assert (m.best_other_family == "conv").all()
    assert m.loc[0.005, "margin"] == pytest.approx(0.30 - 0.20)
    assert m.loc[0.02, "margin"] == pytest.approx(0.50 - 0.60)
    harm = frontier.frontier_table(frontier.load_summaries([path]), harm=True).set_index(
        ["family", "budget"]
    )
    assert harm.loc[("ours", 0.1), "method"] == "autoterm_x1"
    assert harm.loc[("conv", 0.3), "method"] == "conv_50"


def test_check_exit_status_follows_the_worst_margin(tmp_path, capsys):
    good = _summary(
        [("autoterm_x1", "XGB", 0.5, -0.001, 0.0), ("conv_90", "XGB", 0.2, -0.001, 0.0)]
    )
    bad = _summary([("autoterm_x1", "XGB", 0.1, -0.001, 0.0), ("conv_90", "XGB", 0.2, -0.001, 0.0)])
    good.to_csv(tmp_path / "good.csv", index=False)
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert frontier.main([str(tmp_path / "good.csv"), "--check"]) == 0
    assert frontier.main([str(tmp_path / "bad.csv"), "--check", "--out", str(tmp_path / "o")]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "FAILED" in last and "-0.100" in last
    assert (tmp_path / "o_frontier.csv").exists() and (tmp_path / "o_frontier_XGB.png").exists()


def test_leave_out_scores_the_setting_chosen_on_the_other_datasets():
    # two datasets, two settings: a is safe on d0 and harmful on d1, b the other way round
    rows = []
    for seed in range(3):
        rows += [
            ("d0", "a", 0.5, 0.0),
            ("d0", "b", 0.9, -0.05),
            ("d1", "a", 0.9, -0.05),
            ("d1", "b", 0.5, 0.0),
        ]
    per_run = pd.DataFrame(
        [
            {"dataset": d, "model": "RF", "seed": i // 4, "method": f"conv_{m}", "rtc": r, "ryc": y}
            for i, (d, m, r, y) in enumerate(rows)
        ]
    )
    per_run["method"] = per_run.method.map({"conv_a": "conv_10", "conv_b": "conv_20"})
    out = frontier.leave_out_table(per_run, k=2)
    r = out[(out.family == "conv") & (out.budget == 0.0025)].iloc[0]
    # chosen on d1 -> conv_20 (safe there), scored on d0 where it loses; and vice versa
    assert r.rtc == pytest.approx(0.9) and r.ryc == pytest.approx(-0.05) and r.harm == 1.0


def _run(values, folds_sd=0.03):
    """Folds spread symmetrically around the value: Nadeau-Bengio error 0.4842 x folds_sd."""
    n = len(values)
    offsets = folds_sd * np.array([-1.0, 1.0] * 5)
    folds = [v + offsets for v in values]
    return Evidence(
        tuple(range(n)),
        tuple({"x": i / n} for i in range(n)),
        np.asarray(values, float),
        tuple(folds),
        extras={"test_value": np.asarray(values, float)},
    )


def test_knob_sweeps_equal_separate_rule_objects():
    values = np.r_[
        np.linspace(1, 0.5, 30),
        0.5 + 0.01 * np.random.RandomState(1).rand(60),
        [0.45],
        0.5 + 0.01 * np.random.RandomState(2).rand(40),
    ]
    ev = _run(values)
    ks = (5, 10, 20, 40, 80)
    shared = replay_knob(
        Convergence(max(ks)),
        ev,
        ks,
        lambda r, k: (r.get("trials_without_improvement") or 0) >= k,
        20,
    )
    for k in ks:
        assert shared[k].n_stop == replay(Convergence(k), ev, 20).n_stop
    stds = (1e-4, 1e-3, 1e-2)
    shared = replay_knob(
        Plateau(min(stds), 10, warm_up=20),
        ev,
        stds,
        lambda r, s: r.get("plateau_std") is not None and r["plateau_std"] <= s,
        20,
    )
    for s in stds:
        assert shared[s].n_stop == replay(Plateau(s, 10, warm_up=20), ev, 20).n_stop


def test_replay_knob_refuses_a_base_that_is_not_the_most_patient():
    ev = _run(np.r_[np.linspace(1, 0.5, 30), [0.6] * 60])
    with pytest.raises(ValueError):
        replay_knob(
            Convergence(5),
            ev,
            (5, 50),
            lambda r, k: (r.get("trials_without_improvement") or 0) >= k,
            20,
        )


def test_oracles_on_a_hand_made_run():
    # best 0.5 from trial 10; final best 0.492 at trial 60; NB error 0.0145
    values = np.r_[np.linspace(1, 0.5, 10), [0.6] * 50, [0.492], [0.6] * 39]
    ev = _run(values)
    stops = sweeps.oracle_stops(ev, 20, 99)
    # the remaining gain 0.008 is within 1 x error from the start: stop at the first check
    assert stops["oracle_val_1"] == (20, True)
    # within 0.1 x error only once the final incumbent is found
    assert stops["oracle_val_0.1"] == (61, True)
    # test values equal validation values here: 0 test loss needs the final incumbent
    assert stops["oracle_test_0"] == (61, True)
    assert stops["oracle_test_0.02"] == (20, True)  # 0.008/0.5 = 1.6% relative
    assert stops["oracle_test_0.01"] == (61, True)


def test_per_run_mode_judges_every_family_on_the_runs_ours_ran_on(tmp_path):
    rows = []
    for seed in range(4):
        for method, rtc_, ryc_ in (("conv_50", 0.5, -0.01), ("autoterm_x2", 0.6, -0.004)):
            if method.startswith("autoterm") and seed >= 2:
                continue  # ours replayed on seeds 0-1 only
            rows.append(
                {
                    "dataset": "d",
                    "model": "RF",
                    "seed": seed,
                    "method": method,
                    "fired": True,
                    "rtc": rtc_ + 0.1 * seed,
                    "ryc": ryc_,
                }
            )
    pd.DataFrame(rows).to_csv(tmp_path / "per_run.csv", index=False)
    assert (
        frontier.main(["--per-run", str(tmp_path / "per_run.csv"), "--out", str(tmp_path / "x")])
        == 0
    )
    summary = pd.read_csv(tmp_path / "x_summary.csv").set_index("method")
    assert summary.loc["conv_50", "n_runs"] == 2  # seeds 2-3 dropped: ours did not run there
    assert summary.loc["conv_50", "rtc"] == pytest.approx(0.55)
    assert summary.loc["autoterm_x2", "share_ryc_below_-0.01"] == 0.0
    assert (tmp_path / "x_leave_out.csv").exists() and (tmp_path / "x_frontier.md").exists()


def test_frontier_methods_end_to_end_on_a_short_run(tmp_path):
    """``paper_replay --methods frontier`` on a folder of runs in the paper's format,
    then ``frontier --per-run`` on its output."""
    runs = tmp_path / "runs"
    runs.mkdir()
    df = pd.read_csv(ROOT / "benchmarks" / "paper_runs" / "aa-openml308__RF.csv.gz")
    df[(df.seed == 0) & (df.step < 32)].to_csv(runs / "toy__RF.csv.gz", index=False)
    out = tmp_path / "out"
    assert (
        pr.main(["--runs", str(runs), "--out", str(out), "--methods", "frontier", "--no-progress"])
        == 0
    )
    per_run = pd.read_csv(out / "per_run.csv")
    methods = set(per_run.method)
    assert {
        "conv_10",
        "authors_0.21",
        "oracle_val_0.25",
        "autoterm_x1.414",
        "cand_nocap_1.414",
        "cand_prbq0.9_1",
    } <= methods
    assert per_run.n_stop.between(20, 31).all()
    checks = pd.read_csv(out / "autoterm_checks.csv.gz")
    assert list(checks.n) == list(range(20, 32)) and checks.expected_regret.notna().all()
    assert frontier.main(["--per-run", str(out / "per_run.csv"), "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f_frontier.md").exists()

    # ours' settings are read off the cached checks: each equals the rule built at that
    # setting and replayed on its own, down to the bottom of the grid

    assert min(sweeps.ERROR_SCALES) < 1e-3
    for c in (min(sweeps.ERROR_SCALES), 1.414, 32.0):
        _assert_read_off_equals_a_replay(per_run, f"autoterm_x{c:g}", runs / "toy__RF.csv.gz", c)
        _assert_read_off_equals_a_replay(
            per_run, f"cand_nocap_{c:g}", runs / "toy__RF.csv.gz", c, relative_tolerance=None
        )
    # the relative-cap candidate reads the incumbent's value off the run: it equals the
    # rule with relative_tolerance replayed alone, where the cap binds and where it does not
    stops = set()
    for rho in sweeps.RELATIVE_CAPS:
        for c in (0.25, 2.0, 32.0):
            method = f"cand_relcap{rho:g}_{c:g}"
            _assert_read_off_equals_a_replay(
                per_run, method, runs / "toy__RF.csv.gz", c, relative_tolerance=rho
            )
            stops.add(int(per_run[per_run.method == method].n_stop.iloc[0]))
    assert len(stops) > 1  # the settings do not all stop at one check


def test_traces_from_a_checks_file_give_the_rows_of_a_full_replay(tmp_path, monkeypatch):
    """``--traces-from`` fills ours' trace cache from a committed checks file: the rows
    read off it equal those of the replay that wrote the file, with no GP fit."""
    runs = tmp_path / "runs"
    runs.mkdir()
    df = pd.read_csv(ROOT / "benchmarks" / "paper_runs" / "aa-openml308__RF.csv.gz")
    df[(df.seed == 0) & (df.step < 28)].to_csv(runs / "toy__RF.csv.gz", index=False)
    full, seeded = tmp_path / "full", tmp_path / "seeded"
    common = ["--runs", str(runs), "--methods", "frontier", "--no-progress"]
    assert pr.main([*common, "--out", str(full)]) == 0
    checks = full / "autoterm_checks.csv.gz"

    def no_gp(*args, **kwargs):
        raise AssertionError("ours' trace was recomputed")

    monkeypatch.setattr(sweeps, "run_ours", no_gp)
    assert pr.main([*common, "--out", str(seeded), "--traces-from", str(checks)]) == 0
    key = ["method", "n_stop", "fired", "rtc", "ryc"]
    a = pd.read_csv(full / "per_run.csv")[key].sort_values("method").reset_index(drop=True)
    b = pd.read_csv(seeded / "per_run.csv")[key].sort_values("method").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert a.method.str.startswith("autoterm_x").sum() == len(sweeps.ERROR_SCALES)
    # a unit already in the cache is kept, not overwritten
    assert pr.seed_traces([runs], seeded, checks) == 0


def _assert_read_off_equals_a_replay(per_run, method, path, error_scale, **options):
    """The row of ``method`` equals AutoTermination at that setting replayed on its own."""
    from syne_autoterm import AutoTermination
    from syne_autoterm.compare import replay as replay_rule

    (run,) = pr.load_runs(path, [0])
    rule = AutoTermination(
        "value",
        "min",
        "fold_",
        config_space=run.config_space,
        warm_up=20,
        posterior="sklearn",
        seed=0,
        error_scale=error_scale,
        **options,
    )
    alone = replay_rule(rule, run.evidence, 20, pr.last_check(run))
    row = per_run[per_run.method == method].iloc[0]
    assert (row.n_stop, bool(row.fired)) == (alone.n_stop, alone.fired), method


def test_margin_bootstrap_resamples_datasets():
    """Ours saves 0.1 more than the competitor on datasets a and b and 0.3 less on c: the
    margin over the three is -0.033, and it depends on which datasets a resample draws."""
    rows = []
    for dataset, ours in (("a", 0.6), ("b", 0.6), ("c", 0.2)):
        for seed in range(3):
            rows += [
                {
                    "dataset": dataset,
                    "model": "RF",
                    "seed": seed,
                    "method": "autoterm_x1",
                    "rtc": ours,
                    "ryc": 0.0,
                },
                {
                    "dataset": dataset,
                    "model": "RF",
                    "seed": seed,
                    "method": "conv_50",
                    "rtc": 0.5,
                    "ryc": 0.0,
                },
            ]
    spread = frontier.margin_bootstrap(pd.DataFrame(rows), n_boot=400).set_index("budget")
    # margin per resample: mean over 3 drawn datasets of (+0.1, +0.1, -0.3); se = 0.189 / sqrt(3)
    assert spread.loc[0.005, "margin_se"] == pytest.approx(0.1886 / np.sqrt(3), rel=0.15)
    # behind by more than 0.01 unless no draw is c: 1 - (2/3)**3
    assert spread.loc[0.005, "share_behind"] == pytest.approx(1 - (2 / 3) ** 3, abs=0.07)
    same = [dict(r, rtc=0.5) for r in rows]
    assert frontier.margin_bootstrap(pd.DataFrame(same), n_boot=50).margin_se.max() == 0.0


def test_runs_of_judges_every_family_on_a_candidates_subset(tmp_path):
    rows = [
        {
            "dataset": "d",
            "model": "RF",
            "seed": seed,
            "method": method,
            "fired": True,
            "rtc": 0.1 * seed,
            "ryc": 0.0,
        }
        for seed in range(4)
        for method in ("conv_50", "autoterm_x2")
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "per_run.csv", index=False)
    pd.DataFrame(rows[:4]).to_csv(tmp_path / "subset.csv", index=False)  # seeds 0-1
    assert (
        frontier.main(
            [
                "--per-run",
                str(tmp_path / "per_run.csv"),
                "--runs-of",
                str(tmp_path / "subset.csv"),
                "--out",
                str(tmp_path / "x"),
                "--bootstrap",
                "0",
            ]
        )
        == 0
    )
    summary = pd.read_csv(tmp_path / "x_summary.csv").set_index("method")
    assert summary.loc["conv_50", "n_runs"] == 2 and summary.loc["conv_50", "rtc"] == 0.05


def test_a_traced_candidate_is_read_off_its_own_checks(tmp_path):
    """A candidate with a GP of its own (here: no random domain configs) caches its checks
    like ours; each setting equals that rule replayed alone."""
    runs = tmp_path / "runs"
    runs.mkdir()
    df = pd.read_csv(ROOT / "benchmarks" / "paper_runs" / "openml-3892__XGB.csv.gz")
    df[(df.seed == 0) & (df.step < 30)].to_csv(runs / "toy__XGB.csv.gz", index=False)
    out = tmp_path / "out"
    argv = ["--runs", str(runs), "--out", str(out), "--methods", "frontier_local", "--no-progress"]
    assert pr.main(argv) == 0
    per_run = pd.read_csv(out / "per_run.csv")
    assert set(per_run.method) == set(sweeps.traced_method_names("frontier_local"))
    _, options = sweeps.TRACED_CANDIDATES["frontier_local"]
    for c in (0.125, 4.0):
        path = runs / "toy__XGB.csv.gz"
        _assert_read_off_equals_a_replay(per_run, f"cand_localdomain_{c:g}", path, c, **options)


def test_patience_knob_families_fire_where_their_definitions_say():
    """The read-off families of benchmarks/patience_knob.py on a hand-made run of checks:
    regret/error ratio falls slowly, the incumbent stands still from the third check."""
    from benchmarks import patience_knob as pk

    ratio = np.array([9.0, 6.0, 4.0, 3.0, 2.5, 1.5, 0.9])
    quiet = np.array([0.0, 0.0, 20.0, 30.0, 60.0, 119.0, 120.0])
    scales = np.array([0.5, 1.0, 2.0])

    def first(fires):
        hit = fires(ratio, quiet, scales)
        return [int(h.argmax()) if h.any() else None for h in hit.T]

    assert first(pk._patience(None)) == [None, 6, 5]
    assert first(pk._patience(120)) == [6, 6, 5]
    assert first(pk._patience(20)) == [2, 2, 2]
    # gated: 30 quiet trials and the ratio below 4 x scale (1.5 < 2 at 0.5, 3 < 4 at 1)
    assert first(pk._gate(4.0, 30)) == [5, 3, 3]
    # linked: patience 120 up to the scale 1, 120 x (1 / 2) ** 1 = 60 at 2
    assert first(pk._linked(1.0, 1.0)) == [6, 6, 4]


def test_refit_agreement_tables_on_hand_made_stops():
    """benchmarks/refit_agreement.py: the share of same stops per scale, and each
    schedule's frontier (best mean RTC at mean RYC >= -L) over the scales."""
    from benchmarks import refit_agreement as ra

    rows = pd.DataFrame(
        [
            # dataset, model, seed, growth, scale, n_stop, rtc, ryc
            ("a", "RF", 0, 1.0, 0.5, 100, 0.5, 0.0),
            ("a", "RF", 0, 1.1, 0.5, 100, 0.5, 0.0),
            ("b", "RF", 0, 1.0, 0.5, 150, 0.25, -0.004),
            ("b", "RF", 0, 1.1, 0.5, 120, 0.4, -0.004),
            ("a", "RF", 0, 1.0, 2.0, 50, 0.75, -0.03),
            ("a", "RF", 0, 1.1, 2.0, 50, 0.75, -0.03),
            ("b", "RF", 0, 1.0, 2.0, 60, 0.7, -0.01),
            ("b", "RF", 0, 1.1, 2.0, 61, 0.69, -0.01),
        ],
        columns=["dataset", "model", "seed", "refit_growth", "error_scale", "n_stop", "rtc", "ryc"],
    )
    agree = ra.agreement(rows, 0.5).set_index("error_scale")
    assert agree.loc[0.5, "same_stop"] == 0.5 and agree.loc[2.0, "same_stop"] == 0.5
    assert agree.loc[0.5, "within_5"] == 0.5 and agree.loc[2.0, "within_5"] == 1.0
    front = ra.frontier_by_growth(rows).set_index(["refit_growth", "budget"])
    # L = 0.005: only the scale 0.5 (mean RYC -0.002) is within; L = 0.02: 2.0 (-0.02)
    assert front.loc[(1.0, 0.005), "rtc"] == pytest.approx(0.375)
    assert front.loc[(1.1, 0.005), "rtc"] == pytest.approx(0.45)
    assert front.loc[(1.1, 0.02), "rtc"] == pytest.approx(0.72)
    assert front.loc[(1.0, 0.0025), "error_scale"] == 0.5


def test_the_horizon_candidates_read_off_equal_the_rule_replayed_alone(tmp_path):
    """``cand_horizon<h>_<c>`` is ``AutoTermination(bound="horizon")`` with that horizon."""
    from syne_autoterm import PathSampling

    runs = tmp_path / "runs"
    runs.mkdir()
    df = pd.read_csv(ROOT / "benchmarks" / "paper_runs" / "openml-3892__XGB.csv.gz")
    df[(df.seed == 0) & (df.step < 30)].to_csv(runs / "toy__XGB.csv.gz", index=False)
    out = tmp_path / "out"
    argv = [
        "--runs",
        str(runs),
        "--out",
        str(out),
        "--methods",
        "frontier_horizon",
        "--no-progress",
    ]
    assert pr.main(argv) == 0
    per_run = pd.read_csv(out / "per_run.csv")
    path = runs / "toy__XGB.csv.gz"
    for h, c in ((1, 0.5), (64, 2.0), (8, sweeps.ERROR_SCALES[0])):
        # the rule alone samples the same paths: the horizons listed do not change them
        sampling = PathSampling(horizons=(h, *sweeps.HORIZONS))
        _assert_read_off_equals_a_replay(
            per_run,
            f"cand_horizon{h}_{c:g}",
            path,
            c,
            bound="horizon",
            path_sampling=sampling,
            relative_tolerance=None,
        )


def test_horizon_candidates_read_their_own_statistic_off_the_trace():
    """``cand_horizon<h>`` fires where the expected improvement of the h most promising
    candidates falls below c x the error, or on the default patience, and not on the regret."""
    err = 0.01
    trace = [
        {
            "n": 20,
            "improvement_h1": 3 * err,
            "improvement_h8": 9 * err,
            "improvement_h64": 10 * err,
        },
        {
            "n": 21,
            "improvement_h1": 0.5 * err,
            "improvement_h8": 4 * err,
            "improvement_h64": 5 * err,
        },
        {
            "n": 22,
            "improvement_h1": 0.1 * err,
            "improvement_h8": 2 * err,
            "improvement_h64": 0.4 * err,
        },
    ]
    for r in trace:
        r.update(
            expected_regret=1e-9, regret_bound=1e-9, stat_error=err, trials_without_improvement=0
        )
    stops = sweeps.traced_from_trace("frontier_horizon", trace, last=30)
    assert set(stops) == set(sweeps.traced_method_names("frontier_horizon"))
    assert stops["cand_horizon1_1"][:2] == (21, True)
    assert stops["cand_horizon64_1"][:2] == (22, True)
    assert stops["cand_horizon8_1"][:2] == (30, False)
    assert stops["cand_horizon8_4"][:2] == (22, True)  # 2 < 4 at n = 22; 4 < 4 is false at 21
    trace[0]["trials_without_improvement"] = 120  # the default patience
    assert sweeps.traced_from_trace("frontier_horizon", trace, last=30)["cand_horizon8_1"][:2] == (
        20,
        True,
    )


def test_family_margins_on_a_hand_made_frontier(tmp_path):
    """A candidate's margin is its RTC minus the best competitor's in each cell; the worst
    and the mean are taken over the cells, in-sample and leaving datasets out."""
    from benchmarks import family_margins as fm

    rows = []
    for budget, (ours, cand, conv, plateau) in {
        0.005: (0.30, 0.20, 0.25, 0.10),
        0.01: (0.40, 0.50, 0.45, 0.48),
    }.items():
        for family, role, rtc in (
            ("ours", "ours", ours),
            ("cand_x", "candidate", cand),
            ("conv", "competitor", conv),
            ("plateau", "competitor", plateau),
            ("oracle_val", "reference", 0.9),
        ):
            rows.append(
                {
                    "model": "RF",
                    "budget": budget,
                    "family": family,
                    "role": role,
                    "rtc": rtc,
                    "ryc": -budget / 2,
                }
            )
    table = pd.DataFrame(rows)
    m = frontier.margins(table, "cand_x").set_index("budget")
    assert m.margin.round(3).to_dict() == {0.005: -0.05, 0.01: 0.02}
    assert m.best_other_family.to_dict() == {0.005: "conv", 0.01: "plateau"}
    table.to_csv(tmp_path / "x_frontier.csv", index=False)
    out = fm.summary(tmp_path / "x", ["ours", "cand_x", "missing"]).set_index("family")
    assert out.loc["ours", "worst_margin"] == -0.08 and out.loc["ours", "mean_margin"] == -0.015
    assert out.loc["cand_x", "worst_at"] == "RF L=0.005" and "missing" not in out.index


def test_nested_choice_picks_the_constant_on_the_training_folds_only():
    """Variant "0.02" saves more than ours everywhere except on dataset d0, where it loses
    1 % of test error: the fold that holds d0 out chooses it (and is hurt), the others
    hold d0 in training and keep ours at the small budgets."""
    from benchmarks import nested_choice as nc

    rows = []
    for d in range(5):
        for seed in range(2):
            for c in (1.0, 2.0):
                rows.append(("none", f"d{d}", seed, c, 0.1 * c, -0.0001))
                loss = -0.05 if d == 0 else -0.0001
                rows.append(("0.02", f"d{d}", seed, c, 0.2 * c, loss))
    df = pd.DataFrame(rows, columns=["variant", "dataset", "seed", "knob", "rtc", "ryc"])
    df = nc.assign_folds(df.assign(model="RF", run_set="paper"))
    result, choices = nc.nested(df)
    chosen = dict(zip(choices.fold, choices.chosen))
    assert chosen[0] == "0.02"  # d0 held out: the training folds never see its loss
    assert all(chosen[f] == "none" for f in range(1, 5))  # d0's -0.05 / 2 runs sinks "0.02"
    at = result.set_index(["budget", "variant"])
    assert at.loc[(0.005, "none"), "rtc"] == pytest.approx(0.2)
    # nested: the fold holding d0 out scores "0.02" at knob 2 on d0 (RTC 0.4, RYC -0.05)
    assert at.loc[(0.005, "nested"), "ryc"] == pytest.approx((-0.05 * 2 + -0.0001 * 8) / 10)


def test_learned_rule_trajectory_features_and_pooled_stops_on_a_hand_made_run():
    from benchmarks import learned_rule as lr

    # a running minimum that gains 0.02 at trial 5 and nothing after
    best = np.array([0.30] * 4 + [0.28] * 76)
    trace = pd.DataFrame(
        {
            "n": [10, 40, 75],
            "stat_error": [0.01, 0.01, 0.01],
            "expected_regret": [0.02, np.nan, 0.0001],
        },
        index=[7, 8, 9],  # a filtered trace keeps its index
    )
    f = lr.trajectory_features(trace, best)
    assert list(f.index) == [7, 8, 9]
    # gain over the last 10 trials at n = 10: best[0] - best[9] = 0.02 = 2 x the error
    assert f.gain_10.iloc[0] == pytest.approx(np.log1p(2.0))
    assert f.gain_10.iloc[1] == 0.0 and f.gain_60.iloc[2] == pytest.approx(0.0)
    assert f.gain_60.iloc[1] == pytest.approx(np.log1p(2.0))  # n = 40 looks back to trial 1
    # the capped tolerated error at 0.28: clip(0.02 x 0.28, 0.1 x 0.01, 0.01) = 0.0056
    assert f.log_capped.iloc[0] == pytest.approx(np.log(0.02 / 0.0056))
    assert np.isnan(f.log_capped.iloc[1])  # no regret: no feature, and no stop (usable mask)

    run = {
        "n": np.array([10, 40, 75]),
        "last": 79,
        "outcomes": {10: {"rtc": 0.9, "ryc": -0.1}, 40: {"rtc": 0.5, "ryc": 0.0},
                     75: {"rtc": 0.05, "ryc": 0.0}, 79: {"rtc": 0.0, "ryc": 0.0}},
    }  # fmt: skip
    assert lr._pooled_stop(np.array([0.2, 0.9, 0.95]), run, 0.9)["rtc"] == 0.5
    assert lr._pooled_stop(np.array([0.2, 0.3, 0.4]), run, 0.9)["rtc"] == 0.0  # runs to the end
    assert lr._pooled_stop(np.array([0.99, 0.99, 0.99]), run, None) == {"rtc": 0.0, "ryc": 0.0}
    # the grid's taus up to 0.9 stop at 40 (RTC 0.5), above it at 75 or not at all
    best_tau = lr._pooled_tau([np.array([0.2, 0.9, 0.95])], [run], 0.01)
    assert best_tau[1] == 0.5 and best_tau[0] > 0.2


def test_dedup_runs_drops_repeated_table_rows_and_renumbers(tmp_path):
    from benchmarks import dedup_runs

    run = pd.DataFrame(
        {
            "seed": 0,
            "step": [3, 0, 1, 2, 4],  # out of order on disk
            "iteration": [3, 0, 1, 2, 4],
            "config_id": [7, 5, 7, 9, 5],
            "value": [0.2, 0.3, 0.2, 0.25, 0.3],
            "ei": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    kept = dedup_runs.distinct_rows(run)
    # in step order: 5, 7, 9, 7 (repeat), 5 (repeat)
    assert kept.config_id.tolist() == [5, 7, 9]
    assert kept.step.tolist() == [0, 1, 2] and kept.iteration.tolist() == [0, 1, 2]
    assert kept.ei.isna().all()  # the next suggestion's EI no longer belongs to the row
    src = tmp_path / "runs"
    src.mkdir()
    pd.concat([run, run.assign(seed=1, config_id=[1, 2, 3, 4, 5])]).to_csv(
        src / "toy__RF.csv.gz", index=False
    )
    assert dedup_runs.main(["--runs", str(src), "--out", str(tmp_path / "out")]) == 0
    repeats = pd.read_csv(tmp_path / "out" / "repeats.csv")
    assert repeats.repeat_share.iloc[0] == pytest.approx(2 / 10)
    written = pd.read_csv(tmp_path / "out" / "cache" / "runs" / "toy__RF.csv.gz")
    assert written.groupby("seed").size().tolist() == [3, 5]
