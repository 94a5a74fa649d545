"""The empirical NTK: torch.func against a per-sample autograd loop; Lanczos against dense eigh.

1. ``empirical_ntk`` (``vmap(jacrev)``, chunked) against the naive reference, one
   ``torch.autograd.grad`` call per input followed by ``J J^T``, on a 4 x 256 tanh MLP (input
   dimension 2) with 128 inputs in float64; prints both wall times, their ratio and the largest
   relative difference of the two kernels (must be below 1e-10).
   ``empirical_ntk(structured=False)`` (``vmap(jacrev)`` for every parameter) is timed too.
2. The top ``k`` eigenpairs at ``N = 4096`` inputs: ``ntk_eigs`` (Lanczos on ``ntk_matvec``, the
   kernel never formed) against forming the kernel with ``empirical_ntk`` and ``numpy.linalg.eigh``
   on it. Wall time and the growth of the process's peak resident memory (``ru_maxrss``; Lanczos
   runs first and part 2 before part 1, so each figure is what that method added on top of everything before it). The
   eigenvalues of the two are compared.

    python bench/bench_ntk.py [--n 4096] [--k 10] [--chunk 512] [--dtype float32] [--threads 0]

BLAS and torch run single-threaded by default (both methods alike), as in bench_shrinkage.py;
``--threads 0`` keeps the library defaults.
"""

from __future__ import annotations

import argparse
import time

if __name__ == "__main__":  # before numpy/torch load: they read the thread variables once
    from _threads import pin_threads_from_argv

    pin_threads_from_argv()

import resource

import numpy as np
import torch

from specbias import empirical_ntk, ntk_eigs


def mlp(d: int, width: int, depth: int, dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = [torch.nn.Linear(d, width), torch.nn.Tanh()]
    for _ in range(depth - 1):
        layers += [torch.nn.Linear(width, width), torch.nn.Tanh()]
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers).to(dtype)


def naive_ntk(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    params = [p for p in net.parameters() if p.requires_grad]
    rows = []
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(net(x[i : i + 1]).sum(), params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    J = torch.stack(rows)
    return J @ J.T


def best_of(fn, reps: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4096, help="inputs for the eigenvalue part")
    ap.add_argument("--k", type=int, default=10, help="eigenpairs")
    ap.add_argument("--chunk", type=int, default=512, help="inputs per ntk_matvec pass")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--threads", default="1", help="BLAS/torch threads (0: library default)")
    args = ap.parse_args()
    if args.threads != "0":
        torch.set_num_threads(int(args.threads))

    # ---------------------------------------------------------------- 2. Lanczos vs dense eigh
    # (first, so that the peak-memory figures are not hidden by part 1's peak)
    dtype = getattr(torch, args.dtype)
    net = mlp(2, 256, 4, dtype)
    xs = torch.rand(args.n, 2, generator=torch.Generator().manual_seed(2)).to(dtype) * 2 - 1
    # warm-up: imports and torch.func set-up are not part of either method's figures
    from scipy.sparse.linalg import eigsh  # noqa: F401

    ntk_eigs(net, xs[:64], 2)
    empirical_ntk(net, xs[:64])
    print(f"top {args.k} eigenpairs of the NTK at N = {args.n} inputs, {args.dtype}")
    base = peak_mib()
    t0 = time.perf_counter()
    vals, _ = ntk_eigs(net, xs, args.k, tol=1e-6, chunk=args.chunk)
    t_lanczos = time.perf_counter() - t0
    mem_lanczos = peak_mib() - base
    base = peak_mib()
    t0 = time.perf_counter()
    Kd = empirical_ntk(net, xs)
    t_form = time.perf_counter() - t0
    ev = np.linalg.eigvalsh(Kd.double().numpy())[::-1][: args.k]
    t_dense = time.perf_counter() - t0
    mem_dense = peak_mib() - base
    print(f"{'method':<44} {'time [s]':>9} {'peak RSS added [MiB]':>22}")
    print(
        f"{f'ntk_eigs (Lanczos on ntk_matvec, chunk={args.chunk})':<44} {t_lanczos:>9.2f} {mem_lanczos:>22.0f}"
    )
    print(
        f"{'empirical_ntk + numpy eigh (dense)':<44} {t_dense:>9.2f} {mem_dense:>22.0f}"
        f"   (forming the kernel: {t_form:.2f} s)"
    )
    print(f"ratio dense / Lanczos: time {t_dense / t_lanczos:.1f}x")
    print(f"max relative eigenvalue difference: {float(np.max(np.abs(vals - ev) / ev)):.1e}")
    # ---------------------------------------------------------------- 1. kernel vs naive loop
    net = mlp(2, 256, 4, torch.float64)
    P = sum(p.numel() for p in net.parameters())
    x = torch.randn(128, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t_func, K = best_of(lambda: empirical_ntk(net, x), 3)
    t_gen, K_gen = best_of(lambda: empirical_ntk(net, x, structured=False), 3)
    t_loop, K_ref = best_of(lambda: naive_ntk(net, x), 3)
    assert isinstance(K_gen, torch.Tensor)
    assert isinstance(K, torch.Tensor) and isinstance(K_ref, torch.Tensor)
    rel = float((K - K_ref).abs().max() / K_ref.abs().max())
    rel_gen = float((K_gen - K_ref).abs().max() / K_ref.abs().max())
    print()
    print(
        f"4 x 256 tanh MLP, {P} parameters, 128 inputs, float64, threads: "
        f"{args.threads if args.threads != '0' else 'default'}; wall times, best of 3"
    )
    print(f"{'method':<52} {'time [ms]':>10}")
    print(f"{'empirical_ntk (default: Linear layers closed form)':<52} {t_func * 1e3:>10.1f}")
    print(f"{'empirical_ntk(structured=False) (vmap(jacrev))':<52} {t_gen * 1e3:>10.1f}")
    print(f"{'per-sample autograd.grad loop + J J^T':<52} {t_loop * 1e3:>10.1f}")
    print(
        f"ratio loop / empirical_ntk: {t_loop / t_func:.1f}x (structured=False: "
        f"{t_loop / t_gen:.1f}x)"
    )
    ok = "OK" if max(rel, rel_gen) < 1e-10 else "FAIL"
    print(
        f"max |K - K_ref| / max |K_ref| = {rel:.1e} (structured=False: {rel_gen:.1e}), {ok} < 1e-10"
    )


if __name__ == "__main__":
    main()
