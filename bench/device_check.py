"""Run one torch experiment's quick preset on the CPU and on a GPU and compare the metrics.

For the day a GPU is at hand (nothing in the test suite needs one):

    python bench/device_check.py                      # rahaman-frequencies, cuda
    python bench/device_check.py --experiment ntk-frequencies --device cuda:1

Prints each numeric metric on both devices and the largest relative difference, and the wall
times. Metrics are not expected to be bit-equal (GPU kernels round differently and draw other
random numbers); the point is that the experiment runs on the device and tells the same story.
Exit status 0 when the device ran, 2 when it is not available.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from specbias._validation import ParameterError
from specbias.devices import resolve_device
from specbias.report import flatten
from specbias.runner import run_experiment


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="rahaman-frequencies")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    try:
        device = resolve_device(args.device)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for dev in ("cpu", device):
            t0 = time.perf_counter()
            s = run_experiment(args.experiment, overrides=args.sets, out=Path(tmp) / dev,
                               quiet_progress=True, device=dev, checkpoints=False)
            results[dev] = (flatten(s["metrics"]), time.perf_counter() - t0, s["status"])
    cpu, gpu = results["cpu"][0], results[device][0]
    worst = 0.0
    for key in sorted(set(cpu) & set(gpu)):
        a, b = cpu[key], gpu[key]
        if isinstance(a, int | float) and isinstance(b, int | float) and math.isfinite(a) \
                and math.isfinite(b):
            rel = abs(a - b) / max(abs(a), abs(b), 1e-12)
            worst = max(worst, rel)
            print(f"{key:60s} cpu {a:12.6g}  {device} {b:12.6g}  rel {rel:.2e}")
    print(f"status: cpu {results['cpu'][2]}, {device} {results[device][2]}")
    print(f"wall: cpu {results['cpu'][1]:.1f} s, {device} {results[device][1]:.1f} s "
          f"(ratio {results['cpu'][1] / results[device][1]:.2f}x)")
    print(f"largest relative difference of a metric: {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
