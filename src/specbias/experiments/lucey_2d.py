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
* ``order_smoothness_spearman`` -- rank correlation of component index and roughness over the
  first ``n_order`` components (default N/4: a quarter of the spectrum);
  ``order_smoothness_spearman_first`` the same over the first ``n_components`` only and
  ``order_smoothness_spearman_all`` over all N.

Why the two ranges differ for rank-1 weights: component j is close to the 1-D sine sin(pi j t)
of the raster index, whose vertical neighbours are C/(N-1) ~ 1/R apart in t, so its vertical
Dirichlet energy goes like sin^2(pi j / 2R): it rises up to j ~ R and falls again (period 2R in
j). Over j < R (the first 16 components of a 24 x 24 image) roughness still grows with the
index; over a range spanning several periods the order and the roughness are unrelated, as App. E
says. ``rank1_vertical_energy_peak`` is the first j (1-based) at which the vertical energy of the
rank-1 components stops rising: ~R by this argument (docs/lucey.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy.stats import spearmanr

from ..claims import AtLeast, AtMost, Between, Claim
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
    n_order: int | None = Field(None, ge=3, le=16384, description="components over which the "
                                "order-smoothness rank correlation is taken (None: N/4)")

    @model_validator(mode="after")
    def _order_range(self):
        n = self.rows * self.cols
        if self.n_order is not None and self.n_order > n:
            raise self.invalid("n_order", f"not exceed rows x cols ({n})", self.n_order)
        return self

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


def order_spearman(images: np.ndarray) -> float:
    """Rank correlation of component index and Dirichlet energy (1: smoother comes first)."""
    tot = np.array([sum(dirichlet_energy(u)) for u in images])
    return float(spearmanr(np.arange(len(tot)), tot).statistic)


def _scores(images: np.ndarray, ref_energy: np.ndarray, n: int, n_ord: int) -> dict:
    """Scores over the first ``n`` images; the order correlation over the first ``n``,
    ``n_ord`` and all of them."""
    e = np.array([dirichlet_energy(u) for u in images])
    tot = e.sum(axis=1)
    first = tot[:n]

    def rho(m: int) -> float:
        return float(spearmanr(np.arange(m), tot[:m]).statistic)

    return {
        "roughness": float(first.mean()),
        "roughness_ratio": float(np.mean(first / ref_energy[:n])),
        "anisotropy": float(np.mean(np.abs(e[:n, 0] - e[:n, 1]) / np.maximum(first, 1e-300))),
        "order_smoothness_spearman": rho(n_ord),
        "order_smoothness_spearman_first": rho(n),
        "order_smoothness_spearman_all": rho(len(tot)),
        "per_component_roughness": tot[:n_ord].tolist(),
        "vertical_energy": e[:n_ord, 1],
    }


CLAIMS = [
    Claim("rank1-one-axis", "With rank-1 input weights (Zhang et al.) the principal components "
          "vary along one image axis only.", "Lucey, App. E, Fig. 9 row 1",
          AtLeast("anisotropy.rank1", 0.9), paper_value="variation only in one direction"),
    Claim("full-rank-bidirectional", "Full-rank input weights give components that vary in both "
          "directions.", "Lucey, App. E, Fig. 9 row 2",
          AtMost("anisotropy.full_rank", 0.6), paper_value="bidirectional smoothness"),
    Claim("rank1-rough", "Rank-1 components violate the 2-D smoothness assumption: rougher than "
          "the 2-D DST basis function of the same index.", "Lucey, App. E, Fig. 9",
          AtLeast("roughness_ratio.rank1", 2.0), paper_value="catastrophic for generalization"),
    Claim("rank1-order-unrelated", "With rank-1 weights the ordering of the singular values is "
          "unrelated to the smoothness of the component (here: over the first N/4 components).",
          "Lucey, App. E", Between("order_smoothness_spearman.rank1", -0.3, 0.3),
          paper_value="no relationship"),
    Claim("full-rank-order-returns", "With full-rank weights the relation between singular value "
          "order and smoothness returns.", "Lucey, App. E; Sec. 7 'Multiple Dimensions'",
          AtLeast("order_smoothness_spearman.full_rank", 0.9), paper_value="strong relationship"),
    Claim("rank1-first-ordered", "With rank-1 weights there is no relationship between order and "
          "smoothness (App. E).", "Lucey, App. E",
          AtLeast("order_smoothness_spearman_first.rank1", 0.9),
          paper_value="no relationship",
          finding="Over the first components (j < R rows) the rank-1 order IS the smoothness "
          "order: Spearman 1.00 over the first 16 of a 24 x 24 image. Cause: component j is "
          "~sin(pi j t) of the raster index t, whose vertical energy rises up to j ~ R and only "
          "then falls; the relation breaks beyond j ~ R (Spearman 0.15 over the first N/4) "
          "(docs/lucey.md#rank-1-order-and-smoothness)"),
]


@register_experiment(
    "lucey-2d",
    config=Config,
    description="2-D principal components of a shallow ReLU net: rank-1 vs full-rank input weights vs 2-D DST",
    reproduces="Lucey, App. E, Fig. 9",
    presets={"quick": {}, "paper": {"rows": 32, "cols": 32}},
    claims=CLAIMS,
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

    n_ord = max(n, cfg.n_order if cfg.n_order is not None else N // 4)
    ref = dst2d(R, C, N)
    ref_e = np.array([sum(dirichlet_energy(u)) for u in ref])
    comps = {"rank1": SpectralSolver(A1).components.T.reshape(-1, R, C),
             "full_rank": SpectralSolver(Af).components.T.reshape(-1, R, C),
             "dst": ref}
    scores = {k: _scores(v, ref_e, n, n_ord) for k, v in comps.items()}
    for key in ("roughness", "roughness_ratio", "anisotropy", "order_smoothness_spearman",
                "order_smoothness_spearman_first", "order_smoothness_spearman_all"):
        ctx.metric(key, {k: s[key] for k, s in scores.items()})
    ctx.metric("n_order", n_ord)
    ev = scores["rank1"]["vertical_energy"]
    peaks = np.flatnonzero(ev[:-1] >= ev[1:])
    ctx.metric("rank1_vertical_energy_peak", int(peaks[0]) + 1 if peaks.size else None)
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

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for key in ("rank1", "full_rank", "dst"):
        s = scores[key]
        ax.semilogy(np.arange(1, n_ord + 1), s["per_component_roughness"], "o-", ms=2, lw=0.8,
                    label=f"{titles[key]} (Spearman {s['order_smoothness_spearman']:.2f}; first "
                    f"{n}: {s['order_smoothness_spearman_first']:.2f})")
    ax.axvline(n, color="0.6", ls=":", lw=1)
    ax.axvline(R, color="C0", ls="--", lw=0.8, label=f"j = R = {R}")
    ax.set(xlabel="component index j", ylabel="Dirichlet energy |grad u|^2",
           title="Smoothness of the 2-D principal components")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ctx.figure("roughness", fig, caption="Roughness of each principal component against its "
               f"index, over the first {n_ord} (dotted: the first {n} scored for roughness and "
               "anisotropy). Rank-1 components are sines of the raster index: their vertical "
               "energy rises up to j ~ R and falls again, so order and roughness decouple.")
