"""Training callbacks: Rahaman et al.'s spectra and norms (docs/theory.md section 5) and the
zero-plane recorder of the adaptive regime (section 4; its numpy analysis is
:mod:`specbias.zeroplanes`).

They work with :func:`specbias.train` (one model) and :func:`specbias.train_ensemble` (all
members at once; records gain a member axis):

* :class:`SpectrumTracker` -- every ``n`` steps, Rahaman et al.'s spectrum of the model on a
  uniform grid, ``f~(k) = (2/N) |sum_n f(z_n) e^{-2 pi i k z_n}|`` (optionally divided by the target
  amplitudes ``A_i``), or the exact spectrum ``2 |g^(2 pi k)| / (b - a)`` of a ReLU network
  (Theorem 1, :func:`specbias.relu_net_fourier`), or projections on any basis (the "generalized
  spectrum" of RBF-kernel eigenvectors, Exp. 4);
* :class:`SpectralNormRecorder` -- spectral norms of the weight matrices (Fig. 1, right; defined
  in :mod:`specbias.training`, where :class:`specbias.training.ParamNormRecorder` is the same
  recorder under its older name);
* :class:`WeightClip` -- clamp every parameter to ``[-c, c]`` after each step (App. A.5).

>>> import math, torch
>>> from specbias.nn import MLP
>>> from specbias.training import train
>>> z = torch.arange(200) / 200
>>> y = torch.sin(2 * math.pi * 5 * z) + 0.5 * torch.sin(2 * math.pi * 20 * z)
>>> spec = SpectrumTracker(z[:, None], frequencies=[5, 20], coords=z, amplitudes=[1, 0.5], every=50)
>>> res = train(MLP(1, 32, 3), (z[:, None], y), steps=100, lr=1e-3, callbacks=[spec],
...             progress=False)
>>> spec.steps().tolist(), spec.spectra().shape
([0, 50, 100], (3, 2))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._validation import ParameterError, check_array, check_choice, check_pair, check_scalar
from .training import Callback, SpectralNormRecorder, TrainState, _is_ensemble
from .zeroplanes import ZeroPlaneRecord

__all__ = ["SpectrumTracker", "SpectralNormRecorder", "WeightClip", "discrete_spectrum",
           "first_reach", "clip_parameters"]


def discrete_spectrum(values, coords, frequencies) -> np.ndarray:
    """Rahaman et al.'s spectrum ``(2/N) |sum_n f(z_n) e^{-2 pi i k z_n}|`` (docs/theory.md section 5).

    ``values`` has shape ``(..., N)`` (samples along the last axis), ``coords`` the ``N`` grid
    points ``z_n``, ``frequencies`` the ``k`` (cycles per unit of ``z``). On a uniform grid of
    ``[0, 1)`` a sine ``A sin(2 pi k z + phi)`` with integer ``0 < k < N/2`` gives exactly ``A``.

    >>> import numpy as np
    >>> z = np.arange(200) / 200
    >>> discrete_spectrum(3 * np.sin(2 * np.pi * 7 * z + 1.0), z, [7, 8]).round(12).tolist()
    [3.0, 0.0]
    """
    z = check_array(coords, "coords", owner="discrete_spectrum", ndim=1)
    k = check_array(frequencies, "frequencies", owner="discrete_spectrum", ndim=1)
    v = check_array(values, "values", owner="discrete_spectrum")
    if v.ndim < 1 or v.shape[-1] != z.size:
        raise ParameterError(
            f"The 'values' parameter of discrete_spectrum must have {z.size} samples along its "
            f"last axis. Got shape {v.shape} instead."
        )
    basis = np.exp(-2j * np.pi * np.outer(z, k))
    return (2.0 / z.size) * np.abs(v @ basis)


def first_reach(steps, values, threshold: float = 0.5) -> np.ndarray:
    """The first step at which ``values`` reaches ``threshold`` (NaN where it never does).

    ``values`` has shape ``(len(steps), ...)``; the result has shape ``values.shape[1:]``. Rahaman
    et al.'s Exp. 1 metric uses ``|f~(k_i)| / A_i`` and ``threshold = 0.5``.

    >>> first_reach([0, 10, 20], [[0.1, 0.0], [0.6, 0.2], [0.9, 0.4]]).tolist()
    [10.0, nan]
    """
    s = check_array(steps, "steps", owner="first_reach", ndim=1)
    v = check_array(values, "values", owner="first_reach", finite=False)  # NaN: a diverged run
    threshold = check_scalar(threshold, "threshold", owner="first_reach")
    if v.ndim < 1 or v.shape[0] != s.size:
        raise ParameterError(
            f"The 'values' parameter of first_reach must have {s.size} rows (one per step). "
            f"Got shape {v.shape} instead."
        )
    hit = v >= threshold
    idx = np.argmax(hit, axis=0)
    out = s[idx].astype(np.float64)
    return np.where(hit.any(axis=0), out, np.nan)


class SpectrumTracker(Callback):
    """Record the spectrum of the model's output on a grid every ``every`` steps (docs/theory.md section 5).

    ``method="dft"`` (default): ``|f~(k)| = (2/N)|sum_n f(z_n) e^{-2 pi i k z_n}|`` of the outputs
    on ``grid``, with ``coords`` the latent positions ``z_n`` (defaults to ``grid`` for 1-D
    inputs; for data on a manifold ``gamma(z)`` pass ``grid = gamma(z)`` and ``coords = z``).
    ``method="exact"``: ``2 |g^(2 pi k)| / (b - a)`` from Theorem 1 on ``interval`` (ReLU networks
    with 1-D input; what the DFT tends to as ``N`` grows). ``basis`` (an ``(N, M)`` matrix,
    replaces ``frequencies``): ``|basis^T f|``, e.g. RBF-kernel eigenvectors (Exp. 4).

    Values are divided by ``amplitudes`` when given (``|f~(k_i)| / A_i``). Records: ``step`` and
    ``spectrum`` (arrays of shape ``(n_freq,)``, or ``(E, n_freq)`` for an ensemble).
    ``absolute=False`` keeps the coefficients themselves (complex for the DFT, real and signed
    for a real ``basis``) instead of their magnitudes.

    Parameters
    ----------
    grid : tensor (N, d) or (N,), or (E, N, d) for per-member ensemble inputs
    frequencies : sequence of float, optional
    every : int
    coords : array (N,), optional
    amplitudes : sequence of float, optional
    method : {"dft", "exact"}
    interval : (a, b)
        For ``method="exact"``.
    basis : array (N, M), optional
    absolute : bool
    name : str
    """

    name = "spectrum"

    def __init__(self, grid, frequencies=None, every: int = 100, *, coords=None,
                 amplitudes=None, method: str = "dft", interval=(0.0, 1.0), basis=None,
                 absolute: bool = True, name: str | None = None):
        super().__init__(every, name)
        owner = "SpectrumTracker"
        if not isinstance(absolute, bool):
            raise ParameterError(f"The 'absolute' parameter of {owner} must be a bool. Got {absolute!r}.")
        self.absolute = absolute
        check_choice(method, "method", ["dft", "exact"], owner=owner)
        if method == "exact" and not absolute:
            raise ParameterError(f"{owner} with method='exact' records magnitudes only.")
        if not isinstance(grid, torch.Tensor):
            raise ParameterError(f"The 'grid' parameter of {owner} must be a torch.Tensor.")
        if grid.ndim == 0 or grid.numel() == 0:
            raise ParameterError(
                f"The 'grid' parameter of {owner} must hold at least one point. "
                f"Got shape {tuple(grid.shape)} instead."
            )
        if grid.is_floating_point() and not bool(torch.isfinite(grid).all()):
            raise ParameterError(f"The 'grid' parameter of {owner} must be finite. Got NaN or infinite values.")
        a, b = check_pair(interval, "interval", owner=owner, increasing=True)
        self.grid, self.method, self.interval = grid, method, (a, b)
        n = grid.shape[-2] if grid.ndim >= 2 else grid.shape[0]
        if (frequencies is None) == (basis is None):
            raise ParameterError(f"{owner} needs exactly one of 'frequencies' and 'basis'.")
        if basis is not None:
            B = check_array(basis, "basis", owner=owner, ndim=2)
            if B.shape[0] != n:
                raise ParameterError(
                    f"The 'basis' parameter of {owner} must have {n} rows (one per grid point). "
                    f"Got shape {B.shape} instead."
                )
            self._matrix, self._scale = B, 1.0
            self.frequencies = np.arange(B.shape[1], dtype=np.float64)
            if method == "exact":
                raise ParameterError(f"{owner} with a 'basis' supports method='dft' only.")
        else:
            self.frequencies = check_array(frequencies, "frequencies", owner=owner, ndim=1)
            if coords is None:
                if grid.ndim == 2 and grid.shape[1] == 1:
                    coords = grid[:, 0]
                elif grid.ndim == 1:
                    coords = grid
                else:
                    raise ParameterError(
                        f"The 'coords' parameter of {owner} is required for multi-dimensional grids."
                    )
            z = coords.detach().double().numpy() if isinstance(coords, torch.Tensor) else coords
            z = check_array(z, "coords", owner=owner, ndim=1)
            if z.size != n:
                raise ParameterError(
                    f"The 'coords' parameter of {owner} must have {n} entries. Got {z.size}."
                )
            self.coords = z
            self._matrix = np.exp(-2j * np.pi * np.outer(z, self.frequencies))
            self._scale = 2.0 / n
        if amplitudes is not None:
            amp = check_array(amplitudes, "amplitudes", owner=owner, ndim=1)
            if amp.shape != self.frequencies.shape or np.any(amp == 0):
                raise ParameterError(
                    f"The 'amplitudes' parameter of {owner} must have one nonzero entry per "
                    f"frequency ({self.frequencies.size}). Got {amp.tolist()} instead."
                )
            self.amplitudes: np.ndarray | None = amp
        else:
            self.amplitudes = None

    def measure(self, model) -> np.ndarray:
        """The spectrum of ``model`` now (without recording it)."""
        if self.method == "exact":
            from .relu_fourier import relu_net_fourier

            a, b = self.interval
            nets = model.members() if _is_ensemble(model) else [model]
            w = 2 * math.pi * self.frequencies
            spec = np.stack([2 * np.abs(relu_net_fourier(m, w, self.interval)) / (b - a)
                             for m in nets])
            spec = spec if _is_ensemble(model) else spec[0]
        else:
            with torch.no_grad():
                out = model(self.grid).detach().double().cpu().numpy()
            if out.ndim >= 1 and out.shape[-1] == 1 and out.ndim > (2 if _is_ensemble(model)
                                                                    else 1):
                out = out[..., 0]  # a model with a (N, 1) output, e.g. nn.Sequential(..., Linear(W, 1))
            spec = self._scale * (out @ self._matrix)
            if self.absolute:
                spec = np.abs(spec)
        return spec / self.amplitudes if self.amplitudes is not None else spec

    def _log(self, state):
        self._append(step=state.step, spectrum=self.measure(state.model))

    def on_train_begin(self, state):
        self._log(state)

    def on_step_end(self, state):
        if self.due(state.step):
            self._log(state)

    def steps(self) -> np.ndarray:
        return np.asarray(self.record.get("step", []), dtype=np.int64)

    def spectra(self) -> np.ndarray:
        """Recorded spectra, shape ``(n_records, [E,] n_freq)``."""
        data = self.record.get("spectrum", [])
        return np.asarray(data) if data else np.zeros((0, self.frequencies.size))

    def first_reach(self, threshold: float = 0.5) -> np.ndarray:
        """Per frequency (and member) the first recorded step with value >= ``threshold``."""
        return first_reach(self.steps(), self.spectra(), threshold)


def clip_parameters(model: torch.nn.Module, clip) -> torch.nn.Module:
    """Clamp every parameter of ``model`` to ``[-clip, clip]`` in place (App. A.5 weight clip).

    ``clip`` is a float, or for an ensemble one value per member (shape ``(E,)``).

    >>> import torch
    >>> net = torch.nn.Linear(3, 2)
    >>> bool(clip_parameters(net, 0.01).weight.abs().max() <= 0.01)
    True
    """
    try:
        c = torch.as_tensor(np.asarray(clip, dtype=np.float64))
    except (TypeError, ValueError):
        c = torch.tensor(float("nan"))  # reported below
    if c.ndim > 1 or not torch.all(torch.isfinite(c)) or torch.any(c <= 0):
        raise ParameterError(
            f"The 'clip' parameter of clip_parameters must be a positive float or one per member. "
            f"Got {clip!r} instead."
        )
    if c.ndim == 1 and getattr(model, "ensemble_size", None) != c.shape[0]:
        raise ParameterError(
            f"The 'clip' parameter of clip_parameters has {c.shape[0]} values: one per member "
            "needs an EnsembleModel of that many members."
        )
    with torch.no_grad():
        for p in model.parameters():
            cc = c.to(p.dtype)
            if c.ndim == 1:
                cc = cc.reshape(-1, *([1] * (p.ndim - 1)))
            p.copy_(torch.maximum(torch.minimum(p, cc), -cc))
    return model


class WeightClip(Callback):
    """After every optimizer step, clamp all parameters to ``[-clip, clip]`` (App. A.5).

    Rahaman et al.'s "weight clip" bounds the max-norm of the parameters and with it the Lipschitz
    constant of the network (docs/theory.md section 5). ``clip`` may hold one value per ensemble member.
    Clamp the initial parameters yourself (:func:`clip_parameters`) if they must start inside.
    """

    name = "weight_clip"

    def __init__(self, clip: float | Sequence[float]):
        super().__init__(1)
        try:
            c = np.asarray(clip, dtype=np.float64)
        except (TypeError, ValueError):
            c = np.asarray(np.nan)  # reported below
        if c.ndim > 1 or c.size == 0 or not np.all(np.isfinite(c)) or np.any(c <= 0):
            raise ParameterError(
                "The 'clip' parameter of WeightClip must be a positive float or a sequence of "
                f"them (one per ensemble member). Got {clip!r} instead."
            )
        self.clip = c

    def on_step_end(self, state):
        clip_parameters(state.model, self.clip)


class ZeroPlaneRecorder(Callback):
    """Training callback recording every unit's ``(theta_k, gamma_k, s_k, c_k)`` every ``every``
    steps (and at step 0), for :func:`specbias.train` (docs/theory.md section 4).

    Recording only copies the raw parameter tensors into preallocated torch buffers (grown in
    chunks of ``chunk`` records); the conversion to the cylinder coordinates (float64) happens
    after training, on access (see :class:`ZeroPlaneRecord`). After training, ``recorder.record`` (also
    ``result.records["zero_planes"]``) is a :class:`ZeroPlaneRecord`.

    Works with :class:`specbias.nn.ShallowNet` in either parameterization (``radon``:
    ``theta = theta_raw / |theta_raw|``; ``standard``: ``s = |w|, theta = w/|w|, gamma = -b/|w|``)
    and with any module that has a ``radon_parameters()`` method (slower: it clones).

    Parameters
    ----------
    every : int
        Record every ``every`` optimizer steps.
    chunk : int
        Records per preallocated buffer block.
    name : str
        Key of the record in ``TrainResult.records``.

    Examples
    --------
    >>> import torch
    >>> from specbias import ShallowNet, train
    >>> net = ShallowNet(2, 4, "relu", generator=torch.Generator().manual_seed(1))
    >>> X, y = torch.randn(16, 2), torch.randn(16)
    >>> rec = ZeroPlaneRecorder(every=2)
    >>> _ = train(net, (X, y), steps=6, lr=1e-2, callbacks=[rec], progress=False)
    >>> rec.record.step.tolist(), rec.record.gamma.shape
    ([0, 2, 4, 6], (4, 4))
    """

    name = "zero_planes"
    record: Any  # {} until training ends, then a ZeroPlaneRecord
    _checkpoint_exclude = ("_tensors", "_mode")  # the model's own tensors, found again at start

    def __init__(self, every: int = 1, *, chunk: int = 256, name: str | None = None):
        super().__init__(every, name)
        self.chunk = check_scalar(chunk, "chunk", kind=int, owner="ZeroPlaneRecorder", min_val=1)
        self._reset()

    def _reset(self):
        self._mode = None
        self._tensors: list[torch.Tensor] = []
        self._buffers: list[list[torch.Tensor]] = []
        self._n = 0
        self._steps: list[int] = []
        self._epochs: list[int] = []

    # ------------------------------------------------------------------ recording
    def _sources(self, model) -> tuple[str, list[torch.Tensor]]:
        par = getattr(model, "parameterization", None)
        if par == "radon" and all(hasattr(model, a) for a in ("theta_raw", "gamma", "s", "c")):
            return "radon", [model.theta_raw, model.gamma, model.s, model.c]
        if par == "standard" and all(hasattr(model, a) for a in ("w", "b", "v")):
            return "standard", [model.w, model.b, model.v]
        if hasattr(model, "radon_parameters"):
            return "generic", []
        raise ParameterError(
            "ZeroPlaneRecorder needs a ShallowNet (or a module with radon_parameters()). "
            f"Got {type(model).__name__} instead."
        )

    def _snapshot(self, state: TrainState) -> None:
        if self._mode == "generic":
            model: Any = state.model  # checked by _sources to have radon_parameters()
            r = model.radon_parameters()
            tensors = [r["theta"], r["gamma"], r["s"], r["c"]]
        else:
            tensors = self._tensors
        slot = self._n % self.chunk
        if slot == 0:  # new block
            self._buffers.append([torch.empty((self.chunk, *t.shape), dtype=t.dtype) for t in tensors])
        for buf, t in zip(self._buffers[-1], tensors, strict=True):
            buf[slot].copy_(t.detach())  # plain buffers: no autograd involved
        self._n += 1
        self._steps.append(state.step)
        self._epochs.append(state.epoch)

    def on_train_begin(self, state: TrainState) -> None:
        self._reset()
        self.record = {}
        self._mode, self._tensors = self._sources(state.model)
        self._snapshot(state)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._snapshot(state)

    def on_train_end(self, state: TrainState) -> None:
        if not self._buffers:  # on_train_begin never ran (or this run is already finished)
            return
        if self._n and (not self._steps or self._steps[-1] != state.step) and \
                state.step % self.every != 0 and math.isfinite(state.loss):
            self._snapshot(state)  # always keep the final state
        self.record = self._finish()

    # ------------------------------------------------------------------ conversion
    def _finish(self) -> ZeroPlaneRecord:
        n = self._n
        arrays = []
        for j in range(len(self._buffers[0])):
            if len(self._buffers) == 1:
                parts = self._buffers[0][j][:n]
            else:
                parts = torch.cat([blk[j] for blk in self._buffers], dim=0)[:n]
            arrays.append(parts.numpy())
        self._buffers = []
        names = {"radon": ("theta_raw", "gamma", "s", "c"), "standard": ("w", "b", "v"),
                 "generic": ("theta", "gamma", "s", "c")}[self._mode]
        mode = "planes" if self._mode == "generic" else self._mode
        raw = dict(zip(names, arrays, strict=True))
        if mode == "planes":
            raw = {k: v.astype(np.float64) for k, v in raw.items()}
        return ZeroPlaneRecord(self._steps, self._epochs, mode, raw)
