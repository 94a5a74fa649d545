"""Lucey App. E, Fig. 9: 2-D principal components, rank-1 vs full-rank input weights.

A 2-D shallow ReLU network on an R x C pixel grid of [0, 1]^2, f(x) = sum_k w_k relu(a_k . x - b_k),
with K = N = R C neurons (docs/theory.md section 1):

* rank 1 (Zhang et al.): every a_k is the same direction, mapping each pixel to its raster index
  t = (c + C r) / (R C - 1) (unique per pixel), and b_k equally spaced in [0, 1] -- a 1-D
  network in t;
* full rank: directions theta_k uniform on the circle and offsets gamma_k = theta_k . p_k with
  p_k uniform in the square (``radon_features``), drawn from the run's seed;
* the 2-D DST-I basis sin(pi p (r+1)/(R+1)) sin(pi q (c+1)/(C+1)), sorted by p^2 + q^2.

The principal components (columns of U) are shown as images. Metrics over the first
``n_components`` (unit-norm components, forward differences along rows and columns):

* ``roughness`` -- mean Dirichlet energy sum |grad u|^2, and ``roughness_ratio`` the mean of
  its ratio to the DST basis function of the same index (>> 1: rougher than the frequency basis);
* ``anisotropy`` -- mean |E_x - E_y| / (E_x + E_y) (1: the component varies along one axis only);
* ``order_smoothness_spearman`` -- rank correlation of component index and roughness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import spearmanr

from ..features import radon_features, shallow_features
from ..shrinkage import SpectralSolver
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationName


class Config(ExperimentConfig):
    rows: int = Field(24, ge=4, le=128, description="R: image rows")
    cols: int = Field(24, ge=4, le=128, description="C: image columns")
    activation: ActivationName = Field("relu", description="activation")
    n_components: int = Field(16, ge=2, le=256, description="components scored")
    n_shown: int = Field(8, ge=1, le=16, description="components shown per row of the figure")

    def memory_estimate(self):
        n = self.rows * self.cols
        return {"rows": (8 * 8.0 * n * n, "8 (rows x cols) x (rows x cols) float64 matrices: "
                                           "features and their SVD")}


def dirichlet_energy(u: np.ndarray) -> tuple[float, float]:
    """Sum of squared forward differences of an image along columns (x) and rows (y)."""
    ex = float(np.sum(np.diff(u, axis=1) ** 2))
    ey = float(np.sum(np.diff(u, axis=0) ** 2))
    return ex, ey


def dst2d(R: int, C: int, n: int) -> np.ndarray:
    """The first n 2-D DST-I basis images (unit norm), sorted by p^2 + q^2; shape (n, R, C)."""
    pq = sorted(((p, q) for p in range(1, R + 1) for q in range(1, C + 1)),
                key=lambda t: (t[0] ** 2 + t[1] ** 2, t[0]))[:n]
    r = np.arange(1, R + 1)[:, None]
    c = np.arange(1, C + 1)[None, :]
    out = np.stack([np.sin(np.pi * p * r / (R + 1)) * np.sin(np.pi * q * c / (C + 1)) for p, q in pq])
    return out / np.linalg.norm(out.reshape(n, -1), axis=1)[:, None, None]


def _scores(images: np.ndarray, ref_energy: np.ndarray) -> dict:
    e = np.array([dirichlet_energy(u) for u in images])
    tot = e.sum(axis=1)
    rho = spearmanr(np.arange(len(tot)), tot).statistic
    return {
        "roughness": float(tot.mean()),
        "roughness_ratio": float(np.mean(tot / ref_energy)),
        "anisotropy": float(np.mean(np.abs(e[:, 0] - e[:, 1]) / np.maximum(tot, 1e-300))),
        "order_smoothness_spearman": float(rho),
        "per_component_roughness": tot.tolist(),
    }


@register_experiment(
    "lucey-2d",
    config=Config,
    description="2-D principal components of a shallow ReLU net: rank-1 vs full-rank input weights vs 2-D DST",
    reproduces="Lucey, App. E, Fig. 9",
    presets={"quick": {}, "paper": {"rows": 32, "cols": 32}},
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    R, C = cfg.rows, cfg.cols
    N = R * C
    n = min(cfg.n_components, N)
    rr, cc = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    pts = np.stack([cc.ravel() / (C - 1), rr.ravel() / (R - 1)], axis=1)  # (x, y) in [0, 1]^2

    # rank 1: raster index as the single projection
    t = (cc.ravel() + C * rr.ravel()) / (N - 1.0)
    A1 = shallow_features(t, np.linspace(0.0, 1.0, N), cfg.activation, scale=1.0)
    # full rank: random directions and offsets through the square
    phi = ctx.rng.uniform(0.0, 2.0 * np.pi, N)
    theta = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    anchor = ctx.rng.uniform(0.0, 1.0, (N, 2))
    gamma = np.sum(theta * anchor, axis=1)
    Af = radon_features(pts, theta, gamma, cfg.activation)

    ref = dst2d(R, C, n)
    ref_e = np.array([sum(dirichlet_energy(u)) for u in ref])
    comps = {"rank1": SpectralSolver(A1).components[:, :n].T.reshape(n, R, C),
             "full_rank": SpectralSolver(Af).components[:, :n].T.reshape(n, R, C),
             "dst": ref}
    scores = {k: _scores(v, ref_e) for k, v in comps.items()}
    for key in ("roughness", "roughness_ratio", "anisotropy", "order_smoothness_spearman"):
        ctx.metric(key, {k: s[key] for k, s in scores.items()})
    ctx.table("component_roughness", pd.DataFrame(
        [{"weights": k, "component": j + 1, "roughness": r}
         for k, s in scores.items() for j, r in enumerate(s["per_component_roughness"])]))

    m = min(cfg.n_shown, n)
    titles = {"rank1": "rank-1 weights", "full_rank": "full-rank weights", "dst": "2-D DST"}
    fig, axes = plt.subplots(3, m, figsize=(1.6 * m, 5.4), squeeze=False)
    for i, key in enumerate(("rank1", "full_rank", "dst")):
        for j in range(m):
            ax = axes[i, j]
            u = comps[key][j]
            lim = np.max(np.abs(u))
            ax.imshow(u, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(titles[key], fontsize=8)
            if i == 0:
                ax.set_title(f"k = {j + 1}", fontsize=8)
        s = scores[key]
        axes[i, m - 1].text(1.05, 0.5, f"rough x{s['roughness_ratio']:.1f}\naniso {s['anisotropy']:.2f}",
                            transform=axes[i, m - 1].transAxes, fontsize=7, va="center")
    fig.suptitle(f"2-D principal components ({cfg.activation}, {R} x {C} pixels, K = N = {N})",
                 fontsize=10)
    ctx.figure("components_2d", fig, caption="Row 1: rank-1 input weights (Zhang et al.) give "
               "components that vary along one axis only; row 2: full-rank weights give smooth 2-D "
               "components; row 3: the 2-D DST basis (Fig. 9).")

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for key in ("rank1", "full_rank", "dst"):
        ax.semilogy(np.arange(1, n + 1), scores[key]["per_component_roughness"], "o-", ms=3,
                    label=titles[key])
    ax.set(xlabel="component index", ylabel="Dirichlet energy |grad u|^2",
           title="Smoothness of the 2-D principal components")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ctx.figure("roughness", fig, caption="Roughness of each principal component against its index.")
