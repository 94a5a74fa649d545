"""Training loops with callbacks (SPEC sections 4 and 5).

:func:`train` runs ``steps`` optimizer steps of a torch model on ``(X, y)`` (full batch, or
mini-batches of ``batch_size``), calling each callback every step. Divergence stops the run: the
result says so (``result.diverged``, ``result.message``) and keeps every record made up to that
point. Callbacks record what they want into ``result.records[callback.name]``.

Divergence (:class:`DivergenceMonitor`, shared with :func:`specbias.train_ensemble`) is a loss
that is non-finite, or one that stays above ``DIVERGENCE_FACTOR = 1e6`` times a reference loss
for ``DIVERGENCE_PATIENCE = 2`` consecutive steps. The reference is the larger of the initial
loss and the loss of a model that outputs zeros (``mean(y^2)`` for MSE, ``log C`` for
cross-entropy), so a model that starts out (nearly) fitting its data does not trip the rule by
moving a little; with both zero only a non-finite loss counts. Normal training, even with the
loss spikes of a large step, stays far below a million times where it started; a loss that
explodes (say to ``1e26``) without reaching ``inf`` is caught.

>>> import torch
>>> from specbias.nn import MLP
>>> X = torch.linspace(0, 1, 32)[:, None]; y = torch.sin(6 * X[:, 0])
>>> res = train(MLP(1, 16, 2), (X, y), steps=20, lr=1e-2, callbacks=[LossRecorder(every=5)],
...             progress=False)
>>> res.steps_done, len(res.records["loss"]["step"])
(20, 5)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._validation import DivergenceError, ParameterError, SpecbiasError, check_scalar
from .nn import _check_generator
from .progress import progress as progress_bar

DIVERGENCE_FACTOR = 1e6
DIVERGENCE_PATIENCE = 2


class DivergenceMonitor:
    """The divergence rule of :func:`train` and :func:`specbias.train_ensemble`.

    A loss diverges when it is non-finite, or when it has been above ``DIVERGENCE_FACTOR``
    times the reference loss for ``DIVERGENCE_PATIENCE`` consecutive calls of :meth:`update`.
    The reference is the larger of ``initial_loss`` and ``zero_output_loss`` (the loss of a model
    that outputs zeros; ignored where non-finite or None). A reference that is zero or
    non-finite disables the ratio test (only non-finite losses count). Losses may be scalars
    or arrays (one per ensemble member); the state is kept per entry.

    >>> mon = DivergenceMonitor(0.5)
    >>> [bool(mon.update(v)) for v in (1e3, 6e5, 1e5, 6e5, 7e5)]
    [False, False, False, False, True]
    >>> mon.reason(7e5)
    'loss is 7e+05, above 1e+06 times the reference loss 0.5 for 2 consecutive steps'
    >>> bool(DivergenceMonitor(0.5).update(float("nan")))
    True
    """

    factor = DIVERGENCE_FACTOR
    patience = DIVERGENCE_PATIENCE

    def __init__(self, initial_loss, zero_output_loss=None):
        ref = np.asarray(initial_loss, dtype=np.float64)
        if zero_output_loss is not None:
            zero = np.asarray(zero_output_loss, dtype=np.float64)
            ref = np.fmax(ref, np.where(np.isfinite(zero), zero, np.nan))  # fmax skips NaN
        self.reference = ref
        ok = np.isfinite(ref) & (ref > 0)
        self.threshold = np.where(ok, self.factor * np.where(ok, ref, 0.0), np.inf)
        self.streak = np.zeros(ref.shape, dtype=np.int64)

    def update(self, loss):
        """Record one step's loss; True (per entry) where the run has now diverged."""
        loss = np.asarray(loss, dtype=np.float64)
        finite = np.isfinite(loss)
        above = finite & (loss > self.threshold)
        self.streak = np.where(above, self.streak + 1, 0)
        return ~finite | (self.streak >= self.patience)

    def reason(self, loss, index=()) -> str:
        """Why the loss ``loss`` (entry ``index``) counts as divergence, for messages."""
        value = float(np.asarray(loss, dtype=np.float64)[index])
        if not math.isfinite(value):
            return f"loss is {value} (non-finite)"
        ref = float(self.reference[index])
        return (f"loss is {value:.4g}, above {self.factor:.0e} times the reference loss "
                f"{ref:.4g} for {self.patience} consecutive steps")


def _zero_output_loss(loss_fn, pred, y) -> float | None:
    """The loss of a model that outputs zeros (None where it cannot be evaluated)."""
    if not isinstance(pred, torch.Tensor) or not pred.is_floating_point():
        return None
    try:
        out = loss_fn(torch.zeros_like(pred), y)
        return float(out) if isinstance(out, torch.Tensor) and out.numel() == 1 else None
    except Exception:  # a custom loss may refuse zeros; the initial loss is then the reference
        return None


@dataclass
class TrainState:
    """What callbacks see at each step."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    step: int  # number of optimizer steps done
    loss: float
    epoch: int = 0
    batch: tuple | None = None
    stop: bool = False  # a callback may set this to end training


@dataclass
class TrainResult:
    """Outcome of :func:`train`: records of every callback, final loss, divergence flag
    (the rule of :class:`DivergenceMonitor`) and, when diverged, a message saying why."""

    steps_done: int
    final_loss: float
    diverged: bool = False
    message: str = ""
    records: dict[str, Any] = field(default_factory=dict)


class Callback:
    """Base class. Override any of the hooks; store results in ``self.record`` (a dict)."""

    name = "callback"
    every = 1

    def __init__(self, every: int = 1, name: str | None = None):
        self.every = check_scalar(every, "every", kind=int, owner=type(self).__name__, min_val=1)
        if name is not None:
            if not isinstance(name, str) or not name:
                raise ParameterError(
                    f"The 'name' parameter of {type(self).__name__} must be a non-empty str. "
                    f"Got {name!r} instead."
                )
            self.name = name
        self.record: dict[str, list] = {}

    def _append(self, **values):
        for k, v in values.items():
            self.record.setdefault(k, []).append(v)

    def on_train_begin(self, state: TrainState) -> None:
        """Called once before the first step (``state.step == 0``, loss of the initial model)."""

    def on_step_end(self, state: TrainState) -> None:
        """Called after every optimizer step."""

    def on_train_end(self, state: TrainState) -> None:
        """Called once at the end, also after divergence."""

    def due(self, step: int) -> bool:
        return step % self.every == 0


def _check_validation(validation, owner: str) -> dict:
    """``validation`` as a dict name -> (X, y) of tensors (``None``: empty), a ParameterError
    naming the offending entry otherwise."""
    validation = {} if validation is None else validation
    if not isinstance(validation, Mapping):
        raise ParameterError(
            f"The 'validation' parameter of {owner} must be a dict name -> (X, y). "
            f"Got {type(validation).__name__} instead."
        )
    for key, pair in validation.items():
        if not (isinstance(pair, tuple | list) and len(pair) == 2
                and all(isinstance(t, torch.Tensor) for t in pair)):
            raise ParameterError(
                f"The 'validation' parameter of {owner} must map names to pairs (X, y) "
                f"of tensors. Got {type(pair).__name__} for {key!r}."
            )
    return dict(validation)


class LossRecorder(Callback):
    """Record the training loss (and optional validation losses) every ``every`` steps.

    ``validation`` maps a name to ``(X, y)``; each is evaluated with the training loss function.
    """

    name = "loss"

    def __init__(self, every: int = 1, validation: dict[str, tuple] | None = None, loss_fn=None):
        super().__init__(every)
        validation = _check_validation(validation, "LossRecorder")
        if loss_fn is not None and not callable(loss_fn):
            raise ParameterError(
                f"The 'loss_fn' parameter of LossRecorder must be a callable or None. Got {loss_fn!r}."
            )
        self.validation = validation
        self.loss_fn = loss_fn

    def _log(self, state):
        vals = {"step": state.step, "loss": state.loss}
        if self.validation:
            fn = self.loss_fn or torch.nn.functional.mse_loss
            with torch.no_grad():
                for key, (X, y) in self.validation.items():
                    vals[key] = float(fn(state.model(X), y))
        self._append(**vals)

    def on_train_begin(self, state):
        self._log(state)

    def on_step_end(self, state):
        if self.due(state.step):
            self._log(state)


class ParamNormRecorder(Callback):
    """Record the spectral norm (largest singular value) of every weight matrix.

    Rahaman et al. Fig. 2 (right): the spectral norms grow during training.
    """

    name = "param_norms"

    def _log(self, state):
        norms = {}
        with torch.no_grad():
            for pname, p in state.model.named_parameters():
                if p.ndim == 2:
                    norms[pname] = float(torch.linalg.matrix_norm(p.detach().double(), ord=2))
        self._append(step=state.step, **norms)

    def on_train_begin(self, state):
        self._log(state)

    def on_step_end(self, state):
        if self.due(state.step):
            self._log(state)


_LOSSES: dict[str, Callable] = {
    "mse": torch.nn.functional.mse_loss,
    "cross_entropy": torch.nn.functional.cross_entropy,
    "bce_logits": torch.nn.functional.binary_cross_entropy_with_logits,
}


def make_optimizer(params, name: str = "adam", lr: float = 1e-3, **kwargs) -> torch.optim.Optimizer:
    """Build a torch optimizer by name (``adam``, ``sgd``, ``adamw``) over ``params``.

    Keyword arguments go to the torch optimizer; ones it rejects (an unknown name such as
    ``momentum`` for Adam, or an invalid value) raise :class:`ParameterError`.
    """
    lr = check_scalar(lr, "lr", owner="make_optimizer", min_val=0.0, include_min=False)
    table = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}
    if not isinstance(name, str) or name not in table:
        raise ParameterError(f"The 'optimizer' parameter must be one of {sorted(table)}. Got {name!r}.")
    try:
        return table[name](params, lr=lr, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"The {name!r} optimizer of make_optimizer rejected its arguments "
            f"(optimizer keyword arguments {sorted(kwargs)}): {exc}"
        ) from exc


def _check_callbacks(callbacks, owner: str) -> list:
    """The callbacks as a list; each must have the three hooks of :class:`Callback`."""
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Iterable):
        raise ParameterError(
            f"The 'callbacks' parameter of {owner} must be a sequence of Callback objects. "
            f"Got {type(callbacks).__name__} instead."
        )
    callbacks = list(callbacks)
    for cb in callbacks:
        if not all(callable(getattr(cb, hook, None))
                   for hook in ("on_train_begin", "on_step_end", "on_train_end")):
            raise ParameterError(
                f"The 'callbacks' parameter of {owner} must hold Callback objects. "
                f"Got {type(cb).__name__} instead."
            )
    return callbacks


def _check_data(X: torch.Tensor, y: torch.Tensor, owner: str) -> None:
    """Non-empty, real, finite data (one pass over it, once per call)."""
    if X.ndim == 0 or X.shape[0] == 0 or X.numel() == 0:
        raise ParameterError(
            f"The 'data' parameter of {owner} must hold at least one sample. "
            f"Got X of shape {tuple(X.shape)}."
        )
    for label, t in (("X", X), ("y", y)):
        if t.is_complex():
            raise ParameterError(
                f"The 'data' parameter of {owner} must be real. {label} is complex ({t.dtype})."
            )
        if t.is_floating_point() or t.is_complex():
            if not bool(torch.isfinite(t).all()):
                bad = int(t.numel() - torch.isfinite(t).sum())
                raise ParameterError(
                    f"The 'data' parameter of {owner} must be finite. {label} has {bad} NaN or "
                    "infinite value(s)."
                )


def _check_target(pred: torch.Tensor, y: torch.Tensor, loss, owner: str) -> None:
    """Shapes and labels of ``y`` against the model's output for the named losses (once per call;
    torch would broadcast mismatched shapes silently or fail deep inside)."""
    if loss in ("mse", "bce_logits"):
        if pred.shape != y.shape:
            raise ParameterError(
                f"The 'data' parameter of {owner}: y of shape {tuple(y.shape)} does not match the "
                f"model's output of shape {tuple(pred.shape)} (loss {loss!r})."
            )
    elif loss == "cross_entropy":
        if pred.ndim < 2:
            raise ParameterError(
                f"The 'loss' parameter of {owner} is 'cross_entropy', which needs outputs of shape "
                f"(N, C). The model's output has shape {tuple(pred.shape)}."
            )
        C = pred.shape[1]
        if y.is_floating_point():
            if y.shape != pred.shape:
                raise ParameterError(
                    f"The 'data' parameter of {owner}: y of shape {tuple(y.shape)} must be integer "
                    f"class labels of shape {(pred.shape[0], *pred.shape[2:])} or class "
                    f"probabilities of shape {tuple(pred.shape)} for loss 'cross_entropy'."
                )
        else:
            want = (pred.shape[0], *pred.shape[2:])
            if tuple(y.shape) != want:
                raise ParameterError(
                    f"The 'data' parameter of {owner}: labels y of shape {tuple(y.shape)} do not "
                    f"match the model's output {tuple(pred.shape)}: expected shape {want}."
                )
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= C):
                raise ParameterError(
                    f"The 'data' parameter of {owner}: labels y must lie in [0, {C - 1}] (the model "
                    f"has {C} outputs). Got labels in [{int(y.min())}, {int(y.max())}]."
                )


def train(
    model: torch.nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    *,
    optimizer: torch.optim.Optimizer | str = "adam",
    lr: float = 1e-3,
    loss: str | Callable = "mse",
    batch_size: int | None = None,
    callbacks: Sequence[Callback] = (),
    generator: torch.Generator | None = None,
    progress: bool = True,
    desc: str = "train",
    raise_on_divergence: bool = False,
) -> TrainResult:
    """Train ``model`` on ``data = (X, y)`` for ``steps`` optimizer steps.

    Parameters
    ----------
    optimizer : torch optimizer or name
        A name (``adam``/``sgd``/``adamw``) builds one over the parameters that require grad.
    loss : ``"mse"``, ``"cross_entropy"``, ``"bce_logits"`` or a callable ``(pred, y) -> loss``.
    batch_size : int, optional
        Mini-batches drawn by reshuffling each epoch (with ``generator``); full batch if ``None``.
    callbacks : sequence of :class:`Callback`
        Their records end up in ``result.records[cb.name]``.
    raise_on_divergence : bool
        Raise :class:`DivergenceError` instead of returning a result flagged ``diverged``.

    Training stops when the loss diverges: when it is non-finite, or when it stays above
    ``1e6`` times the reference loss (the larger of the initial loss and the loss of a model
    that outputs zeros) for 2 consecutive steps (:class:`DivergenceMonitor`). The result then
    has ``diverged=True`` and a ``message`` that says which and at which step.

    Bad input raises :class:`ParameterError` before the first step: data that is empty,
    non-finite or does not fit the model, and, for the named losses, targets whose shape does not
    match the model's output (``"mse"``/``"bce_logits"``: the same shape, no broadcasting;
    ``"cross_entropy"``: labels in ``[0, C)`` or class probabilities).
    """
    if not isinstance(model, torch.nn.Module):
        raise ParameterError(
            f"The 'model' parameter of train must be a torch.nn.Module. Got {type(model).__name__} instead."
        )
    steps = check_scalar(steps, "steps", kind=int, owner="train", min_val=0)
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ParameterError("The 'data' parameter of train must be a pair (X, y) of tensors.")
    X, y = data
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ParameterError("The 'data' parameter of train must hold torch tensors (X, y).")
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ParameterError(
            "The 'data' parameter of train must hold X and y with the same number of rows. "
            f"Got X of shape {tuple(X.shape)} and y of shape {tuple(y.shape)} instead."
        )
    _check_data(X, y, "train")
    n = X.shape[0]
    if batch_size is not None:
        batch_size = check_scalar(batch_size, "batch_size", kind=int, owner="train", min_val=1)
    _check_generator(generator, "train")
    loss_fn = _LOSSES.get(loss) if isinstance(loss, str) else loss
    if loss_fn is None or not callable(loss_fn):
        raise ParameterError(
            f"The 'loss' parameter of train must be one of {sorted(_LOSSES)} or a callable. "
            f"Got {loss!r} instead."
        )
    callbacks = _check_callbacks(callbacks, "train")
    if isinstance(optimizer, str):
        lr = check_scalar(lr, "lr", owner="train", min_val=0.0, include_min=False)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ParameterError("The model has no trainable parameters.")
        optimizer = make_optimizer(params, optimizer, lr)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise ParameterError(
            "The 'optimizer' parameter of train must be a name ('adam', 'adamw', 'sgd') or a "
            f"torch.optim.Optimizer instance. Got {optimizer!r} instead."
        )

    def batches() -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        epoch = 0
        while True:
            if batch_size is None or batch_size >= n:
                yield epoch, (X, y)
            else:
                perm = torch.randperm(n, generator=generator)
                for i in range(0, n - batch_size + 1, batch_size):
                    idx = perm[i : i + batch_size]
                    yield epoch, (X[idx], y[idx])
            epoch += 1

    with torch.no_grad():
        try:
            pred = model(X)
        except SpecbiasError:
            raise
        except (RuntimeError, IndexError) as exc:  # e.g. a plain nn.Linear given X of wrong width
            raise ParameterError(
                f"The 'data' parameter of train does not fit the model: evaluating it on X of "
                f"shape {tuple(X.shape)} and dtype {X.dtype} failed: {exc}"
            ) from exc
        if isinstance(loss, str) and isinstance(pred, torch.Tensor):
            _check_target(pred, y, loss, "train")
        try:
            init = loss_fn(pred, y)
        except SpecbiasError:
            raise
        except (RuntimeError, IndexError) as exc:
            raise ParameterError(
                f"The 'loss' parameter of train could not be evaluated on the model's output and y "
                f"of shape {tuple(y.shape)}: {exc}"
            ) from exc
        if not isinstance(init, torch.Tensor) or init.numel() != 1:
            raise ParameterError(
                "The 'loss' parameter of train must return a scalar tensor. Got "
                f"{type(init).__name__}{'' if not isinstance(init, torch.Tensor) else ' of shape ' + str(tuple(init.shape))}."
            )
        init_loss = float(init)
        monitor = DivergenceMonitor(init_loss, _zero_output_loss(loss_fn, pred, y))
        del pred, init
    state = TrainState(model=model, optimizer=optimizer, step=0, loss=init_loss)
    for cb in callbacks:
        cb.on_train_begin(state)
    diverged, message = False, ""
    it = batches()
    bar = progress_bar(range(steps), desc=desc) if progress else range(steps)
    for step in bar:
        epoch, (xb, yb) = next(it)
        optimizer.zero_grad(set_to_none=True)
        out = loss_fn(model(xb), yb)
        lval = float(out.detach())
        if monitor.update(lval):
            diverged = True
            message = f"diverged at step {step}: {monitor.reason(lval)}; training stopped"
            state.loss = lval
            break
        out.backward()
        optimizer.step()
        state.step, state.loss, state.epoch, state.batch = step + 1, lval, epoch, (xb, yb)
        for cb in callbacks:
            cb.on_step_end(state)
        if state.stop:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    if diverged and raise_on_divergence:
        raise DivergenceError(message)
    records = {cb.name: cb.record for cb in callbacks}
    return TrainResult(steps_done=state.step, final_loss=state.loss, diverged=diverged,
                       message=message, records=records)
