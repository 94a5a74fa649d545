"""Radon-spline paper, Table II / Experiment 1: kernel-regime gradient descent vs the convex fit.

Points uniform in the cube ``[-1, 1]^3``; the network predicts the third coordinate from the
first two. Wide shallow networks ``f(x) = sum_k c_k act(s (theta_k . x - gamma_k))`` with
``theta_k`` evenly spaced on the circle, ``gamma_k ~ U(-sqrt 2, sqrt 2)``, ``c = 0``, trained in
the kernel regime (zero-planes frozen; docs/theory.md sections 1 and 3) with full-batch Adam
(the paper's; also GD / Nesterov) until a training budget (MSE ``target_mse``; the target's
variance is 1/3) or a step budget. Then the convex problem of Eq. 4,
``min |c|^2 s.t. mean (Phi c - y)^2 <= eps`` with ``eps`` the MSE GD reached, is solved exactly
by :func:`specbias.kernel_fit` and (on some replications) by CVXPY, the paper's solver.

Metric (paper's definition): mean ``|f_GD - f_convex|`` over the convex hull of the training
inputs divided by ``max |f_GD|`` there, mean and std over replications; ``train_r2`` (fraction of
the target variance GD explains) says how far each fit got, and the median / max metrics use
only fits that reached the budget. Wall times of GD, CVXPY and ``kernel_fit`` are recorded as
timings, and their ratio convex / GD as the metric ``convex_over_gd_time`` (a wall-time ratio:
not reproducible to the bit, unlike the other metrics).

The activation specs with a network scale and the kernel-regime network are shared with
``radon-targets`` (:mod:`specbias.experiments._blocks`); the training loop is
:func:`specbias.regimes.train_kernel_regime`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator

from .._validation import ParameterError
from ..activations import Activation
from ..claims import AllAtLeast, AtMost, Between, Claim, Predicate
from ..kernel import kernel_fit
from ..regimes import train_kernel_regime
from ..training import single_threaded
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import TABLE2_ACTIVATIONS, ActivationSpecs, kernel_net, parse_spec

OPTIMIZERS = ["gd", "nesterov", "adam"]
Spec = tuple[str, Activation, float]  # (spec, activation, network scale s)


def cube_data(rng: np.random.Generator, n: int,
              half_width: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Experiment 1's data: ``n`` points uniform in the cube ``[-h, h]^3``; inputs the first two
    coordinates, target the third."""
    P = rng.uniform(-half_width, half_width, size=(n, 3))
    return P[:, :2], P[:, 2]


def hull_grid(X: np.ndarray, n: int) -> np.ndarray:
    """The points of an ``n x n`` grid over the bounding box of ``X`` inside its convex hull."""
    from scipy.spatial import Delaunay

    lo, hi = X.min(0), X.max(0)
    g1, g2 = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    G = np.stack(np.meshgrid(g1, g2, indexing="ij"), -1).reshape(-1, 2)
    return G[Delaunay(X).find_simplex(G) >= 0]


def relative_error(f_gd: np.ndarray, f_convex: np.ndarray) -> float:
    """The paper's Table II metric: mean ``|f_GD - f_convex|`` over the convex hull of the
    training inputs divided by ``max |f_GD|`` there."""
    den = float(np.max(np.abs(f_gd)))
    return float(np.mean(np.abs(f_gd - f_convex)) / den) if den > 0 else math.nan


# ----------------------------------------------------------------------------- experiment

#: The quick preset's activations: those whose Adam fits of Experiment 1's random targets reach
#: the training budget (MSE 1e-3, ~99.7% of the target variance) within 2 x 10^4 steps at N = 20.
#: ReLU^2, ReLU^3.5, the sigmoids, Cauchy, sinc(s=1) and wavepacket(w0=2) need 10^4 - 10^6+
#: steps (docs/radon.md, "Table II"); the paper preset has them all.
QUICK_ACTIVATIONS = ["step", "relu", "sinc(s=4)", "sinc(s=16)", "wavepacket(w0=8)", "half_exp",
                     "oberhettinger"]
#: The Table II relative errors the paper's text states (the rest of the table was lost).
PAPER_REPORTED = {"power_relu(a=3.5)": 6.49, "sinc(s=16)": 7.07}
#: Activations the paper names as "convex optimization faster" (slow GD: ReLU family, sigmoids,
#: Cauchy) and "convex optimization slower" (fast GD) whose identity our zoo shares; the sinc
#: and wavepacket parameters and the Oberhettinger pair are lost, so they are left out.
SLOW_GD = ("relu", "relu2", "power_relu(a=3.5)", "logistic", "arctan", "erf", "cauchy")
FAST_GD = ("step", "half_exp")
#: Adam's learning rate when the config leaves it open (the paper gives none: PyTorch's default).
ADAM_LR = 1e-3


class Config(ExperimentConfig):
    n_points: int = Field(20, ge=4, le=20000, description="training points N")
    width: int = Field(1000, ge=4, le=20000, description="hidden width K")
    replications: int = Field(3, ge=1, le=50, description="independent data draws")
    activations: ActivationSpecs = Field(default_factory=lambda: list(QUICK_ACTIVATIONS),
                                   min_length=1, max_length=100,
                                   description="activation specs, e.g. 'sinc(s=4)'")
    optimizer: str = Field("adam", description="adam (the paper's), gd or nesterov (GD with "
                           "momentum)")
    lr: float | None = Field(None, gt=0, description="adam: learning rate (None: 1e-3, "
                             "PyTorch's default); gd/nesterov: multiple of 1/L (None: 1)")
    momentum: float = Field(0.99, ge=0, lt=1, description="Nesterov momentum")
    target_mse: float = Field(1e-3, gt=0, description="training budget: stop at this training "
                              "MSE (the target's variance is 1/3)")
    max_steps: int = Field(20000, ge=1, le=10_000_000, description="step budget per training run")
    gamma_range: float = Field(math.sqrt(2), gt=0, description="gamma ~ U(-r, r)")
    hull_grid: int = Field(80, ge=10, le=1000, description="grid size for the hull average")
    cvxpy_replications: int = Field(3, ge=0, le=50, description="replications also solved by CVXPY")
    fit_figure: ActivationSpecs = Field(
        default_factory=lambda: ["step", "relu", "sinc(s=4)", "half_exp"], max_length=16,
        description="activations whose fits are drawn")

    @model_validator(mode="after")
    def _known_optimizer(self):
        if self.optimizer not in OPTIMIZERS:
            raise self.invalid("optimizer", f"be one of {OPTIMIZERS}", self.optimizer)
        return self

    def learning_rate(self) -> float:
        """``lr``, or its default for the optimizer."""
        if self.lr is not None:
            return self.lr
        return ADAM_LR if self.optimizer == "adam" else 1.0

    def memory_estimate(self):
        # float64 features of the training points (with temporaries and the SVD of kernel_fit)
        # and of the hull grid; the fit figure evaluates 120 x 120 points
        return {**self.memory_total({
            "n_points": (5 * 8.0 * self.n_points * self.width, "5 x n_points x width x 8 bytes"),
            "hull_grid": (3 * 8.0 * self.hull_grid**2 * self.width,
                          "3 x hull_grid^2 x width x 8 bytes"),
        }), "width": (3 * 8.0 * 120**2 * self.width, "3 x 120^2 x width x 8 bytes")}


def _timing_order(m: Mapping[str, Any]) -> tuple[bool, Any]:
    """Every slow-GD activation's convex/GD wall-time ratio is below every fast-GD one's."""
    r = m["convex_over_gd_time"]
    slow = {a: r[a] for a in SLOW_GD if a in r}
    fast = {a: r[a] for a in FAST_GD if a in r}
    if not slow or not fast:
        raise KeyError("convex_over_gd_time needs one activation of each group")
    return max(slow.values()) < min(fast.values()), {**slow, **fast}


CLAIMS = [
    Claim("budget-reached",
          "GD (full-batch Adam, kernel regime) is trained to a fixed training error before the "
          "comparison (the paper's budget is lost in the text; ours: MSE 1e-3, 99.7% of the "
          "target variance).",
          "Radon, Sec. V-A, Exp. 1",
          AllAtLeast("reached_target_frac", 1.0), paper_value="all but ReLU3.5 reach it",
          presets=("quick",)),
    Claim("few-percent",
          "Relative errors of a few percentage points are typical (median over the activations "
          "whose fits reach the budget).",
          "Radon, Sec. V-A, Table II",
          AtMost("median_rel_error_pct", 5.0), paper_value="a few percent"),
    Claim("largest",
          "Even the largest relative errors (ReLU3.5, the most oscillatory sinc) stay at 6.49% "
          "and 7.07% (largest over the activations whose fits reach the budget).",
          "Radon, Sec. V-A, Table II",
          Between("max_rel_error_pct", 7.07, 12.0), paper_value="6.49%, 7.07%",
          finding="Our largest is 8.0% (the most oscillatory sinc, s = 16, as in the paper), a "
                  "point above the paper's 7.07%; with Adam (lr 1e-3) every activation sits at "
                  "3.7-8.0%. The excess is Adam's: its iterates leave the features' row space; "
                  "Nesterov GD at the same budget stays at 0.7-3.5% (docs/radon.md#table-ii)."),
    Claim("timing-order",
          "The convex optimization is faster than GD for the ReLU family, sigmoids and Cauchy, "
          "slower for step and half-exp (wall-time ratio convex / GD, CVXPY where it ran, "
          "else kernel_fit; checked as an ordering).",
          "Radon, Sec. V-A, Table II",
          Predicate("max convex_over_gd_time over ReLU family / sigmoids / Cauchy < min over "
                    "step / half-exp", _timing_order, reads=("convex_over_gd_time",)),
          paper_value="ReLU3.5 2000x faster; up to 1600x slower"),
]


@register_experiment(
    "radon-gd-vs-convex",
    config=Config,
    description="Kernel-regime GD vs the exact minimum-norm fit at the same training error",
    reproduces="Radon-spline paper, Table II (Experiment 1), Fig. 6",
    presets={
        "quick": {},
        "paper": {"replications": 5, "activations": TABLE2_ACTIVATIONS, "max_steps": 200000,
                  "cvxpy_replications": 5},
    },
    demo=True,
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    specs: list[Spec] = [(spec, *parse_spec(spec)) for spec in cfg.activations]
    with single_threaded():
        df, fits, tot = _run_all(cfg, ctx, specs)
    _report(cfg, ctx, specs, df, fits, tot)


def _run_all(cfg: Config, ctx: RunContext,
             specs: list[Spec]) -> tuple[pd.DataFrame, dict[str, Any], dict[str, float]]:
    rows: list[dict[str, Any]] = []
    fits: dict[str, Any] = {}
    tot = {"gd": 0.0, "cvxpy": 0.0, "kernel_fit": 0.0}
    for rep in ctx.progress(range(cfg.replications), desc="replications"):
        rng = np.random.default_rng(ctx.child_seed(rep))
        X, y = cube_data(rng, cfg.n_points)
        grid = hull_grid(X, cfg.hull_grid)
        Xt, yt, Gt = (torch.as_tensor(a) for a in (X, y, grid))
        for j, (spec, act, s) in enumerate(specs):
            net = kernel_net(act, s, cfg.width, cfg.gamma_range, ctx.torch_generator(1000 * rep + j))
            tr = train_kernel_regime(net, Xt, yt, optimizer=cfg.optimizer,
                                     lr=cfg.learning_rate(), target_mse=cfg.target_mse,
                                     max_steps=cfg.max_steps, momentum=cfg.momentum)
            row = {"activation": spec, "replication": rep, "steps": tr["steps"],
                   "gd_mse": tr["mse"], "reached_target": tr["reached"]}
            if ctx.record_divergence(tr, f"{spec}/rep{rep}"):
                rows.append(row)
                continue
            with torch.no_grad():
                Phi = net.features(Xt).numpy()
                Pg = net.features(Gt).numpy()
                c_gd = net.c.detach().numpy().copy()
            eps = float(np.mean((Phi @ c_gd - y) ** 2))  # the error GD reached, in float64
            t0 = time.perf_counter()
            c_k = kernel_fit(Phi, y, eps)
            t_k = time.perf_counter() - t0
            f_gd, f_k = Pg @ c_gd, Pg @ c_k
            row.update(gd_mse=eps, train_r2=1.0 - eps / float(np.var(y)),
                       rel_error=relative_error(f_gd, f_k),
                       gd_seconds=tr["seconds"], kernel_fit_seconds=t_k)
            tot["gd"] += tr["seconds"]
            tot["kernel_fit"] += t_k
            if rep < cfg.cvxpy_replications:
                t0 = time.perf_counter()
                try:
                    c_cv = kernel_fit(Phi, y, eps, method="cvxpy", solver="CLARABEL")
                except ParameterError as exc:
                    ctx.warn(f"CVXPY failed for {spec} (replication {rep}): {exc}")
                else:
                    t_c = time.perf_counter() - t0
                    tot["cvxpy"] += t_c
                    row.update(rel_error_cvxpy=relative_error(f_gd, Pg @ c_cv),
                               cvxpy_vs_kernel_fit=relative_error(f_k, Pg @ c_cv),
                               cvxpy_seconds=t_c)
            if rep == 0 and spec in cfg.fit_figure:
                fits[spec] = (X, y, net, c_k)
            rows.append(row)
    return pd.DataFrame(rows), fits, tot


def _col(d: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of ``d`` without NaNs (empty if absent)."""
    return d[name].dropna() if name in d else pd.Series(dtype=float)


def _report(cfg: Config, ctx: RunContext, specs: list[Spec], df: pd.DataFrame,
            fits: dict[str, Any], tot: dict[str, float]) -> None:
    import matplotlib.pyplot as plt

    ctx.table("runs", df)

    summary: list[dict[str, Any]] = []
    for spec, *_ in specs:
        d = df[df.activation == spec]
        rel = _col(d, "rel_error") * 100
        rel_fit = _col(d[d.reached_target.astype(bool)], "rel_error") * 100
        rc = _col(d, "rel_error_cvxpy") * 100
        gd_s, kf_s, cv_s = (_col(d, f"{k}_seconds") for k in ("gd", "kernel_fit", "cvxpy"))
        cv_rows = d["cvxpy_seconds"].notna() if "cvxpy_seconds" in d else d.index < 0
        gd_cv = float(d.loc[cv_rows, "gd_seconds"].sum()) if cv_rows.any() else math.nan
        summary.append({
            "activation": spec,
            "train_r2": float(_col(d, "train_r2").mean()),
            "reached_target_frac": float(d["reached_target"].mean()),
            "steps_mean": float(d["steps"].mean()),
            "rel_error_pct_mean": float(rel.mean()) if len(rel) else math.nan,
            "rel_error_pct_std": float(rel.std(ddof=0)) if len(rel) else math.nan,
            "rel_error_pct_fitted": float(rel_fit.mean()) if len(rel_fit) else math.nan,
            "rel_error_cvxpy_pct_mean": float(rc.mean()) if len(rc) else math.nan,
            "paper_rel_error_pct": PAPER_REPORTED.get(spec, math.nan),
            "gd_mse_mean": float(d["gd_mse"].mean()),
            "gd_seconds_mean": float(gd_s.mean()) if len(gd_s) else math.nan,
            "cvxpy_seconds_mean": float(cv_s.mean()) if len(cv_s) else math.nan,
            "kernel_fit_seconds_mean": float(kf_s.mean()) if len(kf_s) else math.nan,
            # wall-time ratios over the same fits (not bit-reproducible)
            "cvxpy_over_gd_time": float(cv_s.sum()) / gd_cv if len(cv_s) and gd_cv > 0
            else math.nan,
            "kernel_fit_over_gd_time": float(kf_s.sum()) / float(gd_s.sum())
            if len(gd_s) and gd_s.sum() > 0 else math.nan,
        })
    sm = pd.DataFrame(summary)
    ctx.table("table2", sm)
    ctx.metric("rel_error_pct", {r["activation"]: {"mean": r["rel_error_pct_mean"],
                                                   "std": r["rel_error_pct_std"]}
                                 for r in summary})
    fitted = {r["activation"]: r["rel_error_pct_fitted"] for r in summary
              if math.isfinite(r["rel_error_pct_fitted"])}
    ctx.metric("rel_error_pct_fitted", fitted)
    ctx.metric("n_fitted_activations", len(fitted))
    vals = list(fitted.values())
    ctx.metric("median_rel_error_pct", float(np.median(vals)) if vals else math.nan)
    ctx.metric("max_rel_error_pct", float(np.max(vals)) if vals else math.nan)
    ctx.metric("max_rel_error_pct_all", float(np.nanmax(sm["rel_error_pct_mean"])))
    if "cvxpy_vs_kernel_fit" in df:
        ctx.metric("max_rel_error_cvxpy_pct", float(np.nanmax(sm["rel_error_cvxpy_pct_mean"])))
        ctx.metric("max_cvxpy_vs_kernel_fit_pct", float(np.nanmax(df["cvxpy_vs_kernel_fit"]) * 100))
    ctx.metric("gd_mse", {r["activation"]: r["gd_mse_mean"] for r in summary})
    ctx.metric("train_r2", {r["activation"]: r["train_r2"] for r in summary})
    ctx.metric("reached_target_frac", {r["activation"]: r["reached_target_frac"] for r in summary})
    ctx.metric("gd_steps", {r["activation"]: r["steps_mean"] for r in summary})
    # Wall-time ratios (the paper's timing claim). Unlike the other metrics they are not
    # reproducible to the bit: they vary with the machine's load; the claim reads only their
    # order across activation families.
    use_cvxpy = bool(sm["cvxpy_over_gd_time"].notna().all())
    ratio_col = "cvxpy_over_gd_time" if use_cvxpy else "kernel_fit_over_gd_time"
    ctx.metric("convex_over_gd_time", {r["activation"]: r[ratio_col] for r in summary})
    ctx.metric("kernel_fit_over_gd_time",
               {r["activation"]: r["kernel_fit_over_gd_time"] for r in summary})
    ctx.metric("convex_solver", "cvxpy" if use_cvxpy else "kernel_fit")
    for key, val in tot.items():
        ctx.timing(f"total_{key}", val)
    for r in summary:
        for key in ("gd", "cvxpy", "kernel_fit"):
            v = r[f"{key}_seconds_mean"]
            if math.isfinite(v):
                ctx.timing(f"{r['activation']}/{key}", v)
    if tot["kernel_fit"] > 0 and tot["cvxpy"] > 0:
        n_cv = int(df["cvxpy_seconds"].notna().sum())
        kf_cv = float(df.loc[df["cvxpy_seconds"].notna(), "kernel_fit_seconds"].sum())
        ctx.timing("speedup_cvxpy_over_kernel_fit", tot["cvxpy"] / max(kf_cv, 1e-12))
        ctx.note(f"CVXPY (Clarabel, default tolerances) took {tot['cvxpy']:.2f} s for {n_cv} fits; "
                 f"kernel_fit {kf_cv:.3f} s for the same fits.")
    missed = [r["activation"] for r in summary if r["reached_target_frac"] < 1]
    if missed:
        ctx.note(f"Fits that did not reach the training budget (MSE {cfg.target_mse:g}) in "
                 f"{cfg.max_steps} steps on every replication: {missed} (train_r2 in table2); "
                 "the rel_error_pct_fitted / median / max metrics use only fits that reached it.")

    # ---- figures: relative errors and timings
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    xs = np.arange(len(sm))
    ax1.bar(xs - 0.2, sm["rel_error_pct_mean"], 0.4, yerr=sm["rel_error_pct_std"],
            label="GD vs kernel_fit (ours)", capsize=2)
    if sm["rel_error_cvxpy_pct_mean"].notna().any():
        ax1.bar(xs + 0.2, sm["rel_error_cvxpy_pct_mean"], 0.4, label="GD vs CVXPY (ours)")
    pr = sm["paper_rel_error_pct"]
    if pr.notna().any():
        ax1.plot(xs[pr.notna()], pr[pr.notna()], "k*", ms=10, label="paper (reported)")
    ax1.set_xticks(xs, sm["activation"], rotation=60, ha="right", fontsize=8)
    ax1.set(ylabel="relative error (%)", title=f"GD vs convex fit ({cfg.optimizer})")
    ax1.legend(fontsize=8)
    for key, mk in (("gd", "o"), ("cvxpy", "s"), ("kernel_fit", "^")):
        col = sm[f"{key}_seconds_mean"]
        if col.notna().any():
            ax2.semilogy(xs, col, mk, label=key)
    ax2.set_xticks(xs, sm["activation"], rotation=60, ha="right", fontsize=8)
    ax2.set(ylabel="wall time per fit (s)", title="Training / solve times")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    ctx.figure("table2", fig, caption="Left: Table II relative error (mean +- std over "
               "replications), GD fit vs the exact convex fit at the error GD reached. Right: "
               "wall times of GD training, CVXPY and kernel_fit (noisy on a shared machine).")

    if fits:
        fig, axes = plt.subplots(1, len(fits), figsize=(3.4 * len(fits), 3.2), squeeze=False)
        n = 120
        g = np.linspace(-1, 1, n)
        G = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
        for ax, (spec, (X, y, net, c_k)) in zip(axes[0], fits.items(), strict=True):
            with torch.no_grad():
                F = net.features(torch.as_tensor(G)).numpy() @ c_k
            im = ax.imshow(F.reshape(n, n).T, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu_r",
                           vmin=-1.5, vmax=1.5)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", vmin=-1.5, vmax=1.5, s=6,
                       edgecolors="k", linewidths=0.3)
            ax.set_title(spec, fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
        ctx.figure("fits", fig, caption="Exact kernel-regime fits (kernel_fit at GD's error) of "
                   "random targets, replication 0 (cf. paper Fig. 6): the activation shapes the "
                   "interpolant.")
    ctx.note("Paper Table II: 'relative error values of a few percent are typical'; the largest "
             "are ReLU3.5 (6.49%) and the most oscillatory sinc (7.07%). The other entries of "
             "the paper's table were lost in text extraction; they are blank in table2.")
    ctx.note(f"Optimizer {cfg.optimizer} (lr {cfg.learning_rate():g}): gd and nesterov keep c "
             "in the row space of the features (their limit is the minimum-norm interpolant); "
             "adam (the paper's) does not, and agrees less closely.")
    ctx.note("convex_over_gd_time is a wall-time ratio (CVXPY where it ran on every activation, "
             "else kernel_fit, over GD): it varies with the machine's load and is not "
             "reproducible to the bit like the other metrics.")
