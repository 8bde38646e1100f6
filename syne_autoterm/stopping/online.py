"""How a rule runs inside a Syne Tune ``Tuner``: the ``stop_criterion`` call and its plumbing.

Why apart from :mod:`.base`: a rule's decision is a function of the evidence
(:meth:`~syne_autoterm.stopping.base.StoppingRule.decide`, the same offline);
everything here is about getting that evidence from a live tuning job and
staying correct there: reading ``TuningStatus`` (multi-fidelity included),
deciding only when the completed set changed, checking counts that trials
completing together skipped, noticing that the rule object was reused for
another job, and warning at the first finished trial about inputs the rule
will never get. :class:`TunerSide` is a base class of
:class:`~syne_autoterm.stopping.base.StoppingRule` and works on its state.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..evidence import Evidence, EvidenceCollector, FoldSpec

logger = logging.getLogger(__name__)

__all__ = ["TunerSide"]


class TunerSide:
    """The online half of :class:`~syne_autoterm.stopping.base.StoppingRule`.

    Uses the rule's :meth:`check`, :meth:`log_problem` and :meth:`_drop_caches`
    and the state annotated below (all set by ``StoppingRule.__init__``).
    """

    # the rule's state this half reads and writes (set by StoppingRule.__init__)
    name: str
    metric: str
    mode: str
    fold_spec: FoldSpec
    scheduler: Any
    config_space: dict | None
    warm_up: int
    resource_attr: str | None
    max_resource: float | None
    history: list[dict]
    stopped: bool
    checks_every_count: bool
    run_id: str
    session: int
    _collector: EvidenceCollector | None
    _last_key: tuple | None
    _logged_problems: set[str]
    _tuner_name: str | None

    if TYPE_CHECKING:  # the rule's methods this half calls (defined by StoppingRule)

        def check(self, evidence: Evidence, extra: Mapping[str, Any] | None = None) -> dict: ...

        def log_problem(self, kind: str, message: str) -> None: ...

        def _drop_caches(self) -> None: ...

    def _config_keys(self) -> list[str] | None:
        space = self.config_space
        if space is None and self.scheduler is not None:
            space = getattr(self.scheduler, "config_space", None)
        return list(space.keys()) if space is not None else None

    def _extra_metrics(self) -> list[str]:
        """Per-trial metrics besides the tuned one that the rule reads (override)."""
        return []

    def resource_settings(self) -> tuple[str | None, float | None]:
        """``(resource_attr, max_resource)``: as given, else the scheduler's time_attr/max_t.

        Both are taken from the scheduler only when it has both (ASHA-type and
        PBT schedulers); a ``time_attr`` without ``max_t`` (median stopping)
        means single-fidelity semantics. A given ``resource_attr`` without
        ``max_resource`` takes the scheduler's ``max_t`` when its ``time_attr``
        is that attribute.
        """
        attr, top = self.resource_attr, self.max_resource
        scheduler = self.scheduler
        sched_attr = getattr(scheduler, "time_attr", None) if scheduler is not None else None
        sched_top = getattr(scheduler, "max_t", None) if scheduler is not None else None
        try:
            sched_top = float(sched_top) if sched_top is not None else None
            if sched_top is not None and not (math.isfinite(sched_top) and sched_top > 0):
                sched_top = None
        except (TypeError, ValueError, OverflowError):
            sched_top = None
        if not isinstance(sched_attr, str) or sched_top is None:
            sched_attr, sched_top = None, None
        if attr is None and top is None:
            attr, top = sched_attr, sched_top
        elif top is None and attr == sched_attr:
            top = sched_top
        if attr is not None and top is None:
            self.log_problem(
                "no-max-resource",
                f"{self.name}: resource_attr={attr!r} but no max_resource (give max_resource= or a "
                "scheduler with max_t): every Completed trial counts as evidence",
            )
        elif attr is None and top is not None:
            self.log_problem(
                "no-resource-attr",
                f"{self.name}: max_resource={top} but no resource_attr: every Completed trial "
                "counts as evidence",
            )
        return attr, top

    def _make_collector(self) -> EvidenceCollector:
        attr, top = self.resource_settings()
        return EvidenceCollector(
            metric=self.metric,
            mode=self.mode,
            fold_spec=self.fold_spec,
            config_keys=self._config_keys(),
            extra_metrics=self._extra_metrics(),
            resource_attr=attr,
            max_resource=top,
        )

    def _drain_collector_problems(self) -> None:
        if self._collector is None:
            return
        for kind, message in self._collector.drain_problems():
            self.log_problem(kind, f"{self.name}: {message}")

    def start_new_job(self, why: str) -> None:
        """Forget the previous job: its stop flag, evidence, cache, history and models.

        Called when the status shows a different tuning job (see the class
        docstring); the new job's records get a new ``run_id`` and ``session`` 0.
        """
        logger.warning(f"{self.name}: {why}: a new tuning job, the rule starts afresh")
        self.stopped = False
        self._collector = None
        self._last_key = None
        self.history = []
        self._logged_problems = set()
        self._inputs_checked = False
        self.run_id = uuid.uuid4().hex[:12]
        self.session = 0
        self._drop_caches()

    def _check_same_job(self, status: Any) -> None:
        """Start afresh when ``status`` lacks or contradicts the trials recorded so far."""
        if self._collector is None:
            return
        try:
            why = self._collector.contradiction(status)
        except Exception as exc:
            self.log_problem(
                f"job-check-failed:{type(exc).__name__}",
                f"{self.name}: could not compare the tuning status with the recorded trials "
                f"({exc})",
            )
            return
        if why is not None:
            self.start_new_job(why)

    def __call__(self, status: Any) -> bool:
        """Syne Tune's ``stop_criterion``: True once the rule has decided to stop."""
        self._check_same_job(status)
        if self.stopped:
            return True
        try:
            if self._collector is None:
                self._collector = self._make_collector()
            try:
                self._collector.update(status)
            finally:
                self._drain_collector_problems()
            self._check_inputs_once(status)
            evidence = self._collector.evidence()
            key = evidence.key()
            if key == self._last_key or len(evidence) == 0:
                return False
            skipped = self._skipped_counts(evidence)
            self._last_key = key
            times = _status_times(status)
            for n in skipped:
                if self.check(evidence.head(n), extra={**times, "catch_up": True})["stop"]:
                    self.stopped = True
                    return True
            record = self.check(evidence, extra=times)
            self.stopped = bool(record["stop"])
        except Exception as exc:
            self.log_problem(
                f"status-failed:{type(exc).__name__}",
                f"{self.name}: could not read the tuning status ({exc}); continuing tuning",
            )
            return False
        return self.stopped

    def _skipped_counts(self, evidence: Evidence) -> range:
        """Counts of completed trials between the last online check and this one.

        Only for :attr:`checks_every_count` rules, and only when the new evidence
        extends the last checked one (same trials, same values, in the same order);
        counts below ``warm_up`` are not checked (a check there cannot stop).
        """
        last = self.history[-1]["n_completed"] if self.history else 0
        if not self.checks_every_count or not 0 <= last < len(evidence) - 1:
            return range(0)
        if last > 0 and evidence.head(last).key() != self._last_key:
            return range(0)
        return range(max(last + 1, self.warm_up), len(evidence))

    def on_tuning_start(self, tuner: Any) -> None:
        name = getattr(tuner, "name", None)
        if isinstance(name, str):
            if self._tuner_name is not None and name != self._tuner_name:
                self.start_new_job(f"tuner {name!r} is not the tuner {self._tuner_name!r}")
            self._tuner_name = name
        if self.scheduler is None:
            self.scheduler = getattr(tuner, "scheduler", None)
        from ..inputs import ensure_results_callback

        ensure_results_callback(tuner, self.name)

    def _check_inputs_once(self, status: Any) -> None:
        """At the first finished trial, warn once about inputs the rule will never get.

        Why then: the decision itself looks at the evidence only after
        ``warm_up`` trials, hours into a real job; a missing fold metric or
        ``n_val`` is visible in the very first result (:mod:`syne_autoterm.inputs`).
        """
        if getattr(self, "_inputs_checked", False):
            return
        from ..inputs import first_result_problems

        try:
            problems = first_result_problems(self, status)
        except Exception as exc:  # a check of the inputs must not stop the tuning either
            self._inputs_checked = True
            logger.debug(f"{self.name}: input check failed ({exc})")
            return
        if problems is None:  # no finished trial yet
            return
        self._inputs_checked = True
        for kind, message in problems:
            self.log_problem(kind, f"{self.name}: {message}")


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
