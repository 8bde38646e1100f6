"""``syne-autoterm``: tune a real model with automatic termination, explain, compare.

    syne-autoterm tune                      # breast_cancer, random forest, BOTorch, AutoTermination
    syne-autoterm tune --dataset keel:phoneme --model rf --searcher random --workers 2
    syne-autoterm explain EXPERIMENT        # rebuild the summary and the PNG
    syne-autoterm compare EXPERIMENT        # replay every stopping rule on a stored job
    syne-autoterm tune --resume NAME        # continue a SageMaker run whose process died
    syne-autoterm stop NAME                 # ask a run to stop (now, or when it resumes)

User errors (unknown dataset, missing target, bad option) print one line and
exit with status 2; they never end in a traceback.

One module per sub-command (``tune_cmd``, ``explain_cmd``, ``compare_cmd``),
with the parser, the options and the summary they share beside them; this
module keeps ``main`` (the console script ``syne_autoterm.cli:main``) and the
names callers import from ``syne_autoterm.cli``.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from .common import PLOT_FILE, RULES, SEARCHERS, SUMMARY_FILE, TRACE_FILE, CliError
from .compare_cmd import compare
from .explain_cmd import explain
from .options import _check_tune_args, check_tune_args
from .parser import _build_parser
from .tune_cmd import tune

# The trial processes get one BLAS thread each (see workloads/train.py); the
# tuner process itself fits GPs and must not oversubscribe the cores either.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__all__ = [
    "PLOT_FILE",
    "RULES",
    "SEARCHERS",
    "SUMMARY_FILE",
    "TRACE_FILE",
    "CliError",
    "_check_tune_args",
    "check_tune_args",
    "compare",
    "explain",
    "main",
    "tune",
]


def _fail(message: str) -> int:
    """One line on stderr, exit status 2: how every user error ends."""
    print(f"syne-autoterm: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    args = parser.parse_args(argv)  # bad options: argparse prints usage and exits 2
    from ..console import configure_cli_logging

    configure_cli_logging(args.verbose)
    try:
        if args.command == "tune":
            return tune(args, argv)
        if args.command == "explain":
            return explain(args)
        if args.command == "compare":
            return compare(args)
        if args.command == "stop":
            from ..backends.cli_support import stop_from_args
            from ..backends.resume import ResumeError

            try:
                return stop_from_args(args)
            except ResumeError as exc:
                raise CliError(str(exc)) from None
    except CliError as exc:
        return _fail(str(exc))
    except (ValueError, OSError) as exc:  # a library's own check of the user's input
        if args.verbose:
            traceback.print_exc()
        return _fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        print("syne-autoterm: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2
