"""One stopping rule, two uses: Syne Tune's ``stop_criterion`` online, and offline replay.

A rule is a function of the completed trials so far (:class:`Evidence`). This
base class adds what running inside a ``Tuner`` needs: reading
``TuningStatus`` into evidence, deciding only when the completed set changed,
keeping the history and trace, never raising into the tuning loop, and reaching
the scheduler through ``on_tuning_start`` when the rule is also passed in
``callbacks``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from syne_tune.tuner_callback import TunerCallback

from .evidence import Evidence, EvidenceCollector, FoldSpec, check_mode
from .trace import append_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What a rule concluded from one evidence set; ``details`` go into the history."""

    stop: bool
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


class StoppingRule(TunerCallback):
    """Base of every rule; subclasses implement :meth:`decide`.

    :param metric: the tuned metric as reported by the training script.
    :param mode: "min" or "max".
    :param fold_metrics: prefix (``"cv_fold_"`` matches ``cv_fold_0``,
        ``cv_fold_1``, ...) or explicit list of the reported per-fold scores;
        None when the rule needs none.
    :param scheduler: the Tuner's scheduler, to read the config space and (for
        AutoTermination) the BO searcher. Found by itself when the rule is also
        passed in the Tuner's ``callbacks``.
    :param config_space: the search space, when no scheduler is given.
    :param warm_up: no stop before this many trials have completed.
    :param trace_path: JSON-lines file that gets one record per check.
    :param resource_attr, max_resource: for multi-fidelity schedulers, only
        trials whose last report reached ``max_resource`` count as evidence.
    """

    name = "rule"

    def __init__(
        self,
        metric: str,
        mode: str = "min",
        fold_metrics: str | Sequence[str] | None = "cv_fold_",
        scheduler: Any = None,
        config_space: Mapping[str, Any] | None = None,
        warm_up: int = 20,
        trace_path: str | Path | None = None,
        resource_attr: str | None = None,
        max_resource: float | None = None,
    ):
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be a non-empty string, got {metric!r}")
        if int(warm_up) != warm_up or warm_up < 1:
            raise ValueError(f"warm_up must be an integer >= 1, got {warm_up!r}")
        self.metric = metric
        self.mode = check_mode(mode)
        self.fold_spec = FoldSpec(fold_metrics)
        self.scheduler = scheduler
        self.config_space = dict(config_space) if config_space is not None else None
        self.warm_up = int(warm_up)
        self.trace_path = Path(trace_path) if trace_path is not None else None
        self.resource_attr = resource_attr
        self.max_resource = max_resource
        self.history: list[dict] = []
        self.stopped = False
        self._collector: EvidenceCollector | None = None
        self._last_key: tuple | None = None
        self._logged_problems: set[str] = set()

    # ------------------------------------------------------------------ offline
    def decide(self, evidence: Evidence) -> Decision:
        """Stop or continue, given the completed trials so far (override)."""
        raise NotImplementedError

    def check(self, evidence: Evidence, extra: Mapping[str, Any] | None = None) -> dict:
        """Decide on ``evidence``, time it, and log it as a history record.

        Never raises: a failure inside :meth:`decide` becomes a logged
        "continue" record, so broken evidence can delay a stop but not cause one.
        """
        start = time.perf_counter()
        try:
            decision = self.decide(evidence)
        except Exception as exc:  # a rule must never crash the user's tuning job
            self.log_problem(
                f"decide-failed:{type(exc).__name__}",
                f"{self.name}: check failed ({type(exc).__name__}: {exc}); continuing tuning",
            )
            decision = Decision(False, f"check failed ({type(exc).__name__}): continue")
        record = {
            "rule": self.name,
            "n_completed": len(evidence),
            "stop": bool(decision.stop),
            "reason": decision.reason,
        }
        record.update(decision.details)
        record["seconds"] = time.perf_counter() - start
        if extra:
            record.update(extra)
        self.history.append(record)
        if self.trace_path is not None:
            try:
                append_record(self.trace_path, record)
            except OSError as exc:
                self.log_problem("trace-write", f"cannot append to trace {self.trace_path}: {exc}")
        return record

    def log_problem(self, kind: str, message: str) -> None:
        """Log each kind of problem once (a tuner calls us hundreds of times)."""
        if kind not in self._logged_problems:
            self._logged_problems.add(kind)
            logger.warning(message)

    # ------------------------------------------------------------------- online
    def _config_keys(self) -> list[str] | None:
        space = self.config_space
        if space is None and self.scheduler is not None:
            space = getattr(self.scheduler, "config_space", None)
        return list(space.keys()) if space is not None else None

    def _make_collector(self) -> EvidenceCollector:
        return EvidenceCollector(
            metric=self.metric,
            mode=self.mode,
            fold_spec=self.fold_spec,
            config_keys=self._config_keys(),
            resource_attr=self.resource_attr,
            max_resource=self.max_resource,
        )

    def __call__(self, status: Any) -> bool:
        """Syne Tune's ``stop_criterion``: True once the rule has decided to stop."""
        if self.stopped:
            return True
        try:
            if self._collector is None:
                self._collector = self._make_collector()
            self._collector.update(status)
            evidence = self._collector.evidence()
            key = evidence.key()
            if key == self._last_key or len(evidence) == 0:
                return False
            self._last_key = key
            record = self.check(evidence, extra=_status_times(status))
            self.stopped = bool(record["stop"])
        except Exception as exc:
            self.log_problem(
                f"status-failed:{type(exc).__name__}",
                f"{self.name}: could not read the tuning status ({exc}); continuing tuning",
            )
            return False
        return self.stopped

    def on_tuning_start(self, tuner: Any) -> None:
        if self.scheduler is None:
            self.scheduler = getattr(tuner, "scheduler", None)

    @property
    def evidence(self) -> Evidence | None:
        """Evidence seen by the last online check (None before the first)."""
        return self._collector.evidence() if self._collector is not None else None


def _status_times(status: Any) -> dict:
    """Real and (in the simulator) simulated time at the check."""
    out: dict[str, Any] = {}
    try:
        out["wallclock_time"] = float(status.wallclock_time)
    except Exception:
        pass
    try:
        sim = status.overall_metric_statistics.max_metrics.get("st_tuner_time")
        if sim is not None:
            out["tuner_time"] = float(sim)
    except Exception:
        pass
    return out
