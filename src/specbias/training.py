"""Training loops with callbacks (SPEC sections 4 and 5).

:func:`train` runs ``steps`` optimizer steps of a torch model on ``(X, y)`` (full batch, or
mini-batches of ``batch_size``), calling each callback every step. A non-finite loss stops the
run: the result says so (``result.diverged``, ``result.message``) and keeps every record made up
to that point. Callbacks record what they want into ``result.records[callback.name]``.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ._validation import DivergenceError, ParameterError, check_scalar
from .progress import progress as progress_bar


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
    """Outcome of :func:`train`: records of every callback, final loss, divergence flag."""

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


class LossRecorder(Callback):
    """Record the training loss (and optional validation losses) every ``every`` steps.

    ``validation`` maps a name to ``(X, y)``; each is evaluated with the training loss function.
    """

    name = "loss"

    def __init__(self, every: int = 1, validation: dict[str, tuple] | None = None, loss_fn=None):
        super().__init__(every)
        self.validation = validation or {}
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
    """Build a torch optimizer by name (``adam``, ``sgd``, ``adamw``) or pass one through."""
    lr = check_scalar(lr, "lr", owner="make_optimizer", min_val=0.0, include_min=False)
    table = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}
    if name not in table:
        raise ParameterError(f"The 'optimizer' parameter must be one of {sorted(table)}. Got {name!r}.")
    return table[name](params, lr=lr, **kwargs)


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
    """
    steps = check_scalar(steps, "steps", kind=int, owner="train", min_val=0)
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ParameterError("The 'data' parameter of train must be a pair (X, y) of tensors.")
    X, y = data
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ParameterError("The 'data' parameter of train must hold torch tensors (X, y).")
    if X.shape[0] != y.shape[0]:
        raise ParameterError(f"X and y have different numbers of rows: {X.shape[0]} and {y.shape[0]}.")
    n = X.shape[0]
    if batch_size is not None:
        batch_size = check_scalar(batch_size, "batch_size", kind=int, owner="train", min_val=1)
    loss_fn = _LOSSES.get(loss) if isinstance(loss, str) else loss
    if loss_fn is None:
        raise ParameterError(f"The 'loss' parameter of train must be one of {sorted(_LOSSES)} or a callable.")
    if isinstance(optimizer, str):
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ParameterError("The model has no trainable parameters.")
        optimizer = make_optimizer(params, optimizer, lr)

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
        init_loss = float(loss_fn(model(X), y))
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
        if not math.isfinite(lval):
            diverged = True
            message = f"diverged at step {step}: loss is {lval} (non-finite); training stopped"
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
