"""The activation zoo: activations with their Fourier transforms and spectral penalties.

Every activation is an :class:`Activation`: callable on numpy arrays (and on torch tensors),
with

* ``act.fourier(omega)`` -- the analytic 1D transform ``act^(omega) = int act(z) e^{-i omega z} dz``
  (SPEC section 3), as a distribution where needed, with terms supported at ``omega = 0`` dropped;
* ``act.penalty(omega, dim=d)`` -- the kernel-regime penalty factor
  ``P(omega) = |omega|^(d-1) / |act^(omega)|^2`` (SPEC section 3);
* flags ``monotonic`` and ``homogeneity`` (degree of positive homogeneity, or ``None``).

Create one with :func:`activation` and list them with :func:`names`:

>>> import numpy as np
>>> from specbias import activation
>>> relu = activation("relu")
>>> relu(np.array([-1.0, 2.0]))
array([0., 2.])
>>> abs(relu.fourier(2.0) - (-0.25)) < 1e-12
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special as sp

from ._validation import ParameterError, check_scalar

try:  # torch is a dependency, but keep the numpy side importable without it
    import torch
except ImportError:  # pragma: no cover
    torch = None


@dataclass(frozen=True)
class Activation:
    """A scalar non-linearity with its analytic Fourier transform.

    Parameters
    ----------
    name : str
        Registry name.
    fn : callable
        numpy implementation ``z -> act(z)``.
    torch_fn : callable or None
        torch implementation (differentiable); ``None`` when only numpy is available.
    fourier_fn : callable or None
        ``omega -> act^(omega)`` (complex), SPEC section 3 convention; ``None`` when no closed form.
    monotonic : bool
    homogeneity : float or None
        Degree ``a`` with ``act(t z) = t^a act(z)`` for ``t > 0``, if any.
    formula, fourier_formula : str
        Human-readable formulas (for tables and reports).
    params : dict
        Parameters the activation was built with (e.g. the power-ReLU exponent).
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    torch_fn: Callable[[Any], Any] | None = None
    fourier_fn: Callable[[np.ndarray], np.ndarray] | None = None
    monotonic: bool = False
    homogeneity: float | None = None
    formula: str = ""
    fourier_formula: str = ""
    family: str = ""
    params: dict = field(default_factory=dict)

    def __call__(self, z):
        if torch is not None and isinstance(z, torch.Tensor):
            if self.torch_fn is None:
                raise ParameterError(
                    f"The activation '{self.name}' has no torch implementation; "
                    "use it on numpy arrays only."
                )
            return self.torch_fn(z)
        return self.fn(np.asarray(z, dtype=np.float64))

    def fourier(self, omega):
        """Analytic 1D Fourier transform ``int act(z) e^{-i omega z} dz`` (SPEC section 3).

        Terms supported at ``omega = 0`` (Dirac masses) are dropped; at ``omega = 0`` itself
        singular transforms return ``inf`` / ``nan`` as numpy does.
        """
        if self.fourier_fn is None:
            raise ParameterError(
                f"The activation '{self.name}' has no closed-form Fourier transform in specbias."
            )
        w = np.asarray(omega, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(self.fourier_fn(w), dtype=np.complex128)

    def penalty(self, omega, dim: int = 1):
        """Kernel-regime penalty factor ``P(omega) = |omega|^(dim-1) / |act^(omega)|^2``.

        SPEC section 3 (Radon-spline paper, Eq. 9). ``inf`` where the transform vanishes
        (band-limited activations penalize frequencies outside their band infinitely).
        """
        dim = check_scalar(dim, "dim", kind=int, owner="Activation.penalty", min_val=1)
        w = np.asarray(omega, dtype=np.float64)
        mag2 = np.abs(self.fourier(w)) ** 2
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.abs(w) ** (dim - 1) / mag2
        return np.where(mag2 == 0, np.inf, out)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"activation({self.name!r}{extra})"


_REGISTRY: dict[str, Callable[..., Activation]] = {}
_ALIASES: dict[str, str] = {}


def register(name: str, *aliases: str):
    """Decorator registering an activation factory ``factory(**params) -> Activation``."""

    def deco(factory):
        _REGISTRY[name] = factory
        for a in aliases:
            _ALIASES[a] = name
        return factory

    return deco


def names() -> list[str]:
    """Names of all registered activations (aliases excluded), sorted."""
    return sorted(_REGISTRY)


def activation(name: str | Activation, **params) -> Activation:
    """Return the activation ``name`` built with ``params``.

    ``name`` may also be an :class:`Activation`, returned as is. Unknown names raise a
    :class:`ParameterError` listing the close matches.
    """
    if isinstance(name, Activation):
        if params:
            raise ParameterError("Parameters cannot be given with an Activation instance.")
        return name
    if not isinstance(name, str):
        raise ParameterError(
            f"The 'name' parameter of activation must be a str. Got {type(name).__name__} instead."
        )
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(key, list(_REGISTRY) + list(_ALIASES), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ParameterError(f"Unknown activation {name!r}.{hint} Known: {', '.join(names())}.")
    try:
        return _REGISTRY[key](**params)
    except TypeError as exc:
        raise ParameterError(f"Bad parameters for activation {name!r}: {exc}") from exc


def resolve(act) -> Activation | Callable:
    """Accept an activation name, an :class:`Activation`, or any callable."""
    if isinstance(act, str):
        return activation(act)
    if callable(act):
        return act
    raise ParameterError(
        "The 'activation' parameter must be a name, an Activation or a callable. "
        f"Got {type(act).__name__} instead."
    )


# ----------------------------------------------------------------------------- the Lucey set


def _iw(w):
    return 1j * w


@register("step", "heaviside")
def _step() -> Activation:
    return Activation(
        "step",
        lambda z: (z >= 0).astype(np.float64),
        lambda z: (z >= 0).to(z.dtype),
        lambda w: 1.0 / _iw(w),
        monotonic=True,
        homogeneity=0.0,
        formula="H(z)",
        fourier_formula="1/(i w)",
        family="truncated power",
    )


@register("relu")
def _relu() -> Activation:
    return Activation(
        "relu",
        lambda z: np.maximum(z, 0.0),
        lambda z: torch.relu(z),
        lambda w: -1.0 / w**2 + 0j,
        monotonic=True,
        homogeneity=1.0,
        formula="max(z, 0)",
        fourier_formula="-1/w^2",
        family="truncated power",
    )


def _power_relu_fourier(a):
    g = math.gamma(a + 1)
    return lambda w: g / (_iw(w)) ** (a + 1)


@register("power_relu", "relu_pow")
def _power_relu(a: float = 2.0) -> Activation:
    a = check_scalar(a, "a", owner="power_relu", min_val=0.0, include_min=False)
    return Activation(
        "power_relu",
        lambda z: np.maximum(z, 0.0) ** a,
        lambda z: torch.relu(z) ** a,
        _power_relu_fourier(a),
        monotonic=True,
        homogeneity=a,
        formula=f"max(z, 0)^{a:g}",
        fourier_formula=f"Gamma({a:g}+1)/(i w)^({a:g}+1)",
        family="truncated power",
        params={"a": a},
    )


@register("relu2")
def _relu2() -> Activation:
    base = _power_relu(2.0)
    return Activation(
        "relu2",
        base.fn,
        base.torch_fn,
        base.fourier_fn,
        monotonic=True,
        homogeneity=2.0,
        formula="max(z, 0)^2",
        fourier_formula="2/(i w)^3",
        family="truncated power",
    )


@register("tanh")
def _tanh() -> Activation:
    return Activation(
        "tanh",
        np.tanh,
        torch.tanh if torch is not None else None,
        lambda w: np.pi / (1j * np.sinh(np.pi * w / 2)),
        monotonic=True,
        formula="tanh(z)",
        fourier_formula="pi/(i sinh(pi w/2))",
        family="sigmoidal",
    )


@register("gelu")
def _gelu() -> Activation:
    return Activation(
        "gelu",
        lambda z: 0.5 * z * (1.0 + sp.erf(z / math.sqrt(2.0))),
        lambda z: torch.nn.functional.gelu(z),
        # GELU = z Phi(z); Phi^ = e^{-w^2/2}/(i w), and z g(z) <-> i d/dw g^(w).
        lambda w: -np.exp(-(w**2) / 2) * (1.0 + w**2) / w**2 + 0j,
        monotonic=False,
        formula="z Phi(z)",
        fourier_formula="-(1 + w^2) e^{-w^2/2} / w^2",
        family="smooth relu",
    )


@register("silu", "swish")
def _silu() -> Activation:
    return Activation(
        "silu",
        lambda z: z * sp.expit(z),
        lambda z: torch.nn.functional.silu(z),
        # SiLU = z sigma(z); sigma^ = pi/(i sinh(pi w)), and z g(z) <-> i d/dw g^(w).
        lambda w: -(np.pi**2) * np.cosh(np.pi * w) / np.sinh(np.pi * w) ** 2 + 0j,
        monotonic=False,
        formula="z / (1 + e^{-z})",
        fourier_formula="-pi^2 cosh(pi w) / sinh^2(pi w)",
        family="smooth relu",
    )


@register("sinc")
def _sinc() -> Activation:
    return Activation(
        "sinc",
        np.sinc,
        lambda z: torch.sinc(z),
        lambda w: np.where(np.abs(w) < np.pi, 1.0, np.where(np.abs(w) == np.pi, 0.5, 0.0)) + 0j,
        monotonic=False,
        formula="sin(pi z)/(pi z)",
        fourier_formula="1 for |w| < pi, else 0",
        family="band-limited",
    )


@register("gaussian")
def _gaussian() -> Activation:
    return Activation(
        "gaussian",
        lambda z: np.exp(-(z**2) / 2),
        lambda z: torch.exp(-(z**2) / 2),
        lambda w: math.sqrt(2 * math.pi) * np.exp(-(w**2) / 2) + 0j,
        monotonic=False,
        formula="exp(-z^2/2)",
        fourier_formula="sqrt(2 pi) exp(-w^2/2)",
        family="bump",
    )
