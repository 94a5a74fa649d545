"""The empirical neural tangent kernel and linearized gradient descent (docs/theory.md section 8).

For a network ``f(x; theta)`` with scalar output, the empirical NTK is

    Theta(x, x') = <df(x)/dtheta, df(x')/dtheta>      (sum over every parameter requiring grad)

and, near its initialization, the network trained by full-batch GD on the mean squared error
behaves like its linearization ``f0 + J (theta - theta0)``, whose outputs on the training
inputs follow ``f_{t+1} = f_t - lr (2/N) Theta (f_t - y)``: the GD shrinkage mask of
docs/theory.md section 2 applied to the eigenvalues of ``Theta`` with ``lr_eff = 2 lr / N``.

* :func:`empirical_ntk`: ``Theta`` of any ``torch.nn.Module`` (``torch.func``, chunked over inputs
  so that only bounded Jacobian blocks exist at a time);
* :func:`ntk_matvec`, :func:`ntk_eigs`: ``Theta v`` without forming ``Theta`` (``jvp``/``vjp``)
  and its top eigenpairs by Lanczos;
* :class:`LinearizedGD`: the linearized training run, in closed form for any number of steps;
* :func:`kernel_drift`: how much the kernel moved between two states of a network.

>>> import torch
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> net = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1))
>>> x = torch.linspace(-1, 1, 16).unsqueeze(1)
>>> K = empirical_ntk(net, x)
>>> K.shape, bool(torch.allclose(K, K.T))
(torch.Size([16, 16]), True)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from ._validation import (
    DivergenceError,
    ParameterError,
    check_array,
    check_choice,
    check_scalar,
)
from .shrinkage import SpectralSolver, check_finite_tensor, flow_mask, gd_mask

__all__ = [
    "empirical_ntk",
    "ntk_matvec",
    "ntk_eigs",
    "kernel_drift",
    "LinearizedGD",
]

# entries of one Jacobian block (points x parameters) when ``chunk`` is not given: 2^24
# entries are 128 MiB in float64, 64 MiB in float32
_BLOCK_ENTRIES = 2**24
_EPS = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------- the model as a function


class _Functional:
    """A module as a pure function of its trainable parameters (checked once)."""

    def __init__(self, model: Any, owner: str, name: str = "model"):
        if not isinstance(model, torch.nn.Module):
            raise ParameterError(
                f"The '{name}' parameter of {owner} must be a torch.nn.Module. "
                f"Got {type(model).__name__} instead."
            )
        self.model = model
        self.owner = owner
        self.name = name
        self.params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
        if not self.params:
            raise ParameterError(
                f"The '{name}' parameter of {owner} has no parameter with requires_grad=True; "
                "its tangent kernel is zero."
            )
        first = next(iter(self.params.values()))
        self.dtype = first.dtype
        self.device = first.device
        self.n_params = sum(p.numel() for p in self.params.values())

    def tensor(self, x: Any, name: str) -> torch.Tensor:
        """``x`` as a tensor in the model's dtype and device, at least 1-D, finite, non-empty."""
        owner = self.owner
        if isinstance(x, torch.Tensor):
            if x.is_complex():
                raise ParameterError(
                    f"The '{name}' parameter of {owner} must be real. Got a complex tensor."
                )
            t = x.detach().to(dtype=self.dtype, device=self.device)
        else:
            arr = check_array(x, name, owner=owner, finite=False)
            t = torch.as_tensor(arr, dtype=self.dtype, device=self.device)
        if t.ndim == 0 or t.shape[0] == 0:
            raise ParameterError(
                f"The '{name}' parameter of {owner} must hold at least one input (first "
                f"dimension). Got shape {tuple(t.shape)} instead."
            )
        check_finite_tensor(t, name, owner)
        return t

    def outputs(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """``f(x)`` as a detached ``(N,)`` tensor; refuses models without scalar output."""
        with torch.no_grad():
            try:
                out = self.model(x)
            except Exception as exc:  # shape mismatch between x and the first layer, ...
                raise ParameterError(
                    f"The '{self.name}' parameter of {self.owner} failed on '{name}' of shape "
                    f"{tuple(x.shape)}: {exc}"
                ) from exc
        n = x.shape[0]
        if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n,), (n, 1)):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ParameterError(
                f"The '{self.name}' parameter of {self.owner} must have a scalar output, shape "
                f"({n},) or ({n}, 1) for {n} inputs. Got {shape} instead."
            )
        return out.reshape(n)

    def batch_fn(self) -> Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]:
        model = self.model

        def f(p: dict[str, torch.Tensor], xb: torch.Tensor) -> torch.Tensor:
            return functional_call(model, p, (xb,)).reshape(xb.shape[0])

        return f

    def jacobian(self, xb: torch.Tensor, names: list[str] | None = None) -> torch.Tensor:
        """The ``(len(xb), P)`` Jacobian of the outputs with respect to the parameters
        ``names`` (default: all), one row per input (vmap of jacrev)."""
        model = self.model
        keys = list(self.params) if names is None else names
        sub = {k: self.params[k] for k in keys}

        def single(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
            return functional_call(model, p, (xi.unsqueeze(0),)).reshape(())

        jac = vmap(jacrev(single), in_dims=(None, 0))(sub, xb)
        return torch.cat([jac[k].reshape(xb.shape[0], -1) for k in keys], dim=1)

    def block(self, xb: torch.Tensor) -> _Block:
        """What the kernel needs of inputs ``xb``: the Linear layers' inputs and output
        gradients (structured part) and the Jacobian of every other parameter."""
        feats = self._linear_features(xb) if self.linear else []
        J = self.jacobian(xb, self.rest) if self.rest else None
        return _Block(feats, J)

    def _linear_features(
        self, xb: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor, bool, bool]]:
        seen: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {k: [] for k in self.linear}
        handles = []
        for prefix, mod in self.linear.items():

            def hook(m, inp, out, prefix=prefix):
                seen[prefix].append((inp[0], out))

            handles.append(mod.register_forward_hook(hook))
        try:
            with torch.enable_grad():
                out = self.model(xb)
                calls = [seen[k] for k in self.linear]
                if any(len(c) != 1 for c in calls) or any(
                    c[0][0].ndim != 2 or c[0][0].shape[0] != xb.shape[0] for c in calls
                ):
                    raise _NotStructured
                outs = [c[0][1] for c in calls]
                grads = torch.autograd.grad(out.sum(), outs, allow_unused=True)
        finally:
            for h in handles:
                h.remove()
        feats = []
        for (w_on, b_on), c, g in zip(self.linear_flags.values(), calls, grads, strict=True):
            a = c[0][0].detach()
            d = torch.zeros_like(c[0][1]) if g is None else g.detach()
            feats.append((a, d, w_on, b_on))
        return feats

    def chunk(self, chunk: Any, n: int) -> int:
        if chunk is None:
            p_rest = sum(self.params[k].numel() for k in self.rest)
            return max(1, min(n, 2048, _BLOCK_ENTRIES // max(1, p_rest)))
        return check_scalar(chunk, "chunk", kind=int, owner=self.owner, min_val=1)

    def use_structure(self, enabled: bool, probe: torch.Tensor) -> None:
        """Split the parameters into whole ``nn.Linear`` layers (handled in closed form: the
        per-input gradient of ``W`` is ``delta a^T``) and the rest (generic Jacobian)."""
        self.linear: dict[str, torch.nn.Module] = {}
        self.linear_flags: dict[str, tuple[bool, bool]] = {}
        self.rest = list(self.params)
        if not enabled:
            return
        for prefix, mod in self.model.named_modules():
            if type(mod) is not torch.nn.Linear:
                continue
            w_on = mod.weight.requires_grad
            b_on = mod.bias is not None and mod.bias.requires_grad
            if w_on or b_on:
                self.linear[prefix] = mod
                self.linear_flags[prefix] = (w_on, b_on)
        covered = set()
        for prefix, (w_on, b_on) in self.linear_flags.items():
            pre = f"{prefix}." if prefix else ""
            if w_on:
                covered.add(pre + "weight")
            if b_on:
                covered.add(pre + "bias")
        if not covered <= set(self.params):  # shared parameters under another name
            self.linear, self.linear_flags = {}, {}
            return
        self.rest = [k for k in self.params if k not in covered]
        if self.linear:
            try:
                self._linear_features(probe)
            except _NotStructured:  # a layer used twice, or on non-flat inputs
                self.linear, self.linear_flags = {}, {}
                self.rest = list(self.params)


class _NotStructured(Exception):
    pass


class _Block:
    """Per-input kernel factors of a block of inputs (see :meth:`_Functional.block`)."""

    def __init__(self, feats, J):
        self.feats = feats
        self.J = J

    def kernel(self, other: _Block) -> torch.Tensor:
        K = None
        for (a1, d1, w_on, b_on), (a2, d2, _, _) in zip(self.feats, other.feats, strict=True):
            dd = d1 @ d2.T
            term = dd * (a1 @ a2.T) if w_on else torch.zeros_like(dd)
            if b_on:
                term = term + dd
            K = term if K is None else K + term
        if self.J is not None and other.J is not None:
            KJ = self.J @ other.J.T
            K = KJ if K is None else K + KJ
        assert K is not None
        return K


# --------------------------------------------------------------------------- the kernel


def empirical_ntk(
    model, x1, x2=None, *, chunk: int | None = None, structured: bool = True
) -> torch.Tensor:
    """The empirical NTK ``Theta[i, j] = <df(x1_i)/dtheta, df(x2_j)/dtheta>`` (docs/theory.md section 8.1).

    The gradient is over every parameter of ``model`` with ``requires_grad=True``; ``model``
    is any ``torch.nn.Module`` with scalar output (shape ``(N,)`` or ``(N, 1)`` for ``N``
    inputs). Per-input Jacobians come from ``torch.func`` (``vmap(jacrev(...))`` over
    :func:`torch.func.functional_call`), ``chunk`` inputs at a time: at most two Jacobian
    blocks of ``chunk x P`` entries exist at once (``P`` the number of parameters outside
    the Linear layers handled in closed form, see ``structured``), so the full ``N x P``
    Jacobian is never formed. The default ``chunk`` keeps a block near ``2^24`` entries
    (at most 2048 inputs). With ``x2=None`` the kernel is symmetric and only its upper block
    triangle is computed.

    Parameters
    ----------
    model : torch.nn.Module
    x1 : tensor or array_like, shape (N1, ...)
        Inputs, one per row (converted to the model's dtype and device).
    x2 : tensor or array_like, shape (N2, ...), optional
        Defaults to ``x1``.
    chunk : int, optional
        Inputs per Jacobian block.
    structured : bool
        Handle every ``torch.nn.Linear`` layer (used once per forward pass, on ``(N, d)``
        inputs) in closed form: the gradient of its weight for input ``n`` is the outer
        product ``delta_n a_n^T`` of the layer's output gradient and input, so its share of
        the kernel is ``(delta delta'^T) * (a a'^T)`` (elementwise), plus ``delta delta'^T``
        for the bias: one batched backward pass per block, no per-input weight gradients.
        Every other parameter goes through ``vmap(jacrev)``. ``False``: ``vmap(jacrev)`` for
        all parameters (the same kernel, slower).

    Returns
    -------
    torch.Tensor of shape (N1, N2), in the model's dtype and on its device.

    Notes
    -----
    Modules whose output for one input depends on the others in the batch (BatchNorm in
    training mode) have no per-input Jacobian; put them in ``eval()`` mode first. A Linear
    layer applied more than once per forward pass, or to inputs that are not ``(N, d)``, is
    detected and left to the generic path.
    """
    owner = "empirical_ntk"
    fn = _Functional(model, owner)
    a = fn.tensor(x1, "x1")
    fn.outputs(a, "x1")
    sym = x2 is None
    b = a if sym else fn.tensor(x2, "x2")
    if not sym:
        fn.outputs(b, "x2")
    fn.use_structure(structured, a[:2])
    c = fn.chunk(chunk, max(a.shape[0], b.shape[0]))
    n1, n2 = a.shape[0], b.shape[0]
    out = torch.empty((n1, n2), dtype=fn.dtype, device=fn.device)
    with torch.no_grad():
        for i in range(0, n1, c):
            Bi = fn.block(a[i : i + c])
            for j in range(i if sym else 0, n2, c):
                Bj = Bi if (sym and j == i) else fn.block(b[j : j + c])
                blk = Bi.kernel(Bj)
                out[i : i + c, j : j + c] = blk
                if sym and j != i:
                    out[j : j + c, i : i + c] = blk.T
    return out


def _matvec_fn(fn: _Functional, x: torch.Tensor, c: int):
    """``v -> J J^T v`` (``v`` of shape (N,)) by vjp then jvp, ``c`` inputs at a time."""
    f = fn.batch_fn()
    params = fn.params
    n = x.shape[0]

    def mv(v: torch.Tensor) -> torch.Tensor:
        g: dict[str, torch.Tensor] | None = None
        for i in range(0, n, c):
            xb = x[i : i + c]
            pull = vjp(lambda p, xb=xb: f(p, xb), params)[1]
            (gi,) = pull(v[i : i + c])
            g = gi if g is None else {k: g[k] + gi[k] for k in g}
        assert g is not None
        out = torch.empty(n, dtype=fn.dtype, device=fn.device)
        for i in range(0, n, c):
            xb = x[i : i + c]
            tang = jvp(lambda p, xb=xb: f(p, xb), (params,), (g,))[1]
            out[i : i + c] = tang
        return out

    return mv


def ntk_matvec(model, x, v, *, chunk: int | None = None) -> torch.Tensor:
    """``Theta v = J J^T v`` without forming ``Theta`` (docs/theory.md section 8.1).

    One vector-Jacobian product (``J^T v``, a parameter-shaped tangent) and one
    Jacobian-vector product, both over ``chunk`` inputs at a time (default: all). ``v`` has
    shape ``(N,)`` or ``(N, M)`` (``M`` products); the result has the same shape, in the
    model's dtype and on its device.

    Parameters
    ----------
    model : torch.nn.Module
        Scalar output per input.
    x : tensor or array_like, shape (N, ...)
        Inputs.
    v : tensor or array_like, shape (N,) or (N, M)
        The vector(s) to multiply.
    chunk : int, optional
        Inputs per block.

    Returns
    -------
    torch.Tensor
        ``Theta v``, the shape of ``v``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    >>> x, v = torch.randn(5, 2), torch.randn(5)
    >>> bool(torch.allclose(ntk_matvec(net, x, v), empirical_ntk(net, x) @ v, atol=1e-5))
    True
    """
    owner = "ntk_matvec"
    fn = _Functional(model, owner)
    xt = fn.tensor(x, "x")
    fn.outputs(xt, "x")
    n = xt.shape[0]
    vt = fn.tensor(v, "v")
    if vt.ndim not in (1, 2) or vt.shape[0] != n:
        raise ParameterError(
            f"The 'v' parameter of {owner} must have shape ({n},) or ({n}, M). "
            f"Got shape {tuple(vt.shape)} instead."
        )
    c = n if chunk is None else fn.chunk(chunk, n)
    mv = _matvec_fn(fn, xt, c)
    if vt.ndim == 1:
        return mv(vt)
    return torch.stack([mv(vt[:, m]) for m in range(vt.shape[1])], dim=1)


def ntk_eigs(model, x, k: int, *, chunk: int | None = None, tol: float = 0.0):
    """The ``k`` largest eigenpairs of ``Theta(x, x)`` by Lanczos (docs/theory.md section 8.1).

    :func:`scipy.sparse.linalg.eigsh` on a ``LinearOperator`` whose products are
    :func:`ntk_matvec`: memory is that of a few forward/backward passes, never ``N x N``.

    Parameters
    ----------
    model : torch.nn.Module
        Scalar output per input.
    x : tensor or array_like, shape (N, ...)
        Inputs.
    k : int
        Number of eigenpairs, ``1 <= k < N``.
    chunk : int, optional
        Inputs per block of the products.
    tol : float
        Relative accuracy of the eigenvalues passed to ``eigsh`` (0: machine precision).

    Returns
    -------
    eigenvalues : ndarray, shape (k,)
        In decreasing order (float64).
    eigenvectors : ndarray, shape (N, k)
        Orthonormal columns, matching ``eigenvalues``.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    owner = "ntk_eigs"
    fn = _Functional(model, owner)
    xt = fn.tensor(x, "x")
    fn.outputs(xt, "x")
    n = xt.shape[0]
    k = check_scalar(k, "k", kind=int, owner=owner, min_val=1, max_val=max(1, n - 1))
    if n < 2:
        raise ParameterError(f"ntk_eigs needs at least 2 inputs. Got {n}.")
    tol = check_scalar(tol, "tol", owner=owner, min_val=0.0)
    c = n if chunk is None else fn.chunk(chunk, n)
    mv = _matvec_fn(fn, xt, c)

    def matvec(v: np.ndarray) -> np.ndarray:
        vt = torch.as_tensor(np.ascontiguousarray(v).reshape(n), dtype=fn.dtype, device=fn.device)
        return mv(vt).detach().cpu().double().numpy()

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    vals, vecs = eigsh(op, k=k, which="LA", tol=tol)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def kernel_drift(model_a, model_b, x, *, chunk: int | None = None) -> float:
    """Relative change ``|Theta_b - Theta_a|_F / |Theta_a|_F`` of the NTK on ``x`` (section 8.4).

    ``model_a`` and ``model_b`` are two states of a network (e.g. a copy taken at
    initialization and the trained model). 0 for identical states; the linearized prediction
    of :class:`LinearizedGD` is trustworthy while this stays small.

    Parameters
    ----------
    model_a, model_b : torch.nn.Module
        Two states of one network (the same architecture).
    x : tensor or array_like, shape (N, ...)
        Inputs on which both kernels are computed.
    chunk : int, optional
        Passed to :func:`empirical_ntk`.

    Returns
    -------
    float
        The relative Frobenius-norm change.
    """
    Ka = empirical_ntk(_checked(model_a, "model_a"), x, chunk=chunk).double()
    Kb = empirical_ntk(_checked(model_b, "model_b"), x, chunk=chunk).double().to(Ka.device)
    if Ka.shape != Kb.shape:  # pragma: no cover - same x gives the same shape
        raise ParameterError("kernel_drift: the two models give kernels of different shapes.")
    na = float(torch.linalg.norm(Ka))
    if na == 0.0:
        raise ParameterError("The NTK of 'model_a' in kernel_drift is zero on x.")
    return float(torch.linalg.norm(Kb - Ka)) / na


def _checked(model: Any, name: str) -> Any:
    if not isinstance(model, torch.nn.Module):
        raise ParameterError(
            f"The '{name}' parameter of kernel_drift must be a torch.nn.Module. "
            f"Got {type(model).__name__} instead."
        )
    return model


# --------------------------------------------------------------------------- linearized GD


class LinearizedGD:
    """Full-batch GD on the linearized network, in closed form (docs/theory.md section 8.2).

    The convention is that of ``torch.optim.SGD(model.parameters(), lr)`` taking full-batch steps
    on ``torch.nn.functional.mse_loss(model(x).squeeze(), y)``: with ``reduction="mean"`` the
    loss is ``(1/N) sum (f - y)^2``, its gradient ``(2/N) J^T (f - y)``, and the linearized
    outputs on ``x`` follow

        f_{t+1} = f_t - lr (2/N) Theta (f_t - y).

    With ``Theta = Q diag(lambda) Q^T`` this is the GD mask of docs/theory.md section 2 on the
    singular values ``sigma = sqrt(lambda)`` with the effective step ``lr_eff = 2 lr / N``
    (``reduction="sum"``: ``lr_eff = 2 lr``):

        f_T = f_0 + Q diag(1 - (1 - lr_eff lambda)^T) Q^T (y - f_0),

    and, on other inputs through the cross-kernel ``Theta(x_test, x)``,
    ``f_T(x_test) = f_0(x_test) + Theta(x_test, x) Q diag(m / lambda) Q^T (y - f_0)``. The
    kernel is computed and diagonalized once (``O(N^3)``); every later call costs a mask and
    a matrix product, whatever the number of steps.

    The model's state is copied at construction: training it afterwards does not change the
    prediction (compare the two with :func:`kernel_drift`).

    Parameters
    ----------
    model : torch.nn.Module
        Scalar output, shape ``(N,)`` or ``(N, 1)``.
    x : tensor or array_like, shape (N, ...)
    y : tensor or array_like, shape (N,) or (N, 1)
    reduction : {"mean", "sum"}
    chunk : int, optional
        Passed to :func:`empirical_ntk`.

    Attributes
    ----------
    eigenvalues : ndarray (N,)
        Eigenvalues of ``Theta(x, x)``, decreasing (float64, negative round-off clipped to 0).
    modes : ndarray (N, N)
        The matching orthonormal eigenvectors as columns.
    max_lr : float
        GD on the linearized model diverges for ``lr >= max_lr = 2 / (c lambda_1)``, with
        ``c = 2/N`` (mean) or 2 (sum).

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    >>> x = torch.linspace(-1, 1, 20).unsqueeze(1)
    >>> lin = LinearizedGD(net, x, torch.sin(3 * x).squeeze(1))
    >>> f = lin.predict([0, 10, 100], lr=0.5 * lin.max_lr)
    >>> f.shape
    (3, 20)
    """

    def __init__(self, model, x, y, *, reduction: str = "mean", chunk: int | None = None):
        owner = "LinearizedGD"
        fn = _Functional(model, owner)
        xt = fn.tensor(x, "x")
        n = xt.shape[0]
        y_arr = y.detach().cpu().double().numpy() if isinstance(y, torch.Tensor) else y
        yv = check_array(y_arr, "y", owner=owner, ndim=(1, 2))
        if yv.shape not in ((n,), (n, 1)):
            raise ParameterError(
                f"The 'y' parameter of {owner} must have shape ({n},) or ({n}, 1), one target "
                f"per input of x. Got shape {yv.shape} instead."
            )
        check_choice(reduction, "reduction", ["mean", "sum"], owner=owner)
        f0 = fn.outputs(xt, "x")
        self.reduction = reduction
        self._scale = 2.0 / n if reduction == "mean" else 2.0
        self._model = copy.deepcopy(model)
        self._chunk = chunk
        self._x = xt
        self._y = yv.reshape(n)
        self._f0 = f0.cpu().double().numpy()
        K = empirical_ntk(self._model, xt, chunk=chunk).cpu().double().numpy()
        lam, Q = np.linalg.eigh(0.5 * (K + K.T))
        lam, Q = np.clip(lam[::-1], 0.0, None), Q[:, ::-1]
        first = np.argmax(np.abs(Q) > 1e-8 * np.abs(Q).max(axis=0), axis=0)
        sign = np.sign(Q[first, np.arange(n)])
        sign[sign == 0] = 1.0
        Q = Q * sign
        if lam[0] == 0.0:
            raise ParameterError(f"The NTK of 'model' in {owner} is zero on x: nothing trains.")
        self._lam, self._Q = lam, Q
        for arr in (self._lam, self._Q):
            arr.setflags(write=False)
        #: ``(N,)``: eigenvalues ``lambda_1 >= ... >= lambda_N`` of the NTK on ``x`` (read-only).
        self.eigenvalues: np.ndarray = lam
        #: ``(N, N)``: the kernel's eigenvectors (columns), in the order of ``eigenvalues``.
        self.modes: np.ndarray = Q
        self._c0 = Q.T @ (self._y - self._f0)  # (y - f0) in the mode basis
        self._solver: SpectralSolver | None = None

    # ---------------------------------------------------------------- properties
    @property
    def max_lr(self) -> float:
        """The stability limit ``2 / (scale lambda_1)`` (``N / lambda_1`` for mean reduction):
        linearized GD diverges for ``lr >= max_lr``."""
        return 2.0 / (self._scale * float(self._lam[0]))

    def __repr__(self) -> str:
        return (
            f"LinearizedGD(N={self._lam.size}, lambda_1={self._lam[0]:.4g}, "
            f"reduction={self.reduction!r}, max_lr={self.max_lr:.4g})"
        )

    # ---------------------------------------------------------------- helpers
    def _lr(self, lr: Any, method: str, stable: bool = True) -> float:
        owner = f"LinearizedGD.{method}"
        lr = check_scalar(lr, "lr", owner=owner, min_val=0.0, include_min=False)
        if stable and self._scale * lr * self._lam[0] >= 2.0 - 64 * _EPS:
            raise DivergenceError(
                f"The 'lr' parameter of {owner} must be below max_lr = {self.max_lr!r} "
                f"(= 2 / (lr_factor * lambda_1), lr_factor = {self._scale!r} for "
                f"reduction={self.reduction!r}): linearized GD diverges above it. "
                f"Got {lr!r} instead."
            )
        return lr

    def _mask(self, steps: Any, lr: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """``(T, m)``: the steps as an array and the mask, shape ``T.shape + (N,)``."""
        owner = f"LinearizedGD.{'flow' if kind == 'flow' else 'predict'}"
        if isinstance(steps, bool | np.bool_):
            raise ParameterError(
                f"The 'steps' parameter of {owner} must be a number or an array of numbers. "
                f"Got {steps!r} instead."
            )
        T = check_array(steps, "t" if kind == "flow" else "steps", owner=owner)
        if np.any(T < 0):
            raise ParameterError(
                f"The '{'t' if kind == 'flow' else 'steps'}' parameter of {owner} must be "
                f"non-negative. Got min {float(T.min())!r} instead."
            )
        sigma = np.sqrt(self._lam)
        lr_eff = self._scale * lr
        m = flow_mask(sigma, T, lr_eff) if kind == "flow" else gd_mask(sigma, T, lr_eff)
        return T, m

    def _outputs(self, T: np.ndarray, m: np.ndarray, lr: float, x_test: Any, owner: str):
        if x_test is None:
            return self._f0 + (m * self._c0) @ self._Q.T
        fn = _Functional(self._model, owner)
        xt = fn.tensor(x_test, "x_test")
        f0t = fn.outputs(xt, "x_test").cpu().double().numpy()
        Kt = empirical_ntk(self._model, xt, self._x, chunk=self._chunk).cpu().double().numpy()
        lam = self._lam
        pos = lam > 0
        safe = np.where(pos, lam, 1.0)
        # m / lambda -> lr_eff T as lambda -> 0 (GD and flow alike)
        w = np.where(pos, m / safe, self._scale * lr * T[..., None])
        return f0t + (w * self._c0) @ (Kt @ self._Q).T

    # ---------------------------------------------------------------- predictions
    def predict(self, steps, lr, x_test=None) -> np.ndarray:
        """Outputs after ``steps`` GD steps of size ``lr`` (docs/theory.md section 8.2).

        ``steps`` is an int or an array (all answered at once); the result has shape
        ``np.shape(steps) + (N,)`` on ``x``, or ``np.shape(steps) + (N_test,)`` on ``x_test``
        when given (through the cross-kernel ``Theta(x_test, x)``). Raises
        :class:`DivergenceError` for ``lr >= max_lr``.
        """
        lr = self._lr(lr, "predict")
        T, m = self._mask(steps, lr, "gd")
        return self._outputs(T, m, lr, x_test, "LinearizedGD.predict")

    def flow(self, t, lr, x_test=None) -> np.ndarray:
        """Gradient flow ``df/dt = -(c) Theta (f - y)`` up to ODE time ``lr * t`` (section 8.2).

        ``t`` counts steps of size ``lr`` (mask ``1 - exp(-lr_eff t lambda)``, docs/theory.md
        section 2.3), so ``flow(t, lr)`` is the small-step limit of ``predict``; any ``lr > 0``.
        """
        lr = self._lr(lr, "flow", stable=False)
        T, m = self._mask(t, lr, "flow")
        return self._outputs(T, m, lr, x_test, "LinearizedGD.flow")

    def residual(self, steps, lr) -> np.ndarray:
        """The residual ``f_T - y`` in the mode basis: ``Q^T r_T = (1 - lr_eff lambda)^T Q^T r_0``.

        Shape ``np.shape(steps) + (N,)``; entry ``i`` belongs to ``eigenvalues[i]``.
        """
        lr = self._lr(lr, "residual")
        _, m = self._mask(steps, lr, "gd")
        return -(1.0 - m) * self._c0

    def steps_for(self, k, lr):
        """Steps until mode ``k`` (1-based) is fitted to ``1 - 1/e`` (docs/theory.md section 2.4).

        ``T(k) = -1 / ln(1 - lr_eff lambda_k)``, by :meth:`SpectralSolver.steps_for` on the
        singular values ``sqrt(lambda)``; real (round up to iterate), ``inf`` where
        ``lambda_k = 0``.
        """
        lr = self._lr(lr, "steps_for")
        if self._solver is None:
            self._solver = SpectralSolver(np.diag(np.sqrt(self._lam)))
        return self._solver.steps_for(k, lr=self._scale * lr)

    # ---------------------------------------------------------------- frequencies (1-D inputs)
    def _grid(self, owner: str) -> np.ndarray:
        x = self._x.detach().cpu().double().numpy()
        if x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
            raise ParameterError(
                f"{owner} needs 1-D inputs (x of shape (N,) or (N, 1)). Got shape {x.shape}."
            )
        return x.reshape(-1)

    def mode_frequencies(self) -> np.ndarray:
        """The dominant DFT frequency of each mode, for inputs on an evenly spaced 1-D grid.

        The modes are sampled in increasing ``x``; frequency ``j`` of a real FFT is reported as
        ``j / (N dx)`` cycles per unit of ``x`` (``j`` itself for ``N`` points spaced ``1/N``).
        Returns a float array of shape ``(N,)`` matching :attr:`eigenvalues`.
        """
        owner = "LinearizedGD.mode_frequencies"
        x = self._grid(owner)
        n = x.size
        if n < 2:
            raise ParameterError(f"{owner} needs at least 2 inputs.")
        order = np.argsort(x)
        d = np.diff(x[order])
        dx = float(d.mean())
        if dx <= 0 or not np.allclose(d, dx, rtol=1e-6, atol=0.0):
            raise ParameterError(f"{owner} needs the inputs x on an evenly spaced grid.")
        spec = np.abs(np.fft.rfft(self._Q[order], axis=0))
        return np.fft.rfftfreq(n, d=dx)[np.argmax(spec, axis=0)]

    def learned_fraction(self, steps, lr, frequencies) -> np.ndarray:
        """Predicted ``1 - |r~_T(k)| / |r~_0(k)|`` of the residual ``r = f - y`` per frequency.

        ``r~(k) = sum_n r(x_n) exp(-2 pi i k x_n)``: the DFT convention of
        :class:`specbias.SpectrumTracker` (1-D inputs), so the prediction compares directly
        with a tracked run. Shape ``np.shape(steps) + (len(frequencies),)``; NaN where the
        initial residual has no component at ``k``.
        """
        owner = "LinearizedGD.learned_fraction"
        x = self._grid(owner)
        k = check_array(frequencies, "frequencies", owner=owner, ndim=1)
        lr = self._lr(lr, "learned_fraction")
        _, m = self._mask(steps, lr, "gd")
        E = np.exp(-2j * math.pi * np.outer(x, k))  # (N, F)
        r_modes = -(1.0 - m) * self._c0  # (..., N) in the mode basis
        rT = np.abs((r_modes @ self._Q.T) @ E)
        r0 = np.abs((self._f0 - self._y) @ E)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r0 > 0, 1.0 - rT / np.where(r0 > 0, r0, 1.0), np.nan)
