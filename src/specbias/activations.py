"""The activation zoo: activations with their Fourier transforms and spectral penalties.

Every activation is an :class:`Activation`: callable on numpy arrays (and on torch tensors),
with

* ``act.fourier(omega)`` -- the analytic 1D transform ``act^(omega) = int act(z) e^{-i omega z} dz``
  (docs/theory.md section 3), as a distribution where needed, with terms supported at ``omega = 0`` dropped;
* ``act.penalty(omega, dim=d)`` -- the kernel-regime penalty factor
  ``P(omega) = |omega|^(d-1) / |act^(omega)|^2`` (docs/theory.md section 3);
* flags ``monotonic`` and ``homogeneity`` (degree of positive homogeneity, or ``None``).

Create one with :func:`activation` and list them with :func:`names`:

>>> import numpy as np
>>> from specbias import activation
>>> relu = activation("relu")
>>> relu(np.array([-1.0, 2.0]))
array([0., 2.])
>>> bool(abs(relu.fourier(2.0) - (-0.25)) < 1e-12)
True
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special as sp

from ._validation import ParameterError, check_array, check_scalar

try:  # torch is a dependency, but keep the numpy side importable without it
    import torch
except ImportError:  # pragma: no cover
    torch = None  # type: ignore[assignment]


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
        ``omega -> act^(omega)`` (complex), docs/theory.md section 3 convention; ``None`` when no closed form.
    monotonic : bool
    homogeneity : float or None
        Degree ``a`` with ``act(t z) = t^a act(z)`` for ``t > 0``, if any.
    formula, fourier_formula, penalty_formula : str
        Human-readable formulas (for tables and reports); ``penalty_formula`` is the activation
        factor ``1/|act^(omega)|^2`` of the penalty.
    family : str
        Group used by tables and figures ("truncated power", "sigmoidal", "bump", ...).
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
    penalty_formula: str = ""

    def __call__(self, z):
        if torch is not None and isinstance(z, torch.Tensor):
            if self.torch_fn is None:
                raise ParameterError(
                    f"The activation '{self.name}' has no torch implementation; "
                    "use it on numpy arrays only."
                )
            return self.torch_fn(z)
        try:  # fast path; the owner's repr is only built for the error message
            z = np.asarray(z, dtype=np.float64)
        except (TypeError, ValueError):
            check_array(z, "z", owner=repr(self), finite=False, min_size=0)  # raises
            raise
        return self.fn(z)

    def fourier(self, omega):
        """Analytic 1D Fourier transform ``int act(z) e^{-i omega z} dz`` (docs/theory.md section 3).

        Terms supported at ``omega = 0`` (Dirac masses) are dropped; at ``omega = 0`` itself
        singular transforms return ``inf`` / ``nan`` as numpy does.
        """
        if self.fourier_fn is None:
            raise ParameterError(
                f"The activation '{self.name}' has no closed-form Fourier transform in specbias."
            )
        try:
            w = np.asarray(omega, dtype=np.float64)
        except (TypeError, ValueError):
            check_array(omega, "omega", owner=f"{self!r}.fourier", finite=False, min_size=0)  # raises
            raise
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(self.fourier_fn(w), dtype=np.complex128)

    def penalty(self, omega, dim: int = 1):
        """Kernel-regime penalty factor ``P(omega) = |omega|^(dim-1) / |act^(omega)|^2``.

        docs/theory.md section 3 (Radon-spline paper, Eq. 9). ``inf`` where the transform vanishes
        (band-limited activations penalize frequencies outside their band infinitely).
        """
        dim = check_scalar(dim, "dim", kind=int, owner="Activation.penalty", min_val=1)
        w = check_array(omega, "omega", owner="Activation.penalty", finite=False, min_size=0)
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


_SPEC_RE = re.compile(r"^\s*([A-Za-z_][\w\-]*)\s*\((.*)\)\s*$")
_RELU_POW_RE = re.compile(r"^relu(\d+(?:\.\d+)?)$")


def _parse_spec(spec: str) -> tuple[str, dict]:
    """``"power_relu(a=3.5)"`` -> ``("power_relu", {"a": 3.5})``; plain names pass through."""
    m = _SPEC_RE.match(spec)
    if not m:
        return spec, {}
    name, body = m.group(1), m.group(2).strip()
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in body.split(","))):
        if "=" not in item:
            raise ParameterError(
                f"Bad activation spec {spec!r}: parameters must be key=value (e.g. "
                "'power_relu(a=3.5)')."
            )
        key, raw = (s.strip() for s in item.split("=", 1))
        try:
            params[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError) as exc:
            raise ParameterError(f"Bad value {raw!r} for {key!r} in activation spec {spec!r}.") from exc
    return name, params


def activation(name: str | Activation, **params) -> Activation:
    """Return the activation ``name`` built with ``params``.

    ``name`` may be a registry name or alias (``"relu"``, ``"sigmoid"``), a spec string with
    parameters (``"power_relu(a=3.5)"``, ``"wavepacket(w0=3)"``), ``"relu<p>"`` for a power ReLU
    of exponent ``p`` (``"relu3.5"`` is ``power_relu(a=3.5)``), or an :class:`Activation`,
    returned as is. Unknown names raise a :class:`ParameterError` listing close matches.

    Parameters
    ----------
    name : str or Activation
        The activation's name, alias or spec string, or an activation.
    **params
        Parameters of the family (``a=3.5``, ``w0=3``, ...).

    Returns
    -------
    Activation
        Callable on numpy arrays and torch tensors, with its Fourier transform, penalty and
        formulas.

    Examples
    --------
    >>> activation("power_relu", a=3.5).homogeneity
    3.5
    >>> activation("power_relu(a=3.5)").params == activation("relu3.5").params == {"a": 3.5}
    True
    """
    if isinstance(name, Activation):
        if params:
            raise ParameterError("Parameters cannot be given with an Activation instance.")
        return name
    if not isinstance(name, str):
        raise ParameterError(
            f"The 'name' parameter of activation must be a str. Got {type(name).__name__} instead."
        )
    base, spec_params = _parse_spec(name)
    if spec_params:
        params = {**spec_params, **params}
    key = base.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        m = _RELU_POW_RE.match(key)
        if m and "a" not in params:
            key, params = "power_relu", {**params, "a": float(m.group(1))}
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
        penalty_formula="w^2",
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
        penalty_formula="w^4",
        family="truncated power",
    )


# Gamma(x) overflows a float64 for x above this
_GAMMA_MAX = 171.6243769563027


def _gamma(value: float, shift: float, name: str, owner: str) -> float:
    """``Gamma(value + shift)``; a :class:`ParameterError` on the parameter ``name`` (whose value
    is ``value``) where it overflows."""
    try:
        return math.gamma(value + shift)
    except OverflowError:
        expr = f"Gamma({name} + {shift:g})" if shift else f"Gamma({name})"
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be below {_GAMMA_MAX - shift:.6g} ({expr} "
            f"overflows a float64 beyond). Got {value!r} instead."
        ) from None


def _power_relu_fourier(a):
    g = _gamma(a, 1.0, "a", "power_relu")
    return lambda w: g / (_iw(w)) ** (a + 1)


@register("power_relu", "relu_pow")
def _power_relu(a: float = 2.0) -> Activation:
    a = check_scalar(a, "a", owner="power_relu", min_val=0.0, include_min=False)
    return Activation(
        "power_relu",
        lambda z: np.maximum(z, 0.0) ** a,
        (lambda z: torch.relu(z) ** a) if a >= 1 else (lambda z: _safe_where_pos(z, lambda t: t**a, torch)),
        _power_relu_fourier(a),
        monotonic=True,
        homogeneity=a,
        formula=f"max(z, 0)^{a:g}",
        fourier_formula=f"Gamma({a:g}+1)/(i w)^({a:g}+1)",
        penalty_formula=f"w^{2 * a + 2:g} / Gamma({a:g}+1)^2",
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
        penalty_formula="w^6 / 4",
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
        penalty_formula="sinh^2(pi w/2) / pi^2",
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
        penalty_formula="w^4 e^{w^2} / (1 + w^2)^2",
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
        penalty_formula="sinh^4(pi w) / (pi^4 cosh^2(pi w))",
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
        penalty_formula="1 for |w| < pi, infinite outside",
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
        formula="e^{-z^2/2}",
        fourier_formula="sqrt(2 pi) exp(-w^2/2)",
        penalty_formula="e^{w^2} / (2 pi)",
        family="bump",
    )
# ----------------------------------------------------------------------------- helpers


def _safe_where_pos(z, f, xp):
    """``f(z)`` where ``z > 0`` and 0 elsewhere, without NaN gradients from the other branch."""
    if xp is np:
        pos = z > 0
        zs = np.where(pos, z, 1.0)
        return np.where(pos, f(zs), 0.0)
    pos = z > 0
    zs = torch.where(pos, z, torch.ones_like(z))
    return torch.where(pos, f(zs), torch.zeros_like(z))


def _tp(fn):
    """Mark a torch implementation (kept for readability of the registry below)."""
    return fn if torch is not None else None


def _clone(base: Activation, name: str, **changes) -> Activation:
    kw = {f: getattr(base, f) for f in base.__dataclass_fields__}
    kw.update(name=name, **changes)
    return Activation(**kw)


# ----------------------------------------------------------------------------- truncated powers


@register("satrelu", "saturating_relu")
def _satrelu() -> Activation:
    """Saturating ReLU ``min(max(z, 0), 1) = relu(z) - relu(z - 1)``; transform
    ``-(1 - e^{-i w}) / w^2`` (paper App. A-C)."""
    return Activation(
        "satrelu",
        lambda z: np.clip(z, 0.0, 1.0),
        _tp(lambda z: torch.clamp(z, 0.0, 1.0)),
        lambda w: -(1.0 - np.exp(-1j * w)) / w**2,
        monotonic=True,
        formula="min(max(z, 0), 1)",
        fourier_formula="-(1 - e^{-i w}) / w^2",
        penalty_formula="w^4 / (2 - 2 cos w)",
        family="truncated power",
    )


# ----------------------------------------------------------------------------- sigmoids


@register("logistic_bump", "sigmoid_derivative")
def _logistic_bump() -> Activation:
    """The logistic bump ``sigma'(z) = 1 / (4 cosh^2(z/2))``; transform ``pi w / sinh(pi w)``."""

    def four(w):
        out = np.pi * w / np.sinh(np.pi * w)
        return np.where(w == 0, 1.0, out) + 0j

    return Activation(
        "logistic_bump",
        lambda z: sp.expit(z) * sp.expit(-z),
        _tp(lambda z: torch.sigmoid(z) * torch.sigmoid(-z)),
        four,
        monotonic=False,
        formula="1 / (4 cosh^2(z/2))",
        fourier_formula="pi w / sinh(pi w)",
        penalty_formula="sinh^2(pi w) / (pi w)^2",
        family="bump",
    )


@register("logistic", "sigmoid")
def _logistic() -> Activation:
    """The logistic sigmoid ``1 / (1 + e^{-z})``; transform ``pi / (i sinh(pi w))``."""
    return Activation(
        "logistic",
        sp.expit,
        _tp(lambda z: torch.sigmoid(z)),
        lambda w: np.pi / (1j * np.sinh(np.pi * w)),
        monotonic=True,
        formula="1 / (1 + e^{-z})",
        fourier_formula="pi / (i sinh(pi w))",
        penalty_formula="sinh^2(pi w) / pi^2",
        family="sigmoidal",
    )


@register("arctan", "atan")
def _arctan() -> Activation:
    """``arctan(z)``; transform ``pi e^{-|w|} / (i w)`` (the Cauchy bump integrated)."""
    return Activation(
        "arctan",
        np.arctan,
        _tp(lambda z: torch.atan(z)),
        lambda w: np.pi * np.exp(-np.abs(w)) / (1j * w),
        monotonic=True,
        formula="arctan(z)",
        fourier_formula="pi e^{-|w|} / (i w)",
        penalty_formula="w^2 e^{2|w|} / pi^2",
        family="sigmoidal",
    )


@register("erf")
def _erf() -> Activation:
    """``erf(z)``; transform ``2 e^{-w^2/4} / (i w)`` (the Gaussian ``2/sqrt(pi) e^{-z^2}``
    integrated)."""
    return Activation(
        "erf",
        sp.erf,
        _tp(lambda z: torch.erf(z)),
        lambda w: 2.0 * np.exp(-(w**2) / 4) / (1j * w),
        monotonic=True,
        formula="erf(z)",
        fourier_formula="2 e^{-w^2/4} / (i w)",
        penalty_formula="w^2 e^{w^2/2} / 4",
        family="sigmoidal",
    )


# ----------------------------------------------------------------------------- smooth ReLUs


@register("softplus")
def _softplus() -> Activation:
    """``log(1 + e^z)``; transform ``-pi / (w sinh(pi w))`` (the logistic integrated)."""
    return Activation(
        "softplus",
        lambda z: np.logaddexp(0.0, z),
        _tp(lambda z: torch.nn.functional.softplus(z, beta=1.0, threshold=30.0)),
        lambda w: -np.pi / (w * np.sinh(np.pi * w)) + 0j,
        monotonic=True,
        formula="log(1 + e^z)",
        fourier_formula="-pi / (w sinh(pi w))",
        penalty_formula="w^2 sinh^2(pi w) / pi^2",
        family="smooth relu",
    )


def _cvz_weights(m: int) -> np.ndarray:
    """Cohen-Rodriguez Villegas-Zagier weights: ``sum_k (-1)^k a_k ~ sum_k w_k a_k`` for
    moment sequences ``a_k``, error ~ 5.8^-m."""
    d = (3.0 + math.sqrt(8.0)) ** m
    d = (d + 1.0 / d) / 2.0
    b, c = -1.0, -d
    out = np.empty(m)
    for k in range(m):
        c = b - c
        out[k] = c / d
        b = (k + m) * (k - m) * b / ((k + 0.5) * (k + 1.0))
    return out


_CVZ = _cvz_weights(24)


def _polylog_poly(n: int) -> np.ndarray:
    """Coefficients (highest power first) of ``P_n(z) = f_n(z) + (-1)^n f_n(-z)`` where
    ``f_n(z) = -Li_n(-e^z)``: ``P_n(z) = sum_{j even} (-1)^{j/2} (2 pi)^j (2^{1-j} - 1) B_j
    z^{n-j} / (j! (n-j)!)`` (the polylogarithm inversion formula)."""
    bern = sp.bernoulli(n)
    coef = np.zeros(n + 1)  # coef[p] multiplies z^p
    for j in range(0, n + 1, 2):
        val = ((-1) ** (j // 2) * (2 * math.pi) ** j * (2.0 ** (1 - j) - 1.0) * bern[j]
               / (math.factorial(j) * math.factorial(n - j)))
        coef[n - j] = val
    return coef[::-1]


def _power_softplus_fn(n: int, xp):
    poly = _polylog_poly(n)
    ks = np.arange(1, len(_CVZ) + 1, dtype=np.float64)
    wk = _CVZ / ks**n

    def series(z):  # -Li_n(-e^{-|z|}) by the accelerated alternating series
        if xp is np:
            x = np.exp(-np.abs(z))
            return (x[..., None] ** ks * wk).sum(-1)
        x = torch.exp(-torch.abs(z))
        k = torch.as_tensor(ks, dtype=z.dtype, device=z.device)
        w = torch.as_tensor(wk, dtype=z.dtype, device=z.device)
        return (x[..., None] ** k * w).sum(-1)

    def fn(z):
        s = series(z)
        if xp is np:
            p = np.polyval(poly, z)
            return np.where(z > 0, p + (-1) ** (n + 1) * s, s)
        p = torch.zeros_like(z)
        for c in poly:  # Horner
            p = p * z + float(c)
        return torch.where(z > 0, p + (-1) ** (n + 1) * s, s)

    return fn


@register("power_softplus", "softplus_pow")
def _power_softplus(n: int = 2) -> Activation:
    """The order-``n`` "power SoftPlus" ``-Li_n(-e^z)``, the ``n``-fold integral of the logistic
    (``n = 1`` is SoftPlus, ``n = 2`` smooths ``z_+^2 / 2``); transform
    ``pi / (i sinh(pi w)) (i w)^{-n}`` (paper App. A-C)."""
    n = check_scalar(n, "n", kind=int, owner="power_softplus", min_val=1, max_val=12)
    return Activation(
        "power_softplus",
        _power_softplus_fn(n, np),
        _power_softplus_fn(n, torch) if torch is not None else None,
        lambda w: np.pi / (1j * np.sinh(np.pi * w)) / (1j * w) ** n,
        monotonic=True,
        formula=f"-Li_{n}(-e^z)",
        fourier_formula=f"pi / (i sinh(pi w)) (i w)^-{n}",
        penalty_formula=f"w^{2 * n} sinh^2(pi w) / pi^2",
        family="smooth relu",
        params={"n": n},
    )


# ----------------------------------------------------------------------------- bumps


@register("cauchy", "lorentzian")
def _cauchy() -> Activation:
    """The Cauchy bump ``1 / (1 + z^2)``; transform ``pi e^{-|w|}``."""
    return Activation(
        "cauchy",
        lambda z: 1.0 / (1.0 + z**2),
        _tp(lambda z: 1.0 / (1.0 + z**2)),
        lambda w: np.pi * np.exp(-np.abs(w)) + 0j,
        monotonic=False,
        formula="1 / (1 + z^2)",
        fourier_formula="pi e^{-|w|}",
        penalty_formula="e^{2|w|} / pi^2",
        family="bump",
    )


def _sech_np(z):
    a = np.exp(-np.abs(z))
    return 2.0 * a / (1.0 + a * a)


def _sech_t(z):
    a = torch.exp(-torch.abs(z))
    return 2.0 * a / (1.0 + a * a)


@register("sech", "hyperbolic_secant")
def _sech() -> Activation:
    """The hyperbolic secant ``1 / cosh(z)``; transform ``pi / cosh(pi w / 2)``."""
    return Activation(
        "sech",
        _sech_np,
        _tp(_sech_t),
        lambda w: np.pi / np.cosh(np.pi * w / 2) + 0j,
        monotonic=False,
        formula="1 / cosh(z)",
        fourier_formula="pi / cosh(pi w / 2)",
        penalty_formula="cosh^2(pi w / 2) / pi^2",
        family="bump",
    )


@register("half_exp", "half_exponential")
def _half_exp() -> Activation:
    """The half-exponential ``H(z) e^{-z}`` (one-sided, jumps at 0); transform ``1 / (1 + i w)``."""
    return Activation(
        "half_exp",
        lambda z: np.where(z >= 0, np.exp(-np.maximum(z, 0.0)), 0.0),
        _tp(lambda z: torch.where(z >= 0, torch.exp(-torch.clamp(z, min=0.0)),
                                  torch.zeros_like(z))),
        lambda w: 1.0 / (1.0 + 1j * w),
        monotonic=False,
        formula="H(z) e^{-z}",
        fourier_formula="1 / (1 + i w)",
        penalty_formula="1 + w^2",
        family="one-sided",
    )


@register("oberhettinger", "oberhettinger_iii10", "gamma_bump")
def _oberhettinger(nu: float = 2.0) -> Activation:
    """Oberhettinger III.10 (our reading): the one-sided gamma kernel ``H(z) z^(nu-1) e^{-z}``,
    transform ``Gamma(nu) / (1 + i w)^nu``.

    The paper's exact pair is lost in extraction; it describes the activation as having "a
    similar overall shape to Half-Exp, but continuous". ``nu = 2`` (default) gives
    ``H(z) z e^{-z}``: continuous, one-sided, decaying like the half-exponential; ``nu = 1`` is
    the half-exponential itself. docs/theory.md section 3.
    """
    nu = check_scalar(nu, "nu", owner="oberhettinger", min_val=1.0, include_min=False)
    g = _gamma(nu, 0.0, "nu", "oberhettinger")
    return Activation(
        "oberhettinger",
        lambda z: _safe_where_pos(z, lambda t: t ** (nu - 1.0) * np.exp(-t), np),
        _tp(lambda z: _safe_where_pos(z, lambda t: t ** (nu - 1.0) * torch.exp(-t), torch)),
        lambda w: g / (1.0 + 1j * w) ** nu,
        monotonic=False,
        formula=f"H(z) z^{nu - 1:g} e^(-z)",
        fourier_formula=f"Gamma({nu:g}) / (1 + i w)^{nu:g}",
        penalty_formula=f"(1 + w^2)^{nu:g} / Gamma({nu:g})^2",
        family="one-sided",
        params={"nu": nu},
    )


# Oberhettinger I.70 and I.84 (paper's Table I): the entries' formulas are lost in the paper's
# text. The reference is a table of probability densities and their characteristic functions;
# we use two even densities of that kind with closed-form transforms (docs/radon.md,
# "Oberhettinger I.70 and I.84"): a smooth one and one with a kink.


def _x_csch_np(z):
    az = np.abs(z)
    small = az < 1e-4
    zs = np.where(small, 1.0, az)
    e = np.exp(-zs)
    # |z| / sinh|z| = 2 |z| e^{-|z|} / (1 - e^{-2|z|}), stable for large |z|
    return np.where(small, 1.0 - az**2 / 6.0, 2.0 * zs * e / (-np.expm1(-2.0 * zs)))


def _x_csch_t(z):
    az = torch.abs(z)
    small = az < 1e-4
    zs = torch.where(small, torch.ones_like(az), az)
    big = 2.0 * zs * torch.exp(-zs) / (-torch.expm1(-2.0 * zs))
    return torch.where(small, 1.0 - az**2 / 6.0, big)


@register("oberhettinger_i70", "x_csch")
def _oberhettinger_i70() -> Activation:
    """Oberhettinger I.70 (our stand-in, the paper's pair is lost): ``z / sinh(z)``, a smooth
    even bump with exponential tails; transform ``(pi^2 / 2) / cosh^2(pi w / 2)`` (penalty
    factor ``4 cosh^4(pi w / 2) / pi^4``: exponential, like the hyperbolic secant's squared)."""
    c = np.pi**2 / 2
    return Activation(
        "oberhettinger_i70",
        _x_csch_np,
        _tp(_x_csch_t),
        lambda w: c / np.cosh(np.pi * w / 2) ** 2 + 0j,
        monotonic=False,
        formula="z / sinh(z)",
        fourier_formula="(pi^2/2) / cosh^2(pi w / 2)",
        penalty_formula="4 cosh^4(pi w / 2) / pi^4",
        family="bump",
    )


@register("oberhettinger_i84", "laplace")
def _oberhettinger_i84() -> Activation:
    """Oberhettinger I.84 (our stand-in, the paper's pair is lost): the Laplace bump
    ``e^{-|z|}``, continuous with a kink at 0; transform ``2 / (1 + w^2)`` (penalty factor
    ``(1 + w^2)^2 / 4``: polynomial of order ``w^4``, like the ReLU's, but finite at 0)."""
    return Activation(
        "oberhettinger_i84",
        lambda z: np.exp(-np.abs(z)),
        _tp(lambda z: torch.exp(-torch.abs(z))),
        lambda w: 2.0 / (1.0 + w**2) + 0j,
        monotonic=False,
        formula="e^(-|z|)",
        fourier_formula="2 / (1 + w^2)",
        penalty_formula="(1 + w^2)^2 / 4",
        family="bump",
    )


# G-function family (Eq. 11): act_p(z) = (1/2pi) int e^{-|w|^p} e^{iwz} dw = (1/pi) int_0^inf
# e^{-w^p} cos(w z) dw, evaluated by Gauss-Legendre quadrature on [0, W] with e^{-W^p} = e^{-40}.
_GL_NODES = 256


def _gfun_rule(p):
    wmax = 40.0 ** (1.0 / p)
    x, wts = np.polynomial.legendre.leggauss(_GL_NODES)
    w = (x + 1.0) * wmax / 2.0
    a = wts * wmax / 2.0 * np.exp(-(w**p)) / np.pi
    zmax = _GL_NODES / wmax  # the rule resolves cos(w z) for |z| <= zmax
    return w, a, zmax


def _gfunction_fn(p, xp):
    w, a, zmax = _gfun_rule(p)
    # beyond zmax: the asymptotic series act_p(z) ~ -(1/pi) sum_k (-1)^k / k! Gamma(k p + 1)
    # sin(k pi p / 2) |z|^(-k p - 1) (zero for even integer p, whose act_p decays faster)
    tail = [(-(-1) ** k / math.factorial(k) * math.gamma(k * p + 1) * math.sin(k * math.pi * p / 2)
             / math.pi, -k * p - 1.0) for k in (1, 2, 3)]

    def asym(z, lib):
        az = lib.abs(z) if lib is np else torch.abs(z)
        az = az.clip(min=zmax) if lib is np else az.clamp(min=zmax)
        return sum(cst * az**ex for cst, ex in tail)

    def fn_np(z):
        out = np.zeros_like(z, dtype=np.float64)
        flat, res = z.reshape(-1), out.reshape(-1)
        for i in range(0, flat.size, 8192):
            zz = flat[i:i + 8192]
            vals = np.cos(zz[:, None] * w[None, :]) @ a
            res[i:i + 8192] = np.where(np.abs(zz) <= zmax, vals, asym(zz, np))
        return out

    def fn_t(z):
        ww = torch.as_tensor(w, dtype=z.dtype, device=z.device)
        aa = torch.as_tensor(a, dtype=z.dtype, device=z.device)
        vals = torch.cos(z[..., None] * ww) @ aa
        return torch.where(torch.abs(z) <= zmax, vals, asym(z, torch))

    return fn_np if xp is np else fn_t


@register("gfunction", "meijer_g")
def _gfunction(p: float = 4.0) -> Activation:
    """The G-function family of Eq. 11: ``act_p(z) = (1/2pi) int e^{-|w|^p} e^{i w z} dw``,
    transform ``e^{-|w|^p}`` exactly (penalty factor ``e^{2|w|^p}``).

    ``p = 1`` would be the Cauchy bump / pi, ``p = 2`` is the Gaussian
    ``e^{-z^2/4} / (2 sqrt(pi))``. For ``p = 4`` (default) it is a Meijer G-function:
    ``act_4(z) = (2 sqrt(2 pi))^-1 G^{2,0}_{0,3}(z^4 / 256 | 0, 1/2, 1/4)`` (checked against
    ``mpmath.meijerg`` in the tests). Evaluated by 256-point Gauss-Legendre quadrature, and
    beyond the quadrature's reach by the asymptotic series (for even integer ``p`` the
    activation decays faster than any power and the tail is 0); ``p`` in [2, 8].
    """
    p = check_scalar(p, "p", owner="gfunction", min_val=2.0, max_val=8.0)
    return Activation(
        "gfunction",
        _gfunction_fn(p, np),
        _gfunction_fn(p, torch) if torch is not None else None,
        lambda w: np.exp(-(np.abs(w) ** p)) + 0j,
        monotonic=False,
        formula=f"(1/2pi) int e^(-|w|^{p:g}) e^(i w z) dw",
        fourier_formula=f"e^(-|w|^{p:g})",
        penalty_formula=f"e^(2|w|^{p:g})",
        family="bump",
        params={"p": p},
    )


# ----------------------------------------------------------------------------- oscillatory / compact


@register("wavepacket", "gabor")
def _wavepacket(w0: float = 2.0) -> Activation:
    """The wavepacket ``e^{-z^2/2} cos(w0 z)``; transform
    ``sqrt(pi/2) [e^{-(w - w0)^2/2} + e^{-(w + w0)^2/2}]`` (paper App. A-C)."""
    w0 = check_scalar(w0, "w0", owner="wavepacket", min_val=0.0)
    c = math.sqrt(math.pi / 2)
    return Activation(
        "wavepacket",
        lambda z: np.exp(-(z**2) / 2) * np.cos(w0 * z),
        _tp(lambda z: torch.exp(-(z**2) / 2) * torch.cos(w0 * z)),
        lambda w: c * (np.exp(-((w - w0) ** 2) / 2) + np.exp(-((w + w0) ** 2) / 2)) + 0j,
        monotonic=False,
        formula=f"e^(-z^2/2) cos({w0:g} z)",
        fourier_formula=f"sqrt(pi/2) [e^(-(w-{w0:g})^2/2) + e^(-(w+{w0:g})^2/2)]",
        penalty_formula="1 / |transform|^2",
        family="oscillatory",
        params={"w0": w0},
    )


def _sinc_half(w):
    return np.where(w == 0, 1.0, np.sin(w / 2) / np.where(w == 0, 1.0, w / 2))


@register("rectangle", "rect", "box")
def _rectangle() -> Activation:
    """The rectangle ``1`` for ``|z| < 1/2`` (``1/2`` at the edges); transform
    ``sin(w/2) / (w/2)``."""
    return Activation(
        "rectangle",
        lambda z: np.where(np.abs(z) < 0.5, 1.0, np.where(np.abs(z) == 0.5, 0.5, 0.0)),
        _tp(lambda z: torch.where(torch.abs(z) < 0.5, 1.0,
                                  torch.where(torch.abs(z) == 0.5, 0.5, 0.0)).to(z.dtype)),
        lambda w: _sinc_half(w) + 0j,
        monotonic=False,
        formula="1 if |z| < 1/2 else 0",
        fourier_formula="sin(w/2) / (w/2)",
        penalty_formula="(w/2)^2 / sin^2(w/2)  (infinite at w = 2 pi n)",
        family="compact",
    )


@register("triangle", "tri", "hat")
def _triangle() -> Activation:
    """The triangle ``max(1 - |z|, 0)``; transform ``(sin(w/2) / (w/2))^2``."""
    return Activation(
        "triangle",
        lambda z: np.maximum(1.0 - np.abs(z), 0.0),
        _tp(lambda z: torch.relu(1.0 - torch.abs(z))),
        lambda w: _sinc_half(w) ** 2 + 0j,
        monotonic=False,
        formula="max(1 - |z|, 0)",
        fourier_formula="(sin(w/2) / (w/2))^2",
        penalty_formula="(w/2)^4 / sin^4(w/2)  (infinite at w = 2 pi n)",
        family="compact",
    )


@register("sinc2", "squared_sinc", "sinc_squared")
def _sinc2() -> Activation:
    """The squared sinc ``(sin(pi z) / (pi z))^2``; transform ``max(1 - |w| / (2 pi), 0)``."""
    return Activation(
        "sinc2",
        lambda z: np.sinc(z) ** 2,
        _tp(lambda z: torch.sinc(z) ** 2),
        lambda w: np.maximum(1.0 - np.abs(w) / (2 * np.pi), 0.0) + 0j,
        monotonic=False,
        formula="(sin(pi z) / (pi z))^2",
        fourier_formula="max(1 - |w|/(2 pi), 0)",
        penalty_formula="1 / (1 - |w|/(2 pi))^2, infinite for |w| >= 2 pi",
        family="band-limited",
    )


# ----------------------------------------------------------------------------- other


@register("log_abs", "log_absolute", "logabs")
def _log_abs() -> Activation:
    """The log-absolute ``log|z|``; transform ``-pi / |w|`` -- the same penalty order as the
    step (Eq. 10 inverts a squared modulus, so it is many-to-one)."""
    return Activation(
        "log_abs",
        lambda z: np.log(np.abs(z)),
        _tp(lambda z: torch.log(torch.abs(z))),
        lambda w: -np.pi / np.abs(w) + 0j,
        monotonic=False,
        formula="log|z|",
        fourier_formula="-pi / |w|",
        penalty_formula="w^2 / pi^2",
        family="other",
    )


#: The Dirac row of the paper's Table I: kept as a transform pair, not as an activation.
DIRAC = {
    "name": "dirac",
    "formula": "delta(z)",
    "fourier_formula": "1",
    "penalty_formula": "1",
    "monotonic": False,
    "homogeneity": -1.0,
    "family": "distribution",
}


# ----------------------------------------------------------------------------- inverse design


def _user_values(fn, arg: np.ndarray, name: str, owner: str, dtype) -> np.ndarray:
    """``fn(arg)`` as an array of ``dtype`` broadcastable to ``arg.shape``; a
    :class:`ParameterError` naming the parameter ``name`` (the callable) otherwise."""
    out = fn(arg)
    msg = (f"The '{name}' parameter of {owner} must be a callable returning numbers of the shape "
           f"of its argument {arg.shape}. Got {{}} instead.")
    try:
        val = np.asarray(out, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ParameterError(msg.format(type(out).__name__)) from exc
    try:
        np.broadcast_to(val, arg.shape)
    except ValueError:
        raise ParameterError(msg.format(f"an output of shape {val.shape}")) from None
    return val


def design_activation(penalty_fn: Callable[[np.ndarray], np.ndarray], *, dim: int = 1,
                      phase: str | Callable[[np.ndarray], np.ndarray] = "even",
                      half_width: float = 50.0, n: int = 2**14, name: str = "designed"
                      ) -> Activation:
    """Design an activation with a prescribed spectral penalty by inverting Eq. 10.

    Given a penalty factor ``Q(omega)`` the activation ``act = F^{-1}[ phase(omega) /
    sqrt(Q(omega)) ]`` has ``1 / |act^(omega)|^2 = Q(omega)`` (Radon-spline paper, Eq. 10; docs/theory.md
    section 3). ``penalty_fn`` may also be the full penalty ``P(omega) = |omega|^(dim-1) Q(omega)``
    of a ``dim``-dimensional network: it is divided by ``|omega|^(dim-1)`` first. Because
    ``|.|^2`` is many-to-one, the phase is a choice: ``"even"`` (real, even activation),
    ``"odd"`` (``-i sign(omega)``: real, odd activation; ``Q = omega^2`` gives the step shifted
    to ``sign(z)/2``, while ``"even"`` gives ``-log|z|/pi`` up to a constant: the log-absolute),
    or a callable ``omega -> e^{i phi(omega)}`` (Hermitian, ``phi(-omega) = -phi(omega)``, for a
    real activation).

    The inverse transform is taken numerically: ``n`` samples on ``[-half_width, half_width)``,
    ``act(z_j) = (1/h) IFFT[F(omega_k) e^{i omega_k z_0}]_j``, so the result is the
    ``2 half_width``-periodic version of the activation; frequencies where ``Q`` is zero,
    infinite or undefined (including ``omega = 0`` for singular ``Q``) are dropped. The
    returned :class:`Activation` interpolates the samples linearly (numpy and torch, constant
    beyond the window) and reports ``F`` itself as its ``fourier``.

    Parameters
    ----------
    penalty_fn : callable
        ``omega -> Q(omega)`` on non-negative frequencies (numpy in, numpy out); with ``dim > 1``
        the full penalty ``P(omega)``, divided by ``|omega|^(dim-1)`` before inversion.
    dim : int, default 1
        Input dimension of the network ``penalty_fn`` is the full penalty of (``>= 1``).
    phase : {"even", "odd"} or callable, default "even"
        Phase of the transform: real even, real odd, or a Hermitian ``omega -> e^{i phi(omega)}``.
    half_width : float, default 50.0
        Half-width of the sampling window ``[-half_width, half_width)`` (the period is twice it).
    n : int, default 16384
        Number of samples of the numerical inverse transform (16 to 2**24).
    name : str, default "designed"
        Name of the returned activation.

    Returns
    -------
    Activation
        The designed activation: linear interpolation of the samples (numpy and torch), with
        ``phase / sqrt(Q)`` as its Fourier transform and ``Q`` as its penalty factor.

    Examples
    --------
    >>> import numpy as np
    >>> act = design_activation(lambda w: np.exp(w**2) / (2 * np.pi))   # the Gaussian's Q
    >>> z = np.linspace(-3, 3, 7)
    >>> bool(np.max(np.abs(act(z) - np.exp(-z**2 / 2))) < 1e-5)
    True
    """
    owner = "design_activation"
    if not callable(penalty_fn):
        raise ParameterError(
            f"The 'penalty_fn' parameter of {owner} must be a callable omega -> Q(omega). "
            f"Got {type(penalty_fn).__name__} instead."
        )
    if not isinstance(name, str):
        raise ParameterError(
            f"The 'name' parameter of {owner} must be a str. Got {type(name).__name__} instead."
        )
    dim = check_scalar(dim, "dim", kind=int, owner=owner, min_val=1)
    half_width = check_scalar(half_width, "half_width", owner=owner, min_val=0.0, include_min=False)
    n = check_scalar(n, "n", kind=int, owner=owner, min_val=16, max_val=2**24)
    if isinstance(phase, str):
        if phase not in ("even", "odd"):
            raise ParameterError(
                f"The 'phase' parameter of {owner} must be one of ['even', 'odd'] or a callable. "
                f"Got {phase!r} instead."
            )
        phase_fn = (lambda w: np.ones_like(w) + 0j) if phase == "even" else (
            lambda w: -1j * np.sign(w))
    elif callable(phase):
        phase_fn = phase
    else:
        raise ParameterError(
            f"The 'phase' parameter of {owner} must be 'even', 'odd' or a callable. "
            f"Got {type(phase).__name__} instead."
        )

    def transform(w):
        w = np.asarray(w, dtype=np.float64)
        with np.errstate(all="ignore"):
            if dim > 1:  # Q = P / |w|^(dim-1), continued to w = 0 by its value at a tiny |w|
                aw = np.where(w == 0, 1e-9, np.abs(w))
                q = _user_values(penalty_fn, aw, "penalty_fn", owner, np.float64) / aw ** (dim - 1)
            else:
                q = _user_values(penalty_fn, np.abs(w), "penalty_fn", owner, np.float64) * np.ones_like(w)
            amp = 1.0 / np.sqrt(q)
            out = amp * _user_values(phase_fn, w, "phase", owner, np.complex128)
        return np.where(np.isfinite(out) & (q > 0), out, 0.0)

    h = 2 * half_width / n
    z = -half_width + h * np.arange(n)
    w = 2 * np.pi * np.fft.fftfreq(n, d=h)
    F = transform(w)
    if not np.any(F != 0):
        raise ParameterError(f"The penalty given to {owner} is infinite or invalid on the whole grid.")
    vals = np.fft.ifft(F * np.exp(1j * w * z[0])).real / h
    monotonic = bool(np.all(np.diff(vals) >= -1e-12 * np.max(np.abs(vals))))

    def fn(x):
        return np.interp(x, z, vals)

    def torch_fn(x):
        zt = torch.as_tensor(z, dtype=x.dtype, device=x.device)
        vt = torch.as_tensor(vals, dtype=x.dtype, device=x.device)
        xc = x.clamp(float(z[0]), float(z[-1]))
        i = torch.searchsorted(zt, xc.detach().contiguous(), right=True).clamp(1, n - 1)
        t = (xc - zt[i - 1]) / (zt[i] - zt[i - 1])
        return vt[i - 1] + t * (vt[i] - vt[i - 1])

    return Activation(
        name,
        fn,
        torch_fn if torch is not None else None,
        transform,
        monotonic=monotonic,
        formula="F^-1[phase / sqrt(Q)] (numerical)",
        fourier_formula="phase(w) / sqrt(Q(w))",
        penalty_formula="Q(w)",
        family="designed",
        params={"half_width": half_width, "n": n},
    )
