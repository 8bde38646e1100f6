"""Incremental CloudWatch Logs tailing and ``[tune-metric]`` parsing.

Why this is stateful: the Tuner asks for results every few seconds for hours.
Re-reading whole log streams on each poll (what Syne Tune 0.13 did) costs one
``GetLogEvents`` page per 10k events per poll and burns the 25 TPS account
limit; re-parsing also makes "no duplicates" depend on list positions. Here each
stream keeps its forward token, so a poll reads only new events, a throttled
poll resumes exactly where the last complete page ended (no loss, no
duplicates), and a report split over two events (or two polls) is reassembled
by a per-stream :class:`MetricLineAssembler`.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from syne_tune.constants import ST_METRIC_TAG, ST_WORKER_TIMESTAMP

from ._clients import error_code

logger = logging.getLogger(__name__)

#: CloudWatch log group that SageMaker training jobs write stdout+stderr to.
LOG_GROUP = "/aws/sagemaker/TrainingJobs"

_TAG = f"[{ST_METRIC_TAG}]:"
#: Syne Tune caps one report at 50 kB; anything much longer is not a report.
MAX_PENDING_CHARS = 256 * 1024


def _match_braces(text: str, start: int) -> int | None:
    """Index just past the JSON object starting at ``text[start] == "{"``.

    ``None`` when the text ends before the object closes (a split report).
    Strings are skipped so braces inside values do not count.
    """
    depth = 0
    in_str = False
    esc = False
    for k in range(start, len(text)):
        c = text[k]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return None


def _tag_prefix_suffix(text: str) -> str:
    """Longest proper prefix of the tag that ``text`` ends with ("" if none)."""
    for n in range(min(len(_TAG) - 1, len(text)), 0, -1):
        if text.endswith(_TAG[:n]):
            return text[-n:]
    return ""


@dataclass
class _Found:
    start: int
    report: dict[str, Any] | None  # None: complete but not valid JSON object


def _scan_line(line: str) -> tuple[list[_Found], str]:
    """Find reports in one line; return them and an unfinished tail, if any.

    The tail is either an opened-but-unclosed report (from its tag on) or a
    proper prefix of the tag at the very end of the line.
    """
    found: list[_Found] = []
    pos = 0
    while True:
        i = line.find(_TAG, pos)
        if i < 0:
            return found, _tag_prefix_suffix(line[pos:])
        j = i + len(_TAG)
        while j < len(line) and line[j] in " \t":
            j += 1
        if j == len(line):
            return found, line[i:]
        if line[j] != "{":
            pos = j
            continue
        end = _match_braces(line, j)
        if end is None:
            return found, line[i:]
        try:
            obj = json.loads(line[j:end])
        except ValueError:
            obj = None
        found.append(_Found(i, obj if isinstance(obj, dict) else None))
        pos = end


class MetricLineAssembler:
    """Turns a sequence of log messages into Syne Tune metric dicts.

    A message is one CloudWatch event; normally one output line. Python's
    ``json.dumps`` never emits a raw newline, so a report is always on one
    line, but CloudWatch and the log agents can cut one line into two events
    (e.g. on buffer flushes), and the second half may arrive in a later poll.
    The unfinished tail of the last line of a message is kept and glued to the
    next message; if the glued text is not a valid report, or the message
    starts a report of its own, the fragment is dropped with a warning and the
    new message is parsed on its own, so a bad fragment can never swallow a
    good report that follows it. Known limit: if another writer's line lands
    between the two halves of a report, that one report is dropped (warned).
    """

    def __init__(self, where: str = "") -> None:
        self._pending = ""
        self._where = where
        self.num_dropped = 0

    @property
    def pending(self) -> str:
        return self._pending

    def _drop(self, fragment: str, why: str) -> None:
        if _TAG in fragment:
            self.num_dropped += 1
            logger.warning(
                "%s: dropped a malformed metric report (%s, %d chars): %.80s...",
                self._where or "log",
                why,
                len(fragment),
                fragment,
            )

    def _scan_lines(self, lines: list[str], out: list[dict[str, Any]]) -> None:
        for idx, line in enumerate(lines):
            found, tail = _scan_line(line)
            for f in found:
                if f.report is None:
                    self._drop(line[f.start :], "invalid JSON")
                else:
                    out.append(f.report)
            if tail:
                if idx == len(lines) - 1:
                    self._set_pending(tail)
                else:
                    self._drop(tail, "line ended inside the report")

    def _set_pending(self, tail: str) -> None:
        if len(tail) > MAX_PENDING_CHARS:
            self._drop(tail, "report too long")
            self._pending = ""
        else:
            self._pending = tail

    def feed(self, message: str) -> list[dict[str, Any]]:
        """Parse one log message; return the reports completed by it."""
        out: list[dict[str, Any]] = []
        lines = message.split("\n")
        if self._pending:
            pending, self._pending = self._pending, ""
            joined = pending + lines[0]
            found, tail = _scan_line(joined)
            first = found[0] if found else None
            if first is not None and first.start == 0 and first.report is not None:
                # The fragment was completed by this message.
                out.append(first.report)
                for f in found[1:]:
                    if f.report is None:
                        self._drop(joined[f.start :], "invalid JSON")
                    else:
                        out.append(f.report)
                if tail:
                    if len(lines) == 1:
                        self._set_pending(tail)
                    else:
                        self._drop(tail, "line ended inside the report")
                self._scan_lines(lines[1:], out)
                return out
            if not found and tail == joined and _TAG not in lines[0]:
                # Still unfinished: the whole message continues the fragment
                # (a message with its own tag starts a new report instead).
                if len(lines) == 1:
                    self._set_pending(tail)
                    return out
                self._drop(tail, "line ended inside the report")
                self._scan_lines(lines[1:], out)
                return out
            # Not a continuation: forget the fragment, parse the message alone.
            self._drop(pending, "not continued by the next log event")
        self._scan_lines(lines, out)
        return out

    def flush(self) -> None:
        """Give up on an unfinished fragment (called once a job's log is final)."""
        if self._pending:
            self._drop(self._pending, "log ended inside the report")
            self._pending = ""


@dataclass
class _StreamState:
    name: str
    assembler: MetricLineAssembler
    parse_metrics: bool
    token: str | None = None
    num_events: int = 0


@dataclass
class JobLogTail:
    """Reads the CloudWatch streams of one training job, only new events per poll.

    ``metrics`` is append-only, in arrival order; the backend copies new
    entries into the trial's result list. ``lines`` keeps the last
    ``max_lines_kept`` raw lines for ``stdout()`` and error messages.

    Only streams of ``metric_hosts`` (``algo-1`` by default) are parsed for
    metrics: in a multi-instance job every host runs the entry point, but
    Syne Tune expects one report sequence per trial.
    """

    job_name: str
    page_limit: int | None = None
    max_pages_per_poll: int = 100
    metric_hosts: tuple[str, ...] | None = ("algo-1",)
    max_lines_kept: int = 20000
    on_line: Callable[[str], object] | None = None  # its return value is ignored (file.write)
    streams: dict[str, _StreamState] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    lines: deque = field(default_factory=deque)
    num_events: int = 0

    def __post_init__(self) -> None:
        self.lines = deque(self.lines, maxlen=self.max_lines_kept)

    @property
    def stream_prefix(self) -> str:
        # The trailing slash matters: job "x-1" must not read the streams of "x-10".
        return f"{self.job_name}/"

    def _is_metric_stream(self, stream_name: str) -> bool:
        if self.metric_hosts is None:
            return True
        host = stream_name[len(self.stream_prefix) :]
        return any(host == h or host.startswith(h + "-") for h in self.metric_hosts)

    def discover(self, logs_client: Any) -> None:
        """Register streams of this job not seen before (paginated)."""
        kwargs: dict[str, Any] = {
            "logGroupName": LOG_GROUP,
            "logStreamNamePrefix": self.stream_prefix,
        }
        found: list[dict[str, Any]] = []
        seen_tokens: set[str] = set()
        while True:
            try:
                resp = logs_client.describe_log_streams(**kwargs)
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return  # log group not created yet: no job has logged
                raise
            found.extend(resp.get("logStreams", []))
            token = resp.get("nextToken")
            if not token or token in seen_tokens:
                break
            seen_tokens.add(token)
            kwargs["nextToken"] = token
        found.sort(key=lambda s: (s.get("creationTime", 0), s["logStreamName"]))
        for s in found:
            name = s["logStreamName"]
            if name not in self.streams and name.startswith(self.stream_prefix):
                self.streams[name] = _StreamState(
                    name=name,
                    assembler=MetricLineAssembler(where=name),
                    parse_metrics=self._is_metric_stream(name),
                )

    def _drain(self, logs_client: Any, st: _StreamState) -> list[dict[str, Any]]:
        new_metrics: list[dict[str, Any]] = []
        for _ in range(self.max_pages_per_poll):
            kwargs: dict[str, Any] = {
                "logGroupName": LOG_GROUP,
                "logStreamName": st.name,
                "startFromHead": True,
            }
            if self.page_limit is not None:
                kwargs["limit"] = self.page_limit
            if st.token is not None:
                kwargs["nextToken"] = st.token
            resp = logs_client.get_log_events(**kwargs)
            # From here on nothing may raise before ``st.token`` is advanced,
            # otherwise the page would be read twice on the next poll.
            events = resp.get("events", [])
            page_metrics = self._consume(st, events)
            new_metrics.extend(page_metrics)
            next_token = resp.get("nextForwardToken")
            previous, st.token = st.token, (next_token or st.token)
            if not next_token or next_token == previous:
                break  # CloudWatch returns the same token at the end of a stream
        return new_metrics

    def _consume(self, st: _StreamState, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        host = st.name[len(self.stream_prefix) :]
        label = "" if st.parse_metrics else f"[{host}] "
        for ev in events:
            msg = ev.get("message", "")
            st.num_events += 1
            self.num_events += 1
            for line in msg.split("\n"):
                text = f"{label}{line}\n"
                self.lines.append(text)
                if self.on_line is not None:
                    try:
                        self.on_line(text)
                    except Exception:
                        logger.debug("on_line callback failed", exc_info=True)
            if not st.parse_metrics:
                continue
            for report in st.assembler.feed(msg):
                if ST_WORKER_TIMESTAMP not in report and "timestamp" in ev:
                    # The Tuner sorts results by this key; fall back to the
                    # CloudWatch event time for reports from non-Syne-Tune code.
                    report[ST_WORKER_TIMESTAMP] = ev["timestamp"] / 1000.0
                out.append(report)
        self.metrics.extend(out)
        return out

    def poll(self, logs_client: Any, discover: bool = True) -> list[dict[str, Any]]:
        """Read all new events of all streams; return the new metric reports.

        If a call fails midway (throttling), the reports of the pages already
        read are in :attr:`metrics` although this call raised; consumers that
        must not lose any should track an index into :attr:`metrics`.
        """
        if discover:
            self.discover(logs_client)
        new: list[dict[str, Any]] = []
        for st in list(self.streams.values()):
            new.extend(self._drain(logs_client, st))
        return new

    def finish(self) -> None:
        """The job's log is complete: drop unfinished fragments (with a warning)."""
        for st in self.streams.values():
            st.assembler.flush()
