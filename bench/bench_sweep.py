"""Sweep throughput: the same grid on 2 local worker processes (the default executor) and on a
dask LocalCluster of 2 workers; one process, ratios reported (the machine is shared and noisy).

    python bench/bench_sweep.py [--points 8] [--repeats 2]

Prints points per second of each and dask / local. Both engines run the same spawned Python
processes; the difference is dask's start-up, scheduling and result transfer (the results come
back as bytes and are written by the driver).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _threads import pin_threads_from_argv

pin_threads_from_argv()

from specbias.executors import DaskExecutor, LocalExecutor  # noqa: E402
from specbias.sweep import run_sweep  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", default="1")
    args = ap.parse_args()
    grid = {"width": [48 + 8 * i for i in range(args.points)]}
    times: dict[str, list[float]] = {"local": [], "dask": []}
    for _ in range(args.repeats):
        for name, make in (("local", lambda: LocalExecutor(workers=2)),
                           ("dask", lambda: DaskExecutor(workers=2))):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                df = run_sweep("lucey-spectrum", grid, out=Path(tmp) / "sw", executor=make())
                times[name].append(time.perf_counter() - t0)
                assert (df["status"] == "ok").all()
    best = {k: min(v) for k, v in times.items()}
    n = len(grid["width"])
    print(f"lucey-spectrum quick, {n} points, 2 workers (best of {args.repeats}):")
    for k, t in best.items():
        print(f"  {k:6s} {t:7.1f} s  {n / t:.3f} points/s")
    print(f"  throughput dask / local = {best['local'] / best['dask']:.2f}")


if __name__ == "__main__":
    main()
