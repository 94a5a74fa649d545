"""kernel_fit vs CVXPY and vs kernel-regime Adam training, at N = 1000 points, K = 2000 neurons.

The problem is the Radon-spline paper's Experiment 1 (points uniform in [-1, 1]^3, predict the
third coordinate from the first two; theta evenly on the circle, gamma ~ U(-sqrt 2, sqrt 2)).
Kernel-regime Adam (the paper's optimizer) trains the output weights for a fixed number of
steps; then the minimum-norm fit at the MSE Adam reached is computed by kernel_fit (exact) and
by CVXPY: the norm form ``min |c| s.t. |Phi c - y| <= sqrt(N eps)`` that kernel_fit's
``method="cvxpy"`` uses (Clarabel, default settings), and the squared form exactly as the paper
writes it (CVXPY's default solver; it often fails at these sizes). Everything runs on one thread
(BLAS and torch), so the ratios compare algorithms, not thread counts.

Run: .venv/bin/python bench/bench_kernel_fit.py [--adam-steps 2000] [--activations relu step]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings

import cvxpy as cp
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from specbias.experiments.radon_gd_vs_convex import (
    cube_data,
    kernel_net,
    parse_spec,
    single_threaded,
    train_kernel_regime,
)
from specbias.kernel import kernel_fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--k", type=int, default=2000)
    ap.add_argument("--adam-steps", type=int, default=2000)
    ap.add_argument("--adam-lr", type=float, default=1e-3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--activations", nargs="+", default=["relu", "step", "sinc(s=4)"])
    ap.add_argument("--no-cvxpy", action="store_true")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    X, y = cube_data(rng, args.n)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    rows = []
    with single_threaded():
        for spec in args.activations:
            act, s = parse_spec(spec)
            net = kernel_net(act, s, args.k, math.sqrt(2), torch.Generator().manual_seed(0))
            tr = train_kernel_regime(net, Xt, yt, optimizer="adam", lr=args.adam_lr,
                                     target_mse=0.0, max_steps=args.adam_steps)
            with torch.no_grad():
                Phi = net.features(Xt).numpy()
                c_adam = net.c.detach().numpy()
            eps = float(np.mean((Phi @ c_adam - y) ** 2))
            times, cpus = [], []
            for _ in range(args.repeats):
                t0, p0 = time.perf_counter(), time.process_time()
                c, info = kernel_fit(Phi, y, eps, return_info=True)
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - p0)
            # the same fit with BLAS on every core (CVXPY's Clarabel runs on one core either way)
            times_all = []
            with threadpool_limits(limits=os.cpu_count()):
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    kernel_fit(Phi, y, eps)
                    times_all.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            c_svd = kernel_fit(Phi, y, eps, method="svd")
            t_svd = time.perf_counter() - t0
            row = {"activation": spec, "mse": eps, "adam_s": tr["seconds"],
                   "kernel_fit_s": statistics.median(times), "kernel_fit_cpu": min(cpus),
                   "kernel_fit_all_s": statistics.median(times_all),
                   "path": info.method, "svd_s": t_svd,
                   "svd_agree": float(np.linalg.norm(c - c_svd) / np.linalg.norm(c_svd))}
            if not args.no_cvxpy:
                # (1) kernel_fit's CVXPY reference: min |c| s.t. |Phi c - y| <= sqrt(N eps), Clarabel
                #     with its default settings
                t0, p0 = time.perf_counter(), time.process_time()
                c_cv = kernel_fit(Phi, y, eps, method="cvxpy", solver="CLARABEL")
                row["cvxpy_s"] = time.perf_counter() - t0
                row["cvxpy_cpu"] = time.process_time() - p0
                row["cvxpy_agree_fit"] = float(np.linalg.norm(Phi @ (c_cv - c)) /
                                               np.linalg.norm(Phi @ c))
                # (2) the problem exactly as the paper writes it, CVXPY's default solver
                cv = cp.Variable(Phi.shape[1])
                prob = cp.Problem(cp.Minimize(cp.sum_squares(cv)),
                                  [cp.sum_squares(Phi @ cv - y) <= len(y) * eps])
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        prob.solve()
                    row["paper_form"] = f"{time.perf_counter() - t0:.1f}s {prob.status}"
                except cp.error.SolverError:
                    row["paper_form"] = f"failed after {time.perf_counter() - t0:.1f}s"
            rows.append(row)
            print(f"  done {spec}", flush=True)

    print(f"\nkernel_fit at N = {args.n}, K = {args.k} (1 thread; timings are noisy on a shared "
          "machine)")
    hdr = (f"{'activation':12s} {'mse':>9s} {'kernel_fit':>10s} {'path':>5s} {'svd':>7s} "
           f"{'cvxpy':>8s} {'adam':>8s} {'cvxpy/kf':>9s} {'(cpu)':>7s} {'adam/kf':>8s} "
           f"{'svd/kf':>7s} {'fit diff cvxpy':>14s} {f'kf {os.cpu_count()}thr':>9s} "
           f"{'cvxpy/kf':>9s}  paper-form CVXPY")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        cv = r.get("cvxpy_s", math.nan)
        cvc = r.get("cvxpy_cpu", math.nan)
        print(f"{r['activation']:12s} {r['mse']:9.2e} {r['kernel_fit_s']:9.3f}s {r['path']:>5s} "
              f"{r['svd_s']:6.2f}s {cv:7.2f}s {r['adam_s']:7.2f}s {cv / r['kernel_fit_s']:8.0f}x "
              f"{cvc / r['kernel_fit_cpu']:6.0f}x {r['adam_s'] / r['kernel_fit_s']:7.0f}x "
              f"{r['svd_s'] / r['kernel_fit_s']:6.1f}x {r.get('cvxpy_agree_fit', math.nan):14.1e} "
              f"{r['kernel_fit_all_s']:8.3f}s {cv / r['kernel_fit_all_s']:8.0f}x  "
              f"{r.get('paper_form', '')}")
    print("\n'cvxpy': kernel_fit(method='cvxpy', solver='CLARABEL'), the norm form of the "
          "problem with Clarabel's default settings. 'paper-form': min |c|^2 s.t. "
          "|Phi c - y|^2 <= N eps as written in the paper, CVXPY's default solver.")
    print("Ratios: wall time (kernel_fit: median of repeats); '(cpu)': process CPU time, "
          "kernel_fit's best repeat -- less sensitive to other load on the machine. "
          f"'kf {os.cpu_count()}thr': kernel_fit with BLAS on all {os.cpu_count()} cores, and CVXPY's "
          "time over it (Clarabel is single-threaded).")
    print(f"Adam: {args.adam_steps} full-batch steps, lr {args.adam_lr}; 'mse' is the training "
          "error it reached, at which both convex solvers fit. 'fit diff' = |Phi (c_cvxpy - c)| / "
          "|Phi c|.")


if __name__ == "__main__":
    main()
