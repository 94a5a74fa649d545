"""Exact breakpoints and exact Fourier transforms of 1-D ReLU networks (docs/theory.md section 5, Theorem 1).

A ReLU network ``f: R -> R`` is continuous and piecewise linear. Its breakpoints are enumerated
exactly layer by layer: if the previous layer's output ``h`` is linear between the knots found so
far, each pre-activation ``z = W h + b`` is linear there too, so its zeros (where a neuron switches
on or off) are found by one linear interpolation per segment; adding them gives the knots between
which the next layer's output is linear. On ``[a, b]`` the restriction ``g = f 1_[a,b]`` has the
exact, rational Fourier transform (convention ``g^(omega) = int g(z) e^{-i omega z} dz``)

    g^(omega) = -(1/omega^2) [ sum_j D_j e^{-i omega t_j} + f'(a+) e^{-i omega a}
                               - f'(b-) e^{-i omega b}
                               + i omega (f(a) e^{-i omega a} - f(b) e^{-i omega b}) ],

with breakpoints ``t_j`` and slope jumps ``D_j = f'(t_j+) - f'(t_j-)`` (Rahaman et al., Thm. 1 in
1-D). At ``omega = 0`` it is the (exact) trapezoid integral; for ``|omega| (b - a) <= 0.5`` a
per-segment series is used instead of the formula, which would cancel there.

Models: :class:`specbias.nn.MLP` with a ReLU activation and 1-D input, any ``torch.nn.Sequential``
of ``Linear`` / ``ReLU`` layers (nested ``Sequential``, ``Identity`` allowed) with 1-D input and
1-D output, or a list of ``(W, b)`` pairs (ReLU between consecutive pairs).

>>> import numpy as np, torch
>>> from specbias.nn import MLP
>>> net = MLP(1, 16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> t = breakpoints(net, (-2.0, 2.0))
>>> bool(np.all(np.diff(t) > 0) and np.all((t > -2) & (t < 2)))
True
>>> z = np.linspace(-2, 2, 200_001)
>>> fz = net(torch.tensor(z)).detach().numpy()
>>> F = relu_net_fourier(net, [0.0, 3.0], (-2.0, 2.0))
>>> num = [np.trapezoid(fz, z), np.trapezoid(fz * np.exp(-3j * z), z)]
>>> bool(np.allclose(F, num, rtol=1e-6, atol=1e-9))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import ParameterError, check_array, check_scalar

__all__ = ["breakpoints", "relu_net_fourier", "linear_pieces", "LinearPieces"]

_SMALL = 0.5  # |omega| (b - a) below which the segment series is used
_SERIES_TERMS = 24


def _to_numpy(t) -> np.ndarray:
    try:
        import torch

        if isinstance(t, torch.Tensor):
            return t.detach().cpu().double().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(t, dtype=np.float64)


def _is_relu(act) -> bool:
    name = getattr(act, "name", None)
    if name == "relu":
        return True
    try:
        import torch

        if isinstance(act, torch.nn.ReLU):
            return True
        return act in (torch.relu, torch.nn.functional.relu)
    except ImportError:  # pragma: no cover
        return False


def _ops(model, owner: str) -> list[tuple]:
    """The network as a list of ("linear", W, b) / ("relu",) operations, in float64."""
    import torch
    from torch import nn

    from .nn import MLP

    if isinstance(model, MLP):
        if not _is_relu(model.act):
            name = getattr(model.act, "name", type(model.act).__name__)
            raise ParameterError(
                f"The 'model' parameter of {owner} must be a ReLU network. Got an MLP with "
                f"activation {name!r} instead."
            )
        ops: list[tuple] = []
        for i, lin in enumerate(model.layers):
            if i:
                ops.append(("relu",))
            ops.append(("linear", _to_numpy(lin.weight), _to_numpy(lin.bias)))
        return ops
    if isinstance(model, nn.Sequential):
        ops = []

        def walk(seq):
            for m in seq:
                if isinstance(m, nn.Sequential):
                    walk(m)
                elif isinstance(m, nn.Linear):
                    b = _to_numpy(m.bias) if m.bias is not None else np.zeros(m.out_features)
                    ops.append(("linear", _to_numpy(m.weight), b))
                elif isinstance(m, nn.ReLU):
                    ops.append(("relu",))
                elif isinstance(m, nn.Identity):
                    continue
                else:
                    raise ParameterError(
                        f"The 'model' parameter of {owner} must hold only Linear and ReLU layers. "
                        f"Got a {type(m).__name__} layer instead."
                    )

        walk(model)
        return ops
    if isinstance(model, list | tuple) and model and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in model
    ):
        ops = []
        for i, (W, b) in enumerate(model):
            if i:
                ops.append(("relu",))
            try:
                W, b = _to_numpy(W), _to_numpy(b)
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"The 'model' parameter of {owner} must hold (W, b) pairs of numeric arrays. "
                    f"Got a pair of {type(W).__name__} and {type(b).__name__} at position {i} "
                    "instead."
                ) from exc
            if W.ndim == 1:
                W = W[:, None] if i == 0 else W[None, :]
            ops.append(("linear", W, b.reshape(-1)))
        return ops
    if isinstance(model, torch.nn.Module):
        raise ParameterError(
            f"The 'model' parameter of {owner} must be a specbias MLP, an nn.Sequential of "
            f"Linear/ReLU layers or a list of (W, b) pairs. Got {type(model).__name__} instead."
        )
    raise ParameterError(
        f"The 'model' parameter of {owner} must be a ReLU network or a list of (W, b) pairs. "
        f"Got {type(model).__name__} instead."
    )


def _check_ops(ops, owner):
    if not any(op[0] == "linear" for op in ops):
        raise ParameterError(f"The 'model' parameter of {owner} has no Linear layer.")
    width = 1
    for op in ops:
        if op[0] != "linear":
            continue
        W, b = op[1], op[2]
        if W.ndim != 2 or b.shape != (W.shape[0],) or W.shape[1] != width:
            raise ParameterError(
                f"The 'model' parameter of {owner} must map 1-D inputs to 1-D outputs through "
                f"matching layers. Got a layer of weight shape {W.shape} after width {width}."
            )
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ParameterError(f"The 'model' parameter of {owner} has non-finite weights.")
        width = W.shape[0]
    if width != 1:
        raise ParameterError(
            f"The 'model' parameter of {owner} must have a single output. Got {width} outputs."
        )


def _check_interval(interval, owner) -> tuple[float, float]:
    if not (isinstance(interval, list | tuple | np.ndarray) and len(interval) == 2):
        raise ParameterError(
            f"The 'interval' parameter of {owner} must be a pair (a, b) with a < b. "
            f"Got {interval!r} instead."
        )
    a = check_scalar(interval[0], "interval[0]", owner=owner)
    b = check_scalar(interval[1], "interval[1]", owner=owner)
    if not a < b:
        raise ParameterError(
            f"The 'interval' parameter of {owner} must be a pair (a, b) with a < b. "
            f"Got ({a!r}, {b!r}) instead."
        )
    return a, b


@dataclass
class LinearPieces:
    """A continuous piecewise-linear function on ``[knots[0], knots[-1]]``.

    ``knots`` are sorted and include both ends; ``values`` are ``f(knots)``; ``f`` is linear
    between consecutive knots. ``slopes[j]`` is the slope on ``[knots[j], knots[j+1]]`` and
    ``jumps[j] = slopes[j+1] - slopes[j]`` is the slope jump ``D_j`` at the interior knot
    ``knots[j+1]``.
    """

    knots: np.ndarray
    values: np.ndarray

    @property
    def slopes(self) -> np.ndarray:
        return np.diff(self.values) / np.diff(self.knots)

    @property
    def jumps(self) -> np.ndarray:
        return np.diff(self.slopes)

    @property
    def interior(self) -> np.ndarray:
        return self.knots[1:-1]

    def __call__(self, z) -> np.ndarray:
        """Evaluate by linear interpolation (exact for the network inside the interval)."""
        z = check_array(z, "z", owner="LinearPieces", finite=False, min_size=0)
        return np.interp(z, self.knots, self.values)


def _pieces(ops, a: float, b: float) -> LinearPieces:
    knots = np.array([a, b], dtype=np.float64)
    V = knots[:, None].copy()  # values of the current layer at the knots, (m, width)
    for op in ops:
        if op[0] == "linear":
            V = V @ op[1].T + op[2]
            continue
        z0, z1 = V[:-1], V[1:]
        seg, unit = np.nonzero(((z0 < 0) & (z1 > 0)) | ((z0 > 0) & (z1 < 0)))
        if seg.size:
            za, zb = z0[seg, unit], z1[seg, unit]
            t = knots[seg] + (knots[seg + 1] - knots[seg]) * (za / (za - zb))
            new = np.unique(np.concatenate([knots, np.clip(t, a, b)]))
            idx = np.clip(np.searchsorted(knots, new, side="right") - 1, 0, len(knots) - 2)
            frac = (new - knots[idx]) / (knots[idx + 1] - knots[idx])
            V = V[idx] + frac[:, None] * (V[idx + 1] - V[idx])
            knots = new
        V = np.maximum(V, 0.0)
    return LinearPieces(knots, V[:, 0].copy())


def linear_pieces(model, interval=(0.0, 1.0)) -> LinearPieces:
    """The network on ``interval`` as exact knots and values (docs/theory.md section 5).

    Every knot where some neuron's pre-activation changes sign is included, so the network equals
    the linear interpolant of ``(knots, values)`` on the whole interval.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    ...     _ = net[0].bias.copy_(torch.tensor([-0.25, 0.5]))
    >>> linear_pieces(net, (0.0, 1.0)).knots.tolist()
    [0.0, 0.25, 0.5, 1.0]
    """
    ops = _ops(model, "linear_pieces")
    _check_ops(ops, "linear_pieces")
    a, b = _check_interval(interval, "linear_pieces")
    return _pieces(ops, a, b)


def breakpoints(model, interval=(0.0, 1.0), *, kinks_only: bool = False,
                rtol: float = 1e-9) -> np.ndarray:
    """Sorted exact breakpoints ``t_j`` of a 1-D ReLU network inside ``interval`` (docs/theory.md section 5).

    Enumerated layer by layer: the zeros of each neuron's pre-activation, which is linear between
    the breakpoints of the layers below. With ``kinks_only=False`` (default) every point where a
    neuron switches is returned (the boundaries of the linear regions); ``kinks_only=True`` keeps
    only the points where the output's slope really jumps, ``|D_j| > rtol * max_j |f'|``.

    Parameters
    ----------
    model : MLP (ReLU), nn.Sequential of Linear/ReLU, or list of (W, b)
    interval : (a, b)
        Only breakpoints with ``a < t < b`` are returned.
    kinks_only : bool
    rtol : float
        Relative threshold of ``kinks_only``.

    Returns
    -------
    ndarray
        The breakpoints, increasing (float64).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0], [1.0], [2.0]]))
    ...     _ = net[0].bias.copy_(torch.tensor([-0.2, -0.6, -1.0]))
    ...     _ = net[2].weight.copy_(torch.tensor([[1.0, 0.0, -1.0]]))
    >>> breakpoints(net, (0, 1)).round(6).tolist()
    [0.2, 0.5, 0.6]
    >>> breakpoints(net, (0, 1), kinks_only=True).round(6).tolist()  # unit 2 has output weight 0
    [0.2, 0.5]
    """
    if not isinstance(kinks_only, bool | np.bool_):
        raise ParameterError(
            f"The 'kinks_only' parameter of breakpoints must be a bool. Got {kinks_only!r} instead."
        )
    rtol = check_scalar(rtol, "rtol", owner="breakpoints", min_val=0.0)
    ops = _ops(model, "breakpoints")
    _check_ops(ops, "breakpoints")
    a, b = _check_interval(interval, "breakpoints")
    p = _pieces(ops, a, b)
    t = p.interior
    if kinks_only and t.size:
        s = p.slopes
        scale = float(np.max(np.abs(s))) if s.size else 0.0
        t = t[np.abs(p.jumps) > rtol * scale]
    return t


def _phi(theta: np.ndarray, power: int) -> np.ndarray:
    """``int_0^1 tau^power e^{-i theta tau} dtau`` by its Taylor series (small ``|theta|``)."""
    out = np.zeros(theta.shape, dtype=np.complex128)
    term = np.ones(theta.shape, dtype=np.complex128)  # (-i theta)^n / n!
    for n in range(_SERIES_TERMS):
        out += term / (n + power + 1)
        term = term * (-1j * theta) / (n + 1)
    return out


def _fourier_segments(p: LinearPieces, w: np.ndarray) -> np.ndarray:
    """Per-segment exact integrals (stable for small ``|omega| (b - a)``)."""
    u, h = p.knots[:-1], np.diff(p.knots)
    fu, df = p.values[:-1], np.diff(p.values)
    theta = np.outer(w, h)
    phase = np.exp(-1j * np.outer(w, u))
    return np.sum(phase * h * (fu * _phi(theta, 0) + df * _phi(theta, 1)), axis=1)


def _fourier_theorem1(p: LinearPieces, w: np.ndarray) -> np.ndarray:
    """Rahaman et al., Theorem 1 in 1-D (docs/theory.md section 5) for ``omega != 0``."""
    t, f = p.knots, p.values
    s = p.slopes
    a, b = t[0], t[-1]
    ea, eb = np.exp(-1j * w * a), np.exp(-1j * w * b)
    inner = np.exp(-1j * np.outer(w, t[1:-1])) @ p.jumps if t.size > 2 else 0.0
    bracket = inner + s[0] * ea - s[-1] * eb + 1j * w * (f[0] * ea - f[-1] * eb)
    return -bracket / w**2


def relu_net_fourier(model, omega, interval=(0.0, 1.0), *, chunk: int = 256) -> np.ndarray:
    """Exact Fourier transform of a 1-D ReLU network restricted to ``interval`` (docs/theory.md section 5).

    ``g^(omega) = int_a^b f(z) e^{-i omega z} dz`` (angular frequencies), evaluated from the exact
    breakpoints by Theorem 1 (formula in the module docstring). ``omega = 0`` gives the exact
    integral of ``f``; ``|omega| (b - a) <= 0.5`` uses exact per-segment series.

    Rahaman et al.'s discrete spectrum of a fit on a uniform grid of ``[0, 1)``,
    ``(2/N)|sum_n f(z_n) e^{-2 pi i k z_n}|``, tends to ``2 |g^(2 pi k)|`` as ``N`` grows.

    Parameters
    ----------
    model : MLP (ReLU), nn.Sequential of Linear/ReLU, or list of (W, b)
    omega : array_like
        Angular frequencies; the result has the same shape (complex128).
    interval : (a, b)
    chunk : int
        Frequencies per block (bounds memory at ``chunk * number of breakpoints``).

    Returns
    -------
    ndarray
        ``g^(omega)``, complex128, the shape of ``omega``.

    Examples
    --------
    >>> import numpy as np
    >>> hat = [(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))]
    >>> # f(z) = relu(z) on [-1, 1]: int_0^1 z e^{-i w z} dz
    >>> w = 2.0
    >>> exact = (np.exp(-1j * w) * (1 + 1j * w) - 1) / w**2
    >>> bool(np.isclose(relu_net_fourier(hat, w, (-1, 1)), exact))
    True
    """
    chunk = check_scalar(chunk, "chunk", kind=int, owner="relu_net_fourier", min_val=1)
    w = check_array(omega, "omega", owner="relu_net_fourier", min_size=0)
    ops = _ops(model, "relu_net_fourier")
    _check_ops(ops, "relu_net_fourier")
    a, b = _check_interval(interval, "relu_net_fourier")
    p = _pieces(ops, a, b)
    flat = w.reshape(-1)
    out = np.empty(flat.shape, dtype=np.complex128)
    small = np.abs(flat) * (b - a) <= _SMALL
    for mask, fn in ((small, _fourier_segments), (~small, _fourier_theorem1)):
        idx = np.flatnonzero(mask)
        for i in range(0, idx.size, chunk):
            sel = idx[i : i + chunk]
            out[sel] = fn(p, flat[sel])
    return out.reshape(w.shape)
