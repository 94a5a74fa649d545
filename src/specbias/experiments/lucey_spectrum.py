"""Lucey Fig. 3: normalized singular values of the shallow-network feature matrix per activation.

A[n, k] = act(s (x_n - b_k)) with N = K points/biases equally spaced in [0, 1] (docs/theory.md section 1);
sigma_k / sigma_1 on a log scale.

* Panel (a), monotonic activations at s = ``scale`` (default K): the decay sigma_k ~ k^-p sorts
  them into types (docs/theory.md section 2): p ~ 1 for Heaviside/tanh, ~ 2 for ReLU/GELU/SiLU,
  ~ 3 for ReLU^2 (``decay_exponent``, fitted over k = fit_start..fit_first).
* Panel (b), non-monotonic activations (sinc, Gaussian) at several scales s = f K
  (``scale_fractions``, default K, K/4 and K/16): flat, then a sharp drop at k ~ s (sinc: Shannon
  bandwidth s/2 keeps about s components on [0, 1]). ``drop_index[act][f]`` is the first k with
  sigma_k / sigma_1 < ``drop_level`` (None when the spectrum never falls that far: at s = K the
  drop lies beyond k = K, off the plot) and ``drop_over_s`` is that k divided by s. For sinc the
  drop is predicted at k = s, for our Gaussian e^{-z^2/2} (sigma_k ~ e^{-(pi k/s)^2/2}) the
  level 0.5 is reached at k = sqrt(2 ln 2)/pi s ~ 0.375 s.
* ``scale_invariance_max_diff``: max |sigma_k/sigma_1 at s/4 - at s| for Heaviside, ReLU and
  ReLU^2, which are scale equivariant (0 up to rounding).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..claims import AllAtMost, Claim, Ordered, Predicate
from ..features import shallow_features
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationNames, decay_exponent

MONOTONIC = ["heaviside", "tanh", "relu", "relu2", "gelu", "silu"]
NON_MONOTONIC = ["sinc", "gaussian"]
#: Expected decay exponent p of sigma_k ~ k^-p per monotonic activation (docs/theory.md section 2).
TYPES = {"heaviside": 1.0, "tanh": 1.0, "relu": 2.0, "gelu": 2.0, "silu": 2.0, "relu2": 3.0}


class Config(ExperimentConfig):
    width: int = Field(256, ge=4, le=8192, description="N = K: samples and hidden units")
    scale: float | None = Field(
        None, gt=0, description="horizontal scale s of panel (a) and of the decay exponents; "
        "None uses s = K (docs/theory.md section 2)")
    activations: ActivationNames = Field(default_factory=lambda: MONOTONIC + NON_MONOTONIC,
                                   min_length=1, max_length=100)
    fit_first: int = Field(20, ge=3, le=8192,
                           description="fit sigma_k ~ k^-p over k = fit_start..fit_first")
    fit_start: int = Field(2, ge=1, le=8192, description="first component of the decay fit")
    scale_fractions: list[float] = Field(
        default_factory=lambda: [1.0, 0.25, 0.0625], min_length=1, max_length=8,
        description="scales s = f K of the non-monotonic panel (b), as fractions f of K")
    drop_level: float = Field(0.5, gt=0, lt=1, description="sigma_k / sigma_1 below which the "
                              "non-monotonic spectrum has dropped (drop_index)")

    @model_validator(mode="after")
    def _fit_range(self):
        if self.fit_first > self.width:
            raise self.invalid("fit_first", f"not exceed width ({self.width})", self.fit_first)
        if self.fit_start >= self.fit_first:
            raise self.invalid("fit_start", f"be below fit_first ({self.fit_first}): the decay "
                               "fit needs at least 2 components", self.fit_start)
        return self

    @model_validator(mode="after")
    def _fractions(self):
        f = self.scale_fractions
        if not all(math.isfinite(v) and 0 < v <= 4 for v in f) or len(set(f)) != len(f):
            raise self.invalid("scale_fractions", "hold different floats in (0, 4]", f)
        return self

    def memory_estimate(self):
        return {"width": (4 * 8.0 * self.width**2, "4 width x width float64 matrices")}


def singular_spectrum(act, width: int, scale: float) -> np.ndarray:
    """sigma_k / sigma_1 of the N = K = width feature matrix on [0, 1]."""
    grid = np.linspace(0.0, 1.0, width)
    A = shallow_features(grid, grid, act, scale=scale)
    s = np.linalg.svd(A, compute_uv=False)
    return s / s[0]


def drop_index(sigma_normalized: np.ndarray, level: float = 0.5) -> int | None:
    """The first (1-based) k with ``sigma_k / sigma_1 < level``; None if there is none."""
    below = np.flatnonzero(np.asarray(sigma_normalized) < level)
    return int(below[0]) + 1 if below.size else None


def _fkey(f: float) -> str:
    return f"{f:g}"


def _type_check(m):
    p = m["decay_exponent"]
    dev = {a: round(abs(p[a] - e) / e, 3) for a, e in TYPES.items() if a in p}
    return bool(dev) and all(v <= 0.25 for v in dev.values()), dev


def _tracks_s(m):
    """Per activation: the drop index falls with s and drop/s stays within a factor 1.25."""
    out, ok = {}, True
    for a in NON_MONOTONIC:
        r = {f: v for f, v in m["drop_over_s"][a].items() if v is not None}
        k = {f: m["drop_index"][a][f] for f in r}
        order = sorted(r, key=float)  # increasing s
        moves = len(order) >= 2 and all(k[x] < k[y] for x, y in zip(order, order[1:], strict=False))
        spread = max(r.values()) / min(r.values()) if r else math.nan
        ok = ok and moves and spread <= 1.25
        out[a] = {"drop_index": [k[f] for f in order], "max/min drop_over_s": round(spread, 3)}
    return ok, out


def _sinc_at_s(m):
    r = {f: v for f, v in m["drop_over_s"]["sinc"].items() if v is not None and float(f) < 1}
    return bool(r) and all(0.9 <= v <= 1.25 for v in r.values()), r


def _gaussian_near_s(m):
    r = {f: v for f, v in m["drop_over_s"]["gaussian"].items() if v is not None}
    return bool(r) and all(1 / 3 <= v <= 3 for v in r.values()), r


CLAIMS = [
    Claim("decay-order", "Heaviside has the slowest singular-value drop-off, then ReLU, then "
          "ReLU^2 (sigma_k ~ k^-p with p the spline order of Prop. 3.1).",
          "Lucey, Sec. 6 'Spectrum of A', Fig. 3a",
          Ordered(("decay_exponent.heaviside", "decay_exponent.relu", "decay_exponent.relu2")),
          paper_value="p = 1 < 2 < 3"),
    Claim("decay-types", "tanh decays like Heaviside (p ~ 1), GELU and SiLU like ReLU (p ~ 2), "
          "ReLU^2 with p ~ 3.", "Lucey, Sec. 6, Fig. 3a",
          Predicate("|p - p_type| / p_type <= 0.25 for every monotonic activation (p_type 1, 2, 3)",
                    _type_check, reads=("decay_exponent",)),
          paper_value="tanh -> p = 1; GELU, SiLU -> p = 2"),
    Claim("non-monotonic-plateau", "sinc and Gaussian plateau early: no initial steep drop-off "
          "(decay exponent over the first components near 0).", "Lucey, Sec. 6, Fig. 3b",
          AllAtMost("decay_exponent", 0.25, only=("sinc", "gaussian")),
          paper_value="plateau, then drop at k ~ s"),
    Claim("drop-tracks-s", "The non-monotonic spectrum drops sharply at k ~ s: the drop moves "
          "with the scale s.", "Lucey, Sec. 6, Fig. 3b",
          Predicate("for sinc and Gaussian, drop_index rises with s and drop_index/s varies by "
                    "at most a factor 1.25 across the scales", _tracks_s,
                    reads=("drop_index.sinc", "drop_index.gaussian", "drop_over_s.sinc",
                           "drop_over_s.gaussian")),
          paper_value="drop at k ~ s"),
    Claim("sinc-unity-until-s", "sinc's normalized singular values stay at unity until k = s, "
          "then drop precipitously.", "Lucey, Sec. 6, Fig. 3b caption",
          Predicate("sinc drop_over_s in [0.9, 1.25] at every s < K", _sinc_at_s,
                    reads=("drop_over_s.sinc",)),
          paper_value="unity until k = s"),
    Claim("gaussian-drop-near-s", "The Gaussian's spectrum drops at k ~ s (less sharply than "
          "sinc's).", "Lucey, Sec. 6, Fig. 3b",
          Predicate("Gaussian drop_over_s within a factor 3 of 1 at every scale", _gaussian_near_s,
                    reads=("drop_over_s.gaussian",)),
          paper_value="drop at k ~ s"),
    Claim("scale-invariant", "s has no effect on the spectra of Heaviside, ReLU and ReLU^2 "
          "(strictly scale equivariant).", "Lucey, Fig. 3 caption",
          AllAtMost("scale_invariance_max_diff", 1e-9,
                    only=("heaviside", "relu", "relu2")),
          paper_value="no effect"),
]


@register_experiment(
    "lucey-spectrum",
    config=Config,
    description="Normalized singular values of the shallow-network Jacobian per activation",
    reproduces="Lucey, Fig. 3",
    presets={"quick": {"width": 256}, "paper": {"width": 1024}},
    demo=True,
    claims=CLAIMS,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    K = cfg.width
    scale = cfg.scale if cfg.scale is not None else float(K)
    spectra, rows, exps = {}, [], {}
    for name in ctx.progress(cfg.activations, desc="activations"):
        s = singular_spectrum(name, K, scale)
        spectra[name] = s
        exps[name] = decay_exponent(s, cfg.fit_start, cfg.fit_first)
        rows += [{"activation": name, "scale": scale, "k": k + 1, "sigma_normalized": float(v)}
                 for k, v in enumerate(s)]

    # panel (b): the non-monotonic activations at several scales s = f K
    non_mono = [a for a in cfg.activations if a in NON_MONOTONIC]
    scales = {_fkey(f): f * K for f in sorted(cfg.scale_fractions, reverse=True)}
    by_scale: dict[str, dict[str, np.ndarray]] = {a: {} for a in non_mono}
    drops: dict[str, dict[str, int | None]] = {a: {} for a in non_mono}
    for a in non_mono:
        for key, s_b in scales.items():
            sv = spectra[a] if s_b == scale else singular_spectrum(a, K, s_b)
            by_scale[a][key] = sv
            drops[a][key] = drop_index(sv, cfg.drop_level)
            if s_b != scale:
                rows += [{"activation": a, "scale": s_b, "k": k + 1, "sigma_normalized": float(v)}
                         for k, v in enumerate(sv)]
    # scale equivariance: the spectrum at s = K/4 against s = K
    invariance = {}
    for a in cfg.activations:
        if a in ("heaviside", "step", "relu", "relu2"):
            other = singular_spectrum(a, K, scale / 4.0)
            invariance[a] = float(np.max(np.abs(other - spectra[a])))
    ctx.table("singular_values", pd.DataFrame(rows))
    ctx.metric("decay_exponent", exps)
    ctx.metric("scale", scale)
    ctx.metric("scales_non_monotonic", {k: float(v) for k, v in scales.items()})
    ctx.metric("drop_index", drops)
    ctx.metric("drop_over_s", {a: {k: (None if v is None else v / scales[k]) for k, v in d.items()}
                               for a, d in drops.items()})
    ctx.metric("scale_invariance_max_diff", invariance)

    k = np.arange(1, K + 1)
    members = [a for a in cfg.activations if a not in NON_MONOTONIC]
    if members:
        fig, ax = plt.subplots(figsize=(6, 4))
        for a in members:
            ax.loglog(k, np.maximum(spectra[a], 1e-17), label=f"{a} (p={exps[a]:.2f})")
        ax.set(xlabel="k", ylabel=r"$\sigma_k / \sigma_1$",
               title=f"Monotonic activations, N = K = {K}, s = {scale:g}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ctx.figure("spectrum_monotonic", fig,
                   caption="Monotonic activations: sigma_k/sigma_1 of A[n,k] = act(s(x_n - b_k)) "
                   "(Fig. 3a).")
    if non_mono:
        fig, ax = plt.subplots(figsize=(6, 4))
        styles = ["-", "--", ":", "-."]
        for i, a in enumerate(non_mono):
            for j, (key, s_b) in enumerate(scales.items()):
                d = drops[a][key]
                ax.semilogx(k, by_scale[a][key], color=f"C{i}", ls=styles[j % len(styles)],
                            label=f"{a}, s = {s_b:g} (drop at "
                            + (f"k = {d})" if d is not None else "k > K)"))
        for j, s_b in enumerate(scales.values()):
            if s_b <= K:
                ax.axvline(s_b, color="0.6", lw=0.8, ls=styles[j % len(styles)])
        ax.axhline(cfg.drop_level, color="0.8", lw=0.8)
        ax.set(xlabel="k", ylabel=r"$\sigma_k / \sigma_1$", ylim=(-0.02, 1.05),
               title=f"Non-monotonic activations, N = K = {K} (grey lines: k = s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        ctx.figure("spectrum_non_monotonic", fig,
                   caption="Non-monotonic activations at several scales: flat, then a sharp drop "
                   f"at k ~ s (drop_index: first k with sigma_k/sigma_1 < {cfg.drop_level:g}); "
                   "Fig. 3b.")
    ctx.note("Decay exponents p are least-squares slopes of log sigma_k vs log k over "
             f"k = {cfg.fit_start}..{cfg.fit_first}; docs/theory.md section 2 expects ~1 (step, tanh), "
             "~2 (ReLU, GELU, SiLU), ~3 (ReLU^2).")
