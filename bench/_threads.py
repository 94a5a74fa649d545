"""Pin BLAS/OpenMP threads from a benchmark's ``--threads N`` argument (default 1; 0 keeps the
library defaults). Call before numpy or torch is imported: they read the variables once."""

from __future__ import annotations

import os
import sys


def pin_threads_from_argv(default: str = "1") -> None:
    n = default
    if "--threads" in sys.argv:
        n = sys.argv[sys.argv.index("--threads") + 1]
    if n != "0":
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n
