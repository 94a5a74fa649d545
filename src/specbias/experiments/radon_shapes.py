"""Radon-spline paper, Sec. III-C / Fig. 2 (contractions and the curse of dimensionality) and
Sec. IV-A / Fig. 3 (ridge top, valley floor and pass-through crease of the loss landscape).

**Contractions.** A bump ``f(x) = e^{-|x|^2/2}`` in ``d`` dimensions and its contractions
``f_eps(x) = f(x / eps)`` (sharper bumps for small ``eps``, Fig. 2). Their seminorm
``R(f_eps) = int |f_eps^(xi)|^2 P(|xi|) dxi`` is computed from a ``d``-dimensional FFT of the
sampled bump for four penalties: ``P = 1`` (no architecture, no activation: the plain L2 norm),
``|w|^(d-1)`` (the architecture alone: a Dirac activation), and the step's and ReLU's
``|w|^(d-1) w^2``, ``|w|^(d-1) w^4``. The fitted exponent ``e`` of ``R(f_eps) ~ eps^e`` is the
metric: a regularizer penalizes contractions (prefers smooth bumps to a "bed of nails") when
``e < 0``. The paper's argument gives ``e = -(2a + 1)`` for an activation with ``|act^| ~
|w|^-(a+1)`` -- independent of ``d`` -- and ``e = d`` without architecture and activation (the
curse of dimensionality: spiky fits are preferred more, the higher ``d``).

**Loss shapes.** One ReLU neuron ``c relu(x - gamma)`` of a 1-D network fits residuals ``r_n``
at data ``x_n``; the loss ``L(gamma) = (1/2) sum_n (r_n - c relu(x_n - gamma))^2`` as a function of
its breakpoint is piecewise quadratic with non-negative curvature, the pieces separated at the
data points (the boundaries of Sec. IV-A, crossed along their normal). At each boundary the
one-sided slopes classify it: ridge top (``L'(x_n-) > 0 > L'(x_n+)``), valley floor
(``L'(x_n-) < 0 < L'(x_n+)``) or pass-through crease (same sign). Gradient descent on ``gamma``
started next to a valley floor is pinned to the data point; next to a ridge top it leaves.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from ..claims import AllAtLeast, AllAtMost, AtLeast, AtMost, Between, Claim, Predicate
from . import ExperimentConfig, RunContext, register_experiment

#: Penalties P(w) of Sec. III-C: name -> (factor of |w|^(d-1) or not, power of w).
PENALTIES = {"l2": (False, 0), "dirac": (True, 0), "step": (True, 2), "relu": (True, 4)}
#: The paper's exponent of R(f_eps) ~ eps^e.
PREDICTED = {"l2": lambda d: float(d), "dirac": lambda d: 1.0, "step": lambda d: -1.0,
             "relu": lambda d: -3.0}


class Config(ExperimentConfig):
    dims: list[Annotated[int, Field(ge=1, le=4)]] = Field(
        default_factory=lambda: [1, 2, 3], min_length=1, max_length=4,
        description="input dimensions d of the contraction check (1 to 4)")
    grid: int = Field(96, ge=32, le=256, description="grid points per dimension")
    half_width: float = Field(4.0, gt=0, le=50, description="grid on [-half_width, half_width)^d")
    eps: list[float] = Field(default_factory=lambda: [0.3, 0.4, 0.55, 0.75, 1.0], min_length=3,
                             max_length=20, description="contraction factors")
    n_points: int = Field(12, ge=3, le=200, description="data points of the loss-shape check")
    n_draws: int = Field(200, ge=1, le=100000, description="random residual draws")
    gd_steps: int = Field(400, ge=10, le=100000, description="GD steps on gamma")

    def memory_estimate(self):
        d = max(self.dims)
        return {"grid": (16.0 * 3 * self.grid**d, "3 x grid^d x 16 bytes")}


def contraction_seminorm(d: int, eps: float, penalty: str, grid: int, half_width: float) -> float:
    """``int |f_eps^(xi)|^2 P(|xi|) dxi`` for ``f_eps = e^{-|x/eps|^2/2}`` from a ``d``-D FFT."""
    h = 2 * half_width / grid
    x1 = -half_width + h * np.arange(grid)
    k1 = 2 * np.pi * np.fft.fftfreq(grid, d=h)
    r2 = np.zeros((grid,) * d)
    w2 = np.zeros((grid,) * d)
    for ax in range(d):
        shape = [1] * d
        shape[ax] = grid
        r2 = r2 + (x1.reshape(shape) / eps) ** 2
        w2 = w2 + k1.reshape(shape) ** 2
    F = np.fft.fftn(np.exp(-r2 / 2)) * h**d
    arch, power = PENALTIES[penalty]
    w = np.sqrt(w2)
    P = w**power * (w ** (d - 1) if arch else 1.0)
    dk = (2 * np.pi / (grid * h)) ** d
    return float(np.sum(np.abs(F) ** 2 * P) * dk / (2 * np.pi) ** d)


def loss_pieces(x: np.ndarray, r: np.ndarray, c: float):
    """``L(gamma)``, its one-sided slopes at each ``x_n``, and the loss as a function."""

    def L(g):
        g = np.asarray(g, dtype=np.float64)
        return 0.5 * np.sum((r[None, :] - c * np.maximum(x[None, :] - g[:, None], 0.0)) ** 2, 1)

    def slope(g, side):
        active = (x > g) if side > 0 else (x >= g)  # just right / just left of g
        return float(np.sum((r - c * np.maximum(x - g, 0.0)) * c * active))

    left = np.array([slope(xn, -1) for xn in x])
    right = np.array([slope(xn, +1) for xn in x])
    return L, left, right


def classify(left: float, right: float) -> str:
    if left > 0 > right:
        return "ridge"
    if left < 0 < right:
        return "valley"
    return "crease"


@register_experiment(
    "radon-shapes",
    config=Config,
    description="Contractions vs the seminorm (curse of dimensionality); loss-landscape shapes",
    reproduces="Radon-spline paper, Sec. III-C / Fig. 2 and Sec. IV-A / Fig. 3",
    claims=[
        Claim("relu-penalizes-contractions",
              "The ReLU seminorm penalizes contractions (R(f_eps) ~ eps^-3), whatever d.",
              "Radon, Sec. III-C, Fig. 2",
              AllAtMost("exponent_error.relu", 0.05), paper_value="eps^-(2a+1), a = 1"),
        Claim("step-penalizes-contractions",
              "The step seminorm penalizes contractions (R(f_eps) ~ eps^-1), whatever d.",
              "Radon, Sec. III-C",
              AllAtMost("exponent_error.step", 0.05), paper_value="eps^-(2a+1), a = 0"),
        Claim("independent-of-d",
              "The condition for penalizing contractions is independent of d: the ReLU exponent "
              "is the same in every dimension.",
              "Radon, Sec. III-C",
              AtMost("exponent_spread_over_d.relu", 0.05), paper_value="independent of d"),
        Claim("curse",
              "Without architecture and activation (plain L2) spikier fits are preferred, "
              "exponentially in d: R(f_eps) ~ eps^d.",
              "Radon, Sec. III-C",
              AllAtMost("exponent_error.l2", 0.05), paper_value="eps^d"),
        Claim("architecture-alone-fails",
              "The architecture factor alone (Dirac activation, a = -1 < -1/2) does not "
              "penalize contractions: R(f_eps) ~ eps^1 in every d.",
              "Radon, Sec. III-C",
              AllAtLeast("contraction_exponent.dirac", 0.5), paper_value="needs a > -1/2"),
        Claim("all-shapes",
              "The loss along a boundary's normal is a ridge top, a valley floor or a "
              "pass-through crease; all three occur.",
              "Radon, Sec. IV-A1, Fig. 3",
              AllAtLeast("shape_counts", 1), paper_value="three shapes"),
        Claim("piecewise-quadratic",
              "The loss in the breakpoint is piecewise quadratic with non-negative curvature, "
              "pieces separated at the data points.",
              "Radon, Sec. IV-A",
              Predicate("quadratic fit residual <= 1e-9 and min curvature >= -1e-9",
                        lambda m: (m["piece_quadratic_residual"] <= 1e-9
                                   and m["piece_min_curvature"] >= -1e-9,
                                   m["piece_quadratic_residual"]),
                        reads=("piece_quadratic_residual", "piece_min_curvature")),
              paper_value="CPW-quadratic"),
        Claim("valley-pins",
              "Gradient descent started next to a valley floor is pinned to the data point.",
              "Radon, Sec. IV-A1 (datapoint pinning)",
              AtLeast("valley_pinned_fraction", 0.99), paper_value="pinned"),
        Claim("ridge-repels",
              "Started next to a ridge top, the breakpoint moves away from the data point.",
              "Radon, Sec. IV-A1, Fig. 3",
              Between("ridge_escaped_fraction", 0.99, 1.0), paper_value="ridge top"),
    ],
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    # ---- contractions (Fig. 2)
    eps = np.array(sorted(cfg.eps))
    rows: list[dict] = []
    expo: dict[str, dict[str, float]] = {}
    err: dict[str, dict[str, float]] = {}
    spread: dict[str, float] = {}
    for pen in PENALTIES:
        expo[pen], err[pen] = {}, {}
        for d in cfg.dims:
            vals = [contraction_seminorm(d, e, pen, cfg.grid, cfg.half_width) for e in eps]
            slope = float(np.polyfit(np.log(eps), np.log(vals), 1)[0])
            expo[pen][f"d{d}"] = slope
            err[pen][f"d{d}"] = abs(slope - PREDICTED[pen](d))
            rows += [{"penalty": pen, "d": d, "eps": e, "seminorm": v} for e, v in zip(eps, vals, strict=True)]
        spread[pen] = float(max(expo[pen].values()) - min(expo[pen].values()))
    ctx.metric("contraction_exponent", expo)
    ctx.metric("exponent_error", err)
    ctx.metric("exponent_spread_over_d", spread)
    table = pd.DataFrame(rows)
    ctx.table("contractions", table)

    # ---- loss shapes (Fig. 3)
    rng = ctx.rng
    counts = {"ridge": 0, "valley": 0, "crease": 0}
    resid, min_curv = 0.0, math.inf
    pinned, escaped, n_valley, n_ridge = 0, 0, 0, 0
    example = None
    for _draw in range(cfg.n_draws):
        x = np.sort(rng.uniform(-1, 1, cfg.n_points))
        r = rng.standard_normal(cfg.n_points)
        c = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
        L, left, right = loss_pieces(x, r, c)
        kinds = [classify(a, b) for a, b in zip(left, right, strict=True)]
        for k in kinds:
            counts[k] += 1
        # piecewise quadratic: fit each piece between consecutive data points
        edges = np.concatenate([[-1.5], x, [1.5]])
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if b - a < 1e-3:
                continue
            g = np.linspace(a, b, 9)[1:-1]
            coef, res, *_ = np.polyfit(g, L(g), 2, full=True)
            fit = np.polyval(coef, g)
            resid = max(resid, float(np.max(np.abs(fit - L(g))) / max(1.0, np.max(np.abs(L(g))))))
            min_curv = min(min_curv, float(coef[0]))
        # GD on gamma from next to each valley floor / ridge top
        gap = np.min(np.diff(x)) if len(x) > 1 else 1.0
        for n, k in enumerate(kinds):
            if k not in ("valley", "ridge"):
                continue
            lr = 0.1 / (c * c * cfg.n_points)  # lr x curvature <= 0.1
            slope_max = max(abs(left[n]), abs(right[n]))
            side = 1 if n % 2 else -1
            if k == "valley":  # from a quarter of the gap away: pinned within one step
                start = x[n] + 0.25 * gap * side
            else:  # from just next to it, with steps below a tenth of the offset
                start = x[n] + 0.01 * gap * side
                lr = min(lr, 0.001 * gap / slope_max)
            g = start
            for _ in range(cfg.gd_steps):
                g = g - lr * float(np.sum((r - c * np.maximum(x - g, 0.0)) * c * (x > g)))
            if k == "valley":
                n_valley += 1
                pinned += abs(g - x[n]) <= 2 * lr * slope_max + 1e-12
            else:
                n_ridge += 1
                escaped += abs(g - x[n]) > abs(start - x[n])
        if example is None and {"ridge", "valley", "crease"} <= set(kinds):
            example = (x, r, c, kinds)
    ctx.metric("shape_counts", counts)
    ctx.metric("piece_quadratic_residual", resid)
    ctx.metric("piece_min_curvature", min_curv)
    ctx.metric("valley_pinned_fraction", pinned / n_valley if n_valley else math.nan)
    ctx.metric("ridge_escaped_fraction", escaped / n_ridge if n_ridge else math.nan)

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for pen in PENALTIES:
        for d in cfg.dims:
            t = table[(table.penalty == pen) & (table.d == d)]
            axes[0].loglog(t.eps, t.seminorm / t.seminorm.iloc[-1], "o-", ms=3,
                           label=f"{pen}, d={d} (slope {expo[pen][f'd{d}']:.2f})")
    axes[0].set(xlabel="contraction eps", ylabel="R(f_eps) / R(f_1)",
                title="seminorm of contracted bumps")
    axes[0].legend(fontsize=6, ncol=2)
    if example is not None:
        x, r, c, kinds = example
        L, _, _ = loss_pieces(x, r, c)
        g = np.linspace(-1.2, 1.2, 2001)
        axes[1].plot(g, L(g), "k-", lw=1)
        col = {"ridge": "tab:red", "valley": "tab:green", "crease": "tab:blue"}
        for xn, k in zip(x, kinds, strict=True):
            axes[1].plot([xn], L(np.array([xn])), "o", color=col[k], ms=5)
        for k, cl in col.items():
            axes[1].plot([], [], "o", color=cl, label=k)
        axes[1].legend(fontsize=7)
        axes[1].set(xlabel="breakpoint gamma", ylabel="loss", title="loss along the normal")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    ctx.figure("shapes", fig, caption="Left (Fig. 2): the seminorm of a contracted Gaussian bump "
               "against eps; slopes: L2 d, Dirac (architecture only) 1, step -1, ReLU -3. "
               "Right (Fig. 3): the loss of one ReLU neuron against its breakpoint; data points "
               "marked by their boundary shape.")
