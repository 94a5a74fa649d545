"""Radon-spline paper, Exp. 3 (Fig. 9): shallow networks on MNIST in the adaptive regime.

Shallow networks ``f(x) = sum_k c_k act(s_k (theta_k . x - gamma_k))`` with ``c_k`` in ``R^10``
(docs/theory.md section 1) are trained with plain SGD and cross-entropy on MNIST, one per activation, all
from the same initial zero-planes and the same mini-batch order. Recorded (docs/theory.md section 4):

* train / test loss and accuracy (Fig. 9 (a)-(d));
* the zero-plane motion per step: W2 distance between consecutive zero-plane sets
  (Fig. 9 (e)) and the share of the total motion made in the first epoch;
* clustering: the cumulative curve of the sorted eigenvalue magnitudes of ``S = |Z Z^T|`` and
  its AUC (Fig. 9 (f)), against the AUC of K isotropic random planes in ``R^785`` (the
  baseline), the normalized score ``(AUC - baseline)/(1 - baseline)`` and the initialisation,
  and a few sorted similarity matrices (Fig. 9 (g));
* the total magnitude at radius of the final networks' Fourier transforms (Fig. 9 (h)).

An activation whose loss becomes non-finite is reported as diverged; one that trains but stays
below ``fail_accuracy`` training accuracy as failed to train (the paper: ReLU^3.5, Half-Exp).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from ..activations import activation
from ..zeroplanes import (
    cluster_order,
    clustering_auc,
    clustering_baseline,
    clustering_min_auc,
    motion_share,
    network_radial_magnitude,
    zero_plane_motion,
)
from . import RunContext, register_experiment
from ._blocks import (
    ActivationNames,
    MnistTraining,
    activation_colors,
    classify_status,
    eval_frame,
    flag_status,
    plot_curves,
    prepare_data,
    total_steps,
    train_one,
)

SIMILARITY_EXAMPLES = ["relu", "logistic", "sinc", "half_exp"]


class Config(MnistTraining):
    similarity_examples: ActivationNames = Field(
        default_factory=lambda: list(SIMILARITY_EXAMPLES), max_length=20,
        description="activations whose similarity matrices are drawn (those that trained)")
    n_radii: int = Field(200, ge=4, le=100_000, description="radii of the total magnitude at radius")
    r_max: float = Field(20.0, gt=0, description="largest radius")

@register_experiment(
    "radon-mnist",
    config=Config,
    description="Adaptive-regime shallow nets on MNIST: loss/accuracy, zero-plane motion, "
                "clustering AUC and total magnitude at radius per activation",
    reproduces="Radon-spline paper, Exp. 3, Fig. 9",
    presets={
        "quick": {},
        "paper": {"width": 256, "epochs": 10,
                  "batches_per_epoch": 25, "batch_size": 256, "eval_every": 1,
                  "similarity_examples": ["relu", "logistic", "sinc", "wavepacket"]},
    },
    demo=True,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    acts = list(dict.fromkeys(cfg.activations))
    train_data, test_data, source = prepare_data(cfg, ctx)
    steps, spe = total_steps(cfg), cfg.batches_per_epoch
    ctx.metric("data_source", source)
    ctx.note(f"Data: {source}.")

    radii = np.linspace(cfg.r_max / cfg.n_radii, cfg.r_max, cfg.n_radii)
    status: dict[str, str] = {}
    frames: dict[str, pd.DataFrame] = {}
    motions: dict[str, Any] = {}
    auc: dict[str, float] = {}
    share: dict[str, float] = {}
    total: dict[str, float] = {}
    eig_curves: dict[str, np.ndarray] = {}
    sims: dict[str, np.ndarray] = {}
    radial: dict[str, np.ndarray] = {}
    radial0: dict[str, np.ndarray] = {}
    auc_epochs: dict[str, list[float]] = {}
    final: dict[str, dict[str, float]] = {}
    norm: dict[str, float] = {}
    norm_epochs: dict[str, list[float]] = {}
    paper_auc: dict[str, float] = {}
    shape_change: dict[str, float] = {}
    diverged_step: dict[str, int] = {}
    init_auc: float | None = None
    init_cl = None
    evals: dict[str, tuple[Any, dict]] = {}
    for act in ctx.progress(acts, desc="activations"):
        net, res, zr, er, wall = train_one(act, cfg, ctx, train_data, test_data)
        ctx.timing(f"train_{act}", wall)
        evals[act] = (res, er)
        if res.diverged:
            diverged_step[act] = res.steps_done
        frames[act] = eval_frame(act, er)
        final[act] = {k: er[k][-1] for k in ("train_loss", "test_loss", "train_accuracy",
                                              "test_accuracy")}
        first, last = zr.at(0), zr.at(-1)
        init_cl = clustering_auc(first["theta"], -first["gamma"])
        init_auc = init_cl.auc
        a_obj = activation(act)
        radial0[act] = network_radial_magnitude(first["theta"], first["gamma"], first["s"],
                                                first["c"], a_obj, radii)
        if res.diverged:
            continue  # the last records blow up: no clustering/motion figures for it
        # analyse now, keep only the small results (the record of a wide net is large)
        with ctx.timer(f"motion_{act}"):
            motions[act] = zero_plane_motion(zr)
        total[act] = motions[act].total
        share[act] = motion_share(motions[act], spe)
        cl = clustering_auc(last["theta"], -last["gamma"])
        auc[act], eig_curves[act], sims[act] = cl.auc, cl.curve, cl.similarity
        norm[act] = cl.normalized_auc
        paper_auc[act] = clustering_auc(last["theta"], -last["gamma"], method="paper",
                                        baseline=False).auc
        ep_idx = [min(int(np.searchsorted(zr.step, e * spe)), len(zr) - 1)
                  for e in range(cfg.epochs + 1)]
        cls = [clustering_auc(zr.at(i)["theta"], -zr.gamma[i]) for i in ep_idx]
        auc_epochs[act] = [c.auc for c in cls]
        norm_epochs[act] = [c.normalized_auc for c in cls]
        radial[act] = network_radial_magnitude(last["theta"], last["gamma"], last["s"],
                                               last["c"], a_obj, radii)
        with np.errstate(divide="ignore"):
            lf, l0 = np.log10(radial[act]), np.log10(radial0[act])
        # compare shapes where both are within 8 decades of their peak
        ok = np.isfinite(lf) & np.isfinite(l0) & (lf > lf.max() - 8) & (l0 > l0.max() - 8)
        if ok.sum() >= 2:
            d = (lf - l0)[ok]
            shape_change[act] = float(np.sqrt(np.mean((d - d.mean()) ** 2)))
        del zr, net
    best = max((er["train_accuracy"][-1] for res, er in evals.values() if not res.diverged),
               default=0.0)
    for act, (res, er) in evals.items():
        st, msg = classify_status(res, er, cfg, best)
        status[act] = st
        flag_status(ctx, act, st, msg)

    # the expected AUC of K isotropic random planes in R^{784+1}, same spectrum (the baseline of
    # every clustering_auc result above: fixed-seed Monte Carlo, cached)
    dim = train_data[0].shape[1]
    baseline = clustering_baseline(cfg.width, dim)
    init_norm = init_cl.normalized_auc if init_cl is not None else float("nan")
    ctx.metric("status", status)
    ctx.metric("final", final)
    ctx.metric("train_accuracy", {a: f["train_accuracy"] for a, f in final.items()})
    ctx.metric("test_accuracy", {a: f["test_accuracy"] for a, f in final.items()})
    ctx.metric("diverged_at_step", diverged_step)
    ctx.metric("failed", sorted(a for a, s in status.items() if s != "ok"))
    ctx.metric("clustering_auc", auc)
    ctx.metric("clustering_auc_init", init_auc)
    ctx.metric("clustering_auc_random_baseline", baseline)
    ctx.metric("clustering_auc_min", clustering_min_auc(cfg.width, dim + 1))
    ctx.metric("clustering_auc_per_epoch", auc_epochs)
    ctx.metric("clustering_normalized", norm)
    ctx.metric("clustering_normalized_init", init_norm)
    ctx.metric("clustering_normalized_per_epoch", norm_epochs)
    ctx.metric("clustering_paper_form", {
        "auc": paper_auc,
        "random_baseline": clustering_baseline(cfg.width, dim, method="paper")})
    ctx.metric("first_epoch_motion_share", share)
    ctx.metric("uniform_motion_share", 1.0 / cfg.epochs)
    ctx.metric("total_motion", total)
    ctx.metric("radial_magnitude_shape_change", shape_change)
    ctx.metric("steps", steps)

    # ---------------------------------------------------------------- tables
    ctx.table("curves", pd.concat(frames.values(), ignore_index=True))
    if motions:
        ctx.table("motion", pd.concat([pd.DataFrame({"activation": a, "step": m.step,
                                                     "w2": m.w2, "reordered": m.reordered})
                                       for a, m in motions.items()], ignore_index=True))
        ctx.table("clustering", pd.concat([pd.DataFrame({"activation": a,
                                                         "j": np.arange(1, len(c) + 1),
                                                         "cumulative_eigenvalue": c})
                                           for a, c in eig_curves.items()], ignore_index=True))
    ctx.table("radial_magnitude", pd.concat(
        [pd.DataFrame({"activation": a, "r": radii, "M_init": radial0[a],
                       "M_final": radial.get(a, np.full_like(radii, np.nan))})
         for a in radial0], ignore_index=True))

    # ---------------------------------------------------------------- figures
    colors = activation_colors(acts)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    plot_curves(axes, frames, colors)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"Shallow nets on MNIST, SGD, K = {cfg.width} ({source})", fontsize=9)
    fig.tight_layout()
    ctx.figure("fig9_loss_accuracy", fig,
               caption="Fig. 9 (a)-(d): training and test loss and accuracy per activation "
                       "(same initial zero-planes and mini-batches for all).")

    if motions:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        still = [a for a, m in motions.items() if m.total == 0]
        for a, m in motions.items():
            if a in still:  # e.g. the step function: no gradient reaches its zero-planes
                continue
            ax1.plot(m.step, m.per_step, color=colors[a], lw=1, label=a)
            cum = np.cumsum(m.w2) / max(m.w2.sum(), 1e-300)
            ax2.plot(m.step, cum, color=colors[a], lw=1.3, label=f"{a} ({share[a]:.2f})")
        ax2.plot([0, steps], [0, 1], "k:", lw=1, label="uniform")
        ax2.axvline(spe, color="grey", ls="--", lw=1)
        ax1.set(yscale="log", xlabel="step", ylabel="W2 between consecutive zero-plane sets",
                title="Zero-plane motion per step"
                + (f" (no motion: {', '.join(still)})" if still else ""))
        ax2.set(xlabel="step", ylabel="cumulative share of motion",
                title="Share of motion (first-epoch share in legend)")
        for ax in (ax1, ax2):
            ax.grid(True, alpha=0.3)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        ctx.figure("fig9_motion", fig,
                   caption="Fig. 9 (e): W2 distance between consecutive zero-plane sets per step "
                           "(optimal matching); right: cumulative share, dashed line = end of "
                           "epoch 1. Curves above the dotted diagonal moved early.")

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        x = np.arange(1, cfg.width + 1) / cfg.width
        for a, c in eig_curves.items():
            ax1.plot(x, c, color=colors[a], lw=1.3,
                     label=f"{a} (AUC {auc[a]:.3f}, normalized {norm[a]:.2f})")
        ax1.plot(x, x, "k:", lw=1, label=f"flat spectrum ({(cfg.width + 1) / (2 * cfg.width):.3f})")
        ax1.axhline(1, color="grey", lw=0.5)
        ax1.set(xlabel="fraction of eigenvalues", ylabel="cumulative normalized |eigenvalue|",
                title=f"Clustering (init AUC {init_auc:.3f}, random planes {baseline:.3f})")
        ax1.legend(fontsize=7)
        for a, v in norm_epochs.items():
            ax2.plot(range(cfg.epochs + 1), v, "o-", color=colors[a], ms=3, label=a)
        ax2.axhline(0, color="k", ls=":", lw=1, label="random planes")
        ax2.axhline(1, color="grey", lw=0.5)
        ax2.set(xlabel="epoch", ylabel="(AUC - random) / (1 - random)",
                title="Normalized clustering score during training")
        ax2.legend(fontsize=7)
        for ax in (ax1, ax2):
            ax.grid(True, alpha=0.3)
        fig.tight_layout()
        ctx.figure("fig9_clustering", fig,
                   caption="Fig. 9 (f): cumulative sum of the sorted normalized eigenvalue "
                           "magnitudes of S = |Z Z^T| (Z = normalized augmented weights) and its "
                           "AUC; near 1 = clustered. Right: the normalized score (AUC - random) / "
                           "(1 - random) per epoch: 0 = as clustered as isotropic random planes "
                           "(same K and dimension), 1 = one tight cluster.")

        ex = [a for a in cfg.similarity_examples if a in sims][:4] or list(sims)[:4]
        fig, axes = plt.subplots(1, len(ex), figsize=(3.2 * len(ex), 3.3), squeeze=False)
        for ax, a in zip(axes[0], ex, strict=True):
            S = sims[a]
            o = cluster_order(S)
            off = S[~np.eye(len(S), dtype=bool)]
            vmax = float(np.quantile(off, 0.99)) if off.size else 1.0
            im = ax.imshow(S[np.ix_(o, o)], cmap="magma", vmin=0, vmax=max(vmax, 1e-3))
            ax.set(title=f"{a} (AUC {auc[a]:.3f}, norm. {norm[a]:.2f})", xticks=[], yticks=[])
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
        fig.tight_layout()
        ctx.figure("fig9_similarity", fig,
                   caption="Fig. 9 (g): similarity matrices |Z Z^T| of the final zero-planes, "
                           "rows/columns in hierarchical-clustering order: clusters of similar "
                           "zero-planes show as light blocks (colour scale up to the 99th "
                           "percentile of the off-diagonal entries).")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for a in radial0:
        if a in radial:
            ax.plot(radii, np.log10(np.maximum(radial[a], 1e-300)), color=colors[a], lw=1.3,
                    label=a)
        ax.plot(radii, np.log10(np.maximum(radial0[a], 1e-300)), ":", color=colors[a], lw=1)
    ax.set(xlabel="radius r", ylabel="log10 M(r)", ylim=(-8, 16),
           title="Total magnitude at radius (solid: trained, dotted: init)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ctx.figure("fig9_radial_magnitude", fig,
               caption="Fig. 9 (h): log total magnitude at radius of the trained networks' "
                       "Fourier transforms (sum over the Dirac lines xi = omega theta_k; units "
                       "with parallel normals would interfere). Dotted: at initialisation.")

    ok = [a for a in acts if status[a] == "ok"]
    bad = [f"{a}: {status[a].replace('_', ' ')}" for a in acts if status[a] != "ok"]
    ctx.note(f"{len(ok)} of {len(acts)} activations trained" + (f"; {', '.join(bad)}." if bad else "."))
    if "relu" in auc:
        ctx.note(f"ReLU clustering AUC {auc['relu']:.3f} vs {init_auc:.3f} at initialisation and "
                 f"{baseline:.3f} for isotropic random planes: normalized score "
                 f"{norm['relu']:.2f} (init {init_norm:.2f}; 0 = random, 1 = one tight cluster); "
                 f"first-epoch share of the motion {share['relu']:.2f} (uniform: "
                 f"{1 / cfg.epochs:.2f}).")
    ctx.note("Epoch = batches_per_epoch mini-batches. Zero-plane motion uses the chordal "
             "distance on the cylinder, d^2 = |theta - theta'|^2 + (gamma - gamma')^2.")
