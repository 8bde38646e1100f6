"""The benchmarks are a package: every documented command names a script that runs.

Why: the READMEs under ``benchmarks/results`` are how a result is reproduced, and a
renamed or moved script leaves them pointing at nothing without any other test noticing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import benchmarks

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"python -m benchmarks\.(\w+)")
# the form the scripts were run in before they became a package
SCRIPT_PATH = re.compile(r"python3? \S*benchmarks/\w+\.py")
SCRIPTS = sorted(
    m.name
    for m in pkgutil.iter_modules(benchmarks.__path__)
    if not m.name.startswith("_") and m.name != "sweeps"
)


def _documents() -> list[Path]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    docs += sorted(p for p in (ROOT / "benchmarks").rglob("README.md") if "cache" not in p.parts)
    docs += sorted((ROOT / "benchmarks").glob("*.py"))
    docs += [
        ROOT / "benchmarks" / "results" / "main_job.md",
        ROOT / "benchmarks" / "tables" / "builds.csv",
        ROOT / "benchmarks" / "tables" / "surrogate" / "pools.csv",
    ]
    return docs


def test_documented_commands_name_scripts_of_the_package():
    named = set()
    for doc in _documents():
        text = doc.read_text()
        assert not SCRIPT_PATH.search(text), f"{doc}: {SCRIPT_PATH.search(text).group(0)}"
        for name in COMMAND.findall(text):
            assert name in SCRIPTS, f"{doc} documents benchmarks.{name}, which is not a script"
            named.add(name)
    assert named >= {"paper_replay", "frontier", "suite_compare", "build_tables"}


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_has_a_main_that_answers_help(name, capsys):
    module = importlib.import_module(f"benchmarks.{name}")
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_the_scripts_do_not_reach_each_other_through_sys_path():
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        assert "sys.path" not in path.read_text(), path.name
