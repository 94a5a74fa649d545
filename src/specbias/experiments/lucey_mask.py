"""Lucey Fig. 1-2: GD as a shrinkage mask on singular values, against flow, ridge and PCA.

Masks (docs/theory.md section 2) as functions of sigma / sigma_1, with lr = 1/sigma_1^2:

* GD, ``T`` steps:   m = 1 - (1 - lr sigma^2)^T
* gradient flow:     m = 1 - exp(-lr T sigma^2)
* ridge:             m = sigma^2 / (sigma^2 + lam), lam = 1 / (lr T) (same half-way point)
* PCA:               m = 1 above sigma*, 0 below

Metrics:

* ``grey_zone_db`` -- the span of sigma (in dB, 20 log10) over which the mask falls from 0.99 to
  0.01; docs/theory.md section 2 predicts ~26.6 dB for GD/flow whatever T (20 log10 sqrt(ln 100 /
  ln(1/0.99))), 39.9 dB for ridge (20 log10 99), 0 for PCA.
* ``active_window`` -- sigma_1 / sigma* where the GD mask reaches 1 - 1/e (Lucey App. C); its
  square is ~T (``window_sq_over_T``) and ``window_exponent`` is the fitted slope of
  log(window) against log(T) (expect 0.5).
* ``components_active`` -- on a real spectrum (``activation``, N = K = ``width``, s = K): the
  number of singular values whose GD mask is >= 1 - 1/e, against ``steps_for``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy.optimize import brentq

from ..claims import AtLeast, Between, Claim, Ordered, Predicate
from ..features import shallow_features
from ..shrinkage import SpectralSolver, flow_mask, gd_mask, ridge_mask
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationName

MSTAR = 1.0 - 1.0 / math.e


class Config(ExperimentConfig):
    steps: list[float] = Field(default_factory=lambda: [10.0, 100.0, 1000.0, 10000.0],
                               min_length=2, max_length=50, description="GD iteration counts T")
    db_min: float = Field(-100.0, lt=-20.0, ge=-300.0,
                          description="lowest sigma/sigma_1 plotted, in dB")
    points: int = Field(2000, ge=100, le=100000, description="sigma grid points in the plot")
    activation: ActivationName = Field("tanh", description="activation of the real-spectrum panel")
    width: int = Field(256, ge=8, le=4096, description="N = K of the real-spectrum panel")

    @model_validator(mode="after")
    def _steps_in_range(self):
        # T's active window sigma_1/sigma* ~ sqrt(T) must lie inside the plotted range (db_min)
        t_max = 10.0 ** (-self.db_min / 10.0)
        if not all(math.isfinite(t) and 1 <= t <= t_max for t in self.steps):
            raise self.invalid("steps", f"hold values in [1, {t_max:.3g}] (the largest T whose "
                               f"active window lies above db_min = {self.db_min:g} dB)", self.steps)
        if len(set(self.steps)) < 2:
            raise self.invalid("steps", "hold at least 2 different values", self.steps)
        return self

    def memory_estimate(self):
        return {"width": (6 * 8.0 * self.width**2, "6 width x width float64 matrices: features "
                                                    "and their SVD"),
                "points": (4 * 8.0 * self.points * len(self.steps),
                           "4 x points x len(steps) float64 masks")}


def _crossing(fn, level: float, lo: float, hi: float) -> float:
    """log10 sigma where the increasing function ``fn(log10 sigma)`` crosses ``level``."""
    return brentq(lambda t: fn(t) - level, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=500)


def grey_zone_db(mask_of_log_sigma, lo: float = -20.0, hi: float = 0.0,
                 upper: float = 0.99, lower: float = 0.01) -> float | None:
    """Width in dB (20 log10) of the sigma span over which a mask falls from ``upper`` to ``lower``.

    ``mask_of_log_sigma`` maps log10(sigma / sigma_1) to the mask value and must increase with
    sigma on ``[lo, hi]``. ``None`` when the mask never reaches ``upper`` (e.g. gradient flow
    with T < ln 100).
    """
    if mask_of_log_sigma(hi) < upper:
        return None
    a = _crossing(mask_of_log_sigma, upper, lo, hi)
    b = _crossing(mask_of_log_sigma, lower, lo, hi)
    return 20.0 * (a - b)


#: The claims on the mask's shape read T >= this: the paper derives the shape in the gradient-flow
#: limit (App. B-C), which GD reaches after a few steps; at T = 1 the GD mask is (sigma/sigma_1)^2.
MIN_T = 10.0


def _grey_constant(m):
    pred = m["grey_zone_db_predicted"]
    g = {k: v for k, v in m["grey_zone_db"]["gd"].items() if float(k) >= MIN_T}
    return bool(g) and all(v is not None and abs(v - pred) <= 2.0 for v in g.values()), g


def _window_sq(m):
    r = {k: v for k, v in m["window_sq_over_T"].items() if float(k) >= MIN_T}
    return bool(r) and all(0.9 <= v <= 1.1 for v in r.values()), r


CLAIMS = [
    Claim("grey-zone", "GD's mask needs a fixed drop-off in sigma (in dB) to complete 99% of its "
          "transition from one to zero, whatever the number of iterations.",
          "Lucey, Sec. 4 'PCA vs. GD', Fig. 1",
          Predicate("every GD grey_zone_db at T >= 10 within 2 dB of the predicted 20 log10 "
                    "sqrt(ln 100 / ln(1/0.99)) = 26.6 dB", _grey_constant,
                    reads=("grey_zone_db.gd", "grey_zone_db_predicted")),
          paper_value="approximately constant (its dB value is lost in the text)"),
    Claim("grey-vs-pca", "PCA switches instantaneously; GD's transition is slow.",
          "Lucey, Sec. 4 'PCA vs. GD'",
          AtLeast("grey_zone_db.gd.1000", 10.0), paper_value="PCA: instantaneous"),
    Claim("window-sq-is-T", "The square of the active window width is approximately the number of "
          "iterations T.", "Lucey, Sec. 4 'PCA vs. GD', Fig. 2, App. C",
          Predicate("window_sq_over_T in [0.9, 1.1] for every T >= 10", _window_sq,
                    reads=("window_sq_over_T",)),
          paper_value="window^2 ~ T"),
    Claim("window-exponent", "The active window grows like sqrt(T).", "Lucey, App. C (Eq. 36)",
          Between("window_exponent", 0.45, 0.55), paper_value="0.5"),
    Claim("iterations-set-components", "More iterations keep more principal components active on "
          "a real spectrum (Prop. 4.2).", "Lucey, Prop. 4.2, Fig. 1",
          Ordered(("components_active.by_steps.10", "components_active.by_steps.100",
                   "components_active.by_steps.1000", "components_active.by_steps.10000")),
          paper_value="k grows with T"),
]


@register_experiment(
    "lucey-mask",
    config=Config,
    description="GD, gradient-flow, ridge and PCA masks on singular values; grey zone and active window vs T",
    reproduces="Lucey, Fig. 1-2 (and App. C)",
    presets={
        "quick": {},
        "paper": {"steps": [1.0, 10.0, 100.0, 1000.0, 1e4, 1e5, 1e6], "db_min": -140.0,
                  "points": 8000, "width": 1024},
    },
    demo=True,
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    steps = np.asarray(sorted(set(cfg.steps)), dtype=np.float64)
    lr = 1.0  # sigma normalized: sigma_1 = 1, lr = 1/sigma_1^2
    db = np.linspace(cfg.db_min, 0.0, cfg.points)
    sig = 10.0 ** (db / 20.0)
    m_gd = gd_mask(sig, steps, lr)
    m_flow = flow_mask(sig, steps, lr)

    grey, grey_flow, window, rows = {}, {}, {}, []
    lo = cfg.db_min / 20.0 - 2.0
    for i, T in enumerate(steps):
        gfun = lambda t, T=T: float(gd_mask([10.0**t], T, lr)[0])  # noqa: E731
        ffun = lambda t, T=T: float(flow_mask([10.0**t], T, lr)[0])  # noqa: E731
        key = f"{T:g}"
        grey[key] = grey_zone_db(gfun, lo=lo)
        grey_flow[key] = grey_zone_db(ffun, lo=lo)
        s_star = 10.0 ** _crossing(gfun, MSTAR, lo, 0.0)
        window[key] = 1.0 / s_star
        rows += [{"steps": T, "sigma_db": float(d), "gd": float(a), "flow": float(b)}
                 for d, a, b in zip(db[:: max(1, cfg.points // 500)],
                                    m_gd[i, :: max(1, cfg.points // 500)],
                                    m_flow[i, :: max(1, cfg.points // 500)], strict=True)]
    lam_mid = 1.0 / (lr * steps[len(steps) // 2])
    grey_ridge = grey_zone_db(lambda t: float(ridge_mask([10.0**t], lam_mid)[0]), lo=lo)
    w = np.array([window[f"{T:g}"] for T in steps])
    slope = float(np.polyfit(np.log(steps), np.log(w), 1)[0])

    ctx.metric("grey_zone_db", {"gd": grey, "flow": grey_flow, "ridge": grey_ridge, "pca": 0.0})
    ctx.metric("grey_zone_db_predicted",
               20.0 * math.log10(math.sqrt(math.log(100.0) / -math.log(0.99))))
    ctx.metric("active_window", window)
    ctx.metric("active_window_db", {k: 20.0 * math.log10(v) for k, v in window.items()})
    ctx.metric("window_sq_over_T", {f"{T:g}": float(window[f"{T:g}"] ** 2 / T) for T in steps})
    ctx.metric("window_exponent", slope)
    ctx.table("masks", pd.DataFrame(rows))

    # ---------------------------------------------------------------- real spectrum panel
    x = np.linspace(0.0, 1.0, cfg.width)
    solver = SpectralSolver(shallow_features(x, x, cfg.activation, scale=float(cfg.width)))
    sv = solver.singular_values / solver.singular_values[0]
    masks_k = solver.mask("gd", steps=steps)
    active = {f"{T:g}": int(np.sum(masks_k[i] >= MSTAR - 1e-12)) for i, T in enumerate(steps)}
    ctx.metric("components_active", {"activation": cfg.activation, "by_steps": active})

    # ---------------------------------------------------------------- figures
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    cmap = plt.get_cmap("viridis")
    for i, T in enumerate(steps):
        c = cmap(i / max(1, len(steps) - 1))
        axes[0].plot(db, m_gd[i], color=c, label=f"GD T={T:g} (grey {grey[f'{T:g}']:.1f} dB)")
        axes[0].plot(db, m_flow[i], color=c, ls=":", lw=1)
    axes[0].set(xlabel=r"$20\log_{10}(\sigma/\sigma_1)$ [dB]", ylabel="mask m(sigma)",
                title=r"GD masks, lr = 1/$\sigma_1^2$ (dotted: gradient flow)")
    axes[0].legend(fontsize=7, loc="upper left")
    axes[0].grid(alpha=0.3)
    Tm = steps[len(steps) // 2]
    s_star = 1.0 / window[f"{Tm:g}"]
    axes[1].plot(db, gd_mask(sig, Tm, lr), label=f"GD T={Tm:g}")
    axes[1].plot(db, flow_mask(sig, Tm, lr), ls="--", label="gradient flow")
    axes[1].plot(db, ridge_mask(sig, lam_mid), label=f"ridge lam=1/(lr T) ({grey_ridge:.1f} dB)")
    axes[1].plot(db, (sig >= s_star).astype(float), label="PCA (0 dB)")
    axes[1].axvspan(20 * math.log10(s_star), 0, color="0.9", zorder=0, label="active window")
    axes[1].set(xlabel=r"$20\log_{10}(\sigma/\sigma_1)$ [dB]", ylabel="mask",
                title=f"Shrinkage masks compared, T = {Tm:g}")
    axes[1].legend(fontsize=7, loc="upper left")
    axes[1].grid(alpha=0.3)
    ctx.figure("masks", fig, caption="GD masks for several T (left) and GD vs flow vs ridge vs PCA "
               "(right): GD's grey zone has the same width in dB for every T.")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    k = np.arange(1, sv.size + 1)
    for i, T in enumerate(steps):
        ax.semilogx(k, masks_k[i], color=cmap(i / max(1, len(steps) - 1)),
                    label=f"mask T={T:g}: {active[f'{T:g}']} active")
    ax.set(xlabel="k", ylabel="GD mask m(sigma_k)",
           title=f"GD masks on a real spectrum ({cfg.activation}, N = K = {cfg.width})")
    ax.grid(True, which="both", alpha=0.3)
    ax2 = ax.twinx()
    ax2.loglog(k, np.maximum(sv, 1e-17), "k", lw=2, label=r"$\sigma_k/\sigma_1$ (right axis)")
    ax2.set(ylabel=r"$\sigma_k/\sigma_1$", ylim=(1e-6, 2))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower left")
    ctx.figure("masks_on_spectrum", fig,
               caption="The GD mask applied to the singular values of a shallow network (Fig. 1).")

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.loglog(steps, w**2, "o-", label=r"window$^2$ = $(\sigma_1/\sigma^*)^2$")
    ax.loglog(steps, steps, "k--", label="T")
    ax.set(xlabel="T", ylabel="window width squared",
           title=f"Active window vs T (slope of window: {slope:.3f})")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ctx.figure("active_window", fig, caption="Active window width squared against T (App. C).")
    ctx.note("Grey zone: 20 log10(sigma_0.99 / sigma_0.01) of each mask, found by root finding "
             "on the closed form. Active window: sigma_1 / sigma* with m(sigma*) = 1 - 1/e.")
