"""Test-session set-up: a headless matplotlib and deliberate thread counts.

The suite runs many small torch/BLAS problems. With a thread pool per library sized to the
machine, every one of them spins up (and spin-waits on) threads that fight for the cores; on a
shared machine with other work running that made single tests 40x slower. One thread each, and
OpenMP threads that sleep instead of spinning when idle, keep the slowdown under load near the
load factor. Set here, before numpy or torch is imported, so the libraries read them at load
time; subprocesses the tests start (the CLI, sweep workers) inherit them. A value already set in
the environment wins.
"""

import os

_THREADS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
}
for _k, _v in _THREADS.items():
    os.environ.setdefault(_k, _v)
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402
import torch  # noqa: E402

matplotlib.use("Agg")

_n = int(os.environ["OMP_NUM_THREADS"]) if os.environ["OMP_NUM_THREADS"].isdigit() else 1
torch.set_num_threads(max(1, _n))
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set, or inter-op work already started
    pass

try:  # in case a plugin imported numpy/scipy before this file ran
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    pass
else:
    threadpool_limits(limits=max(1, _n))
