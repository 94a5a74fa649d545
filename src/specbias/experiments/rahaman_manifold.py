"""Rahaman et al., Exp. 5-6 (Figs. 7-9): not all manifolds are learned equal.

Data on the flower manifold ``gamma_L(z) = (1 + sin(2 pi L z)/2) (cos 2 pi z, sin 2 pi z)`` in
the plane, ``z_n = n/N``; a ReLU MLP with 2-D input (docs/theory.md section 5).

* Exp. 5 (regression): target ``lambda(z) = sum_i sin(2 pi k_i z + phi_i)`` (equal amplitudes,
  random phases per run) at the points ``gamma_L(z_n)``; the spectrum of ``f(gamma_L(z))`` in
  ``z``, ``|f~(k_i)|``, is tracked over training for each ``L``. The more petals, the sooner the
  high frequencies are learned: a function oscillating on the manifold can be a low-frequency
  function of the input when the embedding itself oscillates.
* Exp. 6 (classification): target ``1[sin(2 pi k z) > 0]`` on ``gamma_L``, binary cross-entropy on
  the logits; the training accuracy after a fixed budget for every ``(k, L)`` (Fig. 9 heatmap).

Frequencies that are multiples of ``L`` are special: ``sin(2 pi k z)`` is then an exact function
of the petal radius ``1 + sin(2 pi L z)/2``, which favours that ``L``. The quick preset uses
``k = 13, 23, ..., 103`` (and ``23, 43, 63, 83`` for Exp. 6), multiples of none of
``L = 4, 10, 16``; the paper preset keeps the paper's ``k = 20, 40, ..., 200``.

All runs (every ``L`` x seed, every ``(k, L)``) train together as vectorized ensembles with one
input batch per member (:func:`specbias.train_ensemble`).

Metrics per ``L``: ``high_freq_first_reach[L]``, the mean first step at which the upper half of
the frequencies reach ``|f~(k)| >= 0.5`` (never reached counts as ``steps``);
``high_freq_mean_amplitude[L]``, their normalized amplitude averaged over training (an area
under the learning curve, in [0, ~1]: larger means learned sooner); ``final_loss[L]``;
``rank_correlation``, Spearman's rho between ``L`` and ``high_freq_mean_amplitude``;
``accuracy[k][L]`` (Exp. 6) and ``mean_accuracy[L]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator
from scipy.stats import spearmanr

from ..callbacks import SpectrumTracker, first_reach
from ..ensemble import train_ensemble
from ..targets.rahaman import flower, square_wave, sum_of_sines
from . import RunContext, register_experiment
from ._blocks import (
    ENSEMBLE_MAX_STEPS,
    ROW_BYTES,
    DeepMLPConfig,
    Dtype,
    Frequencies,
    censored_mean,
    ensemble_memory,
    heatmap,
    make_members,
    records_memory,
    torch_dtype,
)


class Config(DeepMLPConfig):
    n_points: int = Field(500, ge=16, le=100_000, description="grid points z_n = n/N")
    petals: list[float] = Field(default_factory=lambda: [0.0, 4.0, 10.0, 16.0], min_length=2,
                                max_length=20, description="flower parameters L")
    frequencies: Frequencies = Field(
        default_factory=lambda: [float(k) for k in range(13, 113, 10)], min_length=2,
        max_length=200, description="frequencies k_i of the regression target (Exp. 5)")
    seeds: int = Field(3, ge=1, le=1000, description="runs per L (random phases and init)")
    steps: int = Field(3000, ge=1, le=ENSEMBLE_MAX_STEPS,
                       description="full-batch Adam steps (Exp. 5)")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    every: int = Field(50, ge=1, description="record the spectrum every this many steps")
    threshold: float = Field(0.5, gt=0, description="first-reach level of |f~(k)|/A")
    class_frequencies: Frequencies = Field(
        default_factory=lambda: [23.0, 43.0, 63.0, 83.0], max_length=200,
        description="frequencies k of the classification targets (Exp. 6); empty to skip")
    class_steps: int = Field(1500, ge=1, le=ENSEMBLE_MAX_STEPS,
                             description="Adam steps of the classification runs")
    dtype: Dtype = Field("float32", description="precision of the networks: float32 or float64")

    @model_validator(mode="after")
    def _values(self):
        if min(self.petals) < 0:
            raise self.invalid("petals", "be non-negative", self.petals)
        return self

    def memory_estimate(self):
        E, nf = len(self.petals) * self.seeds, len(self.frequencies)
        Ec = len(self.petals) * len(self.class_frequencies)
        records = self.steps // self.every + 2
        return {
            **self.memory_total({
                "seeds": (ensemble_memory(E, self.n_points, 2, self.width, self.depth,
                                          self.dtype),
                          "the ensemble's parameters, Adam state and activations"),
                "every": (records_memory(self.steps, self.every, E, 2 * nf + 1)
                          + ROW_BYTES * records * len(self.petals) * nf,
                          "(steps / every + 1) spectra of len(frequencies) x petals x seeds, "
                          "and their table rows"),
            }),
            "class_frequencies": (ensemble_memory(Ec, self.n_points, 2, self.width, self.depth,
                                                  self.dtype),
                                  "the classification ensemble (class_frequencies x petals "
                                  "networks): parameters, Adam state and activations"),
        }


@register_experiment(
    "rahaman-manifold",
    config=Config,
    description="Flower manifolds: more petals make high frequencies easier (regression and "
                "classification)",
    reproduces="Rahaman et al., Exp. 5-6, Figs. 7-9",
    presets={
        "quick": {},
        "paper": {"width": 256, "n_points": 1000,
                  "frequencies": [float(k) for k in range(20, 220, 20)], "seeds": 10,
                  "steps": 50_000, "every": 100,
                  "class_frequencies": [float(k) for k in range(20, 220, 20)],
                  "class_steps": 20_000},
    },
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    dtype = torch_dtype(cfg.dtype)
    z = np.arange(cfg.n_points) / cfg.n_points
    k = np.asarray(cfg.frequencies, dtype=np.float64)
    Ls = list(cfg.petals)
    # ---------------------------------------------------------------- Exp. 5: regression
    petal_of, Xs, Ys = [], [], []
    for L in Ls:
        for _ in range(cfg.seeds):
            petal_of.append(L)
            Xs.append(flower(z, L))
            Ys.append(sum_of_sines(z, k, np.ones_like(k), ctx.rng.uniform(0, 2 * np.pi, k.size)))
    labels = np.array(petal_of)
    X = torch.tensor(np.array(Xs), dtype=dtype)
    Y = torch.tensor(np.array(Ys), dtype=dtype)
    spec = SpectrumTracker(X, k, every=cfg.every, coords=z)
    with ctx.timer("regression_s"):
        res = train_ensemble(make_members(len(labels), 2, cfg.width, cfg.depth, ctx, dtype),
                             (X, Y), cfg.steps, lr=cfg.lr, callbacks=[spec],
                             record_every=cfg.every, desc="manifold regression")
    ctx.record_divergence(res, prefix="regression ")
    steps = spec.steps()
    S = spec.spectra()  # (records, E, freq); amplitudes are 1
    hit = first_reach(steps, S, cfg.threshold)
    high = k >= np.median(k)
    first: dict[str, float] = {}
    auc: dict[str, float] = {}
    loss: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    curves: dict[str, np.ndarray] = {}
    for L in Ls:
        sel = labels == L
        key = f"{L:g}"
        first[key] = float(censored_mean(hit[sel][:, high], float(cfg.steps)).mean())
        auc[key] = float(S[:, sel][:, :, high].mean())
        loss[key] = float(np.nanmean(res.final_loss[sel]))
        curves[key] = res.losses[:, sel].mean(1)
        for r, s in enumerate(steps):
            for j, kk in enumerate(k):
                rows.append({"L": L, "step": int(s), "k": kk,
                             "normalized_amplitude": float(S[r, sel, j].mean())})
    ctx.metric("high_freq_first_reach", first)
    ctx.metric("high_freq_mean_amplitude", auc)
    ctx.metric("final_loss", loss)
    ctx.metric("rank_correlation", round(float(spearmanr(Ls, [auc[f"{L:g}"] for L in Ls])
                                               .statistic), 10))
    ctx.table("spectrum", pd.DataFrame(rows))

    fig, axes = plt.subplots(1, len(Ls) + 1, figsize=(4 * (len(Ls) + 1), 3.6))
    for ax, L in zip(axes[:-1], Ls, strict=True):
        im = heatmap(ax, steps, k, S[:, labels == L].mean(1), f"L = {L:g}")
    fig.colorbar(im, ax=axes[-2])
    for key, c in curves.items():
        axes[-1].semilogy(res.loss_steps, c, label=f"L = {key}")
    axes[-1].set(xlabel="training step", ylabel="training MSE", title="loss (Fig. 8e)")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    ctx.figure("manifold_spectra", fig, caption=(
        "Spectrum |f~(k)| of the fit along the flower manifold during training, one panel per L "
        "(Fig. 8), and the training loss: more petals, sooner high frequencies, lower loss."))

    fig, axes = plt.subplots(1, len(Ls), figsize=(3 * len(Ls), 3))
    zz = np.linspace(0, 1, 1000)
    for ax, L in zip(axes, Ls, strict=True):
        g = flower(zz, L)
        ax.plot(g[:, 0], g[:, 1], lw=1)
        ax.set(aspect="equal", title=f"gamma_L, L = {L:g}", xticks=[], yticks=[])
    ctx.figure("flowers", fig, caption="The flower manifolds gamma_L (Fig. 7).")

    # ---------------------------------------------------------------- Exp. 6: classification
    if cfg.class_frequencies:
        kc = list(cfg.class_frequencies)
        pairs = [(kk, L) for kk in kc for L in Ls]
        Xc = torch.tensor(np.array([flower(z, L) for _, L in pairs]), dtype=dtype)
        Yc = torch.tensor(np.array([square_wave(z, kk) for kk, _ in pairs]), dtype=dtype)
        with ctx.timer("classification_s"):
            rc = train_ensemble(make_members(len(pairs), 2, cfg.width, cfg.depth, ctx, dtype,
                                             offset=100_000), (Xc, Yc), cfg.class_steps,
                                lr=cfg.lr, loss="bce_logits",
                                record_every=max(1, cfg.class_steps // 50),
                                desc="manifold classification")
        ctx.record_divergence(rc, prefix="classification ")
        with torch.no_grad():
            acc = ((rc.model(Xc) > 0).to(dtype) == Yc).to(torch.float64).mean(1).numpy()
        A = acc.reshape(len(kc), len(Ls))
        ctx.metric("accuracy", {f"{kk:g}": {f"{L:g}": float(A[i, j]) for j, L in enumerate(Ls)}
                                for i, kk in enumerate(kc)})
        ctx.metric("mean_accuracy", {f"{L:g}": float(A[:, j].mean()) for j, L in enumerate(Ls)})
        ctx.table("accuracy", pd.DataFrame([{"k": kk, "L": L, "accuracy": float(A[i, j])}
                                            for i, kk in enumerate(kc)
                                            for j, L in enumerate(Ls)]))
        fig, ax = plt.subplots(figsize=(5, 4))
        im = ax.imshow(A.T, origin="lower", cmap="viridis", vmin=0.5, vmax=1, aspect="auto")
        ax.set_xticks(range(len(kc)), [f"{kk:g}" for kk in kc])
        ax.set_yticks(range(len(Ls)), [f"{L:g}" for L in Ls])
        for i in range(len(kc)):
            for j in range(len(Ls)):
                ax.text(i, j, f"{A[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="w" if A[i, j] < 0.8 else "k")
        ax.set(xlabel="frequency k of the target", ylabel="petals L",
               title=f"training accuracy after {cfg.class_steps} steps")
        fig.colorbar(im, ax=ax)
        ctx.figure("classification_accuracy", fig, caption=(
            "Exp. 6 / Fig. 9: accuracy of fitting 1[sin(2 pi k z) > 0] on gamma_L; going up a "
            "column (more petals) the same target becomes easier."))
    ctx.note(f"{len(labels)} regression runs ({len(Ls)} manifolds x {cfg.seeds} seeds) of a "
             f"{cfg.depth}x{cfg.width} ReLU MLP on {cfg.n_points} points, {cfg.steps} full-batch "
             "Adam steps; the spectrum is taken along the manifold coordinate z.")

