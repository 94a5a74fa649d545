"""Torch modules: shallow networks in the Radon (zero-plane) or standard parameterization, and
deep MLPs (docs/theory.md sections 1 and 5).
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from ._memory import physical_memory as _memory_bytes
from ._validation import ParameterError, check_choice, check_scalar, reject_kind
from .activations import Activation
from .activations import activation as make_activation


def _check_dtype(dtype, owner: str) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ParameterError(
            f"The 'dtype' parameter of {owner} must be a floating-point torch.dtype. "
            f"Got {dtype!r} instead."
        )
    return dtype


_GIB = 2.0**30


# without a known memory size, refuse at least what no machine holds (16 TiB)
_FALLBACK_BYTES = 16 * 2**40
_LAYER_BYTES = 4096


def check_model_size(owner: str, n_values: int, dtype: torch.dtype, sizes: dict[str, int],
                     n_layers: int = 1) -> None:
    """Refuse a model whose parameters alone need more memory than this machine has.

    ``n_values`` is the number of parameter values, ``sizes`` the size arguments that determine
    it (``{"in_dim": 2, "width": 10**12}``); the error names the largest of them, and gives the
    estimate in GiB, instead of failing later inside torch's allocator (or swapping for hours).
    Each of the ``n_layers`` modules adds about 4 KiB of Python objects and tensor headers.

    >>> check_model_size("ShallowNet", 5 * 10**12, torch.float32, {"in_dim": 2, "width": 10**12})
    Traceback (most recent call last):
    ...
    specbias._validation.ParameterError: The 'width' parameter of ShallowNet is too large: ...
    """
    need = n_values * torch.tensor([], dtype=dtype).element_size() + n_layers * _LAYER_BYTES
    have = _memory_bytes() or _FALLBACK_BYTES
    if need <= have:
        return
    name = max(sizes, key=lambda k: sizes[k])
    others = ", ".join(f"{k}={v}" for k, v in sizes.items())
    raise ParameterError(
        f"The '{name}' parameter of {owner} is too large: {others} gives {n_values:.3g} "
        f"{str(dtype).replace('torch.', '')} parameters"
        f"{f' in {n_layers} layers' if n_layers > 1 else ''}, about {need / _GIB:.4g} GiB, more "
        f"than the {have / _GIB:.4g} GiB of memory of this machine."
    )


def _check_generator(generator, owner: str):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ParameterError(
            f"The 'generator' parameter of {owner} must be a torch.Generator or None. "
            f"Got {type(generator).__name__} instead."
        )
    return generator


def _check_x(x, model: str, in_dim: int, dtype: torch.dtype) -> torch.Tensor:
    """The input checks of the forward passes: a tensor of shape (N, in_dim) in the model's dtype
    (``(N,)`` is taken as ``(N, 1)`` when ``in_dim == 1``)."""
    if not isinstance(x, torch.Tensor):
        raise ParameterError(f"{model} expects a torch.Tensor input. Got {type(x).__name__} instead.")
    if x.ndim == 1 and in_dim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != in_dim:
        raise ParameterError(f"{model} expects inputs of shape (N, {in_dim}). Got {tuple(x.shape)}.")
    if x.dtype != dtype:
        raise ParameterError(
            f"{model} expects inputs of dtype {dtype} (the dtype of its parameters). "
            f"Got {x.dtype} instead."
        )
    return x


def _as_tensor(value, name: str, owner: str, dtype=None) -> torch.Tensor:
    """``torch.as_tensor`` with a ParameterError (not a TypeError from torch) on non-numbers,
    and a check that every value is finite."""
    reject_kind(value, name, owner=owner)
    try:
        t = torch.as_tensor(value) if dtype is None else torch.as_tensor(value).to(dtype)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be array-like of numbers. "
            f"Got {type(value).__name__} instead."
        ) from exc
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ParameterError(f"The '{name}' parameter of {owner} must be finite. Got NaN or infinite values.")
    return t


def _as_activation(act) -> Activation:
    a = make_activation(act) if isinstance(act, str) else act
    if isinstance(a, Activation) and a.torch_fn is None:
        raise ParameterError(f"The activation '{a.name}' has no torch implementation.")
    if not callable(a):
        raise ParameterError("The 'activation' parameter must be a name or a callable.")
    return a


class ShallowNet(nn.Module):
    """One hidden layer: ``f(x) = sum_k c_k act(s_k (theta_k . x - gamma_k))`` (docs/theory.md section 1;
    Radon-spline paper, Eq. 2).

    ``parameterization="radon"`` trains ``(c, theta, gamma, s)``; ``theta`` is stored unnormalized
    (``theta_raw``) and normalized in the forward pass, so it always lies on the unit sphere.
    ``parameterization="standard"`` trains ``(v, w, b)`` of ``f(x) = sum_k v_k act(w_k . x + b_k)``.
    The two convert exactly: ``s = |w|, theta = w/|w|, gamma = -b/|w|, c = v`` and back
    ``v = c, w = s theta, b = -s gamma`` (:meth:`to_parameterization`, :meth:`from_radon`,
    :meth:`from_standard`). :meth:`freeze_zero_planes` gives the kernel regime: only ``c`` moves.

    Parameters
    ----------
    in_dim, width : int
    activation : str or Activation
    parameterization : {"radon", "standard"}
    scale : float
        Initial ``s`` (radon) / initial ``|w|`` (standard).
    gamma_range : float
        Initial offsets ``gamma ~ U(-gamma_range, gamma_range)``.
    c_init : {"zeros", "normal"}
        Output weights at initialisation (``normal`` uses std ``1/sqrt(width)``).
    theta_init : {"random", "circle"}
        Zero-plane normals: uniform on the sphere, or (``in_dim = 2``) deterministic and evenly
        spaced on the circle, ``theta_k = (cos 2 pi k/K, sin 2 pi k/K)`` (paper, Exp. 1).
    generator : torch.Generator, optional
        For reproducible initialisation.
    dtype : torch.dtype

    Examples
    --------
    >>> import torch
    >>> net = ShallowNet(2, 8, "relu", theta_init="circle", c_init="zeros", dtype=torch.float64)
    >>> net.freeze_zero_planes().output_parameters()[0].shape
    torch.Size([8])
    >>> x = torch.randn(5, 2, dtype=torch.float64)
    >>> bool(torch.equal(net(x), net.to_parameterization("standard")(x)))
    True
    """

    def __init__(
        self,
        in_dim: int,
        width: int,
        activation="relu",
        parameterization: str = "radon",
        *,
        scale: float = 1.0,
        gamma_range: float = 1.0,
        c_init: str = "normal",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        theta_init: str = "random",
    ):
        super().__init__()
        in_dim = check_scalar(in_dim, "in_dim", kind=int, owner="ShallowNet", min_val=1)
        width = check_scalar(width, "width", kind=int, owner="ShallowNet", min_val=1)
        check_choice(parameterization, "parameterization", ["radon", "standard"], owner="ShallowNet")
        check_choice(c_init, "c_init", ["zeros", "normal"], owner="ShallowNet")
        check_choice(theta_init, "theta_init", ["random", "circle"], owner="ShallowNet")
        scale = check_scalar(scale, "scale", owner="ShallowNet", min_val=0.0, include_min=False)
        gamma_range = check_scalar(gamma_range, "gamma_range", owner="ShallowNet", min_val=0.0)
        dtype = _check_dtype(dtype, "ShallowNet")
        _check_generator(generator, "ShallowNet")
        # theta (width x in_dim), c, gamma and s
        check_model_size("ShallowNet", width * (in_dim + 3), dtype,
                         {"in_dim": in_dim, "width": width})
        if theta_init == "circle" and in_dim != 2:
            raise ParameterError(
                f"The 'theta_init' parameter of ShallowNet can be 'circle' only for in_dim = 2. "
                f"Got in_dim = {in_dim} instead."
            )
        self.in_dim, self.width, self.parameterization = in_dim, width, parameterization
        self.act = _as_activation(activation)
        g = generator
        if theta_init == "circle":
            ang = 2 * math.pi * torch.arange(width, dtype=torch.float64) / width
            theta = torch.stack([torch.cos(ang), torch.sin(ang)], 1).to(dtype)
        else:
            theta = torch.randn(width, in_dim, generator=g, dtype=dtype)
            theta = theta / theta.norm(dim=1, keepdim=True).clamp_min(1e-12)
        gamma = (2 * torch.rand(width, generator=g, dtype=dtype) - 1) * gamma_range
        s = torch.full((width,), scale, dtype=dtype)
        if c_init == "zeros":
            c = torch.zeros(width, dtype=dtype)
        else:
            c = torch.randn(width, generator=g, dtype=dtype) / math.sqrt(width)
        self._set(c, theta, gamma, s)

    # ---------------------------------------------------------------- parameter plumbing
    def _set(self, c, theta, gamma, s):
        if self.parameterization == "radon":
            self.c = nn.Parameter(c.clone())
            self.theta_raw = nn.Parameter(theta.clone())
            self.gamma = nn.Parameter(gamma.clone())
            self.s = nn.Parameter(s.clone())
        else:
            self.v = nn.Parameter(c.clone())
            self.w = nn.Parameter(theta * s[:, None])
            self.b = nn.Parameter(-gamma * s)

    @property
    def theta(self) -> torch.Tensor:
        """Unit normals of the zero-planes, shape (width, in_dim)."""
        if self.parameterization == "radon":
            return self.theta_raw / self.theta_raw.norm(dim=1, keepdim=True)
        return self.w / self.w.norm(dim=1, keepdim=True)

    def radon_parameters(self) -> dict[str, torch.Tensor]:
        """``{"c", "theta", "gamma", "s"}`` as detached tensors (either parameterization)."""
        with torch.no_grad():
            if self.parameterization == "radon":
                return {"c": self.c.detach().clone(), "theta": self.theta.detach().clone(),
                        "gamma": self.gamma.detach().clone(), "s": self.s.detach().clone()}
            n = self.w.norm(dim=1)
            return {"c": self.v.detach().clone(), "theta": (self.w / n[:, None]).detach().clone(),
                    "gamma": (-self.b / n).detach().clone(), "s": n.detach().clone()}

    def standard_parameters(self) -> dict[str, torch.Tensor]:
        """``{"v", "w", "b"}`` as detached tensors (either parameterization)."""
        r = self.radon_parameters()
        return {"v": r["c"], "w": r["theta"] * r["s"][:, None], "b": -r["gamma"] * r["s"]}

    def to_parameterization(self, parameterization: str) -> ShallowNet:
        """A new network computing the same function in the other parameterization."""
        check_choice(parameterization, "parameterization", ["radon", "standard"], owner="ShallowNet")
        r = self.radon_parameters()
        out = ShallowNet.__new__(ShallowNet)
        nn.Module.__init__(out)
        out.in_dim, out.width, out.act = self.in_dim, self.width, self.act
        out.parameterization = parameterization
        out._set(r["c"], r["theta"], r["gamma"], r["s"])
        return out

    @classmethod
    def from_radon(cls, c, theta, gamma, s, activation="relu",
                   parameterization: str = "radon") -> ShallowNet:
        """A network with the given Radon parameters (``theta`` rows are normalized).

        ``c, gamma, s`` have shape ``(K,)`` and ``theta`` ``(K, d)``; dtype follows ``theta``.
        """
        owner = "ShallowNet.from_radon"
        check_choice(parameterization, "parameterization", ["radon", "standard"], owner="ShallowNet")
        theta = _as_tensor(theta, "theta", owner)
        if theta.ndim != 2 or theta.shape[0] < 1 or theta.shape[1] < 1:
            raise ParameterError(f"The 'theta' parameter of ShallowNet.from_radon must be 2-D (K, d) with K, d >= 1. Got shape {tuple(theta.shape)}.")
        dt = theta.dtype if theta.is_floating_point() else torch.float32
        theta = theta.to(dt)
        K, d = theta.shape
        vecs = {k: _as_tensor(v, k, owner, dt).reshape(-1) for k, v in
                (("c", c), ("gamma", gamma), ("s", s))}
        for k, v in vecs.items():
            if v.shape != (K,):
                raise ParameterError(
                    f"The '{k}' parameter of ShallowNet.from_radon must have shape ({K},). "
                    f"Got {tuple(v.shape)} instead."
                )
        if torch.any(vecs["s"] <= 0):
            raise ParameterError("The 's' parameter of ShallowNet.from_radon must be positive.")
        norms = theta.norm(dim=1, keepdim=True)
        if torch.any(norms == 0):
            raise ParameterError("The 'theta' parameter of ShallowNet.from_radon has a zero row.")
        out = cls.__new__(cls)
        nn.Module.__init__(out)
        out.in_dim, out.width, out.act = d, K, _as_activation(activation)
        out.parameterization = parameterization
        out._set(vecs["c"], theta / norms, vecs["gamma"], vecs["s"])
        return out

    @classmethod
    def from_standard(cls, v, w, b, activation="relu",
                      parameterization: str = "standard") -> ShallowNet:
        """A network computing ``sum_k v_k act(w_k . x + b_k)`` (rows of ``w`` must be nonzero).

        Stored in ``parameterization``; for ``"radon"`` the exact map ``s = |w|,
        theta = w/|w|, gamma = -b/|w|, c = v`` is applied.
        """
        owner = "ShallowNet.from_standard"
        w = _as_tensor(w, "w", owner)
        if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
            raise ParameterError(f"The 'w' parameter of ShallowNet.from_standard must be 2-D (K, d) with K, d >= 1. Got shape {tuple(w.shape)}.")
        if not w.is_floating_point():
            w = w.to(torch.float32)
        n = w.norm(dim=1)
        if torch.any(n == 0):
            raise ParameterError("The 'w' parameter of ShallowNet.from_standard has a zero row.")
        b = _as_tensor(b, "b", owner, w.dtype).reshape(-1)
        if b.shape != n.shape:
            raise ParameterError(
                f"The 'b' parameter of ShallowNet.from_standard must have shape ({w.shape[0]},). "
                f"Got {tuple(b.shape)} instead."
            )
        return cls.from_radon(v, w / n[:, None], -b / n, n, activation, parameterization)

    def zero_plane_parameters(self) -> list[nn.Parameter]:
        """Parameters that move the zero-planes (everything but the output weights)."""
        if self.parameterization == "radon":
            return [self.theta_raw, self.gamma, self.s]
        return [self.w, self.b]

    def output_parameters(self) -> list[nn.Parameter]:
        return [self.c] if self.parameterization == "radon" else [self.v]

    def freeze_zero_planes(self, frozen: bool = True) -> ShallowNet:
        """Kernel regime: stop gradients to everything but the output weights."""
        for p in self.zero_plane_parameters():
            p.requires_grad_(not frozen)
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden-layer outputs ``act(s_k (theta_k . x - gamma_k))``, shape (N, width)."""
        x = self._check_input(x)
        if self.parameterization == "radon":
            pre = self.s * (x @ self.theta.T - self.gamma)
        else:
            pre = x @ self.w.T + self.b
        return self.act(pre)

    def _check_input(self, x):
        w = self.theta_raw if self.parameterization == "radon" else self.w
        return _check_x(x, "ShallowNet", self.in_dim, w.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        out = self.c if self.parameterization == "radon" else self.v
        return h @ out


class MLP(nn.Module):
    """Deep fully-connected network: ``depth`` hidden layers of ``width`` units (docs/theory.md section 5).

    ``MLP(1, 256, 6)`` is Rahaman et al.'s 6-layer, 256-unit ReLU network. Output shape is
    ``(N,)`` when ``out_dim == 1``.

    Parameters
    ----------
    in_dim : int
        Input dimension (``x`` has shape ``(N, in_dim)``).
    width : int
        Units per hidden layer.
    depth : int
        Number of hidden layers.
    activation : str or Activation or callable, default "relu"
        Non-linearity of every hidden layer: a registry name (see :func:`specbias.activation`),
        an :class:`~specbias.activations.Activation` or a torch callable.
    out_dim : int, default 1
        Output dimension.
    generator : torch.Generator, optional
        Draws PyTorch's default initialisation from this generator (reproducible); ``None``
        uses the global RNG.
    dtype : torch.dtype, default torch.float32
        Parameter dtype (the input must match it).
    """

    def __init__(self, in_dim: int, width: int, depth: int, activation="relu", out_dim: int = 1,
                 *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        in_dim = check_scalar(in_dim, "in_dim", kind=int, owner="MLP", min_val=1)
        width = check_scalar(width, "width", kind=int, owner="MLP", min_val=1)
        depth = check_scalar(depth, "depth", kind=int, owner="MLP", min_val=1)
        out_dim = check_scalar(out_dim, "out_dim", kind=int, owner="MLP", min_val=1)
        dtype = _check_dtype(dtype, "MLP")
        _check_generator(generator, "MLP")
        check_model_size("MLP", (in_dim + 1) * width + (depth - 1) * (width + 1) * width
                         + (width + 1) * out_dim, dtype,
                         {"in_dim": in_dim, "width": width, "depth": depth, "out_dim": out_dim},
                         n_layers=depth + 1)
        self.in_dim, self.width, self.depth, self.out_dim = in_dim, width, depth, out_dim
        self.act = _as_activation(activation)
        dims = [in_dim] + [width] * depth + [out_dim]
        linears = [nn.Linear(a, b, dtype=dtype) for a, b in zip(dims[:-1], dims[1:], strict=True)]
        self.layers = nn.ModuleList(linears)
        if generator is not None:  # PyTorch's default init, drawn from the given generator
            with torch.no_grad():
                for lin in linears:
                    bound = 1.0 / math.sqrt(lin.in_features)
                    lin.weight.uniform_(-bound, bound, generator=generator)
                    lin.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _check_x(x, "MLP", self.in_dim, cast(nn.Linear, self.layers[0]).weight.dtype)
        for lin in self.layers[:-1]:
            h = self.act(lin(h))
        out = self.layers[-1](h)
        return out[:, 0] if self.out_dim == 1 else out


# ----------------------------------------------------------------------------- coordinate networks


class FourierFeatures(nn.Module):
    """Random Fourier features ``gamma(v) = [cos 2 pi B v, sin 2 pi B v]`` (Tancik et al., 2020).

    ``B`` (shape ``(n_features, in_dim)``) is drawn once from ``N(0, sigma^2)`` and kept as a
    fixed buffer (it does not train). ``sigma`` is in cycles per unit of ``v``: the features
    have frequencies ``|B_j|`` and the larger ``sigma``, the higher the frequencies a network on
    top of them learns quickly (docs/planning.md). For a fixed ``generator`` state the draw is
    ``sigma`` times one standard-normal matrix, so networks built with different ``sigma`` and
    the same seed differ only in that scale. The output has ``out_dim = 2 * n_features``
    columns; use it as the first module of an ``nn.Sequential`` (``MLP(ff.out_dim, ...)`` after
    it).

    Parameters
    ----------
    in_dim : int
        Input dimension (``v`` has shape ``(N, in_dim)``).
    n_features : int
        Number of random frequencies (rows of ``B``); the output has ``2 * n_features`` columns.
    sigma : float
        Standard deviation of ``B``'s entries, in cycles per unit of ``v`` (positive, finite).
    generator : torch.Generator, optional
        Draws ``B`` from this generator (reproducible); ``None`` uses the global RNG.
    dtype : torch.dtype, default torch.float32
        Dtype of the ``B`` buffer (the input must match it).

    Examples
    --------
    >>> import torch
    >>> ff = FourierFeatures(1, 8, sigma=4.0, generator=torch.Generator().manual_seed(0))
    >>> ff(torch.zeros(5, 1)).shape, ff.out_dim
    (torch.Size([5, 16]), 16)
    """

    B: torch.Tensor

    def __init__(self, in_dim: int, n_features: int, sigma: float, generator: torch.Generator | None = None,
                 *, dtype: torch.dtype = torch.float32):
        super().__init__()
        owner = "FourierFeatures"
        in_dim = check_scalar(in_dim, "in_dim", kind=int, owner=owner, min_val=1)
        n_features = check_scalar(n_features, "n_features", kind=int, owner=owner, min_val=1)
        sigma = check_scalar(sigma, "sigma", owner=owner, min_val=0.0, include_min=False)
        if not math.isfinite(sigma):
            raise ParameterError(f"The 'sigma' parameter of {owner} must be finite. Got {sigma!r}.")
        dtype = _check_dtype(dtype, owner)
        _check_generator(generator, owner)
        check_model_size(owner, in_dim * n_features, dtype,
                         {"in_dim": in_dim, "n_features": n_features})
        self.in_dim, self.n_features, self.sigma = in_dim, n_features, float(sigma)
        self.out_dim = 2 * n_features
        B = torch.randn(n_features, in_dim, generator=generator, dtype=torch.float64) * sigma
        self.register_buffer("B", B.to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_x(x, "FourierFeatures", self.in_dim, self.B.dtype)
        proj = 2 * math.pi * (x @ self.B.T)
        return torch.cat([torch.cos(proj), torch.sin(proj)], dim=1)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, n_features={self.n_features}, sigma={self.sigma:g}"


class PositionalEncoding(nn.Module):
    """NeRF's positional encoding (Mildenhall et al., 2020): for every input coordinate ``p``,
    ``(sin 2^0 pi p, cos 2^0 pi p, ..., sin 2^(L-1) pi p, cos 2^(L-1) pi p)`` with
    ``L = n_freqs``; ``include_input`` prepends ``p`` itself. No parameters.

    The frequencies are octaves ``2^(l-1) / 2`` cycles per unit: ``n_freqs`` sets the highest
    one, ``2^(L-2)``, much as ``sigma`` does for :class:`FourierFeatures`. The output has
    ``out_dim = 2 * n_freqs * in_dim (+ in_dim)`` columns, ordered by frequency, then sin/cos,
    then coordinate.

    Parameters
    ----------
    in_dim : int
        Input dimension (``p`` has shape ``(N, in_dim)``).
    n_freqs : int
        Number of octaves ``L`` (1 to 60).
    include_input : bool, default False
        Prepend the raw coordinates to the encoding.

    Examples
    --------
    >>> import torch
    >>> pe = PositionalEncoding(2, 3)
    >>> pe(torch.zeros(4, 2)).shape, pe.out_dim
    (torch.Size([4, 12]), 12)
    """

    freqs: torch.Tensor

    def __init__(self, in_dim: int, n_freqs: int, *, include_input: bool = False):
        super().__init__()
        owner = "PositionalEncoding"
        in_dim = check_scalar(in_dim, "in_dim", kind=int, owner=owner, min_val=1)
        n_freqs = check_scalar(n_freqs, "n_freqs", kind=int, owner=owner, min_val=1, max_val=60)
        if not isinstance(include_input, bool):
            raise ParameterError(f"The 'include_input' parameter of {owner} must be a bool. "
                                 f"Got {include_input!r} instead.")
        self.in_dim, self.n_freqs, self.include_input = in_dim, n_freqs, include_input
        self.out_dim = 2 * n_freqs * in_dim + (in_dim if include_input else 0)
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(n_freqs, dtype=torch.float64),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ParameterError("PositionalEncoding expects a floating-point torch.Tensor input.")
        x = _check_x(x, "PositionalEncoding", self.in_dim, x.dtype)
        arg = x[:, None, :] * self.freqs.to(x.dtype)[None, :, None]  # (N, L, d)
        enc = torch.stack([torch.sin(arg), torch.cos(arg)], dim=2).reshape(x.shape[0], -1)
        return torch.cat([x, enc], dim=1) if self.include_input else enc

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, n_freqs={self.n_freqs}, include_input={self.include_input}"


class SineLayer(nn.Module):
    """``sin(omega0 (W x + b))``: one layer of a :class:`SIREN` (an ``nn.Linear`` inside, so the
    empirical NTK handles it in closed form)."""

    def __init__(self, in_features: int, out_features: int, omega0: float, *, first: bool,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.omega0, self.first = float(omega0), first
        self.linear = nn.Linear(in_features, out_features, dtype=dtype)
        bound = 1.0 / in_features if first else math.sqrt(6.0 / in_features) / omega0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound, generator=generator)
            b = 1.0 / math.sqrt(in_features)  # PyTorch's default bias init, as in the reference
            self.linear.bias.uniform_(-b, b, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega0 * self.linear(x))

    def extra_repr(self) -> str:
        return f"omega0={self.omega0:g}, first={self.first}"


class SIREN(nn.Module):
    """Sinusoidal representation network (Sitzmann et al., 2020): ``depth`` sine layers
    ``sin(omega0 (W x + b))`` of ``width`` units and a linear output layer.

    Initialization as in the reference implementation: the first layer's weights
    ``U(-1/in_dim, 1/in_dim)``, every later layer's (hidden and output)
    ``U(-sqrt(6/n)/omega0, sqrt(6/n)/omega0)`` with ``n`` its fan-in, biases PyTorch's default
    ``U(-1/sqrt(n), 1/sqrt(n))``; the same ``omega0`` multiplies every sine layer. The first
    layer then maps ``[-1, 1]`` to about ``omega0 / (2 pi)`` cycles, which is why ``omega0``
    sets the frequencies the network learns quickly (docs/planning.md). Output shape ``(N,)``
    when ``out_dim == 1``.

    Parameters
    ----------
    in_dim : int
        Input dimension (``x`` has shape ``(N, in_dim)``).
    width : int
        Units per sine layer.
    depth : int
        Number of sine layers.
    omega0 : float, default 30.0
        Frequency factor of every sine layer (positive, finite).
    out_dim : int, default 1
        Output dimension.
    generator : torch.Generator, optional
        Draws the initialisation from this generator (reproducible); ``None`` uses the global RNG.
    dtype : torch.dtype, default torch.float32
        Parameter dtype (the input must match it).

    Examples
    --------
    >>> import torch
    >>> net = SIREN(1, 32, 3, generator=torch.Generator().manual_seed(0))
    >>> net(torch.linspace(-1, 1, 5)[:, None]).shape
    torch.Size([5])
    """

    def __init__(self, in_dim: int, width: int, depth: int, omega0: float = 30.0, out_dim: int = 1,
                 generator: torch.Generator | None = None, *, dtype: torch.dtype = torch.float32):
        super().__init__()
        owner = "SIREN"
        in_dim = check_scalar(in_dim, "in_dim", kind=int, owner=owner, min_val=1)
        width = check_scalar(width, "width", kind=int, owner=owner, min_val=1)
        depth = check_scalar(depth, "depth", kind=int, owner=owner, min_val=1)
        out_dim = check_scalar(out_dim, "out_dim", kind=int, owner=owner, min_val=1)
        omega0 = check_scalar(omega0, "omega0", owner=owner, min_val=0.0, include_min=False)
        if not math.isfinite(omega0):
            raise ParameterError(f"The 'omega0' parameter of {owner} must be finite. Got {omega0!r}.")
        dtype = _check_dtype(dtype, owner)
        _check_generator(generator, owner)
        check_model_size(owner, (in_dim + 1) * width + (depth - 1) * (width + 1) * width
                         + (width + 1) * out_dim, dtype,
                         {"in_dim": in_dim, "width": width, "depth": depth, "out_dim": out_dim},
                         n_layers=depth + 1)
        self.in_dim, self.width, self.depth, self.out_dim = in_dim, width, depth, out_dim
        self.omega0 = float(omega0)
        g = generator
        layers: list[nn.Module] = [SineLayer(in_dim, width, omega0, first=True, generator=g,
                                             dtype=dtype)]
        layers += [SineLayer(width, width, omega0, first=False, generator=g, dtype=dtype)
                   for _ in range(depth - 1)]
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(width, out_dim, dtype=dtype)
        with torch.no_grad():
            bound = math.sqrt(6.0 / width) / omega0
            self.out.weight.uniform_(-bound, bound, generator=g)
            b = 1.0 / math.sqrt(width)
            self.out.bias.uniform_(-b, b, generator=g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _check_x(x, "SIREN", self.in_dim, self.out.weight.dtype)
        for layer in self.layers:
            h = layer(h)
        out = self.out(h)
        return out[:, 0] if self.out_dim == 1 else out
