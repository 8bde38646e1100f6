"""The benchmarks of syne-autoterm, one script per module: ``python -m benchmarks.<script>``.

Run from the repository root (``python -m benchmarks.paper_replay --help``); the
README's "Benchmarks layout" says which module owns what. Shared file conventions
(table IO, the deterministic gzip writer, model codes) live in
:mod:`benchmarks._common`.

Importing the package pins BLAS/OpenMP to one thread each unless the caller chose
otherwise: every script here runs many single-process GP fits or CV trainings side
by side (``--workers N``), where a thread pool per process only oversubscribes the
cores. It has to happen before numpy is imported, and this file runs before any of
the scripts' own imports.
"""

from __future__ import annotations

import os

#: the thread-count variables of OpenBLAS, OpenMP and MKL
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

for _var in THREAD_VARIABLES:
    os.environ.setdefault(_var, "1")
