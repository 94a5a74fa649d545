"""Watch a long run live in TensorBoard: losses, spectra and metrics as training goes.

:class:`TensorBoardLogger` is a training callback writing TensorBoard event files: the loss
(one curve, or the mean and the first members of an ensemble) every ``every`` steps and, when
given the run's :class:`~specbias.callbacks.SpectrumTracker`, the amplitude of each tracked
frequency as scalars and the frequency x step heatmap recorded so far as an image.

``specbias run NAME --tensorboard DIR`` logs every training loop of the run this way (the n-th
loop under ``DIR/NAME/loop-n``; a :class:`~specbias.callbacks.SpectrumTracker` among the loop's
callbacks is picked up) and, when the run ends, its metrics and the claims table; watch it
with ``tensorboard --logdir DIR``. Needs the optional ``tensorboard`` package
(``pip install 'specbias[tensorboard]'``).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import MissingDependencyError, ParameterError, check_scalar
from .training import Callback, TrainState

_ACTIVE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "specbias_tensorboard", default=None)
_MAX_MEMBERS = 8  # ensemble members logged one by one (besides the mean)


def summary_writer(log_dir: str | os.PathLike):
    """A ``torch.utils.tensorboard.SummaryWriter`` for ``log_dir``, or a clear error when
    TensorBoard is not installed."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise MissingDependencyError(
            "TensorBoard logging needs the tensorboard package: "
            "pip install 'specbias[tensorboard]' (or pip install tensorboard).") from None
    return SummaryWriter(log_dir=str(log_dir))


def heatmap_image(spectra: np.ndarray) -> np.ndarray:
    """An RGB image (``(H, W, 3)`` uint8, frequency up, step to the right) of a
    ``(records, frequencies)`` array, colored with viridis on ``[0, max]``."""
    from matplotlib import colormaps

    S = np.nan_to_num(np.asarray(spectra, dtype=np.float64), nan=0.0)
    top = float(S.max()) if S.size and S.max() > 0 else 1.0
    rgba = colormaps["viridis"](np.clip(S.T[::-1] / top, 0.0, 1.0))
    img = (rgba[..., :3] * 255).astype(np.uint8)
    # at least a few pixels per frequency row and per record, so the image is readable
    ry = max(1, 64 // max(1, img.shape[0]))
    rx = max(1, 256 // max(1, img.shape[1]))
    return np.repeat(np.repeat(img, ry, axis=0), rx, axis=1)


class TensorBoardLogger(Callback):
    """Training callback writing TensorBoard events (see the module docstring).

    Parameters
    ----------
    log_dir : path or SummaryWriter
        Where the event files go (or a writer to use).
    every : int
        Log the loss every ``every`` steps (and at step 0).
    spectrum : SpectrumTracker, optional
        Log its latest amplitudes (``spectrum/k=...``, the mean over an ensemble) whenever it
        records, and its heatmap as an image every ``image_every`` steps and at the end. Put it
        before this logger in the callbacks, so that it has recorded the step first.
    image_every : int, optional
        Default ``max(every, 10 * spectrum.every)``.
    tag : str
        Prefix of every series (e.g. ``"loop-1"``).
    """

    name = "tensorboard"

    def __init__(self, log_dir, every: int = 10, *, spectrum=None, image_every: int | None = None,
                 tag: str = "train"):
        super().__init__(every)
        if spectrum is not None and not (hasattr(spectrum, "spectra")
                                         and hasattr(spectrum, "frequencies")):
            raise ParameterError("The 'spectrum' parameter of TensorBoardLogger must be a "
                                 f"SpectrumTracker. Got {type(spectrum).__name__} instead.")
        self.spectrum = spectrum
        default_image = max(self.every, 10 * getattr(spectrum, "every", 1))
        self.image_every = int(check_scalar(image_every if image_every is not None
                                            else default_image, "image_every", kind=int,
                                            owner="TensorBoardLogger", min_val=1))
        self.tag = str(tag)
        self.writer = log_dir if hasattr(log_dir, "add_scalar") else summary_writer(log_dir)
        self._spectra_logged = 0

    _checkpoint_exclude = ("writer", "spectrum")

    def _loss(self, state: TrainState) -> None:
        loss = np.asarray(state.loss, dtype=np.float64)
        if loss.ndim == 0:
            if np.isfinite(loss):
                self.writer.add_scalar(f"{self.tag}/loss", float(loss), state.step)
            return
        finite = loss[np.isfinite(loss)]
        if finite.size:
            self.writer.add_scalar(f"{self.tag}/loss_mean", float(finite.mean()), state.step)
        for e in range(min(loss.size, _MAX_MEMBERS)):
            if np.isfinite(loss[e]):
                self.writer.add_scalar(f"{self.tag}/loss_member_{e}", float(loss[e]), state.step)

    def _spectra(self, state: TrainState, image: bool) -> None:
        if self.spectrum is None:
            return
        S = np.asarray(self.spectrum.spectra(), dtype=np.float64)
        if S.ndim == 0 or S.shape[0] == 0:
            return
        if S.ndim == 3:  # (records, members, frequencies): the mean over members
            S = np.nanmean(S, axis=1)
        steps = np.asarray(self.spectrum.steps())
        for r in range(self._spectra_logged, S.shape[0]):
            for k, amp in zip(self.spectrum.frequencies, S[r], strict=True):
                if np.isfinite(amp):
                    self.writer.add_scalar(f"{self.tag}/spectrum/k={float(k):g}", float(amp),
                                           int(steps[r]))
        self._spectra_logged = S.shape[0]
        if image:
            self.writer.add_image(f"{self.tag}/spectrum_heatmap", heatmap_image(S), state.step,
                                  dataformats="HWC")

    def on_train_begin(self, state: TrainState) -> None:
        self._spectra_logged = 0
        self._loss(state)
        self._spectra(state, image=False)

    def on_step_end(self, state: TrainState) -> None:
        if self.due(state.step):
            self._loss(state)
        self._spectra(state, image=state.step % self.image_every == 0)

    def on_train_end(self, state: TrainState) -> None:
        self._spectra(state, image=True)
        self.writer.flush()


# ------------------------------------------------------------------ a whole run
def active() -> dict[str, Any] | None:
    """The TensorBoard settings of the run in progress (``{"dir": Path, "loops": int}``)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def activate(log_dir: str | os.PathLike | None) -> Iterator[None]:
    """Inside the block every training loop logs to ``log_dir/loop-n`` (nothing if ``None``)."""
    if log_dir is None:
        yield
        return
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        summary_writer(log_dir)  # raises the clear error
    token = _ACTIVE.set({"dir": Path(log_dir), "loops": 0})
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def loop_logger(callbacks) -> TensorBoardLogger | None:
    """The logger of the next training loop of the run in progress (``None`` outside
    :func:`activate`); a SpectrumTracker among ``callbacks`` is logged too."""
    settings = _ACTIVE.get()
    if settings is None:
        return None
    settings["loops"] += 1
    label = f"loop-{settings['loops']}"
    tracker = next((cb for cb in callbacks if hasattr(cb, "spectra")
                    and hasattr(cb, "frequencies") and hasattr(cb, "steps")), None)
    return TensorBoardLogger(settings["dir"] / label, every=10, spectrum=tracker, tag=label)


def log_summary(log_dir: str | os.PathLike, summary: dict[str, Any]) -> None:
    """Write a finished run's numeric metrics (``metrics/...``) and its claims table (text)."""
    from .report import flatten

    writer = summary_writer(Path(log_dir) / "summary")
    for key, value in flatten(summary.get("metrics", {})).items():
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and np.isfinite(value):
            writer.add_scalar(f"metrics/{key}", float(value), 0)
    rows = summary.get("claims") or []
    if rows:
        table = ["| claim | paper says | we measured | verdict |", "|---|---|---|---|"]
        table += [f"| {r['id']} | {r['statement']} | {r.get('measured', '')} | {r['verdict']} |"
                  for r in rows]
        writer.add_text("claims", "\n".join(table), 0)
    writer.add_text("status", f"{summary['experiment']}: {summary['status']}", 0)
    writer.flush()
    writer.close()
