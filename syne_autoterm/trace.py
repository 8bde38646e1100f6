"""The decision trace: one JSON object per check, appended, never rewritten.

Appending (not rewriting) means a resumed experiment extends the trace of the
interrupted one, and a crash loses at most the line being written. Records
written by :class:`~syne_autoterm.stopping.base.StoppingRule` carry ``run_id``,
``session`` and ``check``; when a run was killed after its last saved
snapshot, the resumed run repeats the checks made since then (same
``check`` numbers, a later ``session``) and :func:`read_trace` keeps those.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def append_record(path: str | Path, record: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(_jsonable(record), sort_keys=True) + "\n")


def read_trace(path: str | Path, resolve_resumes: bool = True) -> list[dict]:
    """Records of a trace file; a truncated or garbled line (crash mid-write) is skipped.

    With ``resolve_resumes``, a record from a later ``session`` of the same
    ``run_id`` whose ``check`` number was already seen replaces the earlier
    records of that run from that check on (the resumed run re-made those
    checks from its last snapshot), so every run's checks read as one
    sequence 0, 1, 2, ... Files without these keys are returned as written.
    """
    records: list[dict] = []
    latest: dict[str, tuple[int, int]] = {}  # run_id -> (last check, its session)
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict):
                continue
            if resolve_resumes:
                _drop_superseded(records, record, latest)
            records.append(record)
    return records


def _drop_superseded(records: list[dict], new: dict, latest: dict) -> None:
    run, check, session = new.get("run_id"), new.get("check"), new.get("session")
    if not isinstance(run, str) or not isinstance(check, int) or not isinstance(session, int):
        return
    seen = latest.get(run)
    if seen is not None and check <= seen[0] and session > seen[1]:
        records[:] = [r for r in records if not _same_run_from(r, run, check)]
    latest[run] = (check, session)


def _same_run_from(record: dict, run: str, check: int) -> bool:
    number = record.get("check")
    return record.get("run_id") == run and isinstance(number, int) and number >= check


def write_records(path: str | Path, records: Iterable[dict]) -> None:
    for record in records:
        append_record(path, record)
