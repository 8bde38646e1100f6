"""The README's Python code blocks run as written (the launcher with a tiny budget)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUDGET = "max_num_trials_completed=100"


def _python_blocks() -> dict[str, str]:
    """README's ```python blocks by the file name on their first line (``# train.py - ...``)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    named = {}
    for i, block in enumerate(blocks):
        match = re.match(r"# (\w+\.py)\b", block)
        named[match.group(1) if match else f"block{i}.py"] = block
    return named


def test_readme_blocks_are_the_example_files():
    blocks = _python_blocks()
    assert set(blocks) == {"train.py", "tune.py"}, "a new README block needs running here"
    for name, block in blocks.items():
        assert (ROOT / "examples" / "quickstart" / name).read_text() == block, name


@pytest.mark.slow
def test_readme_quickstart_runs_as_pasted(tmp_path, child_env):
    """train.py and tune.py written out verbatim; only the safety-net budget is cut to 4 trials."""
    blocks = _python_blocks()
    (tmp_path / "train.py").write_text(blocks["train.py"])
    assert BUDGET in blocks["tune.py"]
    (tmp_path / "tune.py").write_text(
        blocks["tune.py"].replace(BUDGET, "max_num_trials_completed=3")
    )
    env = child_env(SYNETUNE_FOLDER=str(tmp_path / "st"))
    res = subprocess.run(
        [sys.executable, "tune.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    # show_decisions(): one line per check on stderr, in the CLI's words, and no input warning
    checks = [line for line in res.stderr.splitlines() if line.startswith("[autoterm]")]
    assert checks and all("usable completed trials" in line for line in checks), out[-3000:]
    assert "autoterm: " not in res.stderr, res.stderr[-2000:]
    assert re.search(r"Not stopped: still warming up at \d+ completed trials", res.stdout)
    assert (tmp_path / "autoterm_decisions.png").stat().st_size > 10_000
    assert list((tmp_path / "st").glob("*/results.csv.zip")), "no results written"
