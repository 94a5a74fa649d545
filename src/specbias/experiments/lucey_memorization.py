"""Lucey Sec. 5 and Sec. 7 ('Bias & Bandwidth'): a sinc network cannot memorize detail below 1/s.

The shallow network ``f(x) = sum_k w_k act(s (x - b_k))`` is fitted to ``N`` evenly spaced
samples ``x_n`` of [0, 1] (spacing h = 1/(N-1)) by gradient descent from w = 0 with
lr = 1/sigma_1^2 for ``steps`` steps, in closed form (``SpectralSolver.gd``, docs/theory.md
section 2). The target is white noise, y_n ~ N(0, 1): an "arbitrary signal", with as much detail
as the samples can carry. Sec. 5 (Eq. 18) notes that any network whose feature matrix A has full
rank N can memorize it (an impulse activation gives A = I; Zhang et al. show it for ReLU), but
that with GD what matters is the distribution of the singular values; Sec. 7 adds that a sinc
network, sinc(s(x - b)) with Shannon bandwidth s/2, cannot memorize arbitrary signals once the
sample spacing is below 1/s, whatever the width K or the distribution of the biases.

Settings, for each ``oversampling`` r = (N - 1)/s (r = 1: spacing 1/s; r > 1: spacing below
1/s), with N = r s + 1 samples:

* ``K=mN`` for each m in ``widths``: K biases equally spaced in [-h/2, 1 - h/2], half a sample
  spacing left of the sample grid (for K = N this interleaves biases and samples as in Zhang et
  al.'s construction, so that every sample, x_0 = 0 included, lies right of a ReLU breakpoint);
* ``random K=mN`` (m = ``random_width``): K biases uniform on the same interval, from the seed.
  For sinc this tests "whatever the distribution of the biases"; a ReLU network with random
  biases can leave two neighbouring samples without a breakpoint between them and lose rank
  (Zhang et al. need a suitable distribution), so the ReLU claims read the grids only.

Metrics, per activation, r and setting:

* ``train_error`` -- |y - A w| / |y| on the samples after ``steps`` GD steps (0: memorized);
* ``dof_fitted`` -- N (1 - train_error^2), the number of sample values' worth of the white
  noise's energy the fit captures: Shannon says a band of s/2 on [0, 1] holds ~s of them (plus a
  few from the ends), so for sinc it stays near s however large N and K are;
* ``active_components`` -- the number of singular values whose GD mask is >= 1/2 after
  ``steps`` steps (the components GD can fit);
* ``log10_steps_to_memorize`` -- log10 T(min(N, K)), the steps after which the GD mask reaches
  1 - 1/e at the smallest singular value (Prop. 4.2; inf where it is 0);
* ``control_error`` (sinc only) -- the train error on a band-limited target (random sines of 1 to
  s/4 cycles on [0, 1], inside the band): the sinc network fits it at every r, so what it cannot
  fit is the detail beyond its band, not the samples as such.

``shannon_error`` is the prediction sqrt(1 - 1/r) for sinc (a fraction 1/r of the white noise's
energy lies inside the band).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..claims import Claim, Predicate
from ..features import shallow_features
from ..shrinkage import SpectralSolver
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationNames

DENSE = 2000  # points of the dense grid the fits are drawn on


class Config(ExperimentConfig):
    scale: float = Field(16.0, ge=2, le=512, description="s of the activation act(s (x - b)); "
                         "sinc's Shannon bandwidth is s/2")
    oversampling: list[float] = Field(
        default_factory=lambda: [1.0, 2.0, 4.0], min_length=1, max_length=10,
        description="r = (N - 1)/s per setting: N = r s + 1 samples, spacing 1/(r s) (r = 1: "
        "spacing 1/s; r > 1: below 1/s)")
    widths: list[int] = Field(default_factory=lambda: [1, 2, 4, 8], min_length=1, max_length=10,
                              description="widths K = m N (m in this list) on the bias grid")
    random_width: int = Field(4, ge=1, le=16, description="K = m N of the random-bias setting")
    activations: ActivationNames = Field(default_factory=lambda: ["sinc", "relu"], min_length=1,
                                         max_length=10)
    steps: float = Field(1e12, ge=1, le=1e15, description="GD steps T (closed form, lr = "
                         "1/sigma_1^2); ReLU needs T of order 10 T(N) ~ N^4 to memorize N "
                         "samples (1e14 at the paper preset's N = 513)")

    @model_validator(mode="after")
    def _values(self):
        r = self.oversampling
        if not all(1 <= v <= 16 for v in r) or len(set(r)) != len(r):
            raise self.invalid("oversampling", "hold different floats in [1, 16]", r)
        if any(round(v * self.scale) < 2 for v in r):
            raise self.invalid("oversampling", "give at least 3 samples (r s >= 2)", r)
        if not all(1 <= m <= 16 for m in self.widths) or len(set(self.widths)) != len(self.widths):
            raise self.invalid("widths", "hold different ints in [1, 16]", self.widths)
        return self

    def memory_estimate(self):
        N = int(round(max(self.oversampling) * self.scale)) + 1
        K = N * max(max(self.widths), self.random_width)
        return {"scale": (8.0 * (6 * N * K + DENSE * K),
                          "8 bytes x (6 N x K: features and their SVD + 2000 x K: the fits on "
                          "a dense grid), N = max(oversampling) scale + 1, K = N max(widths)")}


def _rkey(r: float) -> str:
    return f"{r:g}"


def _settings(cfg: Config) -> list[tuple[str, int, bool]]:
    """(label, width multiplier, random biases) per setting."""
    out = [(f"K={m}N" if m > 1 else "K=N", m, False) for m in sorted(cfg.widths)]
    out.append((f"random K={cfg.random_width}N" if cfg.random_width > 1 else "random K=N",
                cfg.random_width, True))
    return out


def _biases(N: int, K: int, rng: np.random.Generator | None) -> np.ndarray:
    h = 1.0 / (N - 1)
    if rng is None:
        return np.linspace(-h / 2, 1 - h / 2, K)
    return np.sort(rng.uniform(-h / 2, 1 - h / 2, K))


def _bandlimited(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    f = np.arange(1, max(1, int(s // 4)) + 1)
    a = rng.standard_normal(f.size)
    ph = rng.uniform(0.0, 2.0 * np.pi, f.size)
    return (a[:, None] * np.sin(2 * np.pi * f[:, None] * x[None, :] + ph[:, None])).sum(axis=0)


def _values(m, metric: str, act: str, dense: bool, grid_only: bool = False) -> dict[str, float]:
    """{"r/setting": value} of ``metric[act]`` over the settings with r > 1 (dense) or r = 1
    (``grid_only``: without the random-bias setting)."""
    out = {}
    for r, per in m[metric][act].items():
        if (float(r) > 1) == dense:
            out.update({f"{r}/{k}": v for k, v in per.items()
                        if not (grid_only and k.startswith("random"))})
    return out


def _sinc_cannot(m):
    errs = _values(m, "train_error", "sinc", True)
    pred = m["shannon_error"]
    ok = bool(errs) and all(v >= 0.5 * pred[k.split("/")[0]] for k, v in errs.items())
    return ok, {"min": round(min(errs.values()), 3) if errs else None,
                "half the Shannon prediction (largest)": round(0.5 * max(
                    pred[k] for k in pred if float(k) > 1), 3) if errs else None}


def _width_no_gain(m):
    """Per r > 1: how much lower than at K = N the sinc error gets in any other setting."""
    gains = {}
    for r, per in m["train_error"]["sinc"].items():
        if float(r) > 1:
            gains[r] = round(per["K=N"] - min(per.values()), 5)
    return bool(gains) and all(v <= 0.02 for v in gains.values()), gains


def _sinc_memorizes(m):
    errs = _values(m, "train_error", "sinc", False, grid_only=True)
    return bool(errs) and all(v <= 1e-6 for v in errs.values()), max(errs.values(), default=None)


def _relu_memorizes(m):
    errs = {k: v for dense in (True, False)
            for k, v in _values(m, "train_error", "relu", dense, grid_only=True).items()
            if not k.endswith("/K=N")}
    return bool(errs) and all(v <= 1e-3 for v in errs.values()), max(errs.values(), default=None)


def _spectrum_not_rank(m):
    def inf(d):  # T = inf (sigma_N = 0) is recorded as None
        return {k: math.inf if v is None else v for k, v in d.items()}

    sinc = inf(_values(m, "log10_steps_to_memorize", "sinc", True))
    relu = inf({**_values(m, "log10_steps_to_memorize", "relu", True, grid_only=True),
                **_values(m, "log10_steps_to_memorize", "relu", False, grid_only=True)})
    ok = bool(sinc) and bool(relu) and min(sinc.values()) >= 25 and max(relu.values()) <= 20
    return ok, {"sinc (r > 1) min": round(min(sinc.values()), 1) if sinc else None,
                "relu max": round(max(relu.values()), 1) if relu else None}


def _band(m):
    s = m["scale"]
    d = _values(m, "active_components", "sinc", True)
    return bool(d) and all(v <= 2 * s for v in d.values()), {
        "max": max(d.values()) if d else None, "s": s, "samples": m["samples"]}


def _control(m):
    c = m["control_error"]
    return bool(c) and all(v <= 0.01 for v in c.values()), c


CLAIMS = [
    Claim("sinc-cannot-memorize", "A shallow sinc network cannot memorize an arbitrary signal "
          "when the sample spacing is below 1/s.", "Lucey, Sec. 7 'Bias & Bandwidth'",
          Predicate("sinc train_error >= half the Shannon prediction sqrt(1 - 1/r) in every "
                    "setting with spacing below 1/s (r > 1)", _sinc_cannot,
                    reads=("train_error.sinc", "shannon_error")),
          paper_value="unable to memorize"),
    Claim("width-no-gain", "This holds irrespective of the width K or the distribution of the "
          "biases: finer bias spacing gains nothing.", "Lucey, Sec. 7 'Bias & Bandwidth'",
          Predicate("at each r > 1, no wider or random-bias sinc network has a train_error "
                    "more than 0.02 below the K = N one", _width_no_gain,
                    reads=("train_error.sinc",)),
          paper_value="we do not gain anything"),
    Claim("band-holds-s-values", "The sinc network's band holds about s sample values on "
          "[0, 1] (Shannon-Whittaker, Eq. 19): what it fits does not grow with N or K.",
          "Lucey, Sec. 5, Eq. 19",
          Predicate("sinc active_components (GD mask >= 1/2 after T steps) <= 2 s in every "
                    "setting with r > 1, whatever N and K", _band,
                    reads=("active_components.sinc", "scale", "samples")),
          paper_value="1/s-spaced samples describe the signal"),
    Claim("sinc-memorizes-at-1/s", "At sample spacing 1/s the sinc network memorizes (the "
          "impulse-like case of Eq. 18).", "Lucey, Sec. 5, Eq. 18-19",
          Predicate("sinc train_error <= 1e-6 at r = 1 on every bias grid", _sinc_memorizes,
                    reads=("train_error.sinc",)),
          paper_value="perfect reconstruction"),
    Claim("sinc-fits-band", "Signals inside the band are completely described by the samples: "
          "the sinc net fits a band-limited target at every spacing.", "Lucey, Sec. 5, Eq. 19",
          Predicate("sinc control_error <= 0.01 at every r", _control,
                    reads=("control_error",)),
          paper_value="completely described"),
    Claim("relu-memorizes", "A ReLU network memorizes, given sufficient width and a suitable "
          "distribution of the biases (Zhang et al.), unlike sinc.", "Lucey, Sec. 5; Sec. 7",
          Predicate("relu train_error <= 1e-3 on every bias grid with K >= 2N", _relu_memorizes,
                    reads=("train_error.relu",)),
          paper_value="memorizes (full rank)"),
    Claim("spectrum-not-rank", "With GD it is the distribution of the singular values, not the "
          "rank of A, that decides memorization (sigma_1/sigma_N).", "Lucey, Sec. 5",
          Predicate("log10 T(N) >= 25 for sinc at r > 1 (sigma_N/sigma_1 at the rounding "
                    "floor) and <= 20 for relu on every bias grid", _spectrum_not_rank,
                    reads=("log10_steps_to_memorize.sinc", "log10_steps_to_memorize.relu")),
          paper_value="the ratio sigma_1/sigma_k is critical"),
]


@register_experiment(
    "lucey-memorization",
    config=Config,
    description="A sinc net cannot memorize white noise below sample spacing 1/s, whatever its "
                "width; ReLU can (GD, closed form)",
    reproduces="Lucey, Sec. 5 and Sec. 7 'Bias & Bandwidth'",
    presets={"quick": {}, "paper": {"scale": 64.0, "oversampling": [1.0, 2.0, 4.0, 8.0],
                                    "steps": 1e14}},
    demo=False,
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    s = float(cfg.scale)
    settings = _settings(cfg)
    ratios = sorted(cfg.oversampling)
    err: dict[str, dict[str, dict[str, float]]] = {a: {} for a in cfg.activations}
    dof: dict[str, dict[str, dict[str, float]]] = {a: {} for a in cfg.activations}
    active: dict[str, dict[str, dict[str, int]]] = {a: {} for a in cfg.activations}
    logT: dict[str, dict[str, dict[str, float]]] = {a: {} for a in cfg.activations}
    control: dict[str, float] = {}
    spectra: dict[tuple[str, str], np.ndarray] = {}
    fits: dict[str, Any] = {}
    rows = []
    with ctx.timer("solve_s"):
        for r in ctx.progress(ratios, desc="spacings"):
            rk = _rkey(r)
            N = int(round(r * s)) + 1
            x = np.linspace(0.0, 1.0, N)
            y = ctx.rng.standard_normal(N)
            y_band = _bandlimited(x, s, ctx.rng)
            bias_sets = {label: _biases(N, m * N, ctx.rng if rand else None)
                         for label, m, rand in settings}
            for a in cfg.activations:
                err[a][rk], dof[a][rk], active[a][rk], logT[a][rk] = {}, {}, {}, {}
                for label, b in bias_sets.items():
                    A = shallow_features(x, b, a, scale=s)
                    solver = SpectralSolver(A)
                    w = solver.gd(y, cfg.steps)
                    e = float(np.linalg.norm(y - A @ w) / np.linalg.norm(y))
                    mask = solver.mask("gd", steps=cfg.steps)
                    T = float(solver.steps_for(min(N, b.size)))
                    err[a][rk][label] = e
                    dof[a][rk][label] = N * (1.0 - e**2)
                    active[a][rk][label] = int(np.sum(mask >= 0.5))
                    logT[a][rk][label] = math.log10(T) if T > 0 else 0.0  # inf: sigma_N = 0
                    rows.append({"activation": a, "oversampling": r, "samples": N,
                                 "setting": label, "width": b.size, "train_error": e,
                                 "dof_fitted": dof[a][rk][label],
                                 "active_components": active[a][rk][label],
                                 "log10_steps_to_memorize": logT[a][rk][label]})
                    if label == settings[-2][0]:  # the widest grid
                        spectra[(a, rk)] = solver.singular_values / solver.singular_values[0]
                        if r == ratios[-1]:
                            fits[a] = (b, w)
                        if a == "sinc":
                            wb = solver.gd(y_band, cfg.steps)
                            control[rk] = float(np.linalg.norm(y_band - A @ wb)
                                                / np.linalg.norm(y_band))
            if r == ratios[-1]:
                fits["samples"] = (x, y)
    ctx.table("memorization", pd.DataFrame(rows))
    ctx.metric("scale", s)
    ctx.metric("steps", cfg.steps)
    ctx.metric("samples", {_rkey(r): int(round(r * s)) + 1 for r in ratios})
    ctx.metric("train_error", err)
    ctx.metric("dof_fitted", dof)
    ctx.metric("active_components", active)
    ctx.metric("log10_steps_to_memorize", logT)
    ctx.metric("shannon_error", {_rkey(r): math.sqrt(1.0 - 1.0 / r) for r in ratios})
    if "sinc" in cfg.activations:
        ctx.metric("control_error", control)

    # ---------------------------------------------------------------- figures
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    styles = {a: ls for a, ls in zip(cfg.activations, ["-", "--", "-.", ":"] * 3, strict=False)}
    for a in cfg.activations:
        for j, (label, _, _) in enumerate(settings):
            ax.plot(ratios, [max(err[a][_rkey(r)][label], 1e-17) for r in ratios],
                    ls=styles[a], marker="o", ms=3, color=f"C{j}",
                    label=f"{a}, {label}" if a == cfg.activations[0] or j == 0 else None)
    ax.plot(ratios, [math.sqrt(1 - 1 / r) for r in ratios], "k:", lw=2,
            label="Shannon: sqrt(1 - 1/r)")
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.set(xlabel="r = (N - 1)/s  (sample spacing 1/(r s))", ylabel="train error |y - Aw|/|y|",
           title=f"Memorizing white noise, s = {s:g}, GD T = {cfg.steps:g}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ctx.figure("memorization_error", fig, caption="Training error on white noise against the "
               "sample density: the sinc network memorizes at spacing 1/s (r = 1) and fails "
               "below it whatever its width or bias layout (solid lines overlap); ReLU "
               "memorizes (dashed, at the bottom).")

    x, y = fits["samples"]
    xd = np.linspace(0.0, 1.0, min(DENSE, 20 * x.size))
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(x, y, "k.", ms=4, label="white-noise samples")
    for a in cfg.activations:
        b, w = fits[a]
        ax.plot(xd, shallow_features(xd, b, a, scale=s) @ w, lw=1,
                label=f"{a} (K = {b.size}): error {err[a][_rkey(ratios[-1])][settings[-2][0]]:.3f}")
    ax.set(xlabel="x", title=f"Fits at r = {ratios[-1]:g} (N = {x.size}, spacing 1/{x.size - 1}, "
           f"s = {s:g})")
    ax.legend(fontsize=7)
    ctx.figure("fits", fig, caption="The sinc fit stays inside its band (it passes near, not "
               "through, the samples); the ReLU fit passes through every sample.")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (a, rk), sv in spectra.items():
        ax.semilogy(np.arange(1, sv.size + 1), np.maximum(sv, 1e-17), ls=styles[a],
                    label=f"{a}, r = {rk} (N = {sv.size})")
    ax.axvline(s, color="0.5", lw=0.8, ls=":")
    ax.axhline(math.sqrt(math.log(2) / cfg.steps), color="0.7", lw=0.8,
               label=f"GD mask = 1/2 after T = {cfg.steps:g}")
    ax.set(xlabel="k", ylabel=r"$\sigma_k/\sigma_1$", ylim=(1e-17, 2),
           title=f"Singular values at the widest grid (dotted: k = s = {s:g})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ctx.figure("spectra", fig, caption="sinc's singular values fall to the rounding floor past "
               "k ~ s whatever N; ReLU's decay like k^-2 and stay within reach of GD.")
    ctx.note("Biases on the grid sit half a sample spacing left of the samples (Zhang et al.'s "
             "interleaving at K = N); random biases are uniform on the same interval. GD runs in "
             "closed form, so T = 1e12 steps costs one SVD.")
