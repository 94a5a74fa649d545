"""Lucey Fig. 3: normalized singular values of the shallow-network feature matrix per activation.

A[n, k] = act(s (x_n - b_k)) with N = K points/biases equally spaced in [0, 1] (docs/theory.md section 1);
sigma_k / sigma_1 on a log scale. The decay sigma_k ~ k^-p sorts activations into types
(docs/theory.md section 2): p ~ 1 for Heaviside/tanh, ~ 2 for ReLU/GELU/SiLU, ~ 3 for ReLU^2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..features import shallow_features
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import ActivationNames, decay_exponent

MONOTONIC = ["heaviside", "tanh", "relu", "relu2", "gelu", "silu"]
NON_MONOTONIC = ["sinc", "gaussian"]


class Config(ExperimentConfig):
    width: int = Field(256, ge=4, le=8192, description="N = K: samples and hidden units")
    scale: float | None = Field(
        None, gt=0, description="horizontal scale s; None uses s = K (docs/theory.md section 2)")
    activations: ActivationNames = Field(default_factory=lambda: MONOTONIC + NON_MONOTONIC,
                                   min_length=1, max_length=100)
    fit_first: int = Field(20, ge=3, le=8192,
                           description="fit sigma_k ~ k^-p over k = fit_start..fit_first")
    fit_start: int = Field(2, ge=1, le=8192, description="first component of the decay fit")

    @model_validator(mode="after")
    def _fit_range(self):
        if self.fit_first > self.width:
            raise self.invalid("fit_first", f"not exceed width ({self.width})", self.fit_first)
        if self.fit_start >= self.fit_first:
            raise self.invalid("fit_start", f"be below fit_first ({self.fit_first}): the decay "
                               "fit needs at least 2 components", self.fit_start)
        return self

    def memory_estimate(self):
        return {"width": (4 * 8.0 * self.width**2, "4 width x width float64 matrices")}


def singular_spectrum(act, width: int, scale: float) -> np.ndarray:
    """sigma_k / sigma_1 of the N = K = width feature matrix on [0, 1]."""
    grid = np.linspace(0.0, 1.0, width)
    A = shallow_features(grid, grid, act, scale=scale)
    s = np.linalg.svd(A, compute_uv=False)
    return s / s[0]


@register_experiment(
    "lucey-spectrum",
    config=Config,
    description="Normalized singular values of the shallow-network Jacobian per activation",
    reproduces="Lucey, Fig. 3",
    presets={"quick": {"width": 256}, "paper": {"width": 1024}},
    demo=True,
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    scale = cfg.scale if cfg.scale is not None else float(cfg.width)
    spectra, rows, exps = {}, [], {}
    for name in ctx.progress(cfg.activations, desc="activations"):
        s = singular_spectrum(name, cfg.width, scale)
        spectra[name] = s
        exps[name] = decay_exponent(s, cfg.fit_start, cfg.fit_first)
        rows += [{"activation": name, "k": k + 1, "sigma_normalized": float(v)} for k, v in enumerate(s)]
    ctx.table("singular_values", pd.DataFrame(rows))
    ctx.metric("decay_exponent", exps)
    ctx.metric("scale", scale)

    k = np.arange(1, cfg.width + 1)
    for group, title in (("monotonic", "Monotonic activations"),
                         ("non_monotonic", "Non-monotonic activations")):
        members = [a for a in cfg.activations if (a in NON_MONOTONIC) == (group == "non_monotonic")]
        if not members:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for a in members:
            label = f"{a} (p={exps[a]:.2f})" if group == "monotonic" else a
            ax.loglog(k, np.maximum(spectra[a], 1e-17), label=label)
        ax.set(xlabel="k", ylabel=r"$\sigma_k / \sigma_1$", title=f"{title}, N = K = {cfg.width}, s = {scale:g}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ctx.figure(f"spectrum_{group}", fig,
                   caption=f"{title}: sigma_k/sigma_1 of A[n,k] = act(s(x_n - b_k)).")
    ctx.note("Decay exponents p are least-squares slopes of log sigma_k vs log k over "
             f"k = {cfg.fit_start}..{cfg.fit_first}; docs/theory.md section 2 expects ~1 (step, tanh), "
             "~2 (ReLU, GELU, SiLU), ~3 (ReLU^2).")
