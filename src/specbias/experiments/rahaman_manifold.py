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

The paper preset keeps the paper's ``k = 20, 40, ..., 200``. The quick preset scales the range
down to its budget and uses ``k = 13, 23, ..., 103`` (and ``23, 43, 63, 83`` for Exp. 6),
multiples of none of ``L = 4, 10, 16``: a frequency that is a multiple of ``L`` is a special
case (``sin(2 pi L z)`` is a function of the petal radius). The paper's trends hold at all three
frequency sets we measured except the loss ordering at ``k = 10, ..., 100``
(docs/rahaman.md#manifold-frequencies).

All runs (every ``L`` x seed, every ``(k, L)``) train together as vectorized ensembles with one
input batch per member (:func:`specbias.train_ensemble`).

Metrics per ``L``: ``high_freq_first_reach[L]``, the mean first step at which the upper half of
the frequencies reach ``|f~(k)| >= 0.5`` (never reached counts as ``steps``);
``high_freq_mean_amplitude[L]``, their normalized amplitude averaged over training (an area
under the learning curve, in [0, ~1]: larger means learned sooner); ``final_loss[L]``;
``rank_correlation``, Spearman's rho between ``L`` and ``high_freq_mean_amplitude``;
``accuracy[k][L]`` (Exp. 6) and ``mean_accuracy[L]``.

The learned functions (Fig. 7): for one classification frequency ``k*`` (the middle one of
``class_frequencies``) the trained classifier of every ``L`` is drawn over the input plane
``[-1.6, 1.6]^2``; ``input_space_frequency[L]`` is the radial spectral centroid (cycles per unit
length, power-weighted) of its probability map ``sigmoid(f)`` on a ``plane_grid``-point grid
(a description, not a test of the paper: a network that fails to fit the target on the circle
draws a smooth map, so the centroid mixes "how well fitted" with "how smooth").

k-nearest neighbours (App. E, Fig. 22): the same classification targets are fitted by k-NN
classifiers (``knn_neighbors``); on held-out points ``gamma_L(z_n + 1/(2N))`` between the
training points, ``knn_mean_accuracy[K][L]`` is their accuracy and ``heldout_mean_accuracy[L]``
the network's (means over ``class_frequencies``); ``knn_input_space_frequency[K]`` is the
spectral centroid of the k-NN probability map (fraction of neighbours labelled 1) for ``k*`` on
the flower with the most petals, against the network's ``input_space_frequency``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr

from ..callbacks import SpectrumTracker, first_reach
from ..claims import Claim, Ordered, Predicate
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
    # K must stay below the points per half-period of the targets (3 at k = 83 on 500 points):
    # a wider majority vote cannot represent them at all (docs/rahaman.md#knn)
    knn_neighbors: list[int] = Field(default_factory=lambda: [1, 3, 5], max_length=10,
                                     description="neighbours K of the k-NN classifiers "
                                                 "(App. E); empty to skip")
    plane_grid: int = Field(96, ge=16, le=1024,
                            description="grid points per side of the input-plane maps (Fig. 7)")
    dtype: Dtype = Field("float32", description="precision of the networks: float32 or float64")

    @model_validator(mode="after")
    def _values(self):
        if min(self.petals) < 0:
            raise self.invalid("petals", "be non-negative", self.petals)
        if any(K < 1 or K > self.n_points for K in self.knn_neighbors):
            raise self.invalid("knn_neighbors", f"lie in [1, n_points = {self.n_points}]",
                               self.knn_neighbors)
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
            "plane_grid": (8.0 * self.plane_grid**2 * (self.n_points + 4 * self.width),
                           "distances of the plane grid to the training points, and the "
                           "activations of one network on the grid"),
        }


def spectral_centroid(P: np.ndarray, side: float) -> float:
    """Power-weighted mean radial frequency (cycles per unit length) of the map ``P`` sampled on
    a square grid of side ``side``."""
    F = np.abs(np.fft.fft2(P - P.mean())) ** 2
    f = np.fft.fftfreq(P.shape[0], d=side / P.shape[0])
    R = np.hypot(f[:, None], f[None, :])
    return float((R * F).sum() / F.sum()) if F.sum() > 0 else 0.0


def knn_vote(D: np.ndarray, labels: np.ndarray, K: int) -> np.ndarray:
    """Fraction of the ``K`` nearest training points (rows of the distances ``D``: queries x
    training points) labelled 1."""
    nearest = np.argpartition(D, K - 1, axis=1)[:, :K] if K < D.shape[1] else \
        np.broadcast_to(np.arange(D.shape[1]), (D.shape[0], D.shape[1]))
    return labels[nearest].mean(1)


def _knn_gain_below_dnn(m):
    dnn = m["heldout_mean_accuracy"]
    Ls = list(dnn)
    gain = dnn[Ls[-1]] - dnn[Ls[0]]
    knn = {K: v[Ls[-1]] - v[Ls[0]] for K, v in m["knn_mean_accuracy"].items()}
    return all(g < gain for g in knn.values()), {"network": round(gain, 4),
                                                  **{f"K={K}": round(g, 4) for K, g in knn.items()}}


def _dnn_between_knn(m):
    net = m["input_space_frequency"]
    last = net[list(net)[-1]]
    knn = m["knn_input_space_frequency"]
    Ks = sorted(knn, key=int)
    ok = last < knn[Ks[0]] and last >= 0.9 * knn[Ks[-1]]
    return ok, {"network": round(last, 4), **{f"K={K}": round(knn[K], 4) for K in Ks}}


def _dnn_smoother_than_knn(m):
    net = m["input_space_frequency"]
    last = net[list(net)[-1]]
    knn = m["knn_input_space_frequency"]
    return all(last < v for v in knn.values()), {"network": round(last, 4),
                                                  **{f"K={K}": round(v, 4) for K, v in knn.items()}}


CLAIMS = [
    Claim("petals-help", "The spectral bias is attenuated as L grows: high frequencies on the "
          "manifold are learned sooner on flowers with more petals.",
          "Rahaman, Sec. 4, Exp. 5, Fig. 8(a-d)",
          Ordered(("high_freq_mean_amplitude.0", "high_freq_mean_amplitude.4",
                   "high_freq_mean_amplitude.10", "high_freq_mean_amplitude.16")),
          paper_value="monotone in L"),
    Claim("loss-falls", "The larger L, the easier the learning task (lower training loss).",
          "Rahaman, Sec. 4, Exp. 5, Fig. 8(e)",
          Ordered(("final_loss.0", "final_loss.4", "final_loss.10", "final_loss.16"),
                  direction="decreasing"),
          paper_value="monotone in L"),
    Claim("classification", "Increasing L (going up a column of Fig. 9) results in better "
          "classification performance for the same target signal.",
          "Rahaman, Sec. 4, Exp. 6, Fig. 9",
          Ordered(("mean_accuracy.0", "mean_accuracy.4", "mean_accuracy.10",
                   "mean_accuracy.16"), strict=False),
          paper_value="increasing up each column"),
    Claim("knn-no-geometry", "Unlike DNNs, k-NN classifiers do not necessarily perform better "
          "for larger L: they do not exploit the geometry of the manifold.",
          "Rahaman, App. E.2, Fig. 22(d)",
          Predicate("k-NN held-out accuracy gain from the first to the last L < the network's",
                    _knn_gain_below_dnn, reads=("heldout_mean_accuracy", "knn_mean_accuracy"))),
    Claim("dnn-smoother-than-knn", "The spectrum of the DNN's function decays faster than that "
          "of k-NN classifiers for every K considered: the DNN is smoother.",
          "Rahaman, App. E.2, Fig. 22(e)",
          Predicate("input_space_frequency[last L] < knn_input_space_frequency[K] for every K",
                    _dnn_smoother_than_knn,
                    reads=("input_space_frequency", "knn_input_space_frequency")),
          presets=("paper",)),
    Claim("dnn-smoother-than-knn-quick", "The spectrum of the DNN's function decays faster than "
          "that of k-NN classifiers for every K considered: the DNN is smoother.",
          "Rahaman, App. E.2, Fig. 22(e)",
          Predicate("network < 1-NN's centroid, and network >= 0.9 x the largest K's",
                    _dnn_between_knn,
                    reads=("input_space_frequency", "knn_input_space_frequency")),
          presets=("quick",),
          finding="Not for every K at the quick preset: the network's map (k = 63, L = 16) is "
                  "smoother than the 1-NN's (2.48 vs 3.68 cycles/unit) but as smooth as the "
                  "5-NN's (2.47); at the paper's k it is smoother than every K (2.76 vs 4.6-5.3) "
                  "(docs/rahaman.md#knn)"),
]


@register_experiment(
    "rahaman-manifold",
    config=Config,
    description="Flower manifolds: more petals make high frequencies easier (regression and "
                "classification)",
    reproduces="Rahaman et al., Exp. 5-6, Figs. 7-9; App. E (k-NN)",
    claims=CLAIMS,
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
        _learned_functions(cfg, ctx, rc.model, pairs, z, dtype, plt)
    ctx.note(f"{len(labels)} regression runs ({len(Ls)} manifolds x {cfg.seeds} seeds) of a "
             f"{cfg.depth}x{cfg.width} ReLU MLP on {cfg.n_points} points, {cfg.steps} full-batch "
             "Adam steps; the spectrum is taken along the manifold coordinate z.")



def _learned_functions(cfg: Config, ctx: RunContext, model, pairs, z, dtype, plt) -> None:
    """Fig. 7 (the classifiers over the input plane) and App. E (k-NN on the same tasks)."""
    Ls, kc = list(cfg.petals), list(cfg.class_frequencies)
    k_star = kc[len(kc) // 2]
    side, G = 3.2, cfg.plane_grid
    g = (np.arange(G) + 0.5) / G * side - side / 2
    plane = np.stack(np.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    zm = z + 0.5 / z.size  # held-out points between the training points
    E = len(pairs)
    with torch.no_grad():
        logits = model(torch.tensor(plane, dtype=dtype).expand(E, -1, -1))
        held = (model(torch.tensor(np.array([flower(zm, L) for _, L in pairs]), dtype=dtype))
                > 0).to(torch.float64).numpy()
    Pn = torch.sigmoid(logits).double().numpy().reshape(E, G, G)
    freq: dict[str, float] = {}
    held_acc = np.zeros((len(kc), len(Ls)))
    for e, (kk, L) in enumerate(pairs):
        held_acc[kc.index(kk), Ls.index(L)] = float((held[e] == square_wave(zm, kk)).mean())
        if kk == k_star:
            freq[f"{L:g}"] = spectral_centroid(Pn[e], side)
    ctx.metric("input_space_frequency", freq)
    ctx.metric("heldout_mean_accuracy", {f"{L:g}": float(held_acc[:, j].mean())
                                         for j, L in enumerate(Ls)})

    fig, axes = plt.subplots(1, len(Ls), figsize=(3.3 * len(Ls), 3.3), squeeze=False)
    for ax, L in zip(axes[0], Ls, strict=True):
        e = pairs.index((k_star, L))
        ax.imshow(Pn[e], origin="lower", extent=(-side / 2, side / 2, -side / 2, side / 2),
                  cmap="coolwarm", vmin=0, vmax=1)
        curve = flower(np.linspace(0, 1, 2000), L)
        ax.plot(curve[:, 0], curve[:, 1], "k", lw=0.4)
        ax.set(title=f"L = {L:g} ({freq[f'{L:g}']:.2f} cycles/unit)", xticks=[], yticks=[])
    fig.suptitle(f"learned classifiers sigmoid(f(x)) over the input plane, k = {k_star:g}")
    fig.tight_layout()
    ctx.figure("learned_functions", fig, caption=(
        f"Fig. 7: the function learned for the target 1[sin(2 pi {k_star:g} z) > 0] on each "
        "flower, over the whole input plane (black: the manifold). With more petals the same "
        "target on the manifold is a smoother function of the input (spectral centroid in the "
        "titles)."))

    if not cfg.knn_neighbors:
        return
    knn_acc = {K: np.zeros((len(kc), len(Ls))) for K in cfg.knn_neighbors}
    knn_freq: dict[str, float] = {}
    for j, L in enumerate(Ls):
        train = flower(z, L)
        Dh = cdist(flower(zm, L), train)
        Dp = cdist(plane, train) if L == Ls[-1] else None
        for i, kk in enumerate(kc):
            lab = square_wave(z, kk)
            for K in cfg.knn_neighbors:
                vote = knn_vote(Dh, lab, K)
                knn_acc[K][i, j] = float(((vote > 0.5) == square_wave(zm, kk)).mean())
                if Dp is not None and kk == k_star:
                    knn_freq[str(K)] = spectral_centroid(knn_vote(Dp, lab, K).reshape(G, G),
                                                         side)
    ctx.metric("knn_mean_accuracy", {str(K): {f"{L:g}": float(A[:, j].mean())
                                              for j, L in enumerate(Ls)}
                                     for K, A in knn_acc.items()})
    ctx.metric("knn_input_space_frequency", knn_freq)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(Ls, held_acc.mean(0), "ko-", label="network")
    for K, A in knn_acc.items():
        axes[0].plot(Ls, A.mean(0), "s--", label=f"k-NN, K = {K}")
    axes[0].set(xlabel="petals L", ylabel="held-out accuracy (mean over k)",
                title="network vs k-NN on gamma_L (Fig. 22d)")
    axes[0].legend(fontsize=8)
    names = ["network"] + [f"K = {K}" for K in knn_freq]
    vals = [freq[f"{Ls[-1]:g}"]] + list(knn_freq.values())
    axes[1].bar(names, vals)
    axes[1].set(ylabel="spectral centroid (cycles / unit)",
                title=f"smoothness of the map, k = {k_star:g}, L = {Ls[-1]:g} (Fig. 22e)")
    fig.tight_layout()
    ctx.figure("knn", fig, caption=(
        "App. E: k-nearest-neighbour classifiers on the same targets. Left: held-out accuracy "
        "between the training points against L; right: the radial spectral centroid of the "
        "probability map over the plane (lower = smoother) of the network and of k-NN."))
