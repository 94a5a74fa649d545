"""Targets of Rahaman et al. (docs/theory.md section 5): sums of sines, the flower manifold, a delta spike
and radial-wave noise.

>>> import numpy as np
>>> z = np.arange(200) / 200
>>> target = SumOfSines.rahaman("increasing", rng=np.random.default_rng(0))
>>> target.frequencies.tolist()[:3], target.amplitudes.round(1).tolist()[:3]
([5.0, 10.0, 15.0], [0.1, 0.2, 0.3])
>>> flower(z, L=4).shape
(200, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import ParameterError, check_array, check_choice, check_scalar

__all__ = ["SumOfSines", "sum_of_sines", "rahaman_amplitudes", "flower", "delta_spike",
           "radial_wave", "square_wave"]

RAHAMAN_FREQUENCIES = tuple(float(k) for k in range(5, 55, 5))


def sum_of_sines(z, frequencies, amplitudes=None, phases=None) -> np.ndarray:
    """``lambda(z) = sum_i A_i sin(2 pi k_i z + phi_i)`` (docs/theory.md section 5, Exp. 1 and 5).

    ``amplitudes`` default to 1, ``phases`` to 0.

    >>> sum_of_sines([0.25], [1.0, 2.0], [1.0, 3.0]).round(12).tolist()
    [1.0]
    """
    z = check_array(z, "z", owner="sum_of_sines")
    k = check_array(frequencies, "frequencies", owner="sum_of_sines", ndim=1)
    A = np.ones_like(k) if amplitudes is None else check_array(amplitudes, "amplitudes",
                                                               owner="sum_of_sines", ndim=1)
    phi = np.zeros_like(k) if phases is None else check_array(phases, "phases",
                                                              owner="sum_of_sines", ndim=1)
    if not (A.shape == phi.shape == k.shape):
        raise ParameterError(
            "The 'amplitudes' and 'phases' parameters of sum_of_sines must have one entry per "
            f"frequency ({k.size}). Got {A.size} and {phi.size} instead."
        )
    return np.sin(2 * np.pi * z[..., None] * k + phi) @ A


def rahaman_amplitudes(kind: str = "equal", n: int = 10) -> np.ndarray:
    """Amplitudes of Exp. 1: ``"equal"`` (all 1) or ``"increasing"`` (0.1, 0.2, ..., 1 for n = 10).

    >>> rahaman_amplitudes("increasing", 4).tolist()
    [0.25, 0.5, 0.75, 1.0]
    """
    check_choice(kind, "kind", ["equal", "increasing"], owner="rahaman_amplitudes")
    n = check_scalar(n, "n", kind=int, owner="rahaman_amplitudes", min_val=1)
    return np.ones(n) if kind == "equal" else np.arange(1, n + 1) / n


@dataclass(frozen=True)
class SumOfSines:
    """A sum of sines with known frequencies, amplitudes and phases (docs/theory.md section 5).

    Calling it evaluates ``sum_i A_i sin(2 pi k_i z + phi_i)``; :meth:`rahaman` builds Exp. 1's
    targets with phases drawn from ``U(0, 2 pi)``.
    """

    frequencies: np.ndarray
    amplitudes: np.ndarray
    phases: np.ndarray

    def __post_init__(self):
        for name in ("frequencies", "amplitudes", "phases"):
            object.__setattr__(self, name, check_array(getattr(self, name), name,
                                                       owner="SumOfSines", ndim=1))
        if not (self.frequencies.shape == self.amplitudes.shape == self.phases.shape):
            raise ParameterError("SumOfSines needs one amplitude and one phase per frequency.")

    def __call__(self, z) -> np.ndarray:
        return sum_of_sines(z, self.frequencies, self.amplitudes, self.phases)

    @classmethod
    def rahaman(cls, amplitudes: str = "equal", frequencies=RAHAMAN_FREQUENCIES, *,
                rng: np.random.Generator | None = None) -> SumOfSines:
        """Exp. 1: ``k = 5, 10, ..., 50``, equal or increasing amplitudes, random phases."""
        k = check_array(frequencies, "frequencies", owner="SumOfSines.rahaman", ndim=1)
        rng = np.random.default_rng() if rng is None else rng
        if not isinstance(rng, np.random.Generator):
            raise ParameterError("The 'rng' parameter of SumOfSines.rahaman must be a numpy Generator.")
        return cls(k, rahaman_amplitudes(amplitudes, k.size), rng.uniform(0, 2 * np.pi, k.size))


def flower(z, L: float) -> np.ndarray:
    """The flower manifold ``gamma_L(z) = (1 + sin(2 pi L z)/2) (cos 2 pi z, sin 2 pi z)``
    (docs/theory.md section 5, Exp. 5): a closed curve in the plane with ``L`` petals (a circle for L = 0).

    Returns shape ``(*z.shape, 2)``.

    >>> flower([0.0, 0.25], L=0).round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    z = check_array(z, "z", owner="flower")
    L = check_scalar(L, "L", owner="flower", min_val=0.0)
    r = 1 + 0.5 * np.sin(2 * np.pi * L * z)
    return np.stack([r * np.cos(2 * np.pi * z), r * np.sin(2 * np.pi * z)], axis=-1)


def square_wave(z, k: float, phase: float = 0.0) -> np.ndarray:
    """Binary target of Exp. 6: ``1[sin(2 pi k z + phase) > 0]`` -- the single mode
    ``(1 + sin(2 pi k z))/2`` thresholded at 0.5.

    >>> square_wave([0.1, 0.6], k=1).tolist()
    [1.0, 0.0]
    """
    z = check_array(z, "z", owner="square_wave")
    k = check_scalar(k, "k", owner="square_wave", min_val=0.0, include_min=False)
    phase = check_scalar(phase, "phase", owner="square_wave")
    return (np.sin(2 * np.pi * k * z + phase) > 0).astype(np.float64)


def delta_spike(z, center: float = 0.5, height: float = 1.0) -> np.ndarray:
    """App. A.5: a discrete delta, ``height`` at the grid point nearest ``center``, 0 elsewhere.

    Its spectrum on a uniform grid is flat: ``(2/N) height`` at every frequency.

    >>> delta_spike([0.0, 0.4, 0.55, 1.0]).tolist()
    [0.0, 0.0, 1.0, 0.0]
    """
    z = check_array(z, "z", owner="delta_spike", ndim=1)
    center = check_scalar(center, "center", owner="delta_spike")
    height = check_scalar(height, "height", owner="delta_spike")
    out = np.zeros_like(z)
    out[int(np.argmin(np.abs(z - center)))] = height
    return out


def radial_wave(x, k: float, eps: float = 1.0) -> np.ndarray:
    """Radial-wave noise ``eps sin(k ||x||)`` on ``R^d`` (docs/theory.md section 5, Exp. 3-4).

    ``x`` has shape ``(N, d)``; the wave oscillates along every direction at once.

    >>> radial_wave([[3.0, 4.0]], k=np.pi / 10).round(12).tolist()
    [1.0]
    """
    x = check_array(x, "x", owner="radial_wave", ndim=2)
    k = check_scalar(k, "k", owner="radial_wave", min_val=0.0)
    eps = check_scalar(eps, "eps", owner="radial_wave")
    return eps * np.sin(k * np.linalg.norm(x, axis=1))
