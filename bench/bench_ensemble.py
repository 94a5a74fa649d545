"""Vectorized ensemble vs. sequential training of 10 seeds (Rahaman et al., Exp. 1 network).

Reference: ``specbias.train`` run once per seed. Ours: ``specbias.train_ensemble`` on all seeds
at once (batched matrix products). Both use full-batch Adam on the same 200-point target; the
table reports wall times, the speed-up and the largest difference between the two results
(final losses and parameters).

    python bench/bench_ensemble.py            # quick (width 64) and paper (width 256) sizes
    python bench/bench_ensemble.py --steps 100
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from specbias.ensemble import train_ensemble
from specbias.nn import MLP
from specbias.training import train


def models(n, width, depth, dtype):
    return [MLP(1, width, depth, generator=torch.Generator().manual_seed(s), dtype=dtype)
            for s in range(n)]


def _out_diff(f, g, X):
    with torch.no_grad():
        a, b = f(X), g(X)
        return float((a - b).abs().max() / a.abs().max())


def case(width, depth, n_points, seeds, steps, dtype, repeats):
    X = torch.linspace(0, 1, n_points, dtype=dtype)[:, None]
    g = torch.Generator().manual_seed(123)
    phases = 2 * math.pi * torch.rand(10, generator=g, dtype=dtype)
    ks = torch.arange(5, 55, 5, dtype=dtype)
    y = torch.sin(2 * math.pi * ks[None, :] * X + phases[None, :]).sum(1)
    best_seq = best_vec = float("inf")
    for _ in range(repeats):
        nets = models(seeds, width, depth, dtype)
        t0 = time.perf_counter()
        for m in nets:
            train(m, (X, y), steps, lr=1e-3, progress=False)
        best_seq = min(best_seq, time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = train_ensemble(models(seeds, width, depth, dtype), (X, y), steps, lr=1e-3,
                             progress=False, record_every=steps)
        best_vec = min(best_vec, time.perf_counter() - t0)
    diff = max(_out_diff(m, lambda x, i=i: res.model(x)[i], X) for i, m in enumerate(nets))
    short = models(seeds, width, depth, dtype)
    for m in short:
        train(m, (X, y), 20, lr=1e-3, progress=False)
    res20 = train_ensemble(models(seeds, width, depth, dtype), (X, y), 20, lr=1e-3,
                           progress=False, record_every=20)
    diff20 = max(_out_diff(m, lambda x, i=i: res20.model(x)[i], X) for i, m in enumerate(short))
    ref = models(1, width, depth, dtype)[0]
    with torch.no_grad():
        ref.layers[0].bias.mul_(1 + 1e-7)
    train(ref, (X, y), steps, lr=1e-3, progress=False)
    return best_seq, best_vec, diff20, diff, _out_diff(nets[0], ref, X)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="steps at the quick size")
    ap.add_argument("--paper-steps", type=int, default=40, help="steps at the paper size")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2, help="best of this many timings")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.seeds} seeds, "
          "full-batch Adam, 200 points")
    rows = []
    for label, width, steps in (("quick", 64, args.steps), ("paper", 256, args.paper_steps)):
        for dtype in (torch.float32, torch.float64):
            seq, vec, d20, d, sens = case(width, 6, 200, args.seeds, steps, dtype, args.repeats)
            rows.append((label, width, str(dtype).replace("torch.", ""), steps, seq, vec, seq / vec,
                         d20, d, sens))
    head = ("size", "width", "dtype", "steps", "sequential_s", "vectorized_s", "speedup",
            "diff_at_20_steps", "diff_at_end", "seq_1e-7_init_diff_at_end")
    print(" | ".join(head))
    for r in rows:
        print(f"{r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f}x | "
              f"{r[7]:.1e} | {r[8]:.1e} | {r[9]:.1e}")


if __name__ == "__main__":
    main()
