"""2-D targets of the Radon-spline paper, Experiment 2 (Sec. V-A, Fig. 7; docs/theory.md section 3).

Each target is a :class:`RadonTarget`: a callable ``f(X)`` on points ``X`` of shape ``(M, 2)``
(default domain ``[-1, 1]^2``) with a name, a description of its Fourier content and the
parameters (including random draws) it was built with.

* :func:`plane_waves` -- a sum of six plane waves of random frequency, direction, phase and
  amplitude (transform: six pairs of Diracs);
* :func:`bessel_ring` -- the radial Bessel function ``J0(k |x|)`` (transform: a Dirac ring of
  radius ``k``);
* :func:`radial_step` -- the "hole": 0 on a disc, 1 outside (transform ~ ``J1(r rho) / rho``);
* :func:`doppler_2d` -- the product of two axis-aligned Donoho-Johnstone "doppler" signals;
* :func:`bumps_2d` -- a sum of sharply pointed radial bumps ``(1 + |x - x_j| / w_j)^-4`` with
  random positions, widths and signed heights (Donoho-Johnstone "bumps" in 2-D).

The 1-D Donoho-Johnstone signals (:func:`donoho_doppler`, :func:`donoho_bumps`) follow
``pywt.data.demo_signal`` (checked in the tests).

>>> import numpy as np
>>> f = radon_target("bessel_ring", k=10.0)
>>> float(f(np.zeros((1, 2)))[0])
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.special as sp

from .._validation import ParameterError, check_array, check_pair, check_scalar

__all__ = [
    "RadonTarget",
    "radon_target",
    "radon_target_names",
    "plane_waves",
    "bessel_ring",
    "radial_step",
    "doppler_2d",
    "bumps_2d",
    "donoho_doppler",
    "donoho_bumps",
]


@dataclass(frozen=True)
class RadonTarget:
    """A 2-D target function ``f(X)``, ``X`` of shape ``(M, 2)``."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    description: str = ""
    params: dict = field(default_factory=dict)

    def __call__(self, X) -> np.ndarray:
        X = check_array(X, "X", owner=f"target {self.name!r}", ndim=2)
        if X.shape[1] != 2:
            raise ParameterError(
                f"The 'X' parameter of target {self.name!r} must have shape (M, 2). "
                f"Got {X.shape} instead."
            )
        return np.asarray(self.fn(X), dtype=np.float64)


def _rng(rng, seed):
    if rng is not None and seed is not None:
        raise ParameterError("Give either 'rng' or 'seed', not both.")
    if rng is None:
        try:
            return np.random.default_rng(seed)
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"The 'seed' parameter must be a non-negative int or None. Got {seed!r} instead."
            ) from exc
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(
            f"The 'rng' parameter must be a numpy.random.Generator. Got {type(rng).__name__}."
        )
    return rng


def plane_waves(n_waves: int = 6, *, freq_range: tuple[float, float] = (2.0, 12.0),
                rng: np.random.Generator | None = None, seed: int | None = None) -> RadonTarget:
    """``f(x) = sum_i A_i cos(omega_i u_i . x + phi_i)``: ``n_waves`` plane waves with angular
    frequency ``omega_i ~ U(freq_range)``, direction ``u_i`` uniform on the circle, phase
    ``phi_i ~ U(0, 2 pi)`` and amplitude ``A_i ~ U(0.5, 1)``; its transform is a sum of Dirac
    pairs at ``+-omega_i u_i`` (paper, Experiment 2, target 1).

    >>> f = plane_waves(seed=0)
    >>> f(np.zeros((3, 2))).shape
    (3,)
    """
    n_waves = check_scalar(n_waves, "n_waves", kind=int, owner="plane_waves", min_val=1)
    lo, hi = check_pair(freq_range, "freq_range", owner="plane_waves", min_val=0.0)
    g = _rng(rng, seed)
    omega = g.uniform(lo, hi, n_waves)
    ang = g.uniform(0, 2 * np.pi, n_waves)
    phase = g.uniform(0, 2 * np.pi, n_waves)
    amp = g.uniform(0.5, 1.0, n_waves)
    K = omega[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])

    def fn(X):
        return np.cos(X @ K.T + phase) @ amp

    return RadonTarget("plane_waves", fn, "sum of plane waves: Dirac pairs in Fourier space",
                       {"wave_vectors": K, "phases": phase, "amplitudes": amp})


def bessel_ring(k: float = 12.0) -> RadonTarget:
    """``f(x) = J0(k |x|)``; its 2-D transform is a Dirac ring of radius ``k`` (paper,
    Experiment 2, target 2).

    >>> float(bessel_ring(5.0)(np.array([[0.0, 0.0]]))[0])
    1.0
    """
    k = check_scalar(k, "k", owner="bessel_ring", min_val=0.0, include_min=False)
    return RadonTarget("bessel_ring", lambda X: sp.j0(k * np.hypot(X[:, 0], X[:, 1])),
                       f"J0({k:g} |x|): a Dirac ring of radius {k:g}", {"k": k})


def radial_step(radius: float = 0.5) -> RadonTarget:
    """The "2-D hole": 0 on the disc ``|x| < radius``, 1 outside; its transform (apart from the
    Dirac at 0) is ``-2 pi radius J1(radius rho) / rho`` (paper, Experiment 2, target 3).

    >>> radial_step(0.5)(np.array([[0.0, 0.0], [0.9, 0.0]])).tolist()
    [0.0, 1.0]
    """
    radius = check_scalar(radius, "radius", owner="radial_step", min_val=0.0, include_min=False)
    return RadonTarget("hole", lambda X: (np.hypot(X[:, 0], X[:, 1]) >= radius).astype(float),
                       f"0 on the disc of radius {radius:g}, 1 outside", {"radius": radius})


def donoho_doppler(t, eps: float = 0.05) -> np.ndarray:
    """Donoho-Johnstone doppler ``sqrt(t (1 - t)) sin(2 pi (1 + eps) / (t + eps))`` on [0, 1]."""
    t = check_array(t, "t", owner="donoho_doppler", ndim=(0, 1, 2))
    eps = check_scalar(eps, "eps", owner="donoho_doppler", min_val=0.0, include_min=False)
    return np.sqrt(np.clip(t * (1 - t), 0.0, None)) * np.sin(2 * np.pi * (1 + eps) / (t + eps))


_DJ_BUMPS = (
    [0.1, 0.13, 0.15, 0.23, 0.25, 0.4, 0.44, 0.65, 0.76, 0.78, 0.81],
    [4, 5, 3, 4, 5, 4.2, 2.1, 4.3, 3.1, 5.1, 4.2],
    [0.005, 0.005, 0.006, 0.01, 0.01, 0.03, 0.01, 0.01, 0.005, 0.008, 0.005],
)


def donoho_bumps(t) -> np.ndarray:
    """Donoho-Johnstone bumps ``sum_j h_j (1 + |t - t_j| / w_j)^-4`` on [0, 1]."""
    t = check_array(t, "t", owner="donoho_bumps", ndim=(0, 1, 2))
    out = np.zeros_like(t, dtype=np.float64)
    for t0, h, w in zip(*_DJ_BUMPS, strict=True):
        out += h / (1 + np.abs((t - t0) / w)) ** 4
    return out


def _unit(X, extent):
    a, b = extent
    return (X - a) / (b - a)


def doppler_2d(extent: tuple[float, float] = (-1.0, 1.0)) -> RadonTarget:
    """``f(x) = 4 d(u_1) d(u_2)`` with ``d`` the doppler signal and ``u = (x - a)/(b - a)`` the
    coordinates mapped from ``extent = (a, b)`` to [0, 1]: sinusoids of smoothly varying
    frequency under a smooth envelope, along both axes (paper, Experiment 2, target 4).

    >>> v = doppler_2d()(np.array([[0.0, 0.0]]))[0]      # the centre maps to u = (1/2, 1/2)
    >>> bool(np.isclose(v, 4 * donoho_doppler(0.5) ** 2))
    True
    """
    a, b = check_pair(extent, "extent", owner="doppler_2d", increasing=True)

    def fn(X):
        U = _unit(X, (a, b))
        return 4.0 * donoho_doppler(U[:, 0]) * donoho_doppler(U[:, 1])

    return RadonTarget("doppler", fn, "product of two axis-aligned Donoho dopplers",
                       {"extent": (a, b)})


def bumps_2d(n_bumps: int = 11, *, extent: tuple[float, float] = (-1.0, 1.0),
             width_range: tuple[float, float] = (0.02, 0.1), height_range: tuple[float, float] = (2.0, 5.0),
             rng: np.random.Generator | None = None, seed: int | None = None) -> RadonTarget:
    """``f(x) = sum_j h_j (1 + |x - x_j| / w_j)^-4``: Donoho-Johnstone bumps in 2-D, with
    positions uniform in the square, widths ``w_j ~ U(width_range)`` and heights of random sign,
    ``|h_j| ~ U(height_range)`` (paper, Experiment 2, target 5).

    >>> f = bumps_2d(seed=1)
    >>> f.params["centres"].shape
    (11, 2)
    """
    n_bumps = check_scalar(n_bumps, "n_bumps", kind=int, owner="bumps_2d", min_val=1)
    a, b = check_pair(extent, "extent", owner="bumps_2d", increasing=True)
    width_range = check_pair(width_range, "width_range", owner="bumps_2d", min_val=0.0, strict_min=True)
    height_range = check_pair(height_range, "height_range", owner="bumps_2d", min_val=0.0)
    g = _rng(rng, seed)
    centres = g.uniform(a, b, (n_bumps, 2))
    widths = g.uniform(*width_range, n_bumps)
    heights = g.uniform(*height_range, n_bumps) * g.choice([-1.0, 1.0], n_bumps)

    def fn(X):
        D = np.hypot(X[:, None, 0] - centres[None, :, 0], X[:, None, 1] - centres[None, :, 1])
        return (heights / (1 + D / widths) ** 4).sum(1)

    return RadonTarget("bumps", fn, "sum of sharply pointed radial bumps",
                       {"centres": centres, "widths": widths, "heights": heights})


_FACTORIES: dict[str, Callable[..., RadonTarget]] = {
    "plane_waves": plane_waves,
    "bessel_ring": bessel_ring,
    "hole": radial_step,
    "doppler": doppler_2d,
    "bumps": bumps_2d,
}


def radon_target_names() -> list[str]:
    """Names accepted by :func:`radon_target`, in the paper's order."""
    return list(_FACTORIES)


def radon_target(name: str, **params) -> RadonTarget:
    """The Experiment-2 target ``name`` (one of :func:`radon_target_names`) built with
    ``params`` (random ones take ``rng=`` or ``seed=``).

    Parameters
    ----------
    name : str
        The target's name: ``"plane_waves"``, ``"bessel_ring"``, ``"hole"``, ``"doppler"`` or
        ``"bumps"``.
    **params
        Keyword arguments of the target's factory (e.g. ``seed=0``).

    Returns
    -------
    RadonTarget
        The target, callable on points ``X`` of shape ``(M, 2)``.

    Examples
    --------
    >>> sorted(radon_target_names())
    ['bessel_ring', 'bumps', 'doppler', 'hole', 'plane_waves']
    """
    if name not in _FACTORIES:
        raise ParameterError(
            f"Unknown 2-D target {name!r}. Choose one of: {', '.join(_FACTORIES)}."
        )
    try:
        return _FACTORIES[name](**params)
    except TypeError as exc:
        raise ParameterError(f"Bad parameters for target {name!r}: {exc}") from exc
