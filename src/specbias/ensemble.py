"""Train many independently initialized copies of a network as one vectorized computation
(docs/theory.md section 5: Rahaman et al. average every curve over runs).

:class:`EnsembleModel` stacks the parameters of ``E`` copies of one architecture along a new
leading axis (``torch.func.stack_module_state``). Its forward pass evaluates all copies at once:
by batched matrix products (``torch.baddbmm``) for :class:`specbias.nn.MLP` and ``nn.Sequential``
stacks of ``Linear`` and element-wise activations, and by ``torch.func.vmap`` over
``functional_call`` for any other module. :func:`train_ensemble` minimizes the sum of the copies'
losses ``sum_e L_e(theta_e)``; since the copies share no parameter, ``d/d theta_e`` of the sum is
``d L_e / d theta_e``, and element-wise optimizers (Adam, AdamW, SGD) update each copy exactly as
if it were trained alone. Results equal those of :func:`specbias.train` on each copy up to float
rounding (batched and single matrix products may round differently).

>>> import torch
>>> from specbias.nn import MLP
>>> X = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None]
>>> y = torch.sin(6 * X[:, 0])
>>> nets = [MLP(1, 16, 2, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
...         for s in range(3)]
>>> res = train_ensemble(nets, (X, y), steps=30, lr=1e-2, progress=False)
>>> res.losses.shape, res.final_loss.shape
((31, 3), (3,))
>>> from specbias.training import train
>>> alone = train(nets[1], (X, y), steps=30, lr=1e-2, progress=False)
>>> bool(abs(alone.final_loss - res.final_loss[1]) < 1e-10)
True
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._validation import ParameterError, SpecbiasError, check_choice, check_scalar
from .training import (
    Callback,
    TrainState,
    _check_callbacks,
    _check_data,
    _check_validation,
    divergence_message,
    divergence_order,
    make_optimizer,
    run_loop,
)

__all__ = ["EnsembleModel", "EnsembleResult", "train_ensemble", "member_losses"]

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.ELU,
                nn.Softplus, nn.Identity)


def _bmm_ok(model: nn.Module) -> bool:
    from .nn import MLP

    if isinstance(model, MLP):
        return True
    if isinstance(model, nn.Sequential):
        return all(isinstance(m, (nn.Linear, *_ELEMENTWISE)) for m in model)
    return False


class EnsembleModel(nn.Module):
    """``E`` copies of one architecture with stacked parameters (docs/theory.md section 5).

    Parameters keep their names (``layers.0.weight`` of an MLP) with a leading member axis:
    shape ``(E, *shape)``. ``forward(X)`` takes inputs shared by all members (the model's usual
    input shape) or one batch per member (a leading axis of size ``E``) and returns
    ``(E, *output_shape)``.

    Parameters
    ----------
    models : sequence of nn.Module
        Same class, same parameter names and shapes; typically independently initialized.
    method : {"auto", "bmm", "vmap"}
        ``bmm`` (batched matrix products) needs an MLP or a Sequential of Linear and element-wise
        activations; ``vmap`` works for any module; ``auto`` picks ``bmm`` when possible.

    Examples
    --------
    >>> import torch
    >>> from specbias.nn import MLP
    >>> nets = [MLP(1, 8, 2) for _ in range(4)]
    >>> ens = EnsembleModel(nets)
    >>> ens.layers[0].weight.shape, ens(torch.zeros(5, 1)).shape
    (torch.Size([4, 8, 1]), torch.Size([4, 5]))
    >>> bool(torch.allclose(ens(torch.ones(5, 1))[2], nets[2](torch.ones(5, 1))))
    True
    """

    # unregistered modules, set with object.__setattr__ in __init__
    _template: nn.Module
    _holder: nn.Module

    def __init__(self, models: Sequence[nn.Module], method: str = "auto"):
        super().__init__()
        check_choice(method, "method", ["auto", "bmm", "vmap"], owner="EnsembleModel")
        if isinstance(models, nn.Module) or not isinstance(models, Sequence) or len(models) < 1:
            raise ParameterError(
                "The 'models' parameter of EnsembleModel must be a non-empty sequence of modules. "
                f"Got {type(models).__name__} instead."
            )
        models = list(models)
        first = models[0]
        if not all(isinstance(m, nn.Module) for m in models):
            raise ParameterError("The 'models' parameter of EnsembleModel must hold nn.Modules only.")
        shapes = [(n, tuple(p.shape), p.dtype) for n, p in first.named_parameters()]
        if not shapes:
            raise ParameterError("The models given to EnsembleModel have no parameters.")
        for i, m in enumerate(models[1:], 1):
            if type(m) is not type(first) or [
                (n, tuple(p.shape), p.dtype) for n, p in m.named_parameters()
            ] != shapes:
                raise ParameterError(
                    "The 'models' parameter of EnsembleModel must hold copies of one architecture. "
                    f"Model {i} differs from model 0 in class, parameter names, shapes or dtypes."
                )
        if method == "bmm" and not _bmm_ok(first):
            raise ParameterError(
                "The 'method' parameter of EnsembleModel can be 'bmm' only for an MLP or an "
                f"nn.Sequential of Linear and element-wise activation layers. Got {type(first).__name__}."
            )
        self.method = "bmm" if method == "auto" and _bmm_ok(first) else (
            "vmap" if method == "auto" else method)
        self.ensemble_size = len(models)
        params, buffers = torch.func.stack_module_state(models)
        # an unregistered template for functional_call (vmap) and unstacking
        object.__setattr__(self, "_template", copy.deepcopy(first))
        holder = copy.deepcopy(first)
        with torch.no_grad():
            for name, value in params.items():
                mod_name, _, leaf = name.rpartition(".")
                mod = holder.get_submodule(mod_name) if mod_name else holder
                p = nn.Parameter(value.detach().clone(), requires_grad=value.requires_grad)
                setattr(mod, leaf, p)
            for name, value in buffers.items():
                mod_name, _, leaf = name.rpartition(".")
                mod = holder.get_submodule(mod_name) if mod_name else holder
                mod.register_buffer(leaf, value.detach().clone())
        for name, child in holder.named_children():
            self.add_module(name, child)
        for name, p in holder.named_parameters(recurse=False):
            self.register_parameter(name, p)
        for name, b in holder.named_buffers(recurse=False):
            self.register_buffer(name, b)
        object.__setattr__(self, "_holder", holder)

    # ------------------------------------------------------------------ parameters
    def stacked_parameters(self) -> dict[str, torch.Tensor]:
        """``{name: (E, *shape) tensor}`` (the live parameters, not copies)."""
        return dict(self._holder.named_parameters())

    def stacked_buffers(self) -> dict[str, torch.Tensor]:
        return dict(self._holder.named_buffers())

    def member(self, index: int) -> nn.Module:
        """A standalone copy of member ``index`` (detached parameters)."""
        index = check_scalar(index, "index", kind=int, owner="EnsembleModel.member", min_val=0,
                             max_val=self.ensemble_size - 1)
        out = copy.deepcopy(self._template)
        with torch.no_grad():
            for name, p in self._holder.named_parameters():
                out.get_parameter(name).copy_(p[index])
            for name, b in self._holder.named_buffers():
                mod_name, _, leaf = name.rpartition(".")
                mod = out.get_submodule(mod_name) if mod_name else out
                getattr(mod, leaf).copy_(b[index])
        return out

    def members(self) -> list[nn.Module]:
        """Every member as a standalone module."""
        return [self.member(i) for i in range(self.ensemble_size)]

    # ------------------------------------------------------------------ forward
    def forward(self, X: torch.Tensor, *, per_member: bool | None = None) -> torch.Tensor:
        """All members at once: ``(E, *output_shape)``.

        ``per_member`` says whether ``X`` holds one batch per member along its first axis; by
        default it is inferred (2-D input to an MLP/Sequential is shared, 3-D is per member; for
        other modules inputs are shared unless ``per_member=True``).
        """
        if not isinstance(X, torch.Tensor):
            raise ParameterError("EnsembleModel expects a torch.Tensor input.")
        E = self.ensemble_size
        if per_member is None:
            per_member = (X.ndim == 3) if self.method == "bmm" else False
        if per_member and X.shape[0] != E:
            raise ParameterError(
                f"Per-member inputs must have {E} rows along the first axis. Got {tuple(X.shape)}."
            )
        if self.method == "vmap":
            params, buffers = self.stacked_parameters(), self.stacked_buffers()

            def one(p, b, x):
                return torch.func.functional_call(self._template, (p, b), (x,))

            return torch.func.vmap(one, in_dims=(0, 0, 0 if per_member else None))(params, buffers, X)
        return self._forward_bmm(X, per_member)

    def _forward_bmm(self, X, per_member):
        from .nn import MLP

        t = self._template
        E = self.ensemble_size
        dtype = next(iter(self._holder.parameters())).dtype
        if X.dtype != dtype:
            raise ParameterError(
                f"EnsembleModel expects inputs of dtype {dtype} (the dtype of its parameters). "
                f"Got {X.dtype} instead."
            )
        if isinstance(t, MLP):
            if per_member and X.ndim == 2 and t.in_dim == 1:
                X = X[..., None]
            if not per_member and X.ndim == 1 and t.in_dim == 1:
                X = X[:, None]
            if X.shape[-1] != t.in_dim or X.ndim != (3 if per_member else 2):
                raise ParameterError(
                    f"MLP ensemble expects inputs of shape (N, {t.in_dim}) or (E, N, {t.in_dim}). "
                    f"Got {tuple(X.shape)}."
                )
            layers = list(self.layers)
            ops = []
            for i, lin in enumerate(layers):
                ops.append(lin)
                if i < len(layers) - 1:
                    ops.append(t.act)
        else:
            d = next((m.in_features for m in t if isinstance(m, nn.Linear)), None)
            if X.ndim != (3 if per_member else 2) or (d is not None and X.shape[-1] != d):
                d = "d" if d is None else d
                raise ParameterError(
                    f"Sequential ensemble expects inputs of shape (N, {d}) or (E, N, {d}). "
                    f"Got {tuple(X.shape)}."
                )
            ops = [getattr(self, name) if isinstance(m, nn.Linear) else m
                   for name, m in t.named_children()]
        # activations are kept as (E, width, N): h^T <- W h^T + b, so that the weight gradients
        # come out of the batched products in the weights' own (E, out, in) layout
        hT = X.mT if per_member else X.mT.unsqueeze(0).expand(E, *X.mT.shape)
        fresh = False  # hT is a product made here (not the caller's input)
        for op in ops:
            if isinstance(op, nn.Linear):
                if op.bias is not None:
                    hT = torch.baddbmm(op.bias.unsqueeze(-1), op.weight, hT)
                else:
                    hT = torch.bmm(op.weight, hT)
                fresh = True
            elif fresh and (isinstance(op, nn.ReLU) or getattr(op, "name", None) == "relu"):
                hT = torch.relu_(hT)  # in place on a fresh product: one temporary less
                fresh = False
            else:
                hT = op(hT)
                fresh = False
        if isinstance(t, MLP) and t.out_dim == 1:
            return hT[:, 0, :]
        return hT.mT


def member_losses(pred: torch.Tensor, y: torch.Tensor, loss: str | Callable = "mse") -> torch.Tensor:
    """Per-member mean losses ``(E,)`` of ensemble predictions ``pred`` of shape ``(E, ...)``.

    ``y`` is shared (the shape one member's target has) or per member (leading axis ``E``).
    ``loss`` is ``"mse"`` (``mean (pred - y)^2``), ``"bce_logits"`` or ``"cross_entropy"``
    (``pred`` of shape ``(E, N, C)``, integer ``y``), each averaged over everything but the member
    axis exactly like the torch loss with ``reduction="mean"`` on one member; or a callable
    ``(pred, y) -> (E,)``.

    >>> import torch
    >>> pred = torch.tensor([[0.0, 1.0], [1.0, 1.0]]); y = torch.tensor([0.0, 0.0])
    >>> member_losses(pred, y).tolist()
    [0.5, 1.0]
    """
    if not isinstance(pred, torch.Tensor) or not isinstance(y, torch.Tensor) or pred.ndim < 1:
        raise ParameterError(
            "The 'pred' and 'y' parameters of member_losses must be tensors, 'pred' with a leading "
            f"member axis. Got {type(pred).__name__} and {type(y).__name__}."
        )
    E = pred.shape[0]
    if callable(loss) and not isinstance(loss, str):
        out = loss(pred, y)
        if not isinstance(out, torch.Tensor) or out.shape != (E,):
            raise ParameterError(f"A callable 'loss' must return per-member losses of shape ({E},).")
        return out
    check_choice(loss, "loss", ["mse", "bce_logits", "cross_entropy"], owner="train_ensemble")
    F = torch.nn.functional
    if loss == "cross_entropy":
        C = pred.shape[-1]
        if pred.ndim < 2 or y.is_floating_point() or tuple(y.shape) not in (
                tuple(pred.shape[:-1]), tuple(pred.shape[1:-1])):
            raise ParameterError(
                f"The 'y' parameter of member_losses must hold integer class labels of shape "
                f"{tuple(pred.shape[1:-1])} (shared) or {tuple(pred.shape[:-1])} (per member) for "
                f"loss 'cross_entropy' and predictions of shape {tuple(pred.shape)}. Got "
                f"{y.dtype} labels of shape {tuple(y.shape)} instead."
            )
        yy = y if y.ndim == pred.ndim - 1 else y.unsqueeze(0).expand(E, *y.shape)
        try:
            per = F.cross_entropy(pred.reshape(-1, C), yy.reshape(-1), reduction="none")
        except (IndexError, RuntimeError) as exc:  # labels out of range
            raise ParameterError(
                f"The 'y' parameter of member_losses must hold class labels in [0, {C - 1}] "
                f"(the models have {C} outputs): {exc}"
            ) from exc
        return per.reshape(E, -1).mean(1)
    if tuple(y.shape) not in (tuple(pred.shape), tuple(pred.shape[1:])):
        raise ParameterError(
            f"Targets of shape {tuple(y.shape)} do not match ensemble predictions {tuple(pred.shape)}: "
            f"the 'y' parameter of member_losses must have shape {tuple(pred.shape[1:])} (shared) "
            f"or {tuple(pred.shape)} (per member)."
        )
    yy = y if y.ndim == pred.ndim else y.unsqueeze(0).expand_as(pred)
    if loss == "mse":
        per = (pred - yy) ** 2
    else:
        per = F.binary_cross_entropy_with_logits(pred, yy, reduction="none")
    return per.reshape(E, -1).mean(1)


@dataclass
class EnsembleResult:
    """Outcome of :func:`train_ensemble`.

    ``losses[r, e]`` is member ``e``'s training loss recorded at step ``loss_steps[r]``, as
    :class:`specbias.training.LossRecorder` records it in :func:`specbias.train`: the initial loss
    at step 0, then at step ``s`` the loss of the forward pass of step ``s`` (parameters after
    ``s - 1`` updates). ``validation[name]`` holds the same for other data.
    A member whose loss diverged -- turned non-finite, or stayed above ``1e6`` times its
    reference loss for 2 consecutive steps, the rule of :func:`specbias.train`
    (:class:`specbias.training.DivergenceMonitor`) -- is flagged in ``diverged`` (its message in
    ``messages``), frozen from then on, and its later losses are NaN; the others go on.
    ``diverged_at[e]`` is the step at which member ``e`` diverged (``-1`` if it did not) and
    ``divergence_reason[e]`` what its loss was (``""`` if it did not diverge);
    :func:`specbias.training.divergence_entries` gives ``{"member e": message}``.
    """

    model: EnsembleModel
    steps_done: int
    final_loss: np.ndarray
    loss_steps: np.ndarray
    losses: np.ndarray
    validation: dict[str, np.ndarray] = field(default_factory=dict)
    diverged: np.ndarray | None = None
    messages: list[str] = field(default_factory=list)
    records: dict[str, Any] = field(default_factory=dict)
    diverged_at: np.ndarray | None = None
    divergence_reason: list[str] = field(default_factory=list)

    def members(self) -> list[nn.Module]:
        """The trained members as standalone modules."""
        return self.model.members()


def train_ensemble(
    models: Sequence[nn.Module] | EnsembleModel,
    data: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    *,
    optimizer: str | Callable = "adam",
    lr: float = 1e-3,
    loss: str | Callable = "mse",
    callbacks: Sequence[Callback] = (),
    record_every: int = 1,
    validation: dict[str, tuple] | None = None,
    method: str = "auto",
    optimizer_kwargs: dict | None = None,
    progress: bool = True,
    desc: str = "ensemble",
) -> EnsembleResult:
    """Train ``E`` copies at once on full-batch ``data``; each as if trained alone (docs/theory.md section 5).

    Minimizes ``sum_e L_e(theta_e)`` with one element-wise optimizer over the stacked parameters,
    so each member follows exactly the trajectory :func:`specbias.train` would give it (same
    optimizer, learning rate and data) up to float rounding.

    Parameters
    ----------
    models : sequence of nn.Module or EnsembleModel
        Copies of one architecture (they are not modified; the result holds the trained copies).
    data : (X, y)
        ``X`` shared (``(N, d)``) or per member (``(E, N, d)``); ``y`` shared or per member
        (leading axis ``E``), e.g. one target per member.
    steps : int
        Number of optimizer steps.
    optimizer : ``"adam"``, ``"adamw"``, ``"sgd"`` or a callable ``params -> Optimizer``
        Must be element-wise for members to be independent (not LBFGS). Adam and AdamW use
        torch's fused implementation by default (same update, one pass over memory; it rounds
        differently from the default implementation in the last bit):
        ``optimizer_kwargs={"fused": False}`` restores torch's default.
    lr : float, default 1e-3
        Learning rate (positive).
    optimizer_kwargs : dict, optional
        Passed to the optimizer (``betas``, ``weight_decay``, ``momentum``, ``fused``, ...).
    loss : ``"mse"``, ``"bce_logits"``, ``"cross_entropy"`` or callable ``(pred, y) -> (E,)``
        The training loss, per member.
    callbacks : sequence of Callback
        They see ``state.model`` = the :class:`EnsembleModel` (outputs ``(E, ...)``) and
        ``state.loss`` = per-member losses (numpy ``(E,)``); see :mod:`specbias.callbacks`.
    record_every : int
        Training (and validation) losses are recorded at step 0 and every ``record_every`` steps.
    validation : dict name -> (X, y), optional
        Per-member losses on other data, recorded with the training loss.
    method : {"auto", "bmm", "vmap"}
        See :class:`EnsembleModel`.
    progress : bool, default True
        Show a progress bar.
    desc : str, default "ensemble"
        Label of the progress bar.

    Returns
    -------
    EnsembleResult
        The trained :class:`EnsembleModel`, per-member losses (training and validation), the
        callbacks' records and per-member divergence flags.

    Examples
    --------
    >>> import torch
    >>> from specbias.nn import MLP
    >>> X = torch.linspace(0, 1, 20)[:, None]
    >>> Y = torch.stack([torch.sin(k * X[:, 0]) for k in (2.0, 9.0)])  # one target per member
    >>> res = train_ensemble([MLP(1, 8, 2), MLP(1, 8, 2)], (X, Y), 5, progress=False)
    >>> res.losses.shape, bool(res.diverged.any())
    ((6, 2), False)
    """
    steps = check_scalar(steps, "steps", kind=int, owner="train_ensemble", min_val=0)
    record_every = check_scalar(record_every, "record_every", kind=int, owner="train_ensemble",
                                min_val=1)
    lr = check_scalar(lr, "lr", owner="train_ensemble", min_val=0.0, include_min=False)
    if not (isinstance(data, tuple | list) and len(data) == 2
            and all(isinstance(t, torch.Tensor) for t in data)):
        raise ParameterError("The 'data' parameter of train_ensemble must be a pair (X, y) of tensors.")
    _check_data(data[0], data[1], "train_ensemble")
    callbacks = _check_callbacks(callbacks, "train_ensemble")
    if isinstance(models, EnsembleModel):
        ens = copy.deepcopy(models)
        object.__setattr__(ens, "_template", copy.deepcopy(models._template))
    else:
        ens = EnsembleModel(models, method=method)
    E = ens.ensemble_size
    X, y = data
    validation = _check_validation(validation, "train_ensemble")
    if callable(optimizer) and not isinstance(optimizer, str):
        opt = optimizer([p for p in ens.parameters() if p.requires_grad])
        if not isinstance(opt, torch.optim.Optimizer):
            raise ParameterError(
                "The 'optimizer' parameter of train_ensemble, when callable, must return a "
                f"torch.optim.Optimizer. Got {type(opt).__name__} instead."
            )
    else:
        check_choice(optimizer, "optimizer", ["adam", "adamw", "sgd"], owner="train_ensemble")
        kwargs = dict(optimizer_kwargs or {})
        if optimizer in ("adam", "adamw"):
            # one pass over each stacked tensor instead of one per arithmetic step: the stacked
            # tensors are E times larger than a member's and would fall out of cache
            kwargs.setdefault("fused", True)
        opt = make_optimizer([p for p in ens.parameters() if p.requires_grad], optimizer, lr,
                             **kwargs)

    def initial():
        try:
            pred0 = ens(X)
            init = member_losses(pred0, y, loss).double().numpy()
        except SpecbiasError:
            raise
        except (RuntimeError, IndexError) as exc:
            raise ParameterError(
                f"The 'data' parameter of train_ensemble does not fit the models: evaluating them "
                f"on X of shape {tuple(X.shape)} and y of shape {tuple(y.shape)} failed: {exc}"
            ) from exc
        try:  # the loss of outputs all zero: the floor of the divergence reference
            zero = member_losses(torch.zeros_like(pred0), y, loss).double().numpy()
        except Exception:  # a custom loss may refuse zeros; the initial loss is then the reference
            zero = None
        return init, zero

    params = ens.stacked_parameters()
    frozen: dict[int, dict[str, torch.Tensor]] = {}

    def step(i):
        opt.zero_grad(set_to_none=True)
        per = member_losses(ens(X), y, loss)

        def update(active):
            for e in np.flatnonzero(~active):  # newly diverged: keep its parameters as they are
                if int(e) not in frozen:
                    frozen[int(e)] = {n: p.detach()[e].clone() for n, p in params.items()}
            keep = torch.as_tensor(active)
            total = torch.where(keep, per, torch.zeros_like(per)).sum()
            total.backward()
            if not active.all():
                for p in params.values():
                    if p.grad is not None:
                        p.grad[~keep] = 0.0
            opt.step()
            if frozen:
                with torch.no_grad():
                    for e, saved in frozen.items():
                        for n, p in params.items():
                            p[e] = saved[n]

        return per.detach().double().numpy(), update

    rec = _LossRecord(record_every, validation, ens, loss)
    state = TrainState(model=ens, optimizer=opt, step=0, loss=None)
    def set_frozen(saved):
        frozen.clear()
        frozen.update(saved)

    run = run_loop(state, steps, step, initial, callbacks=callbacks, hooks=[rec],
                   progress=progress, desc=desc, trainer_state=(lambda: dict(frozen), set_frozen))
    final = np.asarray(state.loss, dtype=np.float64)
    if final.shape != (E,):  # no step was taken
        final = np.asarray(run.initial_loss, dtype=np.float64)
    reasons = [str(r) for r in run.reasons]
    messages = [divergence_message(int(run.diverged_at[e]), reasons[e], member=e)
                for e in divergence_order(run.diverged, run.diverged_at)]
    return EnsembleResult(
        model=ens, steps_done=state.step, final_loss=final, loss_steps=np.asarray(rec.steps),
        losses=np.asarray(rec.losses),
        validation={k: np.asarray(v) for k, v in rec.validation_losses.items()},
        diverged=run.diverged, messages=messages, records=run.records,
        diverged_at=run.diverged_at, divergence_reason=reasons,
    )


class _LossRecord(Callback):
    """Training (and validation) losses of every member at step 0 and every ``every`` steps,
    NaN for diverged members (:func:`train_ensemble`'s ``losses`` and ``validation``)."""

    name = "ensemble_losses"

    def __init__(self, every, validation, model, loss):
        super().__init__(every)
        self.validation, self.model, self.loss = validation, model, loss
        self.steps: list[int] = []
        self.losses: list[np.ndarray] = []
        self.validation_losses: dict[str, list[np.ndarray]] = {k: [] for k in validation}

    def _log(self, state):
        self.steps.append(state.step)
        self.losses.append(np.where(state.diverged, np.nan, state.loss))
        if self.validation:
            with torch.no_grad():
                for key, (Xv, yv) in self.validation.items():
                    v = member_losses(self.model(Xv), yv, self.loss).double().numpy()
                    self.validation_losses[key].append(np.where(state.diverged, np.nan, v))

    def on_train_begin(self, state):
        self._log(state)

    def on_step_end(self, state):
        if self.due(state.step):
            self._log(state)

