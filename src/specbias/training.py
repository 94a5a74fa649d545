"""Training loops with callbacks (docs/theory.md sections 4 and 5).

:func:`train` runs ``steps`` optimizer steps of a torch model on ``(X, y)`` (full batch, or
mini-batches of ``batch_size``), calling each callback every step. Divergence stops the run: the
result says so (``result.diverged``, ``result.message``) and keeps every record made up to that
point. Callbacks record what they want into ``result.records[callback.name]``.

One engine, :func:`run_loop`, runs the steps of every trainer of the package -- :func:`train`
(one model), :func:`specbias.train_ensemble` (many members at once, each diverging on its own)
and :func:`specbias.regimes.train_kernel_regime` (output weights only, until a target loss): it
evaluates the initial loss, takes the steps a trainer's ``step`` callable describes, applies the
divergence rule, calls the callbacks and collects their records. Their results say which run
(or member) diverged, at which step and why in the same fields (``diverged``, ``diverged_at``,
``divergence_reason``, ``message``); :func:`divergence_entries` turns any of them into
``{label: message}``.

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

import contextlib
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
        self._scalar_threshold = float(self.threshold) if ref.ndim == 0 else None

    def update(self, loss):
        """Record one step's loss; True (per entry) where the run has now diverged."""
        if self._scalar_threshold is not None and type(loss) is float:  # one model, every step
            finite = math.isfinite(loss)
            self.streak = self.streak + 1 if finite and loss > self._scalar_threshold else 0
            return not finite or self.streak >= self.patience
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
    loss: Any  # a float, or a numpy array with one loss per ensemble member
    epoch: int = 0
    batch: tuple | None = None
    stop: bool = False  # a callback may set this to end training
    diverged: Any = False  # whether the loss diverged: a bool, or one per ensemble member


@dataclass
class TrainResult:
    """Outcome of :func:`train`: records of every callback, final loss, divergence flag
    (the rule of :class:`DivergenceMonitor`) and, when diverged, a message saying why.

    ``diverged_at`` is the step whose loss diverged (``None`` if none did) and
    ``divergence_reason`` what the loss was (``""`` if it did not diverge); ``message`` says
    both in one sentence. :func:`divergence_entries` gives ``{label: message}``.

    Parameters
    ----------
    steps_done : int
        Number of optimizer steps taken.
    final_loss : float
        Training loss at the last step.
    diverged : bool, default False
        Whether training stopped because the loss diverged.
    message : str, default ""
        Why training diverged, in one sentence (``""`` if it did not).
    records : dict, default {}
        Each callback's ``record``, keyed by the callback's ``name``.
    diverged_at : int or None, default None
        The step whose loss diverged.
    divergence_reason : str, default ""
        What the diverged loss was.
    """

    steps_done: int
    final_loss: float
    diverged: bool = False
    message: str = ""
    records: dict[str, Any] = field(default_factory=dict)
    diverged_at: int | None = None
    divergence_reason: str = ""


class Callback:
    """Base class. Override any of the hooks; store results in ``self.record`` (a dict).

    Parameters
    ----------
    every : int, default 1
        Record every ``every`` optimizer steps (:meth:`due`); at least 1.
    name : str, optional
        Key of the record in ``TrainResult.records``; default the class's ``name``.
    """

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
        self.record: dict[str, Any] = {}

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

    #: attributes left out of :meth:`state_dict` (e.g. references to the model's tensors)
    _checkpoint_exclude: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of this callback (:mod:`specbias.checkpoint`): by default
        every attribute but modules, optimizers, parameters, callables and those named in
        ``_checkpoint_exclude``. Override it together with :meth:`load_state_dict` for a
        callback whose state is elsewhere."""
        skip = (torch.nn.Module, torch.optim.Optimizer, torch.nn.Parameter)
        return {k: v for k, v in vars(self).items()
                if k not in self._checkpoint_exclude and not isinstance(v, skip)
                and not callable(v)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` kept (called after ``on_train_begin``)."""
        vars(self).update(state)


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

    ``validation`` maps a name to ``(X, y)``; each is evaluated with ``loss_fn`` (the mean
    squared error unless given: pass the training loss function when it is another).

    Parameters
    ----------
    every : int, default 1
        Record every ``every`` optimizer steps; at least 1.
    validation : dict of str to (Tensor, Tensor), optional
        Named validation sets ``(X, y)``, recorded under their names.
    loss_fn : callable ``(prediction, y) -> loss``, optional
        Loss of the validation sets; ``None`` uses ``torch.nn.functional.mse_loss``.
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


def _is_ensemble(model) -> bool:
    return hasattr(model, "ensemble_size")


class SpectralNormRecorder(Callback):
    """Spectral norms ``||W_l||_2`` (largest singular values) of every weight matrix every
    ``every`` steps (docs/theory.md section 5).

    Rahaman et al., Fig. 1 (right): they grow while the network fits higher frequencies (the
    Lipschitz bound ``L_f <= prod_l ||W_l||_2``). Works on one model (2-D parameters) and on an
    :class:`specbias.ensemble.EnsembleModel` (stacked 3-D parameters: one norm per member).
    Records ``step`` and one list per weight name (floats, or ``(E,)`` arrays).
    :class:`ParamNormRecorder` is the same recorder under its older name and record key.

    Parameters
    ----------
    every : int, default 1
        Record every ``every`` optimizer steps; at least 1.
    name : str, optional
        Key of the record in ``TrainResult.records``; default ``"spectral_norms"``.

    Examples
    --------
    >>> import torch
    >>> from specbias.nn import MLP
    >>> rec = SpectralNormRecorder()
    >>> net = MLP(1, 4, 2)
    >>> rec.on_train_begin(TrainState(net, None, 0, 0.0))
    >>> sorted(rec.record)
    ['layers.0.weight', 'layers.1.weight', 'layers.2.weight', 'step']
    """

    name = "spectral_norms"

    def _log(self, state):
        model = state.model
        ens = _is_ensemble(model)
        vals = {}
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if p.ndim == (3 if ens else 2):
                    n = torch.linalg.matrix_norm(p.detach().double(), ord=2)
                    vals[pname] = n.numpy().copy() if ens else float(n)
        self._append(step=state.step, **vals)

    def on_train_begin(self, state):
        self._log(state)

    def on_step_end(self, state):
        if self.due(state.step):
            self._log(state)


class ParamNormRecorder(SpectralNormRecorder):
    """:class:`SpectralNormRecorder` under its older name; it records into
    ``result.records["param_norms"]`` by default.

    Parameters
    ----------
    every : int, default 1
        Record every ``every`` optimizer steps; at least 1.
    name : str, optional
        Key of the record in ``TrainResult.records``; default ``"param_norms"``.
    """

    name = "param_norms"


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


# ----------------------------------------------------------------------------- the engine

#: ``step(i) -> (loss, update)``: the forward pass of step ``i`` of a trainer (see :func:`run_loop`)
StepFn = Callable[[int], tuple[Any, Callable[[Any], None]]]


@dataclass
class LoopOutcome:
    """What :func:`run_loop` hands back to the trainer that called it.

    ``diverged`` (bool), ``diverged_at`` (step, ``-1`` where none) and ``reasons`` (str, ``""``
    where none) are numpy arrays of shape ``()`` for one model and ``(E,)`` for ``E`` members.
    ``stopped`` says what ended the loop: ``"steps"`` (all done), ``"divergence"`` (every member
    diverged), ``"target"`` (``stop_at`` said so) or ``"callback"`` (``state.stop``).
    """

    state: TrainState
    initial_loss: Any
    diverged: np.ndarray
    diverged_at: np.ndarray
    reasons: np.ndarray
    stopped: str
    records: dict[str, Any]


def divergence_order(diverged, diverged_at) -> list[int]:
    """The diverged members in the order they diverged (by step, then by index).

    >>> divergence_order([True, False, True, True], [7, -1, 3, 7])
    [2, 0, 3]
    """
    at = np.asarray(diverged_at)
    return sorted((int(e) for e in np.flatnonzero(diverged)), key=lambda e: (int(at[e]), e))


def run_loop(
    state: TrainState,
    steps: int,
    step: StepFn,
    initial: Callable[[], tuple[Any, Any]],
    *,
    callbacks: Sequence[Callback] = (),
    hooks: Sequence[Callback] = (),
    stop_at: Callable[[Any], bool] | None = None,
    evaluate_last: bool = False,
    progress: bool = False,
    desc: str = "train",
    trainer_state: tuple[Callable[[], Any], Callable[[Any], None]] | None = None,
) -> LoopOutcome:
    """The training engine shared by :func:`train`, :func:`specbias.train_ensemble` and
    :func:`specbias.regimes.train_kernel_regime`.

    1. ``initial()``, called under ``torch.no_grad()``, returns ``(loss, zero_output_loss)``:
       the loss of the initial model (a float, or a numpy array with one loss per member) and
       the loss of a model that outputs zeros (``None`` if unknown). They set the reference of
       the divergence rule (:class:`DivergenceMonitor`); ``state.loss`` starts at ``loss``.
    2. Callbacks (``hooks`` first: a trainer's own recorders, left out of the records) see
       ``on_train_begin``.
    3. For ``i`` in ``range(steps)``: ``loss, update = step(i)`` is the forward pass with the
       parameters after ``i`` updates. Entries whose loss diverges are flagged with the step and
       the reason; the loop ends once every entry has diverged (``state.loss`` is then the
       diverging loss, ``state.step`` stays ``i``). Then ``stop_at(loss)`` may end the loop
       before the update (``state.loss = loss``). Otherwise ``update(active)`` does the backward
       pass and the optimizer step for the entries still ``active`` (a bool array like
       ``state.diverged``), ``state.step = i + 1``, ``state.loss`` is the loss of the forward
       pass (NaN for diverged members) and the callbacks see ``on_step_end``; a callback may set
       ``state.stop``.
    4. With ``evaluate_last``, a loop that did all ``steps`` evaluates the loss of the final
       parameters once more (``step(steps)``, no update), applies the divergence rule to it and
       leaves it in ``state.loss``.
    5. Every callback sees ``on_train_end``, also after divergence; ``records`` maps each
       callback's name to its record.

    Inside a run of :func:`specbias.runner.run_experiment` the loop checkpoints itself
    (:mod:`specbias.checkpoint`): the model and optimizer of ``state``, the step, the divergence
    bookkeeping, the callbacks' :meth:`Callback.state_dict`, the global RNG states and
    ``trainer_state`` (``(get, set)``: whatever else the trainer's ``step`` depends on, such as
    a mini-batch position), and a restarted run resumes the loop from its last checkpoint.
    """
    with torch.no_grad():
        init, zero = initial()
    monitor = DivergenceMonitor(init, zero)
    single = np.ndim(init) == 0
    diverged = np.zeros(np.shape(init), dtype=bool)
    diverged_at = np.full(diverged.shape, -1, dtype=np.int64)
    reasons = np.full(diverged.shape, "", dtype=object)
    everyone = [*hooks, *callbacks]
    state.loss = init
    state.diverged = False if single else diverged.copy()

    def check(i, lval) -> bool:
        """Flag newly diverged entries; True when every entry has diverged."""
        hit = monitor.update(lval)
        if single:  # the loop ends at the first divergence of a single model
            if not hit:
                return False
            bad = np.asarray(hit, dtype=bool)
        else:
            bad = hit & ~diverged
            if not bad.any():
                return False
        for idx in ([()] if single else [(int(e),) for e in np.flatnonzero(bad)]):
            diverged_at[idx] = i
            reasons[idx] = monitor.reason(lval, idx)
        diverged[...] |= bad
        state.diverged = bool(diverged) if single else diverged.copy()
        return bool(diverged.all())

    from . import checkpoint as _ck
    from . import tensorboard as _tb

    kept = list(everyone)  # what a checkpoint keeps (not the TensorBoard logger)
    logger = _tb.loop_logger(everyone)  # specbias run --tensorboard DIR
    if logger is not None:
        everyone.append(logger)
    for cb in everyone:
        cb.on_train_begin(state)
    stopped = "steps"

    ck = _ck.active()
    loop_ck = ck.next_loop() if ck is not None else None

    def snapshot(done: str | None) -> dict[str, Any]:
        return {"step": state.step, "loss": state.loss, "epoch": state.epoch,
                "state_diverged": state.diverged, "done": done,
                "monitor": dict(vars(monitor)), "diverged": diverged.copy(),
                "diverged_at": diverged_at.copy(), "reasons": reasons.copy(),
                "model": state.model.state_dict(),
                "optimizer": state.optimizer.state_dict() if state.optimizer is not None else None,
                "callbacks": [cb.state_dict() for cb in kept],
                "trainer": trainer_state[0]() if trainer_state is not None else None,
                "rng": _ck.rng_state()}

    start, finished = 0, None
    saved = loop_ck.load() if loop_ck is not None else None
    if saved is not None:
        state.model.load_state_dict(saved["model"])
        if state.optimizer is not None and saved["optimizer"] is not None:
            state.optimizer.load_state_dict(saved["optimizer"])
        vars(monitor).update(saved["monitor"])
        diverged[...] = saved["diverged"]
        diverged_at[...] = saved["diverged_at"]
        reasons[...] = saved["reasons"]
        for cb, cb_state in zip(kept, saved["callbacks"], strict=True):
            cb.load_state_dict(cb_state)
        if trainer_state is not None:
            trainer_state[1](saved["trainer"])
        _ck.set_rng_state(saved["rng"])
        state.step, state.loss, state.epoch = saved["step"], saved["loss"], saved["epoch"]
        state.diverged = saved["state_diverged"]
        start, finished = saved["step"], saved["done"]
        assert ck is not None and loop_ck is not None
        ck.say(f"resumed {loop_ck.label} of this run from its checkpoint at step {start}"
               + (" (finished)" if finished else ""))
    bar = progress_bar(range(start, steps), desc=desc, total=steps, initial=start) \
        if progress else range(start, steps)
    if finished is not None:
        bar, stopped = range(0), finished
    for i in bar:
        lval, update = step(i)
        if check(i, lval):
            state.loss, stopped = lval, "divergence"
            break
        if stop_at is not None and stop_at(lval):
            state.loss, stopped = lval, "target"
            break
        update(~diverged)
        state.step = i + 1
        state.loss = lval if single else np.where(diverged, np.nan, lval)
        for cb in everyone:
            cb.on_step_end(state)
        if state.stop:
            stopped = "callback"
            break
        if loop_ck is not None and i + 1 < steps and loop_ck.due(i + 1):
            loop_ck.save(snapshot(None))
    else:
        if evaluate_last and finished is None:
            lval, _ = step(steps)
            if check(steps, lval):
                stopped = "divergence"
            state.loss = lval
    if loop_ck is not None and loop_ck.saved and finished is None:
        loop_ck.save(snapshot(stopped))  # a finished loop returns at once when resumed
    for cb in everyone:
        cb.on_train_end(state)
    return LoopOutcome(state=state, initial_loss=init, diverged=diverged,
                       diverged_at=diverged_at, reasons=reasons, stopped=stopped,
                       records={cb.name: cb.record for cb in callbacks})


def divergence_message(step: int, reason: str, member: int | None = None) -> str:
    """The message of a divergence: ``"diverged at step 3: loss is nan (non-finite); training
    stopped"`` for one model, ``"member 2 diverged at step 3: ...; it is frozen from there on"``
    for an ensemble member.

    >>> divergence_message(3, "loss is nan (non-finite)", member=2)
    'member 2 diverged at step 3: loss is nan (non-finite); it is frozen from there on'
    """
    if member is None:
        return f"diverged at step {step}: {reason}; training stopped"
    return f"member {member} diverged at step {step}: {reason}; it is frozen from there on"


def divergence_entries(result, labels: str | Sequence[str] | None = None, *,
                       prefix: str = "") -> dict[str, str]:
    """``{label: message}`` for every diverged run or member of a training result.

    ``result`` is what :func:`train`, :func:`specbias.train_ensemble` or
    :func:`specbias.regimes.train_kernel_regime` returned. Labels are ``prefix`` followed by
    ``labels`` (one model: a str, default ``"run"``; an ensemble: one str per member, default
    ``"member {e}"``). Ensemble members come in the order they diverged, like
    ``result.messages``. Empty when nothing diverged.

    >>> import torch
    >>> from specbias.nn import MLP
    >>> X = torch.linspace(0, 1, 8)[:, None]
    >>> res = train(MLP(1, 8, 1), (X, X[:, 0]), 5, lr=1e9, optimizer="sgd", progress=False)
    >>> list(divergence_entries(res, "mlp", prefix="fit "))
    ['fit mlp']
    """
    flags = np.asarray(result.diverged)
    if flags.ndim == 0:
        if not bool(flags):
            return {}
        if labels is not None and not isinstance(labels, str):
            raise ParameterError("The 'labels' parameter of divergence_entries must be a str "
                                 f"for a single run. Got {type(labels).__name__} instead.")
        return {f"{prefix}{labels or 'run'}": result.message}
    E = flags.shape[0]
    if isinstance(labels, str) or (labels is not None and len(labels) != E):
        raise ParameterError(f"The 'labels' parameter of divergence_entries must hold one label "
                             f"per member ({E}). Got {labels!r} instead.")
    at = np.asarray(result.diverged_at)
    out = {}
    for e in divergence_order(flags, at):
        name = f"member {e}" if labels is None else labels[e]
        out[f"{prefix}{name}"] = divergence_message(int(at[e]), result.divergence_reason[e],
                                                    member=e)
    return out


@contextlib.contextmanager
def single_threaded():
    """Run torch and BLAS on one thread (restored afterwards). Small problems run much faster
    so: on a shared machine with few cores multi-threaded BLAS/torch spin-waits and can run
    10-20x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover
            yield
        else:
            with threadpool_limits(limits=1):
                yield
    finally:
        torch.set_num_threads(n)


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

    Training stops when the loss diverges: when it is non-finite, or when it stays above
    ``1e6`` times the reference loss (the larger of the initial loss and the loss of a model
    that outputs zeros) for 2 consecutive steps (:class:`DivergenceMonitor`). The result then
    has ``diverged=True`` and a ``message`` that says which and at which step.

    Bad input raises :class:`ParameterError` before the first step: data that is empty,
    non-finite or does not fit the model, and, for the named losses, targets whose shape does not
    match the model's output (``"mse"``/``"bce_logits"``: the same shape, no broadcasting;
    ``"cross_entropy"``: labels in ``[0, C)`` or class probabilities).

    Parameters
    ----------
    model : torch.nn.Module
        The network; trained in place.
    data : (tensor, tensor)
        Inputs ``X`` and targets ``y`` (first axis: samples).
    steps : int
        Number of optimizer steps (``0`` only evaluates the initial loss).
    optimizer : torch optimizer or name
        A name (``adam``/``sgd``/``adamw``) builds one over the parameters that require grad.
    lr : float
        Learning rate of an optimizer built from its name.
    loss : str or callable
        ``"mse"`` (mean squared error), ``"cross_entropy"``, ``"bce_logits"`` or a callable
        ``(pred, y) -> loss``.
    batch_size : int, optional
        Mini-batches drawn by reshuffling each epoch (with ``generator``); full batch if ``None``.
    callbacks : sequence of :class:`Callback`
        Their records end up in ``result.records[cb.name]``.
    generator : torch.Generator, optional
        Random source of the mini-batch shuffling.
    progress : bool
        Show a progress bar.
    desc : str
        Label of the progress bar.
    raise_on_divergence : bool
        Raise :class:`DivergenceError` instead of returning a result flagged ``diverged``.

    Returns
    -------
    TrainResult
        The final loss, the number of steps done, the divergence flag and message, and the
        records of every callback.
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

    # the mini-batch position: epoch, the epoch's permutation and the next index into it (a
    # checkpoint keeps it, with the generator's state, so a resumed run draws the same batches)
    pos: dict[str, Any] = {"epoch": 0, "perm": None, "index": 0}

    def next_batch() -> tuple[int, tuple[torch.Tensor, torch.Tensor]]:
        epoch = pos["epoch"]
        if batch_size is None or batch_size >= n:
            pos["epoch"] += 1
            return epoch, (X, y)
        if pos["perm"] is None:  # reshuffle at the start of each epoch
            pos["perm"], pos["index"] = torch.randperm(n, generator=generator), 0
        i = pos["index"]
        idx = pos["perm"][i : i + batch_size]
        pos["index"] = i + batch_size
        if pos["index"] > n - batch_size:  # the rest is shorter than a batch: next epoch
            pos["perm"], pos["epoch"] = None, epoch + 1
        return epoch, (X[idx], y[idx])

    def get_trainer_state():
        return {"pos": dict(pos), "generator": generator.get_state() if generator is not None
                else None}

    def set_trainer_state(saved):
        pos.update(saved["pos"])
        if generator is not None and saved["generator"] is not None:
            generator.set_state(saved["generator"])

    def initial():
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
        return float(init), _zero_output_loss(loss_fn, pred, y)

    state = TrainState(model=model, optimizer=optimizer, step=0, loss=math.nan)

    def step(i):
        epoch, (xb, yb) = next_batch()
        optimizer.zero_grad(set_to_none=True)
        out = loss_fn(model(xb), yb)

        def update(active):
            out.backward()
            optimizer.step()
            state.epoch, state.batch = epoch, (xb, yb)

        return float(out.detach()), update

    run = run_loop(state, steps, step, initial, callbacks=callbacks, progress=progress, desc=desc,
                   trainer_state=(get_trainer_state, set_trainer_state))
    diverged = bool(run.diverged)
    at = int(run.diverged_at) if diverged else None
    reason = str(run.reasons[()])
    message = divergence_message(at, reason) if at is not None else ""
    if diverged and raise_on_divergence:
        raise DivergenceError(message)
    return TrainResult(steps_done=state.step, final_loss=state.loss, diverged=diverged,
                       message=message, records=run.records, diverged_at=at,
                       divergence_reason=reason)
