"""Radon-spline paper, Sec. IV-A and Figs. 3-5: datapoint pinning of breaklines in 2D.

A shallow ReLU network ``f(x) = sum_k c_k relu(s_k (theta_k . x - gamma_k))`` is trained in the
adaptive regime (all of ``c, theta, gamma, s``; docs/theory.md sections 1 and 4) on a toy set of three
points in the plane. Each unit's breakline ``theta_k . x = gamma_k`` is a point
``(phi_k, gamma_k)`` of the cylinder (``theta_k = (cos phi_k, sin phi_k)``); the breaklines through
data point ``x_n`` form the curve ``gamma = x_n . (cos phi, sin phi)`` on it, along which the
loss has "valley floors" (Sec. IV-A1): a breakline that reaches one is pinned to the point and
can only rotate about it. The experiment records every unit's zero-plane during training and
reports the fraction of units pinned to a datapoint at the end (against the chance level at
initialisation), how far pinned breaklines rotated, and the clustering AUC beside the AUC of
random planes (K planes in R^3) and the normalized score. The same networks with other
activations (``compare_activations``, default SoftPlus: Sec. IV-C says its clusters are looser
and only "softly" pinned) are trained on the first ``compare_replicates`` initialisations and
compared with the main activation on those: pinned fraction, median distance of a breakline to
its nearest datapoint, normalized clustering score.

By default the network is trained as usual, in the standard parameterization
``v relu(w . x + b)`` (``theta = w/|w|``, ``gamma = -b/|w|``), from small input weights
``|w_k| = scale`` and zero output weights: the rich end of the kernel-adaptive spectrum (docs/theory.md
section 1), where the breaklines move a long way before the output weights fit the three
points. The paper (Sec. IV-B) shows that these dynamics admit the same pinning as training
``(theta, gamma)`` directly (``parameterization="radon"``, where ``zero_plane_lr_ratio`` sets
how fast the breaklines move relative to ``c``).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator

from ..activations import activation
from ..callbacks import ZeroPlaneRecorder
from ..claims import AtLeast, Claim, Predicate
from ..regimes import shallow_net, train_regime
from ..training import LossRecorder
from ..zeroplanes import (
    clustering_auc,
    clustering_baseline,
    datapoint_pinning,
    normalized_clustering,
)
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationName, ActivationNames

DEFAULT_POINTS = [[-0.6, -0.4], [0.7, -0.3], [0.1, 0.7]]
DEFAULT_TARGETS = [1.0, -0.5, 0.8]


def _pair(m, key: str):
    """``by_activation.{relu, softplus}.key``."""
    b = m["by_activation"]
    return {"relu": b["relu"][key], "softplus": b["softplus"][key]}


CLAIMS = [
    Claim("pinning", "Breaklines are attracted to datapoints and stay pinned to them.",
          "Radon-spline paper, Sec. IV-A1, Fig. 5",
          Predicate("pinned_fraction >= pinned_fraction_initial + 0.1",
                    lambda m: (m["pinned_fraction"] >= m["pinned_fraction_initial"] + 0.1,
                               {"pinned": m["pinned_fraction"],
                                "initial (chance)": m["pinned_fraction_initial"]}),
                    reads=("pinned_fraction", "pinned_fraction_initial")),
          paper_value="pinned"),
    Claim("rotation", "A pinned breakline can still rotate about its datapoint.",
          "Radon-spline paper, Sec. IV-A1", AtLeast("rotation_while_pinned_deg.max", 5.0),
          paper_value="rotates"),
    Claim("clustering", "Breaklines form (soft) clusters during training.",
          "Radon-spline paper, Sec. IV-B",
          Predicate("clustering_normalized_final >= clustering_normalized_init + 0.05",
                    lambda m: (m["clustering_normalized_final"]
                               >= m["clustering_normalized_init"] + 0.05,
                               {"final": m["clustering_normalized_final"],
                                "init": m["clustering_normalized_init"]}),
                    reads=("clustering_normalized_final", "clustering_normalized_init"))),
    Claim("softplus-softly-pinned", "SoftPlus breaklines are only softly pinned to datapoints "
          "(ReLU's are pinned).", "Radon-spline paper, Sec. IV-C",
          Predicate("by_activation softplus pinned_fraction <= relu's / 2",
                    lambda m: (m["by_activation"]["softplus"]["pinned_fraction"]
                               <= m["by_activation"]["relu"]["pinned_fraction"] / 2,
                               _pair(m, "pinned_fraction")),
                    reads=("by_activation.relu.pinned_fraction",
                           "by_activation.softplus.pinned_fraction")),
          paper_value="softly pinned"),
    Claim("softplus-looser-clusters", "SoftPlus leads to looser clusters than ReLU.",
          "Radon-spline paper, Sec. IV-C",
          Predicate("by_activation softplus clustering_normalized_final >= relu's",
                    lambda m: (m["by_activation"]["softplus"]["clustering_normalized_final"]
                               >= m["by_activation"]["relu"]["clustering_normalized_final"],
                               _pair(m, "clustering_normalized_final")),
                    reads=("by_activation.relu.clustering_normalized_final",
                           "by_activation.softplus.clustering_normalized_final")),
          paper_value="looser",
          finding="By the normalized spectral score SoftPlus breaklines cluster more tightly "
                  "than ReLU's (quick, first two initialisations: 0.96 vs 0.42): with small "
                  "input weights SoftPlus is "
                  "nearly linear over the data, the units get nearly the same gradient and end "
                  "as one bundle of near-parallel lines passing between the points instead of "
                  "through them. Looser is true of their pinning, not of their clustering "
                  "(docs/adaptive.md#softplus-against-relu)"),
]


class Config(ExperimentConfig):
    points: list[list[float]] = Field(default_factory=lambda: [list(p) for p in DEFAULT_POINTS],
                                      max_length=1000, description="training inputs (N x 2)")
    targets: list[float] = Field(default_factory=lambda: list(DEFAULT_TARGETS),
                                 max_length=1000, description="training targets (N)")
    activation: ActivationName = Field("relu", description="activation")
    compare_activations: ActivationNames = Field(
        default_factory=lambda: ["softplus"], max_length=10,
        description="activations trained on the same initialisations for comparison")
    compare_replicates: int = Field(2, ge=1, le=100,
                                    description="replicates of each comparison activation")
    width: int = Field(16, ge=1, le=1024, description="hidden width K")
    steps: int = Field(5000, ge=1, le=10_000_000, description="full-batch SGD steps")
    parameterization: Literal["standard", "radon"] = Field(
        "standard", description="train (v, w, b) or (c, theta, gamma, s)")
    lr: float = Field(0.05, gt=0, description="learning rate of the output weights")
    zero_plane_lr_ratio: float = Field(1.0, ge=0, description="zero-plane lr / output lr")
    scale: float = Field(0.05, gt=0, description="initial s_k = |w_k|")
    gamma_range: float = Field(1.0, ge=0, description="initial gamma_k ~ U(-range, range)")
    c_init: Literal["zeros", "normal"] = Field("zeros", description="initial output weights")
    record_every: int = Field(10, ge=1, description="zero-plane record every n steps")
    tol: float = Field(0.02, gt=0, description="pinning tolerance (distance point-line)")
    window: float = Field(0.2, gt=0, le=1, description="final fraction of records a pinned "
                                                       "breakline must stay within tol")
    replicates: int = Field(4, ge=1, le=100, description="independent initialisations")
    frames: int = Field(40, ge=2, le=1000, description="breakline snapshots drawn in the figure")
    fail_loss_ratio: float = Field(
        0.5, gt=0, le=1, description="a replicate failed to learn when its final training loss "
                                     "is above this fraction of its initial loss")

    @model_validator(mode="after")
    def _shapes(self):
        if any(len(p) != 2 for p in self.points) or len(self.points) < 1:
            raise self.invalid("points", "be a non-empty list of [x, y] pairs", self.points)
        if len(self.targets) != len(self.points):
            raise self.invalid("targets", f"have {len(self.points)} entries, one per point",
                               self.targets)
        return self

    def memory_estimate(self):
        # every replicate's zero-plane record (raw float64 weights, cylinder coordinates on
        # access) and its point-line distances, kept until the figures are drawn
        records = self.steps // self.record_every + 2
        per = 8.0 * self.width * (9 + 2 * len(self.points))
        return {"record_every": (self.replicates * records * per,
                                 "replicates x (steps / record_every + 1) records x width x "
                                 "(9 + 2 N points) x 8 bytes")}


def _train(cfg, ctx, rep: int, X, y, act: str | None = None):
    g = ctx.torch_generator(100 + rep)
    net = shallow_net(2, cfg.width, act or cfg.activation, generator=g, scale=cfg.scale,
                      gamma_range=cfg.gamma_range, c_init=cfg.c_init, dtype=torch.float64,
                      parameterization=cfg.parameterization)
    zrec, lrec = ZeroPlaneRecorder(every=cfg.record_every), LossRecorder(every=cfg.record_every)
    res = train_regime(net, (X, y), cfg.steps, regime="adaptive", lr=cfg.lr, optimizer="sgd",
                       zero_plane_lr_ratio=cfg.zero_plane_lr_ratio, callbacks=[zrec, lrec],
                       progress=False)
    return res, zrec.record, lrec.record


def loss_landscape(record, k: int, X: np.ndarray, y: np.ndarray, act, phi, gam):
    """MSE as a function of unit ``k``'s breakline ``(phi, gamma)`` with every other parameter
    at its final value (paper, Sec. IV-A: ``L_k`` is piecewise quadratic, with pieces bounded by
    the datapoint curves ``gamma = x_n . theta(phi)``)."""
    th, ga, s, c = record.theta[-1], record.gamma[-1], record.s[-1], record.c[-1]
    others = [j for j in range(th.shape[0]) if j != k]
    base = (act(s[others][None, :] * (X @ th[others].T - ga[others][None, :])) * c[others]).sum(1)
    P, G = np.meshgrid(phi, gam)
    proj = X[:, 0][:, None, None] * np.cos(P)[None] + X[:, 1][:, None, None] * np.sin(P)[None]
    fk = c[k] * act(s[k] * (proj - G[None]))
    return np.mean((base[:, None, None] + fk - y[:, None, None]) ** 2, axis=0)


@register_experiment(
    "radon-pinning",
    config=Config,
    description="Breaklines of a ReLU shallow net on 3 points in 2D: trajectories on the "
                "cylinder, datapoint pinning, clustering",
    reproduces="Radon-spline paper, Sec. IV-A, Figs. 3-5",
    presets={"quick": {}, "paper": {"replicates": 20, "steps": 10000}},
    demo=True,
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    act = activation(cfg.activation)
    X = torch.tensor(cfg.points, dtype=torch.float64)
    y = torch.tensor(cfg.targets, dtype=torch.float64)
    Xn, yn = X.numpy(), y.numpy()
    runs, pins, rows = [], [], []
    for rep in ctx.progress(range(cfg.replicates), desc="replicates"):
        res, zr, lr_ = _train(cfg, ctx, rep, X, y)
        if res.diverged:
            ctx.mark_diverged(f"replicate {rep}", res.message)
        elif not res.final_loss <= cfg.fail_loss_ratio * lr_["loss"][0]:
            ctx.mark_failed(f"replicate {rep}",
                            f"final training MSE {res.final_loss:.3g} is not below "
                            f"{cfg.fail_loss_ratio:g} x the initial {lr_['loss'][0]:.3g}: the "
                            "network did not learn (try another lr or more steps)")
        p = datapoint_pinning(zr, Xn, tol=cfg.tol, window=cfg.window)
        runs.append((res, zr, lr_))
        pins.append(p)
        newly = float(np.mean((p.pinned_to >= 0) & ~p.pinned[0].any(axis=1)))
        cl0, cl1 = (clustering_auc(zr.theta[i], -zr.gamma[i]) for i in (0, -1))
        paper1 = clustering_auc(zr.theta[-1], -zr.gamma[-1], method="paper", baseline=False)
        rows.append({"replicate": rep, "final_loss": res.final_loss, "pinned_fraction": p.fraction,
                     "pinned_fraction_initial": p.fraction_initial,
                     "pinned_fraction_new": newly,
                     "through_two_points": p.through_two,
                     "auc_init": cl0.auc, "auc_final": cl1.auc,
                     "auc_normalized_init": cl0.normalized_auc,
                     "auc_normalized_final": cl1.normalized_auc,
                     "auc_paper_form_final": paper1.auc,
                     "mean_rotation_deg": float(np.degrees(p.rotation[p.pinned_to >= 0].mean()))
                     if p.fraction > 0 else 0.0})
    df = pd.DataFrame(rows)
    ctx.table("replicates", df)
    rot = np.concatenate([p.rotation[p.pinned_to >= 0] for p in pins])
    # the expected AUC of K isotropic random planes in R^3, same spectrum (fixed-seed Monte Carlo)
    baseline = clustering_baseline(cfg.width, 2)
    paper_baseline = clustering_baseline(cfg.width, 2, method="paper")
    auc_final, auc_init = float(df["auc_final"].mean()), float(df["auc_init"].mean())
    ctx.metric("pinned_fraction", float(df["pinned_fraction"].mean()))
    ctx.metric("pinned_fraction_initial", float(df["pinned_fraction_initial"].mean()))
    ctx.metric("pinned_fraction_new", float(df["pinned_fraction_new"].mean()))
    ctx.metric("pinned_fraction_per_replicate", df["pinned_fraction"].tolist())
    ctx.metric("pinned_units", int(sum(int((p.pinned_to >= 0).sum()) for p in pins)))
    ctx.metric("units_through_two_points", int(df["through_two_points"].sum()))
    ctx.metric("rotation_while_pinned_deg", {"mean": float(np.degrees(rot.mean())) if rot.size else 0.0,
                                             "max": float(np.degrees(rot.max())) if rot.size else 0.0})
    ctx.metric("clustering_auc_final", auc_final)
    ctx.metric("clustering_auc_init", auc_init)
    ctx.metric("clustering_auc_random_baseline", baseline)
    ctx.metric("clustering_normalized_final", normalized_clustering(auc_final, baseline))
    ctx.metric("clustering_normalized_init", normalized_clustering(auc_init, baseline))
    ctx.metric("clustering_paper_form", {"auc_final": float(df["auc_paper_form_final"].mean()),
                                         "random_baseline": paper_baseline})
    ctx.metric("final_loss", float(df["final_loss"].max()))

    # ---------------------------------------------------------------- other activations
    n_cmp = min(cfg.compare_replicates, cfg.replicates)
    by_act = {cfg.activation: _compare_row(df.iloc[:n_cmp], pins[:n_cmp])}
    for other in dict.fromkeys(a for a in cfg.compare_activations if a != cfg.activation):
        o_rows, o_pins = [], []
        for rep in ctx.progress(range(n_cmp), desc=other):
            res_o, zr_o, _ = _train(cfg, ctx, rep, X, y, act=other)
            if res_o.diverged:
                ctx.mark_diverged(f"{other} replicate {rep}", res_o.message)
            p_o = datapoint_pinning(zr_o, Xn, tol=cfg.tol, window=cfg.window)
            o_pins.append(p_o)
            o_rows.append({"final_loss": res_o.final_loss,
                           "auc_normalized_final": clustering_auc(
                               zr_o.theta[-1], -zr_o.gamma[-1]).normalized_auc})
        by_act[other] = _compare_row(pd.DataFrame(o_rows), o_pins)
    ctx.metric("by_activation", by_act)
    ctx.metric("compare_replicates", n_cmp)

    # ---------------------------------------------------------------- Fig. 5: breaklines, cylinder, loss
    res, zr, lrec = runs[0]
    p = pins[0]
    T, K = zr.gamma.shape
    frames = np.unique(np.linspace(0, T - 1, min(cfg.frames, T)).round().astype(int))
    cmap = plt.get_cmap("viridis")
    tnorm = zr.step / max(zr.step[-1], 1)
    fig, axes = plt.subplots(2, 2, figsize=(11, 9.5))
    ax = axes[0, 0]
    segs, cols = [], []
    for t in frames:
        for k in range(K):
            th, ga = zr.theta[t, k], zr.gamma[t, k]
            p0, d = ga * th, np.array([-th[1], th[0]])
            segs.append([p0 - 4 * d, p0 + 4 * d])
            cols.append(tnorm[t])
    lc = LineCollection(segs, cmap=cmap, linewidths=0.6, alpha=0.5)
    lc.set_array(np.asarray(cols))
    ax.add_collection(lc)
    for k in range(K):
        th, ga = zr.theta[-1, k], zr.gamma[-1, k]
        p0, d = ga * th, np.array([-th[1], th[0]])
        pinned = p.pinned_to[k] >= 0
        ax.plot(*np.array([p0 - 4 * d, p0 + 4 * d]).T, color="crimson" if pinned else "k",
                lw=1.8 if pinned else 0.8, ls="-" if pinned else "--")
    ax.scatter(Xn[:, 0], Xn[:, 1], s=120, c="orange", edgecolors="k", zorder=5, marker="*")
    ax.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), aspect="equal",
           title=f"Breaklines over time (final: red = pinned, {int((p.pinned_to >= 0).sum())}/{K})")
    fig.colorbar(lc, ax=ax, label="training time (fraction)")

    ax = axes[0, 1]
    phi = np.arctan2(zr.theta[..., 1], zr.theta[..., 0])
    sc = ax.scatter(phi.ravel(), zr.gamma.ravel(), c=np.repeat(tnorm, K), cmap=cmap, s=2)
    ax.scatter(phi[0], zr.gamma[0], marker="o", facecolors="none", edgecolors="k", s=30,
               label="start")
    ax.scatter(phi[-1], zr.gamma[-1], marker="x", c="crimson", s=30, label="end")
    grid = np.linspace(-np.pi, np.pi, 400)
    for n, xn in enumerate(Xn):
        ax.plot(grid, xn[0] * np.cos(grid) + xn[1] * np.sin(grid), "--", color="orange", lw=1.2,
                label="breaklines through a datapoint" if n == 0 else None)
    ax.set(xlabel=r"$\phi$ ($\theta = (\cos\phi, \sin\phi)$)", ylabel=r"$\gamma$",
           xlim=(-np.pi, np.pi), title="Zero-planes on the (unrolled) cylinder")
    ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(sc, ax=ax, label="training time (fraction)")

    ax = axes[1, 0]
    for rep, (_, _, lrr) in enumerate(runs):
        ax.semilogy(lrr["step"], np.maximum(lrr["loss"], 1e-32), lw=1.2, label=f"replicate {rep}")
    ax.set(xlabel="step", ylabel="MSE", title="Training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)

    ax = axes[1, 1]
    for k in np.flatnonzero(p.pinned_to >= 0).tolist():
        ax.semilogy(zr.step, np.maximum(np.abs(p.distance[:, k, p.pinned_to[k]]), 1e-16), lw=1.2,
                    label=f"unit {k} -> point {p.pinned_to[k]} (turned {math.degrees(p.rotation[k]):.1f} deg)")
    ax.axhline(cfg.tol, color="k", ls=":", lw=1, label="tolerance")
    ax.set(xlabel="step", ylabel=r"$|\theta_k \cdot x_n - \gamma_k|$",
           title="Distance of pinned breaklines to their datapoint")
    ax.grid(True, alpha=0.3)
    if np.any(p.pinned_to >= 0):
        ax.legend(fontsize=7)
    fig.tight_layout()
    ctx.figure("fig5_breaklines", fig,
               caption="Fig. 5: breaklines over training (colour = time) with the three datapoints "
                       "(stars); the same zero-planes on the unrolled cylinder, where the dashed "
                       "curves are the breaklines through each datapoint (pinned planes end on "
                       "them); training loss; distance of each pinned breakline to its point.")

    # ---------------------------------------------------------------- Figs. 3-4: loss landscape of one unit
    pinned_units = np.flatnonzero(p.pinned_to >= 0)
    if pinned_units.size:
        k = int(pinned_units[np.argmax(p.rotation[pinned_units])])
        pk, gk = float(phi[-1, k]), float(zr.gamma[-1, k])
        phis = np.linspace(pk - 0.8, pk + 0.8, 241)
        gams = np.linspace(gk - 0.6, gk + 0.6, 181)
        L = np.log10(loss_landscape(zr, k, Xn, yn, act, phis, gams) + 1e-12)
        fig, ax = plt.subplots(figsize=(7, 4.8))
        im = ax.pcolormesh(phis, gams, L, cmap="cividis", shading="auto")
        ax.contour(phis, gams, L, levels=25, colors="w", linewidths=0.4, alpha=0.6)
        fig.colorbar(im, ax=ax, label=r"log10 MSE")
        for n, xn in enumerate(Xn):
            ax.plot(phis, xn[0] * np.cos(phis) + xn[1] * np.sin(phis), "--", color="orange",
                    lw=1.2, label="breaklines through a datapoint" if n == 0 else None)
        traj = np.angle(np.exp(1j * (phi[:, k] - pk))) + pk  # unwrap around the end point
        ax.plot(traj, zr.gamma[:, k], ".-", color="crimson", ms=2, lw=0.6,
                label=f"unit {k} trajectory")
        ax.plot(pk, gk, "x", color="w", ms=9, mew=2)
        ax.set(xlabel=r"$\phi_k$", ylabel=r"$\gamma_k$", xlim=(phis[0], phis[-1]),
               ylim=(gams[0], gams[-1]),
               title=f"Loss over unit {k}'s breakline, all else final (pinned to point {p.pinned_to[k]})")
        ax.legend(fontsize=7, loc="upper right")
        ctx.figure("fig4_landscape", fig,
                   caption="Figs. 3-4: the loss as a function of one pinned unit's breakline "
                           "(phi, gamma) near its final position (white x), with the curves of "
                           "breaklines through each datapoint (dashed; the loss is piecewise smooth "
                           "with creases along them). The unit's trajectory reaches its "
                           "datapoint's curve, then slides along it: the breakline rotates about "
                           "the point (pinning).")

    ctx.note(f"{ctx.metrics['pinned_units']} of {K * cfg.replicates} units "
             f"({100 * ctx.metrics['pinned_fraction']:.1f}%) end pinned to a datapoint (within "
             f"{cfg.tol:g} over the last {100 * cfg.window:.0f}% of training), against "
             f"{100 * ctx.metrics['pinned_fraction_initial']:.1f}% within {cfg.tol:g} at "
             f"initialisation (chance); {100 * ctx.metrics['pinned_fraction_new']:.1f}% of the "
             "units were not near a datapoint at the start and moved onto one.")
    if len(by_act) > 1:
        ctx.note(f"Over the first {n_cmp} initialisations: " + "; ".join(
            f"{a}: {100 * v['pinned_fraction']:.0f}% pinned, median distance of a breakline to "
            f"its nearest datapoint {v['median_point_distance']:.3g}, normalized clustering "
            f"{v['clustering_normalized_final']:.2f}" for a, v in by_act.items()) + ".")
    ctx.note(f"Clustering AUC {auc_final:.3f} at the end, {auc_init:.3f} at initialisation, "
             f"{baseline:.3f} for {cfg.width} isotropic random planes in R^3: normalized score "
             f"{normalized_clustering(auc_final, baseline):.2f} (0 = random, 1 = one tight "
             "cluster). In R^3 any K > 3 planes have a concentrated spectrum, so the raw AUC is "
             "high even for random planes: compare the normalized score. The paper's signed form "
             f"gives {df['auc_paper_form_final'].mean():.3f} against {paper_baseline:.3f} for "
             "random planes (it overshoots 1 when planes outnumber dimensions).")


def _compare_row(df: pd.DataFrame, pins) -> dict[str, float]:
    """Pinning and clustering of some replicates of one activation (means over them)."""
    dist = np.concatenate([np.abs(p.distance[-1]).min(axis=1) for p in pins])
    return {"pinned_fraction": float(np.mean([p.fraction for p in pins])),
            "pinned_fraction_initial": float(np.mean([p.fraction_initial for p in pins])),
            "median_point_distance": float(np.median(dist)),
            "clustering_normalized_final": float(df["auc_normalized_final"].mean()),
            "final_loss": float(df["final_loss"].max())}
