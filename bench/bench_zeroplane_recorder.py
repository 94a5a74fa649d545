"""Overhead of recording every unit's zero-plane at every step (ZeroPlaneRecorder, docs/theory.md section 4).

Trains the same shallow network, in one process, paired back to back and repeated (median of
``--repeats``): without a recorder, with :class:`specbias.callbacks.ZeroPlaneRecorder`
(copies into preallocated buffers; conversion happens on access, after training), with the naive
reference way (a callback that clones ``model.radon_parameters()`` every step into a list), and
with a stopwatch inside the recorder's hooks (the in-run overhead, robust to load changes on a
shared machine). The target is a recorder overhead of at most 20%.

    python bench/bench_zeroplane_recorder.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from specbias.callbacks import ZeroPlaneRecorder
from specbias.regimes import shallow_net
from specbias.training import Callback, train


class TimedRecorder(ZeroPlaneRecorder):
    """The recorder with a stopwatch around its hooks (time spent recording, same run)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.spent = 0.0

    def on_step_end(self, state):
        t = time.perf_counter()
        super().on_step_end(state)
        self.spent += time.perf_counter() - t

    def on_train_end(self, state):
        t = time.perf_counter()
        super().on_train_end(state)
        self.spent += time.perf_counter() - t


class NaiveRecorder(Callback):
    name = "naive"

    def on_train_begin(self, state):
        self.record = {"params": [state.model.radon_parameters()]}

    def on_step_end(self, state):
        if state.step % self.every == 0:
            self.record["params"].append(state.model.radon_parameters())


CASES = [
    # name, in_dim, width, out_dim, n, batch, parameterization, loss, every
    ("MNIST K=256, batch 256 (paper), every 1", 784, 256, 10, 2048, 256, "standard",
     "cross_entropy", 1),
    ("MNIST K=256, batch 256 (paper), every 5", 784, 256, 10, 2048, 256, "standard",
     "cross_entropy", 5),
    ("MNIST K=64, batch 128 (quick), every 1", 784, 64, 10, 1280, 128, "standard",
     "cross_entropy", 1),
    ("2D toy K=16, 3 points, every 1", 2, 16, 1, 3, None, "radon", "mse", 1),
    ("2D toy K=16, 3 points, every 10", 2, 16, 1, 3, None, "radon", "mse", 10),
]


def _data(in_dim, out_dim, n, loss, g):
    X = torch.rand(n, in_dim, generator=g)
    y = torch.randint(0, out_dim, (n,), generator=g) if loss == "cross_entropy" else \
        torch.randn(n, generator=g)
    return X, y


def _time(case, mode, steps, seed=0):
    """Seconds per step, and for mode "timed" the seconds per step spent inside the recorder."""
    _, in_dim, width, out_dim, n, batch, par, loss, every = case
    g = torch.Generator().manual_seed(seed)
    X, y = _data(in_dim, out_dim, n, loss, g)
    net = shallow_net(in_dim, width, "relu", out_dim=out_dim, parameterization=par,
                      generator=torch.Generator().manual_seed(1))
    cbs = {"none": [], "recorder": [ZeroPlaneRecorder(every=every)],
           "timed": [TimedRecorder(every=every)], "naive": [NaiveRecorder(every=every)]}[mode]
    t0 = time.perf_counter()
    train(net, (X, y), steps, optimizer="sgd", lr=0.05, loss=loss, batch_size=batch,
          callbacks=cbs, generator=torch.Generator().manual_seed(2), progress=False)
    wall = (time.perf_counter() - t0) / steps
    spent = cbs[0].spent / steps if mode == "timed" else 0.0
    return wall, spent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'case':42s} {'no rec ms/step':>14s} {'A/B overhead':>13s} {'in-run':>8s} "
          f"{'naive clone':>12s}")
    worst = 0.0
    for case in CASES:
        every = case[-1]
        steps = args.steps * (10 if case[1] == 2 else 1)
        _time(case, "none", 5)  # warm-up
        ratios, naive, inrun, base = [], [], [], []
        for _ in range(args.repeats):  # paired, back to back: load changes hit both alike
            t_none, _ = _time(case, "none", steps)
            t_rec, _ = _time(case, "recorder", steps)
            t_naive, _ = _time(case, "naive", steps)
            t_timed, spent = _time(case, "timed", steps)
            base.append(t_none)
            ratios.append(t_rec / t_none - 1)
            naive.append(t_naive / t_none - 1)
            inrun.append(spent / (t_timed - spent))
        ov, ovi, ovn = (float(np.median(v)) for v in (ratios, inrun, naive))
        if every == 1:
            worst = max(worst, ovi)
        print(f"{case[0]:42s} {1e3 * float(np.median(base)):14.3f} {100 * ov:12.1f}% "
              f"{100 * ovi:7.1f}% {100 * ovn:11.1f}%")
    print(f"A/B: median over {args.repeats} paired runs of (with recorder / without - 1); in-run: "
          "time inside the recorder's hooks / the rest of the same run (less sensitive to load); "
          "naive clone: A/B for cloning radon_parameters() every step.")
    print(f"worst in-run recorder overhead at every=1: {100 * worst:.1f}% (target <= 20%; "
          f"{args.threads} thread(s))")


if __name__ == "__main__":
    main()
