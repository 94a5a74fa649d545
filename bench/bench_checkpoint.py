"""Checkpoint overhead: one torch experiment run without checkpoints, with the default
(time-based: a save every few minutes of work) and with a save every 100 steps; one process,
the overhead as a share of the run time.

    python bench/bench_checkpoint.py [--steps 2000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _threads import pin_threads_from_argv

pin_threads_from_argv()

from specbias.runner import run_experiment  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", default="1")
    args = ap.parse_args()
    overrides = {"steps": args.steps, "seeds": 2, "profiles": ["equal"], "every": 25,
                 "norm_every": 100}
    settings = {"off": {"checkpoints": False}, "default": {},
                "every 100 steps": {"checkpoint_every": 100}}
    times: dict[str, list[float]] = {k: [] for k in settings}
    saving: dict[str, list[float]] = {k: [] for k in settings}
    metrics = {}
    for _ in range(args.repeats):
        for name, kw in settings.items():
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                s = run_experiment("rahaman-frequencies", overrides=overrides,
                                   out=Path(tmp) / "r", quiet_progress=True, **kw)
                times[name].append(time.perf_counter() - t0)
                metrics[name] = s["metrics"]
                saves = s["timings"].get("checkpoint_s", 0.0)
                saving[name].append(saves / times[name][-1])
                print(f"  {name:16s} {times[name][-1]:6.1f} s (saving {saves:.2f} s)")
    assert metrics["off"] == metrics["default"] == metrics["every 100 steps"]
    best = {k: min(v) for k, v in times.items()}
    print(f"rahaman-frequencies, {args.steps} steps, 2 seeds (best of {args.repeats}):")
    for k, t in best.items():
        share = 100 * sum(saving[k]) / len(saving[k])
        print(f"  {k:16s} {t:6.1f} s  wall vs off {100 * (t / best['off'] - 1):+.1f} %  "
              f"time spent saving {share:.1f} % of the run")
    print("  (the metrics of the three runs are equal)")


if __name__ == "__main__":
    main()
