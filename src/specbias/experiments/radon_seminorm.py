"""Radon-spline paper, Eqs. 6-8 (Sec. III, III-A): the kernel-regime fit is the interpolant of
least spectral seminorm ``S(f) = (1/2pi) int |f^(w)|^2 |w|^(d-1) / |act^(w)|^2 dw``, checked
numerically in one dimension (``d = 1``).

For each activation: ``N`` data points in ``[-data_range, data_range]``, a kernel-regime network
with zero-planes on a uniform grid (spacing ``spacing``, both orientations ``theta = +-1``, offsets
``gamma`` in ``[-zero_plane_range, zero_plane_range]``, scale 1), and its minimum-norm interpolant
``c* = Phi^+ y`` from :func:`specbias.kernel_fit`. The fitted function ``f*`` is sampled on a fine
grid and ``S(f*)`` computed from its FFT by :func:`specbias.kernel.spectral_seminorm`, up to the
band the network resolves (half its zero-plane Nyquist frequency, ``pi / (2 spacing)``, or
where ``|act^|^2`` falls below ``1e-12`` of its peak). Then:

* ``norm_identity``: ``S(f*) / (2 |c*|^2 / spacing)`` -- the weight norm *is* the seminorm (the
  continuum limit of Eq. 6 with density ``1 / spacing`` per orientation); below 1 by what the
  polynomial null space of the seminorm costs in weights over a finite zero-plane range;
* ``seminorm_excess_min``: the smallest relative excess ``(S(f* + t phi) - S(f*)) / S(f*)`` over
  perturbations ``phi`` that vanish at the data (``phi = prod_n (x - x_n) e^{-(x-mu)^2/(2 sig^2)}``,
  not in the network's span), both signs, at sizes ``|t phi|_S = r |f*|_S``; it is ``>= 0`` at
  size ``r`` exactly when the seminorm cosine ``|<f*, phi>_S| / (|f*|_S |phi|_S) <= r/2``, and the
  cosine itself is ``max_abs_cos``;
* ``other_fits_excess_min``: the same excess for the kernel-regime interpolants of the *other*
  activations (all interpolate the same data), where they have a finite seminorm;
* ``closed_form_rel_error``: ``max |f* - f_cf| / max |y|`` on the data's hull, ``f_cf`` the
  closed-form minimizer: the piecewise-linear interpolant (step: the fit is a staircase, compared
  at the midpoints of the zero-plane cells with the data moved to theirs), the natural cubic (ReLU) and quintic (ReLU^2) splines, and
  ``sum_n alpha_n K(x - x_n)`` with ``K^ = |act^|^2`` (Gaussian ``e^{-z^2/4}``, sech
  ``z / sinh z``, Laplace ``(1 + |z|) e^{-|z|}``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from scipy.interpolate import CubicSpline, make_interp_spline

from ..activations import Activation, activation
from ..claims import AllAtLeast, AllAtMost, Claim
from ..features import radon_features
from ..kernel import kernel_fit, spectral_seminorm
from . import ExperimentConfig, RunContext, register_experiment


def _x_csch(z):
    z = np.asarray(z, dtype=np.float64)
    zs = np.where(z == 0, 1.0, z)
    return np.where(z == 0, 1.0, zs / np.sinh(zs))


#: Supported activations: the order of the finite difference that makes the fits decay, and
#: the closed-form minimum-seminorm interpolant ("linear", "cubic", "quintic" or a kernel K with
#: K^ proportional to |act^|^2; None where we have none).
SUPPORTED: dict[str, tuple[int, object]] = {
    "step": (1, "linear"),
    "relu": (2, "cubic"),
    "relu2": (3, "quintic"),
    "gaussian": (0, lambda z: np.exp(-(z**2) / 4)),
    "sech": (0, _x_csch),  # sech * sech = 2 z / sinh z
    "oberhettinger_i84": (0, lambda z: (1 + np.abs(z)) * np.exp(-np.abs(z))),
    "oberhettinger_i70": (0, None),
    "tanh": (1, None),
    "logistic": (1, None),
}
DEFAULT = ["step", "relu", "relu2", "gaussian", "sech", "oberhettinger_i70", "oberhettinger_i84"]


def _key(spec: str) -> str:
    return activation(spec).name


class Config(ExperimentConfig):
    activations: list[str] = Field(default_factory=lambda: list(DEFAULT), min_length=1,
                                   max_length=len(SUPPORTED),
                                   description=f"activations, from {sorted(SUPPORTED)}")
    n_points: int = Field(7, ge=2, le=40, description="data points N")
    data_range: float = Field(3.0, gt=0, le=20, description="data in [-data_range, data_range]")
    zero_plane_range: float = Field(12.0, gt=0, le=100,
                                    description="zero-plane offsets gamma in [-range, range]")
    spacing: float = Field(0.02, gt=0, le=1, description="zero-plane spacing (grid of gamma)")
    oversample: int = Field(4, ge=2, le=16, description="fine grid step = spacing / oversample")
    margin: float = Field(20.0, ge=5, le=200, description="fine grid reaches range + margin")
    sizes: list[float] = Field(default_factory=lambda: [0.1, 0.3, 1.0], min_length=1,
                               max_length=10, description="perturbation sizes r (relative)")

    @model_validator(mode="after")
    def _check(self):
        bad = [a for a in self.activations if a not in SUPPORTED]
        if bad:
            import difflib

            close = difflib.get_close_matches(bad[0], sorted(SUPPORTED), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise self.invalid("activations", f"hold names from {sorted(SUPPORTED)} (Unknown "
                               f"activation {bad[0]!r}.{hint})", self.activations)
        if self.zero_plane_range < self.data_range + 1:
            raise self.invalid("zero_plane_range", "be at least data_range + 1",
                               self.zero_plane_range)
        if 2 * self.zero_plane_range / self.spacing > 40000:
            raise self.invalid("spacing", "give at most 40000 zero-planes per orientation "
                               "(2 zero_plane_range / spacing)", self.spacing)
        if any(r <= 0 for r in self.sizes):
            raise self.invalid("sizes", "hold positive numbers", self.sizes)
        return self

    def grid_points(self) -> int:
        h = self.spacing / self.oversample
        return 1 << math.ceil(math.log2(2 * (self.zero_plane_range + self.margin) / h))

    def memory_estimate(self):
        width = 2 * (int(2 * self.zero_plane_range / self.spacing) + 1)
        return {"spacing": (8.0 * (4096 * width + 2 * self.grid_points() * len(self.activations)),
                            "4096 x width x 8 bytes + grid samples")}


def data(cfg: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``N`` points on a jittered grid of ``[-data_range, data_range]`` and N(0, 1) values."""
    n, a = cfg.n_points, cfg.data_range
    base = np.linspace(-a, a, n)
    jitter = 0.1 * (2 * a / max(n - 1, 1))
    x = np.sort(base + rng.uniform(-jitter, jitter, n))
    return x, rng.standard_normal(n)


def closed_form(kind, x: np.ndarray, y: np.ndarray):
    """The closed-form minimum-seminorm interpolant of ``kind`` (see :data:`SUPPORTED`)."""
    if kind == "linear":
        return lambda t: np.interp(t, x, y)
    if kind == "cubic":
        return CubicSpline(x, y, bc_type="natural")
    if kind == "quintic":
        zero = [(3, 0.0), (4, 0.0)]
        return make_interp_spline(x, y, k=5, bc_type=(zero, zero))
    K = kind
    alpha = np.linalg.solve(K(x[:, None] - x[None, :]), y)
    return lambda t: K(np.asarray(t)[:, None] - x[None, :]) @ alpha


def band_of(act: Activation, order: int, spacing: float) -> float:
    """The band of the seminorm: half the zero-planes' Nyquist frequency, ``pi / (2 spacing)``,
    or less where ``|act^|^2`` falls below 1e-12 of its peak (bumps). Half, because the fits
    of truncated powers are staircases or have kinks at the zero-planes, whose sampled
    transform is aliased near ``pi / spacing``."""
    nyq = math.pi / spacing
    if order > 0:
        return nyq / 2
    w = np.linspace(0.0, nyq, 200001)
    a2 = np.abs(act.fourier(w)) ** 2
    return float(min(nyq, w[a2 >= 1e-12 * np.nanmax(a2)].max()))


def decays(values: np.ndarray, h: float, order: int, tol: float = 1e-9) -> bool:
    """Whether the ``order``-th difference of ``values`` vanishes at both ends of the grid."""
    d = values
    for _ in range(order):
        d = np.diff(d) / h
    edge = max(abs(d[0]), abs(d[-1]), abs(d[len(d) // 50]), abs(d[-len(d) // 50]))
    return bool(edge <= tol * max(np.max(np.abs(d)), 1e-300))


@register_experiment(
    "radon-seminorm",
    config=Config,
    description="Kernel-regime fit = minimum spectral seminorm interpolant (1-D, numerical)",
    reproduces="Radon-spline paper, Eqs. 6-8 (Sec. III, III-A)",
    presets={"quick": {}, "paper": {"zero_plane_range": 24.0, "spacing": 0.01, "n_points": 9}},
    claims=[
        Claim("minimal",
              "The kernel-regime fit minimizes the spectral seminorm int |f^|^2 |w|^(d-1) / "
              "|act^|^2 over interpolants: every perturbation that keeps the data values "
              "raises it.",
              "Radon, Eqs. 6-8 (Sec. III-A)",
              AllAtLeast("seminorm_excess_min", 0.0), paper_value="minimum (Eq. 8)"),
        Claim("others-larger",
              "Interpolants of the same data by other activations' kernel fits have a larger "
              "seminorm (where it is finite).",
              "Radon, Eqs. 6-8 (Sec. III-A)",
              AllAtLeast("other_fits_excess_min", 0.0), paper_value="minimum (Eq. 8)"),
        Claim("norm-is-seminorm",
              "The weight norm |c|^2 of the kernel fit is the seminorm of its function "
              "(uniform zero-plane density); tolerance 5% for the polynomial null space a "
              "finite zero-plane range leaves in the weights.",
              "Radon, Eq. 6 and Eq. 8",
              AllAtMost("norm_identity_rel_error", 0.05), paper_value="equal (Eq. 6)"),
        Claim("closed-form",
              "The kernel fit is the closed-form minimizer: step -> piecewise linear, ReLU -> "
              "natural cubic spline, ReLU^2 -> natural quintic spline, bumps -> interpolation "
              "by the kernel with transform |act^|^2 (2% of max |y|, for the finite spacing "
              "and range).",
              "Radon, Sec. III (ReLU: [10, Thm. 6]); Eq. 8",
              AllAtMost("closed_form_rel_error", 0.02), paper_value="int f''^2 for ReLU"),
    ],
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    x, y = data(cfg, ctx.rng)
    R, dlt = cfg.zero_plane_range, cfg.spacing
    g = dlt * np.arange(-round(R / dlt), round(R / dlt) + 1)
    theta = np.concatenate([np.ones(g.size), -np.ones(g.size)])[:, None]
    gamma = np.concatenate([g, g])
    h = dlt / cfg.oversample
    n = cfg.grid_points()
    X = -(R + cfg.margin) + h * np.arange(n)
    hull = (X >= x[0]) & (X <= x[-1])
    windows = [(mu * cfg.data_range / 1.5, sig * cfg.data_range / 3.0)
               for mu in (-1.0, 0.0, 1.0) for sig in (1.5, 2.5)]
    P = np.prod([X - xn for xn in x], axis=0)
    perts = []
    for mu, sig in windows:
        p = P * np.exp(-((X - mu) ** 2) / (2 * sig**2))
        perts.append(p / np.max(np.abs(p)))

    fits, norms = {}, {}
    for spec in ctx.progress(cfg.activations, desc="kernel fits"):
        act = activation(spec)
        with ctx.timer(f"fit_{spec}_s"):
            Phi = radon_features(x[:, None], theta, gamma, act)
            c = kernel_fit(Phi, y)
            f = np.empty(n)
            for i in range(0, n, 4096):
                f[i:i + 4096] = radon_features(X[i:i + 4096, None], theta, gamma, act) @ c
        fits[spec], norms[spec] = f, float(c @ c)
        ctx.metric(f"interp_max_error.{spec}", float(np.max(np.abs(Phi @ c - y))))

    rows, excess, cosines, ident, others, cf_err, semis, bands = [], {}, {}, {}, {}, {}, {}, {}
    for spec in cfg.activations:
        act = activation(spec)
        order, kind = SUPPORTED[spec]
        band = band_of(act, order, dlt)
        bands[spec] = band

        def S(v, act=act, order=order, band=band):
            return spectral_seminorm(v, h, act, order=order, band=band)

        f = fits[spec]
        s0 = S(f)
        semis[spec] = s0
        ident[spec] = abs(s0 / (2 * norms[spec] / dlt) - 1)
        worst, cmax = math.inf, 0.0
        for (mu, sig), p in zip(windows, perts, strict=True):
            sp_ = S(p)
            cos = (S(f + p) - S(f - p)) / (4 * math.sqrt(s0 * sp_))
            cmax = max(cmax, abs(cos))
            for r in cfg.sizes:
                t = r * math.sqrt(s0 / sp_)
                for sign in (1.0, -1.0):
                    ex = (S(f + sign * t * p) - s0) / s0
                    worst = min(worst, ex)
                    rows.append({"activation": spec, "mu": mu, "sigma": sig, "r": sign * r,
                                 "cos": cos, "excess": ex})
        excess[spec], cosines[spec] = worst, cmax
        comp = {}
        for other in cfg.activations:
            if other != spec and decays(fits[other], h, order):
                comp[other] = (S(fits[other]) - s0) / s0
        if comp:
            others[spec] = min(comp.values())
        ctx.metric(f"other_fits_excess.{spec}", comp)
        if kind is not None:
            sel, xs = hull, x
            if kind == "linear":  # a staircase: compare at the zero-plane cells' midpoints,
                # through the data moved to the midpoints of their cells
                sel = hull & (np.abs((X / dlt) % 1.0 - 0.5) < 1e-6)
                xs = (np.floor(x / dlt) + 0.5) * dlt
            ref = closed_form(kind, xs, y)
            cf_err[spec] = float(np.max(np.abs(f[sel] - ref(X[sel]))) / np.max(np.abs(y)))

    ctx.metric("seminorm", semis)
    ctx.metric("band", bands)
    ctx.metric("norm_identity_rel_error", ident)
    ctx.metric("seminorm_excess_min", excess)
    ctx.metric("max_abs_cos", cosines)
    ctx.metric("other_fits_excess_min", others)
    ctx.metric("closed_form_rel_error", cf_err)
    ctx.table("perturbations", pd.DataFrame(rows))

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    view = (X >= -cfg.data_range - 2) & (X <= cfg.data_range + 2)
    for spec in cfg.activations:
        axes[0].plot(X[view], fits[spec][view], label=spec)
    axes[0].plot(x, y, "ko", ms=4)
    axes[0].set(xlabel="x", ylabel="f*(x)", title="kernel-regime interpolants")
    axes[0].legend(fontsize=7)
    df = pd.DataFrame(rows)
    for spec in cfg.activations:
        d = df[df.activation == spec].groupby("r")["excess"].min()
        axes[1].plot(d.index, d.values, "o-", label=spec)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set_yscale("symlog", linthresh=1e-3)
    axes[1].set(xlabel="signed perturbation size r", ylabel="min relative excess",
                title="S(f* + t phi) / S(f*) - 1")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    ctx.figure("seminorm", fig, caption="Left: the minimum-norm kernel-regime interpolants. "
               "Right: the smallest relative increase of the spectral seminorm over "
               "perturbations vanishing at the data, against their signed size (relative to "
               "|f*|_S); it stays above 0 (r^2 - 2 r |cos| with |cos| the seminorm cosine).")
    ctx.note(f"Zero-planes: spacing {dlt:g}, offsets in [-{R:g}, {R:g}], both orientations; "
             f"fine grid step {h:g}, {n} points. The seminorm is integrated up to the band in "
             "'band' (half the zero-plane Nyquist frequency, pi / (2 spacing), or where "
             "|act^|^2 is below 1e-12 of its peak).")
