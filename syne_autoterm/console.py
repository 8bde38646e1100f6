"""What a tuning job shows while it runs: a compact live view, or Syne Tune's own with --verbose.

Why: Syne Tune prints its status table (one column per metric and
hyperparameter, 45 columns with ten folds), one coloured line per trial
event and, through the libraries, the subprocess command of every trial and
gpytorch's warnings. The one line a user needs, the stopping decision, is lost
in it. By default the CLI shows instead

* one line per stopping check (the same words as the ``syne_autoterm`` log
  and ``AutoTermination.history``),
* a status line: completed / running / failed trials, elapsed time, the
  incumbent's validation metric and, past warm-up, the bound against the
  statistical error. On a terminal it is redrawn in place; when stdout is not a
  terminal (a log file, CI) it is a plain line every ``interval`` seconds, and
  nothing written contains a control code,
* warnings of this package, wrapped to :data:`WIDTH` characters.

``--verbose`` restores Syne Tune's table, its per-trial lines and every library
log line and warning (the check lines are printed too).
"""

from __future__ import annotations

import logging
import shutil
import sys
import textwrap
import time
import warnings
from collections.abc import Mapping
from typing import Any, TextIO

from syne_tune.tuner_callback import TunerCallback
from syne_tune.tuner_logger import TunerLogger

#: Widest line the compact view writes (status lines are cut to the terminal instead).
WIDTH = 120

#: Logger of the per-check INFO lines (a child of ``syne_autoterm``).
CHECK_LOGGER = "syne_autoterm.checks"


def format_check(rule_name: str, record: Mapping[str, Any]) -> str:
    """The one line that says what a check decided, e.g. ``[autoterm]   28 trials: stopped ...``.

    Used by the CLI, the ``syne_autoterm.checks`` log and ``explain()`` so the
    words are the same everywhere.
    """
    n, reason = record.get("n_completed", "?"), str(record.get("reason", ""))
    if reason.startswith(f"stopped after {n} trials"):  # says the count itself
        return f"[{rule_name}] {reason}"
    return f"[{rule_name}] {n:>3} trials: {reason}"


def wrap(text: str, width: int = WIDTH) -> str:
    """``text`` with every line folded to ``width`` characters, continuations indented."""
    out = []
    for line in str(text).splitlines() or [""]:
        if len(line) <= width:
            out.append(line)
        else:
            out.append(
                textwrap.fill(
                    line,
                    width=width,
                    subsequent_indent="    ",
                    break_long_words=True,
                    break_on_hyphens=False,
                )
            )
    return "\n".join(out)


def status_text(tuner: Any, rule: Any, elapsed: float) -> str:
    """``12 done, 2 running, 0 failed | 53 s | best error 0.0351 | bound 0.0081 vs 0.0062``."""
    status = getattr(tuner, "tuning_status", None)
    parts = []
    if status is not None:
        parts.append(
            f"{status.num_trials_completed} done, {status.num_trials_running} running, "
            f"{status.num_trials_failed} failed"
        )
    else:
        parts.append("starting")
    parts.append(f"{elapsed:.0f} s")
    best = _best_value(status, rule)
    if best is not None:
        parts.append(f"best {getattr(rule, 'metric', 'metric')} {best:.4g}")
    record = _last_bound_record(rule)
    if record is not None:
        parts.append(f"bound {record['regret_bound']:.3g} vs {record['threshold']:.3g}")
    elif rule is not None and getattr(rule, "history", None):
        parts.append(
            f"warm-up {rule.history[-1].get('n_completed', '?')} of {getattr(rule, 'warm_up', '?')}"
        )
    return " | ".join(parts)


def _best_value(status: Any, rule: Any) -> float | None:
    if status is None or rule is None:
        return None
    try:
        stats = status.overall_metric_statistics
        values = stats.max_metrics if getattr(rule, "mode", "min") == "max" else stats.min_metrics
        value = values.get(rule.metric)
        return float(value) if value is not None else None
    except Exception:
        return None


def _last_bound_record(rule: Any) -> Mapping[str, Any] | None:
    for record in reversed(getattr(rule, "history", None) or []):
        if record.get("regret_bound") is not None and record.get("threshold") is not None:
            return record
    return None


class LiveView(TunerCallback):
    """The compact view as a Syne Tune callback: check lines plus a status line.

    :param rule: the stopping rule whose ``history`` is printed (None: no rule).
    :param stream: where to write (default ``sys.stdout``).
    :param live: redraw the status line in place; default: whether ``stream`` is a
        terminal. Without it no control code is ever written.
    :param status: show a status line at all (False with ``--verbose``, where
        Syne Tune prints its table).
    :param interval: seconds between plain status lines when not ``live``.
    """

    def __init__(
        self,
        rule: Any,
        stream: TextIO | None = None,
        live: bool | None = None,
        status: bool = True,
        interval: float = 30.0,
    ):
        self.rule = rule
        # bound now: the CLI swallows what Syne Tune prints during tuner.run() (compact view)
        self._stream = stream if stream is not None else sys.stdout
        self._live = live
        self.show_status = status
        self.interval = interval
        self._seen = 0
        self._tuner: Any = None
        self._start = time.perf_counter()
        self._last_plain = -float("inf")
        self._drawn = False

    # dill-saving the tuner must not try to pickle sys.stdout
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_stream"] = None
        state["_tuner"] = None
        return state

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def live(self) -> bool:
        if self._live is not None:
            return self._live
        try:
            return bool(self.stream.isatty())
        except Exception:
            return False

    def on_tuning_start(self, tuner: Any) -> None:
        self._tuner = tuner
        self._start = time.perf_counter()

    def on_loop_end(self) -> None:
        self.refresh()

    def on_tuning_end(self) -> None:
        self.refresh(final=True)

    def refresh(self, final: bool = False) -> None:
        """Print the new check lines, then the status line when it is due."""
        history = getattr(self.rule, "history", None) or []
        new = history[self._seen :]
        self._seen = len(history)
        for record in new:
            self._line(wrap(format_check(self.rule.name, record)))
        if not self.show_status:
            return
        elapsed = time.perf_counter() - self._start
        text = status_text(self._tuner, self.rule, elapsed)
        if self.live:
            width = max(20, shutil.get_terminal_size((WIDTH, 24)).columns - 1)
            self.stream.write("\r\x1b[K" + text[:width])
            self._drawn = True
            if final:
                self.stream.write("\n")
                self._drawn = False
            self.stream.flush()
        elif final or new or elapsed - self._last_plain >= self.interval:
            if final or elapsed - self._last_plain >= self.interval:
                self._line(text[:WIDTH])
                self._last_plain = elapsed

    def _line(self, text: str) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        self.stream.write(text + "\n")
        self.stream.flush()


class QuietTunerLogger(TunerLogger):
    """Syne Tune's ``output_logger`` without the table and per-trial lines.

    Errors, warnings and failed trials' logs are still printed, plainly
    (no colour, no emoji) and wrapped to :data:`WIDTH` characters.
    """

    def __init__(self, stream: TextIO | None = None):
        super().__init__(use_colors=False, use_emojis=False)
        self._stream = stream if stream is not None else sys.stdout

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_stream"] = None
        return state

    def _say(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(wrap(text) + "\n")
        stream.flush()

    # what a compact view leaves out
    def print_experiment_header(self, *args, **kwargs):
        pass

    def print_tuning_start(self, *args, **kwargs):
        pass

    def print_tuning_status(self, *args, **kwargs):
        pass

    def print_trial_started(self, *args, **kwargs):
        pass

    def print_trial_resumed(self, *args, **kwargs):
        pass

    def print_trial_completed(self, *args, **kwargs):
        pass

    def print_trial_result(self, *args, **kwargs):
        pass

    def print_trial_stopped_by_scheduler(self, *args, **kwargs):
        pass

    def print_trial_stopped_independently(self, *args, **kwargs):
        pass

    def print_trial_paused(self, *args, **kwargs):
        pass

    def print_tuning_complete(self, *args, **kwargs):
        pass

    def print_stopping_trials(self, *args, **kwargs):
        pass

    def print_tuning_finished(self, *args, **kwargs):
        pass

    def print_best_config_instructions(self, *args, **kwargs):
        pass

    # what it keeps, plainly
    def print_error(self, message: str):
        self._say(f"ERROR {message}")

    def print_warning(self, message: str):
        self._say(f"WARNING {message}")

    def print_trial_failed(self, trial_id: int):
        self._say(f"trial {trial_id} failed")

    def print_max_failures_reached(self, max_failures: int):
        self._say(f"more than {max_failures} trials failed: tuning stops")

    def print_failure_logs(self, trial_id: int, stdout: str, stderr: str):
        tail = (stderr or stdout or "").strip().splitlines()[-5:]
        self._say(f"trial {trial_id} failed; last lines of its log:")
        for line in tail:
            self._say("  " + line)

    def print_no_metrics_observed(self, trial_id: int, stdout: str, stderr: str):
        self._say(f"trial {trial_id} reported no metric (see its std.err in the experiment folder)")

    def print_searcher_out_of_candidates(self, *args, **kwargs):
        self._say("the searcher has no more configurations to suggest")

    def print_config_space_exhausted(self, *args, **kwargs):
        self._say("the configuration space is exhausted: waiting for the running trials")


class _WrappingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return wrap(super().format(record))


def configure_cli_logging(verbose: bool) -> None:
    """Logging and warnings of the ``syne-autoterm`` process.

    Compact (default): this package's warnings and every library's errors, all
    wrapped to :data:`WIDTH`; no INFO lines (Syne Tune logs each trial's
    subprocess command at INFO), no library warnings (log records or Python
    warnings such as gpytorch's NumericalWarning at every GP fit). Verbose:
    everything.
    """
    root = logging.getLogger()
    fmt = "%(levelname)s %(name)s: %(message)s"
    formatter = logging.Formatter(fmt) if verbose else _WrappingFormatter(fmt)
    # Like logging.basicConfig, but Syne Tune's import already called basicConfig: its plain
    # stderr handler gets our format; other handlers (an embedding program's, pytest's) stay.
    plain = [h for h in root.handlers if type(h) is logging.StreamHandler]
    if not root.handlers:
        plain = [logging.StreamHandler()]
        root.addHandler(plain[0])
    for handler in plain:
        handler.setFormatter(formatter)
    if verbose:
        root.setLevel(logging.DEBUG)
        logging.getLogger("syne_tune").setLevel(logging.INFO)
        # the CLI prints the checks itself; the log line would repeat them
        logging.getLogger(CHECK_LOGGER).setLevel(logging.WARNING)
        return
    # library warnings (Syne Tune's, botorch's, ...) only with --verbose; ours always
    root.setLevel(logging.ERROR)
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    logging.getLogger("syne_autoterm").setLevel(logging.WARNING)
    logging.getLogger(CHECK_LOGGER).setLevel(logging.WARNING)
    warnings.simplefilter("ignore")


def show_decisions(level: int = logging.INFO) -> logging.Handler:
    """Print every stopping check (and this package's warnings) in a Python session.

    ``syne_autoterm.show_decisions()`` is the one-liner. It gives the
    ``syne_autoterm`` logger its own handler on stderr (message only) and stops
    its records from also reaching the root logger's handlers (Syne Tune's
    import installs one, which would print every line twice). The standard
    library form, ``logging.basicConfig();
    logging.getLogger("syne_autoterm").setLevel("INFO")``, works too, with
    logging's default prefix. Returns the handler.
    """
    logger = logging.getLogger("syne_autoterm")
    for existing in logger.handlers:
        if getattr(existing, "_autoterm_show", False):
            return existing
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._autoterm_show = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
