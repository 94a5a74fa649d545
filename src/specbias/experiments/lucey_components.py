"""Lucey Fig. 4-5: principal components of the shallow-network Jacobian per activation.

A[n, k] = act(s (x_n - b_k)) with x_n (N points) and b_k (K biases) equally spaced in [0, 1],
s = K (docs/theory.md section 1-2). The principal components are the columns of U (``SpectralSolver
.components``), functions sampled at x. Two networks: wide (N = K, Fig. 4) and narrow (K < N,
Fig. 5).

Metrics per network and activation, over the first ``n_components`` components u_j:

* ``dst_correlation`` -- mean_j |<u_j, d_j>| (unit vectors: the uncentred correlation) with the
  j-th vector d_j of the best-matching DST sine basis among DST-I..IV and their mirror images
  (``dst_variant`` names it). 1 means the components *are* that sine basis.
* ``dst_subspace_correlation`` -- the mean cosine of the principal angles between
  span(u_1..u_n) and span(d_1..d_n): rotation invariant, so it stays meaningful where singular
  values are (nearly) degenerate and single components are not unique (tanh at x = b: A is
  antisymmetric and its singular values come in equal pairs; sinc at s = K: A ~ I).
* ``roughness`` -- mean_j |second difference of u_j| / |second difference of d_j|: ~1 for a
  smooth sine-like component, large for the staircase components of a narrow Heaviside net.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..claims import AtLeast, Claim, Ordered, Predicate
from ..features import shallow_features
from ..shrinkage import SpectralSolver
from ..signals import dst_matrix
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationNames

ACTIVATIONS = ["heaviside", "tanh", "relu", "relu2", "gelu", "silu", "sinc", "gaussian"]
SHOWN = ["heaviside", "tanh", "relu", "relu2"]


class Config(ExperimentConfig):
    samples: int = Field(256, ge=16, le=8192, description="N: sample points")
    width: int | None = Field(None, ge=2, le=8192, description="K of the wide network (None: K = N)")
    narrow_width: int = Field(20, ge=2, le=8192, description="K of the narrow network (K < N)")
    activations: ActivationNames = Field(default_factory=lambda: list(ACTIVATIONS), min_length=1,
                                   max_length=100)
    n_components: int = Field(10, ge=1, le=256, description="components scored")
    n_shown: int = Field(5, ge=1, le=12, description="components plotted per activation")
    shown: ActivationNames = Field(default_factory=lambda: list(SHOWN), min_length=1, max_length=12,
                             description="activations plotted")

    @model_validator(mode="after")
    def _widths(self):
        N = self.samples
        K = self.width if self.width is not None else N
        if self.narrow_width >= N:
            raise self.invalid("narrow_width", f"be below N = samples ({N})", self.narrow_width)
        for net, width in (("wide", K), ("narrow", self.narrow_width)):
            if min(N, width) < self.n_components:
                raise self.invalid("n_components", f"not exceed min(N, K) = {min(N, width)} "
                                   f"({net} network)", self.n_components)
        return self

    def memory_estimate(self):
        N = self.samples
        K = max(self.width or N, self.narrow_width)
        return {"samples": (8.0 * (4 * N * N + 3 * N * K + 2 * K * K),
                            "8 bytes x (4 N x N DST bases + 3 N x K features + 2 K x K)")}


def dst_bases(n: int) -> dict[str, np.ndarray]:
    """The orthonormal DST-I..IV bases of size n and their mirror images (rows = vectors)."""
    out = {}
    for t in (1, 2, 3, 4):
        D = dst_matrix(n, t)
        out[f"DST-{'I' * t if t < 4 else 'IV'}"] = D
        out[f"DST-{'I' * t if t < 4 else 'IV'} mirrored"] = D[:, ::-1]
    return out


def score_components(U: np.ndarray, n: int, bases: dict[str, np.ndarray]) -> dict:
    """Best-matching DST variant and the correlation / subspace / roughness scores of U[:, :n]."""
    Un = U[:, :n]
    best = None
    for name, D in bases.items():
        Dn = D[:n].T
        corr = np.abs(np.sum(Un * Dn, axis=0))
        if best is None or corr.mean() > best[1].mean():
            best = (name, corr, Dn)
    assert best is not None  # bases is not empty
    name, corr, Dn = best
    subspace = float(np.mean(np.clip(np.linalg.svd(Un.T @ Dn, compute_uv=False), 0, 1)))
    rough_u = np.linalg.norm(np.diff(Un, 2, axis=0), axis=0)
    rough_d = np.linalg.norm(np.diff(Dn, 2, axis=0), axis=0)
    return {"variant": name, "correlation": float(corr.mean()), "per_component": corr.tolist(),
            "subspace": subspace, "roughness": float(np.mean(rough_u / rough_d))}


def _staircase(m):
    r = m["roughness"]["narrow"]
    ratio = r["heaviside"] / r["tanh"]
    return r["heaviside"] >= 3.0 and ratio >= 3.0, {"heaviside": round(r["heaviside"], 2),
                                                    "heaviside/tanh": round(ratio, 2)}


CLAIMS = [
    Claim("heaviside-dst", "The principal components of a Heaviside network are a DST sine basis "
          "(N = K).", "Lucey, Sec. 6 'Principal components', Fig. 4a",
          AtLeast("dst_correlation.wide.heaviside", 0.95), paper_value="strict frequency basis"),
    Claim("tanh-dst", "tanh (s = K) exhibits a similar frequency basis.", "Lucey, Sec. 6, Fig. 4b",
          AtLeast("dst_subspace_correlation.wide.tanh", 0.9), paper_value="strict frequency basis"),
    Claim("less-strict-with-p", "ReLU and ReLU^2 give smooth bases that match a frequency basis "
          "less strictly as the spline order p grows.", "Lucey, Sec. 6, Fig. 4c-d",
          Ordered(("dst_subspace_correlation.wide.heaviside", "dst_subspace_correlation.wide.relu",
                   "dst_subspace_correlation.wide.relu2"), direction="decreasing"),
          paper_value="more inexact as p increases"),
    Claim("narrow-heaviside-staircase", "With K < N the Heaviside basis is a nearest-neighbour "
          "staircase; tanh stays smooth.", "Lucey, Sec. 6, Fig. 5a-b",
          Predicate("narrow Heaviside roughness >= 3 (a sine is 1) and >= 3x tanh's", _staircase,
                    reads=("roughness.narrow.heaviside", "roughness.narrow.tanh")),
          paper_value="significant discontinuities at each sample"),
]


@register_experiment(
    "lucey-components",
    config=Config,
    description="Principal components per activation (N = K and narrow K < N) against the DST sine basis",
    reproduces="Lucey, Fig. 4-5",
    presets={"quick": {}, "paper": {"samples": 1024, "narrow_width": 32}},
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    N = cfg.samples
    nets = {"wide": cfg.width if cfg.width is not None else N, "narrow": cfg.narrow_width}
    x = np.linspace(0.0, 1.0, N)
    bases = dst_bases(N)
    scores: dict[str, dict[str, Any]] = {}
    comps: dict[tuple[str, str], np.ndarray] = {}
    rows: list[dict[str, Any]] = []
    for net, K in nets.items():
        b = np.linspace(0.0, 1.0, K)
        scores[net] = {}
        todo = list(dict.fromkeys(cfg.activations + cfg.shown))
        for a in ctx.progress(todo, desc=f"{net} net"):
            solver = SpectralSolver(shallow_features(x, b, a, scale=float(K)))
            comps[(net, a)] = solver.components[:, : cfg.n_shown]
            if a not in cfg.activations:
                continue
            sc = score_components(solver.components, cfg.n_components, bases)
            scores[net][a] = sc
            rows += [{"network": net, "width": K, "activation": a, "component": j + 1,
                      "dst_variant": sc["variant"], "abs_correlation": c}
                     for j, c in enumerate(sc["per_component"])]
    ctx.table("component_correlation", pd.DataFrame(rows))
    for key, metric in (("correlation", "dst_correlation"), ("variant", "dst_variant"),
                        ("subspace", "dst_subspace_correlation"), ("roughness", "roughness")):
        ctx.metric(metric, {net: {a: s[key] for a, s in scores[net].items()} for net in nets})
    ctx.metric("widths", nets)

    for net, K in nets.items():
        fig, axes = plt.subplots(1, len(cfg.shown), figsize=(3.2 * len(cfg.shown), 4.2),
                                 squeeze=False, sharey=True)
        for ax, a in zip(axes[0], cfg.shown, strict=True):
            U = comps[(net, a)]
            amp = np.max(np.abs(U))
            for j in range(U.shape[1]):
                ax.plot(x, U[:, j] / amp - 2.2 * j, lw=1)
            title = a
            if a in scores[net]:
                title += f"\ncorr {scores[net][a]['correlation']:.2f} ({scores[net][a]['variant']})"
            ax.set(title=title, xlabel="x", yticks=[])
        axes[0, 0].set_ylabel(f"components 1..{cfg.n_shown} (top to bottom)")
        fig.suptitle(f"Principal components, N = {N}, K = {K}, s = K", fontsize=10, y=1.03)
        ctx.figure(f"components_{net}", fig,
                   caption=f"First principal components of A ({net}: N = {N}, K = {K}); "
                   + ("Fig. 4." if net == "wide" else "Fig. 5: Heaviside becomes a staircase."))

    fig, ax = plt.subplots(figsize=(7, 3.6))
    acts = [a for a in cfg.activations if a in scores["wide"]]
    pos = np.arange(len(acts))
    for i, net in enumerate(nets):
        ax.bar(pos + 0.2 * (2 * i - 1), [scores[net][a]["correlation"] for a in acts], 0.4,
               label=f"{net} (K = {nets[net]}): components")
        ax.plot(pos + 0.2 * (2 * i - 1), [scores[net][a]["subspace"] for a in acts], "k_", ms=14,
                mew=2, label="subspace" if i == 0 else None)
    ax.set_xticks(pos, acts, rotation=30, fontsize=8)
    ax.set(ylabel=f"mean |corr|, first {cfg.n_components}", ylim=(0, 1.05),
           title="Match of the principal components with the best DST sine basis")
    ax.legend(fontsize=7)
    ctx.figure("dst_correlation", fig, caption="Mean |correlation| of the first components with "
               "the best-matching DST basis (bars) and the subspace score (ticks).")
    ctx.note("tanh at x = b has equal pairs of singular values (A is antisymmetric), so its single "
             "components are defined only up to a rotation within each pair; sinc at s = K is "
             "nearly the identity (flat spectrum). Use the subspace score for them.")
