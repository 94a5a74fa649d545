"""Closed-form GD (SpectralSolver, SVD included) against iterated GD, N = K = 256.

Prints, for T = 1 .. 1e6 steps, the wall time of

* the closed form: ``SpectralSolver(A).gd(y, T)`` -- one SVD plus a mask, whatever T;
* the reference: plain GD ``w <- w - lr A^T (A w - y)`` iterated T times (numpy, float64,
  ``lr = 1/sigma_1^2``; each call also computes sigma_1 once for its stability check, the
  few-ms floor at small T);

and their ratio, then the cost of 50 values of T in one call against one solve. Iterated GD
is run in full up to ``--max-full`` steps (default 1e5); above that its time is extrapolated
from the measured per-iteration cost and marked "extrapolated" (``--max-full 1e6`` runs it).

    python bench/bench_shrinkage.py [--max-full 1e6] [--width 256] [--threads 0]

BLAS runs single-threaded by default (both methods alike): on a small shared machine threaded
BLAS makes a 256 x 256 SVD vary by 10-100x; ``--threads 0`` keeps the library default.
"""

from __future__ import annotations

import argparse
import time

if __name__ == "__main__":  # before numpy/torch load: they read the thread variables once
    from _threads import pin_threads_from_argv

    pin_threads_from_argv()

import numpy as np

from specbias import SpectralSolver, gradient_descent, shallow_features


def best_of(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=256, help="N = K")
    ap.add_argument("--max-full", type=float, default=1e5, help="largest T iterated in full")
    ap.add_argument("--activation", default="tanh")
    ap.add_argument("--threads", default="1", help="BLAS threads (0: library default)")
    args = ap.parse_args()

    N = args.width
    x = np.linspace(0.0, 1.0, N)
    A = shallow_features(x, x, args.activation, scale=float(N))
    y = np.random.default_rng(0).standard_normal(N)

    lr = SpectralSolver(A).default_lr
    Ts = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    print(f"N = K = {N}, activation {args.activation}, float64, BLAS threads: "
          f"{args.threads if args.threads != '0' else 'default'}; wall times, best of several "
          "runs (noisy if the machine is shared)")
    print(f"{'T':>9} {'closed form + SVD [ms]':>24} {'iterated GD [ms]':>18} {'ratio':>10}  note")
    per_iter = None
    for T in Ts:
        closed = best_of(lambda T=T: SpectralSolver(A).gd(y, T), 5)
        if T <= args.max_full:
            reps = 3 if T <= 1000 else 1
            it = best_of(lambda T=T: gradient_descent(A, y, T, lr=lr), reps)
            if T >= 1000:
                per_iter = it / T
            note = "measured"
        else:
            it = per_iter * T
            note = f"extrapolated from {per_iter * 1e6:.1f} us/iteration"
        print(f"{T:>9} {closed * 1e3:>24.3f} {it * 1e3:>18.3f} {it / closed:>10.1f}  {note}")
        if T == 10_000:  # the closed form is the same solution
            w_it = gradient_descent(A, y, T, lr=lr)
            w_cf = SpectralSolver(A).gd(y, T)
            err = np.linalg.norm(w_cf - w_it) / np.linalg.norm(w_it)
    print("(iterated GD includes one sigma_1 computation per call for its stability check)")
    print(f"relative difference closed form vs iterated at T = 1e4: {err:.1e}")

    T50 = np.unique(np.round(np.logspace(0, 6, 50)))
    T50 = np.concatenate([T50, np.arange(2, 2 + 50 - T50.size) * 1e6])[:50]
    one = best_of(lambda: SpectralSolver(A).gd(y, 1000), 20)
    many = best_of(lambda: SpectralSolver(A).gd(y, T50), 20)
    solver = SpectralSolver(A)
    one_s = best_of(lambda: solver.gd(y, 1000), 200)
    many_s = best_of(lambda: solver.gd(y, T50), 200)
    print()
    print(f"{'50 values of T in one call':<40} {'one T':>12} {'50 T':>12} {'ratio':>8}")
    print(f"{'  incl. SVD: SpectralSolver(A).gd':<40} {one * 1e3:>10.3f}ms {many * 1e3:>10.3f}ms "
          f"{many / one:>8.2f}")
    print(f"{'  solve only (SVD reused): solver.gd':<40} {one_s * 1e6:>10.1f}us {many_s * 1e6:>10.1f}us "
          f"{many_s / one_s:>8.2f}")


if __name__ == "__main__":
    main()
