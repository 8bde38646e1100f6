"""What every sub-command shares: the one kind of user error, the file names, the printing.

Why a module of its own: ``tune``, ``explain`` and ``compare`` report user errors
the same way and ``tune`` and ``explain`` write the same files; each imports them from here.
"""

from __future__ import annotations

from ..stopping.registry import CLI_RULES

SEARCHERS = ("botorch", "aligned_botorch", "random", "tpe", "bore", "asha")
RULES = (*CLI_RULES, "none")
TRACE_FILE = "autoterm_trace.jsonl"
SUMMARY_FILE = "autoterm_summary.json"
PLOT_FILE = "autoterm_decisions.png"


class CliError(Exception):
    """A problem with the user's input: reported in one line, exit status 2."""


def _say(text: str) -> None:
    """A line of the CLI's own output, folded to the console width."""
    from ..console import wrap

    print(wrap(text), flush=True)
