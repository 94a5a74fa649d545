"""Plan the bandwidth a network will learn: steps, learning rate, Fourier-feature ``sigma``,
SIREN ``omega0`` or Lucey's scale ``s`` (docs/planning.md; docs/theory.md sections 2 and 8).

Full-batch gradient descent on the mean squared error, linearized around the initialization
(:class:`specbias.ntk.LinearizedGD`), maps the residual ``r = f - y`` on the training grid to
``r_T = Q diag(1 - m(T)) Q^T r_0`` with the GD mask ``m`` of the kernel's eigenvalues. On an
evenly spaced 1-D grid of ``N`` points, the part of a complex exponential
``u_k(x_n) = exp(2 pi i k x_n)`` that is still in the residual after ``T`` steps is

    rho_k(T) = |u_k^H Q diag(1 - m(T)) Q^T u_k| / N = sum_i w_ki (1 - m_i(T)) + (1 - sum_i w_ki),

with ``w_ki = |u_k^H q_i|^2 / N`` the share of frequency ``k`` in mode ``i`` (the last term is
the part of ``u_k`` outside the span of the modes: a feature matrix of rank below ``N`` never
fits it). ``1 - rho_k(T)`` is the learned fraction of frequency ``k``: the quantity
:meth:`LinearizedGD.learned_fraction` predicts and :class:`specbias.SpectrumTracker` measures,
for a target made of that one frequency. It does not depend on the target, so it describes
the network and its training, not one signal.

* the **steps frequency k needs**: the ``T`` with ``1 - rho_k(T) = level`` (default ``1 - 1/e``,
  the level of :meth:`SpectralSolver.steps_for`);
* the **learned bandwidth** after ``T`` steps: the highest frequency ``k`` such that every
  frequency ``1, ..., k`` of the grid has reached ``level`` (0 when the first has not);
* **forward** (:func:`predict_bandwidth`): both, for a model (or a builder and a knob value),
  averaged over a few initializations, with the bandwidth of each;
* **inverse** (:func:`plan_bandwidth`, :func:`plan_shallow`): the knob value that makes the
  learned bandwidth a target ``B``. The predicted bandwidth is a non-decreasing step function
  of the knob; the plan is the geometric middle of the interval of knob values that give
  exactly ``B`` (between the value where frequency ``B`` is reached and the one where
  ``B + 1`` is), so the plan is as far as it can be from both neighbouring bandwidths. Steps
  and learning rate come in closed form from one kernel per initialization; other knobs
  (``sigma``, ``omega0``, ``s``) by a monotone search, one kernel per value and initialization.

Frequencies are in cycles per unit of ``x``: the DFT bins ``j / (N dx)``, ``j = 1 ... J`` with
``J`` the largest bin strictly below the Nyquist frequency ``1 / (2 dx)``; on ``x_n = n / N``
they are the integers ``1 ... J``. The prediction is the linearized (kernel-regime) one: it is
accurate while the kernel moves little during training (:func:`specbias.kernel_drift`); see
docs/ntk.md and docs/planning.md for where that breaks.

>>> import torch
>>> from specbias.nn import SIREN
>>> x = torch.arange(32, dtype=torch.float64)[:, None] / 32
>>> def siren(omega0, g):
...     return SIREN(1, 64, 2, omega0=omega0, generator=g, dtype=torch.float64)
>>> p = plan_bandwidth(4, x, knob="omega0", builder=siren, steps=300, lr_fraction=0.5, inits=2)
>>> p.knob, predict_bandwidth(x, builder=siren, value=p.value, steps=300, lr_fraction=0.5,
...                           inits=2).bandwidth
('omega0', 4.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._validation import ParameterError, check_array, check_choice, check_scalar
from .features import shallow_features
from .ntk import LinearizedGD
from .shrinkage import SpectralSolver, gd_mask

__all__ = [
    "BandwidthPrediction",
    "Plan",
    "KNOB_RANGES",
    "frequency_grid",
    "learned_bandwidth",
    "predict_bandwidth",
    "plan_bandwidth",
    "predict_shallow",
    "plan_shallow",
]

#: Default search ranges of the knobs that need a model per value.
KNOB_RANGES: dict[str, tuple[float, float]] = {
    "sigma": (0.05, 100.0),
    "omega0": (0.5, 300.0),
    "scale": (0.5, 1000.0),
}
LEVEL = 1.0 - 1.0 / math.e
_GRID = 17  # knob values of the coarse search grid
_BISECT = 9  # bisection steps of the monotone search (the bracket shrinks 512-fold)
_MAX_STEPS = 1e15


# --------------------------------------------------------------------------- the frequency grid


def frequency_grid(x, owner: str = "frequency_grid") -> tuple[np.ndarray, np.ndarray, float]:
    """``(x, frequencies, nyquist)`` for 1-D inputs on an evenly spaced grid.

    ``x`` (shape ``(N,)`` or ``(N, 1)``, any order) as a float64 vector; the DFT bins
    ``j / (N dx)`` strictly between 0 and the Nyquist frequency ``1 / (2 dx)``.

    >>> import numpy as np
    >>> _, k, nyq = frequency_grid(np.arange(8) / 8)
    >>> k.tolist(), nyq
    ([1.0, 2.0, 3.0], 4.0)
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    xv = check_array(x, "x", owner=owner, ndim=(1, 2))
    if xv.ndim == 2 and xv.shape[1] != 1:
        raise ParameterError(
            f"The 'x' parameter of {owner} must hold 1-D inputs, shape (N,) or (N, 1). "
            f"Got shape {xv.shape} instead."
        )
    xv = xv.reshape(-1)
    n = xv.size
    if n < 4:
        raise ParameterError(f"The 'x' parameter of {owner} needs at least 4 points. Got {n}.")
    d = np.diff(np.sort(xv))
    dx = float(d.mean())
    if dx <= 0 or not np.allclose(d, dx, rtol=1e-6, atol=0.0):
        raise ParameterError(f"The 'x' parameter of {owner} must be an evenly spaced grid.")
    J = (n - 1) // 2
    return xv, np.arange(1, J + 1) / (n * dx), 1.0 / (2.0 * dx)


def learned_bandwidth(frequencies, learned, level: float = LEVEL) -> Any:
    """The highest frequency up to which every frequency's learned fraction is ``>= level``.

    ``learned`` has shape ``(..., F)`` (frequencies increasing along the last axis); 0 where the
    first frequency is below ``level``. A float for one curve, an array of shape ``(...)`` for
    several.

    >>> learned_bandwidth([1, 2, 3, 4], [0.9, 0.8, 0.1, 0.9])
    2.0
    """
    k = np.asarray(frequencies, dtype=np.float64)
    ok = np.nan_to_num(np.asarray(learned, dtype=np.float64), nan=-np.inf) >= level
    count = np.argmin(np.concatenate([ok, np.zeros(ok.shape[:-1] + (1,), bool)], -1), -1)
    out = np.where(count > 0, k[np.maximum(count - 1, 0)], 0.0)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- the response


class _Unstable(ParameterError):
    """The learning rate is at or above a kernel's stability limit."""


@dataclass
class _Part:
    """One initialization: kernel eigenvalues ``lam`` in units where the GD factor is
    ``1 - lr_eff lam``, frequency-mode shares ``W`` (F, r), the never-fitted share ``floor``,
    the effective step ``lr_eff`` and the stability limit ``max_lr`` of the user's ``lr``."""

    lam: np.ndarray
    W: np.ndarray
    floor: np.ndarray
    lr_eff: float
    lr: float
    max_lr: float

    def sigma(self) -> np.ndarray:
        """Singular values for :func:`gd_mask` with ``lr_eff``; modes in the oscillating regime
        (``1 < lr_eff lam < 2``) reflected to ``2 - lr_eff lam``, which gives the magnitude
        ``|1 - lr_eff lam|^T`` of their residual factor."""
        xv = self.lr_eff * self.lam
        xv = np.where(xv > 1.0, 2.0 - xv, xv)
        return np.sqrt(np.clip(xv, 0.0, None) / self.lr_eff)

    def rho(self, T) -> np.ndarray:
        """Residual share per frequency after ``T`` steps; ``T`` scalar or shape (F,)."""
        T = np.asarray(T, dtype=np.float64)
        s = self.sigma()
        if T.ndim == 0:
            m = gd_mask(s, T, self.lr_eff)  # (r,)
            return self.W @ (1.0 - m) + self.floor
        m = gd_mask(s, T, self.lr_eff)  # (F, r)
        return np.einsum("fr,fr->f", self.W, 1.0 - m) + self.floor


def _shares(x: np.ndarray, k: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    E = np.exp(-2j * np.pi * np.outer(k, x))  # (F, N)
    W = np.abs(E @ Q) ** 2 / x.size
    return W, np.clip(1.0 - W.sum(1), 0.0, 1.0)


def _check_lr(lr, lr_fraction, owner: str) -> tuple[float | None, float | None]:
    if (lr is None) == (lr_fraction is None):
        raise ParameterError(f"{owner} needs exactly one of 'lr' and 'lr_fraction'.")
    if lr is not None:
        return check_scalar(lr, "lr", owner=owner, min_val=0.0, include_min=False), None
    return None, check_scalar(lr_fraction, "lr_fraction", owner=owner, min_val=0.0,
                              max_val=1.0, include_min=False, include_max=False)


def _ntk_part(model, x: np.ndarray, k: np.ndarray, lr: float | None, frac: float | None,
              owner: str) -> _Part:
    if not isinstance(model, torch.nn.Module):
        raise ParameterError(f"The model given to {owner} must be a torch.nn.Module. "
                             f"Got {type(model).__name__} instead.")
    dtype = next((p.dtype for p in model.parameters()), torch.float64)
    xt = torch.as_tensor(x, dtype=dtype)[:, None]
    lin = LinearizedGD(model, xt, torch.zeros(x.size, dtype=dtype))
    W, floor = _shares(x, k, lin.modes)
    use = lin.max_lr * frac if frac is not None else float(lr)  # type: ignore[arg-type]
    if use >= lin.max_lr:
        raise _Unstable(
            f"The 'lr' parameter of {owner} must be below the stability limit max_lr = "
            f"{lin.max_lr:.4g} of this network's kernel (GD diverges above it). Got {use:.4g} "
            "instead; use a smaller lr or lr_fraction.")
    return _Part(lin.eigenvalues, W, floor, 2.0 * use / x.size, use, lin.max_lr)


def _shallow_part(x: np.ndarray, k: np.ndarray, activation, scale: float, biases,
                  lr_scale: float) -> _Part:
    b = x if biases is None else biases
    solver = SpectralSolver(shallow_features(x, b, activation, scale))
    s = solver.singular_values
    W, floor = _shares(x, k, solver.components)
    lr = lr_scale / float(s[0]) ** 2
    return _Part(s**2, W, floor, lr, lr, 2.0 / float(s[0]) ** 2)


class _Response:
    """The residual shares of several initializations, and what follows from them."""

    def __init__(self, parts: list[_Part], k: np.ndarray, level: float):
        self.parts, self.k, self.level = parts, k, level

    def rho(self, T) -> np.ndarray:
        return np.mean([p.rho(T) for p in self.parts], axis=0)

    def learned(self, T) -> np.ndarray:
        return 1.0 - self.rho(T)

    def bandwidth(self, T) -> float:
        return float(learned_bandwidth(self.k, self.learned(T), self.level))

    def bandwidth_per_init(self, T) -> list[float]:
        return [float(learned_bandwidth(self.k, 1.0 - p.rho(T), self.level)) for p in self.parts]

    def steps_needed(self, parts: list[_Part] | None = None) -> np.ndarray:
        """Per frequency, the ``T`` at which the mean learned fraction reaches ``level``
        (``inf`` where it never does): for a single initialization and a frequency that lies in
        one eigenspace of the kernel, :meth:`SpectralSolver.steps_for` of that eigenvalue (closed
        form); otherwise bisection in ``log T``."""
        parts = self.parts if parts is None else parts
        target = 1.0 - self.level
        F = self.k.size

        def rho(T):
            return np.mean([p.rho(T) for p in parts], axis=0)

        out = np.full(F, np.inf)
        limit = rho(np.full(F, _MAX_STEPS))
        ok = limit <= target
        if len(parts) == 1:  # closed form where a frequency lies in one eigenspace
            p = parts[0]
            solver = SpectralSolver(np.diag(p.sigma()))
            sv, sig = solver.singular_values, p.sigma()  # sv sorted decreasing
            for f in np.nonzero(ok & (p.floor <= 1e-12))[0]:
                i = int(np.argmax(p.W[f]))
                same = np.isclose(p.lam, p.lam[i], rtol=1e-9, atol=0.0)
                if p.W[f, same].sum() >= 1.0 - 1e-9:
                    first = int(np.argmax(np.isclose(sv, sig[i], rtol=1e-9, atol=0.0)))
                    out[f] = solver.steps_for(first + 1, lr=p.lr_eff, mask_value=self.level)
                    ok[f] = False
        if not ok.any():
            return out
        lo = np.full(F, 1e-6)
        hi = np.ones(F)
        for _ in range(60):  # grow hi until reached (at most _MAX_STEPS)
            grow = ok & (rho(hi) > target)
            if not grow.any():
                break
            hi = np.where(grow, np.minimum(hi * 16.0, _MAX_STEPS), hi)
        below = ok & (rho(lo) <= target)
        for _ in range(80):
            mid = np.sqrt(lo * hi)
            r = rho(mid)
            hi = np.where(ok & (r <= target), mid, hi)
            lo = np.where(ok & (r > target), mid, lo)
        out[ok] = hi[ok]
        out[below] = 0.0
        return out


# --------------------------------------------------------------------------- results


@dataclass
class BandwidthPrediction:
    """What linearized GD predicts for a network: per-frequency steps and the learned bandwidth.

    Attributes
    ----------
    frequencies : ndarray (F,)
        The DFT bins below Nyquist, cycles per unit of ``x``.
    steps_needed : ndarray (F,)
        Steps each frequency needs to reach ``level`` (mean response over the initializations;
        real, ``inf`` where never).
    learned_fraction : ndarray (F,)
        ``1 - rho_k`` after ``steps`` (mean over the initializations).
    bandwidth : float
        The predicted learned bandwidth after ``steps`` (mean response).
    bandwidth_per_init : list of float
        The same for each initialization on its own (the spread).
    steps, lr, level : the settings; ``lr`` is the mean over the initializations when it was
        given as ``lr_fraction``; ``max_lr`` the smallest stability limit of the kernels.
    """

    frequencies: np.ndarray
    steps_needed: np.ndarray
    learned_fraction: np.ndarray
    bandwidth: float
    bandwidth_per_init: list[float]
    steps: float
    lr: float
    level: float
    max_lr: float
    nyquist: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "frequencies": self.frequencies.tolist(),
            "steps_needed": [None if not math.isfinite(v) else float(v) for v in self.steps_needed],
            "learned_fraction": [float(v) for v in self.learned_fraction],
            "bandwidth": self.bandwidth, "bandwidth_per_init": self.bandwidth_per_init,
            "steps": self.steps, "lr": self.lr, "level": self.level, "max_lr": self.max_lr,
            "nyquist": self.nyquist,
        }


@dataclass
class Plan:
    """The knob value that makes the learned bandwidth ``target`` (see :func:`plan_bandwidth`).

    Attributes
    ----------
    knob : str
        ``"steps"``, ``"lr"``, or the builder's knob (``"sigma"``, ``"omega0"``, ``"scale"``...).
    value : float
        The plan: the geometric middle of ``interval``.
    interval : (float, float)
        The knob values predicted to give exactly bandwidth ``target``: from where frequency
        ``target`` is reached to where the next one is (``inf`` when nothing above is reached in
        the search range).
    target : float
    prediction : BandwidthPrediction
        The forward prediction at ``value``.
    """

    knob: str
    value: float
    interval: tuple[float, float]
    target: float
    prediction: BandwidthPrediction
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {"knob": self.knob, "value": self.value, "target": self.target,
                "interval": [lo, hi if math.isfinite(hi) else None],
                "bandwidth_per_init": self.prediction.bandwidth_per_init,
                "prediction": self.prediction.to_dict(), "notes": list(self.notes)}


def _prediction(resp: _Response, steps: float, nyq: float) -> BandwidthPrediction:
    return BandwidthPrediction(
        frequencies=resp.k.copy(), steps_needed=resp.steps_needed(),
        learned_fraction=resp.learned(steps), bandwidth=resp.bandwidth(steps),
        bandwidth_per_init=resp.bandwidth_per_init(steps), steps=float(steps),
        lr=float(np.mean([p.lr for p in resp.parts])), level=resp.level,
        max_lr=float(min(p.max_lr for p in resp.parts)), nyquist=nyq)


# --------------------------------------------------------------------------- models


def _models(owner: str, model, builder, value, inits: int, seed: int) -> list[torch.nn.Module]:
    if (model is None) == (builder is None):
        raise ParameterError(f"{owner} needs exactly one of 'model' and 'builder'.")
    if model is not None:
        if isinstance(model, torch.nn.Module):
            return [model]
        if isinstance(model, Sequence) and model and all(isinstance(m, torch.nn.Module)
                                                         for m in model):
            return list(model)
        raise ParameterError(f"The 'model' parameter of {owner} must be a torch.nn.Module or a "
                             f"non-empty sequence of them. Got {type(model).__name__} instead.")
    if not callable(builder):
        raise ParameterError(f"The 'builder' parameter of {owner} must be callable "
                             "(knob value, torch.Generator) -> torch.nn.Module.")
    out = []
    for j in range(inits):
        try:
            m = builder(value, torch.Generator().manual_seed(seed + j))
        except ParameterError:
            raise
        except Exception as exc:
            raise ParameterError(f"The 'builder' of {owner} failed at {value!r}: {exc}") from exc
        out.append(m)
    return out


def _check_common(owner: str, x, level, inits, seed):
    xv, k, nyq = frequency_grid(x, owner)
    level = check_scalar(level, "level", owner=owner, min_val=0.0, max_val=1.0,
                         include_min=False, include_max=False)
    inits = check_scalar(inits, "inits", kind=int, owner=owner, min_val=1, max_val=64)
    seed = check_scalar(seed, "seed", kind=int, owner=owner, min_val=0)
    return xv, k, nyq, level, inits, seed


def _required_steps(steps, owner: str) -> float:
    T = _check_steps(steps, owner)
    assert T is not None  # required=True raises instead
    return T


def _check_steps(steps, owner: str, required: bool = True) -> float | None:
    if steps is None:
        if required:
            raise ParameterError(f"{owner} needs 'steps' (the number of GD steps, or the budget).")
        return None
    return check_scalar(steps, "steps", owner=owner, min_val=0.0, include_min=False,
                        max_val=_MAX_STEPS)


def predict_bandwidth(x, *, model=None, builder: Callable | None = None, value=None,
                      steps, lr=None, lr_fraction=None, level: float = LEVEL, inits: int = 3,
                      seed: int = 0) -> BandwidthPrediction:
    """Forward: the bandwidth full-batch GD on the mean MSE learns in ``steps`` steps.

    Parameters
    ----------
    x : array or tensor (N,) or (N, 1)
        Training inputs on an evenly spaced 1-D grid.
    model : torch.nn.Module or sequence of them
        The network(s) at initialization (several: one per initialization, averaged). Any module
        with scalar output: an ``nn.Sequential`` of a :class:`specbias.nn.FourierFeatures` and
        Linear layers works as well as the library's networks.
    builder : callable ``(value, torch.Generator) -> nn.Module``, optional
        Instead of ``model``: ``inits`` networks drawn with generators seeded ``seed, seed+1, ...``.
    value : float, optional
        The knob value passed to ``builder``.
    steps : float
        Number of full-batch GD steps.
    lr : float, optional
        The SGD learning rate (exactly one of ``lr`` and ``lr_fraction``).
    lr_fraction : float in (0, 1), optional
        The learning rate as a fraction of each kernel's ``max_lr``.
    level : float
        Learned fraction at which a frequency counts as learned (default ``1 - 1/e``).
    inits : int, default 3
        Number of networks ``builder`` draws (1 to 64; ignored with ``model``).
    seed : int, default 0
        Seed of the first generator given to ``builder``.

    Returns
    -------
    BandwidthPrediction
        Steps each frequency needs, the learned fractions and the learned bandwidth after
        ``steps`` (mean over the initializations, and per initialization).
    """
    owner = "predict_bandwidth"
    xv, k, nyq, level, inits, seed = _check_common(owner, x, level, inits, seed)
    steps = _required_steps(steps, owner)
    lr, frac = _check_lr(lr, lr_fraction, owner)
    parts = [_ntk_part(m, xv, k, lr, frac, owner)
             for m in _models(owner, model, builder, value, inits, seed)]
    return _prediction(_Response(parts, k, level), steps, nyq)


def predict_shallow(x, *, scale: float, steps, activation="sinc", biases=None,
                    lr_scale: float = 1.0, level: float = LEVEL) -> BandwidthPrediction:
    """Forward for Lucey's shallow network ``f = A w``, ``A[n, j] = act(s (x_n - b_j))``, whose
    output weights are trained by GD on ``0.5 |y - A w|^2`` at ``lr = lr_scale / sigma_1^2``
    (the convention of :class:`specbias.SpectralSolver`; ``torch.optim.SGD`` on the mean MSE
    takes the same steps at ``lr N / 2``). ``biases`` default to the grid ``x``. No
    randomness: one initialization.

    Parameters
    ----------
    x : array or tensor (N,) or (N, 1)
        Training inputs on an evenly spaced 1-D grid.
    scale : float
        The horizontal scale ``s`` of the features (positive).
    steps : float
        Number of GD steps.
    activation : str, Activation or callable, default "sinc"
        The non-linearity ``act``.
    biases : array_like (K,), optional
        Bias positions ``b_j``; default the grid ``x``.
    lr_scale : float in (0, 2), default 1.0
        Learning rate in units of ``1 / sigma_1^2``.
    level : float
        Learned fraction at which a frequency counts as learned (default ``1 - 1/e``).

    Returns
    -------
    BandwidthPrediction
        Steps each frequency needs, the learned fractions and the learned bandwidth after
        ``steps``.
    """
    owner = "predict_shallow"
    xv, k, nyq, level, _, _ = _check_common(owner, x, level, 1, 0)
    steps = _required_steps(steps, owner)
    scale = check_scalar(scale, "scale", owner=owner, min_val=0.0, include_min=False)
    lr_scale = check_scalar(lr_scale, "lr_scale", owner=owner, min_val=0.0, max_val=2.0,
                            include_min=False, include_max=False)
    return _prediction(_Response([_shallow_part(xv, k, activation, scale, biases, lr_scale)],
                                 k, level), steps, nyq)


# --------------------------------------------------------------------------- inverse


def _check_target(target, k: np.ndarray, nyq: float, owner: str) -> float:
    t = check_scalar(target, "bandwidth", owner=owner, min_val=0.0, include_min=False)
    if t >= nyq:
        raise ParameterError(
            f"The 'bandwidth' parameter of {owner} must be below the Nyquist frequency {nyq:g} "
            f"of the grid; reachable bandwidths are {k[0]:g} to {k[-1]:g}. Got {t:g} instead.")
    if t < k[0]:
        raise ParameterError(f"The 'bandwidth' parameter of {owner} must be at least the lowest "
                             f"frequency of the grid, {k[0]:g}. Got {t:g} instead.")
    j = int(np.searchsorted(k, t, side="right")) - 1  # the grid frequency at or below t
    return float(k[j])


def _plan_steps(resp: _Response, target: float, budget: float | None, owner: str
                ) -> tuple[float, tuple[float, float], list[str]]:
    need = np.maximum.accumulate(resp.steps_needed())  # T at which bandwidth >= k
    j = int(np.searchsorted(resp.k, target))
    lo = float(need[j])
    hi = float(need[j + 1]) if j + 1 < need.size else math.inf
    notes = []
    if not math.isfinite(lo):
        reach = resp.bandwidth(_MAX_STEPS)
        raise ParameterError(
            f"{owner}: no number of steps reaches bandwidth {target:g} at this learning rate: "
            f"frequency {target:g} is never fitted to the level (the highest reachable bandwidth "
            f"is {reach:g}).")
    if hi == math.inf:
        value = max(1.0, math.ceil(2.0 * lo))
        notes.append("no higher frequency is reached: the plan is twice the steps of the last")
    else:
        value = float(round(math.sqrt(max(lo, 1e-12) * hi)))
        value = min(max(value, math.ceil(lo), 1.0), math.ceil(hi) - 1 if hi > 1 else 1.0)
        if not lo <= value < hi:
            raise ParameterError(
                f"{owner}: no whole number of steps gives exactly bandwidth {target:g}: frequency "
                f"{target:g} is reached at step {lo:.3g} and the next one at {hi:.3g}.")
    if budget is not None and value > budget:
        reach = resp.bandwidth(budget)
        raise ParameterError(
            f"{owner}: bandwidth {target:g} needs about {value:.0f} steps, more than the budget "
            f"of {budget:g}; within the budget the reachable bandwidth is {reach:g}.")
    return value, (lo, hi), notes


class _Search:
    """A monotone search over a knob whose every value needs new kernels (cached)."""

    def __init__(self, owner: str, knob: str, lo: float, hi: float,
                 make: Callable[[float], _Response], steps: float):
        self.owner, self.knob, self.lo, self.hi = owner, knob, lo, hi
        self.make, self.steps = make, steps
        self.cache: dict[float, _Response] = {}

    def response(self, v: float) -> _Response:
        if v not in self.cache:
            self.cache[v] = self.make(v)
        return self.cache[v]

    def bw(self, v: float) -> float:
        """The predicted bandwidth at ``v``; NaN where the learning rate is unstable there."""
        try:
            return self.response(v).bandwidth(self.steps)
        except _Unstable:
            return math.nan

    def first_at_least(self, b: float, grid: np.ndarray, bws: np.ndarray) -> float:
        """The smallest knob value with bandwidth >= b (inf if none in range)."""
        idx = np.nonzero(bws >= b)[0]
        if idx.size == 0:
            return math.inf
        i = int(idx[0])
        if i == 0:
            return float(grid[0])
        a, c = float(grid[i - 1]), float(grid[i])
        for _ in range(_BISECT):
            m = math.sqrt(a * c)
            bm = self.bw(m)
            if math.isnan(bm) or bm >= b:
                c = m
            else:
                a = m
        return c

    def solve(self, target: float, k: np.ndarray) -> tuple[float, tuple[float, float], list[str]]:
        grid = np.geomspace(self.lo, self.hi, _GRID)
        bws = np.array([self.bw(float(v)) for v in grid])
        notes = []
        bad = np.nonzero(np.isnan(bws))[0]
        if bad.size:
            if bad[0] == 0:
                raise ParameterError(
                    f"{self.owner}: the learning rate is above the stability limit (max_lr) of "
                    f"the network's kernel already at {self.knob} = {grid[0]:.4g}; use a smaller "
                    "lr or lr_fraction.")
            notes.append(f"{self.knob} from about {grid[bad[0]]:.4g} on is unstable at this "
                         "learning rate; the search stops below it")
            grid, bws = grid[: bad[0]], bws[: bad[0]]
        if bws.max() < target:
            raise ParameterError(
                f"{self.owner}: no {self.knob} in [{self.lo:g}, {grid[-1]:.4g}] reaches bandwidth "
                f"{target:g} with these steps and learning rate; the reachable bandwidths are "
                f"{bws.min():g} to {bws.max():g} (at {self.knob} = {grid[int(np.argmax(bws))]:.4g}).")
        if bws.min() > target:
            raise ParameterError(
                f"{self.owner}: every {self.knob} in [{self.lo:g}, {grid[-1]:.4g}] learns more than "
                f"bandwidth {target:g} with these steps and learning rate (at least "
                f"{bws.min():g}); use fewer steps or a smaller learning rate.")
        if np.any(np.diff(bws) < 0):
            notes.append(f"the predicted bandwidth is not monotone in {self.knob} over the "
                         "search range; the plan uses the first crossing")
        j = int(np.searchsorted(k, target))
        v_lo = self.first_at_least(target, grid, bws)
        nxt = float(k[j + 1]) if j + 1 < k.size else math.inf
        v_hi = self.first_at_least(nxt, grid, bws) if math.isfinite(nxt) else math.inf
        if not v_hi > v_lo:
            b_before = self.bw(v_lo / 1.0001)
            raise ParameterError(
                f"{self.owner}: no {self.knob} gives exactly bandwidth {target:g}: the predicted "
                f"bandwidth jumps from {b_before:g} to {self.bw(v_lo):g} at {self.knob} = "
                f"{v_lo:.4g}.")
        if math.isfinite(v_hi):
            value = math.sqrt(v_lo * v_hi)
            if self.bw(value) != target:  # not monotone inside: the longest run giving target
                inner = np.geomspace(v_lo, v_hi, _GRID)[:-1]
                hit = np.array([self.bw(float(v)) == target for v in inner])
                best, run, start = (0, 0), 0, 0
                for i, h in enumerate(hit):
                    run, start = (run + 1, start) if h else (0, i + 1)
                    if run > best[1] - best[0]:
                        best = (start, i + 1)
                if best[1] > best[0]:
                    value = math.sqrt(float(inner[best[0]]) * float(inner[best[1] - 1]))
                notes.append(f"the predicted bandwidth is not monotone in {self.knob} between "
                             f"{v_lo:.4g} and {v_hi:.4g}; the plan is the middle of the longest "
                             "stretch that gives the target")
        else:
            top = float(grid[-1])
            value = math.sqrt(v_lo * top) if top > v_lo else v_lo
            notes.append(f"bandwidth {nxt:g} is not reached in the search range: the plan is the "
                         f"middle of [{v_lo:.4g}, {top:.4g}]")
        return value, (v_lo, v_hi), notes


def plan_bandwidth(target, x, *, knob: str, model=None, builder: Callable | None = None,
                   value=None, steps=None, lr=None, lr_fraction=None,
                   knob_range: tuple[float, float] | None = None, level: float = LEVEL,
                   inits: int = 3, seed: int = 0) -> Plan | list[Plan]:
    """Inverse: the knob value whose predicted learned bandwidth is ``target``.

    ``target`` may be a list of bandwidths: one :class:`Plan` each, sharing the kernels the
    search computes.

    ``knob="steps"``: the number of GD steps for ``model`` (or ``builder`` at ``value``) at
    ``lr``/``lr_fraction``; ``steps``, when given, is the budget it must fit. ``knob="lr"``: the
    learning rate for exactly ``steps`` steps (searched up to ``0.9 max_lr``). Any other name
    (``"sigma"``, ``"omega0"``, ...): the value passed to ``builder(value, generator)`` for
    ``steps`` steps at ``lr``/``lr_fraction``, searched in ``knob_range`` (default
    :data:`KNOB_RANGES`) on a log grid, then by bisection; each value builds ``inits``
    networks and averages their predictions. The target is rounded down to a frequency of the
    grid.

    Raises :class:`ParameterError` for a target at or above the grid's Nyquist frequency and
    for a request no knob value meets, saying what is reachable.

    Parameters
    ----------
    target : float or sequence of float
        The learned bandwidth(s) to plan for, in cycles per unit of ``x``.
    x : array or tensor (N,) or (N, 1)
        Training inputs on an evenly spaced 1-D grid.
    knob : str
        What to plan: ``"steps"``, ``"lr"``, or the name of ``builder``'s knob.
    model : torch.nn.Module or sequence of them, optional
        The network(s) at initialization (only with ``knob="steps"`` or ``"lr"``).
    builder : callable ``(value, torch.Generator) -> nn.Module``, optional
        Builds a network for a knob value (required for knobs other than steps and lr).
    value : float, optional
        The knob value passed to ``builder`` when ``knob`` is ``"steps"`` or ``"lr"``.
    steps : float, optional
        Number of GD steps (required unless ``knob="steps"``, where it is the budget).
    lr : float, optional
        The SGD learning rate (exactly one of ``lr`` and ``lr_fraction``, neither for ``knob="lr"``).
    lr_fraction : float in (0, 1), optional
        The learning rate as a fraction of each kernel's ``max_lr``.
    knob_range : (float, float), optional
        Search range ``(low, high)`` of a builder knob (default :data:`KNOB_RANGES`).
    level : float
        Learned fraction at which a frequency counts as learned (default ``1 - 1/e``).
    inits : int, default 3
        Number of networks ``builder`` draws per knob value (1 to 64).
    seed : int, default 0
        Seed of the first generator given to ``builder``.

    Returns
    -------
    Plan or list of Plan
        The plan (knob value, interval and forward prediction at it); a list, one per target,
        when ``target`` is a sequence.
    """
    owner = "plan_bandwidth"
    xv, k, nyq, level, inits, seed = _check_common(owner, x, level, inits, seed)
    if not isinstance(knob, str):
        raise ParameterError(f"The 'knob' parameter of {owner} must be a string. Got {knob!r}.")
    tgts, many = _targets(target, k, nyq, owner)
    if knob == "steps":
        budget = _check_steps(steps, owner, required=False)
        lr_, frac = _check_lr(lr, lr_fraction, owner)
        resp = _Response([_ntk_part(m, xv, k, lr_, frac, owner)
                          for m in _models(owner, model, builder, value, inits, seed)], k, level)
        return _steps_plans(resp, tgts, many, budget, owner, nyq)
    T = _required_steps(steps, owner)
    if knob == "lr":
        if lr is not None or lr_fraction is not None:
            raise ParameterError(f"{owner} with knob='lr' plans the learning rate: give neither "
                                 "'lr' nor 'lr_fraction'.")
        models = _models(owner, model, builder, value, inits, seed)
        # one kernel per initialization; any lr below max_lr only changes the mask
        base = [_ntk_part(m, xv, k, None, 0.5, owner) for m in models]
        cap = 0.9 * min(p.max_lr for p in base)
        N = xv.size

        def make_lr(v: float) -> _Response:
            return _Response([_Part(p.lam, p.W, p.floor, 2.0 * v / N, v, p.max_lr) for p in base],
                             k, level)

        return _search_plans(_Search(owner, "lr", cap * 1e-7, cap, make_lr, T), tgts, many,
                             k, nyq)
    if builder is None or model is not None:
        raise ParameterError(f"{owner} with knob={knob!r} needs a 'builder' (value, generator) "
                             "-> nn.Module, and no 'model'.")
    lr_, frac = _check_lr(lr, lr_fraction, owner)
    lo, hi = _check_range(knob_range, knob, owner)

    def make(v: float) -> _Response:
        return _Response([_ntk_part(m, xv, k, lr_, frac, owner)
                          for m in _models(owner, None, builder, v, inits, seed)], k, level)

    return _search_plans(_Search(owner, knob, lo, hi, make, T), tgts, many, k, nyq)


def _targets(target, k: np.ndarray, nyq: float, owner: str) -> tuple[list[float], bool]:
    many = isinstance(target, Sequence | np.ndarray) and not isinstance(target, str)
    vals = list(target) if many else [target]
    if many and not vals:
        raise ParameterError(f"The 'bandwidth' parameter of {owner} must not be empty.")
    return [_check_target(t, k, nyq, owner) for t in vals], many


def _spread_note(plan: Plan) -> Plan:
    per = plan.prediction.bandwidth_per_init
    if len(per) > 1 and max(abs(b - plan.target) for b in per) > 1:
        plan.notes.append(f"the initializations disagree: bandwidths {per} at the plan; a given "
                          "network may land more than one frequency from the target")
    return plan


def _steps_plans(resp: _Response, tgts: list[float], many: bool, budget, owner: str,
                 nyq: float) -> Plan | list[Plan]:
    plans = []
    for t in tgts:
        v, interval, notes = _plan_steps(resp, t, budget, owner)
        plans.append(_spread_note(Plan("steps", v, interval, t, _prediction(resp, v, nyq),
                                       notes)))
    return plans if many else plans[0]


def _search_plans(search: _Search, tgts: list[float], many: bool, k: np.ndarray,
                  nyq: float) -> Plan | list[Plan]:
    plans = []
    for t in tgts:
        v, interval, notes = search.solve(t, k)
        plans.append(_spread_note(Plan(search.knob, v, interval, t,
                                       _prediction(search.response(v), search.steps, nyq), notes)))
    return plans if many else plans[0]


def _check_range(knob_range, knob: str, owner: str) -> tuple[float, float]:
    if knob_range is None:
        if knob not in KNOB_RANGES:
            raise ParameterError(f"{owner} needs a 'knob_range' (low, high) for knob {knob!r} "
                                 f"(defaults exist for {', '.join(KNOB_RANGES)}).")
        return KNOB_RANGES[knob]
    try:
        lo, hi = (float(v) for v in knob_range)
    except (TypeError, ValueError):
        raise ParameterError(f"The 'knob_range' parameter of {owner} must be a pair (low, high). "
                             f"Got {knob_range!r} instead.") from None
    if not (0 < lo < hi < math.inf):
        raise ParameterError(f"The 'knob_range' parameter of {owner} must satisfy "
                             f"0 < low < high < inf. Got {knob_range!r} instead.")
    return lo, hi


def plan_shallow(target, x, *, knob: str, steps=None, scale=None, activation="sinc",
                 biases=None, lr_scale: float = 1.0, knob_range: tuple[float, float] | None = None,
                 level: float = LEVEL) -> Plan | list[Plan]:
    """Inverse for Lucey's shallow network (see :func:`predict_shallow`), in closed form.

    ``knob="steps"``: the steps for the network at ``scale`` (``steps``, when given, is the
    budget), from :meth:`SpectralSolver.steps_for` where a frequency is one principal
    component; ``knob="scale"``: the scale ``s`` for exactly ``steps`` steps, searched in
    ``knob_range`` (one SVD per value). The default activation ``sinc`` is band-limited, so its
    scale is a clean bandwidth knob (Lucey, Fig. 6b).

    Parameters
    ----------
    target : float or sequence of float
        The learned bandwidth(s) to plan for, in cycles per unit of ``x``.
    x : array or tensor (N,) or (N, 1)
        Training inputs on an evenly spaced 1-D grid.
    knob : {"steps", "scale"}
        What to plan.
    steps : float, optional
        Number of GD steps (required for ``knob="scale"``; the budget for ``knob="steps"``).
    scale : float, optional
        The scale ``s`` of the features (required for ``knob="steps"``, unused otherwise).
    activation : str, Activation or callable, default "sinc"
        The non-linearity ``act``.
    biases : array_like (K,), optional
        Bias positions ``b_j``; default the grid ``x``.
    lr_scale : float in (0, 2), default 1.0
        Learning rate in units of ``1 / sigma_1^2``.
    knob_range : (float, float), optional
        Search range ``(low, high)`` of the scale (default ``KNOB_RANGES["scale"]``).
    level : float
        Learned fraction at which a frequency counts as learned (default ``1 - 1/e``).

    Returns
    -------
    Plan or list of Plan
        The plan (knob value, interval and forward prediction at it); a list, one per target,
        when ``target`` is a sequence.
    """
    owner = "plan_shallow"
    check_choice(knob, "knob", ["steps", "scale"], owner=owner)
    xv, k, nyq, level, _, _ = _check_common(owner, x, level, 1, 0)
    tgts, many = _targets(target, k, nyq, owner)
    lr_scale = check_scalar(lr_scale, "lr_scale", owner=owner, min_val=0.0, max_val=2.0,
                            include_min=False, include_max=False)
    if knob == "steps":
        if scale is None:
            raise ParameterError(f"{owner} with knob='steps' needs 'scale'.")
        s = check_scalar(scale, "scale", owner=owner, min_val=0.0, include_min=False)
        budget = _check_steps(steps, owner, required=False)
        resp = _Response([_shallow_part(xv, k, activation, s, biases, lr_scale)], k, level)
        return _steps_plans(resp, tgts, many, budget, owner, nyq)
    T = _required_steps(steps, owner)
    lo, hi = _check_range(knob_range, "scale", owner)

    def make(v: float) -> _Response:
        return _Response([_shallow_part(xv, k, activation, v, biases, lr_scale)], k, level)

    return _search_plans(_Search(owner, "scale", lo, hi, make, T), tgts, many, k, nyq)
