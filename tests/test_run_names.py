"""The run a user means by the name they gave ``tune --name`` (Syne Tune adds a timestamp)."""

import pytest
from syne_tune.util import name_from_base

from syne_autoterm._run_names import resolve_run_name


@pytest.fixture
def root(tmp_path):
    for name in (
        "t1-2026-12-01-07-48-50-429",
        "t1-2026-12-01-09-00-00-001",  # newer
        "t1-extra-2026-12-01-10-00-00-000",  # another name that merely starts with t1
        "plain",  # a folder named exactly
        "t1-notastamp",
    ):
        (tmp_path / name).mkdir()
    return tmp_path


def test_a_typed_prefix_means_its_newest_run(root):
    res = resolve_run_name("t1", root)
    assert res.name == "t1-2026-12-01-09-00-00-001" and res.matches == 2
    assert "t1-2026-12-01-09-00-00-001" in res.note and "newest of 2" in res.note


def test_an_exact_folder_name_is_kept(root):
    for name in ("plain", "t1-2026-12-01-07-48-50-429"):
        res = resolve_run_name(name, root)
        assert res.name == name and res.note is None
    assert resolve_run_name("t1-extra", root).name == "t1-extra-2026-12-01-10-00-00-000"


def test_an_unknown_name_is_returned_unchanged_for_the_caller_to_report(root):
    for name in ("nothere", "t", "", "a/b"):
        res = resolve_run_name(name, root)
        assert res.name == name and res.note is None
    assert resolve_run_name("x", root / "missing").name == "x"


def test_a_name_syne_tune_cut_to_fit_is_still_found(tmp_path):
    typed = "a-very-long-experiment-name-" + "x" * 40
    stored = name_from_base(typed)
    assert not stored.startswith(typed)  # Syne Tune cut it
    (tmp_path / stored).mkdir()
    assert resolve_run_name(typed, tmp_path).name == stored
