"""Training in the kernel regime, the adaptive regime, and between them (docs/theory.md sections 1 and 4).

A shallow network ``f(x) = sum_k c_k act(s_k (theta_k . x - gamma_k))`` (:class:`ShallowNet`)
can be trained

* in the **kernel regime**: only the output weights ``c`` move; the model is linear in ``c``
  with the fixed feature matrix ``A[n, k] = act(s_k (theta_k . x_n - gamma_k))`` (docs/theory.md section 1);
* in the **adaptive regime**: all of ``(c, theta, gamma, s)`` move, so the zero-planes
  ``theta_k . x = gamma_k`` adapt to the data (docs/theory.md section 4);
* with a **switch** from adaptive to kernel after ``E`` epochs (Radon-spline paper, Exp. 4): the
  zero-planes are frozen at step ``switch_step`` and only ``c`` trains afterwards;
* anywhere **in between**, with per-parameter-group learning rates: the zero-plane parameters
  get ``zero_plane_lr_ratio`` times the learning rate of ``c`` (layer-wise learning rates move a
  network between lazy and rich learning, Kunin et al., "Get rich quick", 2024). Ratio 0 is the
  kernel regime, ratio 1 plain adaptive training, larger ratios are "richer".

:func:`train_kernel_regime` trains only ``c`` with full-batch GD, Nesterov or Adam until a target
training MSE (Radon-spline paper, Exp. 1); like :func:`specbias.train` it runs on the engine of
:func:`specbias.training.run_loop`.

>>> import torch
>>> from specbias.regimes import shallow_net, train_regime
>>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(0)); y = X[:, 0].sin()
>>> net = shallow_net(2, 16, "relu", generator=torch.Generator().manual_seed(1))
>>> before = net.gamma.detach().clone()
>>> res = train_regime(net, (X, y), 40, regime="switch", switch_step=10, lr=0.05,
...                    progress=False)
>>> res.records["kernel_switch"]["step"], bool(net.gamma.requires_grad)
(10, False)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import cast

import torch

from ._validation import ParameterError, check_choice, check_scalar
from .nn import ShallowNet, check_model_size
from .training import (
    Callback,
    TrainResult,
    TrainState,
    _check_callbacks,
    divergence_message,
    make_optimizer,
    run_loop,
    train,
)

__all__ = [
    "REGIMES",
    "shallow_net",
    "steps_per_epoch",
    "regime_param_groups",
    "make_regime_optimizer",
    "KernelSwitch",
    "ClassificationRecorder",
    "train_regime",
    "KERNEL_OPTIMIZERS",
    "KernelRegimeResult",
    "train_kernel_regime",
]

REGIMES = ("adaptive", "kernel", "switch")
_OUTPUT_NAMES = ("c", "v")


def shallow_net(in_dim: int, width: int, activation="relu", *, out_dim: int = 1,
                generator: torch.Generator | None = None, **kwargs) -> ShallowNet:
    """A :class:`ShallowNet`, with ``out_dim`` outputs when ``out_dim > 1``.

    ``f(x) = sum_k c_k act(s_k (theta_k . x - gamma_k))`` with ``c_k`` in ``R^out_dim``
    (docs/theory.md section 1): ``c`` becomes a ``(width, out_dim)`` matrix (the forward pass ``h @ c`` is
    unchanged), initialised like ``ShallowNet``'s ``c_init`` (``normal``: std ``1/sqrt(width)``;
    ``zeros``). The output has shape ``(N,)`` for ``out_dim == 1`` and ``(N, out_dim)`` otherwise.
    Other keyword arguments go to :class:`ShallowNet`.

    >>> import torch
    >>> net = shallow_net(784, 32, "relu", out_dim=10, generator=torch.Generator().manual_seed(0))
    >>> tuple(net(torch.rand(5, 784)).shape), tuple(net.c.shape)
    ((5, 10), (32, 10))
    """
    out_dim = check_scalar(out_dim, "out_dim", kind=int, owner="shallow_net", min_val=1)
    dtype = kwargs.get("dtype", torch.float32)
    if (out_dim > 1 and isinstance(dtype, torch.dtype) and dtype.is_floating_point
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                    for v in (in_dim, width))):  # else ShallowNet reports the bad argument
        check_model_size("shallow_net", width * (in_dim + 2 + out_dim), dtype,
                         {"in_dim": in_dim, "width": width, "out_dim": out_dim})
    net = ShallowNet(in_dim, width, activation, generator=generator, **kwargs)
    if out_dim > 1:
        name = "c" if net.parameterization == "radon" else "v"
        old = getattr(net, name)
        if kwargs.get("c_init", "normal") == "zeros":
            new = torch.zeros(net.width, out_dim, dtype=old.dtype)
        else:
            new = torch.randn(net.width, out_dim, generator=generator, dtype=old.dtype)
            new /= math.sqrt(net.width)
        setattr(net, name, torch.nn.Parameter(new))
    # Module.__setattr__ is annotated for tensors and modules only, but stores any value
    net.out_dim = out_dim  # type: ignore[assignment]
    return net


def steps_per_epoch(n: int, batch_size: int | None) -> int:
    """Optimizer steps in one pass of :func:`specbias.train` over ``n`` samples: ``n // batch_size``
    (full batch: 1).

    >>> steps_per_epoch(4000, 256), steps_per_epoch(10, None)
    (15, 1)
    """
    n = check_scalar(n, "n", kind=int, owner="steps_per_epoch", min_val=1)
    if batch_size is None:
        return 1
    batch_size = check_scalar(batch_size, "batch_size", kind=int, owner="steps_per_epoch", min_val=1)
    return 1 if batch_size >= n else n // batch_size


def _check_net(model, owner: str):
    for attr in ("zero_plane_parameters", "output_parameters", "freeze_zero_planes"):
        if not hasattr(model, attr):
            raise ParameterError(
                f"The 'model' parameter of {owner} must be a ShallowNet (with zero-plane and "
                f"output parameter groups). Got {type(model).__name__} instead."
            )


def _group_key(name: str) -> str:
    return "theta" if name == "theta_raw" else name


def regime_param_groups(model, lr: float, *, zero_plane_lr_ratio: float = 1.0,
                        lr_multipliers: Mapping[str, float] | None = None) -> list[dict]:
    """Per-parameter-group learning rates for a :class:`ShallowNet` (docs/theory.md section 1).

    One torch parameter group per tensor: the output weights (``c``, or ``v``) get ``lr``; each
    zero-plane parameter (``theta``, ``gamma``, ``s`` in the radon parameterization; ``w``, ``b``
    in the standard one) gets ``lr * zero_plane_lr_ratio * lr_multipliers.get(name, 1)``.
    ``lr_multipliers`` may also scale the output weights (key ``"c"`` / ``"v"``). Groups with
    learning rate 0 are left out, so ``zero_plane_lr_ratio = 0`` is exactly the kernel regime.

    >>> import torch
    >>> net = ShallowNet(2, 4, generator=torch.Generator().manual_seed(0))
    >>> [(g["name"], g["lr"]) for g in regime_param_groups(net, 0.1, zero_plane_lr_ratio=0.5,
    ...                                                      lr_multipliers={"s": 0})]
    [('c', 0.1), ('theta', 0.05), ('gamma', 0.05)]
    """
    _check_net(model, "regime_param_groups")
    lr = check_scalar(lr, "lr", owner="regime_param_groups", min_val=0.0, include_min=False)
    ratio = check_scalar(zero_plane_lr_ratio, "zero_plane_lr_ratio", owner="regime_param_groups",
                         min_val=0.0)
    if lr_multipliers is not None and not isinstance(lr_multipliers, Mapping):
        raise ParameterError(
            "The 'lr_multipliers' parameter of regime_param_groups must be a dict name -> float. "
            f"Got {type(lr_multipliers).__name__} instead."
        )
    mult = dict(lr_multipliers or {})
    names = {id(p): _group_key(n) for n, p in model.named_parameters()}
    zp = {id(p) for p in model.zero_plane_parameters()}
    known = set(names.values())
    for key, val in mult.items():
        if key not in known:
            raise ParameterError(
                f"The 'lr_multipliers' parameter of regime_param_groups has an unknown key {key!r}; known: {sorted(known)}."
            )
        check_scalar(val, f"lr_multipliers[{key!r}]", owner="regime_param_groups", min_val=0.0)
    groups = []
    for p in model.output_parameters() + model.zero_plane_parameters():
        key = names[id(p)]
        g_lr = lr * mult.get(key, 1.0) * (ratio if id(p) in zp else 1.0)
        if g_lr > 0:
            groups.append({"params": [p], "lr": g_lr, "name": key})
    return groups


def make_regime_optimizer(model, regime: str = "adaptive", *, lr: float = 0.1,
                          optimizer: str = "sgd", zero_plane_lr_ratio: float = 1.0,
                          lr_multipliers: Mapping[str, float] | None = None,
                          **optimizer_kwargs) -> torch.optim.Optimizer:
    """A torch optimizer (``sgd``/``adam``/``adamw``) for a regime (docs/theory.md sections 1, 4).

    ``regime="kernel"`` freezes the zero-planes (``model.freeze_zero_planes()``) and optimizes
    only ``c``; ``"adaptive"`` and ``"switch"`` optimize every group of
    :func:`regime_param_groups` (unfreezing the zero-planes first when the ratio is positive).

    >>> import torch
    >>> net = ShallowNet(2, 4, generator=torch.Generator().manual_seed(0))
    >>> opt = make_regime_optimizer(net, "kernel", lr=0.1)
    >>> [g["name"] for g in opt.param_groups], net.gamma.requires_grad
    (['c'], False)
    """
    _check_net(model, "make_regime_optimizer")
    check_choice(regime, "regime", list(REGIMES), owner="make_regime_optimizer")
    if regime == "kernel":
        zero_plane_lr_ratio = 0.0
    groups = regime_param_groups(model, lr, zero_plane_lr_ratio=zero_plane_lr_ratio,
                                 lr_multipliers=lr_multipliers)
    in_groups = {id(p) for g in groups for p in g["params"]}
    for p in model.parameters():  # what is not optimized must not collect gradients
        p.requires_grad_(id(p) in in_groups)
    if not groups:
        raise ParameterError("make_regime_optimizer: every parameter group has learning rate 0.")
    return make_optimizer(groups, optimizer, lr, **optimizer_kwargs)


class KernelSwitch(Callback):
    """Switch from the adaptive to the kernel regime after ``at_step`` optimizer steps
    (Radon-spline paper, Exp. 4; docs/theory.md section 4).

    At the end of step ``at_step`` it freezes ``theta, gamma, s``
    (``model.freeze_zero_planes()``): from then on their gradients are ``None`` and torch
    optimizers skip them, so only ``c`` trains (and the backward pass gets cheaper). Records
    ``{"step": at_step}`` once it has switched.
    """

    name = "kernel_switch"

    def __init__(self, at_step: int):
        super().__init__(1)
        self.at_step = check_scalar(at_step, "at_step", kind=int, owner="KernelSwitch", min_val=0)

    def _switch(self, state: TrainState):
        cast(ShallowNet, state.model).freeze_zero_planes()
        for group in state.optimizer.param_groups:  # drop momentum of frozen tensors
            for p in group["params"]:
                if not p.requires_grad:
                    state.optimizer.state.pop(p, None)
        self.record = {"step": state.step}

    def on_train_begin(self, state):
        self.record = {}
        if self.at_step == 0:
            self._switch(state)

    def on_step_end(self, state):
        if state.step == self.at_step:
            self._switch(state)


class ClassificationRecorder(Callback):
    """Record cross-entropy loss and accuracy of a classifier on named data sets every
    ``every`` steps, at step 0 and at the last step (Radon-spline paper, Fig. 9 (a)-(d)).

    ``datasets`` maps a name to ``(X, labels)``; the record has ``step``, ``epoch`` and
    ``{name}_loss``, ``{name}_accuracy`` lists. Non-finite outputs give a ``nan`` loss.

    >>> import torch
    >>> net = shallow_net(4, 8, out_dim=3, generator=torch.Generator().manual_seed(0))
    >>> X, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    >>> rec = ClassificationRecorder({"train": (X, y)}, every=5)
    >>> _ = train(net, (X, y), 10, loss="cross_entropy", callbacks=[rec], progress=False)
    >>> rec.record["step"], len(rec.record["train_accuracy"])
    ([0, 5, 10], 3)
    """

    name = "eval"

    def __init__(self, datasets: Mapping[str, tuple], every: int = 1, name: str | None = None):
        super().__init__(every, name)
        if not isinstance(datasets, Mapping) or not datasets:
            raise ParameterError("The 'datasets' parameter of ClassificationRecorder must be a non-empty dict name -> (X, labels).")
        for key, pair in datasets.items():
            if not (isinstance(pair, tuple | list) and len(pair) == 2
                    and all(isinstance(t, torch.Tensor) for t in pair)):
                raise ParameterError(f"ClassificationRecorder: datasets[{key!r}] must be a pair (X, labels) of tensors.")
            X, labels = pair
            if (labels.ndim != 1 or labels.is_floating_point() or labels.is_complex()
                    or X.ndim == 0 or X.shape[0] != labels.shape[0] or labels.numel() == 0):
                raise ParameterError(
                    f"The 'datasets' parameter of ClassificationRecorder must map names to pairs "
                    f"(X, labels) with integer labels of shape (N,) and N = len(X) >= 1. Got "
                    f"datasets[{key!r}] with X of shape {tuple(X.shape)} and {labels.dtype} labels "
                    f"of shape {tuple(labels.shape)}."
                )
            if int(labels.min()) < 0:
                raise ParameterError(
                    f"The 'datasets' parameter of ClassificationRecorder: datasets[{key!r}] has "
                    f"negative labels (min {int(labels.min())})."
                )
        self.datasets = dict(datasets)
        self._last = -1

    def _log(self, state: TrainState):
        vals: dict[str, float] = {"step": state.step, "epoch": state.epoch}
        model = state.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            for key, (X, y) in self.datasets.items():
                out = model(X)
                if self._last < 0:  # the first record: check the outputs fit the labels, once
                    self._check_outputs(key, out, y)
                if torch.isfinite(out).all():
                    loss = float(torch.nn.functional.cross_entropy(out, y))
                else:
                    loss = float("nan")
                vals[f"{key}_loss"] = loss
                vals[f"{key}_accuracy"] = float((out.argmax(dim=1) == y).double().mean())
        model.train(was_training)
        self._append(**vals)
        self._last = state.step

    @staticmethod
    def _check_outputs(key, out, y):
        if out.ndim != 2 or out.shape[0] != y.shape[0]:
            raise ParameterError(
                f"ClassificationRecorder needs a classifier with outputs of shape (N, C) on "
                f"datasets[{key!r}] (N = {y.shape[0]}). Got outputs of shape {tuple(out.shape)}."
            )
        if int(y.max()) >= out.shape[1]:
            raise ParameterError(
                f"The 'datasets' parameter of ClassificationRecorder: datasets[{key!r}] has labels "
                f"up to {int(y.max())}, but the model has {out.shape[1]} outputs."
            )

    def on_train_begin(self, state):
        self.record, self._last = {}, -1
        self._log(state)

    def on_step_end(self, state):
        if state.step % self.every == 0:
            self._log(state)

    def on_train_end(self, state):
        if state.step != self._last:
            self._log(state)


def train_regime(model, data, steps: int, *, regime: str = "adaptive",
                 switch_step: int | None = None, lr: float = 0.1, optimizer: str = "sgd",
                 zero_plane_lr_ratio: float = 1.0,
                 lr_multipliers: Mapping[str, float] | None = None,
                 optimizer_kwargs: Mapping | None = None, callbacks: Sequence[Callback] = (),
                 **train_kwargs) -> TrainResult:
    """Train a :class:`ShallowNet` in a regime with :func:`specbias.train` (docs/theory.md sections 1, 4).

    The kernel regime leaves the model frozen (``requires_grad=False`` on the zero-plane
    parameters); call ``model.freeze_zero_planes(False)`` to undo.

    Parameters
    ----------
    model : ShallowNet
        The network; trained in place.
    data : (tensor, tensor)
        Inputs and targets, as for :func:`specbias.train`.
    steps : int
        Number of optimizer steps.
    regime : {"adaptive", "kernel", "switch"}
        ``switch`` trains adaptively for ``switch_step`` steps, then in the kernel regime.
    switch_step : int
        Required for ``switch`` (e.g. ``E * steps_per_epoch(n, batch_size)``).
    lr, optimizer, zero_plane_lr_ratio, lr_multipliers
        See :func:`make_regime_optimizer` and :func:`regime_param_groups`.
    optimizer_kwargs : dict
        Passed to the torch optimizer (``momentum=0.9``, ...).
    callbacks : sequence of Callback
        Passed to :func:`specbias.train`.
    **train_kwargs
        Passed to :func:`specbias.train` (``loss``, ``batch_size``, ``generator``, ...).

    Returns
    -------
    TrainResult
        What :func:`specbias.train` returns.
    """
    _check_net(model, "train_regime")
    check_choice(regime, "regime", list(REGIMES), owner="train_regime")
    steps = check_scalar(steps, "steps", kind=int, owner="train_regime", min_val=0)
    lr = check_scalar(lr, "lr", owner="train_regime", min_val=0.0, include_min=False)
    if optimizer_kwargs is not None and not isinstance(optimizer_kwargs, Mapping):
        raise ParameterError(
            "The 'optimizer_kwargs' parameter of train_regime must be a dict. "
            f"Got {type(optimizer_kwargs).__name__} instead."
        )
    if regime == "switch":
        if switch_step is None:
            raise ParameterError("The 'switch_step' parameter of train_regime is required for regime='switch'.")
        switch_step = check_scalar(switch_step, "switch_step", kind=int, owner="train_regime",
                                   min_val=0)
    elif switch_step is not None:
        raise ParameterError(f"The 'switch_step' parameter of train_regime only applies to regime='switch'. Got regime={regime!r}.")
    opt = make_regime_optimizer(model, regime, lr=lr, optimizer=optimizer,
                                zero_plane_lr_ratio=zero_plane_lr_ratio,
                                lr_multipliers=lr_multipliers, **dict(optimizer_kwargs or {}))
    cbs = list(callbacks)
    if regime == "switch":
        assert switch_step is not None  # checked above
        cbs.append(KernelSwitch(switch_step))
    return train(model, data, steps, optimizer=opt, callbacks=cbs, **train_kwargs)


#: The optimizers of :func:`train_kernel_regime`.
KERNEL_OPTIMIZERS = ["gd", "nesterov", "adam"]


class KernelRegimeResult(dict):
    """Outcome of :func:`train_kernel_regime`: the dict ``{"steps", "mse", "seconds",
    "reached", "diverged"}``, with the fields of :class:`specbias.training.TrainResult` as
    attributes (``steps_done``, ``final_loss``, ``diverged``, ``diverged_at``,
    ``divergence_reason``, ``message``, ``records``)."""

    def __init__(self, *, steps_done: int, final_loss: float, seconds: float, reached: bool,
                 diverged: bool, diverged_at: int | None, divergence_reason: str, message: str,
                 records: dict):
        super().__init__(steps=steps_done, mse=final_loss, seconds=seconds, reached=reached,
                         diverged=diverged)
        self.steps_done, self.final_loss = steps_done, final_loss
        self.diverged, self.diverged_at = diverged, diverged_at
        self.divergence_reason, self.message, self.records = divergence_reason, message, records


def train_kernel_regime(net: ShallowNet, X: torch.Tensor, y: torch.Tensor, *, optimizer: str,
                        lr: float, target_mse: float, max_steps: int,
                        cache_features: bool = True, momentum: float = 0.99,
                        callbacks: Sequence[Callback] = ()) -> KernelRegimeResult:
    """Full-batch training of the output weights only (zero-planes frozen) on the MSE loss,
    until the training MSE is ``<= target_mse`` or ``max_steps`` steps (Radon-spline paper,
    Exp. 1; docs/theory.md sections 1 and 3).

    ``optimizer``: ``"gd"`` (plain gradient descent), ``"nesterov"`` (GD with Nesterov
    momentum; both keep ``c`` in the row space of the features, so their limit is the
    minimum-norm interpolant) or ``"adam"`` (the paper's). For ``gd``/``nesterov``, ``lr`` is a
    multiple of ``1 / L`` with ``L = 2 sigma_1^2 / N`` the Lipschitz constant of the gradient;
    for ``adam`` it is Adam's learning rate. ``cache_features`` computes the frozen features
    once (the gradients are the same as through the network, which the tests check).

    Training stops when the loss diverges, by the rule of :func:`specbias.train`
    (:class:`specbias.training.DivergenceMonitor`). ``callbacks`` see every step as in
    :func:`specbias.train` (``state.loss`` is the loss before the step's update); their records
    end up in ``result.records``.

    Returns ``{"steps", "mse", "seconds", "reached", "diverged"}`` (a
    :class:`KernelRegimeResult`, which also has the divergence fields of
    :class:`specbias.training.TrainResult`); ``"mse"`` is the loss of the returned ``net.c``
    after ``"steps"`` optimizer steps.

    >>> import torch
    >>> net = ShallowNet(2, 64, c_init="zeros", generator=torch.Generator().manual_seed(0),
    ...                  dtype=torch.float64)
    >>> X = torch.rand(40, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> res = train_kernel_regime(net, X, X[:, 0] - X[:, 1], optimizer="nesterov", lr=1.0,
    ...                           target_mse=1e-3, max_steps=500)
    >>> res["reached"], res["diverged"], res.diverged_at
    (True, False, None)
    """
    callbacks = _check_callbacks(callbacks, "train_kernel_regime")
    net.freeze_zero_planes()
    params = net.output_parameters()
    N = X.shape[0]
    with torch.no_grad():
        Phi = net.features(X).detach() if cache_features else None
        feats = Phi if Phi is not None else net.features(X).detach()
        L = 2 * float(torch.linalg.matrix_norm(feats, 2)) ** 2 / N
    opt: torch.optim.Optimizer
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    elif optimizer in ("gd", "nesterov"):
        nest = optimizer == "nesterov"
        opt = torch.optim.SGD(params, lr=lr / L, momentum=momentum if nest else 0.0, nesterov=nest)
    else:
        raise ParameterError(
            f"The 'optimizer' parameter must be one of {KERNEL_OPTIMIZERS}. Got {optimizer!r}.")
    c = params[0]

    def forward():
        pred = Phi @ c if Phi is not None else net(X)
        return torch.mean((pred - y) ** 2)

    def initial():
        return float(forward()), float(torch.mean(y**2))

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = forward()

        def update(active):
            loss.backward()
            opt.step()

        return float(loss.detach()), update

    state = TrainState(model=net, optimizer=opt, step=0, loss=math.inf)
    t0 = time.perf_counter()
    run = run_loop(state, max_steps, step, initial, callbacks=callbacks,
                   stop_at=lambda v: v <= target_mse, evaluate_last=True)
    seconds = time.perf_counter() - t0
    diverged = bool(run.diverged)
    at = int(run.diverged_at) if diverged else None
    reason = str(run.reasons[()])
    return KernelRegimeResult(
        steps_done=state.step, final_loss=state.loss, seconds=seconds,
        reached=state.loss <= target_mse, diverged=diverged, diverged_at=at,
        divergence_reason=reason, message=divergence_message(at, reason) if at is not None else "",
        records=run.records)
