"""Numerical Fourier transforms: of activations (to check the zoo's closed forms) and of 2-D
fits (the "total magnitude at radius r", docs/theory.md section 3).

Convention throughout (docs/theory.md section 3): ``f^(omega) = int f(z) e^{-i omega z} dz`` in 1-D and
``f^(xi) = int f(x) e^{-i xi . x} dx`` in 2-D, angular frequencies.

* :func:`numerical_fourier` -- the transform of a sampled activation by an FFT, regularised by
  exact finite differences so that growing activations (step, ReLU, ...) have one too;
* :func:`fourier_2d` -- the continuous 2-D transform of samples on a square grid;
* :func:`radial_magnitude` -- ``M(r) = int_0^{2 pi} |f^(r cos t, r sin t)| r dt`` from an FFT.

>>> import numpy as np
>>> from specbias import activation
>>> w, F = numerical_fourier(activation("gaussian"), h=0.01, n=2**14, band=(0.5, 3.0))
>>> bool(np.max(np.abs(F - activation("gaussian").fourier(w))) < 1e-10)
True
"""

from __future__ import annotations

import numpy as np

from ._validation import ParameterError, check_array, check_real_output, check_scalar
from .activations import resolve

__all__ = ["numerical_fourier", "fourier_2d", "radial_magnitude", "grid_2d"]


def _pair(value, name: str, owner: str) -> tuple[float, float]:
    """``value`` as a pair of finite floats, a :class:`ParameterError` naming ``name`` otherwise."""
    if not (isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim == 1)) \
            or len(value) != 2:
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be a pair of floats. Got {value!r} instead."
        )
    return (check_scalar(value[0], f"{name}[0]", owner=owner),
            check_scalar(value[1], f"{name}[1]", owner=owner))


def _check_extent(extent, owner: str) -> tuple[float, float]:
    a, b = _pair(extent, "extent", owner)
    if not b > a:
        raise ParameterError(f"The 'extent' parameter of {owner} must be (a, b) with b > a. Got {extent!r}.")
    return a, b


def _call_numeric(fn, arg, name: str, owner: str) -> np.ndarray:
    """``fn(arg)`` as a float64 array, a ParameterError naming ``name`` if it is not numbers."""
    return check_real_output(fn(arg), name, owner=owner)


def _samples(act, z, owner):
    """``act(z)`` as float64 samples of the shape of ``z``."""
    g = _call_numeric(act, z, "act", owner)
    if g.shape != z.shape:
        raise ParameterError(
            f"The 'act' parameter of {owner} must map an array to an array of the same shape. "
            f"Got an output of shape {g.shape} for an input of shape {z.shape} instead."
        )
    return g


def _shift(act, z, order, delta, owner="numerical_fourier"):
    """``D_delta^order act`` at ``z`` with ``D_delta f(z) = f(z + delta) - f(z)``."""
    from math import comb

    g = np.zeros_like(z)
    for j in range(order + 1):
        g += (-1) ** (order - j) * comb(order, j) * _samples(act, z + j * delta, owner)
    return g


def numerical_fourier(act, omega=None, *, h: float = 1e-3, n: int = 2**20, order: int = 0,
                      delta: float | None = None, band: tuple[float, float] | None = None,
                      chunk: int = 64):
    """The 1-D Fourier transform of ``act`` computed from samples (docs/theory.md section 3).

    The activation is sampled at the cell midpoints ``z_j = (j - n/2 + 1/2) h`` (so kinks and
    jumps at multiples of ``h`` sit on cell boundaries and the midpoint rule stays second-order).
    Activations that do not decay (step, ReLU, sigmoids) are made integrable first by ``order``
    exact finite differences ``D_delta f(z) = f(z + delta) - f(z)``; since
    ``(D_delta f)^(omega) = (e^{i omega delta} - 1) f^(omega)``, dividing the FFT of the
    differenced samples by ``(e^{i omega delta} - 1)^order`` gives ``f^(omega)`` away from
    ``omega = 2 pi k / delta`` -- the distributional terms at ``omega = 0`` drop out, as in the
    closed forms. With ``order = 0`` this is the plain FFT of the samples:

        f^(omega_k) ~= h e^{-i omega_k z_0} FFT[f(z_j)]_k,   omega_k = 2 pi k / (n h).

    Parameters
    ----------
    act : str, Activation or callable
        numpy-callable activation.
    omega : array_like, optional
        Frequencies at which to evaluate by direct summation (``O(n len(omega))``); by default
        the FFT grid ``omega_k`` is returned.
    h : float
        Sampling step (aliasing-free band ``|omega| < pi / h``).
    n : int
        Number of samples (window ``[-n h / 2, n h / 2]``).
    order : int
        Number of finite differences applied before transforming.
    delta : float, optional
        Difference step; rounded to a multiple of ``h``; default ``max(h, 0.5)``. The result is
        reliable for ``|omega| < 2 pi / delta`` away from ``omega = 0``.
    band : (float, float), optional
        Keep only ``band[0] <= |omega| <= band[1]`` (FFT grid mode); ``0 <= band[0] <= band[1]``.

    Returns
    -------
    omega, transform : ndarray, ndarray (complex)

    Examples
    --------
    >>> import numpy as np
    >>> from specbias import activation
    >>> relu = activation("relu")
    >>> w, F = numerical_fourier(relu, h=1e-3, n=2**18, order=2, band=(1.0, 4.0))
    >>> bool(np.max(np.abs(F / relu.fourier(w) - 1)) < 1e-4)
    True
    """
    owner = "numerical_fourier"
    h = check_scalar(h, "h", owner=owner, min_val=0.0, include_min=False)
    n = check_scalar(n, "n", kind=int, owner=owner, min_val=16)
    order = check_scalar(order, "order", kind=int, owner=owner, min_val=0, max_val=12)
    chunk = check_scalar(chunk, "chunk", kind=int, owner=owner, min_val=1)
    if delta is None:
        delta = max(h, 0.5)
    delta = check_scalar(delta, "delta", owner=owner, min_val=0.0, include_min=False)
    if band is not None:
        lo, hi = _pair(band, "band", owner)
        if not 0 <= lo <= hi:
            raise ParameterError(
                f"The 'band' parameter of {owner} must be a pair (lo, hi) with 0 <= lo <= hi. "
                f"Got {band!r} instead."
            )
    m = max(1, int(round(delta / h)))
    delta = m * h
    fn = resolve(act)
    z = (np.arange(n) - n / 2 + 0.5) * h
    with np.errstate(all="ignore"):
        g = _shift(fn, z, order, delta, owner) if order else _samples(fn, z, owner)
    if not np.all(np.isfinite(g)):
        raise ParameterError(
            "The activation gave non-finite samples on the grid of numerical_fourier; "
            "change 'h' or 'n'."
        )
    if omega is None:
        w = 2 * np.pi * np.fft.fftfreq(n, d=h)
        G = h * np.exp(-1j * w * z[0]) * np.fft.fft(g)
        idx = np.argsort(w)
        w, G = w[idx], G[idx]
        if band is not None:
            keep = (np.abs(w) >= lo) & (np.abs(w) <= hi)
            w, G = w[keep], G[keep]
    else:
        w = check_array(omega, "omega", owner=owner, ndim=(0, 1)).reshape(-1)
        G = np.empty(w.shape, dtype=np.complex128)
        for i in range(0, w.size, chunk):
            ww = w[i:i + chunk]
            G[i:i + chunk] = h * (np.exp(-1j * ww[:, None] * z[None, :]) @ g)
    if order:
        with np.errstate(all="ignore"):
            G = G / (np.exp(1j * w * delta) - 1.0) ** order
    return w, G


def grid_2d(n: int, extent: tuple[float, float] = (-1.0, 1.0)):
    """An ``n x n`` grid of cell midpoints covering ``extent`` x ``extent``.

    Returns ``(X, x1d)`` with ``X`` of shape ``(n * n, 2)`` (row-major, first coordinate varying
    slowest) and the 1-D coordinates ``x1d``.

    >>> X, x = grid_2d(4, (0.0, 1.0))
    >>> X.shape, float(x[0])
    ((16, 2), 0.125)
    """
    n = check_scalar(n, "n", kind=int, owner="grid_2d", min_val=2)
    a, b = _check_extent(extent, "grid_2d")
    h = (b - a) / n
    x = a + (np.arange(n) + 0.5) * h
    X1, X2 = np.meshgrid(x, x, indexing="ij")
    return np.column_stack([X1.ravel(), X2.ravel()]), x


def _window(n: int, window: str | None, owner: str) -> np.ndarray:
    if window is None:
        return np.ones(n)
    if window == "hann":  # periodic-free Hann on the cell midpoints, zero at the square's edges
        return np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 2
    raise ParameterError(
        f"The 'window' parameter of {owner} must be None or 'hann'. Got {window!r} instead."
    )


def fourier_2d(values, extent: tuple[float, float] = (-1.0, 1.0), *, pad: int = 1,
               window: str | None = None):
    """Continuous 2-D Fourier transform of samples on a square grid (docs/theory.md section 3).

    ``values[i, j] = f(x_i, x_j)`` at the cell midpoints of ``extent`` x ``extent`` (see
    :func:`grid_2d`); ``f`` is taken as zero outside. Returns ``(xi, F)`` with ``xi`` the 1-D
    angular frequencies (``fftshift`` order) and ``F[k, l] ~= f^(xi_k, xi_l)``:

        f^(xi) ~= h^2 sum_{i,j} f(x_i, x_j) e^{-i (xi_1 x_i + xi_2 x_j)}.

    ``pad`` zero-pads to ``pad * n`` samples per axis (a finer frequency grid). ``window="hann"``
    multiplies the samples by a separable Hann taper first (``sin^2`` vanishing at the edges of
    the square), which removes the ``1/|xi|`` tails that cutting ``f`` off at the edges creates.

    >>> import numpy as np
    >>> X, x = grid_2d(64, (-8, 8))
    >>> xi, F = fourier_2d(np.exp(-(X**2).sum(1) / 2).reshape(64, 64), (-8, 8))
    >>> bool(abs(F[32, 32].real - 2 * np.pi) < 1e-6)
    True
    """
    v = check_array(values, "values", owner="fourier_2d", ndim=2)
    if v.shape[0] != v.shape[1]:
        raise ParameterError(f"The 'values' parameter of fourier_2d must be square. Got shape {v.shape}.")
    pad = check_scalar(pad, "pad", kind=int, owner="fourier_2d", min_val=1)
    a, b = _check_extent(extent, "fourier_2d")
    n = v.shape[0]
    w1 = _window(n, window, "fourier_2d")
    v = v * w1[:, None] * w1[None, :]
    h = (b - a) / n
    m = n * pad
    x0 = a + 0.5 * h
    xi = 2 * np.pi * np.fft.fftfreq(m, d=h)
    F = np.fft.fft2(v, s=(m, m)) * h * h
    phase = np.exp(-1j * xi * x0)
    F = F * phase[:, None] * phase[None, :]
    return np.fft.fftshift(xi), np.fft.fftshift(F)


def radial_magnitude(f, extent: tuple[float, float] = (-1.0, 1.0), *, n: int = 128,
                     n_radii: int | None = None, r_max: float | None = None, pad: int = 4,
                     n_angles: int = 360, window: str | None = None):
    """Total magnitude at radius r, ``M(r) = int_0^{2 pi} |f^(r cos t, r sin t)| r dt``
    (Radon-spline paper, Sec. V-A; docs/theory.md section 3), from an FFT on a grid.

    ``f`` is either an ``n x n`` array of samples at the cell midpoints of ``extent`` x
    ``extent`` (see :func:`grid_2d`) or a callable mapping an ``(M, 2)`` array of points to
    ``M`` values (evaluated on that grid); it is taken as zero outside the square. Its
    transform (:func:`fourier_2d`, zero-padded ``pad`` times) is interpolated bilinearly onto
    ``n_angles`` equally spaced directions at each radius and integrated over the angle by the
    (spectrally accurate, periodic) trapezoidal rule.

    Parameters
    ----------
    f : array of shape (n, n) or callable
    extent : (float, float)
        The square ``[a, b]^2`` the samples cover.
    n : int
        Grid size when ``f`` is a callable.
    n_radii : int, optional
        Number of radii (default ``n // 2``), equally spaced in ``(0, r_max]``.
    r_max : float, optional
        Largest radius (default: the largest FFT frequency, about the Nyquist frequency ``pi / h``).
    pad : int
        Zero-padding factor of the FFT (finer frequency grid for the interpolation).
    n_angles : int
        Angular quadrature points.
    window : {None, "hann"}
        Taper applied before the FFT (see :func:`fourier_2d`).

    Returns
    -------
    r, M : ndarray, ndarray

    Examples
    --------
    >>> import numpy as np
    >>> r, M = radial_magnitude(lambda X: np.exp(-(X**2).sum(1) / 2), (-8, 8), n=128)
    >>> exact = 2 * np.pi * r * 2 * np.pi * np.exp(-r**2 / 2)
    >>> bool(np.max(np.abs(M - exact)) < 5e-3 * exact.max())
    True
    """
    from scipy.interpolate import RegularGridInterpolator

    owner = "radial_magnitude"
    _check_extent(extent, owner)
    pad = check_scalar(pad, "pad", kind=int, owner=owner, min_val=1)
    _window(1, window, owner)
    if callable(f) and not isinstance(f, np.ndarray):
        n = check_scalar(n, "n", kind=int, owner=owner, min_val=4)
        X, _ = grid_2d(n, extent)
        vals = _call_numeric(f, X, "f", owner)
        if vals.size != n * n:
            raise ParameterError(
                f"The 'f' parameter of {owner} must return one value per point of the {n} x {n} "
                f"grid ({n * n} values). Got an output of shape {vals.shape} instead."
            )
        vals = check_array(vals.reshape(n, n), "f", owner=owner)
    else:
        vals = check_array(f, "f", owner=owner, ndim=2)
        if vals.shape[0] != vals.shape[1]:
            raise ParameterError(
                f"The 'f' parameter of {owner} must be a square array. Got shape {vals.shape} "
                "instead."
            )
        n = vals.shape[0]
    n_angles = check_scalar(n_angles, "n_angles", kind=int, owner=owner, min_val=8)
    xi, F = fourier_2d(vals, extent, pad=pad, window=window)
    if r_max is None:  # the Nyquist frequency pi / h, as far as the FFT grid reaches
        r_max = float(min(-xi[0], xi[-1]))
    r_max = check_scalar(r_max, "r_max", owner=owner, min_val=0.0, include_min=False,
                         max_val=float(min(-xi[0], xi[-1])))
    n_radii = max(4, n // 2) if n_radii is None else check_scalar(
        n_radii, "n_radii", kind=int, owner=owner, min_val=1)
    r = np.linspace(r_max / n_radii, r_max, n_radii)
    t = 2 * np.pi * np.arange(n_angles) / n_angles
    interp = RegularGridInterpolator((xi, xi), np.abs(F), method="linear")
    pts = np.stack([r[:, None] * np.cos(t)[None, :], r[:, None] * np.sin(t)[None, :]], -1)
    mag = interp(pts.reshape(-1, 2)).reshape(n_radii, n_angles)
    return r, r * mag.mean(axis=1) * 2 * np.pi
