"""One stopping rule, two uses: Syne Tune's ``stop_criterion`` online, and offline replay.

A rule is a function of the completed trials so far (:class:`Evidence`). This
base class adds what running inside a ``Tuner`` needs: keeping the history and
trace, never raising into the tuning loop, pickling with ``tuner.dill``, and
(in :mod:`.online`, its base class :class:`~.online.TunerSide`) reading
``TuningStatus`` into evidence, deciding only when the completed set changed,
and reaching the scheduler through ``on_tuning_start`` when the rule is also
passed in ``callbacks``. :class:`BaselineRule` is the base of the baselines and
the peers (a rule that needs no metric name offline).
"""

from __future__ import annotations

import collections.abc as abc
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from syne_tune.tuner_callback import TunerCallback

from ..console import CHECK_LOGGER, format_check
from ..evidence import Evidence, EvidenceCollector, FoldSpec, check_mode
from ..trace import append_record
from .arguments import check_float, check_int
from .online import TunerSide

logger = logging.getLogger(__name__)
#: One INFO line per check, the CLI's words: ``syne_autoterm.show_decisions()`` shows them.
check_logger = logging.getLogger(CHECK_LOGGER)


@dataclass(frozen=True)
class Decision:
    """What a rule concluded from one evidence set; ``details`` go into the history."""

    stop: bool
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


class StoppingRule(TunerSide, TunerCallback):
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
        When not given they are taken from the scheduler's ``time_attr`` and
        ``max_t`` (ASHA, BOHB, ASHABORE, ASHACQR, PBT), so
        ``ASHA(space, metric=..., time_attr="epoch", max_t=27)`` needs nothing
        more. A trial counts once its last report has ``resource_attr >=
        max_resource`` and its status is ``Completed`` or ``Stopped`` (ASHA
        answers STOP to the result at ``max_t``, so a trial that ran to the end
        may be marked either way); trials stopped at a lower rung, and results
        at lower rungs, are never evidence. Without a resource (single
        fidelity) only ``Completed`` trials count.

    Reliability contract (online and offline):

    * :meth:`__call__` and :meth:`check` never raise; any failure is logged
      once per kind (:meth:`log_problem`) and answered with "continue".
    * Failed, running, paused and (single fidelity) stopped trials are never
      evidence.
    * Restarts: the rule pickles (``dill`` and plain ``pickle``: no lambdas,
      handles, loggers or fitted torch models in its state), so it survives
      Syne Tune's ``tuner.dill`` and ``Tuner.load``; the resumed rule keeps its
      history, stop flag and completion order, and appends to the same trace.
      Every record carries ``check`` (its position in :attr:`history`),
      ``run_id`` (one per rule object, kept across restarts) and ``session``
      (0, then +1 per reload). If a run is killed after the last
      ``tuner.dill`` save, the resumed rule repeats the checks made since then
      with the same ``check`` numbers; :func:`~syne_autoterm.trace.read_trace`
      keeps the resumed run's records. Pass the rule in the Tuner's
      ``callbacks`` too: Syne Tune's ``SimulatorCallback`` sets
      ``tuner.stop_criterion`` to None at the end of a run (before the final
      save) when it is not a ``StoppingCriterion``; :meth:`find_in` finds the
      rule in a loaded tuner either way.
    * One rule object, one tuning job. A rule object reused for a second job
      (a new ``Tuner``, or trial ids that restart) would otherwise keep the
      first job's stop flag and completed trials. So every online call first
      checks that the trials it recorded are still in the status, still
      completed, with the same metric value, and :meth:`on_tuning_start` (when
      the rule is in ``callbacks``) checks that the tuner's name is the one it
      saw before. If not, the rule logs a warning and starts afresh
      (:meth:`start_new_job`): stop flag, evidence, check cache, history and
      fitted models are reset, and the new job's records get a new ``run_id``.
      A resumed job (``Tuner.load``) keeps its name and its completed trials,
      so it is not a new job.
    """

    name = "rule"
    #: Set by a rule that could stop at a count of completed trials and not at a later
    #: one (AutoTermination: its bound can rise again). Online, trials that complete
    #: together make checks skip counts; such a rule then also checks each skipped count,
    #: in completion order, so that it stops where a replay (``compare``) stops.
    checks_every_count: bool = False

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
        self.metric = metric
        self.mode = check_mode(mode)
        self.fold_spec = FoldSpec(fold_metrics)
        self.scheduler = scheduler
        if config_space is not None and not isinstance(config_space, abc.Mapping):
            raise ValueError(f"config_space must be a dict, got {type(config_space).__name__}")
        self.config_space = dict(config_space) if config_space is not None else None
        self.warm_up = check_int("warm_up", warm_up, 1)
        try:
            self.trace_path = Path(trace_path) if trace_path is not None else None
        except TypeError:
            raise ValueError(f"trace_path must be a path, got {trace_path!r}") from None
        if resource_attr is not None and (not isinstance(resource_attr, str) or not resource_attr):
            raise ValueError(f"resource_attr must be a non-empty string, got {resource_attr!r}")
        if max_resource is not None:
            max_resource = check_float("max_resource", max_resource, positive=True)
        self.resource_attr = resource_attr
        self.max_resource = max_resource
        self.history: list[dict] = []
        self.stopped = False
        self._collector: EvidenceCollector | None = None
        self._last_key: tuple | None = None
        self._logged_problems: set[str] = set()
        self.run_id = uuid.uuid4().hex[:12]
        self.session = 0
        self._tuner_name: str | None = None

    # ------------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in self._transient_attributes():
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        """A reloaded rule (``Tuner.load``) is the next session of the same run."""
        state.setdefault("run_id", uuid.uuid4().hex[:12])
        state["session"] = int(state.get("session", 0)) + 1
        state.setdefault("_logged_problems", set())
        state.setdefault("_tuner_name", None)
        self.__dict__.update(state)

    def _transient_attributes(self) -> tuple[str, ...]:
        """Attributes not pickled (caches that hold fitted models); override to add."""
        return ()

    def _drop_caches(self) -> None:
        """Forget the transient attributes: caches built from another job's evidence."""
        for name in self._transient_attributes():
            self.__dict__.pop(name, None)

    @staticmethod
    def find_in(tuner: Any) -> StoppingRule | None:
        """The rule inside a (loaded) Tuner: its ``stop_criterion`` or one of its callbacks."""
        stop = getattr(tuner, "stop_criterion", None)
        # a rule inside ``lambda status: rule(status) or budget(status)`` (the README's form)
        cells = [
            c.cell_contents for c in (getattr(stop, "__closure__", None) or ()) if _cell_filled(c)
        ]
        names = getattr(getattr(stop, "__code__", None), "co_names", ())
        cells += [getattr(stop, "__globals__", {}).get(n) for n in names]
        candidates = [stop, *getattr(tuner, "callbacks", []), *cells]
        for obj in candidates:
            if isinstance(obj, StoppingRule):
                return obj
            for inner in getattr(obj, "criteria", ()) or ():  # AnyOf
                if isinstance(inner, StoppingRule):
                    return inner
        return None

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
        record["check"] = len(self.history)
        record["run_id"] = self.run_id
        record["session"] = self.session
        self.history.append(record)
        check_logger.info(format_check(self.name, record))
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

    # -------------------------------------------------------------- the why
    def explain(self) -> str:
        """Why the job stopped (or has not): the decision in words, from :attr:`history`."""
        from ..explain import explain_history

        return explain_history(self.history, rule=self)

    def plot(self, path: str | Path, results: Any = None) -> Path:
        """Write the decision figure (bound vs error, incumbent curve) to ``path``.

        ``results``: Syne Tune's results table (``load_experiment(name).results``)
        for the incumbent curve with its test metric; without it the curve comes
        from the history's incumbent values.
        """
        from ..explain import plot_rule

        return plot_rule(self, path, results)

    @property
    def evidence(self) -> Evidence | None:
        """Evidence seen by the last online check (None before the first)."""
        return self._collector.evidence() if self._collector is not None else None


def _cell_filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def trials_without_improvement(n: int, incumbent: int, warm_up: int) -> int:
    """Completed trials since the incumbent (position ``incumbent``) arrived, counted from
    the warm-up: the count ``Conv_k`` stops on, and ``AutoTermination``'s patience."""
    return n - max(warm_up, incumbent + 1)


#: The metric name of a rule built without one (offline replay only).
_OFFLINE_METRIC = "__metric_not_given__"


class BaselineRule(StoppingRule):
    """A rule that can run offline without a metric name (``metric=None``).

    Base of the baselines and the peers: a replay needs no metric name, a Tuner
    does, so the missing name is reported when the rule is first used online.
    Subclasses list their caches in :attr:`_transient`; they are not pickled and
    are rebuilt after unpickling and for a new job.
    """

    def __init__(self, metric: str | None, mode: str, fold_metrics, warm_up: int, **kwargs: Any):
        self._metric_given = metric is not None
        super().__init__(
            metric if metric is not None else _OFFLINE_METRIC,
            mode,
            fold_metrics,
            warm_up=warm_up,
            **kwargs,
        )

    # caches (fitted models, peer objects) rebuilt after unpickling: name -> fresh value
    _transient: ClassVar[dict[str, Any]] = {}

    def _transient_attributes(self) -> tuple[str, ...]:
        return tuple(super()._transient_attributes()) + tuple(self._transient)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for name, fresh in self._transient.items():
            if name not in self.__dict__:
                setattr(self, name, fresh() if callable(fresh) else fresh)

    def _drop_caches(self) -> None:
        super()._drop_caches()
        for name, fresh in self._transient.items():  # rebuilt lazily, as after unpickling
            setattr(self, name, fresh() if callable(fresh) else fresh)

    def _make_collector(self) -> EvidenceCollector:
        if not self._metric_given:
            raise ValueError(
                f"{type(self).__name__} was built without metric=...: pass the tuned metric's "
                "name to use it as a Tuner stop_criterion"
            )
        return super()._make_collector()

    def _usable(self, evidence: Evidence) -> int:
        return int(np.isfinite(evidence.objective).sum())
