"""The read-off candidates of ``benchmarks/readoff_candidates.py`` on hand-made checks."""

import numpy as np

from benchmarks.readoff_candidates import families, repeats_since_improvement


def test_repeats_count_exact_results_since_the_last_improvement():
    values = np.array([0.5, 0.4, 0.45, 0.45, 0.4, 0.3, 0.45, 0.45, 0.46])
    folds = [np.array([v, v]) for v in values]
    folds[3] = np.array([0.44, 0.46])  # same value, other folds: not the same result
    counts = repeats_since_improvement(values, folds)
    # 0.45 (trial 3) differs from trial 2 by its folds; 0.4 at trial 4 repeats trial 1;
    # 0.3 improves (reset); trials 6-7 repeat trial 2's result; 0.46 is new
    assert counts.tolist() == [0, 0, 0, 0, 1, 0, 1, 2, 2]


def _record(n=40, ratio=0.5, quiet=0, repeats=0, noise_share=0.1, error=0.01, incumbent=1.0):
    """A check whose expected regret is ``ratio`` x the tolerated error (the error, here:
    2 % of the incumbent is above it)."""
    return {
        "n_completed": n,
        "regret_bound": ratio * error,
        "expected_regret": ratio * error,
        "stat_error": error,
        "incumbent_value": incumbent,
        "trials_without_improvement": quiet,
        "repeats": repeats,
        "noise_share": noise_share,
    }


def test_each_candidate_stops_where_it_must_and_not_where_it_must_not():
    fams = families()
    # ours stops at ratio 0.5 < 1: every candidate that only adds a guard still may...
    assert fams["cand_capmin30"](_record(n=40), 1.0)
    assert fams["cand_capquiet10"](_record(quiet=10), 1.0)
    assert fams["cand_noiseveto0.9"](_record(noise_share=0.5), 1.0)
    assert fams["cand_noiseveto0.9"](_record(noise_share=None), 1.0)  # unknown: ours
    # ...and must not where its guard holds
    assert not fams["cand_capmin30"](_record(n=25), 1.0)
    assert not fams["cand_capquiet10"](_record(quiet=9), 1.0)
    assert not fams["cand_noiseveto0.9"](_record(noise_share=0.95), 1.0)
    assert fams["cand_dimmin10"]({**_record(n=90), "dimensions": 9}, 1.0)
    assert not fams["cand_dimmin10"]({**_record(n=89), "dimensions": 9}, 1.0)
    assert fams["cand_dimmin10"]({**_record(n=30), "dimensions": 3}, 1.0)
    # the patience is never vetoed
    assert fams["cand_noiseveto0.9"](_record(ratio=50, quiet=120, noise_share=0.99), 1.0)
    assert fams["cand_capmin30"](_record(n=25, ratio=50, quiet=120), 1.0)
    # the repeat stop adds a reason to stop, and needs a finite bound like the patience
    assert not fams["cand_repeat5"](_record(ratio=50, repeats=4), 1.0)
    assert fams["cand_repeat5"](_record(ratio=50, repeats=5), 1.0)
    assert not fams["cand_repeat5"]({**_record(ratio=50, repeats=9), "regret_bound": None}, 1.0)
