"""Rahaman et al., Exp. 1, predicted through the empirical NTK (docs/ntk.md).

Target ``sum_i sin(2 pi k_i z + phi_i)`` (amplitudes 1, phases from ``ctx.rng``) on ``N``
points ``z_n = n/N`` of ``[0, 1)``; for every width a ``depth x width`` ReLU MLP (float64 by
default) is trained by full-batch ``torch.optim.SGD`` on the mean MSE, the convention of
:class:`specbias.ntk.LinearizedGD`, with ``lr = lr_fraction * max_lr`` of the kernel at
initialization. Beside it, :meth:`LinearizedGD.learned_fraction` on the same initial network
predicts, in closed form, the learned fraction ``1 - |r~_T(k)| / |r~_0(k)|`` of the residual
``r = f - y`` per target frequency; the measured one is the same DFT of the trained network's
residual, every ``every`` steps. The same initial network is also trained by full-batch Adam,
for which the GD prediction is not made (contrast only).

Metrics (per width, keys are the widths): ``first_reach_step_predicted[w][k]`` and
``first_reach_step_measured[w][k]``, the first recorded step at which the learned fraction
reaches ``threshold`` (default ``1 - 1/e``; ``None`` where it never does within ``steps``);
``rank_correlation[w]``, Spearman's rho between the two over the frequencies (a frequency never
reached counts as ``2 * steps``, tied; ``None`` where one side is constant);
``function_rel_error[w]`` ``= ||f_pred - f_T|| / ||f_T - f_0||`` at the last step;
``kernel_drift[w]`` ``= ||Theta_T - Theta_0||_F / ||Theta_0||_F``; ``sharpening[w]``
``= lambda_1(Theta_T) / lambda_1(Theta_0)``, the growth of the top eigenvalue, and
``eos_level`` ``= 1 / lr_fraction``, the value at which it reaches the edge of stability
``lambda_1 = 2 / lr_eff`` of the chosen lr; ``order_vs_k[w]``, Spearman's rho between the
measured first-reach steps and ``k`` (Rahaman's "lower frequencies first"); ``max_lr[w]``; the
same for Adam as ``adam_first_reach_step[w][k]``, ``adam_rank_correlation[w]``,
``adam_order_vs_k[w]``, ``adam_function_rel_error[w]``.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated

import numpy as np
import pandas as pd
import torch
from pydantic import AfterValidator, Field
from scipy.stats import spearmanr

from ..callbacks import discrete_spectrum
from ..claims import Claim, Predicate
from ..nn import MLP
from ..ntk import LinearizedGD, empirical_ntk, kernel_drift
from . import ExperimentConfig, FieldError, RunContext, register_experiment
from ._blocks import ROW_BYTES, Dtype, Frequencies, heatmap, sines_targets, torch_dtype

MAX_STEPS = 1_000_000


def _distinct(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise FieldError("hold distinct widths")
    return value


#: Hidden-layer widths, each in [1, 4096], no repeats.
Widths = Annotated[list[Annotated[int, Field(ge=1, le=4096)]], AfterValidator(_distinct)]


class Config(ExperimentConfig):
    n_points: int = Field(64, ge=16, le=4096,
                          description="grid points z_n = n/N on [0, 1) (the NTK is N x N)")
    frequencies: Frequencies = Field(
        default_factory=lambda: [float(v) for v in range(1, 9)], min_length=2, max_length=50,
        description="frequencies k_i of the target (cycles on [0, 1))")
    widths: Widths = Field(default_factory=lambda: [64, 256], min_length=1, max_length=8,
                           description="hidden units per layer (distinct), one network per width")
    depth: int = Field(2, ge=1, le=16, description="hidden layers of the ReLU MLP")
    steps: int = Field(3000, ge=1, le=MAX_STEPS, description="full-batch SGD (and Adam) steps")
    every: int = Field(10, ge=1, le=MAX_STEPS,
                       description="measure the residual spectrum every this many steps (and at "
                                   "the last step)")
    lr_fraction: float = Field(0.5, gt=0, lt=1,
                               description="SGD learning rate as a fraction of the NTK's max_lr")
    adam_lr: float = Field(1e-3, gt=0, le=10.0, description="learning rate of the Adam contrast")
    adam: bool = Field(True, description="also train each network by Adam (contrast)")
    threshold: float = Field(1 - 1 / math.e, gt=0, lt=1,
                             description="first-reach level of the learned fraction")
    dtype: Dtype = Field("float64", description="precision of the networks: float32 or float64")

    def memory_estimate(self):
        item = 8.0 if self.dtype == "float64" else 4.0
        w = max(self.widths)
        params = 2 * w + (self.depth - 1) * (w + 1) * w + w + 1
        records = self.steps // self.every + 2
        nf = len(self.frequencies)
        return self.memory_total({
            "n_points": (8.0 * 4 * self.n_points**2
                         + item * 3 * self.n_points * w * (self.depth + 1),
                         "the N x N kernel, its eigenvectors and two copies, and the layer "
                         "activations of the structured NTK"),
            "widths": (item * 6 * params,
                       "two copies of the widest network, its gradients and Adam's moments"),
            "every": (8.0 * 4 * records * nf + ROW_BYTES * records * nf * 3 * len(self.widths),
                      "(steps / every + 1) predicted and measured spectra, and their table rows"),
        })


def _first_reach(steps: np.ndarray, frac: np.ndarray, thr: float) -> np.ndarray:
    """First recorded step with ``frac >= thr`` per column; NaN where never."""
    hit = np.nan_to_num(frac, nan=-np.inf) >= thr
    return np.where(hit.any(0), steps[np.argmax(hit, 0)].astype(float), np.nan)


def _spearman(a: np.ndarray, b: np.ndarray, cap: float) -> float | None:
    ca, cb = np.where(np.isnan(a), cap, a), np.where(np.isnan(b), cap, b)
    if np.ptp(ca) == 0 or np.ptp(cb) == 0:
        return None
    return round(float(spearmanr(ca, cb).statistic), 10)


def _train(net: torch.nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, Y: torch.Tensor,
           z: np.ndarray, k: np.ndarray, steps: int, every: int
           ) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Full-batch steps on the mean MSE; returns the |DFT| of the residual every ``every`` steps
    (records, freq), the final outputs (None if not finite) and a divergence message."""
    spectra: list[np.ndarray] = []
    for s in range(steps + 1):
        if s % every == 0 or s == steps:
            with torch.no_grad():
                r = (net(X) - Y).cpu().double().numpy()
            if not np.all(np.isfinite(r)):
                return np.array(spectra), None, f"non-finite outputs at step {s}"
            spectra.append(discrete_spectrum(r, z, k))
        if s == steps:
            break
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(X), Y).backward()
        opt.step()
    with torch.no_grad():
        out = net(X).cpu().double().numpy()
    return np.array(spectra), out, ""


def _by_width(values: dict) -> list:
    return [values[w] for w in sorted(values, key=int)]


def _widest(name: str):
    def check(m):
        value = m[name][max(m[name], key=int)]
        return value is not None and value >= 0.9, value
    return check


def _falls(name: str):
    def check(m):
        v = _by_width(m[name])
        ok = len(v) > 1 and None not in v and all(b < a for a, b in zip(v[:-1], v[1:], strict=True))
        return ok, " > ".join("n/a" if x is None else f"{x:.3g}" for x in v)
    return check


def _near_edge(m):
    v = _by_width(m["sharpening"])
    ok = None not in v and min(v) >= 0.75 * m["eos_level"]
    return ok, ", ".join("n/a" if x is None else f"{x:.2f}" for x in v) + \
        f" (edge of stability {m['eos_level']:g})"


CLAIMS = [
    Claim("sgd-lower-first", "Lower frequencies are learned first.", "Rahaman, Sec. 3, Exp. 1",
          Predicate("Spearman(k, measured SGD first-reach step) >= 0.9 at the widest width",
                    _widest("order_vs_k"), reads=("order_vs_k",)),
          paper_value="lower frequencies converge first"),
    Claim("adam-lower-first", "Lower frequencies are learned first (the paper trains by Adam).",
          "Rahaman, Sec. 3, Exp. 1",
          Predicate("Spearman(k, measured Adam first-reach step) >= 0.9 at the widest width",
                    _widest("adam_order_vs_k"), reads=("adam_order_vs_k",)),
          paper_value="lower frequencies converge first"),
    Claim("ntk-predicts-order",
          "The rate at which the residual at frequency k falls decays with k (Eq. 9), so the "
          "NTK at initialization predicts the order in which frequencies are learned.",
          "Rahaman, Sec. 3, Eq. 9; docs/theory.md section 8",
          Predicate("Spearman(predicted, measured first-reach step) >= 0.9 at the widest width",
                    _widest("rank_correlation"), reads=("rank_correlation",)),
          paper_value="lower frequencies converge first"),
    Claim("drift-falls-with-width", "Wider networks stay closer to their kernel at "
          "initialization.", "docs/theory.md section 8.4 (NTK limit)",
          Predicate("kernel_drift decreases with width", _falls("kernel_drift"),
                    reads=("kernel_drift",))),
    Claim("error-falls-with-width", "Wider networks follow the linearized prediction more "
          "closely.", "docs/theory.md section 8.4 (NTK limit)",
          Predicate("function_rel_error decreases with width", _falls("function_rel_error"),
                    reads=("function_rel_error",))),
    Claim("kernel-regime", "At these widths the kernel stays near its initialization "
          "(NTK regime), so the prediction describes the whole run.",
          "docs/theory.md section 8.4 (NTK limit)",
          Predicate("lambda_1 of the trained kernel >= 0.75 x the edge of stability "
                    "(lambda_1(0) / lr_fraction) at every width", _near_edge,
                    reads=("sharpening", "eos_level")),
          finding="It does not: at every width the top NTK eigenvalue grows during training "
                  "until it reaches the edge of stability 2 / lr_eff (progressive sharpening), "
                  "and the kernel moves by about twice its own norm (kernel_drift); a smaller "
                  "lr_fraction only moves the edge (docs/ntk.md#why-width-64-disagrees)."),
]


def _keyed(k: np.ndarray, v: np.ndarray) -> dict[str, float | None]:
    return {f"{kk:g}": (None if np.isnan(x) else float(x)) for kk, x in zip(k, v, strict=True)}


@register_experiment(
    "ntk-frequencies",
    config=Config,
    description="Which frequency a ReLU MLP learns when, predicted from its NTK at init vs trained",
    reproduces="Rahaman et al., Exp. 1, predicted through the empirical NTK",
    presets={
        "quick": {},
        "paper": {"n_points": 128, "frequencies": [float(v) for v in range(1, 13)],
                  "widths": [64, 256, 1024], "steps": 6000, "every": 20},
    },
    claims=CLAIMS,
    demo=True,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    dtype = torch_dtype(cfg.dtype)
    k = np.asarray(cfg.frequencies, dtype=np.float64)
    z = np.arange(cfg.n_points) / cfg.n_points
    _, _, Yt = sines_targets(ctx, k, z, ["equal"], 1)
    y = Yt[0]
    X = torch.tensor(z, dtype=dtype)[:, None]
    Y = torch.tensor(y, dtype=dtype)
    rec = np.arange(0, cfg.steps + 1, cfg.every)
    if rec[-1] != cfg.steps:
        rec = np.append(rec, cfg.steps)
    cap = 2.0 * cfg.steps
    thr = cfg.threshold

    fr_pred: dict[str, dict[str, float | None]] = {}
    fr_meas: dict[str, dict[str, float | None]] = {}
    fr_adam: dict[str, dict[str, float | None]] = {}
    rho: dict[str, float | None] = {}
    rho_adam: dict[str, float | None] = {}
    rel_err: dict[str, float | None] = {}
    rel_err_adam: dict[str, float | None] = {}
    drift: dict[str, float | None] = {}
    sharp: dict[str, float | None] = {}
    order_k: dict[str, float | None] = {}
    order_k_adam: dict[str, float | None] = {}
    max_lr: dict[str, float] = {}
    images: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    firsts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    rows: list[dict] = []
    for i, w in enumerate(cfg.widths):
        key = str(w)
        net = MLP(1, w, cfg.depth, generator=ctx.torch_generator(i), dtype=dtype)
        init = copy.deepcopy(net)
        with ctx.timer(f"ntk_s_width_{w}"):
            lin = LinearizedGD(init, X, Y)
            lr = cfg.lr_fraction * lin.max_lr
            P = lin.learned_fraction(rec, lr, k)  # (records, freq)
            f_pred = lin.predict(cfg.steps, lr)
        max_lr[key] = float(lin.max_lr)
        f0 = lin.predict(0, lr)
        with ctx.timer(f"sgd_s_width_{w}"):
            S, f_T, msg = _train(net, torch.optim.SGD(net.parameters(), lr=lr), X, Y, z, k,
                                 cfg.steps, cfg.every)
        if f_T is None:
            ctx.mark_diverged(f"width {w} SGD", msg)
            fr_pred[key] = _keyed(k, _first_reach(rec, P, thr))
            fr_meas[key] = _keyed(k, np.full(k.size, np.nan))
            rho[key] = rel_err[key] = drift[key] = sharp[key] = order_k[key] = None
            continue
        M = 1.0 - S / S[0]
        hp, hm = _first_reach(rec, P, thr), _first_reach(rec, M, thr)
        fr_pred[key], fr_meas[key] = _keyed(k, hp), _keyed(k, hm)
        rho[key] = _spearman(hp, hm, cap)
        order_k[key] = _spearman(k, hm, cap)
        change = float(np.linalg.norm(f_T - f0))
        rel_err[key] = float(np.linalg.norm(f_pred - f_T)) / change if change > 0 else None
        with ctx.timer(f"drift_s_width_{w}"):
            drift[key] = float(kernel_drift(init, net, X))
            lam_T = float(torch.linalg.eigvalsh(empirical_ntk(net, X).double())[-1])
        sharp[key] = lam_T / float(lin.eigenvalues[0])
        images[w] = (P, M)
        firsts[w] = (hp, hm)
        for r, s in enumerate(rec):
            for j, kk in enumerate(k):
                rows.append({"width": w, "optimizer": "sgd", "step": int(s), "k": kk,
                             "predicted": float(P[r, j]), "measured": float(M[r, j])})
        if cfg.adam:
            anet = copy.deepcopy(init)
            with ctx.timer(f"adam_s_width_{w}"):
                SA, fA, msgA = _train(anet, torch.optim.Adam(anet.parameters(), lr=cfg.adam_lr),
                                      X, Y, z, k, cfg.steps, cfg.every)
            if fA is None:
                ctx.mark_diverged(f"width {w} Adam", msgA)
                continue
            MA = 1.0 - SA / SA[0]
            ha = _first_reach(rec, MA, thr)
            fr_adam[key] = _keyed(k, ha)
            rho_adam[key] = _spearman(hp, ha, cap)
            order_k_adam[key] = _spearman(k, ha, cap)
            ch = float(np.linalg.norm(fA - f0))
            rel_err_adam[key] = float(np.linalg.norm(f_pred - fA)) / ch if ch > 0 else None
            for r, s in enumerate(rec):
                for j, kk in enumerate(k):
                    rows.append({"width": w, "optimizer": "adam", "step": int(s), "k": kk,
                                 "predicted": float(P[r, j]), "measured": float(MA[r, j])})

    metrics: dict[str, dict | float] = {
        "first_reach_step_predicted": fr_pred, "first_reach_step_measured": fr_meas,
        "rank_correlation": rho, "order_vs_k": order_k, "function_rel_error": rel_err,
        "kernel_drift": drift, "sharpening": sharp, "eos_level": 1.0 / cfg.lr_fraction,
        "max_lr": max_lr,
    }
    if cfg.adam:
        metrics.update(adam_first_reach_step=fr_adam, adam_rank_correlation=rho_adam,
                       adam_order_vs_k=order_k_adam, adam_function_rel_error=rel_err_adam)
    for name, value in metrics.items():
        ctx.metric(name, value)
    ctx.table("learned_fraction", pd.DataFrame(rows))

    if images:
        ws = list(images)
        fig, axes = plt.subplots(len(ws), 2, figsize=(10, 3.4 * len(ws)), squeeze=False,
                                 layout="constrained")
        im = None
        for row, w in zip(axes, ws, strict=True):
            P, M = images[w]
            im = heatmap(row[0], rec, k, np.clip(P, 0, 1), f"width {w}: predicted (NTK at init)")
            heatmap(row[1], rec, k, np.clip(M, 0, 1), f"width {w}: measured (SGD)")
        assert im is not None
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="learned fraction")
        ctx.figure("heatmaps", fig, caption=(
            "Learned fraction 1 - |r~_T(k)|/|r~_0(k)| of the residual per frequency over "
            "training: predicted in closed form from the NTK at initialization (left) and "
            "measured on the network trained by full-batch SGD at the same lr (right)."))

        fig, axes = plt.subplots(1, len(ws), figsize=(4.8 * len(ws), 4), squeeze=False,
                                 layout="constrained")
        for ax, w in zip(axes[0], ws, strict=True):
            hp, hm = firsts[w]
            ax.plot(k, np.where(np.isnan(hp), cap, hp), "o-", label="predicted (NTK)")
            ax.plot(k, np.where(np.isnan(hm), cap, hm), "s--", label="measured (SGD)")
            ax.axhline(cfg.steps, color="grey", lw=0.8, ls=":")
            rw = rho[str(w)]
            ax.set(xlabel="frequency k", ylabel=f"first step with learned fraction >= {thr:.2f}",
                   title=f"width {w}, Spearman " + ("n/a" if rw is None else f"{rw:.2f}"))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        ctx.figure("first_reach", fig, caption=(
            f"First step at which each frequency's residual is reduced to 1/e of its initial "
            f"value, predicted vs measured; points at {cap:g} (= 2 x steps, above the dotted "
            f"line) never reached it."))

    ctx.note(
        f"{cfg.depth}x{{{', '.join(map(str, cfg.widths))}}} ReLU MLPs ({cfg.dtype}), "
        f"{cfg.n_points} points, frequencies {', '.join(f'{v:g}' for v in k)}, "
        f"{cfg.steps} full-batch SGD steps on the mean MSE at lr = {cfg.lr_fraction:g} x max_lr "
        f"of the NTK at initialization; prediction: LinearizedGD on the same initial network. "
        "Spearman rho (predicted vs measured first-reach steps): "
        + ", ".join(f"width {w} " + ("n/a" if rho.get(str(w)) is None else f"{rho[str(w)]:.2f}")
                    for w in cfg.widths)
        + "; relative function error: "
        + ", ".join(f"width {w} " + ("n/a" if rel_err.get(str(w)) is None
                                     else f"{rel_err[str(w)]:.3f}") for w in cfg.widths)
        + "; kernel drift: "
        + ", ".join(f"width {w} " + ("n/a" if drift.get(str(w)) is None
                                     else f"{drift[str(w)]:.3f}") for w in cfg.widths)
        + "; growth of the top kernel eigenvalue (edge of stability at "
        + f"{1 / cfg.lr_fraction:g}): "
        + ", ".join(f"width {w} " + ("n/a" if sharp.get(str(w)) is None
                                     else f"{sharp[str(w)]:.2f}") for w in cfg.widths) + ".")
    low = [f"width {w} ({rv:.2f})" for w in cfg.widths
           if (rv := rho.get(str(w))) is not None and rv < 0.9]
    if low:
        ctx.note("The predicted order of the frequencies does not fully match the measured one "
                 "(Spearman below 0.9): " + ", ".join(low) + ". The kernel moves during training "
                 "(kernel_drift above) and its top eigenvalue grows towards the edge of "
                 "stability, so the linearization at initialization is only approximate for "
                 "these networks.")
    if cfg.adam:
        ctx.note(
            "The NTK prediction describes full-batch gradient descent; Adam (lr "
            f"{cfg.adam_lr:g}, same initial network) is shown for contrast only. Its relative "
            "function error against the GD prediction: "
            + ", ".join(f"width {w} " + ("n/a" if rel_err_adam.get(str(w)) is None
                                         else f"{rel_err_adam[str(w)]:.3f}") for w in cfg.widths)
            + "; Spearman of its first-reach steps against the GD prediction: "
            + ", ".join(f"width {w} " + ("n/a" if rho_adam.get(str(w)) is None
                                         else f"{rho_adam[str(w)]:.2f}") for w in cfg.widths)
            + ".")
